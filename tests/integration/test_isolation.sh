#!/usr/bin/env bash
# Tenant isolation (spec/vsp.md section 14): tenant A can never name, list,
# read, delete or learn the existence of tenant B's vaults and objects, and
# no path or query trick reaches them.
. "$(dirname "$0")/lib.sh"

start_vaultd
W=$TEST_TMP/work
mkdir -p "$W"
new_tenant alpha
new_tenant bravo
TA=$(new_token alpha --scopes all)
TB=$(new_token bravo --scopes all)
HA=(-H "Authorization: Bearer $TA")
HB=(-H "Authorization: Bearer $TB")

# A's view of "bsecret" before anyone has such a vault: the reference answers.
# raw_req METHOD PATH TOKEN [BODY]: one request with Connection: close over
# /dev/tcp; the whole reply (status, headers, body) lands in $RAW_REPLY.
raw_req() {
	local m=$1 p=$2 t=$3 b=${4-}
	{
		printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nConnection: close\r\n' "$m" "$p" "$t"
		if [ -n "$b" ] || [ "$m" == PUT ] || [ "$m" == POST ]; then
			printf 'Content-Length: %d\r\n' "${#b}"
		fi
		printf '\r\n%s' "$b"
	} | raw_http 5
}
bid_probe=$(printf 'probe object' | sha256sum | cut -c1-64)
# probe_all TAG NAME: A's answers to every request about vault NAME, saved.
probe_all() {
	local tag=$1 n=$2 i=0
	while IFS='|' read -r m p b; do
		i=$((i + 1))
		raw_req "$m" "${p//VAULT/$n}" "$TA" "$b"
		cp "$RAW_REPLY" "$W/$tag.$i"
	done <<EOF
GET|/v1/vaults/VAULT|
GET|/v1/vaults/VAULT/config|
PUT|/v1/vaults/VAULT/config|abc
GET|/v1/vaults/VAULT/objects/pack|
GET|/v1/vaults/VAULT/objects/pack?limit=1|
GET|/v1/vaults/VAULT/objects/pack/$bid_probe|
HEAD|/v1/vaults/VAULT/objects/pack/$bid_probe|
DELETE|/v1/vaults/VAULT/objects/pack/$bid_probe|
PUT|/v1/vaults/VAULT/objects/pack/$bid_probe|probe object
POST|/v1/vaults/VAULT/objects/pack/exists|{"ids":["$bid_probe"]}
EOF
	echo "$i"
}
nprobes=$(probe_all before bsecret)
probe_all never neverxx >/dev/null

# ---- both tenants set up vault "main"; B also "bsecret" ----
note setup
use_token "$TA"
create_vault main
use_token "$TB"
create_vault main
expect_status 201 -X PUT "${HB[@]}" "$URL/v1/vaults/bsecret"
expect_status 201 -X PUT "${HB[@]}" --data-binary 'bravo config' "$URL/v1/vaults/bsecret/config"
printf 'probe object' >"$W/probe"
assert_eq "probe ID" "$bid_probe" "$(sha256 "$W/probe")"
put_object bsecret pack "$W/probe"
declare -a BIDS AIDS
for i in 1 2 3; do
	BIDS+=("$(rand_file "$W/b$i" $((1000 * i)))")
	put_object main pack "$W/b$i"
	put_object bsecret pack "$W/b$i"
done
use_token "$TA"
for i in 1 2; do
	AIDS+=("$(rand_file "$W/a$i" $((500 * i)))")
	put_object main pack "$W/a$i"
done
expect_status 200 "${HB[@]}" "$URL/v1/vaults/main"
b_main_before=$(body)
expect_status 200 "${HB[@]}" "$URL/v1/vaults/bsecret"
b_secret_before=$(body)

# ---- B's vault is answered to A exactly as a vault that never existed ----
note existence
nprobes2=$(probe_all after bsecret)
assert_eq "probe count" "$nprobes" "$nprobes2"
for ((i = 1; i <= nprobes; i++)); do
	assert_same_file "A's answer $i about bsecret, before vs after B created it" "$W/before.$i" "$W/after.$i"
	sed 's/neverxx/bsecret/g' "$W/never.$i" >"$W/never-renamed.$i"
	assert_same_file "A's answer $i about bsecret vs about a never-existing name" "$W/never-renamed.$i" "$W/after.$i"
	st=$(tr '\r\n' '<>' <"$W/after.$i" | grep -a -o -E '^HTTP/1\.1 [0-9]{3}' | cut -d' ' -f2)
	assert_eq "status of A's answer $i about bsecret" 404 "$st"
done
# The 404 is the usual JSON error and names nothing of B's.
expect_error 404 not_found "${HA[@]}" "$URL/v1/vaults/bsecret"
if grep -q bravo "$BODY"; then fail "404 mentions the other tenant"; else pass_check; fi

