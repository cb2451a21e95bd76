//! Path → endpoint: a matchit tree per service over the catalog's templates.
//! Endpoints may share a pattern (the original has some): the first with a handler serves it.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

use crate::catalog::Endpoint;

/// One endpoint's claim on a pattern.
#[derive(Debug, Clone)]
struct Claim {
    endpoint: usize,
    /// The endpoint's placeholder names, in path order.
    names: Vec<String>,
}

/// A match: which endpoint, which of its path variants, and its decoded parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub endpoint: usize,
    pub params: Vec<(String, String)>,
}

/// The routes of one service.
pub struct Routes {
    tree: matchit::Router<usize>,
    claims: Vec<Vec<Claim>>,
}

impl Routes {
    /// Builds the tree for `endpoints`; a template matchit cannot take is a bug in the
    /// catalog, reported with the endpoint's name.
    pub fn new(endpoints: &[Endpoint]) -> Result<Routes, String> {
        let mut tree = matchit::Router::new();
        let mut claims: Vec<Vec<Claim>> = Vec::new();
        let mut by_shape: HashMap<String, usize> = HashMap::new();
        for (index, ep) in endpoints.iter().enumerate() {
            for path in &ep.paths {
                let (shape, names) = shape_of(path);
                let claim = Claim {
                    endpoint: index,
                    names,
                };
                if let Some(&group) = by_shape.get(&shape) {
                    if !claims[group].iter().any(|c| c.endpoint == index) {
                        claims[group].push(claim);
                    }
                    continue;
                }
                let group = claims.len();
                tree.insert(shape.clone(), group)
                    .map_err(|e| format!("endpoint {} path {path}: {e}", ep.name))?;
                by_shape.insert(shape, group);
                claims.push(vec![claim]);
            }
        }
        Ok(Routes { tree, claims })
    }

    /// The endpoint serving `path` (relative to the mount). Among endpoints sharing the
    /// pattern, the first for which `served` is true, else the first.
    pub fn find(&self, path: &str, served: impl Fn(usize) -> bool) -> Option<Matched> {
        if has_dot_segment(path) {
            return None;
        }
        let path = normalize(path);
        let found = self.tree.at(&path).ok()?;
        let group = &self.claims[*found.value];
        let claim = group
            .iter()
            .find(|c| served(c.endpoint))
            .unwrap_or(&group[0]);
        let params = found
            .params
            .iter()
            .map(|(slot, raw)| {
                // Slots are p0, p1, … in path order; the claim knows their real names.
                let i: usize = slot[1..].parse().unwrap_or(0);
                let name = claim.names.get(i).cloned().unwrap_or_default();
                (
                    name,
                    percent_decode_str(raw).decode_utf8_lossy().into_owned(),
                )
            })
            .collect();
        Some(Matched {
            endpoint: claim.endpoint,
            params,
        })
    }
}

/// `/v2/{tenant_id}/servers/{server_id}` → (`/v2/{p0}/servers/{p1}`, [tenant_id, server_id]).
fn shape_of(template: &str) -> (String, Vec<String>) {
    let mut shape = String::with_capacity(template.len());
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        shape.push_str(&rest[..open]);
        shape.push_str(&format!("{{p{}}}", names.len()));
        names.push(rest[open + 1..open + close].to_string());
        rest = &rest[open + close + 1..];
    }
    shape.push_str(rest);
    (normalize(&shape).into_owned(), names)
}

/// Whether a segment of `path` is `.` or `..`, written plainly or percent-encoded
/// (`%2e%2E`): a raw request the client did not resolve (RFC 3986 5.2.4, which every
/// OpenStack client does). No endpoint has such a segment and no id is one, so the path is
/// the service's 404, as Routes answers it in the real services, never a match that takes
/// `..` for a project or server id, and never something a passthrough sends upstream.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let decoded = percent_decode_str(seg).decode_utf8_lossy();
        decoded == "." || decoded == ".."
    })
}

