//! Issue 15's findings, each as an attacker inside the cloud would try it over HTTP: a
//! reader changing images, a project joining another's server group, volume sizes past what
//! the store can hold, and dot segments in a raw path.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use jumpgate_e2e::{Jumpgate, ACCEPT_JSON};
use serde_json::{json, Value};

const SERVICES: &[&str] = &["identity", "image", "compute", "network", "volume"];

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
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = jg.admin_token();
    let a = jg.create_project(&admin, "a");
    let member = jg.create_user_with_role(&admin, "a", &a, "a-member", "member");
    let reader = jg.create_user_with_role(&admin, "a", &a, "a-reader", "reader");
    let b = jg.create_project(&admin, "b");
    let outsider = jg.create_user_with_role(&admin, "b", &b, "b-member", "member");

    let r = jg.call(
        "POST",
        "/image/v2/images",
        Some(&member),
        Some(&json!({"name": "private", "disk_format": "raw", "container_format": "bare"})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let queued = r.json()["id"].as_str().unwrap().to_string();
    let body = json!({"name": "shared", "disk_format": "raw", "container_format": "bare", "visibility": "shared"});
    let r = jg.call(
        "POST",
        "/image/v2/images",
        Some(&member),
        Some(&body),
        &[ACCEPT_JSON],
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
    let r = jg.call(
        "POST",
        &format!("/image/v2/images/{shared}/members"),
        Some(&member),
        Some(&json!({"member": b})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // The reader sees the project's images…
    let r = jg.call(
        "GET",
        &format!("/image/v2/images/{queued}"),
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = jg.call(
        "GET",
        "/image/v2/images",
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.json()["images"].as_array().unwrap().len(), 2);
    let r = jg.call(
        "GET",
        &format!("/image/v2/images/{shared}/members"),
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // …and every change is Glance's 403 naming the policy (glance/policies/image.py:
    // ADMIN_OR_PROJECT_MEMBER; stage, import and tags ask modify_image).
    let patch = json!([{"op": "replace", "path": "/name", "value": "mine"}]);
    let patch_type = [
        ACCEPT_JSON,
        (
            "Content-Type",
            "application/openstack-images-v2.1-json-patch",
        ),
    ];
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
            &[ACCEPT_JSON],
            "modify_image",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{queued}/tags/x"),
            None,
            &[ACCEPT_JSON],
            "modify_image",
        ),
        (
            "POST",
            format!("/image/v2/images/{queued}/import"),
            Some(json!({"method": {"name": "glance-direct"}})),
            &[ACCEPT_JSON],
            "modify_image",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{queued}"),
            None,
            &[ACCEPT_JSON],
            "delete_image",
        ),
        (
            "POST",
            format!("/image/v2/images/{shared}/actions/deactivate"),
            None,
            &[ACCEPT_JSON],
            "deactivate",
        ),
        (
            "POST",
            format!("/image/v2/images/{shared}/members"),
            Some(json!({"member": "someone"})),
            &[ACCEPT_JSON],
            "add_member",
        ),
        (
            "DELETE",
            format!("/image/v2/images/{shared}/members/{b}"),
            None,
            &[ACCEPT_JSON],
            "delete_member",
        ),
        (
            "GET",
            format!("/image/v2/images/{shared}/file"),
            None,
            &[ACCEPT_JSON],
            "download_image",
        ),
        (
            "POST",
            "/image/v2/images".to_string(),
            Some(json!({"name": "new"})),
            &[ACCEPT_JSON],
            "add_image",
        ),
    ];
    for (method, path, body, headers, rule) in &refused {
        let r = jg.call(method, path, Some(&reader), body.as_ref(), headers);
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
    let r = jg.call(
        "GET",
        &format!("/image/v2/images/{queued}"),
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    let image = r.json();
    assert_eq!(image["name"], "private");
    assert_eq!(image["status"], "queued");
    assert_eq!(image["tags"], json!([]));
    let r = jg.call(
        "GET",
        &format!("/image/v2/images/{shared}"),
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.json()["status"], "active");

    // Another project's member does not see the private image at all: 404, not 403.
    let r = jg.call(
        "PATCH",
        &format!("/image/v2/images/{queued}"),
        Some(&outsider),
        Some(&patch),
        &patch_type,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        jg.call(
            "DELETE",
            &format!("/image/v2/images/{queued}"),
            Some(&outsider),
            None,
            &[ACCEPT_JSON]
        )
        .status,
        404
    );

    // The member may do what the reader may not.
    let r = jg.call(
        "PATCH",
        &format!("/image/v2/images/{queued}"),
        Some(&member),
        Some(&patch),
        &patch_type,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "mine");
    let r = jg.call(
        "GET",
        &format!("/image/v2/images/{shared}/file"),
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"bytes");
    assert_eq!(
        jg.call(
            "DELETE",
            &format!("/image/v2/images/{queued}"),
            Some(&member),
            None,
            &[ACCEPT_JSON]
        )
        .status,
        204
    );
}

// ---------------------------------------------------------------- 2. server groups

#[test]
fn another_projects_server_group_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = jg.admin_token();
    let a = jg.create_project(&admin, "a");
    let a_member = jg.create_user_with_role(&admin, "a", &a, "a-member", "member");
    let a_reader = jg.create_user_with_role(&admin, "a", &a, "a-reader", "reader");
    let b = jg.create_project(&admin, "b");
    let b_member = jg.create_user_with_role(&admin, "b", &b, "b-member", "member");
    let nova = [ACCEPT_JSON, ("OpenStack-API-Version", "compute 2.64")];

    // A public image anyone may boot.
    let image = jg.upload_image(&admin, "img", Some("public"));

    let r = jg.call(
        "POST",
        "/compute/v2.1/os-server-groups",
        Some(&a_member),
        Some(&json!({"server_group": {"name": "g", "policy": "anti-affinity"}})),
        &nova,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let group = r.json()["server_group"]["id"].as_str().unwrap().to_string();
    let path = format!("/compute/v2.1/os-server-groups/{group}");

    // B cannot name A's group in a boot: Nova's get_by_uuid does not find it for B's
    // context, and server create answers InstanceGroupNotFound as a 400.
    let boot = |token: &str, name: &str| {
        let body = json!({
            "server": {"name": name, "imageRef": image, "flavorRef": "42", "networks": "none"},
            "os:scheduler_hints": {"group": group},
        });
        jg.call(
            "POST",
            "/compute/v2.1/servers",
            Some(token),
            Some(&body),
            &nova,
        )
    };
    let r = boot(&b_member, "intruder");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["badRequest"]["message"],
        format!("Instance group {group} could not be found.")
    );
    let r = jg.call("GET", "/compute/v2.1/servers", Some(&b_member), None, &nova);
    assert_eq!(r.json()["servers"], json!([]), "no server was made");

    // Nor see or delete it: 404, as Nova's show and delete.
    for method in ["GET", "DELETE"] {
        let r = jg.call(method, &path, Some(&b_member), None, &nova);
        assert_eq!(r.status, 404, "{method}: {}", r.text());
        assert_eq!(
            r.json()["itemNotFound"]["message"],
            format!("Instance group {group} could not be found.")
        );
    }

    // A's reader sees it but may not delete it; A's member boots into it.
    assert_eq!(
        jg.call("GET", &path, Some(&a_reader), None, &nova).status,
        200
    );
    assert_eq!(
        jg.call("DELETE", &path, Some(&a_reader), None, &nova)
            .status,
        403
    );
    let r = boot(&a_member, "mine");
    assert_eq!(r.status, 202, "{}", r.text());
    let server = r.json()["server"]["id"].as_str().unwrap().to_string();
    let r = jg.call("GET", &path, Some(&a_member), None, &nova);
    assert_eq!(r.json()["server_group"]["members"], json!([server]));
    // An admin sees every project's group.
    assert_eq!(jg.call("GET", &path, Some(&admin), None, &nova).status, 200);
}

// ---------------------------------------------------------------- 3. volume sizes

fn wait_volume(jg: &Jumpgate, token: &str, base: &str, id: &str, done: &[&str]) -> Value {
    let start = Instant::now();
    loop {
        let v = jg
            .call(
                "GET",
                &format!("{base}/volumes/{id}"),
                Some(token),
                None,
                &[ACCEPT_JSON],
            )
            .json();
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
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = jg.admin_token();
    let r = jg.call(
        "GET",
        "/v3/projects?name=admin",
        Some(&admin),
        None,
        &[ACCEPT_JSON],
    );
    let pid = r.json()["projects"][0]["id"].as_str().unwrap().to_string();
    let base = format!("/volume/v3/{pid}");
    let r = jg.call(
        "PUT",
        &format!("{base}/os-quota-sets/{pid}"),
        Some(&admin),
        Some(&json!({"quota_set": {"gigabytes": -1, "per_volume_gigabytes": -1}})),
        &[ACCEPT_JSON],
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
        let r = jg.call(
            "POST",
            &format!("{base}/volumes"),
            Some(&admin),
            Some(&json!({"volume": {"size": size}})),
            &[ACCEPT_JSON],
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
    let r = jg.call(
        "GET",
        &format!("{base}/volumes"),
        Some(&admin),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.json()["volumes"], json!([]), "nothing was recorded");
    assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0, "nor written");

    // An accepted size is a file of exactly that size.
    let r = jg.call(
        "POST",
        &format!("{base}/volumes"),
        Some(&admin),
        Some(&json!({"volume": {"size": 1}})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let small = r.json()["volume"]["id"].as_str().unwrap().to_string();
    wait_volume(&jg, &admin, &base, &small, &["available"]);
    assert_eq!(file_len(&small), Some(1 << 30));

    // os-extend's new_size has the same schema.
    let extend = |size: Value| {
        jg.call(
            "POST",
            &format!("{base}/volumes/{small}/action"),
            Some(&admin),
            Some(&json!({"os-extend": {"new_size": size}})),
            &[ACCEPT_JSON],
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
    let r = jg.call(
        "POST",
        &format!("{base}/volumes"),
        Some(&admin),
        Some(&json!({"volume": {"size": big}})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["volume"]["id"].as_str().unwrap().to_string();
    let v = wait_volume(&jg, &admin, &base, &id, &["available", "error"]);
    assert_eq!(v["size"], big);
    if v["status"] == "error" {
        assert_eq!(file_len(&id), None);
        let r = jg.call(
            "GET",
            &format!("{base}/messages"),
            Some(&admin),
            None,
            &[ACCEPT_JSON, ("OpenStack-API-Version", "volume 3.3")],
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
        jg.call(
            "DELETE",
            &format!("{base}/volumes/{id}"),
            Some(&admin),
            None,
            &[ACCEPT_JSON]
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
        let r = jg.call(
            "GET",
            &format!("{base}/messages"),
            Some(&admin),
            None,
            &[ACCEPT_JSON, ("OpenStack-API-Version", "volume 3.3")],
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
        let r = jg.call(
            "GET",
            &format!("{base}/limits"),
            Some(&admin),
            None,
            &[ACCEPT_JSON],
        );
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
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = jg.admin_token();
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

// ---------------------------------------------------------------- 5. roles of one's own

/// A role an operator made (not `member`, nor implied by one) changes nothing of its
/// project: every service's default policy for such a change is `role:member` on it (Nova's and
/// Cinder's PROJECT_MEMBER, Glance's and Neutron's ADMIN_OR_PROJECT_MEMBER), nor reads what
/// a reader reads; a member of the same project writes.
#[test]
fn a_role_of_an_operators_own_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = jg.admin_token();
    let r = jg.call(
        "POST",
        "/v3/roles",
        Some(&admin),
        Some(&json!({"role": {"name": "auditor"}})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let pid = jg.create_project(&admin, "audited");
    let auditor = jg.create_user_with_role(&admin, "audited", &pid, "carol", "auditor");
    let member = jg.create_user_with_role(&admin, "audited", &pid, "dave", "member");
    let writes: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/network/v2.0/networks".into(),
            json!({"network": {"name": "n"}}),
        ),
        (
            "POST",
            format!("/volume/v3/{pid}/volumes"),
            json!({"volume": {"size": 1}}),
        ),
        (
            "POST",
            "/compute/v2.1/os-server-groups".into(),
            json!({"server_group": {"name": "g", "policies": ["affinity"]}}),
        ),
        (
            "POST",
            "/image/v2/images".into(),
            json!({"name": "i", "disk_format": "raw", "container_format": "bare"}),
        ),
    ];
    for (method, path, body) in &writes {
        let r = jg.call(method, path, Some(&auditor), Some(body), &[ACCEPT_JSON]);
        assert_eq!(r.status, 403, "{method} {path} as auditor: {}", r.text());
        let r = jg.call(method, path, Some(&member), Some(body), &[ACCEPT_JSON]);
        assert!(
            r.status < 300,
            "{method} {path} as member: {} {}",
            r.status,
            r.text()
        );
    }
    // Nova's reads ask `role:reader` (PROJECT_READER_OR_ADMIN, nova/policies/servers.py),
    // which the role does not imply; Nova's lists without a policy (flavors) and its `@`
    // rules (limits) answer.
    let r = jg.call(
        "GET",
        "/compute/v2.1/servers",
        Some(&auditor),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.text().contains("os_compute_api:servers:index"),
        "{}",
        r.text()
    );
    for path in ["/compute/v2.1/flavors", "/compute/v2.1/limits"] {
        let r = jg.call("GET", path, Some(&auditor), None, &[ACCEPT_JSON]);
        assert_eq!(r.status, 200, "GET {path} as auditor: {}", r.text());
    }
    // Neutron never refuses a list: it filters the items by get_network
    // (ADMIN_OR_PROJECT_READER, or shared, or external). Without a reader role the project's
    // own network is hidden (its show is Neutron's 404); shared and external ones are seen.
    let r = jg.call(
        "POST",
        "/network/v2.0/networks",
        Some(&admin),
        Some(&json!({"network": {"name": "everyones", "shared": true}})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = jg.call(
        "GET",
        "/network/v2.0/networks",
        Some(&auditor),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "GET networks as auditor: {}", r.text());
    let body = r.json();
    let names: Vec<&str> = body["networks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert!(
        names.contains(&"everyones") && !names.contains(&"n"),
        "{names:?}: the shared and external networks, not the project's own"
    );
    let r = jg.call(
        "GET",
        "/network/v2.0/networks",
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    let own = r.json()["networks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "n")
        .cloned()
        .unwrap_or_else(|| panic!("the member sees its network: {}", r.text()));
    let path = format!("/network/v2.0/networks/{}", own["id"].as_str().unwrap());
    let r = jg.call("GET", &path, Some(&auditor), None, &[ACCEPT_JSON]);
    assert_eq!(r.status, 404, "GET {path} as auditor: {}", r.text());
    // Key pairs are the user's, not the project's: Nova's rule is `admin or
    // user_id:%(user_id)s`, whatever the role.
    let r = jg.call(
        "POST",
        "/compute/v2.1/os-keypairs",
        Some(&auditor),
        Some(&json!({"keypair": {"name": "carols"}})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = jg.call(
        "DELETE",
        "/compute/v2.1/os-keypairs/carols",
        Some(&auditor),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 202, "{}", r.text());
}
