"""The Zoo page's bubble chart: accuracy against multiply-adds, one bubble per architecture (its
area ~ parameters), each named by a label placed where it overlaps no other label and no other
bubble; a point whose label finds no free place keeps its name in the hover text only.

Labels are placed for the narrowest plot the app draws (``PLOT_WIDTH`` px, the chart at a
1024 px window); a wider plot spreads the points apart while the labels keep their size, so what
does not overlap there does not overlap anywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import plotly.graph_objects as go

from playground.chart_ticks import log_ticks

PLOT_WIDTH = 460  # px: plot area (inside the axes) of the chart at a 1024 x 768 window
HEIGHT = 540  # px: the whole figure
MARGIN = dict(l=60, r=20, t=50, b=60)
SIZE_MAX = 40  # px: diameter of the largest bubble
SIZE_MIN = 6
FONT_SIZE = 11
CHAR_W = 0.62 * FONT_SIZE  # px: a generous average character width of the label font
LABEL_H = FONT_SIZE + 4
GAP = 3  # px between a bubble and its label


@dataclass(frozen=True)
class Point:
    """One bubble: its label, x (MACs), y (accuracy), area measure (params) and hover text."""

    label: str
    x: float
    y: float
    size: float
    hover: str = ""


@dataclass(frozen=True)
class Placed:
    """A placed label: the point's index and the label centre's offset from the point, in px
    (y up)."""

    index: int
    dx: float
    dy: float


def diameters(points: Sequence[Point]) -> list[float]:
    """Marker diameters in px: area proportional to ``size``, the largest ``SIZE_MAX``."""
    top = max((p.size for p in points), default=1.0) or 1.0
    return [max(SIZE_MIN, SIZE_MAX * math.sqrt(max(p.size, 0.0) / top)) for p in points]


def axis_ranges(points: Sequence[Point], width: float = PLOT_WIDTH,
                height: float = HEIGHT - MARGIN["t"] - MARGIN["b"]
                ) -> tuple[tuple[float, float], tuple[float, float]]:
    """(log10 x range, y range) that keep every bubble (and a label's height) inside the plot."""
    pad = SIZE_MAX / 2 + LABEL_H + GAP
    lx = [math.log10(p.x) for p in points]
    ys = [p.y for p in points]

    def padded(lo: float, hi: float, px: float) -> tuple[float, float]:
        span = (hi - lo) or 1.0
        extra = pad * span / max(px - 2 * pad, 1.0)
        return lo - extra, hi + extra

    return padded(min(lx), max(lx), width), padded(min(ys), max(ys), height)


def _to_px(points: Sequence[Point], ranges, width: float, height: float) -> list[tuple[float, float]]:
    (x0, x1), (y0, y1) = ranges
    return [((math.log10(p.x) - x0) / (x1 - x0) * width, (p.y - y0) / (y1 - y0) * height)
            for p in points]


def label_box(cx: float, cy: float, label: str) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in px of a label centred at (cx, cy)."""
    w = CHAR_W * len(label)
    return cx - w / 2, cy - LABEL_H / 2, cx + w / 2, cy + LABEL_H / 2


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _hits_circle(box, cx: float, cy: float, r: float) -> bool:
    nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
    return (nx - cx) ** 2 + (ny - cy) ** 2 < r * r


def place_labels(points: Sequence[Point], width: float = PLOT_WIDTH,
                 height: float = HEIGHT - MARGIN["t"] - MARGIN["b"]) -> list[Placed]:
    """Greedy placement, highest ``y`` first: the first of above, below, right, left and the
    four diagonals where the label is inside the plot and clear of every placed label and every
    other bubble; no label where none is."""
    ranges = axis_ranges(points, width, height)
    xy = _to_px(points, ranges, width, height)
    radii = [d / 2 for d in diameters(points)]
    boxes: list[tuple[float, float, float, float]] = []
    placed: list[Placed] = []
    for i in sorted(range(len(points)), key=lambda k: -points[k].y):
        (px, py), r, label = xy[i], radii[i], points[i].label
        half_w, half_h = CHAR_W * len(label) / 2, LABEL_H / 2
        side_x, side_y = r + GAP + half_w, r + GAP + half_h
        diag = (r + GAP) / math.sqrt(2)
        for dx, dy in ((0, side_y), (0, -side_y), (side_x, 0), (-side_x, 0),
                       (diag + half_w, diag + half_h), (-diag - half_w, diag + half_h),
                       (diag + half_w, -diag - half_h), (-diag - half_w, -diag - half_h)):
            box = label_box(px + dx, py + dy, label)
            if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
                continue
            if any(_overlap(box, b) for b in boxes):
                continue
            if any(_hits_circle(box, ox, oy, orad) for k, ((ox, oy), orad) in
                   enumerate(zip(xy, radii)) if k != i):
                continue
            boxes.append(box)
            placed.append(Placed(i, dx, dy))
            break
    return sorted(placed, key=lambda p: p.index)


def bubble_figure(points: Sequence[Point], title: str, x_title: str, y_title: str) -> go.Figure:
    """The bubble chart with placed labels (as annotations) and every name in the hover text."""
    ranges = axis_ranges(points)
    sizes = diameters(points)
    fig = go.Figure(go.Scatter(
        x=[p.x for p in points], y=[p.y for p in points], mode="markers",
        marker=dict(size=sizes, sizemode="diameter", color="#3b6fd8", opacity=0.6,
                    line=dict(color="#1f4fa8", width=1)),
        text=[p.label for p in points], customdata=[p.hover for p in points],
        hovertemplate="<b>%{text}</b><br>%{customdata}<extra></extra>", showlegend=False))
    for lab in place_labels(points):
        p = points[lab.index]
        fig.add_annotation(x=math.log10(p.x), y=p.y, text=p.label, showarrow=False,
                           xshift=lab.dx, yshift=lab.dy, font=dict(size=FONT_SIZE, color="#333"))
    fig.update_layout(height=HEIGHT, margin=MARGIN, title=title, xaxis_title=x_title,
                      yaxis_title=y_title)
    (lo, hi) = ranges[0]
    fig.update_xaxes(type="log", range=[lo, hi], **log_ticks(10 ** lo, 10 ** hi))
    fig.update_yaxes(range=list(ranges[1]))
    return fig
