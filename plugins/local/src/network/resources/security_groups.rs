//! (being written)

use jumpgate_plugin_api::prelude::*;

use crate::network::Svc;

pub fn setup(_disp: &Dispatcher, _svc: &Svc) -> Result<(), Error> {
    Ok(())
}
