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
