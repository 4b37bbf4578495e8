#!/usr/bin/env bash
# SIGHUP and every directive of spec/vaultd.conf.md ("Reload"): each either
# applies to new work after a reload, which is checked by its effect (or,
# where the effect takes minutes, by the value the daemon reports in force),
# or the reload logs it by name as needing a restart. One row per directive;
# each row starts from the base file, changes one thing and reloads.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W" "$W/cold" "$W/arch"
CONF=$W/vaultd.conf
printf 'vt1_0000000000000000_%064d\n' 0 >"$W/dr.token"
printf '[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n' >"$W/s3.creds"

# The base file; each variable is one line (or block) a row may change.
base() {
	L_LISTEN="listen 127.0.0.1:1"         # the tests listen where -l says
	L_DATA="data $DATA"
	L_MAXOBJ="max-object-size 1M"
	L_RESERVE="reserve 0"
	L_VBS=""
	L_HDR="header-timeout 10s"
	L_IDLE="idle-timeout 60s"
	L_BODY="body-timeout 30s"
	L_MAXCONN="max-connections 100"
	L_WORKERS="replicate-workers 4"
	L_BW="replicate-bandwidth 0"
	L_SCRUB="scrub-rate 50M"
	L_POSTURE=""
	B_HOT="type fs
    path $DATA/objects"
	B_COLD="type archive
    path $W/arch
    cartridge-size 1G"
	B_EXTRA=""
	T_EXTRA=""
	P_BODY="keep-last 3
    lock 1h
    rpo 1d"
	TENANT_EXTRA=""
	TN_POLICY="policy p"
	TN_QUOTA="quota 1T"
	V_POLICY="policy p"
	V_QUOTA="quota 1T"
}

write_conf() {
	cat >"$CONF" <<EOF
$L_LISTEN
$L_DATA
$L_MAXOBJ
$L_RESERVE
$L_VBS
$L_HDR
$L_IDLE
$L_BODY
$L_MAXCONN
$L_WORKERS
$L_BW
$L_SCRUB
$L_POSTURE
backend hot {
    $B_HOT
}
backend cold {
    $B_COLD
}
$B_EXTRA
target dr {
    type vault
    url http://127.0.0.1:1
    token-file $W/dr.token
}
$T_EXTRA
policy p {
    $P_BODY
}
policy q {
    keep-daily 9
}
tenant acme {
    $TN_POLICY
    $TN_QUOTA
    vault v {
        $V_POLICY
        $V_QUOTA
    }
}
$TENANT_EXTRA
EOF
}

# reload: writes the file, sends SIGHUP and waits for the answer in the log.
# Sets RELOAD_LOG to what this reload logged.
RELOADS=0
reload() {
	local before i
	write_conf
	before=$(wc -l <"$VAULTD_LOG")
	kill -HUP "$VAULTD_PID"
	RELOADS=$((RELOADS + 1))
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'vaultd: reloaded\|vaultd: reload: .*keeping' "$VAULTD_LOG")" -ge "$RELOADS" ] && break
		sleep 0.05
	done
	RELOAD_LOG=$(tail -n +"$((before + 1))" "$VAULTD_LOG" | grep 'vaultd: reload')
	if ! grep -q 'vaultd: reloaded' <<<"$RELOAD_LOG"; then
		fail "reload $RELOADS was not logged as done: $RELOAD_LOG"
	fi
}

# restart_named WHAT: the last reload named WHAT among what needs a restart.
restart_named() {
	assert_match "reload names '$1' as needing a restart" \
		"need a restart.*: (.*, )?$1(,|\$| )" "$(grep 'need a restart' <<<"$RELOAD_LOG")"
}
no_restart_named() {
	if grep -q 'need a restart' <<<"$RELOAD_LOG"; then
		fail "$1: the reload says a restart is needed: $RELOAD_LOG"
	else
		pass_check
	fi
}

# policy_line: the posture report's policy summary of acme/v.
policy_line() {
	vctl --json posture acme v | grep -o '"policy":"[^"]*"'
}

base
write_conf
out=$("$VAULTD" -n -c "$CONF" 2>&1)
assert_eq "vaultd -n accepts the base file: $out" 0 "$?"
start_vaultd -c "$CONF"
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"
create_vault v
head -c $((2 * 1024 * 1024)) /dev/urandom >"$W/2m"
head -c 1000 /dev/urandom >"$W/small"
# fresh: a new small file (an object already stored is answered 200 before
# any limit is checked, so each limit test needs a new one).
N=0
fresh() {
	N=$((N + 1))
	head -c 1000 /dev/urandom >"$W/f$N"
	printf '%s\n' "$W/f$N"
}

