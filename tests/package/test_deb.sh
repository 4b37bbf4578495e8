#!/bin/bash
# Checks the Debian package that `make deb` built, then installs it with apt
# into a scratch root and uses it there:
#
#   1. dpkg-deb -c and -I: the files, the conffile, the Depends;
#   2. lintian: no error and no warning (info tags are printed);
#   3. systemd-analyze security on the unit: exposure at most 2.0;
#   4. in a scratch root (an overlay of / in a private mount namespace, so
#      the machine itself is untouched and nothing remains after the test):
#      apt-get install ./vault_*.deb, then the vault user, the data
#      directory and the unit's enablement for boot; systemd-analyze verify;
#      vaultd started as the unit starts it, as the vault user, whose
#      sd_notify READY=1 comes once it answers HTTP; vaultctl and the vault
#      client against it; then systemd itself boots that root in a container
#      (systemd-nspawn) and tests/package/boot_check.sh checks that the
#      enabled vaultd.service started under its hardening, reloads and
#      stops; then apt-get purge, which must leave the backups.
#
#   tests/package/test_deb.sh build-deb/vault_VERSION_ARCH.deb
#
# Needs root (mount namespaces, chroot, apt); make package-test runs it.
set -u

deb=${1:?usage: $0 PACKAGE.deb}
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
here=$(cd "$(dirname "$0")" && pwd)
fails=0
checks=0

ok() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "FAILED: $*"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
	echo "test_deb: $((checks - fails)) passed, $fails failed"
	[ "$fails" -eq 0 ]
	exit
}

if [ "${1:-}" != --inside ] && [ "${2:-}" = --inside ]; then
	# shellcheck source=tests/package/deb_inside.sh
	. "$here/deb_inside.sh"
	exit
fi

[ -f "$deb" ] || { echo "test_deb: no package $deb (make deb)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vault-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 1. Contents and control.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||' >"$tmp/contents"
for f in usr/sbin/vaultd usr/sbin/vaultctl usr/bin/vault lib/systemd/system/vaultd.service \
	etc/vault/vaultd.conf usr/share/man/man8/vaultd.8.gz usr/share/man/man8/vaultctl.8.gz \
	usr/share/man/man1/vault.1.gz usr/share/man/man5/vaultd.conf.5.gz \
	usr/share/doc/vault/copyright usr/share/doc/vault/changelog.gz \
	usr/share/doc/vault/examples/vaultd.conf.example; do
	check "the package holds /$f" grep -qx "$f" "$tmp/contents"
done
check "nothing under /usr/local or /build" sh -c "! grep -qE '^(usr/local|build)' '$tmp/contents'"
dpkg-deb -f "$deb" Depends >"$tmp/depends"
for d in libc6 libuv1 liblmdb0 libsodium23 libssl3 libjansson4 libzstd1 libcurl4 libsystemd0 adduser; do
	check "Depends names $d" grep -qE "(^|, )$d( |,|$)" "$tmp/depends"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles"
check "/etc/vault/vaultd.conf is a conffile" grep -qx /etc/vault/vaultd.conf "$tmp/conffiles"

# 2. lintian. Tags that may stand, each with its reason, would go here;
# there are none at warning level or above today.
lintian -I "$deb" >"$tmp/lintian" 2>&1
sed 's/^/    lintian: /' "$tmp/lintian" | grep -v 'running with root privileges'
check "lintian reports no error" sh -c "! grep -q '^E:' '$tmp/lintian'"
check "lintian reports no warning" sh -c "! grep -q '^W:' '$tmp/lintian'"

# 3. The unit's exposure (systemd-analyze security: 0 is the best, 10 none).
dpkg-deb -x "$deb" "$tmp/x"
systemd-analyze security --offline=yes "$tmp/x/lib/systemd/system/vaultd.service" \
	>"$tmp/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for vaultd.service: \([0-9.]*\).*/\1/p' "$tmp/security")
echo "    systemd-analyze security: exposure ${score:-unknown}"
check "the unit's exposure is at most 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

# 4. Install, use and purge in a scratch root.
if [ "$(id -u)" != 0 ]; then
	fail "the install check needs root (mount namespace, chroot, apt)"
	finish
fi
unshare -m --propagation private "$0" "$deb" --inside "$tmp" >"$tmp/inside.log" 2>&1
rc=$?
cat "$tmp/inside.log"
inside_fails=$(grep -c '^FAILED: ' "$tmp/inside.log")
checks=$((checks + $(grep -c '^ok: ' "$tmp/inside.log") + inside_fails))
fails=$((fails + inside_fails))
[ "$rc" -eq 0 ] || fail "the scratch-root part exited with status $rc"
finish
