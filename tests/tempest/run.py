"""scripts/tempest: runs Tempest (from .venv) against a real jumpgate and reports.

1. Starts jumpgate with the local driver (tests/clients/jumpgate_server.py), or uses the
   server in JUMPGATE_EXTERNAL_URL / JUMPGATE_EXTERNAL_ADMIN_PASSWORD.
2. As admin, through the API: 4 projects, each with a `member` and a `reader` user.
3. Writes a Tempest workspace (default `.tempest/`): etc/accounts.yaml, etc/tempest.conf
   (no admin unless --admin), then `tempest run --include-list tests/tempest/include.txt
   --concurrency 2`.
4. Reads the stestr results (subunit) into passed / failed / skipped per module and writes
   docs/conformance.md (for an external server: <workspace>/conformance.md).
5. --update-baseline: writes the passing ids to tests/tempest/baseline.txt.
   --check: exits 1 when an id of the baseline did not pass, naming it.
"""

from __future__ import annotations

import argparse
import collections
import configparser
import io
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "clients"))
import jumpgate_server as js  # noqa: E402

INCLUDE = HERE / "include.txt"
BASELINE = HERE / "baseline.txt"
ADMIN_BASELINE = HERE / "baseline-admin.txt"
DOC = ROOT / "docs" / "conformance.md"
ADMIN_DOC = ROOT / "docs" / "conformance-admin.md"
WORKSPACE = ROOT / ".tempest"
GABBITS_SECTION = "\n## Placement's gabbits\n"

PROJECTS = 4
ROLES = ("member", "reader")
RUN_TIMEOUT = 20 * 60

# What jumpgate's local driver implements, in Tempest's words ([identity-feature-enabled]).
# Tempest 47 has no application_credentials flag: those tests always run.
IDENTITY_FEATURES = {
    "api_v3": "true",
    "api_v2": "false",  # Tempest has no v2.0 tests left; the flag only gates admin ones
    "api_v2_admin": "false",
    "trust": "false",  # no OS-TRUST
    "access_rules": "false",  # no /users/{id}/access_rules
    "security_compliance": "false",  # no PCI-DSS password rules
    "domain_specific_drivers": "false",
    "immutable_user_source": "false",
    "api_extensions": "OS-INHERIT,OS-EC2",  # not OS-OAUTH1, OS-FEDERATION, ...
}

# jumpgate service -> Tempest's [service_available] option. Identity is always on.
# What the local driver's Glance does: glance-direct import, sha512 hashes; no format
# inspection (so no enforcement or conversion), no locations API, no reserved namespace
# checks of its own.
IMAGE_FEATURES = {
    "api_v2": "true",
    "api_v1": "false",
    "import_image": "true",
    "os_glance_reserved": "false",
    "manage_locations": "false",
    "image_conversion": "false",
    "image_format_enforcement": "false",
    "do_secure_hash": "true",
    "http_store_enabled": "false",
}

# What the local driver's Nova models ([compute-feature-enabled]): servers are records
# moving through Nova's state machine, so every state-changing action is on; nothing that
# needs a guest, a console or another host.
COMPUTE_FEATURES = {
    "change_password": "true",
    "resize": "true",
    "pause": "true",
    "suspend": "true",
    "shelve": "true",
    "rescue": "true",
    "snapshot": "true",
    "console_output": "true",
    "personality": "false",
    "instance_password": "true",
    "disk_config": "true",
    "cold_migration": "false",
    "live_migration": "false",
    "shelve_migrate": "false",
    "interface_attach": "true",
    "config_drive": "false",
    "metadata_service": "false",
    "vnc_console": "false",
    "spice_console": "false",
    "serial_console": "false",
    "stable_rescue": "false",
    "swap_volume": "false",
    "volume_multiattach": "true",
    "attach_encrypted_volume": "false",
    "unified_limits": "false",
    "hostname_fqdn_sanitization": "true",
}

# What the local driver's Cinder does ([volume-feature-enabled]): one backend of sparse
# files; snapshots, clones and backups are copies; no manage/unmanage, no replication.
VOLUME_FEATURES = {
    "multi_backend": "false",
    "backup": "true",
    "snapshot": "true",
    "clone": "true",
    "manage_snapshot": "false",
    "manage_volume": "false",
    "replication": "false",
    "api_extensions": "all",
    "extend_attached_volume": "true",
    "extend_attached_encrypted_volume": "true",
    "extend_volume_with_snapshot": "true",
    "enable_volume_image_dep_tests": "true",
}

