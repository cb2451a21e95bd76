"""The policy matrix (issue 15): every endpoint the local driver serves, every method and
every action, called as four callers — a `reader` and a `member` of project A, the cloud's
`admin`, and a `member` of project B — and checked against the row of the service's policy
table (plugins/local/policies/<service>.policy) that the driver enforces.

What each caller must see:
- a caller the row refuses: the service's 403 (Neutron: its 404 for a read), on A's real
  resources, so a hole would show as a change that went through;
- a caller the row lets through: anything but 401/403 and never a 5xx (but 501). Its
  changes name ids that do not exist, so the run changes nothing it reads later;
- project B's member on A's resources (servers, volumes, networks, private images, …):
  the service's 404 for a read, and never a 2xx for a change — wherever the path names them.

The endpoints come from `jumpgate endpoints`: an endpoint without a row in its table fails
here (and the driver refuses to start), as does a row naming an endpoint that is not there.
Where the real service answers otherwise than its table alone says, EXCEPTIONS says what it
answers and why."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import jumpgate_server as js

pytestmark = pytest.mark.jumpgate_only

POLICIES = Path(__file__).resolve().parents[2] / "plugins" / "local" / "policies"
SERVICES = ("identity", "compute", "image", "volume", "network", "placement")
NOWHERE = "00000000-0000-0000-0000-000000000000"
ACTORS = ("reader_a", "member_a", "admin", "member_b")

# (service, endpoint, method, action, actor) -> (the statuses the real service answers, why).
EXCEPTIONS: dict[tuple[str, str, str, str, str], tuple[set[int], str]] = {
    # Keystone's target is the credential it fetched (keystone/api/credentials.py
    # _build_target_enforcement): A's member owns the one the GET names; the changes name
    # one that does not exist, which has no owner, so only an admin passes.
    **{("identity", "v3_credentail", "GET", "-", who): ({403}, "not the credential's owner")
       for who in ("reader_a", "member_b")},
    **{("identity", "v3_credentail", m, "-", who): ({403}, "a credential nobody owns")
       for m in ("PATCH", "DELETE") for who in ("reader_a", "member_a", "member_b")},
}

# Path parameters an endpoint needs other than the common ones: Keystone keeps defaults only
# for the groups a domain may configure (identity, ldap), not for security_compliance.
PARAMS = {
    ("identity", "v3_domain_config_group_default"): {"group": "identity"},
    ("identity", "v3_domain_config_option_default"): {"group": "identity", "option": "driver"},
}

# Path parameters naming something project A owns: another project gets the service's 404.
SCOPED = {"server_id", "instance_id", "volume_id", "snapshot_id", "network_id", "subnet_id", "port_id",
          "router_id", "security_group_id", "image_id", "image_guid", "server_group_id"}


@dataclass
class Row:
    service: str
    endpoint: str
    method: str
    action: str | None
    role: str
    binding: tuple[str, str] | None  # ("user" | "project", path parameter)
    name: str


def table(service: str) -> list[Row]:
    """The rows of a service's table, read as the driver reads them (policy::parse)."""
    rows = []
    for line in (POLICIES / f"{service}.policy").read_text().splitlines():
        cols = line.split("#")[0].split()
        if not cols:
            continue
        endpoint, method, action, role, name = cols
        binding = None
        if "@" in role:
            role, bound = role.split("@")
            kind, param = bound.split(":")
            binding = (kind, param)
        rows.append(Row(service, endpoint, method, None if action == "-" else action, role,
                        binding, name))
    return rows


class Actor:
    def __init__(self, name: str, token: str, user_id: str, project_id: str, roles: set[str],
                 admin: bool):
        self.name, self.token, self.user_id, self.project_id = name, token, user_id, project_id
        self.roles, self.admin = roles, admin

    def allows(self, row: Row, params: dict[str, str]) -> bool:
        """policy::Rule::allows, from the outside."""
        if self.admin:
            return True
        role = {"public": True, "any": True, "reader": "reader" in self.roles,
                "member": "member" in self.roles, "manager": "manager" in self.roles,
                "admin": False, "service": "service" in self.roles}[row.role]
        if not role or row.binding is None:
            return role
        kind, param = row.binding
        return params.get(param) == (self.user_id if kind == "user" else self.project_id)


def test_every_endpoint_has_a_row_and_every_role_gets_what_its_row_says():
    server = js.start()
    try:
        matrix(server)
    finally:
        server.stop()


