"""Network (Neutron v2.0) through the real clients, as a user types it: networks, subnets
and ports with their addresses (IPv4 pools, fixed addresses, IPv6 SLAAC), the pool running
out and giving back, security groups and their rules, routers with interfaces and an
external gateway, floating IPs on a server, what cannot be deleted while in use, the list
conventions (fields, filters, sorting, paging, tags) and faults seen over plain HTTP,
quotas, what another project and a reader see, and openstacksdk as a program uses it.

What the CLI really does (python-openstackclient 10.5.0 over openstacksdk 4.22.0): every
network command goes through openstacksdk, finds names with `GET /v2.0/<kind>?name=...`,
and words a failure "ConflictException: 409: Client Error for url: ..., <Neutron's
message>"; `delete` commands log each failure ("Failed to delete ...: <message>") then
exit 1. `port create --fixed-ip subnet=S,ip-address=A` sends
`fixed_ips: [{subnet_id, ip_address}]`; `security group rule create --protocol tcp
--dst-port 22` sends direction ingress, ethertype IPv4, port_range_min/max 22.

Most tests run as a member of a project of their own (module fixture `tenant`): an admin
sees every project's `default` security group, so a name like `default` would be
ambiguous for it. Each test makes its own names; the projects' network resources are
removed at the end of the module."""

from __future__ import annotations

import ipaddress
import json
import sys
import uuid

import openstack.exceptions
import pytest

import jumpgate_server as js

SETTLE_TIMEOUT = 120.0
PUBLIC_CIDR = ipaddress.ip_network("172.24.4.0/24")


@pytest.fixture(autouse=True)
def _network_enabled(server):
    if "network" not in server.services:
        pytest.skip("the server under test does not serve network")


