#!/usr/bin/env bash
# The restic-compatible endpoint (spec/restic.md) with the real daemon and an
# unmodified restic (Debian's package, 0.14): init, backup of a real tree,
# snapshots, restore compared byte for byte, check --read-data, forget and
# prune with a delete token, and an append-only token that can back up (and
# release its locks) but not forget. Then the REST protocol's edges with
# curl: Basic auth and 401, v1 and v2 listings, written-once config, uploads
# verified against their names, never overwritten, ranges, HEAD, scopes,
# vault binding and tenant isolation; and that restic's objects are VSP
# objects too.
#
# Needs restic on PATH (scripts/install-deps.sh installs it); RESTIC names
# another binary.
. "$(dirname "$0")/lib.sh"

RESTIC=${RESTIC:-restic}
if ! command -v "$RESTIC" >/dev/null 2>&1; then
	fail "restic is not installed (scripts/install-deps.sh installs it)"
	finish
fi

W=$(cd "$TEST_TMP" && pwd)/work
mkdir -p "$W"
SRC=$W/src
ROUT=$W/restic.out
RERR=$W/restic.err
# restic's own environment: nothing from the caller's leaks in.
unset RESTIC_REPOSITORY RESTIC_REPOSITORY_FILE RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND \
	RESTIC_KEY_HINT RESTIC_COMPRESSION RESTIC_PACK_SIZE
export RESTIC_PASSWORD=restic-integration-password
export RESTIC_CACHE_DIR=$W/restic-cache
export TMPDIR=$W

start_vaultd
new_tenant acme
new_tenant bravo
ADMIN=$(new_token acme --scopes all)
RO=$(new_token acme --scopes read)
RW=$(new_token acme --scopes read,append)
RWD=$(new_token acme --scopes read,append,delete)
BOUND=$(new_token acme --vault main --scopes read,append)
OTHER=$(new_token bravo --scopes read,append)
OTHER_ADMIN=$(new_token bravo --scopes all)
use_token "$ADMIN"

# ---------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------

# A body-less POST still says Content-Length: 0, as restic's does.
CL0=(-H 'Content-Length: 0')

# scrub: standard input with token secrets shortened.
scrub() {
	sed -E 's/(vt1_[0-9a-f]{16}_)[0-9a-f]{64}/\1.../g'
}

# repo TOKEN VAULT: restic's repository URL for the vault.
repo() {
	printf 'rest:http://acme:%s@127.0.0.1:%s/restic/%s/\n' "$1" "$PORT" "$2"
}

# restic_run TOKEN VAULT ARGS...: runs restic on the vault; its output goes
# to $ROUT and $RERR. Returns restic's status.
restic_run() {
	local tok=$1 v=$2
	shift 2
	"$RESTIC" -r "$(repo "$tok" "$v")" "$@" >"$ROUT" 2>"$RERR"
}

# restic_ok DESC TOKEN VAULT ARGS...: restic must succeed.
restic_ok() {
	local desc=$1 rc
	shift
	restic_run "$@"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass_check
		return 0
	fi
	fail "$desc: restic ${*:3} exited with status $rc"
	tail -15 "$RERR" | scrub | sed 's/^/    ! /' >&2
	return 1
}

# r TOKEN VAULT PATH: curl arguments for PATH under /restic/VAULT with the
# token as the Basic password (the user name is not checked).
r() {
	printf '%s\n' -u "acme:$1" "$URL/restic/$2$3"
}

# rest EXPECTED TOKEN VAULT PATH [CURL-ARGS...]: one request to the restic
# endpoint; the status must be EXPECTED.
rest() {
	local want=$1 tok=$2 v=$3 p=$4
	shift 4
	expect_status "$want" "$@" -u "acme:$tok" "$URL/restic/$v$p"
}

# snapshot_ids: restic's snapshot IDs in $ROUT (from snapshots --json).
snapshot_ids() {
	grep -o '"id":"[0-9a-f]\{64\}"' "$ROUT" | cut -d'"' -f4 | LC_ALL=C sort
}

# v1_names TEXT: the names of a v1 listing, sorted, one a line.
v1_names() {
	printf '%s' "$1" | grep -o '"[0-9a-f]\{64\}"' | tr -d '"' | LC_ALL=C sort
}

