#!/usr/bin/env bash
# HTTP/1.1 behaviour: keep-alive, pipelining, Expect: 100-continue, clients
# that vanish mid-upload, a large object, parallel uploads.
. "$(dirname "$0")/lib.sh"

start_vaultd
new_tenant acme
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"
W=$TEST_TMP/work
mkdir -p "$W"
create_vault main
V=$URL/v1/vaults/main
ida=$(rand_file "$W/a" 3000)
idb=$(rand_file "$W/b" 5000)
put_object main pack "$W/a"
put_object main pack "$W/b"

# ---- keep-alive ----
note keep-alive
out=$(curl -s "${AUTH[@]}" -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-w '%{http_code}:%{num_connects} ' "$URL/v1/capabilities" "$V/objects/pack/$ida" \
	"$V/objects/pack/$idb" "$V")
assert_eq "four requests on one connection (status:new connections)" "200:1 200:0 200:0 200:0 " "$out"
# An upload and an error answer that read their bodies keep the connection too.
idc=$(rand_file "$W/c" 2000)
out=$(curl -s "${AUTH[@]}" -H 'Expect:' -o /dev/null -w '%{http_code}:%{num_connects} ' \
	-X PUT --data-binary @"$W/c" "$V/objects/pack/$idc" \
	--next "${AUTH[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$V/objects/pack/$idc" \
	--next "${AUTH[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$V/objects/index/$idc" \
	--next "${AUTH[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$V/objects/pack/$ida")
assert_eq "PUT, GET, 404, GET on one connection" "201:1 200:0 404:0 200:0 " "$out"
# The connection stays open after answers without Connection: close.
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\n' | raw_http 1
assert_eq "keep-alive: the server keeps the connection open" 124 "$?"
assert_eq "keep-alive: one answer" 200 "$(raw_statuses)"
# Connection: close is honoured.
if expect_status 200 -H 'Connection: close' "$URL/v1/capabilities"; then
	assert_header Connection close
fi
printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' | raw_http 5
assert_eq "Connection: close closes" 0 "$?"

# ---- pipelining ----
note pipelining
{
	printf 'GET /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idb" "$ADMIN"
	printf 'GET /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$ida" "$ADMIN"
} >"$W/pipe2"
raw_http 5 <"$W/pipe2"
rc=$?
assert_eq "two pipelined requests: closed after the second" 0 "$rc"
etags=$(tr -d '\r' <"$RAW_REPLY" | grep -a -i '^etag:' | tr -d '"' | awk '{print $2}' | tr '\n' ' ')
assert_eq "two pipelined answers in order" "$idb $ida " "$etags"
# The bodies are the objects, each exactly once, in order.
sizes=$(tr -d '\r' <"$RAW_REPLY" | grep -a -i '^content-length:' | awk '{print $2}' | tr '\n' ' ')
assert_eq "pipelined Content-Lengths" "5000 3000 " "$sizes"
# The bodies are the objects, each exactly once, in order (the flattened
# reply has the same byte offsets; random bodies are checked by cmp).
off=$(raw_flat | grep -abo '<><>' | head -1 | cut -d: -f1)
tail -c +$((off + 5)) "$RAW_REPLY" | head -c 5000 >"$W/pipe.body1"
assert_same_file "first pipelined body" "$W/b" "$W/pipe.body1"
tail -c 3000 "$RAW_REPLY" >"$W/pipe.body2"
assert_same_file "second pipelined body" "$W/a" "$W/pipe.body2"
# Several requests, a PUT with its body among them, and an error in the middle.
idd=$(rand_file "$W/d" 1234)
{
	printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\n'
	printf 'PUT /v1/vaults/main/objects/index/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 1234\r\n\r\n' "$idd" "$ADMIN"
	cat "$W/d"
	printf 'HEAD /v1/vaults/main/objects/index/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idd" "$ADMIN"
	printf 'GET /v1/vaults/main/objects/index/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$ida" "$ADMIN"
	printf 'DELETE /v1/vaults/main/objects/index/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idd" "$ADMIN"
	printf 'HEAD /v1/vaults/main/objects/index/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idd" "$ADMIN"
	printf 'GET /v1/vaults HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$ADMIN"
} | raw_http 10
assert_eq "seven pipelined requests" "200 201 200 404 204 404 200" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"
# Requests after a Connection: close answer are not answered.
{
	printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
	printf 'GET /v1/capabilities HTTP/1.1\r\nHost: t\r\n\r\n'
} | raw_http 5
assert_eq "nothing answered after Connection: close" "200" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"

