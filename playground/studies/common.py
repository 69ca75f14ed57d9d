"""What the cost-only studies share: head-less specs built from the project's blocks, their cost
counted by :func:`playground.cached.analyze_spec` (the built Keras layers, not a re-derivation),
and the plotly figure helpers (titled, axes labelled with units, full tick labels on log axes).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import plotly.graph_objects as go

from playground.chart_ticks import log_ticks, si
from playground.cost import CostReport, format_count
from playground.spec import ArchSpec, BlockSpec
from playground.training_charts import LEGEND_BELOW, PALETTE

# textbook counting: K*K*Cin*Cout weights, no bias, no batch norm (as playground.comparisons)
NB = {"bias": False, "batch_norm": False}
MARGIN = dict(l=10, r=10, t=50, b=10)
SUBPLOT_MARGIN = dict(l=10, r=10, t=90, b=10)  # room for the title above the subplot titles


def block(type: str, name: str | None = None, **params: Any) -> BlockSpec:
    """A block spec (``block("conv", "c1", filters=64)``)."""
    return BlockSpec(type, params, name)


def head_less(name: str, shape: Sequence[int], *blocks: BlockSpec) -> ArchSpec:
    """A spec whose output is its last feature map: the cost of the blocks alone."""
    return ArchSpec(tuple(shape), tuple(blocks), block("no_head"), name)


def cost(spec: ArchSpec) -> CostReport:
    """The cost report of ``spec`` counted from its built layers (cached per equal spec)."""
    from playground.cached import analyze_spec
    return analyze_spec(spec)


def weighted(report: CostReport) -> list[Any]:
    """The report's layers that hold weights or do multiply-adds (convs, dense)."""
    return [l for l in report.layers if l.params or l.macs]


def nonlinearities(spec: ArchSpec) -> int:
    """Non-linear activations in the built model: Activation layers and layers with a fused
    activation other than linear (counted on the layers, not from the spec)."""
    from playground.cached import analysis_model
    count = 0
    for layer in analysis_model(spec).layers:
        fn = getattr(layer, "activation", None)
        if fn is not None and getattr(fn, "__name__", "linear") != "linear":
            count += 1
    return count


def short(n: float | int | None) -> str:
    """``346.8M``: a count for people."""
    return format_count(n)


def exact(n: float | int | None) -> str:
    """``346,816,512``."""
    return format_count(n, "exact")


def style(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 400,
          legend: bool = True) -> go.Figure:
    """The studies' figure layout: title, axis titles, margins, legend under the x-axis title."""
    fig.update_layout(title=title, height=height, margin=MARGIN, xaxis_title=x_title,
                      yaxis_title=y_title, legend=LEGEND_BELOW, showlegend=legend,
                      hoverlabel=dict(namelength=-1))
    return fig


def log_axis(fig: go.Figure, axis: str, values: Sequence[float], si_labels: bool = True,
             **where: Any) -> None:
    """Make ``axis`` ("x" or "y") logarithmic with full 1-2-5 tick labels over ``values``."""
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not vals:
        return
    lo, hi = min(vals), max(vals)
    # a narrow span (fewer than two 1-2-5 values) gives no ticks: plotly chooses them
    ticks = log_ticks(lo / 1.001, hi * 1.001, si if si_labels else "{:g}".format)
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(type="log", **ticks, **where)


