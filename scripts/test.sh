#!/usr/bin/env bash
# Run the whole test suite on a fresh machine: make .venv, install the project and its test
# dependencies, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,onnx]"
exec .venv/bin/python -m pytest -q "$@"
