"""Plotly figures of training runs, as plain functions of data (no Streamlit, no store): the
Train page and the Leaderboard call them with what :class:`playground.store.RunStore` returns,
and the tests call them with small literals.

* :func:`curves_figure` - one run: loss and accuracy per epoch, train vs validation, with the
  intra-epoch ``batch_loss`` as a faint line;
* :func:`overlay_figure` - one metric of several runs against the epoch;
* :func:`sweep_figure` - one metric of a sweep: per architecture the mean over seeds as a line
  and the spread (mean -+ std, or min..max) as a shaded band;
* :func:`confusion_figure` - a confusion matrix (``confusion_matrix.json``) as a heatmap;
* :func:`pareto_figure` - validation accuracy (kept model) vs MACs (log x) with each data set's Pareto
  front drawn as a line through its runs.

Histories are ``{key: [(step, value), ...]}`` as :meth:`RunStore.history` gives them: per-epoch
keys use the epoch number (1..N) as the step, ``batch_loss`` the global step, which
``steps_per_epoch`` turns into fractional epochs so both share one x axis.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.chart_ticks import log_ticks, si
from playground.leaderboard import pareto_front

History = Mapping[str, Sequence[tuple[int, float]]]

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#ff7f0e"
FRONT_COLOR = "#d62728"
CURVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy", "batch_loss")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
# A horizontal legend under the x-axis title (anchored at its top, so it never covers the title).
LEGEND_BELOW = dict(orientation="h", y=-0.28, yanchor="top", x=0.5, xanchor="center")
METRIC_LABELS = {"loss": "train loss", "val_loss": "validation loss",
                 "accuracy": "train accuracy", "val_accuracy": "validation accuracy",
                 "learning_rate": "learning rate", "images_per_s": "images / s"}


def _finite(points: Iterable[tuple[float, float]]) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for x, y in points:
        if y is not None and math.isfinite(y):
            xs.append(x)
            ys.append(y)
    return xs, ys


def steps_per_epoch(params: Mapping[str, Any]) -> int | None:
    """Optimizer steps per epoch from a run's logged params (``data.train``, ``batch_size``)."""
    try:
        n, b = int(params["data.train"]), int(params["batch_size"])
    except (KeyError, TypeError, ValueError):
        return None
    return max(1, math.ceil(n / b)) if b > 0 else None


def epoch_axis(last: float) -> dict[str, Any]:
    """x-axis settings for epochs 0..``last``: room past the last epoch so its points are not cut
    by the frame, and whole-epoch ticks while there are few epochs."""
    if not last:
        return dict(rangemode="tozero")
    ticks = dict(dtick=1, tick0=0) if last <= 12 else {}
    return dict(range=[0, last + max(0.25, 0.03 * last)], **ticks)


