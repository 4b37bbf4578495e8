#!/usr/bin/env bash
# The main VSP endpoints on their happy paths: capabilities, vaults, config,
# objects (PUT/GET/HEAD/ranges/DELETE), listings, batch exists, usage
# counters, and that the counters survive a restart.
. "$(dirname "$0")/lib.sh"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)
RW=$(new_token acme --scopes read,append)
use_token "$ADMIN"
W=$TEST_TMP/work
mkdir -p "$W"

# ---- capabilities, no auth ----
note capabilities
if expect_status 200 "$URL/v1/capabilities"; then
	caps=$(body)
	assert_header Content-Type application/json
	assert_match "capabilities protocol" '"protocol":"vsp"' "$caps"
	assert_match "capabilities versions" '"versions":\[1\]' "$caps"
	assert_match "capabilities server" '"server":"vaultd/[^"]+"' "$caps"
	assert_match "capabilities kinds" '"kinds":\["pack","index","snapshot","key","lock"\]' "$caps"
	assert_match "capabilities features restic" '"features":\[[^]]*"restic"' "$caps"
	assert_match "capabilities features range" '"features":\[[^]]*"range"' "$caps"
	assert_match "capabilities features batch-exists" '"features":\[[^]]*"batch-exists"' "$caps"
	for k in max_object_size max_config_size max_header_bytes max_url_length max_batch_ids max_list_limit; do
		assert_match "capabilities limit $k" "\"$k\":[1-9][0-9]*" "$caps"
	done
	assert_eq "max_object_size default" 1073741824 "$(json_num max_object_size "$caps")"
	assert_eq "max_config_size" 65536 "$(json_num max_config_size "$caps")"
fi
expect_status 200 -I "$URL/v1/capabilities"

# ---- vaults ----
note vaults
if expect_status 201 -X PUT "${AUTH[@]}" "$URL/v1/vaults/main"; then
	v=$(body)
	assert_match "new vault name" '"name":"main"' "$v"
	assert_eq "new vault counters" "0 0" "$(vault_counts "$v")"
	assert_match "new vault config flag" '"config":false' "$v"
	assert_match "new vault created time" '"created":[1-9][0-9]{8,}' "$v"
	assert_eq "new vault pack counters" "0 0" "$(kind_counts pack "$v")"
	assert_eq "new vault index counters" "0 0" "$(kind_counts index "$v")"
	assert_eq "new vault snapshot counters" "0 0" "$(kind_counts snapshot "$v")"
fi
expect_error 409 conflict -X PUT "${AUTH[@]}" "$URL/v1/vaults/main"
create_vault second
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"; then
	assert_match "vault info name" '^\{"name":"main"' "$(body)"
	assert_match "vault info kinds" '"kinds":\{"pack":\{"objects":0,"bytes":0\}' "$(body)"
fi
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults"; then
	l=$(body)
	assert_match "vault list shape" '^\{"vaults":\[' "$l"
	assert_eq "vault list names, in name order" "main second" \
		"$(printf '%s' "$l" | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
fi
# A read-only token cannot create vaults but can list them.
RO=$(new_token acme --scopes read)
expect_status 200 -H "Authorization: Bearer $RO" "$URL/v1/vaults"

# ---- config: written once ----
note config
printf 'config-v1 %s' "$(head -c 300 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$W/config1"
printf 'a different config' >"$W/config2"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/main/config"
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/config1" "$URL/v1/vaults/main/config"
expect_status 200 -X PUT "${AUTH[@]}" --data-binary @"$W/config1" "$URL/v1/vaults/main/config"
expect_error 409 conflict -X PUT "${AUTH[@]}" --data-binary @"$W/config2" "$URL/v1/vaults/main/config"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/config"; then
	assert_same_file "config bytes" "$W/config1" "$BODY"
	assert_header Content-Type application/octet-stream
