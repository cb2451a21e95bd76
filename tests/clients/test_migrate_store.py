"""`jumpgate migrate-store --to postgresql://…`: an operator moves a cloud kept in SQLite
(the default store, data_dir/jumpgate.db) to PostgreSQL. A jumpgate on SQLite is filled
through the API (identity, flavors public and private, keypairs, servers, a volume, an
image with bytes, networks, quotas), stopped, copied with the command, pointed at the new
database (`[local] database`) and restarted: every listing is the same, the image has its
bytes (the files stay in data_dir), a keypair keeps its integer id, and new flavors and
keypairs are numbered after the copied ones. A second copy into the same database is
refused.

Runs only with env JUMPGATE_PG (a PostgreSQL server, scripts' start_postgresql), and not
against an external server."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

import pytest
import requests

import jumpgate_server as js

pytestmark = pytest.mark.skipif(
    not js.postgresql() or bool(os.environ.get("JUMPGATE_EXTERNAL_URL", "").strip()),
    reason="needs JUMPGATE_PG (a PostgreSQL server) and a jumpgate of our own",
)

FLAVOR = "42"  # m1.nano, seeded
IMAGE_BYTES = os.urandom(3 * 1024 * 1024 + 17)


class Api:
    """Raw HTTP with one admin token: it stays good across the restart (same secret key,
    and the token's user, project and roles are copied)."""

    def __init__(self, server: js.Server):
        sess = server.session()
        self.token = sess.get_token()
        self.project_id = sess.get_project_id()
        self.server = server

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, "Accept": "application/json"}
        headers.update(kwargs.pop("headers", None) or {})
        return requests.request(method, self.server.url + path, headers=headers,
                                timeout=60, **kwargs)

    def ok(self, method: str, path: str, **kwargs):
        r = self(method, path, **kwargs)
        assert r.status_code in (200, 201, 202, 204), f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None

    def wait(self, path: str, key: str, status: str) -> None:
        deadline = time.monotonic() + 60
        while True:
            got = self.ok("GET", path)[key]["status"]
            if got == status:
                return
            assert got not in ("ERROR", "error") and time.monotonic() < deadline, (path, got)
            time.sleep(0.2)


