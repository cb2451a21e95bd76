"""Slow and greedy clients cannot stall the host. A jumpgate with short limits
(`[DEFAULT] header_timeout`, `body_timeout`, `max_connections_per_client`, `max_streams`)
is attacked over raw sockets the way a slowloris tool or a broken uploader does, while a
well-behaved client keeps using it:

- a connection that sends nothing, or a header byte at a time, is closed after the
  header timeout;
- a `Content-Length` over the JSON body limit is answered 413 at once, before any of the
  body is sent; a body that stops arriving is answered 408 after the body timeout;
- uploads that send one chunk and stall hold at most `max_streams` threads, every other
  request is answered within a second meanwhile, and each stalled upload is cut off after
  the body timeout with its image back in `queued`;
- one address cannot hold more than its share of connections.

Not against an external server: the limits are this jumpgate's own settings."""

from __future__ import annotations

import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

import jumpgate_server as js

HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2
PER_CLIENT = 60
MAX_STREAMS = 4
STALLED = 16

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("JUMPGATE_EXTERNAL_URL", "").strip()),
    reason="the limits are a jumpgate's own settings",
)


@pytest.fixture(scope="module")
def limited():
    defaults = {
        "header_timeout": str(HEADER_TIMEOUT),
        "body_timeout": str(BODY_TIMEOUT),
        "max_connections_per_client": str(PER_CLIENT),
        "max_streams": str(MAX_STREAMS),
    }
    # One host, HTTP: the limits are measured on jumpgate's own sockets, not nginx's.
    with js.start(defaults=defaults, tls=False) as server:
        yield server


@pytest.fixture(scope="module")
def token(limited):
    return limited.session().get_token()


def connect(server: js.Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def closed_after(sock: socket.socket, send_every: float | None = None,
                 limit: float = 15.0) -> float:
    """Seconds until the server closes `sock`; sends one header byte every `send_every`
    seconds meanwhile (a slowloris), or nothing."""
    started = time.monotonic()
    header = b"GET /v3 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
    sent = 0
    sock.settimeout(send_every or limit)
    while time.monotonic() - started < limit:
        try:
            data = sock.recv(4096)
            if not data:
                return time.monotonic() - started
        except socket.timeout:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
        if send_every is not None:
            try:
                sock.send(header[sent:sent + 1])
                sent += 1
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started
    raise AssertionError(f"still open after {limit} s")


def response(sock: socket.socket, limit: float) -> tuple[int, dict | str, float]:
    """The status, body (JSON when it is) and seconds taken of the one answer on `sock`."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed without an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines
                  if line.lower().startswith("content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of the answer"
        body += chunk
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = body.decode(errors="replace")  # Glance's HTML, to a client asking no JSON
    return int(lines[0].split()[1]), parsed, time.monotonic() - started


def threads(server: js.Server) -> int:
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("Threads:")))


def test_a_silent_connection_is_closed_after_the_header_timeout(limited):
    took = closed_after(connect(limited))
    assert HEADER_TIMEOUT - 0.5 <= took <= HEADER_TIMEOUT + 3, took


def test_a_slowloris_is_closed_after_the_header_timeout(limited):
    took = closed_after(connect(limited), send_every=0.25)
    assert took <= HEADER_TIMEOUT + 3, took


def test_a_kept_alive_connection_that_goes_quiet_is_closed(limited):
    s = connect(limited)
    s.sendall(b"GET /v3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    status, _, _ = response(s, 10)
    assert status == 200
    took = closed_after(s)
    assert took <= HEADER_TIMEOUT + 3, took


def create_server_sending(server: js.Server, token: str, length: int, part: bytes):
    """A server create that announces `length` bytes of body and sends only `part`."""
    s = connect(server)
    s.sendall(f"POST /compute/v2.1/servers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
              f"X-Auth-Token: {token}\r\n\r\n".encode() + part)
    return s


def test_a_body_over_the_limit_is_refused_before_it_is_sent(limited, token):
    s = create_server_sending(limited, token, 100_000_000_000, b"")
    status, body, took = response(s, 10)
    assert status == 413, body
    assert "overLimit" in body, body
    # Not a body that stopped arriving (that is a 408 after the body timeout): refused
    # from its Content-Length alone.
    assert took < BODY_TIMEOUT, took


def test_a_body_that_stops_arriving_is_answered_408(limited, token):
    s = create_server_sending(limited, token, 100, b'{"server": ')
    status, body, took = response(s, 15)
    assert status == 408, body
    assert "request body" in json.dumps(body), body
    assert BODY_TIMEOUT - 0.5 <= took <= BODY_TIMEOUT + 3, took


def test_stalled_uploads_hold_few_threads_and_stall_no_one(limited, token):
    api = requests.Session()
    api.headers["X-Auth-Token"] = token
    image_url = limited.url + "/image/v2/images"
    images = []
    for i in range(STALLED):
        r = api.post(image_url, json={"name": f"stalled-{i}", "disk_format": "raw",
                                      "container_format": "bare"})
        assert r.status_code == 201, r.text
        images.append(r.json()["id"])
    before = threads(limited)
    stalled = []
    for image in images:
        s = connect(limited)
        s.sendall(f"PUT /image/v2/images/{image}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  "Content-Type: application/octet-stream\r\nContent-Length: 10485760\r\n"
                  f"X-Auth-Token: {token}\r\n\r\n".encode() + b"x" * 65536)
        stalled.append(s)
    time.sleep(0.5)
    try:
        # Everyone else is served as before, at once.
        for path in ("/compute/v2.1/servers", "/v3/projects", "/image/v2/images",
                     "/network/v2.0/networks"):
            started = time.monotonic()
            r = api.get(limited.url + path, timeout=5)
            assert r.status_code == 200, (path, r.text)
            assert time.monotonic() - started < 1.0, path
        # The stalled uploads hold at most max_streams threads between them.
        assert threads(limited) <= before + MAX_STREAMS + 4, (before, threads(limited))
        # Each is cut off after the body timeout (the waiting ones in turn, a slot at a time).
        with ThreadPoolExecutor(len(stalled)) as pool:
            answers = list(pool.map(
                lambda s: response(s, BODY_TIMEOUT * (STALLED // MAX_STREAMS + 2) + 10),
                stalled))
        for status, body, _ in answers:
            assert 400 <= status < 500, body
    finally:
        for s in stalled:
            s.close()
    for image in images:
        r = api.get(f"{image_url}/{image}")
        assert r.json()["status"] == "queued", r.text
    # And an upload that is not stalled works.
    r = api.put(f"{image_url}/{images[0]}/file", data=b"whole",
                headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text


def test_one_address_cannot_take_every_connection(limited):
    held = [connect(limited) for _ in range(PER_CLIENT)]
    try:
        time.sleep(0.3)
        over = connect(limited)
        assert closed_after(over, limit=5) < 2
    finally:
        for s in held:
            s.close()
    # Once they are gone, the address is served again.
    time.sleep(0.3)
    s = connect(limited)
    s.sendall(b"GET /v3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert response(s, 10)[0] == 200
