//! The default policies Nova and Cinder share: any authenticated caller reads, a project
//! member changes, admins do the rest; a refusal is the same 403 in both.

use jumpgate_plugin_api::prelude::*;

/// The caller of an authenticated request (401 without one).
pub fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

/// Changes need the `member` role (`PROJECT_MEMBER` of nova/policies/base.py and
/// cinder/policies/base.py: `role:member and project_id:%(project_id)s`). Tokens carry
/// implied roles, so `manager` and `admin` include it; a reader's token, or one with only
/// roles of an operator's own, does not.
pub fn writer(caller: &AuthContext, rule: &str) -> Result<(), Fault> {
    if caller.is_admin || is_member(caller) {
        Ok(())
    } else {
        Err(denied(rule))
    }
}

/// Whether the token carries the `member` role (itself or implied by another).
pub fn is_member(caller: &AuthContext) -> bool {
    caller.roles.iter().any(|r| r == "member")
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
