#!/usr/bin/env bash
# Every error status of VSP (spec/vsp.md section 6), each with its JSON body
# {"code","message"}, and that the daemon keeps serving after bad input.
. "$(dirname "$0")/lib.sh"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"
W=$TEST_TMP/work
mkdir -p "$W"
create_vault main
create_vault other
id=$(rand_file "$W/obj" 4096)
put_object main pack "$W/obj"
V=$URL/v1/vaults/main
# restart DAEMON-ARGS...: restart_vaultd, and V follows the new port.
restart() {
	restart_vaultd "$@"
	V=$URL/v1/vaults/main
}
NOID=$(printf 'never stored' | sha256sum | cut -c1-64)

# ---- 400 malformed ----
note 400
for name in Main .a -a _a 'a%2fb' "$(printf 'x%.0s' {1..64})" 'Ünï'; do
	expect_error 400 malformed --path-as-is -X PUT "${AUTH[@]}" "$URL/v1/vaults/$name"
	expect_error 400 malformed --path-as-is "${AUTH[@]}" "$URL/v1/vaults/$name/objects/pack/$id"
done
# The longest valid name (63 bytes) and other odd but valid names are fine.
long63=$(printf 'y%.0s' {1..63})
for name in "$long63" a.. db-01 backup.2024-01-31 0 9_x; do
	create_vault "$name"
done
upper=$(printf '%s' "$id" | tr 'a-f' 'A-F')
for bad in "${id:0:63}" "${id}0" "${id:0:63}g" "$upper" "${id:0:62}Ab" "0x${id:0:62}" \
	"${id:0:32}%20${id:35}" "${id:0:63}."; do
	expect_error 400 malformed --path-as-is "${AUTH[@]}" "$V/objects/pack/$bad"
	expect_error 400 malformed --path-as-is -X PUT "${AUTH[@]}" --data-binary @"$W/obj" "$V/objects/pack/$bad"
done
# Percent-encoding anywhere in the path, even of plain letters.
for p in "/v1/vaults/ma%69n" "/v1/vaults/main/objects/p%61ck" "/v1/%76aults" "/v1/capabilities%00" \
	"/v1/vaults/main/objects/pack/%$id" "/v1/vaults/main%2fobjects"; do
	expect_error 400 malformed --path-as-is "${AUTH[@]}" "$URL$p"
done
# Query strings: none allowed but on listings; listings take after= and limit= only.
for q in "$V?x=1" "$V/objects/pack/$id?x=1" "$URL/v1/vaults?limit=1" "$URL/v1/capabilities?v=2" \
	"$V/config?after=$id" "$V/objects/pack?foo=bar" "$V/objects/pack?limit" "$V/objects/pack?limit=0" \
	"$V/objects/pack?limit=10001" "$V/objects/pack?limit=%2B5" "$V/objects/pack?limit=+5" "$V/objects/pack?limit=-1" \
	"$V/objects/pack?limit=abc" "$V/objects/pack?after=xyz" "$V/objects/pack?after=$upper" \
	"$V/objects/pack?after=${id:0:63}"; do
	expect_error 400 malformed --path-as-is "${AUTH[@]}" "$q"
done
expect_status 200 "${AUTH[@]}" "$V/objects/pack?limit=10000"
# Bad existence-query bodies.
for b in 'not json' '[]' '{}' '{"ids":"x"}' '{"ids":[1]}' "{\"ids\":[\"$upper\"]}" \
	"{\"ids\":[\"$id\",\"${id:0:10}\"]}"; do
	expect_error 400 malformed -X POST "${AUTH[@]}" --data-binary "$b" "$V/objects/pack/exists"
done
# Authorization or Range twice.
expect_error 400 malformed -H "Authorization: Bearer $ADMIN" -H "Authorization: Bearer $ADMIN" "$V"
expect_error 400 malformed "${AUTH[@]}" -H 'Range: bytes=0-0' -H 'Range: bytes=1-1' "$V/objects/pack/$id"
# Content-Length together with Transfer-Encoding (request smuggling).
printf 'PUT /v1/vaults/main/config HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n' \
	"$ADMIN" | raw_http 5
