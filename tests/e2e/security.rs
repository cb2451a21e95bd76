//! Issue 15's findings, each as an attacker inside the cloud would try it over HTTP: a
//! reader changing images, a project joining another's server group, volume sizes past what
//! the store can hold, and dot segments in a raw path.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use jumpgate_e2e::{workspace_driver, Jumpgate, Reply};
use serde_json::{json, Value};

fn start(data: &Path) -> Jumpgate {
    let conf = format!(
        "enabled_services = identity, image, compute, network, volume\n[identity]\ndriver = local\n[image]\ndriver = local\n[compute]\ndriver = local\n[network]\ndriver = local\n[volume]\ndriver = local\n[local]\ndata_dir = {}\nadmin_password = s3cret\npassword_hash_memory_kib = 1024\npassword_hash_iterations = 1\nboot_delay = 0.2\n",
        data.display()
    );
    Jumpgate::start(&conf, &[("local", &workspace_driver("local"))])
}

/// `method path` with a token, a JSON body if any, and `extra` headers.
fn call(
    jg: &Jumpgate,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Reply {
    let body = body.map(|b| b.to_string());
    let mut headers = vec![
        ("X-Auth-Token", token),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    for (n, v) in extra {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(n));
        headers.push((n, v));
    }
    jg.request(method, path, &headers, body.as_deref().map(str::as_bytes))
}

fn login(jg: &Jumpgate, user: &str, password: &str, project: &str) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}});
    let r = jg.request(
        "POST",
        "/v3/auth/tokens",
        &[("Content-Type", "application/json")],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.header("x-subject-token").unwrap().to_string()
}

fn admin(jg: &Jumpgate) -> String {
    login(jg, "admin", "s3cret", "admin")
}

