//! The endpoint catalog: every endpoint nickname and URL template Jumpgate knows, per service.
//! Data only; the router and the dispatchers are built from it.

mod baremetal;
mod compute;
mod identity;
mod image;
mod network;
mod placement;
mod volume;

/// Methods that answer without a token: version documents are read before any login.
pub const DISCOVERY: &[&str] = &["GET", "HEAD"];

/// One endpoint: a nickname a driver registers a handler for, and the paths it answers.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: &'static str,
    /// URL templates under the service mount. The first is canonical; the others are the
    /// same resource under another API version prefix (`/v2.1` beside `/v2/{tenant_id}`).
    pub paths: Vec<&'static str>,
    /// Methods the auth hook lets through without `X-Auth-Token`.
    pub public: &'static [&'static str],
}

/// An endpoint answering at `path`, protected by the auth hook.
pub fn ep(name: &'static str, path: &'static str) -> Endpoint {
    Endpoint {
        name,
        paths: vec![path],
        public: &[],
    }
}

impl Endpoint {
    /// The same endpoint also answers at `path`.
    pub fn alias(mut self, path: &'static str) -> Self {
        self.paths.push(path);
        self
    }

    /// These methods need no token.
    pub fn public(mut self, methods: &'static [&'static str]) -> Self {
        self.public = methods;
        self
    }
}

/// The services Jumpgate serves, in the order the original listed them.
pub const SERVICES: &[&str] = &[
    "identity",
    "compute",
    "image",
    "volume",
    "network",
    "baremetal",
    "placement",
];

/// The endpoint table of `service`, or `None` for a service Jumpgate does not know.
pub fn endpoints(service: &str) -> Option<Vec<Endpoint>> {
    Some(match service {
        "identity" => identity::endpoints(),
        "compute" => compute::endpoints(),
        "image" => image::endpoints(),
        "volume" => volume::endpoints(),
        "network" => network::endpoints(),
        "baremetal" => baremetal::endpoints(),
        "placement" => placement::endpoints(),
        _ => return None,
    })
}