assert_eq "CL + TE answer" 400 "$(raw_statuses | head -1)"

# ---- 401 unauthorized ----
note 401
# check_401 CURL-ARGS...: 401, code unauthorized, WWW-Authenticate.
check_401() {
	if expect_error 401 unauthorized "$@"; then
		assert_header WWW-Authenticate 'Bearer realm="vault"'
	fi
}
check_401 "$V"
check_401 "$URL/v1/vaults"
check_401 -X PUT --data-binary @"$W/obj" "$V/objects/pack/$id"
check_401 -H 'Authorization: Bearer garbage' "$V"
check_401 -H "Authorization: bearer $ADMIN" "$V"
check_401 -H "Authorization: Basic $(printf 'a:b' | base64)" "$V"
check_401 -H "Authorization: Bearer  $ADMIN" "$V"
check_401 -H "Authorization: Bearer ${ADMIN}x" "$V"
check_401 -H "Authorization: Bearer $(printf '%s' "$ADMIN" | tr 'a-f' 'A-F' | sed 's/^VT1/vt1/')" "$V"
check_401 -H "Authorization: Bearer vt2_${ADMIN#vt1_}" "$V"
check_401 -H "Authorization: Bearer" "$V"
# A wrong secret for a real token ID and an unknown token ID get the same answer.
tid=$(token_id "$ADMIN")
wrong_secret="vt1_${tid}_$(printf '0%.0s' {1..64})"
unknown_id="vt1_0123456789abcdef_${ADMIN:21}"
check_401 -H "Authorization: Bearer $wrong_secret" "$V"
cp "$BODY" "$W/401.wrong-secret"
check_401 -H "Authorization: Bearer $unknown_id" "$V"
assert_same_file "401 for an unknown ID = 401 for a wrong secret" "$W/401.wrong-secret" "$BODY"
# A revoked token stops working at once.
VICTIM=$(new_token acme --scopes all)
expect_status 200 -H "Authorization: Bearer $VICTIM" "$V"
if vctl token revoke "$(token_id "$VICTIM")" >/dev/null 2>"$W/revoke.err"; then
	pass_check
else
	fail "vaultctl token revoke: $(cat "$W/revoke.err")"
fi
check_401 -H "Authorization: Bearer $VICTIM" "$V"
assert_same_file "401 for a revoked token = 401 for a wrong secret" "$W/401.wrong-secret" "$BODY"
check_401 -X PUT -H "Authorization: Bearer $VICTIM" --data-binary @"$W/obj" "$V/objects/pack/$id"
expect_status 200 "${AUTH[@]}" "$V"
# The message never echoes the token.
check_401 -H "Authorization: Bearer $wrong_secret" "$V"
if grep -q "$tid" "$BODY"; then fail "401 body contains the token ID"; else pass_check; fi
# Capabilities need no token, and a bad one is ignored there.
expect_status 200 -H 'Authorization: Bearer garbage' "$URL/v1/capabilities"

