//! Identity from the local driver, over HTTP, as Keystone answers: tokens, revocation,
//! faults, policy, v2.0, and tokens shared by hosts that share a secret and a store.

use jumpgate_e2e::{password_auth, Jumpgate, Reply, ADMIN, ADMIN_PASSWORD};
use serde_json::json;

const SERVICES: &[&str] = &["identity"];

/// Hosts given the same secret (and store) accept each other's tokens.
const SECRET: &str = "[DEFAULT]\nsecret_key = test-secret";

fn get(jg: &Jumpgate, path: &str, token: &str) -> Reply {
    jg.request("GET", path, &[("X-Auth-Token", token)], None)
}

#[test]
fn discovery_and_a_project_token_as_keystone_answers_them() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let r = jg.get("/");
    assert_eq!(r.status, 300);
    let versions = &r.json()["versions"]["values"];
    assert_eq!(versions[0]["id"], "v3.14");
    assert_eq!(versions[0]["links"][0]["href"], jg.url("/v3/"));
    assert_eq!(jg.get("/v3").json()["version"]["status"], "stable");

    let r = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth(ADMIN, ADMIN_PASSWORD, Some("admin"))),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.header("x-subject-token").unwrap().to_string();
    let body = r.json();
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["project"]["name"], "admin");
    assert_eq!(t["user"]["domain"]["name"], "Default");
    let roles: Vec<&str> = t["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in ["admin", "manager", "member", "reader"] {
        assert!(roles.contains(&r), "implied roles in the token: {roles:?}");
    }
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    let identity = t["catalog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "identity")
        .unwrap();
    assert_eq!(identity["endpoints"][0]["url"], jg.url("/v3"));

    // Validate and check the subject token with itself.
    let r = jg.request(
        "GET",
        "/v3/auth/tokens",
        &[("X-Auth-Token", &token), ("X-Subject-Token", &token)],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"]["project"]["name"], "admin");
    let r = jg.request(
        "HEAD",
        "/v3/auth/tokens",
        &[("X-Auth-Token", &token), ("X-Subject-Token", "garbage")],
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn failed_logins_all_look_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let wrong = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth("admin", "nope", Some("admin"))),
        &[],
    );
    let unknown = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth("nobody", "nope", Some("admin"))),
        &[],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(
        wrong.json()["error"]["message"],
        unknown.json()["error"]["message"]
    );
    let r = jg.request("POST", "/v3/auth/tokens", &[], Some(b"{not json"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["title"], "Bad Request");
    let r = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&json!({"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}})),
        &[],
    );
    assert_eq!(r.status, 401);
}

#[test]
fn a_revoked_token_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let admin = jg.admin_token();
    let victim = jg.admin_token();
    assert_eq!(get(&jg, "/v3/auth/catalog", &victim).status, 200);
    let r = jg.request(
        "DELETE",
        "/v3/auth/tokens",
        &[("X-Auth-Token", &admin), ("X-Subject-Token", &victim)],
        None,
    );
    assert_eq!(r.status, 204);
    let r = get(&jg, "/v3/auth/catalog", &victim);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|w| w.starts_with("Keystone uri=")));
    assert_eq!(
        get(&jg, "/v3/auth/catalog", &admin).status,
        200,
        "other tokens stay valid"
    );
}

#[test]
fn crud_conflicts_not_found_and_a_reader_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let admin = jg.admin_token();
    let r = jg.call(
        "POST",
        "/v3/projects",
        Some(&admin),
        Some(&json!({"project": {"name": "demo"}})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let project = r.json()["project"]["id"].as_str().unwrap().to_string();
    let r = jg.call(
        "POST",
        "/v3/projects",
        Some(&admin),
        Some(&json!({"project": {"name": "demo"}})),
        &[],
    );
    assert_eq!(r.status, 409);
    assert_eq!(get(&jg, "/v3/projects/missing", &admin).status, 404);
    let r = jg.call(
        "POST",
        "/v3/projects",
        Some(&admin),
        Some(&json!({"project": {"name": 5}})),
        &[],
    );
    assert_eq!(r.status, 400);

    let r = jg.call(
        "POST",
        "/v3/users",
        Some(&admin),
        Some(&json!({"user": {"name": "rita", "password": "pw"}})),
        &[],
    );
    assert_eq!(r.status, 201);
    let user = r.json()["user"]["id"].as_str().unwrap().to_string();
    let roles = get(&jg, "/v3/roles?name=reader", &admin).json();
    let reader = roles["roles"][0]["id"].as_str().unwrap().to_string();
    let r = jg.request(
        "PUT",
        &format!("/v3/projects/{project}/users/{user}/roles/{reader}"),
        &[("X-Auth-Token", &admin)],
        None,
    );
    assert_eq!(r.status, 204);

    let rita = jg.login("rita", "pw", "demo");
    let r = jg.call(
        "POST",
        "/v3/projects",
        Some(&rita),
        Some(&json!({"project": {"name": "mine"}})),
        &[],
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["title"], "Forbidden");
    assert_eq!(
        get(&jg, &format!("/v3/users/{user}"), &rita).status,
        200,
        "one reads oneself"
    );
    assert_eq!(
        get(&jg, "/v3/users", &rita).status,
        403,
        "but not the others"
    );
    let projects = get(&jg, "/v3/auth/projects", &rita).json();
    assert_eq!(projects["projects"].as_array().unwrap().len(), 1);
}

#[test]
fn a_password_change_revokes_the_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let admin = jg.admin_token();
    let r = jg.call(
        "POST",
        "/v3/users",
        Some(&admin),
        Some(&json!({"user": {"name": "pat", "password": "old"}})),
        &[],
    );
    let user = r.json()["user"]["id"].as_str().unwrap().to_string();
    let r = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth("pat", "old", None)),
        &[],
    );
    assert_eq!(r.status, 201, "an unscoped token: {}", r.text());
    let old = r.header("x-subject-token").unwrap().to_string();
    assert!(r.json()["token"].get("catalog").is_none());
    let r = jg.call(
        "POST",
        &format!("/v3/users/{user}/password"),
        Some(&old),
        Some(&json!({"user": {"password": "new", "original_password": "old"}})),
        &[],
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = jg.request(
        "GET",
        &format!("/v3/users/{user}"),
        &[("X-Auth-Token", &old)],
        None,
    );
    assert_eq!(r.status, 401, "the old token is revoked");
    let r = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth("pat", "new", None)),
        &[],
    );
    assert_eq!(r.status, 201, "a login right after the change works");
}