SERVICE_AVAILABLE = {
    "compute": "nova",
    "image": "glance",
    "volume": "cinder",
    "network": "neutron",
    "object-store": "swift",
}


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/tempest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if an id in tests/tempest/baseline.txt did not pass")
    mode.add_argument("--update-baseline", action="store_true",
                      help="write the passing ids to tests/tempest/baseline.txt")
    ap.add_argument("--admin", action="store_true",
                    help="give Tempest the admin account too (admin tests run)")
    ap.add_argument("--workspace", type=Path, default=WORKSPACE,
                    help="Tempest workspace folder (default .tempest/)")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--include-list", type=Path, default=INCLUDE)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="the ids that must keep passing (default tests/tempest/baseline.txt; "
                         "with --admin, tests/tempest/baseline-admin.txt)")
    ap.add_argument("--doc", type=Path, default=None,
                    help="report file (default docs/conformance.md; for an external "
                         "server <workspace>/conformance.md)")
    args = ap.parse_args()
    global BASELINE
    BASELINE = args.baseline or (ADMIN_BASELINE if args.admin else BASELINE)
    if args.doc is None and args.admin:
        args.doc = ADMIN_DOC

    ws = args.workspace.resolve()
    started = time.monotonic()
    with js.start() as server:
        print(f"tempest: server {server!r}", flush=True)
        try:
            conn = server.connect()
            accounts = provision(conn, args.admin, args.concurrency)
            images = provision_images(conn) if "compute" in server.services else ("", "")
            networks = provision_networks(conn) if "network" in server.services else {}
            if "volume" in server.services:
                provision_volume_types(conn)
            conn.close()
        except Exception:
            if server.log():
                print(f"tempest: setting up accounts failed; server log:\n"
                      f"{server.log()[-5000:]}", file=sys.stderr)
            raise
        admin = {"username": js.ADMIN_USER, "project_name": js.ADMIN_PROJECT,
                 "password": server.admin_password} if args.admin else None
        conf = write_workspace(ws, server, accounts, admin, images, networks)
        microversions = {}
        if "compute" in server.services:
            microversions["compute"] = advertised_max(server.url + "/compute/v2.1")
        if "volume" in server.services:
            microversions["volume"] = advertised_max(server.url + "/volume/v3/")
        listed = list_tests(ws, conf, args.include_list)
        print(f"tempest: {len(listed)} test ids selected by {rel(args.include_list)}; "
              f"running with --concurrency {args.concurrency} (log: {rel(ws / 'run.log')})",
              flush=True)
        code = run_tempest(ws, conf, args.include_list, args.concurrency)
        server_log = server.log()
    if server_log:
        (ws / "jumpgate.log").write_text(server_log)

    raw = read_results(ws)
    if not raw:
        print(f"tempest: no results (tempest exited {code}); see {rel(ws / 'run.log')}",
              file=sys.stderr)
        print(tail(ws / "run.log", 40), file=sys.stderr)
        return 2
    tests = expand(listed, raw)
    counts = collections.Counter(t.status for t in tests.values())
    elapsed = time.monotonic() - started

    doc = args.doc or (ws / "conformance.md" if server.external else DOC)
    doc.parent.mkdir(parents=True, exist_ok=True)
    target = ("an external server (" + server.url + ")" if server.external
              else "jumpgate with the local driver")
    # scripts/gabbits owns the section at the end of docs/conformance.md: kept as it is.
    text = doc.read_text() if doc.exists() else ""
    kept = text[text.find(GABBITS_SECTION) + 1:] if GABBITS_SECTION in text else ""
    doc.write_text(render(tests, target=target, services=server.services,
                          include=args.include_list, admin=args.admin,
                          microversions=microversions) + ("\n" + kept if kept else ""))
    write_failures(ws / "failures.txt", tests)

    print(f"tempest: passed {counts['passed']}, failed {counts['failed']}, "
          f"skipped {counts['skipped']} ({len(tests)} ids, {elapsed:.0f} s); "
          f"report {rel(doc)}; failures {rel(ws / 'failures.txt')}")

    passing = sorted(i for i, t in tests.items() if t.status == "passed")
    if args.update_baseline:
        BASELINE.write_text("".join(f"{i}\n" for i in passing))
        print(f"tempest: baseline {rel(BASELINE)}: {len(passing)} ids")
        return 0
    if args.check:
        baseline = read_baseline()
        lost = [i for i in baseline if tests.get(i) is None or tests[i].status != "passed"]
        gained = len(set(passing) - set(baseline))
        if lost:
            print(f"tempest: {len(lost)} of {len(baseline)} baseline ids no longer pass:")
            for i in lost:
                t = tests.get(i)
                why = f"{t.status}: {t.reason}" if t else "not run (not selected any more?)"
                print(f"  {i}  ({why[:200]})")
            print(f"tempest-baseline: passed={len(baseline) - len(lost)} failed={len(lost)}")
            return 1
        print(f"tempest: all {len(baseline)} baseline ids pass"
              + (f"; {gained} more pass than the baseline lists (scripts/tempest "
                 "--update-baseline)" if gained else ""))
        print(f"tempest-baseline: passed={len(baseline)} failed=0")
    return 0