# ---- 403 forbidden ----
note 403
RO=$(new_token acme --scopes read)
RA=$(new_token acme --scopes read,append)
DEL=$(new_token acme --scopes delete)
BOUND=$(new_token acme --vault main --scopes all)
BOUND_NEW=$(new_token acme --vault fresh --scopes all)
id2=$(rand_file "$W/obj2" 777)
expect_error 403 forbidden -X PUT -H "Authorization: Bearer $RO" --data-binary @"$W/obj2" "$V/objects/pack/$id2"
assert_match "403 names the append scope" 'append' "$(body)"
expect_error 403 forbidden -X PUT -H "Authorization: Bearer $RO" --data-binary 'cfg' "$V/config"
expect_error 403 forbidden -X DELETE -H "Authorization: Bearer $RA" "$V/objects/pack/$id"
assert_match "403 names the delete scope" 'delete' "$(body)"
expect_error 403 forbidden -X PUT -H "Authorization: Bearer $RA" "$URL/v1/vaults/newvault"
assert_match "403 names the admin scope" 'admin' "$(body)"
expect_error 403 forbidden -H "Authorization: Bearer $DEL" "$V/objects/pack/$id"
expect_error 403 forbidden -H "Authorization: Bearer $DEL" "$V"
expect_error 403 forbidden -H "Authorization: Bearer $DEL" "$URL/v1/vaults"
expect_error 403 forbidden -X POST -H "Authorization: Bearer $DEL" --data-binary "{\"ids\":[\"$id\"]}" "$V/objects/pack/exists"
expect_error 403 forbidden -H "Authorization: Bearer $RA" -X PUT "$URL/v1/vaults/main"
# Scope comes before vault existence: a 403, not a 404, for a missing vault.
expect_error 403 forbidden -X DELETE -H "Authorization: Bearer $RA" "$URL/v1/vaults/nosuch/objects/pack/$id"
# Nothing was changed by the refused requests.
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$id2"
expect_status 200 "${AUTH[@]}" "$V/objects/pack/$id"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/newvault"
# A vault-bound token: its own vault works, any other is 403 (existing or not).
expect_status 200 -H "Authorization: Bearer $BOUND" "$V/objects/pack/$id"
for u in "$URL/v1/vaults/other" "$URL/v1/vaults/other/objects/pack" "$URL/v1/vaults/other/config" \
	"$URL/v1/vaults/nosuch" "$URL/v1/vaults/nosuch/objects/pack/$id"; do
	expect_error 403 forbidden -H "Authorization: Bearer $BOUND" "$u"
done
expect_error 403 forbidden -X PUT -H "Authorization: Bearer $BOUND" --data-binary @"$W/obj2" \
	"$URL/v1/vaults/other/objects/pack/$id2"
expect_error 403 forbidden -X PUT -H "Authorization: Bearer $BOUND" "$URL/v1/vaults/brandnew"
expect_error 403 forbidden -X DELETE -H "Authorization: Bearer $BOUND" "$URL/v1/vaults/other/objects/pack/$id"
expect_error 403 forbidden -X POST -H "Authorization: Bearer $BOUND" --data-binary "{\"ids\":[\"$id\"]}" \
	"$URL/v1/vaults/other/objects/pack/exists"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/brandnew"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/other/objects/pack/$id2"
if expect_status 200 -H "Authorization: Bearer $BOUND" "$URL/v1/vaults"; then
	assert_eq "a bound token lists only its vault" main \
		"$(body | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
fi
# A token bound to a vault that does not exist yet sees none, and may create it.
expect_status 200 -H "Authorization: Bearer $BOUND_NEW" "$URL/v1/vaults"
assert_eq "a token bound to a missing vault lists none" '{"vaults":[]}' "$(body)"
expect_status 201 -X PUT -H "Authorization: Bearer $BOUND_NEW" "$URL/v1/vaults/fresh"

# ---- 404 not_found ----
note 404
for u in "$URL/" "$URL/v1" "$URL/v1/" "$URL/v2/capabilities" "$URL/v1/nope" "$URL/capabilities" \
	"$URL/v1/vaults/main/nope" "$URL/v1/vaults/main/objects" "$URL/v1/vaults/main/objects/blob" \
	"$URL/v1/vaults/main/objects/blob/$id" "$URL/v1/vaults/main/objects/PACK/$id" \
	"$URL/v1/vaults/main/objects/pack/$id/more" "$URL/v1/vaults/main/config/x" \
	"$URL/v1/vaults/main/" "$URL/v1/vaults/" "$URL/v1/capabilities/"; do
	expect_error 404 not_found --path-as-is "${AUTH[@]}" "$u"