# ---- A cannot read, list, HEAD, delete or detect B's objects ----
note objects
for i in 0 1 2; do
	bid=${BIDS[$i]}
	expect_error 404 not_found "${HA[@]}" "$URL/v1/vaults/main/objects/pack/$bid"
	expect_status 404 -I "${HA[@]}" "$URL/v1/vaults/main/objects/pack/$bid"
	expect_error 404 not_found "${HA[@]}" -H 'Range: bytes=0-0' "$URL/v1/vaults/main/objects/pack/$bid"
	expect_error 404 not_found -X DELETE "${HA[@]}" "$URL/v1/vaults/main/objects/pack/$bid"
	expect_error 404 not_found "${HA[@]}" "$URL/v1/vaults/bsecret/objects/pack/$bid"
	expect_error 404 not_found -X DELETE "${HA[@]}" "$URL/v1/vaults/bsecret/objects/pack/$bid"
done
expect_status 200 "${HA[@]}" "$URL/v1/vaults/main/objects/pack"
assert_eq "A's listing of main holds only A's objects" "$(printf '%s\n' "${AIDS[@]}" | sort)" "$(json_ids "$(body)")"
q="{\"ids\":[\"${BIDS[0]}\",\"${AIDS[0]}\",\"${BIDS[1]}\",\"${BIDS[2]}\",\"${AIDS[1]}\"]}"
expect_status 200 -X POST "${HA[@]}" --data-binary "$q" "$URL/v1/vaults/main/objects/pack/exists"
assert_eq "A's existence query does not see B's objects" \
	"{\"present\":[\"${AIDS[0]}\",\"${AIDS[1]}\"],\"missing\":[\"${BIDS[0]}\",\"${BIDS[1]}\",\"${BIDS[2]}\"]}" "$(body)"
# Vault lists are per tenant.
expect_status 200 "${HA[@]}" "$URL/v1/vaults"
assert_eq "A's vaults" main "$(body | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
expect_status 200 "${HB[@]}" "$URL/v1/vaults"
assert_eq "B's vaults" "bsecret main" "$(body | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
# No cross-tenant deduplication: A uploading B's bytes stores a new object.
if put_object main pack "$W/b1" 201; then
	assert_match "A's upload of B's bytes is created" '"created":true' "$(body)"
fi
expect_status 200 "${HA[@]}" "$URL/v1/vaults/main"
assert_eq "A's counters count its copy" "3 $((500 + 1000 + 1000))" "$(vault_counts "$(body)")"
# A deleting its copy leaves B's.
expect_status 204 -X DELETE "${HA[@]}" "$URL/v1/vaults/main/objects/pack/${BIDS[0]}"
get_object main pack "${BIDS[0]}" "$W/after-delete" 404
expect_status 200 "${HB[@]}" "$URL/v1/vaults/main/objects/pack/${BIDS[0]}"
assert_same_file "B's object after A deleted its own copy" "$W/b1" "$BODY"
# A creating its own "bsecret" gets an empty vault of its own; B's is untouched.
if expect_status 201 -X PUT "${HA[@]}" "$URL/v1/vaults/bsecret"; then
	assert_eq "A's new bsecret is empty" "0 0" "$(vault_counts "$(body)")"
	assert_match "A's new bsecret has no config" '"config":false' "$(body)"
fi
expect_error 404 not_found "${HA[@]}" "$URL/v1/vaults/bsecret/config"
expect_status 200 "${HA[@]}" "$URL/v1/vaults/bsecret/objects/pack"
assert_eq "A's bsecret listing" '{"objects":[],"next":null}' "$(body)"
expect_status 404 "${HA[@]}" "$URL/v1/vaults/bsecret/objects/pack/$bid_probe"
# A may write its own config there; B's stays.
expect_status 201 -X PUT "${HA[@]}" --data-binary 'alpha config' "$URL/v1/vaults/bsecret/config"
expect_status 200 "${HB[@]}" "$URL/v1/vaults/bsecret/config"
assert_eq "B's config unchanged" "bravo config" "$(body)"
expect_status 200 "${HA[@]}" "$URL/v1/vaults/bsecret/config"
assert_eq "A's config" "alpha config" "$(body)"

# ---- tokens: A's secret under B's token ID, bound tokens ----
note tokens
mixed="vt1_$(token_id "$TB")_${TA:21}"
expect_error 401 unauthorized -H "Authorization: Bearer $mixed" "$URL/v1/vaults/main/objects/pack/${BIDS[1]}"
A_BOUND=$(new_token alpha --vault bsecret2 --scopes all)
expect_error 404 not_found -H "Authorization: Bearer $A_BOUND" "$URL/v1/vaults/bsecret2"
expect_status 200 -H "Authorization: Bearer $A_BOUND" "$URL/v1/vaults"
assert_eq "A's bound token lists nothing of B" '{"vaults":[]}' "$(body)"

