# The scratch-root half of test_deb.sh, sourced by it inside a private mount
# namespace (unshare -m): the mounts made here vanish with the namespace, so
# the machine keeps no trace of the install. Prints ok:/FAILED: lines that
# test_deb.sh counts. Arguments: PACKAGE.deb --inside TMPDIR.
# shellcheck shell=bash

pkg=$1
tmp=$3
ovl=$tmp/ovl
m=$ovl/m
daemon=
stop_daemon() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
	daemon=
}
trap stop_daemon EXIT

# The upper layer lives on a tmpfs of its own, outside the lower layer (/),
# which overlayfs requires.
mkdir -p "$ovl"
if ! mount -t tmpfs -o size=1g tmpfs "$ovl" || ! mkdir "$ovl/u" "$ovl/w" "$m" ||
	! mount -t overlay overlay -o "lowerdir=/,upperdir=$ovl/u,workdir=$ovl/w" "$m"; then
	fail "cannot make the scratch root (tmpfs and overlayfs in a mount namespace)"
	exit 1
fi
for d in proc sys dev; do
	mount --rbind "/$d" "$m/$d" || { fail "cannot bind /$d into the scratch root"; exit 1; }
done
cp "$pkg" "$m/tmp/" || exit 1
in_root() { chroot "$m" "$@"; }
base=$(basename "$pkg")

# Install: apt resolves the Depends from what the machine has (the build
# needed the same libraries), so it downloads nothing.
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$base" \
	>"$tmp/apt-install.log" 2>&1; then
	ok "apt-get install ./$base"
else
	sed 's/^/    /' "$tmp/apt-install.log"
	fail "apt-get install ./$base"
	exit 1
fi
check "dpkg says vault is installed" sh -c \
	"chroot '$m' dpkg-query -W -f='\${Status}' vault | grep -qx 'install ok installed'"
pw=$(in_root getent passwd vault)
echo "    vault user: $pw"
check "postinst made the vault system user, home /var/lib/vault, no login" \
	sh -c "echo '$pw' | awk -F: '\$3 < 1000 && \$6 == \"/var/lib/vault\" && \$7 ~ /nologin|false/ { f = 1 } END { exit !f }'"
owner=$(in_root stat -c '%U:%G %a' /var/lib/vault)
check "/var/lib/vault belongs to vault, mode 0700 (it is $owner)" [ "$owner" = "vault:vault 700" ]
check "vaultd.service is enabled for boot (multi-user.target.wants)" \
	test -L "$m/etc/systemd/system/multi-user.target.wants/vaultd.service"
check "systemd-analyze verify finds nothing wrong with the installed unit" \
	sh -c "chroot '$m' systemd-analyze verify /lib/systemd/system/vaultd.service >'$tmp/verify' 2>&1 && ! [ -s '$tmp/verify' ]"
sed 's/^/    verify: /' "$tmp/verify"
check "vaultd -n accepts the packaged /etc/vault/vaultd.conf" \
	in_root /usr/sbin/vaultd -n -c /etc/vault/vaultd.conf
check "the manual pages are found by man" \
	sh -c "chroot '$m' man -w vaultd vaultctl vault vaultd.conf >/dev/null"

# The daemon as the unit starts it (same user, file and notify protocol),
# on a free port so that a daemon already on 8420 does not matter. The
# receiver connects to the port the moment READY=1 arrives: readiness must
# mean the listener is up.
cat >"$m/tmp/notify.py" <<'EOF'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/tmp/notify.sock")
os.chmod("/tmp/notify.sock", 0o777)
open("/tmp/notify.bound", "w").close()
s.settimeout(30)
msg = s.recv(4096).decode()
port = int(open("/tmp/vaultd.port").read())
socket.create_connection(("127.0.0.1", port), timeout=5).close()
print("notify:", msg.strip(), "port", port, "accepts")
EOF
chroot "$m" python3 /tmp/notify.py >"$tmp/notify.out" 2>&1 &
notifier=$!
for _ in $(seq 50); do [ -e "$m/tmp/notify.bound" ] && break; sleep 0.1; done
# chroot, setpriv and env each exec the next, so $! is vaultd itself.
chroot "$m" setpriv --reuid=vault --regid=vault --init-groups env NOTIFY_SOCKET=/tmp/notify.sock \
	/usr/sbin/vaultd -c /etc/vault/vaultd.conf -l 127.0.0.1:0 --port-file /tmp/vaultd.port \
	>"$tmp/vaultd.log" 2>&1 &
