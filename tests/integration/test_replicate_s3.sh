#!/usr/bin/env bash
# Replication to S3 (spec/replication.md) against a real S3 server, s3rver,
# behind a front that checks SigV4 signatures and payload hashes
# (s3lib.sh), with the AWS CLI as the independent reader:
#   - packs (small and 8 MiB), an index, a snapshot envelope and the config
#     of a vault arrive under PREFIX<tenant>/<vault>/<kind>/<id>; the CLI
#     lists exactly those keys and each one's bytes hash to its ID;
#   - virtual-host style (BUCKET.s3.localhost) works the same way;
#   - a wrong secret: the S3 error (SignatureDoesNotMatch, 403) in status,
#     the objects stay queued; the credentials file is fixed, SIGHUP, and
#     they arrive;
#   - GC purging a copied object deletes its key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
start_s3rver vaultbkt
s3_write_credentials "$W/bad.credentials" "$S3_ACCESS_KEY" wrong-secret

cat >"$W/vaultd.conf" <<EOF
target s3 {
    type s3
    endpoint $S3_URL
    region $S3_REGION
    bucket vaultbkt
    prefix site1/
    path-style yes
    credentials-file $S3_CREDS
}
target vh {
    type s3
    endpoint $S3_VHOST_URL
    region $S3_REGION
    bucket vaultbkt
    prefix vh/
    path-style no
    credentials-file $S3_CREDS
}
target s3bad {
    type s3
    endpoint $S3_URL
    region $S3_REGION
    bucket vaultbkt
    prefix bad/
    path-style yes
    credentials-file $W/bad.credentials
}
policy rep {
    replicate-to s3
    gc-grace 1s
}
policy repvh {
    replicate-to vh
}
policy repbad {
    replicate-to s3bad
}
tenant acme {
    policy rep
    vault v2 {
        policy repvh
    }
    vault b {
        policy repbad
    }
}
EOF
start_vaultd -c "$W/vaultd.conf"
use_token "$(new_token acme --scopes all)"
for v in main v2 b g; do create_vault $v; done

# stat_of TARGET: the target's object in status.
stat_of() {
	vctl --json status | grep -o "{\"target\":\"$1\",[^}]*}"
}
wait_for() {
	local i s
	for ((i = 0; i < ${4:-60} * 4; i++)); do
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
# upload VAULT KIND N SIZE NAME: N random objects, "KIND/ID" lines to NAME.keys.
upload() {
	local i f
	for ((i = 0; i < $3; i++)); do
		f=$W/$5.$i
		head -c "$4" /dev/urandom >"$f"
		put_object "$1" "$2" "$f" >/dev/null
		echo "$2/$(sha256 "$f")" >>"$W/$5.keys"
	done
}
# check_bucket PREFIX KEYS-FILE [EXTRA-KEY]: the CLI lists exactly those keys
# (and EXTRA-KEY) under PREFIX, and each one's bytes hash to its ID.
check_bucket() {
	local k bad=0
	assert_eq "keys under $1" "$( (cat "$2"; [ -n "${3:-}" ] && echo "$3") |
		sed "s|^|$1|" | LC_ALL=C sort)" "$(s3_aws_keys "$1")"
	while read -r k; do
		[ "$(s3_aws_sha "$1$k")" == "${k#*/}" ] || bad=$((bad + 1))
	done <"$2"
	assert_eq "objects under $1 whose bytes do not hash to their ID" 0 "$bad"
}

# ---- path style: every kind and the config ------------------------------
upload main pack 6 3000 m
upload main pack 2 $((8 << 20)) m
upload main index 1 2000 m
p1=$(sed -n 1p "$W/m.keys" | cut -d/ -f2)
i1=$(grep '^index/' "$W/m.keys" | cut -d/ -f2)
envelope "$W/snap" 1700000000 "$GROUP" "body" "0:$p1" "1:$i1"
put_object main snapshot "$W/snap" >/dev/null
echo "snapshot/$(sha256 "$W/snap")" >>"$W/m.keys"
head -c 200 /dev/urandom >"$W/config"
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/config" "$URL/v1/vaults/main/config"
wait_for s3 queue 0 90
assert_eq "copies done" 11 "$(json_num done "$(stat_of s3)")"
check_bucket site1/acme/main/ "$W/m.keys" config
assert_eq "the config" "$(sha256 "$W/config")" "$(s3_aws_sha site1/acme/main/config)"
assert_eq "the front refused no request of the good target" 0 "$(s3_rejected_count)"

# ---- virtual-host style ------------------------------------------------
upload v2 pack 3 1500 vh
wait_for vh queue 0 60
check_bucket vh/acme/v2/ "$W/vh.keys"

# ---- wrong secret ---------------------------------------------------------
upload b pack 3 1000 bad
wait_for s3bad failed 3 60
err=$(stat_of s3bad | grep -o '"last_error":"[^"]*"')
assert_match "the S3 error is shown" "SignatureDoesNotMatch" "$err"
assert_match "with its status" "403" "$err"
assert_eq "nothing stored under bad/" "" "$(s3_aws_keys bad/)"
cp "$S3_CREDS" "$W/bad.credentials"
kill -HUP "$VAULTD_PID"
wait_for s3bad queue 0 60
check_bucket bad/acme/b/ "$W/bad.keys"

# ---- GC deletes the copy ------------------------------------------------
upload g pack 1 1000 g
wait_for s3 queue 0 60
k=$(cat "$W/g.keys")
assert_eq "copied" "${k#*/}" "$(s3_aws_sha "site1/acme/g/$k")"
sleep 2
vctl gc acme g >/dev/null || fail "gc (tombstone)"
sleep 2
vctl gc acme g >/dev/null || fail "gc (purge)"
wait_for s3 queue 0 60
assert_eq "a delete was done" 1 "$(json_num deleted "$(stat_of s3)")"
assert_eq "the key is gone" "" "$(s3_aws_keys site1/acme/g/)"

finish
