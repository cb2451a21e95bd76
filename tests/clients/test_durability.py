"""Durability of the local driver's state (SQLite under `data_dir`, image files under
`data_dir/images`, volume files under `data_dir/volumes`) when the process does what
processes do in production. Each test starts a jumpgate of its own (kept folder), loads it
from threads with raw HTTP (one admin token, loopback only), and then checks that nothing
it acknowledged was lost and that no file was left behind:

- a driver reload under load (SIGHUP with a changed driver file: a new build of the driver
  in the same process, the old one retired): no 5xx, no refused connection, and every
  project, server and volume acknowledged before is still there after a crash and a
  restart, each volume with its 1 GiB file and no temp file anywhere;
- kill -9 in the middle of an image upload: after a restart the image is `queued` again
  (not stuck in `saving`), its partial bytes are gone, and a new upload works;
- kill -9 in the middle of many parallel server and volume creates: after a restart every
  acknowledged server and volume is listed, the volume files are exactly the listed
  volumes, the quota usages agree with what is listed, and no IP address was handed out
  twice;
- two processes on one data directory (the second started and stopped several times, its
  start-up sweep of leftover files running while the first is busy): no 5xx, and every
  volume acknowledged by either is listed by both, with its file.

A create counts as acknowledged when it was answered 2xx; every 5xx and every connection
error (before a deliberate kill) is a failure. Each test gathers all it found and fails
once with the whole list, so one run shows every symptom."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import jumpgate_server as js

GIB = 1 << 30
MIB = 1 << 20
FLAVOR = "42"  # m1.nano, seeded
SWEEP_LINE = "volume file(s) an interrupted request left behind"


# --- helpers ---------------------------------------------------------------------------


class Api:
    """Raw HTTP to one jumpgate with an admin token. The token is fetched once: it is
    good across reloads, restarts and on a second process on the same folder (same
    secret key, same store)."""

    def __init__(self, server: js.Server, token: str, project_id: str):
        self.server = server
        self.url = server.url
        self.token = token
        self.project_id = project_id

    @classmethod
    def admin(cls, server: js.Server) -> "Api":
        sess = server.session()
        return cls(server, sess.get_token(), sess.get_project_id())

    def on(self, server: js.Server) -> "Api":
        """The same token and project against another process."""
        return Api(server, self.token, self.project_id)

    def __call__(self, method: str, path: str, *, timeout=60, **kwargs) -> requests.Response:
        headers = {"X-Auth-Token": self.token, "Accept": "application/json"}
        headers.update(kwargs.pop("headers", None) or {})
        return requests.request(method, self.url + path, headers=headers, timeout=timeout,
                                **kwargs)

    def ok(self, method: str, path: str, status=(200, 201, 202, 204), **kwargs):
        """A set-up call that must succeed: its JSON (or None)."""
        r = self(method, path, **kwargs)
        assert r.status_code in status, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r.json() if r.content else None

    # --- set-up ------------------------------------------------------------------

    def unlimited_quotas(self) -> None:
        """No quota can refuse the load (Nova's 10 instances, Cinder's 10 volumes)."""
        pid = self.project_id
        self.ok("PUT", f"/compute/v2.1/os-quota-sets/{pid}",
                json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
        self.ok("PUT", f"/volume/v3/{pid}/os-quota-sets/{pid}",
                json={"quota_set": {"volumes": -1, "gigabytes": -1}})
        self.ok("PUT", f"/network/v2.0/quotas/{pid}", json={"quota": {"port": -1}})

    def network(self) -> str:
        """A network with a /16 subnet (room for every server of a test): its id."""
        net = self.ok("POST", "/network/v2.0/networks",
                      json={"network": {"name": f"durability-{uuid.uuid4().hex[:8]}"}})
        net_id = net["network"]["id"]
        self.ok("POST", "/network/v2.0/subnets",
                json={"subnet": {"network_id": net_id, "ip_version": 4,
                                 "cidr": "10.123.0.0/16", "name": "durability"}})
        return net_id

    def image(self, data: bytes) -> str:
        """An active raw image holding `data`: its id."""
        img = self.ok("POST", "/image/v2/images",
                      json={"name": f"durability-{uuid.uuid4().hex[:8]}",
                            "disk_format": "raw", "container_format": "bare"})
        self.ok("PUT", f"/image/v2/images/{img['id']}/file", data=data,
                headers={"Content-Type": "application/octet-stream"})
        shown = self.ok("GET", f"/image/v2/images/{img['id']}")
        assert shown["status"] == "active", shown
        return img["id"]

    # --- the creates of the load ------------------------------------------------

    def create_project(self) -> requests.Response:
        return self("POST", "/v3/projects",
                    json={"project": {"name": f"dur-{uuid.uuid4().hex[:12]}",
                                      "domain_id": js.DOMAIN_ID}})

    def create_server(self, image_id: str, net_id: str) -> requests.Response:
        return self("POST", "/compute/v2.1/servers",
                    json={"server": {"name": f"dur-{uuid.uuid4().hex[:8]}", "flavorRef": FLAVOR,
                                     "imageRef": image_id, "networks": [{"uuid": net_id}]}})

    def create_volume(self, image_id: str | None = None) -> requests.Response:
        body = {"size": 1, "name": f"dur-{uuid.uuid4().hex[:8]}"}
        if image_id:
            body["imageRef"] = image_id
        return self("POST", f"/volume/v3/{self.project_id}/volumes", json={"volume": body})


# What a 2xx create answers with: kind -> (status, key of the object).
CREATED = {"project": (201, "project"), "server": (202, "server"), "volume": (202, "volume")}


class Tally:
    """Every create's outcome, from any thread: the acknowledged ids per kind, every 5xx
    and connection error (with the time it happened), every other refusal."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked: dict[str, list[str]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.failures: list[tuple[float, str]] = []  # (monotonic time, what)
        self.refused: list[str] = []

    def record(self, kind: str, via: str, send) -> str | None:
        """Runs `send()` (a request); returns the new id if acknowledged."""
        try:
            r = send()
        except requests.RequestException as e:
            with self.lock:
                self.statuses[(kind, via, "error")] += 1
                self.failures.append((time.monotonic(), f"{kind} via {via}: {type(e).__name__}: {e}"))
            return None
        with self.lock:
            self.statuses[(kind, via, r.status_code)] += 1
        want, key = CREATED[kind]
        if r.status_code == want:
            new_id = r.json()[key]["id"]
            with self.lock:
                self.acked[kind].append(new_id)
            return new_id
        what = f"{kind} via {via}: HTTP {r.status_code} {r.text[:300]}"
        with self.lock:
            if r.status_code >= 500:
                self.failures.append((time.monotonic(), what))
            else:
                self.refused.append(what)
        return None

    def acked_count(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.acked.values())

    def failures_before(self, t: float | None = None) -> list[str]:
        with self.lock:
            return [w for when, w in self.failures if t is None or when < t]

    def problems(self, before: float | None = None) -> list[str]:
        """What went wrong for clients (before `before`): 5xx and connection errors, and
        refusals of creates that should all have been accepted."""
        failed = self.failures_before(before)
        out = []
        if failed:
            out.append(f"{len(failed)} 5xx/connection errors (first 20):\n" + "\n".join(failed[:20]))
        with self.lock:
            refused = list(self.refused)
        if refused:
            out.append(f"{len(refused)} creates refused (first 10):\n" + "\n".join(refused[:10]))
        return out

    def lost(self, listed_by_kind: dict) -> list[str]:
        """Acknowledged ids of each kind that `listed_by_kind` (kind -> listed ids) lacks."""
        out = []
        for kind, have in listed_by_kind.items():
            gone = sorted(set(self.acked[kind]) - set(have))
            if gone:
                out.append(f"{len(gone)} of {len(self.acked[kind])} acknowledged {kind}s "
                           f"are not listed: {gone[:20]}")
        return out

    def summary(self) -> str:
        with self.lock:
            return ", ".join(f"{k}@{v} {s}: {n}" for (k, v, s), n in sorted(
                self.statuses.items(), key=lambda kv: tuple(map(str, kv[0]))))


