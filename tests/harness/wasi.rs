//! The WASI preview1 functions a `wasm32-wasip1` module may import: an empty environment and
//! argument list, stdout/stderr captured into the host state, a deterministic random source,
//! the proxy's clock, and `proc_exit` as a trap that names the exit code.

use super::guest::{read, write_bytes, write_u32, write_u64, Call, Fault};
use super::state::HostState;
use wasmtime::{IntoFunc, Linker};

const MODULE: &str = "wasi_snapshot_preview1";
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;

fn add<Params, Args>(
    linker: &mut Linker<HostState>,
    provided: &mut Vec<String>,
    name: &str,
    func: impl IntoFunc<HostState, Params, Args>,
) -> wasmtime::Result<()> {
    linker.func_wrap(MODULE, name, func)?;
    provided.push(format!("{MODULE}.{name}"));
    Ok(())
}

/// WASI answers errno values, not proxy-wasm statuses.
fn errno(result: Result<(), Fault>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(SUCCESS),
        Err(Fault::Status(_)) => Ok(EFAULT),
        Err(Fault::Trap(error)) => Err(error),
    }
}

/// Defines the WASI imports; appends `wasi_snapshot_preview1.<name>` of each to `provided`.
pub fn define(linker: &mut Linker<HostState>, provided: &mut Vec<String>) -> wasmtime::Result<()> {
    for (name, _) in [("environ_sizes_get", ()), ("args_sizes_get", ())] {
        add(
            linker,
            provided,
            name,
            |mut c: Call<'_>, count_ptr: i32, size_ptr: i32| {
                errno(write_u32(&mut c, count_ptr, 0).and_then(|()| write_u32(&mut c, size_ptr, 0)))
            },
        )?;
    }
    for name in ["environ_get", "args_get"] {
        add(
            linker,
            provided,
            name,
            |_: Call<'_>, _list: i32, _buf: i32| Ok(SUCCESS),
        )?;
    }
    add(
        linker,
        provided,
        "fd_write",
        |mut c: Call<'_>, fd: i32, iovs: i32, count: i32, written_ptr: i32| {
            if fd != 1 && fd != 2 {
                return Ok(EBADF);
            }
            errno(fd_write(&mut c, fd, iovs, count, written_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proc_exit",
        |mut c: Call<'_>, code: i32| -> wasmtime::Result<()> {
            c.data_mut().exit_code = Some(code);
            Err(wasmtime::format_err!("the module called proc_exit({code})"))
        },
    )?;
    add(
        linker,
        provided,
        "random_get",
        |mut c: Call<'_>, ptr: i32, len: i32| errno(random_get(&mut c, ptr, len)),
    )?;
    add(
        linker,
        provided,
        "clock_time_get",
        |mut c: Call<'_>, clock: i32, _precision: i64, ret: i32| {
            // Realtime, monotonic, process and thread clocks all read the proxy's clock.
            if !(0..=3).contains(&clock) {
                return Ok(EINVAL);
            }
            let now = c.data().now_nanos;
            errno(write_u64(&mut c, ret, now))
        },
    )?;
    Ok(())
}

fn fd_write(
    c: &mut Call<'_>,
    fd: i32,
    iovs: i32,
    count: i32,
    written_ptr: i32,
) -> Result<(), Fault> {
    let table = read(c, iovs, count.saturating_mul(8))?;
    let mut written = Vec::new();
    for iov in table.chunks_exact(8) {
        let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        written.extend(read(c, ptr, len)?);
    }
    let total = written.len() as u32;
    let state = c.data_mut();
    if fd == 1 {
        state.stdout.extend(written);
    } else {
        state.stderr.extend(written);
    }
    write_u32(c, written_ptr, total)
}

/// A splitmix64 stream: deterministic, so runs repeat exactly.
fn random_get(c: &mut Call<'_>, ptr: i32, len: i32) -> Result<(), Fault> {
    let len = len as u32 as usize;
    let mut bytes = Vec::with_capacity(len + 8);
    let state = c.data_mut();
    while bytes.len() < len {
        state.random_state = state.random_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    write_bytes(c, ptr, &bytes)
}