# --- helpers ---------------------------------------------------------------------------


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def cli_json(osc, *args, env=None):
    """`openstack ... -f json` for commands that print progress before their JSON
    (`--wait`): the JSON starts at the first { or [."""
    r = osc.run(*args, env=env, json=True)
    assert r.returncode == 0, (
        f"{' '.join(r.args)} exited {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    )
    text = r.stdout
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    assert starts, f"{' '.join(r.args)}: no JSON in:\n{text}\n--- stderr\n{r.stderr}"
    return json.loads(text[min(starts):])


def ips_of(port) -> list[str]:
    """The addresses of a port as `port show/create -f json` prints them."""
    return [f["ip_address"] for f in port["fixed_ips"]]


def eui64(cidr: str, mac: str) -> str:
    """The SLAAC address of `mac` on the /64 `cidr` (RFC 4291 modified EUI-64)."""
    b = bytearray(int(x, 16) for x in mac.split(":"))
    b[0] ^= 0x02
    iid = bytes(b[:3]) + b"\xff\xfe" + bytes(b[3:])
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


class Tenant:
    """A project with a member user (and, made on demand, a reader)."""

    def __init__(self, server, conn, project, project_id, user, password):
        self.server, self.admin = server, conn
        self.project, self.project_id = project, project_id
        self.user, self.password = user, password
        self.env = server.env(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
                              OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME)
        self._conn = None

    def connect(self):
        if self._conn is None:
            self._conn = self.server.connect(username=self.user, password=self.password,
                                             project_name=self.project)
        return self._conn


def _make_tenant(server, conn, made, role="member"):
    project, user, password = uid("netproj"), uid("netuser"), uuid.uuid4().hex
    p = conn.identity.create_project(name=project, domain_id=js.DOMAIN_ID)
    made.append(("project", p.id))
    u = conn.identity.create_user(name=user, password=password, domain_id=js.DOMAIN_ID,
                                  default_project_id=p.id)
    made.append(("user", u.id))
    r = conn.identity.find_role(role, ignore_missing=False)
    conn.identity.assign_project_role_to_user(p, u, r)
    return Tenant(server, conn, project, p.id, user, password)


def _add_user(server, conn, made, tenant, role):
    user, password = uid("netuser"), uuid.uuid4().hex
    u = conn.identity.create_user(name=user, password=password, domain_id=js.DOMAIN_ID)
    made.append(("user", u.id))
    conn.identity.assign_project_role_to_user(
        tenant.project_id, u, conn.identity.find_role(role, ignore_missing=False))
    return server.env(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=tenant.project,
                      OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME)


def _purge_network(conn, project_id):
    """Every network resource of a project, in an order Neutron accepts (best effort)."""
    net = conn.network

    def quietly(f, *a, **kw):
        try:
            f(*a, **kw)
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the outcome
            print(f"cleanup: {getattr(f, '__name__', f)}: {e}", file=sys.stderr)

    for s in list(conn.compute.servers(all_projects=True, project_id=project_id)):
        quietly(conn.compute.delete_server, s, ignore_missing=True)
        quietly(conn.compute.wait_for_delete, s, interval=0.2, wait=SETTLE_TIMEOUT)
    for fip in list(net.ips(project_id=project_id)):
        quietly(net.delete_ip, fip, ignore_missing=True)
    for r in list(net.routers(project_id=project_id)):
        for p in list(net.ports(device_id=r.id)):
            if p.device_owner == "network:router_interface":
                quietly(net.remove_interface_from_router, r, port_id=p.id)
        quietly(net.delete_router, r, ignore_missing=True)
    for n in list(net.networks(project_id=project_id)):
        for p in list(net.ports(network_id=n.id)):
            quietly(net.delete_port, p, ignore_missing=True)
        quietly(net.delete_network, n, ignore_missing=True)
    for sg in list(net.security_groups(project_id=project_id)):
        if sg.name != "default":
            quietly(net.delete_security_group, sg, ignore_missing=True)


@pytest.fixture(scope="module")
def made(server, conn):
    """Identity things a module makes: removed (after their network resources) at the end."""
    things: list[tuple[str, str]] = []
    yield things
    for kind, id_ in reversed(things):
        try:
            if kind == "project":
                _purge_network(conn, id_)
                conn.identity.delete_project(id_, ignore_missing=True)
            elif kind == "user":
                conn.identity.delete_user(id_, ignore_missing=True)
            elif kind == "image":
                conn.image.delete_image(id_, ignore_missing=True)
        except Exception as e:  # noqa: BLE001
            print(f"cleanup of {kind} {id_} failed: {e}", file=sys.stderr)


@pytest.fixture(scope="module")
def tenant(server, conn, made):
    return _make_tenant(server, conn, made)


@pytest.fixture(scope="module")
def image(osc, made, tmp_path_factory):
    """A public image uploaded with `openstack image create --file`."""
    path = tmp_path_factory.mktemp("netdisk") / "disk.img"
    path.write_bytes(uuid.uuid4().bytes * 4096)
    name = uid("netimg")
    img = osc("image", "create", "--file", str(path), "--disk-format", "raw",
              "--container-format", "bare", "--public", name)
    made.append(("image", img["id"]))
    assert img["status"] == "active", img
    return img


@pytest.fixture(scope="module")
def endpoint(conn):
    """The network endpoint's v2.0 root, as the catalog gives it."""
    ep = conn.session.get_endpoint(service_type="network", interface="public").rstrip("/")
    return ep if ep.endswith("/v2.0") else ep + "/v2.0"


def http(method, url, token, **kw):
    import requests

    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    headers.update(kw.pop("headers", {}))
    return requests.request(method, url, headers=headers, timeout=60, **kw)


def make_net(osc, env, cidr="10.0.0.0/24", **extra):
    """`network create` + `subnet create --subnet-range cidr`: (network, subnet)."""
    net = osc("network", "create", uid("net"), env=env)
    args = ["subnet", "create", "--network", net["id"], "--subnet-range", cidr]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    sub = osc(*args, uid("sub"), env=env)
    return net, sub


# --- networks, subnets, ports ----------------------------------------------------------


def test_network_subnet_and_ports_with_addresses(osc, tenant):
    env = tenant.env
    name, sname = uid("net1"), uid("sub1")
    net = osc("network", "create", name, env=env)
    assert net["name"] == name
    assert net["status"] == "ACTIVE"
    assert net["admin_state_up"] in (True, "UP")
    assert net["project_id"] == tenant.project_id
    sub = osc("subnet", "create", "--network", name, "--subnet-range", "10.0.0.0/24", sname, env=env)
    assert sub["cidr"] == "10.0.0.0/24"
    assert sub["gateway_ip"] == "10.0.0.1"
    assert sub["ip_version"] == 4
    assert sub["network_id"] == net["id"]
    assert sub["allocation_pools"] == [{"start": "10.0.0.2", "end": "10.0.0.254"}]
    assert sub["enable_dhcp"] is True
    shown = osc("network", "show", name, env=env)
    assert shown["subnets"] == [sub["id"]]

    p1 = osc("port", "create", "--network", name, uid("p1"), env=env)
    assert p1["network_id"] == net["id"]
    assert len(p1["fixed_ips"]) == 1 and p1["fixed_ips"][0]["subnet_id"] == sub["id"]
    ip = ipaddress.ip_address(ips_of(p1)[0])
    assert ip in ipaddress.ip_network("10.0.0.0/24")
    assert ipaddress.ip_address("10.0.0.2") <= ip <= ipaddress.ip_address("10.0.0.254")
    assert p1["mac_address"] and p1["status"] in ("DOWN", "ACTIVE")

    p2 = osc("port", "create", "--network", name, "--fixed-ip",
             f"subnet={sname},ip-address=10.0.0.50", uid("p2"), env=env)
    assert p2["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.50"}]

    err = osc.fails("port", "create", "--network", name, "--fixed-ip",
                    f"subnet={sname},ip-address=10.0.0.50", uid("p3"), env=env)
    assert err.status == 409, err
    assert f"IP address 10.0.0.50 already allocated in subnet {sub['id']}" in err.stderr, err

    err = osc.fails("port", "create", "--network", name, "--fixed-ip",
                    f"subnet={sname},ip-address=10.1.0.5", uid("p4"), env=env)
    assert err.status == 400, err
    assert "IP address 10.1.0.5 is not a valid IP for the specified subnet" in err.stderr, err

    ports = osc("port", "list", "--network", name, env=env)
    assert sorted(p["ID"] for p in ports) == sorted([p1["id"], p2["id"]])
    shown = osc("port", "show", p2["id"], env=env)
    assert ips_of(shown) == ["10.0.0.50"]
    # Neutron's ip-substring-filtering: part of an address.
    found = osc("port", "list", "--network", name, "--fixed-ip", "ip-substring=0.0.50", env=env)
    assert [p["ID"] for p in found] == [p2["id"]]


