"""Compute (Nova v2.1) through the real clients, as a user types it: flavors, keypairs whose
private key ssh-keygen accepts, servers through their whole life (build, reboot, stop and
start, pause, suspend, lock, rebuild, resize with confirm and revert, shelve, rescue,
snapshot, metadata, console log, events, delete), the errors a user meets (wrong state,
unknown flavor or image, another project's server, a reader), and openstacksdk as a
program uses it (create and wait, actions, limits, microversion negotiation).

What the CLI really does (python-openstackclient 10.5.0 over openstacksdk 4.22.0): every
command negotiates the highest microversion both sides know (openstacksdk's Server goes
up to 2.100, so the server's own maximum), `keypair create` without `--public-key` makes
an ed25519 key on the client and prints its private half, `server show` of a name it
cannot find says "No Server found for <name>", `--wait` polls every 5 s. Commands without
`--wait` (stop, start, pause, ...) are followed by a poll through openstacksdk until the
server settles; nothing here asserts how long anything takes.

Each test makes its own names and cleans up after itself. The jumpgate under test runs
with `[local] boot_delay = 0.2` (jumpgate_server.LOCAL_SETTINGS)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid

import openstack.exceptions
import openstack.utils
import pytest

import jumpgate_server as js

# A server reaches the state an action leads to within this many seconds, or the test
# fails saying where it stopped. Generous: a ceiling, not a measurement.
SETTLE_TIMEOUT = 120.0

FLAVORS = {
    "1": ("m1.tiny", 512, 1, 1),
    "2": ("m1.small", 2048, 20, 1),
    "3": ("m1.medium", 4096, 40, 2),
    "4": ("m1.large", 8192, 80, 4),
    "5": ("m1.xlarge", 16384, 160, 8),
    "42": ("m1.nano", 128, 1, 1),
    "84": ("m1.micro", 192, 1, 1),
}


@pytest.fixture(autouse=True)
def _compute_enabled(server):
    if "compute" not in server.services:
        pytest.skip("the server under test does not serve compute")


# --- helpers ---------------------------------------------------------------------------


def cli_json(osc, *args, env=None):
    """`openstack ... -f json` for commands that print before their JSON: `--wait` writes
    "\\rProgress: N" while it polls, then "Complete\\n" (rebuild) or "\\n" (server image
    create). A user piping `-f json` gets that too; the JSON starts at the first { or [."""
    r = osc.run(*args, env=env, json=True)
    assert r.returncode == 0, (
        f"{' '.join(r.args)} exited {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    )
    text = r.stdout
    starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    assert starts, f"{' '.join(r.args)}: no JSON in:\n{text}\n--- stderr\n{r.stderr}"
    try:
        return json.loads(text[min(starts):])
    except ValueError:
        raise AssertionError(f"{' '.join(r.args)}: not JSON:\n{text}\n--- stderr\n{r.stderr}") from None


def held(osc, server, consumer):
    """What Placement holds for a consumer (a server or a migration): class -> amount, and
    the providers it is on (`openstack resource provider allocation show`)."""
    if "placement" not in server.services:
        pytest.skip("the server under test does not serve placement")
    rows = osc("--os-placement-api-version", "1.39",
               "resource", "provider", "allocation", "show", consumer)
    amounts = {k: v for r in rows for k, v in r["resources"].items()}
    return amounts, {r["resource_provider"] for r in rows}


def host_usage(osc, provider):
    """What Placement counts as used on the compute host's provider, by class."""
    return {u["resource_class"]: u["usage"] for u in
            osc("--os-placement-api-version", "1.39",
                "resource", "provider", "usage", "show", provider)}


def settle(conn, server_id, status, *, timeout=SETTLE_TIMEOUT):
    """Polls (openstacksdk) until the server shows `status` with no task running; returns
    it. Fails with the last state seen, or at once when it went to ERROR instead."""
    until = time.monotonic() + timeout
    while True:
        s = conn.compute.get_server(server_id)
        if s.status == status and not s.task_state:
            return s
        if s.status == "ERROR" and status != "ERROR":
            raise AssertionError(f"server {server_id} went to ERROR waiting for {status}: fault {s.fault}")
        if time.monotonic() > until:
            raise AssertionError(
                f"server {server_id} not {status} after {timeout:.0f} s: status {s.status}, "
                f"vm_state {s.vm_state}, task_state {s.task_state}, power_state {s.power_state}"
            )
        time.sleep(0.1)


def actions_of(osc, server, env=None):
    """`openstack server event list`: the Action column, newest first (as Nova lists)."""
    return [row["Action"] for row in osc("server", "event", "list", server, env=env)]


def ssh_keygen(*args) -> str:
    r = subprocess.run(["ssh-keygen", *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"ssh-keygen {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def md5_fingerprint(pub_path) -> str:
    """Nova's keypair fingerprint: the MD5 of the key blob, colon separated (as
    `ssh-keygen -l -E md5` prints it, without "MD5:")."""
    out = ssh_keygen("-l", "-E", "md5", "-f", str(pub_path))
    return out.split()[1].removeprefix("MD5:")


def _project_user(osc, server, cleanup, unique, role):
    """A fresh project and a user whose only role is `role` there: a dict with project,
    project_id, user, user_id, password, env (OS_* for the CLI) and connect() (openstacksdk)."""
    project, user, password = unique("proj"), unique("user"), uuid.uuid4().hex
    project_id = osc("project", "create", "--domain", js.DOMAIN_ID, project)["id"]
    cleanup("project", project)
    user_id = osc("user", "create", "--domain", js.DOMAIN_ID, "--password", password, user)["id"]
    cleanup("user", user)
    osc("role", "add", "--project", project, "--user", user, role, json=False)
    env = server.env(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
                     OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME)
    return dict(
        project=project, project_id=project_id, user=user, user_id=user_id, password=password,
        env=env,
        connect=lambda: server.connect(username=user, password=password, project_name=project),
    )


def _add_user(osc, server, cleanup, unique, project, role):
    """Another user whose only role is `role` on `project`: its OS_* variables."""
    user, password = unique("user"), uuid.uuid4().hex
    osc("user", "create", "--domain", js.DOMAIN_ID, "--password", password, user)
    cleanup("user", user)
    osc("role", "add", "--project", project, "--user", user, role, json=False)
    return server.env(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
                      OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME)


# --- fixtures --------------------------------------------------------------------------


class Image:
    def __init__(self, id: str, name: str):
        self.id, self.name = id, name

    def __repr__(self):
        return f"<Image {self.name} {self.id}>"


@pytest.fixture(scope="module")
def images(osc, conn, tmp_path_factory):
    """Two public images uploaded with `openstack image create --file` (public: the other
    projects' users of these tests boot from them too)."""
    folder = tmp_path_factory.mktemp("disks")
    made = []
    for label in ("cirros", "other"):
        path = folder / f"{label}.img"
        path.write_bytes(uuid.uuid4().bytes * 4096)  # 64 KiB
        name = f"{label}-{uuid.uuid4().hex[:10]}"
        try:
            image = osc("image", "create", "--file", str(path), "--disk-format", "raw",
                        "--container-format", "bare", "--public", name)
        except Exception:
            for done in made:
                conn.image.delete_image(done.id, ignore_missing=True)
            raise
        assert image["status"] == "active", image
        made.append(Image(image["id"], name))
    yield made
    for image in made:
        try:
            conn.image.delete_image(image.id, ignore_missing=True)
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the outcome
            print(f"cleanup of image {image.name} failed: {e}", file=sys.stderr)


@pytest.fixture(scope="module")
def image(images):
    return images[0]


class Servers:
    """Makes servers through openstacksdk (quick: its own short poll) and deletes every
    server it made or was told about at teardown, as admin (which a lock does not stop).

    Its servers have no network unless asked (`networks="auto"`): the tests of actions are
    about Compute, and must not depend on how many networks a project happens to have
    (`auto` is a 409 with several, as Nova). The CLI tests of `server create` use the
    CLI's default, `auto`."""

    def __init__(self, conn, image):
        self.conn = conn
        self.image = image
        self.ids: list[str] = []

    def track(self, server_id: str) -> str:
        self.ids.append(server_id)
        return server_id

    def make(self, name, *, connection=None, flavor="42", image=None, key_name=None,
             networks="none", wait=True):
        c = connection or self.conn
        args = dict(name=name, flavor_id=flavor, image_id=(image or self.image).id,
                    networks=networks)
        if key_name:
            args["key_name"] = key_name
        s = c.compute.create_server(**args)
        self.track(s.id)
        if wait:
            s = c.compute.wait_for_server(s, status="ACTIVE", failures=["ERROR"], interval=0.2,
                                          wait=SETTLE_TIMEOUT)
        return s

    def delete_all(self):
        for server_id in reversed(self.ids):
            try:
                found = self.conn.compute.get_server(server_id)
            except openstack.exceptions.NotFoundException:
                continue
            except Exception as e:  # noqa: BLE001
                print(f"cleanup: server {server_id}: {e}", file=sys.stderr)
                continue
            try:
                self.conn.compute.delete_server(found, ignore_missing=True)
                self.conn.compute.wait_for_delete(found, interval=0.2, wait=SETTLE_TIMEOUT)
            except Exception as e:  # noqa: BLE001
                print(f"cleanup: delete server {server_id}: {e}", file=sys.stderr)


@pytest.fixture
def servers(conn, image):
    made = Servers(conn, image)
    yield made
    made.delete_all()


@pytest.fixture
def keypairs(conn):
    """keypairs(name): the admin's keypair `name` is deleted at teardown if still there."""
    names = []
    yield names.append
    for name in names:
        try:
            conn.compute.delete_keypair(name, ignore_missing=True)
        except Exception as e:  # noqa: BLE001
            print(f"cleanup of keypair {name} failed: {e}", file=sys.stderr)


@pytest.fixture(scope="module")
def admin_ids(osc):
    return dict(project=osc("project", "show", js.ADMIN_PROJECT)["id"],
                user=osc("user", "show", js.ADMIN_USER)["id"])


needs_ssh_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="no ssh-keygen")


# --- flavors ---------------------------------------------------------------------------


def test_flavor_list_has_the_default_flavors(osc):
    listed = {row["ID"]: row for row in osc("flavor", "list")}
    for flavor_id, (name, ram, disk, vcpus) in FLAVORS.items():
        assert flavor_id in listed, (flavor_id, sorted(listed))
        row = listed[flavor_id]
        assert (row["Name"], row["RAM"], row["Disk"], row["VCPUs"]) == (name, ram, disk, vcpus), row
        assert row["Is Public"] is True, row


def test_flavor_show_by_name_and_id(osc):
    nano = osc("flavor", "show", "m1.nano")
    assert nano["id"] == "42"
    assert nano["name"] == "m1.nano"
    assert (nano["ram"], nano["disk"], nano["vcpus"]) == (128, 1, 1)
    assert nano["os-flavor-access:is_public"] is True
    assert nano["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert osc("flavor", "show", "84")["name"] == "m1.micro"
    err = osc.fails("flavor", "show", "m1.nope")
    assert "No Flavor found for m1.nope" in err.stderr, err


# --- keypairs --------------------------------------------------------------------------


@needs_ssh_keygen
def test_keypair_create_prints_a_usable_private_key(osc, keypairs, unique, tmp_path, admin_ids):
    name = unique("k1")
    keypairs(name)
    # `openstack keypair create k1 > k1.pem`
    r = osc.run("keypair", "create", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("-----BEGIN OPENSSH PRIVATE KEY-----"), r.stdout[:200]
    pem = tmp_path / "k1.pem"
    pem.write_text(r.stdout)
    pem.chmod(0o600)
    derived = ssh_keygen("-y", "-f", str(pem)).split()
    stored = osc("keypair", "show", "--public-key", name, json=False).split()
    assert stored[:2] == derived[:2], (stored, derived)
    assert stored[0] == "ssh-ed25519"

    shown = osc("keypair", "show", name)
    assert shown["name"] == name
    assert shown["type"] == "ssh"
    assert shown["user_id"] == admin_ids["user"]
    assert shown.get("private_key") is None and "public_key" not in shown
    pub = tmp_path / "k1.pub"
    pub.write_text(" ".join(derived[:2]) + "\n")
    assert shown["fingerprint"] == md5_fingerprint(pub)


@needs_ssh_keygen
def test_keypair_import_list_show_delete(osc, keypairs, unique, tmp_path):
    key = tmp_path / "id_rsa"
    ssh_keygen("-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "me@example", "-f", str(key))
    pub = key.with_suffix(".pub")
    name = unique("k2")
    keypairs(name)
    created = osc("keypair", "create", "--public-key", str(pub), name)
    assert created["name"] == name
    assert created["type"] == "ssh"
    assert created["fingerprint"] == md5_fingerprint(pub)
    assert created.get("private_key") is None
    # The public key is kept as given.
    stored = osc("keypair", "show", "--public-key", name, json=False)
    assert stored.split()[:2] == pub.read_text().split()[:2]

    listed = {row["Name"]: row for row in osc("keypair", "list")}
    assert name in listed, listed
    assert listed[name]["Fingerprint"] == created["fingerprint"]
    assert listed[name]["Type"] == "ssh"

    # The same name again: Nova's 409.
    err = osc.fails("keypair", "create", "--public-key", str(pub), name)
    assert err.status == 409, err
    assert f"Key pair '{name}' already exists." in err.stderr, err

    osc("keypair", "delete", name, json=False)
    assert name not in {row["Name"] for row in osc("keypair", "list")}
    err = osc.fails("keypair", "show", name)
    assert f"No Keypair found for {name}" in err.stderr, err
    err = osc.fails("keypair", "delete", name)
    assert "1 of 1 keys failed to delete." in err.stderr, err


def test_keypair_with_a_bad_public_key_is_refused(osc, keypairs, unique, tmp_path):
    bad = tmp_path / "bad.pub"
    bad.write_text("ssh-rsa this-is-not-a-key\n")
    name = unique("bad")
    keypairs(name)
    err = osc.fails("keypair", "create", "--public-key", str(bad), name)
    assert err.status == 400, err
    assert "Keypair data is invalid" in err.stderr, err
    assert name not in {row["Name"] for row in osc("keypair", "list")}


# --- a server's life through the CLI ---------------------------------------------------


@needs_ssh_keygen
def test_server_create_list_show_delete(osc, servers, keypairs, image, unique, admin_ids):
    key = unique("k1")
    keypairs(key)
    assert osc.run("keypair", "create", key).returncode == 0
    name = unique("s1")
    created = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                       "--key-name", key, "--wait", name)
    server_id = servers.track(created["id"])
    assert created["name"] == name
    assert created["status"] == "ACTIVE"
    assert created["key_name"] == key
    assert created["flavor"]["original_name"] == "m1.nano", created["flavor"]
    assert (created["flavor"]["ram"], created["flavor"]["vcpus"], created["flavor"]["disk"]) == (128, 1, 1)
    assert created["image"] == f"{image.name} ({image.id})"
    assert created["OS-EXT-STS:vm_state"] == "active"
    assert created["OS-EXT-STS:power_state"] == 1  # Running
    assert created["OS-EXT-AZ:availability_zone"] == "nova"
    assert created["project_id"] == admin_ids["project"]
    assert created["user_id"] == admin_ids["user"]
    assert created["hostId"]
    # An admin sees where it runs.
    assert created["OS-EXT-SRV-ATTR:host"] and created["OS-EXT-SRV-ATTR:hypervisor_hostname"], created

    rows = {row["ID"]: row for row in osc("server", "list")}
    assert server_id in rows, rows
    row = rows[server_id]
    assert (row["Name"], row["Status"], row["Image"], row["Flavor"]) == (
        name, "ACTIVE", image.name, "m1.nano"), row
    assert [r["ID"] for r in osc("server", "list", "--name", name)] == [server_id]

    by_name = osc("server", "show", name)
    by_id = osc("server", "show", server_id)
    assert by_name["id"] == by_id["id"] == server_id
    for shown in (by_name, by_id):
        assert shown["name"] == name
        assert shown["status"] == "ACTIVE"
        assert shown["key_name"] == key
        assert shown["flavor"]["original_name"] == "m1.nano"
        assert shown["image"] == f"{image.name} ({image.id})"
        assert shown["locked"] is False
        assert shown["properties"] == {}

    r = osc.run("server", "delete", "--wait", name)
    assert r.returncode == 0, r.stderr
    err = osc.fails("server", "show", name)
    assert f"No Server found for {name}" in err.stderr, err
    err = osc.fails("server", "show", server_id)
    assert f"No Server found for {server_id}" in err.stderr, err
    assert server_id not in {r["ID"] for r in osc("server", "list")}
    # The actions of a deleted server, by its ID (microversion 2.21 and later).
    actions = actions_of(osc, server_id)
    assert actions[0] == "delete" and actions[-1] == "create", actions


def test_create_with_no_network(osc, servers, image, unique):
    name = unique("s")
    created = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                       "--nic", "none", "--wait", name)
    servers.track(created["id"])
    assert created["status"] == "ACTIVE"
    assert osc("server", "show", name)["addresses"] == {}


def test_reboot_soft_and_hard(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    out = osc("server", "reboot", "--wait", name, json=False)
    assert "Complete" in out
    assert osc("server", "show", name)["status"] == "ACTIVE"
    out = osc("server", "reboot", "--hard", "--wait", s.id, json=False)
    assert "Complete" in out
    shown = osc("server", "show", name)
    assert shown["status"] == "ACTIVE" and shown["OS-EXT-STS:power_state"] == 1, shown
    assert actions_of(osc, name)[:2] == ["reboot", "reboot"]


def test_stop_and_start(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    assert osc("server", "stop", name, json=False) == ""
    settle(conn, s.id, "SHUTOFF")
    shown = osc("server", "show", name)
    assert shown["status"] == "SHUTOFF"
    assert shown["OS-EXT-STS:vm_state"] == "stopped"
    assert shown["OS-EXT-STS:power_state"] == 4  # Shutdown
    assert s.id in {r["ID"] for r in osc("server", "list", "--status", "SHUTOFF")}
    assert s.id not in {r["ID"] for r in osc("server", "list", "--status", "ACTIVE")}
    osc("server", "start", name, json=False)
    settle(conn, s.id, "ACTIVE")
    shown = osc("server", "show", name)
    assert shown["OS-EXT-STS:power_state"] == 1


def test_pause_and_unpause(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    osc("server", "pause", name, json=False)
    settle(conn, s.id, "PAUSED")
    shown = osc("server", "show", name)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("PAUSED", 3)
    osc("server", "unpause", name, json=False)
    settle(conn, s.id, "ACTIVE")
    assert actions_of(osc, name)[:2] == ["unpause", "pause"]


def test_suspend_and_resume(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    osc("server", "suspend", name, json=False)
    settle(conn, s.id, "SUSPENDED")
    shown = osc("server", "show", name)
    assert (shown["status"], shown["OS-EXT-STS:power_state"]) == ("SUSPENDED", 7)
    osc("server", "resume", name, json=False)
    settle(conn, s.id, "ACTIVE")
    assert actions_of(osc, name)[:2] == ["resume", "suspend"]


def test_lock_and_unlock_show_in_server_show(osc, servers, unique):
    name = unique("s")
    servers.make(name)
    osc("server", "lock", "--reason", "maintenance", name, json=False)
    shown = osc("server", "show", name)
    assert shown["locked"] is True
    assert shown["locked_reason"] == "maintenance"
    osc("server", "unlock", name, json=False)
    shown = osc("server", "show", name)
    assert shown["locked"] is False
    assert shown.get("locked_reason") is None


def test_a_locked_server_refuses_its_member_stop(osc, server, conn, servers, cleanup, unique):
    member = _project_user(osc, server, cleanup, unique, "member")
    mconn = member["connect"]()
    try:
        name = unique("s")
        s = servers.make(name, connection=mconn)
        env = member["env"]
        shown = osc("server", "show", name, env=env)
        # A member sees the host only as its opaque hostId (Nova's default policy).
        assert shown["hostId"], shown
        assert shown.get("OS-EXT-SRV-ATTR:host") is None, shown
        assert shown.get("OS-EXT-SRV-ATTR:hypervisor_hostname") is None, shown
        osc("server", "lock", name, env=env, json=False)
        assert osc("server", "show", name, env=env)["locked"] is True
        err = osc.fails("server", "stop", name, env=env)
        assert err.status == 409, err
        assert f"Instance {s.id} is locked" in err.stderr, err
        err = osc.fails("server", "delete", name, env=env)
        assert err.status == 409 and f"Instance {s.id} is locked" in err.stderr, err
        assert "1 of 1 servers failed to delete." in err.stderr, err
        assert osc("server", "show", name, env=env)["status"] == "ACTIVE"
        osc("server", "unlock", name, env=env, json=False)
        osc("server", "stop", name, env=env, json=False)
        settle(mconn, s.id, "SHUTOFF")
        actions = actions_of(osc, name, env=env)
        assert actions[:3] == ["stop", "unlock", "lock"], actions
    finally:
        mconn.close()


def test_rebuild_with_another_image(osc, conn, servers, images, unique):
    first, other = images
    name = unique("s")
    s = servers.make(name, image=first)
    out = cli_json(osc, "server", "rebuild", "--image", other.name, "--wait", name)
    assert out["id"] == s.id
    shown = osc("server", "show", name)
    assert shown["status"] == "ACTIVE"
    assert shown["image"] == f"{other.name} ({other.id})"
    assert actions_of(osc, name)[0] == "rebuild"


def test_resize_confirm_then_revert(osc, server, conn, servers, unique):
    """Nova's resize, and Placement following it: the server holds its flavor's resources
    on the compute host; during a resize the migration holds the old flavor's and the
    server the new one's; confirm frees the old, revert gives it back; delete frees all."""
    name = unique("s")
    s = servers.make(name, flavor="42")
    amounts, (host,) = held(osc, server, s.id)
    assert amounts == {"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}, amounts
    before = host_usage(osc, host)
    out = osc("server", "resize", "--flavor", "m1.micro", "--wait", name, json=False)
    assert "Complete" in out
    shown = osc("server", "show", name)
    assert shown["status"] == "VERIFY_RESIZE", shown["status"]
    assert shown["OS-EXT-STS:vm_state"] == "resized"
    assert shown["flavor"]["original_name"] == "m1.micro"
    assert held(osc, server, s.id)[0]["MEMORY_MB"] == 192
    assert host_usage(osc, host)["MEMORY_MB"] == before["MEMORY_MB"] + 192, \
        "the migration holds the old flavor's memory, the server the new one's"
    osc("server", "resize", "confirm", name, json=False)
    settle(conn, s.id, "ACTIVE")
    shown = osc("server", "show", name)
    assert shown["flavor"]["original_name"] == "m1.micro"
    assert shown["flavor"]["ram"] == 192
    assert host_usage(osc, host)["MEMORY_MB"] == before["MEMORY_MB"] + 192 - 128

    osc("server", "resize", "--flavor", "m1.tiny", "--wait", name, json=False)
    shown = osc("server", "show", name)
    assert shown["status"] == "VERIFY_RESIZE"
    assert shown["flavor"]["original_name"] == "m1.tiny"
    assert held(osc, server, s.id)[0]["MEMORY_MB"] == 512
    osc("server", "resize", "revert", name, json=False)
    settle(conn, s.id, "ACTIVE")
    shown = osc("server", "show", name)
    assert shown["flavor"]["original_name"] == "m1.micro"
    assert shown["flavor"]["ram"] == 192
    assert held(osc, server, s.id)[0]["MEMORY_MB"] == 192
    assert host_usage(osc, host)["MEMORY_MB"] == before["MEMORY_MB"] + 192 - 128
    actions = actions_of(osc, name)
    assert actions[:4] == ["revertResize", "resize", "confirmResize", "resize"], actions
    osc("server", "delete", "--wait", name, json=False)
    assert held(osc, server, s.id)[0] == {}
    assert host_usage(osc, host)["MEMORY_MB"] == before["MEMORY_MB"] - 128


def test_a_stopped_server_stays_stopped_through_rebuild_and_resize(osc, conn, servers, images,
                                                                   unique):
    first, other = images
    name = unique("s")
    s = servers.make(name, image=first)
    osc("server", "stop", name, json=False)
    settle(conn, s.id, "SHUTOFF")
    # The CLI's --wait waits for SHUTOFF when the server was SHUTOFF.
    cli_json(osc, "server", "rebuild", "--image", other.name, "--wait", name)
    shown = osc("server", "show", name)
    assert (shown["status"], shown["image"]) == ("SHUTOFF", f"{other.name} ({other.id})"), shown
    osc("server", "resize", "--flavor", "m1.micro", "--wait", name, json=False)
    assert osc("server", "show", name)["status"] == "VERIFY_RESIZE"
    osc("server", "resize", "confirm", name, json=False)
    settle(conn, s.id, "SHUTOFF")
    shown = osc("server", "show", name)
    assert shown["flavor"]["original_name"] == "m1.micro"
    assert shown["OS-EXT-STS:power_state"] == 4


def test_resize_to_the_same_flavor_is_refused(osc, servers, unique):
    name = unique("s")
    servers.make(name, flavor="42")
    err = osc.fails("server", "resize", "--flavor", "m1.nano", name)
    assert err.status == 400, err
    assert "When resizing, instances must change flavor!" in err.stderr, err
    assert osc("server", "show", name)["status"] == "ACTIVE"


def test_shelve_and_unshelve(osc, server, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    wanted = held(osc, server, s.id)[0]
    assert wanted, "an active server holds its flavor's resources"
    osc("server", "shelve", "--wait", name, json=False)
    shown = osc("server", "show", name)
    # Nova offloads at once by default ([DEFAULT] shelved_offload_time = 0), and an
    # offloaded server holds nothing on the host.
    assert shown["status"] in ("SHELVED", "SHELVED_OFFLOADED"), shown["status"]
    assert held(osc, server, s.id)[0] == {}
    osc("server", "unshelve", "--wait", name, json=False)
    assert held(osc, server, s.id)[0] == wanted
    shown = osc("server", "show", name)
    assert shown["status"] == "ACTIVE"
    assert shown["OS-EXT-STS:power_state"] == 1
    settle(conn, s.id, "ACTIVE")
    assert actions_of(osc, name)[:2] == ["unshelve", "shelve"]


def test_rescue_and_unrescue(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    osc("server", "rescue", name, json=False)
    settle(conn, s.id, "RESCUE")
    assert osc("server", "show", name)["OS-EXT-STS:vm_state"] == "rescued"
    osc("server", "unrescue", name, json=False)
    settle(conn, s.id, "ACTIVE")
    assert actions_of(osc, name)[:2] == ["unrescue", "rescue"]


def test_snapshot_becomes_an_image(osc, conn, servers, image, cleanup, unique):
    name = unique("s")
    s = servers.make(name)
    snap = unique("snap")
    cleanup("image", snap)
    out = cli_json(osc, "server", "image", "create", "--name", snap, "--wait", name)
    assert out["name"] == snap
    assert out["status"] == "active"
    listed = {row["Name"]: row for row in osc("image", "list")}
    assert snap in listed, sorted(listed)
    assert listed[snap]["ID"] == out["id"]
    shown = osc("image", "show", snap)
    assert shown["status"] == "active"
    props = shown.get("properties") or {}
    assert props.get("image_type") == "snapshot", shown
    assert props.get("instance_uuid") == s.id, shown
    assert actions_of(osc, name)[0] == "createImage"
    # The snapshot boots.
    again = servers.make(unique("from-snap"), image=Image(out["id"], snap))
    assert again.status == "ACTIVE"
    assert osc("server", "show", again.id)["image"] == f"{snap} ({out['id']})"


def test_properties_name_and_description(osc, servers, unique):
    name = unique("s")
    s = servers.make(name)
    osc("server", "set", "--property", "a=b", "--property", "c=d", name, json=False)
    assert osc("server", "show", name)["properties"] == {"a": "b", "c": "d"}
    osc("server", "unset", "--property", "a", name, json=False)
    assert osc("server", "show", name)["properties"] == {"c": "d"}

    new = unique("renamed")
    osc("server", "set", "--name", new, "--description", "a test server", name, json=False)
    shown = osc("server", "show", new)
    assert shown["id"] == s.id
    assert shown["name"] == new
    assert shown["description"] == "a test server"
    err = osc.fails("server", "show", name)
    assert f"No Server found for {name}" in err.stderr, err


def test_console_log(osc, servers, unique):
    name = unique("s")
    servers.make(name)
    tail = osc("console", "log", "show", "--lines", "5", name, json=False)
    full = osc("console", "log", "show", name, json=False)
    assert full.strip(), "the console log is empty"
    tail_lines = tail.splitlines()
    assert 1 <= len(tail_lines) <= 5, tail
    full_lines = full.splitlines()
    assert len(full_lines) >= len(tail_lines)
    for line in tail_lines:
        assert line in full_lines, (line, full)


def test_event_list_and_show(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    osc("server", "stop", name, json=False)
    settle(conn, s.id, "SHUTOFF")
    osc("server", "start", name, json=False)
    settle(conn, s.id, "ACTIVE")
    rows = osc("server", "event", "list", name)
    assert [r["Action"] for r in rows] == ["start", "stop", "create"], rows
    for row in rows:
        assert row["Server ID"] == s.id
        assert row["Request ID"].startswith("req-"), row
        assert row["Start Time"]
    stop = next(r for r in rows if r["Action"] == "stop")
    shown = osc("server", "event", "show", name, stop["Request ID"])
    assert shown["action"] == "stop"
    assert shown["request_id"] == stop["Request ID"]
    assert shown["events"], shown
    assert all(e["result"] == "Success" for e in shown["events"]), shown["events"]
    long = osc("server", "event", "list", "--long", name)
    assert all(r["Project ID"] == s.project_id for r in long), long


def test_two_servers_at_once_in_a_server_group(osc, conn, servers, image, unique):
    group = unique("grp")
    created = osc("server", "group", "create", "--policy", "affinity", group)
    group_id = created["id"]
    try:
        assert created["name"] == group
        assert created["policy"] == "affinity"
        assert created["members"] == []
        name = unique("pair")
        first = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                         "--server-group", group, "--min", "2", "--max", "2", "--wait", name)
        servers.track(first["id"])
        # Nova names them <name>-1, <name>-2.
        rows = {r["Name"]: r["ID"] for r in osc("server", "list", "--name", name)}
        assert sorted(rows) == [f"{name}-1", f"{name}-2"], rows
        for server_id in rows.values():
            servers.track(server_id)
            settle(conn, server_id, "ACTIVE")
        assert first["id"] in rows.values()
        shown = osc("server", "group", "show", group)
        assert sorted(shown["members"]) == sorted(rows.values()), shown
        # By ID: GET /servers/{id} carries server_groups from 2.71 (the list Nova answers a
        # show by name with does not).
        assert osc("server", "show", rows[f"{name}-2"])["server_groups"] == [group_id]
        assert group in {r["Name"] for r in osc("server", "group", "list")}
    finally:
        servers.delete_all()
        osc("server", "group", "delete", group_id, json=False)
    assert group not in {r["Name"] for r in osc("server", "group", "list")}


# --- what a user gets wrong ------------------------------------------------------------


def test_actions_in_the_wrong_state_are_conflicts(osc, conn, servers, unique):
    name = unique("s")
    s = servers.make(name)
    err = osc.fails("server", "unpause", name)
    assert err.status == 409, err
    assert f"Cannot 'unpause' instance {s.id} while it is in vm_state active" in err.stderr, err
    err = osc.fails("server", "start", name)
    assert err.status == 409, err
    assert f"Cannot 'start' instance {s.id} while it is in vm_state active" in err.stderr, err
    err = osc.fails("server", "unrescue", name)
    assert err.status == 409, err
    err = osc.fails("server", "resize", "confirm", name)
    assert err.status == 409, err
    assert f"Cannot 'confirmResize' instance {s.id} while it is in vm_state active" in err.stderr, err
    osc("server", "stop", name, json=False)
    settle(conn, s.id, "SHUTOFF")
    err = osc.fails("server", "pause", name)
    assert err.status == 409, err
    assert f"Cannot 'pause' instance {s.id} while it is in vm_state stopped" in err.stderr, err
    # Nothing changed.
    assert osc("server", "show", name)["status"] == "SHUTOFF"


def test_create_with_an_unknown_flavor_or_image_leaves_nothing(osc, conn, image, unique):
    name = unique("s")
    # The CLI looks both up before it asks for a server.
    err = osc.fails("server", "create", "--flavor", "m1.nope", "--image", image.name, name)
    assert "No Flavor found for m1.nope" in err.stderr, err
    err = osc.fails("server", "create", "--flavor", "m1.nano", "--image", "no-such-image", name)
    assert "No Image found for no-such-image" in err.stderr, err
    assert osc("server", "list", "--name", name) == []


def test_create_with_a_bad_reference_is_a_bad_request(conn, image, unique):
    """What Nova answers the POST itself (openstacksdk, as a program would send it)."""
    name = unique("s")
    before = {s.id for s in conn.compute.servers()}
    cases = [
        (dict(flavor_id="nope", image_id=image.id), "Flavor nope could not be found."),
        (dict(flavor_id="42", image_id=str(uuid.uuid4())), "Can not find requested image"),
        (dict(flavor_id="42", image_id=image.id, key_name="no-such-key"), "Invalid key_name provided."),
    ]
    for args, message in cases:
        with pytest.raises(openstack.exceptions.BadRequestException) as exc:
            conn.compute.create_server(name=name, networks="none", **args)
        assert exc.value.status_code == 400
        assert message in str(exc.value), (args, str(exc.value))
    assert {s.id for s in conn.compute.servers()} == before
    assert list(conn.compute.servers(name=name)) == []


def test_another_project_sees_neither_servers_nor_keypairs(osc, server, conn, servers, keypairs,
                                                          cleanup, unique):
    key = unique("k")
    keypairs(key)
    assert osc.run("keypair", "create", key).returncode == 0
    name = unique("s")
    s = servers.make(name, key_name=key)

    other = _project_user(osc, server, cleanup, unique, "member")
    env = other["env"]
    assert s.id not in {r["ID"] for r in osc("server", "list", env=env)}
    err = osc.fails("server", "show", s.id, env=env)
    assert f"No Server found for {s.id}" in err.stderr, err
    err = osc.fails("server", "show", name, env=env)
    assert f"No Server found for {name}" in err.stderr, err
    err = osc.fails("server", "stop", s.id, env=env)
    assert f"No Server found for {s.id}" in err.stderr, err
    err = osc.fails("server", "delete", s.id, env=env)
    assert "1 of 1 servers failed to delete." in err.stderr, err
    # The API itself says 404, as Nova does for a server of another project.
    oconn = other["connect"]()
    try:
        r = oconn.compute.get(f"/servers/{s.id}", raise_exc=False)
        assert r.status_code == 404, (r.status_code, r.text)
        assert f"Instance {s.id} could not be found." in r.text
    finally:
        oconn.close()
    # Untouched, for its owner.
    assert osc("server", "show", s.id)["status"] == "ACTIVE"
    # Keypairs belong to their user.
    assert key not in {r["Name"] for r in osc("keypair", "list", env=env)}
    err = osc.fails("keypair", "show", key, env=env)
    assert f"No Keypair found for {key}" in err.stderr, err


def test_another_projects_servers_leave_the_admins_create_alone(osc, server, servers, cleanup,
                                                                image, unique):
    """`server create` without --nic asks for `networks: auto`: Nova picks among the networks
    of the caller's project and the shared ones (even for an admin), so a network another
    project got for its own servers makes no difference."""
    servers.make(unique("s"), networks="auto")  # the admin's project has a network for servers
    member = _project_user(osc, server, cleanup, unique, "member")
    mconn = member["connect"]()
    try:
        servers.make(unique("s"), connection=mconn, networks="auto")  # so does this project now
    finally:
        mconn.close()
    name = unique("s")
    created = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                       "--wait", name)
    servers.track(created["id"])
    assert created["status"] == "ACTIVE"


def test_a_reader_cannot_create_a_server(osc, server, cleanup, image, unique):
    reader = _project_user(osc, server, cleanup, unique, "reader")
    env = reader["env"]
    # A reader reads...
    assert osc("server", "list", env=env) == []
    assert "m1.nano" in {r["Name"] for r in osc("flavor", "list", env=env)}
    # ...and is refused a server.
    name = unique("s")
    err = osc.fails("server", "create", "--flavor", "m1.nano", "--image", image.name, name, env=env)
    assert err.status == 403, err
    assert "os_compute_api:servers:create" in err.stderr, err
    assert osc("server", "list", env=env) == []


def test_a_reader_sees_the_projects_servers_but_cannot_act(osc, server, servers, cleanup, unique):
    member = _project_user(osc, server, cleanup, unique, "member")
    reader = _add_user(osc, server, cleanup, unique, member["project"], "reader")
    mconn = member["connect"]()
    try:
        name = unique("s")
        s = servers.make(name, connection=mconn)
        assert [r["ID"] for r in osc("server", "list", env=reader)] == [s.id]
        assert osc("server", "show", name, env=reader)["status"] == "ACTIVE"
        for action in (("stop",), ("reboot",), ("delete",), ("set", "--property", "a=b")):
            err = osc.fails("server", *action, name, env=reader)
            if action == ("delete",):
                # The CLI reports each server it could not delete, then a count.
                assert "1 of 1 servers failed to delete." in err.stderr, err
            assert err.status == 403, (action, err)
            assert "Policy doesn't allow" in err.stderr, (action, err)
        shown = osc("server", "show", name, env=member["env"])
        assert shown["status"] == "ACTIVE" and shown["properties"] == {}
        # The admin lists it only across projects.
        assert s.id not in {r["ID"] for r in osc("server", "list")}
        every = {r["ID"]: r for r in osc("server", "list", "--all-projects")}
        assert s.id in every, sorted(every)
        assert every[s.id]["Project ID"] == member["project_id"]
    finally:
        mconn.close()


def test_quota_set_limits_a_projects_servers(osc, server, servers, cleanup, image, unique):
    member = _project_user(osc, server, cleanup, unique, "member")
    osc("quota", "set", "--instances", "1", member["project"], json=False)
    env = member["env"]
    first = unique("s")
    created = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                       "--wait", first, env=env)
    servers.track(created["id"])
    assert created["status"] == "ACTIVE"
    second = unique("s")
    err = osc.fails("server", "create", "--flavor", "m1.nano", "--image", image.name, second, env=env)
    assert err.status == 403, err
    assert "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances" in err.stderr, err
    assert [r["Name"] for r in osc("server", "list", env=env)] == [first]
    # Room again once the first is gone.
    osc("server", "delete", "--wait", first, env=env, json=False)
    again = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--image", image.name,
                     "--wait", second, env=env)
    servers.track(again["id"])
    assert again["status"] == "ACTIVE"


# --- openstacksdk ----------------------------------------------------------------------


def test_sdk_server_lifecycle(conn, image, servers, unique):
    name = unique("sdk")
    created = conn.compute.create_server(name=name, image_id=image.id, flavor_id="42", networks="auto")
    servers.track(created.id)
    assert created.id
    s = conn.compute.wait_for_server(created, status="ACTIVE", failures=["ERROR"], interval=0.5,
                                     wait=SETTLE_TIMEOUT)
    assert s.status == "ACTIVE"
    assert s.name == name
    assert s.image.id == image.id
    assert s.flavor.original_name == "m1.nano"
    assert s.availability_zone == "nova"
    assert s.launched_at

    listed = {x.id: x for x in conn.compute.servers(details=True)}
    assert created.id in listed
    assert listed[created.id].status == "ACTIVE"
    assert listed[created.id].flavor.original_name == "m1.nano"
    assert created.id in {x.id for x in conn.compute.servers(details=False)}

    conn.compute.stop_server(s)
    s = conn.compute.wait_for_server(s, status="SHUTOFF", failures=["ERROR"], interval=0.5,
                                     wait=SETTLE_TIMEOUT)
    assert s.vm_state == "stopped"
    actions = list(conn.compute.server_actions(s))
    assert [a.action for a in actions] == ["stop", "create"], [a.action for a in actions]
    assert all(a.request_id.startswith("req-") for a in actions)

    conn.compute.start_server(s)
    conn.compute.wait_for_server(s, status="ACTIVE", failures=["ERROR"], interval=0.5,
                                 wait=SETTLE_TIMEOUT)

    conn.compute.delete_server(s)
    conn.compute.wait_for_delete(s, interval=0.5, wait=SETTLE_TIMEOUT)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.compute.get_server(created.id)
    assert created.id not in {x.id for x in conn.compute.servers()}


def test_sdk_limits_count_a_projects_servers(osc, server, cleanup, image, servers, unique):
    member = _project_user(osc, server, cleanup, unique, "member")
    mconn = member["connect"]()
    try:
        limits = mconn.compute.get_limits().absolute
        # Nova's default quotas.
        assert limits.instances == 10
        assert limits.total_cores == 20
        assert limits.total_ram == 51200
        assert limits.keypairs == 100
        assert limits.server_meta == 128
        assert (limits.instances_used, limits.total_cores_used, limits.total_ram_used) == (0, 0, 0)
        servers.make(unique("s"), connection=mconn, flavor="84")
        limits = mconn.compute.get_limits().absolute
        assert (limits.instances_used, limits.total_cores_used, limits.total_ram_used) == (1, 1, 192)
        # The same through `openstack limits show --absolute` (openstacksdk's names).
        rows = {r["Name"]: r["Value"] for r in osc("limits", "show", "--absolute", env=member["env"])}
        assert (rows["instances"], rows["instances_used"]) == (10, 1), rows
        assert (rows["total_ram"], rows["total_ram_used"]) == (51200, 192), rows
    finally:
        mconn.close()


def test_sdk_microversion_negotiation(conn):
    data = conn.compute.get_endpoint_data()
    assert data.min_microversion == (2, 1), data
    assert data.max_microversion is not None and data.max_microversion >= (2, 60), data
    server_max = "%d.%d" % tuple(data.max_microversion[:2])
    # openstacksdk's Server knows up to 2.100: it uses the smaller of that and the server's.
    best = openstack.utils.maximum_supported_microversion(conn.compute, "2.100")
    assert openstack.utils.supports_microversion(conn.compute, best)
    if data.max_microversion <= (2, 100):
        assert best == server_max
    # The versioned root says the same as discovery found.
    root = conn.compute.get("/").json()
    assert root["version"]["version"] == server_max, root
    assert root["version"]["min_version"] == "2.1", root
    # An answer names the version it used...
    r = conn.compute.get("/flavors", microversion="2.60")
    assert r.headers.get("OpenStack-API-Version") == "compute 2.60", dict(r.headers)
    r = conn.compute.get("/servers", microversion=server_max)
    assert r.headers.get("OpenStack-API-Version") == f"compute {server_max}"
    # ...and one past the maximum is refused (406).
    past = "%d.%d" % (data.max_microversion[0], data.max_microversion[1] + 1)
    r = conn.compute.get("/servers", microversion=past, raise_exc=False)
    assert r.status_code == 406, (r.status_code, r.text)


def test_console_url_opens_a_page_with_the_console_log(osc, conn, server, servers, unique, admin_ids):
    """`openstack console url show` (remote-consoles, 2.6+) and the legacy action (2.1) hand
    out a noVNC URL as Nova's; the page it opens needs no auth token, shows the server's
    console log, and a token an admin can look up; other console types are off, as in
    Nova's default configuration."""
    import urllib.parse

    import requests

    s = servers.make(unique("s"))
    shown = osc("console", "url", "show", s.id)
    assert shown["protocol"] == "vnc" and shown["type"] == "novnc", shown
    url = shown["url"]
    assert "/vnc_auto.html?path=%3Ftoken%3D" in url, url
    page = requests.get(url + "&title=" + urllib.parse.quote(f"x({s.id})"), timeout=30, verify=server.verify)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    for needle in ("noVNC", "<script", "</html>", s.name):
        assert needle in page.text, needle
    token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["path"][0].split("token=")[1]

    # The legacy action, at 2.1: {"console": {...}}; gone (404) from 2.6.
    r = conn.compute.post(f"/servers/{s.id}/action", json={"os-getVNCConsole": {"type": "novnc"}},
                          microversion="2.1")
    assert r.status_code == 200, r.text
    assert r.json()["console"]["type"] == "novnc"
    assert "token%3D" in r.json()["console"]["url"]
    r = conn.compute.post(f"/servers/{s.id}/action", json={"os-getVNCConsole": {"type": "novnc"}},
                          microversion="2.6", raise_exc=False)
    assert r.status_code == 404, r.text
    r = conn.compute.post(f"/servers/{s.id}/action",
                          json={"os-getSPICEConsole": {"type": "spice-html5"}},
                          microversion="2.1", raise_exc=False)
    assert r.status_code == 400 and "Unavailable console type spice-html5." in r.text, r.text
    r = conn.compute.post(f"/servers/{s.id}/action", json={"os-getVNCConsole": {"type": "x"}},
                          microversion="2.1", raise_exc=False)
    assert r.status_code == 400 and "is not one of ['novnc', 'xvpvnc']" in r.text, r.text
    r = conn.compute.post(f"/servers/{s.id}/remote-consoles",
                          json={"remote_console": {"protocol": "serial", "type": "serial"}},
                          microversion="2.6", raise_exc=False)
    assert r.status_code == 400 and "Unavailable console type serial." in r.text, r.text

    # An admin resolves the token (2.31+); a bad token opens nothing.
    r = conn.compute.get(f"/os-console-auth-tokens/{token}", microversion="2.31")
    assert r.status_code == 200, r.text
    assert r.json()["console"]["instance_uuid"] == s.id
    r = conn.compute.get(f"/os-console-auth-tokens/{token}", microversion="2.30", raise_exc=False)
    assert r.status_code == 400, r.text
    r = conn.compute.get("/os-console-auth-tokens/nope", microversion="2.31", raise_exc=False)
    assert r.status_code == 404 and "Token not found" in r.text, r.text
    bad = url.replace("token%3D", "token%3Dbad")
    assert requests.get(bad, timeout=30, verify=server.verify).status_code == 404