done
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/nosuch"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/nosuch/config"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/nosuch/objects/pack"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/nosuch/objects/pack/$id"
expect_error 404 not_found -X PUT "${AUTH[@]}" --data-binary @"$W/obj" "$URL/v1/vaults/nosuch/objects/pack/$id"
expect_error 404 not_found -X POST "${AUTH[@]}" --data-binary "{\"ids\":[]}" "$URL/v1/vaults/nosuch/objects/pack/exists"
expect_error 404 not_found "${AUTH[@]}" "$V/objects/pack/$NOID"
expect_error 404 not_found "${AUTH[@]}" "$V/objects/index/$id"
expect_error 404 not_found -X DELETE "${AUTH[@]}" "$V/objects/pack/$NOID"
expect_status 404 -I "${AUTH[@]}" "$V/objects/pack/$NOID"
# Routing comes before auth: an unknown endpoint is 404 without a token.
expect_error 404 not_found "$URL/v1/nope"

# ---- 405 method_not_allowed, with Allow ----
note 405
# check_405 METHOD PATH ALLOW [CURL-ARGS...]
check_405() {
	local m=$1 p=$2 allow=$3
	shift 3
	if expect_error 405 method_not_allowed -X "$m" "${AUTH[@]}" "$@" "$URL$p"; then
		assert_header Allow "$allow"
	fi
}
check_405 POST /v1/capabilities "GET, HEAD"
check_405 PUT /v1/capabilities "GET, HEAD"
check_405 DELETE /v1/vaults "GET"
check_405 POST /v1/vaults "GET"
check_405 DELETE /v1/vaults/main "GET, PUT"
check_405 POST /v1/vaults/main "GET, PUT"
check_405 DELETE /v1/vaults/main/config "GET, PUT"
check_405 PUT /v1/vaults/main/objects/pack "GET"
check_405 POST /v1/vaults/main/objects/pack "GET"
check_405 GET /v1/vaults/main/objects/pack/exists "POST"
check_405 PUT /v1/vaults/main/objects/pack/exists "POST"
check_405 POST "/v1/vaults/main/objects/pack/$id" "GET, HEAD, PUT, DELETE"
check_405 PATCH "/v1/vaults/main/objects/pack/$id" "GET, HEAD, PUT, DELETE"
check_405 OPTIONS "/v1/vaults/main/objects/pack/$id" "GET, HEAD, PUT, DELETE"
# A 405 with a body is answered before the body, and closes.
check_405 POST "/v1/vaults/main/objects/pack/$id" "GET, HEAD, PUT, DELETE" --data-binary @"$W/obj"
assert_header Connection close
expect_status 200 "${AUTH[@]}" "$V/objects/pack/$id"

# ---- 411 length_required ----
note 411
expect_error 411 length_required -X PUT "${AUTH[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary @"$W/obj2" "$V/objects/pack/$id2"
expect_error 411 length_required -X PUT "${AUTH[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary 'cfg' "$URL/v1/vaults/other/config"
expect_error 411 length_required -X POST "${AUTH[@]}" -H 'Transfer-Encoding: chunked' \
	--data-binary "{\"ids\":[\"$id\"]}" "$V/objects/pack/exists"
# An upload with neither Content-Length nor Transfer-Encoding.
printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' \
	"$id2" "$ADMIN" | raw_http 5
assert_eq "PUT without Content-Length" 411 "$(raw_statuses | head -1)"
assert_true "411 body is a JSON error" grep -aq '{"code":"length_required","message":"' "$RAW_REPLY"
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$id2"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/other/config"

