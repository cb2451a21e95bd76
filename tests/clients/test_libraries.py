"""The per-service client libraries and libcloud, as a program uses them: python-glanceclient,
python-novaclient, python-cinderclient and python-neutronclient over a keystoneauth1
session (admin), and apache-libcloud's OpenStack driver signing in by itself. Each library
gets what a user does with it, and the errors it meets: every failure must come out as the
library's own exception class with the status, which is how these libraries tell errors
apart (they read the status and, for Neutron, the fault's `type`; Glance's from webob's
HTML error page, which python-glanceclient asks for with `Accept: */*`).

What the libraries really do (versions pinned in requirements.txt):
  * glanceclient 4.13.0 checks an image's attributes against `GET /v2/schemas/image`
    before it sends anything (an unknown disk_format is a TypeError, never a request);
    `images.data()` of an image with no data answers None (Glance's 204).
  * novaclient 18.13.1 at 2.37 sends `networks: "none"` for `nics="none"`.
  * cinderclient 9.10.0 maps 413 to OverLimit.
  * neutronclient 14.0.0 picks `<type>Client` from the NeutronError body when it has such
    a class (NetworkNotFoundClient, NetworkInUseClient, ...), else the status's class.
  * libcloud 3.9.1 signs in through `/v3/auth/tokens` (`ex_force_auth_url` is the bare
    endpoint), reads compute, image and volume endpoints from the catalog, and turns a 401
    into InvalidCredsError and any other failure into BaseHTTPError with `.code`.

Each test makes its own names and cleans up after itself."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import time

import pytest

import jumpgate_server as js

TIMEOUT = 60.0
MISSING = "00000000-0000-0000-0000-000000000000"


def _needs(server, *services):
    missing = [s for s in services if s not in server.services]
    if missing:
        pytest.skip(f"the server under test does not serve {', '.join(missing)}")


def wait_for(what, probe, *, timeout=TIMEOUT, period=0.1):
    """Calls probe() until it returns something true; returns that. Fails saying `what`
    and the last value seen."""
    until = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > until:
            raise AssertionError(f"{what}: not after {timeout:.0f} s (last: {got!r})")
        time.sleep(period)


def gone(get, not_found):
    """A probe for wait_for: True once get() raises `not_found`."""

    def probe():
        try:
            get()
        except not_found:
            return True
        return False

    return probe


@pytest.fixture
def later():
    """later(fn, *args): called at teardown (last added first), errors only printed, so
    that a failing test leaves nothing behind either."""
    todo = []
    yield lambda fn, *args: todo.append((fn, args))
    for fn, args in reversed(todo):
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the outcome
            print(f"cleanup {getattr(fn, '__qualname__', fn)}{args}: {e}")


@pytest.fixture(scope="module")
def session(server):
    return server.session()


@pytest.fixture(scope="module")
def glance(server, session):
    _needs(server, "image")
    import glanceclient

    return glanceclient.Client("2", session=session)


@pytest.fixture(scope="module")
def nova(server, session):
    _needs(server, "compute")
    from novaclient import client

    return client.Client("2.37", session=session)


@pytest.fixture(scope="module")
def cinder(server, session):
    """A cinderclient at the highest 3.x both it and the server know."""
    _needs(server, "volume")
    from cinderclient import api_versions, client

    probe = client.Client("3.0", session=session)
    version = api_versions.discover_version(
        probe, api_versions.APIVersion(api_versions.MAX_VERSION))
    assert version.ver_major == 3 and version.ver_minor > 0, version
    return client.Client(version.get_string(), session=session)


@pytest.fixture(scope="module")
def neutron(server, session):
    _needs(server, "network")
    from neutronclient.v2_0 import client

    return client.Client(session=session)


def _libcloud(server, password=None):
    from libcloud.compute.providers import get_driver
    from libcloud.compute.types import Provider

    cls = get_driver(Provider.OPENSTACK)
    return cls(
        js.ADMIN_USER,
        server.admin_password if password is None else password,
        ex_force_auth_url=server.url,
        ex_force_auth_version="3.x_password",
        ex_tenant_name=js.ADMIN_PROJECT,
        ex_domain_name=js.DOMAIN_NAME,
        ex_force_service_region=js.REGION,
    )


@pytest.fixture(scope="module")
def libcloud(server):
    _needs(server, "compute", "image")
    return _libcloud(server)


@pytest.fixture
def image(glance, unique, cleanup):
    """An active image of 64 KiB random bytes, made through glanceclient."""
    name = unique("libimg")
    cleanup("image", name)
    img = glance.images.create(name=name, disk_format="raw", container_format="bare")
    glance.images.upload(img.id, io.BytesIO(os.urandom(64 * 1024)))
    img = glance.images.get(img.id)
    assert img.status == "active"
    return img


# --- python-glanceclient ---------------------------------------------------------------


def test_glanceclient_upload_download_delete(glance, unique, cleanup):
    from glanceclient import exc

    data = os.urandom(1024 * 1024 + 17)
    name = unique("img")
    cleanup("image", name)
    img = glance.images.create(name=name, disk_format="qcow2", container_format="bare",
                               os_distro="cirros")
    assert img.status == "queued"
    assert img.os_distro == "cirros"
    glance.images.upload(img.id, io.BytesIO(data), image_size=len(data))
    img = glance.images.get(img.id)
    assert img.status == "active"
    assert img.size == len(data)
    assert img.checksum == hashlib.md5(data).hexdigest()
    assert img.os_hash_algo == "sha512"
    assert img.os_hash_value == hashlib.sha512(data).hexdigest()
    assert b"".join(glance.images.data(img.id)) == data
    assert img.id in [i.id for i in glance.images.list(filters={"name": name})]

    glance.images.delete(img.id)
    with pytest.raises(exc.HTTPNotFound) as e:
        glance.images.get(img.id)
    assert e.value.code == 404
    assert f"No image found with ID {img.id}" in str(e.value)
    with pytest.raises(exc.HTTPNotFound):
        glance.images.delete(img.id)


def test_glanceclient_properties_tags_and_protection(glance, unique, cleanup):
    from glanceclient import exc

    name, tag = unique("img"), unique("tag")
    cleanup("image", name)
    img = glance.images.create(name=name, disk_format="raw", container_format="bare",
                               protected=True, os_distro="cirros", tags=[tag])
    assert img.protected is True and img.tags == [tag]
    # No data yet: Glance answers 204, which glanceclient gives as None.
    assert glance.images.data(img.id).__wrapped__ is None

    glance.images.update(img.id, remove_props=["os_distro"], min_ram=64, hw_disk_bus="scsi")
    glance.image_tags.update(img.id, "second")
    glance.image_tags.delete(img.id, tag)
    img = glance.images.get(img.id)
    assert not hasattr(img, "os_distro")
    assert img.min_ram == 64 and img.hw_disk_bus == "scsi"
    assert img.tags == ["second"]
    assert [i.name for i in glance.images.list(filters={"name": name, "tag": ["second"]})] == [name]

    with pytest.raises(exc.HTTPForbidden) as e:
        glance.images.delete(img.id)
    assert e.value.code == 403
    assert "is protected and cannot be deleted" in str(e.value)
    glance.images.update(img.id, protected=False)
    glance.images.delete(img.id)


def test_glanceclient_errors(glance, image, unique, cleanup):
    from glanceclient import exc

    with pytest.raises(exc.HTTPNotFound) as e:
        glance.images.get(MISSING)
    assert e.value.code == 404
    # Uploading again to an active image.
    with pytest.raises(exc.HTTPConflict) as e:
        glance.images.upload(image.id, io.BytesIO(b"more"))
    assert e.value.code == 409
    # Glance keeps the os_glance namespace to itself.
    name = unique("img")
    cleanup("image", name)
    with pytest.raises(exc.HTTPForbidden) as e:
        glance.images.create(name=name, disk_format="raw", container_format="bare",
                             os_glance_x="1")
    assert e.value.code == 403
    # glanceclient strips the tags of webob's page, not its character references.
    assert str(e.value) == "HTTP 403 Forbidden: Attribute &#x27;os_glance_x&#x27; is reserved."
    assert not list(glance.images.list(filters={"name": name}))
    # An unknown disk format: glanceclient refuses it from the server's schema ...
    with pytest.raises(TypeError, match=r"'bogus' is not one of \[None, 'ami', 'ari'"):
        glance.images.create(name=name, disk_format="bogus", container_format="bare")
    # ... and Glance does, for a program posting past the schema through glanceclient's
    # own HTTP client: jsonschema's words under Glance's.
    with pytest.raises(exc.HTTPBadRequest) as e:
        glance.http_client.post("/v2/images", data={"name": name, "disk_format": "bogus",
                                                    "container_format": "bare"})
    assert e.value.code == 400
    assert str(e.value).startswith(
        "HTTP 400 Bad Request: Provided object does not match schema &#x27;image&#x27;: "
        "&#x27;bogus&#x27; is not one of [None, &#x27;ami&#x27;,")
    assert ("Failed validating &#x27;enum&#x27; in "
            "schema[&#x27;properties&#x27;][&#x27;disk_format&#x27;]") in str(e.value)
    # List parameters Glance refuses.
    with pytest.raises(exc.HTTPBadRequest, match=f"marker {MISSING} could not be found"):
        list(glance.images.list(marker=MISSING))
    with pytest.raises(exc.HTTPBadRequest, match="Invalid visibility value: bogus"):
        list(glance.images.list(filters={"visibility": "bogus"}))
    with pytest.raises(exc.HTTPBadRequest, match="limit param must be positive"):
        list(glance.images.list(limit=-1))


def test_glanceclient_metadefs_as_horizon_reads_them(glance, unique):
    """Horizon's image and launch wizards read namespaces through glanceclient, which checks
    each one against `GET /v2/schemas/metadefs/namespace`: a schema whose `properties` was
    not Glance's map of property definitions made every namespace with properties a
    ValueError there, and Horizon's `/api/glance/metadefs/namespaces/` a 500."""
    listed = list(glance.metadefs_namespace.list(filters={"resource_types": ["OS::Glance::Image"]}))
    assert "OS::Glance::CommonImageProperties" in [n["namespace"] for n in listed]
    seeded = glance.metadefs_namespace.get("OS::Glance::CommonImageProperties",
                                           resource_type="OS::Glance::Image")
    assert seeded["properties"]["os_distro"]["type"] == "string"
    assert "os_distro" in [p["name"] for p in
                           glance.metadefs_property.list("OS::Glance::CommonImageProperties")]

    # What an admin makes in Admin › Metadata Definitions, read back as Horizon does.
    name = unique("Walk::Test")
    glance.metadefs_namespace.create(namespace=name, visibility="private",
                                     resource_type_associations=[{"name": "OS::Nova::Flavor"}])
    try:
        glance.metadefs_property.create(name, name="hw_cores", title="Cores", type="integer",
                                        minimum=1, maximum=64)
        glance.metadefs_object.create(name, name="CPU", required=["hw_cores"], properties={
            "hw_cores": {"title": "Cores", "type": "integer", "minimum": 1}})
        glance.metadefs_tag.create(name, "fast")
        ns = glance.metadefs_namespace.get(name, resource_type="OS::Nova::Flavor")
        assert ns["properties"]["hw_cores"]["maximum"] == 64
        assert [o["name"] for o in ns["objects"]] == ["CPU"]
        assert [t["name"] for t in ns["tags"]] == ["fast"]
        assert glance.metadefs_object.get(name, "CPU")["required"] == ["hw_cores"]
        assert glance.metadefs_property.get(name, "hw_cores")["title"] == "Cores"
        # The schema refuses a property without its title before anything is sent.
        with pytest.raises(TypeError, match="'title' is a required property"):
            glance.metadefs_property.create(name, name="untitled", type="string")
    finally:
        glance.metadefs_namespace.delete(name)


