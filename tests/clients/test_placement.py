"""Placement through osc-placement (`openstack resource provider …`), as an operator types
it, and over plain HTTP for what a client library relies on: the version document,
microversion negotiation, Placement's error document and its codes, generations.

The compute host is a resource provider from the start (its inventory is `[local]`'s host
size with Nova's ratios) and holds every server's flavor;
every other provider, class, trait and consumer here is the test's own and is removed
after it."""

from __future__ import annotations

import time
import uuid

import pytest

import jumpgate_server as js

LATEST = "1.39"


@pytest.fixture(autouse=True)
def _placement_enabled(server):
    if "placement" not in server.services:
        pytest.skip("the server under test does not serve placement")


@pytest.fixture
def pl(osc):
    """`openstack --os-placement-api-version V …`, JSON out (1.39 unless `version=`)."""

    def run(*args, version=LATEST, json=True):
        return osc("--os-placement-api-version", version, *args, json=json)

    def fails(*args, version=LATEST):
        return osc.fails("--os-placement-api-version", version, *args)

    run.fails = fails
    return run


@pytest.fixture
def provider(pl, osc, unique):
    """A fresh resource provider (deleted after the test, allocations first)."""
    made = []

    def make(name=None, **kwargs):
        args = ["resource", "provider", "create", name or unique("rp")]
        for k, v in kwargs.items():
            args += [f"--{k.replace('_', '-')}", v]
        rp = pl(*args)
        made.append(rp["uuid"])
        return rp

    yield make
    # Children first; a provider a failed test left allocations on stays (the run's
    # cloud is thrown away).
    for rp in reversed(made):
        osc.run("--os-placement-api-version", LATEST, "resource", "provider", "delete", rp)


@pytest.fixture
def token(server):
    import requests

    tok, _ = server.sign_in(requests.Session(), js.ADMIN_USER, server.admin_password,
                            js.ADMIN_PROJECT)
    return tok


