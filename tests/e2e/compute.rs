//! Compute from the local driver, over HTTP: microversion negotiation, the state machine
//! on its timer, Nova's faults for bad input, quotas, and what another project sees.

use std::time::{Duration, Instant};

use jumpgate_e2e::Jumpgate;
use serde_json::{json, Value};

const SERVICES: &[&str] = &["identity", "image", "compute", "network"];

/// The admin calling Nova at a microversion.
struct Client<'a> {
    jg: &'a Jumpgate,
    token: String,
}

impl Client<'_> {
    fn admin(jg: &Jumpgate) -> Client<'_> {
        Client {
            jg,
            token: jg.admin_token(),
        }
    }

    /// Status, body (`Null` when empty) and the microversion Nova answered with.
    fn call(
        &self,
        method: &str,
        path: &str,
        version: &str,
        body: Option<Value>,
    ) -> (u16, Value, Option<String>) {
        let r = self.jg.call(
            method,
            path,
            Some(&self.token),
            body.as_ref(),
            &[("OpenStack-API-Version", &format!("compute {version}"))],
        );
        (
            r.status,
            r.json_or_null(),
            r.header("openstack-api-version").map(str::to_string),
        )
    }

    fn status(&self, id: &str) -> String {
        let (_, v, _) = self.call("GET", &format!("/compute/v2.1/servers/{id}"), "2.1", None);
        v["server"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn wait(&self, id: &str, status: &str) {
        let start = Instant::now();
        while self.status(id) != status {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{id} never reached {status} (is {})",
                self.status(id)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn microversions_are_negotiated_as_nova_does() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let c = Client::admin(&jg);
    let (status, v, header) = c.call("GET", "/compute/v2.1/flavors", "2.60", None);
    assert_eq!(status, 200, "{v}");
    assert_eq!(header.as_deref(), Some("compute 2.60"));
    let (status, v, _) = c.call("GET", "/compute/v2.1/flavors", "3.0", None);
    assert_eq!(status, 406, "{v}");
    let (status, _, header) = c.call("GET", "/compute/v2.1/flavors", "latest", None);
    assert_eq!(status, 200);
    let doc = jg.get("/compute/v2.1").json();
    assert_eq!(
        header.unwrap(),
        format!("compute {}", doc["version"]["version"].as_str().unwrap())
    );
    assert_eq!(doc["version"]["min_version"], "2.1");
}

#[test]
fn a_server_builds_then_moves_through_its_actions() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let c = Client::admin(&jg);
    let image = jg.upload_image(&c.token, "img", None);
    let (status, v, _) = c.call(
        "POST",
        "/compute/v2.1/servers",
        "2.60",
        Some(json!({"server": {"name": "s1", "imageRef": image, "flavorRef": "42", "networks": "none"}})),
    );
    assert_eq!(status, 202, "{v}");
    let id = v["server"]["id"].as_str().unwrap().to_string();
    assert!(v["server"]["adminPass"].is_string());
    assert_eq!(c.status(&id), "BUILD");
    c.wait(&id, "ACTIVE");
    let action = |body: Value| {
        c.call(
            "POST",
            &format!("/compute/v2.1/servers/{id}/action"),
            "2.60",
            Some(body),
        )
    };
    // An action in the wrong state is a 409 with Nova's message.
    let (status, v, _) = action(json!({"os-start": null}));
    assert_eq!(status, 409, "{v}");
    assert!(v["conflictingRequest"]["message"]
        .as_str()
        .unwrap()
        .contains("vm_state active"));
    assert_eq!(action(json!({"os-stop": null})).0, 202);
    c.wait(&id, "SHUTOFF");
    assert_eq!(action(json!({"os-start": null})).0, 202);
    c.wait(&id, "ACTIVE");
    assert_eq!(action(json!({"resize": {"flavorRef": "84"}})).0, 202);
    c.wait(&id, "VERIFY_RESIZE");
    assert_eq!(action(json!({"confirmResize": null})).0, 204);
    c.wait(&id, "ACTIVE");
    let (_, v, _) = c.call("GET", &format!("/compute/v2.1/servers/{id}"), "2.60", None);
    assert_eq!(v["server"]["flavor"]["original_name"], "m1.micro");
    // Every request is an instance action.
    let (_, v, _) = c.call(
        "GET",
        &format!("/compute/v2.1/servers/{id}/os-instance-actions"),
        "2.60",
        None,
    );
    let actions: Vec<&str> = v["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["confirmResize", "resize", "start", "stop", "create"]
    );
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/compute/v2.1/servers/{id}"),
            "2.60",
            None
        )
        .0,
        204
    );
    assert_eq!(
        c.call("GET", &format!("/compute/v2.1/servers/{id}"), "2.60", None)
            .0,
        404
    );
}

