#!/usr/bin/env bash
# Benchmark: a release server on a fresh database (SQLite by default, PostgreSQL with
# DATABASE_URL=postgres://...), driven by tessera-load over loopback. Prints one JSON line:
# the driver's, with the server's cores in use over the measured window (server_cores) and
# its peak RSS (server_peak_rss_mib); for login also the time of one hash alone, the
# argon2 limit (hash threads ÷ that time) and the share of it reached. Default settings
# and logging, as a user gets them.
#   tests/bench.sh [MODE] [concurrency] [seconds]
#   MODE: refresh (default) | login | code | client_credentials | introspect | jwks
#   BENCH_BIN: where the release binaries are (default: $CARGO_TARGET_DIR/release or
#   target/release); BENCH_USERS: users (default = concurrency); BENCH_CLIENT=confidential: refresh, login
#   and code go through a confidential client with HTTP Basic (default: a public client).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-refresh}"; CONC="${2:-32}"; SECS="${3:-10}"
source tests/lib.sh
WORK="$(mktemp -d)"; trap 'kill ${SERVER:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="${DATABASE_URL:-sqlite://$WORK/bench.db?mode=rwc}"
export TESSERA_ADMIN_PASSWORD="bench-admin-password"
PORT=$(free_port)
USERS="${BENCH_USERS:-$CONC}"
add_users bench "$USERS" bench-password
CLIENT=bench; SECRET=()
case "$MODE" in
    client_credentials | introspect)
        CLIENT=bench-service
        S=$(new_client bench-service --grant client_credentials --scope read)
        SECRET=(--client-secret "$S") ;;
    *)
        if [ "${BENCH_CLIENT:-public}" = confidential ]; then
            S=$(new_client bench --grant password,refresh_token,authorization_code \
                --redirect-uri http://127.0.0.1:5173/ --scope read)
            SECRET=(--client-secret "$S")
        else
            new_client bench --public --grant password,refresh_token,authorization_code \
                --redirect-uri http://127.0.0.1:5173/ --scope read >/dev/null
        fi ;;
esac
# Logging as shipped (RUST_LOG unset: a line per request), to a file as a service would.
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>"$WORK/server.log" & SERVER=$!
wait_ready "http://127.0.0.1:$PORT"
# login: first the time of one hash at the configured cost, alone (one sign-in at a time
# for 2 s, timed by the server on its hash thread), for the limit the cores allow.
hash_stats() {
    curl -sf "http://127.0.0.1:$PORT/metrics" | awk '
        /^tessera_password_hash_duration_seconds_sum/ {s = $2}
        /^tessera_password_hash_duration_seconds_count/ {c = $2}
        /^tessera_password_hash_threads/ {t = $2}
        END {print s + 0, c + 0, t + 0}'
}
HASH="0 0 0"
if [ "$MODE" = login ]; then
    $BIN/tessera-load --url "http://127.0.0.1:$PORT" --client "$CLIENT" "${SECRET[@]}" --user bench \
        --users "$USERS" --password bench-password --mode login --concurrency 1 --seconds 2 >/dev/null
    HASH=$(hash_stats)
fi
# The server's CPU time, sampled every 0.2 s, to report it over the measured window only.
( while kill -0 $SERVER 2>/dev/null; do
      echo "$(date +%s%3N) $(awk '{print $14 + $15}' /proc/$SERVER/stat)"; sleep 0.2
  done ) > "$WORK/cpu" 2>/dev/null & SAMPLER=$!
RESULT=$($BIN/tessera-load --url "http://127.0.0.1:$PORT" --client "$CLIENT" "${SECRET[@]}" --user bench \
    --users "$USERS" --password bench-password --mode "$MODE" --concurrency "$CONC" --seconds "$SECS" \
    --redirect-uri http://127.0.0.1:5173/)
END_MS=$(date +%s%3N); END_TICKS=$(awk '{print $14 + $15}' /proc/$SERVER/stat)
[ "$MODE" != login ] || HASH="$HASH $(hash_stats)"
PEAK_KIB=$(awk '/VmHWM/ {print $2}' /proc/$SERVER/status)
kill $SAMPLER 2>/dev/null || true
# Print the driver's line with the server's cores in use (measured window) and peak RSS.
python3 - "$RESULT" "$WORK/cpu" "$END_MS" "$END_TICKS" "$PEAK_KIB" "$(getconf CLK_TCK)" "$HASH" <<'PY'
import json, sys
result, cpu_file, end_ms, end_ticks, peak_kib, hz, hashing = sys.argv[1:8]
r = json.loads(result)
start = int(end_ms) - int(r["seconds"] * 1000)
samples = [tuple(map(int, l.split())) for l in open(cpu_file) if len(l.split()) == 2]
before = [s for s in samples if s[0] <= start] or samples[:1]
at, ticks = before[-1]
secs = (int(end_ms) - at) / 1000
r["server_cores"] = round((int(end_ticks) - ticks) / int(hz) / secs, 2) if secs > 0 else None
r["server_peak_rss_mib"] = round(int(peak_kib) / 1024)
hashing = list(map(float, hashing.split()))
if len(hashing) == 6 and hashing[1] > 0:
    total, count, threads, total_after, count_after, _ = hashing
    # The argon2 limit: hash threads ÷ the time of one hash alone.
    limit = threads / (total / count)
    r["argon2_hash_ms"] = round(total / count * 1000, 1)
    r["argon2_limit_per_s"] = round(limit)
    r["of_argon2_limit"] = round(r["rps"] / limit, 2)
    if count_after > count:
        # The same hashes under the load, all threads busy.
        r["argon2_hash_ms_under_load"] = round(
            (total_after - total) / (count_after - count) * 1000, 1)
print(json.dumps(r))
PY
