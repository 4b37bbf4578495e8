#!/usr/bin/env bash
# The backup posture (spec/posture.md): `vaultctl posture` in text and JSON,
# and the posture page checked in headless Chromium. One vaultd; tenant
# acme has vault daily (rpo 1h, a fresh snapshot: RPO met) and vault old
# (rpo 1s, its snapshot ages past it: RPO missed; replicated to a target
# that is down: lag, queue and the connection error show; copies 2 with
# no replica yet: every object is under-copied). Checked:
#   - JSON fields: rpo_met, rpo_missed_by, rpo_text, snapshots, objects,
#     bytes, replication (queue, oldest_pending_age, last_error), scrub
#     last_full (null before, set after `vaultctl scrub`), copies, policy
#     summary, state and problems;
#   - the text report says "RPO met" and "RPO missed by";
#   - GET /posture and /posture/acme/old in Chromium (--dump-dom) show the
#     vault names, "RPO missed" for the stale one and the red and green
#     state cells; --screenshot writes a real PNG; /posture.json is the
#     report; unknown paths get 404 and non-GET 405; the listener binds
#     to the address given.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
	fail "chromium is not installed (scripts/install-deps.sh installs it)"
	finish
fi

# A port nothing listens on: the replication target is down.
DEAD=$(rand_between 20000 29999)
printf 'vt1_0000000000000000_%064d\n' 0 >"$W/token"
cat >"$W/vaultd.conf" <<EOF
posture-listen 127.0.0.1:0
target dr {
    type vault
    url http://127.0.0.1:$DEAD
    token-file $W/token
}
policy fresh {
    rpo 1h
    copies 1
    keep-last 7
}
policy stale {
    rpo 1s
    copies 2
    lock 1d
    quota 1G
    replicate-to dr
}
tenant acme {
    vault daily {
        policy fresh
    }
    vault old {
        policy stale
    }
}
EOF
start_vaultd -c "$W/vaultd.conf"
use_token "$(new_token acme --scopes all)"
create_vault daily
create_vault old

# snapshot VAULT NAME: a pack and a snapshot envelope that refers to it.
snapshot() {
	local id
	head -c 3000 /dev/urandom >"$W/$2.pack"
	put_object "$1" pack "$W/$2.pack" >/dev/null
	id=$(sha256 "$W/$2.pack")
	envelope "$W/$2.snap" "$(date +%s)" "$GROUP" "body of $2" "0:$id"
	put_object "$1" snapshot "$W/$2.snap" >/dev/null
}
snapshot old o1
snapshot daily d1
snapshot daily d2
sleep 2.2  # old's only snapshot is now older than its rpo of 1s

# ---- JSON -------------------------------------------------------------
out=$(vctl --json posture acme)
assert_eq "posture answers ok" 0 $?
daily=$(printf '%s' "$out" | grep -o '{"tenant":"acme","vault":"daily".*' | sed 's/,{"tenant":"acme","vault":"old".*//')
old=$(printf '%s' "$out" | grep -o '{"tenant":"acme","vault":"old".*')
assert_ne "daily is in the report" "" "$daily"
assert_ne "old is in the report" "" "$old"
assert_match "daily: RPO met" '"rpo_met":true' "$daily"
assert_match "daily: rpo_text" '"rpo_text":"RPO met"' "$daily"
assert_match "daily: state ok" '"state":"ok"' "$daily"
assert_eq "daily: snapshots" 2 "$(json_num snapshots "$daily")"
assert_eq "daily: objects" 4 "$(json_num objects "$daily")"
assert_match "daily: bytes" '"bytes":[1-9][0-9]*' "$daily"
assert_match "old: RPO missed" '"rpo_met":false' "$old"
m=$(json_num rpo_missed_by "$old")
assert_true "old: missed by at least 1 s ($m)" [ "${m:-0}" -ge 1 ]
assert_match "old: rpo_text" '"rpo_text":"RPO missed by [0-9]+s"' "$old"
assert_match "old: state attention" '"state":"attention"' "$old"
assert_match "old: the replication target is listed" '"replication":\[\{"target":"dr"' "$old"
assert_eq "old: two objects queued for dr" 2 "$(json_num queue "$old")"
lag=$(json_num oldest_pending_age "$old")
assert_true "old: replication lag grows ($lag s)" [ "${lag:-0}" -ge 2 ]
for ((i = 0; i < 40; i++)); do
	old=$(vctl --json posture acme old)
	printf '%s' "$old" | grep -q '"last_error":"[^"]*onnect' && break
	sleep 0.25
