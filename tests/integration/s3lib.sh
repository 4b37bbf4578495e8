# S3 helpers for integration tests: a real S3 server (s3rver 3, from npm)
# behind a SigV4-checking front (s3verify.js), and the AWS CLI as an
# independent client. Source it after lib.sh:
#
#     . "$(dirname "$0")/lib.sh"
#     . "$(dirname "$0")/s3lib.sh"
#     start_s3rver              # or: start_s3rver BUCKET [BUCKET...]
#     "$TOOLS_DIR/s3_tool" -e "$S3_URL" -b "$S3_BUCKET" -c "$S3_CREDS" put-id FILE
#     s3_aws s3api head-object --bucket "$S3_BUCKET" --key KEY
#     finish                    # (the servers are stopped on exit)
#
# s3rver 3 checks the access key of a SigV4 request but neither its
# signature nor its payload hash; s3verify.js checks both (and the clock)
# before it forwards a request, so S3_URL behaves like S3 in that respect.
# It logs one line per request ("verified ...", "rejected CODE ...") to
# $S3_VERIFY_LOG. s3rver's pagination tokens use DES, which node 20's
# OpenSSL 3 only offers with --openssl-legacy-provider.
#
# After start_s3rver:
#   S3_URL          http://127.0.0.1:PORT, the verified front (path style)
#   S3_VHOST_URL    http://s3.localhost:PORT, for virtual-host style
#                   (BUCKET.s3.localhost; libcurl resolves *.localhost to
#                   loopback itself, s3rver runs with --service-endpoint
#                   localhost so it maps the name to the bucket)
#   S3_PORT         the front's port; S3_RAW_URL / S3_RAW_PORT: s3rver itself
#   S3_PID          s3rver's pid; S3_VERIFY_PID the front's
#   S3_BUCKET       the first bucket made (default vaultbkt)
#   S3_ACCESS_KEY, S3_SECRET_KEY   S3RVER / S3RVER, s3rver's built-in account
#   S3_REGION       us-east-1
#   S3_CREDS        an AWS credentials file with those keys ([default])
#   S3_DATA         s3rver's data directory (under $TEST_TMP)
#
# Environment:
#   S3_NODE_DIR     where s3rver is installed (default $BUILD_DIR/node)
#   AWS_CLI         the aws program (default /usr/bin/aws, Debian's awscli,
#                   else the first aws on PATH)

S3_NODE_DIR=${S3_NODE_DIR:-$BUILD_DIR/node}
S3RVER_JS=$S3_NODE_DIR/node_modules/s3rver/bin/s3rver.js
S3_VERIFY_JS=$ROOT/tests/integration/s3verify.js
S3_ACCESS_KEY=S3RVER
S3_SECRET_KEY=S3RVER
S3_REGION=us-east-1
S3_BUCKET=
S3_URL=
S3_VHOST_URL=
S3_PORT=
S3_RAW_URL=
S3_RAW_PORT=
S3_PID=
S3_VERIFY_PID=
S3_DATA=
S3_CREDS=$TEST_TMP/s3.credentials
S3_VERIFY_LOG=
S3RVER_LOG=
S3_SEQ=0
if [ -z "${AWS_CLI:-}" ]; then
	if [ -x /usr/bin/aws ]; then
		AWS_CLI=/usr/bin/aws
	else
		AWS_CLI=$(command -v aws || echo aws)
	fi
fi

# s3_install: installs s3rver 3 into $S3_NODE_DIR unless it is there.
# Idempotent; fails the test if npm cannot install it.
s3_install() {
	if [ -f "$S3RVER_JS" ]; then
		return 0
	fi
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		fail "s3_install: node and npm are needed (Debian packages nodejs, npm)"
		return 1
	fi
	mkdir -p "$S3_NODE_DIR"
	note "installing s3rver@3 into $S3_NODE_DIR"
	if ! npm install --prefix "$S3_NODE_DIR" --no-audit --no-fund --loglevel=error s3rver@3 \
		>"$TEST_TMP/npm.log" 2>&1 || [ ! -f "$S3RVER_JS" ]; then
		fail "npm install s3rver@3 failed:"
		tail -20 "$TEST_TMP/npm.log" >&2
		return 1
	fi
}

# s3_write_credentials FILE ACCESS SECRET [PROFILE]: an AWS credentials file.
s3_write_credentials() {
	printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "${4:-default}" "$2" "$3" >"$1"
}

