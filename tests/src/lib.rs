//! The end-to-end harness: builds the workspace's binary and drivers once, starts a real
//! `jumpgate` on a free port with its own config and plugin folder, and talks HTTP to it.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/<profile>` of the running test.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Builds the host and the workspace's drivers once per test process, in the profile the
/// tests run in, so `cargo test` alone is enough.
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let release = target_dir().ends_with("release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root()).args([
            "build",
            "-p",
            "jumpgate",
            "-p",
            "jumpgate-example",
            "-p",
            "jumpgate-local",
            "-p",
            "jumpgate-openstack",
            "-p",
            "jumpgate-testkit",
            "-p",
            "jumpgate-not-a-driver",
        ]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo build");
        assert!(
            status.success(),
            "building the workspace for the e2e tests failed"
        );
    });
}

pub fn binary() -> PathBuf {
    ensure_built();
    target_dir().join("jumpgate")
}

/// A driver built in this workspace: `example`, `local`, `openstack`, `testkit`,
/// `not_a_driver`.
pub fn workspace_driver(name: &str) -> PathBuf {
    ensure_built();
    target_dir().join(format!("libjumpgate_{name}.so"))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Copies `so` into `dir` as `libjumpgate_<name>.so` the way operators should: write a
/// temp file, then rename over, so the host never sees half a file.
pub fn install(dir: &Path, name: &str, so: &Path) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::copy(so, &tmp).expect("copy driver");
    std::fs::rename(&tmp, dir.join(format!("libjumpgate_{name}.so"))).expect("rename driver");
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON body, or `Null` for an empty one (a 204, or a 202 without a body).
    pub fn json_or_null(&self) -> Value {
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

/// A running `jumpgate` with its own folder (config, plugins, data).
pub struct Jumpgate {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// The config file for `body` (its `[DEFAULT]` keys first, then sections) on `port`.
pub fn config_text(port: u16, body: &str) -> String {
    format!("[DEFAULT]\nlisten = 127.0.0.1:{port}\nplugin_dir = plugins\n{body}\n")
}

/// The admin the `local` driver seeds, with the password [`local_config`] gives it.
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "s3cret";
/// The password of every user [`Jumpgate::create_user_with_role`] makes.
pub const USER_PASSWORD: &str = "pw";

/// Glance answers faults as an HTML page unless JSON is asked for (webob); tests that read
/// a Glance fault as JSON send this.
pub const ACCEPT_JSON: (&str, &str) = ("Accept", "application/json");

/// The configuration of the `local` driver serving `services` (Keystone's type names) from
/// `data`: the admin signs in with [`ADMIN_PASSWORD`], password hashing is cheap (the
/// tests sign in many times), servers and volumes build in 0.2 s and the compute host holds
/// far more than the tests run at once (its size in Placement). `extra` follows the
/// `[local]` keys: more of them, or sections of its own; a section named again adds its
/// keys to the first (as in oslo.config), e.g. `[image]\nimage_size_cap = 1000`.
pub fn local_config(data: &Path, services: &[&str], extra: &str) -> String {
    let mut conf = format!("enabled_services = {}\n", services.join(", "));
    for service in services {
        conf.push_str(&format!("[{service}]\ndriver = local\n"));
    }
    conf.push_str(&format!(
        "[local]\ndata_dir = {}\nadmin_password = {ADMIN_PASSWORD}\n\
         password_hash_memory_kib = 1024\npassword_hash_iterations = 1\nboot_delay = 0.2\n\
         vcpus = 1024\nmemory_mb = 4194304\nlocal_gb = 1000000\n{extra}\n",
        data.display()
    ));
    conf
}

/// Keystone v3 password authentication for `user` of the default domain (named, as
/// `OS_USER_DOMAIN_NAME=Default` makes clients send it), scoped to `project` of that domain
/// when given, unscoped otherwise.
pub fn password_auth(user: &str, password: &str, project: Option<&str>) -> Value {
    let mut auth = json!({"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}});
    if let Some(p) = project {
        auth["scope"] = json!({"project": {"name": p, "domain": {"id": "default"}}});
    }
    json!({ "auth": auth })
}

impl Jumpgate {
    /// Starts jumpgate with the `local` driver as [`local_config`] configures it.
    pub fn start_local(data: &Path, services: &[&str], extra: &str) -> Jumpgate {
        Jumpgate::start(
            &local_config(data, services, extra),
            &[("local", &workspace_driver("local"))],
        )
    }

    /// Starts jumpgate with `drivers` (name, .so) installed and `body` as configuration.
    pub fn start(body: &str, drivers: &[(&str, &Path)]) -> Jumpgate {
        Jumpgate::start_with(body, drivers, &[])
    }

    /// As [`Jumpgate::start`], with extra command-line arguments.
    pub fn start_with(body: &str, drivers: &[(&str, &Path)], args: &[&str]) -> Jumpgate {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("plugins")).expect("plugins dir");
        for (name, so) in drivers {
            install(&dir.path().join("plugins"), name, so);
        }
        let port = free_port();
        std::fs::write(dir.path().join("jumpgate.conf"), config_text(port, body))
            .expect("write config");
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(dir.path().join("jumpgate.conf"))
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start jumpgate");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A 300 with Location (Keystone's version list) is an answer to look at.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let jg = Jumpgate {
            child,
            port,
            dir,
            log,
            agent,
        };
        assert!(
            jg.wait_log("listening on", Duration::from_secs(30)),
            "jumpgate did not start:\n{}",
            jg.log()
        );
        jg
    }

    /// The process id, for a look at its memory in /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("jumpgate.conf")
    }

    pub fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    /// Rewrites the configuration (same port and plugin folder).
    pub fn rewrite_config(&self, body: &str) {
        let tmp = self.dir.path().join(".conf.tmp");
        std::fs::write(&tmp, config_text(self.port, body)).expect("write config");
        std::fs::rename(tmp, self.config_path()).expect("rename config");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends a request; headers as (name, value).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (n, v) in headers {
            builder = builder.header(*n, *v);
        }
        let request = builder
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .expect("request");
        let mut resp = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `method path` as an API client sends it: `token` as `X-Auth-Token`, `body` as JSON
    /// (the `Content-Type` goes with every request, as clients' sessions send it), then
    /// `headers`, each replacing one of the same name (a microversion, `Accept`, a JSON
    /// patch's own `Content-Type`).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut all = vec![("Content-Type", "application/json")];
        if let Some(token) = token {
            all.push(("X-Auth-Token", token));
        }
        for (name, value) in headers {
            all.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            all.push((name, value));
        }
        let body = body.map(Value::to_string);
        self.request(method, path, &all, body.as_deref().map(str::as_bytes))
    }

    /// A project-scoped token for `user` (see [`password_auth`]); the sign-in must succeed.
    pub fn login(&self, user: &str, password: &str, project: &str) -> String {
        let r = self.call(
            "POST",
            "/v3/auth/tokens",
            None,
            Some(&password_auth(user, password, Some(project))),
            &[],
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.header("x-subject-token")
            .expect("a token in X-Subject-Token")
            .to_string()
    }

    /// A token of the seeded admin on the `admin` project.
    pub fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD, "admin")
    }

    /// A new project `name`, made by `admin` (a token); its id.
    pub fn create_project(&self, admin: &str, name: &str) -> String {
        let r = self.call(
            "POST",
            "/v3/projects",
            Some(admin),
            Some(&json!({"project": {"name": name}})),
            &[ACCEPT_JSON],
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["project"]["id"].as_str().unwrap().to_string()
    }

    /// A new user `name` (password [`USER_PASSWORD`]) with `role` on the project named
    /// `project` whose id is `project_id`, made by `admin`; the user's token on it.
    pub fn create_user_with_role(
        &self,
        admin: &str,
        project: &str,
        project_id: &str,
        name: &str,
        role: &str,
    ) -> String {
        let r = self.call(
            "POST",
            "/v3/users",
            Some(admin),
            Some(&json!({"user": {"name": name, "password": USER_PASSWORD}})),
            &[ACCEPT_JSON],
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let uid = r.json()["user"]["id"].as_str().unwrap().to_string();
        let roles = self
            .call(
                "GET",
                &format!("/v3/roles?name={role}"),
                Some(admin),
                None,
                &[ACCEPT_JSON],
            )
            .json();
        let rid = roles["roles"][0]["id"].as_str().unwrap().to_string();
        let r = self.call(
            "PUT",
            &format!("/v3/projects/{project_id}/users/{uid}/roles/{rid}"),
            Some(admin),
            None,
            &[ACCEPT_JSON],
        );
        assert_eq!(r.status, 204, "{}", r.text());
        self.login(name, USER_PASSWORD, project)
    }

    /// A raw, bare image `name` with 4 KiB of data, active and ready to boot; its id.
    /// `visibility` is Glance's (the default, `private`/`shared` by policy, when `None`).
    pub fn upload_image(&self, token: &str, name: &str, visibility: Option<&str>) -> String {
        let mut image = json!({"name": name, "disk_format": "raw", "container_format": "bare"});
        if let Some(v) = visibility {
            image["visibility"] = json!(v);
        }
        let r = self.call("POST", "/image/v2/images", Some(token), Some(&image), &[]);
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_string();
        let r = self.request(
            "PUT",
            &format!("/image/v2/images/{id}/file"),
            &[
                ("X-Auth-Token", token),
                ("Content-Type", "application/octet-stream"),
            ],
            Some(&[7u8; 4096]),
        );
        assert_eq!(r.status, 204, "{}", r.text());
        id
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }

    /// SIGHUP, then waits for the outcome: `Ok` when reloaded, `Err(line)` with the one
    /// error line when the reload failed.
    pub fn reload(&self) -> Result<(), String> {
        let before = self.log().len();
        self.signal("HUP");
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let log = self.log();
            let new = &log[before..];
            if new.contains("reloaded ") {
                return Ok(());
            }
            if let Some(line) = new.lines().find(|l| l.contains("reload failed")) {
                return Err(line.to_string());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no reload outcome logged:\n{}", &self.log()[before..]);
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Jumpgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `jumpgate <args>` against a config made of `body` and `drivers`; exit code, stdout
/// and stderr.
pub fn run_command(args: &[&str], body: &str, drivers: &[(&str, &Path)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("plugins")).expect("plugins dir");
    for (name, so) in drivers {
        install(&dir.path().join("plugins"), name, so);
    }
    let conf = dir.path().join("jumpgate.conf");
    std::fs::write(&conf, config_text(free_port(), body)).expect("write config");
    let out = Command::new(binary())
        .arg("--config")
        .arg(&conf)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run jumpgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Builds `tests/drivers/standalone` in its own cargo invocation and target directory, as a
/// third party would; `mark` ends up in what the driver answers. Returns the .so path.
pub fn build_standalone(target: &Path, mark: &str, manifest: &Path) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target)
        .env("JG_MARK", mark)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cargo build standalone");
    assert!(status.success(), "building the standalone driver failed");
    target.join("debug").join("libjumpgate_standalone.so")
}
