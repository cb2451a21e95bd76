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