def test_glance_errors_are_webob_pages_for_accept_any(server, session):
    """python-glanceclient parses Glance's errors as webob's HTML page: what Glance
    answers `Accept: */*` (a JSON body made glanceclient fail with AttributeError)."""
    _needs(server, "image")
    token = session.get_token()
    r = server.request("GET", f"/image/v2/images/{MISSING}", token=token,
                       headers={"Accept": "*/*"})
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<title>404 Not Found</title>" in r.text
    assert f"No image found with ID {MISSING}" in r.text
    r = server.request("GET", f"/image/v2/images/{MISSING}", token=token,
                       headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    r.json()


# --- python-novaclient -----------------------------------------------------------------


def test_novaclient_flavors_and_keypairs(nova, unique, later):
    from novaclient import exceptions

    flavors = {f.name: f for f in nova.flavors.list()}
    nano = flavors["m1.nano"]
    assert (nano.id, nano.ram, nano.disk, nano.vcpus) == ("42", 128, 1, 1)
    assert nova.flavors.get("42").name == "m1.nano"
    assert nova.flavors.find(name="m1.tiny").id == "1"

    name = unique("kp")
    kp = nova.keypairs.create(name)
    later(nova.keypairs.delete, name)
    assert kp.private_key.startswith("-----BEGIN")
    assert len(kp.fingerprint.split(":")) == 16
    assert nova.keypairs.get(name).fingerprint == kp.fingerprint
    assert name in [k.name for k in nova.keypairs.list()]
    with pytest.raises(exceptions.Conflict) as e:
        nova.keypairs.create(name)
    assert e.value.code == 409
    nova.keypairs.delete(name)
    with pytest.raises(exceptions.NotFound) as e:
        nova.keypairs.get(name)
    assert e.value.code == 404
    with pytest.raises(exceptions.NotFound):
        nova.flavors.get("no-such-flavor")


def test_novaclient_server_create_wait_delete(nova, image, unique, later):
    from novaclient import exceptions

    kp = unique("kp")
    nova.keypairs.create(kp)
    later(nova.keypairs.delete, kp)
    flavor = nova.flavors.find(name="m1.nano")
    name = unique("srv")
    created = nova.servers.create(name, image=image.id, flavor=flavor.id, nics="none",
                                  key_name=kp, meta={"role": "test"})
    later(nova.servers.delete, created.id)
    assert created.adminPass

    def active():
        s = nova.servers.get(created.id)
        assert s.status != "ERROR", s.fault
        return s if s.status == "ACTIVE" else None

    s = wait_for(f"server {created.id} ACTIVE", active)
    assert s.name == name and s.key_name == kp
    assert s.image["id"] == image.id and s.flavor["id"] == flavor.id
    assert s.addresses == {}
    assert s.metadata == {"role": "test"}
    assert [x.id for x in nova.servers.list(search_opts={"name": name})] == [created.id]
    # Starting a running server is refused by state.
    with pytest.raises(exceptions.Conflict) as e:
        nova.servers.start(created.id)
    assert e.value.code == 409
    # Horizon's console tab: novaclient "2" (no microversion header) asks the legacy action.
    from novaclient import client

    legacy = client.Client("2", session=nova.client.session)
    console = legacy.servers.get_vnc_console(created.id, "novnc")["console"]
    assert console["type"] == "novnc" and "vnc_auto.html?path=%3Ftoken%3D" in console["url"]
    with pytest.raises(exceptions.BadRequest, match="Unavailable console type spice-html5"):
        legacy.servers.get_spice_console(created.id, "spice-html5")
    remote = nova.servers.get_vnc_console(created.id, "novnc")["remote_console"]
    assert remote["protocol"] == "vnc" and remote["url"].startswith("http")

    nova.servers.delete(created.id)
    wait_for(f"server {created.id} deleted", gone(lambda: nova.servers.get(created.id),
                                                  exceptions.NotFound))


def test_novaclient_errors(nova, image, unique):
    from novaclient import exceptions

    with pytest.raises(exceptions.NotFound) as e:
        nova.servers.get(MISSING)
    assert e.value.code == 404
    assert f"Instance {MISSING} could not be found" in str(e.value)
    with pytest.raises(exceptions.NotFound):
        nova.servers.delete(MISSING)
    with pytest.raises(exceptions.BadRequest) as e:
        nova.servers.create(unique("srv"), image=image.id, flavor="no-such-flavor", nics="none")
    assert e.value.code == 400
    assert "Flavor no-such-flavor could not be found" in str(e.value)
    with pytest.raises(exceptions.BadRequest) as e:
        nova.servers.create(unique("srv"), image=MISSING, flavor="42", nics="none")
    assert e.value.code == 400


# --- python-cinderclient ---------------------------------------------------------------


def _wait_volume(cinder, volume_id, status):
    def probe():
        v = cinder.volumes.get(volume_id)
        assert v.status == status or not v.status.startswith("error"), v.status
        return v if v.status == status else None

    return wait_for(f"volume {volume_id} {status}", probe)


def test_cinderclient_create_extend_delete(cinder, unique, later):
    from cinderclient import exceptions

    name = unique("vol")
    v = cinder.volumes.create(size=1, name=name, metadata={"k": "v"})
    later(cinder.volumes.delete, v.id)
    assert v.size == 1
    v = _wait_volume(cinder, v.id, "available")
    assert v.name == name and v.metadata["k"] == "v"
    assert v.id in [x.id for x in cinder.volumes.list(search_opts={"name": name})]

    cinder.volumes.extend(v, 2)
    v = _wait_volume(cinder, v.id, "available")
    assert v.size == 2
    # Shrinking is no extend.
    with pytest.raises(exceptions.BadRequest) as e:
        cinder.volumes.extend(v, 1)
    assert e.value.code == 400
    assert "New size for extend must be greater than current size" in str(e.value)

    cinder.volumes.delete(v)
    wait_for(f"volume {v.id} deleted", gone(lambda: cinder.volumes.get(v.id),
                                            exceptions.NotFound))


def test_cinderclient_errors(cinder, session):
    from cinderclient import exceptions

    with pytest.raises(exceptions.NotFound) as e:
        cinder.volumes.get(MISSING)
    assert e.value.code == 404
    assert f"Volume {MISSING} could not be found" in str(e.value)
    with pytest.raises(exceptions.NotFound):
        cinder.volumes.delete(MISSING)
    with pytest.raises(exceptions.BadRequest) as e:
        cinder.volumes.create(size=0)
    assert e.value.code == 400
    with pytest.raises(exceptions.NotFound) as e:
        cinder.volumes.create(size=1, volume_type="no-such-type")
    assert "Volume type with name no-such-type could not be found" in str(e.value)
    quota = cinder.quotas.get(session.get_project_id()).gigabytes
    if quota < 0:
        pytest.skip("the project's gigabytes quota is unlimited")
    with pytest.raises(exceptions.OverLimit) as e:
        cinder.volumes.create(size=quota + 1)
    assert e.value.code == 413
    assert "exceeds allowed gigabytes quota" in str(e.value)


@pytest.mark.jumpgate_only
def test_cinderclient_over_quota_beyond_the_file_system(server, cinder, later):
    """A volume larger than the quota, and larger than the largest file the data dir's
    file system holds (ext4 stops at 16 TiB): Cinder counts the quota before anything is
    made (413), and so does jumpgate, before it stages the volume's file."""
    from cinderclient import exceptions

    size = 20000  # GiB, over the default 1000 GiB quota and over ext4's 16 TiB
    try:
        v = cinder.volumes.create(size=size)
        later(cinder.volumes.delete, v.id)
    except exceptions.OverLimit as e:
        assert e.code == 413
    else:
        pytest.fail(f"a {size} GiB volume was accepted")


# --- python-neutronclient --------------------------------------------------------------


def test_neutronclient_network_subnet_port(neutron, unique, later):
    from neutronclient.common import exceptions

    name = unique("net")
    net = neutron.create_network({"network": {"name": name}})["network"]
    later(neutron.delete_network, net["id"])
    assert net["status"] == "ACTIVE" and net["subnets"] == []
    subnet = neutron.create_subnet({"subnet": {
        "network_id": net["id"], "cidr": "10.77.0.0/24", "ip_version": 4, "name": name,
    }})["subnet"]
    later(neutron.delete_subnet, subnet["id"])
    assert subnet["gateway_ip"] == "10.77.0.1"
    assert subnet["allocation_pools"] == [{"start": "10.77.0.2", "end": "10.77.0.254"}]
    port = neutron.create_port({"port": {
        "network_id": net["id"], "name": name,
        "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "10.77.0.10"}],
    }})["port"]
    later(neutron.delete_port, port["id"])
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "10.77.0.10"}]
    assert port["mac_address"].startswith("fa:16:3e:")
    other = neutron.create_port({"port": {"network_id": net["id"]}})["port"]
    later(neutron.delete_port, other["id"])
    # Neutron's IPAM picks any free address of the pool, not necessarily the first.
    [allocated] = other["fixed_ips"]
    assert allocated["subnet_id"] == subnet["id"]
    assert ipaddress.ip_address(allocated["ip_address"]) in ipaddress.ip_network("10.77.0.0/24")
    assert allocated["ip_address"] not in ("10.77.0.1", "10.77.0.10")

    assert [n["id"] for n in neutron.list_networks(name=name)["networks"]] == [net["id"]]
    assert neutron.show_network(net["id"])["network"]["subnets"] == [subnet["id"]]
    subnets = neutron.list_subnets(network_id=net["id"])["subnets"]
    assert [s["id"] for s in subnets] == [subnet["id"]]
    ports = neutron.list_ports(network_id=net["id"], fields=["id", "name"])["ports"]
    assert sorted(p["id"] for p in ports) == sorted([port["id"], other["id"]])
    assert all(set(p) == {"id", "name"} for p in ports)
    renamed = neutron.update_port(port["id"], {"port": {"name": name + "-x"}})["port"]
    assert renamed["name"] == name + "-x"

    for p in (other, port):
        neutron.delete_port(p["id"])
    neutron.delete_subnet(subnet["id"])
    neutron.delete_network(net["id"])
    assert neutron.list_networks(name=name)["networks"] == []
    with pytest.raises(exceptions.NetworkNotFoundClient):
        neutron.show_network(net["id"])


