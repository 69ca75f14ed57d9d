"""Pure helpers for the Transfer-learning page (no Streamlit): gathering uploaded files into an
image set with every rejection's reason, thumbnail strips, data warnings, the clickable
confusion matrix, per-class accuracy and small conversions. The page calls them with what the
widgets hold; the tests call them with literals and generated images."""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from playground.data.images import (MIN_PER_CLASS, IngestReport, decode_image, ingest, read_zip,
                                    short_name)
from playground.errors import SpecError

MAX_FILE_BYTES = 25 * 2**20        # one uploaded image file
FEW_IMAGES = 10                    # fewer per class than this: a warning
IMBALANCE_RATIO = 3.0              # largest / smallest class above this: a warning
THUMB = 56                         # side of one thumbnail in a strip (pixels)

Files = dict[str, list[tuple[str, bytes]]]


# --- gathering uploads ---------------------------------------------------------------------
def clean_class_name(text: str) -> str:
    """A class name typed by the user, trimmed to one line of at most 40 printable characters
    ('' when nothing usable is left)."""
    text = "".join(c if c.isprintable() else (" " if c.isspace() else "") for c in str(text))
    return re.sub(r"\s+", " ", text).strip()[:40].strip()


def gather(class_files: Mapping[str, Iterable[tuple[str, bytes]]],
           zips: Iterable[tuple[str, bytes]] = (), report: IngestReport | None = None,
           max_file_bytes: int = MAX_FILE_BYTES) -> tuple[Files, IngestReport, list[str]]:
    """All uploaded files as ``{class: [(name, bytes)]}``: files dropped into named classes plus
    the class folders of each zip (merged by class name). Oversize and empty files are rejected
    here with their reason; a zip refused as a whole is one message in the returned list."""
    report = report if report is not None else IngestReport()
    out: Files = {}
    problems: list[str] = []
    for cls, files in class_files.items():
        for name, data in files:
            if len(data) > max_file_bytes:
                report.reject(name, f"is {len(data) / 2**20:.1f} MB; the limit is "
                              f"{max_file_bytes / 2**20:.0f} MB per image")
                continue
            out.setdefault(cls, []).append((name, data))
    for zname, data in zips:
        try:
            found = read_zip(data, report=report, where=f"zip file {short_name(zname)!r}")
        except SpecError as e:
            problems.append(f"**{e.where}**: {e.rule}")
            continue
        if not found:
            problems.append(f"**zip file {short_name(zname)!r}**: holds no images in class "
                            "folders (put one folder per class in the zip)")
        for cls, files in found.items():
            out.setdefault(clean_class_name(cls) or cls, []).extend(files)
    return out, report, problems


@dataclass
class Prepared:
    """The outcome of "Use these images": arrays (or None) and everything to tell the user."""

    x: np.ndarray | None
    y: np.ndarray | None
    class_names: tuple[str, ...]
    report: IngestReport
    problems: list[str] = field(default_factory=list)   # whole-zip refusals
    error: str | None = None                           # no usable data set (markdown)

    @property
    def ok(self) -> bool:
        return self.x is not None


def prepare(class_files: Mapping[str, Iterable[tuple[str, bytes]]],
            zips: Iterable[tuple[str, bytes]] = (), size: int = 128,
            max_file_bytes: int = MAX_FILE_BYTES) -> Prepared:
    """Decode every uploaded file at ``size`` x ``size`` through the safe-ingestion path. Never
    raises for bad input: each bad file is a line of the report, a refused zip a problem, and
    too few usable classes the error."""
    files, report, problems = gather(class_files, zips, max_file_bytes=max_file_bytes)
    try:
        x, y, names, report = ingest(files, (size, size), report)
    except SpecError as e:
        return Prepared(None, None, (), report, problems, f"**{e.where}**: {e.rule}")
    return Prepared(x, y, names, report, problems)


