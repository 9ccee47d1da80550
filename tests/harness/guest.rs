//! Reading and writing the module's linear memory from a host call. Data handed to the
//! module is placed in memory it allocates itself, through its exported
//! `proxy_on_memory_allocate`, as Envoy does.

use super::abi::Status;
use super::state::HostState;
use wasmtime::{Caller, Extern, Memory};

pub type Call<'a> = Caller<'a, HostState>;

/// Outcome of a host call that may fail with an ABI status or trap.
pub enum Fault {
    Status(Status),
    Trap(wasmtime::Error),
}

impl From<Status> for Fault {
    fn from(status: Status) -> Self {
        Fault::Status(status)
    }
}

impl From<wasmtime::Error> for Fault {
    fn from(error: wasmtime::Error) -> Self {
        Fault::Trap(error)
    }
}

/// Turns a host call's outcome into the status it returns (or a trap).
pub fn finish(result: Result<(), Fault>) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(Status::Ok.code()),
        Err(Fault::Status(status)) => Ok(status.code()),
        Err(Fault::Trap(error)) => Err(error),
    }
}

fn memory(caller: &mut Call<'_>) -> Result<Memory, Fault> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::format_err!("the module exports no memory").into()),
    }
}

fn range(ptr: i32, len: i32) -> std::ops::Range<usize> {
    let start = ptr as u32 as usize;
    start..start + len as u32 as usize
}

/// Copies `len` bytes at `ptr` out of the module's memory.
pub fn read(caller: &mut Call<'_>, ptr: i32, len: i32) -> Result<Vec<u8>, Fault> {
    let memory = memory(caller)?;
    memory
        .data(&*caller)
        .get(range(ptr, len))
        .map(<[u8]>::to_vec)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))
}

/// Reads UTF-8 text at `ptr`; text that is not UTF-8 is a bad argument.
pub fn read_text(caller: &mut Call<'_>, ptr: i32, len: i32) -> Result<String, Fault> {
    String::from_utf8(read(caller, ptr, len)?).map_err(|_| Fault::Status(Status::BadArgument))
}

/// Copies bytes into the module's memory at `ptr`.
pub fn write_bytes(caller: &mut Call<'_>, ptr: i32, bytes: &[u8]) -> Result<(), Fault> {
    let memory = memory(caller)?;
    let target = memory
        .data_mut(&mut *caller)
        .get_mut(range(ptr, bytes.len() as i32))
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))?;
    target.copy_from_slice(bytes);
    Ok(())
}

pub fn write_u32(caller: &mut Call<'_>, ptr: i32, value: u32) -> Result<(), Fault> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

pub fn write_u64(caller: &mut Call<'_>, ptr: i32, value: u64) -> Result<(), Fault> {
    write_bytes(caller, ptr, &value.to_le_bytes())
}

/// Hands bytes to the module: allocates them in its memory and writes the pointer and size
/// to `ptr_ptr` and `size_ptr`. Empty data is a null pointer and size 0, as in Envoy.
pub fn give(caller: &mut Call<'_>, bytes: &[u8], ptr_ptr: i32, size_ptr: i32) -> Result<(), Fault> {
    let mut at = 0;
    if !bytes.is_empty() {
        let allocate = caller
            .get_export("proxy_on_memory_allocate")
            .and_then(Extern::into_func)
            .ok_or_else(|| wasmtime::format_err!("the module exports no proxy_on_memory_allocate"))?
            .typed::<i32, i32>(&*caller)?;
        at = allocate.call(&mut *caller, bytes.len() as i32)?;
        if at == 0 {
            return Err(wasmtime::format_err!(
                "proxy_on_memory_allocate({}) returned null",
                bytes.len()
            )
            .into());
        }
        write_bytes(caller, at, bytes)?;
    }
    write_u32(caller, ptr_ptr, at as u32)?;
    write_u32(caller, size_ptr, bytes.len() as u32)
}
