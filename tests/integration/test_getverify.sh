#!/usr/bin/env bash
# A whole-object GET not hashed before its answer (every one by default;
# above verify-before-send when that is set) is hashed as it streams
# (spec/vsp.md, "Integrity of downloads"): the body generator
# (vaultd/handlers_body.c) fails its last check when the copy does not hash
# to its ID, so the connection is cut short of Content-Length, the last
# bytes never go out, the copy is recorded as bad and later GETs get 503.
# A healthy large object streams whole, ranges included, and the connection
# stays usable for the next request. A small object is checked the same way
# by default.
. "$(dirname "$0")/lib.sh"

start_vaultd
new_tenant acme
use_token "$(new_token acme --scopes all)"
W=$TEST_TMP/work
mkdir -p "$W"
create_vault v

SIZE=$(((65 << 20) + 12345))
head -c "$SIZE" /dev/urandom >"$W/good"
head -c "$SIZE" /dev/urandom >"$W/bad"
G=$(sha256 "$W/good")
B=$(sha256 "$W/bad")
put_object v pack "$W/good" >/dev/null
put_object v pack "$W/bad" >/dev/null

# ---- a healthy object streams whole, twice on one connection ----
curl -s -f --max-time 120 "${AUTH[@]}" -o "$W/got1" "$URL/v1/vaults/v/objects/pack/$G" \
	-o "$W/got2" "$URL/v1/vaults/v/objects/pack/$G"
assert_eq "a healthy large object streams whole" 0 $?
assert_eq "with its bytes" "$G" "$(sha256 "$W/got1")"
assert_eq "and again on the same connection" "$G" "$(sha256 "$W/got2")"
expect_status 206 "${AUTH[@]}" -r $((SIZE - 100))- "$URL/v1/vaults/v/objects/pack/$G" >/dev/null
assert_eq "a range of its tail" "$(tail -c 100 "$W/good" | sha256sum | cut -c1-64)" \
	"$(sha256 "$BODY")"

# ---- a damaged one is cut short ----
f=$(find "$DATA/objects" -type f -name "$B" | head -1)
assert_true "the copy of the damaged object is on disk" [ -f "$f" ]
# Flip one bit of a byte near the end (writing a fixed byte would leave
# the copy intact whenever that byte was already there: 1 run in 256).
pos=$((SIZE - 5))
byte=$(dd if="$f" bs=1 skip="$pos" count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$f" bs=1 seek="$pos" conv=notrunc status=none
assert_ne "it no longer hashes to its ID" "$B" "$(sha256 "$f")"
curl -s --max-time 120 "${AUTH[@]}" -o "$W/cut" "$URL/v1/vaults/v/objects/pack/$B"
rc=$?
assert_eq "the GET ends in a transfer cut short (curl 18)" 18 "$rc"
n=$(file_size "$W/cut")
assert_true "short of Content-Length ($n of $SIZE bytes)" [ "${n:-0}" -lt "$SIZE" ]
assert_true "the last chunk never went out" [ "${n:-0}" -le $((SIZE - (SIZE % (1 << 20)))) ]
assert_match "the mismatch is logged" "does not hash to its ID" "$(cat "$VAULTD_LOG")"
expect_status 503 "${AUTH[@]}" "$URL/v1/vaults/v/objects/pack/$B" >/dev/null
assert_match "it is recorded as bad: later GETs get 503" "failed verification" "$(cat "$BODY")"
expect_status 200 "${AUTH[@]}" "$URL/v1/capabilities" >/dev/null

# ---- by default a small object is checked as it streams too ----
SMALL=$(((3 << 20) + 777))
head -c "$SMALL" /dev/urandom >"$W/small"
S=$(sha256 "$W/small")
put_object v pack "$W/small" >/dev/null
f=$(find "$DATA/objects" -type f -name "$S" | head -1)
byte=$(dd if="$f" bs=1 skip=100 count=1 status=none | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 1)))" | dd of="$f" bs=1 seek=100 conv=notrunc status=none
assert_ne "the small copy no longer hashes to its ID" "$S" "$(sha256 "$f")"
curl -s --max-time 60 "${AUTH[@]}" -o "$W/cut" "$URL/v1/vaults/v/objects/pack/$S"
assert_eq "a damaged small object's GET is cut short too (curl 18)" 18 "$?"
n=$(file_size "$W/cut")
assert_true "its last chunk never went out ($n of $SMALL bytes)" [ "${n:-0}" -le $((3 << 20)) ]
expect_status 503 "${AUTH[@]}" "$URL/v1/vaults/v/objects/pack/$S" >/dev/null
assert_match "and it is recorded as bad" "failed verification" "$(cat "$BODY")"

stop_vaultd
finish
