//! Nova's version documents: `GET /` lists v2.0 and v2.1 (with the microversion range),
//! `GET /v2` and `GET /v2.1` describe one. Public, as in Nova.

use std::sync::Arc;

use jumpgate_plugin_api::prelude::*;
use serde_json::{json, Value};

use super::microversion::{MAX, MIN};
use super::Compute;

type Svc = Arc<Compute>;

endpoint!(Svc; Index { on_get => index } nonblocking);
endpoint!(Svc; V2 { on_get => v2 } nonblocking);
endpoint!(Svc; V21 { on_get => v21 } nonblocking);

pub fn setup(disp: &Dispatcher, svc: Svc) -> Result<(), Error> {
    routes! {
        disp, svc;
        "index" => Index,
        "v2_index" => V2,
        "v21_index" => V21,
    }
    Ok(())
}

fn base(svc: &Compute, req: &Request) -> Result<String, Fault> {
    let disp = svc
        .app
        .get_dispatcher("compute")
        .ok_or_else(|| Fault::internal("compute is not enabled"))?;
    let mut url = disp.get_endpoint_url(req, "index", &[])?;
    while url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn version(base: &str, v21: bool, detail: bool) -> Value {
    let mut v = if v21 {
        json!({
            "id": "v2.1", "status": "CURRENT", "version": MAX.to_string(), "min_version": MIN.to_string(),
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{base}/v2.1/")}],
        })
    } else {
        json!({
            "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{base}/v2/")}],
        })
    };
    if detail {
        v["links"]
            .as_array_mut()
            .expect("links")
            .push(json!({"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}));
        v["media-types"] = json!([{
            "base": "application/json",
            "type": format!("application/vnd.openstack.compute+json;version={}", if v21 { "2.1" } else { "2" }),
        }]);
    }
    v
}

fn index(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(svc, req)?;
    resp.json(&json!({"versions": [version(&base, false, false), version(&base, true, false)]}));
    Ok(())
}

fn v2(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let base = base(svc, req)?;
    resp.json(&json!({"version": version(&base, false, true)}));
    Ok(())
}

fn v21(svc: &Svc, req: &mut Request, resp: &mut Response) -> HandlerResult {
    let version_asked = super::microversion::requested(req)?;
    let base = base(svc, req)?;
    super::microversion::stamp(resp, version_asked);
    resp.json(&json!({"version": version(&base, true, true)}));
    Ok(())
}
