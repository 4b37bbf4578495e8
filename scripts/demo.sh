#!/bin/sh
# Starts vaultd on the embedded default (data in ./var, http://127.0.0.1:8420),
# creates a first tenant and token, shows a round trip with curl, then backs
# up a directory with the vault client and restores it.
#   scripts/demo.sh [BUILD_DIR]    start and demonstrate
#   scripts/demo.sh --stop         stop the daemon started here
set -eu
cd "$(dirname "$0")/.."
DATA=./var
PIDFILE=$DATA/vaultd.pid
LISTEN=${VAULT_LISTEN:-127.0.0.1:8420}
URL=http://$LISTEN/v1

if [ "${1:-}" = "--stop" ]; then
	if [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; then
		echo "vaultd stopped"; rm -f "$PIDFILE"
	else
		echo "no vaultd started by the demo is running"
	fi
	exit 0
fi
BUILD=${1:-build}
mkdir -p "$DATA"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
	echo "vaultd is already running (pid $(cat "$PIDFILE")); 'make stop' first to restart it"
else
	"$BUILD/vaultd" -d "$DATA" -l "$LISTEN" >>"$DATA/vaultd.log" 2>&1 </dev/null &
	echo $! > "$PIDFILE"
	i=0
	until curl -fs "$URL/capabilities" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 50 ]; then echo "vaultd did not start; see $DATA/vaultd.log" >&2; exit 1; fi
		sleep 0.1
	done
	echo "vaultd started (pid $(cat "$PIDFILE")), listening on http://$LISTEN, data in $DATA"
fi

CTL="$BUILD/vaultctl -d $DATA"
if ! tenants=$($CTL tenant list 2>&1); then
	echo "$tenants (see $DATA/vaultd.log)" >&2
	exit 1
fi
echo "$tenants" | grep -qw demo || $CTL tenant add demo
TOKEN=$($CTL token issue demo --scopes read,append,delete,admin 2>/dev/null)
echo "tenant: demo"
echo "token:  $TOKEN"
AUTH="Authorization: Bearer $TOKEN"

show() { echo "\$ $*" | sed "s/$TOKEN/\$TOKEN/"; "$@"; echo; }
curl -s -o /dev/null -X PUT -H "$AUTH" "$URL/vaults/demo"   # created once; 409 later is fine
BODY="hello from vault $(date)"
ID=$(printf '%s' "$BODY" | sha256sum | cut -c1-64)
show curl -s -X PUT -H "$AUTH" --data-binary "$BODY" "$URL/vaults/demo/objects/pack/$ID"
show curl -s -H "$AUTH" "$URL/vaults/demo/objects/pack/$ID"
show curl -s -H "$AUTH" "$URL/vaults/demo"
# The client: an encrypted, deduplicated backup and its restore. The
# passphrase and the cache stay under ./var for the demo; a real client
# keeps its passphrase elsewhere (see vault --help).
SRC=${VAULT_DEMO_SRC:-/usr/share/doc}
export VAULT_REPOSITORY="http://$LISTEN/laptop" VAULT_TOKEN="$TOKEN"
export VAULT_PASSWORD="demo passphrase" VAULT_CACHE_DIR="$DATA/client-cache"
V="$BUILD/vault"
if ! "$V" snapshots -q >/dev/null 2>&1; then
	# Light Argon2id limits keep the demo quick; a real vault takes the
	# default (MODERATE: 256 MiB, 3 passes).
	show "$V" init --kdf-ops 1 --kdf-mem 8388608
fi
show "$V" backup "$SRC"
show "$V" backup "$SRC"
show "$V" snapshots
rm -rf "$DATA/restore"
show "$V" restore latest --target "$DATA/restore"
if diff -r --no-dereference "$SRC" "$DATA/restore$SRC" >/dev/null 2>&1; then
	echo "the restore in $DATA/restore$SRC equals $SRC"
else
	echo "the restore differs from $SRC (files that changed meanwhile, or unreadable ones)"
fi
echo "vaultd keeps running; stop it with 'make stop'."
