#!/usr/bin/env bash
# The client's VSP transport (client/remote.c) through tests/tools/remote_tool
# against a real daemon: every call's success path, parallel async uploads
# checked by exists (several batches), list, get, ranges and async gets; the
# 409 of a snapshot with a missing reference; the sentences for 401, 403,
# 507 and an unreachable server; and uploads that survive a daemon killed
# and restarted on the same port half-way through.
. "$(dirname "$0")/lib.sh"

RT=$TOOLS_DIR/remote_tool
if [ ! -x "$RT" ]; then
	fail "no $RT: build it with make $VAULT_BUILD/tools/remote_tool (make integration does)"
	finish
fi
W=$TEST_TMP/work
mkdir -p "$W"
CONF=$W/vaultd.conf
cat >"$CONF" <<EOF
policy small {
    quota 10000
}
tenant acme {
    vault tiny {
        policy small
    }
}
EOF

start_vaultd -c "$CONF"
ALL=$(new_token acme --scopes all)
RO=$(new_token acme --scopes read)
RA=$(new_token acme --scopes read,append)
use_token "$ALL"

# rt TOKEN VAULT COMMAND...: runs the tool; output in $OUT, stderr in $ERR,
# status in $RC.
OUT=$W/out
ERR=$W/err
RC=0
rt() {
	local tok=$1 v=$2
	shift 2
	"$RT" "$URL" "$v" "$tok" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}
# ok DESC: the last rt succeeded.
ok() {
	if [ "$RC" == 0 ]; then
		pass_check
	else
		fail "$1: remote_tool exited $RC: $(cat "$ERR")"
	fi
}

# ---- vaults and configs ----
note "vault and config"
rt "$ALL" laptop create
ok "create a vault"
rt "$ALL" laptop create
assert_eq "create again: VC_R_EXISTS" 4 "$RC"
assert_match "the 409 is described" "vault laptop: PUT vault: conflict: .*already exists \\(409\\)" \
	"$(cat "$ERR")"
rt "$ALL" laptop info
ok "info"
assert_eq "info of an empty vault" "objects 0 bytes 0" "$(cat "$OUT")"
rt "$ALL" nosuch info
assert_eq "info of no vault: VC_R_NOTFOUND" 3 "$RC"
rt "$ALL" laptop get-config "$W/cfg.got"
assert_eq "no config yet: VC_R_NOTFOUND" 3 "$RC"
assert_match "the 404 says why" "has no config yet \\(404\\)" "$(cat "$ERR")"
head -c 146 /dev/urandom >"$W/cfg"
rt "$ALL" laptop put-config "$W/cfg"
ok "put-config"
rt "$ALL" laptop put-config "$W/cfg"
ok "put-config of the same bytes again"
head -c 146 /dev/urandom >"$W/cfg2"
rt "$ALL" laptop put-config "$W/cfg2"
assert_eq "put-config of other bytes: VC_R_EXISTS" 4 "$RC"
rt "$ALL" laptop get-config "$W/cfg.got"
ok "get-config"
assert_same_file "the config read back" "$W/cfg" "$W/cfg.got"

# ---- many parallel uploads, then every read call ----
note "put-many"
accepted() { vctl status | awk '$1 == "connections_accepted" { print $2 }'; }
c0=$(accepted)
rt "$ALL" laptop put-many 40 150000 4
ok "put-many 40 x 150000 and its checks"
sed 's/^/  .. /' "$OUT"
# About 330 requests: 4 connections for the transfers and one or two for
# the calls in between, if keep-alive works.
c1=$(accepted)
note "put-many used $((c1 - c0)) connections"
assert_true "connections are reused ($((c1 - c0)) for put-many)" test $((c1 - c0)) -le 8
use_token "$ALL"
assert_eq "the listing has the 40 objects" 40 "$(list_all laptop pack | grep -c .)"
rt "$ALL" laptop list pack
ok "list"
assert_eq "remote_tool list agrees" "$(list_all laptop pack | sort)" "$(cut -d' ' -f1 "$OUT" | sort)"
rt "$ALL" laptop put-many 3 0 1
ok "put-many of empty objects (the second and third are already there)"
rt "$ALL" laptop put-many 5 3000000 2
ok "put-many of objects over 1 MiB (Expect: 100-continue)"
head -c 2500000 /dev/urandom >"$W/big1"
rt "$ALL" laptop put "$W/big1"
ok "put over 1 MiB"
rt "$ALL" laptop put "$W/big1"
ok "put over 1 MiB of an object already there (200 before the body)"
rt "$ALL" laptop concurrent 8 10 20000
ok "8 threads on one remote at once"

