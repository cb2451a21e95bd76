//! `limit` and `marker` paging, as Nova, Cinder, Glance and Neutron spell it.

use crate::abi::{Pair, Request};
use crate::fault::Fault;

/// A page request: at most `limit` items after the one whose id is `marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub marker: Option<String>,
}

impl Page {
    /// The page a request asks for; without `limit`, `max_limit` items (the service's
    /// `osapi_max_limit`). A `limit` that is not a non-negative integer is a 400.
    pub fn from_request(req: &Request, max_limit: usize) -> Result<Page, Fault> {
        let limit = match req.query_param("limit") {
            None => max_limit,
            Some(raw) => raw
                .parse::<usize>()
                .map_err(|_| Fault::bad_request(format!("limit param must be an integer: {raw}")))?
                .min(max_limit),
        };
        Ok(Page {
            limit,
            marker: req.query_param("marker").map(str::to_string),
        })
    }
}

/// The `href` of the next page: `url` with the request's query, `marker` set to the id of
/// the last item shown.
pub fn next_href(url: &str, query: &[Pair], marker: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for p in query.iter().filter(|p| p.name != "marker") {
        out.append_pair(&p.name, &p.value);
    }
    out.append_pair("marker", marker);
    format!("{url}?{}", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_href_replaces_the_marker_and_keeps_the_rest() {
        let query = vec![
            Pair::new("limit", "2"),
            Pair::new("marker", "old"),
            Pair::new("name", "a b"),
        ];
        assert_eq!(
            next_href("http://h/compute/v2.1/servers", &query, "new"),
            "http://h/compute/v2.1/servers?limit=2&name=a+b&marker=new"
        );
    }

    #[test]
    fn limit_is_capped_and_checked() {
        let mut req = Request::new("GET", "/");
        req.query_params.push(Pair::new("limit", "5000"));
        assert_eq!(Page::from_request(&req, 1000).unwrap().limit, 1000);
        req.query_params[0].value = "x".into();
        assert_eq!(Page::from_request(&req, 1000).unwrap_err().status, 400);
    }
}
