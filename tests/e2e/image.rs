//! Image data from the local driver, over HTTP: what happens to an upload that is cut,
//! repeated, too large or mislabelled, and that downloads carry their checksum.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use jumpgate_e2e::{Jumpgate, ACCEPT_JSON};
use serde_json::{json, Value};

const SERVICES: &[&str] = &["identity", "image"];

/// The `[image]` section capping uploads at `bytes`, for [`Jumpgate::start_local`].
fn size_cap(bytes: u64) -> String {
    format!("[image]\nimage_size_cap = {bytes}")
}

/// A queued image (no data yet); its id.
fn create(jg: &Jumpgate, token: &str) -> String {
    let body = json!({"name": "img", "disk_format": "raw", "container_format": "bare"});
    let r = jg.call("POST", "/image/v2/images", Some(token), Some(&body), &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

fn show(jg: &Jumpgate, token: &str, id: &str) -> Value {
    jg.request(
        "GET",
        &format!("/image/v2/images/{id}"),
        &[("X-Auth-Token", token)],
        None,
    )
    .json()
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_cut_upload_leaves_the_image_queued_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 30));
    let t = jg.admin_token();
    let id = create(&jg, &t);
    // Promise 10 MB, send 1 MB, hang up.
    let mut s = TcpStream::connect(("127.0.0.1", jg.port)).unwrap();
    write!(s, "PUT /image/v2/images/{id}/file HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {t}\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n").unwrap();
    s.write_all(&vec![7u8; 1_000_000]).unwrap();
    drop(s);
    // The cut request is over once its access line is written.
    assert!(
        jg.wait_log(
            &format!("method=PUT path=/image/v2/images/{id}/file"),
            Duration::from_secs(10)
        ),
        "{}",
        jg.log()
    );
    let status = show(&jg, &t, &id)["status"].as_str().unwrap().to_string();
    assert_eq!(status, "queued");
    assert_eq!(
        files_in(&dir.path().join("images")),
        Vec::<String>::new(),
        "no partial file"
    );

    // The client can try again, once.
    let data = vec![1u8; 300_000];
    let headers = [
        ("X-Auth-Token", t.as_str()),
        ("Content-Type", "application/octet-stream"),
    ];
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &headers,
        Some(&data),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &headers,
        Some(&data),
    );
    // Glance's fault body is negotiated as webob does: HTML unless JSON is preferred
    // (python-glanceclient sends `Accept: */*` and reads the HTML page).
    assert_eq!(r.status, 409);
    assert_eq!(r.header("content-type"), Some("text/html; charset=UTF-8"));
    assert!(r.text().contains("<h1>409 Conflict</h1>"), "{}", r.text());
    let json_headers = [headers[0], headers[1], ("Accept", "application/json")];
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &json_headers,
        Some(&data),
    );
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["title"], "Conflict", "Glance's JSON fault body");
    let r = jg.request(
        "GET",
        &format!("/image/v2/images/{id}/file"),
        &[("X-Auth-Token", &t)],
        None,
    );
    assert_eq!(r.body, data);
    assert_eq!(
        r.header("content-md5"),
        show(&jg, &t, &id)["checksum"].as_str()
    );
}

#[test]
fn uploads_over_the_cap_or_not_octet_stream_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1000));
    let t = jg.admin_token();
    let id = create(&jg, &t);
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &[("X-Auth-Token", &t), ("Content-Type", "text/plain")],
        Some(b"x"),
    );
    assert_eq!(r.status, 415);
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &[
            ("X-Auth-Token", &t),
            ("Content-Type", "application/octet-stream"),
        ],
        Some(&[0u8; 2000]),
    );
    assert_eq!(r.status, 413);
    assert_eq!(show(&jg, &t, &id)["status"], "queued");
    assert!(files_in(&dir.path().join("images")).is_empty());
    // Queued images have no data to give.
    let r = jg.request(
        "GET",
        &format!("/image/v2/images/{id}/file"),
        &[("X-Auth-Token", &t)],
        None,
    );
    assert_eq!(r.status, 204);
}

