#!/usr/bin/env bash
# Tiering (spec/tiering.md) end to end, against a real S3 server (s3rver
# behind the SigV4-checking front of s3lib.sh) and an archive backend:
#   - packs of a vault whose policy says tier-to cloud (s3) move there on
#     `vaultctl tier`: the hot file is gone, the AWS CLI sees the key with
#     the same bytes, GET (whole and ranged) serves the same bytes, HEAD the
#     size, `vaultctl tier locations` names one backend each;
#   - packs tiered to the archive answer GET with 202, Retry-After and
#     {"code":"recalling"}, then 200 with the same bytes once recalled, and
#     are hot again (the file is back);
#   - DELETE of a cold pack removes its S3 key;
#   - kill -9 in the middle of a move (a low tier-rate holds each move to
#     the cloud between its verified copy and its commit), restart: every pack still
#     reads back byte-identical, each has exactly one location, and S3 holds
#     exactly the packs whose location is cloud.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
start_s3rver vaultbkt

cat >"$W/vaultd.conf" <<EOF
backend hot {
    type fs
    path $DATA/objects
}
backend tape {
    type archive
    path $TEST_TMP/tape
    cartridge-size 1M
}
backend cloud {
    type s3
    endpoint $S3_URL
    region $S3_REGION
    bucket vaultbkt
    prefix cold/
    path-style yes
    credentials-file $S3_CREDS
}
policy to-cloud {
    tier-to cloud
    tier-after 1s
}
policy to-tape {
    tier-to tape
    tier-idle 6s
}
tenant acme {
    vault sv {
        policy to-cloud
    }
    vault tv {
        policy to-tape
    }
}
EOF
"$VAULTD" -n -c "$W/vaultd.conf" >"$W/check.out" 2>&1
assert_eq "vaultd -n accepts the tiering configuration" 0 "$?"

start_vaultd -c "$W/vaultd.conf"
use_token "$(new_token acme)"
create_vault sv
create_vault tv

# put_packs VAULT N SIZE...: uploads random packs; their files go to $W/VAULT.N
put_packs() {
	local v=$1 i=0 s
	shift
	for s in "$@"; do
		rand_file "$W/$v.$i" "$s" >/dev/null
		put_object "$v" pack "$W/$v.$i"
		i=$((i + 1))
	done
}

# hot_file ID: the path of the pack on the hot backend, or nothing.
hot_file() {
	find "$DATA/objects" -name "$1" -type f 2>/dev/null | head -1
}

# locations VAULT: "ID names" lines, sorted.
locations() {
	vctl tier locations acme "$1" | LC_ALL=C sort
}

# check_reads VAULT FILES...: every file reads back byte-identical.
check_reads() {
	local v=$1 f id
	shift
	for f in "$@"; do
		id=$(sha256 "$f")
		get_object "$v" pack "$id" "$W/got" && assert_same_file "GET $v/$id" "$f" "$W/got"
	done
}

# tv's packs must sit unread for 6 s (tier-idle) before they move; a pack
# recalled (which counts as a read) then stays hot for 6 s, long enough to
# check that it does even under the sanitizers.
put_packs tv 70000 2000000
tv_time=$SECONDS
out=$(vctl --json tier acme tv)
assert_eq "tier acme tv too early: moved" 0 "$(json_num moved "$out")"
assert_eq "tier acme tv too early: examined" 2 "$(json_num examined "$out")"
put_packs sv 100000 5000000 1
sleep 2

# --- to S3 -----------------------------------------------------------
out=$(vctl --json tier acme sv)
assert_eq "tier acme sv: moved" 3 "$(json_num moved "$out")"
assert_eq "tier acme sv: failed" 0 "$(json_num failed "$out")"
for i in 0 1 2; do
	id=$(sha256 "$W/sv.$i")
	assert_eq "hot copy of sv.$i is gone" "" "$(hot_file "$id")"
	assert_eq "locations of sv.$i" "$id cloud" "$(locations sv | grep "^$id")"
	key=$(s3_aws_keys cold/ vaultbkt | grep "/pack/${id:0:2}/$id$")
	assert_match "S3 key of sv.$i" "^cold/[0-9a-f]{16}/pack/${id:0:2}/$id\$" "$key"
	assert_eq "S3 holds sv.$i byte for byte" "$id" "$(s3_aws_sha "$key" vaultbkt)"
done
assert_eq "S3 keys under cold/" 3 "$(s3_aws_keys cold/ vaultbkt | wc -l | tr -d ' ')"
check_reads sv "$W/sv.0" "$W/sv.1" "$W/sv.2"
id=$(sha256 "$W/sv.1")
expect_status 206 "${AUTH[@]}" -H 'Range: bytes=4999990-' "$URL/v1/vaults/sv/objects/pack/$id"
assert_eq "ranged GET from S3" "$(tail -c 10 "$W/sv.1" | od -An -tx1)" "$(od -An -tx1 <"$BODY")"
expect_status 200 -I "${AUTH[@]}" "$URL/v1/vaults/sv/objects/pack/$id"
assert_eq "HEAD of a cold pack: its size" 5000000 "$(header Content-Length)"
assert_eq "no S3 request refused" 0 "$(s3_rejected_count)"

# --- to the archive, and the recall ----------------------------------
while [ $((SECONDS - tv_time)) -lt 7 ]; do
	sleep 0.5
