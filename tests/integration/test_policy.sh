#!/usr/bin/env bash
# vaultd.conf with the real daemon: `vaultd -n` checks, declared tenants
# exist, lock periods refuse deletes (423; 403 through restic; restic's own
# locks exempt), vault and tenant quotas give 507 before the body, usage stays
# exact across a restart, and SIGHUP reloads a good file and keeps the old
# configuration (and the connections) when the new file is bad.
. "$(dirname "$0")/lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
CONF=$W/vaultd.conf

write_conf() { # $1 = vault quota, $2 = lock of the locked policy
	cat >"$CONF" <<EOF
# test configuration
policy locked {
    keep-last 3
    lock $2
}
policy small {
    quota $1
}
tenant acme {
    policy locked
    quota 20000
    vault tiny {
        policy small
    }
    vault other {
        policy small
    }
}
tenant globex {
}
EOF
}

# ---- vaultd -n ----
note "vaultd -n"
write_conf 1000 1h
out=$("$VAULTD" -n -c "$CONF" 2>&1)
assert_eq "vaultd -n on a good file" 0 "$?"
assert_match "vaultd -n says valid" "valid" "$out"
printf 'policy broken {\n    keep-daily many\n}\n' >"$W/bad.conf"
out=$("$VAULTD" -n -c "$W/bad.conf" 2>&1)
assert_ne "vaultd -n on a bad file fails" 0 "$?"
assert_match "the error names file and line" "bad.conf:2:" "$out"
assert_match "the error names the word" "many" "$out"
out=$("$VAULTD" -n -c "$W/missing.conf" 2>&1)
assert_ne "vaultd -n on a missing file fails" 0 "$?"
assert_match "the error names the file" "missing.conf" "$out"

# ---- declared tenants exist ----
note "declared tenants"
start_vaultd -c "$CONF"
assert_match "acme exists" "acme" "$(vctl tenant list 2>&1)"
assert_match "globex exists" "globex" "$(vctl tenant list 2>&1)"
# spec/vaultd.conf.md: a tenant block declares the tenant; vaultctl says so.
out=$(vctl tenant add globex 2>&1)
assert_ne "tenant add of a declared tenant fails" 0 "$?"
assert_match "and says vaultd.conf declares it" "already exists: vaultd.conf declares it" "$out"
out=$(vctl tenant remove globex 2>&1)
assert_ne "tenant remove of a declared tenant is refused" 0 "$?"
assert_match "and says why" "declared in vaultd.conf" "$out"
assert_match "globex still exists" "globex" "$(vctl tenant list 2>&1)"
ADMIN=$(new_token acme --scopes all)
use_token "$ADMIN"
create_vault main
create_vault tiny
create_vault other

# ---- lock: nobody deletes before received + lock ----
note lock
id=$(rand_file "$W/o1" 1000)
put_object main pack "$W/o1"
expect_error 423 locked -X DELETE "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
assert_match "423 says until when" "locked until" "$(body)"
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"
# restic sees 403 for its data, but its own lock files stay deletable.
expect_status 403 -X DELETE -u "acme:$ADMIN" "$URL/restic/main/data/$id"
lid=$(rand_file "$W/lock1" 200)
expect_status 200 -X POST -u "acme:$ADMIN" --data-binary @"$W/lock1" "$URL/restic/main/locks/$lid"
expect_status 200 -X DELETE -u "acme:$ADMIN" "$URL/restic/main/locks/$lid"

# ---- vault quota: 507 before the body ----
note "vault quota"
id2=$(rand_file "$W/o2" 600)
id3=$(rand_file "$W/o3" 600)
put_object tiny pack "$W/o2"
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" --data-binary @"$W/o3" \
	"$URL/v1/vaults/tiny/objects/pack/$id3"
assert_match "507 names the quota" "quota" "$(body)"
expect_error 404 not_found "${AUTH[@]}" "$URL/v1/vaults/tiny/objects/pack/$id3"
assert_eq "objects/.tmp after a quota 507" 0 "$(tmp_count)"
# A big body is refused from its Content-Length, before it is sent.
head -c $((3 * 1024 * 1024)) /dev/urandom >"$W/big"
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" -H "Expect: 100-continue" \
	--data-binary @"$W/big" "$URL/v1/vaults/tiny/objects/pack/$(sha256 "$W/big")"
assert_header Connection close
# The same quota applies to each vault that uses the policy.
put_object other pack "$W/o3"

# ---- tenant quota across vaults ----
note "tenant quota"
# 2200 bytes are in acme's vaults; two of 8000 fit under 20000, 2000 more do not.
for i in 1 2; do
	rand_file "$W/t$i" 8000 >/dev/null
	put_object main pack "$W/t$i"
done
idt=$(rand_file "$W/t3" 2000)
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" --data-binary @"$W/t3" \
	"$URL/v1/vaults/main/objects/pack/$idt"
assert_match "507 names the tenant quota" "tenant" "$(body)"

# ---- usage is exact after a restart ----
note restart
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/tiny"
before=$(vault_counts "$(body)")
restart_vaultd
expect_status 200 "${AUTH[@]}" "$URL/v1/vaults/tiny"
assert_eq "usage after restart" "$before" "$(vault_counts "$(body)")"
expect_error 507 insufficient_storage -X PUT "${AUTH[@]}" --data-binary @"$W/o3" \
	"$URL/v1/vaults/tiny/objects/pack/$id3"

# ---- SIGHUP: a good file takes effect, a bad one is refused ----
note SIGHUP
# A download in progress must survive the reload.
head -c $((40 * 1024 * 1024)) /dev/urandom >"$W/slow"
put_object main pack "$W/slow" 507 # over the tenant quota: proves the quota first
write_conf 100000 2s
sed -i 's/quota 20000/quota 90000000/' "$CONF"
kill -HUP "$VAULTD_PID"
for ((i = 0; i < 50; i++)); do grep -q "reloaded" "$VAULTD_LOG" && break; sleep 0.1; done
assert_match "the reload is logged" "reloaded" "$(cat "$VAULTD_LOG")"
put_object tiny pack "$W/o3"
sid=$(sha256 "$W/slow")
put_object main pack "$W/slow"
curl -s --limit-rate 8M -o "$W/slow.got" "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$sid" &
dl=$!
sleep 0.5
printf 'policy locked {\n    lock forever\n}\n' >"$CONF"
kill -HUP "$VAULTD_PID"
for ((i = 0; i < 50; i++)); do grep -q "keeping the configuration" "$VAULTD_LOG" && break; sleep 0.1; done
assert_match "a bad reload is refused and says why" "vaultd.conf:2:.*keeping the configuration" \
	"$(cat "$VAULTD_LOG")"
wait "$dl"
assert_eq "a download across two reloads completes" "$sid" "$(sha256 "$W/slow.got")"
# The good configuration (lock 2s) is still in force.
sleep 2.2
expect_status 204 -X DELETE "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$id"

stop_vaultd
finish
