#!/usr/bin/env bash
# The vault client against Debian's restic on one corpus (bench/README.md,
# "The vault client against restic"). `make client-bench` runs it after
# `make all`; it builds nothing itself.
#
# It builds a corpus of about CORPUS_MB MiB under a temporary directory:
# copies of /usr/share/doc (a third), incompressible random files (a third)
# and compressible word text (a third), the generated files 1-64 MiB each.
# Then, with nothing dropped from the page cache and a `sync` before each
# step:
#   vault:  first backup, unchanged re-backup   (to a vaultd it starts)
#   restic: first backup, unchanged re-backup   (a local repository)
#   modify about 5% of the large files' bytes in place, add a few files
#   vault:  changed re-backup;  restic: changed re-backup
#   vault:  restore;            restic: restore (each to a new directory)
# checks each restore against the corpus with diff -r, and prints one row
# per step: wall seconds, MB/s, client CPU and peak RSS (/usr/bin/time),
# vaultd's CPU during the step, and the targets met or not.
#
# Environment:
#   VAULT_BUILD  build directory with vault, vaultd, vaultctl (default build)
#   BENCH_DIR    where the temporary directory goes; put it on the disk you
#                want to measure (default ./bench-tmp)
#   CORPUS_MB    corpus size in MiB (default 1024)
#   MOD_PERCENT  share of the large files' bytes overwritten (default 5)
#   MOD_BLOCK_KB size of each overwritten block in KiB (default 1024)
#   ORDER        which tool goes first in each pair (default "vault restic")
#   SEED         seed of the generated data and the modification (default 1)
#   KEEP         if 1, leave the temporary directory behind
#   RESTIC       the restic binary (default restic on PATH)
#
# Targets are benchmarks, not tests: a miss prints NOT met but does not fail.
# Exit status: 0; 1 if a step failed or a restore differs from the corpus;
# 2 on a set-up error.
set -uo pipefail

BUILD=${VAULT_BUILD:-build}
BENCH_DIR=${BENCH_DIR:-./bench-tmp}
CORPUS_MB=${CORPUS_MB:-1024}
MOD_PERCENT=${MOD_PERCENT:-5}
MOD_BLOCK=$((${MOD_BLOCK_KB:-1024} * 1024))
ORDER=${ORDER:-vault restic}
SEED=${SEED:-1}
KEEP=${KEEP:-0}
RESTIC=${RESTIC:-restic}
VAULT=$BUILD/vault
VAULTD=$BUILD/vaultd
VAULTCTL=$BUILD/vaultctl
TIME=/usr/bin/time
MIB=1048576

say() { printf '%s\n' "$*" >&2; }
die() {
	say "client_bench: $*"
	exit 2
}

# ---- prerequisites ----
for b in "$VAULT" "$VAULTD" "$VAULTCTL"; do
	[ -x "$b" ] || die "$b is missing; run 'make all'"
done
case $ORDER in
"vault restic" | "restic vault") ;;
*) die "ORDER must be \"vault restic\" or \"restic vault\"" ;;
esac
[[ $CORPUS_MB =~ ^[0-9]+$ ]] && [ "$CORPUS_MB" -ge 16 ] || die "CORPUS_MB must be a number >= 16"
if ! command -v "$RESTIC" >/dev/null 2>&1; then
	say "client_bench: no restic; trying apt-get install restic"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q restic >/dev/null 2>&1 ||
		die "restic is not installable here"
fi
if [ ! -x "$TIME" ]; then
	say "client_bench: no $TIME; trying apt-get install time"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null 2>&1 ||
		die "$TIME (Debian package time) is not installable here"
fi
for c in openssl shuf paste dd diff; do
	command -v "$c" >/dev/null 2>&1 || die "no $c"
done

made_bench_dir=
if [ ! -d "$BENCH_DIR" ]; then
	mkdir -p "$BENCH_DIR" || die "cannot make $BENCH_DIR"
	made_bench_dir=1
fi
WORK=$(mktemp -d "$BENCH_DIR/client_bench.XXXXXX") || die "cannot make a directory in $BENCH_DIR"
WORK=$(cd "$WORK" && pwd)
VAULTD_PID=
failed=0

