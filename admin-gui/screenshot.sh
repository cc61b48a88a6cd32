#!/usr/bin/env bash
# Screenshots of the desktop admin (tessera-admin) against a demo server with realistic data.
#
#   admin-gui/screenshot.sh            # installs what is missing, builds, writes admin-gui/screenshots/*.png
#                                      # and docs/img/admin-clients.png (the client editor)
#
# Environment:
#   SCREENSHOT_NO_BUILD=1     use existing binaries instead of `cargo build --release`
#   TESSERA_BIN=DIR           directory holding `tessera` and `tessera-admin`
#                             (default: ${CARGO_TARGET_DIR:-<repo>/target}/release)
#   SCREENSHOT_WAIT=SECS      how long the GUI renders before the capture (default 6)
#   SCREENSHOT_SCREENS="..."  screens to capture (default: dashboard users clients keys sessions
#                             audit signins client-editor); signins is the sessions screen's
#                             browser sign-ins, client-editor the editor of a browser client
#   SCREENSHOT_SEED_ONLY=1    stop after seeding and checking the data (no Xvfb, no GUI)
#   SCREENSHOT_KEEP=1         after seeding (or capturing), keep the server running until Ctrl-C
#
# The GUI is started once per screen with TESSERA_ADMIN_URL, TESSERA_ADMIN_USERNAME,
# TESSERA_ADMIN_PASSWORD and TESSERA_ADMIN_SCREEN (and TESSERA_ADMIN_EDIT_CLIENT); it signs in
# and opens that screen (and that client's editor) by itself.
# Everything started here (server, Xvfb, GUI) is stopped and the temp dir removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/admin-gui/screenshots"
BIN_DIR=${TESSERA_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release}
WAIT=${SCREENSHOT_WAIT:-6}
SCREENS=${SCREENSHOT_SCREENS:-dashboard users clients keys sessions audit signins client-editor}
ADMIN_PASSWORD=demo-admin-password
SCREEN_W=1280
SCREEN_H=800

