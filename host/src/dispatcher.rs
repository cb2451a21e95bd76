//! The host's `Dispatcher`: one per enabled service, as in the original. Drivers register
//! handlers on it during `setup_routes` and build URLs with it for as long as they live.

use std::sync::{Arc, Mutex};

use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use jumpgate_plugin_api::abi::{Dispatcher, Pair, Request, ResponderBox};
use jumpgate_plugin_api::env;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use crate::catalog::Endpoint;

/// Characters escaped in a path segment built from a parameter value.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The nickname a driver sets a handler on to answer every path under the mount that no
/// endpoint handler answers, the catalog's unknown paths included: how a passthrough
/// driver covers a whole API, the parts this host has no names for too.
pub const CATCH_ALL: &str = "*";

/// A service's endpoint table: fixed for the life of a configuration.
pub struct ServiceTable {
    pub service: String,
    pub mount: String,
    pub endpoints: Vec<Endpoint>,
}

impl ServiceTable {
    pub fn position(&self, nickname: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.name == nickname)
    }
}

/// Handlers set so far. Taken whole by [`HostDispatcher::seal`]: a handler holding its
/// dispatcher would otherwise keep itself alive through it.
struct Registry {
    handlers: Vec<Option<ResponderBox>>,
    catch_all: Option<ResponderBox>,
    used: Vec<bool>,
    sealed: bool,
}

/// What a driver registered, once `setup_routes` returned.
pub struct Sealed {
    /// By endpoint index.
    pub handlers: Vec<Option<ResponderBox>>,
    /// The handler of [`CATCH_ALL`].
    pub catch_all: Option<ResponderBox>,
}

#[derive(Clone)]
pub struct HostDispatcher {
    pub table: Arc<ServiceTable>,
    registry: Arc<Mutex<Registry>>,
}

impl HostDispatcher {
    pub fn new(table: Arc<ServiceTable>) -> HostDispatcher {
        let n = table.endpoints.len();
        HostDispatcher {
            table,
            registry: Arc::new(Mutex::new(Registry {
                handlers: (0..n).map(|_| None).collect(),
                catch_all: None,
                used: vec![false; n],
                sealed: false,
            })),
        }
    }

    /// Ends registration and hands over the handlers.
    pub fn seal(&self) -> Sealed {
        let mut reg = lock(&self.registry);
        reg.sealed = true;
        Sealed {
            handlers: std::mem::take(&mut reg.handlers),
            catch_all: reg.catch_all.take(),
        }
    }

    fn path(&self, req: &Request, nickname: &str, params: &[Pair]) -> Result<String, String> {
        let index = self
            .table
            .position(nickname)
            .ok_or_else(|| unknown(nickname, &self.table.service))?;
        let template = choose_variant(&self.table, &self.table.endpoints[index], req);
        let mut out = self.table.mount.clone();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let close = open + rest[open..].find('}').unwrap_or(rest.len() - open);
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..close];
            let value = params
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.as_str())
                .or_else(|| {
                    (name == "tenant_id")
                        .then(|| req_value(req, env::TENANT_ID))
                        .flatten()
                })
                .ok_or_else(|| format!("endpoint '{nickname}' needs a value for {{{name}}}"))?;
            out.extend(utf8_percent_encode(value, SEGMENT));
            rest = &rest[(close + 1).min(rest.len())..];
        }
        out.push_str(rest);
        if out.is_empty() {
            out.push('/');
        }
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unknown(nickname: &str, service: &str) -> String {
    format!("Unsupported endpoint '{nickname}' specified for {service}.")
}

/// `{tenant_id}` comes from the request env (set by the auth hook) or, failing that,
/// from the URL the request came in on.
fn req_value<'a>(req: &'a Request, key: &str) -> Option<&'a str> {
    req.env(key).or_else(|| req.param(key))
}

/// The variant of an endpoint's paths to build: the one under the same version prefix
/// the request used (`/v2.1` stays `/v2.1`), with or without `{tenant_id}` as it came.
fn choose_variant<'a>(table: &ServiceTable, ep: &'a Endpoint, req: &Request) -> &'a str {
    if req.service.as_str() != table.service || ep.paths.len() == 1 {
        return ep.paths[0];
    }
    let rel = req
        .path
        .strip_prefix(table.mount.as_str())
        .unwrap_or(&req.path);
    let first = rel.trim_start_matches('/').split('/').next().unwrap_or("");
    let with_tenant = req.param("tenant_id").is_some();
    let first_of = |p: &str| {
        p.trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string()
    };
    ep.paths
        .iter()
        .find(|p| first_of(p) == first && p.contains("{tenant_id}") == with_tenant)
        .or_else(|| ep.paths.iter().find(|p| first_of(p) == first))
        .copied()
        .unwrap_or(ep.paths[0])
}

