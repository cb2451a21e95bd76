//! What a driver author implements: a handler object per endpoint, hooks, a token validator.
//! Each is wrapped for the ABI here, inside the driver, where a panic can still be caught.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::std_types::{ROption, RResult, RStr, RString, RVec};

use crate::abi::{Hook, Pair, Request, Responder, Response, TokenValidator};
use crate::context::AuthContext;
use crate::fault::Fault;
use crate::panic_message;

/// What a handler method returns: `Err` is written as the service's fault body.
pub type HandlerResult = Result<(), Fault>;

/// A handler object: one per endpoint, answering its HTTP methods, as in Falcon.
///
/// Put `#[handler]` on the `impl Handler for …` block: it writes [`Handler::allowed_methods`]
/// from the `on_*` methods the block defines. A method a handler does not define answers
/// 405 with the service's fault body, and the host never calls it.
pub trait Handler: Send + Sync + 'static {
    /// Answers `GET`.
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("GET"))
    }

    /// Answers `HEAD`; the host sends no body whatever `resp.body` holds.
    fn on_head(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("HEAD"))
    }

    /// Answers `POST`.
    fn on_post(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("POST"))
    }

    /// Answers `PUT`.
    fn on_put(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("PUT"))
    }

    /// Answers `PATCH`.
    fn on_patch(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("PATCH"))
    }

    /// Answers `DELETE`.
    fn on_delete(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let _ = (req, resp);
        Err(Fault::method_not_allowed("DELETE"))
    }

    /// The methods this handler answers. Written by `#[handler]`.
    fn allowed_methods(&self) -> &'static [&'static str];

    /// Asked before the body is read. `true` to read it from [`Request::body_reader`]
    /// (image uploads, passthrough); otherwise it arrives whole in `req.body`, up to the
    /// host's `max_request_body_size`.
    fn streams_body(&self, req: &Request) -> bool {
        let _ = req;
        false
    }

    /// `true` if the handler only computes (no file, database or network I/O): the host then
    /// calls it on its async worker instead of handing it to a blocking thread.
    fn is_nonblocking(&self) -> bool {
        false
    }
}

thread_local! {
    /// Set while a guarded call runs on this thread.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last guarded panic happened.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A driver has its own std and so its own panic hook, which would print to stderr beside
/// the host's log. Inside a guarded call the hook only notes where the panic happened, and
/// the host logs it with the error; elsewhere (a driver's own threads) std's hook runs.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into an error naming `what` and where it happened.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|p| {
        let at = PANIC_AT
            .with(|a| a.borrow_mut().take())
            .map(|at| format!(" (at {at})"))
            .unwrap_or_default();
        format!("panic in {what}: {}{at}", panic_message(&*p))
    })
}

/// A [`Handler`] as the ABI wants it, with every call guarded against panics.
pub(crate) struct Guarded<H>(pub H);

impl<H: Handler> Responder for Guarded<H> {
    fn allowed_methods(&self) -> RVec<RString> {
        let methods = guard("allowed_methods", || self.0.allowed_methods()).unwrap_or(&[]);
        methods.iter().map(|m| RString::from(*m)).collect()
    }

    fn streams_body(&self, req: &Request) -> bool {
        guard("streams_body", || self.0.streams_body(req)).unwrap_or(false)
    }

    fn is_nonblocking(&self) -> bool {
        guard("is_nonblocking", || self.0.is_nonblocking()).unwrap_or(false)
    }

    fn handle(&self, req: &mut Request, resp: &mut Response) -> RResult<(), RString> {
        let what = format!("{} {}", req.method, req.endpoint);
        let result = guard(&what, || {
            let h = &self.0;
            match req.method.as_str() {
                "GET" => h.on_get(req, resp),
                "HEAD" => h.on_head(req, resp),
                "POST" => h.on_post(req, resp),
                "PUT" => h.on_put(req, resp),
                "PATCH" => h.on_patch(req, resp),
                "DELETE" => h.on_delete(req, resp),
                other => Err(Fault::method_not_allowed(other)),
            }
        });
        match result {
            Ok(Ok(())) => RResult::ROk(()),
            Ok(Err(fault)) => {
                fault.write_for(req, resp);
                RResult::ROk(())
            }
            Err(panic) => RResult::RErr(panic.into()),
        }
    }
}

/// A request hook a driver offers under a name (see [`crate::App::add_hook`]).
pub trait RequestHook: Send + Sync + 'static {
    /// Before the handler. `Ok(true)`: the hook answered, `resp` goes out and the handler is
    /// skipped; a fault is written as the service's fault body and also skips the handler.
    fn on_request(&self, req: &mut Request, resp: &mut Response) -> Result<bool, Fault> {
        let _ = (req, resp);
        Ok(false)
    }

    /// After the handler.
    fn on_response(&self, req: &Request, resp: &mut Response) {
        let _ = (req, resp);
    }
}

pub(crate) struct GuardedHook<H>(pub H);

impl<H: RequestHook> Hook for GuardedHook<H> {
    fn on_request(&self, req: &mut Request, resp: &mut Response) -> RResult<bool, RString> {
        match guard("on_request hook", || self.0.on_request(req, resp)) {
            Ok(Ok(answered)) => RResult::ROk(answered),
            Ok(Err(fault)) => {
                fault.write_for(req, resp);
                RResult::ROk(true)
            }
            Err(panic) => RResult::RErr(panic.into()),
        }
    }

    fn on_response(&self, req: &Request, resp: &mut Response) -> RResult<(), RString> {
        guard("on_response hook", || self.0.on_response(req, resp))
            .map_err(RString::from)
            .into()
    }
}

/// Checks tokens for the host's `auth_token` hook (see [`crate::App::set_token_validator`]).
pub trait Validator: Send + Sync + 'static {
    /// `Ok(Some(caller))` for a valid token; `Ok(None)` for an invalid, expired or revoked
    /// one; `Err` when it could not be checked (the client gets 500, not 401).
    fn validate(&self, token: &str) -> Result<Option<AuthContext>, String>;
}

pub(crate) struct GuardedValidator<V>(pub V);

impl<V: Validator> TokenValidator for GuardedValidator<V> {
    fn validate(&self, token: RStr<'_>) -> RResult<ROption<RVec<Pair>>, RString> {
        match guard("token validator", || self.0.validate(token.as_str())) {
            Ok(Ok(Some(ctx))) => RResult::ROk(ROption::RSome(ctx.to_env().into())),
            Ok(Ok(None)) => RResult::ROk(ROption::RNone),
            Ok(Err(e)) | Err(e) => RResult::RErr(e.into()),
        }
    }
}
