//! The plugin configuration, read from the host a slice at a time, so the text is never
//! whole in the VM's memory: the core's streaming parser pulls it through this reader.

use proxy_wasm::hostcalls;
use proxy_wasm::types::BufferType;
use std::io;

/// Reads the plugin configuration of `size` bytes (as `on_configure` gives it).
pub struct PluginConfigReader {
    offset: usize,
    size: usize,
}

impl PluginConfigReader {
    pub fn new(size: usize) -> Self {
        PluginConfigReader { offset: 0, size }
    }
}

impl io::Read for PluginConfigReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let wanted = buf.len().min(self.size.saturating_sub(self.offset));
        if wanted == 0 {
            return Ok(0);
        }
        let slice = hostcalls::get_buffer(BufferType::PluginConfiguration, self.offset, wanted)
            .map_err(|status| {
                io::Error::other(format!(
                    "the host answered {status:?} for bytes {} to {} of {}",
                    self.offset,
                    self.offset + wanted,
                    self.size
                ))
            })?
            .unwrap_or_default();
        if slice.is_empty() || slice.len() > wanted {
            return Err(io::Error::other(format!(
                "the host gave {} bytes at offset {} of {} (asked for {wanted})",
                slice.len(),
                self.offset,
                self.size
            )));
        }
        buf[..slice.len()].copy_from_slice(&slice);
        self.offset += slice.len();
        Ok(slice.len())
    }
}