/// `scheme://host` as the client reached us, through proxies that say so.
pub fn base_url(req: &Request) -> String {
    req.base_url()
}

impl Dispatcher for HostDispatcher {
    fn service(&self) -> RString {
        self.table.service.as_str().into()
    }

    fn mount(&self) -> RString {
        self.table.mount.as_str().into()
    }

    fn set_handler(&self, nickname: RStr<'_>, handler: ResponderBox) -> RResult<(), RString> {
        let index = self.table.position(nickname.as_str());
        if index.is_none() && nickname.as_str() != CATCH_ALL {
            return RResult::RErr(unknown(nickname.as_str(), &self.table.service).into());
        }
        let mut reg = lock(&self.registry);
        if reg.sealed {
            return RResult::RErr(
                format!("set_handler('{nickname}') after setup_routes returned: register handlers in setup_routes").into(),
            );
        }
        match index {
            Some(index) => {
                reg.handlers[index] = Some(handler);
                reg.used[index] = true;
            }
            None => reg.catch_all = Some(handler),
        }
        RResult::ROk(())
    }

    fn get_endpoint_path(
        &self,
        req: &Request,
        nickname: RStr<'_>,
        params: RSlice<'_, Pair>,
    ) -> RResult<RString, RString> {
        self.path(req, nickname.as_str(), params.as_slice())
            .map(RString::from)
            .map_err(RString::from)
            .into()
    }

    fn get_endpoint_url(
        &self,
        req: &Request,
        nickname: RStr<'_>,
        params: RSlice<'_, Pair>,
    ) -> RResult<RString, RString> {
        self.path(req, nickname.as_str(), params.as_slice())
            .map(|path| RString::from(base_url(req) + &path))
            .map_err(RString::from)
            .into()
    }

    fn get_unused_endpoints(&self) -> RVec<RString> {
        let reg = lock(&self.registry);
        self.table
            .endpoints
            .iter()
            .zip(&reg.used)
            .filter(|(_, used)| !**used)
            .map(|(e, _)| RString::from(e.name))
            .collect()
    }

