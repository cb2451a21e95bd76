"""Several hosts, one cloud: two jumpgates on one PostgreSQL database and one data_dir (as
behind a load balancer), each test talking to host A and host B directly, so that every
answer is known to come from the host it names:

- what one host stores the other serves: a server created on A is ACTIVE on B, a user
  created on A signs in on B, an image uploaded on A downloads on B;
- a token revoked on A is refused on B within a second;
- each timed state change happens once, whichever host settles it: servers and volumes
  created alternately on both all arrive, each create's instance action has one event,
  finished once;
- quotas hold across hosts: 50 parallel creates against a quota of 10, half on A and
  half on B: exactly 10 succeed (servers, volumes, ports);
- IP allocation never hands out one address twice: 100 ports created on both at once;
- kill -9 of B in the middle of 200 creates on both: A keeps answering, and afterwards
  every acknowledged server is listed, the quota usage is what is listed, and no address
  is held twice.

Needs JUMPGATE_PG (the scripts' start_postgresql); skipped without it."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import jumpgate_server as js
from test_durability import FLAVOR, Api, Tally, finish, kill, report

pytestmark = [
    pytest.mark.jumpgate_only,
    pytest.mark.skipif(js.postgresql() is None, reason="needs JUMPGATE_PG (several hosts share a database)"),
]


@pytest.fixture(scope="module")
def cloud():
    """Two jumpgates on one database behind nginx; the tests use `.hosts` directly."""
    front = js.start(hosts=2, keep=True)
    try:
        yield front
    finally:
        finish(front)


@pytest.fixture(scope="module")
def a_b(cloud):
    """Admin APIs on host A and host B (one token, good on both)."""
    a = Api.admin(cloud.hosts[0])
    return a, a.on(cloud.hosts[1])


def new_project(api: Api, **quotas) -> tuple[str, Api]:
    """A new project with the admin as member, its quotas set: its id, and the admin's API
    scoped to it (a token asked on A)."""
    name = f"hosts-{uuid.uuid4().hex[:10]}"
    pid = api.ok("POST", "/v3/projects",
                 json={"project": {"name": name, "domain_id": js.DOMAIN_ID}})["project"]["id"]
    admin_id = api.ok("GET", "/v3/users?name=admin")["users"][0]["id"]
    role = api.ok("GET", "/v3/roles?name=admin")["roles"][0]["id"]
    api.ok("PUT", f"/v3/projects/{pid}/users/{admin_id}/roles/{role}")
    token, _ = api.server.sign_in(requests.Session(), js.ADMIN_USER, api.server.admin_password, name)
    scoped = Api(api.server, token, pid)
    compute = {k: v for k, v in quotas.items() if k in ("instances", "cores", "ram")}
    volume = {k: v for k, v in quotas.items() if k in ("volumes", "gigabytes")}
    network = {k: v for k, v in quotas.items() if k in ("port", "network", "subnet")}
    if compute:
        api.ok("PUT", f"/compute/v2.1/os-quota-sets/{pid}", json={"quota_set": compute})
    if volume:
        api.ok("PUT", f"/volume/v3/{pid}/os-quota-sets/{pid}", json={"quota_set": volume})
    if network:
        api.ok("PUT", f"/network/v2.0/quotas/{pid}", json={"quota": network})
    return pid, scoped


def wait_for(check, timeout: float = 30.0, every: float = 0.05):
    """Polls `check()` until it answers something truthy; that answer (or the last)."""
    until = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > until:
            return got
        time.sleep(every)


def test_what_one_host_stores_the_other_serves(a_b):
    a, b = a_b
    net_id = a.network()
    image_data = os.urandom(64 * 1024)
    image_id = a.image(image_data)
    # An image uploaded on A downloads on B: one data_dir.
    r = b("GET", f"/image/v2/images/{image_id}/file")
    assert r.status_code == 200 and r.content == image_data, r.status_code
    # A server created on A builds and is ACTIVE when asked on B.
    sid = a.ok("POST", "/compute/v2.1/servers", json={"server": {
        "name": "on-a", "flavorRef": FLAVOR, "imageRef": image_id,
        "networks": [{"uuid": net_id}]}})["server"]["id"]
    status = wait_for(lambda: b.ok("GET", f"/compute/v2.1/servers/{sid}")["server"]["status"]
                      == "ACTIVE")
    assert status, b.ok("GET", f"/compute/v2.1/servers/{sid}")
    # A user created on A signs in on B.
    name = f"hosts-user-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    uid = a.ok("POST", "/v3/users", json={"user": {
        "name": name, "password": password, "domain_id": js.DOMAIN_ID}})["user"]["id"]
    member = a.ok("GET", "/v3/roles?name=member")["roles"][0]["id"]
    a.ok("PUT", f"/v3/projects/{a.project_id}/users/{uid}/roles/{member}")
    _, body = b.server.sign_in(requests.Session(), name, password, js.ADMIN_PROJECT)
    assert body["user"]["id"] == uid


def test_a_token_revoked_on_one_host_is_refused_on_the_other_within_a_second(a_b):
    a, b = a_b
    token, _ = a.server.sign_in(requests.Session(), js.ADMIN_USER, a.server.admin_password,
                                js.ADMIN_PROJECT)
    check = {"X-Auth-Token": a.token, "X-Subject-Token": token}
    assert b("GET", "/v3/auth/tokens", headers=check).status_code == 200
    # B has looked the token up (its revocations are cached); now A revokes it.
    r = a("DELETE", "/v3/auth/tokens", headers=check)
    assert r.status_code == 204, r.text
    revoked = time.monotonic()
    refused = wait_for(lambda: b("GET", "/v3/auth/tokens", headers=check).status_code == 404,
                       timeout=5.0, every=0.02)
    took = time.monotonic() - revoked
    assert refused, "B still validates a token A revoked, after 5 s"
    assert took <= 1.0, f"B refused the revoked token only after {took:.2f} s"
    # The token itself is refused too, not only reported revoked.
    r = requests.get(b.url + "/v3/auth/projects", headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 401, r.status_code


def test_each_timed_change_happens_once_whichever_host_settles_it(a_b):
    a, b = a_b
    pid, scoped = new_project(a, instances=-1, cores=-1, ram=-1, volumes=-1, gigabytes=-1)
    net_id = a.network()
    image_id = a.image(os.urandom(4096))
    on = [scoped, scoped.on(b.server)]
    servers, volumes = [], []
    for i in range(20):
        api = on[i % 2]
        servers.append(api.ok("POST", "/compute/v2.1/servers", json={"server": {
            "name": f"timed-{i}", "flavorRef": FLAVOR, "imageRef": image_id,
            "networks": [{"uuid": net_id}]}})["server"]["id"])
        volumes.append(api.ok("POST", f"/volume/v3/{pid}/volumes",
                              json={"volume": {"size": 1, "name": f"timed-{i}"}})["volume"]["id"])

    def statuses():
        got = scoped.ok("GET", "/compute/v2.1/servers/detail")["servers"]
        vols = scoped.ok("GET", f"/volume/v3/{pid}/volumes/detail")["volumes"]
        return Counter(s["status"] for s in got), Counter(v["status"] for v in vols)

    want = (Counter(ACTIVE=20), Counter(available=20))
    assert wait_for(lambda: statuses() == want, timeout=60), statuses()
    problems = []
    for sid in servers:
        actions = b.ok("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions",
                       headers={"OpenStack-API-Version": "compute 2.58"})["instanceActions"]
        if [x["action"] for x in actions] != ["create"]:
            problems.append(f"{sid}: actions {actions}")
            continue
        req = actions[0]["request_id"]
        action = b.ok("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions/{req}",
                      headers={"OpenStack-API-Version": "compute 2.58"})["instanceAction"]
        events = action.get("events", [])
        if len(events) != 1 or not events[0].get("finish_time") or events[0]["result"] != "Success":
            problems.append(f"{sid}: events {events}")
    assert not problems, "\n".join(problems)


def race(creates, via) -> Counter:
    """Runs every create at once from its own thread; the statuses answered, by host."""
    out: Counter = Counter()
    lock = threading.Lock()

    def one(i):
        r = creates[i]()
        with lock:
            out[(via[i], r.status_code)] += 1

    with ThreadPoolExecutor(max_workers=len(creates)) as pool:
        list(pool.map(one, range(len(creates))))
    return out


def test_quotas_hold_across_hosts(a_b):
    a, b = a_b
    net_id = a.network()
    image_id = a.image(os.urandom(4096))
    pid, scoped = new_project(a, instances=10, cores=-1, ram=-1, volumes=10, gigabytes=-1,
                              port=-1)
    on = [scoped, scoped.on(b.server)]
    via = ["A" if i % 2 == 0 else "B" for i in range(50)]
    kinds = {
        "servers": (lambda api: lambda: api("POST", "/compute/v2.1/servers", json={"server": {
            "name": "q", "flavorRef": FLAVOR, "imageRef": image_id,
            "networks": [{"uuid": net_id}]}}), 202, 403,
            lambda: len(scoped.ok("GET", "/compute/v2.1/servers")["servers"])),
        "volumes": (lambda api: lambda: api("POST", f"/volume/v3/{pid}/volumes",
                                            json={"volume": {"size": 1}}), 202, 413,
                    lambda: len(scoped.ok("GET", f"/volume/v3/{pid}/volumes")["volumes"])),
    }
    problems = []
    for kind, (make, ok, refused, count) in kinds.items():
        got = race([make(on[i % 2]) for i in range(50)], via)
        accepted = sum(n for (_, s), n in got.items() if s == ok)
        others = {k: n for k, n in got.items() if k[1] not in (ok, refused)}
        if accepted != 10 or others:
            problems.append(f"{kind}: {accepted} accepted (want 10); answers {dict(got)}")
        if count() != 10:
            problems.append(f"{kind}: {count()} listed (want 10)")
    # Ports: the servers above hold 10 of the project's ports already (Nova made one each),
    # so a fresh project for them.
    pid2, scoped2 = new_project(a, port=10)
    net2 = scoped2.ok("POST", "/network/v2.0/networks",
                      json={"network": {"name": "ports"}})["network"]["id"]
    scoped2.ok("POST", "/network/v2.0/subnets", json={"subnet": {
        "network_id": net2, "ip_version": 4, "cidr": "10.77.0.0/24"}})
    on2 = [scoped2, scoped2.on(b.server)]
    got = race([(lambda api: lambda: api("POST", "/network/v2.0/ports",
                                         json={"port": {"network_id": net2}}))(on2[i % 2])
                for i in range(50)], via)
    accepted = sum(n for (_, s), n in got.items() if s == 201)
    if accepted != 10 or any(s not in (201, 409) for (_, s) in got):
        problems.append(f"ports: {accepted} accepted (want 10); answers {dict(got)}")
    listed = a.ok("GET", f"/network/v2.0/ports?project_id={pid2}")["ports"]
    if len(listed) != 10:
        problems.append(f"ports: {len(listed)} listed (want 10)")
    assert not problems, "\n".join(problems)


def test_no_address_is_handed_out_twice(a_b):
    a, b = a_b
    pid, scoped = new_project(a, port=-1)
    net = scoped.ok("POST", "/network/v2.0/networks",
                    json={"network": {"name": "ips"}})["network"]["id"]
    scoped.ok("POST", "/network/v2.0/subnets", json={"subnet": {
        "network_id": net, "ip_version": 4, "cidr": "10.78.0.0/24"}})
    on = [scoped, scoped.on(b.server)]
    via = ["A" if i % 2 == 0 else "B" for i in range(100)]
    got = race([(lambda api: lambda: api("POST", "/network/v2.0/ports",
                                         json={"port": {"network_id": net}}))(on[i % 2])
                for i in range(100)], via)
    assert got[("A", 201)] + got[("B", 201)] == 100, dict(got)
    ports = a.ok("GET", f"/network/v2.0/ports?network_id={net}")["ports"]
    ips = [f["ip_address"] for p in ports for f in p["fixed_ips"]]
    assert len(ports) == 100 and len(ips) == 100
    twice = [ip for ip, n in Counter(ips).items() if n > 1]
    assert not twice, f"addresses held by two ports: {twice}"


def test_kill_one_host_in_the_middle_of_creates(a_b, cloud):
    """kill -9 of B while 200 creates run on both: A answers every one of its own (no
    5xx, no refused connection), and afterwards every acknowledged server is listed, the
    quota usage is what is listed, and no address is held twice."""
    a, b = a_b
    pid, scoped = new_project(a, instances=-1, cores=-1, ram=-1, port=-1)
    net_id = scoped.network()
    image_id = a.image(os.urandom(4096))
    tally = Tally()
    apis = {"A": scoped, "B": scoped.on(b.server)}
    victim = cloud.hosts[1]
    killed_at: list[float] = []

    def one(i):
        via = "A" if i % 2 == 0 else "B"
        if via == "B" and killed_at:
            return
        tally.record("server", via, lambda: apis[via].create_server(image_id, net_id))
        if i == 100 and not killed_at:
            killed_at.append(kill(victim))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(200)))
    problems = []
    # A's own creates must all have been answered 2xx; B's may fail once it is killed.
    on_a = [w for w in tally.failures_before() if " via A:" in w]
    if on_a:
        problems.append(f"{len(on_a)} failures on A: {on_a[:10]}")
    if tally.refused:
        problems.append(f"refused: {tally.refused[:10]}")
    listed = {s["id"] for s in a.ok(
        "GET", f"/compute/v2.1/servers?all_tenants=1&project_id={pid}&limit=1000")["servers"]}
    problems += tally.lost({"server": listed})
    usage = a.ok("GET", f"/compute/v2.1/os-quota-sets/{pid}/detail")["quota_set"]["instances"]
    if usage["in_use"] != len(listed):
        problems.append(f"quota usage {usage['in_use']} but {len(listed)} listed")
    ports = a.ok("GET", f"/network/v2.0/ports?network_id={net_id}")["ports"]
    ips = [f["ip_address"] for p in ports for f in p["fixed_ips"]]
    twice = [ip for ip, n in Counter(ips).items() if n > 1]
    if twice:
        problems.append(f"addresses held twice: {twice}")
    report(problems, tally)
