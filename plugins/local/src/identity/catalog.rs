//! The service catalog a token carries: the host's enabled services at the URL the client
//! used (so it always names what this host serves), then any services an admin registered
//! through the API (another cloud's object store, say).

use jumpgate_plugin_api::{App, Error, Request};
use serde_json::{json, Value};

use super::model;

/// One catalog entry per type clients look up: (service, catalog type, name, nickname of
/// the versioned URL, whether the project id follows).
const BUILT_IN: &[(&str, &str, &str, &str, bool)] = &[
    ("identity", "identity", "keystone", "v3_auth_index", false),
    ("compute", "compute", "nova", "v21_index", false),
    ("image", "image", "glance", "index", false),
    ("volume", "block-storage", "cinder", "v3_index", true),
    ("volume", "volumev3", "cinderv3", "v3_index", true),
    ("volume", "volume", "volume", "v3_index", true),
    ("volume", "volumev2", "cinderv2", "v2_index", true),
    ("network", "network", "neutron", "index", false),
    ("baremetal", "baremetal", "ironic", "index", false),
    ("placement", "placement", "placement", "index", false),
];

const INTERFACES: &[&str] = &["public", "internal", "admin"];

/// A stable id for a built-in entry: the same on every host and every request.
fn id_of(parts: &[&str]) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, parts.join("/").as_bytes())
        .simple()
        .to_string()
}

/// A service of the catalog, for tokens and for `/v3/services` and `/v3/endpoints`.
pub struct Entry {
    pub service_id: String,
    pub kind: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// Served by this host: changed in jumpgate.conf, not through the API.
    pub built_in: bool,
    pub endpoints: Vec<EndpointEntry>,
}

pub struct EndpointEntry {
    pub id: String,
    pub interface: String,
    pub url: String,
    pub region: Option<String>,
    pub enabled: bool,
}

/// Every entry, for a caller scoped to `project` (None: no project in the URLs).
pub fn entries(
    app: &App,
    req: &Request,
    project: Option<&str>,
    region: &str,
    stored: &Stored,
) -> Result<Vec<Entry>, Error> {
    let enabled = app.enabled_services();
    let mut out = Vec::new();
    for (service, kind, name, nickname, with_project) in BUILT_IN {
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
            kind: kind.to_string(),
            name: name.to_string(),
            description: String::new(),
            enabled: true,
            built_in: true,
            endpoints: INTERFACES
                .iter()
                .map(|i| EndpointEntry {
                    id: id_of(&[kind, i]),
                    interface: i.to_string(),
                    url: url.clone(),
                    region: Some(region.to_string()),
                    enabled: true,
                })
                .collect(),
        });
    }
    for s in &stored.services {
        out.push(Entry {
            service_id: s.id.clone(),
            kind: s.kind.clone(),
            name: s.name.clone().unwrap_or_default(),
            description: s.description.clone().unwrap_or_default(),
            enabled: s.enabled,
            built_in: false,
            endpoints: stored
                .endpoints
                .iter()
                .filter(|e| e.service_id == s.id)
                .map(|e| EndpointEntry {
                    id: e.id.clone(),
                    interface: e.interface.clone(),
                    // Keystone's URL templates: the project of the token.
                    url: match project {
                        Some(p) => e
                            .url
                            .replace("$(project_id)s", p)
                            .replace("$(tenant_id)s", p),
                        None => e.url.clone(),
                    },
                    region: e.region_id.clone(),
                    enabled: e.enabled,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// The services and endpoints admins registered.
#[derive(Default)]
pub struct Stored {
    pub services: Vec<model::Service>,
    pub endpoints: Vec<model::Endpoint>,
}

impl Stored {
    pub fn read(c: model::Repo) -> model::Result<Stored> {
        Ok(Stored {
            services: model::list_services(c)?,
            endpoints: model::list_endpoints(c)?,
        })
    }
}

/// Keystone v3's `catalog`: enabled services with their enabled endpoints.
pub fn v3(entries: &[Entry]) -> Value {
    entries
        .iter()
        .filter(|e| e.enabled)
        .map(|e| {
            json!({
                "id": e.service_id,
                "type": e.kind,
                "name": e.name,
                "endpoints": e.endpoints.iter().filter(|ep| ep.enabled).map(|ep| json!({
                    "id": ep.id,
                    "interface": ep.interface,
                    "region": ep.region,
                    "region_id": ep.region,
                    "url": ep.url,
                })).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// Keystone v2.0's `serviceCatalog`.
pub fn v2(entries: &[Entry]) -> Value {
    entries
        .iter()
        .filter(|e| e.enabled)
        .map(|e| {
            let url = |i: &str| {
                e.endpoints
                    .iter()
                    .find(|ep| ep.enabled && ep.interface == i)
                    .map(|ep| ep.url.clone())
            };
            json!({
                "type": e.kind,
                "name": e.name,
                "endpoints_links": [],
                "endpoints": [{
                    "id": e.endpoints.first().map(|ep| ep.id.clone()),
                    "region": e.endpoints.first().and_then(|ep| ep.region.clone()),
                    "publicURL": url("public"),
                    "internalURL": url("internal"),
                    "adminURL": url("admin"),
                }],
            })
        })
        .collect()
}
