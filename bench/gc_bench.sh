#!/usr/bin/env bash
# GC at scale: time and peak RSS of garbage collection on one vault holding
# N pack records (default 1,000,000), half of them referenced by one
# snapshot. Three runs, each its own process under /usr/bin/time -v:
# a dry run, the tombstone run, and the delete run one grace window later.
# The metadata is made directly (bench/gc_bench.c), not over HTTP; the
# packs have records but no files, so the delete phase measures metadata
# work plus one ENOENT per file.
#   make gc-bench            N=200000 make gc-bench
set -euo pipefail
BUILD=${VAULT_BUILD:-build}
N=${N:-1000000}
REFS=${REFS:-$((N / 2))}
BIN=$BUILD/bench/gc_bench
DIR=$(mktemp -d "${TMPDIR:-/tmp}/gc_bench.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
timed() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>"$DIR/time.txt"
		grep -E 'Elapsed|Maximum resident' "$DIR/time.txt" | sed 's/^\s*/  /'
	else
		"$@"
	fi
}
echo "== setup: $N packs, $REFS referenced"
timed "$BIN" setup "$DIR" "$N" "$REFS"
NOW=$(date +%s)
echo "== dry run"
timed "$BIN" run "$DIR" "$NOW" dry
echo "== tombstone run"
timed "$BIN" run "$DIR" "$NOW"
echo "== delete run (one grace window later)"
timed "$BIN" run "$DIR" $((NOW + 86400 + 1))
du -sh "$DIR/meta" | sed 's/^/  metadata: /'
