//! A request as a client sends it to the fake proxy: headers (pseudo-headers first, names
//! lower-cased as Envoy keeps them), body chunks and trailers.

type Pairs = Vec<(String, Vec<u8>)>;

/// One request as a client sends it: headers, body chunks, trailers.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub headers: Pairs,
    pub body: Vec<Vec<u8>>,
    pub trailers: Pairs,
}

impl Request {
    /// A request with its pseudo-headers, as Envoy hands them to filters.
    pub fn new(method: &str, authority: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> Request {
        Request {
            headers: vec![
                (":method".into(), method.as_bytes().to_vec()),
                (":scheme".into(), b"http".to_vec()),
                (":authority".into(), authority.as_ref().to_vec()),
                (":path".into(), path.as_ref().to_vec()),
            ],
            ..Request::default()
        }
    }

    pub fn get(authority: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> Request {
        Request::new("GET", authority, path)
    }

    /// A POST whose body is form-encoded.
    pub fn form(authority: impl AsRef<[u8]>, path: impl AsRef<[u8]>) -> Request {
        Request::new("POST", authority, path)
            .header("content-type", "application/x-www-form-urlencoded")
    }

    /// Adds a header (the name lower-cased, as Envoy keeps them).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }

    /// Adds a body chunk.
    pub fn chunk(mut self, bytes: impl AsRef<[u8]>) -> Request {
        self.body.push(bytes.as_ref().to_vec());
        self
    }

    /// Adds a trailer.
    pub fn trailer(mut self, name: &str, value: impl AsRef<[u8]>) -> Request {
        self.trailers
            .push((name.to_ascii_lowercase(), value.as_ref().to_vec()));
        self
    }
}
