#!/usr/bin/env bash
# Crash safety under load: refresh chains rotate as fast as they can, the server is killed
# with SIGKILL, started again on the same database, and the chains go on (a request that
# got no answer is retried with the same token, as a real client would). Then every chain's
# last token and the database are checked (tests/crash_check.py): nothing acknowledged was
# lost, no token was exchanged twice, no family has two live heads, and every chain's token
# is still exchangeable or its family is revoked with a reason.
#   tests/crash.sh [concurrency=64] [seconds=10] [kill_after=3] [kills=1]   (CRASH_LEEWAY=N)
# SQLite by default; DATABASE_URL=postgres://... for PostgreSQL (an empty database).
# BENCH_BIN: the binaries (default $CARGO_TARGET_DIR/release); BENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC="${1:-64}"; SECS="${2:-10}"; KILL_AFTER="${3:-3}"; KILLS="${4:-1}"
source tests/lib.sh
WORK="$(mktemp -d)"; trap 'kill -9 ${SERVER:-} ${LOAD:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="${DATABASE_URL:-sqlite://$WORK/crash.db?mode=rwc}"
export TESSERA_ADMIN_PASSWORD="crash-admin-password"
PORT=$(free_port)
add_users crash "$CONC" crash-password
# CRASH_LEEWAY=N gives the client a reuse leeway: a retry after a lost answer then gets a
# fresh token instead of revoking the family (DESIGN.md, rotation rule 3).
SECRET=$(new_client crash --grant password,refresh_token --scope read \
    --reuse-leeway "${CRASH_LEEWAY:-0}")
serve() {
    $BIN/tessera serve --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" & SERVER=$!
    wait_ready "http://127.0.0.1:$PORT"
}
serve
$BIN/tessera-load --url "http://127.0.0.1:$PORT" --client crash --client-secret "$SECRET" \
    --user crash --users "$CONC" --password crash-password --mode refresh \
    --concurrency "$CONC" --seconds "$SECS" --crash-tolerant --state-out "$WORK/chains.jsonl" \
    >"$WORK/load.json" & LOAD=$!
# The driver signs its chains in first; count from the first rotations on.
wait_rotating "http://127.0.0.1:$PORT"
for k in $(seq 1 "$KILLS"); do
    sleep "$KILL_AFTER"
    kill -9 "$SERVER"; { wait "$SERVER"; } 2>/dev/null || true
    DOWN_MS=$(date +%s%3N)
    serve
    echo "kill $k: the server was down $(( $(date +%s%3N) - DOWN_MS )) ms" >&2
done
wait "$LOAD"
kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
serve
python3 tests/crash_check.py "$WORK/chains.jsonl" "$TESSERA_DATABASE_URL" "$WORK/load.json" \
    "http://127.0.0.1:$PORT" crash "$SECRET" "$CONC"