# v2_pairs TEXT: "NAME SIZE" of each entry of a v2 listing, sorted by name,
# whatever the order of the members.
v2_pairs() {
	printf '%s' "$1" | grep -o '{[^{}]*}' | while read -r e; do
		printf '%s %s\n' "$(printf '%s' "$e" | grep -o '"name":"[0-9a-f]*"' | cut -d'"' -f4)" \
			"$(printf '%s' "$e" | grep -o '"size":[0-9]*' | cut -d: -f2)"
	done | LC_ALL=C sort
}

# list_v1 TOKEN VAULT TYPE: the v1 listing's names, sorted; checks 200 and
# the shape (a JSON array of strings).
list_v1() {
	expect_status 200 -u "acme:$1" "$URL/restic/$2/$3/" >/dev/null || return 1
	if ! printf '%s' "$(body)" | grep -Eq '^\[("[0-9a-f]{64}"(,"[0-9a-f]{64}")*)?\]$'; then
		fail "v1 listing of $2/$3 is not a JSON array of IDs: $(head -c 300 "$BODY")"
		return 1
	fi
	v1_names "$(body)"
}

# count_lines TEXT: lines in TEXT that are not empty.
count_lines() {
	printf '%s\n' "$1" | grep -c .
}

# tree_meta DIR: type, mode, link target and path of everything under DIR,
# with size and mtime (ns) for regular files, sorted.
tree_meta() {
	(cd "$1" && find . \( -type f -printf '%y %m %s %T@ %p\n' \) -o \
		\( ! -type f -printf '%y %m %p -> %l\n' \)) | LC_ALL=C sort
}

# same_tree DESC EXPECTED-DIR ACTUAL-DIR: contents byte for byte (symlinks
# compared as links) and metadata.
same_tree() {
	local d
	if [ ! -d "$3" ]; then
		fail "$1: $3 was not restored"
		return 1
	fi
	if d=$(diff -r --no-dereference "$2" "$3" 2>&1); then
		pass_check
	else
		fail "$1: diff -r finds differences:"
		printf '%s\n' "$d" | head -10 | sed 's/^/    /' >&2
	fi
	tree_meta "$2" >"$W/meta.want"
	tree_meta "$3" >"$W/meta.got"
	if cmp -s "$W/meta.want" "$W/meta.got"; then
		pass_check
	else
		fail "$1: types, modes, sizes, mtimes or link targets differ:"
		diff "$W/meta.want" "$W/meta.got" | head -10 | sed 's/^/    /' >&2
	fi
}

# make_corpus DIR: about 45 MB of /usr/share/doc (whole package folders in
# name order, with the folder symlinks among them as they are, some of them
# dangling), topped up with generated text where a system ships stripped
# docs, plus gen/: a 20 MiB random file, a symlink to it, a dangling
# symlink, an empty file, an odd file name and a small nested tree.
make_corpus() {
	local dst=$1 e s tot=0 i
	mkdir -p "$dst/doc" "$dst/gen/deep/er/still" "$dst/filler"
	for e in $(cd /usr/share/doc && LC_ALL=C ls); do
		if [ -L "/usr/share/doc/$e" ]; then
			cp -a "/usr/share/doc/$e" "$dst/doc/"
			continue
		fi
		s=$(du -sk "/usr/share/doc/$e" | cut -f1)
		[ $((tot + s)) -gt 46080 ] && continue
		cp -a "/usr/share/doc/$e" "$dst/doc/" || fail "cannot copy /usr/share/doc/$e"
		tot=$((tot + s))
	done
	for ((i = 0; tot < 30720; i++)); do
		head -c 786432 /dev/urandom | base64 >"$dst/filler/text$i.txt"
		tot=$((tot + 1024))
	done
	head -c 20M /dev/urandom >"$dst/gen/random.bin"
	ln -s random.bin "$dst/gen/link"
	ln -s ../nowhere/at-all "$dst/gen/dangling"
	: >"$dst/gen/empty"
	printf 'first line\n' >"$dst/gen/notes.txt"
	printf 'odd name\n' >"$dst/gen/a file with spaces & ünïcode"
	seq 1 20000 >"$dst/gen/deep/er/still/numbers"
	chmod 600 "$dst/gen/deep/er/still/numbers"
	chmod 751 "$dst/gen/deep/er"
}

