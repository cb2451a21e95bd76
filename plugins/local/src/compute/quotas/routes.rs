//! (being written)

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;

use crate::compute::Compute;

pub fn setup(_disp: &Dispatcher, _svc: Arc<Compute>) -> Result<(), Error> {
    Ok(())
}