def test_neutronclient_errors(neutron, unique, later):
    from neutronclient.common import exceptions

    with pytest.raises(exceptions.NetworkNotFoundClient) as e:
        neutron.show_network(MISSING)
    assert e.value.status_code == 404
    assert isinstance(e.value, exceptions.NotFound)
    with pytest.raises(exceptions.PortNotFoundClient) as e:
        neutron.delete_port(MISSING)
    assert e.value.status_code == 404

    name = unique("net")
    net = neutron.create_network({"network": {"name": name}})["network"]
    later(neutron.delete_network, net["id"])
    subnet = neutron.create_subnet({"subnet": {
        "network_id": net["id"], "cidr": "10.78.0.0/24", "ip_version": 4,
    }})["subnet"]
    later(neutron.delete_subnet, subnet["id"])
    with pytest.raises(exceptions.BadRequest) as e:
        neutron.create_subnet({"subnet": {"network_id": net["id"], "cidr": "10.78.0.0/25",
                                          "ip_version": 4}})
    assert e.value.status_code == 400
    assert "overlaps with another subnet" in str(e.value)
    with pytest.raises(exceptions.BadRequest, match="'bogus' is not a valid IP subnet"):
        neutron.create_subnet({"subnet": {"network_id": net["id"], "cidr": "bogus",
                                          "ip_version": 4}})
    with pytest.raises(exceptions.BadRequest, match="Unrecognized attribute"):
        neutron.create_network({"network": {"name": name, "bogus": 1}})
    port = neutron.create_port({"port": {"network_id": net["id"]}})["port"]
    later(neutron.delete_port, port["id"])
    address = port["fixed_ips"][0]["ip_address"]
    with pytest.raises(exceptions.IpAddressAlreadyAllocatedClient) as e:
        neutron.create_port({"port": {"network_id": net["id"],
                                      "fixed_ips": [{"ip_address": address}]}})
    assert e.value.status_code == 409

    # A network (or subnet) with a port on it is not deleted.
    with pytest.raises(exceptions.NetworkInUseClient) as e:
        neutron.delete_network(net["id"])
    assert e.value.status_code == 409
    assert isinstance(e.value, exceptions.Conflict)
    with pytest.raises(exceptions.Conflict) as e:
        neutron.delete_subnet(subnet["id"])
    assert e.value.status_code == 409
    assert neutron.show_network(net["id"])["network"]["subnets"] == [subnet["id"]]


