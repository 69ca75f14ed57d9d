"""Test-wide environment and shared helpers.

The environment is set before Keras is first imported: Keras' cache and the playground's data
folder live in temporary folders, never in the user's home. Helpers used by more than one test
module live here (import them with ``from conftest import ...``); playground modules are imported
inside them, so importing this file never loads Keras early.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="playground-keras-home-")
os.environ["PLAYGROUND_DATA"] = tempfile.mkdtemp(prefix="playground-data-")

# module -> the global registry it holds (see playground.registry)
REGISTRIES = {"playground.blocks": "BLOCKS", "playground.zoo": "ZOO",
              "playground.cost.handlers": "HANDLERS", "playground.data": "DATASETS"}


@pytest.fixture(autouse=True)
def _registries_restored(monkeypatch):
    """Whatever a test adds to a global registry (a data set, a block...) is gone after it, so
    no test sees another's entries and the suite passes in any order."""
    for module, attr in REGISTRIES.items():
        registry = getattr(sys.modules.get(module), attr, None)
        if registry is not None:
            monkeypatch.setattr(registry, "_items", dict(registry._items))


# --- run store ----------------------------------------------------------------------------


def fake_run(store, name: str, dataset: str = "shapes", macs: float = 1e6,
             accs: tuple[float, ...] = (0.5, 0.8, 0.9), status: str = "FINISHED",
             error: str | None = None, architecture: str = "quick-cnn") -> str:
    """A run as a worker would leave it: params, per-epoch metrics, a terminal status."""
    run_id = store.create_run(name, {"architecture": architecture, "dataset": dataset,
                                     "cost.macs": int(macs), "cost.params": 1000 + int(macs) // 100,
                                     "epochs": len(accs), "batch_size": 32, "data.train": 320,
                                     "kind": "train", "backend": "tensorflow"})
    store.mark_running(run_id)
    best = 0.0
    for epoch, acc in enumerate(accs, start=1):
        best = max(best, acc)
        store.log_metrics(run_id, {"loss": 1.5 - acc, "val_loss": 1.6 - acc, "accuracy": acc,
                                   "val_accuracy": acc, "best_val_accuracy": best,
                                   "epochs_done": epoch, "train_seconds": 0.5 * epoch,
                                   "images_per_s": 1000.0}, epoch)
        store.log_metrics(run_id, {"batch_loss": 1.55 - acc}, epoch * 10 - 5)
    store.finish(run_id, status, error)
    return run_id


def wait_terminal(store, run_id: str, timeout: float = 180, fail: bool = True):
    """The run once it has ended; past ``timeout`` seconds (a worker imports TensorFlow first:
    allow for a busy 2-core machine) it is cancelled, and the test fails unless ``fail=False``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = store.get(run_id)
        if not rec.active:
            return rec
        time.sleep(0.5)
    store.cancel(run_id)
    if fail:
        pytest.fail(f"run {run_id} still {store.get(run_id).status} after {timeout} s:\n"
                    + store.log_tail(run_id, 40))
    return store.get(run_id)


# --- image files ----------------------------------------------------------------------------


def png(img: np.ndarray) -> bytes:
    """``img`` (uint8, H x W or H x W x C) encoded as a PNG file."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def shape_files(classes: int = 2, count: int = 40, size: int = 48) -> dict[str, list]:
    """Generated shapes as PNG files, ``{class: [(name, bytes)]}``."""
    from playground.data.builtin import make_shapes
    ds = make_shapes(classes=classes, image_size=size, count=count, channels=3, seed=3)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    out: dict[str, list] = {}
    for i, (img, label) in enumerate(zip(x, y)):
        out.setdefault(ds.class_names[label], []).append((f"{ds.class_names[label]}_{i}.png",
                                                          png(img)))
    return out


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding ``{name: data}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()