# ---- max-object-size (the reported bug: 8M after 1M still gave 413) ----
note max-object-size
put_object v pack "$W/2m" 413
L_MAXOBJ="max-object-size 8M"
reload
no_restart_named max-object-size
put_object v pack "$W/2m" 201
assert_match "the reload reports the limit in force" "max-object-size 8388608" "$RELOAD_LOG"
base

# ---- reserve ----
note reserve
L_RESERVE="reserve 1000000T"
reload
put_object v pack "$W/small" 507
base
reload
put_object v pack "$W/small" 201

# ---- verify-before-send ----
note verify-before-send
# damaged_copy: stores a new object (under max-object-size 1M), flips a bit of its copy on disk
# and prints its ID.
damaged_copy() {
	local f id path byte
	f=$W/d$RANDOM
	head -c 900000 /dev/urandom >"$f"
	id=$(sha256 "$f")
	put_object v pack "$f" 201 >/dev/null
	path=$(find "$DATA/objects" -type f -name "$id" | head -1)
	byte=$(dd if="$path" bs=1 skip=10 count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$path" bs=1 seek=10 conv=notrunc status=none
	printf '%s\n' "$id"
}
id=$(damaged_copy)
curl -s --max-time 30 "${AUTH[@]}" -o /dev/null "$URL/v1/vaults/v/objects/pack/$id"
assert_eq "default (0): a damaged copy is checked as it streams and cut short" 18 "$?"
L_VBS="verify-before-send 1M"
reload
no_restart_named verify-before-send
assert_match "the reload reports it" "verify-before-send 1048576" "$RELOAD_LOG"
id=$(damaged_copy)
expect_status 503 "${AUTH[@]}" "$URL/v1/vaults/v/objects/pack/$id" >/dev/null
assert_match "1M after a reload: hashed before the answer, refused before a byte" \
	"failed verification" "$(cat "$BODY")"
base
reload

# ---- header-timeout, idle-timeout, body-timeout ----
note timeouts
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n' | raw_http 4
assert_eq "header-timeout 10s: no answer within 4 s" 124 "$?"
L_HDR="header-timeout 1s"
reload
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n' | raw_http 4
assert_eq "header-timeout 1s after a reload: answered and closed" "0 408" "$? $(raw_statuses | head -1)"
base
: | raw_http 3
assert_eq "idle-timeout 60s: open after 3 s" 124 "$?"
L_IDLE="idle-timeout 1s"
reload
: | raw_http 4
assert_eq "idle-timeout 1s after a reload: closed" 0 "$?"
base
id=$(sha256 "$(fresh)") # not stored: the daemon waits for the body
printf 'PUT /v1/vaults/v/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\nxx' \
	"$id" "$ADMIN" | raw_http 4
assert_eq "body-timeout 30s: no answer within 4 s" 124 "$?"
L_BODY="body-timeout 1s"
reload
printf 'PUT /v1/vaults/v/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\nxx' \
	"$id" "$ADMIN" | raw_http 4
assert_eq "body-timeout 1s after a reload: answered" "408" "$(raw_statuses | head -1)"
base

# ---- max-connections ----
note max-connections
L_MAXCONN="max-connections 1"
reload
exec {held}<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.2
expect_status 503 "$URL/v1/capabilities"
exec {held}>&-
base
reload
expect_status 200 "$URL/v1/capabilities"

# ---- replicate-workers, replicate-bandwidth (the engine reports them) ----
note replication settings
L_WORKERS="replicate-workers 7"
L_BW="replicate-bandwidth 5M"
reload
st=$(vctl --json status)
assert_match "replicate-workers in force" '"workers":7' "$st"
assert_match "replicate-bandwidth in force" '"bandwidth":5242880' "$st"
base

# ---- scrub-rate (a run reads at it; the reload reports it) ----
note scrub-rate
L_SCRUB="scrub-rate 3M"
reload
no_restart_named scrub-rate
assert_match "scrub-rate in force" "scrub-rate 3145728" "$RELOAD_LOG"
base

# ---- target blocks: a target added by a reload can be used ----
note target
out=$(vctl replicate acme v dr2 2>&1)
assert_ne "no target dr2 yet" 0 "$?"
T_EXTRA="target dr2 {
    type vault
    url http://127.0.0.1:2
    vault elsewhere
    token-file $W/dr.token
}
target off {
    type s3
    endpoint http://127.0.0.1:3
    region eu-1
    bucket b
    prefix p/
    path-style yes
    credentials-file $W/s3.creds
}"
reload
no_restart_named target
out=$(vctl replicate acme v dr2 2>&1)
assert_eq "a vault target added by a reload is known: $out" 0 "$?"
out=$(vctl replicate acme v off 2>&1)
assert_eq "an s3 target added by a reload is known: $out" 0 "$?"
base