daemon=$!
wait "$notifier"
nrc=$?
cat "$tmp/notify.out"
check "vaultd sent READY=1 with its listener up" \
	sh -c "[ $nrc -eq 0 ] && grep -q 'notify: READY=1 port [0-9]* accepts' '$tmp/notify.out'"
port=$(cat "$m/tmp/vaultd.port" 2>/dev/null)
url=http://127.0.0.1:$port

check "root runs vaultctl -d /var/lib/vault tenant add" \
	in_root vaultctl -d /var/lib/vault tenant add acme
check "the vault user runs vaultctl status" \
	sh -c "chroot '$m' setpriv --reuid=vault --regid=vault --init-groups vaultctl -d /var/lib/vault status | grep -q tenants"
tok=$(in_root vaultctl -d /var/lib/vault token issue acme --scopes all)
export VAULT_REPOSITORY=$url/laptop VAULT_TOKEN=$tok VAULT_PASSWORD=package-test \
	VAULT_CACHE_DIR=/tmp/vault-cache
check "vault init (the packaged client)" in_root vault -q init --kdf-ops 1 --kdf-mem 8192
check "vault backup /usr/share/doc/vault" in_root vault -q backup /usr/share/doc/vault
check "vault restore latest gives the same files" sh -c "chroot '$m' vault -q restore latest \
	--target /tmp/restored && diff -r '$m/usr/share/doc/vault' '$m/tmp/restored/usr/share/doc/vault'"
check "the objects went to /var/lib/vault/objects" \
	sh -c "[ -n \"\$(find '$m/var/lib/vault/objects' -type f | head -1)\" ]"

kill "$daemon"
wait "$daemon"
drc=$?
daemon=
check "vaultd stops cleanly on SIGTERM (status 0)" [ "$drc" -eq 0 ]
[ "$drc" -eq 0 ] || sed 's/^/    vaultd: /' "$tmp/vaultd.log"

# Boot: systemd itself, in a container on the same scratch root, starts the
# enabled vaultd.service under its hardening; boot_check.sh (run by a unit
# ordered after it) checks it and powers off. nspawn mounts its own /proc,
# /sys and /dev, and wants /run on a tmpfs (ours is private to this
# namespace); --private-network keeps port 8420 off the machine's.
umount -R "$m/proc" "$m/sys" "$m/dev"
mount -t tmpfs tmpfs /run
install -m 0755 "$(dirname "$0")/boot_check.sh" "$m/root/boot_check.sh"
cat >"$m/etc/systemd/system/vault-boot-check.service" <<'EOF2'
[Unit]
Description=test_deb.sh: check vaultd.service after boot
After=vaultd.service
[Service]
Type=oneshot
ExecStart=/root/boot_check.sh
EOF2
ln -s /etc/systemd/system/vault-boot-check.service \
	"$m/etc/systemd/system/multi-user.target.wants/vault-boot-check.service"
if timeout 150 systemd-nspawn -q -D "$m" --boot --private-network --link-journal=no \
	--register=no --keep-unit >"$tmp/boot.log" 2>&1; then
	ok "the scratch root boots with systemd-nspawn and powers off"
else
	sed 's/^/    boot: /' "$tmp/boot.log" | tail -n 30
	fail "the scratch root boots with systemd-nspawn and powers off"
fi
if [ -s "$m/root/boot-result" ]; then
	cat "$m/root/boot-result"
	grep -q '^FAILED' "$m/root/boot-result" && sed 's/^/    detail: /' "$m/root/boot-detail"
else
	fail "boot_check.sh reported nothing (vault-boot-check.service did not run)"
fi
rm -f "$m/etc/systemd/system/vault-boot-check.service" \
	"$m/etc/systemd/system/multi-user.target.wants/vault-boot-check.service"
for d in proc sys dev; do mount --rbind "/$d" "$m/$d"; done

# Purge: the package's files and enablement go, the backups stay.
if in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vault \
	>"$tmp/apt-purge.log" 2>&1; then
	ok "apt-get purge vault"
else
	sed 's/^/    /' "$tmp/apt-purge.log"
	fail "apt-get purge vault"
fi
check "purge removed the binaries" sh -c "! [ -e '$m/usr/sbin/vaultd' ] && ! [ -e '$m/usr/bin/vault' ]"
check "purge removed the conffile" test ! -e "$m/etc/vault/vaultd.conf"
check "purge removed the boot symlink" test ! -L "$m/etc/systemd/system/multi-user.target.wants/vaultd.service"
check "purge kept the backups in /var/lib/vault" test -d "$m/var/lib/vault/meta"
exit 0
