"""Per-layer charts (plotly) shared by the builder and compare pages: MACs, params, activation
memory and receptive-field growth along the depth of one or several architectures."""
from __future__ import annotations

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


def per_layer_figure(rows: Iterable[dict[str, Any]], column: str, axis_title: str,
                     log_y: bool, height: int = 420) -> Any:
    """Overlaid line chart of ``column`` against layer depth, one line per architecture."""
    import pandas as pd
    import plotly.express as px

    data = pd.DataFrame(list(rows))
    if log_y:  # zero-cost layers (input, reshape...) cannot sit on a log axis
        data = data[data[column].fillna(0) > 0]
    data = data.dropna(subset=[column])
    fig = px.line(data, x="index", y=column, color="architecture", markers=True,
                  hover_data=["layer", "type"], log_y=log_y)
    last = int(data["index"].max()) if len(data) else 1
    fig.update_xaxes(dtick=max(1, round(last / 12)))  # whole layer indices only
    fig.update_layout(height=height, xaxis_title="layer (depth order)", yaxis_title=axis_title,
                      margin=dict(l=10, r=10, t=30, b=10), legend_title_text="")
    return fig
