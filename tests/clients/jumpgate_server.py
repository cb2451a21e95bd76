"""A real jumpgate for the client tests (tests/clients) and scripts/tempest.

`start()` runs the built binary (`target/debug/jumpgate`, or env JUMPGATE_BIN) with the
`local` driver (copied from target/debug, or env JUMPGATE_PLUGIN_DIR) in a temp folder of
its own: `jumpgate.conf`, `plugins/`, `data/`, and the server log. It waits until
`GET /v3` answers and returns a `Server`; `Server.stop()` ends it.

With env JUMPGATE_PASSTHROUGH=1 a second jumpgate is started in front of that one, every
service on the `openstack` driver pointed at it, and the clients talk to the front one:
the client suites then check the passthrough driver (Jumpgate(openstack) in front of
Jumpgate(local)).

With env JUMPGATE_TLS=1 the jumpgate serves HTTPS (`tls_cert_file`, `tls_key_file`) with a
certificate made for the run by a CA of its own (`make_certificate`, with Debian's
`openssl`); every client is given that CA (`Server.cacert`, `OS_CACERT`).

With env JUMPGATE_EXTERNAL_URL (and JUMPGATE_EXTERNAL_ADMIN_PASSWORD) nothing is started:
the same `Server` object points at a server already running there, for example a real
Keystone, to check that the tests themselves are right.

Only the standard library is needed to start and stop; `requests`, `keystoneauth1` and
`openstacksdk` (all in .venv) are imported by the helpers that use them.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The services the `local` driver serves, in jumpgate.conf's `enabled_services` order.
# Extend this one list as the driver grows (volume, network).
ENABLED_SERVICES: tuple[str, ...] = (
    "identity", "image", "compute", "network", "volume", "placement",
)

# Extra `[local]` settings of the started jumpgate (env JUMPGATE_LOCAL_<KEY> overrides one,
# e.g. JUMPGATE_LOCAL_BOOT_DELAY=1). `boot_delay`: seconds a server builds and each later
# compute action's task runs; small, so that `--wait` and the tests' polls end soon, but
# not 0, so that servers do pass through BUILD, REBOOT, RESIZE ... as on a real cloud.
# `vcpus`, `memory_mb`, `local_gb`: the compute host's size in Placement. The machines
# running the suites are small (CI's 2 cores hold 8 VCPU at Nova's ratio) and the suites run
# many servers at once, so the test host is large; a test about capacity sets its own.
LOCAL_SETTINGS: dict[str, str] = {
    "boot_delay": "0.2",
    "vcpus": "1024",
    "memory_mb": "4194304",
    "local_gb": "1000000",
}

DRIVER = "local"
PASSTHROUGH_DRIVER = "openstack"
REGION = "RegionOne"
ADMIN_USER = "admin"
ADMIN_PROJECT = "admin"
DOMAIN_NAME = "Default"
DOMAIN_ID = "default"

START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


class StartError(RuntimeError):
    """jumpgate did not come up; the message carries its log."""


class Server:
    """A running identity endpoint: one jumpgate we started, or an external server."""

    def __init__(
        self,
        url: str,
        admin_password: str,
        *,
        services: tuple[str, ...],
        external: bool,
        proc: subprocess.Popen | None = None,
        workdir: Path | None = None,
        log_path: Path | None = None,
        keep: bool = False,
        upstream: "Server | None" = None,
        cacert: Path | None = None,
    ):
        self.url = url.rstrip("/")
        # The CA that signed an HTTPS jumpgate's certificate, which clients must trust.
        self.cacert = cacert
        self.admin_password = admin_password
        self.services = tuple(services)
        self.external = external
        self.proc = proc
        self.workdir = workdir
        self.log_path = log_path
        self._keep = keep
        self._log_text: str | None = None
        # JUMPGATE_PASSTHROUGH: the local-driver jumpgate this one passes requests to;
        # JUMPGATE_HOSTS=2: the first of the jumpgates this nginx balances.
        self.upstream = upstream
        # JUMPGATE_HOSTS=2: every jumpgate behind this nginx, the upstream first.
        self.hosts: list[Server] = []

    # --- where and who -------------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return self.url + "/v3"

    @property
    def port(self) -> int | None:
        return urllib.parse.urlsplit(self.url).port

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The OS_* variables a user exports to talk to this cloud as admin. A value of
        None in `overrides` removes that variable."""
        env = {
            "OS_AUTH_URL": self.auth_url,
            "OS_USERNAME": ADMIN_USER,
            "OS_PASSWORD": self.admin_password,
            "OS_PROJECT_NAME": ADMIN_PROJECT,
            "OS_USER_DOMAIN_NAME": DOMAIN_NAME,
            "OS_PROJECT_DOMAIN_NAME": DOMAIN_NAME,
            "OS_IDENTITY_API_VERSION": "3",
            "OS_REGION_NAME": REGION,
        }
        if self.cacert is not None:
            env["OS_CACERT"] = str(self.cacert)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    # --- clients (need .venv) ------------------------------------------------------

    def session(self, username=ADMIN_USER, password=None, project_name=ADMIN_PROJECT):
        """A keystoneauth1 session with v3 password auth (admin by default)."""
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        auth = v3.Password(
            auth_url=self.auth_url,
            username=username,
            password=self.admin_password if password is None else password,
            user_domain_name=DOMAIN_NAME,
            project_name=project_name,
            project_domain_name=DOMAIN_NAME if project_name else None,
        )
        return ks_session.Session(auth=auth, verify=self.verify)

    def sign_in(self, api, user: str, password: str, project: str) -> tuple[str, dict]:
        """A token scoped to `project` (both in the Default domain), asked over `api` (a
        requests.Session): the token and Keystone's body for it."""
        r = api.post(self.url + "/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"], r.json()["token"]

    @property
    def verify(self) -> str | bool:
        """What `requests` and keystoneauth take as `verify`: the CA over HTTPS."""
        return str(self.cacert) if self.cacert is not None else True

    def connect(self, **overrides):
        """An openstacksdk Connection as admin, ignoring clouds.yaml and OS_* variables."""
        import openstack

        args = dict(
            auth_url=self.auth_url,
            username=ADMIN_USER,
            password=self.admin_password,
            project_name=ADMIN_PROJECT,
            user_domain_name=DOMAIN_NAME,
            project_domain_name=DOMAIN_NAME,
            region_name=REGION,
            identity_api_version="3",
        )
        if self.cacert is not None:
            args["cacert"] = str(self.cacert)
        args.update(overrides)
        return openstack.connect(load_yaml_config=False, load_envvars=False, **args)

    def request(self, method: str, path: str, token: str | None = None, **kwargs):
        """A plain HTTP request (requests.Response) to `url + path`, any status."""
        import requests

        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["X-Auth-Token"] = token
        headers.setdefault("Accept", "application/json")
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("timeout", 60)
        return requests.request(method, self.url + path, headers=headers, **kwargs)

    # --- life ----------------------------------------------------------------------

    def alive(self) -> bool:
        return self.external or (self.proc is not None and self.proc.poll() is None)

    def log(self) -> str:
        """Everything the server wrote (empty for an external server)."""
        if self._log_text is not None:
            return self._log_text
        text = ""
        if self.log_path is not None:
            try:
                text = self.log_path.read_text(errors="replace")
            except OSError:
                pass
        if self.hosts and self.workdir is not None:
            try:
                text += (self.workdir / "error.log").read_text(errors="replace")
            except OSError:
                pass
        if self.upstream is not None:
            text += f"\n--- upstream {self.upstream.url}\n" + self.upstream.log()
        for host in self.hosts[1:]:
            text += f"\n--- host {host.url}\n" + host.log()
        return text

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; the exit code. Idempotent."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            _running.discard(self.proc)
            self.proc = None
        if self._log_text is None and self.log_path is not None:
            self._log_text = self.log()
        if self.workdir is not None and not self._keep:
            drop_database(self.workdir)
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        for host in self.hosts[1:]:
            host.stop()
        if self.upstream is not None:
            self.upstream.stop()
        return code

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        kind = "external" if self.external else "jumpgate"
        return f"<Server {kind} {self.url}>"


