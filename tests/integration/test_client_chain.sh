#!/usr/bin/env bash
# The snapshot chain (issue 15, spec/client.md 4.1): the server deletes the
# newest snapshot behind the client's back (a rollback), and `vault
# snapshots`, `restore latest` and `backup` refuse with exit 4 and "vault
# rolled back"; --accept-rollback takes it as a deliberate forget; the
# client's own `vault forget` is no rollback; another client that saw a
# snapshot this one forgot does call it one; the bodies carry seq and prev;
# a body of a future format version asks to upgrade the client.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_lib.sh"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)
DEL=$(new_token acme --scopes delete)

export VAULT_REPOSITORY=$URL/laptop VAULT_TOKEN=$ADMIN VAULT_PASSWORD='chain pass'
export VAULT_CACHE_DIR=$W/cache VAULT_RETRY_BASE_MS=10

# server_delete ID: deletes a snapshot object with a delete-scoped token,
# as a hostile or broken server would, without the client knowing.
server_delete() {
	curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $DEL" \
		"$URL/v1/vaults/laptop/objects/snapshot/$1"
}

v init --kdf-ops 1 --kdf-mem 8192
assert_eq "init" 0 "$RC"
echo one >"$SRC/a"
v backup --json --host h "$SRC"
assert_eq "first backup" 0 "$RC"
S1=$(json_field snapshot)
echo two >"$SRC/a"
v backup --json --host h "$SRC"
assert_eq "second backup" 0 "$RC"
S2=$(json_field snapshot)

note "the bodies carry the chain"
v cat snapshot "$S1"
assert_match "the first snapshot is number 1 of its series" '"seq":1' "$OUT"
assert_match "and names no predecessor" '"prev":\[\]' "$OUT"
v cat snapshot "$S2"
assert_match "the second is number 2" '"seq":2' "$OUT"
assert_match "cat snapshot shows the body version" '"version":2' "$OUT"
assert_match "and names the first" "\"prev\":\\[\"$S1\"\\]" "$OUT"

note "the server deletes the newest snapshot: a rollback"
v snapshots --json
assert_eq "the listing is fine before" 0 "$RC"
assert_match "snapshots --json shows each one's number" "\"id\":\"$S2\"[^}]*\"seq\":2" "$OUT"
assert_eq "the server's delete works" 204 "$(server_delete "$S2")"
v snapshots
assert_eq "snapshots exits 4" 4 "$RC"
assert_match "and says the vault rolled back" "vault rolled back: snapshot ${S2:0:8}" "$ERR"
assert_match "and how to accept it" "accept-rollback" "$ERR"
assert_eq "nothing is listed" "" "$OUT"
v restore latest --target "$W/r1"
assert_eq "restore latest exits 4" 4 "$RC"
assert_match "with the same message" "vault rolled back" "$ERR"
assert_true "and restores nothing" test ! -e "$W/r1"
echo three >"$SRC/a"
v backup --host h "$SRC"
assert_eq "a backup refuses too" 4 "$RC"
assert_match "and says why" "backup refused: vault rolled back" "$ERR"
v snapshots --json
assert_eq "it stays refused" 4 "$RC"

note "--accept-rollback"
v snapshots --accept-rollback --json
assert_eq "accepted: exit 0" 0 "$RC"
assert_match "it still warns" "accepted rollback: snapshot ${S2:0:8}" "$ERR"
assert_match "and lists what is there" "$S1" "$OUT"
v snapshots
assert_eq "afterwards the listing is believed" 0 "$RC"
v backup --json --host h "$SRC"
assert_eq "a backup works again" 0 "$RC"
S3=$(json_field snapshot)
v cat snapshot "$S3"
assert_match "and continues the chain from what is there" '"seq":2' "$OUT"

note "a forget by this client is not a rollback"
v forget "$S3"
assert_eq "forget" 0 "$RC"
v snapshots --json
assert_eq "the listing after our own forget is fine" 0 "$RC"
v restore latest --target "$W/r2"
assert_eq "restore latest works" 0 "$RC"
assert_eq "and restores the older snapshot" one "$(cat "$W/r2$SRC/a")"

note "another client saw what this one forgot"
echo four >"$SRC/a"
v backup --json --host h "$SRC"
S4=$(json_field snapshot)
VAULT_CACHE_DIR=$W/cache2 v snapshots
assert_eq "a second client lists" 0 "$RC"
v forget "$S4"
assert_eq "the first forgets" 0 "$RC"
VAULT_CACHE_DIR=$W/cache2 v snapshots
assert_eq "the second calls it a rollback" 4 "$RC"
assert_match "naming the snapshot" "snapshot ${S4:0:8}" "$ERR"
VAULT_CACHE_DIR=$W/cache2 v snapshots --accept-rollback
assert_eq "until told it was deliberate" 0 "$RC"

note "a whole series deleted"
v backup --json --host other "$SRC"
S5=$(json_field snapshot)
server_delete "$S5" >/dev/null
v snapshots
assert_eq "a series gone entirely is a rollback" 4 "$RC"
assert_match "naming its last snapshot" "snapshot ${S5:0:8}" "$ERR"
v snapshots --accept-rollback
assert_eq "accepted" 0 "$RC"

note "older snapshots removed while a newer one stays: no rollback"
v backup --json --host h "$SRC"
S6=$(json_field snapshot)
echo five >"$SRC/a"
v backup --json --host h "$SRC"
S7=$(json_field snapshot)
server_delete "$S6" >/dev/null
v snapshots
assert_eq "retention-like deletes of older snapshots pass" 0 "$RC"

note "a snapshot from a future format version"
"$TOOLS_DIR/client_tool" "$URL" laptop forge-snapshot h "$SRC" \
	'{"version":3,"tree_version":1,"time":1700000000}' >"$W/out" 2>"$W/err"
assert_eq "a newer client's snapshot is stored" 0 "$?"
v snapshots
assert_eq "listing it fails" 1 "$RC"
assert_match "and says to upgrade the client" "written by a newer client.*upgrade the client" "$ERR"

finish
