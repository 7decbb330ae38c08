#!/bin/sh
# Installs Cask and an app's Python dependencies: the install steps of the Docker image in
# docs/deploy.md, kept in one script so that a Debian machine runs the very steps the image does.
#
#   install-cask.sh PACKAGE [REQUIREMENTS]
#
# PACKAGE is anything `npm install --global` takes: the tarball `npm pack` makes in Cask's
# repository, or `cask-wsgi@VERSION` from the npm registry. REQUIREMENTS is the app's
# requirements.txt, installed with pip into a new virtualenv.
#
# Environment:
#   VIRTUAL_ENV  the virtualenv to create (required). Cask runs its workers with
#                $VIRTUAL_ENV/bin/python when it is set, so one setting serves both.
#   CASK_PREFIX  npm's global prefix: `cask` lands in $CASK_PREFIX/bin (default /usr/local).
#   CASK_APT     auto (default): apt-get installs Debian's nodejs, npm and tini only when node
#                or npm is missing; yes: always; no: never.
#   PYTHON       the Python the virtualenv is made from (default python3).
set -eu

NODE_MIN=20.9 # package.json "engines"
PYTHON_MIN=3.8 # the oldest CPython the worker runs on

say() { printf 'install-cask.sh: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then fail "Usage: install-cask.sh PACKAGE [REQUIREMENTS]"; fi
package=$1
requirements=${2-}
[ -n "${VIRTUAL_ENV-}" ] || fail "Set VIRTUAL_ENV to the virtualenv to create: unset"
prefix=${CASK_PREFIX:-/usr/local}
python=${PYTHON:-python3}

# 1. Node and npm from Debian. Debian 13 (trixie) has Node 20; Debian 12's Node 18 is too old.
case ${CASK_APT:-auto} in
  yes) apt=yes ;;
  no)
    apt=no
    say "CASK_APT=no: skipping apt-get"
    ;;
  auto)
    if have node && have npm; then
      apt=no
      say "node and npm are on PATH already: skipping apt-get (CASK_APT=yes runs it anyway)"
    else
      apt=yes
    fi
    ;;
  *) fail "Invalid CASK_APT (auto, yes or no): ${CASK_APT}" ;;
esac
if [ "$apt" = yes ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  # tini: PID 1 in the container, reaping what the app's own subprocesses leave behind.
  apt-get install -y --no-install-recommends nodejs npm tini
  rm -rf /var/lib/apt/lists/*
fi

have node || fail "Find node: not on PATH"
have npm || fail "Find npm: not on PATH"
# Checked before installing, so an old base image fails here and not at the first request.
node -e '
  const [a, b] = process.argv[1].split(".").map(Number);
  const [x, y] = process.versions.node.split(".").map(Number);
  process.exit(x > a || (x === a && y >= b) ? 0 : 1);
' "$NODE_MIN" || fail "Check Node: $NODE_MIN or later needed, found $(node --version)"
have "$python" || fail "Find Python: $python is not on PATH"
"$python" -c '
import sys
sys.exit(sys.version_info < tuple(map(int, sys.argv[1].split("."))))
' "$PYTHON_MIN" || fail "Check Python: $PYTHON_MIN or later needed, found $("$python" -V 2>&1)"

# 2. Cask, as npm installs a published package: its command in $prefix/bin.
npm install --global --prefix "$prefix" --omit=dev --no-audit --no-fund "$package"
"$prefix/bin/cask" --version >/dev/null || fail "Run $prefix/bin/cask: it does not start"

# 3. The app's dependencies, in a virtualenv of their own.
"$python" -m venv "$VIRTUAL_ENV" ||
  fail "Create the virtualenv: $python -m venv failed (on Debian: apt-get install python3-venv)"
if [ -n "$requirements" ]; then
  "$VIRTUAL_ENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
    -r "$requirements"
fi

say "$("$prefix/bin/cask" --version) in $prefix/bin, the app's Python in $VIRTUAL_ENV"
