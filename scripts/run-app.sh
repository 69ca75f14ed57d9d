#!/usr/bin/env bash
# Install what the app needs into .venv (first run only takes a while), then start it on
# http://127.0.0.1:8501. On a machine where `nvidia-smi` lists a GPU it also installs JAX with
# CUDA (the `gpu` extra), and training runs default to JAX on the GPU. Extra arguments go to
# `streamlit run`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras=""
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  extras="[gpu]"  # JAX with CUDA: training runs use the GPU (see README, "On a GPU machine")
fi
.venv/bin/python -m pip install -q -e ".$extras"
# No file watcher by default (an idle watcher over the checkout kept a core busy);
# PLAYGROUND_DEV=1 reloads pages when their source changes, by polling the app's own modules
# (the inotify watcher walks the whole checkout, .venv included: ~40% of a core while idle).
watch=(--server.fileWatcherType none)
if [ "${PLAYGROUND_DEV:-}" = 1 ]; then watch=(--server.fileWatcherType poll --server.runOnSave true); fi
exec .venv/bin/python -m streamlit run app.py "${watch[@]}" "$@"