# ---- HEAD answers never carry a body, errors included ----
note HEAD without bodies
# head_then_get DESC PATH TOKEN-OR-EMPTY WANT-STATUS: a HEAD then a GET of
# capabilities on one connection; the GET's status line must follow the
# HEAD's header block directly.
head_then_get() {
	local desc=$1 p=$2 t=$3 want=$4 auth=
	[ -n "$t" ] && auth="Authorization: Bearer $t"$'\r\n'
	printf 'HEAD %s HTTP/1.1\r\nHost: t\r\n%s\r\nGET /v1/capabilities HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' \
		"$p" "$auth" | raw_http 5
	assert_eq "$desc: statuses of HEAD + GET" "$want 200" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"
	if raw_flat | grep -aq "^HTTP/1.1 $want [^<]*<>\([^<]\+<>\)*<>HTTP/1.1 200"; then
		pass_check
	else
		fail "$desc: the HEAD answer carries a body (see BUGS.txt 2):"
		raw_show
	fi
}
head_then_get "HEAD of an object" "/v1/vaults/main/objects/pack/$ida" "$ADMIN" 200
head_then_get "HEAD of capabilities" "/v1/capabilities" "" 200
head_then_get "HEAD of a missing object" "/v1/vaults/main/objects/pack/$(printf x | sha256sum | cut -c1-64)" "$ADMIN" 404
head_then_get "HEAD without a token" "/v1/vaults/main/objects/pack/$ida" "" 401
head_then_get "HEAD with a bad ID" "/v1/vaults/main/objects/pack/xyz" "$ADMIN" 400
head_then_get "HEAD of a missing vault" "/v1/vaults/nosuch/objects/pack/$ida" "$ADMIN" 404
head_then_get "HEAD where only GET is allowed" "/v1/vaults" "$ADMIN" 405

# ---- Expect: 100-continue ----
note expect 100-continue
id5=$(rand_file "$W/five" $((5 * 1024 * 1024)))
curl -sv -o "$BODY" -w '%{http_code}' -X PUT "${AUTH[@]}" -H 'Expect: 100-continue' -T "$W/five" \
	"$V/objects/pack/$id5" >"$W/code" 2>"$W/trace"
assert_eq "5 MiB upload with Expect" 201 "$(cat "$W/code")"
assert_true "the server sent 100 Continue" grep -q '^< HTTP/1.1 100 Continue' "$W/trace"
get_object main pack "$id5" "$W/five.get"
assert_same_file "5 MiB object" "$W/five" "$W/five.get"
# curl asks by itself above 1 MiB; the upload works either way.
id6=$(rand_file "$W/six" $((3 * 1024 * 1024 / 2)))
curl -sv -o "$BODY" -w '%{http_code}' -X PUT "${AUTH[@]}" --data-binary @"$W/six" \
	"$V/objects/pack/$id6" >"$W/code" 2>"$W/trace"
assert_eq "1.5 MiB upload, curl's own Expect" 201 "$(cat "$W/code")"
get_object main pack "$id6" "$W/six.get"
assert_same_file "1.5 MiB object" "$W/six" "$W/six.get"
# The 100 comes before the body is sent: talk to the server step by step.
id7=$(rand_file "$W/seven" 70000)
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'PUT /v1/vaults/main/objects/key/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 70000\r\nExpect: 100-continue\r\n\r\n' \
	"$id7" "$ADMIN" >&"$fd"
