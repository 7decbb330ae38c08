#!/usr/bin/env bash
# --worker-scheduling inherit against batch, alternated: the whole server (front and one
# worker × 4 threads) on CPU 1, wrk -t1 -c50 on CPU 0, one short run of each mode after the
# other so that a slow spell of the machine falls on both. For each shape and mode: the
# median over the rounds of req/s and of each process's CPU time per request (from /proc).
# Usage: bench/scheduling-ab.sh [rounds] [seconds]     (default 5 rounds of 4 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-4}
tick=$(getconf CLK_TCK)
port=18811
python=${PYTHON:-/usr/bin/python3}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {  # mode app wrk-args... → one line: rps front-µs worker-µs
  local mode=$1 app=$2
  shift 2
  CASK_WORKER_SCHEDULING=$mode taskset -c 1 node bin/cask.js serve "$app" --chdir bench/apps \
    -w 1 --threads 4 --python "$python" -b "127.0.0.1:$port" 2>/dev/null &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c50 -d1s "$@" "http://127.0.0.1:$port/" >/dev/null
  local worker front0 worker0 result
  worker=$(cat "/proc/$server/task/"*/children | awk '{print $1}')
  front0=$(ticks "$server")
  worker0=$(ticks "$worker")
  result=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" "$@" "http://127.0.0.1:$port/")
  local front1 worker1 requests rps
  front1=$(ticks "$server")
  worker1=$(ticks "$worker")
  requests=$(awk '/requests in/ {print $1}' <<<"$result")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$result")
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=
  awk -v r="$requests" -v s="$rps" -v f=$((front1 - front0)) -v w=$((worker1 - worker0)) -v t="$tick" \
    'BEGIN { printf "%.0f %.1f %.1f\n", s, f / t * 1e6 / r, w / t * 1e6 / r }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

shapes=("hello keep-alive|hello:application|" "hello close|hello:application|-H|Connection: close"
  "flask close|flask_hello:application|-H|Connection: close")
for shape in "${shapes[@]}"; do
  IFS='|' read -r -a parts <<<"$shape"
  name=${parts[0]} app=${parts[1]}
  args=("${parts[@]:2}")
  [ -n "${args[0]:-}" ] || args=()
  for round in $(seq "$rounds"); do
    for mode in inherit batch; do
      run "$mode" "$app" "${args[@]}" >>"$out/$name.$mode"
    done
  done
done

printf '| shape | mode | req/s | front CPU µs/req | worker CPU µs/req |\n| --- | --- | ---: | ---: | ---: |\n'
for shape in "${shapes[@]}"; do
  name=${shape%%|*}
  for mode in inherit batch; do
    printf '| %s | %s | %s | %s | %s |\n' "$name" "$mode" \
      "$(cut -d' ' -f1 "$out/$name.$mode" | median)" "$(cut -d' ' -f2 "$out/$name.$mode" | median)" \
      "$(cut -d' ' -f3 "$out/$name.$mode" | median)"
  done
done