def preview(files: Iterable[tuple[str, bytes]], size: int = THUMB,
            max_file_bytes: int = MAX_FILE_BYTES) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """Thumbnails of one class's files and (name, reason) for each file that cannot be used."""
    thumbs, bad = [], []
    for name, data in files:
        if len(data) > max_file_bytes:
            bad.append((short_name(name), f"is {len(data) / 2**20:.1f} MB; the limit is "
                        f"{max_file_bytes / 2**20:.0f} MB per image"))
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


# --- pictures ------------------------------------------------------------------------------
def thumbnail_strip(images: Sequence[np.ndarray], n: int = 8, size: int = THUMB, gap: int = 3,
                    columns: int | None = None, background: int = 255) -> np.ndarray | None:
    """Up to ``n`` images as one uint8 RGB grid of ``columns`` (default: all in one row) square
    thumbnails; None when there are none."""
    images = list(images)[:n]
    if not images:
        return None
    from PIL import Image
    cols = columns or len(images)
    rows = math.ceil(len(images) / cols)
    out = np.full((rows * size + (rows - 1) * gap, cols * size + (cols - 1) * gap, 3),
                  background, dtype="uint8")
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.ndim == 2:
            img = img[..., None]
        if img.shape[-1] == 1:
            img = np.repeat(img, 3, axis=-1)
        if img.shape[:2] != (size, size):
            img = np.asarray(Image.fromarray(img.astype("uint8")).resize(
                (size, size), Image.Resampling.BILINEAR))
        r, c = divmod(i, cols)
        top, left = r * (size + gap), c * (size + gap)
        out[top:top + size, left:left + size] = img
    return out


def resize_images(x: np.ndarray, side: int) -> np.ndarray:
    """uint8 images (N, H, W, C) resized (bilinear) to side x side."""
    if x.shape[1:3] == (side, side):
        return x
    from PIL import Image
    out = np.empty((len(x), side, side, x.shape[-1]), dtype="uint8")
    for i, img in enumerate(x):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        arr = np.asarray(im.resize((side, side), Image.Resampling.BILINEAR))
        out[i] = arr[..., None] if arr.ndim == 2 else arr
    return out


# --- results -------------------------------------------------------------------------------
def confusion_click_figure(doc: Mapping[str, Any], selected: tuple[int, int] | None = None,
                           height: int = 380) -> go.Figure:
    """The confusion matrix as a heatmap with one invisible square marker per cell on top:
    Plotly reports clicks on scatter points (not on heatmap cells), so a click on a cell selects
    its marker, whose ``customdata`` is [true index, predicted index]. The selected cell gets an
    outline."""
    names = [str(n) for n in doc.get("class_names", ())]
    matrix = np.asarray(doc.get("matrix", ()), dtype=float)
    k = len(names)
    xs, ys, custom = [], [], []
    for t in range(k):
        for p in range(k):
            xs.append(names[p])
            ys.append(names[t])
            custom.append([t, p])
    counts = matrix.astype(int) if matrix.size else matrix
    fig = go.Figure()
    fig.add_trace(go.Heatmap(  # the counts are the heatmap's text: selection never dims them
        z=matrix, x=names, y=names, colorscale="Blues", showscale=False, hoverinfo="skip",
        text=counts if k <= 20 else None, texttemplate="%{text}" if k <= 20 else None,
        textfont=dict(size=15)))
    side = max(12, min(90, int((height - 80) / max(k, 1) * 0.9)))
    line_w = [3 if selected is not None and tuple(c) == tuple(selected) else 0 for c in custom]
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers", customdata=custom, name="cells",
        text=[str(int(matrix[t, p])) for t, p in custom] if matrix.size else None,
        marker=dict(symbol="square", size=side, color="rgba(0,0,0,0)",
                    line=dict(color="#d62728", width=line_w)),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
        hovertemplate="true %{y}, predicted %{x}: %{text}<br>click to see these images"
                      "<extra></extra>", showlegend=False))
    acc = doc.get("val_accuracy")
    title = "Confusion matrix (validation)" + (f": {acc:.1%} correct" if acc is not None else "")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="predicted", yaxis_title="true", clickmode="event+select",
                      dragmode=False, plot_bgcolor="white")
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    fig.update_xaxes(type="category", side="bottom", showgrid=False)
    return fig


