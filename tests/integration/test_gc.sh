#!/usr/bin/env bash
# Garbage collection with the real daemon (spec/gc.md): `vaultctl gc` marks
# from retained snapshots, tombstones unreferenced objects past the grace
# window (GET 404, unlisted, exists says missing), deletes them physically on
# a later run past the grace, changes nothing on --dry-run, spares locked
# objects, makes a snapshot that names a tombstoned pack get 409 until the
# pack is uploaded again (no dangling reference), and forgets snapshots that
# keep-last drops, so their exclusive packs become garbage.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
CONF=$W/vaultd.conf
cat >"$CONF" <<EOF
policy quick {
    gc-grace 1s
}
policy locked {
    gc-grace 1s
    lock 1h
}
policy one {
    keep-last 1
    gc-grace 1s
}
tenant acme {
    policy quick
    vault locked {
        policy locked
    }
    vault kl {
        policy one
    }
}
EOF
start_vaultd -c "$CONF"
use_token "$(new_token acme --scopes all)"
create_vault main
create_vault locked
create_vault kl
V=$URL/v1/vaults/main

# gc ARGS...: runs vaultctl gc --json; leaves the answer in $GC.
gc() {
	if ! GC=$(vctl --json gc "$@" 2>"$TEST_TMP/vctl.err"); then
		fail "vaultctl gc $*: $(cat "$TEST_TMP/vctl.err") $GC"
		return 1
	fi
	pass_check
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

# ---- set-up: kept and unreferenced objects in three vaults ----
p1=$(rand_file "$W/p1" 3000)
p2=$(rand_file "$W/p2" 2000)
p3=$(rand_file "$W/p3" 1000)
i1=$(rand_file "$W/i1" 500)
for f in p1 p2 p3; do put_object main pack "$W/$f"; done
put_object main index "$W/i1"
envelope "$W/s1" 1700000000 "$GROUP" "tree one" "0:$p1" "1:$i1"
put_object main snapshot "$W/s1"
lk=$(rand_file "$W/lk" 700)
put_object locked pack "$W/lk"
ka=$(rand_file "$W/ka" 800)
kb=$(rand_file "$W/kb" 900)
put_object kl pack "$W/ka"
put_object kl pack "$W/kb"
envelope "$W/sold" 1700000000 "$GROUP" "old" "0:$ka"
envelope "$W/snew" 1700000100 "$GROUP" "new" "0:$kb"
put_object kl snapshot "$W/sold"
put_object kl snapshot "$W/snew"
sold=$(sha256 "$W/sold")
sleep 2 # everything is now older than the 1 s grace

# ---- dry run: the numbers, and nothing changes ----
note "dry run"
gc acme main --dry-run
DRY=$GC
assert_match "dry run says so" '"dry_run":true' "$DRY"
assert_eq "dry run: marked" 2 "$(json_num objects_marked "$DRY")"
assert_eq "dry run: would tombstone" 2 "$(json_num objects_tombstoned "$DRY")"
assert_eq "dry run: bytes" 3000 "$(json_num bytes_tombstoned "$DRY")"
get_object main pack "$p2" "$W/out" 200

# ---- the first run tombstones ----
note "tombstone"
gc acme main
assert_eq "same marked as the dry run" 2 "$(json_num objects_marked "$GC")"
assert_eq "same tombstoned as the dry run" 2 "$(json_num objects_tombstoned "$GC")"
assert_eq "same bytes as the dry run" 3000 "$(json_num bytes_tombstoned "$GC")"
assert_eq "nothing deleted yet" 0 "$(json_num objects_deleted "$GC")"
expect_error 404 not_found "${AUTH[@]}" "$V/objects/pack/$p2"
expect_status 404 -I "${AUTH[@]}" "$V/objects/pack/$p3"
get_object main pack "$p1" "$W/out" 200
get_object main index "$i1" "$W/out" 200
assert_eq "listing leaves out tombstones" "$(sorted "$p1")" "$(sorted $(list_all main pack))"
if expect_status 200 -X POST "${AUTH[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"ids\":[\"$p1\",\"$p2\"]}" "$V/objects/pack/exists"; then
	assert_eq "exists says missing" "{\"present\":[\"$p1\"],\"missing\":[\"$p2\"]}" "$(body)"
fi
assert_eq "the file stays until the delete phase" 1 "$(find "$DATA/objects" -name "$p3" | wc -l)"

# ---- a backup that dedups against a tombstoned pack ----
note "no dangling reference"
envelope "$W/s2" 1700000200 "$GROUP" "tree two" "0:$p2"
if expect_status 409 -X PUT "${AUTH[@]}" --data-binary @"$W/s2" "$V/objects/snapshot/$(sha256 "$W/s2")"; then
	assert_match "409 names the tombstoned pack" "\"missing\":\[\{\"kind\":\"pack\",\"id\":\"$p2\"\}\]" "$(body)"
fi
put_object main pack "$W/p2" 201 # revives it
put_object main snapshot "$W/s2"
get_object main pack "$p2" "$W/out" 200
assert_same_file "revived pack reads back" "$W/p2" "$W/out"

# ---- a locked object is not swept ----
note "lock"
gc acme locked
assert_eq "locked: nothing tombstoned" 0 "$(json_num objects_tombstoned "$GC")"
get_object locked pack "$lk" "$W/out" 200

# ---- keep-last 1 forgets the older snapshot; its pack becomes garbage ----
note "keep-last"
gc acme kl
assert_eq "one snapshot forgotten" 1 "$(json_num snapshots_forgotten "$GC")"
assert_eq "its exclusive pack tombstoned" 1 "$(json_num objects_tombstoned "$GC")"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/kl/objects/snapshot/$sold"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/kl/objects/pack/$ka"
get_object kl pack "$kb" "$W/out" 200

# ---- a later run past the grace deletes physically ----
note "delete"
sleep 2
gc acme main --dry-run
assert_eq "dry run: would delete" 1 "$(json_num objects_deleted "$GC")"
gc acme main
assert_eq "deleted" 1 "$(json_num objects_deleted "$GC")"
assert_eq "deleted bytes" 1000 "$(json_num bytes_deleted "$GC")"
assert_eq "the file is gone" 0 "$(find "$DATA/objects" -name "$p3" | wc -l)"
get_object main pack "$p2" "$W/out" 200
get_object main pack "$p1" "$W/out" 200
gc # every vault
assert_eq "all vaults" 3 "$(json_num vaults "$GC")"
assert_eq "gc-tmp is emptied" 0 "$(find "$DATA/gc-tmp" -type f | wc -l)"

# ---- errors and the human output ----
note "errors"
out=$(vctl gc nobody 2>&1)
assert_match "unknown tenant" "no tenant named" "$out"
out=$(vctl gc acme main --dry-run 2>&1)
assert_match "human output" "objects_tombstoned" "$out"

finish