def matrix(s: js.Server):
    U = s.url
    api = requests.Session()
    api.verify = s.verify

    def ok(r):
        assert r.status_code < 300, (r.request.method, r.url, r.status_code, r.text[:300])
        return r.json() if r.content else None

    def sign_in(user, password, project):
        token, body = s.sign_in(api, user, password, project)
        return token, body["user"]["id"], body["project"]["id"], {x["name"] for x in body["roles"]}

    admin_token, admin_uid, admin_pid, admin_roles = sign_in("admin", s.admin_password, "admin")
    H = {"X-Auth-Token": admin_token}
    role_ids = {r["name"]: r["id"] for r in ok(api.get(U + "/v3/roles", headers=H))["roles"]}
    actors = {"admin": Actor("admin", admin_token, admin_uid, admin_pid, admin_roles, True)}
    for name, project, role in (("reader_a", "policy-a", "reader"),
                                ("member_a", "policy-a", "member"),
                                ("member_b", "policy-b", "member")):
        found = ok(api.get(U + f"/v3/projects?name={project}", headers=H))["projects"]
        pid = found[0]["id"] if found else ok(api.post(
            U + "/v3/projects", json={"project": {"name": project}}, headers=H))["project"]["id"]
        uid = ok(api.post(U + "/v3/users", json={"user": {"name": name, "password": "pw"}},
                          headers=H))["user"]["id"]
        ok(api.put(U + f"/v3/projects/{pid}/users/{uid}/roles/{role_ids[role]}", headers=H))
        token, uid, pid, roles = sign_in(name, "pw", project)
        actors[name] = Actor(name, token, uid, pid, roles, False)
    a = actors["member_a"]
    HA = {"X-Auth-Token": a.token}

    def wait(path, key, status):
        for _ in range(200):
            if ok(api.get(U + path, headers=HA))[key]["status"] == status:
                return
            time.sleep(0.1)
        raise AssertionError(f"{path} never {status}")

    # Project A's resources, made by its member.
    net = ok(api.post(U + "/network/v2.0/networks", json={"network": {"name": "pa"}},
                      headers=HA))["network"]["id"]
    sub = ok(api.post(U + "/network/v2.0/subnets", json={"subnet": {
        "network_id": net, "cidr": "10.7.0.0/24", "ip_version": 4}}, headers=HA))["subnet"]["id"]
    port = ok(api.post(U + "/network/v2.0/ports", json={"port": {"network_id": net}},
                       headers=HA))["port"]["id"]
    router = ok(api.post(U + "/network/v2.0/routers", json={"router": {"name": "ra"}},
                         headers=HA))["router"]["id"]
    sg = ok(api.post(U + "/network/v2.0/security-groups",
                     json={"security_group": {"name": "sga"}}, headers=HA))["security_group"]["id"]
    image = ok(api.post(U + "/image/v2/images", json={
        "name": "ia", "disk_format": "raw", "container_format": "bare"}, headers=HA))["id"]
    ok(api.put(U + f"/image/v2/images/{image}/file", data=b"x" * 1024,
               headers={**HA, "Content-Type": "application/octet-stream"}))
    volume = ok(api.post(U + f"/volume/v3/{a.project_id}/volumes",
                         json={"volume": {"size": 1}}, headers=HA))["volume"]["id"]
    wait(f"/volume/v3/{a.project_id}/volumes/{volume}", "volume", "available")
    snapshot = ok(api.post(U + f"/volume/v3/{a.project_id}/snapshots",
                           json={"snapshot": {"volume_id": volume}}, headers=HA))["snapshot"]["id"]
    group = ok(api.post(U + "/compute/v2.1/os-server-groups", json={"server_group": {
        "name": "ga", "policies": ["affinity"]}}, headers=HA))["server_group"]["id"]
    ok(api.post(U + "/compute/v2.1/os-keypairs", json={"keypair": {"name": "ka"}}, headers=HA))
    srv = ok(api.post(U + "/compute/v2.1/servers", json={"server": {
        "name": "sa", "imageRef": image, "flavorRef": "42", "networks": [{"uuid": net}]}},
        headers=HA))["server"]["id"]
    wait(f"/compute/v2.1/servers/{srv}", "server", "ACTIVE")
    real = {
        "server_id": srv, "instance_id": srv, "volume_id": volume, "snapshot_id": snapshot,
        "network_id": net, "subnet_id": sub, "port_id": port, "router_id": router,
        "security_group_id": sg, "image_id": image, "image_guid": image,
        "server_group_id": group, "keypair_name": "ka", "flavor_id": "42",
        "domain_id": "default", "role_id": role_ids["member"], "user_id": a.user_id,
        # The one domain-configuration group any token may read.
        "group": "security_compliance", "option": "password_regex",
        "credential_id": ok(api.post(U + "/v3/credentials", json={"credential": {
            "type": "totp", "user_id": a.user_id, "blob": "secret"}},
            headers=HA))["credential"]["id"],
    }

    served = js.endpoints(s)
    rows = [r for service in SERVICES for r in table(service)]
    by_key = {(r.service, r.endpoint, r.method) for r in rows}
    missing = [f"{svc} {m} {nick} {path}" for svc, eps in served.items()
               for nick, (methods, path) in eps.items() for m in methods
               if (svc, nick, m) not in by_key]
    assert not missing, "endpoints without a row in their policy table:\n" + "\n".join(missing)
    unknown = [f"{r.service} {r.method} {r.endpoint}" for r in rows
               if r.method not in served.get(r.service, {}).get(r.endpoint, ((), ""))[0]]
    assert not unknown, "rows naming no endpoint the driver serves:\n" + "\n".join(unknown)

    wrong = []
    calls = [(row, name, probe) for row in rows for name in ACTORS
             for probe in (False, True)
             # A bound row is also asked with someone else's user or project in the path.
             if not probe or (row.binding and not actors[name].admin)]
    for row, name, probe in calls:
        _, template = served[row.service][row.endpoint]
        actor = actors[name]
        if probe:
            statuses, why = refused(row), "someone else's in a bound parameter"
            if not actor.allows(row, binding_values(row, actor, actors, denied_probe=False)):
                continue  # refused by its role already
        else:
            statuses, why = expect(row, actor, template, actors)
        path = fill(row, actor, template, real, actors, why, probe)
        exception = EXCEPTIONS.get((row.service, row.endpoint, row.method,
                                    row.action or "-", name))
        headers = {"X-Auth-Token": actor.token, "Accept": "application/json",
                   "Content-Type": "application/json"}
        if row.service == "image" and row.method == "PATCH":
            headers["Content-Type"] = "application/openstack-images-v2.1-json-patch"
        body = None
        if row.method in ("POST", "PUT", "PATCH"):
            body = "[]" if row.method == "PATCH" and row.service == "image" else (
                '{"%s": {}}' % row.action if row.action else "{}")
        r = api.request(row.method, U + path, headers=headers, data=body, timeout=60)
        if exception:
            statuses, why = exception
        if not (statuses(r.status_code) if callable(statuses) else r.status_code in statuses):
            wrong.append(f"{row.method} {path} {row.action or ''} as {name} "
                         f"({row.role} {row.name}; {why}) -> {r.status_code} {r.text[:160]}")
    assert s.alive(), s.log()[-3000:]
    assert not wrong, f"{len(wrong)} answers differ from the policy tables:\n" + "\n".join(wrong)