# --- accounts --------------------------------------------------------------------------


def provision(conn, admin: bool = False, workers: int = 2) -> list[dict]:
    """4 projects x (member, reader) users through the API; with `admin`, per worker also
    a project admin and a system-scoped admin and reader. Fresh passwords each run, so a
    long-lived server (external mode) is reused, not filled up."""
    roles = {}
    # Admin runs also need project managers (Tempest's `project_manager` credentials).
    project_roles = ROLES + (("manager",) if admin else ())
    for name in project_roles + (("admin",) if admin else ()):
        roles[name] = conn.identity.find_role(name) or conn.identity.create_role(name=name)

    def user(uname, project):
        password = secrets.token_urlsafe(16)
        u = conn.identity.find_user(uname, domain_id=js.DOMAIN_ID)
        if u is None:
            u = conn.identity.create_user(name=uname, password=password,
                                          domain_id=js.DOMAIN_ID,
                                          default_project_id=project.id if project else None)
        else:
            conn.identity.update_user(u, password=password, enabled=True)
        return u, password

    def project(pname):
        return conn.identity.find_project(pname, domain_id=js.DOMAIN_ID) or \
            conn.identity.create_project(name=pname, domain_id=js.DOMAIN_ID,
                                         description="Tempest pre-provisioned accounts")

    accounts = []
    for i in range(1, PROJECTS + 1):
        pname = f"tempest-project-{i}"
        proj = project(pname)
        for role in project_roles:
            u, password = user(f"tempest-{i}-{role}", proj)
            conn.identity.assign_project_role_to_user(proj, u, roles[role])
            accounts.append({"username": u.name, "password": password,
                             "project_name": pname, "roles": [role]})
    if admin:
        # Tempest gives each test class its own admin: one per worker, or classes that
        # start together fail with "Insufficient number of users provided".
        admin_project = project(js.ADMIN_PROJECT)
        for i in range(1, workers + 1):
            u, password = user(f"tempest-admin-{i}", admin_project)
            conn.identity.assign_project_role_to_user(admin_project, u, roles["admin"])
            accounts.append({"username": u.name, "password": password,
                             "project_name": js.ADMIN_PROJECT, "types": ["admin"]})
            for role in ("admin", "reader"):
                u, password = user(f"tempest-system-{role}-{i}", None)
                conn.identity.assign_system_role_to_user(u, roles[role], "all")
                accounts.append({"username": u.name, "password": password,
                                 "system": "all", "roles": [role]})
    return accounts


def advertised_max(version_url: str) -> str:
    """The newest microversion the server's version document advertises: Tempest runs
    every test up to it."""
    import json
    import urllib.request

    with urllib.request.urlopen(version_url, timeout=10) as r:
        doc = json.load(r)
    # Nova: {"version": {...}}; Cinder: {"versions": [{...}]}.
    return (doc.get("version") or doc["versions"][0])["version"]


def provision_networks(conn) -> dict:
    """The bootstrap external network `public`, a shared network every project's servers
    can use (devstack's `shared`), and the API extensions the cloud lists."""
    public = conn.network.find_network("public")
    shared = conn.network.find_network("tempest-shared")
    if shared is None:
        shared = conn.network.create_network(name="tempest-shared", shared=True)
        subnet = conn.network.create_subnet(name="tempest-shared-subnet",
                                            network_id=shared.id, ip_version=4,
                                            cidr="192.168.233.0/24")
        # As devstack's router: floating IPs reach servers on the shared network.
        router = conn.network.create_router(name="tempest-router",
                                            external_gateway_info={"network_id": public.id})
        conn.network.add_interface_to_router(router, subnet_id=subnet.id)
    return {
        "public_id": public.id,
        "shared_name": shared.name,
        "extensions": sorted(e.alias for e in conn.network.extensions()),
    }


