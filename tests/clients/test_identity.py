"""Identity (Keystone v3, and v2.0 where jumpgate serves it) through the real clients, as a
user types it: the `openstack` CLI for most, openstacksdk and keystoneauth1 where a program
would use them. Each test makes its own names and cleans up after itself."""

from __future__ import annotations

import datetime
import hashlib
import json
import urllib.parse
import uuid

import openstack.exceptions
import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v2, v3

import jumpgate_server as js


def _parse_time(text: str) -> datetime.datetime:
    # OSC prints "2026-11-23T04:49:24+0000"; Keystone bodies "...Z" or "...000000Z".
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.datetime.fromisoformat(text)


def _same_server(url: str, server) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(server.url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


@pytest.fixture(scope="module")
def admin_project_id(osc):
    return osc("project", "show", js.ADMIN_PROJECT)["id"]


def _user_env(server, username, password, project=None):
    return server.env(
        OS_USERNAME=username,
        OS_PASSWORD=password,
        OS_PROJECT_NAME=project,
        OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME if project else None,
    )


def _project_user(osc, cleanup, unique, role):
    """A fresh project and a user whose only role is `role` on it; (project, user, password)."""
    project = unique("proj")
    user = unique("user")
    password = uuid.uuid4().hex
    osc("project", "create", "--domain", js.DOMAIN_ID, project)
    cleanup("project", project)
    osc("user", "create", "--domain", js.DOMAIN_ID, "--password", password, user)
    cleanup("user", user)
    osc("role", "add", "--project", project, "--user", user, role, json=False)
    return project, user, password


# --- tokens and catalog ----------------------------------------------------------------


def test_token_issue(osc, admin_project_id):
    token = osc("token", "issue")
    assert token["id"]
    assert token["project_id"] == admin_project_id
    assert token["user_id"] == osc("user", "show", js.ADMIN_USER)["id"]
    expires = _parse_time(token["expires"])
    assert expires > datetime.datetime.now(datetime.timezone.utc)


def test_token_issue_with_unversioned_auth_url(osc, server):
    """OS_AUTH_URL without /v3: keystoneauth discovers the versions at GET /."""
    token = osc("token", "issue", env=server.env(OS_AUTH_URL=server.url + "/"))
    assert token["id"]


def test_catalog_list(osc, server):
    catalog = osc("catalog", "list")
    by_type = {entry["Type"]: entry for entry in catalog}
    assert "identity" in by_type, catalog
    identity = by_type["identity"]["Endpoints"]
    assert any(
        e["interface"] == "public" and e["region"] == js.REGION for e in identity
    ), identity
    for entry in catalog:
        for endpoint in entry["Endpoints"]:
            assert _same_server(endpoint["url"], server), (entry["Type"], endpoint)
    shown = osc("catalog", "show", "identity")
    assert shown["type"] == "identity"


# --- projects --------------------------------------------------------------------------


def test_project_create_list_show_delete(osc, cleanup, unique):
    name = unique("proj")
    created = osc("project", "create", "--domain", js.DOMAIN_ID, "--description", "made by a test", name)
    cleanup("project", name)
    assert created["name"] == name
    assert created["domain_id"] == js.DOMAIN_ID
    assert created["enabled"] is True

    listed = {p["Name"]: p["ID"] for p in osc("project", "list")}
    assert listed.get(name) == created["id"]

    by_name = osc("project", "show", name)
    by_id = osc("project", "show", created["id"])
    assert by_name["id"] == by_id["id"] == created["id"]
    assert by_name["description"] == "made by a test"

    osc("project", "set", "--description", "changed", name, json=False)
    assert osc("project", "show", name)["description"] == "changed"

    osc("project", "delete", name, json=False)
    assert name not in {p["Name"] for p in osc("project", "list")}
    osc.fails("project", "show", created["id"])


def test_duplicate_project_name_conflicts(osc, cleanup, unique):
    name = unique("dup")
    osc("project", "create", "--domain", js.DOMAIN_ID, name)
    cleanup("project", name)
    err = osc.fails("project", "create", "--domain", js.DOMAIN_ID, name)
    assert err.status == 409, err


def test_unknown_ids_are_not_found(osc, conn, server):
    missing = uuid.uuid4().hex
    # openstacksdk, as a program would.
    with pytest.raises(openstack.exceptions.NotFoundException) as exc:
        conn.identity.get_project(missing)
    assert exc.value.status_code == 404
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.identity.get_user(missing)
    # The API itself, with an admin token.
    token = conn.session.get_token()
    for coll in ("projects", "users", "groups", "roles"):
        r = server.request("GET", f"/v3/{coll}/{missing}", token=token)
        assert r.status_code == 404, (coll, r.status_code, r.text)
    # The CLI looks the name up too, then says it found nothing.
    err = osc.fails("project", "show", missing)
    assert missing in err.stderr, err
    osc.fails("user", "delete", missing)


def test_sdk_project_lifecycle(conn, unique):
    name = unique("sdk")
    project = conn.identity.create_project(name=name, domain_id=js.DOMAIN_ID, description="d")
    try:
        assert conn.identity.find_project(name).id == project.id
        conn.identity.update_project(project, description="e")
        assert conn.identity.get_project(project.id).description == "e"
        assert name in {p.name for p in conn.identity.projects()}
    finally:
        conn.identity.delete_project(project, ignore_missing=True)
    assert conn.identity.find_project(name) is None


# --- users, roles, groups --------------------------------------------------------------


def test_user_create_set_delete(osc, server, cleanup, unique):
    name = unique("user")
    created = osc("user", "create", "--domain", js.DOMAIN_ID, "--password", "first-pw", name)
    cleanup("user", name)
    assert created["name"] == name
    assert created["enabled"] is True
    assert "password" not in created

    # The new user can sign in (no role anywhere yet: an unscoped token).
    unscoped = _user_env(server, name, "first-pw")
    assert osc("token", "issue", env=unscoped)["user_id"] == created["id"]

    osc("user", "set", "--email", f"{name}@example.com", "--password", "second-pw", name, json=False)
    shown = osc("user", "show", name)
    assert shown["email"] == f"{name}@example.com"
    assert osc("token", "issue", env=_user_env(server, name, "second-pw"))["user_id"] == created["id"]
    err = osc.fails("token", "issue", env=unscoped)
    assert err.status == 401, err

    assert name in {u["Name"] for u in osc("user", "list")}
    osc("user", "delete", name, json=False)
    assert name not in {u["Name"] for u in osc("user", "list")}
    osc.fails("user", "show", created["id"])
    err = osc.fails("token", "issue", env=_user_env(server, name, "second-pw"))
    assert err.status == 401, err


def test_role_add_and_assignment_list(osc, server, cleanup, unique):
    project, user, password = _project_user(osc, cleanup, unique, "member")
    project_id = osc("project", "show", project)["id"]
    user_id = osc("user", "show", user)["id"]
    member_id = osc("role", "show", "member")["id"]

    assignments = osc("role", "assignment", "list", "--project", project, "--user", user)
    assert [(a["Role"], a["User"], a["Project"]) for a in assignments] == [
        (member_id, user_id, project_id)
    ]
    named = osc("role", "assignment", "list", "--project", project, "--user", user, "--names")
    assert [a["Role"] for a in named] == ["member"]
    assert named[0]["User"].split("@")[0] == user
    assert named[0]["Project"].split("@")[0] == project

    # The role makes a project-scoped sign-in possible.
    token = osc("token", "issue", env=_user_env(server, user, password, project))
    assert token["project_id"] == project_id

    osc("role", "remove", "--project", project, "--user", user, "member", json=False)
    assert osc("role", "assignment", "list", "--project", project, "--user", user) == []
    osc.fails("token", "issue", env=_user_env(server, user, password, project))


def test_group_membership(osc, cleanup, unique):
    group = unique("group")
    user = unique("user")
    osc("group", "create", "--domain", js.DOMAIN_ID, "--description", "a test group", group)
    cleanup("group", group)
    osc("user", "create", "--domain", js.DOMAIN_ID, "--password", "pw", user)
    cleanup("user", user)

    osc("group", "add", "user", group, user, json=False)
    r = osc.run("group", "contains", "user", group, user)
    assert f"{user} in group {group}" in r.stdout + r.stderr, r
    assert user in {u["Name"] for u in osc("user", "list", "--group", group)}

    osc("group", "remove", "user", group, user, json=False)
    r = osc.run("group", "contains", "user", group, user)
    assert f"{user} not in group {group}" in r.stdout + r.stderr, r
    assert osc("user", "list", "--group", group) == []

    osc("group", "delete", group, json=False)
    assert group not in {g["Name"] for g in osc("group", "list")}


def test_reader_is_refused_a_mutation(osc, server, cleanup, unique):
    project, user, password = _project_user(osc, cleanup, unique, "reader")
    reader = _user_env(server, user, password, project)
    # A reader signs in fine...
    assert osc("token", "issue", env=reader)["project_id"] == osc("project", "show", project)["id"]
    # ...but may not change anything.
    victim = unique("proj")
    cleanup("project", victim)
    err = osc.fails("project", "create", "--domain", js.DOMAIN_ID, victim, env=reader)
    assert err.status == 403, err
    err = osc.fails("user", "create", "--domain", js.DOMAIN_ID, "--password", "x", unique("u"), env=reader)
    assert err.status == 403, err
    assert victim not in {p["Name"] for p in osc("project", "list")}


# --- application credentials -----------------------------------------------------------


def test_application_credential(osc, server, cleanup, unique, admin_project_id):
    name = unique("appcred")
    created = osc("application", "credential", "create", "--description", "for a test", name)
    cleanup("application_credential", name)
    secret = created["Secret"]
    assert secret and created["Name"] == name
    assert created["Project ID"] == admin_project_id

    # The secret is shown once: never again.
    shown = osc("application", "credential", "show", name)
    assert shown["ID"] == created["ID"]
    assert not shown.get("Secret"), shown
    assert name in {c["Name"] for c in osc("application", "credential", "list")}

    # Sign in with it, as a script or a CI job would: no user name, no password, no scope.
    appcred = server.env(
        OS_AUTH_TYPE="v3applicationcredential",
        OS_APPLICATION_CREDENTIAL_ID=created["ID"],
        OS_APPLICATION_CREDENTIAL_SECRET=secret,
        OS_USERNAME=None,
        OS_PASSWORD=None,
        OS_PROJECT_NAME=None,
        OS_USER_DOMAIN_NAME=None,
        OS_PROJECT_DOMAIN_NAME=None,
    )
    token = osc("token", "issue", env=appcred)
    assert token["project_id"] == admin_project_id
    assert js.ADMIN_PROJECT in {p["Name"] for p in osc("project", "list", env=appcred)}

    # (Changed at the front: bcrypt, as Keystone hashes secrets, reads only 72 bytes.)
    wrong = dict(appcred, OS_APPLICATION_CREDENTIAL_SECRET=("y" if secret[0] == "x" else "x") + secret[1:])
    err = osc.fails("token", "issue", env=wrong)
    assert err.status == 401, err

    osc("application", "credential", "delete", name, json=False)
    assert name not in {c["Name"] for c in osc("application", "credential", "list")}
    # Gone: Keystone says 404 (no such credential), 401 is as good.
    err = osc.fails("token", "issue", env=appcred)
    assert err.status in (401, 404), err


# --- credentials (Keystone's store of EC2 keys and other secrets) ----------------------


def test_credentials_belong_to_their_owner(osc, server, cleanup, unique):
    project, user, password = _project_user(osc, cleanup, unique, "member")
    member = _user_env(server, user, password, project)
    user_id = osc("user", "show", user)["id"]
    # (By id: a member may not look projects up by name.)
    project_id = osc("project", "show", project)["id"]

    # An EC2 credential's id is the sha256 of its access key, whoever asks for another.
    access = uuid.uuid4().hex
    blob = json.dumps({"access": access, "secret": uuid.uuid4().hex})
    ec2 = osc("credential", "create", "--type", "ec2", "--project", project, user, blob)
    assert ec2["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert json.loads(ec2["blob"]) == json.loads(blob)
    # Without a project it would be useless, and Keystone refuses it.
    err = osc.fails("credential", "create", "--type", "ec2", user, json.dumps({"access": "x"}))
    assert err.status == 400, err
    err = osc.fails("credential", "create", "--type", "ec2", "--project", project, user, "not json")
    assert err.status == 400, err
    # The same access key twice is one credential.
    err = osc.fails("credential", "create", "--type", "ec2", "--project", project, user, blob)
    assert err.status == 409, err

    # The admin's own credential, which the member must not see or take.
    admin_id = osc("user", "show", js.ADMIN_USER)["id"]
    mine = osc("credential", "create", js.ADMIN_USER, "admin's certificate")
    try:
        assert mine["type"] == "cert"
        assert osc("credential", "show", ec2["id"], env=member)["blob"] == ec2["blob"]
        seen = {c["ID"] for c in osc("credential", "list", env=member)}
        assert seen == {ec2["id"]}, seen
        assert {ec2["id"], mine["id"]} <= {c["ID"] for c in osc("credential", "list")}
        # (The CLI looks a credential up by name too, and hides the 403: ask directly.)
        token = osc("token", "issue", env=member)["id"]
        for method in ("GET", "DELETE"):
            r = server.request(method, f"/v3/credentials/{mine['id']}", token=token)
            assert r.status_code == 403, (method, r.status_code, r.text)
        # Making one for someone else, or giving one's own away, is refused.
        err = osc.fails("credential", "create", js.ADMIN_USER, "x", env=member)
        assert err.status == 403, err
        err = osc.fails(
            "credential", "set", "--user", admin_id, "--type", "ec2", "--data", blob,
            "--project", project_id, ec2["id"], env=member,
        )
        assert err.status == 403, err
        # Nor may an EC2 credential's new blob change the scope it was made in.
        scoped = json.dumps({"access": access, "secret": "s", "trust_id": "t"})
        err = osc.fails(
            "credential", "set", "--user", user_id, "--type", "ec2", "--data", scoped,
            "--project", project_id, ec2["id"], env=member,
        )
        assert err.status == 400, err
        # A change of one's own is kept.
        fresh = json.dumps({"access": access, "secret": "rotated"})
        osc(
            "credential", "set", "--user", user_id, "--type", "ec2", "--data", fresh,
            "--project", project_id, ec2["id"], env=member, json=False,
        )
        assert json.loads(osc("credential", "show", ec2["id"])["blob"])["secret"] == "rotated"
    finally:
        osc("credential", "delete", mine["id"], json=False)
    err = osc.fails("credential", "show", mine["id"])
    assert "Could not find credential" in str(err), err

    # A user's credentials go with the user.
    osc("user", "delete", user, json=False)
    assert ec2["id"] not in {c["ID"] for c in osc("credential", "list")}


def test_ec2_credentials(osc, server, cleanup, unique):
    project, user, password = _project_user(osc, cleanup, unique, "member")
    member = _user_env(server, user, password, project)
    # (The CLI shows a new or single credential's keys as the API names them.)
    made = osc("ec2", "credentials", "create", env=member)
    assert made["project_id"] == osc("project", "show", project)["id"]
    assert made["access"] and made["secret"]
    listed = osc("ec2", "credentials", "list", env=member)
    assert [c["Access"] for c in listed] == [made["access"]]
    shown = osc("ec2", "credentials", "show", made["access"], env=member)
    assert shown["secret"] == made["secret"]
    # Also under /v3/credentials, by the access key's hash.
    cid = hashlib.sha256(made["access"].encode()).hexdigest()
    assert osc("credential", "show", cid, env=member)["type"] == "ec2"
    # Another user's list is not theirs to read.
    err = osc.fails("ec2", "credentials", "list", "--user", js.ADMIN_USER, env=member)
    assert err.status == 403, err
    osc("ec2", "credentials", "delete", made["access"], env=member, json=False)
    err = osc.fails("ec2", "credentials", "show", made["access"], env=member)
    assert err.status == 404, err
    assert osc("ec2", "credentials", "list", env=member) == []


# --- policies, OAuth1 consumers, endpoint groups (admin only) ---------------------------


def test_policy_blobs(osc, server, cleanup, unique, tmp_path):
    rules = tmp_path / "policy.json"
    rules.write_text(json.dumps({"compute:start": "rule:admin"}))
    made = osc("policy", "create", "--type", "application/json", rules)
    try:
        assert made["type"] == "application/json"
        assert json.loads(made["rules"]) == {"compute:start": "rule:admin"}
        assert made["id"] in {p["ID"] for p in osc("policy", "list")}
        osc("policy", "set", "--type", "text/plain", made["id"], json=False)
        shown = osc("policy", "show", made["id"])
        assert shown["type"] == "text/plain" and shown["rules"] == made["rules"]
        # Only an admin reads or writes them.
        project, user, password = _project_user(osc, cleanup, unique, "member")
        member = _user_env(server, user, password, project)
        err = osc.fails("policy", "list", env=member)
        assert err.status == 403, err
        err = osc.fails("policy", "create", rules, env=member)
        assert err.status == 403, err
    finally:
        osc("policy", "delete", made["id"], json=False)
    err = osc.fails("policy", "show", made["id"])
    assert "Could not find policy" in str(err), err


def test_oauth_consumers(osc, server, cleanup, unique):
    # (OSC's `consumer` commands need oauthlib, which the clients' venv does not have: the
    # API directly, as keystoneclient would call it.)
    token = osc("token", "issue")["id"]
    base = "/v3/OS-OAUTH1/consumers"
    r = server.request("POST", base, token=token, json={"consumer": {"description": "a client"}})
    assert r.status_code == 201, r.text
    made = r.json()["consumer"]
    try:
        # The secret is shown once, when the consumer is made.
        assert made["secret"] and made["description"] == "a client"
        assert made["links"]["self"].endswith(f"{base}/{made['id']}")
        shown = server.request("GET", f"{base}/{made['id']}", token=token).json()["consumer"]
        assert "secret" not in shown and shown["description"] == "a client"
        listed = server.request("GET", base, token=token).json()["consumers"]
        assert made["id"] in {c["id"] for c in listed}
        r = server.request("PATCH", f"{base}/{made['id']}", token=token, json={"consumer": {"description": "renamed"}})
        assert r.status_code == 200 and r.json()["consumer"]["description"] == "renamed", r.text
        # Its secret never changes.
        r = server.request("PATCH", f"{base}/{made['id']}", token=token, json={"consumer": {"secret": "mine"}})
        assert r.status_code == 400, r.text
        project, user, password = _project_user(osc, cleanup, unique, "member")
        member = osc("token", "issue", env=_user_env(server, user, password, project))["id"]
        for method, path in (("GET", base), ("POST", base), ("DELETE", f"{base}/{made['id']}")):
            r = server.request(method, path, token=member, json={"consumer": {}})
            assert r.status_code == 403, (method, r.text)
    finally:
        r = server.request("DELETE", f"{base}/{made['id']}", token=token)
        assert r.status_code == 204, r.text
    r = server.request("GET", f"{base}/{made['id']}", token=token)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Consumer not found", r.text


def test_endpoint_groups(osc, server, cleanup, unique, tmp_path):
    service = osc("service", "create", "--name", unique("svc"), unique("type"))
    filters = tmp_path / "filters.json"
    filters.write_text(json.dumps({"service_id": service["id"]}))
    name = unique("epg")
    try:
        made = osc("endpoint", "group", "create", "--description", "one service", name, filters)
        assert made["name"] == name and made["description"] == "one service"
        assert made["filters"] == {"service_id": service["id"]}, made
        assert name in {g["Name"] for g in osc("endpoint", "group", "list")}
        filters.write_text(json.dumps({"interface": "public"}))
        osc("endpoint", "group", "set", "--name", name + "-2", "--filters", filters, made["id"], json=False)
        shown = osc("endpoint", "group", "show", made["id"])
        assert shown["name"] == name + "-2" and shown["filters"] == {"interface": "public"}, shown
        # Only endpoint attributes filter.
        filters.write_text(json.dumps({"url": "http://x"}))
        err = osc.fails("endpoint", "group", "create", unique("epg"), filters)
        assert err.status == 400, err
        project, user, password = _project_user(osc, cleanup, unique, "member")
        member = _user_env(server, user, password, project)
        err = osc.fails("endpoint", "group", "list", env=member)
        assert err.status == 403, err
        osc("endpoint", "group", "delete", made["id"], json=False)
        err = osc.fails("endpoint", "group", "show", made["id"])
        assert "No EndpointGroup found" in str(err), err
    finally:
        osc("service", "delete", service["id"], json=False)


def test_project_acting_as_a_domain(osc, server, unique):
    token = osc("token", "issue")["id"]
    name = unique("dom")
    r = server.request("POST", "/v3/projects", token=token, json={"project": {"name": name, "is_domain": True}})
    assert r.status_code == 201, r.text
    project = r.json()["project"]
    assert project["is_domain"] is True and project["domain_id"] is None and project["parent_id"] is None
    try:
        # It is a domain, and a project only when one asks for domains among projects.
        assert osc("domain", "show", project["id"])["name"] == name
        assert name not in {p["Name"] for p in osc("project", "list")}
        r = server.request("GET", "/v3/projects?is_domain=true", token=token)
        assert project["id"] in {p["id"] for p in r.json()["projects"]}, r.text
        # A project can be made in it.
        inner = unique("proj")
        osc("project", "create", "--domain", project["id"], inner)
        osc("project", "delete", "--domain", project["id"], inner, json=False)
        # Only a root may act as a domain.
        r = server.request(
            "POST", "/v3/projects", token=token,
            json={"project": {"name": unique("dom"), "is_domain": True, "domain_id": js.DOMAIN_ID}},
        )
        assert r.status_code == 400, r.text
        # Deleting it deletes the domain, once disabled.
        r = server.request("DELETE", f"/v3/projects/{project['id']}", token=token)
        assert r.status_code == 403, r.text
    finally:
        r = server.request(
            "PATCH", f"/v3/projects/{project['id']}", token=token, json={"project": {"enabled": False}},
        )
        assert r.status_code == 200 and r.json()["project"]["enabled"] is False, r.text
        r = server.request("DELETE", f"/v3/projects/{project['id']}", token=token)
        assert r.status_code == 204, r.text
    err = osc.fails("domain", "show", project["id"])
    assert "No Domain found" in str(err), err


def test_domain_configuration(osc, server, unique):
    token = osc("token", "issue")["id"]
    domain = osc("domain", "create", unique("dom"))
    path = f"/v3/domains/{domain['id']}/config"
    config = {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x/", "password": "s3cret"}}
    try:
        r = server.request("PUT", path, token=token, json={"config": config})
        assert r.status_code == 201, r.text
        assert r.json()["config"] == {"identity": {"driver": "ldap"}, "ldap": {"url": "ldap://x/"}}
        r = server.request("GET", f"{path}/ldap/url", token=token)
        assert r.json() == {"config": {"url": "ldap://x/"}}, r.text
        r = server.request("PATCH", f"{path}/identity", token=token, json={"config": {"identity": {"list_limit": 5}}})
        assert r.json()["config"]["identity"] == {"driver": "ldap", "list_limit": 5}, r.text
        r = server.request("PUT", path, token=token, json={"config": {"nova": {"x": 1}}})
        assert r.status_code == 403, r.text
        r = server.request("GET", "/v3/domains/config/ldap/url/default", token=token)
        assert r.json() == {"config": {"url": "ldap://localhost"}}, r.text
        r = server.request("DELETE", f"{path}/identity/driver", token=token)
        assert r.status_code == 204, r.text
        r = server.request("GET", f"{path}/identity/driver", token=token)
        assert r.status_code == 404, r.text
    finally:
        osc("domain", "set", "--disable", domain["id"], json=False)
        osc("domain", "delete", domain["id"], json=False)


# --- token revocation ------------------------------------------------------------------


def test_token_revoke(osc, server):
    token = osc("token", "issue")["id"]
    assert server.request("GET", "/v3/projects", token=token).status_code == 200

    osc("token", "revoke", token, json=False)

    r = server.request("GET", "/v3/projects", token=token)
    assert r.status_code == 401, (r.status_code, r.text)
    # The CLI handed that token (token_endpoint: no sign-in of its own) is refused too.
    with_token = {
        "OS_AUTH_TYPE": "token_endpoint",
        "OS_ENDPOINT": server.auth_url,
        "OS_TOKEN": token,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": js.REGION,
    }
    err = osc.fails("project", "list", env=with_token)
    assert err.status == 401, err
    # Other tokens of the same user still work.
    assert osc("token", "issue")["id"] != token


# --- Keystone v2.0 ---------------------------------------------------------------------


@pytest.mark.jumpgate_only
def test_v2_password_auth_and_tenants(server):
    """Old tools still speak v2.0: keystoneauth1's v2 Password plugin, then GET /v2.0/tenants."""
    auth = v2.Password(
        auth_url=server.url + "/v2.0",
        username=js.ADMIN_USER,
        password=server.admin_password,
        tenant_name=js.ADMIN_PROJECT,
    )
    sess = ks_session.Session(auth=auth, verify=server.verify)
    token = sess.get_token()
    assert token
    access = auth.get_access(sess)
    assert access.project_name == js.ADMIN_PROJECT
    assert access.username == js.ADMIN_USER
    r = sess.get(server.url + "/v2.0/tenants", raise_exc=False)
    assert r.status_code == 200, (r.status_code, r.text)
    assert js.ADMIN_PROJECT in {t["name"] for t in r.json()["tenants"]}

    bad = v2.Password(
        auth_url=server.url + "/v2.0",
        username=js.ADMIN_USER,
        password=server.admin_password + "x",
        tenant_name=js.ADMIN_PROJECT,
    )
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(auth=bad, verify=server.verify).get_token()


def test_v3_password_auth_with_keystoneauth(server):
    """A program's sign-in: keystoneauth1 v3 Password, then the catalog it was given."""
    auth = v3.Password(
        auth_url=server.auth_url,
        username=js.ADMIN_USER,
        password=server.admin_password,
        user_domain_name=js.DOMAIN_NAME,
        project_name=js.ADMIN_PROJECT,
        project_domain_name=js.DOMAIN_NAME,
    )
    sess = ks_session.Session(auth=auth, verify=server.verify)
    endpoint = sess.get_endpoint(service_type="identity", interface="public", region_name=js.REGION)
    assert _same_server(endpoint, server), endpoint
    access = auth.get_access(sess)
    assert "admin" in access.role_names
    with pytest.raises(ks_exceptions.Unauthorized):
        ks_session.Session(
            auth=v3.Password(
                auth_url=server.auth_url,
                username=js.ADMIN_USER,
                password="wrong",
                user_domain_name=js.DOMAIN_NAME,
            ),
            verify=server.verify,
        ).get_token()