stop_vaultd() {
	local i
	[ -n "$VAULTD_PID" ] || return 0
	kill -TERM "$VAULTD_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$VAULTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$VAULTD_PID" 2>/dev/null
	wait "$VAULTD_PID" 2>/dev/null
	VAULTD_PID=
}

cleanup() {
	local rc=$?
	stop_vaultd
	if [ "$KEEP" = 1 ]; then
		say "client_bench: KEEP=1: everything is left in $WORK"
	else
		rm -rf "$WORK"
		[ -z "$made_bench_dir" ] || rmdir "$BENCH_DIR" 2>/dev/null
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The corpus, two repositories (at most the corpus each), two restores and
# the cp -a reference copy.
need_kb=$((CORPUS_MB * 1024 * 13 / 2))
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_kb" -gt "$need_kb" ] || die "$BENCH_DIR has ${free_kb} KiB free, needs about ${need_kb} KiB"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# prng NAME: an endless pseudo-random stream, the same for the same SEED and
# NAME (AES-128-CTR of zeros), at about a GB/s.
prng() {
	openssl enc -aes-128-ctr -nosalt -pbkdf2 -iter 1 -pass "pass:$SEED-$1" </dev/zero 2>/dev/null
}

# sizes NAME BYTES: file sizes adding up to BYTES, log-uniform in 1-64 MiB
# (the last one takes the rest), one a line.
sizes() {
	awk -v seed="$SEED$1" -v left="$2" -v mib="$MIB" 'BEGIN {
		srand(seed + 0)
		while (left > 0) {
			s = int(2 ^ (rand() * 6)) * mib
			if (s > left || left - s < mib)
				s = left
			print s
			left -= s
		}
	}'
}

# ---- the corpus ----
SRC=$WORK/corpus
mkdir -p "$SRC/random" "$SRC/text"
say "client_bench: building a corpus of about $CORPUS_MB MiB in $SRC"
t0=$(now)
total=$((CORPUS_MB * MIB))

# Copies of /usr/share/doc up to a third: whole copies, then its folders in
# name order that still fit.
doc_budget=$((total / 3))
doc_bytes=$(du -sb /usr/share/doc | cut -f1)
copies=0
doc_tot=0
while [ $((doc_tot + doc_bytes)) -le "$doc_budget" ]; do
	copies=$((copies + 1))
	cp -a /usr/share/doc "$SRC/doc.$copies" 2>/dev/null
	doc_tot=$((doc_tot + doc_bytes))
done
mkdir -p "$SRC/doc.partial"
for e in $(cd /usr/share/doc && LC_ALL=C ls); do
	s=$(du -sb "/usr/share/doc/$e" 2>/dev/null | cut -f1)
	[ -n "$s" ] && [ $((doc_tot + s)) -le "$doc_budget" ] || continue
	cp -a "/usr/share/doc/$e" "$SRC/doc.partial/" 2>/dev/null
	doc_tot=$((doc_tot + s))
done
doc_real=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')

# Words for the compressible files: the system's dictionary, else the words
# of the licences in /usr/share/doc.
WORDS=$WORK/words
if [ -s /usr/share/dict/words ]; then
	cp /usr/share/dict/words "$WORDS"
else
	find /usr/share/doc -name copyright -type f -exec cat {} + 2>/dev/null |
		tr -cs 'A-Za-z' '\n' | awk 'length > 2' | LC_ALL=C sort -u >"$WORDS"
fi
[ "$(wc -l <"$WORDS")" -ge 1000 ] || die "fewer than 1000 words for the text files"

gen_left=$((total - doc_real))
rand_bytes=$((gen_left / 2))
text_bytes=$((gen_left - rand_bytes))
i=0
for s in $(sizes 1 "$rand_bytes"); do
	i=$((i + 1))
	prng "random-$i" | head -c "$s" >"$SRC/random/r$i.bin"
