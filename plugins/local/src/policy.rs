//! The default policies Nova and Cinder share: any authenticated caller reads, a role
//! besides `reader` changes, admins do the rest; a refusal is the same 403 in both.

use jumpgate_plugin_api::prelude::*;

/// The caller of an authenticated request (401 without one).
pub fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

/// Changes need a role besides `reader` (the project member default).
pub fn writer(caller: &AuthContext, rule: &str) -> Result<(), Fault> {
    if caller.is_admin || caller.roles.iter().any(|r| r != "reader") {
        Ok(())
    } else {
        Err(denied(rule))
    }
}

/// Admin-only operations.
pub fn admin(caller: &AuthContext, rule: &str) -> Result<(), Fault> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(denied(rule))
    }
}

/// The 403 for a policy check that failed.
pub fn denied(rule: &str) -> Fault {
    Fault::forbidden(format!("Policy doesn't allow {rule} to be performed."))
}
