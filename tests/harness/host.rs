//! The `env.proxy_*` host functions of the proxy-wasm ABI 0.2.1, as a small fake proxy:
//! logging, properties, header maps, buffers (request body, plugin and VM configuration,
//! call responses), local responses, metrics, shared data, tick period, clock, stream
//! continue/close, effective context, HTTP calls and `proxy_done`. gRPC, shared queues,
//! foreign functions and `proxy_get_status` answer `Unimplemented` and are recorded in
//! [`HostState::unimplemented`].

use super::abi::{self, LogLevel, MetricKind, Status};
use super::guest::{finish, give, read, read_text, write_u32, write_u64, Call, Fault};
use super::state::{HostState, HttpCall, LocalResponse, LogLine, Stat};
use wasmtime::{FuncType, IntoFunc, Linker, Val, ValType};

type Pairs = Vec<(String, Vec<u8>)>;

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
            finish(get_buffer(&mut c, kind, start, max, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_buffer_bytes",
        |mut c: Call<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| {
            finish(set_buffer(&mut c, kind, start, size, ptr, len))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_header_map_pairs",
        |mut c: Call<'_>, map: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(get_map_pairs(&mut c, map, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_header_map_pairs",
        |mut c: Call<'_>, map: i32, ptr: i32, len: i32| {
            finish(set_map_pairs(&mut c, map, ptr, len))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(get_map_value(&mut c, map, kptr, klen, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_add_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            finish(edit_map(
                &mut c,
                map,
                kptr,
                klen,
                Some((vptr, vlen)),
                Edit::Add,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_replace_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32, vptr: i32, vlen: i32| {
            finish(edit_map(
                &mut c,
                map,
                kptr,
                klen,
                Some((vptr, vlen)),
                Edit::Replace,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_remove_header_map_value",
        |mut c: Call<'_>, map: i32, kptr: i32, klen: i32| {
            finish(edit_map(&mut c, map, kptr, klen, None, Edit::Remove))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_property",
        |mut c: Call<'_>, ptr: i32, len: i32, ptr_ptr: i32, size_ptr: i32| {
            finish(get_property(&mut c, ptr, len, ptr_ptr, size_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_property",
        |mut c: Call<'_>, ptr: i32, len: i32, vptr: i32, vlen: i32| {
            finish(set_property(&mut c, ptr, len, vptr, vlen))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_shared_data",
        |mut c: Call<'_>, kptr: i32, klen: i32, ptr_ptr: i32, size_ptr: i32, cas_ptr: i32| {
            finish(get_shared_data(
                &mut c, kptr, klen, ptr_ptr, size_ptr, cas_ptr,
            ))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_set_shared_data",
        |mut c: Call<'_>, kptr: i32, klen: i32, vptr: i32, vlen: i32, cas: i32| {
            finish(set_shared_data(&mut c, kptr, klen, vptr, vlen, cas as u32))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_continue_stream",
        |mut c: Call<'_>, stream: i32| finish(continue_stream(&mut c, stream)),
    )?;
    add(
        linker,
        provided,
        "proxy_close_stream",
        |mut c: Call<'_>, stream: i32| finish(close_stream(&mut c, stream)),
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
            let parts = LocalParts {
                status: status as u32,
                details: (dptr, dlen),
                body: (bptr, blen),
                headers: (hptr, hlen),
                grpc_status: grpc,
            };
            finish(send_local_response(&mut c, parts))
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
            let parts = CallParts {
                upstream: (uptr, ulen),
                headers: (hptr, hlen),
                body: (bptr, blen),
                trailers: (tptr, tlen),
                timeout_ms: timeout as u32,
            };
            finish(http_call(&mut c, parts, token_ptr))
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
            finish(define_metric(&mut c, kind, ptr, len, id_ptr))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_get_metric",
        |mut c: Call<'_>, id: i32, ret: i32| finish(get_metric(&mut c, id as u32, ret)),
    )?;
    add(
        linker,
        provided,
        "proxy_increment_metric",
        |mut c: Call<'_>, id: i32, offset: i64| {
            finish(increment_metric(c.data_mut(), id as u32, offset))
        },
    )?;
    add(
        linker,
        provided,
        "proxy_record_metric",
        |mut c: Call<'_>, id: i32, value: i64| {
            finish(record_metric(c.data_mut(), id as u32, value as u64))
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

fn get_buffer(
    c: &mut Call<'_>,
    kind: i32,
    start: i32,
    max: i32,
    ptr_ptr: i32,
    size_ptr: i32,
) -> Result<(), Fault> {
    let (start, max) = (start as u32 as usize, max as u32 as usize);
    let state = c.data_mut();
    let whole: &[u8] = match kind {
        abi::BUFFER_REQUEST_BODY => match state.current_stream() {
            Some(stream) => &stream.buffered_body,
            None => return Err(Status::NotFound.into()),
        },
        abi::BUFFER_PLUGIN_CONFIGURATION => {
            let root = state.current_root_id().ok_or(Status::NotFound)?;
            &state
                .roots
                .get(&root)
                .ok_or(Status::NotFound)?
                .configuration
        }
        abi::BUFFER_VM_CONFIGURATION => &state.vm_configuration,
        abi::BUFFER_HTTP_CALL_RESPONSE_BODY => match &state.call_response {
            Some(response) => &response.body,
            None => return Err(Status::NotFound.into()),
        },
        // The fake proxy has no response phase: the filter only sees requests.
        abi::BUFFER_RESPONSE_BODY => return Err(Status::NotFound.into()),
        other => {
            state.record_unimplemented(format!("proxy_get_buffer_bytes(buffer type {other})"));
            return Err(Status::Unimplemented.into());
        }
    };
    let from = start.min(whole.len());
    let to = start.saturating_add(max).min(whole.len());
    let bytes = whole[from..to].to_vec();
    if kind == abi::BUFFER_REQUEST_BODY {
        state.progress.body_bytes_read += bytes.len();
    }
    give(c, &bytes, ptr_ptr, size_ptr)
}

fn set_buffer(
    c: &mut Call<'_>,
    kind: i32,
    start: i32,
    size: i32,
    ptr: i32,
    len: i32,
) -> Result<(), Fault> {
    let value = read(c, ptr, len)?;
    let state = c.data_mut();
    if kind != abi::BUFFER_REQUEST_BODY {
        state.record_unimplemented(format!("proxy_set_buffer_bytes(buffer type {kind})"));
        return Err(Status::Unimplemented.into());
    }
    let stream = state.current_stream().ok_or(Status::NotFound)?;
    let body = &mut stream.buffered_body;
    let from = (start as u32 as usize).min(body.len());
    let to = from.saturating_add(size as u32 as usize).min(body.len());
    body.splice(from..to, value);
    Ok(())
}

/// The header map a call names, in the stream being called or the call response.
fn map_of(state: &mut HostState, map: i32) -> Result<&mut Pairs, Fault> {
    match map {
        abi::MAP_HTTP_CALL_RESPONSE_HEADERS | abi::MAP_HTTP_CALL_RESPONSE_TRAILERS => {
            let response = state.call_response.as_mut().ok_or(Status::NotFound)?;
            Ok(if map == abi::MAP_HTTP_CALL_RESPONSE_HEADERS {
                &mut response.headers
            } else {
                &mut response.trailers
            })
        }
        abi::MAP_REQUEST_HEADERS
        | abi::MAP_REQUEST_TRAILERS
        | abi::MAP_RESPONSE_HEADERS
        | abi::MAP_RESPONSE_TRAILERS => {
            let stream = state.current_stream().ok_or(Status::BadArgument)?;
            Ok(match map {
                abi::MAP_REQUEST_HEADERS => &mut stream.request_headers,
                abi::MAP_REQUEST_TRAILERS => &mut stream.request_trailers,
                abi::MAP_RESPONSE_HEADERS => &mut stream.response_headers,
                _ => &mut stream.response_trailers,
            })
        }
        other => {
            state.record_unimplemented(format!("header map type {other}"));
            Err(Status::Unimplemented.into())
        }
    }
}

fn get_map_pairs(c: &mut Call<'_>, map: i32, ptr_ptr: i32, size_ptr: i32) -> Result<(), Fault> {
    let bytes = abi::serialize_map(map_of(c.data_mut(), map)?);
    give(c, &bytes, ptr_ptr, size_ptr)
}

fn set_map_pairs(c: &mut Call<'_>, map: i32, ptr: i32, len: i32) -> Result<(), Fault> {
    let bytes = read(c, ptr, len)?;
    let pairs = abi::deserialize_map(&bytes).ok_or(Status::BadArgument)?;
    *map_of(c.data_mut(), map)? = pairs
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    Ok(())
}

fn get_map_value(
    c: &mut Call<'_>,
    map: i32,
    kptr: i32,
    klen: i32,
    ptr_ptr: i32,
    size_ptr: i32,
) -> Result<(), Fault> {
    let key = read_text(c, kptr, klen)?;
    let value = map_of(c.data_mut(), map)?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(&key))
        .map(|(_, v)| v.clone())
        .ok_or(Status::NotFound)?;
    give(c, &value, ptr_ptr, size_ptr)
}

enum Edit {
    Add,
    Replace,
    Remove,
}

fn edit_map(
    c: &mut Call<'_>,
    map: i32,
    kptr: i32,
    klen: i32,
    value: Option<(i32, i32)>,
    edit: Edit,
) -> Result<(), Fault> {
    let key = read_text(c, kptr, klen)?.to_ascii_lowercase();
    let value = match value {
        Some((ptr, len)) => read(c, ptr, len)?,
        None => Vec::new(),
    };
    let pairs = map_of(c.data_mut(), map)?;
    match edit {
        Edit::Add => pairs.push((key, value)),
        Edit::Remove => pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(&key)),
        Edit::Replace => match pairs.iter().position(|(n, _)| n.eq_ignore_ascii_case(&key)) {
            Some(first) => {
                pairs[first].1 = value;
                let mut i = 0;
                pairs.retain(|(n, _)| {
                    i += 1;
                    i - 1 == first || !n.eq_ignore_ascii_case(&key)
                });
            }
            None => pairs.push((key, value)),
        },
    }
    Ok(())
}

/// Properties a test set, then the request attributes Envoy derives from the headers.
fn property(state: &mut HostState, path: &[u8]) -> Option<Vec<u8>> {
    if let Some(value) = state.properties.get(path) {
        return Some(value.clone());
    }
    let stream = state.current_stream()?;
    let header = |name: &str| {
        stream
            .request_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let path_header = header(":path").unwrap_or_default();
    let split = path_header.iter().position(|&b| b == b'?');
    match path {
        b"request\0path" => Some(path_header.clone()),
        b"request\0url_path" => Some(path_header[..split.unwrap_or(path_header.len())].to_vec()),
        b"request\0query" => Some(
            split
                .map(|at| path_header[at + 1..].to_vec())
                .unwrap_or_default(),
        ),
        b"request\0method" => header(":method"),
        b"request\0host" => header(":authority"),
        b"request\0scheme" => header(":scheme"),
        b"request\0id" => header("x-request-id"),
        _ => None,
    }
}

fn get_property(
    c: &mut Call<'_>,
    ptr: i32,
    len: i32,
    ptr_ptr: i32,
    size_ptr: i32,
) -> Result<(), Fault> {
    let path = read(c, ptr, len)?;
    let value = property(c.data_mut(), &path).ok_or(Status::NotFound)?;
    give(c, &value, ptr_ptr, size_ptr)
}

fn set_property(c: &mut Call<'_>, ptr: i32, len: i32, vptr: i32, vlen: i32) -> Result<(), Fault> {
    let path = read(c, ptr, len)?;
    let value = read(c, vptr, vlen)?;
    c.data_mut().properties.insert(path, value);
    Ok(())
}

fn get_shared_data(
    c: &mut Call<'_>,
    kptr: i32,
    klen: i32,
    ptr_ptr: i32,
    size_ptr: i32,
    cas_ptr: i32,
) -> Result<(), Fault> {
    let key = read_text(c, kptr, klen)?;
    let (value, cas) = c
        .data()
        .shared_data
        .get(&key)
        .cloned()
        .ok_or(Status::NotFound)?;
    give(c, &value, ptr_ptr, size_ptr)?;
    write_u32(c, cas_ptr, cas)
}

fn set_shared_data(
    c: &mut Call<'_>,
    kptr: i32,
    klen: i32,
    vptr: i32,
    vlen: i32,
    cas: u32,
) -> Result<(), Fault> {
    let key = read_text(c, kptr, klen)?;
    let value = read(c, vptr, vlen)?;
    let data = &mut c.data_mut().shared_data;
    let current = data.get(&key).map(|(_, cas)| *cas).unwrap_or(0);
    if cas != 0 && cas != current {
        return Err(Status::CasMismatch.into());
    }
    data.insert(key, (value, current + 1));
    Ok(())
}

fn continue_stream(c: &mut Call<'_>, kind: i32) -> Result<(), Fault> {
    let state = c.data_mut();
    if kind != abi::STREAM_REQUEST {
        state.record_unimplemented(format!("proxy_continue_stream(stream type {kind})"));
        return Err(Status::Unimplemented.into());
    }
    let stream = state.current_stream().ok_or(Status::BadArgument)?;
    stream.resumed += 1;
    if stream.local_response.is_none() && stream.closed == 0 {
        stream.let_through();
    }
    Ok(())
}

fn close_stream(c: &mut Call<'_>, kind: i32) -> Result<(), Fault> {
    let state = c.data_mut();
    if kind != abi::STREAM_REQUEST && kind != abi::STREAM_RESPONSE {
        return Err(Status::BadArgument.into());
    }
    let stream = state.current_stream().ok_or(Status::BadArgument)?;
    stream.closed += 1;
    Ok(())
}

struct LocalParts {
    status: u32,
    details: (i32, i32),
    body: (i32, i32),
    headers: (i32, i32),
    grpc_status: i32,
}

fn send_local_response(c: &mut Call<'_>, parts: LocalParts) -> Result<(), Fault> {
    let details = String::from_utf8_lossy(&read(c, parts.details.0, parts.details.1)?).into_owned();
    let body = read(c, parts.body.0, parts.body.1)?;
    let headers = abi::deserialize_map(&read(c, parts.headers.0, parts.headers.1)?)
        .ok_or(Status::BadArgument)?;
    let state = c.data_mut();
    let phase = state.phase;
    let stream = state.current_stream().ok_or(Status::BadArgument)?;
    stream.local_responses_sent += 1;
    if stream.local_response.is_none() {
        stream.local_response = Some(LocalResponse {
            status: parts.status,
            details,
            headers,
            body,
            grpc_status: parts.grpc_status,
            phase,
        });
    }
    state.progress.sent_local_response = true;
    Ok(())
}

struct CallParts {
    upstream: (i32, i32),
    headers: (i32, i32),
    body: (i32, i32),
    trailers: (i32, i32),
    timeout_ms: u32,
}

fn http_call(c: &mut Call<'_>, parts: CallParts, token_ptr: i32) -> Result<(), Fault> {
    let upstream = read_text(c, parts.upstream.0, parts.upstream.1)?;
    let headers = abi::deserialize_map(&read(c, parts.headers.0, parts.headers.1)?)
        .ok_or(Status::BadArgument)?;
    let body = read(c, parts.body.0, parts.body.1)?;
    let trailers = abi::deserialize_map(&read(c, parts.trailers.0, parts.trailers.1)?)
        .ok_or(Status::BadArgument)?;
    let state = c.data_mut();
    let context_id = state.effective.ok_or(Status::BadArgument)?;
    let token = state.next_token;
    state.next_token += 1;
    state.http_calls.push(HttpCall {
        token,
        context_id,
        upstream,
        headers,
        body,
        trailers,
        timeout_ms: parts.timeout_ms,
    });
    write_u32(c, token_ptr, token)
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

fn define_metric(
    c: &mut Call<'_>,
    kind: i32,
    ptr: i32,
    len: i32,
    id_ptr: i32,
) -> Result<(), Fault> {
    let kind = MetricKind::from_code(kind).ok_or(Status::BadArgument)?;
    let name = read_text(c, ptr, len)?;
    let state = c.data_mut();
    let index = match state
        .stats
        .iter()
        .position(|s| s.name == name && s.kind == kind)
    {
        Some(index) => index,
        None => {
            state.stats.push(Stat {
                name,
                kind,
                value: 0,
                samples: Vec::new(),
            });
            state.stats.len() - 1
        }
    };
    let id = state.next_metric_id;
    state.next_metric_id += 1;
    state.metric_ids.insert(id, index);
    write_u32(c, id_ptr, id)
}

fn stat_mut(state: &mut HostState, id: u32) -> Result<&mut Stat, Fault> {
    let index = *state.metric_ids.get(&id).ok_or(Status::NotFound)?;
    Ok(&mut state.stats[index])
}

fn get_metric(c: &mut Call<'_>, id: u32, ret: i32) -> Result<(), Fault> {
    let stat = stat_mut(c.data_mut(), id)?;
    if stat.kind == MetricKind::Histogram {
        return Err(Status::BadArgument.into());
    }
    let value = stat.value as u64;
    write_u64(c, ret, value)
}

fn increment_metric(state: &mut HostState, id: u32, offset: i64) -> Result<(), Fault> {
    let stat = stat_mut(state, id)?;
    match stat.kind {
        MetricKind::Counter if offset >= 0 => stat.value += offset,
        MetricKind::Gauge => stat.value += offset,
        _ => return Err(Status::BadArgument.into()),
    }
    Ok(())
}

fn record_metric(state: &mut HostState, id: u32, value: u64) -> Result<(), Fault> {
    let stat = stat_mut(state, id)?;
    match stat.kind {
        MetricKind::Gauge => stat.value = value as i64,
        MetricKind::Histogram => stat.samples.push(value),
        MetricKind::Counter => return Err(Status::BadArgument.into()),
    }
    Ok(())
}
