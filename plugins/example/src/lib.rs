//! The example driver of docs/developer-guide.md: the compute index endpoint and the
//! identity v2.0 tokens endpoint, written as the original guide walks through them.

mod index;
mod tokens;

use jumpgate_plugin_api::prelude::*;

use index::IndexV2;
use tokens::TokensV2;

fn setup_routes(app: &App, disp: &Dispatcher) -> Result<(), Error> {
    match disp.service().as_str() {
        "compute" => disp.set_handler("v2_index", IndexV2::new(disp.clone())),
        "identity" => disp.set_handler("v2_tokens", TokensV2::new(app.clone())),
        other => Err(Error(format!("the example driver does not serve {other}"))),
    }
}

export_driver! {
    name: "example",
    services: ["compute", "identity"],
    setup_routes: setup_routes,
}
