"""Uploaded image files sorted into classes (files dropped into a named class, or a zip with a
folder per class) on their way to an image set: every file that cannot be used keeps its
reason, a zip refused as a whole is one :class:`SpecError`, and the class counts get warnings.
Plain text only: the page decides how to show it."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from playground.data.images import (MIN_PER_CLASS, Duplicate, IngestReport, decode_image, ingest,
                                    read_zip, short_name)
from playground.data.resize import THUMB
from playground.errors import SpecError

MAX_FILE_BYTES = 25 * 2**20        # one uploaded image file
FEW_IMAGES = 10                    # fewer per class than this: a warning
IMBALANCE_RATIO = 3.0              # largest / smallest class above this: a warning

Files = dict[str, list[tuple[str, bytes]]]
Keyed = dict[str, list[tuple[str, str]]]  # {class: [(file name, content key)]}
SET_NAME_CHARS = 60                # the longest image-set name made from an upload


def clean_class_name(text: str) -> str:
    """A class name typed by the user, trimmed to one line of at most 40 printable characters
    ('' when nothing usable is left)."""
    text = "".join(c if c.isprintable() else (" " if c.isspace() else "") for c in str(text))
    return re.sub(r"\s+", " ", text).strip()[:40].strip()


def _too_big(data: bytes, max_file_bytes: int) -> str | None:
    if len(data) > max_file_bytes:
        return (f"is {len(data) / 2**20:.1f} MB; the limit is {max_file_bytes / 2**20:.0f} MB "
                "per image")
    return None


def gather(class_files: Mapping[str, Iterable[tuple[str, bytes]]],
           zips: Iterable[tuple[str, bytes]] = (), report: IngestReport | None = None,
           max_file_bytes: int = MAX_FILE_BYTES) -> tuple[Files, IngestReport, list[SpecError]]:
    """All uploaded files as ``{class: [(name, bytes)]}``: files dropped into named classes plus
    the class folders of each zip (merged by class name). Oversize and empty files are rejected
    here with their reason; a zip refused as a whole is one error in the returned list."""
    report = report if report is not None else IngestReport()
    out: Files = {}
    problems: list[SpecError] = []
    for cls, files in class_files.items():
        for name, data in files:
            reason = _too_big(data, max_file_bytes)
            if reason:
                report.reject(name, reason)
                continue
            out.setdefault(cls, []).append((name, data))
    for zname, data in zips:
        where = f"zip file {short_name(zname)!r}"
        try:
            found = read_zip(data, report=report, where=where)
        except SpecError as e:
            problems.append(e)
            continue
        if not found:
            problems.append(SpecError(where, "holds no images in class folders (put one folder "
                                             "per class in the zip)"))
        for cls, files in found.items():
            out.setdefault(clean_class_name(cls) or cls, []).extend(files)
    return out, report, problems


def content_key(data: bytes) -> str:
    """What makes two uploaded files the same image: the SHA-256 of their bytes (the same photo
    added through both tabs, or twice in one zip, has the same bytes)."""
    return hashlib.sha256(data).hexdigest()


def _first_copies(items: Mapping[str, Iterable[tuple[str, Any]]], key: Any
                  ) -> tuple[dict[str, list[tuple[str, Any]]], list[Duplicate]]:
    """``items`` with each content's first copy only (content ``key(value)``), in order."""
    first: dict[Any, tuple[str, str]] = {}
    kept: dict[str, list[tuple[str, Any]]] = {}
    dups = []
    for cls, files in items.items():
        left = kept.setdefault(cls, [])
        for name, value in files:
            k = key(value)
            if k in first:
                dups.append(Duplicate(name, cls, *first[k]))
            else:
                first[k] = (name, cls)
                left.append((name, value))
    emptied = {d.cls for d in dups}
    return {c: v for c, v in kept.items() if v or c not in emptied}, dups


def find_duplicates(items: Mapping[str, Iterable[tuple[str, str]]]) -> list[Duplicate]:
    """The files of ``{class: [(name, content key)]}`` whose content came earlier (classes in
    order, files in order): within one class, across classes and across uploads."""
    return _first_copies(items, lambda k: k)[1]


def drop_duplicates(files: Mapping[str, Iterable[tuple[str, bytes]]]
                    ) -> tuple[Files, list[Duplicate]]:
    """``files`` with every file whose bytes came earlier left out (a class left with none is
    left out too), and the files left out."""
    return _first_copies(files, content_key)