def listed(server: js.Server):
    """(servers by id, volumes by id, project ids) as an admin lists them, all projects."""
    conn = server.connect()
    try:
        servers = {s.id: s for s in conn.compute.servers(all_projects=True)}
        volumes = {v.id: v for v in conn.block_storage.volumes(all_projects=True)}
        projects = {p.id for p in conn.identity.projects()}
        return servers, volumes, projects
    finally:
        conn.close()


def temp_files(data: Path) -> list[str]:
    return sorted(str(p.relative_to(data)) for p in data.rglob("*.part-*"))


def volume_file_problems(data: Path, volume_ids) -> list[str]:
    """Each volume's file must be there, of exactly 1 GiB (apparent size)."""
    out = []
    for vid in sorted(volume_ids):
        path = data / "volumes" / vid
        if not path.is_file():
            out.append(f"volume {vid}: no file {path}")
        elif path.stat().st_size != GIB:
            out.append(f"volume {vid}: file of {path.stat().st_size} bytes, not {GIB}")
    return out


def log_lines(text: str, *needles: str, last: int = 40) -> str:
    """The log's lines that say any of `needles` (WARN/ERROR by default), the last few."""
    needles = needles or ("WARN", "ERROR", "panic")
    hits = [line for line in text.splitlines() if any(n in line for n in needles)]
    return "\n".join(hits[-last:]) or "(none)"