def test_ipv6_slaac_subnet_gives_eui64_addresses(osc, tenant):
    env = tenant.env
    net = osc("network", "create", uid("net6"), env=env)
    sub = osc("subnet", "create", "--network", net["id"], "--ip-version", "6",
              "--subnet-range", "fd00::/64", "--ipv6-ra-mode", "slaac",
              "--ipv6-address-mode", "slaac", uid("sub6"), env=env)
    assert sub["ip_version"] == 6
    assert sub["cidr"] == "fd00::/64"
    assert sub["ipv6_ra_mode"] == "slaac" and sub["ipv6_address_mode"] == "slaac"
    assert sub["gateway_ip"] == "fd00::1"
    for _ in range(2):
        port = osc("port", "create", "--network", net["id"], uid("p6"), env=env)
        assert ips_of(port) == [eui64("fd00::/64", port["mac_address"])], port


# --- IPAM properties -------------------------------------------------------------------


def test_a_small_pool_runs_out_and_gives_back(osc, tenant):
    env = tenant.env
    c = tenant.connect()
    net, sub = make_net(osc, env, "10.9.0.0/29")
    assert sub["allocation_pools"] == [{"start": "10.9.0.2", "end": "10.9.0.6"}]
    made = [c.network.create_port(network_id=net["id"]) for _ in range(5)]
    addrs = [p.fixed_ips[0]["ip_address"] for p in made]
    assert sorted(addrs, key=ipaddress.ip_address) == [f"10.9.0.{i}" for i in range(2, 7)]
    assert len(set(addrs)) == 5

    err = osc.fails("port", "create", "--network", net["id"], uid("full"), env=env)
    assert err.status == 409, err
    assert f"No more IP addresses available on network {net['id']}." in err.stderr, err
    with pytest.raises(openstack.exceptions.ConflictException) as e:
        c.network.create_port(network_id=net["id"])
    assert "IpAddressGenerationFailure" in str(e.value.details) or \
        "No more IP addresses" in str(e.value), e.value

    freed = made[2]
    osc("port", "delete", freed.id, env=env, json=False)
    again = osc("port", "create", "--network", net["id"], uid("again"), env=env)
    assert ips_of(again) == [addrs[2]]
    # The address is taken again: the pool is full once more.
    assert osc.fails("port", "create", "--network", net["id"], uid("full"), env=env).status == 409