line=
IFS= read -r -t 5 line <&"$fd"
assert_eq "interim answer before the body" $'HTTP/1.1 100 Continue\r' "$line"
IFS= read -r -t 5 line <&"$fd"
assert_eq "the 100 ends with an empty line" $'\r' "$line"
cat "$W/seven" >&"$fd"
IFS= read -r -t 10 line <&"$fd"
assert_eq "final answer after the body" $'HTTP/1.1 201 Created\r' "$line"
exec {fd}>&-
get_object main key "$id7" "$W/seven.get"
assert_same_file "object sent after 100 Continue" "$W/seven" "$W/seven.get"
# A 401 with Expect is answered at once, without the body.
id8=$(rand_file "$W/eight" $((5 * 1024 * 1024)))
r=$(curl -s -o "$BODY" -D "$HDRS.raw" -w '%{http_code} %{size_upload}' -X PUT -H 'Expect: 100-continue' \
	-H 'Authorization: Bearer vt1_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' \
	-T "$W/eight" "$V/objects/pack/$id8")
tr -d '\r' <"$HDRS.raw" >"$HDRS"
assert_eq "401 with Expect: status" 401 "${r% *}"
assert_eq "401 with Expect: body bytes sent" 0 "${r#* }"
assert_header Connection close
check_error_body unauthorized
printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nContent-Length: 5242880\r\nExpect: 100-continue\r\n\r\n' \
	"$id8" | raw_http 5
rc=$?
assert_eq "401 to a head with Expect and no body" "401" "$(raw_statuses | tr '\n' ' ' | sed 's/ $//')"
assert_eq "401 with Expect closes the connection" 0 "$rc"
assert_true "no 100 Continue before a 401" sh -c "! grep -aq '100 Continue' '$RAW_REPLY'"
# 403, 404 and 413 with Expect: no body either.
RO=$(new_token acme --scopes read)
r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X PUT -H 'Expect: 100-continue' \
	-H "Authorization: Bearer $RO" -T "$W/eight" "$V/objects/pack/$id8")
assert_eq "403 with Expect: status and body bytes sent" "403 0" "$r"
r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X PUT -H 'Expect: 100-continue' \
	"${AUTH[@]}" -T "$W/eight" "$URL/v1/vaults/nosuch/objects/pack/$id8")
assert_eq "404 with Expect: status and body bytes sent" "404 0" "$r"
expect_status 404 "${AUTH[@]}" "$V/objects/pack/$id8"

# ---- a client that disconnects mid-body ----
note disconnect mid-body
# upload_and_vanish ID FILE SENT: sends the head for all of FILE and SENT
# bytes of it, waits for the temp file, then closes the connection.
upload_and_vanish() {
	local id=$1 f=$2 n=$3 fd i seen=0
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n' \
		"$id" "$ADMIN" "$(file_size "$f")" >&"$fd"
	head -c "$n" "$f" >&"$fd"
	for ((i = 0; i < 100; i++)); do
		if [ "$(tmp_count)" -ge 1 ]; then seen=1; break; fi
		sleep 0.05
	done
	assert_eq "a temp file exists while the upload ($n bytes sent) runs" 1 "$seen"
	exec {fd}>&-
	for ((i = 0; i < 100; i++)); do
		[ "$(tmp_count)" -eq 0 ] && break
		sleep 0.05
	done
	assert_eq "objects/.tmp after a client vanished with $n bytes sent" 0 "$(tmp_count)"
	expect_error 404 not_found "${AUTH[@]}" "$V/objects/pack/$id"
	expect_status 200 -X POST "${AUTH[@]}" --data-binary "{\"ids\":[\"$id\"]}" "$V/objects/pack/exists"
	assert_eq "vanished upload is missing" "{\"present\":[],\"missing\":[\"$id\"]}" "$(body)"
}
idv=$(rand_file "$W/vanish" $((5 * 1024 * 1024)))
upload_and_vanish "$idv" "$W/vanish" $((1024 * 1024))
upload_and_vanish "$idv" "$W/vanish" $((5 * 1024 * 1024 - 1))
upload_and_vanish "$idv" "$W/vanish" 0
assert_true "daemon alive after vanished clients" vaultd_alive
expect_status 200 "${AUTH[@]}" "$V/objects/pack"
assert_eq "listing after vanished uploads" "$(printf '%s\n' "$ida" "$idb" "$idc" "$id5" "$id6" | sort)" \
	"$(json_ids "$(body)")"
