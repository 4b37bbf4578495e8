#!/usr/bin/env bash
# The S3 backend (vaultd/backend_s3.c) against a real S3 server: s3rver
# behind the front that checks SigV4 signatures and payload hashes
# (s3lib.sh). Runs the shared backend conformance suite of
# tests/unit/test_backend.c with VAULT_TEST_S3 set, so the "s3" group runs
# too, then checks with the AWS CLI, an independent client, that what the
# backend stores is plain S3 objects under the prefix.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

TEST_BIN=$BUILD_DIR/tests/test_backend
if [ ! -x "$TEST_BIN" ]; then
	fail "no $TEST_BIN: build it first (make unit)"
	finish
fi
start_s3rver vaultbkt
out=$TEST_TMP/test_backend.out
if VAULT_TEST_S3="$S3_URL vaultbkt $S3_CREDS" TMPDIR=$TEST_TMP "$TEST_BIN" >"$out" 2>&1; then
	pass_check
else
	fail "test_backend with VAULT_TEST_S3 failed:"
	grep -E 'FAILED|ERROR|Failure|error' "$out" | head -30 >&2
fi
# Four groups passed (fs, mem, archive, s3); the s3 one with all 13
# conformance tests.
assert_eq "groups that passed" 4 "$(grep -c 'PASSED  \]' "$out")"
assert_eq "mem and s3 passed 13 tests each" 2 "$(grep -c 'PASSED  \] 13 test' "$out")"
# Every request went through the verifying front, and none was refused.
assert_eq "no request failed SigV4 or payload checks" 0 "$(s3_rejected_count)"
assert_true "the PUTs were checked by the front" [ "$(grep -c '^verified PUT' "$S3_VERIFY_LOG")" -gt 100 ]
# What the suite left behind is readable by the AWS CLI: "v/pack/ab/big" of
# test_roundtrip_sizes, 1 MiB + 3 bytes.
key=$(s3_aws s3api list-objects-v2 --bucket vaultbkt --query 'Contents[].Key' --output text |
	tr '\t' '\n' | grep '/v/pack/ab/big$' | head -1)
assert_match "the AWS CLI lists a key of the suite" '^bt-[0-9]+-[0-9]+/v/pack/ab/big$' "$key"
assert_eq "its size as the CLI sees it" $((1024 * 1024 + 3)) "$(s3_aws_size "$key" vaultbkt)"
finish