# ---- policy blocks: every directive shows in the policy in force ----
note policy
# row: DIRECTIVE-LINES | what the posture summary must then say
rows=(
	"keep-last 5|keep last 5"
	"keep-hourly 6|keep hourly 6"
	"keep-daily 7|keep daily 7"
	"keep-weekly 8|keep weekly 8"
	"keep-monthly 9|keep monthly 9"
	"keep-yearly 2|keep yearly 2"
	"keep-within 3d|keep within 3d"
	"lock 2h|lock 2h"
	"quota 5G|quota 5G"
	"replicate-to dr|replicate-to dr;"
	"tier-to cold
    tier-after 2d|tier to cold after 2d"
	"tier-to cold
    tier-idle 4d|tier to cold idle 4d"
	"rpo 2h|rpo 2h"
	"copies 4|copies 4"
	"scrub-every 9d|scrub every 9d"
	"gc-every 5h|gc every 5h"
	"gc-grace 3d|gc-grace 3d"
)
for row in "${rows[@]}"; do
	V_QUOTA=""
	P_BODY=${row%%|*}
	reload
	no_restart_named "policy: ${row%%|*}"
	assert_match "policy after a reload: ${row%%|*}" "${row#*|}" "$(policy_line)"
done
base

# ---- tenant and vault blocks ----
note tenant and vault
TENANT_EXTRA="tenant newco {
}"
reload
assert_match "a tenant block added by a reload exists" "newco" "$(vctl tenant list 2>&1)"
base
TN_QUOTA="quota 10"
reload
put_object v pack "$(fresh)" 507
base
V_QUOTA="quota 10"
reload
put_object v pack "$(fresh)" 507
base
V_POLICY="policy q"
V_QUOTA=""
reload
assert_match "a vault's policy after a reload" "policy q: keep daily 9" "$(policy_line)"
base
V_POLICY=""
V_QUOTA=""
TN_POLICY="policy q"
reload
assert_match "a tenant's policy after a reload" "policy q: keep daily 9" "$(policy_line)"
base
V_QUOTA="quota 7G"
reload
assert_match "a vault's quota after a reload" "quota 7G" "$(policy_line)"
base

# ---- what only a restart applies is named, and nothing else is lost ----
note restart-only
L_LISTEN="listen 127.0.0.1:2"
reload
restart_named listen
L_LISTEN="listen 127.0.0.1:1
listen [::1]:1"
reload
restart_named listen
base
L_DATA="data $W/otherdata"
reload
restart_named data
base
B_HOT="type fs
    path $W/elsewhere"
reload
restart_named "backend hot"
base
for change in "type fs" "path $W/arch2" "cartridge-size 2G"; do
	B_COLD="type archive
    path $W/arch
    cartridge-size 1G"
	case $change in
	type*) B_COLD="type fs
    path $W/arch" ;;
	path*) B_COLD=${B_COLD/path $W\/arch/$change} ;;
	*) B_COLD=${B_COLD/cartridge-size 1G/$change} ;;
	esac
	reload
	restart_named "backend cold"
done
base
B_EXTRA="backend s3cold {
    type s3
    endpoint http://127.0.0.1:4
    region r
    bucket b
    prefix x/
    path-style yes
    credentials-file $W/s3.creds
}"
reload
restart_named "backend s3cold \\(added\\)"
base
L_POSTURE="posture-listen 127.0.0.1:0"
reload
restart_named posture-listen
# A reload that needs a restart for some settings still applies the others.
L_MAXOBJ="max-object-size 8M"
L_LISTEN="listen 127.0.0.1:3"
reload
restart_named listen
head -c $((3 * 1024 * 1024)) /dev/urandom >"$W/3m"
put_object v pack "$W/3m" 201
assert_match "the restart message says what stays in force" "the ones vaultd started with" \
	"$RELOAD_LOG"
base
reload
no_restart_named "the base file again"

# ---- command-line flags still win over the file after a reload ----
note flags
restart_vaultd -c "$CONF" --max-object-size 100
RELOADS=0
put_object v pack "$(fresh)" 413
L_MAXOBJ="max-object-size 8M"
reload
put_object v pack "$(fresh)" 413
base

stop_vaultd
finish