# ---- 413 too_large (small bodies) ----
note 413
head -c $((64 * 1024 + 1)) /dev/urandom >"$W/bigconfig"
expect_error 413 too_large -X PUT "${AUTH[@]}" --data-binary @"$W/bigconfig" "$URL/v1/vaults/other/config"
expect_status 404 "${AUTH[@]}" "$URL/v1/vaults/other/config"
head -c $((64 * 1024)) /dev/urandom >"$W/maxconfig"
expect_status 201 -X PUT "${AUTH[@]}" --data-binary @"$W/maxconfig" "$URL/v1/vaults/other/config"
{
	printf '{"ids":['
	for ((i = 0; i < 10000; i++)); do printf '"%s",' "$id"; done
	printf '"%s"]}' "$id"
} >"$W/exists-10001"
expect_error 413 too_large -X POST "${AUTH[@]}" --data-binary @"$W/exists-10001" "$V/objects/pack/exists"
# 10 000 IDs (the limit) are fine, duplicates and all.
sed "s/\"$id\"]}\$/]}/; s/,]}\$/]}/" "$W/exists-10001" >"$W/exists-10000"
if expect_status 200 -X POST "${AUTH[@]}" --data-binary @"$W/exists-10000" "$V/objects/pack/exists"; then
	assert_eq "10 000 IDs present" 10000 "$(json_str_array present "$(body)" | grep -c .)"
fi
{
	printf '{"pad":"%s","ids":[]}' "$(head -c $((1024 * 1024)) /dev/zero | tr '\0' x)"
} >"$W/exists-big"
expect_error 413 too_large -X POST "${AUTH[@]}" --data-binary @"$W/exists-big" "$V/objects/pack/exists"

# ---- 422 hash_mismatch ----
note 422
id3=$(rand_file "$W/obj3" 300000)
head -c 300000 /dev/urandom >"$W/notobj3"
expect_status 200 "${AUTH[@]}" "$V"
before=$(vault_counts "$(body)")
if expect_error 422 hash_mismatch -X PUT "${AUTH[@]}" --data-binary @"$W/notobj3" "$V/objects/pack/$id3"; then
	assert_match "422 names the real hash" "$(sha256 "$W/notobj3")" "$(body)"
fi
expect_error 404 not_found "${AUTH[@]}" "$V/objects/pack/$id3"
expect_status 200 "${AUTH[@]}" "$V/objects/pack"
assert_eq "422 object not listed" "$id" "$(json_ids "$(body)")"
expect_status 200 -X POST "${AUTH[@]}" --data-binary "{\"ids\":[\"$id3\"]}" "$V/objects/pack/exists"
assert_eq "422 object missing" "{\"present\":[],\"missing\":[\"$id3\"]}" "$(body)"
assert_eq "objects/.tmp after a 422" 0 "$(tmp_count)"
expect_status 200 "${AUTH[@]}" "$V"
assert_eq "counters unchanged by a 422" "$before" "$(vault_counts "$(body)")"
# A one-byte difference and an empty body under a non-empty ID.
cp "$W/obj3" "$W/obj3x"
# Write a byte that differs from the one there (a random file may hold 'X').
if [ "$(dd if="$W/obj3" bs=1 skip=150000 count=1 status=none)" = X ]; then flip=Y; else flip=X; fi
printf '%s' "$flip" | dd of="$W/obj3x" bs=1 seek=150000 conv=notrunc status=none
assert_eq "the changed copy differs" 1 "$(cmp -l "$W/obj3" "$W/obj3x" | wc -l)"
expect_error 422 hash_mismatch -X PUT "${AUTH[@]}" --data-binary @"$W/obj3x" "$V/objects/pack/$id3"
expect_error 422 hash_mismatch -X PUT "${AUTH[@]}" --data-binary '' "$V/objects/pack/$id3"
assert_eq "objects/.tmp after more 422s" 0 "$(tmp_count)"
# The right body still goes in afterwards.
put_object main pack "$W/obj3"

