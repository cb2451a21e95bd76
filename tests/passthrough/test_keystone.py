"""A real Keystone 30.0.0 behind Jumpgate's `openstack` driver, driven by the real
`openstack` CLI: tokens Keystone issues work through Jumpgate, the catalog names Jumpgate,
and with `validate_tokens` Jumpgate's auth hook asks Keystone about every token.

    scripts/venv && .venv/bin/pytest tests/passthrough

Keystone comes from `scripts/keystone` (its own venv, fresh SQLite per run); Jumpgate from
target/debug (env JUMPGATE_BIN / JUMPGATE_PLUGIN_DIR as for tests/clients).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "clients"))
import jumpgate_server  # noqa: E402

PASSWORD = "s3cret"
OPENSTACK = str(Path(sys.executable).parent / "openstack")
# What Keystone's catalog says compute is: a host Jumpgate has never heard of.
COMPUTE_URL = "http://controller:8774/v2.1"


def _wait(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: exited {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text(errors='replace')}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def keystone():
    work = Path(tempfile.mkdtemp(prefix="keystone-"))
    port = jumpgate_server.free_port()
    log = work / "keystone.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "keystone"), "serve", str(port), str(work / "ks")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/v3", proc, 600, log)
        url = f"http://127.0.0.1:{port}"
        # A compute entry in the catalog, under a name only Keystone knows.
        env = _env(url + "/v3")
        service = _osc(env, "service", "create", "--name", "nova", "compute")["id"]
        _osc(env, "endpoint", "create", "--region", "RegionOne", service, "public", COMPUTE_URL)
        yield url
    finally:
        _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


def _jumpgate(keystone: str, validate: bool):
    """A jumpgate with identity and compute on the openstack driver; yields its URL."""
    work = Path(tempfile.mkdtemp(prefix="jumpgate-keystone-"))
    (work / "plugins").mkdir()
    so = jumpgate_server.plugin_dir() / "libjumpgate_openstack.so"
    shutil.copyfile(so, work / "plugins" / so.name)
    port = jumpgate_server.free_port()
    # Compute goes nowhere: with validation on, a request reaching it proves the token
    # passed; 502 is what it then answers.
    closed = jumpgate_server.free_port()
    (work / "jumpgate.conf").write_text(
        f"""[DEFAULT]
enabled_services = identity, compute
listen = 127.0.0.1:{port}
plugin_dir = plugins
[identity]
driver = openstack
[compute]
driver = openstack
[openstack]
identity_endpoint = {keystone}
compute_endpoint = http://127.0.0.1:{closed}
validate_tokens = {str(validate).lower()}
"""
    )
    log = work / "jumpgate.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(jumpgate_server.binary()), "--config", str(work / "jumpgate.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=work,
        )
    try:
        _wait(f"http://127.0.0.1:{port}/v3", proc, 60, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def jumpgate(keystone):
    yield from _jumpgate(keystone, validate=False)


@pytest.fixture(scope="module")
def validating(keystone):
    yield from _jumpgate(keystone, validate=True)


def _env(auth_url: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(Path.home()),
        "OS_AUTH_URL": auth_url,
        "OS_USERNAME": "admin",
        "OS_PASSWORD": PASSWORD,
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": "RegionOne",
    }


def _osc(env: dict[str, str], *args: str):
    done = subprocess.run(
        [OPENSTACK, *args, "-f", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"openstack {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def _token(url: str) -> str:
    return _osc(_env(url + "/v3"), "token", "issue")["id"]


def test_token_issue_through_jumpgate(jumpgate):
    token = _osc(_env(jumpgate + "/v3"), "token", "issue")
    # A fernet token: Keystone's own, not one Jumpgate made.
    assert token["id"].startswith("gAAAAA")
    assert token["project_id"]


def test_catalog_list_names_jumpgate(jumpgate):
    catalog = {e["Type"]: e for e in _osc(_env(jumpgate + "/v3"), "catalog", "list")}
    urls = lambda kind: [e["url"] for e in catalog[kind]["Endpoints"]]  # noqa: E731
    assert urls("identity") and all(u == f"{jumpgate}/v3/" for u in urls("identity"))
    assert urls("compute") == [f"{jumpgate}/compute/v2.1"]


def test_project_list_through_jumpgate(jumpgate):
    names = [p["Name"] for p in _osc(_env(jumpgate + "/v3"), "project", "list")]
    assert "admin" in names


def test_version_document_links_name_jumpgate(jumpgate):
    doc = requests.get(jumpgate + "/v3", timeout=30).json()
    assert doc["version"]["links"][0]["href"] == f"{jumpgate}/v3/"


def test_token_validation_through_jumpgate(jumpgate):
    token = _token(jumpgate)
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    ok = requests.get(jumpgate + "/v3/auth/tokens", headers=headers, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["token"]["user"]["name"] == "admin"
    bad = dict(headers, **{"X-Subject-Token": token[:-4] + "AAAA"})
    assert requests.get(jumpgate + "/v3/auth/tokens", headers=bad, timeout=30).status_code == 404


def test_without_validation_jumpgate_defers_to_the_upstream(jumpgate, keystone):
    # Jumpgate lets a made-up token through; Keystone is the one to refuse it.
    r = requests.get(jumpgate + "/v3/projects", headers={"X-Auth-Token": "made-up"}, timeout=30)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == 401
    # Where to get a token: Jumpgate, not Keystone behind it.
    challenge = r.headers.get("WWW-Authenticate", "")
    assert keystone not in challenge, challenge


def test_validating_jumpgate_asks_keystone_about_every_token(validating):
    token = _token(validating)
    compute = validating + "/compute/v2.1/servers"
    # A token Keystone does not know stops at Jumpgate...
    r = requests.get(compute, headers={"X-Auth-Token": "gAAAAAmade-up"}, timeout=30)
    assert r.status_code == 401, r.text
    # ...a real one passes, and only then meets the (absent) compute upstream.
    r = requests.get(compute, headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 502, r.text
    # The same through the CLI: Keystone's token, validated against Keystone.
    assert "admin" in [p["Name"] for p in _osc(_env(validating + "/v3"), "project", "list")]
