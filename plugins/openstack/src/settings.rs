//! `[openstack]` of jumpgate.conf: where each service's upstream is, how long to wait for
//! it, how many idle connections to keep, whether to rewrite URLs and validate tokens.

use std::time::Duration;

use jumpgate_plugin_api::{App, Error};

/// The services an upstream can be named for, as `<service>_endpoint`.
pub const SERVICES: &[&str] = &[
    "identity",
    "compute",
    "image",
    "volume",
    "network",
    "baremetal",
    "placement",
];

pub struct Settings {
    /// `(service, URL)` without a trailing slash, for each `<service>_endpoint` set.
    pub endpoints: Vec<(String, String)>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub pool_size: usize,
    pub rewrite_urls: bool,
    pub validate_tokens: bool,
    pub token_cache_time: Duration,
}

impl Settings {
    pub fn read(app: &App) -> Result<Settings, Error> {
        let get = |key: &str| {
            app.config("openstack", key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let seconds = |key: &str, default: f64| -> Result<Duration, Error> {
            match get(key) {
                None => Ok(Duration::from_secs_f64(default)),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        Error(format!(
                            "[openstack] {key}: '{v}' is not a number of seconds"
                        ))
                    }),
            }
        };
        let flag = |key: &str, default: bool| -> Result<bool, Error> {
            match get(key).map(|v| v.to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if ["true", "yes", "on", "1"].contains(&v.as_str()) => Ok(true),
                Some(v) if ["false", "no", "off", "0"].contains(&v.as_str()) => Ok(false),
                Some(v) => Err(Error(format!(
                    "[openstack] {key}: '{v}' is not true or false"
                ))),
            }
        };
        let mut endpoints = Vec::new();
        for service in SERVICES {
            let key = format!("{service}_endpoint");
            if let Some(url) = get(&key) {
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://"))
                    || url.contains(['?', '#', ' '])
                {
                    return Err(Error(format!(
                        "[openstack] {key}: '{url}' is not an http:// or https:// URL"
                    )));
                }
                endpoints.push((service.to_string(), url.trim_end_matches('/').to_string()));
            }
        }
        let pool_size = match get("pool_size") {
            None => 64,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| Error(format!("[openstack] pool_size: '{v}' is not a number")))?,
        };
        Ok(Settings {
            endpoints,
            connect_timeout: seconds("connect_timeout", 5.0)?,
            read_timeout: seconds("read_timeout", 60.0)?,
            pool_size,
            rewrite_urls: flag("rewrite_urls", true)?,
            validate_tokens: flag("validate_tokens", false)?,
            token_cache_time: seconds("token_cache_time", 30.0)?,
        })
    }

    pub fn endpoint(&self, service: &str) -> Option<String> {
        self.endpoints
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, u)| u.clone())
    }

    /// The client of one service's upstream: its pool holds up to `pool_size` idle
    /// connections, reused while the upstream keeps them open.
    pub fn agent(&self) -> ureq::Agent {
        ureq::Agent::config_builder()
            // Upstream errors are answers to pass on, redirects too.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // The client's own headers go through; ureq adds none of its own.
            .user_agent(ureq::config::AutoHeaderValue::None)
            .accept(ureq::config::AutoHeaderValue::None)
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .timeout_connect(Some(self.connect_timeout))
            // An idle timeout: a 1 GiB download may take minutes, a silent upstream not.
            .timeout_per_read(Some(self.read_timeout))
            .timeout_per_write(Some(self.read_timeout))
            .max_idle_connections(self.pool_size * SERVICES.len())
            .max_idle_connections_per_host(self.pool_size)
            // Under what servers keep an idle connection open (Apache's KeepAliveTimeout
            // is 5 s, jumpgate's header_timeout 30 s): a pooled connection is never one
            // the upstream is closing. Under load connections are reused long before.
            .max_idle_age(Duration::from_secs(4))
            .build()
            .into()
    }
}
