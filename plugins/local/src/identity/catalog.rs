//! The service catalog a token carries, built from the host's enabled services and their
//! dispatchers: it always names exactly what this host serves, at the URL the client used.

use jumpgate_plugin_api::{App, Error, Request};
use serde_json::{json, Value};

/// One catalog entry per type clients look up: (service, catalog type, name, nickname of
/// the versioned URL, whether the project id follows).
const ENTRIES: &[(&str, &str, &str, &str, bool)] = &[
    ("identity", "identity", "keystone", "v3_auth_index", false),
    ("compute", "compute", "nova", "v21_index", false),
    ("image", "image", "glance", "index", false),
    ("volume", "block-storage", "cinder", "v3_index", true),
    ("volume", "volumev3", "cinderv3", "v3_index", true),
    ("volume", "volumev2", "cinderv2", "v2_index", true),
    ("network", "network", "neutron", "index", false),
    ("baremetal", "baremetal", "ironic", "index", false),
];

const INTERFACES: &[&str] = &["public", "internal", "admin"];

/// A stable id for a catalog entry: the same on every host and every request.
fn id_of(parts: &[&str]) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, parts.join("/").as_bytes())
        .simple()
        .to_string()
}

/// A service of the catalog, for `/v3/services` and `/v3/endpoints` too.
pub struct Entry {
    pub service_id: String,
    pub kind: &'static str,
    pub name: &'static str,
    pub endpoints: Vec<(String, &'static str, String)>,
}

/// The entries for a caller scoped to `project` (None: no project in the URLs).
pub fn entries(app: &App, req: &Request, project: Option<&str>) -> Result<Vec<Entry>, Error> {
    let enabled = app.enabled_services();
    let mut out = Vec::new();
    for (service, kind, name, nickname, with_project) in ENTRIES {
        if !enabled.iter().any(|s| s == service) {
            continue;
        }
        let Some(disp) = app.get_dispatcher(service) else {
            continue;
        };
        let mut url = disp.get_endpoint_url(req, nickname, &[])?;
        while url.ends_with('/') {
            url.pop();
        }
        if *with_project {
            if let Some(p) = project {
                url = format!("{url}/{p}");
            }
        }
        out.push(Entry {
            service_id: id_of(&[kind]),
            kind,
            name,
            endpoints: INTERFACES
                .iter()
                .map(|i| (id_of(&[kind, i]), *i, url.clone()))
                .collect(),
        });
    }
    Ok(out)
}

/// Keystone v3's `catalog`.
pub fn v3(entries: &[Entry], region: &str) -> Value {
    entries
        .iter()
        .map(|e| {
            json!({
                "id": e.service_id,
                "type": e.kind,
                "name": e.name,
                "endpoints": e.endpoints.iter().map(|(id, interface, url)| json!({
                    "id": id,
                    "interface": interface,
                    "region": region,
                    "region_id": region,
                    "url": url,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Keystone v2.0's `serviceCatalog`.
pub fn v2(entries: &[Entry], region: &str) -> Value {
    entries
        .iter()
        .map(|e| {
            let url = |i: &str| {
                e.endpoints
                    .iter()
                    .find(|(_, x, _)| *x == i)
                    .map(|(_, _, u)| u.clone())
            };
            json!({
                "type": e.kind,
                "name": e.name,
                "endpoints_links": [],
                "endpoints": [{
                    "id": e.endpoints[0].0,
                    "region": region,
                    "publicURL": url("public"),
                    "internalURL": url("internal"),
                    "adminURL": url("admin"),
                }],
            })
        })
        .collect()
}
