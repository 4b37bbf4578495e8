#!/usr/bin/env bash
# Replication between two real daemons on loopback (spec/replication.md).
# A source vaultd replicates tenant acme's vaults to a target vaultd (its own
# tenant dr, a read,append,delete token). Checked:
#   - 200 small objects, four of 8 MiB, a config and a snapshot envelope
#     arrive while the target is killed (-9) mid-stream and restarted on the
#     same port and data: both sides end with identical listings of every
#     kind and the target's bytes hash to their IDs; status shows queue 0
#     and the error recorded during the outage;
#   - the same with the SOURCE killed -9 and restarted mid-stream;
#   - a bad target token: 401 in status, nothing sent, nothing lost; the
#     token file is fixed, SIGHUP, and everything arrives;
#   - a target vault over its quota: 507 in status, the objects stay queued;
#   - GC purging objects: a delete goes out for the one the target holds,
#     none for the one never copied (its put is dropped);
#   - `vaultctl replicate` seeds a vault that existed before its policy
#     named the target (a reload adds it: only new objects are queued);
#   - replicate-bandwidth holds 12 MiB of copies to about 3 s at 4M;
#   - a restic repository's snapshot (no envelope) and key file arrive, the
#     snapshot through the target's restic endpoint.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"

two_daemons

# ---- the target -------------------------------------------------------
cat >"$W/target.conf" <<EOF
tenant dr {
    vault tiny {
        quota 1K
    }
}
EOF
DATA=$TEST_TMP/target
start_vaultd -c "$W/target.conf"
TPORT=$PORT
use_token "$(new_token dr --scopes all)"
for v in main b g old tiny rv; do create_vault $v; done
REPL_TOKEN=$(new_token dr --scopes read,append,delete)
printf '%s\n' "$REPL_TOKEN" >"$W/token"
printf 'vt1_0000000000000000_%064d\n' 0 >"$W/bad-token"
save_as T

# ---- the source -------------------------------------------------------
# write_source_conf OLD-POLICY [BANDWIDTH]: the source's file (vault old's
# policy and the bandwidth cap vary).
write_source_conf() {
	cat >"$W/source.conf" <<EOF
replicate-workers 4
replicate-bandwidth ${2:-0}
target dr {
    type vault
    url http://127.0.0.1:$TPORT
    token-file $W/token
}
target dr2 {
    type vault
    url http://127.0.0.1:$TPORT/
    vault b
    token-file $W/bad-token
}
target full {
    type vault
    url http://127.0.0.1:$TPORT
    vault tiny
    token-file $W/token
}
policy rep {
    replicate-to dr
    gc-grace 1s
}
policy repbad {
    replicate-to dr2
}
policy repfull {
    replicate-to full
}
policy plain {
}
tenant acme {
    policy rep
    vault b {
        policy repbad
    }
    vault q {
        policy repfull
    }
    vault old {
        policy $1
    }
}
EOF
}
write_source_conf plain
DATA=$TEST_TMP/source
VAULTD_PID=
out=$("$VAULTD" -n -c "$W/source.conf" 2>&1)
assert_eq "vaultd -n accepts the source's file" 0 $?
start_vaultd -c "$W/source.conf"
# The tenant block creates tenant acme (vaultd.conf).
use_token "$(new_token acme --scopes all)"
for v in main b q g old rv; do create_vault $v; done
save_as S

