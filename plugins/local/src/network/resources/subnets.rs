//! (being written)

use jumpgate_plugin_api::prelude::*;

use crate::network::Svc;

pub fn setup(_disp: &Dispatcher, _svc: &Svc) -> Result<(), Error> {
    Ok(())
}

/// Removes a subnet with its addresses (its network is being deleted).
pub fn remove(
    _net: &crate::network::Net,
    c: &rusqlite::Connection,
    _ctx: &crate::network::Ctx,
    doc: &serde_json::Value,
) -> crate::network::Result<()> {
    let id = doc["id"].as_str().unwrap_or_default();
    c.execute("DELETE FROM net_ips WHERE subnet_id = ?1", [id])?;
    crate::network::store::remove(c, "subnet", id)
}
