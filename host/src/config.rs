//! jumpgate.conf: read with Python ConfigParser's rules (the `configparser` crate), then
//! checked into typed settings. A bad value is one line naming file, section and key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use configparser::ini::Ini;

use crate::catalog;

/// Where jumpgate.conf is looked for when neither `--config` nor `JUMPGATE_CONFIG` names one.
pub const SEARCH_PATH: &[&str] = &["jumpgate.conf", "/etc/jumpgate/jumpgate.conf"];

/// Request hooks when jumpgate.conf names none.
const DEFAULT_REQUEST_HOOKS: &str = "request_id, admin_token, auth_token";
const DEFAULT_RESPONSE_HOOKS: &str = "log";

/// Nova's and Cinder's `osapi_max_request_body_size` default: larger JSON bodies get 413.
const DEFAULT_MAX_BODY: usize = 114_688;

/// A configuration error, already phrased for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// One enabled service: which driver serves it and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    pub name: String,
    /// As written: a driver name (`local`) or a path to a `.so`.
    pub driver: String,
    /// `""` for the root, else `/compute` style: leading slash, no trailing slash.
    pub mount: String,
    /// `fallback = openstack`: the driver answering what `driver` leaves unhandled.
    pub fallback: Option<String>,
}

/// jumpgate.conf, parsed and checked.
pub struct Config {
    pub path: PathBuf,
    ini: Ini,
    pub listen: SocketAddr,
    pub plugin_dir: PathBuf,
    pub log_level: String,
    pub request_hooks: Vec<String>,
    pub response_hooks: Vec<String>,
    pub admin_token: Option<String>,
    pub max_request_body_size: usize,
    pub shutdown_timeout: Duration,
    /// How long a client has to send a request's headers, and how long a kept-alive
    /// connection may sit idle (hyper's `header_read_timeout`).
    pub header_timeout: Duration,
    /// How long a request body may go without a byte arriving (nginx's
    /// `client_body_timeout`): then 408, and the connection is closed.
    pub body_timeout: Duration,
    /// Connections open at once, in all (more wait in the listen backlog) and per client
    /// address (more are closed at once); 0: no ceiling.
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// Handlers streaming a body (uploads, downloads) at once, each holding a thread; more
    /// wait, holding none, so streams can never take every thread from other requests.
    pub max_streams: usize,
    /// Threads for handlers that block (tokio's blocking pool); read at start only.
    pub max_threads: usize,
    /// `tls_cert_file` and `tls_key_file`: serve HTTPS on `listen` (both or neither).
    pub tls: Option<TlsFiles>,
    pub services: Vec<ServiceConfig>,
}

/// A PEM certificate chain (the server's first) and its PEM private key, read again by
/// every reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The config file to use: `--config`, else `JUMPGATE_CONFIG`, else the search path.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("JUMPGATE_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    SEARCH_PATH
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ConfigError(format!(
                "no configuration: pass --config, set JUMPGATE_CONFIG, or create one of {}",
                SEARCH_PATH.join(", ")
            ))
        })
}

