//! `admin_token`: the `admin_token` of jumpgate.conf, when set, is a bootstrap super-user
//! token — for creating the first users before any exist. Empty means no such token.

use jumpgate_plugin_api::{AuthContext, Pair};

use super::Exchange;
use crate::gateway::Gateway;

pub fn on_request(gw: &Gateway, x: &mut Exchange) -> bool {
    let Some(admin) = gw.config.admin_token.as_deref() else {
        return false;
    };
    if x.req.header("x-auth-token") != Some(admin) {
        return false;
    }
    let ctx = AuthContext {
        user_id: "admin_token".into(),
        user_name: "admin_token".into(),
        roles: vec!["admin".into(), "member".into(), "reader".into()],
        is_admin: true,
        system_scope: true,
        ..Default::default()
    };
    x.req.env.extend(ctx.to_env());
    // URLs built for this request keep the project the client asked for.
    if let Some(tenant) = x.req.param("tenant_id").map(str::to_string) {
        x.req
            .env
            .push(Pair::new(jumpgate_plugin_api::env::TENANT_ID, tenant));
    }
    false
}
