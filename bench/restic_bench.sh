#!/usr/bin/env bash
# restic against vaultd's restic endpoint, `rclone serve restic` and a plain
# local-directory repository, on the same corpus (bench/README.md, "restic").
#
# It builds a corpus of about 800 MB under BENCH_DIR (whole folders of
# /usr/share in name order, plus random files of several sizes), then for
# each target: init, a first backup, an unchanged re-backup and a restore,
# each timed by wall clock (with the CPU time the server used meanwhile), and
# checks the restore with diff -r. It prints a table and removes everything
# it made.
#
# Environment:
#   VAULT_BUILD      build directory with vaultd and vaultctl (default build)
#   BENCH_DIR        where the corpus, repositories and restores go; put it
#                    on the disk you want to measure (default ./bench-tmp)
#   BENCH_TREE_MB    megabytes of /usr/share folders to copy (default 700)
#   BENCH_RANDOM_MB  megabytes of random files (default 300)
#   BENCH_TARGETS    which targets, in order (default "vaultd rclone local")
#   BENCH_ROUNDS     rounds over the targets; the order is reversed on every
#                    other round (default 2)
#   RESTIC, RCLONE   the binaries (default: restic and rclone on PATH)
#
# Exit status: 0, 1 if a restic step failed or a restore differs, 2 on a
# set-up error (missing binary, a server that does not start).
set -uo pipefail

BUILD=${VAULT_BUILD:-build}
BENCH_DIR=${BENCH_DIR:-./bench-tmp}
TREE_MB=${BENCH_TREE_MB:-700}
RANDOM_MB=${BENCH_RANDOM_MB:-300}
TARGETS=${BENCH_TARGETS:-vaultd rclone local}
ROUNDS=${BENCH_ROUNDS:-2}
RESTIC=${RESTIC:-restic}
RCLONE=${RCLONE:-rclone}
VAULTD=$BUILD/vaultd
VAULTCTL=$BUILD/vaultctl

die() {
	echo "restic_bench: $*" >&2
	exit 2
}

command -v "$RESTIC" >/dev/null 2>&1 || die "no restic (apt-get install restic)"
for t in $TARGETS; do
	case $t in
	vaultd)
		[ -x "$VAULTD" ] && [ -x "$VAULTCTL" ] || die "no $VAULTD or $VAULTCTL: make all"
		;;
	rclone)
		if ! command -v "$RCLONE" >/dev/null 2>&1; then
			echo "restic_bench: no rclone; trying apt-get install rclone" >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q rclone >/dev/null 2>&1 ||
				die "rclone is not installable here; run with BENCH_TARGETS=\"vaultd local\""
		fi
		;;
	local) ;;
	*) die "unknown target $t (vaultd, rclone, local)" ;;
	esac
done

made_bench_dir=
if [ ! -d "$BENCH_DIR" ]; then
	mkdir -p "$BENCH_DIR" || die "cannot make $BENCH_DIR"
	made_bench_dir=1
fi
WORK=$(mktemp -d "$BENCH_DIR/restic_bench.XXXXXX") || die "cannot make a directory in $BENCH_DIR"
WORK=$(cd "$WORK" && pwd)
SERVER_PID=
failed=0

