"""A request-level fuzz run (issue 15): every endpoint the local driver answers, as admin,
with malformed and hostile input — bodies that are not JSON, nested 5000 deep, numbers
past every integer type, wrong types in each common field, server and volume actions with
garbage arguments, hostile query strings and microversions — against ids that exist (a
network, an image, a volume, a server) and ids that do not. It asserts what a user can
count on: no 5xx answer but 501, no request left unanswered, and the server still up.

The run is seeded (env FUZZ_SEED, default 1) and bounded by a count of requests (env
FUZZ_REQUESTS), so a failure names a request that can be sent again."""

from __future__ import annotations

import json
import os
import random
import re

import pytest
import requests

import jumpgate_server as js

pytestmark = pytest.mark.jumpgate_only

SEED = int(os.environ.get("FUZZ_SEED", "1"))
REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "20000"))

# Values that broke other servers: past i32, i64 and u64, floats JSON cannot hold, NaN,
# empty and huge strings, NUL, dot segments, the wrong container type.
VALUES = [-1, 0, 2**31, 2**63, 2**64, -(2**63) - 1, 1e308, 1.5, "1e400", "-0", "NaN", None,
          True, "", "x" * 300, [], {}, "\u0000", "../..", 10**30]
# Field names of the five services' request bodies.
FIELDS = ["name", "size", "flavorRef", "imageRef", "networks", "ram", "vcpus", "disk",
          "min_disk", "min_ram", "limit", "marker", "cidr", "ip_version", "port_range_min",
          "port_range_max", "protocol", "volume_size", "min_count", "max_count", "metadata",
          "tags", "new_size", "swap", "rxtx_factor", "id", "project_id", "gateway_ip",
          "allocation_pools", "fixed_ips", "security_groups", "volume_id", "device",
          "key_name", "public_key", "cores", "instances", "gigabytes", "snapshots", "rules",
          "policies", "visibility", "container_format", "disk_format", "prefixlen",
          "default_prefixlen", "mtu", "segmentation_id", "type", "host", "status",
          "expires_at", "roles", "blob", "parent_id", "domain_id", "enabled", "password",
          "block_device_mapping_v2", "availability_zone", "user_data", "adminPass",
          "os:scheduler_hints", "accessIPv4", "accessIPv6", "personality", "description",
          "extra_specs", "new_type", "force", "readonly", "mountpoint", "connector"]
ACTIONS = ["resize", "rebuild", "createImage", "os-extend", "os-attach", "addFloatingIp",
           "os-migrateLive", "changePassword", "os-reset_status", "os-set_image_metadata",
           "evacuate", "os-volume_upload_image", "addSecurityGroup", "reboot",
           "os-getVNCConsole", "lock", "shelve", "os-retype", "createBackup", "revert",
           "os-reimage", "os-initialize_connection", "os-update_readonly_flag"]
NOT_JSON = ["{", '{"a":', "[" * 5000 + "]" * 5000, '"\\ud800"', '{"a": 1e999999}', "null", "[]",
            "1", "\xff\xfe"]
QUERIES = ["limit=-1", "limit=99999999999999999999", "limit=abc", "marker=zzz",
           "sort_key=;drop", "sort_dir=sideways", "changes-since=garbage", "offset=-5",
           "all_tenants=1", "name=%00", "fields=x", "page_size=0", "ip_version=7",
           "sort=name:up", "changes-before=2020", "minDisk=-1", "minRam=1e9999",
           "with_count=maybe", "is_public=x", "created_at=gte:junk", "size_min=-1", "tags=,,",
           "limit=0", "member_status=all", "visibility=x", "limit=1&marker=%2e%2e"]
MICROVERSIONS = ["2.96", "3.70", "latest", "2.1", "3.0", "99.9", "x", "2.", "-1.5"]