# --- apache-libcloud -------------------------------------------------------------------


def test_libcloud_sizes_images_and_nodes(libcloud, neutron, image, unique, later):
    from libcloud.compute.drivers.openstack import OpenStackNetwork
    from libcloud.compute.types import NodeState

    sizes = {s.name: s for s in libcloud.list_sizes()}
    nano = sizes["m1.nano"]
    assert (nano.id, nano.ram, nano.disk, nano.vcpus) == ("42", 128, 1, 1)
    images = {i.id: i for i in libcloud.list_images()}
    assert images[image.id].name == image.name

    # A network of the project's own for the node, so that it gets an address.
    name = unique("lcnet")
    net = neutron.create_network({"network": {"name": name}})["network"]
    later(neutron.delete_network, net["id"])
    subnet = neutron.create_subnet({"subnet": {
        "network_id": net["id"], "cidr": "10.79.0.0/24", "ip_version": 4,
    }})["subnet"]
    later(neutron.delete_subnet, subnet["id"])

    node = libcloud.create_node(name=name, size=nano, image=images[image.id],
                                networks=[OpenStackNetwork(net["id"], name, None, libcloud)])
    later(libcloud.destroy_node, node)
    assert node.state == NodeState.PENDING
    [(node, ips)] = libcloud.wait_until_running([node], wait_period=0.2, timeout=TIMEOUT,
                                                ssh_interface="private_ips")
    assert node.state == NodeState.RUNNING
    [ip] = ips
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.79.0.0/24")
    assert node.name in [n.name for n in libcloud.list_nodes()]
    assert libcloud.ex_get_node_details(node.id).extra["flavorId"] == "42"

    assert libcloud.destroy_node(node) is True
    wait_for(f"node {node.id} deleted", lambda: libcloud.ex_get_node_details(node.id) is None)
    assert node.id not in [n.id for n in libcloud.list_nodes()]