# Children still running when the interpreter exits are ended (a test run interrupted).
_running: set[subprocess.Popen] = set()


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_running):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def endpoints(server: Server) -> dict[str, dict[str, tuple[list[str], str]]]:
    """Every endpoint a driver answers, from `jumpgate endpoints`:
    service -> nickname -> (methods, path)."""
    out = subprocess.run(
        [str(binary()), "endpoints", "--config", str(server.workdir / "jumpgate.conf")],
        cwd=server.workdir, capture_output=True, text=True, check=True,
    ).stdout
    found: dict[str, dict[str, tuple[list[str], str]]] = {}
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) == 5 and cols[3] != "-":
            found.setdefault(cols[0], {})[cols[1]] = (cols[2].split(","), cols[4])
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary() -> Path:
    return Path(os.environ.get("JUMPGATE_BIN") or ROOT / "target" / "debug" / "jumpgate").resolve()


def plugin_dir() -> Path:
    return Path(os.environ.get("JUMPGATE_PLUGIN_DIR") or ROOT / "target" / "debug").resolve()


def local_settings(extra: dict[str, str] | None = None) -> dict[str, str]:
    """LOCAL_SETTINGS, then env JUMPGATE_LOCAL_<KEY>, then `extra`."""
    settings = dict(LOCAL_SETTINGS)
    for key in list(settings):
        value = os.environ.get(f"JUMPGATE_LOCAL_{key.upper()}")
        if value is not None:
            settings[key] = value
    settings.update(extra or {})
    return settings


