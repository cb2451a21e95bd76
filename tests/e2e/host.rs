//! The plugin host as users see it: the real `jumpgate` binary, real driver `.so` files,
//! HTTP on a real socket, signals.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jumpgate_e2e::{build_standalone, install, run_command, workspace_driver, Jumpgate};

const EXAMPLE: &str = "
enabled_services = identity, compute
[identity]
driver = example
[compute]
driver = example
[example]
username = demo
password = s3cret
";

const TESTKIT: &str = "
enabled_services = identity, compute, image
request_hooks = request_id, admin_token, auth_token, stamp
response_hooks = log
admin_token = bootstrap-secret
[identity]
driver = testkit
[compute]
driver = testkit
[image]
driver = testkit
";

fn example() -> Jumpgate {
    Jumpgate::start(EXAMPLE, &[("example", &workspace_driver("example"))])
}

fn testkit() -> Jumpgate {
    Jumpgate::start(TESTKIT, &[("testkit", &workspace_driver("testkit"))])
}

#[test]
fn the_example_driver_serves_the_compute_index() {
    let jg = example();
    let r = jg.get("/compute/v2");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["versions"][0]["id"], "v2.0");
    assert_eq!(
        v["versions"][0]["links"][0]["href"],
        format!("http://127.0.0.1:{}/compute/v2", jg.port)
    );
    // The trailing slash and the .json suffix reach the same endpoint.
    assert_eq!(jg.get("/compute/v2/").status, 200);
    assert_eq!(jg.get("/compute/v2.json").status, 200);
}

#[test]
fn the_example_driver_issues_v2_tokens_with_a_catalog_from_both_dispatchers() {
    let jg = example();
    let body = br#"{"auth": {"passwordCredentials": {"username": "demo", "password": "s3cret"}, "tenantName": "t1"}}"#;
    let r = jg.request(
        "POST",
        "/v2.0/tokens",
        &[("Content-Type", "application/json")],
        Some(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let access = &r.json()["access"];
    assert_eq!(access["token"]["tenant"]["id"], "t1");
    let base = format!("http://127.0.0.1:{}", jg.port);
    let catalog = access["serviceCatalog"].as_array().unwrap();
    let url_of = |kind: &str| {
        catalog.iter().find(|s| s["type"] == kind).unwrap()["endpoints"][0]["publicURL"].clone()
    };
    assert_eq!(url_of("compute"), format!("{base}/compute/v2/t1"));
    assert_eq!(url_of("identity"), format!("{base}/v2.0"));

    let wrong = br#"{"auth": {"passwordCredentials": {"username": "demo", "password": "nope"}}}"#;
    let r = jg.request("POST", "/v2.0/tokens", &[], Some(wrong));
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], 401, "Keystone's fault body");

    let r = jg.request("POST", "/v2.0/tokens", &[], Some(b"{not json"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["title"], "Bad Request");
}

#[test]
fn an_unknown_path_is_404_and_an_unserved_endpoint_501_in_the_service_style() {
    let jg = example();
    let r = jg.get("/compute/v2/t1/os-nothing-here");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["itemNotFound"]["code"], 404);
    let r = jg.get("/compute/v2/t1/servers/../../../etc/passwd");
    assert_eq!(r.status, 404);
    let r = jg.get("/v3/nothing-here");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["title"], "Not Found");
    // A known endpoint no driver handles is 501, honestly.
    let r = jg.get("/compute/v2/t1/servers");
    assert_eq!(r.status, 501);
    assert!(r.json()["notImplemented"]["message"]
        .as_str()
        .unwrap()
        .contains("/compute/v2/t1/servers"));
    // Identity answers in Keystone's style.
    let r = jg.get("/v3/users");
    assert_eq!(r.status, 501);
    assert_eq!(r.json()["error"]["title"], "Not Implemented");
}

#[test]
fn a_verb_the_handler_lacks_is_405_with_allow() {
    let jg = example();
    let r = jg.request("DELETE", "/compute/v2", &[], None);
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET"));
    assert_eq!(r.json()["badMethod"]["code"], 405);
}

