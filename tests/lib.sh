# Shared by the scripts in tests/ (sourced, from the repository's root). Sets BIN: the
# binaries, BENCH_BIN if given, else the release build, built first unless
# BENCH_NO_BUILD=1.
[ "${BENCH_NO_BUILD:-}" = 1 ] || cargo build --release -q --bin tessera --bin tessera-load
BIN="${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release}"

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# add_users PREFIX COUNT PASSWORD [FLAG...]: users PREFIX0 to PREFIX<COUNT-1>.
add_users() {
    local prefix=$1 count=$2 password=$3 i
    shift 3
    for i in $(seq 0 $((count - 1))); do
        echo "$password" | "$BIN/tessera" user add "$prefix$i" "$@" --password-stdin >/dev/null
    done
}

# new_client ID [FLAG...]: registers a client; prints its secret (nothing if public), or
# on failure what the command said.
new_client() {
    local out
    out=$("$BIN/tessera" client add "$@" 2>&1) || { echo "$out" >&2; return 1; }
    sed -n 's/^client_secret: //p' <<<"$out"
}

# rotations BASE_URL: refresh-token rotations the server has answered 200 so far.
rotations() {
    curl -sf "$1/metrics" |
        awk '/^tessera_token_grants_total\{.*grant="refresh_token".*outcome="ok"/ {n += $NF} END {print n + 0}'
}

# wait_rotating BASE_URL: until the server has answered a first rotation (the load's
# chains sign in first), for about 60 s at most.
wait_rotating() {
    for _ in $(seq 1 1200); do
        [ "$(rotations "$1")" -gt 0 ] && return 0
        sleep 0.05
    done
    echo "no rotation at $1 after 60 s" >&2
    return 1
}

# serve_instances N LOG_PREFIX: starts N servers on free ports, logs to LOG_PREFIX1...;
# appends their pids to SERVERS and their base URLs to URLS, and waits until all are ready.
serve_instances() {
    local n port
    for n in $(seq 1 "$1"); do
        port=$(free_port)
        "$BIN/tessera" serve --listen "127.0.0.1:$port" 2>"$2$n.log" &
        SERVERS+=($!)
        URLS+=("http://127.0.0.1:$port")
    done
    for n in "${URLS[@]}"; do wait_ready "$n"; done
}

# wait_ready BASE_URL: until /readyz says ready: 200 tries 50 ms apart, each given 2 s.
wait_ready() {
    for _ in $(seq 1 200); do
        curl -sf --max-time 2 "$1/readyz" >/dev/null && return 0
        sleep 0.05
    done
    echo "$1 did not become ready" >&2
    return 1
}