# ---- 431 headers_too_large ----
note 431
big=$(head -c 20480 /dev/zero | tr '\0' a)
expect_error 431 headers_too_large -H "X-Big: $big" "$URL/v1/capabilities"
expect_error 431 headers_too_large "${AUTH[@]}" -H "X-Big: $big" "$V/objects/pack/$id"
assert_header Connection close
many=()
for ((i = 0; i < 200; i++)); do many+=(-H "X-Filler-$i: $(printf 'b%.0s' {1..100})"); done
expect_error 431 headers_too_large "${many[@]}" "$URL/v1/capabilities"
expect_error 431 headers_too_large -H "Authorization: Bearer ${ADMIN}$(printf 'z%.0s' {1..300})" "$V"
expect_error 431 headers_too_large "${AUTH[@]}" -H "Range: bytes=$(printf '0%.0s' {1..200})1-2" "$V/objects/pack/$id"
expect_status 200 -H "X-Medium: $(head -c 8000 /dev/zero | tr '\0' a)" "$URL/v1/capabilities"

# ---- 414 uri_too_long ----
note 414
long=$(printf 'a%.0s' {1..5000})
expect_error 414 uri_too_long "${AUTH[@]}" "$URL/v1/vaults/$long"
assert_header Connection close
expect_error 414 uri_too_long "$URL/v1/capabilities?$long"
# The limit is 4096 bytes of request target: 4096 is routed, 4097 is not.
t4096="/v1/vaults/main/objects/pack?$(printf 'a%.0s' {1..4067})"
assert_eq "a target of 4096 bytes" 4096 "${#t4096}"
expect_error 400 malformed "${AUTH[@]}" "$URL$t4096"
expect_error 414 uri_too_long "${AUTH[@]}" "${URL}${t4096}b"

# ---- 408 request_timeout, 413 before the body, 503: daemon flags ----
note 413 with --max-object-size 1000
restart --max-object-size 1000 --header-timeout 1 --body-timeout 1
expect_status 200 "$URL/v1/capabilities"
assert_eq "capabilities max_object_size" 1000 "$(json_num max_object_size "$(body)")"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$W/big"
bigid=$(sha256 "$W/big")
code=$(curl -s -o "$BODY" -D "$HDRS.raw" -w '%{http_code} %{size_upload}' -X PUT "${AUTH[@]}" \
	--data-binary @"$W/big" "$V/objects/pack/$bigid")
tr -d '\r' <"$HDRS.raw" >"$HDRS"
assert_eq "2 MiB upload with 100-continue: status" 413 "${code% *}"
assert_eq "2 MiB upload with 100-continue: body bytes sent" 0 "${code#* }"
check_error_body too_large
assert_header Connection close
# Without Expect the answer comes before the body too: send the head only.
printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 2097152\r\n\r\n' \
	"$bigid" "$ADMIN" | raw_http 5
rc=$?
assert_eq "413 to a head without its body" 413 "$(raw_statuses | head -1)"
assert_eq "413 closes the connection" 0 "$rc"
assert_true "413 carries Connection: close" grep -aqi '^connection: close' <(tr -d '\r' <"$RAW_REPLY")
expect_error 413 too_large -X PUT "${AUTH[@]}" -H 'Expect:' --data-binary @"$W/big" "$V/objects/pack/$bigid"
head -c 1001 /dev/urandom >"$W/k1001"
head -c 1000 /dev/urandom >"$W/k1000"
put_object main pack "$W/k1001" 413
put_object main pack "$W/k1000" 201
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$bigid"
assert_eq "objects/.tmp after 413s" 0 "$(tmp_count)"