def params_of(template: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", template)


def refused(row: Row) -> set[int]:
    # Neutron hides what a caller may not read.
    if row.service == "network" and row.method in ("GET", "HEAD"):
        return {404}
    return {403}


def passed(code: int) -> bool:
    return code not in (401, 403) and (code < 500 or code == 501)


def expect(row: Row, actor: Actor, template: str, actors: dict):
    """What `actor` must get for `row`, and why, before the path is filled in."""
    params = binding_values(row, actor, actors, denied_probe=False)
    if not actor.allows(row, params):
        return refused(row), "refused by its row"
    scoped = [p for p in params_of(template) if p in SCOPED]
    if actor.name == "member_b" and scoped:
        if row.method in ("GET", "HEAD"):
            return {404}, "another project's resource"
        return (lambda c: c in (400, 404, 409, 410, 415)), "another project's resource, changed"
    return passed, "let through by its row"


def binding_values(row: Row, actor: Actor, actors: dict, denied_probe: bool) -> dict[str, str]:
    """The bound parameter: the caller's own user or project, so that the role alone
    decides; `denied_probe` names someone else's instead."""
    if row.binding is None:
        return {}
    kind, param = row.binding
    if kind == "user":
        other = actors["member_a"] if actor.name != "member_a" else actors["reader_a"]
        return {param: other.user_id if denied_probe else actor.user_id}
    other = actors["member_a"] if actor.name == "member_b" else actors["member_b"]
    return {param: other.project_id if denied_probe else actor.project_id}


def fill(row: Row, actor: Actor, template: str, real: dict, actors: dict, why: str,
         probe: bool) -> str:
    """The path: A's real resources where the call must fail or only reads, ids that do
    not exist where it may change something."""
    params = binding_values(row, actor, actors, denied_probe=probe)
    use_real = why != "let through by its row" or row.method in ("GET", "HEAD")
    values = {}
    for p in params_of(template):
        if p in params:
            values[p] = params[p]
        elif p in ("tenant_id", "project_id") and row.service in ("compute", "volume"):
            values[p] = actor.project_id  # the URL's project prefix is the caller's own
        elif use_real and p == "project_id":
            values[p] = actors["member_a"].project_id
        elif use_real and p in PARAMS.get((row.service, row.endpoint), {}):
            values[p] = PARAMS[(row.service, row.endpoint)][p]
        elif use_real and p in real:
            values[p] = real[p]
        else:
            values[p] = NOWHERE
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], template)