#[test]
fn every_response_carries_request_ids() {
    let jg = example();
    let r = jg.get("/compute/v2");
    let id = r
        .header("x-openstack-request-id")
        .expect("X-OpenStack-Request-Id");
    assert!(id.starts_with("req-") && id.len() == 40, "{id}");
    assert_eq!(
        r.header("x-compute-request-id"),
        Some(id),
        "compute also sends Nova's header"
    );
    let r = jg.get("/v3/nothing");
    assert!(r.header("x-openstack-request-id").is_some());
    assert_eq!(
        r.header("x-compute-request-id"),
        None,
        "only compute sends X-Compute-Request-Id"
    );
    assert!(
        jg.wait_log(&format!("request_id=\"{id}\""), Duration::from_secs(5)),
        "access log line:\n{}",
        jg.log()
    );
}

#[test]
fn access_lines_in_json() {
    let jg = Jumpgate::start_with(
        EXAMPLE,
        &[("example", &workspace_driver("example"))],
        &["--log-format", "json"],
    );
    let id = jg
        .get("/compute/v2?x=1")
        .header("x-openstack-request-id")
        .unwrap()
        .to_string();
    assert!(jg.wait_log(&id, Duration::from_secs(5)), "{}", jg.log());
    let line = jg
        .log()
        .lines()
        .find(|l| l.contains(&id))
        .unwrap()
        .to_string();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/compute/v2?x=1");
    assert_eq!(v["status"], 200);
    assert_eq!(v["request_id"], id.as_str());
    assert!(
        v["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{line}"
    );
}

#[test]
fn a_panicking_handler_is_a_500_and_the_host_keeps_serving() {
    let jg = testkit();
    let token = [("X-Auth-Token", "member-p1")];
    for _ in 0..3 {
        let r = jg.request("GET", "/compute/v2/p1/limits", &token, None);
        assert_eq!(r.status, 500);
        assert_eq!(r.json()["computeFault"]["code"], 500);
        assert!(
            !r.text().contains("index out of bounds"),
            "no driver internals on the wire"
        );
        assert_eq!(
            jg.request("GET", "/compute/v2/p1/servers/s1", &token, None)
                .status,
            200
        );
    }
    assert!(
        jg.log()
            .contains("panic in GET v2_limits: index out of bounds"),
        "{}",
        jg.log()
    );
}

#[test]
fn the_auth_hook_asks_the_drivers_validator() {
    let jg = testkit();
    // Version documents are public.
    assert_eq!(jg.get("/compute/v2").status, 200);

    let r = jg.get("/compute/v2/p1/servers/s1");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error"]["message"],
        "The request you have made requires authentication."
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some(format!("Keystone uri=\"http://127.0.0.1:{}\"", jg.port).as_str())
    );
    let r = jg.request(
        "GET",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "forged")],
        None,
    );
    assert_eq!(r.status, 401);

    let r = jg.request(
        "GET",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "member-p1")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["user_id"], "member-user");
    assert_eq!(v["tenant_id"], "p1");

    // Another project's URL: 403, unless admin.
    let r = jg.request(
        "GET",
        "/compute/v2/p2/servers/s1",
        &[("X-Auth-Token", "member-p1")],
        None,
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["forbidden"]["code"], 403);
    let r = jg.request(
        "GET",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "admin-p2")],
        None,
    );
    assert_eq!(r.status, 200);

    // The bootstrap admin token of jumpgate.conf.
    let r = jg.request(
        "GET",
        "/compute/v2/p9/servers/s1",
        &[("X-Auth-Token", "bootstrap-secret")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["tenant_id"], "p9");

    // A validator that panics is a 500, not a dead host.
    let r = jg.request(
        "GET",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "explode")],
        None,
    );
    assert_eq!(r.status, 500);
    assert_eq!(
        jg.request(
            "GET",
            "/compute/v2/p1/servers/s1",
            &[("X-Auth-Token", "member-p1")],
            None
        )
        .status,
        200
    );
}