fi
# Range is ignored on the config.
expect_status 200 "${AUTH[@]}" -H 'Range: bytes=0-0' "$URL/v1/vaults/main/config"
assert_same_file "config bytes with a Range header" "$W/config1" "$BODY"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"
assert_match "vault config flag after PUT" '"config":true' "$(body)"
# The other vault still has none; an empty config is a config too.
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/second/config"
expect_status 201 -X PUT "${AUTH[@]}" -H 'Content-Length: 0' "$URL/v1/vaults/second/config"
assert_eq "empty config answer" '{"size":0}' "$(body)"
expect_status 200 -X PUT "${AUTH[@]}" -H 'Content-Length: 0' "$URL/v1/vaults/second/config"
expect_error 409 conflict -X PUT "${AUTH[@]}" --data-binary @"$W/config1" "$URL/v1/vaults/second/config"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/second/config"; then
	assert_eq "empty config size" 0 "$(file_size "$BODY")"
fi
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/second"
assert_match "vault with an empty config" '"config":true' "$(body)"

# ---- objects ----
note objects
id=$(rand_file "$W/obj" 1000)
if expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/obj" "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_eq "PUT answer" "{\"id\":\"$id\",\"kind\":\"pack\",\"size\":1000,\"created\":true}" "$(body)"
fi
if expect_status 200 -X PUT "${AUTH[@]}" --data-binary @"$W/obj" "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_eq "repeated PUT answer" "{\"id\":\"$id\",\"kind\":\"pack\",\"size\":1000,\"created\":false}" "$(body)"
fi
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_same_file "GET bytes" "$W/obj" "$BODY"
	assert_header Content-Type application/octet-stream
	assert_header ETag "\"$id\""
	assert_header Accept-Ranges bytes
	assert_header Content-Length 1000
	assert_header X-Vault-Object-Size 1000
fi
# The same ID is not there under another kind.
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/main/objects/index/$id"
if expect_status 200 -I "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_header Content-Length 1000
	assert_header ETag "\"$id\""
	assert_header Accept-Ranges bytes
	assert_header X-Vault-Object-Size 1000
fi
# A HEAD answer has no body: the next answer on the connection follows its
# header block directly.
printf 'HEAD /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\nGET /v1/capabilities HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' \
	"$id" "$ADMIN" | raw_http 5
assert_eq "HEAD then GET on one connection: statuses" "200 200" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"
assert_true "HEAD answer has no body (next status line follows the blank line)" \
	grep -aq '<><>HTTP/1.1 200' <(raw_flat)
# Range is ignored on HEAD.
if expect_status 200 -I "${AUTH[@]}" -H 'Range: bytes=0-0' "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_header Content-Length 1000
	assert_eq "HEAD with Range has no Content-Range" "" "$(header Content-Range)"
fi

# ---- ranges ----
note ranges
# range_check RANGE FIRST LAST: expects 206 with those bytes.
range_check() {
	local r=$1 a=$2 b=$3
	if expect_status 206 "${AUTH[@]}" -H "Range: $r" "$URL/v1/vaults/main/objects/pack/$id"; then
		assert_header Content-Range "bytes $a-$b/1000"
		assert_header Content-Length $((b - a + 1))
		assert_header X-Vault-Object-Size 1000
		assert_header ETag "\"$id\""
		tail -c +$((a + 1)) "$W/obj" | head -c $((b - a + 1)) >"$W/range.want"
		assert_same_file "bytes of range $r" "$W/range.want" "$BODY"
	fi
}
range_check bytes=0-0 0 0
range_check bytes=5- 5 999
range_check bytes=-3 997 999
range_check bytes=100-199 100 199
range_check bytes=990-5000 990 999
range_check bytes=999-999 999 999
range_check bytes=-5000 0 999
range_check bytes=0- 0 999
for r in bytes=1000- bytes=1000-1005 bytes=5000-6000 bytes=0-1,5-6 bytes=0-0,-1 bytes=7-3 bytes=-0 \
	bytes=abc items=0-5 'bytes= 0-5' Bytes=0-5 bytes=18446744073709551616-; do
	if expect_error 416 range_not_satisfiable "${AUTH[@]}" -H "Range: $r" \
		"$URL/v1/vaults/main/objects/pack/$id"; then
		assert_header Content-Range "bytes */1000"
	fi
done

# ---- delete needs the delete scope ----
note delete
expect_error 403 forbidden -X DELETE -H "Authorization: Bearer $RW" "$URL/v1/vaults/main/objects/pack/$id"
assert_match "403 names the scope" 'delete' "$(body)"
expect_status 200 -I "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
if expect_status 204 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"; then
	assert_eq "204 has no body" 0 "$(file_size "$BODY")"
fi
expect_error 404 not_found -X DELETE "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
expect_status 404 -I "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
# It can be uploaded again after a delete.
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/obj" "$URL/v1/vaults/main/objects/pack/$id"
expect_status 204 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"

# ---- the empty object ----
note empty object
: >"$W/empty"
eid=$(sha256 "$W/empty")
assert_eq "empty ID" e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "$eid"
if expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/empty" "$URL/v1/vaults/main/objects/key/$eid"; then
	assert_eq "empty PUT answer" "{\"id\":\"$eid\",\"kind\":\"key\",\"size\":0,\"created\":true}" "$(body)"
fi
expect_status 200 -X PUT "${AUTH[@]}" --data-binary @"$W/empty" "$URL/v1/vaults/main/objects/key/$eid"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/objects/key/$eid"; then
	assert_eq "empty GET size" 0 "$(file_size "$BODY")"
	assert_header Content-Length 0
fi
if expect_status 200 -I "${AUTH[@]}" "$URL/v1/vaults/main/objects/key/$eid"; then
	assert_header Content-Length 0
	assert_header ETag "\"$eid\""
fi
if expect_error 416 range_not_satisfiable "${AUTH[@]}" -H "Range: bytes=0-0" "$URL/v1/vaults/main/objects/key/$eid"; then
	assert_header Content-Range "bytes */0"
fi
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/objects/key?limit=10"
assert_eq "empty object listed" "$eid" "$(json_ids "$(body)")"
assert_match "empty object size in listing" "\"size\":0" "$(body)"

# ---- listings with paging ----
note listings
create_vault paging
ids=()
for i in 1 2 3 4 5; do
	ids+=("$(rand_file "$W/p$i" $((100 * i)))")
	put_object paging index "$W/p$i"
done
sorted=$(printf '%s\n' "${ids[@]}" | sort)
after=
all=
pages=0
while :; do
	q="limit=2"
	[ -n "$after" ] && q="$q&after=$after"
	expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/paging/objects/index?$q" || break
	page=$(body)
	pids=$(json_ids "$page")
	n=$(printf '%s\n' "$pids" | grep -c .)
	next=$(json_next "$page")
	pages=$((pages + 1))
	all="$all$pids"$'\n'
	if [ $pages -lt 3 ]; then
		assert_eq "page $pages size" 2 "$n"
		assert_eq "page $pages next = its last ID" "$(printf '%s\n' "$pids" | tail -1)" "$next"
	else
		assert_eq "page $pages size" 1 "$n"
		assert_eq "last page next" null "$next"
	fi
	[ "$next" == null ] && break
	after=$next
	[ $pages -ge 5 ] && { fail "listing does not end after 5 pages"; break; }
done
assert_eq "pages" 3 "$pages"
assert_eq "paged listing = every ID in ID order" "$sorted" "$(printf '%s' "$all" | grep .)"
# Each entry has id, size and received.
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/paging/objects/index"
assert_match "listing entry shape" '^\{"objects":\[\{"id":"[0-9a-f]{64}","size":[0-9]+,"received":[1-9][0-9]+\}' "$(body)"
assert_eq "unpaged listing next" null "$(json_next "$(body)")"
assert_eq "unpaged listing" "$sorted" "$(json_ids "$(body)")"
for i in 1 2 3 4 5; do
	assert_match "listed size of p$i" "\"id\":\"${ids[$((i - 1))]}\",\"size\":$((100 * i))," "$(body)"
done
# after= the largest ID: nothing left.
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/paging/objects/index?after=$(printf '%s\n' "$sorted" | tail -1)"
assert_eq "listing after the last ID" '{"objects":[],"next":null}' "$(body)"
# Other kinds of this vault are empty.
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/paging/objects/pack"
assert_eq "pack listing of paging" '{"objects":[],"next":null}' "$(body)"

# ---- batch exists ----
note batch exists
m1=$(printf 'absent-1' | sha256sum | cut -c1-64)
m2=$(printf 'absent-2' | sha256sum | cut -c1-64)
q="{\"ids\":[\"${ids[3]}\",\"$m1\",\"${ids[0]}\",\"$m2\",\"${ids[4]}\"]}"
if expect_status 200 -X POST "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary "$q" \
	"$URL/v1/vaults/paging/objects/index/exists"; then
	assert_eq "exists answer" "{\"present\":[\"${ids[3]}\",\"${ids[0]}\",\"${ids[4]}\"],\"missing\":[\"$m1\",\"$m2\"]}" "$(body)"
fi
# An append-only token may ask too; the same IDs under another kind are missing.
AP=$(new_token acme --scopes append)
if expect_status 200 -X POST -H "Authorization: Bearer $AP" --data-binary "{\"ids\":[\"${ids[1]}\"]}" \
	"$URL/v1/vaults/paging/objects/pack/exists"; then
	assert_eq "exists in another kind" "{\"present\":[],\"missing\":[\"${ids[1]}\"]}" "$(body)"
fi
expect_status 200 -X POST "${AUTH[@]}" --data-binary '{"ids":[]}' "$URL/v1/vaults/paging/objects/index/exists"
assert_eq "exists with no IDs" '{"present":[],"missing":[]}' "$(body)"
# Duplicates appear as often as asked; other members are ignored.
q="{\"x\":1,\"ids\":[\"$m1\",\"${ids[2]}\",\"$m1\",\"${ids[2]}\",\"${ids[2]}\"]}"
expect_status 200 -X POST "${AUTH[@]}" --data-binary "$q" "$URL/v1/vaults/paging/objects/index/exists"
assert_eq "exists with duplicates" "{\"present\":[\"${ids[2]}\",\"${ids[2]}\",\"${ids[2]}\"],\"missing\":[\"$m1\",\"$m1\"]}" "$(body)"

# ---- usage counters ----
note usage counters
create_vault usage
u1=$(rand_file "$W/u1" 1000)
u2=$(rand_file "$W/u2" 2000)
u3=$(rand_file "$W/u3" 3000)
rand_file "$W/u4" 500 >/dev/null
put_object usage pack "$W/u1"
put_object usage pack "$W/u2"
put_object usage pack "$W/u3"
put_object usage index "$W/u4"
put_object usage pack "$W/u2" 200 # idempotent: counted once
# check_usage TOTAL PACK INDEX SNAPSHOT: "objects bytes" each.
check_usage() {
	local what=$1
	shift
	expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/usage" || return
	local v
	v=$(body)
	assert_eq "$what: vault objects/bytes" "$1" "$(vault_counts "$v")"
	assert_eq "$what: pack objects/bytes" "$2" "$(kind_counts pack "$v")"
	assert_eq "$what: index objects/bytes" "$3" "$(kind_counts index "$v")"
	assert_eq "$what: key objects/bytes" "$4" "$(kind_counts key "$v")"
}
check_usage "after puts" "4 6500" "3 6000" "1 500" "0 0"
expect_status 204 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/usage/objects/pack/$u2"
expect_status 404 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/usage/objects/pack/$u2"
expect_status 404 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/usage/objects/key/$u1"
check_usage "after a delete" "3 4500" "2 4000" "1 500" "0 0"
put_object usage key "$W/empty"
check_usage "after an empty key" "4 4500" "2 4000" "1 500" "1 0"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"
main_before=$(body)

# ---- a restart keeps everything exact ----
note restart
restart_vaultd
use_token "$ADMIN"
check_usage "after a restart" "4 4500" "2 4000" "1 500" "1 0"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main"
assert_eq "vault main after a restart" "$main_before" "$(body)"
if expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/usage/objects/pack/$u3"; then
	assert_same_file "object after a restart" "$W/u3" "$BODY"
fi
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/usage/objects/pack/$u2"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/config"
assert_same_file "config after a restart" "$W/config1" "$BODY"
assert_eq "paged listing after a restart" "$sorted" "$(list_all paging index 2)"
# Counters keep working after the restart.
put_object usage pack "$W/u2"
check_usage "a put after the restart" "5 6500" "3 6000" "1 500" "1 0"
assert_eq "no temp files left" 0 "$(tmp_count)"

finish
