#!/usr/bin/env bash
# posture-listen beyond loopback (the posture page has no authentication):
# `vaultd -n` and start-up warn, naming the address; on loopback, or off,
# neither says a word about it.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
printf 'posture-listen 0.0.0.0:0\n' >"$W/open.conf"
printf 'posture-listen [::]:0\n' >"$W/open6.conf"
printf 'posture-listen 127.0.0.1:0\n' >"$W/local.conf"

note "vaultd -n"
out=$("$VAULTD" -n -c "$W/open.conf" 2>&1)
assert_eq "vaultd -n still accepts the file" 0 "$?"
assert_match "vaultd -n warns about 0.0.0.0" \
	"warning: posture-listen 0.0.0.0:0 is not a loopback address.*no authentication" "$out"
out=$("$VAULTD" -n -c "$W/open6.conf" 2>&1)
assert_match "vaultd -n warns about [::]" "warning: posture-listen \[::\]:0 is not a loopback" "$out"
out=$("$VAULTD" -n -c "$W/local.conf" 2>&1)
assert_eq "vaultd -n on loopback: no warning" 0 "$(grep -c warning <<<"$out")"

note start-up
start_vaultd -c "$W/open.conf"
assert_match "start-up warns" "vaultd: warning: posture-listen 0.0.0.0:0 is not a loopback address" \
	"$(cat "$VAULTD_LOG")"
stop_vaultd
start_vaultd -c "$W/local.conf"
assert_eq "start-up on loopback: no warning" 0 "$(grep -c 'warning: posture-listen' "$VAULTD_LOG")"
stop_vaultd
finish
