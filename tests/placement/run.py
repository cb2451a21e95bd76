"""scripts/gabbits: runs OpenStack Placement's own API tests (its gabbits) against jumpgate.

Placement's functional tests are YAML files of HTTP requests and expected answers
(placement/tests/functional/gabbits/*.yaml), run by gabbi. They are the most exact
statement of Placement's API there is, so Jumpgate's Placement is checked against them
unmodified, in memory rewritten only where Placement's test rig differs from a real cloud:

1. The files come from the `openstack-placement` wheel on PyPI (PLACEMENT_VERSION, the
   release whose newest microversion, 1.39, Jumpgate serves), fetched once with pip into
   .venv/ (PyPI is the only registry the machines reach).
2. Per file a fresh jumpgate (tests/clients/jumpgate_server.py) serving only identity and
   placement, so Placement starts empty as in Placement's own fixtures; cleanup is
   stopping it. Signed in as admin, plus a user with the `member` role on a project of
   its own.
3. The gabbits authenticate with noauth2's fake tokens: `x-auth-token: admin` (and
   `admin:admin`) becomes the admin's Keystone token, `x-auth-token: user` the member's.
   The links they expect get the mount, /placement, in front (`for_jumpgate`).
4. The fixtures the files name are tests/placement/gabbit_fixtures.py's, which make the same
   providers, inventories, traits, aggregates and allocations through the API. Files
   whose fixture or subject is Placement's configuration (policy files, the deprecated
   policies, CORS) are not run: NOT_RUN says why. The secure-RBAC files' callers, roles
   in noauth2's headers, become Keystone users with those roles (`with_role_tokens`).
5. Every test's result (file and test name) goes to .placement-gabbits/results.txt and
   failures.txt (the assertion of each failure); the default mode rewrites
   tests/placement/baseline.txt (the passing tests) and the section "Placement's gabbits"
   of docs/conformance.md. --check runs the files of the baseline and exits 1 when a test
   in it no longer passes, naming it.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import multiprocessing
import re
import secrets
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile
from pathlib import Path

import requests
import yaml
from gabbi import driver

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "clients"))
sys.path.insert(0, str(HERE))
import gabbit_fixtures  # noqa: E402
import jumpgate_server as js  # noqa: E402

PLACEMENT_VERSION = "16.0.0"
GABBITS_IN_WHEEL = "placement/tests/functional/gabbits/"
CACHE = ROOT / ".venv" / f"placement-gabbits-{PLACEMENT_VERSION}"
BASELINE = HERE / "baseline.txt"
DOC = ROOT / "docs" / "conformance.md"
SECTION = "## Placement's gabbits"
WORKSPACE = ROOT / ".placement-gabbits"
SEP = " :: "  # file :: test name, in the baseline and the results

_LEGACY = ("LegacyRBACPolicyFixture: Placement's deprecated policy "
           "(`[oslo_policy] enforce_new_defaults = False`); Jumpgate has the new defaults "
           "only, which the -secure-rbac files check")
_OPEN = ("OpenPolicyFixture: a policy file that lets any user do everything; Jumpgate's "
         "policy tables are built into the driver (plugins/local/policies)")
# Files not run, and why: each is about Placement's own configuration or test rig.
NOT_RUN_PATTERNS = (
    (re.compile(r"-legacy-rbac\.yaml$"), _LEGACY),
    (re.compile(r"-policy\.yaml$"), _OPEN),
)
NOT_RUN = {
    "cors.yaml": "CORSFixture: the `[cors] allowed_origin` option of placement.conf",
}

_TOKEN = re.compile(r"^(\s*(?:-\s+)?x-auth-token:\s*)(admin:admin|admin|user)\s*$",
                    re.IGNORECASE | re.MULTILINE)
_DETAIL = re.compile(r'"detail": "(?:[^"\\]|\\.)*?\\n\\n((?:[^"\\]|\\.)*)"')
# The header that makes a set of noauth2's caller headers (with_role_tokens).
ROLE_HEADERS = "x-roles"
# An expected link: `$.links[?rel = "self"].href: /resource_providers/...`.
_HREF = re.compile(r"^(\s*\$[^:\n]*\.href:\s*['\"]?)/(?!placement/)", re.MULTILINE)


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/gabbits", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="run the files of tests/placement/baseline.txt; exit 1 if a test "
                         "listed there did not pass (nothing is rewritten)")
    ap.add_argument("--jobs", type=int, default=3, help="files run at once (default 3)")
    ap.add_argument("files", nargs="*", help="only these gabbit files (e.g. traits.yaml); "
                    "nothing is rewritten")
    args = ap.parse_args()

    started = time.monotonic()
    gabbits = fetch_gabbits()
    every = sorted(p.name for p in gabbits.glob("*.yaml"))
    skipped = {name: why for name in every if (why := not_run_reason(name))}
    baseline = read_baseline()
    if args.files:
        chosen = args.files
    elif args.check:
        chosen = sorted({line.split(SEP)[0] for line in baseline})
    else:
        chosen = [name for name in every if name not in skipped]

    WORKSPACE.mkdir(exist_ok=True)
    results: dict[str, tuple[str, str]] = {}
    # Files in parallel processes: each has its own jumpgate, and its own os.environ for
    # the $ENVIRON the fixtures set. Most of a file's time is its jumpgate starting.
    with concurrent.futures.ProcessPoolExecutor(
            args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        running = {pool.submit(run_file, gabbits / name): name for name in chosen}
        for done in concurrent.futures.as_completed(running):
            name = running[done]
            outcomes, seconds = done.result()
            for test, outcome in outcomes.items():
                results[f"{name}{SEP}{test}"] = outcome
            counts = collections.Counter(s for s, _ in outcomes.values())
            print(f"gabbits: {name}: {counts['passed']} passed, {counts['failed']} failed, "
                  f"{counts['skipped']} skipped ({seconds:.1f} s)", flush=True)
    elapsed = time.monotonic() - started
    write_results(results)

    if args.check:
        lost = [t for t in baseline if results.get(t, ("not run",))[0] != "passed"]
        for t in lost:
            status, why = results.get(t, ("not run", ""))
            print(f"gabbits: baseline test no longer passes: {t} ({status}: {why[:200]})")
        print(f"=== {len(baseline) - len(lost)} passed, {len(lost)} failed in "
              f"{elapsed:.1f}s ===")
        return 1 if lost else 0
    counts = collections.Counter(s for s, _ in results.values())
    if not args.files:
        passing = sorted(t for t, (s, _) in results.items() if s == "passed")
        BASELINE.write_text(
            "# Placement's gabbits that pass against jumpgate (scripts/gabbits writes this;\n"
            "# scripts/gabbits --check fails when one of them no longer passes).\n"
            + "".join(f"{t}\n" for t in passing))
        write_doc(results, skipped, every)
    print(f"gabbits: report {rel(DOC)}; failures {rel(WORKSPACE / 'failures.txt')}")
    print(f"=== {counts['passed']} passed, {counts['failed']} failed, "
          f"{counts['skipped']} skipped in {elapsed:.1f}s ===")
    return 0


# --- the files --------------------------------------------------------------------------


def fetch_gabbits() -> Path:
    """The gabbits of openstack-placement PLACEMENT_VERSION, from its wheel (downloaded
    with pip once, without its dependencies: only the YAML is used)."""
    if CACHE.is_dir() and any(CACHE.glob("*.yaml")):
        return CACHE
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "--disable-pip-version-check",
                        "-d", tmp, f"openstack-placement=={PLACEMENT_VERSION}"], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        part = CACHE.with_name(CACHE.name + ".part")
        part.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if member.startswith(GABBITS_IN_WHEEL) and member.endswith(".yaml"):
                    (part / Path(member).name).write_bytes(z.read(member))
        part.rename(CACHE)
    return CACHE


def not_run_reason(name: str) -> str:
    for pattern, why in NOT_RUN_PATTERNS:
        if pattern.search(name):
            return why
    return NOT_RUN.get(name, "")


def for_jumpgate(text: str, admin: str, user: str) -> str:
    """The YAML as Placement wrote it (text, so that anchors, comments and layout stay),
    but for a real cloud: noauth2's fake tokens replaced by Keystone tokens, and the links
    expected under the mount. Placement builds a link from the request's SCRIPT_NAME, which
    its test rig leaves empty and a deployment at /placement sets, as Jumpgate's is."""
    def token(m):
        return f"{m.group(1)}'{user if m.group(2).lower() == 'user' else admin}'"
    return _HREF.sub(r"\1/placement/", _TOKEN.sub(token, text))


