#!/usr/bin/env bash
# VSP throughput benchmark (bench/README.md). `make bench` builds the
# binaries and runs this script; it builds nothing itself.
#
# It starts a fresh vaultd on a temporary data directory on the same disk as
# BENCH_DIR, measures the fsync'd write speed of that disk with dd, then PUT
# and GET throughput of 16 MiB objects over loopback on one connection and on
# several, and HEAD requests per second, and prints a table against the
# targets. Everything it creates is removed at the end.
#
# Environment:
#   VAULT_BUILD         build directory with vaultd, vaultctl, bench/vspbench (build)
#   BENCH_DIR           where the temporary data goes; put it on the disk you
#                       want to measure (default ./bench-tmp)
#   BENCH_OBJECTS       objects per PUT/GET run (default 64)
#   BENCH_SIZE_MIB      object size in MiB (default 16)
#   BENCH_CONNS         connections of the "several" runs (default 4)
#   BENCH_HEAD_CONNS    connections of the second HEAD run (default 8)
#   BENCH_HEAD_SECONDS  length of each HEAD run (default 5)
#   BENCH_GET_TARGET    GET target on one connection in MB/s (default 1500)
#   BENCH_PERF          if set, a file name: `perf record -g` of vaultd during
#                       the one-connection GET run is written there (perturbs
#                       that figure)
#
# Targets are benchmarks, not tests: a figure short of its target is shown
# as SHORT but does not fail the script. A request that gets an unexpected
# answer does (exit 1).
set -euo pipefail

BUILD=${VAULT_BUILD:-build}
BENCH_DIR=${BENCH_DIR:-./bench-tmp}
OBJECTS=${BENCH_OBJECTS:-64}
SIZE_MIB=${BENCH_SIZE_MIB:-16}
CONNS=${BENCH_CONNS:-4}
HEAD_CONNS=${BENCH_HEAD_CONNS:-8}
HEAD_SECONDS=${BENCH_HEAD_SECONDS:-5}
GET_TARGET=${BENCH_GET_TARGET:-1500}
PERF_OUT=${BENCH_PERF:-}

VAULTD=$BUILD/vaultd
VAULTCTL=$BUILD/vaultctl
VSPBENCH=$BUILD/bench/vspbench
TOTAL=$((OBJECTS * SIZE_MIB * 1024 * 1024))

for b in "$VAULTD" "$VAULTCTL" "$VSPBENCH"; do
	if [ ! -x "$b" ]; then
		echo "vsp_bench: $b is missing; run 'make bench'" >&2
		exit 2
	fi
done

made_bench_dir=
if [ ! -d "$BENCH_DIR" ]; then
	mkdir -p "$BENCH_DIR"
	made_bench_dir=1
fi
WORK=$(mktemp -d "$BENCH_DIR/vsp_bench.XXXXXX")
WORK=$(cd "$WORK" && pwd)
VAULTD_PID=
PERF_PID=

cleanup() {
	local rc=$?
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
	fi
	if [ -n "$VAULTD_PID" ]; then
		kill -TERM "$VAULTD_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$VAULTD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$VAULTD_PID" 2>/dev/null || true
		wait "$VAULTD_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	if [ -n "$made_bench_dir" ]; then
		rmdir "$BENCH_DIR" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

# Everything written stays until the end: the random source, a 2x warm-up,
# five dd copies and two PUT runs, about 10x the bytes of one run.
need_kb=$((11 * TOTAL / 1024))
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt "$need_kb" ]; then
	say "vsp_bench: $BENCH_DIR has $((avail_kb / 1024)) MiB free; the run needs" \
		"$((need_kb / 1024)) MiB (lower BENCH_OBJECTS or set BENCH_DIR)"
	exit 2
fi

# ---- machine ----

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
sha_ni=no
grep -qw sha_ni /proc/cpuinfo && sha_ni=yes
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
disk=$(df -hP "$WORK" | awk 'NR == 2 { print $1 " (" $6 "), " $4 " free of " $2 }')
fstype=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
echo "== machine"
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cores:     $(nproc)"
echo "cpu:       ${cpu_model:-unknown} (SHA extensions: $sha_ni)"
echo "memory:    $mem_total"
echo "disk:      $disk, $fstype"
echo "kernel:    $(uname -r)"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load:      $load (1, 5, 15 min)"
if awk -v l="${load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
	echo "warning:   the machine is busy; the figures will be low and noisy"
