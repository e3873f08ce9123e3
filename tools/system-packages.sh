#!/usr/bin/env bash
# Debian packages the suite needs beyond Python (listed in tools/system-packages.txt): installed when missing,
# as root, so that `make test` on a fresh machine (and CI on a clean clone) has them.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
for package in $(grep -v '^#' system-packages.txt); do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
    echo "relance: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "relance: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
