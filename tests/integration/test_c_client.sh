#!/usr/bin/env bash
# The C client test (tests/tools/vsp_client_test.c, libcurl with one reused
# handle) against a real daemon, then a restart and a second run.
. "$(dirname "$0")/lib.sh"

CLIENT=$TOOLS_DIR/vsp_client_test
if [ ! -x "$CLIENT" ]; then
	fail "no $CLIENT: build it with make $VAULT_BUILD/tools/vsp_client_test (make integration does)"
	finish
fi

start_vaultd
new_tenant acme
TOKEN=$(new_token acme --scopes all)
# run_client VAULT [SEED]: runs the client; its output is shown on failure.
run_client() {
	if "$CLIENT" "$URL" "$TOKEN" "$@" >"$TEST_TMP/client.out" 2>&1; then
		pass_check
		grep -E '^(vsp_client_test|[0-9]+ requests)' "$TEST_TMP/client.out" | sed 's/^/  .. /'
	else
		fail "vsp_client_test $* failed:"
		sed 's/^/    /' "$TEST_TMP/client.out" >&2
	fi
}
run_client cvault
run_client cvault2 12345
# The client leaves half of its objects; they survive a restart.
restart_vaultd
use_token "$TOKEN"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/cvault"
assert_eq "cvault objects after a restart" 10 "$(vault_counts "$(body)" | cut -d' ' -f1)"
n=$(list_all cvault pack | grep -c .)
assert_eq "cvault listing after a restart" 10 "$n"
for id in $(list_all cvault pack); do
	get_object cvault pack "$id" "$TEST_TMP/get"
	assert_eq "cvault object SHA-256 after a restart" "$id" "$(sha256 "$TEST_TMP/get")"
done
# The vault exists now, so a second run on it must fail at once (409).
if "$CLIENT" "$URL" "$TOKEN" cvault >"$TEST_TMP/client.out" 2>&1; then
	fail "vsp_client_test on an existing vault succeeded"
else
	assert_true "the client reports the 409" grep -q 'expected 201, got 409' "$TEST_TMP/client.out"
fi
assert_eq "objects/.tmp at the end" 0 "$(tmp_count)"

finish