#[test]
fn an_explicitly_unscoped_token_as_horizon_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let admin = jg.admin_token();
    let body = json!({"user": {"name": "hz", "password": "pw", "default_project_id": admin_project(&jg, &admin)}});
    let r = jg.call("POST", "/v3/users", Some(&admin), Some(&body), &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    let user = r.json()["user"]["id"].as_str().unwrap().to_string();
    let role = get(&jg, "/v3/roles?name=member", &admin).json()["roles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let project = admin_project(&jg, &admin);
    let r = jg.request(
        "PUT",
        &format!("/v3/projects/{project}/users/{user}/roles/{role}"),
        &[("X-Auth-Token", &admin)],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // Without a scope the default project applies ...
    let r = jg.call(
        "POST",
        "/v3/auth/tokens",
        None,
        Some(&password_auth("hz", "pw", None)),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["token"]["project"]["id"], json!(project));
    // ... and "unscoped" (Keystone's auth-password-explicit-unscoped-request) asks for none.
    let mut body = password_auth("hz", "pw", None);
    body["auth"]["scope"] = json!("unscoped");
    let r = jg.call("POST", "/v3/auth/tokens", None, Some(&body), &[]);
    assert_eq!(r.status, 201, "{}", r.text());
    let token = r.json()["token"].clone();
    assert!(token.get("project").is_none(), "{token}");
    assert!(token.get("roles").is_none(), "{token}");
    // Horizon then lists the projects it may rescope to.
    let unscoped = r.header("x-subject-token").unwrap().to_string();
    let r = get(&jg, "/v3/auth/projects", &unscoped);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["projects"][0]["id"], json!(project));
}

fn admin_project(jg: &Jumpgate, admin: &str) -> String {
    get(jg, "/v3/projects?name=admin", admin).json()["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn v2_password_auth_and_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let body = json!({"auth": {"passwordCredentials": {"username": "admin", "password": "s3cret"}, "tenantName": "admin"}});
    let r = jg.call("POST", "/v2.0/tokens", None, Some(&body), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    let access = &r.json()["access"];
    assert_eq!(access["token"]["tenant"]["name"], "admin");
    let token = access["token"]["id"].as_str().unwrap().to_string();
    let catalog = access["serviceCatalog"].as_array().unwrap();
    assert_eq!(catalog[0]["endpoints"][0]["publicURL"], jg.url("/v3"));
    let tenants = get(&jg, "/v2.0/tenants", &token).json();
    assert_eq!(tenants["tenants"][0]["name"], "admin");
}

#[test]
fn hosts_sharing_secret_and_store_accept_each_others_tokens_and_rotation_keeps_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let a = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let b = Jumpgate::start_local(dir.path(), SERVICES, SECRET);
    let token = a.admin_token();
    assert_eq!(get(&b, "/v3/auth/catalog", &token).status, 200);
    // Revoked on one host, refused by the other within its cache's second.
    let r = b.request(
        "DELETE",
        "/v3/auth/tokens",
        &[("X-Auth-Token", &token), ("X-Subject-Token", &token)],
        None,
    );
    assert_eq!(r.status, 204);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(get(&a, "/v3/auth/catalog", &token).status, 401);
    drop((a, b));

    let token = Jumpgate::start_local(dir.path(), SERVICES, SECRET).admin_token();
    let new_key = Jumpgate::start_local(
        dir.path(),
        SERVICES,
        "[DEFAULT]\nsecret_key = next-secret\n[identity]\nprevious_secret_keys = test-secret",
    );
    assert_eq!(
        get(&new_key, "/v3/auth/catalog", &token).status,
        200,
        "previous_secret_keys still validate"
    );
    let other = Jumpgate::start_local(dir.path(), SERVICES, "[DEFAULT]\nsecret_key = unrelated");
    assert_eq!(get(&other, "/v3/auth/catalog", &token).status, 401);
}
