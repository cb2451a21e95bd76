"""Images (Glance v2) through the real clients, as a user types them: upload and download
byte for byte, properties and tags, protection, sharing between projects, the
interoperable import. Each test makes its own names and cleans up after itself."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

import jumpgate_server as js


@pytest.fixture
def disk(tmp_path):
    """A 5 MiB file of random bytes: (path, md5, sha512)."""
    data = os.urandom(5 * 1024 * 1024 + 123)
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    return path, hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest()


def _member_env(osc, server, cleanup, unique):
    """A project with a member user: (project id, env for that user)."""
    project, user, password = unique("proj"), unique("user"), uuid.uuid4().hex
    pid = osc("project", "create", "--domain", js.DOMAIN_ID, project)["id"]
    cleanup("project", project)
    osc("user", "create", "--domain", js.DOMAIN_ID, "--password", password, user)
    cleanup("user", user)
    osc("role", "add", "--project", project, "--user", user, "member", json=False)
    env = server.env(OS_USERNAME=user, OS_PASSWORD=password, OS_PROJECT_NAME=project,
                     OS_PROJECT_DOMAIN_NAME=js.DOMAIN_NAME)
    return pid, env


def test_create_with_a_file_then_save_it_byte_for_byte(osc, cleanup, unique, disk, tmp_path):
    path, md5, sha512 = disk
    name = unique("img")
    cleanup("image", name)
    image = osc("image", "create", "--file", str(path), "--disk-format", "qcow2",
                "--container-format", "bare", name)
    assert image["status"] == "active"
    assert image["size"] == path.stat().st_size
    assert image["checksum"] == md5
    shown = osc("image", "show", name)
    assert shown["properties"]["os_hash_algo"] == "sha512"
    assert shown["properties"]["os_hash_value"] == sha512
    assert name in [i["Name"] for i in osc("image", "list")]
    out = tmp_path / "out.img"
    osc("image", "save", "--file", str(out), name, json=False)
    assert out.read_bytes() == path.read_bytes()


def test_properties_tags_and_filters(osc, cleanup, unique):
    name = unique("img")
    cleanup("image", name)
    osc("image", "create", "--disk-format", "raw", "--container-format", "bare", name)
    tag = unique("tag")
    osc("image", "set", "--property", "os_distro=cirros", "--tag", tag, "--min-ram", "64", name, json=False)
    shown = osc("image", "show", name)
    assert shown["properties"]["os_distro"] == "cirros"
    assert tag in shown["tags"]
    assert shown["min_ram"] == 64
    assert [i["Name"] for i in osc("image", "list", "--tag", tag)] == [name]
    osc("image", "unset", "--property", "os_distro", "--tag", tag, name, json=False)
    shown = osc("image", "show", name)
    assert "os_distro" not in shown.get("properties", {})
    assert tag not in shown["tags"]


def test_a_protected_image_is_not_deleted(osc, cleanup, unique):
    name = unique("img")
    cleanup("image", name)
    osc("image", "create", "--protected", "--disk-format", "raw", "--container-format", "bare", name)
    err = osc.fails("image", "delete", name)
    assert "protected" in err.stderr
    osc("image", "set", "--unprotected", name, json=False)
    osc("image", "delete", name, json=False)
    assert "No Image found" in osc.fails("image", "show", name).stderr


def test_sharing_with_another_project(osc, server, cleanup, unique, disk):
    path, _, _ = disk
    name = unique("img")
    cleanup("image", name)
    image = osc("image", "create", "--shared", "--file", str(path), "--disk-format", "raw",
                "--container-format", "bare", name)
    pid, env = _member_env(osc, server, cleanup, unique)
    osc("image", "add", "project", name, pid)
    # Shared, not yet accepted: the member can see it but does not list it.
    assert name not in [i["Name"] for i in osc("image", "list", env=env)]
    assert osc("image", "show", image["id"], env=env)["id"] == image["id"]
    osc("image", "set", "--accept", image["id"], env=env, json=False)
    assert name in [i["Name"] for i in osc("image", "list", env=env)]
    # Only admins make images public.
    err = osc.fails("image", "create", "--public", "--disk-format", "raw", "--container-format", "bare",
                    unique("pub"), env=env)
    assert err.status == 403


def test_stage_and_glance_direct_import(conn, cleanup, unique, disk):
    path, md5, _ = disk
    name = unique("img")
    cleanup("image", name)
    image = conn.image.create_image(name=name, disk_format="raw", container_format="bare")
    with open(path, "rb") as f:
        conn.image.stage_image(image, data=f.read())
    conn.image.import_image(image, method="glance-direct")
    image = conn.image.get_image(image)
    assert image.status == "active"
    assert image.checksum == md5
    assert conn.image.download_image(image).content == path.read_bytes()


def test_a_256_mib_round_trip(osc, cleanup, unique, tmp_path):
    """A large random file up and down through the CLI: bytes and sha512 compared."""
    path = tmp_path / "big.img"
    digest = hashlib.sha512()
    with open(path, "wb") as f:
        for _ in range(256):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            f.write(chunk)
    name = unique("big")
    cleanup("image", name)
    image = osc("image", "create", "--file", str(path), "--disk-format", "raw",
                "--container-format", "bare", name)
    assert image["size"] == 256 * 1024 * 1024
    assert osc("image", "show", name)["properties"]["os_hash_value"] == digest.hexdigest()
    out = tmp_path / "big.out"
    osc("image", "save", "--file", str(out), name, json=False)
    got = hashlib.sha512()
    with open(out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    assert out.stat().st_size == path.stat().st_size
