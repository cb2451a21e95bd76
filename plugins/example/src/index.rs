//! `v2_index`: the compute versions document, with links built by the dispatcher.

use jumpgate_plugin_api::prelude::*;
use serde_json::json;

pub struct IndexV2 {
    disp: Dispatcher,
}

impl IndexV2 {
    pub fn new(disp: Dispatcher) -> IndexV2 {
        IndexV2 { disp }
    }
}

#[handler]
impl Handler for IndexV2 {
    fn on_get(&self, req: &mut Request, resp: &mut Response) -> HandlerResult {
        let versions = json!([{
            "id": "v2.0",
            "links": [{
                "href": self.disp.get_endpoint_url(req, "v2_index", &[])?,
                "rel": "self",
            }],
            "status": "CURRENT",
            "media-types": [{
                "base": "application/json",
                "type": "application/vnd.openstack.compute.v1.0+json",
            }],
        }]);
        resp.json(&json!({ "versions": versions }));
        Ok(())
    }

    fn is_nonblocking(&self) -> bool {
        true
    }
}
