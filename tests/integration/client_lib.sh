# Helpers of the vault client's integration tests (test_client*.sh), after
# lib.sh. They expect $VAULT (the client binary) and $W (a work directory).

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
