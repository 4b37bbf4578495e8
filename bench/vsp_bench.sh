#!/usr/bin/env bash
# VSP throughput benchmark (bench/README.md). `make bench` builds the
# binaries and runs this script; it builds nothing itself.
#
# It starts the servers to compare, each on a fresh data directory on the
# disk of BENCH_DIR:
#   vaultd   this build's vaultd (VSP);
#   base     another build's vaultd, when BENCH_BASELINE names its build
#            directory (to compare a change with the commit before it);
#   rclone   `rclone serve restic` on a plain directory (restic's REST
#            protocol; it neither hashes nor fsyncs what it stores), unless
#            BENCH_RCLONE=0.
# Then, BENCH_REPS times, with the servers' order rotated each time: dd
# conv=fsync of the same bytes (the disk's reference), and per server PUT and
# GET of 16 MiB objects on one connection and on several, and HEAD requests
# per second. It prints each figure's median and range over the repetitions,
# and the ratios the targets are about. Everything it creates is removed.
#
# Environment:
#   VAULT_BUILD         build directory with vaultd, vaultctl, bench/vspbench (build)
#   BENCH_BASELINE      a second build directory whose vaultd is measured as "base"
#   BENCH_RCLONE        0: leave rclone out (default 1; installed with apt-get if missing)
#   BENCH_DIR           where the temporary data goes; put it on the disk you
#                       want to measure (default ./bench-tmp)
#   BENCH_REPS          repetitions (default 3)
#   BENCH_OBJECTS       objects per PUT/GET run (default 32)
#   BENCH_SIZE_MIB      object size in MiB (default 16)
#   BENCH_CONNS         connections of the "several" runs (default 4)
#   BENCH_HEAD_SECONDS  length of each HEAD run (default 2)
#   BENCH_PERF          if set, a file name: `perf record -g` of this build's
#                       vaultd during its first one-connection GET run is
#                       written there (perturbs that figure)
#
# Targets are benchmarks, not tests: a figure short of its target is shown
# as SHORT but does not fail the script. A request that gets an unexpected
# answer does (exit 1).
set -euo pipefail

BUILD=${VAULT_BUILD:-build}
BASELINE=${BENCH_BASELINE:-}
WANT_RCLONE=${BENCH_RCLONE:-1}
BENCH_DIR=${BENCH_DIR:-./bench-tmp}
REPS=${BENCH_REPS:-3}
OBJECTS=${BENCH_OBJECTS:-32}
SIZE_MIB=${BENCH_SIZE_MIB:-16}
CONNS=${BENCH_CONNS:-4}
HEAD_SECONDS=${BENCH_HEAD_SECONDS:-2}
PERF_OUT=${BENCH_PERF:-}

VSPBENCH=$BUILD/bench/vspbench
TOTAL=$((OBJECTS * SIZE_MIB * 1024 * 1024))

say() { printf '%s\n' "$*" >&2; }

for b in "$BUILD/vaultd" "$BUILD/vaultctl" "$VSPBENCH"; do
	if [ ! -x "$b" ]; then
		say "vsp_bench: $b is missing; run 'make bench'"
		exit 2
	fi
done
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE/vaultd" ]; then
	say "vsp_bench: BENCH_BASELINE=$BASELINE has no vaultd; build that commit there first"
	exit 2
fi
if [ "$WANT_RCLONE" != 0 ] && ! command -v rclone >/dev/null 2>&1; then
	say "vsp_bench: installing rclone (Debian's) to compare with"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get install -y -q rclone >/dev/null 2>&1 || true
	if ! command -v rclone >/dev/null 2>&1; then
		say "vsp_bench: rclone is not installed and could not be; set BENCH_RCLONE=0 to run without it"
		exit 2
	fi
fi

servers="vaultd"
[ -n "$BASELINE" ] && servers="$servers base"
[ "$WANT_RCLONE" != 0 ] && servers="$servers rclone"
nservers=$(wc -w <<<"$servers")

made_bench_dir=
if [ ! -d "$BENCH_DIR" ]; then
	mkdir -p "$BENCH_DIR"
	made_bench_dir=1
