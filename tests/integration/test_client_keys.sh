#!/usr/bin/env bash
# Key management (issue 15, spec/client-crypto.md 8, spec/client.md 4):
# several passphrases and a recovery key wrap one master key; each opens
# the vault; removing one never locks out the others; the last key and the
# key in use cannot be removed; passwd re-wraps only (the data and its
# snapshots stay as they are); a removed or wrong passphrase is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client_lib.sh"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)

export VAULT_REPOSITORY=$URL/keys VAULT_TOKEN=$ADMIN VAULT_CACHE_DIR=$W/cache
export VAULT_RETRY_BASE_MS=10
K=(--kdf-ops 1 --kdf-mem 8192)

VAULT_PASSWORD=alpha v init "${K[@]}"
assert_eq "init" 0 "$RC"
echo data >"$SRC/f"
head -c 300000 /dev/urandom >"$SRC/g"
VAULT_PASSWORD=alpha v backup --json "$SRC"
assert_eq "a backup with the first passphrase" 0 "$RC"
SNAP=$(printf '%s' "$OUT" | grep -o '"snapshot":"[0-9a-f]*"' | cut -d'"' -f4)

note "key list and add"
VAULT_PASSWORD=alpha v key list --json
assert_eq "key list" 0 "$RC"
assert_eq "one key after init" 1 "$(printf '%s' "$OUT" | grep -o '"id"' | wc -l)"
assert_match "it is the one in use" '"current":true' "$OUT"
VAULT_PASSWORD=alpha VAULT_NEW_PASSWORD=beta v key add --label "bob@laptop" "${K[@]}"
assert_eq "key add" 0 "$RC"
BETA=$(printf '%s' "$OUT" | grep -o 'key [0-9a-f]*' | cut -d' ' -f2)
VAULT_PASSWORD=beta v key list
assert_eq "the new passphrase opens the vault" 0 "$RC"
assert_match "and lists its label" "bob@laptop" "$OUT"
assert_match "marked as the one in use" "^\\* $BETA" "$OUT"
VAULT_PASSWORD=beta v restore latest --target "$W/r1"
assert_eq "and restores" 0 "$RC"
assert_true "the same bytes" diff -r "$SRC" "$W/r1$SRC"

note "a recovery key"
VAULT_PASSWORD=alpha v key add --recovery
assert_eq "key add --recovery" 0 "$RC"
RK=$(printf '%s\n' "$OUT" | grep -Eo '[0-9a-f]{8}(-[0-9a-f]{8}){7}')
assert_eq "prints a 256-bit recovery key once" 71 "${#RK}"
VAULT_PASSWORD=$RK v snapshots
assert_eq "the recovery key opens the vault" 0 "$RC"
VAULT_PASSWORD=$(printf '%s' "$RK" | tr a-f A-F | tr -d -) v snapshots
assert_eq "in any case, without dashes" 0 "$RC"
VAULT_PASSWORD=alpha v key list --json
assert_eq "three keys" 3 "$(printf '%s' "$OUT" | grep -o '"id"' | wc -l)"
assert_match "one of them a recovery key" '"type":"recovery"' "$OUT"

note "passwd re-wraps only"
PACKS0=$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/vaults/keys" | grep -o '"pack":{"objects":[0-9]*')
VAULT_PASSWORD=beta VAULT_NEW_PASSWORD=gamma v key passwd "${K[@]}"
assert_eq "passwd" 0 "$RC"
VAULT_PASSWORD=beta v snapshots
assert_eq "the old passphrase no longer opens it" 1 "$RC"
assert_match "wrong passphrase" "wrong passphrase" "$ERR"
VAULT_PASSWORD=gamma v snapshots --json
assert_eq "the new one does" 0 "$RC"
assert_match "and sees the same snapshot" "$SNAP" "$OUT"
assert_eq "no data was rewritten" "$PACKS0" \
	"$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/vaults/keys" | grep -o '"pack":{"objects":[0-9]*')"
