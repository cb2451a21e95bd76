"""HTTPS on Jumpgate's own listener (`[DEFAULT] tls_cert_file`, `tls_key_file`), as an
operator runs it: a certificate from their CA, every URL handed back saying https, a
renewed certificate taken by SIGHUP with no restart, a broken one refused while the old one
keeps serving, and clients that never finish a handshake holding up no one. (The identity
and compute suites also run whole over HTTPS: `JUMPGATE_TLS=1`, in scripts/test.)"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import time

import pytest
import requests

import jumpgate_server as js

pytestmark = pytest.mark.jumpgate_only


@pytest.fixture(scope="module")
def https():
    server = js.start(tls=True)
    yield server
    server.stop()


def served_certificate(server: js.Server) -> str:
    """The certificate a new connection is given, as PEM (not verified)."""
    return ssl.get_server_certificate(("127.0.0.1", server.port), timeout=10)


def same_pem(a: str, b: str) -> bool:
    return ssl.PEM_cert_to_DER_cert(a) == ssl.PEM_cert_to_DER_cert(b)


def wait_for(what, timeout=15.0):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if what():
            return True
        time.sleep(0.1)
    return False


def replace(src, dst):
    """Writes `src` over `dst` as an operator's tooling does: a copy, then a rename."""
    tmp = dst.with_name(dst.name + ".new")
    shutil.copyfile(src, tmp)
    tmp.rename(dst)


def test_every_url_handed_back_says_https(https):
    assert https.url.startswith("https://")
    # A client that does not trust the CA is refused by its own TLS check.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(https.url + "/v3", timeout=10)
    r = https.request("GET", "/v3")
    assert r.status_code == 200, r.text
    assert r.json()["version"]["links"][0]["href"].startswith(https.url + "/v3"), r.text
    sess = https.session()
    catalog = sess.auth.get_access(sess).service_catalog.catalog
    urls = [e["url"] for s in catalog for e in s["endpoints"]]
    assert urls and all(u.startswith(https.url + "/") for u in urls), urls
    r = https.request(
        "GET", "/compute/v2.1/flavors?limit=1", token=sess.get_token(),
        headers={"OpenStack-API-Version": "compute 2.1"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["flavors_links"][0]["href"].startswith(https.url + "/compute/"), r.text


def test_a_renewed_certificate_is_served_after_sighup(https, tmp_path):
    tls = js.Tls(https.workdir / "tls")
    before = served_certificate(https)
    assert same_pem(before, tls.cert.read_text())
    renewed = js.make_certificate(tmp_path / "renewed", ca=tls)
    replace(renewed.key, tls.key)
    replace(renewed.cert, tls.cert)
    https.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: same_pem(served_certificate(https), renewed.cert.read_text())), (
        https.log()[-2000:]
    )
    # Signed by the same CA: clients go on as before.
    assert https.request("GET", "/v3").status_code == 200


def test_a_broken_certificate_is_refused_and_the_old_one_kept(https):
    tls = js.Tls(https.workdir / "tls")
    good = tls.cert.read_bytes()
    served = served_certificate(https)
    try:
        tls.cert.write_text("not a certificate\n")
        https.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "no PEM certificate" in https.log()), https.log()[-2000:]
        assert "reload failed, still serving the previous configuration" in https.log()
        assert same_pem(served_certificate(https), served)
        assert https.request("GET", "/v3").status_code == 200
    finally:
        tls.cert.write_bytes(good)


def test_clients_that_never_finish_a_handshake_hold_up_no_one(https):
    silent = [socket.create_connection(("127.0.0.1", https.port)) for _ in range(20)]
    try:
        # Plain HTTP on the HTTPS port gets no answer, only a closed connection.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(https.url.replace("https://", "http://") + "/v3", timeout=10)
        # Well within the silent ones' 10 s handshake limit: the answer did not wait for
        # them (a patient client's timeout, not a speed check).
        assert https.request("GET", "/v3", timeout=5).status_code == 200
    finally:
        for s in silent:
            s.close()
    assert https.alive()