note 408
# A partial request head: 408 after the header timeout, then the close.
t0=$SECONDS
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\nX-Slow: ' | raw_http 8
rc=$?
assert_eq "partial head gets" 408 "$(raw_statuses | head -1)"
assert_eq "the connection closes after the 408" 0 "$rc"
assert_true "408 came within 5 s" [ $((SECONDS - t0)) -le 5 ]
assert_true "408 body is a JSON error" grep -aq '{"code":"request_timeout","message":"' "$RAW_REPLY"
# Slowloris: header bytes that keep trickling in do not extend the deadline.
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /v1/capabilities HTTP/1.1\r\n' >&"$fd"
(for i in 1 2 3 4 5 6 7 8; do printf 'X-H%d: v\r\n' "$i" || exit; sleep 0.4; done) 1>&"$fd" 2>/dev/null &
trickle=$!
BG_PIDS+=("$trickle")
s0=$(date +%s%N)
timeout 6 cat <&"$fd" >"$RAW_REPLY"
rc=$?
ms=$((($(date +%s%N) - s0) / 1000000))
exec {fd}>&-
kill "$trickle" 2>/dev/null
wait "$trickle" 2>/dev/null
assert_eq "trickled head gets" 408 "$(raw_statuses | head -1)"
assert_eq "trickled head: the connection closes" 0 "$rc"
assert_true "trickled head: 408 within 2.5 s of the first byte (took $ms ms)" [ "$ms" -le 2500 ]
# A stalled small body (config): 408 too, and no config.
printf 'PUT /v1/vaults/other/config HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\nabc' \
	"$ADMIN" | raw_http 8
rc=$?
assert_eq "stalled config body gets" 408 "$(raw_statuses | head -1)"
assert_eq "the connection closes after the config 408" 0 "$rc"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/other/config"
assert_same_file "config unchanged by a stalled PUT" "$W/maxconfig" "$BODY"
# A stalled body: 408, close, no temp file and no object.
small=$(rand_file "$W/small" 900)
{
	printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 900\r\n\r\n' \
		"$small" "$ADMIN"
	head -c 100 "$W/small"
} | raw_http 8
rc=$?
assert_eq "stalled body gets" 408 "$(raw_statuses | head -1)"
assert_eq "the connection closes after the body 408" 0 "$rc"
sleep 0.3
assert_eq "objects/.tmp after a stalled upload" 0 "$(tmp_count)"
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$small"
# An idle connection is closed without an answer (idle timeout 1 s here).
restart --idle-timeout 1
: | raw_http 6
rc=$?
assert_eq "idle connection closed by the server" 0 "$rc"
assert_eq "idle connection gets no answer" 0 "$(file_size "$RAW_REPLY")"

note 503 at the connection limit
# open_conns N: waits (up to 10 s) until vaultd counts N open connections.
# The limit is only reached once vaultd has seen the start-up check's
# connection close and both of ours open; a fixed sleep raced with that on
# a loaded machine.
open_conns() {
	local i n
	for ((i = 0; i < 200; i++)); do
		n=$("$VAULTCTL" -d "$DATA" status --json 2>/dev/null | sed -n 's/.*"connections":\([0-9]*\).*/\1/p')
		[ "$n" = "$1" ] && return 0
		sleep 0.05
	done
	fail "vaultd counts ${n:-no} open connections, not $1"
}
restart --max-connections 2
open_conns 0
exec {c1}<>"/dev/tcp/127.0.0.1/$PORT"
exec {c2}<>"/dev/tcp/127.0.0.1/$PORT"
open_conns 2
expect_error 503 unavailable "$URL/v1/capabilities"
exec {c1}>&- {c2}>&-
ok=0
for ((i = 0; i < 40; i++)); do
	if [ "$(http "$URL/v1/capabilities")" == 200 ]; then ok=1; break; fi
	sleep 0.1
done
assert_eq "served again once connections close" 1 "$ok"

# ---- 507 insufficient_storage ----
note 507
restart --reserve 1000000000000000000
before_tmp=$(tmp_count)
n507=$(rand_file "$W/n507" 50000)
expect_status 200 "${AUTH[@]}" "$V"
before=$(vault_counts "$(body)")
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" --data-binary @"$W/n507" "$V/objects/pack/$n507"
assert_header Connection close
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" -H 'Expect:' --data-binary @"$W/n507" "$V/objects/index/$n507"
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$n507"
expect_status 404 "${AUTH[@]}" "$V/objects/index/$n507"
expect_status 200 "${AUTH[@]}" "$V"
assert_eq "counters unchanged by 507s" "$before" "$(vault_counts "$(body)")"
assert_eq "objects/.tmp after 507s" "$before_tmp" "$(tmp_count)"
assert_eq "no file stored for the 507 object" "" "$(find "$DATA/objects" -name "$n507")"
# An object that is already stored is still answered 200 (checked first).
put_object main pack "$W/obj" 200
# Reading works on a full disk.
get_object main pack "$id" "$W/get"
assert_same_file "GET on a full disk" "$W/obj" "$W/get"

