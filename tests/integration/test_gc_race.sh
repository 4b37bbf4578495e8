#!/usr/bin/env bash
# Backups racing GC over real HTTP (spec/gc.md): two clients keep committing
# snapshots that reuse an old pack nobody else references, while `vaultctl
# gc` runs again and again with a 1 s grace. A client whose snapshot gets 409
# re-uploads what is missing and retries, as the protocol asks. At the end,
# every snapshot in the vault refers only to objects that are there: no
# dangling reference, whatever the interleaving.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
CONF=$W/vaultd.conf
printf 'policy quick {\n    gc-grace 1s\n}\ntenant acme {\n    policy quick\n}\n' >"$CONF"
start_vaultd -c "$CONF"
use_token "$(new_token acme --scopes all)"
create_vault main
V=$URL/v1/vaults/main

shared=$(rand_file "$W/shared" 4000) # old and unreferenced: GC's prey
put_object main pack "$W/shared"
sleep 1.5

# backup N: a fresh pack plus the shared one, then the snapshot; on 409 the
# missing objects go up again and the snapshot is retried.
backup() {
	local n=$1 i code p
	p=$(rand_file "$W/p$n" 3000)
	curl -s -o /dev/null -X PUT "${AUTH[@]}" --data-binary @"$W/p$n" "$V/objects/pack/$p"
	if [[ $shared < $p ]]; then
		envelope "$W/s$n" $(( $(date +%s) - 60 )) "$GROUP" "b$n" "0:$shared" "0:$p"
	else
		envelope "$W/s$n" $(( $(date +%s) - 60 )) "$GROUP" "b$n" "0:$p" "0:$shared"
	fi
	for ((i = 0; i < 10; i++)); do
		code=$(curl -s -o "$W/s$n.out" -w '%{http_code}' -X PUT "${AUTH[@]}" \
			--data-binary @"$W/s$n" "$V/objects/snapshot/$(sha256 "$W/s$n")")
		case $code in
		201 | 200) echo ok >>"$W/committed"; return 0 ;;
		409)
			echo retry >>"$W/retries"
			grep -q "$shared" "$W/s$n.out" &&
				curl -s -o /dev/null -X PUT "${AUTH[@]}" --data-binary @"$W/shared" "$V/objects/pack/$shared"
			grep -q "$p" "$W/s$n.out" &&
				curl -s -o /dev/null -X PUT "${AUTH[@]}" --data-binary @"$W/p$n" "$V/objects/pack/$p"
			;;
		*) echo "snapshot $n: HTTP $code" >>"$W/errors"; return 1 ;;
		esac
	done
	echo "snapshot $n: still 409 after 10 tries" >>"$W/errors"
}

note "backups during GC"
(for n in $(seq 1 12); do backup "a$n"; sleep 0.2; done) &
b1=$!
(for n in $(seq 1 12); do backup "b$n"; sleep 0.3; done) &
b2=$!
for ((r = 0; r < 8; r++)); do
	vctl gc acme main >>"$W/gc.log" 2>&1 || echo "gc run $r failed" >>"$W/errors"
	sleep 0.5
done
wait "$b1" "$b2"
assert_eq "no client or GC errors" "" "$(cat "$W/errors" 2>/dev/null)"
assert_eq "every backup committed" 24 "$(wc -l <"$W/committed")"
echo "  .. $(wc -l <"$W/retries" 2>/dev/null || echo 0) snapshot retries after a 409"

# One more GC pass after the grace, then check every reference.
sleep 1.5
vctl gc acme main >>"$W/gc.log" 2>&1 || fail "final gc failed"
note "no dangling reference"
snaps=$(list_all main snapshot)
assert_eq "24 snapshots listed" 24 "$(wc -w <<<"$snaps")"
for s in $snaps; do
	get_object main snapshot "$s" "$W/got" || continue
	# References start at offset 57, 33 bytes each; the count is at 53.
	nrefs=$(od -An -tu4 -j53 -N4 "$W/got" | tr -d ' ')
	for ((i = 0; i < nrefs; i++)); do
		id=$(od -An -v -tx1 -j $((58 + 33 * i)) -N32 "$W/got" | tr -d ' \n')
		expect_status 200 -I "${AUTH[@]}" "$V/objects/pack/$id" >/dev/null ||
			fail "snapshot $s refers to a missing pack $id"
	done
done

finish
