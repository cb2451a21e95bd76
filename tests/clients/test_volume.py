"""Block storage (Cinder v3) and Nova's Volumes extension through the real clients, as a
user types it: volumes from nothing, from an image, a snapshot, another volume and a
backup; extend; attach and detach through Nova; boot from volume; upload to an image;
types and quotas; the errors a user meets (in-use, snapshots, another project, a reader,
over quota). Byte checks read the volume files of the jumpgate under test
(`data_dir/volumes/<id>`): a volume made from an image starts with the image's bytes, and
an upload's checksum is the volume's. A crash test kills jumpgate in the middle of
creating volumes and checks the store and the files agree after a restart.

Each test makes its own names and cleans up after itself. The jumpgate under test runs
with `[local] boot_delay = 0.2` (jumpgate_server.LOCAL_SETTINGS)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import jumpgate_server as js
from conftest import OPENSTACK
from test_compute import (  # noqa: F401 - fixtures shared with the compute tests
    _add_user,
    _project_user,
    cli_json,
    image,
    images,
    servers,
    settle,
)

GIB = 1 << 30
SETTLE_TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def _volume_enabled(server):
    if "volume" not in server.services:
        pytest.skip("the server under test does not serve block storage")


# --- helpers ---------------------------------------------------------------------------


def wait_volume(conn, volume_id, status, *, timeout=SETTLE_TIMEOUT):
    """Polls until the volume shows `status`; fails with the status it stopped at."""
    until = time.monotonic() + timeout
    while True:
        v = conn.block_storage.get_volume(volume_id)
        if v.status == status:
            return v
        if v.status.startswith("error") and not status.startswith("error"):
            raise AssertionError(f"volume {volume_id} went to {v.status} waiting for {status}")
        if time.monotonic() > until:
            raise AssertionError(f"volume {volume_id} not {status} after {timeout:.0f} s: {v.status}")
        time.sleep(0.1)


def wait_gone(get, *, timeout=SETTLE_TIMEOUT):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        try:
            get()
        except Exception:  # noqa: BLE001 - NotFoundException, or the CLI's error
            return
        time.sleep(0.1)
    raise AssertionError("still there")


def data_dir(server) -> Path:
    """The local driver's data directory (behind the passthrough jumpgate, if any)."""
    return Path((server.upstream or server).workdir) / "data"


def volume_file(server, volume_id) -> Path:
    return data_dir(server) / "volumes" / volume_id


