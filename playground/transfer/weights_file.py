"""An uploaded Keras weights file for a backbone: checked (not empty, the HDF5 signature) and
kept under the data folder by content, so two uploads never collide and the name the browser
sent is never a path."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playground.data.images import short_name
from playground.errors import SpecError
from playground.paths import data_dir

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"  # the first 8 bytes of every HDF5 (.h5) file


def safe_weights_name(name: str, data: bytes) -> str:
    """A file name for an uploaded weights file: ASCII letters, digits, ``._-`` only, a content
    hash in front (two uploads never collide), and the Keras suffix kept."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    suffix = ".weights.h5" if base.lower().endswith(".weights.h5") else ".h5"
    stem = base[:-len(suffix)] if base.lower().endswith(suffix) else base.rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "weights"
    digest = hashlib.sha1(data).hexdigest()[:10]
    return f"{digest}_{stem}{suffix}"


def check_weights_file(name: str, data: bytes) -> None:
    """SpecError naming the file when ``data`` cannot be a Keras weights file."""
    where = f"weights file {short_name(name)!r}"
    if not data:
        raise SpecError(where, "is an empty file")
    if data[:len(HDF5_SIGNATURE)] != HDF5_SIGNATURE:
        raise SpecError(where, "is not an HDF5 file (a Keras weights file starts with the HDF5 "
                               "signature)")


def save_weights_file(name: str, data: bytes) -> Path:
    """Check the upload and keep it in the data folder's ``weights/`` (written once per
    content); returns its path."""
    check_weights_file(name, data)
    folder = data_dir() / "weights"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_weights_name(name, data)
    if not path.exists():
        path.write_bytes(data)
    return path


__all__ = ["HDF5_SIGNATURE", "check_weights_file", "safe_weights_name", "save_weights_file"]
