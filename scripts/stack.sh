#!/usr/bin/env bash
# The local stack behind `make run` / `make stop`: a private Redis, the fake
# messaging platform, zhuqi-fcgi, zhuqi-bot and nginx, all on loopback,
# with state, logs and pid files under var/ in the work tree.
#
#   scripts/stack.sh start|stop|status
#
# nginx serves the site twice on loopback: plain HTTP on PORT (the nginx
# template's local switch, ZQ_LOCAL_HTTP) and HTTPS on TLS_PORT with a
# self-signed certificate made once with openssl in var/tls.
#
# Environment: PORT (nginx, plain HTTP, default 8080), TLS_PORT (nginx,
# HTTPS, default 8443), FAKE_PORT (default 8090), ZQ_BIN_DIR (default
# build/release). Touches only the processes whose pid
# files it wrote in var/run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=$ROOT/var
RUN=$VAR/run
LOG=$VAR/log
PORT=${PORT:-8080}
TLS_PORT=${TLS_PORT:-8443}
FAKE_PORT=${FAKE_PORT:-8090}
BIN_DIR=${ZQ_BIN_DIR:-$ROOT/build/release}
case $BIN_DIR in /*) ;; *) BIN_DIR=$ROOT/$BIN_DIR ;; esac

# name, in start order; each has var/run/NAME.pid and var/log/NAME.log.
NAMES="redis fake-platform zhuqi-fcgi zhuqi-bot nginx"

PATH=$PATH:/usr/sbin:/sbin:/usr/local/sbin
PYTHON=${PYTHON:-python3}

say() { printf '%s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

# The word a process's command line must hold to be ours (guards against a
# recycled pid).
signature() {
    case $1 in
        redis) echo redis-server ;;
        fake-platform) echo fake_platform.py ;;
        zhuqi-fcgi) echo zhuqi-fcgi ;;
        zhuqi-bot) echo zhuqi-bot ;;
        nginx) echo nginx ;;
    esac
}

# Prints the pid of NAME when its pid file names a live process of ours.
live_pid() {
    local f=$RUN/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f" 2>/dev/null) || return 1
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(signature "$1")" || return 1
    # A zombie is not running.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    echo "$pid"
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts "$@" in its own session (so a Ctrl-C in the calling terminal does
# not reach it), output to var/log/NAME.log, pid to var/run/NAME.pid.
launch() {
    local name=$1
    shift
    printf '\n==== %s start %s\n' "$(date -Iseconds)" "$name" >>"$LOG/$name.log"
    STARTED="$STARTED $name"
    setsid "$@" </dev/null >>"$LOG/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
}

wait_until() { # seconds, description, command...
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    say "stack: timed out after ${secs}s waiting for $what" >&2
    return 1
}

redis_up() { redis-cli -s "$RUN/redis.sock" ping 2>/dev/null | grep -q PONG; }
fcgi_up() { [ -S "$RUN/zhuqi-fcgi.sock" ]; }
http_status() { # url -> prints the status code, 000 when no answer
    "$PYTHON" - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
}
health_ok() { [ "$(http_status "http://127.0.0.1:$PORT/api/health")" = 200 ]; }
fake_up() { [ "$(http_status "http://127.0.0.1:$FAKE_PORT/_health")" = 200 ]; }

# The end of the logs of what this run started, from its "==== start"
# marker on.
STARTED=""
tails() {
    local n extra=""
    case " $STARTED " in *" nginx "*) extra=nginx-error ;; esac
    for n in $STARTED $extra; do
        [ -s "$LOG/$n.log" ] || continue
        say "---- $LOG/$n.log"
        awk '/^==== .* start /{n=0} {buf[n++]=$0} END{s=(n>20)?n-20:0; for(i=s;i<n;i++) print buf[i]}' \
            "$LOG/$n.log"
    done
}

demo() {
    PORT=$PORT FAKE_PORT=$FAKE_PORT TOKEN_FILE=$VAR/staff-token \
        "$PYTHON" "$ROOT/scripts/stack_demo.py" "$@"
}

# A self-signed certificate for 127.0.0.1 and localhost, made once.
make_cert() {
    local dir=$VAR/tls
    [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && return 0
    mkdir -p "$dir"
    (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj /CN=localhost \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1) ||
        die "openssl could not make $dir/cert.pem"
}

write_configs() {
    # A staff token for the local console, made once and kept.
    if [ ! -s "$VAR/staff-token" ]; then
        (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VAR/staff-token")
    fi
    # The SMS code pepper ([verify] pepper_file), made once and kept.
    if [ ! -s "$VAR/pepper" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$VAR/pepper")
    fi
    local hash
    hash=$(tr -d '\n' <"$VAR/staff-token" | sha256sum | awk '{print $1}')
    demo rules "$VAR/reminders.json" "$ROOT/config/reminders.json"

    cat >"$VAR/redis.conf" <<EOF
# Generated by scripts/stack.sh: a private Redis for the local stack.
port 0
unixsocket $RUN/redis.sock
unixsocketperm 700
dir $VAR/redis
appendonly yes
appendfsync everysec
save ""
daemonize no
logfile ""
EOF

    (umask 077 && cat >"$VAR/zhuqi.ini" <<EOF
# Generated by scripts/stack.sh for the local stack; config/zhuqi.ini is
# the annotated reference.
[server]
listen = unix:$RUN/zhuqi-fcgi.sock
threads = 64
max_body = 1m
debug_routes = false
# The local stack: plain HTTP on 127.0.0.1 (nginx's ZQ_LOCAL_HTTP), so no
# Secure flag on the session cookie.
local_http = true
cookie_secure = false

[redis]
address = unix:$RUN/redis.sock
prefix = zq:

[log]
level = info

[staff]
token = local:admin:$hash

[intake]
forms_dir = $ROOT/config/forms
regions = $ROOT/config/regions.json
holidays_dir = $ROOT/config/holidays

[workflow]
handling = $ROOT/config/handling.json

[files]
dir = $VAR/files
upload_temp_dir = $VAR/files/incoming

[bot]
poll_ms = 1000
# The shipped rules plus a demo rule due at start (scripts/stack_demo.py).
reminders = $VAR/reminders.json
templates_dir = $ROOT/config/templates

[channels]
# Every platform is the local fake (tests/fake/fake_platform.py).
wecom_base_url = http://127.0.0.1:$FAKE_PORT/wecom
dingtalk_base_url = http://127.0.0.1:$FAKE_PORT/dingtalk
feishu_base_url = http://127.0.0.1:$FAKE_PORT/feishu
telegram_base_url = http://127.0.0.1:$FAKE_PORT/telegram
dingtalk_api_base_url = http://127.0.0.1:$FAKE_PORT/dingtalk
# Generic targets may reach the fake (loopback, plain http) only because
# it is listed here; production lists only an internal gateway, if any.
generic_allow = 127.0.0.1:$FAKE_PORT

# The demo apps whose chats get reminders through the app message APIs
# (scripts/stack_demo.py registers them on the fake).
[wecom]
corp_id = wwdemo0000000001
corp_secret = demo-wecom-app-secret
agent_id = 1000002

[dingtalk]
app_key = dingdemoappkey01
app_secret = demo-dingtalk-app-secret

[feishu]
app_id = cli_demo_app
app_secret = demo-feishu-app-secret

[verify]
# SMS codes: complaints need a verified mobile (the shipped default).
pepper_file = $VAR/pepper

[events]
# The demo shows progress SMS at any hour; the shipped default holds them
# from 21:00 to 08:00 Beijing time.
sms_quiet_hours =
EOF
    )
    # SMS: Tencent Cloud's SendSms on the fake (tests/fake/fake_sms.py: its
    # account, templates, and the secret in a 0600 file); the fake's page
    # shows each SMS as the phone would.
    (umask 077 && "$PYTHON" "$ROOT/tests/fake/fake_sms.py" ini tencent \
        "http://127.0.0.1:$FAKE_PORT" "$VAR/sms.key" >>"$VAR/zhuqi.ini") ||
        die "cannot write the [sms] settings"

    make_cert
    # TLS as shipped on TLS_PORT, plus the local switch on PORT instead of
    # the redirect server.
    ZQ_LISTEN="127.0.0.1:$TLS_PORT" \
        ZQ_TLS_CERT="$VAR/tls/cert.pem" \
        ZQ_TLS_KEY="$VAR/tls/key.pem" \
        ZQ_HTTP_LISTEN=off \
        ZQ_LOCAL_HTTP="127.0.0.1:$PORT" \
        ZQ_SERVER_NAME="localhost" \
        ZQ_HTML_ROOT="$ROOT/nginx/html" \
        ZQ_FCGI_ADDR="unix:$RUN/zhuqi-fcgi.sock" \
        ZQ_CLIENT_MAX_BODY="1m" \
        ZQ_FILES_DIR="$VAR/files" \
        ZQ_UPLOAD_TEMP_DIR="$VAR/files/incoming" \
        ZQ_ACCESS_LOG="$LOG/nginx-access.log" \
        "$PYTHON" - "$ROOT/scripts" "$VAR/nginx" "$RUN/nginx.pid" "$LOG/nginx-error.log" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import render_nginx
try:
    render_nginx.write_private(sys.argv[2], {}, sys.argv[3], sys.argv[4])
except render_nginx.RenderError as e:
    sys.exit("stack: nginx config: %s" % e)
EOF
}

do_start() {
    local n pid running="" down=""
    for n in $NAMES; do
        if pid=$(live_pid "$n"); then running="$running $n($pid)"; else down="$down $n"; fi
    done
    if [ -n "$running" ] && [ -z "$down" ]; then
        say "zhuqi: already running:$running"
        say "  http://127.0.0.1:$PORT/  https://127.0.0.1:$TLS_PORT/   (make stop to stop)"
        return 0
    fi
    if [ -n "$running" ]; then
        say "stack: partly running:$running; not running:$down" >&2
        die "run 'make stop' first, then 'make run'"
    fi

    for n in "$BIN_DIR/zhuqi-fcgi" "$BIN_DIR/zhuqi-bot"; do
        [ -x "$n" ] || die "$n not built (make BUILD=release all)"
    done
    for n in redis-server redis-cli nginx setsid openssl "$PYTHON"; do
        command -v "$n" >/dev/null || die "$n not found (scripts/deps.sh run installs it)"
    done
    port_busy "$PORT" && die "port $PORT on 127.0.0.1 is in use (set PORT=...)"
    port_busy "$TLS_PORT" && die "port $TLS_PORT on 127.0.0.1 is in use (set TLS_PORT=...)"
    port_busy "$FAKE_PORT" && die "port $FAKE_PORT on 127.0.0.1 is in use (set FAKE_PORT=...)"

    mkdir -p "$RUN" "$LOG" "$VAR/redis" "$VAR/nginx" "$VAR/files/incoming"
    for n in $NAMES; do rm -f "$RUN/$n.pid"; done
    write_configs
    local out
    out=$("$BIN_DIR/zhuqi-fcgi" --check-config "$VAR/zhuqi.ini" 2>&1) || die "$out"
    out=$(nginx -t -q -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -e "$LOG/nginx-error.log" 2>&1) ||
        die "$out"
    rm -f "$RUN/nginx.pid" # nginx -t leaves an empty one behind

    # Anything that fails from here on takes the started ones down again.
    trap 'say "stack: start failed; logs:" >&2; tails >&2; do_stop >&2' ERR

    rm -f "$RUN/redis.sock"
    launch redis redis-server "$VAR/redis.conf"
    wait_until 10 "redis" redis_up

    launch fake-platform "$PYTHON" "$ROOT/tests/fake/fake_platform.py" \
        --port "$FAKE_PORT" --log "$LOG/fake-platform.log"
    wait_until 10 "the fake platform" fake_up

    launch zhuqi-fcgi "$BIN_DIR/zhuqi-fcgi" -c "$VAR/zhuqi.ini"
    wait_until 10 "zhuqi-fcgi's socket" fcgi_up

    launch nginx nginx -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" -e "$LOG/nginx-error.log"
    wait_until 20 "http://127.0.0.1:$PORT/api/health to answer 200" health_ok

    # The push demo: targets for every channel (and a class) exist before
    # the bot starts, so that the demo reminder due at start reaches them.
    demo setup
    launch zhuqi-bot "$BIN_DIR/zhuqi-bot" -c "$VAR/zhuqi.ini"
    local notice
    notice=$(demo notice)

    for n in $NAMES; do
        live_pid "$n" >/dev/null || { say "stack: $n died while starting" >&2; false; }
    done
    trap - ERR

    say "zhuqi is running:"
    say "  site            http://127.0.0.1:$PORT/"
    say "  site over TLS   https://127.0.0.1:$TLS_PORT/   (self-signed: $VAR/tls/cert.pem)"
    say "  health          http://127.0.0.1:$PORT/api/health"
    say "  fake platform   http://127.0.0.1:$FAKE_PORT/   (messages the bot sent: a demo reminder"
    say "                  and notice $notice for each channel arrive within seconds)"
    say "  notice report   curl -H \"Authorization: Bearer \$(cat $VAR/staff-token)\" \\"
    say "                    http://127.0.0.1:$PORT/api/admin/notices/$notice"
    say "  reminder preview $BIN_DIR/zhuqi-bot -c $VAR/zhuqi.ini --dry-run --at 2026-12-26T16:00"
    say "  staff token     $VAR/staff-token"
    say "  logs            $LOG/"
    say "stop it with: make stop"
}

# Stops NAME if its pid file names a live process of ours: TERM, up to
# 10 s, then KILL. Removes the pid file.
stop_one() {
    local n=$1 pid i
    if ! pid=$(live_pid "$n"); then
        if [ -e "$RUN/$n.pid" ]; then
            rm -f "$RUN/$n.pid"
            say "$n: not running (stale pid file removed)"
        fi
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        live_pid "$n" >/dev/null || break
        sleep 0.1
    done
    if live_pid "$n" >/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        say "$n: stopped (pid $pid, killed after 10s)"
    else
        say "$n: stopped (pid $pid)"
    fi
    rm -f "$RUN/$n.pid"
}

do_stop() {
    [ -d "$RUN" ] || { say "zhuqi: nothing to stop"; return 0; }
    # Front to back: no new requests, then the programs, then storage.
    local n any=""
    for n in nginx zhuqi-bot zhuqi-fcgi fake-platform redis; do
        [ -e "$RUN/$n.pid" ] && any=1
        stop_one "$n"
    done
    [ -n "$any" ] || say "zhuqi: nothing was running"
}

do_status() {
    local n pid up=0 total=0
    for n in $NAMES; do
        total=$((total + 1))
        if pid=$(live_pid "$n"); then
            say "$(printf '%-14s running (pid %s)' "$n" "$pid")"
            up=$((up + 1))
        else
            say "$(printf '%-14s not running' "$n")"
        fi
    done
    if [ "$up" -eq "$total" ]; then
        say "http://127.0.0.1:$PORT/ health: $(http_status "http://127.0.0.1:$PORT/api/health")"
        return 0
    fi
    [ "$up" -eq 0 ] && return 3
    return 1
}

case ${1:-} in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