/// A fresh parser with ConfigParser's rules: `[DEFAULT]` cascades, `=` and `:`, comments
/// only at line start (so URLs keep their `;` and `#`), indented continuation lines.
fn parser() -> Ini {
    let mut ini = Ini::new();
    ini.set_default_section("default");
    ini.set_cascade_defaults(true);
    ini.set_multiline(true);
    ini.set_inline_comment_symbols(Some(&[]));
    ini
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Config::parse(path, &text)
    }

    /// Checks `text` as if read from `path` (relative paths in it are taken from its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut ini = parser();
        ini.read(text.to_string())
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        let file = path.display().to_string();
        let err = |section: &str, key: &str, why: String| {
            ConfigError(format!("{file}: [{section}] {key}: {why}"))
        };
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // `here`: the folder of the config file, as PasteDeploy names it, for drivers to
        // resolve their relative paths the way the host resolves `plugin_dir`.
        if ini.get("default", "here").is_none() {
            let here = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
            ini.set("default", "here", Some(here.display().to_string()));
        }
        let get = |key: &str| ini.get("default", key).filter(|v| !v.trim().is_empty());

        let listen_raw = get("listen").unwrap_or_else(|| "127.0.0.1:5000".into());
        let listen = listen_raw.trim().parse::<SocketAddr>().map_err(|_| {
            err(
                "DEFAULT",
                "listen",
                format!("'{listen_raw}' is not an address:port"),
            )
        })?;

        let plugin_dir = base.join(get("plugin_dir").unwrap_or_else(|| "plugins".into()).trim());

        let tls = match (get("tls_cert_file"), get("tls_key_file")) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert_file: base.join(cert.trim()),
                key_file: base.join(key.trim()),
            }),
            (Some(_), None) => {
                return Err(err(
                    "DEFAULT",
                    "tls_key_file",
                    "missing: tls_cert_file needs its private key".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "DEFAULT",
                    "tls_cert_file",
                    "missing: tls_key_file needs its certificate".into(),
                ))
            }
        };

        let log_level = get("log_level").unwrap_or_else(|| "INFO".into());
        let log_level = log_level.trim().to_ascii_lowercase();
        if !["error", "warn", "warning", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(err(
                "DEFAULT",
                "log_level",
                format!("'{log_level}' is not one of ERROR, WARNING, INFO, DEBUG, TRACE"),
            ));
        }
        let log_level = if log_level == "warning" {
            "warn".to_string()
        } else {
            log_level
        };

        let request_hooks = list(
            &ini.get("default", "request_hooks")
                .unwrap_or_else(|| DEFAULT_REQUEST_HOOKS.into()),
        );
        let response_hooks = list(
            &ini.get("default", "response_hooks")
                .unwrap_or_else(|| DEFAULT_RESPONSE_HOOKS.into()),
        );

        let max_request_body_size = match get("max_request_body_size") {
            None => DEFAULT_MAX_BODY,
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                err(
                    "DEFAULT",
                    "max_request_body_size",
                    format!("'{v}' is not a number of bytes"),
                )
            })?,
        };
        // Bounded so that no setting overflows a deadline: a day is more than any wait.
        let seconds = |key: &str, default: u64| -> Result<Duration, ConfigError> {
            match get(key) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        err(
                            "DEFAULT",
                            key,
                            format!("'{v}' is not a number of seconds from 0 to 86400"),
                        )
                    }),
            }
        };
        let count = |key: &str, default: usize| -> Result<usize, ConfigError> {
            match get(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| err("DEFAULT", key, format!("'{v}' is not a whole number"))),
            }
        };
        let shutdown_timeout = seconds("shutdown_timeout", 30)?;
        // nginx's defaults: 60 s for headers and between body bytes; hyper's 30 s for
        // headers is kept, as the idle time of a kept-alive connection too.
        let header_timeout = seconds("header_timeout", 30)?;
        let body_timeout = seconds("body_timeout", 60)?;
        if header_timeout.is_zero() || body_timeout.is_zero() {
            return Err(err(
                "DEFAULT",
                if header_timeout.is_zero() {
                    "header_timeout"
                } else {
                    "body_timeout"
                },
                "must be more than 0 seconds".into(),
            ));
        }
        let max_connections = count("max_connections", 4096)?;
        let max_connections_per_client = count("max_connections_per_client", 512)?;
        let max_streams = count("max_streams", 128)?;
        // tokio's own default; streams may hold at most part of it.
        let max_threads = count("max_threads", 512)?;
        if max_threads == 0 {
            return Err(err("DEFAULT", "max_threads", "must be at least 1".into()));
        }
        if max_streams == 0 || max_streams >= max_threads {
            return Err(err(
                "DEFAULT",
                "max_streams",
                format!(
                    "{max_streams}: must be from 1 to max_threads - 1 ({}), so that streams \
                     always leave threads to other requests",
                    max_threads - 1
                ),
            ));
        }

        let enabled = list(
            &ini.get("default", "enabled_services")
                .unwrap_or_else(|| catalog::SERVICES.join(", ")),
        );
        for (i, name) in enabled.iter().enumerate() {
            if catalog::endpoints(name).is_none() {
                return Err(err(
                    "DEFAULT",
                    "enabled_services",
                    format!(
                        "unknown service '{name}' (known: {})",
                        catalog::SERVICES.join(", ")
                    ),
                ));
            }
            if enabled[..i].contains(name) {
                return Err(err(
                    "DEFAULT",
                    "enabled_services",
                    format!("'{name}' is listed twice"),
                ));
            }
        }
        let mut services = Vec::new();
        for name in enabled {
            let driver = ini
                .get(&name, "driver")
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .ok_or_else(|| {
                    err(
                        &name,
                        "driver",
                        "missing: name the driver that serves it".into(),
                    )
                })?;
            let mount = ini
                .get(&name, "mount")
                .map(|m| m.trim().to_string())
                .unwrap_or_else(|| default_mount(&name).to_string());
            let mount = normalize_mount(&mount).ok_or_else(|| {
                err(
                    &name,
                    "mount",
                    format!("'{mount}' must be a path starting with '/'"),
                )
            })?;
            if let Some(other) = services.iter().find(|s: &&ServiceConfig| s.mount == mount) {
                return Err(err(
                    &name,
                    "mount",
                    format!("'{mount}' is already the mount of {}", other.name),
                ));
            }
            // The same driver as its own fallback would only register everything twice.
            let fallback = ini
                .get(&name, "fallback")
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty() && *f != driver);
            services.push(ServiceConfig {
                name,
                driver,
                mount,
                fallback,
            });
        }

        Ok(Config {
            path: path.to_path_buf(),
            listen,
            plugin_dir,
            log_level,
            request_hooks,
            response_hooks,
            admin_token: get("admin_token").map(|t| t.trim().to_string()),
            max_request_body_size,
            shutdown_timeout,
            header_timeout,
            body_timeout,
            max_connections,
            max_connections_per_client,
            max_streams,
            max_threads,
            tls,
            services,
            ini,
        })
    }

    /// A raw value, with `[DEFAULT]` cascading, as drivers see it.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        self.ini.get(section, key)
    }

    /// Sets a value as if the file had it, for a command that hands a driver one setting
    /// of its own (`migrate-store --to`) without writing it to the file.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.ini.set(section, key, Some(value.to_string()));
    }

    /// Every key of `section` (`[DEFAULT]`'s first, then the section's own, which win).
    pub fn items(&self, section: &str) -> Vec<(String, String)> {
        let map = self.ini.get_map_ref();
        let mut out: Vec<(String, String)> = Vec::new();
        let section = section.to_ascii_lowercase();
        for name in ["default", section.as_str()] {
            let Some(entries) = map.get(name) else {
                continue;
            };
            let mut entries: Vec<_> = entries.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                let value = value.clone().unwrap_or_default();
                match out.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value,
                    None => out.push((key.clone(), value)),
                }
            }
            if section == "default" {
                break;
            }
        }
        out
    }

    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// The original's mounts: identity at the root, the others under their own name.