def merged(*uploads: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """Per-class lists of several uploads merged by class name, in upload order (the order
    :func:`gather` reads them: classes with files first, then each zip)."""
    out: dict[str, list[Any]] = {}
    for upload in uploads:
        for cls, items in upload.items():
            out.setdefault(cls, []).extend(items)
    return out


def default_set_name(class_names: Iterable[str], zip_names: Iterable[str] = ()) -> str:
    """The name an image set gets unless the user types one: the first zip's name without its
    extension, else its classes (``"cat vs dog"``, ``"cat, dog, bird"``)."""
    for z in zip_names:
        base = str(z).replace("\\", "/").rsplit("/", 1)[-1]
        stem = clean_class_name(re.sub(r"\.zip$", "", base, flags=re.IGNORECASE))
        if stem:
            return stem
    names = [c for c in class_names if c]
    text = " vs ".join(names) if len(names) == 2 else ", ".join(names)
    if len(text) > SET_NAME_CHARS:
        text = text[:SET_NAME_CHARS - 1].rstrip(", ") + "…"
    return text or "my images"


@dataclass
class Prepared:
    """The outcome of "Use these images": arrays (or None) and everything to tell the user."""

    x: np.ndarray | None
    y: np.ndarray | None
    class_names: tuple[str, ...]
    report: IngestReport
    problems: list[SpecError] = field(default_factory=list)   # whole-zip refusals
    error: SpecError | None = None                           # no usable data set

    @property
    def ok(self) -> bool:
        return self.x is not None


def prepare(class_files: Mapping[str, Iterable[tuple[str, bytes]]],
            zips: Iterable[tuple[str, bytes]] = (), size: int = 128,
            max_file_bytes: int = MAX_FILE_BYTES) -> Prepared:
    """Decode every uploaded file at ``size`` x ``size`` through the safe-ingestion path, each
    content once (later copies are ``report.duplicates``). Never raises for bad input: each bad
    file is a line of the report, a refused zip a problem, and too few usable classes the
    error."""
    files, report, problems = gather(class_files, zips, max_file_bytes=max_file_bytes)
    files, report.duplicates = drop_duplicates(files)
    try:
        x, y, names, report = ingest(files, (size, size), report)
    except SpecError as e:
        return Prepared(None, None, (), report, problems, e)
    return Prepared(x, y, names, report, problems)


def preview(files: Iterable[tuple[str, bytes]], size: int = THUMB,
            max_file_bytes: int = MAX_FILE_BYTES) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """Thumbnails of one class's files and (name, reason) for each file that cannot be used."""
    thumbs, bad = [], []
    for name, data in files:
        reason = _too_big(data, max_file_bytes)
        if reason:
            bad.append((short_name(name), reason))
            continue
        try:
            thumbs.append(decode_image(data, name, (size, size)))
        except SpecError as e:
            bad.append((short_name(name), e.rule))
    return thumbs, bad


def data_warnings(counts: Mapping[str, int], few: int = FEW_IMAGES,
                  ratio: float = IMBALANCE_RATIO) -> list[str]:
    """Warnings about the class counts: too few images in a class, a large imbalance."""
    out = []
    small = {c: n for c, n in counts.items() if n < few}
    if small:
        listing = ", ".join(f"{short_name(c, 30)} ({n})" for c, n in small.items())
        out.append(f"Few images in {listing}: aim for at least {few} per class; more is better.")
    positive = [n for n in counts.values() if n > 0]
    if len(positive) >= 2 and max(positive) > ratio * min(positive):
        big = max(counts, key=lambda c: counts[c])
        low = min((c for c in counts if counts[c] > 0), key=lambda c: counts[c])
        out.append(f"The classes are imbalanced: {short_name(big, 30)} has {counts[big]} images, "
                   f"{short_name(low, 30)} only {counts[low]} (over {ratio:g}:1). The model will "
                   "lean towards the larger class; add images to the smaller one.")
    return out


def split_counts(counts: Mapping[str, int], val_split: float) -> tuple[int, int]:
    """(train, validation) image totals for the data set's per-class split."""
    val = sum(max(1, int(round(n * val_split))) for n in counts.values() if n >= MIN_PER_CLASS)
    total = sum(n for n in counts.values() if n >= MIN_PER_CLASS)
    return total - val, val


__all__ = ["FEW_IMAGES", "IMBALANCE_RATIO", "MAX_FILE_BYTES", "Prepared", "clean_class_name",
           "content_key", "data_warnings", "default_set_name", "drop_duplicates",
           "find_duplicates", "gather", "merged", "prepare", "preview", "split_counts"]