#[test]
fn bad_input_gets_novas_faults_and_leaves_no_server() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let c = Client::admin(&jg);
    let image = jg.upload_image(&c.token, "img", None);
    let create = |server: Value| {
        c.call(
            "POST",
            "/compute/v2.1/servers",
            "2.1",
            Some(json!({ "server": server })),
        )
    };
    let (status, v, _) = create(json!({"name": "x", "imageRef": image, "flavorRef": "999"}));
    assert_eq!(
        (status, v["badRequest"]["message"].as_str()),
        (400, Some("Flavor 999 could not be found."))
    );
    let missing = "6b8a1b0e-0d7d-4a31-9d2b-9f3b4b7e5f10";
    let (status, _, _) = create(json!({"name": "x", "imageRef": missing, "flavorRef": "42"}));
    assert_eq!(status, 400);
    let (status, _, _) =
        create(json!({"name": "x".repeat(256), "imageRef": image, "flavorRef": "42"}));
    assert_eq!(status, 400);
    let (status, _, _) =
        create(json!({"name": "x", "imageRef": image, "flavorRef": "42", "bogus": 1}));
    assert_eq!(status, 400);
    let (_, v, _) = c.call("GET", "/compute/v2.1/servers", "2.1", None);
    assert_eq!(v["servers"], json!([]));
    assert_eq!(
        c.call("GET", "/compute/v2.1/servers/not-a-uuid", "2.1", None)
            .0,
        404
    );
    assert_eq!(
        c.call("GET", "/compute/v2.1/servers?limit=-1", "2.1", None)
            .0,
        400
    );
    assert_eq!(
        c.call("GET", "/compute/v2.1/servers?limit=abc", "2.1", None)
            .0,
        400
    );
    // A trailing slash is an empty id, never found (Nova), not the collection.
    assert_eq!(c.call("GET", "/compute/v2.1/servers/", "2.1", None).0, 404);
    // Quota: an admin lowers it, a create beyond it is a 403 with Nova's message.
    let (_, v, _) = c.call("GET", "/compute/v2.1/limits", "2.1", None);
    assert_eq!(v["limits"]["absolute"]["maxTotalInstances"], 10);
    let project = jg
        .request(
            "GET",
            "/v3/auth/projects",
            &[("X-Auth-Token", &c.token)],
            None,
        )
        .json()["projects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _, _) = c.call(
        "PUT",
        &format!("/compute/v2.1/os-quota-sets/{project}"),
        "2.1",
        Some(json!({"quota_set": {"instances": 0}})),
    );
    assert_eq!(status, 200);
    let (status, v, _) = create(json!({"name": "x", "imageRef": image, "flavorRef": "42"}));
    assert_eq!(status, 403, "{v}");
    assert!(v["forbidden"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for instances"));
}

#[test]
fn a_servers_security_groups_answer_past_the_proxy_cap() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let c = Client::admin(&jg);
    let image = jg.upload_image(&c.token, "img", None);
    let (status, v, _) = c.call(
        "POST",
        "/compute/v2.1/servers",
        "2.60",
        Some(json!({"server": {"name": "s", "imageRef": image, "flavorRef": "42", "networks": "none"}})),
    );
    assert_eq!(status, 202, "{v}");
    let id = v["server"]["id"].as_str().unwrap().to_string();
    // A server's groups are no proxy API: Nova answers them at every microversion.
    for version in ["2.1", "2.35", "2.36", "2.60", "latest"] {
        let (status, v, _) = c.call(
            "GET",
            &format!("/compute/v2.1/servers/{id}/os-security-groups"),
            version,
            None,
        );
        assert_eq!(status, 200, "{version}: {v}");
        assert!(v["security_groups"].is_array(), "{version}: {v}");
    }
    // The proxies themselves stop at 2.35.
    for path in [
        "/compute/v2.1/os-security-groups",
        "/compute/v2.1/os-networks",
    ] {
        assert_eq!(c.call("GET", path, "2.35", None).0, 200, "{path}");
        assert_eq!(c.call("GET", path, "2.36", None).0, 404, "{path}");
    }
    let missing = "6b8a1b0e-0d7d-4a31-9d2b-9f3b4b7e5f10";
    let (status, _, _) = c.call(
        "GET",
        &format!("/compute/v2.1/servers/{missing}/os-security-groups"),
        "2.60",
        None,
    );
    assert_eq!(status, 404);
}