# The same ID uploads fine afterwards.
expect_status 201 -X PUT "${AUTH[@]}" -T "$W/vanish" "$V/objects/pack/$idv"
get_object main pack "$idv" "$W/vanish.get"
assert_same_file "object uploaded after a vanished attempt" "$W/vanish" "$W/vanish.get"
# A client that vanishes during a download does not hurt either.
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idv" "$ADMIN" >&"$fd"
head -c 1000 <&"$fd" >/dev/null
exec {fd}>&-
sleep 0.2
assert_true "daemon alive after a vanished download" vaultd_alive
expect_status 200 "$URL/v1/capabilities"

# ---- a 50 MiB object ----
note 50 MiB
idbig=$(rand_file "$W/big" $((50 * 1024 * 1024)))
r=$(curl -s -o "$BODY" -w '%{http_code} %{size_upload}' -X PUT "${AUTH[@]}" -T "$W/big" "$V/objects/pack/$idbig")
assert_eq "50 MiB upload" "201 52428800" "$r"
if get_object main pack "$idbig" "$W/big.get"; then
	assert_same_file "50 MiB download" "$W/big" "$W/big.get"
	assert_eq "50 MiB download SHA-256" "$idbig" "$(sha256 "$W/big.get")"
fi
if expect_status 206 "${AUTH[@]}" -H "Range: bytes=$((30 * 1024 * 1024))-$((30 * 1024 * 1024 + 99999))" \
	"$V/objects/pack/$idbig"; then
	tail -c +$((30 * 1024 * 1024 + 1)) "$W/big" | head -c 100000 >"$W/big.range"
	assert_same_file "100 kB range in the middle of 50 MiB" "$W/big.range" "$BODY"
fi
rm -f "$W/big.get"

# ---- 8 parallel uploads ----
note parallel uploads
pids=()
pids_ids=()
for i in 1 2 3 4 5 6 7 8; do
	pids_ids+=("$(rand_file "$W/par$i" $((4 * 1024 * 1024)))")
done
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$W/par$i.out" -w '%{http_code}' -X PUT "${AUTH[@]}" -T "$W/par$i" \
		"$V/objects/index/${pids_ids[$((i - 1))]}" >"$W/par$i.code" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
for i in 1 2 3 4 5 6 7 8; do
	assert_eq "parallel upload $i" 201 "$(cat "$W/par$i.code")"
done
assert_eq "parallel uploads listed" "$(printf '%s\n' "${pids_ids[@]}" | sort)" "$(list_all main index)"
for i in 1 2 3 4 5 6 7 8; do
	get_object main index "${pids_ids[$((i - 1))]}" "$W/par.get"
	assert_eq "parallel object $i SHA-256" "${pids_ids[$((i - 1))]}" "$(sha256 "$W/par.get")"
done
# The same new ID uploaded 6 times at once: exactly one 201, the rest 200.
idsame=$(rand_file "$W/same" $((2 * 1024 * 1024)))
pids=()
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -w '%{http_code}' -X PUT "${AUTH[@]}" -T "$W/same" \
		"$V/objects/key/$idsame" >"$W/same$i.code" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
codes=$(cat "$W"/same?.code | fold -w3 | sort | tr '\n' ' ')
assert_eq "racing uploads of one ID" "200 200 200 200 200 201 " "$codes"
expect_status 200 "${AUTH[@]}" "$V"
assert_eq "racing uploads counted once" "2 $((70000 + 2 * 1024 * 1024))" "$(kind_counts key "$(body)")"

