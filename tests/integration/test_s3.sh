#!/usr/bin/env bash
# The S3 client (s3/s3.h, through build/tools/s3_tool) against a real
# S3 server, s3rver, behind a front that checks SigV4 signatures and payload
# hashes (s3lib.sh), with the AWS CLI as the independent reader:
#  - objects of 0 B, 1 B, 1000 B and 5 MiB stored under their SHA-256 (sent as
#    x-amz-content-sha256, as Vault does with object IDs) in path style, seen
#    by `aws s3api head-object` (size) and `aws s3 cp` (bytes);
#  - virtual-host style (BUCKET.s3.localhost) for put, head, get and list, with
#    a key full of bytes that must be encoded;
#  - listing with continuation tokens (2 keys a page), with a prefix;
#  - a body that does not match its hash is refused, and not stored;
#  - wrong secret: SignatureDoesNotMatch; unknown access key:
#    InvalidAccessKeyId; missing bucket: NoSuchBucket; missing key: status 3;
#    a bad credentials file names file:line; each exits non-zero;
#  - delete, after which neither the AWS CLI nor a listing sees the objects.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

TOOL=$TOOLS_DIR/s3_tool
if [ ! -x "$TOOL" ]; then
	fail "no $TOOL: build first (make build/tools/s3_tool)"
	finish
fi
start_s3rver vaultbkt
note "s3rver at $S3_RAW_URL, verified front at $S3_URL"

# tool ARGS...: s3_tool, path style, prefix vault/, keys from $S3_CREDS.
tool() {
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -p vault/ -c "$S3_CREDS" "$@"
}
# vtool ARGS...: the same in virtual-host style.
vtool() {
	"$TOOL" -e "$S3_VHOST_URL" -V -b "$S3_BUCKET" -p vault/ -c "$S3_CREDS" "$@"
}
# expect_fail STATUS WORD CMD...: CMD exits with STATUS and says WORD on stderr.
expect_fail() {
	local want=$1 word=$2 rc
	shift 2
	"$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
	rc=$?
	assert_eq "exit status of $*" "$want" "$rc"
	assert_match "message of $*" "$word" "$(cat "$TEST_TMP/err")"
}

# --- objects under their SHA-256, path style --------------------------------
ids=()
for size in 0 1 1000 $((5 * 1024 * 1024)); do
	f=$TEST_TMP/obj.$size
	id=$(rand_file "$f" "$size")
	key=$(tool put-id "$f")
	assert_eq "put-id of $size bytes prints the ID" "$id" "$key"
	assert_eq "aws head-object size of $size bytes" "$size" "$(s3_aws_size "vault/$id")"
	assert_eq "aws s3 cp bytes of $size bytes" "$id" "$(s3_aws_sha "vault/$id")"
	assert_match "s3_tool head of $size bytes" "^$size [0-9a-f]{32}\$" "$(tool head "$id")"
	tool get "$id" "$TEST_TMP/back.$size"
	assert_same_file "s3_tool get of $size bytes" "$f" "$TEST_TMP/back.$size"
	ids+=("$id")
done
# The same object again: an idempotent overwrite with the same bytes.
assert_true "a second PUT of the same object" tool put-id "$TEST_TMP/obj.1" >/dev/null

# --- virtual-host style ------------------------------------------------------
odd='odd dir/a b+$=&;,:@!*()[]é~.x'
head -c 777 /dev/urandom >"$TEST_TMP/odd"
assert_true "vhost put of an odd key" vtool put "$odd" "$TEST_TMP/odd"
assert_eq "aws sees the odd key's size" 777 "$(s3_aws_size "vault/$odd")"
assert_eq "aws reads the odd key's bytes" "$(sha256 "$TEST_TMP/odd")" "$(s3_aws_sha "vault/$odd")"
assert_match "vhost head" "^777 " "$(vtool head "$odd")"
vtool get "$odd" "$TEST_TMP/odd.back"
assert_same_file "vhost get" "$TEST_TMP/odd" "$TEST_TMP/odd.back"
vtool get "${ids[3]}" "$TEST_TMP/big.vback"
assert_same_file "vhost get of 5 MiB" "$TEST_TMP/obj.5242880" "$TEST_TMP/big.vback"
assert_match "vhost requests reached the bucket by its host name" \
	"verified GET /vault/${ids[3]}" "$(cat "$S3_VERIFY_LOG")"

