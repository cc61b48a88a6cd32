#!/usr/bin/env bash
# Refresh on N `tessera serve` instances sharing one PostgreSQL database, one driver per
# instance, all at once. Prints each driver's JSON line and the total.
#   DATABASE_URL=postgres://... tests/bench-instances.sh [instances] [chains each] [seconds]
# The database should be empty (e.g. DROP DATABASE / CREATE DATABASE first).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2}"; CONC="${2:-32}"; SECS="${3:-10}"
: "${DATABASE_URL:?set DATABASE_URL=postgres://... (instances share one database)}"
source tests/lib.sh
WORK="$(mktemp -d)"; SERVERS=(); trap 'kill "${SERVERS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="$DATABASE_URL" TESSERA_ADMIN_PASSWORD="bench-admin-password"
add_users bench "$CONC" bench-password
SECRET=$(new_client bench --grant password,refresh_token --scope read)
URLS=()
serve_instances "$N" "$WORK/server"
DRIVERS=()
for n in $(seq 1 "$N"); do
    $BIN/tessera-load --url "${URLS[$((n - 1))]}" --client bench --client-secret "$SECRET" \
        --user bench --users "$CONC" --password bench-password --mode refresh \
        --concurrency "$CONC" --seconds "$SECS" > "$WORK/driver$n.json" & DRIVERS+=($!)
done
for d in "${DRIVERS[@]}"; do wait "$d"; done
cat "$WORK"/driver*.json
python3 -c 'import json, sys; print("total:", sum(json.load(open(f))["rps"] for f in sys.argv[1:]), "rotations/s")' "$WORK"/driver*.json