done
i=0
for s in $(sizes 2 "$text_bytes"); do
	i=$((i + 1))
	# Words drawn at random, 12 a line: zstd -3 makes about 40% of it.
	shuf -r -n $((s / 4 + 1000)) --random-source=<(prng "text-$i") "$WORDS" |
		paste -d' ' - - - - - - - - - - - - | head -c "$s" >"$SRC/text/t$i.txt"
done
sync

# corpus_stats: sets BYTES (regular files' bytes) and FILES.
corpus_stats() {
	BYTES=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
	FILES=$(find "$SRC" -type f | wc -l)
}
corpus_stats
BYTES0=$BYTES
[ "$BYTES" -gt $((total / 2)) ] || die "the corpus came out at $BYTES bytes; generation failed"
say "client_bench: corpus: $BYTES bytes in $FILES files (/usr/share/doc: whole copies: $copies" \
	"and part of one more, $doc_real bytes; $rand_bytes random; $text_bytes text)," \
	"built in $(elapsed "$t0" "$(now)") s"
CORPUS_DESC="$BYTES bytes in $FILES files: $doc_real of /usr/share/doc (whole copies: $copies, plus part of one), $rand_bytes random, $text_bytes word text"

# modify: overwrites MOD_PERCENT of the generated files' bytes in place, in
# blocks of MOD_BLOCK at random offsets (random files get random bytes,
# text files text), and adds a few small files. Once, so both tools see the
# same change.
modify() {
	local list=$WORK/large.list plan=$WORK/mod.plan n f off k kind
	find "$SRC/random" "$SRC/text" -type f -printf '%s %p\n' | LC_ALL=C sort -k2 >"$list"
	# One line per block: file, byte offset; files drawn by size, so the
	# blocks fall uniformly over the bytes.
	awk -v seed="$SEED" -v pct="$MOD_PERCENT" -v blk="$MOD_BLOCK" '
		{ size[NR] = $1; name[NR] = $2; tot += $1; cum[NR] = tot }
		END {
			srand(seed + 3)
			n = int((tot * pct / 100 + blk - 1) / blk)
			for (b = 0; b < n; b++) {
				r = rand() * tot
				for (j = 1; cum[j] <= r; j++)
					;
				span = size[j] - blk
				off = span > 0 ? int(rand() * span / 4096) * 4096 : 0
				print name[j], off
			}
		}' "$list" >"$plan"
	n=$(wc -l <"$plan")
	prng mod-random | head -c $((n * MOD_BLOCK)) >"$WORK/mod.random"
	shuf -r -n $((n * MOD_BLOCK / 4 + 1000)) --random-source=<(prng mod-text) "$WORDS" |
		paste -d' ' - - - - - - - - - - - - | head -c $((n * MOD_BLOCK)) >"$WORK/mod.text"
	k=0
	while read -r f off; do
		kind=random
		[ "${f#"$SRC/text/"}" = "$f" ] || kind=text
		dd if="$WORK/mod.$kind" of="$f" bs="$MOD_BLOCK" count=1 skip="$k" seek="$off" \
			oflag=seek_bytes conv=notrunc status=none || return 1
		k=$((k + 1))
	done <"$plan"
	MOD_BLOCKS=$n
	MOD_FILES=$(cut -d' ' -f1 "$plan" | sort -u | wc -l)
	mkdir -p "$SRC/added"
	for ((k = 1; k <= 16; k++)); do
		head -c $((k * 4096)) "$WORK/mod.text" >"$SRC/added/note$k.txt"
	done
	head -c 5000 "$WORK/mod.random" >"$SRC/doc.partial/added.bin"
	rm -f "$WORK/mod.random" "$WORK/mod.text"
	sync
}

# ---- vaultd ----
start_vaultd() {
	local pf=$WORK/vaultd.port i port tok
	"$VAULTD" -d "$WORK/vaultd" -l 127.0.0.1:0 --port-file "$pf" >"$WORK/vaultd.log" 2>&1 &
	VAULTD_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$VAULTD_PID" 2>/dev/null || break
		sleep 0.05
	done
	port=$(cat "$pf" 2>/dev/null)
	[[ $port =~ ^[0-9]+$ ]] || {
		cat "$WORK/vaultd.log" >&2
		VAULTD_PID=
		die "vaultd did not start"
	}
	"$VAULTCTL" -d "$WORK/vaultd" tenant add bench >/dev/null || die "vaultctl tenant add failed"
	tok=$("$VAULTCTL" -d "$WORK/vaultd" token issue bench --scopes all 2>/dev/null) ||
		die "vaultctl token issue failed"
	export VAULT_REPOSITORY=http://127.0.0.1:$port/bench VAULT_TOKEN=$tok
}

