//! The local driver in process: every service set up on one store in a temporary folder,
//! its handlers behind the host's router, called as the host calls them (an admin's token,
//! the auth hook's env), with no HTTP. A request is written as text, HTTP's way:
//!
//! ```text
//! POST /volume/v3/{project}/volumes/{volume}/action
//! OpenStack-API-Version: volume 3.70
//!
//! {"os-extend": {"new_size": 2}}
//! ```
//!
//! `{project}`, `{volume}`, … stand for the ids of resources made at start (`Cloud::ids`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RSliceMut, RStr, RString, RVec},
};
use jumpgate_plugin_api::abi::{
    App, AppBox, App_TO, BodyReader, BodyReader_TO, DispatcherBox, Dispatcher_TO, HookBox,
    LogLevel, Pair, Request, ResponderBox, Response, TokenValidatorBox,
};
use jumpgate_plugin_api::env;

use crate::catalog;
use crate::dispatcher::{HostDispatcher, ServiceTable};
use crate::router::Routes;

/// The services the local driver serves, identity first: it makes the admin the others see.
const SERVICES: &[(&str, &str)] = &[
    ("identity", ""),
    ("image", "/image"),
    ("volume", "/volume"),
    ("compute", "/compute"),
    ("network", "/network"),
    ("placement", "/placement"),
];

const ADMIN_PASSWORD: &str = "fuzz-admin-password";

struct Service {
    table: Arc<ServiceTable>,
    routes: Routes,
    handlers: Vec<Option<ResponderBox>>,
}

/// What the driver registered on the app besides handlers.
#[derive(Default)]
struct Registered {
    validator: Option<TokenValidatorBox>,
}

#[derive(Clone)]
struct FuzzApp {
    config: Arc<HashMap<(String, String), String>>,
    dispatchers: Arc<Vec<HostDispatcher>>,
    registered: Arc<Mutex<Registered>>,
}

impl App for FuzzApp {
    fn host_version(&self) -> RString {
        "fuzz".into()
    }

    fn config(&self, section: RStr<'_>, key: RStr<'_>) -> ROption<RString> {
        self.config
            .get(&(section.to_string(), key.to_string()))
            .map(|v| RString::from(v.as_str()))
            .into()
    }

    fn config_items(&self, section: RStr<'_>) -> RVec<Pair> {
        self.config
            .iter()
            .filter(|((s, _), _)| s == section.as_str())
            .map(|((_, k), v)| Pair::new(k.as_str(), v.as_str()))
            .collect()
    }

    fn enabled_services(&self) -> RVec<RString> {
        SERVICES.iter().map(|(s, _)| RString::from(*s)).collect()
    }

    fn get_dispatcher(&self, service: RStr<'_>) -> ROption<DispatcherBox> {
        self.dispatchers
            .iter()
            .find(|d| d.table.service == service.as_str())
            .map(|d| Dispatcher_TO::from_ptr(RArc::new(d.clone()), TD_Opaque))
            .into()
    }

    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        if level == LogLevel::Error {
            eprintln!("driver error [{target}]: {message}");
        }
    }

    fn set_token_validator(&self, validator: TokenValidatorBox) -> RResult<(), RString> {
        self.registered.lock().unwrap().validator = Some(validator);
        RResult::ROk(())
    }

    fn add_hook(&self, _name: RStr<'_>, _hook: HookBox) -> RResult<(), RString> {
        RResult::ROk(())
    }
}

/// A streamed request body (an image's data) read from memory.
struct Bytes(std::io::Cursor<Vec<u8>>);

impl BodyReader for Bytes {
    fn read(&mut self, mut buf: RSliceMut<'_, u8>) -> RResult<usize, RString> {
        std::io::Read::read(&mut self.0, buf.as_mut_slice())
            .map_err(|e| RString::from(e.to_string()))
            .into()
    }
}

/// A request written as text (see the module's doc).
pub struct Written<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