VAULT_PASSWORD=gamma v key list
assert_match "the label is kept" "bob@laptop" "$OUT"

note "remove"
VAULT_PASSWORD=gamma v key list --json
GAMMA=$(printf '%s' "$OUT" | grep -o '"id":"[0-9a-f]*","type":"passphrase","created":[0-9]*,"label":"bob@laptop","current":true' | cut -d'"' -f4)
ALPHA=$(printf '%s' "$OUT" | grep -o '"id":"[0-9a-f]*","type":"passphrase","created":[0-9]*,"label":"[^"]*","current":false' | cut -d'"' -f4)
VAULT_PASSWORD=gamma v key remove "${GAMMA:0:8}"
assert_eq "the key in use cannot be removed" 1 "$RC"
assert_match "and it says why" "opened with" "$ERR"
VAULT_PASSWORD=gamma v key remove "${ALPHA:0:8}"
assert_eq "another key can" 0 "$RC"
VAULT_PASSWORD=alpha v snapshots
assert_eq "the removed passphrase is refused" 1 "$RC"
assert_match "as a wrong passphrase" "wrong passphrase" "$ERR"
VAULT_PASSWORD=gamma v snapshots
assert_eq "the others still open the vault" 0 "$RC"
VAULT_PASSWORD=$RK v key list --json
RKID=$(printf '%s' "$OUT" | grep -o '"id":"[0-9a-f]*","type":"recovery"' | cut -d'"' -f4)
VAULT_PASSWORD=$RK v key remove "${GAMMA:0:8}"
assert_eq "the recovery key removes the passphrase" 0 "$RC"
VAULT_PASSWORD=$RK v key remove "${RKID:0:8}"
assert_eq "the last key cannot be removed" 1 "$RC"
assert_match "and it says so" "last key" "$ERR"
VAULT_PASSWORD=$RK v key passwd
assert_eq "a recovery key has no passphrase to change" 1 "$RC"
VAULT_PASSWORD=$RK v restore latest --target "$W/r2"
assert_eq "the recovery key alone restores" 0 "$RC"
assert_true "the same bytes" diff -r "$SRC" "$W/r2$SRC"
HEXPW=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
VAULT_PASSWORD=$RK VAULT_NEW_PASSWORD=$HEXPW v key add "${K[@]}"
VAULT_PASSWORD=$HEXPW v snapshots
assert_eq "a passphrase that looks like a recovery key still works as one" 0 "$RC"

note "vault GC still runs on a vault with key objects"
echo more >"$SRC/h"
VAULT_PASSWORD=$RK v backup "$SRC"
VAULT_PASSWORD=$RK v forget "$SNAP"
vctl gc acme keys >"$W/gc.out" 2>&1
assert_match "gc judges the vault" "forgotten|deleted|packs" "$(cat "$W/gc.out")"
assert_match "and does not skip it as restic's" 'vaults_skipped +0' "$(cat "$W/gc.out")"

note "a version 1 vault: its config passphrase stays, key objects add to it"
V1=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"][0]; print(c["blob_hex"]); print(bytes.fromhex(c["passphrase_hex"]).decode())' "$ROOT/spec/vectors/client-crypto.json")
V1BLOB=$(printf '%s\n' "$V1" | head -1)
V1PASS=$(printf '%s\n' "$V1" | tail -1)
curl -s -o /dev/null -X PUT -H "Authorization: Bearer $ADMIN" "$URL/v1/vaults/old"
python3 -c 'import sys; open(sys.argv[2], "wb").write(bytes.fromhex(sys.argv[1]))' "$V1BLOB" "$W/v1.cfg"
assert_match "a version 1 config is stored" "^20[014]$" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $ADMIN" --data-binary @"$W/v1.cfg" "$URL/v1/vaults/old/config")"
export VAULT_REPOSITORY=$URL/old VAULT_CACHE_DIR=$W/cache.old
VAULT_PASSWORD=$V1PASS v key list
assert_eq "its passphrase opens it" 0 "$RC"
assert_match "and key list shows the config passphrase in use" "^\* config" "$OUT"
VAULT_PASSWORD=$V1PASS VAULT_NEW_PASSWORD=nu v key add "${K[@]}"
assert_eq "a key object is added" 0 "$RC"
VAULT_PASSWORD=nu v key list
assert_eq "and opens the version 1 vault" 0 "$RC"
VAULT_PASSWORD=$V1PASS VAULT_NEW_PASSWORD=xi v key passwd
assert_eq "the config passphrase cannot be changed" 1 "$RC"
assert_match "and it says why" "version 1 config" "$ERR"

