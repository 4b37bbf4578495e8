#!/usr/bin/env bash
# File fidelity (issue 15, spec/tree.md 3 "Version 2"), against the real
# daemon: extended attributes (user.*, trusted.*, security.*), POSIX ACLs
# (access and default), owner names (restored by name where the name
# exists, else by number), and paths longer than PATH_MAX, backed up and
# restored, compared with getfattr, getfacl and stat. Then bad input: an
# attribute too big for the target file system and a target without
# xattr or ACL support (ramfs): the files are restored, with a warning and
# exit 3. The test runs as root (it sets trusted.*, makes users and mounts).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_lib.sh"

DEEP=$W/deep
mkdir -p "$DEEP"
client_setup fid

UNAME=vfid$$
MOUNTS=()
fid_cleanup() {
	local m
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null
	done
	userdel "$UNAME" 2>/dev/null
	groupdel "$UNAME" 2>/dev/null
}
trap 'fid_cleanup; cleanup' EXIT

if [ "$(id -u)" != 0 ]; then
	fail "the fidelity test needs root (trusted.* attributes, users, mounts)"
	finish
fi
for t in getfattr setfattr getfacl setfacl useradd; do
	command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh installs attr and acl)"
done

# ---- a tree with attributes, ACLs and owners ----
note "attributes, ACLs, owners"
groupadd -g 47001 "$UNAME" && useradd -M -N -u 47001 -g 47001 "$UNAME" ||
	fail "cannot make the test user $UNAME"
mkdir -p "$SRC/dir/sub" "$SRC/acl"
echo one >"$SRC/dir/one"
echo two >"$SRC/dir/sub/two"
head -c 300000 /dev/urandom >"$SRC/dir/big"
ln -s one "$SRC/dir/link"
ln "$SRC/dir/one" "$SRC/dir/hard"
mkfifo "$SRC/dir/fifo"
setfattr -n user.note -v "hello" "$SRC/dir/one"
setfattr -n user.empty "$SRC/dir/one"
setfattr -n user.bin -v 0x00ff10 "$SRC/dir/big"
setfattr -n user.dir -v "on a dir" "$SRC/dir/sub"
setfattr -n trusted.t -v "root only" "$SRC/dir/one"
setfattr -n security.vault -v "sec" "$SRC/dir/sub/two" 2>/dev/null ||
	note "(security.vault not settable here; security.* is covered by the capability)"
if command -v setcap >/dev/null; then
	setcap cap_net_raw+ep "$SRC/dir/big"
else
	# security.capability, version 2, cap_net_raw permitted and effective.
	setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$SRC/dir/big"
fi
setfacl -m u:47001:rw,g:47001:r,m::rw "$SRC/acl" 2>/dev/null || true
echo acl >"$SRC/acl/file"
setfacl -m u:47001:r,u:12345:rw "$SRC/acl/file"
setfacl -d -m u:47001:rwx,g::r-x "$SRC/acl"
setfacl -m u:47001:rx "$SRC/acl"
echo owned >"$SRC/dir/owned"
chown "$UNAME:$UNAME" "$SRC/dir/owned" "$SRC/dir/sub"
echo numeric >"$SRC/dir/numeric"
chown 54321:54322 "$SRC/dir/numeric"