def config_text(
    port: int,
    services,
    data_dir: Path,
    admin_password: str,
    secret_key: str,
    local: dict[str, str] | None = None,
    tls: "Tls | None" = None,
    defaults: dict[str, str] | None = None,
) -> str:
    lines = [
        "[DEFAULT]",
        f"enabled_services = {', '.join(services)}",
        f"listen = 127.0.0.1:{port}",
        "plugin_dir = plugins",
        f"secret_key = {secret_key}",
    ]
    if tls is not None:
        lines += [f"tls_cert_file = {tls.cert}", f"tls_key_file = {tls.key}"]
    lines += [f"{key} = {value}" for key, value in (defaults or {}).items()]
    lines += [
        "",
    ]
    for service in services:
        lines += [f"[{service}]", f"driver = {DRIVER}", ""]
    lines += [
        f"[{DRIVER}]",
        f"data_dir = {data_dir}",
        f"admin_password = {admin_password}",
    ]
    lines += [f"{key} = {value}" for key, value in (local or {}).items()]
    lines.append("")
    return "\n".join(lines)


def external_from_env() -> Server | None:
    """The server named by JUMPGATE_EXTERNAL_URL, or None."""
    url = os.environ.get("JUMPGATE_EXTERNAL_URL", "").strip()
    if not url:
        return None
    url = url.rstrip("/")
    if url.endswith("/v3"):
        url = url[: -len("/v3")]
    password = os.environ.get("JUMPGATE_EXTERNAL_ADMIN_PASSWORD")
    if not password:
        raise StartError("JUMPGATE_EXTERNAL_URL is set: set JUMPGATE_EXTERNAL_ADMIN_PASSWORD too")
    services = tuple(
        s.strip()
        for s in os.environ.get("JUMPGATE_EXTERNAL_SERVICES", "identity").split(",")
        if s.strip()
    )
    server = Server(url, password, services=services, external=True)
    _wait_ready(server, START_TIMEOUT)
    return server


def hosts_wanted() -> int:
    """Env JUMPGATE_HOSTS: how many jumpgates serve the session's cloud, behind nginx
    (2 needs JUMPGATE_PG: several hosts share one database)."""
    n = int(os.environ.get("JUMPGATE_HOSTS", "1") or "1")
    if n > 1 and postgresql() is None:
        raise StartError("JUMPGATE_HOSTS > 1 needs JUMPGATE_PG (the hosts share a database)")
    return n


def start(
    services=ENABLED_SERVICES,
    *,
    keep: bool | None = None,
    local: dict[str, str] | None = None,
    tls: bool | None = None,
    hosts: int = 1,
    defaults: dict[str, str] | None = None,
) -> Server:
    """An external server (JUMPGATE_EXTERNAL_URL) or a new jumpgate with the local driver.

    `local`: `[local]` settings besides LOCAL_SETTINGS (see `local_settings`); `defaults`:
    `[DEFAULT]` settings (the host's: timeouts, limits). The
    jumpgate's folder is removed by `stop()` unless `keep` (or env JUMPGATE_KEEP=1).
    `tls`: serve HTTPS (default: env JUMPGATE_TLS). `hosts` > 1: that many jumpgates on
    one database and one data_dir, behind nginx round robin (the Server is nginx's;
    `.hosts` lists the jumpgates)."""
    server = external_from_env()
    if server is not None:
        return server
    if keep is None:
        keep = os.environ.get("JUMPGATE_KEEP", "") not in ("", "0")
    if tls is None:
        tls = tls_wanted()
    exe = binary()
    so = plugin_dir() / f"libjumpgate_{DRIVER}.so"
    missing = [str(p) for p in (exe, so) if not p.is_file()]
    if missing:
        raise StartError(
            f"not built: {', '.join(missing)} "
            "(cargo build -p jumpgate -p jumpgate-local, or set JUMPGATE_BIN / JUMPGATE_PLUGIN_DIR)"
        )
    last = None
    for _ in range(3):  # a free port can be taken between free_port() and the bind
        try:
            server = _start_once(exe, so, tuple(services), keep, local_settings(local), tls,
                                 defaults or {})
            break
        except _PortTaken as e:
            last = e
    else:
        raise StartError(f"no free port after 3 tries:\n{last}")
    if hosts > 1:
        try:
            return _start_balancer(server, hosts, keep)
        except BaseException:
            server.stop()
            raise
    if not passthrough():
        return server
    try:
        return _start_front(exe, server, keep)
    except BaseException:
        server.stop()
        raise