def change_driver(workdir: Path, n: int) -> None:
    """A new build of the driver, as an operator deploys one: the same file with a few
    bytes more (a different hash), written aside and renamed over the old."""
    so = workdir / "plugins" / f"libjumpgate_{js.DRIVER}.so"
    tmp = so.with_name(f".{so.name}.tmp")
    shutil.copyfile(so, tmp)
    with open(tmp, "ab") as f:
        f.write(f"\0durability-reload-{n}-{uuid.uuid4().hex}".encode())
    tmp.rename(so)


def wait_log(server: js.Server, needle: str, count: int, timeout: float = 30.0) -> bool:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if server.log().count(needle) >= count:
            return True
        time.sleep(0.05)
    return False


def kill(server: js.Server) -> float:
    """SIGKILL; the time it was sent."""
    t = time.monotonic()
    pid = server.proc.pid
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    # The private copies of the drivers a host cleans up on exit (not on a kill).
    shutil.rmtree(Path(tempfile.gettempdir()) / f"jumpgate-drivers-{pid}", ignore_errors=True)
    return t


def finish(server: js.Server | None) -> None:
    """Stops a process; its folder goes too unless JUMPGATE_KEEP is set."""
    if server is None:
        return
    server._keep = os.environ.get("JUMPGATE_KEEP", "") not in ("", "0")
    server.stop()


def report(problems: list[str], tally: Tally | None = None) -> None:
    if tally is not None:
        print(f"\nanswers: {tally.summary()}")
    assert not problems, "\n\n".join(problems)


# --- a reload under load ---------------------------------------------------------------


@pytest.mark.jumpgate_only
def test_reload_under_load_loses_nothing(server):
    """Two driver reloads (a changed driver file, SIGHUP) while threads create projects,
    servers and volumes from an image: no request fails, and after kill -9 and a restart
    everything acknowledged is there, volumes with their files, and no temp file."""
    problems: list[str] = []
    tally = Tally()
    again = None
    with js.start(keep=True) as started:
        victim = started.upstream or started
        workdir = Path(victim.workdir)
        data = workdir / "data"
        try:
            api = Api.admin(victim)
            api.unlimited_quotas()
            net_id = api.network()
            small = api.image(os.urandom(8 * 1024))
            big = api.image(os.urandom(4 * MIB))

            stop = threading.Event()
            kinds = ("project", "server", "volume")
            sends = {
                "project": api.create_project,
                "server": lambda: api.create_server(small, net_id),
                "volume": lambda: api.create_volume(big),
            }

            def work(i: int) -> None:
                n = i
                while not stop.is_set():
                    kind = kinds[n % len(kinds)]
                    tally.record(kind, "A", sends[kind])
                    n += 1

            threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(5)]
            for t in threads:
                t.start()
            reloads_done = 0
            try:
                for n in (1, 2):
                    time.sleep(2.5)
                    change_driver(workdir, n)
                    victim.proc.send_signal(signal.SIGHUP)
                    if wait_log(victim, "reloaded ", n):
                        reloads_done = n
                time.sleep(2.5)
            finally:
                stop.set()
                for t in threads:
                    t.join(90)
            log_before_kill = victim.log()
            if reloads_done != 2:
                problems.append(
                    f"only {reloads_done} of 2 reloads were logged as done; log:\n"
                    + log_lines(log_before_kill, "reload", "WARN", "ERROR"))
            problems += tally.problems()
            for kind in kinds:
                if not tally.acked[kind]:
                    problems.append(f"no {kind} was acknowledged at all: the load did not run")
            kill(victim)
        except BaseException:
            if victim.alive():
                kill(victim)
            raise
        finally:
            if started is not victim:  # a passthrough front: only its own folder goes
                started._keep = False

    again = js.restart(workdir)
    try:
        servers, volumes, projects = listed(again)
        problems += tally.lost({"project": projects, "server": servers, "volume": volumes})
        bad = [f"{v}: {volumes[v].status}" for v in tally.acked["volume"]
               if v in volumes and volumes[v].status.startswith("error")]
        bad += [f"{s}: {servers[s].status}" for s in tally.acked["server"]
                if s in servers and servers[s].status == "ERROR"]
        if bad:
            problems.append(f"acknowledged volumes/servers in error: {bad[:20]}")
        problems += volume_file_problems(data, tally.acked["volume"])[:20]
        if temp_files(data):
            problems.append(f"temp files left under data/: {temp_files(data)[:20]}")
        if problems:
            # A sweep by a reloaded build while requests were live is the likely culprit.
            problems.append("log (reloads, sweeps, warnings, errors):\n" + log_lines(
                again.log(), "reload", SWEEP_LINE, "WARN", "ERROR", "panic"))
        print("\nacknowledged: " + ", ".join(f"{k} {len(v)}" for k, v in tally.acked.items()))
    finally:
        finish(again)
    report(problems, tally)


