//! The `env.proxy_*` host functions of the proxy-wasm ABI 0.2.1, as a small fake proxy:
//! the import table, and logging, clock, tick period, effective context and `proxy_done`.
//! Stream calls are in `host_http`; properties, shared data and metrics in `host_data`.
//! gRPC, shared queues, foreign functions and `proxy_get_status` answer `Unimplemented` and
//! are recorded in [`HostState::unimplemented`].

use super::abi::{LogLevel, Status};
use super::guest::{finish, read, write_u32, write_u64, Call, Fault};
use super::state::{HostState, LogLine};
use super::{host_data as data, host_http as http};
use wasmtime::{FuncType, IntoFunc, Linker, Val, ValType};

fn add<Params, Args>(
    linker: &mut Linker<HostState>,
    provided: &mut Vec<String>,
    name: &str,
    func: impl IntoFunc<HostState, Params, Args>,
) -> wasmtime::Result<()> {
    linker.func_wrap("env", name, func)?;
    provided.push(format!("env.{name}"));
    Ok(())
}

/// A host call the harness does not implement: recorded, answered `Unimplemented`.
fn unimplemented(
    linker: &mut Linker<HostState>,
    provided: &mut Vec<String>,
    name: &'static str,
    params: usize,
) -> wasmtime::Result<()> {
    let ty = FuncType::new(
        linker.engine(),
        std::iter::repeat_n(ValType::I32, params),
        [ValType::I32],
    );
    linker.func_new("env", name, ty, move |mut caller, args, results| {
        let args: Vec<String> = args.iter().map(|a| format!("{:?}", a.i32())).collect();
        caller
            .data_mut()
            .record_unimplemented(format!("{name}({})", args.join(", ")));
        results[0] = Val::I32(Status::Unimplemented.code());
        Ok(())
    })?;
    provided.push(format!("env.{name}"));
    Ok(())
}

