#!/bin/sh
# Runs inside the container that test_deb.sh boots with systemd-nspawn
# (vault-boot-check.service, ordered after vaultd.service): checks that the
# packaged vaultd.service started at boot under its hardening, reloads and
# stops cleanly. Writes ok:/FAILED: lines to /root/boot-result, then powers
# the container off.
out=/root/boot-result
ok() { echo "ok: boot: $*" >>"$out"; }
fail() { echo "FAILED: boot: $*" >>"$out"; }
check() {
	what=$1
	shift
	if "$@" >>/root/boot-detail 2>&1; then ok "$what"; else fail "$what"; fi
}
: >"$out"

check "vaultd.service is enabled" systemctl is-enabled vaultd
check "vaultd.service is active after boot (Type=notify: READY=1 came)" systemctl is-active vaultd
pid=$(systemctl show -p MainPID --value vaultd)
check "vaultd runs as the vault user" sh -c "[ \"\$(ps -o user= -p $pid)\" = vault ]"
check "vaultd has no capabilities (effective and bounding set empty)" sh -c \
	"grep -q '^CapEff:.0000000000000000' /proc/$pid/status && grep -q '^CapBnd:.0000000000000000' /proc/$pid/status"
check "vaultd runs with NoNewPrivileges and a seccomp filter" sh -c \
	"grep -q '^NoNewPrivs:.1' /proc/$pid/status && grep -q '^Seccomp:.2' /proc/$pid/status"
check "vaultd answers HTTP on 127.0.0.1:8420" sh -c \
	"curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8420/ | grep -q '^[1-5][0-9][0-9]\$'"
check "vaultctl reaches the admin socket" vaultctl -d /var/lib/vault tenant add booted
tok=$(vaultctl -d /var/lib/vault token issue booted --scopes all)
check "an upload through the hardened daemon is stored" sh -c \
	"curl -sf -X PUT -H 'Authorization: Bearer $tok' http://127.0.0.1:8420/v1/vaults/boot"
check "systemctl reload (vaultd -n, then SIGHUP) keeps it active" sh -c \
	"systemctl reload vaultd && sleep 1 && systemctl is-active vaultd && journalctl -u vaultd | grep -q 'reloaded /etc/vault/vaultd.conf'"
check "systemctl stop ends it cleanly (Result=success)" sh -c \
	"systemctl stop vaultd && [ \"\$(systemctl show -p Result --value vaultd)\" = success ]"
journalctl -u vaultd --no-pager >>/root/boot-detail 2>&1
systemctl poweroff
