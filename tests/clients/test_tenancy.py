"""Tenancy (issue 15): a member of project B names project A's resources by id in every
request that takes one (boot on A's network, from A's private image, with A's security
group or key pair, attach or boot from A's volume, a volume from A's snapshot, volume or
image, a port, subnet or router interface on A's network, a backup, snapshot or transfer
of A's volume, a rule naming A's group) and gets what the real service gives for what the
caller cannot see: its not-found, in its words, and nothing made."""

from __future__ import annotations

import time

import pytest
import requests

import jumpgate_server as js

pytestmark = pytest.mark.jumpgate_only


def test_another_projects_resources_are_not_found_wherever_named():
    server = js.start()
    try:
        refused(server)
    finally:
        server.stop()


def refused(s: js.Server):
    U = s.url
    api = requests.Session()
    api.verify = s.verify

    def sign_in(user, password, project):
        token, body = s.sign_in(api, user, password, project)
        return token, body["project"]["id"]

    def ok(r):
        assert r.status_code < 300, (r.status_code, r.text)
        return r.json() if r.content else None

    admin, padmin = sign_in("admin", s.admin_password, "admin")
    A = {"X-Auth-Token": admin}
    roles = {r["name"]: r["id"] for r in ok(api.get(U + "/v3/roles", headers=A))["roles"]}
    tokens = {}
    for p in ("tenancy-a", "tenancy-b"):
        pid = ok(api.post(U + "/v3/projects", json={"project": {"name": p}}, headers=A))["project"]["id"]
        uid = ok(api.post(U + "/v3/users", json={"user": {"name": p + "-user", "password": "pw"}}, headers=A))["user"]["id"]
        ok(api.put(U + f"/v3/projects/{pid}/users/{uid}/roles/{roles['member']}", headers=A))
        tokens[p] = sign_in(p + "-user", "pw", p)
    (ta, pa), (tb, pb) = tokens["tenancy-a"], tokens["tenancy-b"]
    HA, HB = {"X-Auth-Token": ta}, {"X-Auth-Token": tb}
    raw = {"Content-Type": "application/octet-stream"}

    def wait(path, headers, key, status):
        for _ in range(100):
            if ok(api.get(U + path, headers=headers))[key]["status"] == status:
                return
            time.sleep(0.1)
        raise AssertionError(f"{path} never {status}")

    # Project A's resources.
    net = ok(api.post(U + "/network/v2.0/networks", json={"network": {"name": "na"}}, headers=HA))["network"]["id"]
    sub = ok(api.post(U + "/network/v2.0/subnets", json={"subnet": {"network_id": net, "cidr": "10.1.0.0/24", "ip_version": 4}}, headers=HA))["subnet"]["id"]
    sg = ok(api.post(U + "/network/v2.0/security-groups", json={"security_group": {"name": "sga"}}, headers=HA))["security_group"]["id"]
    img = ok(api.post(U + "/image/v2/images", json={"name": "ia", "disk_format": "raw", "container_format": "bare"}, headers=HA))["id"]
    ok(api.put(U + f"/image/v2/images/{img}/file", data=b"x" * 1024, headers={**HA, **raw}))
    vol = ok(api.post(U + f"/volume/v3/{pa}/volumes", json={"volume": {"size": 1}}, headers=HA))["volume"]["id"]
    wait(f"/volume/v3/{pa}/volumes/{vol}", HA, "volume", "available")
    snap = ok(api.post(U + f"/volume/v3/{pa}/snapshots", json={"snapshot": {"volume_id": vol}}, headers=HA))["snapshot"]["id"]
    ok(api.post(U + "/compute/v2.1/os-keypairs", json={"keypair": {"name": "ka"}}, headers=HA))
    port = ok(api.post(U + "/network/v2.0/ports", json={"port": {"network_id": net}}, headers=HA))["port"]["id"]
    backup = ok(api.post(U + f"/volume/v3/{pa}/backups", json={"backup": {"volume_id": vol}}, headers=HA))["backup"]["id"]
    wait(f"/volume/v3/{pa}/backups/{backup}", HA, "backup", "available")
    # A flavor and a volume type only A may use (the admin makes them, with A's access).
    flavor = ok(api.post(U + "/compute/v2.1/flavors", json={"flavor": {"name": "fa", "ram": 64, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": False}}, headers=A))["flavor"]["id"]
    ok(api.post(U + f"/compute/v2.1/flavors/{flavor}/action", json={"addTenantAccess": {"tenant": pa}}, headers=A))
    vtype = ok(api.post(U + f"/volume/v3/{padmin}/types", json={"volume_type": {"name": "ta", "os-volume-type-access:is_public": False}}, headers=A))["volume_type"]["id"]
    ok(api.post(U + f"/volume/v3/{padmin}/types/{vtype}/action", json={"addProjectAccess": {"project": pa}}, headers=A))
    ext = ok(api.post(U + "/network/v2.0/networks", json={"network": {"name": "ext", "router:external": True}}, headers=A))["network"]["id"]
    ok(api.post(U + "/network/v2.0/subnets", json={"subnet": {"network_id": ext, "cidr": "172.24.9.0/24", "ip_version": 4}}, headers=A))

    # Project B's own, to boot and route with.
    netb = ok(api.post(U + "/network/v2.0/networks", json={"network": {"name": "nb"}}, headers=HB))["network"]["id"]
    ok(api.post(U + "/network/v2.0/subnets", json={"subnet": {"network_id": netb, "cidr": "10.2.0.0/24", "ip_version": 4}}, headers=HB))
    imgb = ok(api.post(U + "/image/v2/images", json={"name": "ib", "disk_format": "raw", "container_format": "bare"}, headers=HB))["id"]
    ok(api.put(U + f"/image/v2/images/{imgb}/file", data=b"x" * 1024, headers={**HB, **raw}))
    srvb = ok(api.post(U + "/compute/v2.1/servers", json={"server": {"name": "sb", "imageRef": imgb, "flavorRef": "42", "networks": [{"uuid": netb}]}}, headers=HB))["server"]["id"]
    wait(f"/compute/v2.1/servers/{srvb}", HB, "server", "ACTIVE")
    sgb = ok(api.get(U + "/network/v2.0/security-groups?name=default", headers=HB))["security_groups"][0]["id"]
    router = ok(api.post(U + "/network/v2.0/routers", json={"router": {"name": "rb"}}, headers=HB))["router"]["id"]

    boot = {"name": "x", "imageRef": imgb, "flavorRef": "42", "networks": [{"uuid": netb}]}
    cases = [
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "networks": [{"uuid": net}]}},
         400, f"Network {net} could not be found."),
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "imageRef": img}},
         400, "Can not find requested image"),
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "security_groups": [{"name": sg}]}},
         400, f"Security group {sg} not found for project {pb}."),
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "key_name": "ka"}},
         400, "Invalid key_name provided."),
        ("POST", f"/compute/v2.1/servers/{srvb}/os-volume_attachments", {"volumeAttachment": {"volumeId": vol}},
         404, f"Volume {vol} could not be found."),
        ("POST", "/compute/v2.1/servers", {"server": {"name": "x", "flavorRef": "42", "networks": [{"uuid": netb}], "block_device_mapping_v2": [{"uuid": vol, "source_type": "volume", "destination_type": "volume", "boot_index": 0}]}},
         400, f"Block Device Mapping is Invalid: failed to get volume {vol}."),
        ("POST", f"/volume/v3/{pb}/volumes", {"volume": {"size": 1, "snapshot_id": snap}},
         404, f"Snapshot {snap} could not be found."),
        ("POST", f"/volume/v3/{pb}/volumes", {"volume": {"size": 1, "source_volid": vol}},
         404, f"Volume {vol} could not be found."),
        ("POST", f"/volume/v3/{pb}/volumes", {"volume": {"size": 1, "imageRef": img}},
         400, "Invalid image identifier or unable to access requested image."),
        ("POST", f"/volume/v3/{pb}/backups", {"backup": {"volume_id": vol}},
         404, f"Volume {vol} could not be found."),
        ("POST", f"/volume/v3/{pb}/snapshots", {"snapshot": {"volume_id": vol}},
         404, f"Volume {vol} could not be found."),
        ("POST", f"/volume/v3/{pb}/os-volume-transfer", {"transfer": {"volume_id": vol}},
         404, f"Volume {vol} could not be found."),
        ("POST", "/network/v2.0/ports", {"port": {"network_id": net}},
         404, f"Network {net} could not be found."),
        ("POST", "/network/v2.0/subnets", {"subnet": {"network_id": net, "cidr": "10.3.0.0/24", "ip_version": 4}},
         404, f"Network {net} could not be found."),
        ("POST", "/network/v2.0/ports", {"port": {"network_id": netb, "security_groups": [sg]}},
         404, f"Security group {sg} does not exist"),
        ("POST", "/network/v2.0/security-group-rules", {"security_group_rule": {"security_group_id": sgb, "direction": "ingress", "remote_group_id": sg}},
         404, f"Security group {sg} does not exist"),
        ("PUT", f"/network/v2.0/routers/{router}/add_router_interface", {"subnet_id": sub},
         404, f"Subnet {sub} could not be found."),
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "flavorRef": flavor}},
         400, f"Flavor {flavor} could not be found."),
        ("POST", "/compute/v2.1/servers", {"server": {**boot, "networks": [{"port": port}]}},
         400, f"Port id {port} could not be found."),
        ("POST", f"/compute/v2.1/servers/{srvb}/os-interface", {"interfaceAttachment": {"port_id": port}},
         404, f"Port id {port} could not be found."),
        ("POST", f"/volume/v3/{pb}/volumes", {"volume": {"size": 1, "volume_type": vtype}},
         404, f"Volume type {vtype} could not be found."),
        ("POST", f"/volume/v3/{pb}/volumes", {"volume": {"size": 1, "backup_id": backup}},
         404, f"Backup {backup} could not be found."),
        ("POST", f"/volume/v3/{pb}/backups/{backup}/restore", {"restore": {}},
         404, f"Backup {backup} could not be found."),
        ("POST", "/network/v2.0/floatingips", {"floatingip": {"floating_network_id": ext, "port_id": port}},
         404, f"Port {port} could not be found."),
        ("PUT", f"/network/v2.0/ports/{port}", {"port": {"name": "taken"}},
         404, f"Port {port} could not be found."),
    ]
    wrong = []
    for method, path, body, status, message in cases:
        version = {"OpenStack-API-Version": "compute 2.67" if path.startswith("/compute") else "volume 3.60"}
        r = api.request(method, U + path, json=body, headers={**HB, **version})
        if r.status_code != status or message not in r.text:
            wrong.append(f"{method} {path} {body}: {r.status_code} {r.text[:300]} (want {status} {message!r})")
    assert not wrong, "\n".join(wrong)
    # Nothing was made in B from A's things: B's one server, B's volumes none.
    assert [x["id"] for x in ok(api.get(U + "/compute/v2.1/servers", headers=HB))["servers"]] == [srvb]
    assert ok(api.get(U + f"/volume/v3/{pb}/volumes", headers=HB))["volumes"] == []
