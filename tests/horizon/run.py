"""Horizon in a real browser: starts a real Jumpgate (target/debug/jumpgate with the local
driver, through tests/clients/jumpgate_server.py) and Horizon 27 in front of it
(`scripts/horizon serve`), then walks Horizon in Debian's Chromium (tests/horizon/walk.mjs,
playwright-core). Prints the walk's lines and its pytest-style summary; exits non-zero when
a step failed. `scripts/horizon walk` installs what this needs and runs it.

    python3 tests/horizon/run.py            # the walk
    python3 tests/horizon/run.py --serve    # only start both, print where, wait for ^C

Env: WALK_ONLY (a regex of step names, see walk.mjs), JUMPGATE_BIN and
JUMPGATE_PLUGIN_DIR (see jumpgate_server.py). Artifacts (Horizon's and Jumpgate's logs, a
screenshot and the HTML of each failed step) go to target/horizon-walk/.

Only the standard library is needed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "clients"))

import jumpgate_server as js  # noqa: E402

ARTIFACTS = ROOT / "target" / "horizon-walk"
HORIZON_START_TIMEOUT = 120.0
# The walk's own limit: it normally takes 2 to 3 minutes on 2 cores.
WALK_TIMEOUT = 900.0


def start_horizon(keystone_url: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`scripts/horizon serve` on a free port; waits until its login page answers 200."""
    last = ""
    for _ in range(3):  # a free port can be taken between free_port() and the bind
        port = js.free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [str(ROOT / "scripts" / "horizon"), "serve", keystone_url, str(port)],
                cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        until = time.monotonic() + HORIZON_START_TIMEOUT
        while time.monotonic() < until and proc.poll() is None:
            try:
                with urllib.request.urlopen(url + "/auth/login/", timeout=10) as resp:
                    if resp.status == 200:
                        return proc, url
            except (urllib.error.URLError, OSError) as e:
                last = str(e)
            time.sleep(0.3)
        stop(proc)
        text = log_path.read_text(errors="replace")
        if "already in use" not in text:
            break
    raise RuntimeError(
        f"Horizon did not answer its login page (last: {last}); log {log_path}:\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# Lines of Horizon's log that say nothing about a failure: it warns about its own image
# formats against any Glance, and that runserver is a development server.
NOISE = ("OPENSTACK_IMAGE_BACKEND", "development server")


def interesting(text: str, words: tuple[str, ...], limit: int = 60) -> str:
    lines = [line for line in text.splitlines()
             if any(w in line for w in words) and not any(n in line for n in NOISE)]
    return "\n".join(lines[-limit:])


def main() -> int:
    # Stopped from outside (a CI time limit): still stop Horizon and Jumpgate.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    serve_only = "--serve" in sys.argv[1:]
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    horizon_log = ARTIFACTS / "horizon.log"
    t0 = time.monotonic()
    jumpgate = js.start(keep=serve_only)
    horizon = None
    try:
        horizon, horizon_url = start_horizon(jumpgate.auth_url, horizon_log)
        print(f"jumpgate {jumpgate.url} (folder {jumpgate.workdir}), horizon {horizon_url}, "
              f"up in {time.monotonic() - t0:.1f} s", flush=True)
        if serve_only:
            print(f"log in as {js.ADMIN_USER} / {jumpgate.admin_password}; ^C stops both", flush=True)
            try:
                horizon.wait()
            except KeyboardInterrupt:
                pass
            return 0
        env = dict(
            os.environ,
            HORIZON_URL=horizon_url,
            HORIZON_USER=js.ADMIN_USER,
            HORIZON_PASSWORD=jumpgate.admin_password,
            WALK_ARTIFACTS=str(ARTIFACTS),
        )
        try:
            walk = subprocess.run(["node", "walk.mjs"], cwd=Path(__file__).parent, env=env,
                                  stdin=subprocess.DEVNULL, timeout=WALK_TIMEOUT)
            code = walk.returncode
        except subprocess.TimeoutExpired:
            print(f"==================== 1 failed (the walk took over {WALK_TIMEOUT:.0f} s) "
                  "====================")
            code = 1
        if code != 0:
            print(f"\n--- Horizon's errors (whole log: {horizon_log})")
            print(interesting(horizon_log.read_text(errors="replace"),
                              ("ERROR", "WARNING", "Error", "Exception", '" 5')))
            print("--- Jumpgate's errors")
            print(interesting(jumpgate.log(), ("ERROR", "WARN", "panick", " 500 ", " 501 ")))
            print(f"--- screenshots and pages of the failed steps: {ARTIFACTS}")
        return code
    finally:
        if horizon is not None:
            stop(horizon)
        jumpgate.stop()
        (ARTIFACTS / "jumpgate.log").write_text(jumpgate.log())


if __name__ == "__main__":
    sys.exit(main())