log() { printf '[screenshot] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. packages -------------------------------------------------------------------------
PACKAGES=(xvfb xauth imagemagick xdotool jq curl libgl1 libegl1 libgl1-mesa-dri libegl-mesa0
          libxkbcommon-x11-0 libxcursor1 libxi6 libxrandr2 libx11-xcb1 libfontconfig1)
if [[ ${SCREENSHOT_SEED_ONLY:-0} == 1 ]]; then PACKAGES=(jq curl); fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    SUDO=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "need root (or sudo) to install: ${missing[*]}"
        SUDO=(sudo)
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. build ----------------------------------------------------------------------------
if [[ ${SCREENSHOT_NO_BUILD:-0} != 1 ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q --bin tessera --bin tessera-admin)
fi
TESSERA="$BIN_DIR/tessera"
ADMIN_GUI="$BIN_DIR/tessera-admin"
[[ -x $TESSERA ]] || die "$TESSERA not found (build it, or set TESSERA_BIN)"
if [[ ${SCREENSHOT_SEED_ONLY:-0} != 1 ]]; then
    [[ -x $ADMIN_GUI ]] || die "$ADMIN_GUI not found (build it, or set TESSERA_BIN)"
fi

# --- cleanup -----------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tessera-screenshot.XXXXXX")
SERVER_PID="" XVFB_PID="" GUI_PID=""
stop() { # pid: TERM, then KILL after 5 s
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    set +e
    stop "$GUI_PID"
    stop "$SERVER_PID"
    stop "$XVFB_PID"
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 3. server ---------------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then PORT=$p; break; fi
done
[[ -n $PORT ]] || die "no free port found"
BASE="http://127.0.0.1:$PORT"
DB_URL="sqlite://$TMP/demo.db?mode=rwc"
# The server reads every TESSERA_* variable as a setting and rejects unknown ones (such as
# TESSERA_BIN or the GUI's TESSERA_ADMIN_URL), so start from none.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^TESSERA_' || true)
export RUST_LOG=warn TESSERA_ADMIN_PASSWORD=$ADMIN_PASSWORD
# Plain http on loopback: cookies without `Secure` (and `__Host-`), so curl keeps them.
export TESSERA_COOKIE_SECURE=false
# The CLI commands below talk to the same database file as the running server.
export TESSERA_DATABASE_URL=$DB_URL TESSERA_LISTEN=127.0.0.1:$PORT

log "starting the server on $BASE (database $TMP/demo.db)"
"$TESSERA" serve --listen "127.0.0.1:$PORT" --database-url "$DB_URL" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for i in $(seq 150); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$TMP/server.log" >&2; die "the server exited"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" || true)
    [[ $code == 200 ]] && break
    ((i < 150)) || { cat "$TMP/server.log" >&2; die "the server did not answer /healthz"; }
    sleep 0.2
done

# --- 4. demo data ------------------------------------------------------------------------
log "seeding demo data"
add_user() { # name password [--admin]
    local name=$1 password=$2; shift 2
    printf '%s\n' "$password" | "$TESSERA" user add "$name" "$@" --password-stdin >/dev/null
}
add_user alice 'alice-correct-horse'
add_user bob 'bob-battery-staple'
add_user carol 'carol-purple-otter'
add_user dave 'dave-quiet-harbor'
add_user erin 'erin-silver-maple'
add_user ops-admin 'ops-admin-keeps-watch' --admin

"$TESSERA" client add web-app --public --grant password,refresh_token \
    --scope "openid profile read write" >/dev/null
"$TESSERA" client add mobile-app --public --grant password,refresh_token \
    --scope "openid profile read" --reuse-leeway 10 >/dev/null
REPORTS_SECRET=$("$TESSERA" client add reports-service --grant client_credentials \
    --scope "reports:read metrics:read" 2>"$TMP/client.err" | sed -nE 's/.*client_secret: *([^ ]+).*/\1/p')
[[ -n $REPORTS_SECRET ]] || die "no client_secret printed for reports-service"
# Browser apps: a single-page app with its refresh token in a cookie, and a third-party
# dashboard that asks users for consent.
SPA_REDIRECT=https://app.example.com/callback
"$TESSERA" client add web-spa --public --grant authorization_code,refresh_token \
    --scope "openid profile read write" --redirect-uri "$SPA_REDIRECT" \
    --redirect-uri http://127.0.0.1:5173/callback --origin https://app.example.com \
    --origin http://127.0.0.1:5173 --refresh-cookie --access-ttl 300 >/dev/null
"$TESSERA" client add partner-dashboard --grant authorization_code,refresh_token \
    --scope "profile read" --redirect-uri https://partner.example.net/oauth/callback \
    --consent >/dev/null 2>&1

# POST /oauth/token; prints the JSON body. The user agent (shown by the admin) follows the client.
agent() {
    case $1 in
        web-app) echo "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" ;;
        mobile-app) echo "TesseraMobile/2.4.1 (Android 14; Pixel 8)" ;;
        reports-service) echo "reports-service/1.7.0 reqwest/0.12" ;;
        *) echo "tessera-admin/0.1.0" ;;
    esac
}
token() { # client curl-args...
    local client=$1; shift
    curl -sS -X POST -A "$(agent "$client")" "$BASE/oauth/token" "$@"
}
sign_in() { # client user password -> refresh token
    local body rt
    body=$(token "$1" -d grant_type=password -d "client_id=$1" -d "username=$2" \
        --data-urlencode "password=$3")
    rt=$(jq -r '.refresh_token // empty' <<<"$body")
    [[ -n $rt ]] || die "sign-in of $2 via $1 failed: $body"
    printf '%s' "$rt"
}
refresh() { # client refresh_token -> new refresh token
    local body rt
    body=$(token "$1" -d grant_type=refresh_token -d "client_id=$1" -d "refresh_token=$2")
    rt=$(jq -r '.refresh_token // empty' <<<"$body")
    [[ -n $rt ]] || die "refresh via $1 failed: $body"
    printf '%s' "$rt"
}
fail_login() { # client user password: expected to be refused
    local body
    body=$(token "$1" -d grant_type=password -d "client_id=$1" -d "username=$2" \
        --data-urlencode "password=$3")
    [[ $(jq -r '.error // empty' <<<"$body") == invalid_grant ]] \
        || die "a wrong password for $2 was not refused: $body"
}

# A browser sign-in session through the sign-in page (GET the page, POST the form), as a
# browser does; the code it is sent back with is not exchanged.
browser_sign_in() { # user password user-agent
    local jar="$TMP/jar-$1" page csrf code
    local q=(--data-urlencode response_type=code --data-urlencode client_id=web-spa
             --data-urlencode "redirect_uri=$SPA_REDIRECT" --data-urlencode "scope=openid profile"
             --data-urlencode state=demo --data-urlencode code_challenge_method=S256
             --data-urlencode code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM)
    page=$(curl -sS -G -c "$jar" -A "$3" "$BASE/oauth/authorize" "${q[@]}")
    csrf=$(sed -nE 's/.*name="csrf_token" value="([^"]+)".*/\1/p' <<<"$page" | head -n1)
    [[ -n $csrf ]] || die "no sign-in page for $1: $page"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" -A "$3" \
        "$BASE/oauth/authorize" "${q[@]}" --data-urlencode "csrf_token=$csrf" \
        --data-urlencode "username=$1" --data-urlencode "password=$2" --data-urlencode action=sign_in)
    [[ $code == 303 ]] || die "browser sign-in of $1 failed (HTTP $code)"
}
browser_sign_in alice 'alice-correct-horse' \
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
browser_sign_in carol 'carol-purple-otter' \
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
browser_sign_in dave 'dave-quiet-harbor' \
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"

