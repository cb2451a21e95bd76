"""Fixtures for the real-client tests: a real jumpgate (or, with JUMPGATE_EXTERNAL_URL, an
external server such as a real Keystone), the `openstack` CLI from .venv, and openstacksdk.

    scripts/venv && .venv/bin/pytest tests/clients

Environment:
    JUMPGATE_BIN          the jumpgate binary (default target/debug/jumpgate)
    JUMPGATE_PLUGIN_DIR   where libjumpgate_local.so is (default target/debug)
    JUMPGATE_KEEP=1       keep the server's temp folder (config, data, log)
    JUMPGATE_PASSTHROUGH=1
                          talk to a second jumpgate in front of it, every service on the
                          `openstack` driver (libjumpgate_openstack.so in the same folder)
    JUMPGATE_PG=postgresql://user@host:port
                          every jumpgate started gets a new database there (the
                          scripts' start_postgresql); otherwise SQLite in its folder
    JUMPGATE_HOSTS=2      the session's cloud is two jumpgates on one database and one
                          data_dir, behind nginx round robin (needs JUMPGATE_PG)
    JUMPGATE_EXTERNAL_URL, JUMPGATE_EXTERNAL_ADMIN_PASSWORD
                          test an already running server instead (tests marked
                          `jumpgate_only` are skipped)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jumpgate_server  # noqa: E402

# The CLI of the venv pytest runs from, else the one on PATH.
_here = Path(sys.executable).parent / "openstack"
OPENSTACK = str(_here) if _here.exists() else (shutil.which("openstack") or "openstack")

OSC_TIMEOUT = 120

# How the CLI words an HTTP status: "... (HTTP 404) (Request-ID: ...)" from keystoneclient,
# "ConflictException: 409: Client Error for url: ..." from openstacksdk.
_STATUS_PATTERNS = (
    re.compile(r"\(HTTP (\d{3})\)"),
    re.compile(r"\b(\d{3}): (?:Client|Server) Error"),
)


class OscError(Exception):
    """`openstack ...` exited non-zero."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"{' '.join(argv)} exited {returncode}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        )

    @property
    def status(self) -> int | None:
        """The HTTP status the CLI reported, if it reported one."""
        for pattern in _STATUS_PATTERNS:
            m = pattern.search(self.stderr) or pattern.search(self.stdout)
            if m:
                return int(m.group(1))
        return None