# ---------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------
note authentication
create_vault main
for p in /config /keys/ /data/ "/?create=true"; do
	args=(-X GET)
	[ "$p" == "/?create=true" ] && args=(-X POST "${CL0[@]}")
	if expect_error 401 unauthorized "${args[@]}" "$URL/restic/main$p"; then
		assert_eq "WWW-Authenticate of a 401 on $p" 'Basic realm="vault"' "$(header WWW-Authenticate)"
	fi
done
bad=${RW%?}0
[ "$bad" == "$RW" ] && bad=${RW%?}1
if expect_error 401 unauthorized -u "acme:$bad" "$URL/restic/main/keys/"; then
	assert_eq "WWW-Authenticate for a wrong secret" 'Basic realm="vault"' "$(header WWW-Authenticate)"
fi
expect_error 401 unauthorized -u "acme:not-a-token" "$URL/restic/main/keys/"
expect_error 401 unauthorized -u "acme:" "$URL/restic/main/keys/"
expect_error 401 unauthorized -H "Authorization: Basic !!!" "$URL/restic/main/keys/"
# The user name is not checked; the password alone authenticates.
expect_status 200 -u "anyone:$RW" "$URL/restic/main/keys/"
expect_status 200 -u ":$RW" "$URL/restic/main/keys/"
assert_eq "keys of a new vault" '[]' "$(body)"
# A revoked token is refused.
REVOKED=$(new_token acme --scopes read)
vctl token revoke "$(token_id "$REVOKED")" >/dev/null 2>&1
expect_error 401 unauthorized -u "acme:$REVOKED" "$URL/restic/main/keys/"

# ---------------------------------------------------------------------
# POST /?create=true
# ---------------------------------------------------------------------
note create
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/auto"
# Without admin, a vault that does not exist is not created.
expect_error 403 forbidden -X POST "${CL0[@]}" -u "acme:$RW" "$URL/restic/auto/?create=true"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/auto"
rest 200 "$ADMIN" auto "/?create=true" -X POST "${CL0[@]}"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/auto"; then
	assert_match "vault made by create=true" '"name":"auto"' "$(body)"
	assert_match "no config yet" '"config":false' "$(body)"
fi
# Once it exists, append is enough (and it is idempotent); read is not.
rest 200 "$RW" auto "/?create=true" -X POST "${CL0[@]}"
rest 200 "$ADMIN" auto "/?create=true" -X POST "${CL0[@]}"
expect_error 403 forbidden -X POST "${CL0[@]}" -u "acme:$RO" "$URL/restic/auto/?create=true"
rest 200 "$RW" auto /keys/
assert_eq "listing of the new vault" '[]' "$(body)"
# restic init into a vault nobody made, with an all-scopes token.
restic_ok "restic init of a new vault" "$ADMIN" fresh init
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/fresh"; then
	assert_match "vault made by restic init" '"name":"fresh"' "$(body)"
	assert_match "restic init wrote the config" '"config":true' "$(body)"
fi
# ... and with read,append, it cannot make one.
restic_run "$RW" nothere init
assert_ne "restic init without admin into a missing vault fails" 0 "$?"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/nothere"

# ---------------------------------------------------------------------
# restic init into an existing vault, with read,append
# ---------------------------------------------------------------------
note init
restic_ok "restic init" "$RW" main init
rest 200 "$RW" main /config -I
clen=$(header Content-Length)
assert_match "HEAD /config Content-Length" '^[1-9][0-9]*$' "$clen"
if rest 200 "$RW" main /config; then
	cp "$BODY" "$W/config.restic"
	assert_eq "config size = HEAD Content-Length" "$clen" "$(file_size "$W/config.restic")"
fi
# The restic config is the vault's config blob.
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/config"; then
	assert_same_file "VSP config = restic config" "$W/config.restic" "$BODY"