impl<'a> Written<'a> {
    /// `None` when `data` is not a request line, headers, a blank line and a body.
    pub fn parse(data: &'a [u8]) -> Option<Written<'a>> {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &b""[..]),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.lines();
        let (method, target) = lines.next()?.split_once(' ')?;
        let headers = lines
            .map(|l| {
                l.split_once(':')
                    .map(|(name, value)| (name.trim(), value.trim()))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Written {
            method,
            target,
            headers,
            body,
        })
    }
}

pub struct Cloud {
    _dir: tempfile::TempDir,
    services: Vec<Service>,
    validator: TokenValidatorBox,
    /// The admin's token and the env the auth hook sets for it.
    token: String,
    auth_env: Vec<Pair>,
    /// `{name}` → id, for the resources made at start.
    pub ids: Vec<(&'static str, String)>,
}

impl Cloud {
    /// One cloud per process, made at the first call: the driver keeps its store for the
    /// life of the process, and the fuzzer calls the target many times.
    pub fn global() -> &'static Cloud {
        static CLOUD: OnceLock<Cloud> = OnceLock::new();
        CLOUD.get_or_init(|| Cloud::new().unwrap_or_else(|e| panic!("fuzz cloud: {e}")))
    }

    fn new() -> Result<Cloud, String> {
        // Memory, where there is a tmpfs: the store syncs on every write.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .map_err(|e| e.to_string())?;
        let data = dir.path().to_string_lossy().into_owned();
        let config: HashMap<(String, String), String> = [
            ("local", "here", data.as_str()),
            ("local", "data_dir", data.as_str()),
            ("local", "admin_password", ADMIN_PASSWORD),
            // Room for every server the fuzzer makes: a full host is a 202 and an ERROR
            // server, which would hide the create path's other answers.
            ("local", "vcpus", "1000000"),
            ("local", "memory_mb", "2000000000"),
            ("local", "local_gb", "2000000000"),
        ]
        .into_iter()
        .map(|(s, k, v)| ((s.to_string(), k.to_string()), v.to_string()))
        .collect();
        let dispatchers: Vec<HostDispatcher> = SERVICES
            .iter()
            .map(|(service, mount)| {
                HostDispatcher::new(Arc::new(ServiceTable {
                    service: service.to_string(),
                    mount: mount.to_string(),
                    endpoints: catalog::endpoints(service).unwrap_or_default(),
                }))
            })
            .collect();
        let app = FuzzApp {
            config: Arc::new(config),
            dispatchers: Arc::new(dispatchers.clone()),
            registered: Arc::default(),
        };
        let module = jumpgate_local::jumpgate_driver_root_module();
        let setup = module.setup_routes();
        for disp in &dispatchers {
            let app_box: AppBox = App_TO::from_ptr(RArc::new(app.clone()), TD_Opaque);
            let disp_box: DispatcherBox =
                Dispatcher_TO::from_ptr(RArc::new(disp.clone()), TD_Opaque);
            setup(app_box, disp_box)
                .into_result()
                .map_err(|e| format!("setup_routes({}): {e}", disp.table.service))?;
        }
        let mut services = Vec::new();
        for disp in &dispatchers {
            services.push(Service {
                routes: Routes::new(&disp.table.endpoints)?,
                handlers: disp.seal().handlers,
                table: disp.table.clone(),
            });
        }
        let validator = app
            .registered
            .lock()
            .unwrap()
            .validator
            .take()
            .ok_or("the identity service set no token validator")?;
        let mut cloud = Cloud {
            _dir: dir,
            services,
            validator,
            token: String::new(),
            auth_env: Vec::new(),
            ids: Vec::new(),
        };
        cloud.log_in()?;
        cloud.make_fixtures()?;
        Ok(cloud)
    }