done
assert_match "old: the target's connection error" '"last_error":"[^"]*onnect' "$old"
assert_match "old: under-copied objects" '"want":2,"objects":2,"under":2' "$old"
assert_match "old: scrub never ran" '"last_full":null' "$old"
assert_match "old: policy summary" \
	'"policy":"policy stale: keep everything; lock 1d; quota 1G; replicate-to dr; tier none; rpo 1s; copies 2"' \
	"$old"
assert_match "daily: policy summary" '"policy":"policy fresh: keep last 7; lock none; quota none; replicate-to none; tier none; rpo 1h; copies 1"' \
	"$daily"
assert_match "old: problems name the RPO" '"problems":\["RPO missed by' "$old"

before=$(date +%s)
vctl scrub acme >/dev/null
old=$(vctl --json posture acme old)
t=$(printf '%s' "$old" | grep -o '"last_full":[0-9]*' | cut -d: -f2)
assert_true "old: last full scrub set by the scrub ($t)" [ "${t:-0}" -ge "$before" ]

out=$(vctl --json posture nosuch)
assert_match "an unknown tenant is an error" '"ok":false' "$out"

# ---- text -------------------------------------------------------------
txt=$(vctl posture acme)
assert_match "text: daily OK" "acme/daily: OK" "$txt"
assert_match "text: RPO met" "RPO met" "$txt"
assert_match "text: old needs attention" "acme/old: ATTENTION" "$txt"
assert_match "text: RPO missed by" "RPO missed by [0-9]+s" "$txt"
assert_match "text: replication lag" "replication +dr: queue 2, failed 0, lag [0-9]+s" "$txt"
assert_match "text: last full scrub" "last full scrub [0-9]{4}-" "$txt"

# ---- the page -----------------------------------------------------------
PPORT=$(sed -n 's|.*posture page on http://127.0.0.1:\([0-9]*\)/posture.*|\1|p' "$VAULTD_LOG")
assert_match "the page's port is logged" '^[0-9]+$' "$PPORT"
P=http://127.0.0.1:$PPORT
assert_eq "GET /posture" 200 "$(http "$P/posture")"
assert_match "text/html" "Content-Type: text/html" "$(cat "$HDRS")"
assert_eq "GET /posture.json" 200 "$(http "$P/posture.json")"
assert_match "the JSON report" '"vault":"old"' "$(cat "$BODY")"
assert_eq "GET /posture/acme/old.json" 200 "$(http "$P/posture/acme/old.json")"
assert_eq "only old" "" "$(grep -o '"vault":"daily"' "$BODY")"
assert_eq "an unknown vault: 404" 404 "$(http "$P/posture/acme/nosuch")"
assert_eq "an unknown path: 404" 404 "$(http "$P/other")"
assert_eq "a POST: 405" 405 "$(http -X POST "$P/posture")"
assert_ne "it is not on another address" 200 "$(http --max-time 2 "http://127.0.0.2:$PPORT/posture")"

chrome() {
	timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$(mktemp -d "$W/chrome.XXXXXX")" "$@" 2>>"$W/chrome.log"
}
dom=$(chrome --dump-dom "$P/posture")
assert_match "DOM: the title" "<h1>Backup posture</h1>" "$dom"
assert_match "DOM: vault daily" "<td>daily</td>" "$dom"
assert_match "DOM: vault old" "<td>old</td>" "$dom"
assert_match "DOM: RPO missed for old" '<span class="miss">RPO missed by [0-9]+s</span>' "$dom"
assert_match "DOM: RPO met for daily" '<span class="met">RPO met</span>' "$dom"
assert_match "DOM: a green cell" '<td class="state ok">OK</td>' "$dom"
assert_match "DOM: a red cell" '<td class="state bad">ATTENTION</td>' "$dom"
assert_match "DOM: the lag" "dr: queue 2, failed 0, lag [0-9]+ s" "$dom"
assert_match "DOM: the policy line" "policy stale: keep everything" "$dom"
dom=$(chrome --dump-dom "$P/posture/acme/old")
assert_match "DOM of one vault: old" "<td>old</td>" "$dom"
assert_eq "DOM of one vault: not daily" "" "$(printf '%s' "$dom" | grep -o '<td>daily</td>')"
rm -f "$W/posture.png"
chrome --window-size=1400,600 --screenshot="$W/posture.png" "$P/posture" >/dev/null
assert_true "the screenshot exists" [ -s "$W/posture.png" ]
assert_eq "it is a PNG" "89504e470d0a1a0a" "$(od -An -tx1 -N8 "$W/posture.png" | tr -d ' \n')"
sz=$(file_size "$W/posture.png")
assert_true "it is not trivial ($sz bytes)" [ "${sz:-0}" -gt 20000 ]
if [ -n "${POSTURE_PNG:-}" ]; then cp "$W/posture.png" "$POSTURE_PNG"; fi

stop_vaultd
finish