def tls_wanted() -> bool:
    """Env JUMPGATE_TLS: the started jumpgate serves HTTPS."""
    return os.environ.get("JUMPGATE_TLS", "") not in ("", "0")


class Tls:
    """A test CA and a certificate it signed for 127.0.0.1 and localhost, in `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.ca = folder / "ca.pem"
        self.cert = folder / "cert.pem"
        self.key = folder / "key.pem"


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StartError(f"openssl {' '.join(args)}: {done.stderr}")


def make_certificate(folder: Path, ca: Tls | None = None) -> Tls:
    """A CA (or `ca`'s, when given) and a new server certificate signed by it, for
    127.0.0.1 and localhost, valid two days: what an operator's PKI hands out."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = Tls(folder)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    if ca is None:
        _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=Jumpgate test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)
        ca_key = folder / "ca.key"
    else:
        shutil.copyfile(ca.ca, tls.ca)
        ca_key = ca.folder / "ca.key"
    _openssl("req", *ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
             cwd=folder)
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", str(tls.ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "server.ext",
             cwd=folder)
    return tls


def passthrough() -> bool:
    """Env JUMPGATE_PASSTHROUGH: clients talk to a passthrough jumpgate in front."""
    return os.environ.get("JUMPGATE_PASSTHROUGH", "") not in ("", "0")


def passthrough_config_text(port: int, upstream: Server) -> str:
    """Every service of `upstream` on the `openstack` driver, at the same mounts, passed
    to the upstream's own mounts (identity at its root, the others under their names)."""
    lines = [
        "[DEFAULT]",
        f"enabled_services = {', '.join(upstream.services)}",
        f"listen = 127.0.0.1:{port}",
        "plugin_dir = plugins",
        "",
    ]
    for service in upstream.services:
        lines += [f"[{service}]", f"driver = {PASSTHROUGH_DRIVER}", ""]
    lines.append(f"[{PASSTHROUGH_DRIVER}]")
    for service in upstream.services:
        mount = "" if service == "identity" else f"/{service}"
        lines.append(f"{service}_endpoint = {upstream.url}{mount}")
    lines.append("")
    return "\n".join(lines)


def _start_front(exe: Path, upstream: Server, keep: bool) -> Server:
    so = plugin_dir() / f"libjumpgate_{PASSTHROUGH_DRIVER}.so"
    if not so.is_file():
        raise StartError(f"not built: {so} (cargo build -p jumpgate-{PASSTHROUGH_DRIVER})")
    last = None
    for _ in range(3):
        workdir = Path(tempfile.mkdtemp(prefix="jumpgate-passthrough-"))
        _install(so, workdir)
        port = free_port()
        conf = workdir / "jumpgate.conf"
        conf.write_text(passthrough_config_text(port, upstream))
        front = _launch(exe, workdir, port, upstream.admin_password, upstream.services, keep)
        front.upstream = upstream
        try:
            _wait_ready(front, START_TIMEOUT)
            return front
        except StartError as e:
            text = front.log()
            front.upstream = None  # the caller still owns it
            front._keep = True
            front.stop()
            if "in use" not in text.lower():
                raise
            last = e
    raise StartError(f"no free port after 3 tries:\n{last}")


