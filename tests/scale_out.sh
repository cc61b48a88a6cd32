#!/usr/bin/env bash
# Scale-out: N `tessera serve` instances on one PostgreSQL database. Refresh chains rotate
# across all of them (each chain's requests go to the instances in turn), and meanwhile
# tests/scale_out.py replays and races tokens across instances, rotates a signing key and
# changes users and clients through one instance, and times when every instance honours
# each change. Then tests/crash_check.py checks every chain and the whole database: no
# token exchanged twice, no family with two live heads, every chain's last token still
# exchangeable.
#   tests/scale_out.sh [instances=4] [chains=32] [seconds=40]
# DATABASE_URL: an empty PostgreSQL database (required). KEY_RELOAD: the instances'
# key_reload_interval (default: the server's, 10 s).
# BENCH_BIN: the binaries (default $CARGO_TARGET_DIR/release); BENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-4}"; CONC="${2:-32}"; SECS="${3:-40}"
[ "$N" -ge 2 ] || { echo "scale_out.sh needs at least two instances" >&2; exit 2; }
: "${DATABASE_URL:?set DATABASE_URL to an empty PostgreSQL database}"
source tests/lib.sh
WORK="$(mktemp -d)"; SERVERS=()
trap 'kill "${SERVERS[@]}" ${LOAD:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
export TESSERA_DATABASE_URL="$DATABASE_URL" TESSERA_ADMIN_PASSWORD="scale-admin-password"
# One deployment, one issuer: the name clients know it by, not each instance's address.
export TESSERA_ISSUER="http://tessera.scale.test"
[ -z "${KEY_RELOAD:-}" ] || export TESSERA_KEY_RELOAD_INTERVAL="$KEY_RELOAD"
add_users scale "$CONC" scale-password
SECRET=$(new_client scale --grant password,refresh_token --scope read)
MACHINE=$(new_client machine --grant client_credentials --scope read)
GONE=$(new_client gone --grant client_credentials --scope read)
URLS=()
serve_instances "$N" "$WORK/server"
ALL=$(IFS=,; echo "${URLS[*]}")
$BIN/tessera-load --url "$ALL" --client scale --client-secret "$SECRET" \
    --user scale --users "$CONC" --password scale-password --mode refresh \
    --concurrency "$CONC" --seconds "$SECS" --crash-tolerant --state-out "$WORK/chains.jsonl" \
    >"$WORK/load.json" & LOAD=$!
# The checks run while the chains rotate.
wait_rotating "${URLS[0]}"
RELOAD="${KEY_RELOAD:-10}"
CHECKS=0
SCALE_CLIENT=scale SCALE_SECRET="$SECRET" SCALE_USER=scale0 SCALE_PASSWORD=scale-password \
    SCALE_MACHINE=machine SCALE_MACHINE_SECRET="$MACHINE" SCALE_GONE=gone SCALE_GONE_SECRET="$GONE" \
    python3 tests/scale_out.py "$TESSERA_ADMIN_PASSWORD" "$RELOAD" "${URLS[@]}" >"$WORK/checks.json" ||
    CHECKS=$?
if kill -0 "$LOAD" 2>/dev/null; then LOADED=true; else
    LOADED=false; CHECKS=1
    echo "the load ended before the checks did: give it more seconds" >&2
fi
wait "$LOAD"; LOAD=
echo "{\"instances\": $N, \"checks_under_load\": $LOADED, \"checks\": $(cat "$WORK/checks.json"), \"load\": $(cat "$WORK/load.json")}"
# No rotation of the chains failed: nothing was killed, so any error is a fault.
python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["errors"]; sys.exit(1 if e else 0)' \
    "$WORK/load.json" || { echo "the refresh chains saw errors" >&2; CHECKS=1; }
for n in $(seq 1 "$N"); do
    if grep -E ' ERROR |key_prepublish is no longer' "$WORK/server$n.log" >&2; then
        echo "instance $n logged the errors above" >&2; CHECKS=1
    fi
done
python3 tests/crash_check.py "$WORK/chains.jsonl" "$TESSERA_DATABASE_URL" "$WORK/load.json" \
    "${URLS[1]}" scale "$SECRET" "$CONC"
exit "$CHECKS"
