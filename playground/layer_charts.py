"""Per-layer charts (plotly) shared by the builder and compare pages: MACs, params, activation
memory and receptive-field growth along the depth of one or several architectures."""
from __future__ import annotations

import math
from typing import Any, Iterable

# (column, tab title, axis title, log scale)
METRICS = (
    ("macs", "MACs per layer", "multiply-adds", True),
    ("params", "Params per layer", "parameters", True),
    ("activation_bytes", "Activation memory", "activation bytes per image (fp32)", True),
    ("receptive_field", "Receptive field", "receptive field (pixels)", False),
)


def layer_rows(report: Any, label: str) -> list[dict[str, Any]]:
    """One row per layer with its depth index: the data of the per-layer charts."""
    rows = []
    for i, r in enumerate(report.layers):
        rf = r.receptive_field
        rows.append({"architecture": label, "index": i, "layer": r.name, "type": r.type,
                     "params": r.params, "macs": r.macs, "activation_bytes": r.activation_bytes,
                     "receptive_field": max(rf) if rf else None})
    return rows


MAX_TICKS = 24  # named ticks on the x axis: every layer up to this many, then every k-th depth
PALETTE = ("#1f4fa8", "#e8743b", "#2ca02c", "#9467bd")


def _y_range(values: list[float], log_y: bool) -> tuple[list[float], dict[str, Any]]:
    """The y range and tick settings that keep every point inside, with a tick below the lowest
    one: whole decades on a log axis (a labelled tick at each edge), zero up on a linear one."""
    lo, hi = min(values), max(values)
    if log_y:
        bottom = math.floor(math.log10(lo) - 0.05)  # lowest point >= 0.05 decades above it
        top = max(math.ceil(math.log10(hi) + 0.05), bottom + 1)
        return [bottom, top], dict(dtick=1, exponentformat="SI")
    return [0, hi * 1.08 if hi > 0 else 1], {}


def per_layer_figure(rows: Iterable[dict[str, Any]], column: str, axis_title: str,
                     log_y: bool, height: int = 440) -> Any:
    """Overlaid line chart of ``column`` against layer depth, one line per architecture. The x
    axis is labelled with the layers' names when every architecture has the same names at each
    depth, else with layer numbers (each point's own name and type are in its hover text)."""
    import plotly.graph_objects as go

    rows = [r for r in rows if r.get(column) is not None and (not log_y or r[column] > 0)]
    fig = go.Figure()  # zero-cost layers (input, reshape...) cannot sit on a log axis
    archs = list(dict.fromkeys(r["architecture"] for r in rows))
    for i, arch in enumerate(archs):
        mine = [r for r in rows if r["architecture"] == arch]
        fig.add_trace(go.Scatter(
            x=[r["index"] for r in mine], y=[r[column] for r in mine], name=arch,
            mode="lines+markers", line=dict(color=PALETTE[i % len(PALETTE)], width=2),
            marker=dict(size=5), customdata=[[r["layer"], r["type"]] for r in mine],
            hovertemplate=f"<b>%{{customdata[0]}}</b> (%{{customdata[1]}})<br>{axis_title}: "
                          "%{y:,.0f}<extra>%{fullData.name}</extra>"))
    if not rows:
        fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10))
        return fig
    names: dict[int, str] = {}
    for r in rows:
        names.setdefault(r["index"], r["layer"])
    differ = any(r["layer"] != names[r["index"]] for r in rows)
    if differ:  # one architecture's names under another's points would mislabel them
        names = {i: str(i + 1) for i in names}
    gap = math.ceil((max(names) - min(names) + 1) / MAX_TICKS)  # evenly spread: labels at
    ticks: list[int] = []                                         # neighbouring depths overlap
    for i in sorted(names):
        if not ticks or i - ticks[-1] >= gap:
            ticks.append(i)
    y_range, y_ticks = _y_range([r[column] for r in rows], log_y)
    last = max(r["index"] for r in rows)
    fig.update_xaxes(tickvals=ticks, ticktext=[names[i] for i in ticks],
                     tickangle=0 if differ else -45, tickfont=dict(size=10), automargin=True,
                     range=[-0.5, last + 0.5],
                     title_text="layer number in depth order (hover a point for its layer's name)"
                     if differ else "layer (depth order)")
    fig.update_yaxes(type="log" if log_y else "linear", range=y_range, title_text=axis_title,
                     **y_ticks)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      showlegend=len(archs) > 1, hovermode="closest",
                      legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom", title_text=""))
    return fig
