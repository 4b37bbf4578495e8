#!/usr/bin/env bash
# Scrub and repair between two real daemons (spec/scrub.md). A source vaultd
# replicates tenant acme's vault main to a target vaultd; vault solo has no
# replication. Checked:
#   - once replicated, a byte flipped in a stored copy on the source's disk
#     never reaches a client, and GET keeps serving the right bytes: with
#     verify-before-send, a whole GET hashes the copy first and repairs it
#     from the replica (target dr) before answering (a small object, one of
#     several stream chunks, the config blob), and the file on disk hashes
#     to its ID again;
#   - a damaged copy with no good copy anywhere (vault solo) answers 503,
#     whole or ranged, with the reason;
#   - `vaultctl scrub` finds the damage no GET touched, repairs it from the
#     replica, leaves solo's unrepaired, records the last full scrub time;
#   - a second scrub finds nothing new (only the unrepaired copy).
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"

two_daemons

# ---- the target -------------------------------------------------------
DATA=$TEST_TMP/target
start_vaultd
TPORT=$PORT
new_tenant dr
use_token "$(new_token dr --scopes all)"
create_vault main
printf '%s\n' "$(new_token dr --scopes read,append,delete)" >"$W/token"
save_as T

# ---- the source -------------------------------------------------------
cat >"$W/source.conf" <<EOF
scrub-rate 20M
verify-before-send 64M
target dr {
    type vault
    url http://127.0.0.1:$TPORT
    token-file $W/token
}
policy rep {
    replicate-to dr
    copies 2
}
policy plain {
    copies 1
}
tenant acme {
    policy rep
    vault solo {
        policy plain
    }
}
EOF
DATA=$TEST_TMP/source
VAULTD_PID=
out=$("$VAULTD" -n -c "$W/source.conf" 2>&1)
assert_eq "vaultd -n accepts scrub-rate and copies ($out)" 0 $?
start_vaultd -c "$W/source.conf"
use_token "$(new_token acme --scopes all)"
create_vault main
create_vault solo
save_as S

# upload VAULT N SIZE NAME: N random packs; files NAME.0.. and NAME.ids
upload() {
	local i f
	for ((i = 0; i < $2; i++)); do
		f=$W/$4.$i
		head -c "$3" /dev/urandom >"$f"
		put_object "$1" pack "$f" >/dev/null
		sha256 "$f" >>"$W/$4.ids"
	done
}
# queue_of TARGET: the target's queue length in the source's status.
queue_of() {
	vctl --json status | grep -o "{\"target\":\"$1\",[^}]*}" | grep -o '"queue":[0-9]*' |
		cut -d: -f2
}
# file_of ID: the source's stored file of pack ID.
file_of() {
	find "$S_DATA/objects" -type f -name "$1" | head -1
}
# flip FILE OFFSET: changes one byte of FILE in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $(((b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# whole_get VAULT ID OUT: GET into OUT; prints curl's exit status.
whole_get() {
	local rc
	curl -s -f --max-time 30 -o "$3" "${AUTH[@]}" "$URL/v1/vaults/$1/objects/pack/$2"
	rc=$?
	echo "$rc"
}

upload main 6 5000 small
upload main 1 $((3 << 20)) big
upload solo 2 4000 solo
head -c 300 /dev/urandom >"$W/config"
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/config" "$URL/v1/vaults/main/config" \
	>/dev/null
for ((i = 0; i < 240; i++)); do
	[ "$(queue_of dr)" == 0 ] && break
	sleep 0.25
done
assert_eq "everything is replicated" 0 "$(queue_of dr)"

A=$(sed -n 1p "$W/small.ids")
B=$(sed -n 1p "$W/big.ids")
C=$(sed -n 1p "$W/solo.ids")
fa=$(file_of "$A")
fb=$(file_of "$B")
fc=$(file_of "$C")
fconf=$(find "$S_DATA/objects" -type f -path '*/config' | head -1)
assert_true "the stored files are found" [ -f "$fa" -a -f "$fb" -a -f "$fc" -a -f "$fconf" ]

D=$(sed -n 3p "$W/small.ids")
fd=$(file_of "$D")
assert_true "and D's" [ -f "$fd" ]

# ---- corruption, then GETs: a bad copy is repaired before it is served ----
note "flip a byte of five stored copies"
flip "$fa" 100
flip "$fb" $(((3 << 20) - 10))   # in the last of three stream chunks
flip "$fc" 0
flip "$fd" 4000
flip "$fconf" 299
assert_ne "the flipped file no longer hashes to its ID" "$A" "$(sha256 "$fa")"

for v_id in "main $A" "main $B"; do
	set -- $v_id
	rc=$(whole_get "$1" "$2" "$W/got")
	assert_eq "a whole GET of the damaged copy of $2 succeeds" 0 "$rc"
	assert_eq "with the right bytes: it was repaired from the replica first" "$2" \
		"$(sha256 "$W/got")"
