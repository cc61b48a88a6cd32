#!/usr/bin/env bash
# API-level fuzzing from the server's own OpenAPI document (schemathesis, from PyPI, into
# a virtualenv under target/): every operation, with generated valid and invalid input,
# signed in as the administrator, examples, coverage, fuzzing and stateful phases. Fails on any 5xx and on any answer that does not match
# the document (status, content type, headers, schema).
#   tests/schemathesis.sh [max_examples=30]
# BENCH_BIN: the binaries (default target/debug); the build is the caller's.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-30}"
BENCH_NO_BUILD=1 BENCH_BIN="${BENCH_BIN:-target/debug}" source tests/lib.sh
VENV="target/st-venv"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
WORK="$(mktemp -d)"; trap 'kill ${SERVER:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="sqlite://$WORK/st.db?mode=rwc" TESSERA_ADMIN_PASSWORD="schemathesis-admin-password"
# Cheap hashes: the run signs in many times.
export TESSERA_ARGON2__MEMORY_KIB=64 TESSERA_ARGON2__ITERATIONS=1
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
export ST_PASSWORD="schemathesis-password" ST_ADMINS=10
add_users st "$ST_ADMINS" "$ST_PASSWORD" --admin
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" & SERVER=$!
wait_ready "$BASE"
# Signed in as an administrator, again every two seconds (tests/schemathesis_hooks.py).
export ST_BASE="$BASE" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$PWD/tests"
status=0
"$VENV/bin/schemathesis" run "$BASE/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$EXAMPLES" --workers 2 --seed 1 \
    --suppress-health-check all \
    --request-timeout 10 || status=$?
if grep -q "panicked" "$WORK/server.log"; then
    echo "the server panicked:" >&2; grep -A3 panicked "$WORK/server.log" >&2; status=1
fi
exit "$status"
