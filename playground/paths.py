"""Where the playground keeps its files (caches now; runs and uploads later)."""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$PLAYGROUND_DATA``, else ``data/`` in a source checkout, else ``~/.convnet-playground``."""
    env = os.environ.get("PLAYGROUND_DATA")
    if env:
        path = Path(env)
    else:
        root = Path(__file__).resolve().parent.parent
        path = root / "data" if (root / "pyproject.toml").exists() else (
            Path.home() / ".convnet-playground")
    path.mkdir(parents=True, exist_ok=True)
    return path