def provision_images(conn) -> tuple[str, str]:
    """Two public images for compute's image_ref and image_ref_alt (found again on a
    long-lived server): small, as servers here never read their disks."""
    ids = []
    for name in ("tempest-image", "tempest-image-alt"):
        image = conn.image.find_image(name)
        if image is None or image.status != "active":
            image = conn.image.create_image(
                name=name, disk_format="qcow2", container_format="bare",
                visibility="public", data=os.urandom(64 * 1024), validate_checksum=False)
        ids.append(image.id)
    return ids[0], ids[1]


MULTIATTACH_TYPE = "tempest-multiattach"


def provision_volume_types(conn) -> str:
    """Cinder's multiattach volume type (extra spec `multiattach="<is> True"`), for
    `[volume] volume_type_multiattach` (found again on a long-lived server)."""
    if conn.block_storage.find_type(MULTIATTACH_TYPE) is None:
        conn.block_storage.create_type(name=MULTIATTACH_TYPE,
                                       extra_specs={"multiattach": "<is> True"})
    return MULTIATTACH_TYPE


# --- workspace -------------------------------------------------------------------------


def write_workspace(ws: Path, server, accounts, admin, images=("", ""), networks=None) -> Path:
    """etc/tempest.conf, etc/accounts.yaml and .stestr.conf under `ws`, anew each run."""
    ws.mkdir(parents=True, exist_ok=True)
    for old in (".stestr", "etc", "logs", "tempest_lock", "run.log", "failures.txt",
                "jumpgate.log"):
        p = ws / old
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    etc = ws / "etc"
    for d in (etc, ws / "logs", ws / "tempest_lock"):
        d.mkdir()

    # Members first: Tempest gives `alt` the first free account in file order, and the
    # alt user must not be in the primary's project (a reader there would be).
    entries = sorted(accounts, key=lambda a: a.get("roles") != ["member"])
    lines = []
    for a in entries:
        lines.append(f"- username: {yaml_str(a['username'])}")
        lines.append(f"  password: {yaml_str(a['password'])}")
        lines.append(f"  user_domain_name: {js.DOMAIN_NAME}")
        if a.get("project_name"):
            lines.append(f"  project_name: {yaml_str(a['project_name'])}")
            lines.append(f"  project_domain_name: {js.DOMAIN_NAME}")
        if a.get("system"):
            lines.append(f"  system: {a['system']}")
        if a.get("roles"):
            lines.append(f"  roles: [{', '.join(a['roles'])}]")
        if a.get("types"):
            lines.append(f"  types: [{', '.join(a['types'])}]")
    (etc / "accounts.yaml").write_text("\n".join(lines) + "\n")
    (etc / "accounts.yaml").chmod(0o600)

    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    conf["DEFAULT"] = {"log_dir": str(ws / "logs"), "log_file": "tempest.log",
                       "use_stderr": "false"}
    conf["oslo_concurrency"] = {"lock_path": str(ws / "tempest_lock")}
    conf["auth"] = {
        "use_dynamic_credentials": "false",
        "test_accounts_file": str(etc / "accounts.yaml"),
        "default_credentials_domain_name": js.DOMAIN_NAME,
        "create_isolated_networks": "false",
    }
    if admin:
        conf["auth"].update({
            "admin_username": admin["username"],
            "admin_password": admin["password"],
            "admin_project_name": admin["project_name"],
            "admin_domain_name": js.DOMAIN_NAME,
        })
    conf["identity"] = {
        "uri_v3": server.auth_url,
        "auth_version": "v3",
        "region": js.REGION,
        "v3_endpoint_type": "public",
        "default_domain_id": js.DOMAIN_ID,
        "admin_role": "admin",
        "admin_domain_scope": "false",
    }
    conf["identity-feature-enabled"] = dict(IDENTITY_FEATURES)
    conf["service_available"] = {
        option: str(service in server.services).lower()
        for service, option in SERVICE_AVAILABLE.items()
    }
    conf["service_available"].update({"horizon": "false"})
    conf["validation"] = {"run_validation": "false"}
    if "image" in server.services:
        conf["image"] = {
            "catalog_type": "image",
            "region": js.REGION,
            "endpoint_type": "publicURL",
            "container_formats": "bare,ami,ari,aki,ovf,ova,docker,compressed",
            "disk_formats": "qcow2,raw,ami,ari,aki,vhd,vhdx,vmdk,vdi,iso,ploop",
            "hashing_algorithm": "sha512",
            "build_timeout": "60",
            "build_interval": "1",
            # Only ever a URL the tests pass along: this cloud fetches nothing, and says so.
            "http_image": "http://127.0.0.1:9/cirros.qcow2",
        }
        conf["image-feature-enabled"] = dict(IMAGE_FEATURES)
    if "compute" in server.services:
        conf["compute"] = {
            "catalog_type": "compute",
            "region": js.REGION,
            "endpoint_type": "publicURL",
            "image_ref": images[0],
            "image_ref_alt": images[1],
            "flavor_ref": "42",
            "flavor_ref_alt": "84",
            "build_timeout": "60",
            "build_interval": "1",
            "min_microversion": "2.1",
            "max_microversion": advertised_max(server.url + "/compute/v2.1"),
            "min_compute_nodes": "1",
        }
        conf["compute-feature-enabled"] = dict(COMPUTE_FEATURES)
        if networks:
            conf["compute"]["fixed_network_name"] = networks["shared_name"]
    if "network" in server.services:
        conf["network"] = {
            "catalog_type": "network",
            "region": js.REGION,
            "endpoint_type": "publicURL",
            "public_network_id": networks["public_id"],
            "floating_network_name": "public",
            "project_network_cidr": "10.100.0.0/16",
            "project_network_mask_bits": "28",
            "project_network_v6_cidr": "2001:db8::/48",
            "project_network_v6_mask_bits": "64",
            "build_timeout": "60",
            "build_interval": "1",
        }
        conf["network-feature-enabled"] = {
            "api_extensions": ",".join(networks["extensions"]),
            "ipv6": "true",
            "ipv6_subnet_attributes": "true",
            "port_security": "true",
            "floating_ips": "true",
        }
    if "volume" in server.services:
        conf["volume"] = {
            "catalog_type": "block-storage",
            "region": js.REGION,
            "endpoint_type": "publicURL",
            "build_timeout": "60",
            "build_interval": "1",
            "backend_names": "local",
            "backup_driver": "posix",  # files on a filesystem, as ours are
            "storage_protocol": "local",
            "vendor_name": "Jumpgate",
            "disk_format": "raw,qcow2",
            "volume_size": "1",
            "min_microversion": "3.0",
            "max_microversion": advertised_max(server.url + "/volume/v3/"),
            "volume_type_multiattach": MULTIATTACH_TYPE,
        }
        conf["volume-feature-enabled"] = dict(VOLUME_FEATURES)
    path = etc / "tempest.conf"
    with open(path, "w") as f:
        f.write("# Written by scripts/tempest (tests/tempest/run.py); remade on every run.\n")
        conf.write(f)
    (ws / ".stestr.conf").write_text(stestr_conf())
    subprocess.run([venv_tool("stestr"), "init"], cwd=ws, check=True,
                   stdout=subprocess.DEVNULL)
    return path


