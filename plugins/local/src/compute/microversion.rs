//! Nova's microversions: `OpenStack-API-Version: compute 2.x` (or the older
//! `X-OpenStack-Nova-API-Version: 2.x`) picks the shape of every body; the answer names the
//! version it used.

use jumpgate_plugin_api::prelude::*;

use crate::microversion::Api;
pub use crate::microversion::Version;

pub const API: Api = Api {
    service: "compute",
    min: Version(2, 1),
    max: Version(2, 96),
    legacy_header: Some("X-OpenStack-Nova-API-Version"),
    fault_kind: "computeFault",
};
pub const MIN: Version = API.min;
pub const MAX: Version = API.max;

/// The version a request asks for (see `Api::requested`).
pub fn requested(req: &Request) -> Result<Version, Fault> {
    API.requested(req)
}

/// Names the version used on the answer.
pub fn stamp(resp: &mut Response, v: Version) {
    API.stamp(resp, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(header: &str, value: &str) -> Request {
        let mut r = Request::new("GET", "/compute/v2.1/servers");
        r.headers.push(Pair::new(header, value));
        r
    }

    #[test]
    fn picks_the_named_version() {
        assert_eq!(requested(&Request::new("GET", "/")).unwrap(), MIN);
        assert_eq!(
            requested(&with("OpenStack-API-Version", "compute 2.60")).unwrap(),
            Version(2, 60)
        );
        assert_eq!(
            requested(&with("OpenStack-API-Version", "volume 3.1, compute 2.9")).unwrap(),
            Version(2, 9)
        );
        assert_eq!(
            requested(&with("X-OpenStack-Nova-API-Version", "2.26")).unwrap(),
            Version(2, 26)
        );
        assert_eq!(
            requested(&with("OpenStack-API-Version", "compute latest")).unwrap(),
            MAX
        );
        // Another service's entry alone leaves compute at its default.
        assert_eq!(
            requested(&with("OpenStack-API-Version", "volume 3.5")).unwrap(),
            MIN
        );
    }

    #[test]
    fn refuses_what_it_does_not_serve() {
        assert_eq!(
            requested(&with("OpenStack-API-Version", "compute 2.0"))
                .unwrap_err()
                .status,
            406
        );
        assert_eq!(
            requested(&with("OpenStack-API-Version", "compute 3.0"))
                .unwrap_err()
                .status,
            406
        );
        assert_eq!(
            requested(&with("OpenStack-API-Version", "compute 2.x"))
                .unwrap_err()
                .status,
            400
        );
    }
}