fi
WORK=$(mktemp -d "$BENCH_DIR/vsp_bench.XXXXXX")
WORK=$(cd "$WORK" && pwd)
PIDS=()
PERF_PID=

cleanup() {
	local rc=$? p
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
	fi
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
	if [ -n "$made_bench_dir" ]; then
		rmdir "$BENCH_DIR" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Nothing written is deleted before the end (see "Page cache on this VM" in
# bench/README.md): per repetition two PUT runs per server and a dd run,
# plus the random source, a 2x warm-up and the two comparison dd runs.
need_kb=$(((REPS * (2 * nservers + 1) + 5) * TOTAL / 1024))
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt "$need_kb" ]; then
	say "vsp_bench: $BENCH_DIR has $((avail_kb / 1024)) MiB free; the run needs" \
		"$((need_kb / 1024)) MiB (lower BENCH_OBJECTS or BENCH_REPS, or set BENCH_DIR)"
	exit 2
fi

# ---- machine ----

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
sha_ni=no
grep -qw sha_ni /proc/cpuinfo && sha_ni=yes
echo "== machine and settings"
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cores:     $(nproc)"
echo "cpu:       ${cpu_model:-unknown} (SHA extensions: $sha_ni)"
echo "memory:    $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "disk:      $(df -hP "$WORK" | awk 'NR == 2 { print $1 " (" $6 "), " $4 " free of " $2 }'), $(df -PT "$WORK" | awk 'NR == 2 { print $2 }')"
echo "kernel:    $(uname -r)"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load:      $load (1, 5, 15 min)"
if awk -v l="${load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
	echo "warning:   the machine is busy; the figures will be low and noisy"
fi
echo "servers:   $servers"
echo "  vaultd:  $BUILD/vaultd ($(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')), default settings: every PUT hashed, fsync'd (file and directory) and committed to LMDB before 201; every whole GET hashed as it is sent"
[ -n "$BASELINE" ] && echo "  base:    $BASELINE/vaultd, the same defaults"
[ "$WANT_RCLONE" != 0 ] && echo "  rclone:  $(rclone version 2>/dev/null | head -n 1) serve restic, default settings (no hash check, no fsync)"
echo "runs:      $REPS repetitions, servers' order rotated; $OBJECTS x $SIZE_MIB MiB = $TOTAL bytes per PUT/GET run; $CONNS connections for the 'several' runs; HEAD ${HEAD_SECONDS}s"
echo "units:     1 MB = 10^6 bytes; each cell: median [min-max]"
echo

# ---- the disk ----

say "vsp_bench: making $TOTAL random bytes for dd"
head -c "$TOTAL" /dev/urandom >"$WORK/random.src"
sync "$WORK/random.src"
mkdir "$WORK/dd"

# dd_write NAME DD-OPTION...: copies the random file to the disk as NAME and
# prints the MB/s, from dd's own byte count and seconds.
dd_write() {
	local name=$1 out bytes secs
	shift
	out=$(LC_ALL=C dd if="$WORK/random.src" of="$WORK/dd/$name" "$@" 2>&1 | tail -n 1)
	# "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.95 s, 550 MB/s"
	bytes=${out%% *}
	secs=$(printf '%s\n' "$out" | awk -F', ' '{ print $(NF - 1) }' | awk '{ print $1 }')
	awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f\n", b / 1e6 / s }'
}

# ---- the servers ----

# wait_port FILE PID NAME: waits for a port file written by a starting server.
wait_port() {
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		if ! kill -0 "$2" 2>/dev/null; then
			say "vsp_bench: $3 exited at start:"
			cat "$WORK/$3.log" >&2
			exit 2
		fi
		sleep 0.1
	done
	say "vsp_bench: $3 did not start"
	exit 2
}

# start_vaultd NAME BUILD-DIR: a fresh vaultd, a tenant, a token and a vault.
start_vaultd() {
	local name=$1 dir=$2 token url
	"$dir/vaultd" -d "$WORK/$name" -l 127.0.0.1:0 --port-file "$WORK/$name.port" \
		2>"$WORK/$name.log" &
	PIDS+=($!)
	eval "PID_$name=$!"
	wait_port "$WORK/$name.port" "$!" "$name"
	url=http://127.0.0.1:$(cat "$WORK/$name.port")
	"$dir/vaultctl" -d "$WORK/$name" tenant add bench >/dev/null
	token=$("$dir/vaultctl" -d "$WORK/$name" token issue bench 2>/dev/null)
	eval "ARGS_$name=\"-u $url -t $token -V bench\""
	# shellcheck disable=SC2086
	"$VSPBENCH" mkvault -u "$url" -t "$token" -V bench
}

start_rclone() {
	local port
	# A free port: bind, read it back, let it go. rclone takes it at once.
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	rclone serve restic --addr "127.0.0.1:$port" "$WORK/rclone" 2>"$WORK/rclone.log" &
	PIDS+=($!)
	PID_rclone=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && break
		sleep 0.1
	done
	ARGS_rclone="--restic -u http://127.0.0.1:$port/bench"
	"$VSPBENCH" mkvault --restic -u "http://127.0.0.1:$port/bench"
}

say "vsp_bench: starting $servers"
start_vaultd vaultd "$BUILD"
[ -n "$BASELINE" ] && start_vaultd base "$BASELINE"
[ "$WANT_RCLONE" != 0 ] && start_rclone

# ---- the runs ----

# vsp SERVER VSPBENCH-ARGS...: runs vspbench against SERVER and prints its
# line; records a failure (in a file, as this runs in a command
# substitution) but goes on.
vsp() {
	local server=$1 line args
	shift
	args=$(eval "echo \$ARGS_$server")
	# shellcheck disable=SC2086
	if ! line=$("$VSPBENCH" "$@" $args); then
		touch "$WORK/failed"
	fi
	say "  $server: $line"
	printf '%s\n' "$line"
}
# field LINE KEY: the value of KEY=... in a vspbench line.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}
# record SERVER METRIC VALUE
record() { printf '%s %s %s\n' "$1" "$2" "$3" >>"$WORK/results"; }

say "vsp_bench: warm-up write of $((2 * TOTAL)) bytes (not counted)"
dd_write warmup1 bs=16M conv=fsync >/dev/null
dd_write warmup2 bs=16M conv=fsync >/dev/null

# measure SERVER REP: the five runs of one server in one repetition.
# Each PUT run starts with no dirty pages left by the run before (rclone
# does not fsync, so its bytes would otherwise be written back during the
# next server's run and slow that one's fsyncs).
measure() {
	local s=$1 rep=$2 line
	sync
	line=$(vsp "$s" put -c 1 -n "$OBJECTS" -s "${SIZE_MIB}M" -o "$WORK/$s.ids1.$rep")
	record "$s" put1 "$(field "$line" MB/s)"
	sync
	line=$(vsp "$s" put -c "$CONNS" -n "$OBJECTS" -s "${SIZE_MIB}M" -o "$WORK/$s.idsn.$rep")
	record "$s" putn "$(field "$line" MB/s)"
	if [ -n "$PERF_OUT" ] && [ "$s" = vaultd ] && [ "$rep" = 1 ]; then
		perf record -g -o "$PERF_OUT" -p "$PID_vaultd" 2>"$WORK/perf.log" &
		PERF_PID=$!
		sleep 0.5
	fi
	line=$(vsp "$s" get -c 1 -i "$WORK/$s.ids1.$rep")
	record "$s" get1 "$(field "$line" MB/s)"
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID"
		wait "$PERF_PID" || true
		PERF_PID=
		say "vsp_bench: profile in $PERF_OUT (perf report -i $PERF_OUT)"
	fi
	line=$(vsp "$s" get -c "$CONNS" -i "$WORK/$s.idsn.$rep")
	record "$s" getn "$(field "$line" MB/s)"
	line=$(vsp "$s" head -c 1 -d "$HEAD_SECONDS" -i "$WORK/$s.idsn.$rep")
	record "$s" head1 "$(field "$line" req/s)"
}

read -r -a order <<<"$servers"
for rep in $(seq "$REPS"); do
	say "vsp_bench: repetition $rep of $REPS: dd conv=fsync, then ${order[*]}"
	sync
	record dd fsync "$(dd_write "dd.$rep" bs=16M conv=fsync)"
	for s in "${order[@]}"; do
		measure "$s" "$rep"
	done
	order=("${order[@]:1}" "${order[0]}")
done
say "vsp_bench: dd oflag=dsync and oflag=direct, for comparison"
record dd dsync "$(dd_write dsync bs="${SIZE_MIB}M" oflag=dsync)"
record dd direct "$(dd_write direct bs=16M oflag=direct conv=fsync)"

say "vsp_bench: GET --verify of 8 objects per server (a check of the bytes, not a figure)"
checks=""
for s in $servers; do
	line=$(vsp "$s" get -c 2 -n 8 -i "$WORK/$s.ids1.1" --verify)
	checks="$checks $s: $(field "$line" objects) objects, $(field "$line" errors) errors;"
done

# ---- the table ----

# stat SERVER METRIC: "median min max" of the recorded values, or "- - -".
stat() {
	awk -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$WORK/results" | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "- - -"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f\n", med, v[1], v[NR] }'
}
cell() {
	local med lo hi
	read -r med lo hi <<<"$(stat "$1" "$2")"
	if [ "$med" = - ]; then printf '%s' -; else printf '%s [%s-%s]' "$med" "$lo" "$hi"; fi
}
median() { stat "$1" "$2" | cut -d' ' -f1; }