def selected_cell(selection: Any) -> tuple[int, int] | None:
    """(true, predicted) indices of the clicked cell from ``st.plotly_chart``'s selection
    state, or None."""
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(selection, "selection", None), "points", None)
    for pt in points or ():
        custom = pt.get("customdata") if isinstance(pt, Mapping) else None
        if custom is not None and len(custom) >= 2:
            return int(custom[0]), int(custom[1])
    return None


def cell_indices(y_true: Sequence[int], y_pred: Sequence[int], true: int, pred: int) -> list[int]:
    """Positions (in the validation order) of images of class ``true`` predicted ``pred``."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return [int(i) for i in np.flatnonzero((t == true) & (p == pred))]


def confusions(matrix: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """Off-diagonal cells with errors as (true, predicted, count), most frequent first."""
    out = [(t, p, int(n)) for t, row in enumerate(matrix) for p, n in enumerate(row)
           if t != p and n]
    return sorted(out, key=lambda c: -c[2])


def per_class_figure(doc: Mapping[str, Any], height: int | None = None) -> go.Figure:
    """Validation accuracy per class as horizontal bars (worst at the top)."""
    names = [str(n) for n in doc.get("class_names", ())]
    per = doc.get("per_class_accuracy") or []
    if isinstance(per, Mapping):
        per = [per.get(n) for n in names]
    matrix = np.asarray(doc.get("matrix", ()), dtype=float)
    support = matrix.sum(axis=1).astype(int).tolist() if matrix.size else [0] * len(names)
    rows = sorted(zip(names, per, support), key=lambda r: (r[1] is None, r[1] or 0))
    fig = go.Figure(go.Bar(
        x=[r[1] for r in rows], y=[r[0] for r in rows], orientation="h",
        marker_color="#1f77b4", text=[f"{r[1]:.0%}" if r[1] is not None else "-" for r in rows],
        textposition="auto", customdata=[r[2] for r in rows],
        hovertemplate="%{y}: %{x:.1%} of %{customdata} images<extra></extra>"))
    fig.update_layout(height=height or max(160, 60 + 34 * len(names)),
                      margin=dict(l=10, r=10, t=40, b=10), title="Accuracy per class",
                      xaxis=dict(range=[0, 1.04], tickformat=".0%", dtick=0.25),
                      yaxis=dict(type="category", autorange="reversed"))
    return fig


# --- small conversions ---------------------------------------------------------------------
def safe_weights_name(name: str, data: bytes) -> str:
    """A file name for an uploaded weights file: ASCII letters, digits, ``._-`` only, a content
    hash in front (two uploads never collide), and the Keras suffix kept."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    suffix = ".weights.h5" if base.lower().endswith(".weights.h5") else ".h5"
    stem = base[:-len(suffix)] if base.lower().endswith(suffix) else base.rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:60] or "weights"
    digest = hashlib.sha1(data).hexdigest()[:10]
    return f"{digest}_{stem}{suffix}"


def run_input_shape(params: Mapping[str, str]) -> tuple[int, ...] | None:
    """A run's input shape from its logged ``data.input_shape`` ("32x32x1"), or None."""
    text = str(params.get("data.input_shape") or "")
    try:
        shape = tuple(int(v) for v in text.split("x"))
    except ValueError:
        return None
    return shape if len(shape) == 3 else None


def scaled_macs(macs: float, default_side: int, side: int) -> float:
    """MACs of a convolutional backbone at another input side (they scale with the pixels)."""
    return macs * (side / default_side) ** 2


__all__ = ["MAX_FILE_BYTES", "Prepared", "cell_indices", "clean_class_name",
           "confusion_click_figure", "confusions", "data_warnings", "gather", "per_class_figure",
           "prepare", "preview", "resize_images", "run_input_shape", "safe_weights_name",
           "scaled_macs", "selected_cell", "split_counts", "thumbnail_strip"]