fi
# Written once: neither curl nor a second restic init replaces it.
printf 'another config' >"$W/config.other"
rest 403 "$RW" main /config -X POST --data-binary @"$W/config.other"
restic_run "$RW" main init
assert_ne "second restic init fails" 0 "$?"
rest 200 "$RW" main /config
assert_same_file "config after the refused writes" "$W/config.restic" "$BODY"
keys=$(list_v1 "$RW" main keys)
assert_eq "one key after init" 1 "$(count_lines "$keys")"

# ---------------------------------------------------------------------
# Backup, snapshots, restore, check
# ---------------------------------------------------------------------
note corpus
make_corpus "$SRC"
note "corpus: $(du -sm "$SRC" | cut -f1) MB, $(find "$SRC" | wc -l) entries"
assert_true "the corpus has a symlink" test -L "$SRC/gen/link"

note backup 1
t0=$SECONDS
restic_ok "restic backup" "$RW" main backup -q "$SRC"
note "backup took $((SECONDS - t0)) s"
restic_ok "restic snapshots" "$RO" main --no-lock snapshots --json
snap1=$(snapshot_ids)
assert_eq "one snapshot" 1 "$(count_lines "$snap1")"
assert_match "the snapshot names the source" "\"paths\":\\[\"$SRC\"\\]" "$(cat "$ROUT")"
assert_eq "locks released after the backup" '' "$(list_v1 "$RW" main locks)"
assert_eq "snapshots listing" "$snap1" "$(list_v1 "$RO" main snapshots)"

note restore 1
restic_ok "restic restore (read-only token)" "$RO" main --no-lock --no-cache restore latest --target "$W/restore1"
same_tree "restore 1" "$SRC" "$W/restore1$SRC"
assert_true "symlink restored as a symlink" test -L "$W/restore1$SRC/gen/link"
assert_eq "symlink target" random.bin "$(readlink "$W/restore1$SRC/gen/link")"
assert_eq "dangling symlink target" ../nowhere/at-all "$(readlink "$W/restore1$SRC/gen/dangling")"
assert_eq "empty file restored" 0 "$(file_size "$W/restore1$SRC/gen/empty")"
rm -rf "$W/restore1"

note check 1
restic_ok "restic check --read-data" "$RW" main --no-cache check --read-data
assert_match "check found no errors" 'no errors were found' "$(cat "$ROUT")"

# ---------------------------------------------------------------------
# restic's objects are VSP objects
# ---------------------------------------------------------------------
note VSP view
data1=$(list_v1 "$RO" main data)
index1=$(list_v1 "$RO" main index)
assert_ne "data listing is not empty" 0 "$(count_lines "$data1")"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"; then
	v=$(body)
	read -r po pb <<<"$(kind_counts pack "$v")"
	read -r io ib <<<"$(kind_counts index "$v")"
	read -r so sb <<<"$(kind_counts snapshot "$v")"
	assert_match "VSP pack objects > 0" '^[1-9]' "${po:-0}"
	assert_match "VSP index objects > 0" '^[1-9]' "${io:-0}"
	assert_match "VSP snapshot objects > 0" '^[1-9]' "${so:-0}"
	assert_eq "VSP pack count = restic data files" "$(count_lines "$data1")" "${po:-}"
	assert_eq "VSP index count = restic index files" "$(count_lines "$index1")" "${io:-}"
	assert_eq "VSP snapshot count = restic snapshots" 1 "${so:-}"
	assert_match "VSP pack bytes > 20 MiB" '^[0-9]{8,}$' "${pb:-0}"
	assert_match "VSP index bytes > 0" '^[1-9]' "${ib:-0}"
	assert_match "VSP snapshot bytes > 0" '^[1-9]' "${sb:-0}"
	assert_match "VSP vault config flag" '"config":true' "$v"
fi
assert_eq "VSP pack listing = restic data listing" "$data1" "$(list_all main pack | LC_ALL=C sort)"
assert_eq "VSP index listing = restic index listing" "$(list_v1 "$RO" main index)" "$(list_all main index | LC_ALL=C sort)"
assert_eq "VSP snapshot listing = restic snapshots" "$snap1" "$(list_all main snapshot | LC_ALL=C sort)"
pack=$(printf '%s\n' "$data1" | head -1)
if rest 200 "$RO" main "/data/$pack"; then
	cp "$BODY" "$W/pack.restic"
	assert_eq "a pack's SHA-256 is its name" "$pack" "$(sha256 "$W/pack.restic")"
	get_object main pack "$pack" "$W/pack.vsp"
	assert_same_file "the pack through VSP" "$W/pack.restic" "$W/pack.vsp"
