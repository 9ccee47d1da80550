//! The request headers, read from the host in one call and looked at where the host wrote
//! them: no copy of each name and value is made (the SDK's reader makes two allocations a
//! header), which is a good part of what reading the headers costs a filter.

use proxy_wasm::types::{MapType, Status};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
}

/// The serialised request headers as the host hands them over: the number of pairs, the size
/// of each name and value, then each name and value followed by a zero byte (all sizes
/// 32-bit little-endian).
pub struct RequestHeaders {
    bytes: Vec<u8>,
}

impl RequestHeaders {
    /// Reads the request headers from the host; none when it has none to give.
    pub fn read() -> Self {
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: on success the host has written into `data` a buffer of `size` bytes that it
        // allocated through this module's exported allocator (`proxy_on_memory_allocate`,
        // which hands out `Vec<u8>` capacity); the Vec below takes it over and frees it.
        let bytes = unsafe {
            match proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size) {
                Status::Ok if !data.is_null() => Vec::from_raw_parts(data, size, size),
                _ => Vec::new(),
            }
        };
        RequestHeaders { bytes }
    }

    /// The pairs, borrowed from the buffer. A malformed buffer ends the list where it stops
    /// making sense; a name that is not UTF-8 (which no header akguard reads has) is left out.
    pub fn pairs(&self) -> Vec<(&str, &[u8])> {
        let bytes = &self.bytes;
        let word = |at: usize| {
            bytes
                .get(at..at + 4)
                .and_then(|w| <[u8; 4]>::try_from(w).ok())
                .map(|w| u32::from_le_bytes(w) as usize)
        };
        let Some(count) = word(0) else {
            return Vec::new();
        };
        let mut pairs = Vec::with_capacity(count.min(bytes.len() / 10));
        let mut at = 4usize.saturating_add(count.saturating_mul(8));
        for n in 0..count {
            let (Some(name_len), Some(value_len)) = (word(4 + n * 8), word(8 + n * 8)) else {
                break;
            };
            let name = bytes.get(at..at.saturating_add(name_len));
            at = at.saturating_add(name_len).saturating_add(1);
            let value = bytes.get(at..at.saturating_add(value_len));
            at = at.saturating_add(value_len).saturating_add(1);
            let (Some(name), Some(value)) = (name, value) else {
                break;
            };
            if let Ok(name) = std::str::from_utf8(name) {
                pairs.push((name, value));
            }
        }
        pairs
    }
}