echo
echo "== results (MB/s, HEAD in req/s; median [min-max] over $REPS repetitions)"
printf '| %-22s' metric
for s in $servers; do printf '| %-26s' "$s"; done
printf '|\n|%s' "$(printf -- '-%.0s' $(seq 23))"
for s in $servers; do printf '|%s' "$(printf -- '-%.0s' $(seq 27))"; done
printf '|\n'
for m in put1:"PUT 1 connection" putn:"PUT $CONNS connections" get1:"GET 1 connection" \
	getn:"GET $CONNS connections" head1:"HEAD 1 connection"; do
	printf '| %-22s' "${m#*:}"
	for s in $servers; do printf '| %-26s' "$(cell "$s" "${m%%:*}")"; done
	printf '|\n'
done
echo
echo "disk: dd conv=fsync $(cell dd fsync) MB/s (the PUT reference); dd oflag=dsync bs=${SIZE_MIB}M $(median dd dsync) MB/s; dd oflag=direct $(median dd direct) MB/s (comparisons, one run each)"

# ratio NAME A B TARGET: prints A/B against TARGET.
ratio() {
	awk -v n="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
		if (a == "-" || b == "-" || b == 0) { printf "%-44s -\n", n; exit }
		r = a / b; printf "%-44s %.2f (target >= %s: %s)\n", n, r, t, (r >= t ? "ok" : "SHORT") }'
}
echo
echo "== ratios of medians"
dd_med=$(median dd fsync)
ratio "vaultd PUT 1 conn / dd conv=fsync" "$(median vaultd put1)" "$dd_med" 0.9
ratio "vaultd PUT $CONNS conn / dd conv=fsync" "$(median vaultd putn)" "$dd_med" 0.9
if [ "$WANT_RCLONE" != 0 ]; then
	ratio "vaultd GET 1 conn / rclone GET 1 conn" "$(median vaultd get1)" "$(median rclone get1)" 1.0
	ratio "vaultd GET $CONNS conn / rclone GET $CONNS conn" "$(median vaultd getn)" "$(median rclone getn)" 1.0
	ratio "vaultd PUT 1 conn / rclone PUT 1 conn" "$(median vaultd put1)" "$(median rclone put1)" 0.9
fi
if [ -n "$BASELINE" ]; then
	for m in put1 putn get1 getn head1; do
		ratio "vaultd / base, $m" "$(median vaultd "$m")" "$(median base "$m")" 1.0
	done
fi
echo
echo "GET figures are served from the page cache (the objects were just written)."
echo "GET --verify check:$checks"

if [ -e "$WORK/failed" ]; then
	say "vsp_bench: some requests got unexpected answers (see above); server logs:"
	for s in $servers; do tail -n 20 "$WORK/$s.log" >&2; done
	exit 1
fi