#[test]
fn reserved_attributes_and_unknown_images() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 20));
    let t = jg.admin_token();
    let body = json!({"name": "x", "status": "active"});
    let r = jg.request(
        "POST",
        "/image/v2/images",
        &[("X-Auth-Token", &t)],
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 403);
    let r = jg.request(
        "GET",
        "/image/v2/images/3f0c5b3e-0000-4000-8000-000000000000",
        &[("X-Auth-Token", &t)],
        None,
    );
    assert_eq!(r.status, 404);
    let id = create(&jg, &t);
    let patch = json!([{"op": "replace", "path": "/size", "value": 5}]);
    let r = jg.request(
        "PATCH",
        &format!("/image/v2/images/{id}"),
        &[
            ("X-Auth-Token", &t),
            (
                "Content-Type",
                "application/openstack-images-v2.1-json-patch",
            ),
        ],
        Some(patch.to_string().as_bytes()),
    );
    assert_eq!(r.status, 403);
    // Glance's own namespace is refused on create and on update, as Glance does.
    for key in ["os_glance_import_task", "os_glance_x", "os_glance"] {
        let body = json!({"name": "x", key: "v"});
        let r = jg.request(
            "POST",
            "/image/v2/images",
            &[("X-Auth-Token", &t)],
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 403, "create with {key}: {}", r.text());
        assert!(r.text().contains("is reserved"), "{}", r.text());
        let patch = json!([{"op": "add", "path": format!("/{key}"), "value": "v"}]);
        let r = jg.request(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            &[
                ("X-Auth-Token", &t),
                (
                    "Content-Type",
                    "application/openstack-images-v2.1-json-patch",
                ),
            ],
            Some(patch.to_string().as_bytes()),
        );
        assert_eq!(r.status, 403, "patch with {key}: {}", r.text());
    }
    let r = jg.request(
        "PATCH",
        &format!("/image/v2/images/{id}"),
        &[("X-Auth-Token", &t), ("Content-Type", "application/json")],
        Some(b"[]"),
    );
    assert_eq!(r.status, 415);
}

#[test]
fn v1_clients_read_images_and_their_headers() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 20));
    let t = jg.admin_token();
    let id = create(&jg, &t);
    let headers = [
        ("X-Auth-Token", t.as_str()),
        ("Content-Type", "application/octet-stream"),
    ];
    jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &headers,
        Some(b"v1 bytes"),
    );
    let r = jg.request(
        "HEAD",
        &format!("/image/v1/images/{id}"),
        &[("X-Auth-Token", &t)],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-image-meta-status"), Some("active"));
    assert_eq!(r.header("x-image-meta-size"), Some("8"));
    assert_eq!(r.header("x-image-meta-is_public"), Some("false"));
    let r = jg.request(
        "GET",
        &format!("/image/v1/images/{id}"),
        &[("X-Auth-Token", &t)],
        None,
    );
    assert_eq!(r.body, b"v1 bytes");
    let list = jg
        .request(
            "GET",
            "/image/v1/images/detail",
            &[("X-Auth-Token", &t)],
            None,
        )
        .json();
    assert_eq!(list["images"][0]["id"], id.as_str());
    assert_eq!(list["images"][0]["is_public"], false);
}

