"""Image sets the user uploaded, kept as decoded arrays (never as the uploaded files): the
``upload`` data set reads one back by id, so a background worker, a later session and the
results page (thumbnails of misclassified images) all see the same pixels."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from playground.data.base import DATASETS, Dataset, DatasetInfo, split
from playground.errors import SpecError
from playground.paths import data_dir

_ID = re.compile(r"^[0-9a-f]{12}$")


def _folder() -> Path:
    path = data_dir() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_images(x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...] | list[str],
                name: str = "upload", meta: dict[str, Any] | None = None) -> str:
    """Store uint8 images (N, H, W, C) with labels; returns the new set's id."""
    if x.dtype != np.uint8 or x.ndim != 4 or len(x) != len(y):
        raise SpecError("image set", "needs uint8 images (N, H, W, C) and one label each")
    set_id = uuid.uuid4().hex[:12]
    np.savez(_folder() / f"{set_id}.npz", x=x, y=np.asarray(y, dtype="int32"))
    info = {"id": set_id, "name": name, "class_names": list(class_names), "count": int(len(x)),
            "shape": list(x.shape[1:]), "created": time.time(), "meta": meta or {}}
    (_folder() / f"{set_id}.json").write_text(json.dumps(info))
    return set_id


def saved_info(set_id: str) -> dict[str, Any]:
    if not _ID.match(str(set_id)):
        raise SpecError("image set", f"{set_id!r} is not an image-set id")
    path = _folder() / f"{set_id}.json"
    if not path.is_file():
        raise SpecError(f"image set '{set_id}'", "does not exist (was it deleted?)")
    return json.loads(path.read_text())


def list_saved() -> list[dict[str, Any]]:
    """Every stored image set, newest first."""
    out = []
    for p in _folder().glob("*.json"):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    return sorted(out, key=lambda d: d.get("created", 0), reverse=True)


def unique_set_name(name: str, taken: Iterable[str] | None = None) -> str:
    """``name``, or ``"name (2)"``, ``"name (3)"``... when an image set (of ``taken``, by
    default every stored set the user made) already has it, so the pickers tell sets apart."""
    name = " ".join(str(name).split()) or "my images"
    if taken is None:
        taken = [s.get("name", "") for s in list_saved()
                 if not s.get("meta", {}).get("resized_from")]
    used = {str(n).casefold() for n in taken}
    stem = re.sub(r" \((\d+)\)$", "", name)
    out, n = name, 1
    while out.casefold() in used:
        n += 1
        out = f"{stem} ({n})"
    return out


def load_arrays(set_id: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    info = saved_info(set_id)
    with np.load(_folder() / f"{set_id}.npz") as f:
        return f["x"], f["y"], tuple(info["class_names"])


def load_upload(id: str = "", val_split: float = 0.2, seed: int = 0) -> Dataset:
    x, y, names = load_arrays(id)
    return split("upload", x, y, names, val_split, seed, set_id=id)


def _upload_count(options: dict[str, Any]) -> int | None:
    try:
        return int(saved_info(options.get("id", ""))["count"])
    except (SpecError, OSError, ValueError, KeyError):
        return None


DATASETS.add("upload", DatasetInfo(
    "upload", "Images uploaded in the app (stored as arrays by id).", load_upload, True,
    {"id": "", "val_split": 0.2, "seed": 0}, count_of=_upload_count))
