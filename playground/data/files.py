"""Data sets from the user's own files: ``folder`` (images, one folder per class, a directory or
a .zip) and ``csv`` (numeric tabular rows for Conv1D models, one label column)."""
from __future__ import annotations

import csv
import io
import numbers
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from playground.data.base import DATASETS, Dataset, DatasetInfo, split
from playground.data import images
from playground.errors import SpecError, first_line

MAX_CSV_BYTES = 256 << 20
MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
_INT = re.compile(r"^[+-]?\d+$")


def _existing(path: str | os.PathLike | None, where: str) -> Path:
    if path is None or not str(path).strip():
        raise SpecError(where, "needs a path (option 'path')")
    p = Path(path).expanduser()
    if not p.exists():
        raise SpecError(where, f"path {images.short_name(str(path))!r} does not exist")
    return p


def load_folder(path: str = "", image_size: int = 64, val_split: float = 0.2,
                seed: int = 0) -> Dataset:
    """Images in one sub-folder per class (a directory, or a .zip of one), decoded to RGB and
    resized to ``image_size`` squared. Files that cannot be used are listed in
    ``meta['rejected']`` with their reasons; classes are sorted by name."""
    where = "data set 'folder'"
    if not isinstance(image_size, numbers.Integral) or not 8 <= image_size <= 512:
        raise SpecError(where, f"image_size must be between 8 and 512, got {image_size}")
    p = _existing(path, where)
    report = images.IngestReport()
    if p.is_dir():
        files = images.read_folder(p, report=report)
    elif p.is_file() and (p.suffix.lower() == ".zip" or zipfile.is_zipfile(p)):
        files = images.read_zip(p, report=report,
                                where=f"zip file {images.short_name(p.name)!r}")
    else:
        raise SpecError(where, f"path {images.short_name(str(path))!r} must be a folder or a "
                        ".zip file")
    image_size = int(image_size)
    x, y, names, report = images.ingest(files, (image_size, image_size), report)
    info = report.to_dict()
    return split("folder", x, y, names, val_split, seed, source=str(p),
                 rejected=info["rejected"], counts={c: info["counts"][c] for c in names},
                 dropped_classes=info["dropped_classes"], image_size=image_size)


def _read_rows(p: Path, where: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of the non-blank rows of a UTF-8 CSV file."""
    if not p.is_file():
        raise SpecError(where, "is not a file")
    try:
        size = p.stat().st_size
        if size == 0:
            raise SpecError(where, "is empty")
        if size > MAX_CSV_BYTES:
            raise SpecError(where, f"is {size:,} bytes; the limit is {MAX_CSV_BYTES:,}")
        text = p.read_bytes().decode("utf-8-sig")
    except SpecError:
        raise
    except UnicodeDecodeError:
        raise SpecError(where, "is not UTF-8 text (save it as CSV UTF-8)") from None
    except OSError as e:
        raise SpecError(where, f"could not be read ({first_line(e, 120)})") from None
    if "\x00" in text:
        raise SpecError(where, "is not a text file (it has NUL bytes)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header, rows = None, []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
            else:
                rows.append((reader.line_num, cells))
    except csv.Error as e:
        raise SpecError(where, f"is not valid CSV (line {reader.line_num}: "
                        f"{first_line(e, 120)})") from None
    if header is None:
        raise SpecError(where, "is empty")
    if not rows:
        raise SpecError(where, "has a header but no data rows")
    return header, rows


def load_csv(path: str = "", label: str | None = None, val_split: float = 0.2,
             seed: int = 0) -> Dataset:
    """Rows of a CSV file with a header: numeric feature columns become x float32 (N, F, 1)
    for Conv1D models, column ``label`` (default: the last) the classes, which may be strings
    or integers (class names sorted; integers numerically)."""
    where = "data set 'csv'"
    p = _existing(path, where)
    fwhere = f"CSV file {images.short_name(p.name)!r}"
    header, rows = _read_rows(p, fwhere)
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise SpecError(fwhere, f"has duplicate column names {dup}")
    if label is None:
        li = len(header) - 1
    elif label in header:
        li = header.index(label)
    else:
        raise SpecError(fwhere, f"has no column {label!r}; its columns are {header}")
    if len(header) < 2:
        raise SpecError(fwhere, "needs at least one feature column besides the label (is it "
                        "comma-separated?)")
    for line, cells in rows:
        if len(cells) != len(header):
            raise SpecError(fwhere, f"row {line} has {len(cells)} values; the header has "
                            f"{len(header)} columns")
    feats = [i for i in range(len(header)) if i != li]
    x = np.empty((len(rows), len(feats)), "float32")
    for j, col in enumerate(feats):
        name = header[col]
        for r, (line, cells) in enumerate(rows):
            cell = cells[col].strip()
            if cell.lower() in MISSING:
                raise SpecError(fwhere, f"has a missing value in column {name!r} on row {line}")
            try:
                v = float(cell)
            except ValueError:
                raise SpecError(fwhere, f"column {name!r} is not numeric (row {line} has "
                                f"{images.short_name(cell, 40)!r}); feature columns must be "
                                "numbers") from None
            if not np.isfinite(v):
                raise SpecError(fwhere, f"column {name!r} has {cell!r} on row {line}; feature "
                                "values must be finite numbers")
            x[r, j] = v
    labels = []
    for line, cells in rows:
        cell = cells[li].strip()
        if cell.lower() in MISSING:
            raise SpecError(fwhere, f"has a missing label in column {header[li]!r} on row "
                            f"{line}")
        labels.append(str(int(cell)) if _INT.match(cell) else cell)
    distinct = set(labels)
    if all(_INT.match(v) for v in distinct):
        names = tuple(sorted(distinct, key=int))
    else:
        names = tuple(sorted(distinct))
    if len(names) < 2:
        raise SpecError(fwhere, f"label column {header[li]!r} has only one class {names}; "
                        "a classifier needs at least 2")
    index = {n: i for i, n in enumerate(names)}
    y = np.array([index[v] for v in labels], "int32")
    return split("csv", x[..., None], y, names, val_split, seed, source=str(p),
                 label=header[li], features=[header[c] for c in feats])


def _register() -> None:
    DATASETS.add("folder", DatasetInfo(
        "folder", "Your images, one sub-folder per class, from a folder or a .zip; decoded to "
        "RGB and resized to image_size; unusable files are listed with their reasons.",
        load_folder, True, {"path": "", "image_size": 64, "val_split": 0.2, "seed": 0},
        shape_of=lambda o: ((int(o["image_size"]), int(o["image_size"]), 3), None)))
    DATASETS.add("csv", DatasetInfo(
        "csv", "Your table (CSV with a header): numeric feature columns for Conv1D models and "
        "one label column (default: the last).",
        load_csv, True, {"path": "", "label": None, "val_split": 0.2, "seed": 0}))


_register()
