"""Plotly figures of measurements (plain functions of data: no Streamlit, no store).

* :func:`share_figure` - each layer's (or block's) share of the measured time beside its share
  of the MACs; the ones whose time share stands out are drawn in red;
* :func:`roofline_figure` - the machine's roofline (peak MAC rate, bandwidth) with each layer at
  its arithmetic intensity and achieved rate;
* :func:`macs_time_figure` - MACs vs measured time of several architectures (log-log) against
  the line of their median ms per GMAC: how far MACs are from predicting time;

Validation accuracy vs measured latency is :func:`playground.training_charts.pareto_figure` with
``cost="latency_ms"``.
"""
from __future__ import annotations

import statistics
from typing import Any, Mapping, Sequence

import plotly.graph_objects as go

from playground.chart_ticks import log_ticks
from playground.measure.layers import by_group

__all__ = ["share_figure", "roofline_figure", "macs_time_figure", "share_rows"]

TIME_COLOR = "#1f77b4"
MAC_COLOR = "#bbbbbb"
STANDOUT_COLOR = "#d62728"


def _count(v: float) -> str:
    from playground.cost.formulas import format_count
    text = format_count(v)
    for zeros in (".00", ".0"):
        text = text.replace(zeros, "")
    return text


def share_rows(result: Mapping[str, Any], level: str = "auto", limit: int = 40
               ) -> tuple[list[dict[str, Any]], str]:
    """The rows the share chart draws and their level (``"layer"`` or ``"block"``; ``auto``:
    blocks when there are more than ``limit`` layers), in execution order."""
    rows = list((result.get("layers") or {}).get("layers") or [])
    if level == "auto":
        level = "block" if len(rows) > limit else "layer"
    if level == "block":
        rows = by_group(rows)
    return [r for r in rows if r.get("time_share") is not None], level


def share_figure(result: Mapping[str, Any], level: str = "auto", limit: int = 40) -> go.Figure:
    """Time share vs MAC share per layer or block (horizontal bars, execution order top down)."""
    rows, level = share_rows(result, level, limit)
    if len(rows) > limit:  # still too many blocks: keep the largest time shares, in order
        keep = {id(r) for r in sorted(rows, key=lambda r: -r["time_share"])[:limit]}
        rows = [r for r in rows if id(r) in keep]
    names = [r["name"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[100 * r["mac_share"] for r in rows], orientation="h",
                         name="share of MACs", marker_color=MAC_COLOR, offsetgroup="macs",
                         hovertemplate="%{y}: %{x:.1f}% of the MACs<extra></extra>"))
    for out, name, color in ((False, "share of measured time", TIME_COLOR),
                             (True, "time share >= 1.5x MAC share", STANDOUT_COLOR)):
        mine = [r for r in rows if bool(r.get("stands_out")) == out]
        if not mine:
            continue
        fig.add_trace(go.Bar(  # one slot for both time traces: a layer is in one of them
            y=[r["name"] for r in mine], x=[100 * r["time_share"] for r in mine],
            orientation="h", name=name, marker_color=color, offsetgroup="time",
            customdata=[[r.get("ms") or 0.0] for r in mine],
            hovertemplate="%{y}: %{x:.1f}% of the time (%{customdata[0]:.3f} ms)"
                          "<extra></extra>"))
    height = max(340, 150 + 24 * len(rows))
    fig.update_layout(
        barmode="group", height=height, margin=dict(l=10, r=10, t=40, b=100),
        title=f"Time share vs MAC share per {level}",
        xaxis_title="% of the total", yaxis=dict(categoryorder="array", categoryarray=names),
        # below the axis title, whatever the chart's height (paper units of the plot area)
        legend=dict(orientation="h", y=-70 / (height - 140), x=0.5, xanchor="center",
                    yanchor="top"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def roofline_figure(result: Mapping[str, Any]) -> go.Figure:
    """Achieved MAC rate vs arithmetic intensity per layer (log-log) under the roofline
    min(peak, intensity x bandwidth); layers without MACs have no point (they are all
    memory-bound)."""
    roof = result["roofline"]
    peak, bw = roof["macs_per_s"], roof["bytes_per_s"]
    rows = [r for r in (result.get("layers") or {}).get("layers") or []  # "small": no rate
            if r.get("intensity") and r.get("achieved_macs_per_s") and r.get("same_as") is None]
    xs = [r["intensity"] for r in rows]
    lo = min(xs + [roof["ridge"]]) / 4
    hi = max(xs + [roof["ridge"]]) * 4
    grid = [lo * (hi / lo) ** (i / 60) for i in range(61)]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=grid, y=[min(peak, x * bw) / 1e9 for x in grid], mode="lines",
                             name="roofline", line=dict(color="black", width=2),
                             hovertemplate="roofline: %{y:.1f} GMAC/s at %{x:.2f} MACs/byte"
                                           "<extra></extra>"))
    for bound, color in (("compute", "#2ca02c"), ("memory", "#ff7f0e")):
        mine = [r for r in rows if r.get("bound") == bound]
        if not mine:
            continue
        fig.add_trace(go.Scatter(
            x=[r["intensity"] for r in mine], y=[r["achieved_macs_per_s"] / 1e9 for r in mine],
            mode="markers", name=f"{bound}-bound layers", marker=dict(color=color, size=9,
                                                                      opacity=0.8),
            customdata=[[r["name"], r["type"], r.get("ms") or 0.0] for r in mine],
            hovertemplate="%{customdata[0]} (%{customdata[1]})<br>%{x:.2f} MACs/byte, "
                          "%{y:.2f} GMAC/s, %{customdata[2]:.3f} ms<extra></extra>"))
    fig.add_vline(x=roof["ridge"], line=dict(color="grey", dash="dot"))
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10),
                      title=f"Roofline: {peak / 1e9:.1f} GMAC/s, {bw / 1e9:.1f} GB/s",
                      xaxis_title=f"arithmetic intensity (MACs per byte moved, log); ridge "
                                  f"{roof['ridge']:.1f} (dotted)",
                      yaxis_title="achieved GMAC/s (log)",
                      legend=dict(orientation="h", y=-0.2, x=0.5, xanchor="center"))
    ys = [r["achieved_macs_per_s"] / 1e9 for r in rows] + [peak / 1e9, min(grid) * bw / 1e9]
    import math
    fig.update_xaxes(type="log", range=[math.log10(lo), math.log10(hi)], **log_ticks(lo, hi))
    fig.update_yaxes(type="log", **log_ticks(min(ys) / 1.5, max(ys) * 1.5))
    return fig