#[test]
fn a_boot_without_networks_takes_the_only_one_and_refuses_to_guess() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let c = Client::admin(&jg);
    let image = jg.upload_image(&c.token, "img", None);
    let net = |method: &str, path: &str, body: Option<Value>| {
        let r = jg.call(
            method,
            &format!("/network/v2.0/{path}"),
            Some(&c.token),
            body.as_ref(),
            &[],
        );
        (r.status, r.json_or_null())
    };
    let boot = || {
        c.call(
            "POST",
            "/compute/v2.1/servers",
            "2.1",
            Some(json!({"server": {"name": "s", "imageRef": image, "flavorRef": "42"}})),
        )
    };
    let addresses = |id: &str| {
        let (_, v, _) = c.call("GET", &format!("/compute/v2.1/servers/{id}"), "2.1", None);
        v["server"]["addresses"].clone()
    };
    // The admin project's only network is the external `public` one, which Nova counts.
    let (status, v, _) = boot();
    assert_eq!(status, 202, "{v}");
    let first = v["server"]["id"].as_str().unwrap().to_string();
    assert!(
        addresses(&first)["public"].is_array(),
        "{}",
        addresses(&first)
    );
    // Another of the project's networks makes the choice ambiguous: Nova's 409.
    let (status, v) = net(
        "POST",
        "networks",
        Some(json!({"network": {"name": "private"}})),
    );
    assert_eq!(status, 201, "{v}");
    let private = v["network"]["id"].as_str().unwrap().to_string();
    let (status, v) = net(
        "POST",
        "subnets",
        Some(json!({"subnet": {"network_id": private, "ip_version": 4, "cidr": "10.9.0.0/24"}})),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v, _) = boot();
    assert_eq!(status, 409, "{v}");
    assert_eq!(
        v["conflictingRequest"]["message"],
        "Multiple possible networks found, use a Network ID to be more specific."
    );
    // Naming the network (or `none` from 2.37) is not ambiguous.
    let (status, v, _) = c.call(
        "POST",
        "/compute/v2.1/servers",
        "2.1",
        Some(
            json!({"server": {"name": "s", "imageRef": image, "flavorRef": "42",
            "networks": [{"uuid": private}]}}),
        ),
    );
    assert_eq!(status, 202, "{v}");
    let second = v["server"]["id"].as_str().unwrap().to_string();
    // With no network at all, the server boots without a port.
    for id in [&first, &second] {
        let (status, _, _) = c.call(
            "DELETE",
            &format!("/compute/v2.1/servers/{id}"),
            "2.1",
            None,
        );
        assert_eq!(status, 204);
    }
    let (_, v) = net("GET", "networks", None);
    for n in v["networks"].as_array().unwrap() {
        let id = n["id"].as_str().unwrap();
        let (status, v) = net("DELETE", &format!("networks/{id}"), None);
        assert_eq!(status, 204, "{n}: {v}");
    }
    let (status, v, _) = boot();
    assert_eq!(status, 202, "{v}");
    let third = v["server"]["id"].as_str().unwrap().to_string();
    assert_eq!(addresses(&third), json!({}));
}

