#!/usr/bin/env bash
# vault mount (issue 15, spec/client.md 4), against the real daemon: one
# snapshot mounted and compared with its source (diff -r, stat, xattrs, a
# multi-chunk file, a hard link, a symlink), the "all" view (ids/, by time,
# latest), unmounting ends the command with 0, and without FUSE a clear
# error. Needs /dev/fuse (root in a container with it): without it the test
# fails, saying so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_lib.sh"

MNT=$W/mnt
mkdir -p "$SRC/a/b" "$MNT"
client_setup m

MOUNT_PID=
MOUNT_RC=
# unmount: unmounts; the mount command's exit status goes to MOUNT_RC.
unmount() {
	if [ -n "$MOUNT_PID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		wait "$MOUNT_PID" 2>/dev/null
		MOUNT_RC=$?
		MOUNT_PID=
		check_sanitizer_log "$W/mount.err"
	fi
}
trap 'unmount; cleanup' EXIT

# mount_bg SPEC: mounts in the background and waits until the mount is there.
mount_bg() {
	"$VAULT" mount "$1" "$MNT" >"$W/mount.out" 2>"$W/mount.err" &
	MOUNT_PID=$!
	for _ in $(seq 100); do
		if mountpoint -q "$MNT"; then
			return 0
		fi
		kill -0 "$MOUNT_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "vault mount $1 did not mount: $(cat "$W/mount.err")"
	return 1
}

if [ ! -e /dev/fuse ]; then
	fail "/dev/fuse is absent here: vault mount cannot be tested (this is not a pass)"
	finish
fi

# ---- the source ----
head -c 5000000 /dev/urandom >"$SRC/big"          # several chunks
echo hello >"$SRC/a/hello"
: >"$SRC/a/empty"
echo deep >"$SRC/a/b/deep"
ln -s ../big "$SRC/a/link"
ln "$SRC/a/hello" "$SRC/a/b/hard"
chmod 640 "$SRC/a/hello"
chmod 711 "$SRC/a/b"
setfattr -n user.color -v blue "$SRC/a/hello" 2>/dev/null || fail "cannot set an xattr"
touch -d '2001-02-03 04:05:06.123456789' "$SRC/a/empty"

v init --kdf-ops 1 --kdf-mem 8192
assert_eq "init" 0 "$RC"
# meta DIR: stat of every entry (directory sizes depend on the file system).
meta() {
	(cd "$1" && find . -mindepth 1 | sort | while IFS= read -r f; do
		if [ -d "$f" ]; then
			stat -c '%n %F %a %u %g %y' "$f"
		else
			stat -c '%n %F %a %u %g %s %y %h' "$f"
		fi
	done)
}
META_SRC=$(meta "$SRC")
v backup "$SRC" --json
assert_eq "backup: $ERR" 0 "$RC"
SNAP=$(printf '%s' "$OUT" | grep -o '"snapshot":"[0-9a-f]*"' | cut -d'"' -f4)
sleep 1.1
echo changed >"$SRC/a/hello2"
v backup "$SRC" --json
SNAP2=$(printf '%s' "$OUT" | grep -o '"snapshot":"[0-9a-f]*"' | cut -d'"' -f4)
rm "$SRC/a/hello2"

# ---- one snapshot ----
note "one snapshot"
if mount_bg "${SNAP:0:8}"; then
	M=$MNT$SRC
	assert_true "the mount shows the source's path" test -d "$M"
	diff -r --no-dereference "$SRC" "$M" >"$W/diff" 2>&1
	assert_eq "diff -r of source and mount: $(head -5 "$W/diff")" 0 "$?"
	assert_eq "stat of every entry: type, mode, owner, size, mtime, links" \
		"$META_SRC" "$(meta "$M")"
	assert_same_file "a file of several chunks" "$SRC/big" "$M/big"
	assert_eq "a byte range in the middle" "$(tail -c +3000001 "$SRC/big" | head -c 70000 | sha256sum)" \
		"$(tail -c +3000001 "$M/big" | head -c 70000 | sha256sum)"
	assert_eq "the symlink's target" "../big" "$(readlink "$M/a/link")"
	assert_eq "extended attributes" "blue" \
		"$(getfattr --absolute-names -n user.color --only-values "$M/a/hello")"
	assert_eq "the hard link has two links" 2 "$(stat -c %h "$M/a/b/hard")"
	(echo x >"$M/new") 2>/dev/null
	assert_true "the mount is read-only" test ! -e "$M/new"
	unmount
	assert_eq "unmounting ends vault mount with 0: $(cat "$W/mount.err")" 0 "$MOUNT_RC"
	assert_true "nothing is mounted any more" test -z "$(ls -A "$MNT")"
fi

# ---- all snapshots ----
note "all snapshots"
if mount_bg all; then
	assert_eq "ids/ lists both snapshots" "$(printf '%s\n%s\n' "$SNAP" "$SNAP2" | sort)" \
		"$(ls "$MNT/ids")"
	assert_eq "snapshots/ by time, two of them" 2 "$(ls "$MNT/snapshots" | wc -l)"
	assert_match "named by their UTC time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z' \
		"$(ls "$MNT/snapshots" | head -1)"
	assert_eq "latest is the newer" "changed" "$(cat "$MNT/latest$SRC/a/hello2")"
	assert_true "the older has no hello2" test ! -e "$MNT/ids/$SNAP$SRC/a/hello2"
	assert_same_file "a file by ID" "$SRC/big" "$MNT/ids/$SNAP$SRC/big"
	assert_true "a missing name is ENOENT" test ! -e "$MNT/ids/nothing"
	unmount
	assert_eq "unmounted: exit 0" 0 "$MOUNT_RC"
fi

# ---- bad input ----
note "bad input"
v mount "${SNAP:0:8}"
assert_eq "a missing argument is a usage error" 1 "$RC"
assert_match "with the usage" "usage: vault mount" "$ERR"
v mount ffffffff "$MNT"
assert_eq "an unknown snapshot" 1 "$RC"
if command -v unshare >/dev/null; then
	# A mount namespace whose /dev has no fuse device.
	unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" mount all "$1"' \
		"$VAULT" "$MNT" >"$W/out" 2>"$W/err"
	assert_eq "without FUSE: exit 1" 1 "$?"
	assert_match "and a clear error" "FUSE is not available \\(/dev/fuse" "$(cat "$W/err")"
else
	fail "unshare is missing: the no-FUSE case is not tested"
fi

finish
