#!/usr/bin/env bash
# Runs every tests/integration/test_*.sh in order, each in a fresh scratch
# directory, and prints PASS/FAIL per test and a summary. Exits 1 if any
# test failed.
#
#   VAULT_BUILD=build tests/integration/run.sh [NAME...]
#
# VAULT_BUILD names the build directory (default build; the sanitizer build
# is build-address-undefined). NAMEs (e.g. basic or test_basic) pick tests.
# VERBOSE=1 shows the output of passing tests too; KEEP_TMP=1 keeps the
# scratch directories. Each test has TEST_TIMEOUT seconds (default 240).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
export VAULT_BUILD=${VAULT_BUILD:-build}
case $VAULT_BUILD in
/*) bdir=$VAULT_BUILD ;;
*) bdir=$root/$VAULT_BUILD ;;
esac
for b in vaultd vaultctl; do
	if [ ! -x "$bdir/$b" ]; then
		echo "run.sh: $bdir/$b is missing; build it first (make all, or make SANITIZER=... all)" >&2
		exit 1
	fi
done

tests=()
if [ $# -gt 0 ]; then
	for n in "$@"; do
		n=${n#test_}
		n=${n%.sh}
		tests+=("$here/test_$n.sh")
	done
else
	for t in "$here"/test_*.sh; do
		tests+=("$t")
	done
fi

passed=()
failed=()
start_all=$SECONDS
echo "integration tests against $bdir"
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	if [ ! -f "$t" ]; then
		echo "FAIL $name (no such test)"
		failed+=("$name")
		continue
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vsp-integration-$name.XXXXXX")
	log=$(mktemp "${TMPDIR:-/tmp}/vsp-integration-$name.log.XXXXXX")
	t0=$SECONDS
	TEST_TMP=$tmp timeout -k 10 "${TEST_TIMEOUT:-240}" bash "$t" >"$log" 2>&1
	rc=$?
	dt=$((SECONDS - t0))
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${dt}s)"
		passed+=("$name")
		[ "${VERBOSE:-0}" == 1 ] && sed 's/^/    /' "$log"
	else
		[ "$rc" -eq 124 ] && echo "    (timed out after ${TEST_TIMEOUT:-240}s)" >>"$log"
		echo "FAIL $name (${dt}s, status $rc)"
		sed 's/^/    /' "$log"
		failed+=("$name")
	fi
	rm -f "$log"
	[ "${KEEP_TMP:-0}" == 1 ] || rm -rf "$tmp"
done

echo "----"
echo "${#passed[@]} passed, ${#failed[@]} failed in $((SECONDS - start_all))s"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
exit 0
