//! A compute index whose answer carries the build's mark (`JG_MARK` at build time): two
//! builds differ in bytes and in what they say, so a reload can be seen on the wire.

use jumpgate_plugin_api::prelude::*;

struct Index;

#[handler]
impl Handler for Index {
    fn on_get(&self, _: &mut Request, resp: &mut Response) -> HandlerResult {
        resp.json(&serde_json::json!({ "build": option_env!("JG_MARK").unwrap_or("unmarked") }));
        Ok(())
    }
}

fn setup_routes(_: &App, disp: &Dispatcher) -> Result<(), Error> {
    disp.set_handler("v2_index", Index)
}

export_driver! {
    name: "standalone",
    services: ["compute"],
    setup_routes: setup_routes,
}