# ---- malformed requests: 400, close, and the daemon goes on ----
note malformed requests
restart
# raw_400 DESC: the request on stdin gets one 400 answer and a close.
raw_400() {
	raw_status 400 "$1"
}
# raw_status STATUS WHAT: a raw request on stdin is answered STATUS, then closed.
raw_status() {
	local rc
	raw_http 5
	rc=$?
	if [ "$(raw_statuses | head -1)" == "$1" ] && [ "$rc" == 0 ]; then
		pass_check
	else
		fail "$2: expected a $1 and a close, got status '$(raw_statuses | head -1)', rc $rc:"
		raw_show
	fi
	assert_true "daemon alive after: $2" vaultd_alive
}
printf '\x00\x01\x02garbage\xff\xfe\r\n\r\n' | raw_400 "binary garbage"
head -c 3000 /dev/urandom | tr -d '\r\n' | raw_400 "random bytes"
# spec/vsp.md 6.2: a request line without a version (HTTP/0.9) is 400, a
# well-formed version other than HTTP/1.1 and HTTP/1.0 is 505; neither is
# served, authenticated routes included.
printf 'GET /v1/vaults\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$ADMIN" |
	raw_400 "HTTP/0.9 request line, authenticated"
printf 'GET /v1/capabilities\r\nHost: t\r\n\r\n' | raw_400 "HTTP/0.9 request line"
for v in 2.0 9.9 1.2 0.9 3.0; do
	printf 'GET /v1/vaults HTTP/%s\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$v" "$ADMIN" |
		raw_status 505 "HTTP/$v, authenticated"
	if raw_flat | grep -q -a '"main"'; then
		fail "HTTP/$v: the vault list was served: $(raw_show)"
	fi
	printf 'GET /v1/capabilities HTTP/%s\r\nHost: t\r\n\r\n' "$v" | raw_status 505 "HTTP/$v"
done
raw_flat | grep -q -a 'http_version_not_supported'
assert_eq "505 code" 0 "$?"
printf 'GET /v1/capabilities HTTX/1.1\r\nHost: t\r\n\r\n' | raw_400 "HTTX/1.1"
printf 'GET /v1/capabilities HTTP/1.1 extra\r\nHost: t\r\n\r\n' | raw_400 "extra word in request line"
printf 'GET\r\n\r\n' | raw_400 "method only"
printf 'G@T /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\n' | raw_400 "bad method token"
# RFC 9112 5.1: whitespace in or after a field name MUST be answered 400 (see BUGS.txt).
printf 'GET /v1/capabilities HTTP/1.1\r\nBad Header Name: x\r\n\r\n' | raw_400 "space in a field name (BUGS.txt 1)"
printf 'GET /v1/capabilities HTTP/1.1\r\nHost : t\r\n\r\n' | raw_400 "space before the colon (BUGS.txt 1)"
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n' | raw_400 "bad Content-Length"
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx' | raw_400 "two Content-Lengths"
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\nBOGUS\r\n\r\n' | raw_http 5
assert_eq "a good request then garbage" "200 400" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"
# Still serving, on new connections and with real work.
expect_status 200 "$URL/v1/capabilities"
get_object main pack "$id" "$W/get2"
assert_same_file "GET after malformed requests" "$W/obj" "$W/get2"
# HTTP/1.0 is understood (and closes).
printf 'GET /v1/capabilities HTTP/1.0\r\n\r\n' | raw_http 5
assert_eq "HTTP/1.0 request" 200 "$(raw_statuses | head -1)"

finish
