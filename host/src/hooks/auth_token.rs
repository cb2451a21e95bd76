//! `auth_token`: every endpoint that is not public needs a valid `X-Auth-Token`, checked by
//! the validator the identity driver registered (a no-op until one is). Sets the caller in
//! the request env; a `{tenant_id}` in the URL must be the token's project unless admin.

use jumpgate_plugin_api::{env, AuthContext, Fault, FaultStyle, Pair};

use super::Exchange;
use crate::dispatcher::base_url;
use crate::gateway::{Gateway, INTERNAL_ERROR};

pub fn on_request(gw: &Gateway, x: &mut Exchange) -> bool {
    if x.is_public() {
        return false;
    }
    let Some(validator) = &gw.validator else {
        return false;
    };
    if x.req.context().is_some() {
        // Authenticated already (admin_token).
        return false;
    }
    let Some(token) = x.req.header("x-auth-token").map(str::to_string) else {
        return refuse(gw, x, "The request you have made requires authentication.");
    };
    let ctx = match validator.validate(token.as_str().into()).into_result() {
        Ok(abi_stable::std_types::ROption::RSome(entries)) => {
            let entries: Vec<Pair> = entries.into_iter().collect();
            match AuthContext::from_env(&entries) {
                Some(ctx) => {
                    x.req.env.extend(entries);
                    ctx
                }
                None => {
                    tracing::error!("token validator accepted a token but named no user_id");
                    x.answer(Fault::internal(INTERNAL_ERROR));
                    return true;
                }
            }
        }
        Ok(abi_stable::std_types::ROption::RNone) => {
            return refuse(gw, x, "The request you have made requires authentication.");
        }
        Err(e) => {
            tracing::error!("token validator failed: {e}");
            x.answer(Fault::internal(INTERNAL_ERROR));
            return true;
        }
    };
    x.req.set_env(env::AUTH_TOKEN, &token);
    let tenant = match x.req.param("tenant_id") {
        Some(url_project) => {
            if ctx.project_id.as_deref() != Some(url_project) && !ctx.is_admin {
                x.answer(Fault::forbidden(format!(
                    "Project {url_project} in the URL is not the project of the token."
                )));
                return true;
            }
            Some(url_project.to_string())
        }
        None => ctx.project_id.clone(),
    };
    if let Some(t) = tenant {
        x.req.set_env(env::TENANT_ID, &t);
    }
    false
}

/// 401 as keystonemiddleware answers it in front of every service: Keystone's body and a
/// `WWW-Authenticate` saying where to get a token.
fn refuse(gw: &Gateway, x: &mut Exchange, message: &str) -> bool {
    let identity = gw
        .config
        .service("identity")
        .map(|s| s.mount.clone())
        .unwrap_or_default();
    let uri = format!("{}{}", base_url(&x.req), identity);
    let fault =
        Fault::unauthorized(message).header("WWW-Authenticate", format!("Keystone uri=\"{uri}\""));
    x.answer_styled(fault, FaultStyle::Keystone);
    true
}
