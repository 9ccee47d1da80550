//! Host calls on the proxy's data: properties, shared data and metrics.

use super::abi::{MetricKind, Status};
use super::guest::{give, read, read_text, write_u32, write_u64, Call, Fault};
use super::state::{HostState, Stat};

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

/// `proxy_get_property`.
pub fn get_property(
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

/// `proxy_set_property`.
pub fn set_property(
    c: &mut Call<'_>,
    ptr: i32,
    len: i32,
    vptr: i32,
    vlen: i32,
) -> Result<(), Fault> {
    let path = read(c, ptr, len)?;
    let value = read(c, vptr, vlen)?;
    c.data_mut().properties.insert(path, value);
    Ok(())
}

/// `proxy_get_shared_data`: the value and its CAS number.
pub fn get_shared_data(
    c: &mut Call<'_>,
    kptr: i32,
    klen: i32,
    ptr_ptr: i32,
    size_ptr: i32,
    cas_ptr: i32,
) -> Result<(), Fault> {
    let key = read_text(c, kptr, klen)?;
    c.data_mut().shared_data_reads += 1;
    let (value, cas) = c
        .data()
        .shared_data
        .get(&key)
        .cloned()
        .ok_or(Status::NotFound)?;
    give(c, &value, ptr_ptr, size_ptr)?;
    write_u32(c, cas_ptr, cas)
}

/// `proxy_set_shared_data`: a non-zero CAS must match the current one.
pub fn set_shared_data(
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

/// `proxy_define_metric`: a new id per call; ids of one name and kind share a stat.
pub fn define_metric(
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

/// The stat behind a metric id.
fn stat_mut(state: &mut HostState, id: u32) -> Result<&mut Stat, Fault> {
    let index = *state.metric_ids.get(&id).ok_or(Status::NotFound)?;
    Ok(&mut state.stats[index])
}

/// `proxy_get_metric`.
pub fn get_metric(c: &mut Call<'_>, id: u32, ret: i32) -> Result<(), Fault> {
    let stat = stat_mut(c.data_mut(), id)?;
    if stat.kind == MetricKind::Histogram {
        return Err(Status::BadArgument.into());
    }
    let value = stat.value as u64;
    write_u64(c, ret, value)
}

/// `proxy_increment_metric`: counters only go up.
pub fn increment_metric(state: &mut HostState, id: u32, offset: i64) -> Result<(), Fault> {
    let stat = stat_mut(state, id)?;
    match stat.kind {
        MetricKind::Counter if offset >= 0 => stat.value += offset,
        MetricKind::Gauge => stat.value += offset,
        _ => return Err(Status::BadArgument.into()),
    }
    Ok(())
}

/// `proxy_record_metric`: sets a gauge, adds a histogram sample.
pub fn record_metric(state: &mut HostState, id: u32, value: u64) -> Result<(), Fault> {
    let stat = stat_mut(state, id)?;
    match stat.kind {
        MetricKind::Gauge => stat.value = value as i64,
        MetricKind::Histogram => stat.samples.push(value),
        MetricKind::Counter => return Err(Status::BadArgument.into()),
    }
    Ok(())
}
