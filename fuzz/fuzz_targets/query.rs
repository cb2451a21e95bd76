//! Query strings: plugin-api's paging (`limit`, `marker`, the next link) on its own, then a
//! listing of the local driver with the query, through its real handler.
//!
//! The input is a written request (see cloud.rs), a `GET` of a collection with a query.
//! No panic, no 500; `Page` caps `limit`; the next link keeps the other parameters and
//! carries the marker it was given.
#![no_main]

use jumpgate_fuzz::{query_pairs, Cloud};
use jumpgate_plugin_api::{next_href, Page, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(w) = jumpgate_fuzz::cloud::Written::parse(data) else {
        return;
    };
    let query = w.target.split_once('?').map_or("", |(_, q)| q);
    let mut req = Request::new("GET", "/");
    req.query_params = query_pairs(query).into_iter().collect();
    if let Ok(page) = Page::from_request(&req, 1000) {
        assert!(page.limit <= 1000);
        let marker = page.marker.as_deref().unwrap_or("m");
        let href = next_href("http://h/x", &req.query_params, marker);
        let (_, back) = href.split_once('?').expect("a query");
        let back = query_pairs(back);
        let markers: Vec<_> = back.iter().filter(|p| p.name == "marker").collect();
        assert_eq!(markers.len(), 1, "{href}");
        assert_eq!(markers[0].value.as_str(), marker);
        let kept: Vec<_> = back.iter().filter(|p| p.name != "marker").collect();
        let asked: Vec<_> = req
            .query_params
            .iter()
            .filter(|p| p.name != "marker")
            .collect();
        assert_eq!(kept, asked, "{href}");
    }
    if w.method == "GET" {
        Cloud::global().run(data);
    }
});