# --- kill -9 during an image upload ----------------------------------------------------


@pytest.mark.jumpgate_only
def test_kill_during_image_upload_recovers(server):
    """kill -9 while an image's bytes stream in: after a restart the image is `queued`
    again, no partial file is left, a new upload makes it active, a delete removes it."""
    problems: list[str] = []
    chunk = os.urandom(MIB)
    sent = [0]
    killed = threading.Event()
    outcome: dict = {}

    def body():
        # 256 MiB at most, but after 48 MiB it waits for the kill: the upload is
        # certainly in the middle when the process dies, however fast the server is.
        for i in range(256):
            if i == 48:
                killed.wait(60)
                return
            sent[0] += MIB
            yield chunk

    with js.start(keep=True) as started:
        victim = started.upstream or started
        workdir = Path(victim.workdir)
        data = workdir / "data"
        try:
            api = Api.admin(victim)
            img = api.ok("POST", "/image/v2/images",
                         json={"name": "interrupted", "disk_format": "raw",
                               "container_format": "bare"})
            image_id = img["id"]

            def upload():
                try:
                    r = api("PUT", f"/image/v2/images/{image_id}/file", data=body(),
                            headers={"Content-Type": "application/octet-stream"},
                            timeout=(10, 120))
                    outcome["status"] = r.status_code
                    outcome["text"] = r.text[:300]
                except Exception as e:  # noqa: BLE001 - the kill breaks the upload
                    outcome["error"] = f"{type(e).__name__}: {e}"

            thread = threading.Thread(target=upload, daemon=True)
            thread.start()
            # The partial file under data/: whatever its temp name, it starts with the id.
            grown = None
            until = time.monotonic() + 30
            while time.monotonic() < until and thread.is_alive():
                files = [p for p in data.rglob(f"{image_id}*") if p.is_file()]
                big = [p for p in files if p.stat().st_size >= 16 * MIB]
                if big:
                    grown = big[0]
                    break
                time.sleep(0.05)
            partial = grown.stat().st_size if grown else None
            shown = api.ok("GET", f"/image/v2/images/{image_id}")
            kill(victim)
            killed.set()
            thread.join(60)
            assert grown is not None, (
                f"no file of the image grew to 16 MiB within 30 s (client sent {sent[0]} "
                f"bytes; upload outcome {outcome}; files "
                f"{[str(p.relative_to(data)) for p in data.rglob('*') if p.is_file()]})")
            assert "status" not in outcome, f"the upload ended before the kill: {outcome}"
            print(f"\nkilled with {partial} bytes in {grown.relative_to(data)}, image "
                  f"{shown['status']}; client sent {sent[0]} bytes")
        except BaseException:
            if victim.alive():
                kill(victim)
            raise
        finally:
            if started is not victim:  # a passthrough front: only its own folder goes
                started._keep = False

    again = js.restart(workdir)
    try:
        api = api.on(again)
        shown = api.ok("GET", f"/image/v2/images/{image_id}")
        if shown["status"] != "queued":
            problems.append(f"after the restart the image is {shown['status']!r}, not 'queued'")
        if temp_files(data):
            problems.append(f"temp files left under data/ after the restart: {temp_files(data)}")
        left = sorted(str(p.relative_to(data)) for p in data.rglob(f"{image_id}*") if p.is_file())
        if left:
            problems.append(f"files of the interrupted upload left under data/: {left}")

        fresh = os.urandom(64 * 1024)
        r = api("PUT", f"/image/v2/images/{image_id}/file", data=fresh,
                headers={"Content-Type": "application/octet-stream"})
        if r.status_code != 204:
            problems.append(f"a new upload after the restart: HTTP {r.status_code} {r.text[:300]}")
        else:
            shown = api.ok("GET", f"/image/v2/images/{image_id}")
            if (shown["status"], shown.get("size")) != ("active", len(fresh)):
                problems.append(f"after the new upload: status {shown['status']}, size "
                                f"{shown.get('size')} (want active, {len(fresh)})")
            got = api("GET", f"/image/v2/images/{image_id}/file")
            if got.status_code != 200 or got.content != fresh:
                problems.append(f"download after the new upload: HTTP {got.status_code}, "
                                f"{len(got.content)} bytes, same bytes: {got.content == fresh}")
        r = api("DELETE", f"/image/v2/images/{image_id}")
        if r.status_code != 204:
            problems.append(f"delete: HTTP {r.status_code} {r.text[:300]}")
        left = sorted(str(p.relative_to(data)) for p in data.rglob(f"{image_id}*") if p.is_file())
        if left:
            problems.append(f"files of the image left after its delete: {left}")
        if problems:
            problems.append("log (warnings and errors):\n" + log_lines(again.log()))
    finally:
        finish(again)
    report(problems)