done
out=$(vctl --json tier acme tv)
assert_eq "tier acme tv: moved" 2 "$(json_num moved "$out")"
for i in 0 1; do
	id=$(sha256 "$W/tv.$i")
	assert_eq "hot copy of tv.$i is gone" "" "$(hot_file "$id")"
	assert_eq "locations of tv.$i" "$id tape" "$(locations tv | grep "^$id")"
done
assert_true "the archive holds a cartridge" [ -s "$TEST_TMP/tape/cart-00000001.seg" ]
id=$(sha256 "$W/tv.1")
expect_status 202 "${AUTH[@]}" "$URL/v1/vaults/tv/objects/pack/$id"
assert_match "202 body" "^\\{\"code\":\"recalling\",\"message\":\"[^\"]+\",\"id\":\"$id\",\"retry_after\":[0-9]+\\}\$" "$(body)"
assert_eq "202 Content-Type" application/json "$(header Content-Type)"
assert_match "Retry-After" '^[0-9]+$' "$(header Retry-After)"
expect_status 200 -I "${AUTH[@]}" "$URL/v1/vaults/tv/objects/pack/$id"
assert_eq "HEAD of an archived pack: its size" 2000000 "$(header Content-Length)"
code=202
for ((i = 0; i < 100 && code == 202; i++)); do
	code=$(curl -s -o "$W/got" -w '%{http_code}' "${AUTH[@]}" "$URL/v1/vaults/tv/objects/pack/$id")
	[ "$code" == 202 ] && sleep 0.1
done
assert_eq "GET after the recall" 200 "$code"
assert_same_file "recalled bytes" "$W/tv.1" "$W/got"
assert_ne "the recalled pack is hot again" "" "$(hot_file "$id")"
assert_eq "locations after the recall" "$id hot" "$(locations tv | grep "^$id")"
# Read just now, so tier-idle keeps it hot for a while; the other stays on tape.
out=$(vctl --json tier acme tv)
assert_eq "a just-recalled pack stays hot" 0 "$(json_num moved "$out")"

# --- DELETE of a cold pack --------------------------------------------
id=$(sha256 "$W/sv.2")
expect_status 204 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/sv/objects/pack/$id"
assert_eq "S3 key of the deleted pack" "" "$(s3_aws_keys cold/ vaultbkt | grep "$id$")"
assert_eq "S3 keys under cold/ after the delete" 2 "$(s3_aws_keys cold/ vaultbkt | wc -l | tr -d ' ')"

# --- kill -9 in the middle of a move ----------------------------------
stop_vaultd
# 12K per second: the first move waits at least 1.4 s (its bytes past one
# second's worth) with its copy on S3 and not yet recorded.
{ cat "$W/vaultd.conf"; echo "tier-rate 12K"; } >"$W/slow.conf"
"$VAULTD" -n -c "$W/slow.conf" >"$W/check.out" 2>&1
assert_eq "vaultd -n accepts tier-rate" 0 "$?"
start_vaultd -c "$W/slow.conf"
put_packs sv 30000 40000 50000 60000
mv "$W/sv.0" "$W/sv.n0"; mv "$W/sv.1" "$W/sv.n1"; mv "$W/sv.2" "$W/sv.n2"; mv "$W/sv.3" "$W/sv.n3"
sleep 2
vctl tier acme sv >"$W/tier.out" 2>&1 &
tier_pid=$!
# The first move copies at once, then waits out tier-rate before its commit.
for ((i = 0; i < 100; i++)); do
	[ "$(s3_aws_keys cold/ vaultbkt | wc -l | tr -d ' ')" -gt 2 ] && break
	sleep 0.1
done
assert_true "a copy reached S3 before the kill" [ "$(s3_aws_keys cold/ vaultbkt | wc -l | tr -d ' ')" -gt 2 ]
kill9_vaultd
wait "$tier_pid" 2>/dev/null
start_vaultd -c "$W/vaultd.conf"
assert_match "the restart settled the interrupted move" 'finished or undid [0-9]+ interrupted' \
	"$(cat "$VAULTD_LOG")"
check_reads sv "$W/sv.n0" "$W/sv.n1" "$W/sv.n2" "$W/sv.n3"
locs=$(locations sv)
assert_eq "every sv pack listed once" 6 "$(printf '%s\n' "$locs" | wc -l | tr -d ' ')"
assert_eq "each with exactly one location" 0 "$(printf '%s\n' "$locs" | grep -c ',')"
assert_eq "S3 holds exactly the packs located there" \
	"$(printf '%s\n' "$locs" | grep -c ' cloud$')" "$(s3_aws_keys cold/ vaultbkt | wc -l | tr -d ' ')"
for f in "$W/sv.n0" "$W/sv.n1" "$W/sv.n2" "$W/sv.n3"; do
	id=$(sha256 "$f")
	case $(printf '%s\n' "$locs" | grep "^$id" | cut -d' ' -f2) in
	hot) assert_ne "hot pack $id has its file" "" "$(hot_file "$id")" ;;
	cloud) assert_eq "cloud pack $id has no hot file" "" "$(hot_file "$id")" ;;
	*) fail "pack $id has an unexpected location" ;;
	esac
done
# A second run moves the rest.
out=$(vctl --json tier acme sv)
assert_eq "after the restart nothing failed" 0 "$(json_num failed "$out")"
assert_eq "every sv pack on S3 now" 6 "$(locations sv | grep -c ' cloud$')"
check_reads sv "$W/sv.n0" "$W/sv.n3"
assert_eq "no S3 request refused" 0 "$(s3_rejected_count)"
finish
