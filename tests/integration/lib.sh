# Helpers for vaultd's integration tests. Sourced by every test_*.sh.
#
# A test sources this file, calls start_vaultd, makes its checks with the
# assert helpers (each failed check prints what went wrong and is counted),
# and ends with `finish`, which exits 1 if any check failed. Only tools of a
# plain Debian system are used: bash (with /dev/tcp), curl, coreutils,
# sha256sum, grep, sed and awk.
#
# Environment:
#   VAULT_BUILD  build directory with vaultd and vaultctl (default: build),
#                relative to the repository root or absolute
#   TEST_TMP     scratch directory for this test (run.sh makes a fresh one;
#                a test run on its own makes its own)

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAULT_BUILD=${VAULT_BUILD:-build}
case $VAULT_BUILD in
/*) BUILD_DIR=$VAULT_BUILD ;;
*) BUILD_DIR=$ROOT/$VAULT_BUILD ;;
esac
VAULTD=$BUILD_DIR/vaultd
VAULTCTL=$BUILD_DIR/vaultctl
TOOLS_DIR=$BUILD_DIR/tools

if [ -z "${TEST_TMP:-}" ]; then
	TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vsp-integration.XXXXXX")
fi
mkdir -p "$TEST_TMP"

# Counts live in files so that checks made in subshells, $(...) and
# background workers count too.
FAIL_FILE=$TEST_TMP/.fails
CHECK_FILE=$TEST_TMP/.checks
: >"$FAIL_FILE"
: >"$CHECK_FILE"
DATA=$TEST_TMP/data           # the data directory of the current daemon
VAULTD_PID=
VAULTD_LOG=
VAULTD_ARGS=()
PORT=
URL=
LOG_SEQ=0
BODY=$TEST_TMP/last.body      # body of the last expect_status
HDRS=$TEST_TMP/last.headers   # headers of the last expect_status (CR removed)
RAW_REPLY=$TEST_TMP/raw.reply # reply captured by the last raw_http
BG_PIDS=()                    # helper processes to end at exit

# ---------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------

# fail MESSAGE...: records a failed check.
fail() {
	printf 'FAILED: %s\n' "$*" >&2
	if ! echo x >>"$FAIL_FILE"; then
		echo "cannot record the failure: $TEST_TMP vanished" >&2
		exit 1
	fi
}

# fail_count: failed checks so far.
fail_count() {
	wc -l <"$FAIL_FILE" | tr -d ' '
}

# note MESSAGE...: progress output.
note() {
	printf '  .. %s\n' "$*"
}

# pass_check: counts a check that held.
pass_check() {
	echo x >>"$CHECK_FILE"
}

# assert_eq DESC EXPECTED ACTUAL
assert_eq() {
	if [ "$2" == "$3" ]; then
		pass_check
		return 0
	fi
	fail "$1: expected '$2', got '$3'"
	return 1
}

# assert_ne DESC UNEXPECTED ACTUAL
assert_ne() {
	if [ "$2" != "$3" ]; then
		pass_check
		return 0
	fi
	fail "$1: got '$3', which it must not be"
	return 1
}

# assert_match DESC EXTENDED-REGEX TEXT
assert_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then
		pass_check
		return 0
	fi
	fail "$1: '$3' does not match /$2/"
	return 1
}

# assert_true DESC COMMAND...: the command must succeed.
assert_true() {
	local desc=$1
	shift
	if "$@"; then
		pass_check
		return 0
	fi
	fail "$desc"
	return 1
}

# assert_same_file DESC EXPECTED-FILE ACTUAL-FILE
assert_same_file() {
	if cmp -s "$2" "$3"; then
		pass_check
		return 0
	fi
	fail "$1: $3 differs from $2 (sizes $(file_size "$2") and $(file_size "$3"); $(cmp "$2" "$3" 2>&1 | head -1))"
	return 1
}

# finish: stops the daemon (checking its log) and exits 0 or 1.
finish() {
	local f c
	if [ -n "$VAULTD_PID" ]; then
		stop_vaultd
	fi
	if [ ! -f "$FAIL_FILE" ] || [ ! -f "$CHECK_FILE" ]; then
		echo "the scratch directory $TEST_TMP vanished during the test; results are lost"
		exit 1
	fi
	f=$(fail_count)
	c=$(wc -l <"$CHECK_FILE" | tr -d ' ')
	if ! [[ $f =~ ^[0-9]+$ && $c =~ ^[0-9]+$ ]] || [ "$f" -gt 0 ]; then
		printf '%d check(s) failed, %d passed\n' "$f" "$c"
		exit 1
	fi
	if [ "$c" -eq 0 ]; then
		echo "no checks were made"
		exit 1
	fi
	printf 'all %d checks passed\n' "$c"
	exit 0
}

# ---------------------------------------------------------------------
# Cleanup
# ---------------------------------------------------------------------

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$VAULTD_PID" ]; then
		kill -9 "$VAULTD_PID" 2>/dev/null
		wait "$VAULTD_PID" 2>/dev/null
		check_sanitizer_log "$VAULTD_LOG"
		VAULTD_PID=
	fi
	if [ "$(fail_count)" -gt 0 ] && [ -n "$VAULTD_LOG" ] && [ -f "$VAULTD_LOG" ]; then
		echo "--- last lines of $VAULTD_LOG:" >&2
		tail -25 "$VAULTD_LOG" >&2
	fi
	if [ "${KEEP_TMP:-0}" == 1 ]; then
		echo "kept $TEST_TMP" >&2
	else
		rm -rf "$TEST_TMP"
	fi
}
trap cleanup EXIT
trap 'fail "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------

# sha256 FILE: prints the lowercase hex SHA-256 of FILE.
sha256() {
	sha256sum "$1" | cut -c1-64
}

# file_size FILE
file_size() {
	stat -c %s "$1" 2>/dev/null || echo missing
}

# rand_file PATH SIZE: fills PATH with SIZE random bytes; prints its ID.
rand_file() {
	head -c "$2" /dev/urandom >"$1"
	sha256 "$1"
}

# rand_between LO HI: a random integer in [LO, HI].
rand_between() {
	echo $(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1)))
}

# tmp_count DIR: number of entries in DIR/objects/.tmp (default $DATA).
tmp_count() {
	local d=${1:-$DATA}/objects/.tmp
	if [ ! -d "$d" ]; then
		echo "no $d"
		return
	fi
	find "$d" -mindepth 1 | wc -l
}

# ---------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------

# check_sanitizer_log LOG: fails if an ASan/UBSan/LSan report is in LOG.
check_sanitizer_log() {
	local log=$1
	[ -n "$log" ] && [ -f "$log" ] || return 0
	if grep -Eq 'runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$log"; then
		fail "vaultd logged a sanitizer report ($log):"
		grep -E -A30 'runtime error|ERROR: (Address|Leak)Sanitizer' "$log" | head -60 >&2
		return 1
	fi
	return 0
}

# start_vaultd [VAULTD-ARGS...]: starts vaultd on $DATA on a free port and
# waits until it answers. Sets VAULTD_PID, PORT, URL and VAULTD_LOG. The
# arguments are kept for restart_vaultd.
start_vaultd() {
	local pf=$TEST_TMP/port.$LOG_SEQ i
	if [ -n "$VAULTD_PID" ]; then
		fail "start_vaultd: a daemon is already running"
		return 1
	fi
	if [ ! -x "$VAULTD" ] || [ ! -x "$VAULTCTL" ]; then
		fail "no $VAULTD or $VAULTCTL: build first (make all)"
		finish
	fi
	VAULTD_ARGS=("$@")
	LOG_SEQ=$((LOG_SEQ + 1))
	VAULTD_LOG=$TEST_TMP/vaultd.$LOG_SEQ.log
	rm -f "$pf"
	"$VAULTD" -d "$DATA" -l 127.0.0.1:0 --port-file "$pf" -v "$@" >"$VAULTD_LOG" 2>&1 &
	VAULTD_PID=$!
	for ((i = 0; i < 300; i++)); do
		if [ -s "$pf" ]; then
			break
		fi
		if ! kill -0 "$VAULTD_PID" 2>/dev/null; then
			wait "$VAULTD_PID"
			fail "vaultd exited during start-up (status $?); its log:"
			cat "$VAULTD_LOG" >&2
			VAULTD_PID=
			finish
		fi
		sleep 0.05
	done
	PORT=$(cat "$pf" 2>/dev/null)
	if ! [[ $PORT =~ ^[0-9]+$ ]]; then
		fail "vaultd wrote no port file within 15 s; its log:"
		cat "$VAULTD_LOG" >&2
		finish
	fi
	URL=http://127.0.0.1:$PORT
	for ((i = 0; i < 100; i++)); do
		if curl -s -o /dev/null --max-time 2 "$URL/v1/capabilities"; then
			return 0
		fi
		sleep 0.05
	done
	fail "vaultd on port $PORT does not answer"
	finish
}

# stop_vaultd: SIGTERM, wait for a clean exit (status 0), check the log.
stop_vaultd() {
	local pid=$VAULTD_PID rc i
	[ -n "$pid" ] || return 0
	VAULTD_PID=
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		rc=$?
		fail "vaultd (pid $pid) died before it was stopped (status $rc); log tail:"
		tail -20 "$VAULTD_LOG" >&2
		check_sanitizer_log "$VAULTD_LOG"
		return 1
	fi
	kill -TERM "$pid"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "vaultd did not exit within 15 s of SIGTERM"
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "vaultd exited with status $rc after SIGTERM; log tail:"
		tail -20 "$VAULTD_LOG" >&2
	fi
	check_sanitizer_log "$VAULTD_LOG"
}

# wait_vaultd_exit: waits up to 15 s for the daemon to exit by itself (after
# a SIGTERM the test sent), which must be with status 0; checks the log.
wait_vaultd_exit() {
	local pid=$VAULTD_PID rc i
	[ -n "$pid" ] || return 0
	VAULTD_PID=
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "vaultd did not exit within 15 s"
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	assert_eq "vaultd exit status" 0 "$rc"
	check_sanitizer_log "$VAULTD_LOG"
}

# kill9_vaultd: SIGKILL, as a crash would (the log is still checked).
kill9_vaultd() {
	local pid=$VAULTD_PID
	[ -n "$pid" ] || return 0
	VAULTD_PID=
	if ! kill -0 "$pid" 2>/dev/null; then
		fail "vaultd (pid $pid) died before it was killed; log tail:"
		tail -20 "$VAULTD_LOG" >&2
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check_sanitizer_log "$VAULTD_LOG"
}

# restart_vaultd [VAULTD-ARGS...]: stop, then start on the same data
# directory with new arguments (or the same ones if none are given).
restart_vaultd() {
	local args=("${VAULTD_ARGS[@]}")
	[ $# -gt 0 ] && args=("$@")
	stop_vaultd
	start_vaultd "${args[@]}"
}

# vaultd_alive: the current daemon is running.
vaultd_alive() {
	[ -n "$VAULTD_PID" ] && kill -0 "$VAULTD_PID" 2>/dev/null
}

# ---------------------------------------------------------------------
# Tenants and tokens (through the admin socket)
# ---------------------------------------------------------------------

vctl() {
	"$VAULTCTL" -d "$DATA" "$@"
}

# new_tenant NAME
new_tenant() {
	if ! vctl tenant add "$1" >/dev/null 2>"$TEST_TMP/vctl.err"; then
		fail "vaultctl tenant add $1: $(cat "$TEST_TMP/vctl.err")"
		return 1
	fi
}

# new_token TENANT [--vault V] [--scopes S]: prints the token.
new_token() {
	local t
	if ! t=$(vctl token issue "$@" 2>"$TEST_TMP/vctl.err"); then
		fail "vaultctl token issue $*: $(cat "$TEST_TMP/vctl.err")"
		return 1
	fi
	if ! [[ $t =~ ^vt1_[0-9a-f]{16}_[0-9a-f]{64}$ ]]; then
		fail "vaultctl token issue $* printed '$t', not a token"
		return 1
	fi
	printf '%s\n' "$t"
}

# token_id TOKEN: the 16 hex digits after "vt1_".
token_id() {
	local t=${1#vt1_}
	printf '%s\n' "${t:0:16}"
}

# ---------------------------------------------------------------------
# HTTP with curl
# ---------------------------------------------------------------------

# The token for auth_h; tests set TOKEN.
TOKEN=
AUTH=()
# use_token TOKEN: later `"${AUTH[@]}"` adds its Authorization header.
use_token() {
	TOKEN=$1
	AUTH=(-H "Authorization: Bearer $1")
}

# redact ARGS...: the curl arguments with token secrets shortened.
redact() {
	printf '%s ' "$@" | sed -E 's/(vt1_[0-9a-f]{16}_)[0-9a-f]{64}/\1.../g; s/(.{400}).+/\1 .../'
}

# http CURL-ARGS...: runs curl; prints the status (000 if no answer).
# Leaves the body in $BODY and the headers (no CRs) in $HDRS.
http() {
	local code
	: >"$BODY"
	: >"$HDRS.raw"
	code=$(curl -s --max-time 60 -o "$BODY" -D "$HDRS.raw" -w '%{http_code}' "$@")
	tr -d '\r' <"$HDRS.raw" >"$HDRS" 2>/dev/null
	printf '%s\n' "${code:-000}"
}

# expect_status EXPECTED CURL-ARGS...: the request must get status EXPECTED.
# On a mismatch prints the request, the headers and the start of the body.
expect_status() {
	local want=$1 code
	shift
	code=$(http "$@")
	if [ "$code" == "$want" ]; then
		pass_check
		return 0
	fi
	fail "expected $want, got $code for: curl $(redact "$@")"
	{
		sed 's/^/    < /' "$HDRS" | head -20
		printf '    body: '
		head -c 600 "$BODY" | tr -c '[:print:]\n' '?'
		echo
	} >&2
	return 1
}

# header NAME: value of header NAME in $HDRS (last response block).
header() {
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" '
		/^HTTP\// { v = ""; found = 0 }
		{
			i = index($0, ":")
			if (i > 0 && tolower(substr($0, 1, i - 1)) == n && !found) {
				v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = 1
			}
		}
		END { print v }' "$HDRS"
}

# has_header NAME: $HDRS has header NAME.
has_header() {
	grep -iq "^$1:" "$HDRS"
}

# assert_header NAME EXPECTED
assert_header() {
	assert_eq "header $1" "$2" "$(header "$1")"
}

# body: the last body as text.
body() {
	cat "$BODY"
}

# check_error_body CODE: the last answer is JSON {"code":CODE,"message":...}.
check_error_body() {
	local b ct
	b=$(cat "$BODY")
	ct=$(header Content-Type)
	assert_eq "Content-Type of a $1 error" "application/json" "$ct"
	assert_match "error body" "^\\{\"code\":\"$1\",\"message\":\"[^\"]+.*\"\\}\$" "$b"
}

# expect_error STATUS CODE CURL-ARGS...: status and a JSON error body.
expect_error() {
	local st=$1 code=$2
	shift 2
	if expect_status "$st" "$@"; then
		check_error_body "$code"
	else
		return 1
	fi
}

# ---------------------------------------------------------------------
# JSON without jq (vaultd writes compact JSON)
# ---------------------------------------------------------------------

# json_strip_kinds TEXT: the VAULT object without its "kinds" member.
json_strip_kinds() {
	printf '%s' "$1" | sed -E 's/"kinds":\{("[a-z]+":\{[^}]*\},?)*\}//'
}

# json_num KEY TEXT: the first number value of KEY in TEXT.
json_num() {
	printf '%s' "$2" | grep -o "\"$1\":[0-9-]*" | head -1 | cut -d: -f2
}

# vault_counts TEXT: "OBJECTS BYTES" of a VAULT object.
vault_counts() {
	local t
	t=$(json_strip_kinds "$1")
	echo "$(json_num objects "$t") $(json_num bytes "$t")"
}

# kind_counts KIND TEXT: "OBJECTS BYTES" of one kind in a VAULT object.
kind_counts() {
	local k
	k=$(printf '%s' "$2" | grep -o "\"$1\":{[^}]*}" | head -1)
	echo "$(json_num objects "$k") $(json_num bytes "$k")"
}

# json_ids TEXT: every "id":"HEX" value, one a line.
json_ids() {
	printf '%s' "$1" | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4
}

# json_str_array KEY TEXT: the strings of array KEY, one a line.
json_str_array() {
	printf '%s' "$2" | grep -o "\"$1\":\\[[^]]*\\]" | head -1 |
		sed -E "s/^\"$1\":\\[//; s/\\]\$//" | tr ',' '\n' | tr -d '"' | grep -v '^$'
}

# json_next TEXT: the "next" cursor of a listing, or "null".
json_next() {
	local n
	n=$(printf '%s' "$1" | grep -o '"next":\("[0-9a-f]*"\|null\)' | cut -d: -f2 | tr -d '"')
	printf '%s\n' "${n:-absent}"
}

# list_all VAULT KIND [LIMIT]: every ID listed, following "next". Fails the
# test on a non-200 answer.
list_all() {
	local v=$1 k=$2 lim=${3:-1000} after='' q out n pages=0
	while :; do
		q="limit=$lim"
		[ -n "$after" ] && q="$q&after=$after"
		if ! expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/$v/objects/$k?$q" >/dev/null; then
			return 1
		fi
		out=$(cat "$BODY")
		json_ids "$out"
		n=$(json_next "$out")
		[ "$n" == null ] && break
		if [ "$n" == absent ]; then
			fail "listing without a next member: $out"
			return 1
		fi
		after=$n
		pages=$((pages + 1))
		if [ "$pages" -gt 100000 ]; then
			fail "listing does not end"
			return 1
		fi
	done
}

# ---------------------------------------------------------------------
# Convenience requests
# ---------------------------------------------------------------------

# create_vault NAME (with the current token; expects 201)
create_vault() {
	expect_status 201 -X PUT "${AUTH[@]}" "$URL/v1/vaults/$1"
}

# put_object VAULT KIND FILE [EXPECTED-STATUS]: uploads FILE under its ID.
put_object() {
	local id
	id=$(sha256 "$3")
	expect_status "${4:-201}" -X PUT "${AUTH[@]}" -H 'Content-Type: application/octet-stream' \
		--data-binary @"$3" "$URL/v1/vaults/$1/objects/$2/$id"
}

# get_object VAULT KIND ID OUTFILE [EXPECTED-STATUS]
get_object() {
	local code
	code=$(curl -s --max-time 120 -o "$4" -w '%{http_code}' "${AUTH[@]}" \
		"$URL/v1/vaults/$1/objects/$2/$3")
	if [ "$code" == "${5:-200}" ]; then
		pass_check
		return 0
	fi
	fail "GET $1/$2/$3: expected ${5:-200}, got $code"
	return 1
}

# ---------------------------------------------------------------------
# Raw HTTP over bash's /dev/tcp
# ---------------------------------------------------------------------

# raw_http [TIMEOUT]: sends standard input, byte for byte, to the daemon on
# one new connection, then reads the reply into $RAW_REPLY until the server
# closes the connection or TIMEOUT seconds (default 5) pass. Returns 0 if
# the server closed, 124 on the timeout, 1 if it could not connect.
raw_http() {
	local t=${1:-5} fd rc
	if ! exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; then
		fail "cannot connect to 127.0.0.1:$PORT"
		return 1
	fi
	cat 1>&"$fd" 2>/dev/null
	timeout "$t" cat <&"$fd" >"$RAW_REPLY" 2>/dev/null
	rc=$?
	exec {fd}>&-
	return $rc
}

# raw_statuses: the status codes in $RAW_REPLY's status lines, one a line.
# (A status line may follow a body that has no final newline, so it is
# matched anywhere; the replies checked this way carry JSON bodies.)
raw_statuses() {
	raw_flat | grep -a -o -E 'HTTP/1\.[01] [0-9]{3} [A-Z]' | cut -d' ' -f2
}

# raw_flat: $RAW_REPLY on one line, CR as '<' and LF as '>'.
raw_flat() {
	tr '\r\n' '<>' <"$RAW_REPLY"
}

# raw_show: $RAW_REPLY, printable, for failure messages.
raw_show() {
	{
		head -c 1500 "$RAW_REPLY" | tr -d '\r' | tr -c '[:print:]\n' '?' | sed 's/^/    | /'
		echo
	} >&2
}

# Snapshot envelopes (spec/envelope.md) built in bash.
# le VALUE BYTES: VALUE as little-endian hex of BYTES bytes.
le() {
	local v=$1 n=$2 out="" i
	for ((i = 0; i < n; i++)); do
		out+=$(printf '%02x' $((v & 255)))
		v=$((v >> 8))
	done
	printf '%s' "$out"
}
# unhex HEX: the bytes HEX spells, on stdout.
unhex() { printf '%b' "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
# envelope FILE TIME GROUPHEX BODY REF... (REF = kind:id, kind 0 pack or 1
# index, given in sorted order): writes one envelope to FILE.
envelope() {
	local f=$1 t=$2 g=$3 body=$4 hex ref
	shift 4
	hex=$(printf 'VAULTSNP' | od -An -v -tx1 | tr -d ' \n')01$(le 0 4)$(le "$t" 8)$g$(le $# 4)
	for ref in "$@"; do
		hex+=$(printf '%02x' "${ref%%:*}")${ref#*:}
	done
	hex+=$(le ${#body} 8)$(printf '%s' "$body" | od -An -v -tx1 | tr -d ' \n')
	unhex "$hex" >"$f"
}
# A group label: 32 bytes of 'g', as hex.
GROUP=$(printf 'g%.0s' {1..32} | od -An -v -tx1 | tr -d ' \n')

# ---------------------------------------------------------------------
# Two daemons (a replication source S and target T): lib.sh keeps the
# state of one daemon, so a test swaps it.
# ---------------------------------------------------------------------

# save_as NAME / use NAME: keep the current daemon's state (data, pid, log,
# port, URL, arguments, $TOKEN) under NAME, or make NAME's current again.
save_as() {
	eval "${1}_DATA=\$DATA ${1}_PID=\$VAULTD_PID ${1}_LOG=\$VAULTD_LOG ${1}_PORT=\$PORT"
	eval "${1}_URL=\$URL ${1}_TOKEN=\$TOKEN"
	eval "${1}_ARGS=(\"\${VAULTD_ARGS[@]}\")"
}
use() {
	eval "DATA=\$${1}_DATA VAULTD_PID=\$${1}_PID VAULTD_LOG=\$${1}_LOG PORT=\$${1}_PORT"
	eval "URL=\$${1}_URL"
	eval "VAULTD_ARGS=(\"\${${1}_ARGS[@]}\")"
	eval "use_token \"\$${1}_TOKEN\""
}
# Ends both daemons (saved as T and S) at exit, then cleans up as usual.
at_exit_kill() {
	[ -n "${T_PID:-}" ] && kill -9 "$T_PID" 2>/dev/null
	[ -n "${S_PID:-}" ] && kill -9 "$S_PID" 2>/dev/null
	cleanup
}
# two_daemons: a test that runs T and S calls this first.
two_daemons() {
	trap at_exit_kill EXIT
}
