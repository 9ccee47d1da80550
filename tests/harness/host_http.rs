//! Host calls on an HTTP stream: header maps, the request body and configuration buffers,
//! local responses, continuing and closing the stream, and outgoing HTTP calls.

use super::abi::{self, Status};
use super::guest::{give, read, read_text, write_u32, Call, Fault};
use super::state::{HostState, HttpCall, LocalResponse};

type Pairs = Vec<(String, Vec<u8>)>;

/// `proxy_get_buffer_bytes`: a slice of the request body, the plugin or VM configuration,
/// or a call response body. The request-body bytes read count towards the callback's progress.
pub fn get_buffer(
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
        abi::BUFFER_RESPONSE_BODY => match state.current_stream() {
            Some(stream) => &stream.response_body,
            None => return Err(Status::NotFound.into()),
        },
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
    if kind == abi::BUFFER_PLUGIN_CONFIGURATION {
        state.plugin_configuration_reads.push((start, bytes.len()));
    }
    give(c, &bytes, ptr_ptr, size_ptr)
}

/// `proxy_set_buffer_bytes`: replaces a range of the held request or response body.
pub fn set_buffer(
    c: &mut Call<'_>,
    kind: i32,
    start: i32,
    size: i32,
    ptr: i32,
    len: i32,
) -> Result<(), Fault> {
    let value = read(c, ptr, len)?;
    let state = c.data_mut();
    if kind != abi::BUFFER_REQUEST_BODY && kind != abi::BUFFER_RESPONSE_BODY {
        state.record_unimplemented(format!("proxy_set_buffer_bytes(buffer type {kind})"));
        return Err(Status::Unimplemented.into());
    }
    let stream = state.current_stream().ok_or(Status::NotFound)?;
    let body = if kind == abi::BUFFER_REQUEST_BODY {
        &mut stream.buffered_body
    } else {
        &mut stream.response_body
    };
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

/// `proxy_get_header_map_pairs`.
pub fn get_map_pairs(c: &mut Call<'_>, map: i32, ptr_ptr: i32, size_ptr: i32) -> Result<(), Fault> {
    let bytes = abi::serialize_map(map_of(c.data_mut(), map)?);
    give(c, &bytes, ptr_ptr, size_ptr)
}

/// `proxy_set_header_map_pairs`.
pub fn set_map_pairs(c: &mut Call<'_>, map: i32, ptr: i32, len: i32) -> Result<(), Fault> {
    let bytes = read(c, ptr, len)?;
    let pairs = abi::deserialize_map(&bytes).ok_or(Status::BadArgument)?;
    *map_of(c.data_mut(), map)? = pairs
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    Ok(())
}

/// `proxy_get_header_map_value`: the first value of a name, compared without regard to case.
pub fn get_map_value(
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

/// How `edit_map` changes a header map.
pub enum Edit {
    Add,
    Replace,
    Remove,
}

/// `proxy_add_header_map_value`, `proxy_replace_header_map_value`,
/// `proxy_remove_header_map_value`; names are stored lower-cased, as Envoy does.
pub fn edit_map(
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

/// `proxy_continue_stream`: resumes the request; the proxy lets through what it holds.
pub fn continue_stream(c: &mut Call<'_>, kind: i32) -> Result<(), Fault> {
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

/// `proxy_close_stream`: the stream is reset; no more callbacks.
pub fn close_stream(c: &mut Call<'_>, kind: i32) -> Result<(), Fault> {
    let state = c.data_mut();
    if kind != abi::STREAM_REQUEST && kind != abi::STREAM_RESPONSE {
        return Err(Status::BadArgument.into());
    }
    let stream = state.current_stream().ok_or(Status::BadArgument)?;
    stream.closed += 1;
    Ok(())
}

/// The arguments of `proxy_send_local_response`, as (pointer, length) pairs.
pub struct LocalParts {
    pub status: u32,
    pub details: (i32, i32),
    pub body: (i32, i32),
    pub headers: (i32, i32),
    pub grpc_status: i32,
}

/// `proxy_send_local_response`: recorded on the stream; the first one is kept.
pub fn send_local_response(c: &mut Call<'_>, parts: LocalParts) -> Result<(), Fault> {
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

/// The arguments of `proxy_http_call`, as (pointer, length) pairs.
pub struct CallParts {
    pub upstream: (i32, i32),
    pub headers: (i32, i32),
    pub body: (i32, i32),
    pub trailers: (i32, i32),
    pub timeout_ms: u32,
}

/// `proxy_http_call`: recorded with a fresh token; [`super::Vm::http_call_response`]
/// delivers its response.
pub fn http_call(c: &mut Call<'_>, parts: CallParts, token_ptr: i32) -> Result<(), Fault> {
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
