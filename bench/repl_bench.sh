#!/usr/bin/env bash
# Replication throughput vaultd -> vaultd on loopback (bench/README.md,
# "Replication"). It builds nothing: run `make` first.
#
# Two fresh daemons on a temporary directory under BENCH_DIR. The source is
# loaded with N objects of S MiB while its vault's policy names no target;
# then a reload adds the target and `vaultctl replicate` queues every object
# at once, and the time until the queue is empty is measured. That covers
# everything a copy costs: reading the object from the source's disk,
# sending it, the target hashing, writing and fsyncing it and committing its
# metadata, the HEAD that verifies it, and the source's LMDB commit of the
# done record. The target's copies are then checked against their IDs.
#
# Environment:
#   VAULT_BUILD     build directory (default build)
#   BENCH_DIR       where the temporary data goes (default ./bench-tmp)
#   BENCH_OBJECTS   objects (default 64)
#   BENCH_SIZE_MIB  object size in MiB (default 16)
#   BENCH_WORKERS   replicate-workers (default 4)
#   BENCH_BANDWIDTH replicate-bandwidth (default 0, no cap)
#   BENCH_TARGET    vault (default) or s3: an s3rver (from npm, installed by
#                   tests/integration/test_s3.sh into BUILD/node) on
#                   loopback instead of a second vaultd; the copies are read
#                   back with build/tools/s3_tool
#
# Figures are MB/s with 1 MB = 10^6 bytes.
set -euo pipefail

BUILD=${VAULT_BUILD:-build}
BENCH_DIR=${BENCH_DIR:-./bench-tmp}
OBJECTS=${BENCH_OBJECTS:-64}
SIZE_MIB=${BENCH_SIZE_MIB:-16}
WORKERS=${BENCH_WORKERS:-4}
TARGET=${BENCH_TARGET:-vault}
S3RVER_JS=$BUILD/node/node_modules/s3rver/bin/s3rver.js
S3_TOOL=$BUILD/tools/s3_tool
BANDWIDTH=${BENCH_BANDWIDTH:-0}
VAULTD=$BUILD/vaultd
VAULTCTL=$BUILD/vaultctl
TOTAL=$((OBJECTS * SIZE_MIB * 1024 * 1024))

for b in "$VAULTD" "$VAULTCTL"; do
	if [ ! -x "$b" ]; then
		echo "repl_bench: $b is missing; run 'make'" >&2
		exit 2
	fi
done
if [ "$TARGET" == s3 ] && { [ ! -f "$S3RVER_JS" ] || [ ! -x "$S3_TOOL" ]; }; then
	echo "repl_bench: BENCH_TARGET=s3 needs $S3RVER_JS (run tests/integration/run.sh s3" \
		"once) and $S3_TOOL (make $S3_TOOL)" >&2
	exit 2
fi
mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/repl_bench.XXXXXX")
WORK=$(cd "$WORK" && pwd)
PIDS=()
finish() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap finish EXIT

# start NAME CONF: a daemon on WORK/NAME; sets NAME_PORT.
start() {
	local i
	"$VAULTD" -d "$WORK/$1" -c "$2" -l 127.0.0.1:0 --port-file "$WORK/$1.port" \
		>"$WORK/$1.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		[ -s "$WORK/$1.port" ] && break
		sleep 0.05
	done
	printf -v "${1}_PORT" '%s' "$(cat "$WORK/$1.port")"
}
now() { date +%s.%N; }