#[test]
fn list_filters_by_time_and_pages_with_next() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 20));
    let t = jg.admin_token();
    let ids: Vec<String> = (0..3).map(|_| create(&jg, &t)).collect();
    let list = |q: &str| {
        jg.request(
            "GET",
            &format!("/image/v2/images{q}"),
            &[("X-Auth-Token", &t)],
            None,
        )
    };
    assert_eq!(
        list("?created_at=lt:2000-01-01T00:00:00Z").json()["images"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        list("?created_at=gte:2000-01-01T00:00:00Z").json()["images"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(list("?created_at=soon").status, 400);
    let page = list("?limit=2&sort_key=id&sort_dir=asc").json();
    let first: Vec<&str> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        first,
        sorted[..2].iter().map(String::as_str).collect::<Vec<_>>()
    );
    let next = page["next"].as_str().unwrap().to_string();
    let rest = list(next.strip_prefix("/v2/images").unwrap()).json();
    assert_eq!(rest["images"][0]["id"], sorted[2].as_str());
    assert!(rest.get("next").is_none());
}

#[test]
fn schema_refusals_and_list_limits_as_glance_words_them() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 20));
    let t = jg.admin_token();
    let json_headers = [
        ("X-Auth-Token", t.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    // The schema as Glance serves it: nullable types list "null" first, formats start with
    // None; python-glanceclient quotes this enum in its TypeError.
    let schema = jg
        .request("GET", "/image/v2/schemas/image", &json_headers, None)
        .json();
    let disk = &schema["properties"]["disk_format"];
    assert_eq!(disk["type"], json!(["null", "string"]));
    assert_eq!(disk["enum"][0], Value::Null);
    assert_eq!(disk["enum"][1], "ami");
    assert_eq!(
        schema["properties"]["visibility"]["enum"],
        json!(["community", "public", "private", "shared"])
    );
    // A value outside an enum: jsonschema's message under Glance's InvalidObject.
    let body = json!({"name": "x", "disk_format": "bogus"});
    let r = jg.request(
        "POST",
        "/image/v2/images",
        &json_headers,
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains(
            "Provided object does not match schema 'image': 'bogus' is not one of [None, 'ami', "
        ),
        "{}",
        r.text()
    );
    // On an active image the schema is checked before the state (400, not 403).
    let id = create(&jg, &t);
    let r = jg.request(
        "PUT",
        &format!("/image/v2/images/{id}/file"),
        &[
            ("X-Auth-Token", &t),
            ("Content-Type", "application/octet-stream"),
        ],
        Some(b"data"),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let patch = |value: &str| {
        let body = json!([{"op": "replace", "path": "/disk_format", "value": value}]);
        jg.request(
            "PATCH",
            &format!("/image/v2/images/{id}"),
            &[
                ("X-Auth-Token", &t),
                (
                    "Content-Type",
                    "application/openstack-images-v2.1-json-patch",
                ),
                ("Accept", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        )
    };
    let r = patch("bogus");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("schema['properties']['disk_format']"));
    assert_eq!(patch("qcow2").status, 403);
    // `_validate_limit`.
    for (q, message) in [
        ("?limit=-1", "limit param must be positive"),
        ("?limit=x", "limit param must be an integer"),
    ] {
        let r = jg.request("GET", &format!("/image/v2/images{q}"), &json_headers, None);
        assert_eq!(r.status, 400);
        assert!(r.text().contains(message), "{q}: {}", r.text());
    }
}

#[test]
fn metadefs_as_horizon_and_an_admin_use_them() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, &size_cap(1 << 30));
    let admin = jg.admin_token();
    let demo = jg.create_project(&admin, "demo");
    let member = jg.create_user_with_role(&admin, "demo", &demo, "demo-user", "member");
    let other = jg.create_project(&admin, "other");
    let reader = jg.create_user_with_role(&admin, "other", &other, "other-user", "reader");

    // Horizon's Create Image: the namespaces for images, the seeded one among them.
    let r = jg.call(
        "GET",
        "/image/v2/metadefs/namespaces?resource_types=OS::Glance::Image",
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let list = r.json();
    let names: Vec<&str> = list["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["namespace"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"OS::Glance::CommonImageProperties"),
        "{list}"
    );
    assert_eq!(list["schema"], "/v2/schemas/metadefs/namespaces");
    // The schema python-glanceclient checks each namespace against: `properties` is a map
    // of property definitions, each an object with a title and a type, as in Glance.
    let r = jg.call(
        "GET",
        "/image/v2/schemas/metadefs/namespace",
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let schema = r.json();
    assert_eq!(
        schema["properties"]["properties"],
        json!({"$ref": "#/definitions/property"})
    );
    let definition = &schema["definitions"]["property"]["additionalProperties"];
    assert_eq!(definition["type"], "object");
    assert_eq!(definition["required"], json!(["title", "type"]));
    assert_eq!(definition["properties"]["enum"], json!({"type": "array"}));
    assert_eq!(schema["required"], json!(["namespace"]));
    let r = jg.call(
        "GET",
        "/image/v2/schemas/metadefs/objects",
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    let objects = r.json();
    assert_eq!(
        objects["properties"]["objects"]["items"]["properties"]["properties"],
        json!({"$ref": "#/definitions/property"})
    );
    assert!(objects["definitions"]["property"].is_object(), "{objects}");
    let r = jg.call(
        "GET",
        "/image/v2/metadefs/namespaces?resource_types=OS::Nova::Aggregate",
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.json()["namespaces"], json!([]));
    let r = jg.call(
        "GET",
        "/image/v2/metadefs/resource_types",
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200);
    assert!(r.json()["resource_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "OS::Cinder::Volume"));

    let r = jg.call(
        "GET",
        "/image/v2/metadefs/namespaces/OS::Glance::CommonImageProperties",
        Some(&reader),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let ns = r.json();
    assert_eq!(ns["visibility"], "public");
    assert_eq!(ns["protected"], true);
    assert_eq!(ns["properties"]["os_distro"]["type"], "string");
    assert!(ns["resource_type_associations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "OS::Glance::Image"));

    // An admin makes a private namespace of the admin project, with contents.
    let body = json!({"namespace": "Test::Private", "display_name": "Private", "visibility": "private",
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "test_"}]});
    let r = jg.call(
        "POST",
        "/image/v2/metadefs/namespaces",
        Some(&member),
        Some(&body),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = jg.call(
        "POST",
        "/image/v2/metadefs/namespaces",
        Some(&admin),
        Some(&body),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        jg.call(
            "POST",
            "/image/v2/metadefs/namespaces",
            Some(&admin),
            Some(&body),
            &[ACCEPT_JSON]
        )
        .status,
        409
    );
    let base = "/image/v2/metadefs/namespaces/Test::Private";
    let r = jg.call(
        "POST",
        &format!("{base}/properties"),
        Some(&admin),
        Some(&json!({"name": "speed", "title": "Speed", "type": "integer", "minimum": 1})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["name"], "speed");
    let r = jg.call(
        "POST",
        &format!("{base}/properties"),
        Some(&admin),
        Some(&json!({"name": "x", "type": "string"})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 400, "title is required");
    let r = jg.call("POST", &format!("{base}/objects"), Some(&admin), Some(&json!({"name": "Engine", "required": ["power"], "properties": {"power": {"title": "Power", "type": "number"}}})), &[ACCEPT_JSON]);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["self"],
        "/v2/metadefs/namespaces/Test::Private/objects/Engine"
    );
    let r = jg.call(
        "POST",
        &format!("{base}/tags/fast"),
        Some(&admin),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = jg.call(
        "PUT",
        &format!("{base}/tags/fast"),
        Some(&admin),
        Some(&json!({"name": "faster"})),
        &[ACCEPT_JSON],
    );
    assert_eq!(r.json()["name"], "faster");

    // Shown with the resource type's prefix; the property by its prefixed name.
    let r = jg.call(
        "GET",
        &format!("{base}?resource_type=OS::Glance::Image"),
        Some(&admin),
        None,
        &[ACCEPT_JSON],
    );
    let ns = r.json();
    assert_eq!(ns["properties"]["test_speed"]["minimum"], 1, "{ns}");
    assert_eq!(ns["objects"][0]["required"], json!(["test_power"]));
    assert_eq!(ns["tags"][0]["name"], "faster");
    let r = jg.call(
        "GET",
        &format!("{base}/properties/test_speed?resource_type=OS::Glance::Image"),
        Some(&admin),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "speed");

    // Others neither see it nor change it.
    for t in [&member, &reader] {
        assert_eq!(
            jg.call("GET", base, Some(t), None, &[ACCEPT_JSON]).status,
            404
        );
        assert_eq!(
            jg.call(
                "GET",
                &format!("{base}/objects/Engine"),
                Some(t),
                None,
                &[ACCEPT_JSON]
            )
            .status,
            404
        );
        // delete_metadef_namespace is metadef_admin (glance/policies/metadef.py), asked by
        // the policy table before the namespace is looked up: 403, where Glance, looking
        // first, answers a namespace the caller cannot see with 404.
        assert_eq!(
            jg.call("DELETE", base, Some(t), None, &[ACCEPT_JSON])
                .status,
            403
        );
        let listed = jg
            .call(
                "GET",
                "/image/v2/metadefs/namespaces",
                Some(t),
                None,
                &[ACCEPT_JSON],
            )
            .json();
        assert!(!listed.to_string().contains("Test::Private"));
    }
    let seeded = "/image/v2/metadefs/namespaces/OS::Glance::CommonImageProperties";
    let r = jg.call(
        "POST",
        &format!("{seeded}/tags/mine"),
        Some(&member),
        None,
        &[ACCEPT_JSON],
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        jg.call("DELETE", seeded, Some(&admin), None, &[ACCEPT_JSON])
            .status,
        403,
        "protected"
    );

    // Deleting the namespace takes its contents.
    assert_eq!(
        jg.call(
            "DELETE",
            &format!("{base}/objects/Engine"),
            Some(&admin),
            None,
            &[ACCEPT_JSON]
        )
        .status,
        204
    );
    assert_eq!(
        jg.call(
            "GET",
            &format!("{base}/objects/Engine"),
            Some(&admin),
            None,
            &[ACCEPT_JSON]
        )
        .status,
        404
    );
    assert_eq!(
        jg.call("DELETE", base, Some(&admin), None, &[ACCEPT_JSON])
            .status,
        204
    );
    assert_eq!(
        jg.call("GET", base, Some(&admin), None, &[ACCEPT_JSON])
            .status,
        404
    );
    assert_eq!(
        jg.call(
            "GET",
            &format!("{base}/tags"),
            Some(&admin),
            None,
            &[ACCEPT_JSON]
        )
        .status,
        404
    );
}
