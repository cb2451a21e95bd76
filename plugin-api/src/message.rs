//! Reading a request and writing a response: the helpers every handler uses.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RSliceMut, RString},
};
use serde::{de::DeserializeOwned, Serialize};

use crate::abi::{BodyReader, BodyReaderBox, BodyReader_TO, Pair, Request, Response};
use crate::context::AuthContext;
use crate::fault::Fault;
use crate::panic_message;

fn find<'a>(pairs: &'a [Pair], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_str())
}

fn set(pairs: &mut abi_stable::std_types::RVec<Pair>, name: &str, value: &str) {
    pairs.retain(|p| !p.name.eq_ignore_ascii_case(name));
    pairs.push(Pair::new(name, value));
}

impl Request {
    /// A request with nothing but a method and a path; the host fills in the rest.
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: RString::new(),
            query_params: Default::default(),
            headers: Default::default(),
            params: Default::default(),
            env: Default::default(),
            service: RString::new(),
            endpoint: RString::new(),
            body: Default::default(),
            body_stream: ROption::RNone,
        }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// A path parameter: `req.param("server_id")`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query_params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// Every value of a repeated query parameter, in order.
    pub fn query_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query_params
            .iter()
            .filter(move |p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// An entry of the request env (keys in [`crate::env`]); the last one set wins.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|p| p.name == key)
            .map(|p| p.value.as_str())
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        set(&mut self.env, key, value);
    }

    /// `scheme://host` as the client reached this host (over TLS or not), through proxies
    /// that say so (`X-Forwarded-Proto`, `X-Forwarded-Host`): the start of every URL
    /// handed back.
    pub fn base_url(&self) -> String {
        let first = |v: &str| v.split(',').next().unwrap_or("").trim().to_string();
        let scheme = self
            .header("x-forwarded-proto")
            .map(first)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                self.env(crate::context::env::URL_SCHEME)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "http".into());
        let host = self
            .header("x-forwarded-host")
            .map(first)
            .filter(|s| !s.is_empty())
            .or_else(|| self.header("host").map(str::to_string))
            .unwrap_or_else(|| "localhost".into());
        format!("{scheme}://{host}")
    }

    /// The authenticated caller, once the auth hook has run.
    pub fn context(&self) -> Option<AuthContext> {
        AuthContext::from_env(&self.env)
    }

    /// The body parsed as JSON; a body that does not parse is the client's fault (400).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Fault> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Fault::bad_request(format!("Malformed request body: {e}")))
    }

    /// The streamed body as a `std::io::Read`, when the handler asked for a stream.
    pub fn body_reader(&mut self) -> Option<impl Read + '_> {
        match &mut self.body_stream {
            ROption::RSome(stream) => Some(StreamRead(stream)),
            ROption::RNone => None,
        }
    }
}

impl Response {
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }

    /// Sets a header, replacing any value it had.
    pub fn set_header(&mut self, name: &str, value: &str) {
        set(&mut self.headers, name, value);
    }

    /// Adds a header, keeping the values it had.
    pub fn add_header(&mut self, name: &str, value: &str) {
        self.headers.push(Pair::new(name, value));
    }

    /// The body is `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) {
        // Serializing plain data into a Vec only fails for maps with non-string keys, which
        // OpenStack bodies never have; such a bug shows as an empty JSON object, not a panic.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        self.set_body(body, "application/json");
    }

    /// The body is `bytes`, of `content_type`.
    pub fn set_body(&mut self, bytes: Vec<u8>, content_type: &str) {
        self.body = bytes.into();
        self.body_stream = ROption::RNone;
        self.set_header("Content-Type", content_type);
    }

    /// The body is read from `reader` while it is sent: large downloads never sit in memory.
    /// With `length`, the client learns the size up front (`Content-Length`).
    pub fn stream(
        &mut self,
        reader: impl Read + Send + 'static,
        content_type: &str,
        length: Option<u64>,
    ) {
        self.body = Default::default();
        self.body_stream = ROption::RSome(BodyReader_TO::from_value(ReadBody(reader), TD_Opaque));
        self.set_header("Content-Type", content_type);
        match length {
            Some(n) => self.set_header("Content-Length", &n.to_string()),
            None => self
                .headers
                .retain(|h| !h.name.eq_ignore_ascii_case("content-length")),
        }
    }
}

/// A stream from across the boundary, read as `std::io::Read`.
struct StreamRead<'a>(&'a mut BodyReaderBox);

impl Read for StreamRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(RSliceMut::from_mut_slice(buf)) {
            RResult::ROk(n) => Ok(n),
            RResult::RErr(e) => Err(std::io::Error::other(e.to_string())),
        }
    }
}

/// A driver's `std::io::Read` offered to the host as a body. A panic in `read` must not
/// cross the boundary (it would end the host), so it becomes an error that ends the body.
struct ReadBody<R>(R);

impl<R: Read + Send> BodyReader for ReadBody<R> {
    fn read(&mut self, mut buf: RSliceMut<'_, u8>) -> RResult<usize, RString> {
        match catch_unwind(AssertUnwindSafe(|| self.0.read(buf.as_mut_slice()))) {
            Ok(Ok(n)) => RResult::ROk(n),
            Ok(Err(e)) => RResult::RErr(e.to_string().into()),
            Err(panic) => RResult::RErr(
                format!("panic while streaming a body: {}", panic_message(&*panic)).into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive() {
        let mut req = Request::new("GET", "/");
        req.headers.push(Pair::new("x-auth-token", "t"));
        assert_eq!(req.header("X-Auth-Token"), Some("t"));
    }

    #[test]
    fn set_header_replaces() {
        let mut resp = Response::default();
        resp.set_header("Content-Type", "a");
        resp.set_header("content-type", "b");
        assert_eq!(resp.headers.len(), 1);
        assert_eq!(resp.header("CONTENT-TYPE"), Some("b"));
    }

    #[test]
    fn malformed_json_is_400() {
        let mut req = Request::new("POST", "/");
        req.body = b"{nope".to_vec().into();
        let err = req.json::<serde_json::Value>().unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn streamed_body_reads_back() {
        let mut resp = Response::default();
        resp.stream(
            std::io::Cursor::new(vec![7u8; 100_000]),
            "application/octet-stream",
            Some(100_000),
        );
        let mut req = Request::new("PUT", "/");
        req.body_stream = std::mem::replace(&mut resp.body_stream, ROption::RNone);
        let mut out = Vec::new();
        req.body_reader().unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 100_000);
        assert_eq!(resp.header("content-length"), Some("100000"));
    }

    #[test]
    fn a_panicking_reader_is_an_error() {
        struct Boom;
        impl Read for Boom {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                panic!("disk on fire")
            }
        }
        let mut resp = Response::default();
        resp.stream(Boom, "application/octet-stream", None);
        let mut req = Request::new("PUT", "/");
        req.body_stream = std::mem::replace(&mut resp.body_stream, ROption::RNone);
        let err = req.body_reader().unwrap().read(&mut [0u8; 8]).unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
    }
}
