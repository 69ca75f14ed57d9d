"""Generated data sets made once per option set: kept in memory for this process and on disk
under the data folder, so a second run (another worker process) loads instead of regenerating."""
from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any, Callable

import numpy as np

from playground.paths import data_dir

GENERATOR_VERSION = 2  # bump when a generator's output changes: old files are then ignored
_MEMORY: dict[str, tuple[np.ndarray, np.ndarray]] = {}
_MEMORY_MAX = 4
_LOCK = threading.Lock()


def cache_key(kind: str, options: dict[str, Any]) -> str:
    """A file-name-safe key for one generator and its options."""
    text = json.dumps([kind, GENERATOR_VERSION, options], sort_keys=True)
    return f"{kind}-{hashlib.sha1(text.encode()).hexdigest()[:16]}"


def generated(kind: str, options: dict[str, Any],
              make: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) for ``kind`` with ``options``: from memory, from disk, or ``make()``."""
    key = cache_key(kind, options)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    path = data_dir() / "datasets" / f"{key}.npz"
    arrays = None
    if path.is_file():
        try:
            with np.load(path) as f:
                arrays = (f["x"], f["y"])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # a torn or foreign file: make it again
    if arrays is None:
        arrays = make()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, x=arrays[0], y=arrays[1])
        tmp.replace(path)  # atomic: concurrent workers never read half a file
    with _LOCK:
        while len(_MEMORY) >= _MEMORY_MAX:
            _MEMORY.pop(next(iter(_MEMORY)))
        _MEMORY[key] = arrays
    return arrays