def stestr_conf() -> str:
    import tempest

    top = Path(tempest.__file__).resolve().parent.parent
    return (f"[DEFAULT]\ntest_path={top / 'tempest' / 'test_discover'}\n"
            f"top_dir={top}\ngroup_regex=([^\\.]*\\.)*\n")


def yaml_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def tempest_env(conf: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(TEMPEST_CONFIG_DIR=str(conf.parent), TEMPEST_CONFIG=conf.name,
               PYTHON=sys.executable)
    return env


def venv_tool(name: str) -> str:
    """A command of the venv this script runs in (else from PATH)."""
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def tempest_cmd() -> str:
    return venv_tool("tempest")


def list_tests(ws: Path, conf: Path, include: Path) -> list[str]:
    r = subprocess.run([tempest_cmd(), "run", "--config-file", str(conf), "--list-tests",
                        "--include-list", str(include)],
                       cwd=ws, env=tempest_env(conf), capture_output=True, text=True,
                       timeout=600)
    ids = [line.strip() for line in r.stdout.splitlines()
           if line.strip().startswith("tempest.")]
    if r.returncode != 0 or not ids:
        print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"tempest: listing tests failed (exit {r.returncode})")
    return ids


def run_tempest(ws: Path, conf: Path, include: Path, concurrency: int) -> int:
    with open(ws / "run.log", "wb") as log:
        proc = subprocess.Popen(
            [tempest_cmd(), "run", "--config-file", str(conf), "--include-list",
             str(include), "--concurrency", str(concurrency)],
            cwd=ws, env=tempest_env(conf), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)
            proc.wait()
            print(f"tempest: run killed after {RUN_TIMEOUT} s", file=sys.stderr)
            return -1