# The target: a second vaultd, or s3rver.
if [ "$TARGET" == s3 ]; then
	mkdir -p "$WORK/s3"
	node --openssl-legacy-provider "$S3RVER_JS" -d "$WORK/s3" -a 127.0.0.1 -p 0 \
		--configure-bucket benchbkt >"$WORK/s3rver.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		s3port=$(sed -n 's/^S3rver listening on [^:]*:\([0-9][0-9]*\)$/\1/p' "$WORK/s3rver.log")
		[ -n "$s3port" ] && break
		sleep 0.05
	done
	printf '[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' \
		>"$WORK/s3.credentials"
	TARGET_BLOCK="target dr {
    type s3
    endpoint http://127.0.0.1:$s3port
    region us-east-1
    bucket benchbkt
    path-style yes
    credentials-file $WORK/s3.credentials
}"
else
	printf 'tenant dr {\n}\n' >"$WORK/target.conf"
	start target "$WORK/target.conf"
	TT=$("$VAULTCTL" -d "$WORK/target" token issue dr --scopes all 2>/dev/null)
	curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $TT" \
		"http://127.0.0.1:$target_PORT/v1/vaults/v"
	"$VAULTCTL" -d "$WORK/target" token issue dr --scopes read,append,delete \
		>"$WORK/token" 2>/dev/null
	TARGET_BLOCK="target dr {
    type vault
    url http://127.0.0.1:$target_PORT
    token-file $WORK/token
}"
fi

# source_conf POLICY: the source's file; the vault's policy is POLICY.
source_conf() {
	cat >"$WORK/source.conf" <<EOF
replicate-workers $WORKERS
replicate-bandwidth $BANDWIDTH
$TARGET_BLOCK
policy rep {
    replicate-to dr
}
policy plain {
}
tenant acme {
    policy $1
}
EOF
}
source_conf plain
start source "$WORK/source.conf"
ST=$("$VAULTCTL" -d "$WORK/source" token issue acme --scopes all 2>/dev/null)
SURL=http://127.0.0.1:$source_PORT/v1/vaults/v
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $ST" "$SURL"

echo "loading the source with $OBJECTS x $SIZE_MIB MiB..."
for ((i = 0; i < OBJECTS; i++)); do
	head -c $((SIZE_MIB << 20)) /dev/urandom >"$WORK/obj"
	id=$(sha256sum "$WORK/obj" | cut -c1-64)
	echo "$id" >>"$WORK/ids"
	curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $ST" --data-binary @"$WORK/obj" \
		"$SURL/objects/pack/$id"
done
rm -f "$WORK/obj"
sync

source_conf rep
kill -HUP "${PIDS[${#PIDS[@]} - 1]}"
sleep 1
t0=$(now)
"$VAULTCTL" -d "$WORK/source" replicate acme v
queue=-1
while :; do
	s=$("$VAULTCTL" -d "$WORK/source" --json status)
	queue=$(printf '%s' "$s" | grep -o '"target":"dr","queue":[0-9]*' | cut -d: -f3)
	[ "$queue" == 0 ] && break
	sleep 0.05
done
t1=$(now)

bad=0
while read -r id; do
	if [ "$TARGET" == s3 ]; then
		got=$("$S3_TOOL" -e "http://127.0.0.1:$s3port" -b benchbkt -c "$WORK/s3.credentials" \
			get "acme/v/pack/$id" | sha256sum | cut -c1-64)
	else
		got=$(curl -sf -H "Authorization: Bearer $TT" \
			"http://127.0.0.1:$target_PORT/v1/vaults/v/objects/pack/$id" | sha256sum |
			cut -c1-64)
	fi
	[ "$got" == "$id" ] || bad=$((bad + 1))
done <"$WORK/ids"
if [ "$bad" != 0 ]; then
	echo "repl_bench: $bad object(s) at the target do not match their ID" >&2
	exit 1
fi
awk -v b="$TOTAL" -v t0="$t0" -v t1="$t1" -v n="$OBJECTS" -v s="$SIZE_MIB" \
	-v w="$WORKERS" -v tgt="$([ "$TARGET" == s3 ] && echo s3rver || echo vaultd)" 'BEGIN {
	printf "replicated %d x %d MiB vaultd -> %s on loopback, %d workers: " \
	    "%.2f s, %.0f MB/s (all %d copies verified by SHA-256 at the end)\n",
	    n, s, tgt, w, t1 - t0, b / (t1 - t0) / 1e6, n }'