# ---- an upload racing a delete of the same object ----
note upload/delete races
DEL=$(new_token acme --scopes delete)
for round in 1 2 3 4 5 6 7 8; do
	idr=$(rand_file "$W/race" $((512 * 1024)))
	put_object main key "$W/race"
	# Delete and re-upload at once, twice over.
	curl -s -o /dev/null -w '%{http_code} ' -X DELETE -H "Authorization: Bearer $DEL" \
		"$V/objects/key/$idr" >"$W/race.del1" &
	p1=$!
	curl -s -o /dev/null -w '%{http_code} ' -X PUT "${AUTH[@]}" -T "$W/race" "$V/objects/key/$idr" >"$W/race.put" &
	p2=$!
	curl -s -o /dev/null -w '%{http_code} ' -X DELETE -H "Authorization: Bearer $DEL" \
		"$V/objects/key/$idr" >"$W/race.del2" &
	p3=$!
	wait "$p1" "$p2" "$p3"
	codes="$(cat "$W/race.del1") $(cat "$W/race.put") $(cat "$W/race.del2")"
	assert_match "race $round answers" '^(204|404) +(200|201) +(204|404) *$' "$codes"
	# Whatever the outcome, metadata, listing and data agree.
	h=$(http -I "${AUTH[@]}" "$V/objects/key/$idr")
	listed=$(list_all main key | grep -cx "$idr")
	if [ "$h" == 200 ]; then
		assert_eq "race $round: stored object is listed" 1 "$listed"
		get_object main key "$idr" "$W/race.get"
		assert_eq "race $round: stored object is whole" "$idr" "$(sha256 "$W/race.get")"
	else
		assert_eq "race $round: HEAD of a deleted object" 404 "$h"
		assert_eq "race $round: deleted object is not listed" 0 "$listed"
	fi
	# Clean up for the counter check below.
	http -X DELETE -H "Authorization: Bearer $DEL" "$V/objects/key/$idr" >/dev/null
done
expect_status 200 "${AUTH[@]}" "$V"
assert_eq "key counters after the races" "2 $((70000 + 2 * 1024 * 1024))" "$(kind_counts key "$(body)")"
assert_eq "objects/.tmp after the races" 0 "$(tmp_count)"

# ---- a reader that stops reading ----
note stalled download
restart_vaultd --body-timeout 2
use_token "$ADMIN"
V=$URL/v1/vaults/main
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n\r\n' "$idbig" "$ADMIN" >&"$fd"
sleep 0.5
# Others are served meanwhile.
s0=$(date +%s%N)
expect_status 200 "${AUTH[@]}" "$V/objects/pack/$ida"
ms=$((($(date +%s%N) - s0) / 1000000))
assert_true "a request next to a stalled download took $ms ms" [ "$ms" -lt 1000 ]
# After the body timeout the server gives up on the stalled reader: reading
# now gets what was buffered, then the end, well short of 50 MiB.
sleep 3
n=$(timeout 10 cat <&"$fd" | wc -c)
exec {fd}>&-
assert_true "stalled download cut short ($n bytes)" [ "$n" -lt $((50 * 1024 * 1024)) ]
assert_true "daemon alive after a stalled download" vaultd_alive

# ---- SIGTERM lets an upload in progress finish ----
note graceful stop
idg=$(rand_file "$W/grace" $((3 * 1000 * 1000)))
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'PUT /v1/vaults/main/objects/pack/%s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\nContent-Length: 3000000\r\n\r\n' \
	"$idg" "$ADMIN" >&"$fd"
head -c 1000000 "$W/grace" >&"$fd"
sleep 0.3
kill -TERM "$VAULTD_PID"
sleep 0.3
tail -c +1000001 "$W/grace" >&"$fd"
timeout 10 cat <&"$fd" >"$RAW_REPLY"
exec {fd}>&-
assert_eq "upload finished after SIGTERM" 201 "$(raw_statuses | head -1)"
assert_true "the answer after SIGTERM closes the connection" grep -aqi '^connection: close' <(tr -d '\r' <"$RAW_REPLY")
wait_vaultd_exit
start_vaultd
if get_object main pack "$idg" "$W/grace.get"; then
	assert_same_file "object finished during shutdown" "$W/grace" "$W/grace.get"
fi
assert_eq "objects/.tmp at the end" 0 "$(tmp_count)"

finish