def test_names(path: Path) -> list[str]:
    return [t["name"] for t in yaml.safe_load(path.read_text()).get("tests") or []]


# --- one file ---------------------------------------------------------------------------


class Collect(unittest.TestResult):
    """test name -> (passed | failed | skipped, why). A fixture failure is an error on
    the first test and a skip of every test: the error wins."""

    def __init__(self):
        super().__init__()
        self.outcomes: dict[str, tuple[str, str]] = {}

    def _set(self, test, status, why=""):
        name = test.test_data["name"]
        if self.outcomes.get(name, ("",))[0] != "failed":
            self.outcomes[name] = (status, why)

    def addSuccess(self, test):
        self._set(test, "passed")

    def addExpectedFailure(self, test, err):
        self._set(test, "passed", "xfail")

    def addUnexpectedSuccess(self, test):
        self._set(test, "failed", "passed, but Placement marks it xfail")

    def addFailure(self, test, err):
        self._set(test, "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        self._set(test, "failed", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        self._set(test, "skipped", reason)


def run_file(path: Path) -> tuple[dict[str, tuple[str, str]], float]:
    """Every test of the file: name -> (status, why); and the seconds it took."""
    started = time.monotonic()
    with js.start(services=("identity", "placement")) as server:
        keystone = Keystone(server)
        text = for_jumpgate(path.read_text(), keystone.admin,
                            keystone.token("member", "gabbits"))
        if ROLE_HEADERS in text:
            text = with_role_tokens(text, keystone)
        gabbit_fixtures.bind(server.url + "/placement", keystone.admin, keystone.environ)
        with tempfile.TemporaryDirectory() as tmp:
            # One file a folder: gabbi loads every *.yaml of the folder it is given.
            (Path(tmp) / path.name).write_text(text)
            suite = driver.build_tests(tmp, unittest.TestLoader(),
                                       url=server.url + "/placement",
                                       test_loader_name="gabbits",
                                       fixture_module=gabbit_fixtures)
            result = Collect()
            suite.run(result)
        if not server.alive():
            raise SystemExit(f"gabbits: jumpgate died during {path.name}:\n{server.log()[-3000:]}")
    return ({name: result.outcomes.get(name, ("failed", "no result"))
             for name in test_names(path)}, time.monotonic() - started)


class Keystone:
    """The jumpgate's Keystone as its admin: projects, and users with one role each."""

    def __init__(self, server: js.Server):
        self.server = server
        self.http = requests.Session()
        self.admin, _ = server.sign_in(self.http, js.ADMIN_USER, server.admin_password,
                                       js.ADMIN_PROJECT)
        self.projects: dict[str, str] = {}
        self.tokens: dict[tuple[str, str | None], str] = {}
        # $ENVIRON values the fixtures must use: the ids of the projects the tokens are for.
        self.environ: dict[str, str] = {}

    def call(self, method: str, path: str, body=None):
        r = self.http.request(method, self.server.url + path, json=body,
                              headers={"X-Auth-Token": self.admin}, timeout=30)
        r.raise_for_status()
        return r.json() if r.content else None

    def project(self, name: str) -> str:
        if name not in self.projects:
            self.projects[name] = self.call("POST", "/v3/projects", {"project": {
                "name": name, "domain_id": js.DOMAIN_ID}})["project"]["id"]
        return self.projects[name]

    def token(self, role: str, project: str | None) -> str:
        """A token of a new user with `role` (and the roles it implies) on `project`, or
        on the system when `project` is None, scoped to it."""
        if (role, project) in self.tokens:
            return self.tokens[role, project]
        found = self.call("GET", f"/v3/roles?name={role}")["roles"]
        role_id = (found[0] if found else
                   self.call("POST", "/v3/roles", {"role": {"name": role}})["role"])["id"]
        name, password = f"gabbits-{role}-{project or 'system'}", secrets.token_urlsafe(12)
        user = self.call("POST", "/v3/users", {"user": {
            "name": name, "password": password, "domain_id": js.DOMAIN_ID}})["user"]["id"]
        if project is None:
            self.call("PUT", f"/v3/system/users/{user}/roles/{role_id}")
            scope = {"system": {"all": True}}
        else:
            self.call("PUT", f"/v3/projects/{self.project(project)}/users/{user}/roles/{role_id}")
            scope = {"project": {"name": project, "domain": {"id": js.DOMAIN_ID}}}
        r = self.http.post(self.server.url + "/v3/auth/tokens", timeout=30, json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": name, "domain": {"id": js.DOMAIN_ID}, "password": password}}},
            "scope": scope}})
        r.raise_for_status()
        self.tokens[role, project] = r.headers["X-Subject-Token"]
        return self.tokens[role, project]