# --- security groups -------------------------------------------------------------------


def test_security_groups_and_rules(osc, tenant):
    env = tenant.env
    name = uid("sg1")
    sg = osc("security", "group", "create", name, env=env)
    assert sg["name"] == name
    assert sg["project_id"] == tenant.project_id
    # A new group has Neutron's two egress rules.
    egress = [r for r in sg["rules"] if r["direction"] == "egress"]
    assert sorted(r["ethertype"] for r in egress) == ["IPv4", "IPv6"], sg["rules"]

    rule = osc("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
               name, env=env)
    assert rule["protocol"] == "tcp"
    assert rule["port_range_min"] == 22 and rule["port_range_max"] == 22
    assert rule["direction"] == "ingress" and rule["ether_type"] == "IPv4"
    assert rule["security_group_id"] == sg["id"]

    err = osc.fails("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "22",
                    name, env=env)
    assert err.status == 409, err
    assert f"Security group rule already exists. Rule id is {rule['id']}." in err.stderr, err

    rows = osc("security", "group", "rule", "list", name, env=env)
    assert rule["id"] in [r["ID"] for r in rows]
    row = next(r for r in rows if r["ID"] == rule["id"])
    assert row["IP Protocol"] == "tcp"
    assert row["Port Range"] == "22:22"
    assert row["Direction"] == "ingress"
    assert len(rows) == 3

    osc("security", "group", "rule", "delete", rule["id"], env=env, json=False)
    osc("security", "group", "delete", name, env=env, json=False)
    assert name not in [g["Name"] for g in osc("security", "group", "list", env=env)]


def test_the_default_security_group(osc, server, conn, made):
    """In a project of its own: Neutron answers "Security Group <id> in use." first when
    ports use the group, and the other tests' ports do."""
    tenant = _make_tenant(server, conn, made)
    env = tenant.env
    groups = [g for g in osc("security", "group", "list", env=env) if g["Name"] == "default"]
    assert len(groups) == 1, groups
    default = osc("security", "group", "show", "default", env=env)
    assert default["project_id"] == tenant.project_id
    rules = osc("security", "group", "rule", "list", "default", "--long", env=env)
    seen = sorted((r["Direction"], r["Ethertype"], r["Remote Security Group"]) for r in rules)
    assert seen == [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", default["id"]),
        ("ingress", "IPv6", default["id"]),
    ], rules
    err = osc.fails("security", "group", "delete", "default", env=env)
    assert err.returncode == 1 and err.status == 409, err
    assert "Insufficient rights for removing default security group" in err.stderr, err
    assert osc("security", "group", "show", "default", env=env)["id"] == default["id"]


# --- routers ---------------------------------------------------------------------------


def test_router_interfaces_and_gateway(osc, tenant):
    env = tenant.env
    net, sub = make_net(osc, env, "10.0.0.0/24")
    public = osc("network", "show", "public", env=env)
    name = uid("r1")
    router = osc("router", "create", name, env=env)
    assert router["name"] == name and router["status"] == "ACTIVE"
    assert not router.get("external_gateway_info")

    osc("router", "add", "subnet", name, sub["id"], env=env, json=False)
    ports = osc("port", "list", "--router", name, "--long", env=env)
    assert len(ports) == 1, ports
    iface = osc("port", "show", ports[0]["ID"], env=env)
    assert iface["device_owner"] == "network:router_interface"
    assert iface["device_id"] == router["id"]
    assert iface["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.0.0.1"}]

    osc("router", "set", "--external-gateway", "public", name, env=env, json=False)
    shown = osc("router", "show", name, env=env)
    gw = shown["external_gateway_info"]
    assert gw["network_id"] == public["id"], shown
    assert gw["enable_snat"] is True
    [ext] = gw["external_fixed_ips"]
    assert ipaddress.ip_address(ext["ip_address"]) in PUBLIC_CIDR
    assert shown["interfaces_info"] == [
        {"port_id": iface["id"], "ip_address": "10.0.0.1", "subnet_id": sub["id"]}
    ], shown["interfaces_info"]

    err = osc.fails("router", "delete", name, env=env)
    assert err.returncode == 1
    assert f"Router {router['id']} still has ports" in err.stderr, err

    osc("router", "remove", "subnet", name, sub["id"], env=env, json=False)
    assert osc("port", "list", "--router", name, "--device-owner", "network:router_interface",
               env=env) == []
    osc("router", "unset", "--external-gateway", name, env=env, json=False)
    assert not osc("router", "show", name, env=env).get("external_gateway_info")
    osc("router", "delete", name, env=env, json=False)
    assert name not in [r["Name"] for r in osc("router", "list", env=env)]


