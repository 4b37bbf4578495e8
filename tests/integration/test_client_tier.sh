#!/usr/bin/env bash
# The vault client over tiered storage (spec/tiering.md, spec/client.md):
# backups whose packs the daemon then moves to the archive tier (a tape
# stand-in) restore byte for byte. The client's reads of archived packs are
# answered 202 while vaultd recalls them; the client says what it waits for,
# asks again as Retry-After says, and completes. A client allowed no time to
# wait fails with a sentence that names the recall.
. "$(dirname "$0")/lib.sh"

VAULT=$BUILD_DIR/vault
W=$TEST_TMP/work
mkdir -p "$W/src"
cat >"$W/vaultd.conf" <<EOF
backend hot {
    type fs
    path $DATA/objects
}
backend tape {
    type archive
    path $TEST_TMP/tape
    cartridge-size 8M
}
policy to-tape {
    tier-to tape
    tier-after 1s
}
tenant acme {
    policy to-tape
}
EOF
start_vaultd -c "$W/vaultd.conf"
TOKEN=$(new_token acme --scopes all)
export VAULT_TOKEN=$TOKEN VAULT_PASSWORD='tape test'
export VAULT_RETRY_BASE_MS=10 VAULT_RECALL_POLL_MS=200

for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >"$W/src/f$i"; done
cp -a /usr/share/doc/bash "$W/src/doc" 2>/dev/null || echo small >"$W/src/doc"

for v in laptop nowait; do
	VAULT_REPOSITORY=$URL/$v "$VAULT" init --kdf-ops 1 --kdf-mem 8192 -q
	assert_eq "init $v" 0 "$?"
	VAULT_REPOSITORY=$URL/$v VAULT_CACHE_DIR=$W/cache.$v "$VAULT" backup -q "$W/src"
	assert_eq "backup to $v" 0 "$?"
done
sleep 2 # past tier-after
out=$(vctl --json tier acme 2>&1)
assert_eq "vaultctl tier runs" 0 "$?"
moved=$(json_num moved "$out")
assert_true "packs were moved to the archive ($out)" test "${moved:-0}" -ge 2
hot=$(find "$DATA/objects" -path '*/pack/*' -type f | wc -l)
assert_eq "no pack is left hot" 0 "$hot"

VAULT_REPOSITORY=$URL/laptop VAULT_CACHE_DIR=$W/cache.laptop \
	"$VAULT" restore latest --target "$W/r" >"$W/out" 2>"$W/err"
assert_eq "restore from the archive tier succeeds" 0 "$?"
assert_match "it says it waits for a recall" "being recalled" "$(cat "$W/err")"
assert_true "the bytes are the source's" diff -r "$W/src" "$W/r$W/src"

VAULT_REPOSITORY=$URL/nowait VAULT_CACHE_DIR=$W/cache.nowait VAULT_RECALL_WAIT_MS=1 \
	"$VAULT" restore latest --target "$W/r2" >"$W/out" 2>"$W/err"
assert_ne "a restore that may not wait for the recall fails" 0 "$?"
assert_match "with a sentence about the recall" "recall" "$(cat "$W/err")"
finish