def with_role_tokens(text: str, keystone: Keystone) -> str:
    """The secure-RBAC files' callers, which noauth2 reads from request headers (x-roles,
    x-project-id, openstack-system-scope), as Keystone users with those roles: each set
    of headers becomes the token of a user with the first role listed (it implies the
    others) on that project or the system. The projects the files name by $ENVIRON
    are real ones, whose ids the fixtures put there."""
    doc = yaml.safe_load(text)
    projects = {}
    for var, name in (("PROJECT_ID", "gabbits-project"), ("PROJECT_ID_ALT", "gabbits-alt")):
        keystone.environ[var] = keystone.project(name)
        projects[f"$ENVIRON['{var}']"] = name
    # Tests share a set by YAML alias (one dict): the first rewrites it for all.
    for headers in [doc.get("defaults", {}).get("request_headers")] + [
            t.get("request_headers") for t in doc.get("tests") or []]:
        if not headers or ROLE_HEADERS not in headers:
            continue
        role = headers.pop(ROLE_HEADERS).split(",")[0].strip()
        project = headers.pop("x-project-id", None)
        system = headers.pop("openstack-system-scope", None)
        # Project ids the files give literally (`admin_project_id`) name a project too.
        headers["x-auth-token"] = keystone.token(
            role, None if system and not project else projects.get(project, project))
    return yaml.safe_dump(doc, sort_keys=False)