fi
psize=$(file_size "$W/pack.restic")

# ---------------------------------------------------------------------
# Protocol edges on restic's own repository (read-only requests)
# ---------------------------------------------------------------------
note listings
v2type=application/vnd.x.restic.rest.v2
if rest 200 "$RO" main /data/ -H "Accept: $v2type"; then
	assert_eq "v2 listing Content-Type" "$v2type" "$(header Content-Type)"
	assert_match "v2 listing is an array of objects" '^\[(\{[^{}]*\}(,\{[^{}]*\})*)?\]$' "$(body)"
	pairs=$(v2_pairs "$(body)")
	assert_eq "v2 names = v1 names" "$data1" "$(printf '%s\n' "$pairs" | cut -d' ' -f1)"
	assert_true "every v2 entry has a size" test -z "$(printf '%s\n' "$pairs" | grep -Ev '^[0-9a-f]{64} [0-9]+$')"
	assert_eq "v2 size of $pack" "$psize" "$(printf '%s\n' "$pairs" | grep "^$pack " | cut -d' ' -f2)"
fi
rest 200 "$RO" main /data/
assert_ne "v1 listing Content-Type is not the v2 one" "$v2type" "$(header Content-Type)"
rest 200 "$RO" main /keys/ -H "Accept: $v2type"
assert_eq "v2 keys listing" "$keys" "$(v2_pairs "$(body)" | cut -d' ' -f1)"
rest 200 "$RO" main /locks/ -H "Accept: $v2type"
assert_eq "v2 listing of no locks" '[]' "$(body)"
assert_eq "v2 empty listing Content-Type" "$v2type" "$(header Content-Type)"
expect_error 404 not_found -u "acme:$RO" "$URL/restic/nosuch/data/"
expect_error 404 not_found -u "acme:$RO" -H "Accept: $v2type" "$URL/restic/nosuch/data/"

note HEAD and ranges
if rest 200 "$RO" main "/data/$pack" -I; then
	assert_header Content-Length "$psize"
fi
if rest 206 "$RO" main "/data/$pack" -H 'Range: bytes=10-99'; then
	assert_header Content-Range "bytes 10-99/$psize"
	assert_header Content-Length 90
	tail -c +11 "$W/pack.restic" | head -c 90 >"$W/range.want"
	assert_same_file "range 10-99" "$W/range.want" "$BODY"
fi
if rest 206 "$RO" main "/data/$pack" -H 'Range: bytes=-16'; then
	tail -c 16 "$W/pack.restic" >"$W/range.want"
	assert_same_file "last 16 bytes (restic reads a pack's header from its end)" "$W/range.want" "$BODY"
fi
rest 416 "$RO" main "/data/$pack" -H "Range: bytes=$psize-"
absent=$(printf 'not stored anywhere' | sha256sum | cut -c1-64)
rest 404 "$RO" main "/data/$absent" -I
expect_error 404 not_found -u "acme:$RO" "$URL/restic/main/data/$absent"
# The same ID under another type is another object.
rest 404 "$RO" main "/index/$pack" -I

# ---------------------------------------------------------------------
# Protocol edges on a vault of their own
# ---------------------------------------------------------------------
note uploads
create_vault proto
rest 404 "$RW" proto /config -I
expect_error 404 not_found -u "acme:$RW" "$URL/restic/proto/config"
head -c 65537 /dev/zero >"$W/config.big"
rest 413 "$RW" proto /config -X POST --data-binary @"$W/config.big"
rest 404 "$RW" proto /config -I
printf 'config one' >"$W/config.one"
rest 200 "$RW" proto /config -X POST --data-binary @"$W/config.one"
rest 403 "$RW" proto /config -X POST --data-binary @"$W/config.one"
rest 403 "$RW" proto /config -X POST --data-binary @"$W/config.other"
if rest 200 "$RW" proto /config; then
	assert_same_file "config is the first one" "$W/config.one" "$BODY"