def populate(api: Api) -> dict:
    """A small cloud of every kind of thing; what the comparisons need to find again."""
    tag = uuid.uuid4().hex[:8]
    project = api.ok("POST", "/v3/projects", json={"project": {
        "name": f"mig-{tag}", "domain_id": js.DOMAIN_ID, "description": "moved"}})["project"]
    user = api.ok("POST", "/v3/users", json={"user": {
        "name": f"mig-{tag}", "domain_id": js.DOMAIN_ID, "password": "secret-1",
        "default_project_id": project["id"], "email": "mig@example.org"}})["user"]
    roles = {r["name"]: r["id"] for r in api.ok("GET", "/v3/roles")["roles"]}
    api.ok("PUT", f"/v3/projects/{project['id']}/users/{user['id']}/roles/{roles['member']}")

    api.ok("POST", "/compute/v2.1/flavors", json={"flavor": {
        "name": f"pub-{tag}", "id": f"pub-{tag}", "ram": 256, "vcpus": 1, "disk": 1}})
    private = api.ok("POST", "/compute/v2.1/flavors", json={"flavor": {
        "name": f"priv-{tag}", "id": f"priv-{tag}", "ram": 512, "vcpus": 2, "disk": 2,
        "os-flavor-access:is_public": False}})["flavor"]
    api.ok("POST", f"/compute/v2.1/flavors/{private['id']}/action",
           json={"addTenantAccess": {"tenant": project["id"]}})
    api.ok("POST", f"/compute/v2.1/flavors/{private['id']}/os-extra_specs",
           json={"extra_specs": {"hw:cpu_policy": "dedicated"}})

    for name in ("ka", "kb", "kc"):
        api.ok("POST", "/compute/v2.1/os-keypairs", json={"keypair": {"name": f"{name}-{tag}"}})
    # A gap in the ids: the copy keeps them, it does not renumber.
    api.ok("DELETE", f"/compute/v2.1/os-keypairs/ka-{tag}")

    image = api.ok("POST", "/image/v2/images", json={
        "name": f"mig-{tag}", "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "tags": ["moved"]})
    api.ok("PUT", f"/image/v2/images/{image['id']}/file", data=IMAGE_BYTES,
           headers={"Content-Type": "application/octet-stream"})

    net = api.ok("POST", "/network/v2.0/networks", json={"network": {"name": f"mig-{tag}"}})["network"]
    api.ok("POST", "/network/v2.0/subnets", json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.77.0.0/24", "name": f"mig-{tag}"}})
    api.ok("POST", "/network/v2.0/ports", json={"port": {"network_id": net["id"], "name": f"mig-{tag}"}})

    servers = []
    for n in range(2):
        s = api.ok("POST", "/compute/v2.1/servers", json={"server": {
            "name": f"mig-{tag}-{n}", "flavorRef": FLAVOR, "imageRef": image["id"],
            "key_name": f"kb-{tag}", "networks": [{"uuid": net["id"]}],
            "metadata": {"n": str(n)}}})["server"]
        servers.append(s["id"])
    volume = api.ok("POST", f"/volume/v3/{api.project_id}/volumes",
                    json={"volume": {"size": 1, "name": f"mig-{tag}"}})["volume"]
    for sid in servers:
        api.wait(f"/compute/v2.1/servers/{sid}", "server", "ACTIVE")
    api.wait(f"/volume/v3/{api.project_id}/volumes/{volume['id']}", "volume", "available")

    api.ok("PUT", f"/compute/v2.1/os-quota-sets/{project['id']}",
           json={"quota_set": {"instances": 17, "cores": 33}})
    api.ok("PUT", f"/volume/v3/{api.project_id}/os-quota-sets/{project['id']}",
           json={"quota_set": {"volumes": 7}})
    api.ok("PUT", f"/network/v2.0/quotas/{project['id']}", json={"quota": {"port": 77}})
    return {"tag": tag, "project": project["id"], "image": image["id"], "flavor": private["id"]}


def listings(api: Api, cloud: dict) -> dict:
    """Every listing the comparison covers, as JSON."""
    pid, apid = cloud["project"], api.project_id
    nova = {"OpenStack-API-Version": "compute 2.79", "X-OpenStack-Nova-API-Version": "2.79"}
    paths = {
        "servers": ("/compute/v2.1/servers/detail?all_tenants=1", nova),
        "flavors": ("/compute/v2.1/flavors/detail?is_public=None", nova),
        "flavor_access": (f"/compute/v2.1/flavors/{cloud['flavor']}/os-flavor-access", nova),
        "keypairs": ("/compute/v2.1/os-keypairs", nova),
        "compute_quotas": (f"/compute/v2.1/os-quota-sets/{pid}/detail", nova),
        "volumes": (f"/volume/v3/{apid}/volumes/detail?all_tenants=1", {}),
        "volume_quotas": (f"/volume/v3/{apid}/os-quota-sets/{pid}?usage=True", {}),
        "images": ("/image/v2/images", {}),
        "networks": ("/network/v2.0/networks", {}),
        "subnets": ("/network/v2.0/subnets", {}),
        "ports": ("/network/v2.0/ports", {}),
        "network_quotas": (f"/network/v2.0/quotas/{pid}", {}),
        "users": ("/v3/users", {}),
        "projects": ("/v3/projects", {}),
        "role_assignments": ("/v3/role_assignments", {}),
        "domains": ("/v3/domains", {}),
    }
    out = {name: api.ok("GET", path, headers=headers) for name, (path, headers) in paths.items()}
    for k in out["keypairs"]["keypairs"]:
        name = k["keypair"]["name"]
        out[f"keypair {name}"] = api.ok("GET", f"/compute/v2.1/os-keypairs/{name}", headers=nova)
    return out


def migrate(workdir, to: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RUST_LOG="info", NO_COLOR="1")
    env.pop("JUMPGATE_CONFIG", None)
    return subprocess.run(
        [str(js.binary()), "--config", str(workdir / "jumpgate.conf"), "migrate-store", "--to", to],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300)


def test_a_sqlite_cloud_moves_to_postgresql_unchanged():
    # An empty `database` is SQLite (the harness would otherwise give it one on JUMPGATE_PG).
    server = js.start(keep=True, local={"database": ""})
    workdir = server.workdir
    restarted = None
    try:
        api = Api(server)
        cloud = populate(api)
        before = listings(api, cloud)
        kb_id = before[f"keypair kb-{cloud['tag']}"]["keypair"]["id"]
        assert len(before["servers"]["servers"]) == 2 and before["volumes"]["volumes"]
        assert len(before["keypairs"]["keypairs"]) == 2 and before["ports"]["ports"]
        server.stop()

        to = js.create_database(workdir)
        assert to is not None
        done = migrate(workdir, to)
        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"copied \d+ rows in \d+ tables", done.stderr), done.stderr
        assert "migrate-store complete" in done.stdout

        conf = workdir / "jumpgate.conf"
        text = conf.read_text()
        assert "\ndatabase = \n" in text
        conf.write_text(text.replace("\ndatabase = \n", f"\ndatabase = {to}\n"))
        restarted = js.restart(workdir)
        api.server = restarted
        after = listings(api, cloud)
        # Nothing legitimately changes: the same rows, the same clock-driven states (every
        # server ACTIVE and the volume available before the copy), the same host and port.
        for name in before:
            assert after[name] == before[name], name
        assert after[f"keypair kb-{cloud['tag']}"]["keypair"]["id"] == kb_id

        r = api("GET", f"/image/v2/images/{cloud['image']}/file")
        assert r.status_code == 200 and r.content == IMAGE_BYTES

        # New rows are numbered after the copied ones (the identity sequences moved on).
        api.ok("POST", "/compute/v2.1/os-keypairs", json={"keypair": {"name": f"kd-{cloud['tag']}"}})
        new = api.ok("GET", f"/compute/v2.1/os-keypairs/kd-{cloud['tag']}")["keypair"]
        assert new["id"] > max(after[f"keypair {k['keypair']['name']}"]["keypair"]["id"]
                               for k in after["keypairs"]["keypairs"])
        api.ok("POST", "/compute/v2.1/flavors", json={"flavor": {
            "name": f"new-{cloud['tag']}", "id": f"new-{cloud['tag']}", "ram": 128, "vcpus": 1, "disk": 1}})
        flavors = api.ok("GET", "/compute/v2.1/flavors?is_public=None")["flavors"]
        assert f"new-{cloud['tag']}" in [f["id"] for f in flavors]
        # The restarted jumpgate writes to PostgreSQL, not to the SQLite file it left.
        in_pg = subprocess.run(["psql", "-tA", to, "-c", "SELECT name FROM keypairs ORDER BY rowid"],
                               check=True, capture_output=True, text=True).stdout.split()
        assert in_pg == [f"kb-{cloud['tag']}", f"kc-{cloud['tag']}", f"kd-{cloud['tag']}"]
        restarted.stop()

        # The store is PostgreSQL now: there is no SQLite store to copy from.
        moved = migrate(workdir, to)
        assert moved.returncode != 0
        assert "[local] database already names another store" in moved.stderr, moved.stderr
        # From SQLite again, into the database that holds the cloud now: refused, whole.
        conf.write_text(text)
        again = migrate(workdir, to)
        assert again.returncode != 0
        assert "not empty" in again.stderr, again.stderr
    finally:
        if restarted is not None:
            restarted.stop()
        server._keep = False
        server.workdir = workdir
        server.stop()