def curves_figure(history: History, steps_per_epoch: int | None = None,
                  live: tuple[float, float | None, float | None] | None = None,
                  epochs: int | None = None, height: int = 340) -> go.Figure:
    """Loss (left) and accuracy (right) against the epoch: train solid, validation dashed, the
    per-batch loss faint. ``live`` = (fractional epoch, loss, accuracy) of the running epoch,
    appended to the faint line so the curve moves between epoch ends. ``epochs`` fixes the x
    range to the planned run length."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"),
                        horizontal_spacing=0.09)
    batch = list(history.get("batch_loss", ()))
    bx, by = ([], [])
    if steps_per_epoch:
        bx, by = _finite((s / steps_per_epoch, v) for s, v in batch)
    if live is not None and live[1] is not None and math.isfinite(live[1]):
        if not bx or live[0] > bx[-1]:
            bx.append(live[0])
            by.append(live[1])
    if bx:
        fig.add_trace(go.Scatter(x=bx, y=by, name="train loss (batches)", mode="lines",
                                 line=dict(color=TRAIN_COLOR, width=1), opacity=0.35,
                                 legendgroup="batch", hovertemplate="epoch %{x:.2f}: %{y:.4f}"),
                      row=1, col=1)
    for col, (train_key, val_key) in enumerate((("loss", "val_loss"),
                                                 ("accuracy", "val_accuracy")), start=1):
        for key, color, dash, label in ((train_key, TRAIN_COLOR, "solid", "train"),
                                        (val_key, VAL_COLOR, "dash", "validation")):
            xs, ys = _finite(history.get(key, ()))
            if not xs:
                continue
            fig.add_trace(go.Scatter(
                x=xs, y=ys, name=label, mode="lines+markers", legendgroup=label,
                showlegend=col == 1, line=dict(color=color, dash=dash, width=2),
                marker=dict(size=5), hovertemplate=f"{label} epoch %{{x}}: %{{y:.4f}}"),
                row=1, col=col)
    last = epochs or max((x for t in fig.data for x in t.x), default=0)
    fig.update_xaxes(title_text="epoch", **epoch_axis(last))
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      legend=LEGEND_BELOW)
    return fig


def overlay_figure(series: Mapping[str, Sequence[tuple[int, float]]], metric: str = "val_accuracy",
                   height: int = 380) -> go.Figure:
    """One line per run (``{label: [(epoch, value), ...]}``) for one per-epoch metric."""
    fig = go.Figure()
    for i, (label, points) in enumerate(series.items()):
        xs, ys = _finite(points)
        fig.add_trace(go.Scatter(x=xs, y=ys, name=label, mode="lines+markers",
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=2),
                                 marker=dict(size=5),
                                 hovertemplate=f"{label}<br>epoch %{{x}}: %{{y:.4f}}"
                                               "<extra></extra>"))
    accuracy = "accuracy" in metric
    fig.update_xaxes(**epoch_axis(max((x for t in fig.data for x in t.x), default=0)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title=f"{METRIC_LABELS.get(metric, metric)} per epoch",
                      xaxis_title="epoch", yaxis_title=METRIC_LABELS.get(metric, metric),
                      legend=LEGEND_BELOW)
    if accuracy:
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


SPREAD_LABELS = {"std": "mean ± std", "range": "mean, band min–max"}


def sweep_figure(bands: Mapping[str, Any], metric: str = "val_accuracy", spread: str = "std",
                 epochs: int | None = None, height: int = 400) -> go.Figure:
    """A sweep's curves: for each architecture (``{label: Band}`` from
    :func:`playground.train.sweeps.aggregate`) the mean over seeds as a line and the spread as
    a shaded band of its colour (``spread`` ``"std"``: mean -+ std, ``"range"``: min..max). A
    single epoch has no band to shade: its spread is drawn as an error bar."""
    fig = go.Figure()
    what = METRIC_LABELS.get(metric, metric)
    for i, (label, band) in enumerate(bands.items()):
        color = PALETTE[i % len(PALETTE)]
        xs = list(band.epochs)
        if not xs:
            continue
        lo, hi = band.spread(spread)
        if "accuracy" in metric:  # mean + std may pass 100%: the band stops at the axis' ends
            lo, hi = [max(0.0, v) for v in lo], [min(1.0, v) for v in hi]
        if len(xs) > 1:
            fig.add_trace(go.Scatter(
                x=xs + xs[::-1], y=list(hi) + list(lo)[::-1], fill="toself", mode="lines",
                fillcolor=_rgba(color, 0.18), line=dict(width=0), hoverinfo="skip",
                name=f"{label} spread", legendgroup=label, showlegend=False))
        error = None
        if len(xs) == 1:
            error = dict(type="data", symmetric=False, array=[hi[0] - band.mean[0]],
                         arrayminus=[band.mean[0] - lo[0]], color=color, thickness=2, width=8)
        seeds = f"{band.runs} seed{'s' if band.runs != 1 else ''}"
        fig.add_trace(go.Scatter(
            x=xs, y=list(band.mean), name=f"{label} ({seeds})", mode="lines+markers",
            legendgroup=label, line=dict(color=color, width=2.5), marker=dict(size=6),
            error_y=error, customdata=[[s, a, b, n] for s, a, b, n in
                                       zip(band.std, band.lo, band.hi, band.n)],
            hovertemplate=f"{label}<br>epoch %{{x}}: mean %{{y:.4f}} ± %{{customdata[0]:.4f}}"
                          "<br>min %{customdata[1]:.4f}, max %{customdata[2]:.4f} "
                          "(%{customdata[3]} seeds)<extra></extra>"))
    last = max([max(b.epochs) for b in bands.values() if b.epochs] + [epochs or 1])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title=f"{what} per epoch: {SPREAD_LABELS.get(spread, spread)} over seeds",
                      xaxis_title="epoch", yaxis_title=what,
                      legend=LEGEND_BELOW)
    fig.update_xaxes(range=[0.5, last + 0.5], dtick=1 if last <= 12 else None)
    if "accuracy" in metric:
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def confusion_figure(doc: Mapping[str, Any], height: int = 360) -> go.Figure:
    """The confusion matrix artifact (``class_names``, ``matrix`` rows = true class, columns =
    predicted) as a heatmap with the counts written in the cells."""
    names = [str(n) for n in doc.get("class_names", ())]
    matrix = [list(map(int, row)) for row in doc.get("matrix", ())]
    if not names:
        names = [str(i) for i in range(len(matrix))]
    show_text = len(names) <= 20
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, colorscale="Blues", showscale=False,
        text=matrix if show_text else None, texttemplate="%{text}" if show_text else None,
        hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    acc = doc.get("val_accuracy")
    title = "Confusion matrix<br><sup>validation" + (f": {acc:.1%} correct" if acc is not None
                                                      else "") + "</sup>"  # fits half a page
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="predicted", yaxis_title="true")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


def pareto_fronts(rows: Iterable[Mapping[str, Any]], cost: str = "macs",
                  score: str = "val_accuracy") -> dict[str, list[str]]:
    """The Pareto front's run ids of each data set (accuracies on different data sets are not
    comparable, so each gets its own front), ordered by cost."""
    by_set: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_set.setdefault(str(r.get("dataset") or ""), []).append(r)
    return {name: pareto_front(items, cost, score) for name, items in sorted(by_set.items())
            if pareto_front(items, cost, score)}


# The cost axes a Pareto figure can take: title, x-axis title, hover text of x, tick labels.
PARETO_AXES: dict[str, tuple[str, str, str, Any]] = {
    "macs": ("Best validation accuracy vs multiply-adds", "MACs per image (log scale)",
             "MACs %{x:.3s}", si),
    "latency_ms": ("Validation accuracy vs measured latency",
                   "inference latency on this machine (ms, log scale)", "%{x:.3g} ms",
                   "{:g}".format),
}


def pareto_figure(rows: Sequence[Mapping[str, Any]], cost: str = "macs",
                  score: str = "val_accuracy", height: int = 380) -> go.Figure:
    """Best validation accuracy vs a cost (``PARETO_AXES``: MACs per image or measured latency,
    log x): every run a point coloured by data set; each data set's Pareto front a line through
    its runs, marked with diamonds."""
    title, x_title, x_hover, tick_text = PARETO_AXES[cost]
    pts = [r for r in rows if r.get(cost) and r.get(score) is not None]
    fronts = pareto_fronts(pts, cost, score)
    by_id = {r["run_id"]: r for r in pts}
    fig = go.Figure()
    for i, dataset in enumerate(sorted({str(r.get("dataset") or "") for r in pts})):
        color = PALETTE[i % len(PALETTE)]
        mine = [r for r in pts if str(r.get("dataset") or "") == dataset]
        fig.add_trace(go.Scatter(
            x=[r[cost] for r in mine], y=[r[score] for r in mine], mode="markers",
            name=dataset or "?", legendgroup=dataset, ids=[r["run_id"] for r in mine],
            marker=dict(color=color, size=9, opacity=0.75),
            customdata=[[r.get("name", ""), r.get("architecture", "")] for r in mine],
            hovertemplate=f"%{{customdata[0]}}<br>%{{customdata[1]}}<br>{x_hover}<br>"
                          "val accuracy %{y:.2%}<extra></extra>"))
        front = [by_id[i] for i in fronts.get(dataset, ())]
        if front:
            fig.add_trace(go.Scatter(
                x=[r[cost] for r in front], y=[r[score] for r in front],
                mode="lines+markers", name=f"Pareto front ({dataset})", legendgroup=dataset,
                ids=[r["run_id"] for r in front], line=dict(color=color, width=2, shape="hv"),
                marker=dict(symbol="diamond-open", size=14, color=color, line=dict(width=2)),
                hoverinfo="skip"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title=title, xaxis_title=x_title,
                      yaxis_title="validation accuracy (kept model)",
                      legend=LEGEND_BELOW)
    costs = [float(r[cost]) for r in pts]
    if costs:  # a little room either side of the points, every tick labelled in full
        lo, hi = min(costs) / 1.6, max(costs) * 1.6
        fig.update_xaxes(range=[math.log10(lo), math.log10(hi)],
                         **log_ticks(lo, hi, tick_text))
    fig.update_xaxes(type="log")
    scores = [float(r[score]) for r in pts]
    if scores and max(scores) <= 1.0:  # accuracies: a fraction-of-one axis with some headroom
        fig.update_yaxes(range=[max(0.0, min(scores) - 0.1), min(1.0, max(scores) + 0.03) + 0.005])
        fig.update_traces(cliponaxis=False)  # a 100% point sits on the top edge, fully drawn
    fig.update_yaxes(tickformat=".0%")
    return fig


__all__ = ["curves_figure", "epoch_axis", "overlay_figure", "sweep_figure", "confusion_figure",
           "pareto_figure",
           "pareto_fronts", "steps_per_epoch", "CURVE_KEYS"]