fi
echo "objects:   $OBJECTS x $SIZE_MIB MiB = $TOTAL bytes per PUT/GET run"
echo "units:     1 MB = 10^6 bytes"
echo

# ---- the disk ----

# The dd source is made first and fsync'd, so that it sits clean in the page
# cache: dd then measures the disk, neither the RNG nor leftover writeback.
say "vsp_bench: making $TOTAL random bytes for dd"
head -c "$TOTAL" /dev/urandom >"$WORK/random.src"
sync "$WORK/random.src"

# Nothing written during the run is deleted before the end: a delete frees
# page-cache pages, and on a VM that backs guest memory lazily the next
# writes reuse them several times faster than fresh pages (bench/README.md),
# so one measurement would be skewed against another.
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

# The reference: all bytes written, then one fsync.
dd_speed() {
	dd_write "$1" bs=16M conv=fsync
}

# For comparison, not a target: each object-sized block is written
# synchronously before the next, as vaultd does with each object on one
# connection (less its directory fsync and metadata commit).
dd_objects() {
	dd_write objects bs="${SIZE_MIB}M" oflag=dsync
}

# For comparison, not a target: the disk without the page cache. Where this
# is far above dd_speed, buffered writes are limited by the page cache (on a
# VM, typically by the host backing fresh guest pages), not by the disk.
dd_direct() {
	dd_write direct bs=16M oflag=direct conv=fsync
}

# ---- the daemon ----

say "vsp_bench: starting vaultd on $WORK/data"
"$VAULTD" -d "$WORK/data" -l 127.0.0.1:0 --port-file "$WORK/port" 2>"$WORK/vaultd.log" &
VAULTD_PID=$!
for _ in $(seq 100); do
	[ -s "$WORK/port" ] && break
	if ! kill -0 "$VAULTD_PID" 2>/dev/null; then
		cat "$WORK/vaultd.log" >&2
		VAULTD_PID=
		exit 2
	fi
	sleep 0.1
done
if [ ! -s "$WORK/port" ]; then
	say "vsp_bench: vaultd did not start"
	cat "$WORK/vaultd.log" >&2
	exit 2
fi
URL=http://127.0.0.1:$(cat "$WORK/port")
"$VAULTCTL" -d "$WORK/data" tenant add bench >/dev/null
TOKEN=$("$VAULTCTL" -d "$WORK/data" token issue bench 2>/dev/null)
export VAULT_TOKEN=$TOKEN
VAULT=bench
"$VSPBENCH" mkvault -u "$URL" -V "$VAULT"

# ---- the runs ----