def lines(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
          x_title: str, y_title: str, log_x: bool = False, log_y: bool = False,
          dashed: Sequence[str] = (), hover: str = "%{y:,.0f}", height: int = 400,
          markers: bool = True) -> go.Figure:
    """One line per ``{label: (xs, ys)}``; labels in ``dashed`` drawn dashed (references)."""
    fig = go.Figure()
    xs_all, ys_all = [], []
    for i, (label, (xs, ys)) in enumerate(series.items()):
        fig.add_trace(go.Scatter(
            x=list(xs), y=list(ys), name=label,
            mode="lines+markers" if markers and label not in dashed else "lines",
            line=dict(color=PALETTE[i % len(PALETTE)], width=2,
                      dash="dash" if label in dashed else "solid"),
            hovertemplate=f"{label}<br>{x_title}: %{{x}}<br>{y_title}: {hover}<extra></extra>"))
        xs_all += list(xs)
        ys_all += list(ys)
    style(fig, title, x_title, y_title, height)
    if log_x:
        log_axis(fig, "x", xs_all, si_labels=False)
    if log_y:
        log_axis(fig, "y", ys_all)
    elif ys_all and min(ys_all) >= 0:
        fig.update_yaxes(rangemode="tozero")
    return fig


def bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], title: str,
         x_title: str, y_title: str, log_y: bool = False, height: int = 400,
         text: bool = True, stacked: bool = False) -> go.Figure:
    """Grouped (or stacked) bars: one bar series per ``{label: values}`` over ``categories``,
    each bar labelled with its short count."""
    fig = go.Figure()
    values_all = []
    for i, (label, values) in enumerate(series.items()):
        values = list(values)
        values_all += values
        fig.add_trace(go.Bar(
            x=list(categories), y=values, name=label, marker_color=PALETTE[i % len(PALETTE)],
            text=[short(v) for v in values] if text else None, textposition="auto",
            hovertemplate=f"{label}<br>%{{x}}: %{{y:,.0f}}<extra></extra>"))
    style(fig, title, x_title, y_title, height, legend=len(series) > 1)
    fig.update_layout(barmode="stack" if stacked else "group")
    if log_y:
        log_axis(fig, "y", values_all)
    return fig


def spread_bars(ticks: Sequence[str], means: Sequence[float], stds: Sequence[float],
                text: Sequence[str], hover: str, customdata: Sequence[Any] | None = None
                ) -> go.Figure:
    """One coloured bar per net with its mean and a ± std error bar, the bar's own figure
    written inside it (``hover`` is the plotly hover template). The caller titles it."""
    return go.Figure(go.Bar(x=list(ticks), y=list(means), error_y=dict(type="data",
                                                                       array=list(stds)),
                            marker_color=[PALETTE[i % len(PALETTE)] for i in range(len(ticks))],
                            text=list(text), textposition="inside", insidetextanchor="start",
                            textangle=0, customdata=list(customdata) if customdata else None,
                            hovertemplate=hover))


def pair_bars(categories: Sequence[str], left: tuple[str, str, Sequence[float]],
              right: tuple[str, str, Sequence[float]], title: str, x_title: str,
              colors: Sequence[str] | None = None, height: int = 420) -> go.Figure:
    """Two bar panels over the same categories, each on its own scale (``(panel title, axis
    title, values)``): e.g. params left, MACs right, where one axis would flatten the smaller."""
    from plotly.subplots import make_subplots
    fig = make_subplots(1, 2, subplot_titles=(left[0], right[0]), horizontal_spacing=0.12)
    for col, (_, axis, values) in ((1, left), (2, right)):
        values = list(values)
        fig.add_trace(go.Bar(x=list(categories), y=values, showlegend=False,
                             marker_color=list(colors) if colors else PALETTE[col - 1],
                             text=[short(v) for v in values], textposition="auto",
                             insidetextanchor="middle",
                             hovertemplate="%{x}: %{y:,.0f}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(title_text=axis, rangemode="tozero", row=1, col=col)
        fig.update_xaxes(title_text=x_title, row=1, col=col)
    fig.update_layout(title=title, height=height, margin=SUBPLOT_MARGIN, legend=LEGEND_BELOW)
    return fig


__all__ = ["NB", "SUBPLOT_MARGIN", "bars", "block", "cost", "exact", "head_less", "lines",
           "log_axis", "nonlinearities", "pair_bars", "short", "spread_bars", "style",
           "weighted"]
