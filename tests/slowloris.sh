#!/usr/bin/env bash
# Slow and hostile clients (RELIABILITY.md): refresh chains rotate while N connections
# trickle headers or bodies, or send nothing (tests/slowloris.py). Other clients must
# still be served (no error, p99 within SLOW_P99_MS), every slow connection must be cut off
# within read_timeout (10 s by default) and a margin, and the server must hold them all
# open at once without failing.
#   tests/slowloris.sh [connections=2000] [seconds=20] [concurrency=16]   (SLOW_P99_MS=250)
# BENCH_BIN: the binaries (default $CARGO_TARGET_DIR/release); BENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"; SECS="${2:-20}"; CONC="${3:-16}"; P99="${SLOW_P99_MS:-250}"
source tests/lib.sh
WORK="$(mktemp -d)"; trap 'kill -9 ${SERVER:-} ${SLOW:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="sqlite://$WORK/slow.db?mode=rwc" TESSERA_ADMIN_PASSWORD="slow-admin-password"
PORT=$(free_port)
add_users slow "$CONC" slow-password
SECRET=$(new_client slow --grant password,refresh_token --scope read)
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" & SERVER=$!
wait_ready "http://127.0.0.1:$PORT"
load() {
    $BIN/tessera-load --url "http://127.0.0.1:$PORT" --client slow --client-secret "$SECRET" \
        --user slow --users "$CONC" --password slow-password --mode refresh \
        --concurrency "$CONC" --seconds "$1"
}
load 4 >"$WORK/before.json"
# The slow clients ramp up for a few seconds; the load runs while they are all open.
ulimit -n "$(ulimit -Hn)"
python3 tests/slowloris.py "127.0.0.1:$PORT" "$N" "$SECS" >"$WORK/slow.json" & SLOW=$!
sleep 3
load $((SECS - 5)) >"$WORK/during.json" &
LOAD=$!
sleep $(((SECS - 5) / 2))
OPEN=$(curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" | awk '/^tessera_connections_open / {print $2}')
wait "$LOAD"
wait "$SLOW"
echo "{\"open_mid_attack\": ${OPEN:-0}, \"slow\": $(cat "$WORK/slow.json"), \"before\": $(cat "$WORK/before.json"), \"during\": $(cat "$WORK/during.json")}"
python3 - "$WORK/slow.json" "$WORK/during.json" "${OPEN:-0}" "$N" "$P99" <<'PY'
import json, sys
slow, during = (json.load(open(p)) for p in sys.argv[1:3])
opened_mid, n, p99 = int(float(sys.argv[3])), int(sys.argv[4]), float(sys.argv[5])
problems = []
if during["errors"]:
    problems.append(f"other clients got errors: {during['errors']}")
if during["p99_ms"] > p99:
    problems.append(f"other clients' p99 {during['p99_ms']} ms > {p99} ms")
if opened_mid < 0.9 * n:
    problems.append(f"only {opened_mid} connections open mid-attack, of {n}")
# Every kind is cut off, none lives past the bound (10 s) and a margin, and none still
# open at the end had been open longer than that.
if min(slow["cut_off"].values()) == 0 or (slow["lifetime_s"]["max"] or 0) > 13 or slow["oldest_open_s"] > 13:
    problems.append(f"slow connections not cut off within the bound: {slow['lifetime_s']}, cut {slow['cut_off']}, oldest still open {slow['oldest_open_s']} s")
if set(slow["answered"]) - {"408"}:
    problems.append(f"slow connections answered: {slow['answered']}")
if problems:
    sys.exit("; ".join(problems))
PY