stop_server() {
	local i
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

cleanup() {
	stop_server
	rm -rf "$WORK"
	if [ -n "$made_bench_dir" ]; then
		rmdir "$BENCH_DIR" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free space: the corpus, up to three repositories and one restore at a time.
need_kb=$(((TREE_MB + RANDOM_MB) * 1024 * 5))
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_kb" -gt "$need_kb" ] || die "$BENCH_DIR has ${free_kb} KiB free, needs about ${need_kb} KiB"

now() {
	date +%s.%N
}

# ---- the corpus ----
SRC=$WORK/corpus
mkdir -p "$SRC/share" "$SRC/random"
echo "restic_bench: building the corpus in $SRC" >&2
t0=$(now)
tot=0
for e in $(cd /usr/share && LC_ALL=C ls); do
	[ -d "/usr/share/$e" ] && [ ! -L "/usr/share/$e" ] || continue
	s=$(du -sm "/usr/share/$e" 2>/dev/null | cut -f1)
	[ -n "$s" ] || continue
	[ $((tot + s)) -gt "$TREE_MB" ] && continue
	cp -a "/usr/share/$e" "$SRC/share/" 2>/dev/null
	tot=$((tot + s))
done
# Random files: one big, a few medium, many of 1 MiB; what /usr/share could
# not give is made up with more 1 MiB files.
left=$((RANDOM_MB + TREE_MB - tot))
head -c $((left / 3))M /dev/urandom >"$SRC/random/big.bin"
left=$((left - left / 3))
for i in 1 2 3 4; do
	head -c $((left / 8))M /dev/urandom >"$SRC/random/medium$i.bin"
done
left=$((left - 4 * (left / 8)))
mkdir -p "$SRC/random/small"
for ((i = 0; i < left; i++)); do
	head -c 1M /dev/urandom >"$SRC/random/small/s$i.bin"
done
sync
BYTES=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
FILES=$(find "$SRC" -type f | wc -l)
echo "restic_bench: corpus: $((BYTES / 1000000)) MB in $FILES files ($((tot)) MB from /usr/share), built in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s" >&2

export RESTIC_PASSWORD=restic-bench-password
unset RESTIC_REPOSITORY RESTIC_REPOSITORY_FILE RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND \
	RESTIC_COMPRESSION RESTIC_PACK_SIZE

# ---- servers ----

# start_vaultd: a fresh vaultd with a tenant, an all-scopes token and a vault
# made through the restic endpoint; sets REPO.
start_vaultd() {
	local d=$WORK/vaultd pf=$WORK/vaultd.port tok i port=
	mkdir -p "$d"
	"$VAULTD" -d "$d/data" -l 127.0.0.1:0 --port-file "$pf" >"$WORK/vaultd.log" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	port=$(cat "$pf" 2>/dev/null)
	[[ $port =~ ^[0-9]+$ ]] || { cat "$WORK/vaultd.log" >&2; die "vaultd did not start"; }
	"$VAULTCTL" -d "$d/data" tenant add bench >/dev/null || die "vaultctl tenant add failed"
	tok=$("$VAULTCTL" -d "$d/data" token issue bench --scopes all 2>/dev/null) ||
		die "vaultctl token issue failed"
	REPO=rest:http://bench:$tok@127.0.0.1:$port/restic/bench/
	REPO_DIR=$d/data
}

# start_rclone: rclone serve restic on a fresh directory; sets REPO.
start_rclone() {
	local d=$WORK/rclone i url=
	mkdir -p "$d"
	"$RCLONE" serve restic --addr 127.0.0.1:0 "$d" >"$WORK/rclone.log" 2>&1 &
	SERVER_PID=$!
	for ((i = 0; i < 200; i++)); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$WORK/rclone.log" | head -1)
		[ -n "$url" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$url" ] || { cat "$WORK/rclone.log" >&2; die "rclone serve restic did not start"; }
	REPO=rest:${url}bench/
	REPO_DIR=$d
}

# ---- one target ----
ROWS=()

# server_cpu: CPU seconds (user + system) the server has used so far, or
# "-" when there is none (the local target).
server_cpu() {
	local f
	if [ -z "$SERVER_PID" ] || ! f=$(cat "/proc/$SERVER_PID/stat" 2>/dev/null); then
		echo -
		return
	fi
	# The fields after the command name, which is in parentheses.
	f=${f##*) }
	awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / t }' <<<"$f"
}

# timed LABEL COMMAND...: runs the command; appends a row; 1 if it failed.
timed() {
	local label=$1 t0 t1 rc secs c0 c1 cpu=-
	shift
	# Start each step with no dirty pages left from the one before.
	sync
	c0=$(server_cpu)
	t0=$(now)
	"$@" >"$WORK/step.out" 2>"$WORK/step.err"
	rc=$?
	t1=$(now)
	c1=$(server_cpu)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$c0" != - ] && [ "$c1" != - ]; then
		cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	fi
	if [ "$rc" -ne 0 ]; then
		echo "restic_bench: $label failed (status $rc):" >&2
		tail -5 "$WORK/step.err" | sed -E 's/(vt1_[0-9a-f]{16}_)[0-9a-f]{64}/\1.../g' >&2
		ROWS+=("$label|$secs|FAILED|$cpu")
		failed=1
		return 1
	fi
	ROWS+=("$label|$secs|$(awk -v b="$BYTES" -v s="$secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')|$cpu")
	return 0
}

# run_target TARGET ROUND: init, first backup, re-backup, restore, check.
run_target() {
	local t=$1 n="$1 #$2" cache=$WORK/cache.$1 rst=$WORK/restore
	REPO_DIR=
	case $t in
	vaultd) start_vaultd ;;
	rclone) start_rclone ;;
	local)
		REPO=$WORK/localrepo
		REPO_DIR=$REPO
		;;
	esac
	export RESTIC_CACHE_DIR=$cache
	echo "restic_bench: $n" >&2
	if ! "$RESTIC" -r "$REPO" init >"$WORK/init.out" 2>&1; then
		sed -E 's/(vt1_[0-9a-f]{16}_)[0-9a-f]{64}/\1.../g' "$WORK/init.out" >&2
		ROWS+=("$n: init|-|FAILED|-")
		failed=1
		stop_server
		return
	fi
	timed "$n: first backup" "$RESTIC" -r "$REPO" backup -q "$SRC" &&
		timed "$n: unchanged re-backup" "$RESTIC" -r "$REPO" backup -q "$SRC" &&
		timed "$n: restore" "$RESTIC" -r "$REPO" restore -q latest --target "$rst"
	if [ -d "$rst$SRC" ]; then
		if ! diff -r --no-dereference -q "$SRC" "$rst$SRC" >"$WORK/diff.out" 2>&1; then
			echo "restic_bench: $n: the restore differs:" >&2
			head -5 "$WORK/diff.out" >&2
			ROWS+=("$n: restore check|-|DIFFERS|-")
			failed=1
		fi
	fi
	ROWS+=("$n: repository on disk|$(du -sm "$REPO_DIR" | cut -f1) MB|-|-")
	stop_server
	rm -rf "$rst" "$cache" "$WORK/vaultd" "$WORK/rclone" "$WORK/localrepo"
	rm -f "$WORK/vaultd.port"
}

for ((round = 1; round <= ROUNDS; round++)); do
	order=$TARGETS
	if [ $((round % 2)) -eq 0 ]; then
		order=$(printf '%s\n' $TARGETS | tac | tr '\n' ' ')
	fi
	for t in $order; do
		run_target "$t" "$round"
	done
done

# ---- the table ----
printf '\nrestic %s, %d MB in %d files (1 MB = 10^6 bytes), %s cores\n\n' \
	"$("$RESTIC" version | awk '{ print $2 }')" "$((BYTES / 1000000))" "$FILES" "$(nproc)"
printf '| %-34s | %10s | %10s | %12s |\n' "target: step" "seconds" "MB/s" "server CPU s"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "------------" "------------" "--------------"
for row in "${ROWS[@]}"; do
	IFS='|' read -r a b c d <<<"$row"
	printf '| %-34s | %10s | %10s | %12s |\n' "$a" "$b" "$c" "$d"
done
exit "$failed"
