#!/usr/bin/env bash
# The refresh benchmark against Tessera and, in the same run with the same driver, a
# well-known peer: node-oidc-provider (npm, pinned in tests/peer/package-lock.json) with its
# in-memory store, rotating refresh tokens, ES256, a confidential client with HTTP Basic.
# Prints the two JSON lines and the ratio.
#   tests/bench-peer.sh [concurrency] [seconds]
# Needs Node.js and npm (the peer is installed into tests/peer/node_modules on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
CONC="${1:-64}"; SECS="${2:-5}"
source tests/lib.sh
[ -d tests/peer/node_modules/oidc-provider ] || (cd tests/peer && npm ci --no-audit --no-fund --silent)
WORK="$(mktemp -d)"; trap 'kill ${PEER:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT

TESSERA=$(BENCH_NO_BUILD=1 BENCH_BIN="$BIN" BENCH_CLIENT=confidential tests/bench.sh refresh "$CONC" "$SECS")
echo "tessera: $TESSERA"

PORT=$(free_port)
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
node tests/peer/server.mjs "$PORT" "$CONC" "$SECRET" "$WORK/tokens" 2>"$WORK/peer.log" & PEER=$!
for _ in $(seq 1 100); do
    [ -s "$WORK/tokens" ] && curl -s "http://127.0.0.1:$PORT/.well-known/openid-configuration" >/dev/null && break
    sleep 0.1
done
NODE_PEER=$($BIN/tessera-load --url "http://127.0.0.1:$PORT" --token-path /token --client bench \
    --client-secret "$SECRET" --refresh-tokens "$WORK/tokens" --mode refresh \
    --concurrency "$CONC" --seconds "$SECS")
echo "node-oidc-provider $(node -p 'require("./tests/peer/node_modules/oidc-provider/package.json").version'): $NODE_PEER"
python3 - "$TESSERA" "$NODE_PEER" <<'PY'
import json, sys
t, p = (json.loads(a) for a in sys.argv[1:3])
print(f"ratio: {t['rps'] / max(p['rps'], 1):.1f}x ({t['rps']:.0f} vs {p['rps']:.0f} rotations/s)")
PY