# Sign-ins, with a few refresh rotations.
rt=$(sign_in web-app alice 'alice-correct-horse')
rt=$(refresh web-app "$rt")
alice_rt=$(refresh web-app "$rt")
carol_rt=$(sign_in mobile-app carol 'carol-purple-otter')
carol_new=$(refresh mobile-app "$carol_rt")
# A retry with the just-spent token inside mobile-app's 10 s leeway: allowed, no reuse alarm.
body=$(token mobile-app -d grant_type=refresh_token -d client_id=mobile-app -d "refresh_token=$carol_rt")
[[ -n $(jq -r '.refresh_token // empty' <<<"$body") ]] || die "the retry inside the leeway was refused: $body"
sign_in mobile-app dave 'dave-quiet-harbor' >/dev/null
sign_in web-app erin 'erin-silver-maple' >/dev/null
erin_rt=$(sign_in mobile-app erin 'erin-silver-maple')
sign_in web-app ops-admin 'ops-admin-keeps-watch' >/dev/null
sign_in tessera-admin ops-admin 'ops-admin-keeps-watch' >/dev/null

# Erin signs out of the mobile app (RFC 7009): that family is revoked with reason logout.
curl -sS -o /dev/null -X POST -A "$(agent mobile-app)" "$BASE/oauth/revoke" -d client_id=mobile-app -d "token=$erin_rt"

# Service tokens for the confidential client.
for _ in 1 2 3; do
    body=$(token reports-service -u "reports-service:$REPORTS_SECRET" -d grant_type=client_credentials)
    [[ -n $(jq -r '.access_token // empty' <<<"$body") ]] \
        || die "client_credentials for reports-service failed: $body"
done

# Failed logins (wrong passwords; at most 2 per user, below the throttling threshold).
fail_login web-app bob 'bob-battery-stapel'
fail_login web-app bob 'Bob-battery-staple'
fail_login mobile-app dave 'dave-quiet-harbour'
fail_login web-app carol 'hunter2'
fail_login web-app mallory 'password123'
fail_login web-app admin 'admin'

# Reuse detection: bob refreshes T0 -> T1, then T0 is presented again (as a thief would);
# the whole family is revoked with reason reuse_detected.
bob_t0=$(sign_in web-app bob 'bob-battery-staple')
bob_t1=$(refresh web-app "$bob_t0")
body=$(token web-app -d grant_type=refresh_token -d client_id=web-app -d "refresh_token=$bob_t0")
[[ $(jq -r '.error // empty' <<<"$body") == invalid_grant ]] || die "reuse was not refused: $body"
body=$(token web-app -d grant_type=refresh_token -d client_id=web-app -d "refresh_token=$bob_t1")
[[ $(jq -r '.error // empty' <<<"$body") == invalid_grant ]] \
    || die "the family survived reuse detection: $body"
: "$alice_rt" "$carol_new"

# Check the data through the admin API.
AT=$(token tessera-admin -d grant_type=password -d client_id=tessera-admin -d username=admin \
    --data-urlencode "password=$ADMIN_PASSWORD" | jq -r '.access_token // empty')
[[ -n $AT ]] || die "the admin could not sign in"
admin_get() { curl -sS -f -H "Authorization: Bearer $AT" "$BASE/admin/v1/$1"; }
reuse_total=$(admin_get 'families?reason=reuse_detected' | jq -r '.total')
[[ $reuse_total == 1 ]] || die "expected 1 reuse_detected family, found $reuse_total"
admin_get stats >"$TMP/stats.json"
signins_total=$(admin_get signin-sessions | jq -r '.total')
[[ $signins_total == 3 ]] || die "expected 3 browser sign-in sessions, found $signins_total"
log "seeded: $(admin_get users | jq -r .total) users, $(admin_get clients | jq -r .total) clients," \
    "$(admin_get families | jq -r .total) families, $(admin_get audit | jq -r .total) audit events," \
    "$reuse_total reuse detection, $signins_total browser sign-ins"

