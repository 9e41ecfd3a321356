#!/usr/bin/env bash
# How long `vigil diagnose` takes, whole process included: a healthy loopback URL
# (target: under 50 ms), and the cases that wait for a timeout (target: within the
# timeout plus 1 s): a listener that never answers, and, as root with ip and
# iptables, a SYN dropped by a firewall in a network namespace made here (with and
# without another port of the host answering).
#   scripts/bench-diagnose.sh [RUNS]       (VIGIL=path/to/vigil to skip the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-50}"
if [ -z "${VIGIL:-}" ]; then
  cargo build --release --locked -q -p vigil
  VIGIL="${CARGO_TARGET_DIR:-target}/release/vigil"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hold=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" "$hold" <<'PY' &
import http.server, socket, sys, threading
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status":"UP"}'
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
held = socket.socket(); held.bind(("127.0.0.1", int(sys.argv[2]))); held.listen(64)
threading.Thread(target=lambda: [held.accept() for _ in iter(int, 1)], daemon=True).start()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
PY
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 1
measure() { # label, runs, args...
  local label=$1 count=$2; shift 2
  local times=()
  for _ in $(seq "$count"); do
    local start end
    start=$(date +%s%N)
    "$VIGIL" diagnose "$@" >/dev/null || true
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" '{ t[NR] = $1 } END {
    printf "%-44s runs %3d  p50 %8.1f ms  max %8.1f ms\n", label, NR, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000 }'
}
measure "healthy loopback URL (every layer)" "$runs" "http://127.0.0.1:$port/"
measure "accepts, never answers, --timeout 2s" 3 "http://127.0.0.1:$hold/" --timeout 2s
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && command -v iptables >/dev/null; then
  ns="vgbench$$"
  ip netns add "$ns"
  trap 'kill $server 2>/dev/null; ip netns del "$ns" 2>/dev/null' EXIT
  ip link add "vb$$" type veth peer name "vn$$" netns "$ns"
  ip addr add 10.232.0.1/24 dev "vb$$" && ip link set "vb$$" up
  ip -n "$ns" addr add 10.232.0.2/24 dev "vn$$" && ip -n "$ns" link set "vn$$" up && ip -n "$ns" link set lo up
  ip netns exec "$ns" iptables -A INPUT -p tcp --dport 5000 -j DROP
  ip netns exec "$ns" python3 -c 'import socket,time; s=socket.socket(); s.bind(("0.0.0.0",22)); s.listen(8); time.sleep(120)' &
  listener=$!
  trap 'kill $server $listener 2>/dev/null; ip netns del "$ns" 2>/dev/null' EXIT
  sleep 0.5
  measure "SYN dropped, port 22 answers, --timeout 2s" 3 "http://10.232.0.2:5000/" --timeout 2s
  measure "SYN dropped, host silent, --timeout 2s" 3 "http://10.232.0.2:5000/" --timeout 2s --control-port 5000
else
  echo "firewall cases skipped: they need root, ip and iptables"
fi