# vaultd_cpu: CPU seconds (user + system, all threads) vaultd has used.
vaultd_cpu() {
	local f
	f=$(cat "/proc/$VAULTD_PID/stat" 2>/dev/null) || {
		echo 0
		return
	}
	f=${f##*) } # the fields after the command name
	awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / t }' <<<"$f"
}

start_vaultd
# Defaults on both sides (issue 15): vault's Argon2id MODERATE, restic's
# scrypt. vault keeps the unlocked key for later runs as a user's session
# does (spec/client-crypto.md 9); here in the work directory, not a tmpfs,
# so the first vault step pays the Argon2id once and the others do not.
export VAULT_PASSWORD=client-bench-password VAULT_CACHE_DIR=$WORK/vault-cache
export VAULT_KEY_CACHE_DIR=$WORK/vault-keys
unset VAULT_TOKEN_FILE VAULT_PASSWORD_FILE VAULT_PASSWORD_COMMAND
"$VAULT" init >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	die "vault init failed"
}
export RESTIC_PASSWORD=client-bench-password RESTIC_CACHE_DIR=$WORK/restic-cache
unset RESTIC_REPOSITORY RESTIC_REPOSITORY_FILE RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND \
	RESTIC_COMPRESSION RESTIC_PACK_SIZE
RREPO=$WORK/restic-repo
"$RESTIC" -r "$RREPO" init >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	die "restic init failed"
}

# ---- the steps ----
declare -A WALL CPU RSS SRV NOTE

# run_step TOOL STEP COMMAND...: runs the command under /usr/bin/time after a
# sync; records wall seconds, client CPU, peak RSS and (vault) vaultd's CPU.
run_step() {
	local tool=$1 step=$2 t0 t1 rc c0=0 c1 e u s m out=$WORK/$1.$2
	shift 2
	sync
	c1=
	[ "$tool" != vault ] || c0=$(vaultd_cpu)
	t0=$(now)
	"$TIME" -f '%e %U %S %M' -o "$out.time" "$@" >"$out.out" 2>"$out.err"
	rc=$?
	t1=$(now)
	[ "$tool" != vault ] || c1=$(vaultd_cpu)
	WALL[$tool,$step]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	read -r e u s m < <(tail -n 1 "$out.time")
	CPU[$tool,$step]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	RSS[$tool,$step]=$(awk -v k="$m" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
	SRV[$tool,$step]=-
	[ -z "$c1" ] || SRV[$tool,$step]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$rc" -ne 0 ]; then
		say "client_bench: $tool $step FAILED (status $rc):"
		tail -n 5 "$out.err" | sed -E 's/(vt1_[0-9a-f]{16}_)[0-9a-f]{64}/\1.../g' >&2
		WALL[$tool,$step]=FAILED
		failed=1
		return 1
	fi
	say "  $tool $step: ${WALL[$tool,$step]} s wall, ${CPU[$tool,$step]} s CPU ($u user, $s system)," \
		"${RSS[$tool,$step]} MB peak RSS${c1:+, vaultd CPU ${SRV[$tool,$step]} s}"
	return 0
}

# jfield FILE KEY: a number or string field of the last JSON object in FILE.
jfield() {
	tail -n 1 "$1" | grep -o "\"$2\":[^,}]*" | head -n 1 | cut -d: -f2- | tr -d '"'
}

# backup TOOL STEP: one backup of the corpus; notes what it stored.
backup() {
	local out=$WORK/$1.$2.out
	case $1 in
	vault)
		run_step vault "$2" "$VAULT" backup --json "$SRC" || return 1
		NOTE[vault,$2]="$(jfield "$out" files_unchanged)/$(jfield "$out" files) files unchanged, $(jfield "$out" bytes_read) bytes read, $(jfield "$out" uploaded) uploaded"
		;;
	restic)
		run_step restic "$2" "$RESTIC" -r "$RREPO" backup --json -q "$SRC" || return 1
		NOTE[restic,$2]="$(jfield "$out" files_unmodified)/$(jfield "$out" total_files_processed) files unmodified, $(jfield "$out" data_added) bytes added"
		;;
	esac
	say "    ${NOTE[$1,$2]}"
}

