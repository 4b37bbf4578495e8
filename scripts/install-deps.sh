#!/bin/sh
# Installs the Debian packages Vault builds and tests with. Safe to run again:
# apt-get is only called when a package is missing. Needs root (or sudo).
set -eu

PKGS="build-essential pkg-config clang libsodium-dev libuv1-dev libzstd-dev \
liblmdb-dev libcurl4-openssl-dev libcmocka-dev libssl-dev libjansson-dev \
node-llhttp curl restic awscli chromium attr acl \
libsystemd-dev mandoc lintian dpkg-dev systemd-container man-db \
libfuse3-dev fuse3"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || echo "install-deps: apt-get update failed; trying the local package lists" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