# ---- path and query tricks ----
note path tricks
B1=${BIDS[1]}
# Every one of these must be 400 or 404 and must not carry B's bytes or names.
tricks=(
	"/v1/vaults/../vaults/bsecret"
	"/v1/vaults/../vaults/main/objects/pack/$B1"
	"/v1/vaults/main/../../v1/vaults/bsecret/objects/pack/$B1"
	"/v1/vaults/main/../../"
	"/v1/vaults/main/.."
	"/v1/vaults/./bsecret"
	"/v1/vaults/bsecret/."
	"/v1/vaults/%2e%2e/vaults/bsecret"
	"/v1/vaults/main/%2e%2e/bsecret/objects/pack/$B1"
	"/v1/vaults/main%2f..%2fbsecret/objects/pack/$B1"
	"/v1/vaults/%62secret"
	"//v1/vaults/bsecret"
	"/v1//vaults/bsecret"
	"/v1/vaults//bsecret"
	"/v1/vaults/bsecret/"
	"/v1/vaults/bsecret//objects/pack/$B1"
	"/v1/vaults/main/objects/pack/$B1/"
	"/v1/vaults/main/objects/pack//$B1"
	"/v1/vaults/main/objects//pack/$B1"
	"/v1/vaults/bravo/bsecret/objects/pack/$B1"
	"/v1/vaults/bravo:bsecret/objects/pack/$B1"
	"/v1/vaults/bravo.bsecret/objects/pack/$B1"
	"/v1/vaults/main\\..\\bsecret/objects/pack/$B1"
	"/v1/vaults/bsecret;x/objects/pack/$B1"
	"/v1/tenants/bravo/vaults/bsecret"
	"/v1/vaults/bsecret?tenant=bravo"
	"/v1/vaults/main?tenant=bravo"
	"/v1/vaults/main/config?tenant=bravo"
	"/v1/vaults/main/objects/pack/$B1?tenant=bravo"
	"/v1/vaults/main/objects/pack/$B1?vault=bsecret"
	"/v1/vaults/main/objects/pack?tenant=bravo"
	"/v1/vaults/main/objects/pack?limit=5&tenant=bravo"
	"/v1/vaults/main/objects/pack?vault=bsecret"
	"/v1/vaults?tenant=bravo"
	"/v1/vaults/main/objects/pack/$B1#x"
	"/v1/vaults/main/objects/pack/$B1;bsecret"
	"/V1/vaults/bsecret"
	"/v1/Vaults/bsecret"
	"/v1/vaults/bsecret/OBJECTS/pack/$B1"
	"/v1/vaults/bsecret/objects/pack/${B1^^}"
	"http://127.0.0.1/v1/vaults/bsecret"
	"*"
	"/v1/vaults/ bsecret"
)
for p in "${tricks[@]}"; do
	for m in GET HEAD DELETE; do
		raw_req "$m" "$p" "$TA"
		st=$(raw_statuses | head -1)
		case $st in
		400 | 404) pass_check ;;
		*)
			fail "$m $p with A's token: expected 400 or 404, got '$st'"
			raw_show
			;;
		esac
		# B's object is 2000 bytes; no error answer comes near that size.
		if grep -aq -e "bravo config" -e '"size":' "$RAW_REPLY" ||
			[ "$(file_size "$RAW_REPLY")" -ge 1000 ]; then
			fail "$m $p: the answer carries B's data"
			raw_show
		else
			pass_check
		fi
	done
done
# Trailing query on an object GET of B's ID through A's vault is refused, and
# the body bytes of B's object never appear.
expect_status 400 --path-as-is "${HA[@]}" "$URL/v1/vaults/main/objects/pack/$B1?x"
if cmp -s "$BODY" "$W/b2"; then fail "B's bytes were served"; else pass_check; fi

# ---- B's data is intact after all of A's attempts ----
note B intact
expect_status 200 "${HB[@]}" "$URL/v1/vaults/main"
assert_eq "B's main unchanged" "$b_main_before" "$(body)"
expect_status 200 "${HB[@]}" "$URL/v1/vaults/bsecret"
assert_eq "B's bsecret unchanged" "$b_secret_before" "$(body)"
use_token "$TB"
for i in 1 2 3; do
	get_object main pack "${BIDS[$((i - 1))]}" "$W/bget$i"
	assert_same_file "B's object $i" "$W/b$i" "$W/bget$i"
done
get_object bsecret pack "$bid_probe" "$W/bprobe"
assert_same_file "B's probe object" "$W/probe" "$W/bprobe"

finish