done
assert_eq "the file of A on disk is correct again" "$A" "$(sha256 "$fa")"
assert_eq "the file of B on disk is correct again" "$B" "$(sha256 "$fb")"
assert_match "the repairs are logged" "repaired $A from target dr" "$(cat "$S_LOG")"
assert_eq "GET of the damaged config" 200 "$(http "${AUTH[@]}" "$URL/v1/vaults/main/config")"
assert_same_file "serves the right bytes" "$W/config" "$BODY"
assert_same_file "and the config file on disk is correct again" "$W/config" "$fconf"
rc=$(whole_get solo "$C" "$W/got")
assert_ne "a damaged copy with no good copy anywhere is not served" 0 "$rc"
code=$(http "${AUTH[@]}" "$URL/v1/vaults/solo/objects/pack/$C")
assert_eq "it answers 503" 503 "$code"
assert_match "with a clear message" "failed verification" "$(cat "$BODY")"
assert_match "that names the missing replica" "replica" "$(cat "$BODY")"
assert_match "and a retry hint" "Retry-After" "$(cat "$HDRS")"
code=$(http "${AUTH[@]}" -o /dev/null -r 0-9 "$URL/v1/vaults/solo/objects/pack/$C")
assert_eq "nor a range of it" 503 "$code"
code=$(http "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$(sed -n 2p "$W/small.ids")")
assert_eq "a healthy neighbour is still served" 200 "$code"

posture=$(vctl --json posture acme main)
assert_match "posture: main has no bad copy known before the scrub" '"bad_copies":0' \
	"$posture"
posture=$(vctl --json posture acme solo)
assert_match "posture: solo has one" '"bad_copies":1' "$posture"

# ---- scrub: finds and repairs what no GET touched ---------------------------
note "vaultctl scrub"
before=$(date +%s)
out=$(vctl --json scrub acme)
assert_eq "scrub answers ok" 0 $?
assert_eq "scrub: vaults" 2 "$(json_num vaults "$out")"
assert_eq "scrub: vaults read in full" 2 "$(json_num vaults_full "$out")"
assert_eq "scrub: objects (and the config)" 10 "$(json_num objects "$out")"
assert_eq "scrub: bad copies (D, and C again)" 2 "$(json_num bad "$out")"
assert_eq "scrub: repaired" 1 "$(json_num repaired "$out")"
assert_eq "scrub: unrepaired" 1 "$(json_num unrepaired "$out")"
assert_match "the repair of D came from the replica" \
	"\"id\":\"$D\",\"backend\":0,\"reason\":\"SHA-256 mismatch[^\"]*\",\"repaired\":true,\"source\":\"target dr\"" \
	"$out"
assert_match "C is reported unrepaired, with the reason" \
	"\"id\":\"$C\",[^}]*\"repaired\":false,\"source\":\"\",\"repair_error\":\"no good copy" "$out"
assert_eq "the file of D on disk is correct again" "$D" "$(sha256 "$fd")"
assert_ne "the file of C is still bad" "$C" "$(sha256 "$fc")"
get_object main pack "$D" "$W/got" 200
assert_eq "GET serves D's right bytes" "$D" "$(sha256 "$W/got")"
code=$(http "${AUTH[@]}" "$URL/v1/vaults/solo/objects/pack/$C")
assert_eq "the unrepaired copy answers 503" 503 "$code"

posture=$(vctl --json posture acme main)
t=$(printf '%s' "$posture" | grep -o '"last_full":[0-9]*' | cut -d: -f2)
assert_true "the last full scrub time is set ($t)" [ "${t:-0}" -ge "$before" ]
assert_match "main has no bad copies left" '"bad_copies":0' "$posture"
assert_match "every object of main has its 2 copies" '"want":2,"objects":7,"under":0' \
	"$posture"
posture=$(vctl --json posture acme solo)
assert_match "solo: one bad copy left" '"bad_copies":1' "$posture"
assert_match "solo: one object under its 1 copy" '"want":1,"objects":2,"under":1' "$posture"

# ---- the text report and a second pass ---------------------------------------
out=$(vctl scrub acme)
assert_match "text: the summary line" "scrubbed 2 vault\\(s\\) \\(2 fully\\)" "$out"
assert_match "text: the unrepaired copy" "NOT repaired: no good copy" "$out"
out=$(vctl --json scrub acme main)
assert_eq "a second pass of main finds nothing bad" 0 "$(json_num bad "$out")"
out=$(vctl --json scrub acme nosuch)
assert_match "an unknown vault is an error" "no vault named" "$out"

# ---- the rate cap ----------------------------------------------------------
# main holds about 3 MiB; at 1M a second a pass takes 2 s or more (the
# bucket starts with one second's worth).
sed -i 's/^scrub-rate 20M/scrub-rate 1M/' "$W/source.conf"
kill -HUP "$VAULTD_PID"
sleep 1
t0=$(date +%s%N)
vctl --json scrub acme main >/dev/null
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
assert_true "scrub-rate 1M holds a 3 MiB pass to >= 1.8 s (took $ms ms)" [ "$ms" -ge 1800 ]

use T
stop_vaultd
use S
stop_vaultd
finish
