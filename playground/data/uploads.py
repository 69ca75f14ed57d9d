"""Uploaded files kept under the data folder's ``uploads/``, named by their content hash: the
same upload on every rerun is the same file (written once, never one copy per rerun), and the
name the browser sent is never used as a path."""
from __future__ import annotations

import hashlib
from pathlib import Path

from playground.paths import data_dir

DIGEST_CHARS = 20


def uploads_dir() -> Path:
    """The folder uploads are kept in (created when missing)."""
    folder = data_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_once(path: Path, data: bytes) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def save_upload(data: bytes, suffix: str) -> Path:
    """``uploads/<hash>.<suffix>`` holding ``data`` (a zip of images, a CSV table)."""
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]
    return _write_once(uploads_dir() / f"{digest}.{suffix.lstrip('.')}", data)


def save_upload_as(data: bytes, filename: str) -> Path:
    """``uploads/<hash>/<filename>`` holding ``data``: for loaders whose messages name the
    file (``filename`` is ours, e.g. ``model.keras``, never the browser's)."""
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]
    return _write_once(uploads_dir() / digest / filename, data)


__all__ = ["save_upload", "save_upload_as", "uploads_dir"]