# ---- helpers ----------------------------------------------------------
# stat_of TARGET: the target's object in the source's status, or "".
stat_of() {
	(use S && vctl --json status) | grep -o "{\"target\":\"$1\",[^}]*}"
}
# wait_for TARGET FIELD VALUE [SECONDS]: polls status until FIELD is VALUE.
wait_for() {
	local i s
	for ((i = 0; i < ${4:-120} * 4; i++)); do
		s=$(stat_of "$1")
		if [ "$(json_num "$2" "$s")" == "$3" ]; then
			pass_check
			return 0
		fi
		sleep 0.25
	done
	fail "target $1: $2 did not reach $3 (status: $s)"
	return 1
}
# last_error TARGET
last_error() {
	stat_of "$1" | grep -o '"last_error":"[^"]*"' | cut -d'"' -f4
}
# ids VAULT KIND: sorted IDs of the current daemon.
ids() { list_all "$1" "$2" | sort; }
# same_sets SVAULT TVAULT: both sides list the same IDs of every kind, and
# every object read back from the target hashes to its ID.
same_sets() {
	local k s t id bad=0
	for k in pack index snapshot; do
		s=$(use S && ids "$1" $k)
		t=$(use T && ids "$2" $k)
		assert_eq "$1/$k: the target lists what the source lists" "$s" "$t"
		for id in $t; do
			(use T && curl -s "${AUTH[@]}" "$URL/v1/vaults/$2/objects/$k/$id" >"$W/got")
			[ "$(sha256 "$W/got")" == "$id" ] || bad=$((bad + 1))
		done
	done
	assert_eq "$2: objects at the target whose bytes do not hash to their ID" 0 "$bad"
}
# upload VAULT KIND N SIZE PREFIX: N random objects; their IDs go to PREFIX.ids
upload() {
	local i f
	for ((i = 0; i < $3; i++)); do
		f=$W/$5.$i
		head -c "$4" /dev/urandom >"$f"
		put_object "$1" "$2" "$f" >/dev/null
		sha256 "$f" >>"$W/$5.ids"
	done
}
# restart_target: start the target again on its port and data.
restart_target() {
	use T
	VAULTD_PID=
	start_vaultd -c "$W/target.conf" -l "127.0.0.1:$TPORT"
	save_as T
	use S
}

# ---- A: the target is killed mid-stream ---------------------------------
note "target killed mid-stream"
use S
upload main pack 100 4096 a1
upload main pack 4 $((8 << 20)) big
head -c 300 /dev/urandom >"$W/config"
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/config" "$URL/v1/vaults/main/config"
use T
outage=$(date +%s)
kill9_vaultd
save_as T
use S
upload main pack 100 4096 a2
upload main index 3 2000 idx
p1=$(sed -n 1p "$W/a1.ids")
p2=$(sed -n 2p "$W/a1.ids")
i1=$(sed -n 1p "$W/idx.ids")
refs=$(printf '%s\n' "0:$p1" "0:$p2" | sort)
envelope "$W/snap" 1700000000 "$GROUP" "the snapshot body" $refs "1:$i1"
put_object main snapshot "$W/snap"
sleep 2
s=$(stat_of dr)
assert_ne "queue while the target is down" 0 "$(json_num queue "$s")"
assert_match "an error is recorded during the outage" "onnect" "$(last_error dr)"
restart_target
wait_for dr queue 0 180
same_sets main main
# The last error stays visible after the recovery (it may be a later one, a
# snapshot's 409 while its index was still on its way).
assert_ne "a last error is still shown" "" "$(last_error dr)"
t=$(json_num last_error_time "$(stat_of dr)")
assert_true "it was recorded after the outage began" [ "${t:-0}" -ge "$outage" ]
(use T && curl -s "${AUTH[@]}" "$URL/v1/vaults/main/config" >"$W/config.got")
assert_same_file "the config blob arrived" "$W/config" "$W/config.got"
assert_eq "copies counted" 209 "$(json_num done "$(stat_of dr)")"

# ---- B: the source is killed mid-stream -------------------------------
note "source killed mid-stream"
upload main pack 4 $((8 << 20)) big2
upload main pack 30 4096 b1
kill9_vaultd
VAULTD_PID=
start_vaultd -c "$W/source.conf"
save_as S
wait_for dr queue 0 180
same_sets main main

# ---- C: a bad token ----------------------------------------------------
note "bad token"
upload b pack 5 1000 c
wait_for dr2 failed 5 60
assert_match "401 in status" "HTTP 401" "$(last_error dr2)"
assert_eq "nothing reached the target" "" "$(use T && ids b pack)"
cp "$W/token" "$W/bad-token"
kill -HUP "$VAULTD_PID"
wait_for dr2 queue 0 60
same_sets b b

