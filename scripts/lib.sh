# Shared by the scripts: the shipped drivers are the crates under plugins/.
# shellcheck shell=bash

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# Names of the shipped drivers: plugins/<name>/Cargo.toml builds libjumpgate_<name>.so.
drivers() {
    for manifest in plugins/*/Cargo.toml; do
        basename "$(dirname "$manifest")"
    done
}

# `-p jumpgate -p jumpgate-<driver> ...` for cargo.
shipped_packages() {
    printf -- '-p jumpgate'
    for d in $(drivers); do printf -- ' -p jumpgate-%s' "$d"; done
}

# Puts each driver built in target/$1 into plugins/, by write-then-rename so a running
# jumpgate never sees half a file.
install_drivers() {
    local profile=$1
    for d in $(drivers); do
        cp "target/$profile/libjumpgate_$d.so" "plugins/.libjumpgate_$d.so.tmp"
        mv "plugins/.libjumpgate_$d.so.tmp" "plugins/libjumpgate_$d.so"
    done
}

# The local driver links the system's SQLite (one copy per process, shared by every build
# of the driver that a reload loads: two bundled copies in one process break SQLite's
# locks). Installs Debian's libsqlite3-dev when the linker cannot find it.
need_sqlite() {
    [[ -e /usr/lib/x86_64-linux-gnu/libsqlite3.so || -e /usr/lib/aarch64-linux-gnu/libsqlite3.so ]] \
        || ldconfig -p 2>/dev/null | grep -q 'libsqlite3\.so ' && return 0
    echo "installing libsqlite3-dev (the system SQLite the local driver links)" >&2
    local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq libsqlite3-dev >/dev/null
}

# The HTTPS client tests make a CA and a server certificate with Debian's openssl CLI;
# installs it when missing.
need_openssl() {
    command -v openssl >/dev/null && return 0
    echo "installing openssl (the HTTPS tests make their certificates with it)" >&2
    local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq && $sudo apt-get install -y -qq openssl >/dev/null
}

# The browser tests drive Debian's Chromium (/usr/bin/chromium) with playwright-core;
# installs it when missing. Node.js and npm come with the machine.
need_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    echo "installing chromium (Debian's, for the Horizon walk)" >&2
    local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# The PostgreSQL backend's tests run the local driver against a private cluster made with
# Debian's server binaries (/usr/lib/postgresql/<version>/bin, which are not on PATH);
# installs them when missing. (Debian's package may also start its own `main` cluster on
# port 5432; the tests never use it.)
need_postgresql() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
    echo "installing postgresql (the server the PostgreSQL backend's tests start privately)" >&2
    local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# The benchmark measures jumpgate behind nginx's proxy_pass as well as bare; installs
# Debian's nginx-light when missing (/usr/sbin is not on every user's PATH).
need_nginx() {
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] && return 0
    echo "installing nginx-light (the benchmark's reverse proxy)" >&2
    local sudo=; [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
}

# The bin directory of the PostgreSQL that made the cluster in $1, or else of the newest
# one installed.
postgresql_bin() {
    local version
    if [[ -r $1/data/PG_VERSION ]]; then
        read -r version <"$1/data/PG_VERSION"
        [[ -x /usr/lib/postgresql/$version/bin/pg_ctl ]] && { echo "/usr/lib/postgresql/$version/bin"; return 0; }
    fi
    version=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -1)
    [[ -x $version/pg_ctl ]] || { echo "no PostgreSQL in /usr/lib/postgresql (need_postgresql)" >&2; return 1; }
    echo "$version"
}

# Runs a PostgreSQL program as the cluster's owner: initdb and postgres refuse to run as
# root, so root's clusters belong to the postgres user (runuser needs no password).
as_postgresql_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts a private PostgreSQL for the tests: a cluster in $1/data (made once; trust auth on
# loopback and the socket in $1, superuser `jumpgate`), on a free loopback port, with
# durability off (a test's data outlives no test) and room for many pools' connections.
# Exports JUMPGATE_PG, the URL to reach it (append /dbname); stop it with stop_postgresql.
# It serves TLS too, with a certificate for 127.0.0.1 from a CA of its own, exported as
# JUMPGATE_PG_CA: tests reach it as an operator reaches a managed database
# (`?sslmode=verify-full&sslrootcert=…`). As root, $1 is given to the postgres user, so its parent directories must let that user
# in (/tmp, not /root).
start_postgresql() {
    local dir=$1 bin port
    [[ -n $dir ]] || { echo "start_postgresql DIR" >&2; return 1; }
    bin=$(postgresql_bin "$dir") || return 1
    mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
    if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir" || return 1; fi
    if [[ ! -e $dir/data/PG_VERSION ]]; then
        as_postgresql_owner "$bin/initdb" -D "$dir/data" -A trust -U jumpgate \
            --locale=C.UTF-8 -E UTF8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
    fi
    postgresql_tls "$dir" || return 1
    # A port the kernel just handed out, and let go of: free unless someone races for it.
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') \
        || return 1
    as_postgresql_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300 -c ssl=on -c ssl_cert_file='$dir/tls/server.pem' -c ssl_key_file='$dir/tls/server.key'" \
        start >/dev/null || { tail -20 "$dir/log" >&2; return 1; }
    local tries=0
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
        (( ++tries < 100 )) || { echo "PostgreSQL in $dir did not get ready" >&2; return 1; }
        sleep 0.1
    done
    echo "$port" >"$dir/port"
    export JUMPGATE_PG="postgresql://jumpgate@127.0.0.1:$port"
    export JUMPGATE_PG_CA="$dir/tls/ca.pem"
}

# The private cluster's TLS files in $1/tls, made once: a CA (ca.pem) and the server's
# certificate for 127.0.0.1 and localhost signed by it; the key readable by its owner only,
# as PostgreSQL demands.
postgresql_tls() {
    local tls=$1/tls
    [[ -e $tls/server.pem ]] && return 0
    mkdir -p "$tls" || return 1
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=Jumpgate test CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null \
        && openssl req "${ec[@]}" -subj "/CN=127.0.0.1" \
            -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null \
        && openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
            -CAcreateserial -days 3650 -out "$tls/server.pem" -extfile <(printf '%s\n' \
            'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
            'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth') 2>/dev/null \
        || { echo "openssl could not make the test cluster's certificates" >&2; return 1; }
    chmod 600 "$tls/server.key" "$tls/ca.key"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres "$tls" || return 1; fi
}

# Stops the private PostgreSQL in $1, aborting its sessions (-m fast); its data stays.
stop_postgresql() {
    local dir=$1 bin
    [[ -e $dir/data/postmaster.pid ]] || return 0
    bin=$(postgresql_bin "$dir") || return 1
    as_postgresql_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}