/// A new project; its id.
fn project(jg: &Jumpgate, admin: &str, name: &str) -> String {
    let r = call(
        jg,
        "POST",
        "/v3/projects",
        admin,
        Some(json!({"project": {"name": name}})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["project"]["id"].as_str().unwrap().to_string()
}

/// A token for a new user `name` with `role` on project `project` (`pid`).
fn user(jg: &Jumpgate, admin: &str, project: &str, pid: &str, name: &str, role: &str) -> String {
    let r = call(
        jg,
        "POST",
        "/v3/users",
        admin,
        Some(json!({"user": {"name": name, "password": "pw"}})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let uid = r.json()["user"]["id"].as_str().unwrap().to_string();
    let roles = call(
        jg,
        "GET",
        &format!("/v3/roles?name={role}"),
        admin,
        None,
        &[],
    )
    .json();
    let rid = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let r = call(
        jg,
        "PUT",
        &format!("/v3/projects/{pid}/users/{uid}/roles/{rid}"),
        admin,
        None,
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text());
    login(jg, name, "pw", project)
}

// ---------------------------------------------------------------- 1. a reader and images

/// A request a reader makes: method, path, body, extra headers, and the policy refusing it.
type Refused<'a> = (
    &'a str,
    String,
    Option<Value>,
    &'a [(&'a str, &'a str)],
    &'a str,
);

#[test]
fn a_reader_reads_images_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let jg = start(dir.path());
    let admin = admin(&jg);
    let a = project(&jg, &admin, "a");
    let member = user(&jg, &admin, "a", &a, "a-member", "member");
    let reader = user(&jg, &admin, "a", &a, "a-reader", "reader");
    let b = project(&jg, &admin, "b");
    let outsider = user(&jg, &admin, "b", &b, "b-member", "member");

    let r = call(
        &jg,
        "POST",
        "/image/v2/images",
        &member,
        Some(json!({"name": "private", "disk_format": "raw", "container_format": "bare"})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let queued = r.json()["id"].as_str().unwrap().to_string();
    let r = call(
        &jg,
        "POST",
        "/image/v2/images",
        &member,
        Some(
            json!({"name": "shared", "disk_format": "raw", "container_format": "bare", "visibility": "shared"}),
        ),
        &[],
    );
    let shared = r.json()["id"].as_str().unwrap().to_string();
    let put_file = |token: &str, id: &str| {
        jg.request(
            "PUT",
            &format!("/image/v2/images/{id}/{}", "file"),
            &[
                ("X-Auth-Token", token),
                ("Content-Type", "application/octet-stream"),
            ],
            Some(b"bytes"),
        )
    };
    assert_eq!(put_file(&member, &shared).status, 204);
    let r = call(
        &jg,
        "POST",
        &format!("/image/v2/images/{shared}/members"),
        &member,
        Some(json!({"member": b})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // The reader sees the project's images…
    let r = call(
        &jg,
        "GET",
        &format!("/image/v2/images/{queued}"),
        &reader,
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call(&jg, "GET", "/image/v2/images", &reader, None, &[]);
    assert_eq!(r.json()["images"].as_array().unwrap().len(), 2);
    let r = call(
        &jg,
        "GET",
        &format!("/image/v2/images/{shared}/members"),
        &reader,
        None,
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // …and every change is Glance's 403 naming the policy (glance/policies/image.py:
    // ADMIN_OR_PROJECT_MEMBER; stage, import and tags ask modify_image).
    let patch = json!([{"op": "replace", "path": "/name", "value": "mine"}]);
    let patch_type = [(
        "Content-Type",
        "application/openstack-images-v2.1-json-patch",
    )];
    let refused: Vec<Refused> = vec![
        (
            "PATCH",
            format!("/image/v2/images/{queued}"),
            Some(patch.clone()),
            &patch_type,
            "modify_image",
        ),
        (
            "PUT",
            format!("/image/v2/images/{queued}/tags/x"),
            None,
            &[],
            "modify_image",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{queued}/tags/x"),
            None,
            &[],
            "modify_image",
        ),
        (
            "POST",
            format!("/image/v2/images/{queued}/import"),
            Some(json!({"method": {"name": "glance-direct"}})),
            &[],
            "modify_image",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{queued}"),
            None,
            &[],
            "delete_image",
        ),
        (
            "POST",
            format!("/image/v2/images/{shared}/actions/deactivate"),
            None,
            &[],
            "deactivate",
        ),
        (
            "POST",
            format!("/image/v2/images/{shared}/members"),
            Some(json!({"member": "someone"})),
            &[],
            "add_member",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{shared}/members/{b}"),
            None,
            &[],
            "delete_member",
        ),
        (
            "GET",
            format!("/image/v2/images/{shared}/file"),
            None,
            &[],
            "download_image",
        ),
        (
            "POST",
            "/image/v2/images".to_string(),
            Some(json!({"name": "new"})),
            &[],
            "add_image",
        ),
    ];
    for (method, path, body, headers, rule) in &refused {
        let r = call(&jg, method, path, &reader, body.clone(), headers);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        assert!(
            r.text().contains(&format!(
                "You are not authorized to complete {rule} action."
            )),
            "{method} {path}: {}",
            r.text()
        );
    }
    for (path, rule) in [("file", "upload_image"), ("stage", "modify_image")] {
        let r = jg.request(
            "PUT",
            &format!("/image/v2/images/{queued}/{path}"),
            &[
                ("X-Auth-Token", &reader),
                ("Content-Type", "application/octet-stream"),
            ],
            Some(b"bytes"),
        );
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert!(r.text().contains(rule), "{}", r.text());
    }
    let r = call(
        &jg,
        "GET",
        &format!("/image/v2/images/{queued}"),
        &reader,
        None,
        &[],
    );
    let image = r.json();
    assert_eq!(image["name"], "private");
    assert_eq!(image["status"], "queued");
    assert_eq!(image["tags"], json!([]));
    let r = call(
        &jg,
        "GET",
        &format!("/image/v2/images/{shared}"),
        &reader,
        None,
        &[],
    );
    assert_eq!(r.json()["status"], "active");

    // Another project's member does not see the private image at all: 404, not 403.
    let r = call(
        &jg,
        "PATCH",
        &format!("/image/v2/images/{queued}"),
        &outsider,
        Some(patch.clone()),
        &patch_type,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        call(
            &jg,
            "DELETE",
            &format!("/image/v2/images/{queued}"),
            &outsider,
            None,
            &[]
        )
        .status,
        404
    );

    // The member may do what the reader may not.
    let r = call(
        &jg,
        "PATCH",
        &format!("/image/v2/images/{queued}"),
        &member,
        Some(patch),
        &patch_type,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "mine");
    let r = call(
        &jg,
        "GET",
        &format!("/image/v2/images/{shared}/file"),
        &member,
        None,
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"bytes");
    assert_eq!(
        call(
            &jg,
            "DELETE",
            &format!("/image/v2/images/{queued}"),
            &member,
            None,
            &[]
        )
        .status,
        204
    );
}

// ---------------------------------------------------------------- 2. server groups

#[test]
fn another_projects_server_group_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let jg = start(dir.path());
    let admin = admin(&jg);
    let a = project(&jg, &admin, "a");
    let a_member = user(&jg, &admin, "a", &a, "a-member", "member");
    let a_reader = user(&jg, &admin, "a", &a, "a-reader", "reader");
    let b = project(&jg, &admin, "b");
    let b_member = user(&jg, &admin, "b", &b, "b-member", "member");
    let nova = [("OpenStack-API-Version", "compute 2.64")];

    // A public image anyone may boot.
    let r = call(
        &jg,
        "POST",
        "/image/v2/images",
        &admin,
        Some(
            json!({"name": "img", "disk_format": "raw", "container_format": "bare", "visibility": "public"}),
        ),
        &[],
    );
    let image = r.json()["id"].as_str().unwrap().to_string();
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{image}/file"),
        &[
            ("X-Auth-Token", &admin),
            ("Content-Type", "application/octet-stream"),
        ],
        Some(&[7u8; 4096]),
    );
    assert_eq!(r.status, 204, "{}", r.text());

    let r = call(
        &jg,
        "POST",
        "/compute/v2.1/os-server-groups",
        &a_member,
        Some(json!({"server_group": {"name": "g", "policy": "anti-affinity"}})),
        &nova,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let group = r.json()["server_group"]["id"].as_str().unwrap().to_string();
    let path = format!("/compute/v2.1/os-server-groups/{group}");

    // B cannot name A's group in a boot: Nova's get_by_uuid does not find it for B's
    // context, and server create answers InstanceGroupNotFound as a 400.
    let boot = |token: &str, name: &str| {
        call(
            &jg,
            "POST",
            "/compute/v2.1/servers",
            token,
            Some(json!({
                "server": {"name": name, "imageRef": image, "flavorRef": "42", "networks": "none"},
                "os:scheduler_hints": {"group": group},
            })),
            &nova,
        )
    };
    let r = boot(&b_member, "intruder");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["badRequest"]["message"],
        format!("Instance group {group} could not be found.")
    );
    let r = call(&jg, "GET", "/compute/v2.1/servers", &b_member, None, &nova);
    assert_eq!(r.json()["servers"], json!([]), "no server was made");

    // Nor see or delete it: 404, as Nova's show and delete.
    for method in ["GET", "DELETE"] {
        let r = call(&jg, method, &path, &b_member, None, &nova);
        assert_eq!(r.status, 404, "{method}: {}", r.text());
        assert_eq!(
            r.json()["itemNotFound"]["message"],
            format!("Instance group {group} could not be found.")
        );
    }

    // A's reader sees it but may not delete it; A's member boots into it.
    assert_eq!(call(&jg, "GET", &path, &a_reader, None, &nova).status, 200);
    assert_eq!(
        call(&jg, "DELETE", &path, &a_reader, None, &nova).status,
        403
    );
    let r = boot(&a_member, "mine");
    assert_eq!(r.status, 202, "{}", r.text());
    let server = r.json()["server"]["id"].as_str().unwrap().to_string();
    let r = call(&jg, "GET", &path, &a_member, None, &nova);
    assert_eq!(r.json()["server_group"]["members"], json!([server]));
    // An admin sees every project's group.
    assert_eq!(call(&jg, "GET", &path, &admin, None, &nova).status, 200);
}

// ---------------------------------------------------------------- 3. volume sizes

fn wait_volume(jg: &Jumpgate, token: &str, base: &str, id: &str, done: &[&str]) -> Value {
    let start = Instant::now();
    loop {
        let v = call(jg, "GET", &format!("{base}/volumes/{id}"), token, None, &[]).json();
        let status = v["volume"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if done.contains(&status.as_str()) {
            return v["volume"].clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{id} is {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn volume_sizes_past_cinders_limit_are_400_and_accepted_ones_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let jg = start(dir.path());
    let admin = admin(&jg);
    let r = call(&jg, "GET", "/v3/projects?name=admin", &admin, None, &[]);
    let pid = r.json()["projects"][0]["id"].as_str().unwrap().to_string();
    let base = format!("/volume/v3/{pid}");
    let r = call(
        &jg,
        "PUT",
        &format!("{base}/os-quota-sets/{pid}"),
        &admin,
        Some(json!({"quota_set": {"gigabytes": -1, "per_volume_gigabytes": -1}})),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let files = dir.path().join("volumes");
    let file_len = |id: &str| std::fs::metadata(files.join(id)).map(|m| m.len()).ok();

    // Cinder's volume_size schema: 1 to DB_MAX_INT (2^31 - 1), numbers in strings too,
    // checked before anything is counted or written.
    for size in [
        json!(2147483648u64),
        json!(8589934592u64),
        json!(17179869184u64),
        json!(9007199254740993u64),
        json!(i64::MAX),
        json!(u64::MAX),
        json!("2147483648"),
        json!("99999999999999999999999999999999999999999"),
    ] {
        let r = call(
            &jg,
            "POST",
            &format!("{base}/volumes"),
            &admin,
            Some(json!({"volume": {"size": size}})),
            &[],
        );
        assert_eq!(r.status, 400, "{size}: {}", r.text());
        let text = size
            .as_str()
            .map(str::to_string)
            .unwrap_or(size.to_string());
        assert_eq!(
            r.json()["badRequest"]["message"],
            format!(
                "Invalid input for field/attribute size. Value: {text}. {text} is greater than the maximum of 2147483647"
            )
        );
    }
    let r = call(&jg, "GET", &format!("{base}/volumes"), &admin, None, &[]);
    assert_eq!(r.json()["volumes"], json!([]), "nothing was recorded");
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0, "nor written");

    // An accepted size is a file of exactly that size.
    let r = call(
        &jg,
        "POST",
        &format!("{base}/volumes"),
        &admin,
        Some(json!({"volume": {"size": 1}})),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let small = r.json()["volume"]["id"].as_str().unwrap().to_string();
    wait_volume(&jg, &admin, &base, &small, &["available"]);
    assert_eq!(file_len(&small), Some(1 << 30));

    // os-extend's new_size has the same schema.
    let extend = |size: Value| {
        call(
            &jg,
            "POST",
            &format!("{base}/volumes/{small}/action"),
            &admin,
            Some(json!({"os-extend": {"new_size": size}})),
            &[],
        )
    };
    for size in [
        json!(17179869184u64),
        json!(2147483648u64),
        json!("9223372036854775808"),
    ] {
        let r = extend(size.clone());
        assert_eq!(r.status, 400, "{size}: {}", r.text());
        assert!(
            r.text()
                .contains("is greater than the maximum of 2147483647"),
            "{}",
            r.text()
        );
    }
    let v = wait_volume(&jg, &admin, &base, &small, &["available"]);
    assert_eq!(v["size"], 1);
    assert_eq!(file_len(&small), Some(1 << 30));

    // 16 TiB is past what ext4 holds in one file. Where the file system cannot hold it, the
    // volume is Cinder's unschedulable one (202, then `error` with no bytes, and a message);
    // where it can (xfs, btrfs), it is a sparse file of exactly that size.
    let big: u64 = 16384;
    let r = call(
        &jg,
        "POST",
        &format!("{base}/volumes"),
        &admin,
        Some(json!({"volume": {"size": big}})),
        &[],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let v = wait_volume(&jg, &admin, &base, &id, &["available", "error"]);
    assert_eq!(v["size"], big);
    if v["status"] == "error" {
        assert_eq!(file_len(&id), None);
        let r = call(
            &jg,
            "GET",
            &format!("{base}/messages"),
            &admin,
            None,
            &[("OpenStack-API-Version", "volume 3.3")],
        );
        assert!(
            r.json()["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["resource_uuid"] == id.as_str()),
            "{}",
            r.text()
        );
    } else {
        assert_eq!(file_len(&id), Some(big << 30));
    }
    assert_eq!(
        call(
            &jg,
            "DELETE",
            &format!("{base}/volumes/{id}"),
            &admin,
            None,
            &[]
        )
        .status,
        202
    );

    // Extending past what the file system holds: accepted, and the volume keeps its size
    // and file (Cinder's scheduler finds no room, rolls the quota back and says so), or
    // grows to exactly the new size.
    let r = extend(json!(big));
    assert_eq!(r.status, 202, "{}", r.text());
    let v = wait_volume(&jg, &admin, &base, &small, &["available"]);
    let size = v["size"].as_u64().unwrap();
    assert!(size == 1 || size == big, "{v}");
    assert_eq!(file_len(&small), Some(size << 30));
    if size == 1 {
        let r = call(
            &jg,
            "GET",
            &format!("{base}/messages"),
            &admin,
            None,
            &[("OpenStack-API-Version", "volume 3.3")],
        );
        assert!(
            r.json()["messages"].as_array().unwrap().iter().any(|m| {
                m["resource_uuid"] == small.as_str()
                    && m["user_message"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("extend volume:")
            }),
            "{}",
            r.text()
        );
        let r = call(&jg, "GET", &format!("{base}/limits"), &admin, None, &[]);
        assert_eq!(
            r.json()["limits"]["absolute"]["totalGigabytesUsed"],
            1,
            "{}",
            r.text()
        );
    }
}

// ---------------------------------------------------------------- 4. dot segments

/// A raw `GET path` over a socket, so that nothing resolves its dot segments first.
fn raw_get(jg: &Jumpgate, path: &str, token: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", jg.port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

#[test]
fn dot_segments_are_the_services_404() {
    let dir = tempfile::tempdir().unwrap();
    let jg = start(dir.path());
    let admin = admin(&jg);
    for path in [
        "/compute/v2.1/servers/../../../etc/passwd",
        // Each of these used to match with `..` or `.` taken for an id: a 200 list of
        // servers or volumes, or a 501 for an endpoint no driver answers.
        "/compute/v2.1/../servers/detail",
        "/compute/v2.1/./servers",
        "/compute/v2.1/%2e%2e/servers",
        "/volume/v3/../volumes/detail",
        "/v3/projects/../users",
        "/v3/users/..",
        "/image/v2/images/..",
        "/network/v2.0/networks/../../../etc/passwd",
        "/network/v2.0/networks/..",
    ] {
        let (status, body) = raw_get(&jg, path, &admin);
        assert_eq!(status, 404, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let message = v["itemNotFound"]["message"]
            .as_str()
            .or(v["error"]["message"].as_str())
            .or(v["NeutronError"]["message"].as_str())
            .map(str::to_string)
            .unwrap_or(body.clone());
        assert!(
            message.contains("could not be found") || body.contains("404 Not Found"),
            "{path}: {body}"
        );
    }
    // The same paths resolved, as clients send them, are the real endpoints.
    let (status, _) = raw_get(&jg, "/compute/v2.1/servers/detail", &admin);
    assert_eq!(status, 200);
}