fi
if rest 200 "$RW" proto /config -I; then
	assert_header Content-Length 10
fi

# Hash mismatch: 400, nothing stored under either name.
o1=$(rand_file "$W/o1" 5000)
o2=$(rand_file "$W/o2" 3000)
for t in data index snapshots keys locks; do
	rest 400 "$RW" proto "/$t/$o1" -X POST --data-binary @"$W/o2"
	rest 404 "$RW" proto "/$t/$o1" -I
	rest 404 "$RW" proto "/$t/$o2" -I
	assert_eq "nothing listed in $t after a mismatch" '' "$(list_v1 "$RW" proto "$t")"
done
# Put-once: 200, then 403; the stored bytes stay.
for t in data index snapshots keys locks; do
	rest 200 "$RW" proto "/$t/$o1" -X POST --data-binary @"$W/o1"
	rest 403 "$RW" proto "/$t/$o1" -X POST --data-binary @"$W/o1"
	if rest 200 "$RW" proto "/$t/$o1"; then
		assert_same_file "$t/$o1 after the refused overwrite" "$W/o1" "$BODY"
	fi
	assert_eq "$t listing" "$o1" "$(list_v1 "$RW" proto "$t")"
done
# The empty object.
: >"$W/empty"
eid=$(sha256 "$W/empty")
rest 200 "$RW" proto "/data/$eid" -X POST -H 'Content-Length: 0'
if rest 200 "$RW" proto "/data/$eid" -I; then
	assert_header Content-Length 0
fi
# Framing and scopes.
rest 411 "$RW" proto "/data/$o2" -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$W/o2"
# A declared length past the object limit, and none at all, on raw requests.
basic=$(printf 'acme:%s' "$RW" | base64 -w0)
printf 'POST /restic/proto/data/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\nContent-Length: 1073741825\r\nConnection: close\r\n\r\n' \
	"$o2" "$basic" | raw_http 5
assert_eq "POST beyond the object limit" 413 "$(raw_statuses | head -1)"
printf 'POST /restic/proto/data/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n' \
	"$o2" "$basic" | raw_http 5
assert_eq "POST without Content-Length" 411 "$(raw_statuses | head -1)"
rest 403 "$RO" proto "/data/$o2" -X POST --data-binary @"$W/o2"
rest 404 "$RW" proto "/data/$o2" -I
# Paths outside the table, and known paths with other methods.
expect_status 404 -u "acme:$RW" "$URL/restic/proto/blobs/"
# A name that is not an ID: spec/restic.md makes it a path outside the
# table (404); VSP calls a bad ID malformed (400). Either, but never found.
for bad in "${o1:0:20}" "$(printf '%s' "$o1" | tr a-f A-F)" "${o1}0"; do
	assert_match "GET data/$bad" '^40[04]$' "$(http -u "acme:$RW" "$URL/restic/proto/data/$bad")"
	assert_match "POST data/$bad" '^40[04]$' "$(http -X POST -u "acme:$RW" --data-binary @"$W/o1" "$URL/restic/proto/data/$bad")"
done
expect_status 405 -X PUT -u "acme:$RW" --data-binary @"$W/o1" "$URL/restic/proto/data/$o1"
# Deletion: data needs delete; locks need only append, and read is not enough.
expect_error 403 forbidden -X DELETE -u "acme:$RW" "$URL/restic/proto/data/$o1"
rest 200 "$RW" proto "/data/$o1" -I
rest 200 "$RWD" proto "/data/$o1" -X DELETE
rest 404 "$RWD" proto "/data/$o1" -I
rest 404 "$RWD" proto "/data/$o1" -X DELETE
expect_error 403 forbidden -X DELETE -u "acme:$RO" "$URL/restic/proto/locks/$o1"
rest 200 "$RW" proto "/locks/$o1" -X DELETE
rest 404 "$RW" proto "/locks/$o1" -I
assert_eq "locks after the delete" '' "$(list_v1 "$RW" proto locks)"

