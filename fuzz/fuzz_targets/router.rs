//! The host's router on any path: every service's table, as `jumpgate serve` builds them.
//! No panic; a path with a `.` or `..` segment never matches; a match names the endpoint's
//! own placeholders, each once, and holds with a trailing slash added.
#![no_main]

use std::sync::OnceLock;

use jumpgate_fuzz::catalog::{self, Endpoint};
use jumpgate_fuzz::router::{has_dot_segment, normalize, Routes};
use libfuzzer_sys::fuzz_target;

fn tables() -> &'static Vec<(Vec<Endpoint>, Routes)> {
    static TABLES: OnceLock<Vec<(Vec<Endpoint>, Routes)>> = OnceLock::new();
    TABLES.get_or_init(|| {
        catalog::SERVICES
            .iter()
            .map(|s| {
                let endpoints = catalog::endpoints(s).expect("a known service");
                let routes = Routes::new(&endpoints).expect("the catalog builds");
                (endpoints, routes)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let _ = normalize(path);
    let dots = has_dot_segment(path);
    for (i, (endpoints, routes)) in tables().iter().enumerate() {
        // The served predicate changes which of a shared pattern's endpoints answers.
        let found = routes.find(path, |e| (e + i) % 2 == 0);
        let Some(m) = found else { continue };
        assert!(!dots, "{path} matched despite a dot segment");
        let ep = &endpoints[m.endpoint];
        for (name, _) in &m.params {
            assert!(
                ep.paths.iter().any(|p| p.contains(&format!("{{{name}}}"))),
                "{path}: parameter {name:?} is not one of {}'s",
                ep.name
            );
            assert_eq!(
                m.params.iter().filter(|(n, _)| n == name).count(),
                1,
                "{path}: {name} twice"
            );
        }
        if !path.ends_with(".json") {
            let again = routes.find(&format!("{path}/"), |e| (e + i) % 2 == 0);
            assert_eq!(again.as_ref(), Some(&m), "{path} and {path}/ differ");
        }
    }
});
