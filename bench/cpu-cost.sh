#!/usr/bin/env bash
# CPU time per request, split by process, for a hello-world app: Cask's Node front and its
# Python worker, beside uWSGI (--http-socket) and gunicorn (sync), each with 1 worker, and the
# two Node rows of `cask bench` that run no app: raw-net (the ceiling) and net-hop (raw-net
# plus a round trip to a Python process per request, the floor of Cask's design), and raw-net
# again on bare TCP handles without net.Socket (raw-handle: what the Socket costs). Each is
# pinned to CPU 1 while wrk (pinned to CPU 0) drives 50 keep-alive connections, or a new
# connection per request with `close`. CPU time per request moves far less with background
# load than requests per second do.
# Usage: bench/cpu-cost.sh [seconds] [close]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
shape=()
[ "${2:-}" = close ] && shape=(-H 'Connection: close')
tick=$(getconf CLK_TCK)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
tree() { echo "$1"; for c in $(cat "/proc/$1/task/"*/children 2>/dev/null); do tree "$c"; done; }

measure() {  # name port pid-of-group-leader
  local name=$1 port=$2 leader=$3
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c50 -d1s "${shape[@]}" "http://127.0.0.1:$port/" >/dev/null 2>&1
  local pids; pids=$(tree "$leader")
  declare -A before
  for p in $pids; do before[$p]=$(cpu_ticks "$p"); done
  local out; out=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" "${shape[@]}" "http://127.0.0.1:$port/")
  local requests; requests=$(awk '/requests in/ {print $1}' <<<"$out")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  for p in $pids; do
    [ -r "/proc/$p/stat" ] || continue
    local used=$(( $(cpu_ticks "$p") - ${before[$p]} ))
    [ "$used" -gt 0 ] || continue
    local comm; comm=$(cat "/proc/$p/comm")
    awk -v n="$name" -v c="$comm" -v u="$used" -v t="$tick" -v r="$requests" -v s="$rps" \
      'BEGIN { printf "| %s | %s | %.1f | %s |\n", n, c, u / t * 1e6 / r, s }'
  done
}

started=()
trap 'for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
printf '| server | process | CPU µs per request | req/s |\n| --- | --- | ---: | ---: |\n'
taskset -c 1 node bin/cask.js serve hello:application --chdir bench/apps -w 1 -b 127.0.0.1:18801 2>/dev/null &
cask=$!; started+=("$cask")
measure cask 18801 "$cask"; kill "$cask"; wait "$cask" 2>/dev/null || true

if command -v uwsgi >/dev/null; then
  (cd bench/apps && exec taskset -c 1 uwsgi --plugin python3 --module hello:application --master --processes 1 \
    --disable-logging --die-on-term --http-socket 127.0.0.1:18802 >/dev/null 2>&1) &
  uw=$!; started+=("$uw")
  measure uwsgi 18802 "$uw"; kill "$uw"; wait "$uw" 2>/dev/null || true
fi
if /usr/bin/python3 -c 'import gunicorn' 2>/dev/null; then
  (cd bench/apps && exec taskset -c 1 /usr/bin/python3 -m gunicorn -w 1 -k sync -b 127.0.0.1:18803 hello:application >/dev/null 2>&1) &
  gu=$!; started+=("$gu")
  measure gunicorn-sync 18803 "$gu"; kill "$gu"; wait "$gu" 2>/dev/null || true
fi

taskset -c 1 node bench/launchers/raw-net.mjs 18804 &
raw=$!; started+=("$raw")
measure raw-net 18804 "$raw"; kill "$raw"; wait "$raw" 2>/dev/null || true
taskset -c 1 node bench/launchers/net-hop.mjs 18805 /usr/bin/python3 &
hop=$!; started+=("$hop")
measure net-hop 18805 "$hop"; kill "$hop"; wait "$hop" 2>/dev/null || true
taskset -c 1 node bench/launchers/raw-handle.mjs 18806 &
bare=$!; started+=("$bare")
measure raw-handle 18806 "$bare"; kill "$bare"; wait "$bare" 2>/dev/null || true
