#!/usr/bin/env bash
# The kill -9 test (spec/vsp.md section 13): while four clients upload, the
# daemon is killed with SIGKILL at a random moment. After a restart on the
# same data directory every acknowledged object must be listed and intact,
# every listed object must be whole (its bytes hash to its ID), the usage
# counters must match the listing, and no temp file may be left. Three rounds.
. "$(dirname "$0")/lib.sh"

ROUNDS=${DURABILITY_ROUNDS:-3}
WORKERS=4
W=$TEST_TMP/work
mkdir -p "$W"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"

# worker N VAULT: uploads random objects until $W/stop exists. Appends each
# ID to acked.VAULT only after a 200 or 201 answer.
worker() {
	local n=$1 v=$2 f id code size
	f=$W/w$n.obj
	while [ ! -e "$W/stop" ]; do
		size=$(rand_between $((256 * 1024)) $((3 * 1024 * 1024)))
		id=$(rand_file "$f" "$size")
		echo "$id" >>"$W/tried.$v"
		code=$(curl -s -o /dev/null --max-time 30 -w '%{http_code}' -X PUT \
			-H "Authorization: Bearer $ADMIN" -T "$f" "$URL/v1/vaults/$v/objects/pack/$id")
		case $code in
		200 | 201) echo "$id" >>"$W/acked.$v" ;;
		000 | 100) sleep 0.05 ;; # killed mid-request (maybe after 100 Continue): wait for the stop flag
		*)
			fail "worker $n: upload of $id ($size bytes) got $code"
			sleep 0.05
			;;
		esac
	done
}

# check_vault VAULT: the checks after a crash, for one vault.
check_vault() {
	local v=$1 listed id n_listed n_acked bad=0 sum=0 missing=0 line size
	listed=$(list_all "$v" pack 7)
	n_listed=$(printf '%s' "$listed" | grep -c .)
	n_acked=$(sort -u "$W/acked.$v" 2>/dev/null | grep -c .)
	note "$v: $n_acked acknowledged, $n_listed listed, $(sort -u "$W/tried.$v" | grep -c .) tried"
	assert_true "$v: some uploads were acknowledged before the kill" [ "$n_acked" -gt 0 ]
	# Every acknowledged ID is listed.
	while read -r id; do
		if ! printf '%s\n' "$listed" | grep -qx "$id"; then
			fail "$v: acknowledged object $id is not listed after the crash"
			missing=$((missing + 1))
		fi
	done < <(sort -u "$W/acked.$v")
	assert_eq "$v: acknowledged objects missing after the crash" 0 "$missing"
	# Every listed ID was tried, and its bytes hash to its ID.
	while read -r id; do
		[ -n "$id" ] || continue
		if ! grep -qx "$id" "$W/tried.$v"; then
			fail "$v: listed object $id was never uploaded"
		fi
		if ! get_object "$v" pack "$id" "$W/get"; then
			bad=$((bad + 1))
			continue
		fi
		if [ "$(sha256 "$W/get")" != "$id" ]; then
			fail "$v: object $id is listed but its bytes ($(file_size "$W/get")) hash to $(sha256 "$W/get")"
			bad=$((bad + 1))
		fi
		sum=$((sum + $(file_size "$W/get")))
	done <<<"$listed"
	assert_eq "$v: listed objects that are not whole" 0 "$bad"
	# The counters agree with the listing.
	if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/$v"; then
		line=$(body)
		assert_eq "$v: counters after the crash (objects bytes)" "$n_listed $sum" "$(vault_counts "$line")"
		assert_eq "$v: pack counters after the crash" "$n_listed $sum" "$(kind_counts pack "$line")"
	fi
	# The sizes in the listing agree too.
	size=0
	expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/$v/objects/pack?limit=10000"
	for n in $(body | grep -o '"size":[0-9]*' | cut -d: -f2); do size=$((size + n)); done
	assert_eq "$v: listed sizes add up" "$sum" "$size"
}

for ((round = 1; round <= ROUNDS; round++)); do
	note "round $round"
	v=round$round
	create_vault "$v"
	: >"$W/acked.$v"
	: >"$W/tried.$v"
	rm -f "$W/stop"
	wpids=()
	for ((n = 1; n <= WORKERS; n++)); do
		worker "$n" "$v" &
		wpids+=($!)
		BG_PIDS+=($!)
	done
	ms=$(rand_between 1000 3000)
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill9_vaultd
	touch "$W/stop"
	for p in "${wpids[@]}"; do wait "$p"; done
	BG_PIDS=()
	note "killed after $ms ms"

	start_vaultd
	assert_eq "round $round: objects/.tmp after the restart" 0 "$(tmp_count)"
	check_vault "$v"
	# Earlier rounds' acknowledged objects are all still there.
	for ((r = 1; r < round; r++)); do
		listed=$(list_all "round$r" pack)
		while read -r id; do
			printf '%s\n' "$listed" | grep -qx "$id" ||
				fail "round$r: acknowledged object $id is gone after round $round"
		done < <(sort -u "$W/acked.round$r")
		pass_check
	done
	# The vault takes new uploads after the crash.
	rand_file "$W/after" 100000 >/dev/null
	put_object "$v" pack "$W/after"
	put_object "$v" pack "$W/after" 200
done
assert_eq "objects/.tmp at the end" 0 "$(tmp_count)"

finish
