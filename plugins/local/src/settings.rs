//! The `[local]` and `[identity]` settings of jumpgate.conf, read once per setup.

use std::path::PathBuf;

use jumpgate_plugin_api::{App, Error};

pub struct Settings {
    /// `[local] data_dir`: the database, volumes, images. Default `data`, beside the config.
    pub data_dir: PathBuf,
    /// `[local] database`: a `postgresql://user:pass@host/db` URL when several hosts share
    /// one cloud; unset, the state is SQLite's file in `data_dir`.
    pub database: Option<String>,
    /// `[local] migrate_store_to`: set by `jumpgate migrate-store --to URL`, never in a
    /// file: setup copies the SQLite store into that PostgreSQL database first.
    pub migrate_store_to: Option<String>,
    /// `[DEFAULT] secret_key`: tokens are sealed under a key derived from it. When unset,
    /// one is generated into `data_dir/secret_key` and kept.
    pub secret_key: String,
    /// `[identity] previous_secret_keys`: comma separated, still accepted after a rotation.
    pub previous_secret_keys: Vec<String>,
    /// `[identity] token_expiration`, seconds (default 3600).
    pub token_expiration: i64,
    /// `[identity] region` (default RegionOne).
    pub region: String,
    /// `[local] admin_password` or `JUMPGATE_ADMIN_PASSWORD`, used by bootstrap only.
    pub admin_password: Option<String>,
    /// argon2id cost: `[local] password_hash_memory_kib` (19456), `password_hash_iterations` (2).
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    /// `[local] boot_delay`, seconds (default 1, fractions allowed): how long a server
    /// builds, and how long each later action's task runs.
    pub boot_delay_ms: i64,
    /// `[local] host`: the name of this cloud's one compute host (default: this machine's).
    pub host: String,
    /// The compute host's size and Nova's ratios: its inventory in Placement, and what
    /// os-hypervisors reports.
    pub host_size: HostSize,
    /// `[flavors] flavor_list`: a JSON file of flavors (relative to the config's folder),
    /// added to the store when missing; none means Nova's classic m1 flavors.
    pub flavor_list: Option<PathBuf>,
}

/// `[local] vcpus`, `memory_mb`, `local_gb` (unset: this machine's CPUs, memory and the
/// filesystem of `data_dir`), with Nova's `cpu_allocation_ratio` (4.0),
/// `ram_allocation_ratio` (1.0), `disk_allocation_ratio` (1.0) and
/// `reserved_host_memory_mb` (512), as nova-compute reports them to Placement.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSize {
    pub vcpus: Option<i64>,
    pub memory_mb: Option<i64>,
    pub local_gb: Option<i64>,
    pub cpu_allocation_ratio: f64,
    pub ram_allocation_ratio: f64,
    pub disk_allocation_ratio: f64,
    pub reserved_host_memory_mb: i64,
}

/// Placement's largest integer (a 32-bit column there): no inventory exceeds it.
const MAX_SIZE: i64 = 2_147_483_647;
/// Far beyond any real overcommit; keeps capacity arithmetic finite.
const MAX_RATIO: f64 = 1_000_000.0;

impl HostSize {
    fn read(app: &App) -> Result<HostSize, Error> {
        let size = |key: &str| -> Result<Option<i64>, Error> {
            match app.config("local", key).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(_) => {
                    let n: i64 = number(app, "local", key, 0)?;
                    if !(1..=MAX_SIZE).contains(&n) {
                        return Err(Error(format!(
                            "[local] {key}: must be between 1 and {MAX_SIZE}"
                        )));
                    }
                    Ok(Some(n))
                }
            }
        };
        let ratio = |key: &str, default: f64| -> Result<f64, Error> {
            let r: f64 = number(app, "local", key, default)?;
            if !(r > 0.0 && r <= MAX_RATIO) {
                return Err(Error(format!(
                    "[local] {key}: must be above 0 and at most {MAX_RATIO}"
                )));
            }
            Ok(r)
        };
        let reserved: i64 = number(app, "local", "reserved_host_memory_mb", 512)?;
        if !(0..=MAX_SIZE).contains(&reserved) {
            return Err(Error(format!(
                "[local] reserved_host_memory_mb: must be between 0 and {MAX_SIZE}"
            )));
        }
        Ok(HostSize {
            vcpus: size("vcpus")?,
            memory_mb: size("memory_mb")?,
            local_gb: size("local_gb")?,
            cpu_allocation_ratio: ratio("cpu_allocation_ratio", 4.0)?,
            ram_allocation_ratio: ratio("ram_allocation_ratio", 1.0)?,
            disk_allocation_ratio: ratio("disk_allocation_ratio", 1.0)?,
            reserved_host_memory_mb: reserved,
        })
    }
}