def api(server, token, method, path, version=None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if version is not None:
        headers["OpenStack-API-Version"] = f"placement {version}"
    return server.request(method, "/placement" + path, token=token, headers=headers, **kwargs)


# --- the compute host ----------------------------------------------------------------------


def test_the_compute_host_is_a_provider_with_the_configured_inventory(pl, server):
    rps = pl("resource", "provider", "list")
    assert rps, "the compute host's provider is missing"
    host = rps[0]
    inventory = {i["resource_class"]: i for i in
                 pl("resource", "provider", "inventory", "list", host["uuid"])}
    assert {"VCPU", "MEMORY_MB"} <= set(inventory), inventory
    assert inventory["VCPU"]["allocation_ratio"] == 4.0
    if server.workdir is not None:  # a jumpgate of ours: the harness's [local] size
        assert inventory["VCPU"]["total"] == int(js.LOCAL_SETTINGS["vcpus"])
        assert inventory["MEMORY_MB"]["total"] == int(js.LOCAL_SETTINGS["memory_mb"])
    assert inventory["VCPU"]["max_unit"] == inventory["VCPU"]["total"]
    assert inventory["MEMORY_MB"]["reserved"] <= 512
    usages = {u["resource_class"]: u["usage"] for u in
              pl("resource", "provider", "usage", "show", host["uuid"])}
    assert set(usages) == set(inventory)


# --- providers ---------------------------------------------------------------------------


def test_provider_create_show_set_delete(pl, provider, unique):
    rp = provider()
    assert rp["generation"] == 0
    assert rp["root_provider_uuid"] == rp["uuid"] and rp["parent_provider_uuid"] is None
    shown = pl("resource", "provider", "show", rp["uuid"])
    assert shown["name"] == rp["name"]
    renamed = unique("renamed")
    pl("resource", "provider", "set", rp["uuid"], "--name", renamed)
    assert pl("resource", "provider", "show", rp["uuid"])["name"] == renamed
    listed = pl("resource", "provider", "list", "--name", renamed)
    assert [p["uuid"] for p in listed] == [rp["uuid"]]
    child = provider(parent_provider=rp["uuid"])
    assert child["root_provider_uuid"] == rp["uuid"]
    tree = pl("resource", "provider", "list", "--in-tree", child["uuid"])
    assert {p["uuid"] for p in tree} == {rp["uuid"], child["uuid"]}
    # A parent with a child stays.
    err = pl.fails("resource", "provider", "delete", rp["uuid"])
    assert err.status == 409, err.stderr
    pl("resource", "provider", "delete", child["uuid"], json=False)
    pl("resource", "provider", "delete", rp["uuid"], json=False)
    err = pl.fails("resource", "provider", "show", rp["uuid"])
    assert err.status == 404, err.stderr


def test_a_duplicate_name_is_a_conflict(pl, provider):
    rp = provider()
    err = pl.fails("resource", "provider", "create", rp["name"])
    assert err.status == 409, err.stderr


# --- inventories and usages -----------------------------------------------------------------


def test_inventory_set_and_list(pl, provider):
    rp = provider()
    pl("resource", "provider", "inventory", "set", rp["uuid"],
       "--resource", "VCPU=8", "--resource", "VCPU:allocation_ratio=2.0",
       "--resource", "MEMORY_MB=4096", "--resource", "MEMORY_MB:reserved=512")
    inventory = {i["resource_class"]: i for i in
                 pl("resource", "provider", "inventory", "list", rp["uuid"])}
    assert inventory["VCPU"]["total"] == 8 and inventory["VCPU"]["allocation_ratio"] == 2.0
    assert inventory["MEMORY_MB"]["reserved"] == 512
    assert inventory["VCPU"]["used"] == 0
    assert pl("resource", "provider", "show", rp["uuid"])["generation"] == 1
    # reserved above total is Placement's 400.
    err = pl.fails("resource", "provider", "inventory", "set", rp["uuid"],
                   "--resource", "VCPU=2", "--resource", "VCPU:reserved=3")
    assert err.status == 400, err.stderr


def test_usage_show_follows_allocations(pl, provider):
    rp = provider()
    pl("resource", "provider", "inventory", "set", rp["uuid"], "--resource", "VCPU=4")
    consumer = str(uuid.uuid4())
    pl("resource", "provider", "allocation", "set", consumer,
       "--allocation", f"rp={rp['uuid']},VCPU=3",
       "--project-id", str(uuid.uuid4()), "--user-id", str(uuid.uuid4()),
       "--consumer-type", "INSTANCE")
    usages = {u["resource_class"]: u["usage"] for u in
              pl("resource", "provider", "usage", "show", rp["uuid"])}
    assert usages == {"VCPU": 3}
    # No room for 2 more.
    other = str(uuid.uuid4())
    err = pl.fails("resource", "provider", "allocation", "set", other,
                   "--allocation", f"rp={rp['uuid']},VCPU=2",
                   "--project-id", str(uuid.uuid4()), "--user-id", str(uuid.uuid4()),
                   "--consumer-type", "INSTANCE")
    assert err.status == 409, err.stderr
    pl("resource", "provider", "allocation", "delete", consumer, json=False)
    usages = {u["resource_class"]: u["usage"] for u in
              pl("resource", "provider", "usage", "show", rp["uuid"])}
    assert usages == {"VCPU": 0}


# --- allocations -----------------------------------------------------------------------------


def test_allocation_set_and_show(pl, provider):
    rp = provider()
    pl("resource", "provider", "inventory", "set", rp["uuid"],
       "--resource", "VCPU=8", "--resource", "MEMORY_MB=2048")
    consumer, project, user = (str(uuid.uuid4()) for _ in range(3))
    rows = pl("resource", "provider", "allocation", "set", consumer,
              "--allocation", f"rp={rp['uuid']},VCPU=2,MEMORY_MB=512",
              "--project-id", project, "--user-id", user, "--consumer-type", "INSTANCE")
    assert rows[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    assert rows[0]["project_id"] == project and rows[0]["consumer_type"] == "INSTANCE"
    shown = pl("resource", "provider", "allocation", "show", consumer)
    assert shown[0]["resource_provider"] == rp["uuid"]
    assert shown[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    # Setting again replaces (osc-placement sends the consumer generation it read).
    pl("resource", "provider", "allocation", "set", consumer,
       "--allocation", f"rp={rp['uuid']},VCPU=1",
       "--project-id", project, "--user-id", user, "--consumer-type", "INSTANCE")
    shown = pl("resource", "provider", "allocation", "show", consumer)
    assert shown[0]["resources"] == {"VCPU": 1}
    pl("resource", "provider", "allocation", "delete", consumer, json=False)
    assert pl("resource", "provider", "allocation", "show", consumer) == []


def test_allocation_candidates(pl, provider):
    rp = provider()
    pl("resource", "provider", "inventory", "set", rp["uuid"],
       "--resource", "VCPU=2", "--resource", "MEMORY_MB=1024")
    pl("resource", "provider", "trait", "set", rp["uuid"], "--trait", "HW_CPU_X86_AVX2")
    # osc-placement takes one class per --resource (it joins them into resources=VCPU:1,…).
    found = pl("allocation", "candidate", "list", "--resource", "VCPU=1",
               "--resource", "MEMORY_MB=512")
    mine = [c for c in found if c["resource provider"] == rp["uuid"]]
    assert mine, found
    assert "VCPU=1" in mine[0]["allocation"] and "MEMORY_MB=512" in mine[0]["allocation"]
    required = pl("allocation", "candidate", "list", "--resource", "VCPU=1",
                  "--required", "HW_CPU_X86_AVX2")
    assert {c["resource provider"] for c in required} == {rp["uuid"]}
    assert pl("allocation", "candidate", "list", "--resource", "VCPU=100000") == []


def test_aggregates_and_member_of(pl, provider, server, token):
    rp, other = provider(), provider()
    agg = str(uuid.uuid4())
    # From 1.19 the provider's generation is named, and a stale one refused.
    assert pl.fails("resource", "provider", "aggregate", "set", rp["uuid"],
                    "--aggregate", agg, "--generation", "5").status == 409
    rows = pl("resource", "provider", "aggregate", "set", rp["uuid"],
              "--aggregate", agg, "--generation", "0")
    assert [r["uuid"] for r in rows] == [agg]
    assert [r["uuid"] for r in pl("resource", "provider", "aggregate", "list", rp["uuid"])] == [agg]
    members = {p["uuid"] for p in pl("resource", "provider", "list", "--member-of", agg)}
    assert members == {rp["uuid"]}
    # osc-placement sends every --member-of as `in:…`, so a `!` is Placement's 400 there;
    # over HTTP a negation (1.32) leaves the member out.
    assert pl.fails("resource", "provider", "list", "--member-of", f"!{agg}").status == 400
    r = api(server, token, "GET", "/resource_providers", "1.32", params={"member_of": f"!{agg}"})
    others = {p["uuid"] for p in r.json()["resource_providers"]}
    assert other["uuid"] in others and rp["uuid"] not in others
    # Before 1.19 a bare list, no generation.
    pl("resource", "provider", "aggregate", "set", rp["uuid"], version="1.1")
    assert pl("resource", "provider", "aggregate", "list", rp["uuid"], version="1.1") == []


# --- traits and resource classes ---------------------------------------------------------------


def test_traits(pl, provider, unique):
    names = {t["name"] for t in pl("trait", "list")}
    assert "HW_CPU_X86_AVX2" in names and "COMPUTE_VOLUME_MULTI_ATTACH" in names
    custom = "CUSTOM_" + unique("T").upper().replace("-", "_")
    pl("trait", "create", custom, json=False)
    rp = provider()
    pl("resource", "provider", "trait", "set", rp["uuid"],
       "--trait", custom, "--trait", "HW_CPU_X86_SSE")
    listed = {t["name"] for t in pl("resource", "provider", "trait", "list", rp["uuid"])}
    assert listed == {custom, "HW_CPU_X86_SSE"}
    # A trait in use stays; unknown traits are refused.
    assert pl.fails("trait", "delete", custom).status == 409
    err = pl.fails("resource", "provider", "trait", "set", rp["uuid"], "--trait", "CUSTOM_NOPE_X")
    assert err.status == 400, err.stderr
    pl("resource", "provider", "trait", "delete", rp["uuid"], json=False)
    pl("trait", "delete", custom, json=False)


def test_resource_classes(pl, unique):
    names = [c["name"] for c in pl("resource", "class", "list")]
    assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
    custom = "CUSTOM_" + unique("RC").upper().replace("-", "_")
    pl("resource", "class", "create", custom, json=False)
    assert pl("resource", "class", "show", custom)["name"] == custom
    assert custom in [c["name"] for c in pl("resource", "class", "list")]
    assert pl.fails("resource", "class", "delete", "VCPU").status == 400
    pl("resource", "class", "delete", custom, json=False)
    assert pl.fails("resource", "class", "show", custom).status == 404


# --- generations over HTTP ----------------------------------------------------------------------


def test_a_stale_generation_is_a_409_concurrent_update(server, token, provider):
    rp = provider()
    body = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}}
    r = api(server, token, "PUT", f"/resource_providers/{rp['uuid']}/inventories", "1.39",
            json=body)
    assert r.status_code == 200, r.text
    assert r.json()["resource_provider_generation"] == 1
    r = api(server, token, "PUT", f"/resource_providers/{rp['uuid']}/inventories", "1.39",
            json=body)
    assert r.status_code == 409, r.text
    error = r.json()["errors"][0]
    assert error["code"] == "placement.concurrent_update"
    assert error["status"] == 409 and error["title"] == "Conflict"
    assert error["request_id"] == r.headers["X-OpenStack-Request-Id"]
    # Traits too.
    r = api(server, token, "PUT", f"/resource_providers/{rp['uuid']}/traits", "1.39",
            json={"traits": [], "resource_provider_generation": 0})
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "placement.concurrent_update"


def test_consumer_generations(server, token, provider):
    rp = provider()
    api(server, token, "PUT", f"/resource_providers/{rp['uuid']}/inventories", "1.39",
        json={"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}}})
    consumer = str(uuid.uuid4())
    body = {"allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}},
            "project_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()),
            "consumer_generation": None, "consumer_type": "INSTANCE"}
    assert api(server, token, "PUT", f"/allocations/{consumer}", "1.39", json=body).status_code == 204
    # The same body again names a consumer that now exists: stale.
    r = api(server, token, "PUT", f"/allocations/{consumer}", "1.39", json=body)
    assert r.status_code == 409, r.text
    assert "consumer generation conflict" in r.json()["errors"][0]["detail"]
    shown = api(server, token, "GET", f"/allocations/{consumer}", "1.39").json()
    assert shown["consumer_generation"] == 1 and shown["consumer_type"] == "INSTANCE"
    assert api(server, token, "DELETE", f"/allocations/{consumer}").status_code == 204


def test_usages_of_a_project_by_consumer_type(server, token, provider):
    rp = provider()
    api(server, token, "PUT", f"/resource_providers/{rp['uuid']}/inventories", "1.39",
        json={"resource_provider_generation": 0,
              "inventories": {"VCPU": {"total": 8}, "MEMORY_MB": {"total": 4096}}})
    project, user = str(uuid.uuid4()), str(uuid.uuid4())
    consumers = [str(uuid.uuid4()) for _ in range(3)]
    for consumer, kind in zip(consumers, ("INSTANCE", "INSTANCE", "MIGRATION")):
        r = api(server, token, "PUT", f"/allocations/{consumer}", "1.39", json={
            "allocations": {rp["uuid"]: {"resources": {"VCPU": 1, "MEMORY_MB": 256}}},
            "project_id": project, "user_id": user, "consumer_generation": None,
            "consumer_type": kind})
        assert r.status_code == 204, r.text
    r = api(server, token, "GET", "/usages", "1.9", params={"project_id": project})
    assert r.json() == {"usages": {"VCPU": 3, "MEMORY_MB": 768}}, r.text
    r = api(server, token, "GET", "/usages", "1.38", params={"project_id": project})
    assert r.json() == {"usages": {
        "INSTANCE": {"consumer_count": 2, "VCPU": 2, "MEMORY_MB": 512},
        "MIGRATION": {"consumer_count": 1, "VCPU": 1, "MEMORY_MB": 256}}}, r.text
    r = api(server, token, "GET", "/usages", "1.38",
            params={"project_id": project, "user_id": str(uuid.uuid4())})
    assert r.json() == {"usages": {}}
    assert api(server, token, "GET", "/usages", "1.9").status_code == 400
    for consumer in consumers:
        assert api(server, token, "DELETE", f"/allocations/{consumer}").status_code == 204


def test_reshaper_moves_inventory_and_allocations_together(server, token, provider):
    root = provider()
    child = provider(parent_provider=root["uuid"])
    r = api(server, token, "PUT", f"/resource_providers/{root['uuid']}/inventories", "1.39",
            json={"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}})
    assert r.status_code == 200, r.text
    consumer, project, user = (str(uuid.uuid4()) for _ in range(3))
    r = api(server, token, "PUT", f"/allocations/{consumer}", "1.39", json={
        "allocations": {root["uuid"]: {"resources": {"VCPU": 2}}}, "project_id": project,
        "user_id": user, "consumer_generation": None, "consumer_type": "INSTANCE"})
    assert r.status_code == 204, r.text
    generation = api(server, token, "GET", f"/resource_providers/{root['uuid']}",
                     "1.39").json()["generation"]
    reshape = {
        "inventories": {
            root["uuid"]: {"resource_provider_generation": generation, "inventories": {}},
            child["uuid"]: {"resource_provider_generation": 0,
                            "inventories": {"VCPU": {"total": 8}}},
        },
        "allocations": {consumer: {
            "allocations": {child["uuid"]: {"resources": {"VCPU": 2}}}, "project_id": project,
            "user_id": user, "consumer_generation": 1, "consumer_type": "INSTANCE"}},
    }
    assert api(server, token, "POST", "/reshaper", "1.29", json=reshape).status_code == 404
    r = api(server, token, "POST", "/reshaper", "1.39", json=reshape)
    assert r.status_code == 204, r.text
    shown = api(server, token, "GET", f"/allocations/{consumer}", "1.39").json()
    assert list(shown["allocations"]) == [child["uuid"]]
    # The same reshape again names stale generations.
    r = api(server, token, "POST", "/reshaper", "1.39", json=reshape)
    assert r.status_code == 409 and r.json()["errors"][0]["code"] == "placement.concurrent_update"
    assert api(server, token, "DELETE", f"/allocations/{consumer}").status_code == 204


# --- the version document, microversions, errors ----------------------------------------------------


def test_version_document_needs_no_token(server):
    r = server.request("GET", "/placement/")
    assert r.status_code == 200, r.text
    assert r.json() == {"versions": [{
        "id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]}
    assert r.headers["OpenStack-API-Version"] == "placement 1.0"


def test_microversion_negotiation(server, token):
    r = api(server, token, "GET", "/resource_providers", "latest")
    assert r.status_code == 200
    assert r.headers["OpenStack-API-Version"] == "placement 1.39"
    assert "parent_provider_uuid" in r.json()["resource_providers"][0]
    old = api(server, token, "GET", "/resource_providers", "1.13").json()
    assert "parent_provider_uuid" not in old["resource_providers"][0]
    r = api(server, token, "GET", "/resource_providers", "1.40")
    assert r.status_code == 406, r.text
    error = r.json()["errors"][0]
    assert error["detail"].strip().endswith("Unacceptable version header: 1.40")
    assert (error["max_version"], error["min_version"]) == ("1.39", "1.0")
    r = api(server, token, "GET", "/resource_providers", "one.two")
    assert r.status_code == 400, r.text
    assert "invalid version string" in r.json()["errors"][0]["detail"]
    # An API that came later is 404 before its version.
    assert api(server, token, "GET", "/traits", "1.5").status_code == 404
    assert api(server, token, "GET", "/traits", "1.6").status_code == 200


def test_errors_are_placements_document(server, token):
    missing = str(uuid.uuid4())
    r = api(server, token, "GET", f"/resource_providers/{missing}", "1.22")
    assert r.status_code == 404
    error = r.json()["errors"][0]
    assert set(error) == {"status", "title", "detail", "request_id"}, error
    assert error["detail"].startswith("The resource could not be found.\n\n ")
    r = api(server, token, "GET", f"/resource_providers/{missing}", "1.23")
    assert r.json()["errors"][0]["code"] == "placement.undefined_code"
    r = api(server, token, "POST", "/resource_providers", "1.39", data="{",
            headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "Malformed JSON" in r.json()["errors"][0]["detail"]
    r = api(server, token, "POST", "/resource_providers", "1.39", json={"name": "x", "bad": 1})
    assert r.status_code == 400 and "JSON does not validate" in r.json()["errors"][0]["detail"]
    r = api(server, token, "GET", "/resource_providers", "1.39", params={"resources": "VCPU"})
    assert r.status_code == 400 and "Badly formed resources" in r.json()["errors"][0]["detail"]
    r = api(server, token, "GET", "/resource_providers", headers={"Accept": "text/html"})
    assert r.status_code == 406 and "Only application/json" in r.json()["errors"][0]["detail"]
    r = server.request("GET", "/placement/resource_providers")
    assert r.status_code == 401


def test_placement_is_admin_only(osc, server, cleanup, unique):
    from test_compute import _project_user

    member = _project_user(osc, server, cleanup, unique, "member")
    r = osc.run("--os-placement-api-version", "1.39", "resource", "provider", "list",
                env=member["env"])
    assert r.returncode != 0 and "403" in r.stderr, r.stderr


def test_the_catalog_names_placement(osc):
    types = {e["Type"] for e in osc("catalog", "list")}
    assert "placement" in types


# --- Nova and Placement together --------------------------------------------------------------


@pytest.mark.jumpgate_only
def test_fifty_creates_race_for_a_host_with_room_for_ten():
    """50 server creates at once (through nginx to every host when the suite runs with
    several) against a compute host with room for 10 of the flavor (`[local] vcpus = 10`,
    ratio 1): exactly 10 become ACTIVE and 40 ERROR with Nova's NoValidHost, holding
    nothing; Placement's usages, each server's allocations and os-hypervisors agree; and
    deleting them all gives the room back."""
    from concurrent.futures import ThreadPoolExecutor

    from test_durability import Api, finish

    cloud = js.start(hosts=js.hosts_wanted(),
                     local={"vcpus": "10", "cpu_allocation_ratio": "1.0"})
    try:
        api = Api.admin(cloud)
        api.unlimited_quotas()
        net_id = api.network()
        image_id = api.image(b"\0" * 4096)
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda _: api.create_server(image_id, net_id), range(50)))
        assert [r.status_code for r in answers] == [202] * 50, \
            [(r.status_code, r.text[:200]) for r in answers if r.status_code != 202]
        ids = [r.json()["server"]["id"] for r in answers]

        def settled():
            shown = [api.ok("GET", f"/compute/v2.1/servers/{i}")["server"] for i in ids]
            return shown if all(s["status"] in ("ACTIVE", "ERROR") for s in shown) else None

        until = time.monotonic() + 60
        shown = settled()
        while shown is None and time.monotonic() < until:
            time.sleep(0.2)
            shown = settled()
        assert shown is not None, "servers still building after 60 s"
        active = [s["id"] for s in shown if s["status"] == "ACTIVE"]
        failed = [s for s in shown if s["status"] == "ERROR"]
        assert (len(active), len(failed)) == (10, 40), (len(active), len(failed))
        assert all(s["fault"]["message"].startswith("No valid host was found.")
                   and s["fault"]["code"] == 500 for s in failed), failed[0].get("fault")

        placement = {"OpenStack-API-Version": "placement 1.39"}
        host = api.ok("GET", "/placement/resource_providers", headers=placement
                      )["resource_providers"][0]["uuid"]
        usages = api.ok("GET", f"/placement/resource_providers/{host}/usages",
                        headers=placement)["usages"]
        assert usages["VCPU"] == 10, usages
        for sid in active:
            got = api.ok("GET", f"/placement/allocations/{sid}", headers=placement)
            assert got["allocations"][host]["resources"]["VCPU"] == 1, got
        for s in failed:
            got = api.ok("GET", f"/placement/allocations/{s['id']}", headers=placement)
            assert got["allocations"] == {}, got
        hyp = api.ok("GET", "/compute/v2.1/os-hypervisors/detail")["hypervisors"][0]
        assert (hyp["vcpus"], hyp["vcpus_used"], hyp["running_vms"]) == (10, 10, 10), hyp
        assert hyp["memory_mb_used"] == usages["MEMORY_MB"] + 512, (hyp, usages)

        # Full: one more is refused too; after the deletes there is room for ten again.
        for sid in ids:
            api.ok("DELETE", f"/compute/v2.1/servers/{sid}")
        usages = api.ok("GET", f"/placement/resource_providers/{host}/usages",
                        headers=placement)["usages"]
        assert usages["VCPU"] == 0, usages
        assert api.ok("GET", "/compute/v2.1/os-hypervisors/detail"
                      )["hypervisors"][0]["vcpus_used"] == 0
    finally:
        finish(cloud)