# start_s3rver [BUCKET...]: starts s3rver on a free port with the buckets
# (default vaultbkt) and the verifying front before it; sets the variables
# above. Both are ended at exit (lib.sh's cleanup) or by stop_s3rver.
start_s3rver() {
	local buckets=("$@") args=() b i pf
	[ ${#buckets[@]} -gt 0 ] || buckets=(vaultbkt)
	if [ -n "$S3_PID" ]; then
		fail "start_s3rver: s3rver is already running"
		return 1
	fi
	s3_install || finish
	S3_SEQ=$((S3_SEQ + 1))
	S3_DATA=$TEST_TMP/s3rver.$S3_SEQ
	S3RVER_LOG=$TEST_TMP/s3rver.$S3_SEQ.log
	S3_VERIFY_LOG=$TEST_TMP/s3verify.$S3_SEQ.log
	mkdir -p "$S3_DATA"
	for b in "${buckets[@]}"; do
		args+=(--configure-bucket "$b")
	done
	node --openssl-legacy-provider "$S3RVER_JS" -d "$S3_DATA" -a 127.0.0.1 -p 0 \
		--service-endpoint localhost "${args[@]}" >"$S3RVER_LOG" 2>&1 &
	S3_PID=$!
	BG_PIDS+=("$S3_PID")
	for ((i = 0; i < 300; i++)); do
		S3_RAW_PORT=$(sed -n 's/^S3rver listening on [^:]*:\([0-9][0-9]*\)$/\1/p' "$S3RVER_LOG" 2>/dev/null)
		[ -n "$S3_RAW_PORT" ] && break
		if ! kill -0 "$S3_PID" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	if [ -z "$S3_RAW_PORT" ]; then
		fail "s3rver did not start; its log:"
		cat "$S3RVER_LOG" >&2
		finish
	fi
	S3_RAW_URL=http://127.0.0.1:$S3_RAW_PORT
	pf=$TEST_TMP/s3verify.$S3_SEQ.port
	node "$S3_VERIFY_JS" "$S3_RAW_PORT" "$pf" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" "$S3_REGION" \
		2>"$S3_VERIFY_LOG" &
	S3_VERIFY_PID=$!
	BG_PIDS+=("$S3_VERIFY_PID")
	for ((i = 0; i < 300; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$S3_VERIFY_PID" 2>/dev/null || break
		sleep 0.05
	done
	S3_PORT=$(cat "$pf" 2>/dev/null)
	if ! [[ $S3_PORT =~ ^[0-9]+$ ]]; then
		fail "s3verify.js did not start; its log:"
		cat "$S3_VERIFY_LOG" >&2
		finish
	fi
	S3_URL=http://127.0.0.1:$S3_PORT
	S3_VHOST_URL=http://s3.localhost:$S3_PORT
	S3_BUCKET=${buckets[0]}
	s3_write_credentials "$S3_CREDS" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
	for ((i = 0; i < 100; i++)); do
		if s3_aws s3api head-bucket --bucket "$S3_BUCKET" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fail "bucket $S3_BUCKET does not answer at $S3_URL"
	s3_logs
	finish
}

# stop_s3rver: ends the front and s3rver (the data directory stays).
stop_s3rver() {
	local p
	for p in "$S3_VERIFY_PID" "$S3_PID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	S3_PID=
	S3_VERIFY_PID=
}

# s3_logs: the last lines of both logs, on standard error (after a failure).
s3_logs() {
	{
		echo "--- last lines of $S3_VERIFY_LOG:"
		tail -20 "$S3_VERIFY_LOG"
		echo "--- last lines of $S3RVER_LOG:"
		grep -v '^ *at ' "$S3RVER_LOG" | tail -20
	} >&2
}

# s3_aws ARGS...: the AWS CLI against $S3_URL with s3rver's keys, no user
# configuration, no pager.
s3_aws() {
	AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY \
		AWS_DEFAULT_REGION=$S3_REGION AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
		"$AWS_CLI" --endpoint-url "$S3_URL" "$@"
}

# s3_aws_size KEY [BUCKET]: ContentLength from head-object, or nothing.
s3_aws_size() {
	s3_aws s3api head-object --bucket "${2:-$S3_BUCKET}" --key "$1" --query ContentLength --output text 2>/dev/null
}

# s3_aws_sha KEY [BUCKET]: SHA-256 of the object's bytes (aws s3 cp to stdout).
s3_aws_sha() {
	s3_aws s3 cp "s3://${2:-$S3_BUCKET}/$1" - 2>/dev/null | sha256sum | cut -c1-64
}

# s3_aws_keys [PREFIX] [BUCKET]: every key under PREFIX, one a line, sorted.
s3_aws_keys() {
	s3_aws s3api list-objects-v2 --bucket "${2:-$S3_BUCKET}" --prefix "${1:-}" \
		--query 'Contents[].Key' --output text 2>/dev/null | tr '\t' '\n' | grep -v '^None$' | grep -v '^$' | LC_ALL=C sort
}

# s3_verified_count: requests the front verified so far.
s3_verified_count() {
	grep -c '^verified ' "$S3_VERIFY_LOG"
}

# s3_rejected_count: requests the front refused so far.
s3_rejected_count() {
	grep -c '^rejected ' "$S3_VERIFY_LOG"
}