# --- listing -----------------------------------------------------------------
expected=$( (printf '%s\n' "${ids[@]}"; printf '%s\n' "$odd") | LC_ALL=C sort)
listed=$(tool -m 2 list | sed -E 's/ [0-9]+$//')
assert_eq "s3_tool list, 2 keys a page" "$expected" "$listed"
assert_eq "aws list-objects-v2 agrees" "$expected" "$(s3_aws_keys vault/ | sed 's|^vault/||')"
pages=$(grep -c '^verified GET /vaultbkt?continuation-token=' "$S3_VERIFY_LOG")
assert_eq "continuation tokens followed (5 keys, 2 a page)" 2 "$pages"
assert_eq "list sizes" "0 1 777 1000 5242880" "$(tool list | awk '{print $NF}' | sort -n | tr '\n' ' ' | sed 's/ $//')"
assert_eq "vhost list with a sub-prefix" "$odd 777" "$(vtool -m 1 list 'odd ')"
assert_eq "list of an empty prefix" "" "$(tool list zzz)"

# --- a body that does not match the hash it is signed with -------------------
wrong=$(printf 'x' | sha256sum | cut -c1-64)
expect_fail 1 "XAmzContentSHA256Mismatch" tool put-as mismatch "$TEST_TMP/obj.1000" "$wrong"
assert_eq "the mismatched object is not stored" "" "$(s3_aws_size vault/mismatch)"

# --- wrong keys, wrong bucket, missing key ----------------------------------
s3_write_credentials "$TEST_TMP/bad-secret" "$S3_ACCESS_KEY" not-the-secret
s3_write_credentials "$TEST_TMP/bad-access" NOSUCHKEY "$S3_SECRET_KEY"
expect_fail 1 "^s3_tool: S3 bucket vaultbkt: PUT vault/k: SignatureDoesNotMatch: .* \\(403\\)\$" \
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -p vault/ -c "$TEST_TMP/bad-secret" put k "$TEST_TMP/obj.1"
expect_fail 1 "SignatureDoesNotMatch" \
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -p vault/ -c "$TEST_TMP/bad-secret" list
expect_fail 1 "HEAD vault/${ids[1]}: HTTP status 403 \\(access denied" \
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -p vault/ -c "$TEST_TMP/bad-secret" head "${ids[1]}"
expect_fail 1 "GET vault/${ids[1]}: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist" \
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -p vault/ -c "$TEST_TMP/bad-access" get "${ids[1]}"
# s3rver itself knows the access key too (it does not check signatures).
expect_fail 1 "InvalidAccessKeyId" \
	"$TOOL" -e "$S3_RAW_URL" -b "$S3_BUCKET" -p vault/ -c "$TEST_TMP/bad-access" put k "$TEST_TMP/obj.1"
assert_eq "nothing stored with bad keys" "" "$(s3_aws_size vault/k)"
expect_fail 1 "S3 bucket nosuchbkt: GET vault/${ids[1]}: NoSuchBucket: " \
	"$TOOL" -e "$S3_URL" -b nosuchbkt -p vault/ -c "$S3_CREDS" get "${ids[1]}"
expect_fail 1 "S3 bucket nosuchbkt: PUT vault/k: NoSuchBucket" \
	"$TOOL" -e "$S3_URL" -b nosuchbkt -p vault/ -c "$S3_CREDS" put k "$TEST_TMP/obj.1"
expect_fail 1 "S3 bucket nosuchbkt: GET \\(bucket\\): NoSuchBucket" \
	"$TOOL" -e "$S3_URL" -b nosuchbkt -c "$S3_CREDS" list
expect_fail 3 "not found" tool head "$wrong"
expect_fail 3 "NoSuchKey" tool get "$wrong"
printf '[default]\naws_access_key_id = A\nbroken line\n' >"$TEST_TMP/broken"
expect_fail 1 "$TEST_TMP/broken:3: expected \\[profile\\] or key = value" \
	"$TOOL" -e "$S3_URL" -b "$S3_BUCKET" -c "$TEST_TMP/broken" list
expect_fail 1 "Couldn't connect|connect" \
	"$TOOL" -e "http://127.0.0.1:1" -b "$S3_BUCKET" -c "$S3_CREDS" head x

# --- delete ------------------------------------------------------------------
for id in "${ids[@]}"; do
	assert_true "delete ${id:0:12}" tool delete "$id"
	assert_eq "aws no longer sees ${id:0:12}" "" "$(s3_aws_size "vault/$id")"
done
assert_true "vhost delete of the odd key" vtool delete "$odd"
assert_true "delete of a missing key succeeds (S3 answers 204)" tool delete "$wrong"
assert_eq "nothing listed after the deletes" "" "$(tool list)"
assert_eq "aws lists nothing either" "" "$(s3_aws_keys vault/)"

# Every request the client made was signed right except the bad-secret ones,
# and the rejections were exactly the ones provoked above.
assert_eq "requests the front rejected" 5 "$(s3_rejected_count)"
assert_match "requests the front verified" "^[0-9]{2,}\$" "$(s3_verified_count)"
if [ "$(fail_count)" -gt 0 ]; then
	s3_logs
fi
finish