/// Paths match with or without a trailing slash, and `.json` suffixes are accepted as
/// the original did: `/v2/` is `/v2`, `/servers/x.json` is `/servers/x`, `` is `/`.
pub fn normalize(path: &str) -> std::borrow::Cow<'_, str> {
    let path = path.strip_suffix(".json").unwrap_or(path);
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, ep, SERVICES};

    fn table() -> Vec<Endpoint> {
        vec![
            ep("index", "/"),
            ep("v2_index", "/v2"),
            ep("v2_servers", "/v2/{tenant_id}/servers").alias("/v2.1/servers"),
            ep("v2_servers_detail", "/v2/{tenant_id}/servers/detail"),
            ep("v2_server", "/v2/{tenant_id}/servers/{server_id}"),
            ep("v2_flavors", "/v2/flavors"),
            ep("v2_tenant_flavors", "/v2/{tenant_id}/flavors").alias("/v2.1/flavors"),
            ep(
                "v2_os_quota_sets_target",
                "/v2/{tenant_id}/os-quota-sets/{target_id}",
            ),
            ep(
                "v2_os_tenant_quota_sets",
                "/v2/{tenant_id}/os-quota-sets/{account_id}",
            ),
            ep(
                "v2_os_quota_sets_user",
                "/v2/{tenant_id}/os-quota-sets/user={user_id}",
            ),
        ]
    }

    fn names(
        routes: &Routes,
        path: &str,
        served: &[usize],
    ) -> Option<(String, Vec<(String, String)>)> {
        let t = table();
        routes
            .find(path, |e| served.contains(&e))
            .map(|m| (t[m.endpoint].name.to_string(), m.params))
    }

    #[test]
    fn matches_templates_and_names_parameters() {
        let r = Routes::new(&table()).unwrap();
        assert_eq!(
            names(&r, "/v2/t1/servers/abc", &[]),
            Some((
                "v2_server".into(),
                vec![
                    ("tenant_id".into(), "t1".into()),
                    ("server_id".into(), "abc".into())
                ]
            ))
        );
        assert_eq!(
            names(&r, "/v2/t1/servers/detail", &[]).unwrap().0,
            "v2_servers_detail"
        );
        assert_eq!(names(&r, "/v2.1/servers", &[]).unwrap().0, "v2_servers");
    }

    #[test]
    fn trailing_slash_json_suffix_and_root() {
        let r = Routes::new(&table()).unwrap();
        assert_eq!(names(&r, "/v2/", &[]).unwrap().0, "v2_index");
        assert_eq!(names(&r, "", &[]).unwrap().0, "index");
        assert_eq!(names(&r, "/", &[]).unwrap().0, "index");
        let (name, params) = names(&r, "/v2/t1/servers/abc.json", &[]).unwrap();
        assert_eq!(name, "v2_server");
        assert_eq!(params[1].1, "abc");
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let r = Routes::new(&table()).unwrap();
        let (_, params) = names(&r, "/v2/t1/servers/my%20server", &[]).unwrap();
        assert_eq!(params[1].1, "my server");
    }

    #[test]
    fn static_segments_win_over_parameters() {
        let r = Routes::new(&table()).unwrap();
        assert_eq!(names(&r, "/v2/flavors", &[]).unwrap().0, "v2_flavors");
        assert_eq!(
            names(&r, "/v2/t1/flavors", &[]).unwrap().0,
            "v2_tenant_flavors"
        );
    }

    #[test]
    fn shared_patterns_go_to_the_first_endpoint_with_a_handler() {
        let r = Routes::new(&table()).unwrap();
        assert_eq!(
            names(&r, "/v2/t/os-quota-sets/x", &[]).unwrap().0,
            "v2_os_quota_sets_target"
        );
        let (name, params) = names(&r, "/v2/t/os-quota-sets/x", &[8]).unwrap();
        assert_eq!(name, "v2_os_tenant_quota_sets");
        assert_eq!(params[1], ("account_id".to_string(), "x".to_string()));
    }

    #[test]
    fn a_parameter_may_follow_a_prefix_in_its_segment() {
        let r = Routes::new(&table()).unwrap();
        let (name, params) = names(&r, "/v2/t/os-quota-sets/user=u1", &[]).unwrap();
        assert_eq!(name, "v2_os_quota_sets_user");
        assert_eq!(params[1], ("user_id".to_string(), "u1".to_string()));
    }

    #[test]
    fn unknown_paths_do_not_match() {
        let r = Routes::new(&table()).unwrap();
        assert_eq!(names(&r, "/v3/nothing", &[]), None);
    }

    #[test]
    fn dot_segments_never_match() {
        let r = Routes::new(&table()).unwrap();
        // Each would otherwise match with `..` or `.` as the tenant or server id.
        for path in [
            "/v2/../servers",
            "/v2/./servers/detail",
            "/v2/t1/servers/..",
            "/v2/t1/servers/%2e%2E",
            "/v2/t1/servers/.%2e/",
            "/v2.1/servers/../../../etc/passwd",
        ] {
            assert_eq!(names(&r, path, &[]), None, "{path}");
        }
        // Dots inside a segment are ordinary characters.
        assert_eq!(
            names(&r, "/v2/t1/servers/a..b", &[]).unwrap().1[1].1,
            "a..b"
        );
        assert_eq!(names(&r, "/v2/t1/servers/...", &[]).unwrap().1[1].1, "...");
    }

    #[test]
    fn every_catalog_table_builds() {
        for service in SERVICES {
            let endpoints = catalog::endpoints(service).unwrap();
            Routes::new(&endpoints).unwrap_or_else(|e| panic!("{service}: {e}"));
            let mut seen = std::collections::HashSet::new();
            for e in &endpoints {
                assert!(seen.insert(e.name), "{service}: nickname {} twice", e.name);
            }
        }
    }
}