class Osc:
    """Runs the `openstack` CLI as a user would, with only the OS_* variables given.

    osc("project", "show", "admin")        -> parsed JSON (`-f json` is added)
    osc("project", "delete", x, json=False) -> stdout text (for commands with no output)
    osc.run(...)                            -> CompletedProcess, whatever the exit code
    osc.fails(...)                          -> OscError (asserts the command failed)

    `env` is the complete set of OS_* variables (default: `server.env()`, admin); build
    others with `server.env(OS_USERNAME=..., OS_PROJECT_NAME=None, ...)`.
    """

    def __init__(self, server: jumpgate_server.Server):
        self.server = server

    def _env(self, env):
        base = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        base.update(self.server.env() if env is None else env)
        # Over HTTPS every sign-in trusts the server's CA, whoever signs in.
        if self.server.cacert is not None:
            base.setdefault("OS_CACERT", str(self.server.cacert))
        return base

    def run(self, *args, env=None, json=False) -> subprocess.CompletedProcess:
        argv = [OPENSTACK, *map(str, args)]
        if json:
            argv += ["-f", "json"]
        return subprocess.run(
            argv,
            env=self._env(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=OSC_TIMEOUT,
        )

    def __call__(self, *args, env=None, json=True):
        r = self.run(*args, env=env, json=json)
        if r.returncode != 0:
            raise OscError(r.args, r.returncode, r.stdout, r.stderr)
        if not json:
            return r.stdout
        try:
            return _json_loads(r.stdout)
        except ValueError:
            raise AssertionError(
                f"{' '.join(r.args)}: not JSON:\n{r.stdout}\n--- stderr\n{r.stderr}"
            ) from None

    def fails(self, *args, env=None, json=False) -> OscError:
        r = self.run(*args, env=env, json=json)
        assert r.returncode != 0, (
            f"{' '.join(r.args)} should have failed, it printed:\n{r.stdout}\n{r.stderr}"
        )
        return OscError(r.args, r.returncode, r.stdout, r.stderr)


def _json_loads(text: str):
    return json.loads(text) if text.strip() else None


# --- fixtures --------------------------------------------------------------------------

_session_server: jumpgate_server.Server | None = None


@pytest.fixture(scope="session")
def server():
    """The jumpgate under test (or the external server), for the whole session."""
    global _session_server
    try:
        srv = jumpgate_server.start(hosts=jumpgate_server.hosts_wanted())
    except jumpgate_server.StartError as e:
        pytest.exit(f"cannot start the server under test: {e}", returncode=1)
    _session_server = srv
    yield srv
    code = srv.stop()
    if code not in (None, 0, -15):
        print(f"\njumpgate exited with {code}", file=sys.stderr)


@pytest.fixture(scope="session")
def osc(server):
    return Osc(server)


@pytest.fixture(scope="session")
def conn(server):
    """An openstacksdk Connection as admin."""
    c = server.connect()
    yield c
    c.close()


@pytest.fixture
def unique():
    """unique("proj") -> "proj-1a2b3c4d": names no other test (or earlier run) uses."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cleanup(conn):
    """cleanup("project", name): deleted at teardown if still there (through openstacksdk:
    one sign-in for all), last added first, so that runs against a long-lived server leave
    nothing behind. Kinds: project, user, group, role, application_credential, image."""
    todo = []
    yield lambda kind, name: todo.append((kind, name))
    for kind, name in reversed(todo):
        try:
            if kind == "image":
                found = conn.image.find_image(name)
                if found is not None:
                    if found.is_protected:
                        conn.image.update_image(found, is_protected=False)
                    conn.image.delete_image(found, ignore_missing=True)
                continue
            if kind == "application_credential":
                user = conn.current_user_id
                found = conn.identity.find_application_credential(user, name)
                if found is not None:
                    conn.identity.delete_application_credential(user, found, ignore_missing=True)
                continue
            found = getattr(conn.identity, f"find_{kind}")(name)
            if found is not None:
                getattr(conn.identity, f"delete_{kind}")(found, ignore_missing=True)
        except Exception as e:  # noqa: BLE001 - cleanup must not hide the test's outcome
            print(f"cleanup of {kind} {name} failed: {e}", file=sys.stderr)


@pytest.fixture(autouse=True)
def _only_jumpgate(request, server):
    if request.node.get_closest_marker("jumpgate_only") and server.external:
        pytest.skip("about jumpgate's own behaviour; the external server is not jumpgate")


# --- reporting -------------------------------------------------------------------------


def pytest_report_header(config):
    url = os.environ.get("JUMPGATE_EXTERNAL_URL")
    if url:
        return f"server under test: external {url}"
    return (
        f"server under test: {jumpgate_server.binary()} with "
        f"{jumpgate_server.plugin_dir() / ('libjumpgate_' + jumpgate_server.DRIVER + '.so')}, "
        f"services {', '.join(jumpgate_server.ENABLED_SERVICES)}; CLI {OPENSTACK}"
        + ("; through a passthrough jumpgate (openstack driver)" if jumpgate_server.passthrough() else "")
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """On failure, the server's log (its last 300 lines)."""
    srv = _session_server
    if srv is None or srv.external:
        return
    failed = terminalreporter.stats.get("failed") or terminalreporter.stats.get("error")
    if not failed:
        return
    lines = srv.log().splitlines()
    terminalreporter.section(f"jumpgate log ({srv.url}), last {min(len(lines), 300)} lines")
    for line in lines[-300:]:
        terminalreporter.write_line(line)
