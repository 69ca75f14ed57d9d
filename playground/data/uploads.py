"""Uploaded files kept under the data folder's ``uploads/``, named by their content hash: the
same upload on every rerun is the same file (written once, never one copy per rerun), and the
name the browser sent is never used as a path (only its cleaned base name, inside a folder per
content, where a loader's message should name the user's file)."""
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


def upload_file_name(sent: str, suffix: str, limit: int = 100) -> str:
    """The name the browser sent, fit to be the last part of a path and to be named in
    messages: its base name only, control characters and path separators gone, leading dots
    dropped, at most ``limit`` characters, ending in ``suffix`` (``"model" + suffix`` when
    nothing is left)."""
    base = str(sent).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().lstrip(".")
    stem = base[:-len(suffix)] if base.lower().endswith(suffix.lower()) else base
    stem = stem.strip()[:max(1, limit - len(suffix))].strip() or "model"
    return stem + suffix


def save_upload_as(data: bytes, filename: str) -> Path:
    """``uploads/<hash>/<filename>`` holding ``data``: for loaders whose messages name the
    file. ``filename`` must be a plain file name (see :func:`upload_file_name`)."""
    if not filename or filename in (".", "..") or any(c in filename for c in "/\\\0"):
        raise ValueError(f"not a plain file name: {filename!r}")
    digest = hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]
    return _write_once(uploads_dir() / digest / filename, data)


__all__ = ["save_upload", "save_upload_as", "upload_file_name", "uploads_dir"]
