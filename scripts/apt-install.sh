#!/usr/bin/env bash
# Install the Debian packages named as arguments, only those missing; `apt-get update` once.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's kamailio package enables its own service (all addresses, port 5060, where Asterisk
# listens): voxcast runs its own per instance (`voxcast kamailio start`), so that one is off.
if printf '%s\n' "${missing[@]}" | grep -qx kamailio && command -v systemctl >/dev/null \
    && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now kamailio.service >/dev/null 2>&1 || true
fi
