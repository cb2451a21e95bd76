//! Every type that crosses the boundary between the host and a driver `.so`.
//! Layouts here are checked by abi_stable at load time: a change means rebuilding every driver.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RArc, RBox, ROption, RResult, RSlice, RSliceMut, RStr, RString, RVec},
    StableAbi,
};

/// The semantic version of this interface, beyond what the layout check catches: a driver
/// whose `abi_version()` differs from the host's is refused.
pub const ABI_VERSION: u32 = 1;

/// A name and a value: a header, a query or path parameter, an entry of the request env.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub name: RString,
    pub value: RString,
}

impl Pair {
    pub fn new(name: impl Into<RString>, value: impl Into<RString>) -> Self {
        Pair {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// One request, as the host hands it to a handler.
#[repr(C)]
#[derive(StableAbi)]
pub struct Request {
    /// Upper case: `GET`, `POST`, …
    pub method: RString,
    /// The path as the client sent it, mount included, `.json` suffix included.
    pub path: RString,
    /// The raw query string, without `?`.
    pub query: RString,
    /// The query string decoded, in order; a name may repeat.
    pub query_params: RVec<Pair>,
    /// Header names are lower case; a name may repeat.
    pub headers: RVec<Pair>,
    /// Values of the endpoint template's `{placeholders}`, percent-decoded.
    pub params: RVec<Pair>,
    /// What hooks learnt about the request: request id, and after auth the user, project,
    /// roles and token (keys in [`crate::env`]).
    pub env: RVec<Pair>,
    /// The service this endpoint belongs to: `identity`, `compute`, `image`, `volume`, …
    pub service: RString,
    /// The endpoint nickname the path matched, e.g. `v2_index`.
    pub endpoint: RString,
    /// The whole body, for handlers that do not stream it.
    pub body: RVec<u8>,
    /// The body as a stream, for handlers whose `streams_body` said so; `body` is then empty.
    pub body_stream: ROption<BodyReaderBox>,
}

/// One response, as a handler fills it in. Starts as `200` with no headers and no body.
#[repr(C)]
#[derive(StableAbi)]
pub struct Response {
    pub status: u16,
    pub headers: RVec<Pair>,
    pub body: RVec<u8>,
    /// A body produced while it is sent, for downloads; takes precedence over `body`.
    pub body_stream: ROption<BodyReaderBox>,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            status: 200,
            headers: RVec::new(),
            body: RVec::new(),
            body_stream: ROption::RNone,
        }
    }
}

/// A source of bytes: a request body the host receives, or a response body a driver sends.
#[sabi_trait]
pub trait BodyReader: Send {
    /// Fills the start of `buf`; `Ok(0)` is the end of the body.
    #[sabi(last_prefix_field)]
    fn read(&mut self, buf: RSliceMut<'_, u8>) -> RResult<usize, RString>;
}

pub type BodyReaderBox = BodyReader_TO<'static, RBox<()>>;

/// A handler object as the host sees it. Driver authors implement [`crate::Handler`] and
/// register it with [`crate::Dispatcher::set_handler`], which builds this for them.
#[sabi_trait]
pub trait Responder: Send + Sync {
    /// The methods this handler answers, upper case; any other gets 405.
    fn allowed_methods(&self) -> RVec<RString>;

    /// Asked before the body is read: `true` to get it as `body_stream`.
    fn streams_body(&self, req: &Request) -> bool;

    /// `true` if the handler never blocks, so the host may call it on an async worker.
    fn is_nonblocking(&self) -> bool;

    /// Answers the request. `Err` is a bug or a failure in the driver: the client gets 500.
    #[sabi(last_prefix_field)]
    fn handle(&self, req: &mut Request, resp: &mut Response) -> RResult<(), RString>;
}

pub type ResponderBox = Responder_TO<'static, RBox<()>>;

/// A request hook a driver offers; `request_hooks`/`response_hooks` in jumpgate.conf name it.
#[sabi_trait]
pub trait Hook: Send + Sync {
    /// Runs before the handler. `Ok(true)`: the hook answered, `resp` goes out as it is.
    fn on_request(&self, req: &mut Request, resp: &mut Response) -> RResult<bool, RString>;