# --- floating IPs and servers ----------------------------------------------------------


def test_a_server_on_a_network_with_a_floating_ip(osc, tenant, image):
    env = tenant.env
    c = tenant.connect()
    net, sub = make_net(osc, env, "10.0.0.0/24")
    router = osc("router", "create", uid("r"), env=env)
    osc("router", "add", "subnet", router["id"], sub["id"], env=env, json=False)
    osc("router", "set", "--external-gateway", "public", router["id"], env=env, json=False)

    fip = osc("floating", "ip", "create", "public", env=env)
    address = fip["floating_ip_address"]
    assert ipaddress.ip_address(address) in PUBLIC_CIDR
    assert fip["port_id"] is None
    assert fip["status"] == "DOWN"

    name = uid("s1")
    created = cli_json(osc, "server", "create", "--network", net["name"], "--flavor", "m1.nano",
                       "--image", image["id"], "--wait", name, env=env)
    assert created["status"] == "ACTIVE"
    sid = created["id"]
    [port] = list(c.network.ports(device_id=sid))
    assert port.network_id == net["id"]
    assert port.device_owner.startswith("compute:")
    fixed = port.fixed_ips[0]["ip_address"]
    assert ipaddress.ip_address(fixed) in ipaddress.ip_network("10.0.0.0/24")

    shown = osc("server", "show", name, env=env)
    assert shown["addresses"] == {net["name"]: [fixed]}, shown["addresses"]

    osc("server", "add", "floating", "ip", name, address, env=env, json=False)
    shown = osc("server", "show", name, env=env)
    assert sorted(shown["addresses"][net["name"]]) == sorted([fixed, address]), shown["addresses"]
    f = osc("floating", "ip", "show", address, env=env)
    assert f["port_id"] == port.id
    assert f["router_id"] == router["id"]
    assert f["fixed_ip_address"] == fixed
    listed = osc("floating", "ip", "list", "--port", port.id, env=env)
    assert [row["Floating IP Address"] for row in listed] == [address]

    osc("server", "remove", "floating", "ip", name, address, env=env, json=False)
    f = osc("floating", "ip", "show", address, env=env)
    assert f["port_id"] is None and f["fixed_ip_address"] is None
    shown = osc("server", "show", name, env=env)
    assert shown["addresses"] == {net["name"]: [fixed]}

    osc("server", "delete", "--wait", name, env=env, json=False)
    assert list(c.network.ports(device_id=sid)) == []
    assert [p for p in c.network.ports(network_id=net["id"])
            if fixed in [i["ip_address"] for i in p.fixed_ips]] == []
    again = osc("port", "create", "--network", net["id"], "--fixed-ip",
                f"subnet={sub['id']},ip-address={fixed}", uid("p"), env=env)
    assert ips_of(again) == [fixed]
    osc("floating", "ip", "delete", address, env=env, json=False)


# --- what is in use --------------------------------------------------------------------


