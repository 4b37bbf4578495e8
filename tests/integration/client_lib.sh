# Helpers of the vault client's integration tests (test_client*.sh), after
# lib.sh: the client binary ($VAULT), a work directory ($W) and a source
# directory in it ($SRC), and how to run the client.

VAULT=$BUILD_DIR/vault
W=$TEST_TMP/work
SRC=$W/src
mkdir -p "$W" "$SRC"

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