    fn endpoints(&self) -> RVec<Pair> {
        self.table
            .endpoints
            .iter()
            .map(|e| Pair::new(e.name, e.paths[0]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ep;
    use jumpgate_plugin_api::Response;

    fn dispatcher(mount: &str) -> HostDispatcher {
        HostDispatcher::new(Arc::new(ServiceTable {
            service: "compute".into(),
            mount: mount.into(),
            endpoints: vec![
                ep("v2_index", "/v2"),
                ep("v2_server", "/v2/{tenant_id}/servers/{server_id}")
                    .alias("/v2.1/{tenant_id}/servers/{server_id}")
                    .alias("/v2.1/servers/{server_id}"),
                ep("index", "/"),
            ],
        }))
    }

    fn request(path: &str, host: &str) -> Request {
        let mut req = Request::new("GET", path);
        req.service = "compute".into();
        req.headers.push(Pair::new("host", host));
        req
    }

    fn url(
        d: &HostDispatcher,
        req: &Request,
        name: &str,
        params: &[Pair],
    ) -> Result<String, String> {
        d.get_endpoint_url(req, name.into(), params.into())
            .into_result()
            .map(Into::into)
            .map_err(Into::into)
    }

    #[test]
    fn builds_urls_from_host_mount_and_template() {
        let d = dispatcher("/compute");
        let req = request("/compute/v2", "jg.example:5000");
        assert_eq!(
            url(&d, &req, "v2_index", &[]).unwrap(),
            "http://jg.example:5000/compute/v2"
        );
        assert_eq!(
            url(&d, &req, "index", &[]).unwrap(),
            "http://jg.example:5000/compute/"
        );
    }

    #[test]
    fn root_mount_and_root_template_is_a_slash() {
        let d = dispatcher("");
        let req = request("/", "h");
        assert_eq!(url(&d, &req, "index", &[]).unwrap(), "http://h/");
    }

    #[test]
    fn tenant_comes_from_the_env_and_params_fill_the_rest() {
        let d = dispatcher("/compute");
        let mut req = request("/compute/v2", "h");
        req.env.push(Pair::new(env::TENANT_ID, "t1"));
        let params = [Pair::new("server_id", "a b/c")];
        assert_eq!(
            url(&d, &req, "v2_server", &params).unwrap(),
            "http://h/compute/v2/t1/servers/a%20b%2Fc"
        );
    }

    #[test]
    fn a_missing_parameter_is_an_error_naming_it() {
        let d = dispatcher("/compute");
        let mut req = request("/compute/v2", "h");
        req.env.push(Pair::new(env::TENANT_ID, "t1"));
        assert_eq!(
            url(&d, &req, "v2_server", &[]).unwrap_err(),
            "endpoint 'v2_server' needs a value for {server_id}"
        );
    }

    #[test]
    fn links_stay_under_the_version_prefix_the_client_used() {
        let d = dispatcher("/compute");
        let mut req = request("/compute/v2.1/servers/x", "h");
        req.params.push(Pair::new("server_id", "x"));
        let params = [Pair::new("server_id", "y")];
        assert_eq!(
            url(&d, &req, "v2_server", &params).unwrap(),
            "http://h/compute/v2.1/servers/y"
        );
        let mut req = request("/compute/v2.1/t9/servers/x", "h");
        req.params.push(Pair::new("tenant_id", "t9"));
        assert_eq!(
            url(&d, &req, "v2_server", &params).unwrap(),
            "http://h/compute/v2.1/t9/servers/y"
        );
    }

    #[test]
    fn forwarded_headers_win() {
        let d = dispatcher("/compute");
        let mut req = request("/compute/v2", "internal:5000");
        req.headers.push(Pair::new("x-forwarded-proto", "https"));
        req.headers
            .push(Pair::new("x-forwarded-host", "cloud.example.com, proxy2"));
        assert_eq!(
            url(&d, &req, "v2_index", &[]).unwrap(),
            "https://cloud.example.com/compute/v2"
        );
    }

    #[test]
    fn path_without_host() {
        let d = dispatcher("/compute");
        let req = request("/compute/v2", "h");
        let path: String = d
            .get_endpoint_path(&req, "v2_index".into(), RSlice::from_slice(&[]))
            .unwrap()
            .into();
        assert_eq!(path, "/compute/v2");
    }

    fn boxed() -> ResponderBox {
        jumpgate_plugin_api::abi::Responder_TO::from_value(
            TestResponder,
            abi_stable::sabi_trait::TD_Opaque,
        )
    }

    struct TestResponder;
    impl jumpgate_plugin_api::abi::Responder for TestResponder {
        fn allowed_methods(&self) -> RVec<RString> {
            vec![RString::from("GET")].into()
        }
        fn streams_body(&self, _: &Request) -> bool {
            false
        }
        fn is_nonblocking(&self) -> bool {
            true
        }
        fn handle(&self, _: &mut Request, _: &mut Response) -> RResult<(), RString> {
            RResult::ROk(())
        }
    }

    #[test]
    fn unknown_nickname_is_an_error_naming_it() {
        let d = dispatcher("/compute");
        let err = d.set_handler("v9_nothing".into(), boxed()).unwrap_err();
        assert_eq!(
            err.as_str(),
            "Unsupported endpoint 'v9_nothing' specified for compute."
        );
    }

    #[test]
    fn the_catch_all_is_set_apart_from_the_endpoints() {
        let d = dispatcher("/compute");
        d.set_handler(CATCH_ALL.into(), boxed()).unwrap();
        assert_eq!(d.get_unused_endpoints().len(), 3);
        let sealed = d.seal();
        assert!(sealed.catch_all.is_some());
        assert!(sealed.handlers.iter().all(Option::is_none));
    }

    #[test]
    fn unused_endpoints_shrink_as_handlers_are_set() {
        let d = dispatcher("/compute");
        assert_eq!(d.get_unused_endpoints().len(), 3);
        d.set_handler("v2_index".into(), boxed()).unwrap();
        let unused: Vec<String> = d
            .get_unused_endpoints()
            .into_iter()
            .map(Into::into)
            .collect();
        assert_eq!(unused, vec!["v2_server".to_string(), "index".to_string()]);
        let sealed = d.seal();
        assert!(sealed.handlers[0].is_some());
        assert!(sealed.catch_all.is_none());
        assert!(d.set_handler("index".into(), boxed()).is_err());
        assert_eq!(
            d.get_unused_endpoints().len(),
            2,
            "still known after sealing"
        );
    }
}