# --- kill -9 during parallel creates ---------------------------------------------------


@pytest.mark.jumpgate_only
def test_kill_during_parallel_server_and_volume_creates(server):
    """200 server and 200 (empty) volume creates from 16 threads, kill -9 in the middle:
    after a restart the acknowledged ones are all listed, volume files are exactly the
    listed volumes, quota usage counts what is listed, and no address was given twice."""
    problems: list[str] = []
    tally = Tally()
    with js.start(keep=True) as started:
        victim = started.upstream or started
        workdir = Path(victim.workdir)
        data = workdir / "data"
        try:
            api = Api.admin(victim)
            api.unlimited_quotas()
            net_id = api.network()
            small = api.image(os.urandom(8 * 1024))
            jobs = []
            for _ in range(200):
                jobs.append(("server", lambda: api.create_server(small, net_id)))
                jobs.append(("volume", lambda: api.create_volume()))
            pool = ThreadPoolExecutor(16)
            futures = [pool.submit(tally.record, kind, "A", send) for kind, send in jobs]
            t0 = time.monotonic()
            # The kill: once 40% are acknowledged (the rest queued or in flight), or at
            # 3 s, whichever comes first.
            while True:
                elapsed = time.monotonic() - t0
                if tally.acked_count() >= 160 or elapsed >= 3.0:
                    break
                if all(f.done() for f in futures):
                    break
                time.sleep(0.02)
            done_before = sum(f.done() for f in futures)
            killed_at = kill(victim)
            pool.shutdown(wait=True, cancel_futures=True)
            print(f"\nkilled after {killed_at - t0:.2f} s with {done_before} of {len(jobs)} "
                  f"creates answered; acknowledged: servers {len(tally.acked['server'])}, "
                  f"volumes {len(tally.acked['volume'])}")
            if done_before == len(jobs):
                problems.append("every create was answered before the kill: the kill hit "
                                "nothing in flight (make the load bigger)")
            problems += tally.problems(before=killed_at)
        except BaseException:
            if victim.alive():
                kill(victim)
            raise
        finally:
            if started is not victim:  # a passthrough front: only its own folder goes
                started._keep = False

    again = js.restart(workdir)
    try:
        servers, volumes, _ = listed(again)
        problems += tally.lost({"server": servers, "volume": volumes})
        files = {p.name for p in (data / "volumes").iterdir()}
        if files != set(volumes):
            problems.append(
                f"volume files and listed volumes differ: files without a volume "
                f"{sorted(files - set(volumes))[:20]}, volumes without a file "
                f"{sorted(set(volumes) - files)[:20]}")
        problems += volume_file_problems(data, volumes)[:20]
        if temp_files(data):
            problems.append(f"temp files left under data/: {temp_files(data)[:20]}")

        api = api.on(again)
        pid = api.project_id
        mine = [s for s in servers.values() if s.project_id == pid]
        quota = api.ok("GET", f"/compute/v2.1/os-quota-sets/{pid}/detail")["quota_set"]
        if quota["instances"]["in_use"] != len(mine):
            problems.append(f"Nova's instances in_use is {quota['instances']['in_use']}, but "
                            f"{len(mine)} servers are listed in the project")
        my_volumes = [v for v in volumes.values() if v.project_id == pid]
        quota = api.ok("GET", f"/volume/v3/{pid}/os-quota-sets/{pid}?usage=True")["quota_set"]
        if quota["volumes"]["in_use"] != len(my_volumes):
            problems.append(f"Cinder's volumes in_use is {quota['volumes']['in_use']}, but "
                            f"{len(my_volumes)} volumes are listed in the project")
        if quota["gigabytes"]["in_use"] != sum(v.size for v in my_volumes):
            problems.append(f"Cinder's gigabytes in_use is {quota['gigabytes']['in_use']}, "
                            f"but the listed volumes have {sum(v.size for v in my_volumes)}")

        ports = api.ok("GET", f"/network/v2.0/ports?network_id={net_id}")["ports"]
        ips = Counter(ip["ip_address"] for p in ports for ip in p["fixed_ips"])
        twice = sorted(ip for ip, n in ips.items() if n > 1)
        if twice:
            problems.append(f"addresses given to more than one port: {twice[:20]}")
        per_server = Counter(p["device_id"] for p in ports)
        orphans = sorted(d for d in per_server if d and d not in servers)
        if orphans:
            problems.append(f"ports of servers that are not listed: {orphans[:20]}")
        portless = sorted(s for s in servers if per_server[s] != 1)
        if portless:
            problems.append("servers without exactly one port on the network: "
                            + ", ".join(f"{s} ({per_server[s]})" for s in portless[:20]))
        if problems:
            problems.append("log (warnings and errors):\n" + log_lines(again.log()))
    finally:
        finish(again)
    report(problems, tally)


