"""Plotly figures of measurements (plain functions of data: no Streamlit, no store).

* :func:`share_figure` - each layer's (or block's) share of the measured time beside its share
  of the MACs; the ones whose time share stands out are drawn in red;
* :func:`roofline_figure` - the machine's roofline (peak MAC rate, bandwidth) with each layer at
  its arithmetic intensity and achieved rate;
* :func:`macs_time_figure` - MACs vs measured time of several architectures (log-log) against
  the line of their median ms per GMAC: how far MACs are from predicting time;
* :func:`latency_pareto_figure` - validation accuracy vs measured latency with each data set's
  Pareto front.
"""
from __future__ import annotations

import statistics
from typing import Any, Mapping, Sequence

import plotly.graph_objects as go

from playground.measure.layers import by_group

__all__ = ["share_figure", "roofline_figure", "macs_time_figure", "latency_pareto_figure",
           "share_rows"]

TIME_COLOR = "#1f77b4"
MAC_COLOR = "#bbbbbb"
STANDOUT_COLOR = "#d62728"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


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
                         name="share of MACs", marker_color=MAC_COLOR,
                         hovertemplate="%{y}: %{x:.1f}% of the MACs<extra></extra>"))
    fig.add_trace(go.Bar(
        y=names, x=[100 * r["time_share"] for r in rows], orientation="h",
        name="share of measured time",
        marker_color=[STANDOUT_COLOR if r.get("stands_out") else TIME_COLOR for r in rows],
        customdata=[[r.get("ms") or 0.0] for r in rows],
        hovertemplate="%{y}: %{x:.1f}% of the time (%{customdata[0]:.3f} ms)<extra></extra>"))
    fig.update_layout(
        barmode="group", height=max(320, 60 + 24 * len(rows)),
        margin=dict(l=10, r=10, t=40, b=10),
        title=f"Time share vs MAC share per {level} (red: time share >= 1.5x MAC share)",
        xaxis_title="% of the total", legend=dict(orientation="h", y=1.0, x=1, xanchor="right",
                                                   yanchor="bottom"))
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def roofline_figure(result: Mapping[str, Any]) -> go.Figure:
    """Achieved MAC rate vs arithmetic intensity per layer (log-log) under the roofline
    min(peak, intensity x bandwidth); layers without MACs have no point (they are all
    memory-bound)."""
    roof = result["roofline"]
    peak, bw = roof["macs_per_s"], roof["bytes_per_s"]
    rows = [r for r in (result.get("layers") or {}).get("layers") or []
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
    fig.add_vline(x=roof["ridge"], line=dict(color="grey", dash="dot"),
                  annotation_text=f"ridge {roof['ridge']:.1f} MACs/byte",
                  annotation_position="bottom right")
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10),
                      title=f"Roofline: peak {peak / 1e9:.1f} GMAC/s, bandwidth "
                            f"{bw / 1e9:.1f} GB/s (measured on this machine)",
                      xaxis_title="arithmetic intensity (MACs per byte moved, log)",
                      yaxis_title="achieved GMAC/s (log)",
                      legend=dict(orientation="h", y=-0.2, x=0.5, xanchor="center"))
    fig.update_xaxes(type="log", dtick=1)  # one labelled tick per decade
    fig.update_yaxes(type="log", dtick=1)
    return fig


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
            textposition="top center", marker=dict(size=10, color=TIME_COLOR),
            customdata=[[r[time_key] / (w / 1e9)] for r, w in zip(pts, work)],
            hovertemplate="%{text}<br>%{x:.3s} MACs, %{y:.2f} ms<br>%{customdata[0]:.3g} ms "
                          "per GMAC<extra></extra>"))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=40, b=10), title=title,
                      xaxis_title="multiply-adds per call (log)",
                      yaxis_title="measured ms (median, log)",
                      legend=dict(orientation="h", y=-0.2, x=0.5, xanchor="center"))
    fig.update_xaxes(type="log", dtick=1)
    fig.update_yaxes(type="log", dtick=1)
    return fig


def latency_pareto_figure(rows: Sequence[Mapping[str, Any]], cost: str = "latency_ms",
                          score: str = "val_accuracy", height: int = 380) -> go.Figure:
    """Validation accuracy vs measured latency (log x): every run a point coloured by data set,
    each data set's Pareto front a line through its runs."""
    from playground.training_charts import pareto_fronts
    pts = [r for r in rows if r.get(cost) and r.get(score) is not None]
    fronts = pareto_fronts(pts, cost, score)
    by_id = {r["run_id"]: r for r in pts}
    fig = go.Figure()
    for i, dataset in enumerate(sorted({str(r.get("dataset") or "") for r in pts})):
        color = PALETTE[i % len(PALETTE)]
        mine = [r for r in pts if str(r.get("dataset") or "") == dataset]
        fig.add_trace(go.Scatter(
            x=[r[cost] for r in mine], y=[r[score] for r in mine], mode="markers",
            name=dataset or "?", ids=[r["run_id"] for r in mine],
            marker=dict(color=color, size=9, opacity=0.75),
            customdata=[[r.get("name", ""), r.get("architecture", "")] for r in mine],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{x:.3g} ms<br>"
                          "val accuracy %{y:.2%}<extra></extra>"))
        front = [by_id[k] for k in fronts.get(dataset, ())]
        if front:
            fig.add_trace(go.Scatter(
                x=[r[cost] for r in front], y=[r[score] for r in front], mode="lines+markers",
                name=f"Pareto front ({dataset})", line=dict(color=color, width=2, shape="hv"),
                marker=dict(symbol="diamond-open", size=14, color=color, line=dict(width=2)),
                hoverinfo="skip"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title="Validation accuracy vs measured latency",
                      xaxis_title="inference latency on this machine (ms, log scale)",
                      yaxis_title="validation accuracy (kept model)",
                      legend=dict(orientation="h", y=-0.25, x=0.5, xanchor="center"))
    fig.update_xaxes(type="log")
    fig.update_yaxes(tickformat=".0%")
    return fig