pub fn default_mount(service: &str) -> &'static str {
    match service {
        "identity" => "",
        "compute" => "/compute",
        "image" => "/image",
        "volume" => "/volume",
        "network" => "/network",
        "baremetal" => "/baremetal",
        "placement" => "/placement",
        _ => "",
    }
}

fn normalize_mount(mount: &str) -> Option<String> {
    let trimmed = mount.trim_end_matches('/');
    if trimmed.is_empty() {
        return Some(String::new());
    }
    if !trimmed.starts_with('/') || trimmed.contains(['{', '}', '?', '#', ' ']) {
        return None;
    }
    Some(trimmed.to_string())
}

/// A comma- or newline-separated list, as the original's `enabled_services`.
fn list(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(Path::new("/etc/jumpgate/jumpgate.conf"), text).unwrap()
    }

    fn parse_err(text: &str) -> String {
        match Config::parse(Path::new("j.conf"), text) {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.0,
        }
    }

    /// The original's etc/jumpgate.conf, as Python's ConfigParser reads it.
    const ORIGINAL: &str = "\
[DEFAULT]
enabled_services = identity, compute, image, volume, network, baremetal
log_level = INFO
admin_token = ADMIN
secret_key = SET ME TO SOMETHING
request_hooks = jumpgate.common.hooks.admin_token, jumpgate.common.hooks.auth_token
response_hooks = jumpgate.common.hooks.log
default_domain = jumpgate.com

[softlayer]
endpoint = https://api.softlayer.com/xmlrpc/v3/
catalog_template_file = identity.templates

[openstack]
compute_endpoint = http://127.0.0.1:8774
identity_endpoint = http://127.0.0.1:5000

# Drivers Paths

[identity]
driver=jumpgate.identity.drivers.sl
token_driver=jumpgate.identity.drivers.core.JumpgateTokenDriver

[compute]
driver=jumpgate.compute.drivers.sl
default_cores=200
default_availability_zone='sjc01'

[image]
driver=jumpgate.image.drivers.sl

[volume]
driver=jumpgate.volume.drivers.sl
default_availability_zone='sjc01'

[network]
driver=jumpgate.network.drivers.sl

