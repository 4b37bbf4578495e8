#!/usr/bin/env bash
# The daemon's log (spec/logging.md) with the real daemon: no token and no
# query value reaches it, however the request carries them (query, path,
# percent-encoded, upper case, a request line that does not parse, an
# HTTP version refused with 505); every request is one line in the
# documented format; log-to syslog (file or flag) sends nothing to stderr.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"

start_vaultd # lib.sh starts it with -v: every request is logged
new_tenant acme
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"
create_vault v
SECRET=${ADMIN:21}
TID=${ADMIN:4:16}
id=$(rand_file "$W/obj" 1000)
put_object v pack "$W/obj"

# ---- the request line format ----
note format
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/v/objects/pack/$id"
assert_match "a request line" "^vaultd: request GET /v1/vaults/v/objects/pack/$id 200\$" \
	"$(grep 'request GET /v1/vaults/v/objects/pack/' "$VAULTD_LOG" | tail -1)"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/v/objects/pack?limit=5"
assert_match "query values are redacted" '^vaultd: request GET /v1/vaults/v/objects/pack\?limit=<redacted> 200$' \
	"$(grep 'request GET /v1/vaults/v/objects/pack?' "$VAULTD_LOG" | tail -1)"

# ---- tokens, wherever the request puts them ----
note tokens
UP=$(printf '%s' "$ADMIN" | tr 'a-z' 'A-Z')
ENC=$(printf '%s' "$ADMIN" | sed 's/^vt1_/%76%74%31%5f/')
for target in \
	"/v1/vaults/v/objects/pack?token=$ADMIN" \
	"/v1/vaults/v/objects/pack?after=$ADMIN&limit=2" \
	"/v1/vaults/v/objects/pack?$ADMIN" \
	"/v1/vaults/$ADMIN" \
	"/v1/vaults/v/objects/pack/$ADMIN" \
	"/v1/$UP/x" \
	"/v1/vaults/$ENC" \
	"/v1/vaults/x$ADMIN" \
	"/v1/capabilities?t=$ADMIN" \
	"/$ADMIN?$ADMIN=$ADMIN"; do
	http --path-as-is "${AUTH[@]}" "$URL$target" >/dev/null
	http --path-as-is "$URL$target" >/dev/null
done
# Request lines that do not parse, or a version that is refused.
printf 'GET /v1/vaults/%s HTTP/2.0\r\nHost: t\r\n\r\n' "$ADMIN" | raw_http 5
printf 'GET /v1/vaults/%s\r\nHost: t\r\n\r\n' "$ADMIN" | raw_http 5
printf 'GET /v1/vaults %s HTTP/1.1\r\nHost: t\r\n\r\n' "$ADMIN" | raw_http 5
printf 'GET /v1/%s HTTP/1.1\r\nHost: t\r\nX: \x01\r\n\r\n' "$ADMIN" | raw_http 5
printf '%s /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\n' "$ADMIN" | raw_http 5
sleep 0.3
assert_eq "the secret never reaches the log" 0 "$(grep -c -i "$SECRET" "$VAULTD_LOG")"
assert_eq "nor the token ID" 0 "$(grep -c -i "$TID" "$VAULTD_LOG")"
assert_eq "nor vt1_ in any form" 0 "$(grep -c -i 'vt1_\|vt1%5f\|%76%74%31' "$VAULTD_LOG")"
assert_match "the lines are there, redacted" \
	'request GET /v1/vaults/v/objects/pack\?token=<redacted> 40[01]' "$(cat "$VAULTD_LOG")"
assert_match "a token in the path is redacted" 'request GET /v1/vaults/<redacted> 40[014]' \
	"$(cat "$VAULTD_LOG")"
assert_match "the refused version is logged without its target" 'request - - 505' \
	"$(cat "$VAULTD_LOG")"

# ---- log-to syslog: nothing more on stderr ----
note log-to
stop_vaultd
printf 'log-to syslog\n' >"$W/syslog.conf"
printf 'log-to stderr\n' >"$W/stderr.conf"
printf 'log-to file\n' >"$W/bad.conf"
out=$("$VAULTD" -n -c "$W/bad.conf" 2>&1)
assert_ne "log-to file is refused" 0 "$?"
assert_match "the error names the word" "bad.conf:1: .*'file'" "$out"
out=$(timeout 10 "$VAULTD" -d "$W/never" -l 127.0.0.1:0 --log-to file 2>&1)
assert_ne "--log-to file is refused" 0 "$?"
start_vaultd --log-to syslog
expect_status 200 "$URL/v1/capabilities"
sleep 0.2
assert_eq "--log-to syslog: no request line on stderr" 0 \
	"$(grep -c 'request GET /v1/capabilities' "$VAULTD_LOG")"
stop_vaultd
cp "$W/stderr.conf" "$W/live.conf"
start_vaultd -c "$W/live.conf"
expect_status 200 "$URL/v1/capabilities"
cp "$W/syslog.conf" "$W/live.conf"
kill -HUP "$VAULTD_PID"
sleep 1
n=$(grep -c 'request GET /v1/capabilities' "$VAULTD_LOG")
expect_status 200 "$URL/v1/capabilities"
sleep 0.2
assert_eq "log-to syslog after a reload: no new line on stderr" "$n" \
	"$(grep -c 'request GET /v1/capabilities' "$VAULTD_LOG")"
stop_vaultd
finish