# restore TOOL: the latest snapshot into a new directory.
restore() {
	case $1 in
	vault) run_step vault restore "$VAULT" restore latest --target "$WORK/restore.vault" ;;
	restic) run_step restic restore "$RESTIC" -r "$RREPO" restore latest --target "$WORK/restore.restic" ;;
	esac
}

say "client_bench: first backup and unchanged re-backup"
for t in $ORDER; do
	backup "$t" first && backup "$t" unchanged
done
say "client_bench: modifying $MOD_PERCENT% of the generated files' bytes"
modify || die "the modification failed"
corpus_stats
say "  $MOD_BLOCKS blocks of $MOD_BLOCK bytes in $MOD_FILES files, 17 files added; now $BYTES bytes in $FILES files"
say "client_bench: changed re-backup"
for t in $ORDER; do
	backup "$t" changed
done
say "client_bench: restore"
for t in $ORDER; do
	restore "$t"
done
# A floor for the restores: writing the same files with cp -a, on the same
# disk, with the page cache in the same state (after both restores).
run_step cp reference cp -a "$SRC" "$WORK/cp-copy" || true
# Checked after both restores, so that neither restore runs after a diff
# has read a restored tree into the page cache.
DIFFERS=
for t in $ORDER; do
	r=$WORK/restore.$t$SRC
	[ "${WALL[$t,restore]:-FAILED}" != FAILED ] || continue
	if ! diff -r --no-dereference "$SRC" "$r" >"$WORK/diff.$t" 2>&1; then
		say "client_bench: !!!!! the $t restore DIFFERS from the corpus:"
		head -n 20 "$WORK/diff.$t" >&2
		DIFFERS="$DIFFERS $t"
		failed=1
	else
		say "  the $t restore equals the corpus (diff -r)"
	fi
done
vault_repo_mb=$(du -sm "$WORK/vaultd" | cut -f1)
restic_repo_mb=$(du -sm "$RREPO" | cut -f1)
vaultd_hwm=$(awk '/^VmHWM/ { printf "%.1f", $2 * 1024 / 1e6 }' "/proc/$VAULTD_PID/status" 2>/dev/null)
stop_vaultd