# ---- single objects ----
note "single objects"
head -c 5000 /dev/urandom >"$W/obj"
rt "$ALL" laptop put "$W/obj"
ok "put"
id=$(cat "$OUT")
assert_eq "put prints the ID" "$(sha256 "$W/obj")" "$id"
rt "$ALL" laptop put "$W/obj"
ok "put of an object already there"
rt "$ALL" laptop stat "$id"
ok "stat"
assert_eq "stat size" 5000 "$(cat "$OUT")"
rt "$ALL" laptop get "$id" "$W/obj.got"
ok "get"
assert_same_file "get" "$W/obj" "$W/obj.got"
rt "$ALL" laptop range "$id" 100 50 "$W/range.got"
ok "range"
assert_eq "range bytes" "$(tail -c +101 "$W/obj" | head -c 50 | sha256sum | cut -c1-64)" \
	"$(sha256 "$W/range.got")"
rt "$ALL" laptop range "$id" 4990 1000 "$W/range.got"
ok "range past the end"
assert_eq "a range past the end is clamped" 10 "$(file_size "$W/range.got")"
rt "$ALL" laptop range "$id" 5000 1 "$W/range.got"
assert_eq "a range after the end fails" 1 "$RC"
assert_match "... with the 416" "range not satisfiable.*\\(416\\)" "$(cat "$ERR")"
rt "$ALL" laptop exists "$id" "$(sha256 "$W/cfg")"
ok "exists"
assert_eq "exists answers" "$id present
$(sha256 "$W/cfg") missing" "$(cat "$OUT")"
rt "$RA" laptop delete "$id"
assert_eq "delete without the delete scope fails" 1 "$RC"
assert_match "403 names the scope" "DELETE pack ${id:0:12}\\.\\.\\.: the token lacks the delete scope \\(403\\)" \
	"$(cat "$ERR")"
rt "$ALL" laptop delete "$id"
ok "delete"
rt "$ALL" laptop delete "$id"
assert_eq "delete again: VC_R_NOTFOUND" 3 "$RC"
rt "$ALL" laptop stat "$id"
assert_eq "stat of a deleted object: VC_R_NOTFOUND" 3 "$RC"
assert_match "HEAD's 404 without a body is still a sentence" "HEAD pack .*: not found \\(404\\)" \
	"$(cat "$ERR")"
rt "$ALL" laptop get "$id" "$W/obj.got"
assert_eq "get of a deleted object: VC_R_NOTFOUND" 3 "$RC"

# ---- snapshots and the commit invariant ----
note "snapshot with a missing pack"
rt "$ALL" laptop snapshot-missing
ok "snapshot-missing"
assert_match "the 409 is described" "PUT snapshot .*: conflict: the snapshot refers to objects .* \\(409\\)" \
	"$(cat "$OUT")"

# ---- errors a person reads ----
note "error sentences"
bad=vt1_0123456789abcdef_$(printf '0%.0s' {1..64})
rt "$bad" laptop info
assert_eq "a bad token fails" 1 "$RC"
assert_eq "401 sentence" \
	"remote_tool: info: $URL vault laptop: GET vault: the token was refused (401): check VAULT_TOKEN" \
	"$(cat "$ERR")"
rt "$RO" laptop put "$W/obj"
assert_eq "put with a read-only token fails" 1 "$RC"
assert_match "403 names the append scope" \
	"$URL vault laptop: PUT pack ${id:0:12}\\.\\.\\.: the token lacks the append scope \\(403\\)" \
	"$(cat "$ERR")"