    /// Runs after the handler, in configuration order.
    #[sabi(last_prefix_field)]
    fn on_response(&self, req: &Request, resp: &mut Response) -> RResult<(), RString>;
}

pub type HookBox = Hook_TO<'static, RBox<()>>;

/// Checks `X-Auth-Token`s for the host's `auth_token` hook; the identity driver provides it.
#[sabi_trait]
pub trait TokenValidator: Send + Sync {
    /// `Ok(Some(env))` for a valid token, with the env entries of its user, scope and roles
    /// (see [`crate::AuthContext`]); `Ok(None)` for an invalid, expired or revoked one.
    #[sabi(last_prefix_field)]
    fn validate(&self, token: RStr<'_>) -> RResult<ROption<RVec<Pair>>, RString>;
}

pub type TokenValidatorBox = TokenValidator_TO<'static, RBox<()>>;

/// One service's endpoints: where handlers are registered and how URLs are built.
/// Implemented by the host; cheap to clone and valid as long as a handler holds it.
#[sabi_trait]
pub trait Dispatcher: Send + Sync + Clone {
    /// `identity`, `compute`, …
    fn service(&self) -> RString;

    /// The path prefix the service is mounted at: `""` for identity, `/compute`, …
    fn mount(&self) -> RString;

    /// Attaches `handler` to the endpoint `nickname`. An unknown nickname is an error naming it.
    fn set_handler(&self, nickname: RStr<'_>, handler: ResponderBox) -> RResult<(), RString>;

    /// Mount + template of `nickname`, `{tenant_id}` from the request env and the other
    /// placeholders from `params`.
    fn get_endpoint_path(
        &self,
        req: &Request,
        nickname: RStr<'_>,
        params: RSlice<'_, Pair>,
    ) -> RResult<RString, RString>;

    /// The absolute URL of `nickname`: scheme and host from the request (honouring
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`), then [`Dispatcher::get_endpoint_path`].
    fn get_endpoint_url(
        &self,
        req: &Request,
        nickname: RStr<'_>,
        params: RSlice<'_, Pair>,
    ) -> RResult<RString, RString>;

    /// Nicknames no handler has been set for.
    fn get_unused_endpoints(&self) -> RVec<RString>;

    /// Every nickname with its canonical template, in table order.
    #[sabi(last_prefix_field)]
    fn endpoints(&self) -> RVec<Pair>;
}

pub type DispatcherBox = Dispatcher_TO<'static, RArc<()>>;

/// Severity of a line a driver logs through [`App::log`].
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// The host, as a driver sees it. Cheap to clone; handlers may keep it.
#[sabi_trait]
pub trait App: Send + Sync + Clone {
    /// The jumpgate version, e.g. `0.1.0`.
    fn host_version(&self) -> RString;

    /// A value of jumpgate.conf; keys of `[DEFAULT]` cascade into every section.
    fn config(&self, section: RStr<'_>, key: RStr<'_>) -> ROption<RString>;

    /// Every key of a section with its value, `[DEFAULT]` included.
    fn config_items(&self, section: RStr<'_>) -> RVec<Pair>;

    /// The services enabled in this configuration, in order.
    fn enabled_services(&self) -> RVec<RString>;

    /// Another service's dispatcher, for building its URLs (a token's catalog).
    fn get_dispatcher(&self, service: RStr<'_>) -> ROption<DispatcherBox>;

    /// Writes a line to the host's log: a driver has its own `tracing` globals, unseen.
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);

    /// Makes `validator` the one the `auth_token` hook asks. One per configuration.
    fn set_token_validator(&self, validator: TokenValidatorBox) -> RResult<(), RString>;

    /// Offers a hook under `name` for `request_hooks` in jumpgate.conf.
    #[sabi(last_prefix_field)]
    fn add_hook(&self, name: RStr<'_>, hook: HookBox) -> RResult<(), RString>;
}

pub type AppBox = App_TO<'static, RArc<()>>;

/// The root module every driver `.so` exports, built by [`crate::export_driver!`].
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = DriverModRef)))]
#[sabi(missing_field(panic))]
pub struct DriverMod {
    /// [`ABI_VERSION`] as the driver was built.
    pub abi_version: extern "C" fn() -> u32,
    /// The driver's name, e.g. `local`.
    pub name: extern "C" fn() -> RStr<'static>,
    /// The driver's own version.
    pub version: extern "C" fn() -> RStr<'static>,
    /// The services it can serve.
    pub services: extern "C" fn() -> RVec<RString>,
    /// Called once per service the configuration gives this driver, with that service's
    /// dispatcher; registers handlers. Called again for every reload.
    pub setup_routes: extern "C" fn(app: AppBox, disp: DispatcherBox) -> RResult<(), RString>,
    /// Called once this build of the driver serves no configuration any more (a reload
    /// switched to another driver or build, or the host shuts down): stop its threads.
    #[sabi(last_prefix_field)]
    pub teardown: extern "C" fn(),
}

impl RootModule for DriverModRef {
    declare_root_module_statics! {DriverModRef}
    const BASE_NAME: &'static str = "jumpgate_driver";
    const NAME: &'static str = "jumpgate driver";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