# ---- D: the target's vault is full ------------------------------------
note "target over quota"
upload q pack 3 2000 d
wait_for full queue 3 30
for ((i = 0; i < 80; i++)); do
	last_error full | grep -q 507 && break
	sleep 0.25
done
assert_match "507 in status" "HTTP 507" "$(last_error full)"
sleep 2
s=$(stat_of full)
assert_eq "the objects stay queued" 3 "$(json_num queue "$s")"
assert_eq "and are not failed for good" 0 "$(json_num failed "$s")"

# ---- E: GC deletes propagate once the copy is done ----------------------
note "gc"
upload g pack 1 3000 e1
wait_for dr queue 0 60
g1=$(cat "$W/e1.ids")
deleted=$(json_num deleted "$(stat_of dr)")
use T
kill9_vaultd
save_as T
use S
upload g pack 1 3000 e2
g2=$(cat "$W/e2.ids")
sleep 2
vctl gc acme g >/dev/null || fail "gc (tombstone)"
sleep 2
vctl gc acme g >/dev/null || fail "gc (purge)"
s=$(stat_of dr)
assert_eq "one delete queued, the never-copied put dropped" 1 "$(json_num queue "$s")"
restart_target
wait_for dr queue 0 120
assert_eq "deletes done" $((deleted + 1)) "$(json_num deleted "$(stat_of dr)")"
use T
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/g/objects/pack/$g1" >/dev/null
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/g/objects/pack/$g2" >/dev/null
use S

# ---- F: vaultctl replicate seeds an older vault ------------------------
note "seed"
upload old pack 10 1000 f1
write_source_conf rep
kill -HUP "$VAULTD_PID"
sleep 1
upload old pack 1 1000 f2
wait_for dr queue 0 60
assert_eq "after the reload only the new object is sent" 1 \
	"$(use T && ids old pack | wc -l)"
out=$(vctl replicate acme old)
assert_match "replicate says how many it queued" "queued 10 object" "$out"
wait_for dr queue 0 60
same_sets old old
out=$(vctl replicate acme old dr)
assert_match "a second seed queues nothing" "queued 0 object" "$out"
out=$(vctl replicate acme old nosuch 2>&1)
assert_match "an unknown target is refused" "no target named" "$out"

# ---- G: the bandwidth cap ------------------------------------------------
note "bandwidth"
write_source_conf rep 4M
kill -HUP "$VAULTD_PID"
sleep 1
t0=$(date +%s%N)
upload main pack 3 $((4 << 20)) bw
wait_for dr queue 0 60
ms=$((($(date +%s%N) - t0) / 1000000))
assert_true "12 MiB at 4 MiB/s take at least 2.5 s (took $ms ms)" [ "$ms" -ge 2500 ]
assert_true "and not much more than 3 s (took $ms ms)" [ "$ms" -le 8000 ]
same_sets main main

# ---- H: a restic repository ----------------------------------------------
note "restic"
head -c 700 /dev/urandom >"$W/rsnap"
head -c 300 /dev/urandom >"$W/rkey"
head -c 5000 /dev/urandom >"$W/rdata"
for f in snapshots:rsnap keys:rkey data:rdata; do
	expect_status 200 -X POST -u "acme:$TOKEN" --data-binary @"$W/${f#*:}" \
		"$URL/restic/rv/${f%%:*}/$(sha256 "$W/${f#*:}")" >/dev/null
done
wait_for dr queue 0 60
for f in snapshot:rsnap key:rkey pack:rdata; do
	(use T && curl -s "${AUTH[@]}" \
		"$URL/v1/vaults/rv/objects/${f%%:*}/$(sha256 "$W/${f#*:}")" >"$W/got")
	assert_same_file "restic ${f%%:*} at the target" "$W/${f#*:}" "$W/got"
done

# ---- the end -------------------------------------------------------------
stop_vaultd
S_PID=
use T
finish