[baremetal]
driver=jumpgate.baremetal.drivers.sl
";

    #[test]
    fn reads_the_original_config() {
        let c = parse(ORIGINAL);
        assert_eq!(c.services.len(), 6);
        assert_eq!(
            c.service("compute").unwrap().driver,
            "jumpgate.compute.drivers.sl"
        );
        assert_eq!(c.service("identity").unwrap().mount, "");
        assert_eq!(c.service("volume").unwrap().mount, "/volume");
        assert_eq!(c.admin_token.as_deref(), Some("ADMIN"));
        assert_eq!(
            c.get("openstack", "compute_endpoint").as_deref(),
            Some("http://127.0.0.1:8774")
        );
        assert_eq!(c.log_level, "info");
    }

    #[test]
    fn default_cascades_into_every_section() {
        let c = parse(ORIGINAL);
        assert_eq!(c.get("identity", "log_level").as_deref(), Some("INFO"));
        assert_eq!(
            c.get("softlayer", "default_domain").as_deref(),
            Some("jumpgate.com")
        );
        let items = c.items("compute");
        assert!(items.contains(&("default_cores".into(), "200".into())));
        assert!(items.contains(&("admin_token".into(), "ADMIN".into())));
    }

    #[test]
    fn quotes_are_kept() {
        let c = parse(ORIGINAL);
        assert_eq!(
            c.get("compute", "default_availability_zone").as_deref(),
            Some("'sjc01'")
        );
    }

    #[test]
    fn urls_keep_semicolons_and_hashes() {
        let c = parse("[DEFAULT]\nenabled_services = compute\n[compute]\ndriver = x\n[openstack]\nurl = http://a/b?x=1;y=2#frag\ninline = value ; py3 keeps this\n");
        assert_eq!(
            c.get("openstack", "url").as_deref(),
            Some("http://a/b?x=1;y=2#frag")
        );
        assert_eq!(
            c.get("openstack", "inline").as_deref(),
            Some("value ; py3 keeps this")
        );
    }

    #[test]
    fn colon_delimits_and_keys_are_case_insensitive() {
        let c = parse(
            "[DEFAULT]\nenabled_services = compute\n[compute]\ndriver: local\nMixed_Case = v\n",
        );
        assert_eq!(c.service("compute").unwrap().driver, "local");
        assert_eq!(c.get("compute", "mixed_case").as_deref(), Some("v"));
    }

    #[test]
    fn continuation_lines_join_with_newlines() {
        let c = parse("[DEFAULT]\nenabled_services = identity,\n    compute\n[identity]\ndriver = x\n[compute]\ndriver = y\n");
        assert_eq!(
            c.get("default", "enabled_services").as_deref(),
            Some("identity,\ncompute")
        );
        assert_eq!(c.services.len(), 2);
    }

    #[test]
    fn comments_only_at_line_start() {
        let c = parse("# a comment\n; another\n[identity]\ndriver = x # not a comment\n[DEFAULT]\nenabled_services = identity\n");
        assert_eq!(c.service("identity").unwrap().driver, "x # not a comment");
    }

    #[test]
    fn mounts_are_normalized_and_checked() {
        let c =
            parse("[DEFAULT]\nenabled_services = compute\n[compute]\ndriver = x\nmount = /nova/\n");
        assert_eq!(c.service("compute").unwrap().mount, "/nova");
        let e = parse_err(
            "[DEFAULT]\nenabled_services = compute\n[compute]\ndriver = x\nmount = nova\n",
        );
        assert_eq!(
            e,
            "j.conf: [compute] mount: 'nova' must be a path starting with '/'"
        );
    }

    #[test]
    fn errors_name_file_section_and_key() {
        assert_eq!(
            parse_err("[DEFAULT]\nenabled_services = compute\n"),
            "j.conf: [compute] driver: missing: name the driver that serves it"
        );
        assert_eq!(
            parse_err("[DEFAULT]\nlisten = nowhere\n"),
            "j.conf: [DEFAULT] listen: 'nowhere' is not an address:port"
        );
        assert!(parse_err("[DEFAULT]\nenabled_services = dns\n")
            .starts_with("j.conf: [DEFAULT] enabled_services: unknown service 'dns'"));
        assert_eq!(
            parse_err("[DEFAULT]\nenabled_services = image, compute\n[image]\ndriver=a\nmount=/x\n[compute]\ndriver=b\nmount=/x\n"),
            "j.conf: [compute] mount: '/x' is already the mount of image"
        );
    }

    #[test]
    fn limits_are_bounded_and_leave_threads_to_other_requests() {
        let base = "[DEFAULT]\nenabled_services = identity\n[identity]\ndriver = x\n";
        let c = parse(base);
        assert_eq!(c.header_timeout, Duration::from_secs(30));
        assert_eq!(c.body_timeout, Duration::from_secs(60));
        assert_eq!((c.max_streams, c.max_threads), (128, 512));
        let with = |extra: &str| base.replace("[DEFAULT]\n", &format!("[DEFAULT]\n{extra}\n"));
        assert_eq!(
            parse(&with("body_timeout = 2.5")).body_timeout,
            Duration::from_millis(2500)
        );
        assert!(parse_err(&with("header_timeout = 0")).contains("header_timeout: must be more"));
        assert!(parse_err(&with("body_timeout = 1e300")).contains("from 0 to 86400"));
        assert!(parse_err(&with("max_connections = -1")).contains("not a whole number"));
        assert!(parse_err(&with("max_streams = 512")).contains("from 1 to max_threads - 1 (511)"));
        assert!(parse_err(&with("max_streams = 0")).contains("max_streams"));
        assert_eq!(
            parse(&with("max_streams = 8\nmax_threads = 9")).max_streams,
            8
        );
    }

    #[test]
    fn tls_files_come_in_pairs_relative_to_the_config_folder() {
        let c = parse("[DEFAULT]\ntls_cert_file = tls/cert.pem\ntls_key_file = /k.pem\nenabled_services = identity\n[identity]\ndriver = x\n");
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert_file: PathBuf::from("/etc/jumpgate/tls/cert.pem"),
                key_file: PathBuf::from("/k.pem"),
            })
        );
        assert_eq!(
            parse("[DEFAULT]\nenabled_services = identity\n[identity]\ndriver = x\n").tls,
            None
        );
        assert_eq!(
            parse_err("[DEFAULT]\ntls_cert_file = c.pem\n"),
            "j.conf: [DEFAULT] tls_key_file: missing: tls_cert_file needs its private key"
        );
        assert_eq!(
            parse_err("[DEFAULT]\ntls_key_file = k.pem\n"),
            "j.conf: [DEFAULT] tls_cert_file: missing: tls_key_file needs its certificate"
        );
    }

    #[test]
    fn relative_plugin_dir_is_taken_from_the_config_folder() {
        let c = parse("[DEFAULT]\nplugin_dir = drivers\nenabled_services = identity\n[identity]\ndriver = x\n");
        assert_eq!(c.plugin_dir, PathBuf::from("/etc/jumpgate/drivers"));
    }

    #[test]
    fn here_is_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::parse(
            &dir.path().join("j.conf"),
            "[DEFAULT]\nenabled_services = identity\n[identity]\ndriver = x\n",
        )
        .unwrap();
        let here = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(c.get("identity", "here"), Some(here.display().to_string()));
    }

    #[test]
    fn fallback_is_per_service_and_never_the_driver_itself() {
        let c = parse("[DEFAULT]\nenabled_services = identity, compute, image\n[identity]\ndriver = openstack\nfallback = openstack\n[compute]\ndriver = mine\nfallback = openstack\n[image]\ndriver = mine\n");
        assert_eq!(c.service("identity").unwrap().fallback, None);
        assert_eq!(
            c.service("compute").unwrap().fallback.as_deref(),
            Some("openstack")
        );
        assert_eq!(c.service("image").unwrap().fallback, None);
    }

    #[test]
    fn empty_admin_token_means_none() {
        let c = parse(
            "[DEFAULT]\nadmin_token =\nenabled_services = identity\n[identity]\ndriver = x\n",
        );
        assert_eq!(c.admin_token, None);
    }

    #[test]
    fn a_set_value_reads_as_the_file_would_give_it() {
        let mut c = parse(
            "[DEFAULT]\nenabled_services = identity\n[identity]\ndriver = local\n[local]\ndata_dir = d\n",
        );
        c.set("local", "migrate_store_to", "postgresql://jg@db/cloud");
        assert_eq!(
            c.get("local", "migrate_store_to").as_deref(),
            Some("postgresql://jg@db/cloud")
        );
        assert_eq!(c.get("local", "data_dir").as_deref(), Some("d"));
        assert_eq!(c.get("identity", "migrate_store_to"), None);
    }
}