rt "$ALL" tiny create
ok "create the vault with a quota"
head -c 20000 /dev/urandom >"$W/big"
rt "$ALL" tiny put "$W/big"
assert_eq "put over the quota fails" 1 "$RC"
assert_match "507 sentence" \
	"$URL vault tiny: PUT pack [0-9a-f]{12}\\.\\.\\.: quota exceeded: vault 'tiny' is over its quota: .* \\(507\\)$" \
	"$(cat "$ERR")"
head -c 1500000 /dev/urandom >"$W/big2"
rt "$ALL" tiny put "$W/big2"
assert_match "507 before a body over 1 MiB is sent" "quota exceeded: .* \\(507\\)" "$(cat "$ERR")"
assert_eq "a 507 is not retried" "" "$(grep -o 'attempts' "$ERR")"
rt "$ALL" tiny info
assert_eq "nothing was stored" "objects 0 bytes 0" "$(cat "$OUT")"
# Port 1 is never listened on here: refused at once, retried, then reported.
t0=$(date +%s%N)
VAULT_RETRY_BASE_MS=10 "$RT" http://127.0.0.1:1 laptop "$ALL" put "$W/obj" >"$OUT" 2>"$ERR"
RC=$?
dt=$((($(date +%s%N) - t0) / 1000000))
assert_eq "an unreachable server fails" 1 "$RC"
assert_match "cannot reach" \
	"cannot reach http://127.0.0.1:1: Connection refused \\(PUT pack .*, 5 attempts\\)" "$(cat "$ERR")"
assert_true "it gives up quickly (${dt} ms)" test "$dt" -lt 3000
for args in "ftp://x laptop $ALL" "http://127.0.0.1:1/v1 laptop $ALL" \
	"http://127.0.0.1:99999 laptop $ALL" "$URL Laptop $ALL" "$URL laptop has\\ space"; do
	# shellcheck disable=SC2086
	eval "\"$RT\" $args info" >"$OUT" 2>"$ERR"
	assert_eq "bad options ($args) fail" 1 "$?"
done
"$RT" "ftp://x" laptop "$ALL" info 2>"$ERR"
assert_match "a bad URL is named" "the URL 'ftp://x' must start with http://" "$(cat "$ERR")"
"$RT" "$URL" Laptop "$ALL" info 2>"$ERR"
assert_match "a bad vault name is named" "'Laptop' is not a vault name" "$(cat "$ERR")"

# ---- the daemon dies mid-way: retries finish the job ----
note "kill -9 and restart during put-many"
rt "$ALL" crash create
ok "create the vault for the crash"
# 60 objects queued 25 ms apart take 1.5 s or more. The daemon is stopped
# first so that transfers are surely in flight (bodies up to 1 MiB go out
# without waiting for 100 Continue) when it is killed; it is down for a while,
# then back on the same port. Backoff from 300 ms gives a job about 3.4 s
# (4 retries) to see it again.
SIZE=500000
REMOTE_TOOL_PACE_MS=25 VAULT_RETRY_BASE_MS=300 "$RT" "$URL" crash "$ALL" put-many 60 $SIZE 4 \
	>"$W/crash.out" 2>"$W/crash.err" &
tool=$!
BG_PIDS+=("$tool")
sleep 0.5
n=$(list_all crash pack | grep -c .)
assert_true "the crash comes mid-way ($n of 60 stored before)" test "$n" -gt 0 -a "$n" -lt 60
kill -STOP "$VAULTD_PID"
sleep 0.3
kill9_vaultd
sleep 0.3
start_vaultd -c "$CONF" -l "127.0.0.1:$PORT"
wait "$tool"
RC=$?
if [ "$RC" == 0 ]; then
	pass_check
	sed 's/^/  .. /' "$W/crash.out"
else
	fail "put-many across a crash exited $RC: $(cat "$W/crash.err")"
fi
sent=$(grep -o '[0-9]* bytes sent' "$W/crash.out" | cut -d' ' -f1)
assert_true "bodies cut off by the crash were sent again (${sent:-?} bytes)" \
	test "${sent:-0}" -gt $((60 * SIZE))
use_token "$ALL"
assert_eq "every object is there after the crash" 60 "$(list_all crash pack | grep -c .)"
assert_eq "objects/.tmp after the crash" 0 "$(tmp_count)"

finish