class Fuzz:
    def __init__(self, rnd: random.Random, project: str, real_ids: list[str]):
        self.rnd = rnd
        self.project = project
        self.ids = ["x", "00000000-0000-0000-0000-000000000000", "1", "a" * 300] + real_ids * 3

    def value(self):
        r = self.rnd
        return r.choice(VALUES + [{f: r.choice(VALUES)} for f in FIELDS[:5]] + [[r.choice(VALUES)] * 3])

    def body(self, path: str) -> str:
        r = self.rnd
        named = [s for s in path.split("/") if s and not s.startswith("{")]
        plural = named[-1] if named else "x"
        singular = plural[:-1] if plural.endswith("s") else plural
        roll = r.random()
        if roll < 0.1:
            return r.choice(NOT_JSON)
        fields = {f: self.value() for f in r.sample(FIELDS, r.randint(1, 6))}
        if roll < 0.55:
            return json.dumps({singular: fields})
        if roll < 0.75:
            return json.dumps({plural: fields})
        return json.dumps({r.choice(ACTIONS): fields if r.random() < 0.7 else self.value()})

    def request(self, path: str, methods: list[str]) -> tuple[str, str, dict, str | None]:
        r = self.rnd
        method = r.choice(methods)
        # Identity's own paths get no real project: deleting the admin's project is an
        # admin's right, and would end the run.
        if not path.startswith(("/v3", "/v2.0")):
            path = re.sub(r"\{(project_id|tenant_id)\}", self.project, path)
        path = re.sub(r"\{[^}]+\}", lambda _: r.choice(self.ids), path)
        if r.random() < 0.4:
            path += "?" + "&".join(r.sample(QUERIES, r.randint(1, 3)))
        headers = {"Content-Type": "application/json"}
        service = path.split("/")[1]
        if service in ("compute", "volume") and r.random() < 0.3:
            headers["OpenStack-API-Version"] = f"{service} {r.choice(MICROVERSIONS)}"
        if method == "PATCH" and service == "image":
            headers["Content-Type"] = "application/openstack-images-v2.1-json-patch"
        body = self.body(path) if method in ("POST", "PUT", "PATCH") else None
        return method, path, headers, body


def test_no_request_makes_a_5xx_or_takes_the_server_down():
    server = js.start()
    try:
        run(server)
    finally:
        server.stop()


def run(server: js.Server):
    sess = server.session()
    token = sess.get_token()
    project = sess.get_project_id()
    api = requests.Session()
    api.verify = server.verify

    def call(method, path, **kwargs):
        headers = kwargs.pop("headers", {})
        headers["X-Auth-Token"] = token
        return api.request(method, server.url + path, headers=headers, timeout=60, **kwargs)

    net = call("POST", "/network/v2.0/networks", json={"network": {"name": "fuzz"}}).json()
    net = net["network"]["id"]
    call("POST", "/network/v2.0/subnets",
         json={"subnet": {"network_id": net, "cidr": "10.9.0.0/24", "ip_version": 4}})
    image = call("POST", "/image/v2/images",
                 json={"name": "fuzz", "disk_format": "raw", "container_format": "bare"}).json()["id"]
    call("PUT", f"/image/v2/images/{image}/file", data=b"x" * 1024,
         headers={"Content-Type": "application/octet-stream"})
    volume = call("POST", f"/volume/v3/{project}/volumes",
                  json={"volume": {"size": 1, "name": "fuzz"}}).json()["volume"]["id"]
    vm = call("POST", "/compute/v2.1/servers", json={"server": {
        "name": "fuzz", "imageRef": image, "flavorRef": "42", "networks": [{"uuid": net}]}})
    real = [net, image, volume, vm.json()["server"]["id"], "42"]

    fuzz = Fuzz(random.Random(SEED), project, real)
    table = [(path, methods) for eps in js.endpoints(server).values()
             for methods, path in eps.values()]
    assert len(table) > 300, table
    failures = {}
    for n in range(REQUESTS):
        path, methods = fuzz.rnd.choice(table)
        method, url, headers, body = fuzz.request(path, methods)
        # A request the server never answers raises here (timeout) and fails the run.
        r = call(method, url, headers=headers, data=body.encode("utf-8", "surrogatepass") if body else None)
        if r.status_code == 401:
            token = server.session().get_token()  # an admin action ended the token
        if r.status_code >= 500 and r.status_code != 501:
            failures.setdefault((method, path, r.status_code), (n, url, body, r.text[:300]))
    assert server.alive(), server.log()[-3000:]
    assert not failures, "\n".join(
        f"#{n} {method} {url} {(body or '')[:300]!r} -> {status}: {text}"
        for (method, _, status), (n, url, body, text) in failures.items()
    )
