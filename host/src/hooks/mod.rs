//! Request hooks, named in jumpgate.conf and run in that order around every handler:
//! the built-ins (`request_id`, `log`, `admin_token`, `auth_token`) and hooks drivers offer.

mod admin_token;
mod auth_token;
mod log;
mod request_id;

use std::time::Instant;

use jumpgate_plugin_api::abi::HookBox;
use jumpgate_plugin_api::{Fault, FaultStyle, Request, Response};

use crate::catalog::Endpoint;
use crate::gateway::Gateway;

/// Names of the hooks the host provides.
pub const BUILT_IN: &[&str] = &["request_id", "log", "admin_token", "auth_token"];

/// One request on its way through the hooks and the handler.
pub struct Exchange<'a> {
    pub req: Request,
    pub resp: Response,
    /// The endpoint the path matched, if any.
    pub endpoint: Option<&'a Endpoint>,
    pub start: Instant,
}

impl Exchange<'_> {
    /// Answers with `fault`, as the request's service would (its style, its negotiation).
    pub fn answer(&mut self, fault: Fault) {
        self.resp = Response::default();
        fault.write_for(&self.req, &mut self.resp);
    }

    /// Answers with `fault` in `style`, whatever the service.
    pub fn answer_styled(&mut self, fault: Fault, style: FaultStyle) {
        self.resp = Response::default();
        fault.write_styled(style, &mut self.resp);
    }

    /// Whether the matched endpoint answers this method without a token.
    pub fn is_public(&self) -> bool {
        self.endpoint
            .is_some_and(|e| e.public.contains(&self.req.method.as_str()))
    }
}

pub enum Hook {
    RequestId,
    Log,
    AdminToken,
    AuthToken,
    Driver { name: String, hook: HookBox },
}

impl Hook {
    /// The hook `name` in jumpgate.conf stands for. The original's module paths
    /// (`jumpgate.common.hooks.auth_token`) name the same built-ins.
    pub fn resolve(name: &str, offered: &mut Vec<(String, HookBox)>) -> Result<Hook, String> {
        let short = name.strip_prefix("jumpgate.common.hooks.").unwrap_or(name);
        Ok(match short {
            "request_id" => Hook::RequestId,
            "log" => Hook::Log,
            "admin_token" => Hook::AdminToken,
            "auth_token" => Hook::AuthToken,
            _ => {
                let Some(at) = offered.iter().position(|(n, _)| n == name) else {
                    return Err(format!(
                        "unknown hook '{name}': built-in hooks are {}, and no driver offers one by that name",
                        BUILT_IN.join(", ")
                    ));
                };
                let (name, hook) = offered.remove(at);
                Hook::Driver { name, hook }
            }
        })
    }

    /// Before the handler; `true` when the hook answered the request itself.
    pub fn on_request(&self, gw: &Gateway, x: &mut Exchange) -> bool {
        match self {
            Hook::RequestId => request_id::on_request(x),
            Hook::Log => false,
            Hook::AdminToken => admin_token::on_request(gw, x),
            Hook::AuthToken => auth_token::on_request(gw, x),
            Hook::Driver { name, hook } => {
                match hook.on_request(&mut x.req, &mut x.resp).into_result() {
                    Ok(answered) => answered,
                    Err(e) => {
                        tracing::error!(hook = %name, request_id = x.req.env(jumpgate_plugin_api::env::REQUEST_ID).unwrap_or(""), "request hook failed: {e}");
                        x.answer(Fault::internal(crate::gateway::INTERNAL_ERROR));
                        true
                    }
                }
            }
        }
    }

    /// After the handler (or the hook that answered).
    pub fn on_response(&self, x: &mut Exchange) {
        match self {
            Hook::RequestId => request_id::on_response(x),
            Hook::Log => log::on_response(x),
            Hook::AdminToken | Hook::AuthToken => {}
            Hook::Driver { name, hook } => {
                if let Err(e) = hook.on_response(&x.req, &mut x.resp).into_result() {
                    tracing::error!(hook = %name, "response hook failed: {e}");
                }
            }
        }
    }
}