def test_a_network_with_ports_is_not_deleted(osc, tenant):
    env = tenant.env
    net, sub = make_net(osc, env, "10.0.0.0/24")
    port = osc("port", "create", "--network", net["id"], uid("p"), env=env)
    router = osc("router", "create", uid("r"), env=env)
    osc("router", "add", "subnet", router["id"], sub["id"], env=env, json=False)

    err = osc.fails("network", "delete", net["name"], env=env)
    assert err.returncode == 1
    assert (f"Unable to complete operation on network {net['id']}. There are one or more ports "
            "still in use on the network.") in err.stderr, err
    assert "409" in err.stderr

    osc("port", "delete", port["id"], env=env, json=False)
    err = osc.fails("network", "delete", net["name"], env=env)
    assert "There are one or more ports still in use on the network" in err.stderr, err
    osc("router", "remove", "subnet", router["id"], sub["id"], env=env, json=False)
    osc("network", "delete", net["name"], env=env, json=False)
    assert net["name"] not in [n["Name"] for n in osc("network", "list", env=env)]
    err = osc.fails("subnet", "show", sub["id"], env=env)
    assert f"No Subnet found for {sub['id']}" in err.stderr, err
    osc("router", "delete", router["id"], env=env, json=False)


# --- list conventions and faults over HTTP ---------------------------------------------


def test_list_conventions_over_http(osc, tenant, endpoint):
    c = tenant.connect()
    token = c.session.get_token()
    prefix = uid("lst")
    names = [f"{prefix}-{i}" for i in range(4)]
    nets = [c.network.create_network(name=n) for n in names]
    subs = [c.network.create_subnet(network_id=nets[0].id, cidr="10.20.0.0/24", ip_version=4)]

    r = http("GET", f"{endpoint}/networks", token, params={"name": names[1]})
    assert r.status_code == 200
    assert [n["id"] for n in r.json()["networks"]] == [nets[1].id]

    r = http("GET", f"{endpoint}/networks", token,
             params=[("name", names[1]), ("fields", "id"), ("fields", "name")])
    assert r.json()["networks"] == [{"id": nets[1].id, "name": names[1]}]

    r = http("GET", f"{endpoint}/subnets", token, params={"network_id": nets[0].id})
    assert [s["id"] for s in r.json()["subnets"]] == [subs[0].id]
    r = http("GET", f"{endpoint}/subnets", token, params={"network_id": nets[1].id})
    assert r.json()["subnets"] == []

    mine = list(names)
    r = http("GET", f"{endpoint}/networks", token,
             params=[*[("name", n) for n in mine], ("sort_key", "name"), ("sort_dir", "desc")])
    assert [n["name"] for n in r.json()["networks"]] == sorted(mine, reverse=True)

    # Paging: two at a time, following the `next` link's marker.
    seen, marker, pages = [], None, 0
    while True:
        params = [*[("name", n) for n in mine], ("sort_key", "name"), ("sort_dir", "asc"),
                  ("limit", "2")]
        if marker:
            params.append(("marker", marker))
        body = http("GET", f"{endpoint}/networks", token, params=params).json()
        pages += 1
        page = body["networks"]
        seen += [n["name"] for n in page]
        links = {link["rel"]: link["href"] for link in body.get("networks_links", [])}
        if not page or "next" not in links:
            break
        assert "limit=2" in links["next"] and f"marker={page[-1]['id']}" in links["next"], links
        marker = page[-1]["id"]
        assert pages < 10
    assert seen == sorted(mine)
    assert pages in (2, 3)

    # Tags, through the CLI.
    osc("network", "set", "--tag", "t1", names[2], env=tenant.env, json=False)
    assert osc("network", "show", names[2], env=tenant.env)["tags"] == ["t1"]
    tagged = osc("network", "list", "--tags", "t1", env=tenant.env)
    assert [n["Name"] for n in tagged] == [names[2]]
    r = http("GET", f"{endpoint}/networks", token, params={"tags": "t1"})
    assert [n["id"] for n in r.json()["networks"]] == [nets[2].id]
    r = http("GET", f"{endpoint}/networks", token,
             params=[*[("name", n) for n in mine], ("not-tags", "t1")])
    assert sorted(n["name"] for n in r.json()["networks"]) == sorted(set(mine) - {names[2]})

    # Faults.
    missing = str(uuid.uuid4())
    r = http("GET", f"{endpoint}/networks/{missing}", token)
    assert r.status_code == 404
    fault = r.json()["NeutronError"]
    assert fault["type"] == "NetworkNotFound"
    assert fault["message"] == f"Network {missing} could not be found."
    assert "detail" in fault
    r = http("POST", f"{endpoint}/ports", token, json={"port": {"network_id": missing}})
    assert r.status_code == 404
    assert r.json()["NeutronError"]["type"] == "NetworkNotFound"
    err = osc.fails("network", "show", missing, env=tenant.env)
    assert f"No Network found for {missing}" in err.stderr, err