def nginx_binary() -> str:
    """Debian's nginx (scripts/lib.sh need_nginx installs it)."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).is_file():
        raise StartError("nginx is not installed (scripts/lib.sh: need_nginx)")
    return found


def nginx_config_text(dir: Path, port: int, upstreams: list[int]) -> str:
    """nginx round robin over jumpgates on `upstreams`, as an operator runs several hosts:
    the client's Host passed on (the catalog's URLs are built from it), bodies streamed
    both ways, no size limit (Glance and Cinder enforce theirs)."""
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream jumpgate {{
{servers}
        keepalive 32;
        # Under jumpgate's header_timeout (30 s), which closes idle connections: nginx
        # lets go of an idle one first and never sends on a connection being closed.
        keepalive_timeout 20s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://jumpgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
"""


def _start_balancer(first: Server, hosts: int, keep: bool) -> Server:
    """`hosts` - 1 more jumpgates on `first`'s folder (same conf: database, data_dir,
    secret key) and nginx in front of them all."""
    others: list[Server] = []
    try:
        for _ in range(hosts - 1):
            others.append(start_another(first.workdir))
        exe = nginx_binary()
        last = None
        for _ in range(3):
            workdir = Path(tempfile.mkdtemp(prefix="jumpgate-nginx-"))
            port = free_port()
            (workdir / "nginx.conf").write_text(
                nginx_config_text(workdir, port, [first.port] + [o.port for o in others]))
            log_path = workdir / "nginx.log"
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [exe, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                     "-g", "daemon off;"],
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            _running.add(proc)
            front = Server(f"http://127.0.0.1:{port}", first.admin_password,
                           services=first.services, external=False, proc=proc,
                           workdir=workdir, log_path=log_path, keep=keep, upstream=first)
            front.hosts = [first, *others]
            try:
                _wait_ready(front, START_TIMEOUT)
                return front
            except StartError as e:
                text = front.log()
                front.upstream, front.hosts = None, []
                front.stop()
                if "in use" not in text.lower():
                    raise
                last = e
        raise StartError(f"no free port for nginx after 3 tries:\n{last}")
    except BaseException:
        for o in others:
            o.stop()
        raise


class _PortTaken(StartError):
    pass


def postgresql() -> str | None:
    """Env JUMPGATE_PG: a PostgreSQL server (postgresql://user@host:port, the scripts'
    start_postgresql) each started jumpgate gets a database of its own on."""
    url = os.environ.get("JUMPGATE_PG", "").strip().rstrip("/")
    return url or None


def create_database(workdir: Path) -> str | None:
    """A new database for the jumpgate in `workdir` on JUMPGATE_PG (its name kept in
    workdir/database for drop_database); its URL, or None on SQLite."""
    server = postgresql()
    if server is None:
        return None
    name = "jg_" + secrets.token_hex(6)
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", f"{server}/postgres", "-c",
                    f"CREATE DATABASE {name}"], check=True, capture_output=True)
    (workdir / "database").write_text(name)
    return f"{server}/{name}"


def drop_database(workdir: Path) -> None:
    """Drops the database create_database made for `workdir`, if any."""
    server, marker = postgresql(), workdir / "database"
    if server is None or not marker.is_file():
        return
    subprocess.run(["psql", "-q", f"{server}/postgres", "-c",
                    f"DROP DATABASE IF EXISTS {marker.read_text().strip()} WITH (FORCE)"],
                   capture_output=True)


def _start_once(exe: Path, so: Path, services, keep: bool, local: dict[str, str],
                tls_on: bool, defaults: dict[str, str]) -> Server:
    workdir = Path(tempfile.mkdtemp(prefix="jumpgate-clients-"))
    if "database" not in local:
        database = create_database(workdir)
        if database is not None:
            local = {**local, "database": database}
    _install(so, workdir)
    data = workdir / "data"
    data.mkdir()
    port = free_port()
    admin_password = secrets.token_urlsafe(18)
    tls = make_certificate(workdir / "tls") if tls_on else None
    conf = workdir / "jumpgate.conf"
    conf.write_text(
        config_text(port, services, data, admin_password, secrets.token_hex(32), local, tls,
                    defaults)
    )
    server = _launch(exe, workdir, port, admin_password, services, keep,
                     cacert=tls.ca if tls else None)
    try:
        _wait_ready(server, START_TIMEOUT)
    except StartError as e:
        text = server.log()
        server._keep = True  # leave the folder for a look
        server.stop()
        if "in use" in text.lower():
            raise _PortTaken(str(e)) from None
        raise
    return server


