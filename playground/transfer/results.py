"""A finished transfer run's results as the Transfer page shows them: the confusion matrix as a
figure whose cells can be clicked, which validation images fall in a cell, the most frequent
confusions, and validation accuracy per class."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go


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


__all__ = ["cell_indices", "confusion_click_figure", "confusions", "per_class_figure",
           "selected_cell"]