def _alternate(xs: Sequence[float]) -> list[str]:
    """Label positions above and below in turn along x, so neighbours' labels do not meet."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    pos = [""] * len(xs)
    for rank, i in enumerate(order):
        pos[i] = "top center" if rank % 2 == 0 else "bottom center"
    return pos


def macs_time_figure(rows: Sequence[Mapping[str, Any]], time_key: str = "latency_ms",
                     title: str = "Multiply-adds vs measured latency") -> go.Figure:
    """One point per architecture (``architecture``, ``macs`` per image x ``batch``,
    ``time_key`` in ms), log-log, with the line of the median ms per GMAC: points far from the
    line are where MACs mispredict time."""
    pts = [r for r in rows if r.get("macs") and r.get(time_key)]
    fig = go.Figure()
    if pts:
        work = [r["macs"] * r.get("batch", 1) for r in pts]
        per = statistics.median(r[time_key] / (w / 1e9) for r, w in zip(pts, work))
        lo, hi = min(work) / 2, max(work) * 2
        fig.add_trace(go.Scatter(x=[lo, hi], y=[per * lo / 1e9, per * hi / 1e9], mode="lines",
                                 name=f"median {per:.3g} ms per GMAC",
                                 line=dict(color="grey", dash="dot"), hoverinfo="skip"))
        fig.add_trace(go.Scatter(
            x=work, y=[r[time_key] for r in pts], mode="markers+text", name="measured",
            text=[str(r["architecture"]).removeprefix("keras:") for r in pts],
            textposition=_alternate(work), marker=dict(size=10, color=TIME_COLOR),
            customdata=[[r[time_key] / (w / 1e9)] for r, w in zip(pts, work)],
            hovertemplate="%{text}<br>%{x:.3s} MACs, %{y:.2f} ms<br>%{customdata[0]:.3g} ms "
                          "per GMAC<extra></extra>"))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="multiply-adds per call (log)",
                      yaxis_title="measured ms (median, log)",
                      legend=dict(orientation="h", y=-0.2, x=0.5, xanchor="center"))
    if pts:
        ys = [r[time_key] for r in pts] + [per * lo / 1e9, per * hi / 1e9]
        fig.update_xaxes(**log_ticks(lo, hi, _count))
        fig.update_yaxes(**log_ticks(min(ys), max(ys)))
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    return fig