# Runs vspbench and prints its result line; records a failure (in a file,
# as this runs in a command substitution) but goes on.
vsp() {
	local line
	if ! line=$("$VSPBENCH" "$@" -u "$URL" -V "$VAULT"); then
		touch "$WORK/failed"
	fi
	say "  $line"
	printf '%s\n' "$line"
}
# field LINE KEY: the value of KEY=... in a vspbench line.
field() {
	printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# The PUT runs are bracketed by dd runs, so that both see the disk and the
# page cache in about the same state. Before them, a warm-up write (not
# counted) uses up pages freed by whatever ran before, which would otherwise
# make the first measurement of a run come out much faster than the rest.
say "vsp_bench: warm-up write of $((2 * TOTAL)) bytes (not counted)"
dd_write warmup1 bs=16M conv=fsync >/dev/null
dd_write warmup2 bs=16M conv=fsync >/dev/null
say "vsp_bench: dd conv=fsync, $TOTAL bytes"
dd1=$(dd_speed dd1)
say "  $dd1 MB/s"
say "vsp_bench: PUT, 1 connection"
put1=$(vsp put -c 1 -n "$OBJECTS" -s "${SIZE_MIB}M" -o "$WORK/ids1")
say "vsp_bench: dd conv=fsync again"
dd2=$(dd_speed dd2)
say "  $dd2 MB/s"
say "vsp_bench: PUT, $CONNS connections"
putn=$(vsp put -c "$CONNS" -n "$OBJECTS" -s "${SIZE_MIB}M" -o "$WORK/idsn")
say "vsp_bench: dd conv=fsync again"
dd3=$(dd_speed dd3)
say "  $dd3 MB/s"
say "vsp_bench: dd oflag=dsync, one synchronous write per object"
ddo=$(dd_objects)
say "  $ddo MB/s"
say "vsp_bench: dd oflag=direct, the disk without the page cache"
ddd=$(dd_direct)
say "  $ddd MB/s"

if [ -n "$PERF_OUT" ]; then
	perf record -g -o "$PERF_OUT" -p "$VAULTD_PID" 2>"$WORK/perf.log" &
	PERF_PID=$!
	sleep 0.5
fi
say "vsp_bench: GET, 1 connection"
get1=$(vsp get -c 1 -i "$WORK/ids1")
if [ -n "$PERF_OUT" ]; then
	kill -INT "$PERF_PID"
	wait "$PERF_PID" || true
	PERF_PID=
	say "vsp_bench: profile in $PERF_OUT (perf report -i $PERF_OUT)"
fi
say "vsp_bench: GET, $CONNS connections"
getn=$(vsp get -c "$CONNS" -i "$WORK/idsn")
say "vsp_bench: GET --verify (a check of the bytes, not a figure)"
check=$(vsp get -c 2 -i "$WORK/ids1" -n 8 --verify)
say "vsp_bench: HEAD, 1 connection, ${HEAD_SECONDS} s"
head1=$(vsp head -c 1 -d "$HEAD_SECONDS" -i "$WORK/idsn")
say "vsp_bench: HEAD, $HEAD_CONNS connections, ${HEAD_SECONDS} s"
headn=$(vsp head -c "$HEAD_CONNS" -d "$HEAD_SECONDS" -i "$WORK/idsn")

# ---- the table ----

# The reference is the median of the three dd runs: one of them can still
# land on reused pages and come out far faster than the others.
dd_ref=$(printf '%s\n' "$dd1" "$dd2" "$dd3" | sort -g | sed -n 2p)
put_target=$(awk -v d="$dd_ref" 'BEGIN { printf "%.1f", 0.9 * d }')

# row TEST VALUE UNIT [TARGET]: one line of the table.
row() {
	local test=$1 value=$2 unit=$3 target=${4:-} ratio=-
	if [ -n "$target" ]; then
		ratio=$(awk -v v="$value" -v t="$target" \
			'BEGIN { printf "%.2f %s", v / t, (v >= t ? "ok" : "SHORT") }')
		target=">= $target $unit"
	else
		target=-
	fi
	printf '| %-32s | %14s | %-20s | %-10s |\n' "$test" "$value $unit" "$target" "$ratio"
}

echo
echo "== results ($OBJECTS x $SIZE_MIB MiB per PUT/GET run; 1 MB = 10^6 bytes)"
printf '| %-32s | %14s | %-20s | %-10s |\n' test "MB/s or req/s" target ratio
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 34))" "$(printf -- '-%.0s' $(seq 16))" \
	"$(printf -- '-%.0s' $(seq 22))" "$(printf -- '-%.0s' $(seq 12))"
row "dd conv=fsync (1, before PUT 1)" "$dd1" MB/s
row "dd conv=fsync (2, between)" "$dd2" MB/s
row "dd conv=fsync (3, after PUT $CONNS)" "$dd3" MB/s
row "dd oflag=dsync bs=${SIZE_MIB}M" "$ddo" MB/s
row "dd oflag=direct conv=fsync" "$ddd" MB/s
row "PUT 1 connection" "$(field "$put1" MB/s)" MB/s "$put_target"
row "PUT $CONNS connections" "$(field "$putn" MB/s)" MB/s "$put_target"
row "GET 1 connection" "$(field "$get1" MB/s)" MB/s "$GET_TARGET"
row "GET $CONNS connections" "$(field "$getn" MB/s)" MB/s
row "HEAD 1 connection" "$(field "$head1" req/s)" req/s
row "HEAD $HEAD_CONNS connections" "$(field "$headn" req/s)" req/s
echo
echo "PUT target: 0.9 x the median of the three dd conv=fsync runs ($dd_ref MB/s)."
echo "GET figures are served from the page cache (the objects were just written)."
echo "GET --verify check: $(field "$check" objects) objects, $(field "$check" errors) errors."

if [ -e "$WORK/failed" ]; then
	say "vsp_bench: some requests got unexpected answers (see above); vaultd log:"
	tail -n 20 "$WORK/vaultd.log" >&2
	exit 1
fi