# --- two processes on one data directory -----------------------------------------------


@pytest.mark.jumpgate_only
def test_two_processes_on_one_data_dir(server):
    """Process A creates volumes from an image from threads while a process B on the same
    folder (another port) starts, creates volumes and stops, a few times: no 5xx from
    either, and every volume either acknowledged is listed by both, with its file."""
    problems: list[str] = []
    tally = Tally()
    b = None
    b_logs: list[Path] = []
    with js.start(keep=True) as started:
        a = started.upstream or started
        workdir = Path(a.workdir)
        data = workdir / "data"
        try:
            api = Api.admin(a)
            api.unlimited_quotas()
            big = api.image(os.urandom(4 * MIB))

            stop = threading.Event()

            def work() -> None:
                while not stop.is_set():
                    tally.record("volume", "A", lambda: api.create_volume(big))

            threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
            for t in threads:
                t.start()
            t0 = time.monotonic()
            cycles = 0
            try:
                time.sleep(0.5)
                while cycles < 5 and (cycles < 3 or time.monotonic() - t0 < 6.0):
                    b = js.start_another(workdir)
                    b_logs.append(b.log_path)
                    api_b = api.on(b)
                    for _ in range(3):
                        tally.record("volume", "B", lambda: api_b.create_volume(big))
                    code = b.stop()
                    b = None
                    if code not in (0, -15):
                        problems.append(f"process B exited with {code} on SIGTERM")
                    cycles += 1
                    time.sleep(0.3)
                while time.monotonic() - t0 < 6.0:
                    time.sleep(0.1)
            finally:
                stop.set()
                for t in threads:
                    t.join(90)
                if b is not None:
                    b.stop()
                    b = None
            print(f"\nB started {cycles} times in {time.monotonic() - t0:.1f} s")

            problems += tally.problems()
            mine = set(tally.acked["volume"])
            if not mine:
                problems.append("no volume was acknowledged at all: the load did not run")

            # Both processes list: B once more, on the folder as A left it.
            b = js.start_another(workdir)
            b_logs.append(b.log_path)
            for name, proc in (("A", a), ("B", b)):
                _, volumes, _ = listed(proc)
                problems += [f"{p} (by {name})" for p in tally.lost({"volume": volumes})]
            problems += volume_file_problems(data, mine)[:20]
            if temp_files(data):
                problems.append(f"temp files left under data/: {temp_files(data)[:20]}")
            logs = a.log() + "".join(p.read_text(errors="replace") for p in b_logs)
            if problems:
                problems.append("logs of A and B (sweeps, warnings, errors):\n"
                                + log_lines(logs, SWEEP_LINE, "WARN", "ERROR", "panic"))
        finally:
            if b is not None:
                b.stop()
        started._keep = os.environ.get("JUMPGATE_KEEP", "") not in ("", "0")
        a._keep = started._keep
    report(problems, tally)