def _install(so: Path, workdir: Path) -> None:
    """Puts a driver into workdir/plugins by write-then-rename, as operators install them."""
    plugins = workdir / "plugins"
    plugins.mkdir()
    tmp = plugins / f".{so.name}.tmp"
    shutil.copyfile(so, tmp)
    tmp.rename(plugins / so.name)


def _launch(exe: Path, workdir: Path, port: int, admin_password: str, services,
            keep: bool, conf_name: str = "jumpgate.conf",
            log_name: str = "jumpgate.log", cacert: Path | None = None) -> Server:
    """Runs jumpgate on the `conf_name` in `workdir`, logging (appending) to `log_name`."""
    log_path = workdir / log_name
    env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1")
    env.pop("JUMPGATE_CONFIG", None)
    env.pop("JUMPGATE_ADMIN_PASSWORD", None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(exe), "--config", str(workdir / conf_name)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    _running.add(proc)
    return Server(
        f"{'https' if cacert else 'http'}://127.0.0.1:{port}",
        admin_password,
        services=services,
        external=False,
        proc=proc,
        workdir=workdir,
        log_path=log_path,
        keep=keep,
        cacert=cacert,
    )


def restart(workdir: Path) -> Server:
    """A jumpgate on the folder a stopped (or killed) one left, with its config and data:
    what an operator's restart after a crash does. The folder is kept on stop()."""
    import configparser

    conf = configparser.ConfigParser(interpolation=None)
    conf.read(workdir / "jumpgate.conf")
    port = int(conf["DEFAULT"]["listen"].rsplit(":", 1)[1])
    services = tuple(s.strip() for s in conf["DEFAULT"]["enabled_services"].split(","))
    server = _launch(binary(), workdir, port, conf[DRIVER]["admin_password"], services, True,
                     cacert=_cacert_of(workdir, conf))
    _wait_ready(server, START_TIMEOUT)
    return server


def _cacert_of(workdir: Path, conf) -> Path | None:
    """The CA of a folder's HTTPS jumpgate (made by `make_certificate`), else None."""
    return workdir / "tls" / "ca.pem" if conf["DEFAULT"].get("tls_cert_file") else None


def start_another(workdir: Path) -> Server:
    """A second jumpgate on the folder of a running one: the same jumpgate.conf (same
    `data_dir`, drivers, admin password and secret key, so tokens are good on both) but
    another `listen` port, written to jumpgate-<port>.conf and logging to
    jumpgate-<port>.log. What an operator running two processes on one data directory has.
    The folder is kept on stop()."""
    import configparser

    conf = configparser.ConfigParser(interpolation=None)
    conf.read(workdir / "jumpgate.conf")
    services = tuple(s.strip() for s in conf["DEFAULT"]["enabled_services"].split(","))
    text = (workdir / "jumpgate.conf").read_text()
    last = None
    for _ in range(3):  # a free port can be taken between free_port() and the bind
        port = free_port()
        lines = [
            f"listen = 127.0.0.1:{port}" if line.replace(" ", "").startswith("listen=") else line
            for line in text.splitlines()
        ]
        name = f"jumpgate-{port}"
        (workdir / f"{name}.conf").write_text("\n".join(lines) + "\n")
        server = _launch(binary(), workdir, port, conf[DRIVER]["admin_password"], services,
                         True, conf_name=f"{name}.conf", log_name=f"{name}.log",
                         cacert=_cacert_of(workdir, conf))
        try:
            _wait_ready(server, START_TIMEOUT)
            return server
        except StartError as e:
            log = server.log()
            server.stop()
            if "in use" not in log.lower():
                raise
            last = e
    raise StartError(f"no free port after 3 tries:\n{last}")


def _wait_ready(server: Server, timeout: float) -> None:
    """Until `GET /v3` answers 200 (or the process exits)."""
    until = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < until:
        if not server.alive():
            raise StartError(
                f"jumpgate exited with {server.proc.returncode if server.proc else '?'} "
                f"before answering GET /v3; folder {server.workdir}; log:\n{server.log()}"
            )
        try:
            context = None
            if server.cacert is not None:
                import ssl

                context = ssl.create_default_context(cafile=str(server.cacert))
            with urllib.request.urlopen(server.url + "/v3", timeout=5, context=context) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}: {e.read()[:500]!r}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.1)
    raise StartError(
        f"{server.url}/v3 did not answer 200 within {timeout:.0f} s (last: {last}); "
        f"log:\n{server.log()}"
    )