    /// A project-scoped admin token, as `openstack` gets one.
    fn log_in(&mut self) -> Result<(), String> {
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}});
        let resp = self.call("POST", "/v3/auth/tokens", &[], body.to_string().as_bytes());
        let token = find(&resp.headers, "X-Subject-Token")
            .ok_or_else(|| format!("admin login: {}", String::from_utf8_lossy(&resp.body)))?
            .to_string();
        let env = match self.validator.validate(token.as_str().into()).into_result() {
            Ok(ROption::RSome(env)) => env.into_iter().collect::<Vec<_>>(),
            other => return Err(format!("the admin's token does not validate: {other:?}")),
        };
        self.token = token;
        self.auth_env = env;
        let project = self.env(env::PROJECT_ID).ok_or("no project in the token")?;
        let user = self.env(env::USER_ID).ok_or("no user in the token")?;
        self.ids.push(("project", project));
        self.ids.push(("user", user));
        self.ids.push(("domain", "default".into()));
        Ok(())
    }

    fn env(&self, key: &str) -> Option<String> {
        find(&self.auth_env, key).map(str::to_string)
    }

    /// One resource of each kind the bodies act on, so that an action reaches its parser.
    fn make_fixtures(&mut self) -> Result<(), String> {
        let steps: &[(&'static str, &str, &str, &str, &str)] = &[
            // (name, method, path, body, JSON pointer of the id)
            (
                "image",
                "POST",
                "/image/v2/images",
                r#"{"name": "fuzz", "disk_format": "raw", "container_format": "bare"}"#,
                "/id",
            ),
            (
                "volume",
                "POST",
                "/volume/v3/{project}/volumes",
                r#"{"volume": {"size": 1, "name": "fuzz"}}"#,
                "/volume/id",
            ),
            (
                "network",
                "POST",
                "/network/v2.0/networks",
                r#"{"network": {"name": "fuzz"}}"#,
                "/network/id",
            ),
            (
                "subnet",
                "POST",
                "/network/v2.0/subnets",
                r#"{"subnet": {"network_id": "{network}", "cidr": "10.9.0.0/24", "ip_version": 4}}"#,
                "/subnet/id",
            ),
            (
                "port",
                "POST",
                "/network/v2.0/ports",
                r#"{"port": {"network_id": "{network}"}}"#,
                "/port/id",
            ),
            (
                "router",
                "POST",
                "/network/v2.0/routers",
                r#"{"router": {"name": "fuzz"}}"#,
                "/router/id",
            ),
            (
                "security_group",
                "POST",
                "/network/v2.0/security-groups",
                r#"{"security_group": {"name": "fuzz"}}"#,
                "/security_group/id",
            ),
            (
                "snapshot",
                "POST",
                "/volume/v3/{project}/snapshots",
                r#"{"snapshot": {"volume_id": "{volume}", "name": "fuzz"}}"#,
                "/snapshot/id",
            ),
            (
                "server",
                "POST",
                "/compute/v2.1/servers",
                r#"{"server": {"name": "fuzz", "imageRef": "{image}", "flavorRef": "42", "networks": "none"}}"#,
                "/server/id",
            ),
            (
                "aggregate",
                "POST",
                "/compute/v2.1/os-aggregates",
                r#"{"aggregate": {"name": "fuzz"}}"#,
                "/aggregate/id",
            ),
            (
                "server_group",
                "POST",
                "/compute/v2.1/os-server-groups",
                r#"{"server_group": {"name": "fuzz", "policies": ["affinity"]}}"#,
                "/server_group/id",
            ),
            (
                "volume_type",
                "POST",
                "/volume/v3/{project}/types",
                r#"{"volume_type": {"name": "fuzz"}}"#,
                "/volume_type/id",
            ),
            (
                "group",
                "POST",
                "/v3/groups",
                r#"{"group": {"name": "fuzz"}}"#,
                "/group/id",
            ),
            (
                "role",
                "POST",
                "/v3/roles",
                r#"{"role": {"name": "fuzz"}}"#,
                "/role/id",
            ),
            (
                "other_project",
                "POST",
                "/v3/projects",
                r#"{"project": {"name": "fuzz"}}"#,
                "/project/id",
            ),
        ];
        for (name, method, path, body, pointer) in steps {
            let path = self.fill(path);
            let body = self.fill(body);
            let version = [("OpenStack-API-Version", "compute 2.60")];
            let resp = self.call(method, &path, &version, body.as_bytes());
            if *name == "image" {
                // Data, so that the image is active and a server can boot from it.
                let octets = [("Content-Type", "application/octet-stream")];
                let file = self.fill("/image/v2/images/{image}/file");
                let id: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
                let file = file.replace("{image}", id["id"].as_str().unwrap_or_default());
                let put = self.call("PUT", &file, &octets, b"fuzz image data");
                if put.status != 204 {
                    return Err(format!("PUT {file} → {}", put.status));
                }
            }
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            // Nova's aggregates are numbered; everything else has a uuid.
            let id = match v.pointer(pointer) {
                Some(serde_json::Value::String(id)) => id.clone(),
                Some(serde_json::Value::Number(id)) => id.to_string(),
                _ => return Err(format!("{method} {path} → {}: {v}", resp.status)),
            };
            self.ids.push((name, id));
            // Volumes and servers are built in the background: wait as a client would.
            let ready = match *name {
                "volume" => Some((
                    "/volume/v3/{project}/volumes/{volume}",
                    "/volume/status",
                    "available",
                )),
                "server" => Some(("/compute/v2.1/servers/{server}", "/server/status", "ACTIVE")),
                _ => None,
            };
            if let Some((path, pointer, wanted)) = ready {
                self.wait_for(&self.fill(path), pointer, wanted)?;
            }
        }
        // Placement: a provider with an inventory, for the bodies of what it holds.
        let rp = "f0220000-0000-4000-8000-00000000f022";
        let latest = [("OpenStack-API-Version", "placement latest")];
        let steps = [
            (
                "POST".to_string(),
                "/placement/resource_providers".to_string(),
                format!(r#"{{"name": "fuzz-rp", "uuid": "{rp}"}}"#),
            ),
            (
                "PUT".to_string(),
                format!("/placement/resource_providers/{rp}/inventories"),
                r#"{"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}}"#
                    .to_string(),
            ),
        ];
        for (method, path, body) in steps {
            let resp = self.call(&method, &path, &latest, body.as_bytes());
            if resp.status != 200 {
                return Err(format!("{method} {path} → {}", resp.status));
            }
        }
        self.ids.push(("provider", rp.into()));
        Ok(())
    }

    fn wait_for(&self, path: &str, pointer: &str, wanted: &str) -> Result<(), String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let resp = self.call("GET", path, &[], b"");
            let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let status = v
                .pointer(pointer)
                .and_then(|s| s.as_str())
                .unwrap_or_default();
            if status == wanted {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("{path} never became {wanted}: {v}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `text` with every `{name}` of [`Cloud::ids`] replaced by its id.
    pub fn fill(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, id) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), id);
        }
        out
    }

    /// Runs a written request; `None` when `data` is not one.
    pub fn run(&self, data: &[u8]) -> Option<Response> {
        let w = Written::parse(data)?;
        let target = self.fill(w.target);
        Some(self.call(w.method, &target, &w.headers, w.body))
    }

    /// Calls the handler of `method target` as the host would, with the admin's token.
    /// A handler that fails (a panic, caught by plugin-api) or answers 500 is a crash.
    pub fn call(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut resp = Response::default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let Some(svc) = self
            .services
            .iter()
            .filter(|s| {
                path.strip_prefix(s.table.mount.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|s| s.table.mount.len())
        else {
            resp.status = 404;
            return resp;
        };
        let rel = &path[svc.table.mount.len()..];
        let Some(matched) = svc.routes.find(rel, |e| svc.handlers[e].is_some()) else {
            resp.status = 404;
            return resp;
        };
        let Some(handler) = &svc.handlers[matched.endpoint] else {
            resp.status = 501;
            return resp;
        };
        if !handler.allowed_methods().iter().any(|m| m == method) {
            resp.status = 405;
            return resp;
        }
        let mut req = Request::new(method, path);
        req.query = query.into();
        req.query_params = crate::query_pairs(query).into_iter().collect();
        for (name, value) in headers {
            req.headers.push(Pair::new(*name, *value));
        }
        req.headers.push(Pair::new("Host", "fuzz.test"));
        if req.header("Content-Type").is_none() {
            req.headers
                .push(Pair::new("Content-Type", "application/json"));
        }
        req.service = svc.table.service.as_str().into();
        req.endpoint = svc.table.endpoints[matched.endpoint].name.into();
        req.params = matched
            .params
            .iter()
            .map(|(k, v)| Pair::new(k.as_str(), v.as_str()))
            .collect();
        req.env.push(Pair::new(env::REMOTE_ADDR, "127.0.0.1:1"));
        req.env.push(Pair::new(env::URL_SCHEME, "http"));
        req.env.push(Pair::new(env::REQUEST_ID, "req-fuzz"));
        if !self.token.is_empty() {
            req.headers
                .push(Pair::new("X-Auth-Token", self.token.as_str()));
            req.env.extend(self.auth_env.iter().cloned());
            req.env
                .push(Pair::new(env::AUTH_TOKEN, self.token.as_str()));
            let tenant = req
                .param("tenant_id")
                .map(str::to_string)
                .or_else(|| self.env(env::PROJECT_ID));
            if let Some(t) = tenant {
                req.env.push(Pair::new(env::TENANT_ID, t));
            }
        }
        if handler.streams_body(&req) {
            let reader = Bytes(std::io::Cursor::new(body.to_vec()));
            req.body_stream = ROption::RSome(BodyReader_TO::from_value(reader, TD_Opaque));
        } else {
            req.body = body.to_vec().into();
        }
        if let RResult::RErr(e) = handler.handle(&mut req, &mut resp) {
            panic!("{method} {target}: the handler failed: {e}");
        }
        if resp.status == 500 {
            panic!(
                "{method} {target}: 500 {}",
                String::from_utf8_lossy(&resp.body)
            );
        }
        resp
    }
}

fn find<'a>(pairs: &'a [Pair], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_str())
}
