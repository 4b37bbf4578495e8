# Helpers of the vault client's integration tests (test_client*.sh,
# test_fidelity.sh, test_mount.sh), after lib.sh: the client binary
# ($VAULT), a work directory ($W) and a source directory in it ($SRC), and
# how to set up a vault and run the client.

VAULT=$BUILD_DIR/vault
W=$TEST_TMP/work
SRC=$W/src
mkdir -p "$W" "$SRC"

# client_setup VAULT: starts vaultd with a tenant acme and a token of every
# scope (ADMIN), and points the client at vault VAULT, with its cache in
# $W/cache.
client_setup() {
	start_vaultd
	new_tenant acme
	ADMIN=$(new_token acme --scopes all)
	export VAULT_REPOSITORY=$URL/$1 VAULT_TOKEN=$ADMIN VAULT_PASSWORD='correct horse'
	export VAULT_CACHE_DIR=$W/cache VAULT_RETRY_BASE_MS=10
}

# v ARGS...: runs the client, output in $OUT (stdout) and $ERR (stderr), status in $RC.
v() {
	"$VAULT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
	check_sanitizer_log "$W/err"
}

# json_field KEY: the value of KEY in $OUT.
json_field() {
	printf '%s' "$OUT" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'
}