# ---- the key cache (spec/client-crypto.md 9) ----
# Peak RSS tells whether Argon2id ran: at --kdf-mem 128 MiB it alone takes
# more than the rest of a `vault snapshots` run.
note "the key cache spares ordinary runs the Argon2id"
KC=(--kdf-ops 1 --kdf-mem $((128 << 20)))
export VAULT_REPOSITORY=$URL/kc VAULT_CACHE_DIR=$W/cache.kc
export VAULT_KEY_CACHE_DIR=$W/kc
# rss ARGS...: runs the client under /usr/bin/time; peak RSS in KiB in $RSS.
rss() {
	/usr/bin/time -f '%M' -o "$W/rss" "$VAULT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
	ERR=$(cat "$W/err")
	RSS=$(tail -1 "$W/rss")
	check_sanitizer_log "$W/err"
}
VAULT_PASSWORD=kappa VAULT_NEW_PASSWORD=lambda v init "${KC[@]}"
assert_eq "init a vault with 128 MiB Argon2id" 0 "$RC"
VAULT_PASSWORD=kappa rss snapshots
assert_eq "the first run opens it" 0 "$RC"
assert_true "and pays the Argon2id ($RSS KiB)" test "$RSS" -gt 131072
assert_eq "it leaves one key cache file, mode 600" "600" \
	"$(stat -c %a "$W"/kc/* 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
VAULT_PASSWORD=kappa rss snapshots
assert_eq "the next run opens it" 0 "$RC"
assert_true "without the Argon2id ($RSS KiB)" test "$RSS" -lt 100000
VAULT_PASSWORD=kappa rss --no-key-cache snapshots
assert_true "--no-key-cache pays it again ($RSS KiB)" test "$RSS" -gt 131072
VAULT_PASSWORD=wrong rss snapshots
assert_eq "a wrong passphrase is still refused" 1 "$RC"
assert_match "as such" "wrong passphrase" "$ERR"
VAULT_PASSWORD=kappa rss snapshots
assert_eq "and leaves the cache working" 0 "$RC"
assert_true "($RSS KiB)" test "$RSS" -lt 100000

note "a key removed elsewhere no longer opens the vault through the cache"
VAULT_PASSWORD=kappa VAULT_NEW_PASSWORD=mu v key add --label other "${K[@]}"
MU=$(printf '%s' "$OUT" | grep -o 'key [0-9a-f]*' | cut -d' ' -f2)
VAULT_PASSWORD=mu VAULT_KEY_CACHE_DIR=$W/kc.other v key list --json
KAPPA=$(printf '%s' "$OUT" | grep -o '"id":"[0-9a-f]*","type":"passphrase","created":[0-9]*,"label":"[^"]*","current":false' | cut -d'"' -f4)
VAULT_PASSWORD=mu VAULT_KEY_CACHE_DIR=$W/kc.other v key remove "${KAPPA:0:8}"
assert_eq "another machine removes the first key" 0 "$RC"
VAULT_PASSWORD=kappa rss snapshots
assert_eq "the cached key is refused here too" 1 "$RC"
assert_match "as a wrong passphrase" "wrong passphrase" "$ERR"

finish