keep_running() {
    log "server running at $BASE (admin / $ADMIN_PASSWORD); Ctrl-C to stop"
    wait "$SERVER_PID"
}
if [[ ${SCREENSHOT_SEED_ONLY:-0} == 1 ]]; then
    jq -c '{totals, recent_reuse_detections, last_minute: .points[-1]}' "$TMP/stats.json" >&2
    [[ ${SCREENSHOT_KEEP:-0} == 1 ]] && keep_running
    exit 0
fi

# --- 5. screenshots ----------------------------------------------------------------------
DISPLAY_NUM=99
while [[ -e /tmp/.X$DISPLAY_NUM-lock || -e /tmp/.X11-unix/X$DISPLAY_NUM ]]; do
    DISPLAY_NUM=$((DISPLAY_NUM + 1))
done
Xvfb ":$DISPLAY_NUM" -screen 0 "${SCREEN_W}x${SCREEN_H}x24" -nolisten tcp >"$TMP/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=":$DISPLAY_NUM"
for i in $(seq 100); do
    xdotool getdisplaygeometry >/dev/null 2>&1 && break
    kill -0 "$XVFB_PID" 2>/dev/null || { cat "$TMP/xvfb.log" >&2; die "Xvfb exited"; }
    ((i < 100)) || die "Xvfb did not start"
    sleep 0.1
done

mkdir -p "$OUT" "$TMP/xdg/data" "$TMP/xdg/config" "$TMP/xdg/cache" "$TMP/xdg/runtime"
chmod 700 "$TMP/xdg/runtime"
gui_window() { # the GUI's visible window id, if it has one yet (by _NET_WM_PID, else any top-level)
    local w root
    w=$(xdotool search --onlyvisible --pid "$GUI_PID" 2>/dev/null | head -n1 || true)
    if [[ -z $w ]]; then
        root=$(xdotool search --maxdepth 0 --name '' 2>/dev/null | head -n1 || true)
        w=$(xdotool search --maxdepth 1 --onlyvisible --name '' 2>/dev/null \
            | grep -vx "${root:-none}" | head -n1 || true)
    fi
    printf '%s' "$w"
}
for screen in $SCREENS; do
    log "capturing $screen"
    gui_screen=$screen edit="" out="$OUT/$screen.png"
    if [[ $screen == client-editor ]]; then
        gui_screen=clients edit=web-spa out="$ROOT/docs/img/admin-clients.png"
        mkdir -p "$ROOT/docs/img"
    fi
    env -u WAYLAND_DISPLAY \
        LIBGL_ALWAYS_SOFTWARE=1 WINIT_UNIX_BACKEND=x11 \
        XDG_DATA_HOME="$TMP/xdg/data" XDG_CONFIG_HOME="$TMP/xdg/config" \
        XDG_CACHE_HOME="$TMP/xdg/cache" XDG_RUNTIME_DIR="$TMP/xdg/runtime" \
        TESSERA_ADMIN_URL="$BASE" TESSERA_ADMIN_USERNAME=admin \
        TESSERA_ADMIN_PASSWORD="$ADMIN_PASSWORD" TESSERA_ADMIN_SCREEN="$gui_screen" \
        ${edit:+"TESSERA_ADMIN_EDIT_CLIENT=$edit"} \
        "$ADMIN_GUI" >"$TMP/gui-$screen.log" 2>&1 &
    GUI_PID=$!
    # Wait for the window (up to 30 s), fill the screen with it, then let it render.
    win=""
    for _ in $(seq 300); do
        kill -0 "$GUI_PID" 2>/dev/null || { cat "$TMP/gui-$screen.log" >&2; die "the GUI exited"; }
        win=$(gui_window)
        [[ -n $win ]] && break
        sleep 0.1
    done
    if [[ -n $win ]]; then
        xdotool windowmove "$win" 0 0 windowsize "$win" "$SCREEN_W" "$SCREEN_H" 2>/dev/null || true
    else
        log "warning: no window found for the GUI; capturing the screen anyway"
    fi
    sleep "$WAIT"
    kill -0 "$GUI_PID" 2>/dev/null || { cat "$TMP/gui-$screen.log" >&2; die "the GUI exited"; }
    import -window root "PNG:$TMP/$screen.png"
    convert "$TMP/$screen.png" -resize '1100x>' -strip -dither None -colors 256 \
        "PNG8:$out"
    stop "$GUI_PID"
    GUI_PID=""
    log "  $out ($(($(stat -c %s "$out") / 1024)) KB)"
done

[[ ${SCREENSHOT_KEEP:-0} == 1 ]] && keep_running
log "done"
