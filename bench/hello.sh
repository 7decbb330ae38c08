#!/bin/sh
# Hello world with one worker under Cask, gunicorn (sync) and uWSGI (--http-socket), each
# server pinned to one CPU with taskset and driven by `wrk -t1 -c50 -d10s` pinned to the
# other CPU, in one run; prints the table (medians of 3 runs, 2 s wrk warm-up before each;
# the plain hello app, without the inside-view middleware).
# The exact server and wrk commands are in the Commands section of the results.md it
# writes. Needs: a built Cask (`npm run build`), and Debian's gunicorn, uwsgi,
# uwsgi-plugin-python3 and wrk.
#
#   bench/hello.sh [more cask bench options, e.g. --repeat 5]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! -f dist/cli.js ]; then
  echo "bench/hello.sh: Cask is not built: run npm run build" >&2
  exit 2
fi
command -v wrk >/dev/null || { echo "bench/hello.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
out="bench/results/tmp-hello-$(date +%Y%m%d-%H%M%S)"
node --import tsx bench/cask-bench.ts \
  --servers cask,gunicorn-sync,uwsgi --scenarios hello --load wrk \
  --workers 1 --threads 1 --connections 50 --duration 10 --warmup 2 --repeat 3 --no-inside \
  --out "$out" "$@"
# The hello table of the report (req/s, spread, latency, CPU, inside view).
sed -n '/^## hello —/,/^## /p' "$out/results.md" | sed '$d'
echo "full report: $out/results.md, $out/results.html"