# --- results ---------------------------------------------------------------------------


class Result:
    __slots__ = ("id", "status", "reason")

    def __init__(self, id, status, reason=""):
        self.id, self.status, self.reason = id, status, reason


def read_results(ws: Path) -> dict[str, tuple[str, str]]:
    """{raw test id: (status, reason)} from the last stestr run in `ws`."""
    import subunit
    import testtools

    r = subprocess.run([venv_tool("stestr"), "last", "--subunit"],
                       cwd=ws, capture_output=True, timeout=300)
    if not r.stdout:
        return {}
    out: dict[str, tuple[str, str]] = {}

    def on_test(test):
        status = test["status"]
        if status in ("exists", "inprogress", None):
            return
        details = test.get("details") or {}
        reason = ""
        if status == "skip" and "reason" in details:
            reason = details["reason"].as_text().strip()
        elif status not in ("success", "skip") and "traceback" in details:
            lines = [line for line in details["traceback"].as_text().strip().splitlines()
                     if line.strip()]
            reason = lines[-1].strip() if lines else ""
        out[test["id"]] = (status, reason)

    source = subunit.ByteStreamToStreamResult(io.BytesIO(r.stdout), non_subunit_name="stdout")
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        source.run(result)
    finally:
        result.stopTestRun()
    return out


_ATTRS = re.compile(r"\[.*\]$")
_FIXTURE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((.+)\)$")


def norm(test_id: str) -> str:
    """The id without its "[id-...,smoke]" attributes, as kept in the baseline."""
    return _ATTRS.sub("", test_id)


def expand(listed: list[str], raw: dict[str, tuple[str, str]]) -> dict[str, Result]:
    """Every selected id with a status: its own result, else its class's setUpClass result
    (a class skipped as a whole skips each of its tests), else failed ("no result")."""
    fixtures: dict[str, tuple[str, str, str]] = {}
    own: dict[str, tuple[str, str]] = {}
    for rid, value in raw.items():
        m = _FIXTURE.match(rid)
        if m:
            fixtures[m.group(2)] = (m.group(1),) + value
        else:
            own[norm(rid)] = value
    tests: dict[str, Result] = {}
    for lid in listed:
        tid = norm(lid)
        cls = tid.rsplit(".", 1)[0]
        if tid in own:
            status, reason = own[tid]
        elif cls in fixtures and fixtures[cls][0] == "setUpClass":
            _, status, reason = fixtures[cls]
            if status != "skip":
                reason = f"setUpClass: {reason}"
        elif cls.rsplit(".", 1)[0] in fixtures:  # setUpModule
            _, status, reason = fixtures[cls.rsplit(".", 1)[0]]
        else:
            status, reason = "fail", "no result (worker died or test not run)"
        tests[tid] = Result(tid, classify(status), reason)
    # A class that failed to clean up is one more failure of its module.
    for cls, (kind, status, reason) in fixtures.items():
        if kind == "tearDownClass" and classify(status) == "failed":
            tests[f"{cls}.tearDownClass"] = Result(f"{cls}.tearDownClass", "failed", reason)
    # Results stestr had that the listing did not (should not happen).
    for tid, (status, reason) in own.items():
        tests.setdefault(tid, Result(tid, classify(status), reason))
    return tests


def classify(status: str) -> str:
    return {"success": "passed", "xfail": "passed", "skip": "skipped"}.get(status, "failed")


def module_of(test_id: str) -> tuple[str, str]:
    """("identity", "v3/test_tokens") for tempest.api.identity.v3.test_tokens.Class.test."""
    parts = test_id.split(".")
    # tempest . api . <service> . <path...> . <module> . <Class> . <test>
    if len(parts) >= 6 and parts[0] == "tempest" and parts[1] == "api":
        return parts[2], "/".join(parts[3:-2])
    return parts[1] if len(parts) > 1 else "?", ".".join(parts[:-2])


