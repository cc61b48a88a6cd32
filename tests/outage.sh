#!/usr/bin/env bash
# PostgreSQL outage under load: refresh chains rotate against one server while the
# machine's PostgreSQL cluster is stopped for a few seconds and started again. Requests
# in the outage must fail fast with 503 `temporarily_unavailable` (never a 500, never a
# hang), /readyz must say not ready, and service must come back by itself. The same
# checker as the crash test then looks at every chain and the database.
#   tests/outage.sh [concurrency=32] [seconds=14] [outage_after=3] [outage_seconds=4]
# DATABASE_URL: an empty PostgreSQL database on the local cluster (required).
# BENCH_BIN: the binaries (default $CARGO_TARGET_DIR/release); BENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC="${1:-32}"; SECS="${2:-14}"; AFTER="${3:-3}"; OUTAGE="${4:-4}"
: "${DATABASE_URL:?set DATABASE_URL to an empty PostgreSQL database}"
CLUSTER="$(ls /etc/postgresql | head -n1)"
pg() { pg_ctlcluster --skip-systemctl-redirect "$CLUSTER" main "$@"; }
source tests/lib.sh
WORK="$(mktemp -d)"; [ -z "${KEEP_WORK:-}" ] || echo "work: $WORK" >&2
trap 'kill -9 ${SERVER:-} ${LOAD:-} 2>/dev/null || true; pg start 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="$DATABASE_URL" TESSERA_ADMIN_PASSWORD="outage-admin-password"
PORT=$(free_port)
add_users outage "$CONC" outage-password
SECRET=$(new_client outage --grant password,refresh_token --scope read)
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" & SERVER=$!
ready() { curl -sf --max-time 2 "http://127.0.0.1:$PORT/readyz" >/dev/null; }
wait_ready "http://127.0.0.1:$PORT"
$BIN/tessera-load --url "http://127.0.0.1:$PORT" --client outage --client-secret "$SECRET" \
    --user outage --users "$CONC" --password outage-password --mode refresh \
    --concurrency "$CONC" --seconds "$SECS" --crash-tolerant --state-out "$WORK/chains.jsonl" \
    >"$WORK/load.json" & LOAD=$!
# The chains sign in first; the outage starts once they have rotated for a while. (Not
# `curl | grep -q`: under pipefail, grep leaving early fails the pipeline.)
wait_rotating "http://127.0.0.1:$PORT"
sleep "$AFTER"
pg stop -m fast
STOPPED=$(date +%s%3N)
# Readiness during the outage: how long /readyz takes to answer, and what it says.
READY=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "http://127.0.0.1:$PORT/readyz" || true)
HEALTH=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/healthz" || true)
JWKS=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/.well-known/jwks.json" || true)
sleep "$(python3 -c "print(max(0, $OUTAGE - ($(date +%s%3N) - $STOPPED) / 1000))")"
pg start
STARTED=$(date +%s%3N)
# Back by itself: the first ready answer after PostgreSQL is up again.
for _ in $(seq 1 600); do ready && break; sleep 0.05; done
ready || { echo "not ready 30 s after PostgreSQL came back" >&2; exit 1; }
BACK=$(( $(date +%s%3N) - STARTED ))
wait "$LOAD"
echo "{\"outage_ms\": $((STARTED - STOPPED)), \"readyz_in_outage\": \"$READY\", \"healthz_in_outage\": $HEALTH, \"jwks_in_outage\": $JWKS, \"ready_again_ms\": $BACK, \"load\": $(cat "$WORK/load.json")}"
python3 - "$WORK/load.json" "$READY" "$HEALTH" "$JWKS" <<'PY'
import json, sys
load, ready, health, jwks = sys.argv[1:5]
load = json.load(open(load))
problems = []
bad = {k: v for k, v in load["errors"].items() if "503" not in k}
if bad:
    problems.append(f"answers other than 503 during the outage: {bad}")
if load["busy"] == 0:
    problems.append("no request met the outage (no 503 at all)")
if load["busy_max_ms"] > 2500:
    problems.append(f"a 503 took {load['busy_max_ms']} ms")
code, secs = (ready.split() + ["", ""])[:2]
if code != "503" or float(secs or 99) > 2.5:
    problems.append(f"/readyz in the outage: {ready}")
if health != "200" or jwks != "200":
    problems.append(f"/healthz {health}, JWKS {jwks} in the outage")
if problems:
    sys.exit("; ".join(problems))
PY
python3 tests/crash_check.py "$WORK/chains.jsonl" "$TESSERA_DATABASE_URL" "$WORK/load.json" \
    "http://127.0.0.1:$PORT" outage "$SECRET" "$CONC"
