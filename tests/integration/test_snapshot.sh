#!/usr/bin/env bash
# Snapshot envelopes over VSP (spec/envelope.md): the commit invariant (409
# naming exactly the missing references; nothing stored), the retry after
# the upload of what was missing, listings with the cleartext header fields,
# malformed envelopes refused with 400, and deletion of the header record.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
start_vaultd
new_tenant acme
use_token "$(new_token acme --scopes all)"
create_vault main
V=$URL/v1/vaults/main

pid=$(rand_file "$W/pack" 5000)
iid=$(rand_file "$W/index" 700)
put_object main pack "$W/pack"
# References sort by kind byte, then ID: the pack (0) before the index (1).
envelope "$W/snap" 1700000000 "$GROUP" "encrypted tree" "0:$pid" "1:$iid"
sid=$(sha256 "$W/snap")

# ---- the commit invariant ----
note "commit invariant"
if expect_status 409 -X PUT "${AUTH[@]}" --data-binary @"$W/snap" "$V/objects/snapshot/$sid"; then
	assert_match "409 code" '^\{"code":"conflict","message":"[^"]+"' "$(body)"
	assert_match "409 names the missing index" "\"missing\":\[\{\"kind\":\"index\",\"id\":\"$iid\"\}\]" "$(body)"
fi
expect_error 404 not_found "${AUTH[@]}" "$V/objects/snapshot/$sid"
assert_eq "no snapshot file left" 0 "$(find "$DATA/objects" -name "$sid" | wc -l)"
assert_eq "objects/.tmp after a 409" 0 "$(tmp_count)"
put_object main index "$W/index"
put_object main snapshot "$W/snap"
put_object main snapshot "$W/snap" 200

# ---- listings carry the header fields ----
note listing
if expect_status 200 "${AUTH[@]}" "$V/objects/snapshot"; then
	assert_match "time listed" '"time":1700000000' "$(body)"
	assert_match "group listed" "\"group\":\"$GROUP\"" "$(body)"
	assert_match "refs listed" '"refs":2' "$(body)"
fi

# ---- a forged future time is recorded as claimed, beside the receive time ----
envelope "$W/future" 4102444800 "$GROUP" "x" "0:$pid"
put_object main snapshot "$W/future"
expect_status 200 "${AUTH[@]}" "$V/objects/snapshot"
assert_match "future time kept as claimed" '"time":4102444800' "$(body)"

# ---- malformed envelopes ----
note malformed
printf 'not an envelope at all' >"$W/bad1"
expect_error 400 malformed -X PUT "${AUTH[@]}" --data-binary @"$W/bad1" "$V/objects/snapshot/$(sha256 "$W/bad1")"
envelope "$W/bad2" 1 "$GROUP" "body" "1:$iid" "0:$pid" # unsorted references
expect_error 400 malformed -X PUT "${AUTH[@]}" --data-binary @"$W/bad2" "$V/objects/snapshot/$(sha256 "$W/bad2")"
assert_match "400 says why" "sort" "$(body)"
head -c -2 "$W/snap" >"$W/bad3" # the body is shorter than declared
expect_error 400 malformed -X PUT "${AUTH[@]}" --data-binary @"$W/bad3" "$V/objects/snapshot/$(sha256 "$W/bad3")"
cat "$W/snap" - <<<"extra" >"$W/bad4" # bytes after the body
expect_error 400 malformed -X PUT "${AUTH[@]}" --data-binary @"$W/bad4" "$V/objects/snapshot/$(sha256 "$W/bad4")"
assert_eq "objects/.tmp after 400s" 0 "$(tmp_count)"
# Packs and indexes are not envelopes and need not be.
put_object main pack "$W/bad1"

# ---- deleting a snapshot removes its header record ----
note delete
expect_status 204 -X DELETE "${AUTH[@]}" "$V/objects/snapshot/$sid"
expect_status 200 "${AUTH[@]}" "$V/objects/snapshot"
assert_eq "one snapshot left" 1 "$(json_ids "$(body)" | wc -w)"
put_object main snapshot "$W/snap"
restart_vaultd
V=$URL/v1/vaults/main
expect_status 200 "${AUTH[@]}" "$V/objects/snapshot"
assert_match "fields survive a restart" '"refs":2' "$(body)"

finish
