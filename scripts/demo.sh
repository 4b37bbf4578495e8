#!/bin/sh
# Starts vaultd on the embedded default (data in ./var, http://127.0.0.1:8420),
# creates a first tenant and token, and shows a round trip with curl.
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
echo "vaultd keeps running; stop it with 'make stop'."