/// Defines every `env` import; appends `env.<name>` of each to `provided`.
pub fn define(linker: &mut Linker<HostState>, provided: &mut Vec<String>) -> wasmtime::Result<()> {
    add(
        linker,
        provided,
        "proxy_log",
        |mut c: Call<'_>, level: i32, ptr: i32, len: i32| finish(log(&mut c, level, ptr, len)),
    )?;
    add(
        linker,
        provided,
        "proxy_get_log_level",
        |mut c: Call<'_>, ret: i32| {
            let level = c.data().log_level as u32;
            finish(write_u32(&mut c, ret, level))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_current_time_nanoseconds",
        |mut c: Call<'_>, ret: i32| {
            let now = c.data().now_nanos;
            finish(write_u64(&mut c, ret, now))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_tick_period_milliseconds",
        |mut c: Call<'_>, period: i32| finish(set_tick_period(&mut c, period)),
    )?;
    add(
        linker,
        provided,
        "proxy_get_buffer_bytes",
        |mut c: Call<'_>, kind: i32, start: i32, max: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(http::get_buffer(
                &mut c, kind, start, max, ptr_ptr, size_ptr,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_buffer_bytes",
        |mut c: Call<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            finish(http::set_buffer(&mut c, kind, start, size, ptr, len))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_header_map_pairs",
        |mut c: Call<'_>, map: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(http::get_map_pairs(&mut c, map, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_header_map_pairs",
        |mut c: Call<'_>, map: i32, ptr: i32, len: i32| {
            finish(http::set_map_pairs(&mut c, map, ptr, len))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(http::get_map_value(
                &mut c, map, kptr, klen, ptr_ptr, size_ptr,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_add_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            finish(http::edit_map(
                &mut c,
                map,
                kptr,
                klen,
                Some((vptr, vlen)),
                http::Edit::Add,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_replace_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            finish(http::edit_map(
                &mut c,
                map,
                kptr,
                klen,
                Some((vptr, vlen)),
                http::Edit::Replace,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_remove_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32| {
            finish(http::edit_map(
                &mut c,
                map,
                kptr,
                klen,
                None,
                http::Edit::Remove,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_property",
        |mut c: Call<'_>, ptr: i32, len: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(data::get_property(&mut c, ptr, len, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_property",
        |mut c: Call<'_>, ptr: i32, len: i32, vptr: i32, vlen: i32| {
            finish(data::set_property(&mut c, ptr, len, vptr, vlen))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_shared_data",
        |mut c: Call<'_>, kptr: i32, klen: i32, ptr_ptr: i32, size_ptr: i32, cas_ptr: i32| {
            finish(data::get_shared_data(
                &mut c, kptr, klen, ptr_ptr, size_ptr, cas_ptr,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_shared_data",
        |mut c: Call<'_>, kptr: i32, klen: i32, vptr: i32, vlen: i32, cas: i32| {
            finish(data::set_shared_data(
                &mut c, kptr, klen, vptr, vlen, cas as u32,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_continue_stream",
        |mut c: Call<'_>, stream: i32| finish(http::continue_stream(&mut c, stream)),
    )?;
    add(
        linker,
        provided,
        "proxy_close_stream",
        |mut c: Call<'_>, stream: i32| finish(http::close_stream(&mut c, stream)),
    )?;
    add(
        linker,
        provided,
        "proxy_send_local_response",
        |mut c: Call<'_>,
         status: i32,
         dptr: i32,
         dlen: i32,
         bptr: i32,
         blen: i32,
         hptr: i32,
         hlen: i32,
         grpc: i32| {
            let parts = http::LocalParts {
                status: status as u32,
                details: (dptr, dlen),
                body: (bptr, blen),
                headers: (hptr, hlen),
                grpc_status: grpc,
            };
            finish(http::send_local_response(&mut c, parts))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_http_call",
        |mut c: Call<'_>,
         uptr: i32,
         ulen: i32,
         hptr: i32,
         hlen: i32,
         bptr: i32,
         blen: i32,
         tptr: i32,
         tlen: i32,
         timeout: i32,
         token_ptr: i32| {
            let parts = http::CallParts {
                upstream: (uptr, ulen),
                headers: (hptr, hlen),
                body: (bptr, blen),
                trailers: (tptr, tlen),
                timeout_ms: timeout as u32,
            };
            finish(http::http_call(&mut c, parts, token_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_effective_context",
        |mut c: Call<'_>, id: i32| finish(set_effective_context(&mut c, id as u32)),
    )?;
    add(linker, provided, "proxy_done", |mut c: Call<'_>| {
        finish(done(&mut c))
    })?;
    add(
        linker,
        provided,
        "proxy_define_metric",
        |mut c: Call<'_>, kind: i32, ptr: i32, len: i32, id_ptr: i32| {
            finish(data::define_metric(&mut c, kind, ptr, len, id_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_metric",
        |mut c: Call<'_>, id: i32, ret: i32| finish(data::get_metric(&mut c, id as u32, ret)),
    )?;
    add(
        linker,
        provided,
        "proxy_increment_metric",
        |mut c: Call<'_>, id: i32, offset: i64| {
            finish(data::increment_metric(c.data_mut(), id as u32, offset))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_record_metric",
        |mut c: Call<'_>, id: i32, value: i64| {
            finish(data::record_metric(c.data_mut(), id as u32, value as u64))
        },
    )?;
    for (name, params) in [
        ("proxy_grpc_call", 12),
        ("proxy_grpc_stream", 9),
        ("proxy_grpc_send", 4),
        ("proxy_grpc_cancel", 1),
        ("proxy_grpc_close", 1),
        ("proxy_get_status", 3),
        ("proxy_register_shared_queue", 3),
        ("proxy_resolve_shared_queue", 5),
        ("proxy_enqueue_shared_queue", 3),
        ("proxy_dequeue_shared_queue", 3),
        ("proxy_call_foreign_function", 6),
    ] {
        unimplemented(linker, provided, name, params)?;
    }
    Ok(())
}

fn log(c: &mut Call<'_>, level: i32, ptr: i32, len: i32) -> Result<(), Fault> {
    let level = LogLevel::from_code(level).ok_or(Status::BadArgument)?;
    let message = String::from_utf8_lossy(&read(c, ptr, len)?).into_owned();
    let state = c.data_mut();
    let line = LogLine {
        level,
        message,
        context_id: state.effective,
        phase: state.phase,
    };
    state.logs.push(line);
    Ok(())
}

fn set_tick_period(c: &mut Call<'_>, period: i32) -> Result<(), Fault> {
    let state = c.data_mut();
    let root = state.current_root_id().ok_or(Status::BadArgument)?;
    if let Some(root) = state.roots.get_mut(&root) {
        root.tick_period_ms = period as u32;
    }
    Ok(())
}

fn set_effective_context(c: &mut Call<'_>, id: u32) -> Result<(), Fault> {
    let state = c.data_mut();
    let live_root = state.roots.get(&id).is_some_and(|r| !r.deleted);
    let live_stream = state.streams.get(&id).is_some_and(|s| !s.finished);
    if live_root || live_stream {
        state.effective = Some(id);
        Ok(())
    } else {
        Err(Status::BadArgument.into())
    }
}

fn done(c: &mut Call<'_>) -> Result<(), Fault> {
    let state = c.data_mut();
    let id = state.effective.ok_or(Status::NotFound)?;
    let root = state.roots.get_mut(&id).ok_or(Status::NotFound)?;
    root.done = true;
    Ok(())
}
