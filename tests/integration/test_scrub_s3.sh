#!/usr/bin/env bash
# Scrub repair from an S3 replica (spec/scrub.md) against s3rver behind the
# SigV4-checking front (s3lib.sh). A vault replicated to an S3 target:
#   - a byte flipped in a stored pack on the daemon's disk is found by
#     `vaultctl scrub` and repaired from the bucket (source "target s3");
#     the file and GET hash to the ID again;
#   - a pack whose local copy and S3 copy are both damaged (the S3 one
#     overwritten with the AWS CLI) is not repaired from the bad replica:
#     the report says its bytes do not hash to the ID, the file is left
#     alone and GET answers 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/s3lib.sh"

W=$TEST_TMP/work
mkdir -p "$W"
start_s3rver vaultbkt

cat >"$W/vaultd.conf" <<EOF2
target s3 {
    type s3
    endpoint $S3_URL
    region $S3_REGION
    bucket vaultbkt
    prefix site1/
    path-style yes
    credentials-file $S3_CREDS
}
policy rep {
    replicate-to s3
}
tenant acme {
    policy rep
}
EOF2
start_vaultd -c "$W/vaultd.conf"
use_token "$(new_token acme --scopes all)"
create_vault main
for i in 0 1 2; do
	head -c $((2000 + i * 1000000)) /dev/urandom >"$W/p$i"
	put_object main pack "$W/p$i" >/dev/null
done
A=$(sha256 "$W/p1")
B=$(sha256 "$W/p2")
for ((i = 0; i < 240; i++)); do
	q=$(vctl --json status | grep -o '"target":"s3","queue":[0-9]*' | cut -d: -f3)
	[ "$q" == 0 ] && break
	sleep 0.25
done
assert_eq "replicated to S3" 0 "$q"
assert_eq "the bucket holds A" "$A" "$(s3_aws_sha "site1/acme/main/pack/$A" vaultbkt)"

flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $(((b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
fa=$(find "$DATA/objects" -type f -name "$A")
fb=$(find "$DATA/objects" -type f -name "$B")
flip "$fa" 500
flip "$fb" 7
head -c 2002000 /dev/urandom >"$W/junk"  # the right size, the wrong bytes
s3_aws s3 cp "$W/junk" "s3://vaultbkt/site1/acme/main/pack/$B" >/dev/null 2>&1
assert_ne "the S3 copy of B is damaged" "$B" "$(s3_aws_sha "site1/acme/main/pack/$B" vaultbkt)"

out=$(vctl --json scrub acme main)
assert_eq "scrub: bad" 2 "$(json_num bad "$out")"
assert_eq "scrub: repaired" 1 "$(json_num repaired "$out")"
assert_eq "scrub: unrepaired" 1 "$(json_num unrepaired "$out")"
assert_match "A came from the bucket" "\"id\":\"$A\",[^}]*\"repaired\":true,\"source\":\"target s3\"" "$out"
assert_match "B's replica was refused" \
	"\"id\":\"$B\",[^}]*\"repaired\":false,[^}]*\"repair_error\":\"[^\"]*do not hash to the ID" "$out"
assert_eq "A's file is right again" "$A" "$(sha256 "$fa")"
get_object main pack "$A" "$W/got" 200
assert_eq "GET serves A's right bytes" "$A" "$(sha256 "$W/got")"
assert_ne "B's file was not overwritten with the bad replica" "$(sha256 "$W/junk")" "$(sha256 "$fb")"
assert_eq "B answers 503" 503 "$(http "${AUTH[@]}" "$URL/v1/vaults/main/objects/pack/$B")"

stop_vaultd
finish