#[test]
fn driver_hooks_named_in_the_config_run() {
    let jg = testkit();
    let r = jg.get("/compute/v2");
    assert_eq!(r.header("x-testkit-stamp"), Some("v2_index"));
}

#[test]
fn links_follow_the_version_prefix_and_forwarded_headers() {
    let jg = testkit();
    let token = ("X-Auth-Token", "member-p1");
    let r = jg.request("GET", "/compute/v2.1/servers/a%20b", &[token], None);
    let v = r.json();
    assert_eq!(v["params"]["server_id"], "a b");
    assert_eq!(
        v["link"],
        format!("http://127.0.0.1:{}/compute/v2.1/servers/a%20b", jg.port)
    );
    let r = jg.request(
        "GET",
        "/compute/v2/p1/servers/x",
        &[
            token,
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "cloud.example.com"),
        ],
        None,
    );
    assert_eq!(
        r.json()["link"],
        "https://cloud.example.com/compute/v2/p1/servers/x"
    );
}

#[test]
fn large_bodies_stream_both_ways() {
    let jg = testkit();
    let token = ("X-Auth-Token", "member-p1");
    let size = 64 << 20;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let r = jg.request(
        "PUT",
        "/image/v2/images/i1/file",
        &[token, ("Content-Type", "application/octet-stream")],
        Some(&data),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["size"], size as u64);
    let expected = {
        use std::fmt::Write;
        let digest = sha256(&data);
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert_eq!(v["sha256"], expected);

    let r = jg.request(
        "GET",
        &format!("/image/v2/images/i1/file?size={size}"),
        &[token],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(size.to_string().as_str()));
    assert_eq!(r.body.len(), size);
    assert!(r.body == data, "downloaded bytes differ");
}

#[test]
fn a_json_body_over_the_limit_is_413() {
    let jg = testkit();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(200_000));
    let r = jg.request(
        "POST",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "member-p1")],
        Some(big.as_bytes()),
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["overLimit"]["code"], 413);
    let r = jg.request(
        "POST",
        "/compute/v2/p1/servers/s1",
        &[("X-Auth-Token", "member-p1")],
        Some(br#"{"a": 1}"#),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["got"]["a"], 1);
}

#[test]
fn sigterm_drains_requests_in_flight_and_exits_zero() {
    let mut jg = testkit();
    let url = jg.url("/compute/v2/p1/servers?ms=800");
    let agent = jg.agent().clone();
    let slow = std::thread::spawn(move || {
        let resp = agent.get(&url).header("X-Auth-Token", "member-p1").call();
        resp.map(|r| r.status().as_u16()).unwrap_or(0)
    });
    std::thread::sleep(Duration::from_millis(200));
    jg.signal("TERM");
    assert_eq!(slow.join().unwrap(), 200, "the request in flight finished");
    assert_eq!(jg.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sighup_switches_drivers_after_the_config_changes() {
    let jg = Jumpgate::start(
        EXAMPLE,
        &[
            ("example", &workspace_driver("example")),
            ("testkit", &workspace_driver("testkit")),
        ],
    );
    assert!(jg.get("/compute/v2").json().get("versions").is_some());
    jg.rewrite_config(
        &EXAMPLE.replace("[compute]\ndriver = example", "[compute]\ndriver = testkit"),
    );
    jg.reload().expect("reload");
    assert_eq!(
        jg.get("/compute/v2").json()["endpoint"],
        "v2_index",
        "testkit's echo now answers"
    );
}

#[test]
fn a_bad_config_on_sighup_keeps_the_running_one() {
    let jg = example();
    jg.rewrite_config("enabled_services = identity, nonsense\n");
    let line = jg.reload().unwrap_err();
    assert!(line.contains("unknown service 'nonsense'"), "{line}");
    assert_eq!(jg.get("/compute/v2").status, 200);
}

/// A driver built in its own cargo invocation loads; rebuilt and sent SIGHUP, it replaces
/// the running one while a client keeps sending requests, none of which fails. Then three
/// broken drivers, each refused with one log line while the last good one keeps serving.
#[test]
fn reloads_swap_rebuilt_drivers_without_failed_requests_and_refuse_broken_ones() {
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");
    let manifest = jumpgate_e2e::root().join("tests/drivers/standalone/Cargo.toml");
    let first = build_standalone(&target, "one", &manifest);
    let first_copy = work.path().join("one.so");
    std::fs::copy(&first, &first_copy).unwrap();

    let jg = Jumpgate::start(
        "enabled_services = compute\n[compute]\ndriver = standalone\n",
        &[("standalone", &first_copy)],
    );
    assert_eq!(jg.get("/compute/v2").json()["build"], "one");

    // A client hammering the endpoint through the swap.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let seen_two = Arc::new(AtomicBool::new(false));
    let client = {
        let (stop, failures, seen_two) = (stop.clone(), failures.clone(), seen_two.clone());
        let (agent, url) = (jg.agent().clone(), jg.url("/compute/v2"));
        std::thread::spawn(move || {
            let mut sent = 0usize;
            while !stop.load(Ordering::Relaxed) {
                sent += 1;
                match agent.get(&url).call() {
                    Ok(mut r) if r.status() == 200 => {
                        let body = r.body_mut().read_to_string().unwrap_or_default();
                        if body.contains("\"two\"") {
                            seen_two.store(true, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            sent
        })
    };

    let second = build_standalone(&target, "two", &manifest);
    install(&jg.plugins(), "standalone", &second);
    jg.reload().expect("reload with the rebuilt driver");
    for _ in 0..200 {
        if seen_two.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let sent = client.join().unwrap();
    assert!(
        seen_two.load(Ordering::Relaxed),
        "the rebuilt driver answers"
    );
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "failed requests out of {sent}"
    );
    assert!(sent > 50, "the client kept sending ({sent})");

    let plugins = jg.plugins();
    let refuse = |what: &str, expect: &str| {
        let before = jg.log().lines().count();
        let line = jg.reload().expect_err(what);
        assert!(line.contains(expect), "{what}: {line}");
        let new_lines: Vec<String> = jg.log().lines().skip(before).map(str::to_string).collect();
        assert_eq!(
            new_lines.iter().filter(|l| l.contains("ERROR")).count(),
            1,
            "{what}: one error line, got:\n{}",
            new_lines.join("\n")
        );
        assert_eq!(
            jg.get("/compute/v2").json()["build"],
            "two",
            "{what}: the old router serves"
        );
    };

    // The start of a file, as a copy still in progress leaves it: must be refused before
    // dlopen, which would die of SIGBUS.
    let bytes = std::fs::read(&second).unwrap();
    std::fs::write(
        plugins.join("libjumpgate_standalone.so"),
        &bytes[..64 * 1024],
    )
    .unwrap();
    refuse("truncated", "PT_LOAD segment");

    install(&plugins, "standalone", &workspace_driver("not_a_driver"));
    refuse("not a driver", "not a jumpgate driver");

    let incompatible = build_incompatible(work.path(), &target);
    install(&plugins, "standalone", &incompatible);
    refuse("incompatible", "incompatible plugin-api");
}

/// The standalone driver built against a plugin-api whose `Request` has one more field.
fn build_incompatible(work: &Path, target: &Path) -> std::path::PathBuf {
    let root = jumpgate_e2e::root();
    let api = work.join("plugin-api");
    copy_dir(&root.join("plugin-api"), &api);
    let abi = api.join("src/abi.rs");
    let text = std::fs::read_to_string(&abi).unwrap();
    let changed = text.replacen(
        "pub struct Request {\n",
        "pub struct Request {\n    pub added_in_a_later_abi: u64,\n",
        1,
    );
    assert_ne!(text, changed);
    std::fs::write(&abi, changed).unwrap();
    // Constructors of Request in the copy need the new field too.
    let msg = api.join("src/message.rs");
    let text = std::fs::read_to_string(&msg).unwrap();
    std::fs::write(
        &msg,
        text.replacen(
            "Request {\n            method",
            "Request {\n            added_in_a_later_abi: 0,\n            method",
            1,
        ),
    )
    .unwrap();
    let driver = work.join("standalone");
    copy_dir(&root.join("tests/drivers/standalone"), &driver);
    let manifest = driver.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("../../../plugin-api", "../plugin-api"),
    )
    .unwrap();
    build_standalone(target, "incompatible", &manifest)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

#[test]
fn check_config_exit_codes() {
    let example = workspace_driver("example");
    let drivers = [("example", example.as_path())];
    let (code, out, _) = run_command(&["check-config"], EXAMPLE, &drivers);
    assert_eq!(code, 0);
    assert!(out.contains("OK: 2 services, drivers: example"), "{out}");

    let one_line = |args: &[&str], body: &str, drivers: &[(&str, &Path)], expect: &str| {
        let (code, _, err) = run_command(args, body, drivers);
        assert_eq!(code, 1, "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(expect), "{err}");
    };
    one_line(
        &["check-config"],
        "enabled_services = identity, dns\n",
        &drivers,
        "unknown service 'dns'",
    );
    one_line(
        &["check-config"],
        "enabled_services = compute\n[compute]\ndriver = missing\n",
        &drivers,
        "libjumpgate_missing.so: cannot read",
    );
    one_line(
        &["check-config"],
        "enabled_services = volume\n[volume]\ndriver = example\n",
        &drivers,
        "driver 'example' does not serve volume (it serves compute, identity)",
    );
    let testkit = workspace_driver("testkit");
    one_line(
        &["check-config"],
        "enabled_services = compute\n[compute]\ndriver = testkit\n[testkit]\npanic_in_setup = true\n",
        &[("testkit", testkit.as_path())],
        "setup_routes failed: panic in setup_routes: setup_routes exploded on purpose",
    );
    let not_a_driver = workspace_driver("not_a_driver");
    one_line(
        &["check-config"],
        "enabled_services = compute\n[compute]\ndriver = bogus\n",
        &[("bogus", not_a_driver.as_path())],
        "not a jumpgate driver",
    );
    one_line(
        &["check-config"],
        "enabled_services = compute\nrequest_hooks = request_id, nosuchhook\n[compute]\ndriver = example\n",
        &drivers,
        "unknown hook 'nosuchhook'",
    );
}

#[test]
fn serve_refuses_to_start_on_a_bad_driver() {
    let not_a_driver = workspace_driver("not_a_driver");
    let (code, _, err) = run_command(
        &["serve"],
        "enabled_services = compute\n[compute]\ndriver = bogus\n",
        &[("bogus", not_a_driver.as_path())],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not a jumpgate driver"), "{err}");
}

#[test]
fn endpoints_lists_the_compatibility_table() {
    let example = workspace_driver("example");
    let drivers = [("example", example.as_path())];
    let (code, out, err) = run_command(&["endpoints", "--service", "compute"], EXAMPLE, &drivers);
    assert_eq!(code, 0, "{err}");
    let row = out
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("v2_index"))
        .unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["compute", "v2_index", "GET", "example", "/compute/v2"]
    );
    assert!(out
        .lines()
        .all(|l| l.starts_with("SERVICE") || l.starts_with("compute")));
    assert!(
        out.contains("v2_os_volume_attachments"),
        "the original's nicknames are all there"
    );

    let (_, out, _) = run_command(&["endpoints", "--unused"], EXAMPLE, &drivers);
    assert!(!out.contains(" v2_index "), "{out}");
    assert!(!out.contains(" v2_tokens "), "{out}");
    assert!(out.contains(" v3_auth_tokens "));

    let (code, _, err) = run_command(&["endpoints", "--service", "volume"], EXAMPLE, &drivers);
    assert_eq!(code, 1);
    assert!(err.contains("'volume' is not enabled"), "{err}");
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}