def test_libcloud_volumes(server, libcloud, unique, later):
    _needs(server, "volume")
    from libcloud.compute.types import StorageVolumeState

    name = unique("lcvol")
    vol = libcloud.create_volume(1, name)
    later(libcloud.destroy_volume, vol)
    assert vol.size == 1 and vol.name == name
    vol = wait_for(f"volume {vol.id} available",
                   lambda: (v := libcloud.ex_get_volume(vol.id)).state
                   == StorageVolumeState.AVAILABLE and v)
    assert vol.id in [v.id for v in libcloud.list_volumes()]
    assert libcloud.destroy_volume(vol) is True
    wait_for(f"volume {vol.id} deleted",
             lambda: vol.id not in [v.id for v in libcloud.list_volumes()])


def test_libcloud_errors(server, libcloud):
    from libcloud.common.exceptions import BaseHTTPError
    from libcloud.common.types import InvalidCredsError
    from libcloud.compute.base import NodeImage

    with pytest.raises(InvalidCredsError):
        _libcloud(server, password="not-the-password").list_nodes()
    with pytest.raises(BaseHTTPError) as e:
        libcloud.get_image(MISSING)
    assert e.value.code == 404
    with pytest.raises(BaseHTTPError) as e:
        libcloud.ex_get_size("no-such-flavor")
    assert e.value.code == 404
    assert "Flavor no-such-flavor could not be found" in str(e.value)
    # A missing node is None to libcloud (it reads the 404), deleting one is an error.
    assert libcloud.ex_get_node_details(MISSING) is None
    with pytest.raises(BaseHTTPError) as e:
        libcloud.delete_image(NodeImage(MISSING, "missing", libcloud))
    assert e.value.code == 404
    if "volume" in server.services:
        with pytest.raises(BaseHTTPError) as e:
            libcloud.ex_get_volume(MISSING)
        assert e.value.code == 404
