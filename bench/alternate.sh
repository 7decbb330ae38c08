#!/usr/bin/env bash
# Servers measured in alternation: one short run of each after the other, round after round,
# so that a slow spell of the machine (CPU steal on a shared host moves a figure by up to 2×
# within minutes) falls on every server alike. Each server with 1 worker × 4 threads on CPU 1,
# `wrk -t1 -c50` on CPU 0. For each shape and server: the median over the rounds of req/s,
# of its ratio to the first server of the same round, and of each process's CPU time per
# request (from /proc).
#
# Usage: bench/alternate.sh [-r ROUNDS] [-s SECONDS] [-a APP] [-c] SERVER...
#   SERVER   LABEL=DIR[:VAR=VALUE]  Cask from checkout DIR (built), with VAR=VALUE in its
#                                   environment (e.g. CASK_WORKER_SCHEDULING=inherit)
#            uwsgi                  uWSGI --http-socket, as `cask bench` starts it
#   -r       rounds (default 5)     -s  measured seconds per run (default 4)
#   -a       app in bench/apps (default hello:application)
#   -c       Connection: close on every request (default: keep-alive)
# Example: bench/alternate.sh -c before=/tmp/old after=. uwsgi
set -euo pipefail
cd "$(dirname "$0")/.."
apps=$PWD/bench/apps
rounds=5 seconds=4 app=hello:application close=()
while getopts r:s:a:c opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    s) seconds=$OPTARG ;;
    a) app=$OPTARG ;;
    c) close=(-H 'Connection: close') ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: bench/alternate.sh [-r N] [-s S] [-a APP] [-c] SERVER..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
tick=$(getconf CLK_TCK)
port=18811
python=${PYTHON:-/usr/bin/python3}
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tree() { echo "$1"; for c in $(cat "/proc/$1/task/"*/children 2>/dev/null); do tree "$c"; done; }

start() {  # SERVER → sets $server
  local spec=$1
  if [ "$spec" = uwsgi ]; then
    (cd "$apps" && exec taskset -c 1 /usr/bin/uwsgi --plugin python3 --chdir "$apps" \
      --module "${app%%:*}:${app##*:}" --need-app --master --processes 1 --threads 4 \
      --disable-logging --die-on-term --http-socket "127.0.0.1:$port" >/dev/null 2>&1) &
  else
    local rest=${spec#*=} dir env=()
    dir=${rest%%:*}
    [ "$rest" != "$dir" ] && env=("${rest#*:}")
    # The Node flags the `cask` command runs with (the first line of bin/cask.js), as
    # `cask bench` starts it, so that a checkout is measured as a user would run it.
    local flags
    read -ra flags <<<"$(head -1 "$dir/bin/cask.js" | sed -n 's/^#!.* node //p')"
    (cd "$dir" && exec env "${env[@]}" taskset -c 1 node "${flags[@]}" bin/cask.js serve "$app" \
      --chdir "$apps" -w 1 --threads 4 --python "$python" -b "127.0.0.1:$port" >/dev/null 2>&1) &
  fi
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "$spec did not start" >&2
  exit 1
}

run() {  # SERVER → "rps cpu-of-each-process..." (the leader first)
  start "$1"
  taskset -c 0 wrk -t1 -c50 -d1s "${close[@]}" "http://127.0.0.1:$port/" >/dev/null
  local pids p result requests
  pids=$(tree "$server")
  declare -A before
  for p in $pids; do before[$p]=$(ticks "$p"); done
  result=$(taskset -c 0 wrk -t1 -c50 -d"${seconds}s" "${close[@]}" "http://127.0.0.1:$port/")
  requests=$(awk '/requests in/ {print $1}' <<<"$result")
  local line
  line=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$result")
  for p in $pids; do
    line+=" $(awk -v u=$(($(ticks "$p") - before[$p])) -v t="$tick" -v r="$requests" \
      'BEGIN { printf "%.1f", u / t * 1e6 / r }')"
  done
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=
  echo "$line"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for round in $(seq "$rounds"); do
  first=
  for i in $(seq $#); do
    line=$(run "${!i}")
    rps=${line%% *}
    [ -n "$first" ] || first=$rps
    echo "$line $(awk -v a="$rps" -v b="$first" 'BEGIN { printf "%.2f", a / b }')" >>"$out/$i"
  done
done

shape="$app, $([ ${#close[@]} -gt 0 ] && echo 'Connection: close' || echo keep-alive)"
printf '%s, %s rounds of %s s (medians)\n\n' "$shape" "$rounds" "$seconds"
printf '| server | req/s | ÷ %s | CPU µs/req by process |\n| --- | ---: | ---: | --- |\n' "${1%%=*}"
for i in $(seq $#); do
  f=$out/$i
  n=$(head -1 "$f" | wc -w)
  cpus=
  for col in $(seq 2 $((n - 1))); do cpus+="$(cut -d' ' -f"$col" "$f" | median) / "; done
  printf '| %s | %s | %s× | %s |\n' "${!i%%=*}" "$(cut -d' ' -f1 "$f" | median)" \
    "$(cut -d' ' -f"$n" "$f" | median)" "${cpus% / }"
done
