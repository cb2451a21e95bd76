//! OpenStack microversions, as Nova and Cinder read them: `OpenStack-API-Version:
//! <service> X.Y` (or a service's older header) picks the shape of every body, and the
//! answer names the version it used.

use jumpgate_plugin_api::prelude::*;

/// An API version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u16, pub u16);

impl Version {
    /// Whether this version is `major.minor` or later, in its own major version.
    pub fn at_least(self, minor: u16) -> bool {
        self >= Version(self.0, minor)
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

/// One service's microversioned API.
pub struct Api {
    /// The service's word in `OpenStack-API-Version`.
    pub service: &'static str,
    pub min: Version,
    /// The newest version whose every body this driver writes exactly as the service does.
    pub max: Version,
    /// The header the service read before `OpenStack-API-Version`, still sent by clients.
    pub legacy_header: Option<&'static str>,
    /// The fault body's key for a version out of range.
    pub fault_kind: &'static str,
}

impl Api {
    /// The version a request asks for: `min` when it names none, `latest` as `max`, 406
    /// when it is outside min..=max, 400 when it is not a version.
    pub fn requested(&self, req: &Request) -> Result<Version, Fault> {
        let named = req
            .header("OpenStack-API-Version")
            .and_then(|h| {
                // "compute 2.60", possibly among other services' entries.
                h.split(',').find_map(|entry| {
                    let mut words = entry.split_whitespace();
                    (words.next()?.eq_ignore_ascii_case(self.service))
                        .then(|| words.next().unwrap_or(""))
                })
            })
            .or_else(|| self.legacy_header.and_then(|h| req.header(h)));
        let Some(named) = named.map(str::trim) else {
            return Ok(self.min);
        };
        if named.eq_ignore_ascii_case("latest") {
            return Ok(self.max);
        }
        let v = Version::parse(named).ok_or_else(|| {
            Fault::bad_request(format!(
                "API Version String {named} is of invalid format. Must be of format MajorNum.MinorNum."
            ))
        })?;
        if v < self.min || v > self.max {
            return Err(Fault::new(
                406,
                format!(
                    "Version {v} is not supported by the API. Minimum is {} and maximum is {}.",
                    self.min, self.max
                ),
            )
            .kind(self.fault_kind));
        }
        Ok(v)
    }

    /// Names the version used on the answer, as the service does on every versioned response.
    pub fn stamp(&self, resp: &mut Response, v: Version) {
        resp.set_header("OpenStack-API-Version", &format!("{} {v}", self.service));
        match self.legacy_header {
            Some(h) => {
                resp.set_header(h, &v.to_string());
                resp.set_header("Vary", &format!("OpenStack-API-Version, {h}"));
            }
            None => resp.set_header("Vary", "OpenStack-API-Version"),
        }
    }
}
