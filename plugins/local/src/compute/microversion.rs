//! Nova's microversions: `OpenStack-API-Version: compute 2.x` (or the older
//! `X-OpenStack-Nova-API-Version: 2.x`) picks the shape of every body; the answer names the
//! version it used.

use jumpgate_plugin_api::prelude::*;

/// A compute API version, `2.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u16, pub u16);

pub const MIN: Version = Version(2, 1);
/// The newest version whose every body this driver writes exactly as Nova does.
pub const MAX: Version = Version(2, 96);

impl Version {
    /// Whether this request's version is `2.minor` or later.
    pub fn at_least(self, minor: u16) -> bool {
        self >= Version(2, minor)
    }

    fn parse(s: &str) -> Option<Version> {
        let (major, minor) = s.trim().split_once('.')?;
        let v = Version(major.parse().ok()?, minor.parse().ok()?);
        (minor.len() == 1 || !minor.starts_with('0')).then_some(v)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The version a request asks for: 2.1 when it names none, `latest` as MAX, 406 when it is
/// outside MIN..=MAX, 400 when it is not a version.
pub fn requested(req: &Request) -> Result<Version, Fault> {
    let named = req
        .header("OpenStack-API-Version")
        .and_then(|h| {
            // "compute 2.60", possibly among other services' entries.
            h.split(',').find_map(|entry| {
                let mut words = entry.split_whitespace();
                (words.next()?.eq_ignore_ascii_case("compute")).then(|| words.next().unwrap_or(""))
            })
        })
        .or_else(|| req.header("X-OpenStack-Nova-API-Version"));
    let Some(named) = named.map(str::trim) else {
        return Ok(MIN);
    };
    if named.eq_ignore_ascii_case("latest") {
        return Ok(MAX);
    }
    let v = Version::parse(named).ok_or_else(|| {
        Fault::bad_request(format!(
            "API Version String {named} is of invalid format. Must be of format MajorNum.MinorNum."
        ))
    })?;
    if v < MIN || v > MAX {
        return Err(Fault::new(
            406,
            format!(
                "Version {v} is not supported by the API. Minimum is {MIN} and maximum is {MAX}."
            ),
        )
        .kind("computeFault"));
    }
    Ok(v)
}

/// Names the version used on the answer, as Nova does on every versioned response.
pub fn stamp(resp: &mut Response, v: Version) {
    resp.set_header("OpenStack-API-Version", &format!("compute {v}"));
    resp.set_header("X-OpenStack-Nova-API-Version", &v.to_string());
    resp.set_header(
        "Vary",
        "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    );
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