# ---- the table ----
# mbs BYTES SECONDS
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
ratio() { awk -v r="$1" -v v="$2" 'BEGIN { if (v + 0 > 0 && r + 0 > 0) printf "%.2f", r / v; else print "-" }'; }
# verdict RATIO: met if RATIO >= 2.
verdict() { awk -v r="$1" 'BEGIN { if (r == "-") print "-"; else print (r >= 2 ? "met" : "NOT met") }'; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '\nvault (commit %s) against restic %s; %s cores; load average %s\n' \
	"$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo ?)" \
	"$("$RESTIC" version | awk '{ print $2 }')" "$(nproc)" "$load"
printf 'date: %s; cpu: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
	"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
if awk -v l="${load%% *}" 'BEGIN { exit !(l > 0.5) }'; then
	printf 'warning: the machine is busy (load above 0.5); the figures are low and noisy\n'
fi
printf 'corpus: %s (%s bytes after the change)\n' "$CORPUS_DESC" "$BYTES"
printf 'change: %s blocks of %s KiB overwritten in %s files (%s%% of the generated bytes), 17 files added\n' \
	"$MOD_BLOCKS" "$((MOD_BLOCK / 1024))" "$MOD_FILES" "$MOD_PERCENT"
printf 'MB/s = corpus bytes / wall seconds (1 MB = 10^6 bytes); CPU = client user + system; RSS = client peak\n'
printf 'ratio = restic wall / vault wall; order: %s first in each pair\n' "${ORDER%% *}"
printf 'settings: both tools at their defaults. vault: Argon2id MODERATE (3 passes, 256 MiB)\n'
printf '  for the passphrase, zstd 3, key cache on (only its first step pays the KDF);\n'
printf '  restic: scrypt defaults, its default compression, a local repository\n\n'

H='| %-9s | %7s | %10s | %9s | %9s | %10s | %8s | %11s | %10s | %10s | %6s | %-27s | %-13s |\n'
printf "$H" step "vault s" "vault MB/s" "vault CPU" "vault RSS" "vaultd CPU" "restic s" "restic MB/s" \
	"restic CPU" "restic RSS" ratio "target (speed)" "RSS <= restic"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' ----------- --------- ------------ \
	----------- ----------- ------------ ---------- ------------- ------------ ------------ \
	-------- ----------------------------- ---------------
for step in first unchanged changed restore; do
	vw=${WALL[vault,$step]:-FAILED}
	rw=${WALL[restic,$step]:-FAILED}
	r=$(ratio "$rw" "$vw")
	b=$BYTES0
	[ "$step" = first ] || [ "$step" = unchanged ] || b=$BYTES
	case $step in
	first) target="vault MB/s >= 2x: $(verdict "$r")" ;;
	unchanged) target="vault s <= restic/2: $(verdict "$r")" ;;
	restore) target="vault MB/s >= 2x: $(verdict "$r")" ;;
	*) target="(none)" ;;
	esac
	rss_ok=$(awk -v a="${RSS[vault,$step]:-}" -v b="${RSS[restic,$step]:-}" \
		'BEGIN { if (a == "" || b == "") print "-"; else print (a + 0 <= b + 0 ? "met" : "NOT met") }')
	printf "$H" "$step" "$vw" "$(mbs "$b" "$vw")" "${CPU[vault,$step]:--}" "${RSS[vault,$step]:--}" \
		"${SRV[vault,$step]:--}" "$rw" "$(mbs "$b" "$rw")" "${CPU[restic,$step]:--}" \
		"${RSS[restic,$step]:--}" "$r" "$target" "$rss_ok"
done
vmax=$(printf '%s\n' "${RSS[vault,first]:-0}" "${RSS[vault,unchanged]:-0}" "${RSS[vault,changed]:-0}" \
	"${RSS[vault,restore]:-0}" | sort -g | tail -n 1)
rmax=$(printf '%s\n' "${RSS[restic,first]:-0}" "${RSS[restic,unchanged]:-0}" "${RSS[restic,changed]:-0}" \
	"${RSS[restic,restore]:-0}" | sort -g | tail -n 1)
printf '\npeak RSS over all steps: vault %s MB, restic %s MB: %s (vaultd peak RSS %s MB, not counted)\n' \
	"$vmax" "$rmax" "$(awk -v a="$vmax" -v b="$rmax" 'BEGIN { print (a + 0 <= b + 0 ? "met" : "NOT met") }')" \
	"${vaultd_hwm:-?}"
printf 'reference: cp -a of the corpus to a new directory: %s s wall (%s MB/s), %s s CPU\n' \
	"${WALL[cp,reference]:-FAILED}" "$(mbs "$BYTES" "${WALL[cp,reference]:-0}")" "${CPU[cp,reference]:--}"
printf 'repository on disk: vaultd data directory %s MiB, restic repository %s MiB\n' \
	"$vault_repo_mb" "$restic_repo_mb"
for step in first unchanged changed; do
	printf '%-9s vault: %s\n          restic: %s\n' "$step" "${NOTE[vault,$step]:-?}" "${NOTE[restic,$step]:-?}"
done
if [ -n "$DIFFERS" ]; then
	printf '\nRESTORE CHECK FAILED:%s differs from the corpus (diff -r); see above\n' "$DIFFERS"
else
	printf '\nrestore check: both restores equal the corpus (diff -r --no-dereference)\n'
fi
[ "$failed" = 0 ] || printf 'SOME STEPS FAILED; the figures above are not comparable\n'
exit "$failed"