fn number<T: std::str::FromStr>(
    app: &App,
    section: &str,
    key: &str,
    default: T,
) -> Result<T, Error> {
    match app.config(section, key).filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Error(format!("[{section}] {key}: '{v}' is not a number"))),
    }
}

impl Settings {
    pub fn read(app: &App) -> Result<Settings, Error> {
        // Relative to the config file's folder (`here`), as the host takes `plugin_dir`.
        let here = PathBuf::from(app.config("local", "here").unwrap_or_else(|| ".".into()));
        let data_dir = here.join(
            app.config("local", "data_dir")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "data".into())
                .trim(),
        );
        let secret_key = match app
            .config("identity", "secret_key")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "SET ME TO SOMETHING")
        {
            Some(k) => k,
            None => stored_secret(&data_dir)?,
        };
        let previous_secret_keys = app
            .config("identity", "previous_secret_keys")
            .map(|v| {
                v.split([',', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let token_expiration: i64 = number(app, "identity", "token_expiration", 3600)?;
        if token_expiration <= 0 {
            return Err(Error(
                "[identity] token_expiration: must be a positive number of seconds".into(),
            ));
        }
        Ok(Settings {
            data_dir,
            database: app
                .config("local", "database")
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty()),
            migrate_store_to: app
                .config("local", "migrate_store_to")
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty()),
            secret_key,
            previous_secret_keys,
            token_expiration,
            region: app
                .config("identity", "region")
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "RegionOne".into()),
            admin_password: app
                .config("local", "admin_password")
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .or_else(|| {
                    std::env::var("JUMPGATE_ADMIN_PASSWORD")
                        .ok()
                        .filter(|p| !p.is_empty())
                }),
            password_hash_memory_kib: number(app, "local", "password_hash_memory_kib", 19_456)?,
            password_hash_iterations: number(app, "local", "password_hash_iterations", 2)?,
            boot_delay_ms: {
                let secs: f64 = number(app, "local", "boot_delay", 1.0)?;
                if !(0.0..=3600.0).contains(&secs) {
                    return Err(Error(
                        "[local] boot_delay: must be between 0 and 3600 seconds".into(),
                    ));
                }
                (secs * 1000.0) as i64
            },
            host: app
                .config("local", "host")
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .or_else(|| {
                    std::fs::read_to_string("/proc/sys/kernel/hostname")
                        .ok()
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                })
                .unwrap_or_else(|| "localhost".into()),
            host_size: HostSize::read(app)?,
            flavor_list: app
                .config("flavors", "flavor_list")
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .map(|f| here.join(f)),
        })
    }
}

/// The secret kept in `data_dir/secret_key`, made on first use (0600). Hosts sharing the
/// data directory start at once during a rolling restart: the secret is written to a
/// private temp file and hard-linked into place, which fails if another got there first;
/// then everyone reads the one that won.
fn stored_secret(data_dir: &std::path::Path) -> Result<String, Error> {
    let path = data_dir.join("secret_key");
    let read = || -> Option<String> {
        std::fs::read_to_string(&path)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    if let Some(s) = read() {
        return Ok(s);
    }
    crate::store::private_dir(data_dir).map_err(Error)?;
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw).map_err(|e| Error(format!("no randomness: {e}")))?;
    let secret: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = data_dir.join(format!(".secret_key.{}", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, &path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read().ok_or_else(|| Error(format!("{}: empty", path.display())))
        }
        Err(e) => Err(Error(format!("{}: {e}", path.display()))),
    }
}
