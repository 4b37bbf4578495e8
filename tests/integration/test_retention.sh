#!/usr/bin/env bash
# Keep rules applied by the real daemon (spec/retention.md, spec/gc.md): a
# synthetic history of snapshots goes in (a table of client times), `vaultctl
# gc` forgets what the vault's policy does not keep, and exactly the expected
# survivors remain. Includes the forged-time attack: snapshots claiming
# future dates are taken as made when the server received them, so they
# cannot push real history out.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
CONF=$W/vaultd.conf
cat >"$CONF" <<EOF
policy daily {
    keep-daily 4
    gc-grace 1s
}
policy three {
    keep-last 3
    gc-grace 1s
}
tenant acme {
    vault hist {
        policy daily
    }
    vault last {
        policy three
    }
}
EOF
start_vaultd -c "$CONF"
use_token "$(new_token acme --scopes all)"
create_vault hist
create_vault last

DAY=86400
NOW=$(date +%s)
T0=$((NOW / DAY * DAY)) # today, 00:00 UTC
FUTURE=4102444800        # 2100-01-01
# snap VAULT NAME TIME: uploads a snapshot with no references; ID in $NAME.
snap() {
	envelope "$W/$2" "$3" "$GROUP" "tree $2" || return 1
	put_object "$1" snapshot "$W/$2"
	printf -v "$2" '%s' "$(sha256 "$W/$2")"
}
survivors() {
	expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/$1/objects/snapshot" >/dev/null
	json_ids "$(body)" | tr ' ' '\n' | grep . | sort | tr '\n' ' '
}
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' '; }

# ---- keep-daily 4 against five forged future days ----
note "keep-daily with forged times"
snap hist d1 $((T0 - 1 * DAY + 12 * 3600))  # yesterday noon
snap hist d2 $((T0 - 2 * DAY + 12 * 3600))
snap hist d3 $((T0 - 3 * DAY + 12 * 3600))
snap hist d3early $((T0 - 3 * DAY + 6 * 3600)) # same day, older: not kept
snap hist d5 $((T0 - 5 * DAY + 12 * 3600))  # past the 4 newest days
for k in 1 2 3 4 5; do
	snap hist "f$k" $((FUTURE + k * DAY))
done
if vctl --json gc acme hist >"$W/gc.out" 2>&1; then pass_check; else fail "gc: $(cat "$W/gc.out")"; fi
# d3early, d5 and four of the five forged ones.
assert_match "gc reports the forgotten snapshots" '"snapshots_forgotten":6' "$(cat "$W/gc.out")"
left=$(survivors hist)
# Clamped to their receive time, the forged ones share today's bucket: one of
# them stays (today), and the three real days before it stay too.
for s in "$d1" "$d2" "$d3"; do
	assert_match "real snapshot $s kept" "$s" "$left"
done
for s in "$d3early" "$d5"; do
	if [[ $left == *"$s"* ]]; then fail "$s should have been forgotten"; else pass_check; fi
done
forged=0
for s in "$f1" "$f2" "$f3" "$f4" "$f5"; do
	[[ $left == *"$s"* ]] && forged=$((forged + 1))
done
assert_eq "one forged snapshot kept (today's bucket)" 1 "$forged"
assert_eq "four survivors" 4 "$(wc -w <<<"$left")"

# ---- keep-last 3: the newest by effective time ----
note "keep-last"
snap last a $((NOW - 3 * 3600))
snap last b $((NOW - 2 * 3600))
snap last c $((NOW - 3600))
snap last old $((NOW - 10 * DAY))
snap last forged $FUTURE
if vctl --json gc acme last >"$W/gc2.out" 2>&1; then pass_check; else fail "gc: $(cat "$W/gc2.out")"; fi
# forged counts as received now (newest), then c and b; a and old go.
assert_eq "keep-last survivors" "$(sorted "$forged" "$c" "$b")" "$(survivors last)"

finish