# --- quotas ----------------------------------------------------------------------------


def test_quota_on_networks(osc, server, conn, made):
    t = _make_tenant(server, conn, made)
    osc("quota", "set", "--networks", "1", t.project, json=False)
    rows = osc("quota", "show", t.project)
    limits = {r["Resource"]: r["Limit"] for r in rows}
    assert limits.get("networks") == 1, rows
    # Neutron's defaults for the others.
    assert {k: limits.get(k) for k in ("ports", "subnets", "routers", "security_groups",
                                       "security_group_rules")} == {
        "ports": 500, "subnets": 100, "routers": 10, "security_groups": 10,
        "security_group_rules": 100}, rows
    mine = osc("quota", "show", env=t.env)
    assert {r["Resource"]: r["Limit"] for r in mine}.get("networks") == 1

    osc("network", "create", uid("q1"), env=t.env)
    err = osc.fails("network", "create", uid("q2"), env=t.env)
    assert err.status == 409, err
    assert "Quota exceeded for resources: ['network']." in err.stderr, err

    osc("quota", "set", "--networks", "2", t.project, json=False)
    osc("network", "create", uid("q2"), env=t.env)


# --- tenancy ---------------------------------------------------------------------------


def test_other_projects_and_readers(osc, server, conn, made, tenant):
    private = osc("network", "create", uid("private"), env=tenant.env)
    other = _make_tenant(server, conn, made)
    seen = [n["Name"] for n in osc("network", "list", env=other.env)]
    assert "public" in seen
    assert private["name"] not in seen
    err = osc.fails("network", "show", private["id"], env=other.env)
    assert f"No Network found for {private['id']}" in err.stderr, err
    err = osc.fails("port", "create", "--network", private["id"], uid("p"), env=other.env)
    assert err.returncode == 1
    public = osc("network", "show", "public", env=other.env)
    assert public["router:external"] in (True, "External")
    # The admin sees both.
    listed = [n["ID"] for n in osc("network", "list")]
    assert private["id"] in listed and public["id"] in listed

    reader = _add_user(server, conn, made, tenant, "reader")
    assert private["name"] in [n["Name"] for n in osc("network", "list", env=reader)]
    err = osc.fails("network", "create", uid("nope"), env=reader)
    assert err.status == 403, err
    assert "disallowed by policy" in err.stderr, err


# --- openstacksdk ----------------------------------------------------------------------


def test_openstacksdk(tenant):
    c = tenant.connect()
    net = c.network.create_network(name=uid("sdk"))
    assert net.project_id == tenant.project_id and net.status == "ACTIVE"
    sub = c.network.create_subnet(network_id=net.id, cidr="192.168.7.0/24", ip_version=4,
                                  name=uid("sdksub"))
    assert sub.gateway_ip == "192.168.7.1"
    assert sub.allocation_pools == [{"start": "192.168.7.2", "end": "192.168.7.254"}]
    p1 = c.network.create_port(network_id=net.id, name=uid("sdkp"))
    p2 = c.network.create_port(network_id=net.id,
                               fixed_ips=[{"subnet_id": sub.id, "ip_address": "192.168.7.9"}])
    assert p2.fixed_ips == [{"subnet_id": sub.id, "ip_address": "192.168.7.9"}]
    assert sorted(p.id for p in c.network.ports(network_id=net.id)) == sorted([p1.id, p2.id])
    found = c.network.find_network("public")
    assert found is not None and found.is_router_external
    assert c.network.find_network(net.name).id == net.id
    assert c.network.get_subnet(sub.id).network_id == net.id
    c.network.update_port(p1, name="renamed")
    assert c.network.get_port(p1.id).name == "renamed"
    with pytest.raises(openstack.exceptions.ResourceNotFound):
        c.network.get_network(str(uuid.uuid4()))
    with pytest.raises(openstack.exceptions.ConflictException):
        c.network.delete_network(net)
    c.network.delete_port(p1)
    c.network.delete_port(p2)
    c.network.delete_network(net)
    assert c.network.find_network(net.id) is None
    assert c.network.find_subnet(sub.id) is None
