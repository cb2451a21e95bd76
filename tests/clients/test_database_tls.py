"""An operator points the local driver at a PostgreSQL server it must reach over TLS, as a
managed database demands, with libpq's own words in `[local] database`:
`?sslmode=verify-full&sslrootcert=ca.pem`. Every connection jumpgate holds is then
encrypted (the server's pg_stat_ssl says so), and a server whose certificate that CA did
not sign is refused at start, before anything is sent to it.

Runs with env JUMPGATE_PG and JUMPGATE_PG_CA (scripts' start_postgresql serves TLS with a
CA of its own), and not against an external server."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

import jumpgate_server as js

CA = os.environ.get("JUMPGATE_PG_CA", "").strip()

pytestmark = pytest.mark.skipif(
    not js.postgresql() or not CA or bool(os.environ.get("JUMPGATE_EXTERNAL_URL", "").strip()),
    reason="needs JUMPGATE_PG and JUMPGATE_PG_CA (scripts' start_postgresql) and a jumpgate of our own",
)


def psql(sql: str, database: str = "postgres") -> str:
    out = subprocess.run(["psql", "-qAt", "-v", "ON_ERROR_STOP=1",
                          f"{js.postgresql()}/{database}", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def database():
    name = "jg_tls_" + secrets.token_hex(4)
    psql(f"CREATE DATABASE {name}")
    yield name
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_every_connection_is_encrypted_and_verified(database):
    url = f"{js.postgresql()}/{database}?sslmode=verify-full&sslrootcert={CA}"
    with js.start(local={"database": url}) as server:
        conn = server.connect()
        assert conn.identity.get_token()
        # A write too: the pool's connections all came up the same way.
        project = conn.identity.create_project(name="over-tls", domain_id="default")
        assert conn.identity.get_project(project.id).name == "over-tls"
        rows = psql(
            "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
            f"WHERE a.datname = '{database}' AND a.application_name = 'jumpgate'"
        ).splitlines()
        assert rows, "jumpgate holds no connection to its database"
        for row in rows:
            ssl, version = row.split("|")
            assert ssl == "t", rows
            assert version.startswith("TLSv1."), rows


def test_a_certificate_the_ca_did_not_sign_is_refused(database, tmp_path: Path):
    other = js.make_certificate(tmp_path).ca  # a CA of someone else's
    url = f"{js.postgresql()}/{database}?sslmode=verify-full&sslrootcert={other}"
    with pytest.raises(js.StartError) as refused:
        js.start(local={"database": url}).stop()
    assert "certificate" in str(refused.value).lower()
    # Nothing reached the database: no schema was made in it.
    assert psql("SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public'", database) == "0"
