"""Safe ingestion of user images: one folder per class, from a directory or a zip, in memory.

Pure functions, no Streamlit: the ``folder`` data set and the upload pages share them.

* :func:`decode_image` turns one file's bytes into a uint8 (H, W, 3) array, or raises
  :class:`~playground.errors.SpecError` with the reason: not an image, empty, truncated or damaged,
  too many pixels (checked from the header, before anything is decoded), a colour mode that
  cannot be shown as RGB. EXIF orientation is applied; transparency is composited on white.
* :func:`read_zip` and :func:`read_folder` list ``class/image`` files (or ``top/class/image``)
  as ``{class: [(name, bytes), ...]}``. A zip is never extracted to disk; entries with absolute
  paths, drive letters, ``..`` or symbolic links are refused, and the limits on entry count,
  total size and compression ratio are checked from the zip directory and again while reading.
* :func:`ingest` decodes everything into arrays and keeps an :class:`IngestReport`: one bad file
  is one :class:`Rejected` line with its reason, and the rest goes on.

File names are used in messages only, shortened by :func:`short_name`.
"""
from __future__ import annotations

import io
import os
import re
import stat
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Union

import numpy as np

from playground.errors import SpecError, first_line

MAX_PIXELS = 40_000_000          # width x height of one image, checked before decoding
MAX_FILE_BYTES = 50 << 20        # bytes of one image file
MAX_ENTRIES = 20_000             # files in one zip or folder
MAX_TOTAL_BYTES = 1 << 30        # uncompressed bytes read from one zip or folder
MAX_RATIO = 200                  # uncompressed / compressed size of one zip entry
RATIO_MIN_BYTES = 1 << 20        # entries smaller than this are not held to MAX_RATIO
MIN_PER_CLASS = 2                # usable images a class needs to be kept
NAME_LIMIT = 80                  # characters of a file name shown in a message

IGNORED_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}
NESTED_ARCHIVE = "zip inside a zip is not read"
_CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")

Files = dict[str, list[tuple[str, bytes]]]
Source = Union[bytes, bytearray, memoryview, str, os.PathLike, IO[bytes]]


