//! (being written)

use jumpgate_plugin_api::prelude::*;

use crate::network::Svc;

pub fn setup(_disp: &Dispatcher, _svc: &Svc) -> Result<(), Error> {
    Ok(())
}

/// Checks that a project may have `n` more of `resource` (409 OverQuota otherwise).
pub fn enforce(
    _c: &rusqlite::Connection,
    _ctx: &crate::network::Ctx,
    _resource: &str,
    _n: i64,
) -> crate::network::Result<()> {
    Ok(())
}