# ---- a path longer than PATH_MAX ----
# 24 levels of 200-byte names: past 4800 bytes, built and read relatively.
long=$(printf 'd%.0s' $(seq 200))
(
	cd "$DEEP" || exit 1
	for i in $(seq 10 33); do
		mkdir "$long$i" && cd "$long$i" || exit 1
	done
	echo "at the bottom" >file
	setfattr -n user.deep -v yes file
) || fail "cannot build the deep tree"
deep_rel=$(for i in $(seq 10 33); do printf '%s/' "$long$i"; done)
assert_true "the deep file's path is past 4096 bytes" test $((${#DEEP} + ${#deep_rel})) -gt 4096

v init --kdf-ops 1 --kdf-mem 8192
assert_eq "init" 0 "$RC"
v backup "$SRC" "$DEEP" --json
assert_eq "the backup succeeds: $ERR" 0 "$RC"
assert_match "nothing is left out" '"errors":0' "$OUT"
SNAP=$(printf '%s' "$OUT" | grep -o '"snapshot":"[0-9a-f]*"' | cut -d'"' -f4)

# The restore: later the user's uid changes, so that restoring by name
# differs from restoring by number.
usermod -u 47002 "$UNAME" && groupmod -g 47002 "$UNAME" ||
	fail "cannot renumber the test user"
R=$W/r1
v restore "$SNAP" --target "$R"
assert_eq "the restore succeeds: $ERR" 0 "$RC"

# attrs DIR: getfattr -d -m - of every entry, paths relative to DIR, in
# name order (getfattr -R and getfacl -R list in directory order, which a
# restore need not keep).
attrs() {
	(cd "$1" && find . | sort | xargs -d '\n' getfattr -h -d -m - -e hex 2>&1)
}
# acls DIR: getfacl of every entry (owners by name), the same way.
acls() {
	(cd "$1" && find . ! -type l | sort | xargs -d '\n' getfacl -P 2>&1)
}
# meta DIR: stat of every entry but what restore cannot keep (inode,
# ctime, atime, directory sizes), owners by name and number.
meta() {
	(cd "$1" && find . -mindepth 1 | sort | while IFS= read -r f; do
		if [ -d "$f" ] && [ ! -L "$f" ]; then
			stat -c '%n %F %a %U %G %u %g %y %h' "$f"
		else
			stat -c '%n %F %a %U %G %u %g %s %y %h' "$f"
		fi
	done)
}
a_src=$(attrs "$SRC")
assert_match "the source has its attributes" "user.note=0x68656c6c6f" "$a_src"
assert_match "and a trusted one" "trusted.t=" "$a_src"
assert_match "and a capability" "security.capability=" "$a_src"
assert_eq "getfattr -d -m - of the restore equals the source's" "$a_src" "$(attrs "$R$SRC")"
acl_src=$(acls "$SRC")
assert_match "the source has a default ACL" "default:user:" "$acl_src"
# The owner renumbered after the backup is shown by number in the source.
assert_eq "getfacl -R of the restore equals the source's" \
	"$(printf '%s\n' "$acl_src" | sed "s/^# \(owner\|group\): 47001$/# \1: $UNAME/")" \
	"$(acls "$R$SRC")"
m_src=$(meta "$SRC")
m_dst=$(meta "$R$SRC")
# The user was renumbered after the backup: the restore gives the owner
# by name its new number; stat of the source shows the stale number.
m_src_mapped=$(printf '%s\n' "$m_src" | sed "s/ UNKNOWN UNKNOWN 47001 47001 / $UNAME $UNAME 47002 47002 /")
assert_eq "stat of the restore equals the source's, owners mapped by name" \
	"$m_src_mapped" "$m_dst"
assert_eq "a file of a named owner gets the name's uid here" "47002:47002" \
	"$(stat -c %u:%g "$R$SRC/dir/owned")"
assert_eq "a file of an unnamed uid keeps the number" "54321:54322" \
	"$(stat -c %u:%g "$R$SRC/dir/numeric")"
assert_same_file "file contents" "$SRC/dir/big" "$R$SRC/dir/big"

deep_file() {
	(
		cd "$1" || exit 1
		for i in $(seq 10 33); do
			cd "$long$i" || exit 1
		done
		cat file && getfattr -n user.deep --only-values file && echo
	)
}
assert_eq "the file past PATH_MAX is restored, with its attribute" \
	"$(printf 'at the bottom\nyes')" "$(deep_file "$R$DEEP")"
v ls "$SNAP" --json
assert_match "ls lists it" "$long""33/file" "$OUT"

# ---- an attribute too big for the target file system ----
note "attribute too big for the target"
if mkdir -p "$W/tmpfs" && mount -t tmpfs -o size=16m tmpfs "$W/tmpfs"; then
	MOUNTS+=("$W/tmpfs")
	echo big-attr >"$W/tmpfs/f"
	echo plain >"$W/tmpfs/g"
	setfattr -n user.big -v "0x$(head -c 8000 /dev/zero | od -An -tx1 -v | tr -d ' \n')" \
		"$W/tmpfs/f" || fail "cannot set an 8000-byte attribute on tmpfs"
	v backup "$W/tmpfs"
	assert_eq "the 8000-byte attribute backs up" 0 "$RC"
	# ext4 (a 4 KiB block) cannot hold it; some file systems can.
	v restore latest --target "$W/r2" --include "$W/tmpfs"
	if [ "$RC" = 0 ]; then
		note "(the scratch file system holds an 8000-byte attribute; checked it is there)"
		assert_eq "the attribute is restored" 8000 \
			"$(getfattr -n user.big --only-values "$W/r2$W/tmpfs/f" | wc -c)"
	else
		assert_eq "an attribute the target refuses: exit 3" 3 "$RC"
		assert_match "with a warning naming it" \
			"cannot set extended attribute user.big of .*/f" "$ERR"
		assert_eq "the file is restored" "big-attr" "$(cat "$W/r2$W/tmpfs/f")"
		assert_eq "and the others" "plain" "$(cat "$W/r2$W/tmpfs/g")"
		assert_match "the summary lists nothing as not restored" '"not_restored":\[\]' \
			"$("$VAULT" restore latest --target "$W/r2b" --include "$W/tmpfs" --json 2>/dev/null)"
	fi
else
	fail "cannot mount a tmpfs (the test runs as root)"
fi

# ---- a target without xattr or ACL support ----
note "target without attributes (ramfs)"
if mkdir -p "$W/ram" && mount -t ramfs ramfs "$W/ram"; then
	MOUNTS+=("$W/ram")
	v restore "$SNAP" --target "$W/ram" --include "$SRC"
	assert_eq "attributes and ACLs the target lacks: exit 3" 3 "$RC"
	assert_match "a warning for a user attribute" \
		"cannot set extended attribute user.note of .*/dir/(one|hard): Operation not supported" \
		"$ERR"
	assert_match "and for an ACL" "cannot set extended attribute system.posix_acl_access" "$ERR"
	assert_eq "the files are restored" "one" "$(cat "$W/ram$SRC/dir/one")"
	assert_same_file "byte for byte" "$SRC/dir/big" "$W/ram$SRC/dir/big"
	assert_eq "with their modes and owners" "$(stat -c '%a %U' "$SRC/dir/one")" \
		"$(stat -c '%a %U' "$W/ram$SRC/dir/one")"
else
	fail "cannot mount a ramfs (the test runs as root)"
fi

finish
