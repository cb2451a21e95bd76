//! Answers' URLs pointed back at Jumpgate: a URL under an upstream endpoint becomes the
//! same path under that service's mount, and the Keystone catalog (v3 and v2.0) names
//! Jumpgate's mounts, so a client that follows links never bypasses Jumpgate.

use jumpgate_plugin_api::App;
use serde_json::Value;

use crate::settings::Settings;

pub struct Rewriter {
    /// `(upstream URL, Jumpgate mount)`, longest URL first so `http://h/compute` wins
    /// over `http://h` when identity sits at the upstream's root.
    prefixes: Vec<(String, String)>,
    /// `(service, Jumpgate mount, upstream path)` of every service Jumpgate serves: where
    /// catalog entries of that type go, whatever host the upstream's catalog names.
    services: Vec<(String, String, String)>,
}

impl Rewriter {
    pub fn new(app: &App, settings: &Settings) -> Rewriter {
        let mounts: Vec<(String, String)> = app
            .enabled_services()
            .into_iter()
            .filter_map(|s| app.get_dispatcher(&s).map(|d| (s, d.mount())))
            .collect();
        Rewriter::from_parts(&settings.endpoints, &mounts)
    }

    /// From `(service, upstream URL)` and `(service, Jumpgate mount)` pairs.
    pub fn from_parts(endpoints: &[(String, String)], mounts: &[(String, String)]) -> Rewriter {
        let mount_of = |s: &str| mounts.iter().find(|(m, _)| m == s).map(|(_, p)| p.clone());
        let mut prefixes: Vec<(String, String)> = endpoints
            .iter()
            .filter_map(|(s, url)| mount_of(s).map(|m| (url.clone(), m)))
            .collect();
        prefixes.sort_by_key(|(url, _)| std::cmp::Reverse(url.len()));
        let services = mounts
            .iter()
            .map(|(s, m)| {
                let path = endpoints
                    .iter()
                    .find(|(e, _)| e == s)
                    .map(|(_, url)| path_of(url).to_string())
                    .unwrap_or_default();
                (s.clone(), m.clone(), path)
            })
            .collect();
        Rewriter { prefixes, services }
    }

    /// `url` with an upstream endpoint at its start replaced by `base` and that service's
    /// mount; `None` when it starts with no upstream endpoint.
    pub fn url(&self, base: &str, url: &str) -> Option<String> {
        self.prefixes.iter().find_map(|(prefix, mount)| {
            let rest = strip_prefix_ci(url, prefix)?;
            (rest.is_empty() || rest.starts_with(['/', '?', '#']))
                .then(|| format!("{base}{mount}{rest}"))
        })
    }

    /// A header value with every upstream endpoint in it replaced (`Location`, or
    /// `WWW-Authenticate: Keystone uri="…"`).
    pub fn header(&self, base: &str, value: &str) -> Option<String> {
        if let Some(url) = self.url(base, value) {
            return Some(url);
        }
        let mut out = value.to_string();
        for (prefix, mount) in &self.prefixes {
            if out.contains(prefix.as_str()) {
                out = out.replace(prefix.as_str(), &format!("{base}{mount}"));
            }
        }
        (out != value).then_some(out)
    }

    /// Whether a body may hold anything to rewrite: a cheap look before parsing it.
    pub fn may_rewrite(&self, body: &[u8]) -> bool {
        let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
        has(b"atalog\"") || self.prefixes.iter().any(|(p, _)| has(p.as_bytes()))
    }

    /// Rewrites the URLs in a JSON answer; `true` if anything changed.
    pub fn body(&self, base: &str, value: &mut Value) -> bool {
        match value {
            Value::String(s) => match self.url(base, s) {
                Some(new) => {
                    *s = new;
                    true
                }
                None => false,
            },
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |changed, v| self.body(base, v) | changed),
            Value::Object(map) => {
                let mut changed = false;
                for (key, v) in map.iter_mut() {
                    changed |= match (key.as_str(), v) {
                        // Keystone v3 tokens and /v3/auth/catalog; v2.0 tokens.
                        ("catalog" | "serviceCatalog", Value::Array(entries)) => {
                            self.catalog(base, entries)
                        }
                        (_, v) => self.body(base, v),
                    };
                }
                changed
            }
            _ => false,
        }
    }

    /// Catalog entries by service type: each endpoint of a service Jumpgate serves points
    /// at Jumpgate, even when the upstream's catalog names a host Jumpgate does not know
    /// (`http://controller:8774/v2.1` when `compute_endpoint` is `http://10.0.0.5:8774`).
    fn catalog(&self, base: &str, entries: &mut [Value]) -> bool {
        let mut changed = false;
        for entry in entries {
            let service = entry
                .get("type")
                .and_then(Value::as_str)
                .and_then(service_of_type);
            let target = service.and_then(|s| self.services.iter().find(|(n, _, _)| n == s));
            let Some(endpoints) = entry.get_mut("endpoints").and_then(Value::as_array_mut) else {
                continue;
            };
            for endpoint in endpoints {
                let Some(fields) = endpoint.as_object_mut() else {
                    continue;
                };
                for (key, url) in fields.iter_mut() {
                    if !matches!(
                        key.as_str(),
                        "url" | "publicURL" | "internalURL" | "adminURL"
                    ) {
                        continue;
                    }
                    let Value::String(s) = url else { continue };
                    let new = match target {
                        Some((_, mount, upstream_path)) => {
                            let path = path_of(s);
                            let rest = strip_prefix_ci(path, upstream_path)
                                .filter(|r| r.is_empty() || r.starts_with('/'))
                                .unwrap_or(path);
                            Some(format!("{base}{mount}{rest}"))
                        }
                        None => self.url(base, s),
                    };
                    if let Some(new) = new.filter(|n| n != s) {
                        *s = new;
                        changed = true;
                    }
                }
            }
        }
        changed
    }
}

