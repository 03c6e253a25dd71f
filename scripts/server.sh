#!/usr/bin/env bash
# Starts, stops and reports the embedded SecantusDB server.
#   scripts/server.sh start [NAME] [--memory]   start (if not running); prints the URI
#   scripts/server.sh stop  [NAME]              stop by pid (SIGTERM, then SIGKILL)
#   scripts/server.sh uri   [NAME]              print the URI of a running server
# State lives in .server/NAME/ (pid, port, uri, log); data in .data/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}; name=${2:-default}; mode=${3:-}
state=".server/$name"
venv=".venv"

running() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ping() {
  "$venv/bin/python" - "$1" <<'PY'
import socket, struct, sys
# A minimal OP_MSG {ping: 1, $db: "admin"}; avoids depending on a driver here.
port = int(sys.argv[1])
doc = b'\x10ping\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00'
doc = struct.pack('<i', len(doc) + 4) + doc
body = struct.pack('<I', 0) + b'\x00' + doc
msg = struct.pack('<iiii', 16 + len(body), 1, 0, 2013) + body
try:
    s = socket.create_connection(('127.0.0.1', port), timeout=2)
    s.sendall(msg)
    data = s.recv(4096)
    sys.exit(0 if len(data) > 16 else 1)
except OSError:
    sys.exit(1)
PY
}

case "$cmd" in
  start)
    if running; then cat "$state/uri"; exit 0; fi
    [ -x "$venv/bin/secantusd-py" ] || { echo "server.sh: $venv is missing; run 'make venv' first" >&2; exit 1; }
    mkdir -p "$state"
    port=$(free_port)
    if [ "$mode" = "--memory" ]; then storage=":memory:"; else storage=".data/$name"; mkdir -p "$storage"; fi
    # Started in its own session with every inherited descriptor above 2
    # closed: a caller waiting for this script (or for its pipes) must not
    # wait for the server too.
    (
      for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
      exec setsid "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$storage" \
        --log-level WARNING < /dev/null > "$state/log" 2>&1
    ) &
    echo $! > "$state/pid"
    echo "$port" > "$state/port"
    echo "mongodb://127.0.0.1:$port/?directConnection=true" > "$state/uri"
    for _ in $(seq 1 120); do
      if ping "$port"; then cat "$state/uri"; exit 0; fi
      if ! running; then echo "server.sh: the server exited; its log:" >&2; cat "$state/log" >&2; exit 1; fi
      sleep 0.25
    done
    echo "server.sh: the server did not answer ping within 30 s; log in $state/log" >&2
    exit 1
    ;;
  stop)
    if running; then
      pid=$(cat "$state/pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$state/pid" "$state/uri" "$state/port"
    ;;
  uri)
    if running; then cat "$state/uri"; else echo "server.sh: no server '$name' is running; start it with 'make server'" >&2; exit 1; fi
    ;;
  *)
    echo "usage: scripts/server.sh start|stop|uri [NAME] [--memory]" >&2; exit 2 ;;
esac