# --- results ----------------------------------------------------------------------------


def read_baseline() -> list[str]:
    if not BASELINE.exists():
        return []
    return [line.rstrip("\n") for line in BASELINE.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def short_reason(why: str) -> str:
    """A failure in a line: what gabbi expected and what came (a status, a JSON path's
    value, a header, or a message: then the `detail` of Placement's error document)."""
    lines = [line.strip() for line in why.strip().splitlines() if line.strip()]
    at = next((i for i, line in enumerate(lines) if line.startswith("AssertionError")),
              max(len(lines) - 2, 0))
    text = " ".join(lines[at:]).removeprefix("AssertionError: ")
    # assertEqual's diff comes first, gabbi's message after " : ".
    if " : Unable to match" in text:
        return text.split(" : ", 1)[1][:300]
    # An error document's detail: "<the status's sentence>\n\n <the message> ".
    detail = _DETAIL.search(text)
    got = f": {detail.group(1).strip()[:200]}" if detail else ""
    status = re.match(r"'(\d+)' not found in \[([^]]*)\]", text)
    if status:
        return f"status {status.group(1)}, expected {status.group(2)}{got}"
    message = re.match(r"(.*?) not found in [{\[]", text)
    if message:
        return f"message {message.group(1)} expected, got{got or ' another body'}"
    return text[:300]


def write_results(results: dict[str, tuple[str, str]]) -> None:
    (WORKSPACE / "results.txt").write_text(
        "".join(f"{s}\t{t}\n" for t, (s, _) in sorted(results.items())))
    (WORKSPACE / "failures.txt").write_text(
        "".join(f"{t}\n{why}\n\n" for t, (s, why) in sorted(results.items())
                if s == "failed") or "none\n")


def write_doc(results, skipped: dict[str, str], every: list[str]) -> None:
    by_file: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for t, (s, _) in results.items():
        by_file[t.split(SEP)[0]][s] += 1
    total = sum(by_file.values(), collections.Counter())
    out = [
        SECTION,
        "",
        "Written by `scripts/gabbits` (tests/placement/run.py; do not edit by hand). "
        f"Placement's own API tests, the gabbits of openstack-placement {PLACEMENT_VERSION} "
        "(`placement/tests/functional/gabbits/`), run unmodified by gabbi against jumpgate "
        "with the local driver serving identity and placement, a fresh one per file. Their "
        "fixtures are made through the API (tests/placement/gabbit_fixtures.py); noauth2's fake "
        "tokens `admin` and `user` become an admin's and a member's Keystone tokens. "
        "`scripts/gabbits --check` fails when a test listed in `tests/placement/baseline.txt` "
        "no longer passes.",
        "",
        f"{len(by_file)} of {len(every)} files run: {total['passed']} tests passed, "
        f"{total['failed']} failed, {total['skipped']} skipped.",
        "",
        "| file | tests | passed | failed | skipped |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in sorted(by_file):
        c = by_file[name]
        out.append(f"| `{name}` | {sum(c.values())} | {c['passed']} | {c['failed']} | "
                   f"{c['skipped']} |")
    out += ["", "### Failed and why", ""]
    failed = [(t, why) for t, (s, why) in sorted(results.items()) if s == "failed"]
    if failed:
        out += ["| file | test | assertion |", "|---|---|---|"]
        for t, why in failed:
            file, name = t.split(SEP, 1)
            out.append(f"| `{file}` | {cell(name)} | {cell(short_reason(why))} |")
    else:
        out.append("None.")
    out += ["", "### Not run and why", "", "| file | why |", "|---|---|"]
    for name in sorted(skipped):
        out.append(f"| `{name}` | {cell(skipped[name])} |")
    section = "\n".join(out) + "\n"
    text = DOC.read_text() if DOC.exists() else ""
    at = text.find("\n" + SECTION + "\n")
    if at >= 0:
        text = text[:at + 1]
    DOC.write_text(text.rstrip("\n") + "\n\n" + section)


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except js.StartError as e:
        print(f"gabbits: {e}", file=sys.stderr)
        sys.exit(2)