def read_baseline() -> list[str]:
    if not BASELINE.exists():
        return []
    return [line.strip() for line in BASELINE.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


# --- report ----------------------------------------------------------------------------


def render(tests: dict[str, Result], *, target: str, services, include: Path,
           admin: bool, microversions: dict[str, str] | None = None) -> str:
    import tempest

    version = getattr(tempest, "__version__", None)
    if not version:
        from importlib.metadata import version as v

        version = v("tempest")
    by_service: dict[str, dict[str, collections.Counter]] = collections.defaultdict(
        lambda: collections.defaultdict(collections.Counter))
    for t in tests.values():
        service, module = module_of(t.id)
        by_service[service][module][t.status] += 1
    total = collections.Counter(t.status for t in tests.values())

    out = [
        "# Conformance: Tempest against Jumpgate",
        "",
        "Written by `scripts/tempest` (do not edit by hand). Tempest "
        f"{version} against {target}, services: {', '.join(services)}; tests selected by "
        f"`{rel(include)}`; pre-provisioned accounts ({PROJECTS} projects, each with a "
        f"`member` and a `reader` user){'; with admin accounts (project admin, system admin and reader per worker)' if admin else ', no admin'}. "
        "A class that Tempest skips as a whole counts once per test in it. "
        "`scripts/tempest --check` fails when a test listed in `tests/tempest/baseline.txt` "
        "no longer passes.",
        "",
    ]
    for service, newest in sorted((microversions or {}).items()):
        oldest = {"compute": "2.1", "volume": "3.0"}.get(service, "")
        out += [f"{service.capitalize()} advertises microversions {oldest} to {newest} (its version "
                f"document's `version`); Tempest runs with `[{service}] max_microversion = "
                f"{newest}`, so every test up to it runs.", ""]
    out += [
        "| service | passed | failed | skipped | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for service in sorted(by_service):
        c = sum(by_service[service].values(), collections.Counter())
        out.append(f"| {service} | {c['passed']} | {c['failed']} | {c['skipped']} | "
                   f"{sum(c.values())} |")
    out.append(f"| **all** | **{total['passed']}** | **{total['failed']}** | "
               f"**{total['skipped']}** | **{sum(total.values())}** |")
    for service in sorted(by_service):
        out += ["", f"## {service}", "", "| module | passed | failed | skipped |",
                "|---|---:|---:|---:|"]
        for module in sorted(by_service[service]):
            c = by_service[service][module]
            out.append(f"| `{module}` | {c['passed']} | {c['failed']} | {c['skipped']} |")

    failed = sorted(t.id for t in tests.values() if t.status == "failed")
    out += ["", "## Failed", ""]
    if failed:
        out.append("Why each failed: `.tempest/failures.txt` after a run, and "
                   "`.tempest/logs/tempest.log`.")
        out.append("")
        out += [f"- `{short(i)}`" for i in failed]
    else:
        out.append("None.")

    reasons: dict[str, list[str]] = collections.defaultdict(list)
    for t in tests.values():
        if t.status == "skipped":
            reasons[t.reason or "(no reason given)"].append(t.id)
    out += ["", "## Skipped and why", ""]
    if reasons:
        out += ["| reason | tests | where |", "|---|---:|---|"]
        for reason, ids in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            where = sorted({"/".join(module_of(i)) for i in ids})
            shown = ", ".join(f"`{w}`" for w in where[:8])
            if len(where) > 8:
                shown += f" and {len(where) - 8} more modules"
            out.append(f"| {cell(reason)} | {len(ids)} | {shown} |")
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def write_failures(path: Path, tests: dict[str, Result]) -> None:
    lines = [f"{t.id}\n    {t.reason}\n" for t in sorted(tests.values(), key=lambda t: t.id)
             if t.status == "failed"]
    path.write_text("".join(lines) or "none\n")


def short(test_id: str) -> str:
    return test_id[len("tempest.api."):] if test_id.startswith("tempest.api.") else test_id


def cell(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > 200:
        text = text[:197] + "..."
    return text.replace("|", "\\|")


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def tail(path: Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


if __name__ == "__main__":
    try:
        sys.exit(main())
    except js.StartError as e:
        print(f"tempest: {e}", file=sys.stderr)
        sys.exit(2)