def short_name(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` fit for one line of a message: control characters replaced, and cut in the
    middle to ``limit`` characters so that the start and the extension stay visible."""
    name = "".join(c if c.isprintable() else "?" for c in str(name))
    if len(name) <= limit:
        return name
    head = (limit - 1) * 2 // 3
    return name[:head] + "…" + name[len(name) - (limit - 1 - head):]


@dataclass(frozen=True)
class Rejected:
    """One file left out, and why."""

    name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": short_name(self.name), "reason": self.reason}

    def __str__(self) -> str:
        return f"{short_name(self.name)}: {self.reason}"


@dataclass(frozen=True)
class Duplicate:
    """One file left out because an earlier file (``same_as`` in class ``same_class``) has the
    same content: each image is used once, so no copy can land in training and validation."""

    name: str
    cls: str
    same_as: str
    same_class: str

    def to_dict(self) -> dict[str, str]:
        return {"name": short_name(self.name), "class": self.cls,
                "same_as": short_name(self.same_as), "same_class": self.same_class}


@dataclass
class IngestReport:
    """What was read: ``accepted`` (class, file name) pairs, ``rejected`` files with reasons,
    ``dropped`` classes (name -> usable images) that had fewer than MIN_PER_CLASS, and
    ``duplicates`` left out for having the content of an earlier file."""

    accepted: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)

    def reject(self, name: str, reason: str) -> None:
        self.rejected.append(Rejected(name, reason))

    def counts(self) -> dict[str, int]:
        """Accepted images per class."""
        out: dict[str, int] = {}
        for cls, _ in self.accepted:
            out[cls] = out.get(cls, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts(), "rejected": [r.to_dict() for r in self.rejected],
                "dropped_classes": dict(self.dropped),
                "duplicates": [d.to_dict() for d in self.duplicates]}


@dataclass(frozen=True)
class ZipLimits:
    """The limits for one archive or folder; the defaults are the module constants at the time
    the limits are made (so a test can lower them with ``monkeypatch``)."""

    max_entries: int = field(default_factory=lambda: MAX_ENTRIES)
    max_total_bytes: int = field(default_factory=lambda: MAX_TOTAL_BYTES)
    max_ratio: float = field(default_factory=lambda: MAX_RATIO)
    ratio_min_bytes: int = field(default_factory=lambda: RATIO_MIN_BYTES)


# ---------------------------------------------------------------------------- one image


def _where(name: str) -> str:
    return f"image {short_name(name)!r}"


def _to_rgb(im: Any) -> Any:
    """An RGB Pillow image from any mode: transparency on white, 16/32-bit and float scaled
    to 0..255, CMYK and palettes converted."""
    from PIL import Image

    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(im)
        if a.ndim != 2:
            raise ValueError(f"unexpected array shape {a.shape} for mode {mode}")
        a = a.astype("float64")
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if mode.startswith("I;16") or (lo >= 0 and 255 < hi <= 65535 and mode == "I"):
            a = a / 257.0
        elif not (lo >= 0 and hi <= 255):
            a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        g = Image.fromarray(np.clip(np.nan_to_num(a), 0, 255).round().astype("uint8"), "L")
        return g.convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB", "1") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def decode_image(data: bytes, name: str = "image",
                 size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file's bytes as uint8 (H, W, 3), resized (bilinear) to ``size`` =
    (height, width) when given. Raises SpecError naming the file and the reason."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    where = _where(name)
    if not data:
        raise SpecError(where, "is an empty file")
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(where, f"is {len(data) / 2**20:.0f} MiB, over the "
                        f"{MAX_FILE_BYTES / 2**20:.0f} MiB limit for one image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                if w < 1 or h < 1:
                    raise SpecError(where, f"has no pixels ({w}x{h})")
                if w * h > MAX_PIXELS:  # the header is read, the pixels are not
                    raise SpecError(where, f"has too many pixels ({w}x{h} = {w * h:,}; the "
                                    f"limit is {MAX_PIXELS:,})")
                if size is not None and im.format == "JPEG":
                    im.draft("RGB", (max(size), max(size)))  # decode at a reduced scale
                im.load()  # decodes everything: a truncated or damaged file fails here
                im = ImageOps.exif_transpose(im)
                try:
                    rgb = _to_rgb(im)
                except (ValueError, OSError) as e:
                    raise SpecError(where, f"has colour mode {im.mode!r}, which cannot be "
                                    f"shown as RGB ({first_line(e, 80)})") from None
                if size is not None:
                    rgb = rgb.resize((int(size[1]), int(size[0])), Image.Resampling.BILINEAR)
                out = np.asarray(rgb, dtype="uint8")
    except SpecError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise SpecError(where, f"has too many pixels ({first_line(e, 120)})") from None
    except UnidentifiedImageError:
        raise SpecError(where, "is not an image file Pillow can read") from None
    except MemoryError:
        raise SpecError(where, "needs more memory to decode than there is") from None
    except Exception as e:  # noqa: BLE001 - every decoder failure is one reason for this file
        raise SpecError(where, f"is truncated or damaged ({first_line(e, 120)})") from None
    if out.ndim != 3 or out.shape[2] != 3:  # pragma: no cover - convert("RGB") guarantees it
        raise SpecError(where, f"decoded to an unexpected shape {out.shape}")
    return np.ascontiguousarray(out)


# ---------------------------------------------------------------------------- file lists


def _ignored(parts: list[str]) -> bool:
    """macOS resource forks, hidden files and folders, and Windows thumbnail caches."""
    return any(p == "__MACOSX" or p.startswith(".") for p in parts) or \
        parts[-1].lower() in IGNORED_NAMES


def _plan(paths: Iterable[tuple[str, list[str]]], report: IngestReport
          ) -> list[tuple[str, str]]:
    """(key, path parts) of candidate files -> (class, key) pairs. One folder per class, or
    one common top folder holding one folder per class; files in subfolders of a class belong
    to it; files outside any class folder are rejected."""
    items = [(k, parts) for k, parts in paths if not _ignored(parts)]
    tops = {parts[0] for _, parts in items if len(parts) >= 2}
    strip = len(tops) == 1 and any(len(parts) >= 3 for _, parts in items)
    plan = []
    for key, parts in items:
        if strip and parts[0] in tops:
            parts = parts[1:]
        if len(parts) < 2:
            report.reject(key, "is not inside a class folder")
            continue
        plan.append((parts[0], key))
    return plan


def _zip_parts(name: str) -> tuple[list[str] | None, str]:
    """The path components of a zip entry name, or (None, reason) for an unsafe one."""
    if "\x00" in name:
        return None, "has a NUL character in its name"
    norm = name.replace("\\", "/")
    if norm.startswith("/"):
        return None, "has an absolute path"
    if _DRIVE.match(norm):
        return None, "has a drive letter in its path"
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "has a '..' component in its path"
    if not parts:
        return None, "has an empty name"
    return parts, ""


def _eocd_entry_count(fp: IO[bytes]) -> int | None:
    """The entry count the zip's end-of-central-directory record declares (zip64 too), read
    before ``ZipFile`` builds its in-memory directory; None when there is no such record."""
    fp.seek(0, os.SEEK_END)
    end = fp.tell()
    tail_len = min(end, 22 + 65535)
    fp.seek(end - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count = struct.unpack("<H", tail[at + 10:at + 12])[0]
    if count == 0xFFFF and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        offset = struct.unpack("<Q", tail[at - 12:at - 4])[0]
        if offset + 56 <= end:
            fp.seek(offset)
            rec = fp.read(56)
            if rec[:4] == b"PK\x06\x06":
                count = struct.unpack("<Q", rec[32:40])[0]
    return count


def _open_source(source: Source, where: str) -> IO[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise SpecError(where, "does not exist or is not a file")
        try:
            return open(path, "rb")
        except OSError as e:
            raise SpecError(where, f"could not be opened ({first_line(e, 120)})") from None
    if hasattr(source, "read") and hasattr(source, "seek"):
        return source  # type: ignore[return-value]
    raise SpecError(where, f"cannot read a zip from a {type(source).__name__}")


def read_zip(source: Source, limits: ZipLimits | None = None,
             report: IngestReport | None = None, where: str = "zip file") -> Files:
    """``{class: [(name, bytes)]}`` from a one-folder-per-class zip (bytes, a path or a binary
    file object), in memory. Unsafe or unreadable entries go to ``report`` with a reason; a zip
    over the entry-count or total-size limit is refused as a whole (SpecError)."""
    limits = limits or ZipLimits()
    report = report if report is not None else IngestReport()
    fp = _open_source(source, where)
    owned = fp is not source
    try:
        try:
            declared = _eocd_entry_count(fp)
            fp.seek(0)
        except (OSError, struct.error) as e:
            raise SpecError(where, f"could not be read ({first_line(e, 120)})") from None
        if declared is None:
            raise SpecError(where, "is not a zip file (no zip directory at its end)")
        if declared > limits.max_entries:
            raise SpecError(where, f"has {declared:,} entries; the limit is "
                            f"{limits.max_entries:,}")
        try:
            zf = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise SpecError(where, f"is not a readable zip file ({first_line(e, 120)})") from None
        with zf:
            return _read_zip_entries(zf, limits, report, where)
    finally:
        if owned:
            fp.close()


def _read_zip_entries(zf: zipfile.ZipFile, limits: ZipLimits, report: IngestReport,
                      where: str) -> Files:
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > limits.max_entries:
        raise SpecError(where, f"has {len(infos):,} entries; the limit is "
                        f"{limits.max_entries:,}")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise SpecError(where, f"would unpack to {declared:,} bytes; the limit is "
                        f"{limits.max_total_bytes:,}")
    by_key: dict[str, zipfile.ZipInfo] = {}
    candidates, seen = [], set()
    for n, info in enumerate(infos):
        parts, reason = _zip_parts(info.filename)
        key = info.filename if info.filename not in seen else f"{info.filename} (#{n + 1})"
        seen.add(key)
        if parts is None:
            report.reject(key, f"refused: {reason}")
            continue
        if _ignored(parts):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            report.reject(key, "refused: is a symbolic link")
            continue
        if info.flag_bits & 0x1:
            report.reject(key, "is encrypted")
            continue
        if parts[-1].lower().endswith(".zip"):
            report.reject(key, NESTED_ARCHIVE)
            continue
        if info.file_size >= limits.ratio_min_bytes and (
                info.compress_size == 0 or
                info.file_size / info.compress_size > limits.max_ratio):
            report.reject(key, f"refused: compresses {info.file_size:,} bytes into "
                          f"{info.compress_size:,} (over {limits.max_ratio:g}:1, a zip bomb?)")
            continue
        by_key[key] = info
        candidates.append((key, parts))

    out: Files = {}
    total = 0
    for cls, key in _plan(candidates, report):
        info = by_key[key]
        cap = max(info.file_size, 0)
        ratio_cap = max(limits.ratio_min_bytes, info.compress_size * limits.max_ratio)
        chunks, got = [], 0
        try:
            with zf.open(info) as f:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        break
                    got += len(chunk)
                    total += len(chunk)
                    if total > limits.max_total_bytes:
                        raise SpecError(where, f"unpacks to more than "
                                        f"{limits.max_total_bytes:,} bytes (the limit)")
                    if got > cap:
                        raise _EntryRefused("refused: unpacks to more bytes than its header "
                                            "says")
                    if got > ratio_cap:
                        raise _EntryRefused(f"refused: unpacks to over {limits.max_ratio:g} "
                                            "times its compressed size (a zip bomb?)")
                    chunks.append(chunk)
        except SpecError:
            raise
        except _EntryRefused as e:
            report.reject(key, str(e))
            continue
        except Exception as e:  # noqa: BLE001 - bad CRC, unsupported method, ...: this entry
            report.reject(key, f"could not be read from the zip ({first_line(e, 120)})")
            continue
        data = b"".join(chunks)
        if data[:4] == b"PK\x03\x04":
            report.reject(key, NESTED_ARCHIVE)
            continue
        out.setdefault(cls, []).append((key, data))
    return out


class _EntryRefused(Exception):
    """One zip entry refused while it was being read."""


def read_folder(path: str | os.PathLike, limits: ZipLimits | None = None,
                report: IngestReport | None = None) -> Files:
    """``{class: [(name, bytes)]}`` from a directory with one sub-folder per class (or one top
    folder holding those). Hidden files are skipped; symbolic links are followed only while
    they stay inside the folder; non-regular files are rejected."""
    limits = limits or ZipLimits()
    report = report if report is not None else IngestReport()
    root = Path(path)
    where = f"folder {short_name(str(path))!r}"
    if not root.is_dir():
        raise SpecError(where, "does not exist or is not a folder")
    real_root = os.path.realpath(root)
    found: list[tuple[str, list[str]]] = []
    seen_dirs = {real_root}

    def inside(p: str) -> bool:
        return os.path.commonpath([real_root, p]) == real_root

    def walk(d: str, rel: list[str]) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            report.reject("/".join(rel) or ".", f"could not be listed ({first_line(e, 120)})")
            return
        for e in entries:
            parts = rel + [e.name]
            key = "/".join(parts)
            if _ignored(parts):
                continue
            if e.is_symlink():
                target = os.path.realpath(e.path)
                if not inside(target):
                    report.reject(key, "refused: is a symbolic link that leads outside the "
                                  "folder")
                    continue
            if e.is_dir(follow_symlinks=True):
                real = os.path.realpath(e.path)
                if real in seen_dirs:
                    continue  # a link back into a folder already walked
                seen_dirs.add(real)
                walk(e.path, parts)
            else:
                found.append((key, parts))
                if len(found) > limits.max_entries:
                    raise SpecError(where, f"has more than {limits.max_entries:,} files (the "
                                    "limit)")

    walk(str(root), [])
    out: Files = {}
    total = 0
    for cls, key in _plan(found, report):
        full = os.path.join(real_root, *key.split("/"))
        try:
            st = os.stat(full)
            if not stat.S_ISREG(st.st_mode):
                report.reject(key, "is not a regular file")
                continue
            if total + st.st_size > limits.max_total_bytes:
                raise SpecError(where, f"holds more than {limits.max_total_bytes:,} bytes "
                                "(the limit)")
            with open(full, "rb") as f:
                data = f.read(st.st_size + 1)
        except SpecError:
            raise
        except OSError as e:
            report.reject(key, f"could not be read ({first_line(e, 120)})")
            continue
        total += len(data)
        if total > limits.max_total_bytes:
            raise SpecError(where, f"holds more than {limits.max_total_bytes:,} bytes (the "
                            "limit)")
        out.setdefault(cls, []).append((key, data))
    return out


# ---------------------------------------------------------------------------- arrays


def ingest(classes: Files, size: tuple[int, int] | None,
           report: IngestReport | None = None
           ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], IngestReport]:
    """Decode ``{class: [(name, bytes)]}`` into x uint8 (N, H, W, 3), y int32 (N,) and the
    class names (sorted). Files that fail are rejected with their reason; classes with fewer
    than MIN_PER_CLASS usable images are dropped; fewer than two classes left is a SpecError.
    Without ``size`` every image must already have the same size."""
    report = report if report is not None else IngestReport()
    where = "image data set"
    images: dict[str, list[np.ndarray]] = {}
    for cls in sorted(classes):
        for name, data in classes[cls]:
            try:
                img = decode_image(data, name, size)
            except SpecError as e:
                report.reject(name, e.rule)
                continue
            images.setdefault(cls, []).append(img)
            report.accepted.append((cls, name))
    counts = {cls: len(images.get(cls, [])) for cls in sorted(classes)}
    kept = tuple(c for c, n in counts.items() if n >= MIN_PER_CLASS)
    for c, n in counts.items():
        if n < MIN_PER_CLASS:
            report.dropped[c] = n
    if len(kept) < 2:
        listing = ", ".join(f"{short_name(c, 40)!r}: {n}" for c, n in counts.items()) or "none"
        bad = f"; {len(report.rejected)} file(s) rejected" if report.rejected else ""
        raise SpecError(where, f"needs at least 2 classes (folders) with at least "
                        f"{MIN_PER_CLASS} usable images each; found {listing}{bad}")
    shapes = {img.shape for c in kept for img in images[c]}
    if len(shapes) > 1:
        raise SpecError(where, f"images differ in size ({len(shapes)} sizes); give an image size "
                        "to resize them to")
    x = np.stack([img for c in kept for img in images[c]]).astype("uint8", copy=False)
    y = np.concatenate([np.full(len(images[c]), i, "int32") for i, c in enumerate(kept)])
    return x, y, kept, report


__all__ = ["MAX_PIXELS", "MAX_ENTRIES", "MAX_TOTAL_BYTES", "MAX_RATIO", "MIN_PER_CLASS",
           "Duplicate", "IngestReport", "Rejected", "ZipLimits", "decode_image", "ingest",
           "read_folder", "read_zip", "short_name"]
