//! Cinder's version documents: `GET /` lists v2.0 and v3.0 (with the microversion range)
//! as 300 Multiple Choices; `GET /v3/` and `GET /v2/` describe one. Public, as in Cinder.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::{Volumes, API};

type Svc = Arc<Volumes>;

endpoint!(Svc; Index { on_get => index } nonblocking);
endpoint!(Svc; V2 { on_get => v2 } nonblocking);
endpoint!(Svc; V3 { on_get => v3 } nonblocking);

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "index" => Index,
        "v2_index" => V2,
        "v3_index" => V3,
    }
    Ok(())
}

fn base(svc: &Volumes, req: &Request) -> Result<String, Fault> {
    let disp = svc
        .app
        .get_dispatcher("volume")
        .ok_or_else(|| Fault::internal("volume is not enabled"))?;
    let mut url = disp.get_endpoint_url(req, "index", &[])?;
    while url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn version(base: &str, v3: bool) -> Value {
    let (id, status, version, min, updated, major) = if v3 {
        (
            "v3.0",
            "CURRENT",
            API.max.to_string(),
            API.min.to_string(),
            "2023-08-31T00:00:00Z",
            "3",
        )
    } else {
        (
            "v2.0",
            "DEPRECATED",
            String::new(),
            String::new(),
            "2017-02-25T12:00:00Z",
            "2",
        )
    };
    json!({
        "id": id, "status": status, "version": version, "min_version": min, "updated": updated,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": format!("{base}/v{major}/")},
        ],
        "media-types": [{
            "base": "application/json",
            "type": format!("application/vnd.openstack.volume+json;version={major}"),
        }],
    })
}

fn index(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(svc, req)?;
    resp.set_status(300);
    resp.json(&json!({"versions": [version(&base, false), version(&base, true)]}));
    Ok(())
}

fn v2(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(svc, req)?;
    resp.json(&json!({"versions": [version(&base, false)]}));
    Ok(())
}

fn v3(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let asked = API.requested(req)?;
    let base = base(svc, req)?;
    API.stamp(resp, asked);
    resp.json(&json!({"versions": [version(&base, true)]}));
    Ok(())
}