note vault binding and isolation
rest 200 "$BOUND" main /config -I
expect_error 403 forbidden -u "acme:$BOUND" "$URL/restic/proto/config"
expect_error 403 forbidden -u "acme:$BOUND" "$URL/restic/proto/keys/"
# bravo's token sees acme's vault exactly as a vault that does not exist.
for req in "GET /config" "HEAD /config" "GET /keys/" "GET /data/$pack" "HEAD /data/$pack" \
	"POST /data/$o2" "DELETE /locks/$o1" "POST /?create=true"; do
	m=${req%% *}
	p=${req#* }
	args=(-u "bravo:$OTHER" -X "$m")
	[ "$m" == HEAD ] && args=(-u "bravo:$OTHER" -I)
	case $m$p in
	POST/data/*) args+=(--data-binary @"$W/o2") ;;
	POST/\?*) args+=("${CL0[@]}") ;;
	esac
	s1=$(http "${args[@]}" "$URL/restic/main$p")
	b1=$(body)
	h1=$(grep -iv '^date:' "$HDRS")
	# A missing vault with a name of the same length, so that only the name
	# in the message differs.
	s2=$(http "${args[@]}" "$URL/restic/mxyz$p")
	b2=$(body | sed 's/mxyz/main/g')
	h2=$(grep -iv '^date:' "$HDRS")
	assert_match "bravo: $req on acme's vault" '^40[34]$' "$s1"
	assert_eq "bravo: $req on acme's vault = on a missing vault (status)" "$s2" "$s1"
	assert_eq "bravo: $req on acme's vault = on a missing vault (body)" "$b2" "$b1"
	assert_eq "bravo: $req on acme's vault = on a missing vault (headers)" "$h2" "$h1"
done
# bravo's admin token makes bravo's own "main", which is empty.
expect_status 200 -X POST "${CL0[@]}" -u "bravo:$OTHER_ADMIN" "$URL/restic/main/?create=true"
expect_status 404 -I -u "bravo:$OTHER_ADMIN" "$URL/restic/main/config"
expect_status 200 -u "bravo:$OTHER_ADMIN" "$URL/restic/main/data/"
assert_eq "bravo's main is empty" '[]' "$(body)"
rest 200 "$RO" main /config
assert_same_file "acme's config is untouched" "$W/config.restic" "$BODY"

# ---------------------------------------------------------------------
# A second backup, then forget and prune with a delete token
# ---------------------------------------------------------------------
note backup 2
printf 'second line\n' >>"$SRC/gen/notes.txt"
head -c 300000 /dev/urandom >"$SRC/gen/new.bin"
restic_ok "restic backup 2" "$RW" main backup -q "$SRC"
restic_ok "restic snapshots 2" "$RO" main --no-lock snapshots --json
snaps=$(snapshot_ids)
assert_eq "two snapshots" 2 "$(count_lines "$snaps")"
snap2=$(printf '%s\n' "$snaps" | grep -vx "$snap1")
data2=$(list_v1 "$RO" main data)
index2=$(list_v1 "$RO" main index)

note forget and prune
restic_ok "restic forget --prune with a delete token" "$RWD" main forget --keep-last 1 --prune --max-unused 0
restic_ok "restic snapshots after forget" "$RO" main --no-lock snapshots --json
assert_eq "the last snapshot remains" "$snap2" "$(snapshot_ids)"
assert_eq "snapshots listing after forget" "$snap2" "$(list_v1 "$RO" main snapshots)"
rest 404 "$RO" main "/snapshots/$snap1" -I
data3=$(list_v1 "$RO" main data)
gone=$(LC_ALL=C comm -23 <(printf '%s\n' "$data2") <(printf '%s\n' "$data3"))
assert_ne "prune deleted packs" 0 "$(count_lines "$gone")"
for id in $gone; do
	rest 404 "$RO" main "/data/$id" -I
	get_object main pack "$id" "$W/gone" 404
done
assert_ne "prune rewrote the index" "$index2" "$(list_v1 "$RO" main index)"
assert_eq "locks released after prune" '' "$(list_v1 "$RW" main locks)"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"; then
	assert_eq "VSP snapshot count after forget" 1 "$(kind_counts snapshot "$(body)" | cut -d' ' -f1)"
	assert_eq "VSP pack count after prune" "$(count_lines "$data3")" "$(kind_counts pack "$(body)" | cut -d' ' -f1)"
fi
restic_ok "restic check --read-data after prune" "$RW" main --no-cache check --read-data
assert_match "check after prune found no errors" 'no errors were found' "$(cat "$ROUT")"
restic_ok "restic restore after prune" "$RO" main --no-lock --no-cache restore latest --target "$W/restore2"
same_tree "restore after prune" "$SRC" "$W/restore2$SRC"
rm -rf "$W/restore2"

# ---------------------------------------------------------------------
# An append-only token (read,append)
# ---------------------------------------------------------------------
note append-only backup
printf 'third line\n' >>"$SRC/gen/notes.txt"
restic_ok "append-only restic backup" "$RW" main backup -q "$SRC"
assert_eq "locks released after the append-only backup" '' "$(list_v1 "$RW" main locks)"
restic_ok "restic snapshots 3" "$RO" main --no-lock snapshots --json
snaps=$(snapshot_ids)
assert_eq "two snapshots before the refused forget" 2 "$(count_lines "$snaps")"

note append-only forget
# restic retries a refused DELETE for about a minute before it gives up, so
# it is interrupted once the 403 shows; on SIGINT it releases its locks,
# which an append-only token may do.
"$RESTIC" -r "$(repo "$RW" main)" forget --keep-last 1 --prune >"$ROUT" 2>"$RERR" &
rpid=$!
BG_PIDS+=("$rpid")
for ((i = 0; i < 300; i++)); do
	grep -q '403' "$RERR" && break
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.1
done
kill -INT "$rpid" 2>/dev/null
for ((i = 0; i < 150; i++)); do
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$rpid" 2>/dev/null; then
	fail "restic forget did not exit within 15 s of SIGINT"
	kill -9 "$rpid" 2>/dev/null
fi
wait "$rpid"
rc=$?
BG_PIDS=()
assert_ne "append-only restic forget fails" 0 "$rc"
assert_true "restic saw 403 on the delete" grep -q 'snapshot.*403\|403.*snapshot' "$RERR"
assert_eq "every snapshot is still listed" "$snaps" "$(list_v1 "$RO" main snapshots)"
restic_ok "restic snapshots after the refused forget" "$RO" main --no-lock snapshots --json
assert_eq "restic still sees every snapshot" "$snaps" "$(snapshot_ids)"
assert_eq "locks released after the refused forget" '' "$(list_v1 "$RW" main locks)"

note append-only deletes
for t in data index snapshots keys; do
	case $t in
	data) id=$(list_v1 "$RO" main data | head -1) ;;
	index) id=$(list_v1 "$RO" main index | head -1) ;;
	snapshots) id=$(printf '%s\n' "$snaps" | head -1) ;;
	keys) id=$(printf '%s\n' "$keys" | head -1) ;;
	esac
	expect_error 403 forbidden -X DELETE -u "acme:$RW" "$URL/restic/main/$t/$id"
	rest 200 "$RO" main "/$t/$id" -I
done
# A lock of one's own: POST it, see it listed, DELETE it with append only.
printf '{"time":"2026-01-01T00:00:00Z","exclusive":false,"hostname":"test","pid":1,"random":"%s"}' \
	"$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$W/lock"
lid=$(sha256 "$W/lock")
rest 200 "$RW" main "/locks/$lid" -X POST --data-binary @"$W/lock"
assert_eq "the lock is listed" "$lid" "$(list_v1 "$RW" main locks)"
expect_error 403 forbidden -X DELETE -u "acme:$RO" "$URL/restic/main/locks/$lid"
rest 200 "$RW" main "/locks/$lid" -X DELETE
rest 404 "$RW" main "/locks/$lid" -I
assert_eq "no locks left" '' "$(list_v1 "$RW" main locks)"

note final check
restic_ok "restic check at the end" "$RW" main check
assert_match "final check found no errors" 'no errors were found' "$(cat "$ROUT")"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"; then
	assert_eq "VSP snapshot count at the end" 2 "$(kind_counts snapshot "$(body)" | cut -d' ' -f1)"
fi

finish