def md5_file(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class Volumes:
    """Volumes made through the CLI, deleted at teardown (detached first by deleting the
    servers that hold them, which the test's Servers do)."""

    def __init__(self, osc, conn):
        self.osc, self.conn, self.ids = osc, conn, []

    def create(self, name, *args, env=None, status="available"):
        v = self.osc("volume", "create", *args, name, env=env)
        self.ids.append(v["id"])
        if status:
            wait_volume(self.conn, v["id"], status)
        return v

    def track(self, volume_id):
        self.ids.append(volume_id)
        return volume_id

    def cleanup(self):
        for vid in reversed(self.ids):
            try:
                for s in self.conn.block_storage.snapshots(volume_id=vid, all_projects=True):
                    self.conn.block_storage.delete_snapshot(s.id, ignore_missing=True)
                self.conn.block_storage.delete_volume(vid, ignore_missing=True, force=True)
            except Exception as e:  # noqa: BLE001 - cleanup must not hide the outcome
                print(f"cleanup of volume {vid} failed: {e}")


@pytest.fixture
def volumes(osc, conn):
    made = Volumes(osc, conn)
    yield made
    made.cleanup()


# --- volumes ---------------------------------------------------------------------------


@pytest.mark.jumpgate_only
def test_volume_create_show_set_extend_delete(osc, conn, server, volumes, unique):
    name = unique("v1")
    v = volumes.create(name, "--size", "1", "--description", "first", "--property", "k=v")
    assert v["size"] == 1 and v["status"] == "creating", v
    path = volume_file(server, v["id"])
    assert path.stat().st_size == GIB, "a volume is a file of exactly its size"

    shown = osc("volume", "show", name)
    assert shown["status"] == "available"
    assert shown["description"] == "first"
    assert shown["properties"]["k"] == "v"
    assert shown["bootable"] in ("false", False)
    assert shown["type"] == "__DEFAULT__"
    assert any(row["ID"] == v["id"] for row in osc("volume", "list")), "listed"

    new = unique("v1b")
    osc("volume", "set", "--name", new, "--property", "a=b", "--size", "2", name, json=False)
    wait_volume(conn, v["id"], "available")
    shown = osc("volume", "show", new)
    assert shown["size"] == 2
    assert {"k": "v", "a": "b"}.items() <= shown["properties"].items()
    assert path.stat().st_size == 2 * GIB, "extend grows the file"

    r = osc.fails("volume", "set", "--size", "1", new)
    assert "must be greater than" in r.stderr or r.status == 400, r.stderr

    osc("volume", "delete", new, json=False)
    wait_gone(lambda: conn.block_storage.get_volume(v["id"]))
    assert not path.exists(), "delete removes the file"


@pytest.mark.jumpgate_only
def test_volume_from_image_starts_with_its_bytes_and_uploads_back(
    osc, conn, server, volumes, image, unique, tmp_path, cleanup
):
    original = (data_dir(server) / "images" / image.id).read_bytes()
    v = volumes.create(unique("bootvol"), "--image", image.id, "--size", "1")
    shown = osc("volume", "show", v["id"])
    assert shown["bootable"] in ("true", True)
    assert shown["volume_image_metadata"]["image_id"] == image.id
    path = volume_file(server, v["id"])
    with open(path, "rb") as f:
        assert f.read(len(original)) == original, "the volume starts with the image's bytes"
    assert path.stat().st_size == GIB

    img2 = unique("img2")
    cleanup("image", img2)
    osc("image", "create", "--volume", v["id"], img2)
    until = time.monotonic() + SETTLE_TIMEOUT
    while (got := conn.image.find_image(img2)) is None or got.status != "active":
        assert time.monotonic() < until, f"image {img2} not active: {got and got.status}"
        time.sleep(0.2)
    wait_volume(conn, v["id"], "available")
    assert got.size == GIB
    assert got.checksum == md5_file(path), "the upload's checksum is the volume's"


@pytest.mark.jumpgate_only
def test_snapshot_clone_and_copy_keep_the_bytes(osc, conn, server, volumes, image, unique):
    src = volumes.create(unique("src"), "--image", image.id, "--size", "1")
    want = md5_file(volume_file(server, src["id"]))

    snap = unique("snap")
    s = osc("volume", "snapshot", "create", "--volume", src["id"], snap)
    until = time.monotonic() + SETTLE_TIMEOUT
    while conn.block_storage.get_snapshot(s["id"]).status != "available":
        assert time.monotonic() < until, "snapshot not available"
        time.sleep(0.1)
    assert any(row["ID"] == s["id"] for row in osc("volume", "snapshot", "list"))

    r = osc.fails("volume", "delete", src["id"])
    assert "snapshots" in r.stderr, r.stderr

    from_snap = volumes.create(unique("v2"), "--snapshot", snap)
    from_src = volumes.create(unique("v3"), "--source", src["id"])
    assert osc("volume", "show", from_snap["id"])["snapshot_id"] == s["id"]
    assert osc("volume", "show", from_src["id"])["source_volid"] == src["id"]
    for made in (from_snap, from_src):
        assert md5_file(volume_file(server, made["id"])) == want

    osc("volume", "snapshot", "delete", snap, json=False)
    wait_gone(lambda: conn.block_storage.get_snapshot(s["id"]))


@pytest.mark.jumpgate_only
def test_backup_create_restore_delete(osc, conn, server, volumes, image, unique):
    v = volumes.create(unique("bk"), "--image", image.id, "--size", "1")
    want = md5_file(volume_file(server, v["id"]))
    name = unique("backup")
    b = osc("volume", "backup", "create", "--name", name, v["id"])
    until = time.monotonic() + SETTLE_TIMEOUT
    while conn.block_storage.get_backup(b["id"]).status != "available":
        assert time.monotonic() < until, "backup not available"
        time.sleep(0.1)
    wait_volume(conn, v["id"], "available")

    target = volumes.create(unique("target"), "--size", "1")
    osc("volume", "backup", "restore", "--force", name, target["id"])
    wait_volume(conn, target["id"], "available")
    assert md5_file(volume_file(server, target["id"])) == want, "restore copies the bytes"

    osc("volume", "backup", "delete", name, json=False)
    wait_gone(lambda: conn.block_storage.get_backup(b["id"]))


def volume_action(conn, volume_id, body, version):
    """POST /volumes/{id}/action at microversion 3.`version`, as a client without a
    wrapper for the action sends it; the response, whatever its status."""
    return conn.block_storage.post(
        f"/volumes/{volume_id}/action",
        json=body,
        headers={"OpenStack-API-Version": f"volume 3.{version}"},
        raise_exc=False,
    )


def wait_snapshot(conn, snapshot_id, status="available"):
    until = time.monotonic() + SETTLE_TIMEOUT
    while (got := conn.block_storage.get_snapshot(snapshot_id).status) != status:
        assert time.monotonic() < until, f"snapshot {snapshot_id} not {status}: {got}"
        time.sleep(0.1)


def test_readonly_shows_only_once_recorded(osc, conn, volumes, unique):
    """Cinder's `readonly` admin metadata appears in a volume's detail once os-attach or
    os-update_readonly_flag records it: a new volume's metadata is empty."""
    v = volumes.create(unique("ro"), "--size", "1")
    assert conn.block_storage.get_volume(v["id"]).metadata == {}
    assert osc("volume", "show", v["id"])["properties"] in ({}, "", None)

    osc("volume", "set", "--read-only", v["id"], json=False)
    assert conn.block_storage.get_volume(v["id"]).metadata == {"readonly": "True"}
    osc("volume", "set", "--read-write", v["id"], json=False)
    assert conn.block_storage.get_volume(v["id"]).metadata == {"readonly": "False"}


@pytest.mark.jumpgate_only
def test_revert_to_the_latest_snapshot_restores_its_bytes(osc, conn, server, volumes, image, unique):
    v = volumes.create(unique("rev"), "--image", image.id, "--size", "1")
    path = volume_file(server, v["id"])
    want = md5_file(path)
    first = osc("volume", "snapshot", "create", "--volume", v["id"], unique("s1"))
    wait_snapshot(conn, first["id"])
    latest = osc("volume", "snapshot", "create", "--volume", v["id"], unique("s2"))
    wait_snapshot(conn, latest["id"])
    with open(path, "r+b") as f:  # what the volume's user wrote since
        f.write(b"scribbled over")
    assert md5_file(path) != want

    # Before 3.40 there is no such action; only the latest snapshot is a target.
    r = volume_action(conn, v["id"], {"revert": {"snapshot_id": latest["id"]}}, 39)
    assert r.status_code == 400 and "There is no such action" in r.text, r.text
    r = osc.fails("--os-volume-api-version", "3.40", "volume", "revert", first["id"])
    assert r.status == 400 and "not the latest one" in r.stderr, r.stderr

    osc("--os-volume-api-version", "3.40", "volume", "revert", latest["id"], json=False)
    assert conn.block_storage.get_volume(v["id"]).status in ("reverting", "available")
    wait_volume(conn, v["id"], "available")
    wait_snapshot(conn, latest["id"])
    assert md5_file(path) == want, "the volume has its snapshot's bytes again"
    assert path.stat().st_size == GIB

    # A volume in use is not reverted (409, as Cinder).
    osc("volume", "set", "--state", "in-use", v["id"], json=False)
    r = volume_action(conn, v["id"], {"revert": {"snapshot_id": latest["id"]}}, 40)
    assert r.status_code == 409 and "status must be 'available'" in r.text, r.text
    osc("volume", "set", "--state", "available", v["id"], json=False)


@pytest.mark.jumpgate_only
def test_reimage_writes_the_image_into_the_volume(osc, conn, server, volumes, image, unique):
    original = (data_dir(server) / "images" / image.id).read_bytes()
    v = volumes.create(unique("reimg"), "--size", "1")
    path = volume_file(server, v["id"])
    body = {"os-reimage": {"image_id": image.id, "reimage_reserved": False}}

    r = volume_action(conn, v["id"], body, 67)
    assert r.status_code == 400 and "There is no such action" in r.text, r.text
    r = volume_action(conn, v["id"], {"os-reimage": {"image_id": str(uuid.uuid4())}}, 68)
    assert r.status_code == 404, r.text

    r = volume_action(conn, v["id"], body, 68)
    assert r.status_code == 202, r.text
    assert conn.block_storage.get_volume(v["id"]).status in ("downloading", "available")
    shown = wait_volume(conn, v["id"], "available")
    assert shown.is_bootable in (True, "true")
    assert shown.volume_image_metadata["image_id"] == image.id
    with open(path, "rb") as f:
        assert f.read(len(original)) == original, "the volume starts with the image's bytes"
    assert path.stat().st_size == GIB

    # A reserved volume only with reimage_reserved.
    r = volume_action(conn, v["id"], {"os-reset_status": {"status": "reserved"}}, 68)
    assert r.status_code == 202, r.text
    r = volume_action(conn, v["id"], body, 68)
    assert r.status_code == 400 and "must be available or error" in r.text, r.text
    body["os-reimage"]["reimage_reserved"] = True
    r = volume_action(conn, v["id"], body, 68)
    assert r.status_code == 202, r.text
    wait_volume(conn, v["id"], "reserved")
    osc("volume", "set", "--state", "available", v["id"], json=False)


# --- through Nova ----------------------------------------------------------------------


def test_attach_and_detach_through_nova(osc, conn, volumes, servers, unique):
    s1 = servers.make(unique("s1"))
    s2 = servers.make(unique("s2"))
    v = volumes.create(unique("data"), "--size", "1")

    osc("server", "add", "volume", s1.id, v["id"])
    v_now = wait_volume(conn, v["id"], "in-use")
    assert [a["server_id"] for a in v_now.attachments] == [s1.id]
    assert v_now.attachments[0]["device"] == "/dev/vdb"
    attached = conn.compute.get_server(s1.id).attached_volumes
    assert [a["id"] for a in attached] == [v["id"]]

    r = osc.fails("volume", "delete", v["id"])
    assert r.status == 400 or "in-use" in r.stderr, r.stderr
    r = osc.fails("server", "add", "volume", s2.id, v["id"])
    assert r.status == 400, r.stderr

    osc("server", "remove", "volume", s1.id, v["id"], json=False)
    wait_volume(conn, v["id"], "available")
    assert conn.compute.get_server(s1.id).attached_volumes == []


def test_boot_from_volume_and_delete_on_termination(osc, conn, volumes, servers, image, unique):
    boot = volumes.create(unique("bootvol"), "--image", image.id, "--size", "1")
    name = unique("bfv")
    s = cli_json(osc, "server", "create", "--flavor", "m1.nano", "--volume", boot["id"],
                 "--no-network", "--wait", name)
    servers.track(s["id"])
    assert s["status"] == "ACTIVE"
    shown = conn.compute.get_server(s["id"])
    assert not shown.image or not shown.image.get("id"), "a volume-backed server has no image"
    assert wait_volume(conn, boot["id"], "in-use").attachments[0]["server_id"] == s["id"]
    r = osc.fails("server", "remove", "volume", s["id"], boot["id"])
    assert r.status == 400, r.stderr

    conn.compute.delete_server(s["id"])
    conn.compute.wait_for_delete(shown)
    wait_volume(conn, boot["id"], "available")

    # A volume Nova creates from an image for the server, deleted with it.
    s2 = conn.compute.create_server(
        name=unique("bfv2"), flavor_id="42", networks="none",
        block_device_mapping=[{"boot_index": 0, "uuid": image.id, "source_type": "image",
                               "destination_type": "volume", "volume_size": 1,
                               "delete_on_termination": True}],
    )
    servers.track(s2.id)
    settle(conn, s2.id, "ACTIVE")
    made = [a["id"] for a in conn.compute.get_server(s2.id).attached_volumes]
    assert len(made) == 1
    conn.compute.delete_server(s2.id)
    conn.compute.wait_for_delete(s2)
    wait_gone(lambda: conn.block_storage.get_volume(made[0]))


# --- types, quotas, tenancy ------------------------------------------------------------


def test_volume_types_listed(osc):
    assert "__DEFAULT__" in [t["Name"] for t in osc("volume", "type", "list")]


def test_quota_shown_and_enforced(osc, server, cleanup, unique, volumes):
    user = _project_user(osc, server, cleanup, unique, "member")
    shown = {row["Resource"]: row["Limit"]
             for row in osc("quota", "show", "--volume", user["project"])}
    assert shown["volumes"] == 10 and shown["gigabytes"] == 1000, shown
    osc("quota", "set", "--volumes", "1", user["project"], json=False)
    volumes.create(unique("one"), "--size", "1", env=user["env"])
    r = osc.fails("volume", "create", "--size", "1", unique("two"), env=user["env"])
    assert r.status == 413, r.stderr
    assert "Maximum number of volumes allowed (1) exceeded for quota 'volumes'" in r.stderr, r.stderr


def test_other_projects_and_readers(osc, server, cleanup, unique, volumes):
    owner = _project_user(osc, server, cleanup, unique, "member")
    other = _project_user(osc, server, cleanup, unique, "member")
    v = volumes.create(unique("mine"), "--size", "1", env=owner["env"])
    r = osc.fails("volume", "show", v["id"], env=other["env"])
    assert f"No Volume found for {v['id']}" in r.stderr, r.stderr
    assert v["id"] not in [row["ID"] for row in osc("volume", "list", env=other["env"])]

    reader = _add_user(osc, server, cleanup, unique, owner["project"], "reader")
    assert v["id"] in [row["ID"] for row in osc("volume", "list", env=reader)]
    r = osc.fails("volume", "create", "--size", "1", unique("nope"), env=reader)
    assert r.status == 403, r.stderr


# --- crash safety ----------------------------------------------------------------------


@pytest.mark.jumpgate_only
def test_kill_during_creates_leaves_store_and_files_agreeing(server, tmp_path):
    """kill -9 while volumes are being created from a large image: after a restart every
    volume the API lists has its file, and no file (or temp file) is left without one."""
    with js.start(keep=True) as started:
        # The local-driver jumpgate holds the store, also when a passthrough one is in front.
        victim = started.upstream or started
        conn = victim.connect()
        big = tmp_path / "big.img"
        with open(big, "wb") as f:
            for _ in range(64):
                f.write(os.urandom(1 << 20))  # 64 MiB of data: copies take a while
        img = conn.image.create_image(name="big", filename=str(big), disk_format="raw",
                                      container_format="bare", allow_duplicates=True)
        creators = [
            subprocess.Popen(
                [OPENSTACK, "volume", "create", "--image", img.id, "--size", "1", f"c{i}"],
                env=dict(os.environ, **victim.env()), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(4)
        ]
        time.sleep(2.5)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait()
        for p in creators:
            p.wait(timeout=60)
        conn.close()
        workdir = Path(victim.workdir)

    again = js.restart(workdir)
    try:
        conn = again.connect()
        listed = {v.id for v in conn.block_storage.volumes(all_projects=True)}
        files = {p.name for p in (workdir / "data" / "volumes").iterdir()}
        assert files == listed, f"files {sorted(files)} vs volumes {sorted(listed)}"
        for vid in listed:
            assert (workdir / "data" / "volumes" / vid).stat().st_size == GIB
        conn.close()
    finally:
        again._keep = False
        again.stop()