/// Nova's default policy (`nova/policies/`, as `plugins/local/policies/compute.policy`
/// writes it) decides by role: a reader reads, a member changes its project's servers, a
/// project manager moves them, the admin does the rest. A role of an operator's own reads
/// nothing of Nova's that asks `role:reader`; another project's quotas are the admin's, and
/// its server is Nova's 404 to anyone else.
#[test]
fn novas_default_policy_decides_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let jg = Jumpgate::start_local(dir.path(), SERVICES, "");
    let admin = Client::admin(&jg);
    let r = jg.call(
        "POST",
        "/v3/roles",
        Some(&admin.token),
        Some(&json!({"role": {"name": "auditor"}})),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let a = jg.create_project(&admin.token, "a");
    let b = jg.create_project(&admin.token, "b");
    let user = |name: &str, project: &str, pid: &str, role: &str| Client {
        jg: &jg,
        token: jg.create_user_with_role(&admin.token, project, pid, name, role),
    };
    let member = user("a-member", "a", &a, "member");
    let reader = user("a-reader", "a", &a, "reader");
    let manager = user("a-manager", "a", &a, "manager");
    let auditor = user("a-auditor", "a", &a, "auditor");
    let outsider = user("b-member", "b", &b, "member");
    let anonymous = Client {
        jg: &jg,
        token: String::new(),
    };
    let image = jg.upload_image(&admin.token, "img", Some("public"));
    let (status, v, _) = member.call(
        "POST",
        "/compute/v2.1/servers",
        "2.60",
        Some(json!({"server": {"name": "s", "imageRef": image, "flavorRef": "42", "networks": "none"}})),
    );
    assert_eq!(status, 202, "{v}");
    let id = v["server"]["id"].as_str().unwrap().to_string();
    member.wait(&id, "ACTIVE");

    let backup = json!({"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}});
    let flavor = json!({"flavor": {"name": "f", "ram": 64, "vcpus": 1, "disk": 1}});
    let soft = json!({"reboot": {"type": "SOFT"}});
    // Who, method, path under /compute/v2.1 (`{id}` the server, `{a}` and `{b}` the
    // projects), microversion, body; the status, and for a 403 the policy Nova names.
    type Case<'a> = (
        &'a Client<'a>,
        &'a str,
        &'a str,
        &'a str,
        Option<Value>,
        u16,
        &'a str,
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        (&reader, "GET", "servers", "2.1", None, 200, ""),
        (&reader, "GET", "servers/{id}", "2.1", None, 200, ""),
        (&reader, "GET", "servers/{id}/os-instance-actions", "2.1", None, 200, ""),
        (&reader, "POST", "servers/{id}/action", "2.1", Some(soft.clone()), 403, "os_compute_api:servers:reboot"),
        (&reader, "POST", "servers/{id}/action", "2.1", Some(json!({"pause": null})), 403, "os_compute_api:os-pause-server:pause"),
        (&reader, "POST", "servers/{id}/action", "2.1", Some(backup), 403, "os_compute_api:os-create-backup"),
        (&reader, "POST", "servers/{id}/action", "2.1", Some(json!({"os-getConsoleOutput": {}})), 403, "os_compute_api:os-console-output"),
        (&reader, "PUT", "servers/{id}/metadata", "2.1", Some(json!({"metadata": {"a": "b"}})), 403, "os_compute_api:server-metadata:update_all"),
        (&reader, "DELETE", "servers/{id}", "2.1", None, 403, "os_compute_api:servers:delete"),
        (&reader, "POST", "os-keypairs", "2.1", Some(json!({"keypair": {"name": "readers"}})), 200, ""),
        (&reader, "GET", "limits", "2.1", None, 200, ""),
        (&reader, "GET", "os-quota-sets/{a}", "2.1", None, 200, ""),
        (&reader, "GET", "os-quota-sets/{b}", "2.1", None, 403, "os_compute_api:os-quota-sets:show"),
        (&reader, "GET", "os-quota-sets/{b}/defaults", "2.1", None, 200, ""),
        (&reader, "GET", "os-availability-zone", "2.1", None, 200, ""),
        (&reader, "GET", "os-availability-zone/detail", "2.1", None, 403, "os_compute_api:os-availability-zone:detail"),
        (&auditor, "GET", "servers", "2.1", None, 403, "os_compute_api:servers:index"),
        (&auditor, "GET", "servers/{id}", "2.1", None, 403, "os_compute_api:servers:show"),
        (&auditor, "GET", "flavors", "2.1", None, 200, ""),
        (&auditor, "GET", "os-keypairs", "2.1", None, 200, ""),
        (&member, "POST", "servers/{id}/action", "2.1", Some(json!({"lock": null})), 202, ""),
        (&member, "POST", "servers/{id}/action", "2.1", Some(json!({"unlock": null})), 202, ""),
        (&member, "POST", "servers/{id}/action", "2.1", Some(json!({"shelveOffload": null})), 403, "os_compute_api:os-shelve:shelve_offload"),
        (&member, "POST", "servers/{id}/action", "2.1", Some(json!({"migrate": null})), 403, "os_compute_api:os-migrate-server:migrate"),
        (&member, "POST", "servers/{id}/action", "2.1", Some(json!({"os-resetState": {"state": "error"}})), 403, "os_compute_api:os-admin-actions:reset_state"),
        (&member, "GET", "servers/{id}/diagnostics", "2.1", None, 403, "os_compute_api:os-server-diagnostics"),
        (&member, "GET", "servers?all_tenants=1", "2.1", None, 403, "os_compute_api:servers:index:get_all_tenants"),
        (&member, "GET", "servers/detail?all_tenants", "2.1", None, 403, "os_compute_api:servers:detail:get_all_tenants"),
        (&member, "GET", "os-migrations", "2.1", None, 403, "os_compute_api:os-migrations:index"),
        (&member, "GET", "os-hypervisors", "2.1", None, 403, "os_compute_api:os-hypervisors:list"),
        (&member, "POST", "flavors", "2.1", Some(flavor), 403, "os_compute_api:os-flavor-manage:create"),
        // A project manager moves servers (the one host leaves nowhere to go), but not to
        // a host of their choosing, and lists their own project's moves only.
        (&manager, "POST", "servers/{id}/action", "2.1", Some(json!({"migrate": null})), 400, ""),
        (&manager, "POST", "servers/{id}/action", "2.56", Some(json!({"migrate": {"host": "elsewhere"}})), 403, "os_compute_api:os-migrate-server:migrate:host"),
        (&manager, "GET", "os-migrations?project_id={a}", "2.1", None, 200, ""),
        (&manager, "GET", "os-migrations", "2.1", None, 403, "os_compute_api:os-migrations:index:all_projects"),
        (&manager, "GET", "servers/{id}/migrations", "2.23", None, 200, ""),
        (&manager, "GET", "servers/{id}/migrations/1", "2.23", None, 403, "os_compute_api:servers:migrations:show"),
        (&manager, "GET", "os-hypervisors", "2.1", None, 403, "os_compute_api:os-hypervisors:list"),
        (&outsider, "GET", "servers/{id}", "2.1", None, 404, ""),
        (&outsider, "POST", "servers/{id}/action", "2.1", Some(soft), 404, ""),
        (&outsider, "GET", "os-quota-sets/{a}", "2.1", None, 403, "os_compute_api:os-quota-sets:show"),
        (&anonymous, "GET", "servers", "2.1", None, 401, ""),
        (&admin, "GET", "os-hypervisors", "2.1", None, 200, ""),
        (&admin, "GET", "os-quota-sets/{a}", "2.1", None, 200, ""),
    ];
    for (who, method, path, version, body, want, policy) in cases {
        let path = format!("/compute/v2.1/{path}")
            .replace("{id}", &id)
            .replace("{a}", &a)
            .replace("{b}", &b);
        let (status, v, _) = who.call(method, &path, version, body.clone());
        assert_eq!(status, want, "{method} {path} {body:?}: {v}");
        if want == 403 {
            assert_eq!(
                v["forbidden"]["message"],
                format!("Policy doesn't allow {policy} to be performed."),
                "{method} {path}"
            );
        }
    }
    // The admin sees every project's servers when asking for them.
    let (status, v, _) = admin.call("GET", "/compute/v2.1/servers?all_tenants=1", "2.1", None);
    assert_eq!(status, 200, "{v}");
    assert!(
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == id),
        "{v}"
    );
}
