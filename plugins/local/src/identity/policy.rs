//! Who may do what: Keystone's default policy, read as "admin is admin". A caller with the
//! admin role may do anything; others read and change only themselves and their project,
//! and a reader changes nothing.

use jumpgate_plugin_api::{AuthContext, Fault, Request};

/// The caller, or 401 when the auth hook let the request through without one (it never
/// does for protected endpoints; this guards a misconfigured `request_hooks`).
pub fn caller(req: &Request) -> Result<AuthContext, Fault> {
    req.context()
        .ok_or_else(|| Fault::unauthorized("The request you have made requires authentication."))
}

fn denied(action: &str) -> Fault {
    Fault::forbidden(format!(
        "You are not authorized to perform the requested action: {action}."
    ))
}

/// Cloud administration: creating users, projects, roles, grants.
pub fn admin(req: &Request, action: &str) -> Result<AuthContext, Fault> {
    let c = caller(req)?;
    if c.is_admin {
        Ok(c)
    } else {
        Err(denied(action))
    }
}

/// The caller is `user_id`, or an admin.
pub fn self_or_admin(req: &Request, user_id: &str, action: &str) -> Result<AuthContext, Fault> {
    let c = caller(req)?;
    if c.is_admin || c.user_id == user_id {
        Ok(c)
    } else {
        Err(denied(action))
    }
}

/// Changing something of one's own: not with a reader-only token.
pub fn self_writer(req: &Request, user_id: &str, action: &str) -> Result<AuthContext, Fault> {
    let c = self_or_admin(req, user_id, action)?;
    if !c.is_admin && !c.roles.iter().any(|r| r != "reader") {
        return Err(denied(action));
    }
    Ok(c)
}