/// The Jumpgate service a catalog entry's `type` is.
fn service_of_type(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "identity" => "identity",
        "compute" => "compute",
        "image" => "image",
        "volume" | "volumev2" | "volumev3" | "block-storage" => "volume",
        "network" => "network",
        "baremetal" => "baremetal",
        "placement" => "placement",
        _ => return None,
    })
}

/// The path (and query) of an absolute URL: `http://h:1/a/b?c` → `/a/b?c`.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find(['/', '?']) {
        Some(i) => &url[after_scheme + i..],
        None => "",
    }
}

/// Scheme and host compare case-insensitively, as in URLs; so does the path here, which
/// errs towards rewriting a link rather than leaking the upstream.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewriter() -> Rewriter {
        let endpoints = [
            ("identity", "http://up:5000"),
            ("compute", "http://up:5000/compute"),
            ("image", "http://img:9292"),
        ]
        .map(|(s, u)| (s.to_string(), u.to_string()));
        let mounts = [
            ("identity", ""),
            ("compute", "/nova"),
            ("image", "/image"),
            ("network", "/network"),
        ]
        .map(|(s, m)| (s.to_string(), m.to_string()));
        Rewriter::from_parts(&endpoints, &mounts)
    }

    const JG: &str = "http://jg:8000";

    #[test]
    fn the_longest_upstream_prefix_wins() {
        let r = rewriter();
        assert_eq!(
            r.url(JG, "http://up:5000/compute/v2.1/servers?marker=x")
                .as_deref(),
            Some("http://jg:8000/nova/v2.1/servers?marker=x")
        );
        assert_eq!(
            r.url(JG, "http://up:5000/v3/").as_deref(),
            Some("http://jg:8000/v3/")
        );
        assert_eq!(
            r.url(JG, "http://img:9292").as_deref(),
            Some("http://jg:8000/image")
        );
    }

    #[test]
    fn a_prefix_only_matches_whole_segments() {
        let r = rewriter();
        assert_eq!(r.url(JG, "http://img:92921/v2"), None);
        assert_eq!(r.url(JG, "http://elsewhere/v2"), None);
    }

    #[test]
    fn links_anywhere_in_a_body_are_rewritten() {
        let r = rewriter();
        let mut v = json!({"servers": [], "servers_links": [{"rel": "next", "href": "http://up:5000/compute/v2.1/servers?marker=a"}], "name": "http://up:5000x"});
        assert!(r.body(JG, &mut v));
        assert_eq!(
            v["servers_links"][0]["href"],
            "http://jg:8000/nova/v2.1/servers?marker=a"
        );
        assert_eq!(v["name"], "http://up:5000x");
    }

    #[test]
    fn catalog_entries_go_to_the_mount_of_their_type_whatever_their_host() {
        let r = rewriter();
        let mut v = json!({"token": {"catalog": [
            {"type": "compute", "endpoints": [{"interface": "public", "url": "http://controller:8774/compute/v2.1"}]},
            {"type": "identity", "endpoints": [{"url": "https://keystone.example/v3/"}]},
            {"type": "network", "endpoints": [{"url": "http://controller:9696"}]},
            {"type": "object-store", "endpoints": [{"url": "http://swift:8080/v1/AUTH_x"}]}
        ]}});
        assert!(r.body(JG, &mut v));
        let c = &v["token"]["catalog"];
        assert_eq!(c[0]["endpoints"][0]["url"], "http://jg:8000/nova/v2.1");
        assert_eq!(c[1]["endpoints"][0]["url"], "http://jg:8000/v3/");
        assert_eq!(c[2]["endpoints"][0]["url"], "http://jg:8000/network");
        // Nothing Jumpgate serves: left as the upstream says.
        assert_eq!(c[3]["endpoints"][0]["url"], "http://swift:8080/v1/AUTH_x");
    }

    #[test]
    fn v2_catalogs_rewrite_every_interface() {
        let r = rewriter();
        let mut v = json!({"access": {"serviceCatalog": [{"type": "image", "endpoints": [
            {"publicURL": "http://img:9292", "internalURL": "http://10.0.0.1:9292", "adminURL": "http://img:9292/"}
        ]}]}});
        assert!(r.body(JG, &mut v));
        let e = &v["access"]["serviceCatalog"][0]["endpoints"][0];
        assert_eq!(e["publicURL"], "http://jg:8000/image");
        assert_eq!(e["internalURL"], "http://jg:8000/image");
        assert_eq!(e["adminURL"], "http://jg:8000/image/");
    }

    #[test]
    fn headers_are_rewritten_inside_their_value() {
        let r = rewriter();
        assert_eq!(
            r.header(JG, "http://img:9292/v2/images/1").as_deref(),
            Some("http://jg:8000/image/v2/images/1")
        );
        assert_eq!(
            r.header(JG, "Keystone uri=\"http://up:5000\"").as_deref(),
            Some("Keystone uri=\"http://jg:8000\"")
        );
        assert_eq!(r.header(JG, "text/plain"), None);
    }

    #[test]
    fn unchanged_bodies_say_so() {
        let r = rewriter();
        let mut v = json!({"error": {"code": 404, "message": "not here"}});
        assert!(!r.body(JG, &mut v));
        assert!(!r.may_rewrite(br#"{"error": {"code": 404}}"#));
        assert!(r.may_rewrite(br#"{"href": "http://img:9292/v2"}"#));
    }
}
