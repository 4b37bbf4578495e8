#!/bin/sh
# Proves a README command on a bare machine: removes the packages that
# scripts/install-deps.sh installs to build (the -dev packages and
# node-llhttp), clones this repository's HEAD afresh and runs `make ARGS`
# once (default `demo`), which must install them again and pass on its first
# run. Then stops the demo daemon. Needs root (or sudo); changes the
# machine's packages, so CI runs it, not `make test`.
#
#   scripts/bare-check.sh [-j] [MAKE-ARGS...]    (-j: make -j"$(nproc)")
#   scripts/bare-check.sh                        # make demo
#   scripts/bare-check.sh WERROR=1 test          # make WERROR=1 test
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
# The build's own packages; the tools (curl, restic, chromium...) stay, as
# removing them proves nothing about the build and costs minutes to restore.
# libssl-dev stays: Debian's image has it, and removing it would take
# unrelated -dev packages with it that nothing here puts back.
BUILD_PKGS="libsodium-dev libuv1-dev libzstd-dev liblmdb-dev libcurl4-openssl-dev \
libcmocka-dev libjansson-dev libsystemd-dev libfuse3-dev node-llhttp"
# Every -dev package install-deps.sh installs must be here, or the check
# would prove nothing about it.
for p in $(sed -n '/^PKGS="/,/"$/p' scripts/install-deps.sh | tr -d '"\\' | sed 's/^PKGS=//'); do
	case $p in
	libssl-dev | dpkg-dev) ;; # dpkg-dev is a tool, not a library
	*-dev | node-llhttp)
		case " $BUILD_PKGS " in
		*" $p "*) ;;
		*) echo "bare-check: $p (scripts/install-deps.sh) is missing from BUILD_PKGS" >&2; exit 1 ;;
		esac ;;
	esac
done

jobs=""
if [ "${1:-}" = "-j" ]; then jobs="-j$(nproc)"; shift; fi
[ $# -gt 0 ] || set -- demo
goal="$*"

echo "bare-check: removing$(printf ' %s' $BUILD_PKGS)"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -q $BUILD_PKGS >/dev/null
for p in $BUILD_PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "bare-check: $p is still installed; the check would prove nothing" >&2
		exit 1
	fi
done
[ ! -e /usr/share/llhttp/api.c ] || { echo "bare-check: llhttp sources still present" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vault-bare.XXXXXX")
# Readable by all, like a checkout: some tests run the client as nobody.
chmod 755 "$tmp"
trap 'cd "$tmp/vault" 2>/dev/null && make stop >/dev/null 2>&1; rm -rf "$tmp"' EXIT INT TERM
git clone -q "$root" "$tmp/vault"
cd "$tmp/vault"
# The demo listens on a port of its own so a demo the developer left
# running does not answer in its place.
echo "bare-check: make $jobs $goal in a fresh clone"
# The output is shown as it comes (CI reads the test runners' lines) and
# kept for the checks below.
rc=0
{ VAULT_LISTEN=127.0.0.1:18420 make $jobs "$@" 2>&1 || echo $? >"$tmp/rc"; } | tee "$tmp/make.log"
[ -s "$tmp/rc" ] && rc=$(cat "$tmp/rc")
if [ "$rc" != 0 ]; then
	echo "bare-check: FAILED: the first make $goal on a bare machine did not pass (exit $rc)" >&2
	exit 1
fi
if [ "$goal" = demo ] && ! grep -q "equals" "$tmp/make.log"; then
	tail -n 20 "$tmp/make.log" >&2
	echo "bare-check: the demo did not compare its restore" >&2
	exit 1
fi
echo "bare-check: passed (the first make $goal installed the packages and ran)"
