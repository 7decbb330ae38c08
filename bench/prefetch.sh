#!/usr/bin/env bash
# Requests per second of a hello-world app under Cask for several --prefetch values, with
# 1 worker: the server (Node front and Python worker together) pinned to CPU 1 and wrk
# pinned to CPU 0. --prefetch is the floor of the depth (src/pool/prefetch-depth.ts): a
# hello world's requests are short enough that the depth grows past any floor below 128
# once the worker's pace is known, so 0 (off) against the others is what this shows now.
# Usage: bench/prefetch.sh [threads] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
seconds=${2:-5}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
port=18700
printf '| prefetch | threads | req/s | p50 latency | p99 latency |\n| ---: | ---: | ---: | ---: | ---: |\n'
for prefetch in 0 1 2 4 8 16 32; do
  port=$((port + 1))
  taskset -c 1 node bin/cask.js serve hello:application --chdir bench/apps -w 1 --threads "$threads" \
    --prefetch "$prefetch" -b "127.0.0.1:$port" 2>/dev/null &
  pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c50 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1  # warm-up
  out=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" --latency "http://127.0.0.1:$port/")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$prefetch" "$threads" "$rps" "$p50" "$p99"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
