#!/usr/bin/env bash
# Log rules against mawk on one core, same file, same run (BENCHMARKS.md, "Log rules:
# backtest throughput"). vigil backtest runs the seed rule in full (JSON, label filters,
# event time, the 10-minute window, alerts); mawk runs a regex match on the endpoint, one
# field split and a threshold count — no JSON, no time, no window.
#
#   scripts/bench-rules-vs-mawk.sh [LINES]     # default 1,000,000
#
# Needs python3 and mawk (apt-get install mawk); builds vigil in release.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
TARGET=${CARGO_TARGET_DIR:-target}
command -v mawk >/dev/null || { echo "mawk is not installed (apt-get install mawk)" >&2; exit 1; }
cargo build --release -q -p vigil
VIGIL="$TARGET/release/vigil"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 scripts/gen-access-log.py "$LINES" > "$WORK/access.log"
sed 's#"path":"[^"]*"#"path":"/api/data"#' "$WORK/access.log" > "$WORK/worst.log"
cat > "$WORK/rules.yaml" <<'YAML'
rules:
  - name: slow-api-data
    expr: sum(count_over_time({app="api"} | json | path = "/api/data" | duration > 3s [10m])) > 5
YAML
# Seconds of the fastest of five runs of "$@" on core 0.
fastest() {
  local best=""
  for _ in 1 2 3 4 5; do
    local start end
    start=$(date +%s.%N)
    taskset -c 0 "$@" > /dev/null 2>&1
    end=$(date +%s.%N)
    best=$(awk -v b="$best" -v s="$start" -v e="$end" 'BEGIN { t = e - s; print (b == "" || t < b) ? t : b }')
  done
  echo "$best"
}
for log in access worst; do
  file="$WORK/$log.log"
  vigil=$(fastest "$VIGIL" backtest "$file" -c "$WORK/rules.yaml" --labels app=api)
  mawk=$(fastest mawk -F'"duration":"' '/"path":"\/api\/data"/ { split($2, d, "s\""); if (d[1] + 0 > 3) n++ } END { print n + 0 }' "$file")
  awk -v name="$log" -v n="$LINES" -v v="$vigil" -v m="$mawk" 'BEGIN {
    printf "%-7s vigil backtest %5.2f M lines/s (%.3f s)   mawk %5.2f M lines/s (%.3f s)   vigil/mawk %.2fx\n", name, n / v / 1e6, v, n / m / 1e6, m, m / v
  }'
done
echo "reproduce: scripts/bench-rules-vs-mawk.sh $LINES"
