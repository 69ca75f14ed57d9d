#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: make .venv, install the project and its test
# dependencies, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# System tools the tests use: Graphviz's `dot` (SVG export) and Debian's Chromium at
# /usr/bin/chromium (browser end-to-end tests, driven by Playwright; never `playwright install`).
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: install ${missing[*]} (apt) for the SVG export and browser end-to-end tests" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# ray: tests/test_executors.py runs every executor test on both executors (local and a local Ray)
.venv/bin/python -m pip install -q -e ".[test,onnx,ray]"
exec .venv/bin/python -m pytest -q -n 2 "$@"
