#!/usr/bin/env bash
# Benchmark: a release server on a fresh database (SQLite by default, PostgreSQL with
# DATABASE_URL=postgres://...), driven by tessera-load over loopback. Prints one JSON line.
#   tests/bench.sh [MODE] [concurrency] [seconds]
#   MODE: refresh (default) | login | code | client_credentials | introspect | jwks
#   BENCH_BIN: where the release binaries are (default: $CARGO_TARGET_DIR/release or
#   target/release); BENCH_USERS: users (default = concurrency); BENCH_CLIENT=confidential: refresh, login
#   and code go through a confidential client with HTTP Basic (default: a public client).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-refresh}"; CONC="${2:-32}"; SECS="${3:-10}"
[ "${BENCH_NO_BUILD:-}" = 1 ] || cargo build --release -q --bin tessera --bin tessera-load
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release}"
WORK="$(mktemp -d)"; trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="${DATABASE_URL:-sqlite://$WORK/bench.db?mode=rwc}"
export TESSERA_ADMIN_PASSWORD="bench-admin-password"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
USERS="${BENCH_USERS:-$CONC}"
for i in $(seq 0 $((USERS - 1))); do
    echo "bench-password" | $BIN/tessera user add "bench$i" --password-stdin >/dev/null
done
secret_of() { sed -n 's/^client_secret: //p'; }
CLIENT=bench; SECRET=()
case "$MODE" in
    client_credentials | introspect)
        CLIENT=bench-service
        S=$($BIN/tessera client add bench-service --grant client_credentials --scope read | secret_of)
        SECRET=(--client-secret "$S") ;;
    *)
        if [ "${BENCH_CLIENT:-public}" = confidential ]; then
            S=$($BIN/tessera client add bench --grant password,refresh_token,authorization_code \
                --redirect-uri http://127.0.0.1:5173/ --scope read | secret_of)
            SECRET=(--client-secret "$S")
        else
            $BIN/tessera client add bench --public --grant password,refresh_token,authorization_code \
                --redirect-uri http://127.0.0.1:5173/ --scope read >/dev/null
        fi ;;
esac
# Logging as shipped (RUST_LOG unset: a line per request), to a file as a service would.
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" & SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
$BIN/tessera-load --url "http://127.0.0.1:$PORT" --client "$CLIENT" "${SECRET[@]}" --user bench \
    --users "$USERS" --password bench-password --mode "$MODE" --concurrency "$CONC" --seconds "$SECS" \
    --redirect-uri http://127.0.0.1:5173/
