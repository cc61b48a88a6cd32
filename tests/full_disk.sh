#!/usr/bin/env bash
# SQLite on a full disk (RELIABILITY.md): refresh chains rotate against a server whose
# database lives on a small tmpfs; the disk is filled for a few seconds and freed again.
# While it is full, writes must fail with 503 `temporarily_unavailable` (never a 500),
# reads and token verification must keep working (JWKS, introspection, /healthz); once
# space returns, service must resume by itself, nothing acknowledged may be lost, and the
# database must pass SQLite's integrity check. Needs root (it mounts the tmpfs).
#   tests/full_disk.sh [concurrency=16] [seconds=12] [fill_after=3] [full_seconds=4]
# BENCH_BIN: the binaries (default $CARGO_TARGET_DIR/release); BENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
CONC="${1:-16}"; SECS="${2:-12}"; AFTER="${3:-3}"; FULL="${4:-4}"
[ "$(id -u)" = 0 ] || { echo "full_disk.sh needs root to mount a tmpfs" >&2; exit 1; }
source tests/lib.sh
WORK="$(mktemp -d)"; DISK="$WORK/disk"; mkdir -p "$DISK"
mount -t tmpfs -o size="${DISK_SIZE:-256m}" tmpfs "$DISK"
cleanup() {
    kill -9 ${SERVER:-} ${LOAD:-} 2>/dev/null || true
    wait 2>/dev/null || true
    [ -z "${KEEP_WORK:-}" ] || cp "$WORK/server.log" "$KEEP_WORK" 2>/dev/null || true
    umount "$DISK" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
export TESSERA_DATABASE_URL="sqlite://$DISK/full.db?mode=rwc" TESSERA_ADMIN_PASSWORD="full-admin-password"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
add_users full "$CONC" full-password
SECRET=$(new_client full --grant password,refresh_token,client_credentials --scope read)
$BIN/tessera serve --listen "127.0.0.1:$PORT" 2>>"$WORK/server.log" & SERVER=$!
wait_ready "$BASE"
# An access token issued before the disk fills, to verify while it is full.
ACCESS=$(curl -sf -u "full:$SECRET" "$BASE/oauth/token" -d grant_type=client_credentials |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
$BIN/tessera-load --url "$BASE" --client full --client-secret "$SECRET" \
    --user full --users "$CONC" --password full-password --mode refresh \
    --concurrency "$CONC" --seconds "$SECS" --crash-tolerant --state-out "$WORK/chains.jsonl" \
    >"$WORK/load.json" & LOAD=$!
wait_rotating "$BASE"
sleep "$AFTER"
WAL=$(stat -c %s "$DISK/full.db-wal" 2>/dev/null || echo 0)
dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null || true
FILLED=$(date +%s%3N)
sleep 0.5
# Reads and verification while the disk is full.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }
JWKS=$(code "$BASE/.well-known/jwks.json")
HEALTH=$(code "$BASE/healthz")
INTROSPECT=$(curl -s --max-time 5 -u "full:$SECRET" "$BASE/oauth/introspect" -d "token=$ACCESS" || true)
WRITE=$(code -u "full:$SECRET" "$BASE/oauth/token" -d grant_type=password -d username=full0 -d password=full-password)
sleep "$(python3 -c "print(max(0, $FULL - ($(date +%s%3N) - $FILLED) / 1000))")"
rm -f "$DISK/filler"
FREED=$(date +%s%3N)
# Back by itself: a write succeeds again.
for _ in $(seq 1 200); do
    [ "$(code -u "full:$SECRET" "$BASE/oauth/token" -d grant_type=client_credentials)" = 200 ] && break
    sleep 0.05
done
BACK=$(( $(date +%s%3N) - FREED ))
wait "$LOAD"
echo "{\"wal_bytes_before_fill\": $WAL, \"full_ms\": $((FREED - FILLED)), \"write_when_full\": $WRITE, \"jwks_when_full\": $JWKS, \"healthz_when_full\": $HEALTH, \"introspection_when_full\": $INTROSPECT, \"writes_back_ms\": $BACK, \"load\": $(cat "$WORK/load.json")}"
python3 - "$WORK/load.json" "$WRITE" "$JWKS" "$HEALTH" "$INTROSPECT" "$BACK" <<'PY'
import json, sys
load = json.load(open(sys.argv[1]))
write, jwks, health, introspection, back = sys.argv[2:7]
problems = []
bad = {k: v for k, v in load["errors"].items() if "503" not in k}
if bad:
    problems.append(f"answers other than 503 while the disk was full: {bad}")
if load["busy"] == 0:
    problems.append("no request met the full disk (no 503 at all)")
# SQLite may still fit a small write into log pages it already has: 200 or 503.
if write not in ("200", "503"):
    problems.append(f"a sign-in on the full disk answered {write}")
if jwks != "200" or health != "200":
    problems.append(f"JWKS {jwks}, /healthz {health} on the full disk")
if '"active":true' not in introspection.replace(" ", ""):
    problems.append(f"introspection on the full disk: {introspection}")
if int(back) > 5000:
    problems.append(f"writes came back only {back} ms after space did")
if problems:
    sys.exit("; ".join(problems))
PY
python3 tests/crash_check.py "$WORK/chains.jsonl" "$TESSERA_DATABASE_URL" "$WORK/load.json" \
    "$BASE" full "$SECRET" "$CONC"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
python3 - "$DISK/full.db" <<'PY'
import sqlite3, sys
result = sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0]
if result != "ok":
    sys.exit(f"integrity check: {result}")
print("integrity check: ok")
PY
