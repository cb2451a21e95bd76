//! (being written)

use jumpgate_plugin_api::prelude::*;

use crate::network::Svc;

pub fn setup(_disp: &Dispatcher, _svc: &Svc) -> Result<(), Error> {
    Ok(())
}

/// Returns a port's addresses to their subnets' pools.
pub fn release(c: &rusqlite::Connection, port: &serde_json::Value) -> crate::network::Result<()> {
    c.execute(
        "DELETE FROM net_ips WHERE port_id = ?1",
        [port["id"].as_str().unwrap_or_default()],
    )?;
    Ok(())
}
