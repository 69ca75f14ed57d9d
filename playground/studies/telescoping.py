"""Study 1: small filters telescope. Stacked 3x3 convs see as far as one big kernel (7x7 from
three, 5x5 from two) with fewer weights and MACs and more non-linearities."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import (NB, SUBPLOT_MARGIN, block, cost, exact, head_less,
                                       nonlinearities, pair_bars, short, weighted)
from playground.training_charts import PALETTE

VARIANTS = (("one 7x7", (7,)), ("three 3x3", (3, 3, 3)), ("one 5x5", (5,)), ("two 3x3", (3, 3)))
PAIRS = (("three 3x3", "one 7x7"), ("two 3x3", "one 5x5"))


def variant_spec(label: str, kernels: tuple[int, ...], channels: int, size: int):
    """One big conv or a stack of small ones, C -> C channels on a size x size map, ReLU after
    each conv, no bias (textbook counting)."""
    name = label.replace(" ", "-")
    if len(kernels) == 1:
        blk = block("conv", "conv", filters=channels, kernel=kernels[0], **NB)
    else:
        blk = block("conv_stack", "stack", n=len(kernels), filters=channels, kernel=kernels[0],
                    **NB)
    return head_less(name, (size, size, channels), blk)


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    by = {v["label"]: v for v in numbers["variants"]}
    c = settings["channels"]
    findings = []
    for small, big in PAIRS:
        s, b = by[small], by[big]
        same = s["receptive_field"] == b["receptive_field"]
        findings.append(
            f"{small} see {s['receptive_field']}x{s['receptive_field']} input pixels"
            f"{', the same as' if same else ' against'} {big} ({b['receptive_field']}x"
            f"{b['receptive_field']}), with {exact(s['params'])} weights instead of "
            f"{exact(b['params'])} ({s['params'] / b['params']:.0%}: "
            f"{s['params'] // (c * c)}C² vs {b['params'] // (c * c)}C²), {short(s['macs'])} "
            f"instead of {short(b['macs'])} MACs, and {s['nonlinearities']} non-linearities "
            f"instead of {b['nonlinearities']}.")
    rows = [{"variant": v["label"], "kernels": " + ".join(f"{k}x{k}" for k in v["kernels"]),
             "receptive field": f"{v['receptive_field']}x{v['receptive_field']}",
             "params": v["params"], "params / C²": v["params"] // (c * c),
             "MACs": v["macs"], "non-linearities": v["nonlinearities"]}
            for v in numbers["variants"]]
    return StudyResult(numbers, findings, [
        ("The receptive field grows by 2 pixels per 3x3 layer: each number is the layer that "
         "first sees that input pixel (for the centre output)", grid_figure(numbers)),
        ("Weights and multiply-adds of each variant", cost_figure(numbers))],
        [("Same receptive field, fewer weights", rows)])


def grid_figure(numbers: dict[str, Any]) -> go.Figure:
    """The input grid under one output pixel, each cell numbered by the layer of the stack that
    first includes it, for three 3x3 and two 3x3 (the field read off the built layers)."""
    by = {v["label"]: v for v in numbers["variants"]}
    stacks = [by[small] for small, _ in PAIRS]
    side = max(v["receptive_field"] for v in by.values()) + 2
    fig = make_subplots(1, len(stacks), horizontal_spacing=0.08, subplot_titles=[
        f"{v['label']} (= one {v['receptive_field']}x{v['receptive_field']})" for v in stacks])
    for col, v in enumerate(stacks, start=1):
        z: list[list[Any]] = [[None] * side for _ in range(side)]
        centre = side // 2
        for layer, rf in reversed(list(enumerate(v["layer_fields"], start=1))):
            half = rf // 2
            for r in range(centre - half, centre + half + 1):
                for cc in range(centre - half, centre + half + 1):
                    z[r][cc] = layer
        text = [["" if x is None else str(x) for x in row] for row in z]
        n = len(v["layer_fields"])
        scale = [[i / max(n - 1, 1), PALETTE[i]] for i in range(n)] if n > 1 else [
            [0, PALETTE[0]], [1, PALETTE[0]]]
        fig.add_trace(go.Heatmap(
            z=z, text=text, texttemplate="%{text}", textfont=dict(size=13, color="white"),
            colorscale=scale, zmin=1, zmax=max(n, 2), showscale=False, xgap=2, ygap=2,
            hovertemplate="input pixel (%{x}, %{y})<br>first seen by layer %{z}<extra></extra>"),
            row=1, col=col)
        fig.update_xaxes(title_text="input column (pixels)", row=1, col=col, dtick=1,
                         constrain="domain")
        fig.update_yaxes(title_text="input row (pixels)", row=1, col=col, dtick=1,
                         autorange="reversed", scaleanchor=f"x{'' if col == 1 else col}",
                         constrain="domain")
    fig.update_layout(title="Receptive field on the input grid, layer by layer", height=470,
                      margin=SUBPLOT_MARGIN, plot_bgcolor="#eeeeee")
    return fig


def cost_figure(numbers: dict[str, Any]) -> go.Figure:
    v = numbers["variants"]
    c, s = numbers["channels"], numbers["size"]
    colors = [PALETTE[0] if len(x["kernels"]) == 1 else PALETTE[2] for x in v]
    return pair_bars([x["label"] for x in v],
                     ("weights (params)", "params", [x["params"] for x in v]),
                     ("multiply-adds (MACs)", "MACs per image", [x["macs"] for x in v]),
                     f"Cost at C = {c} channels in and out, {s}x{s} map (no bias)", "variant",
                     colors)


@study("telescoping", 1, "Small filters: the telescoping effect",
       "Stacking small 3x3 convolutions reaches the same receptive field as one large kernel "
       "(three 3x3 see 7x7, two see 5x5) with fewer weights and multiply-adds, and puts a "
       "non-linearity after every layer, which is why VGG uses only 3x3 convolutions.",
       "Equal receptive fields in the table; the green stacks' bars lower than the blue single "
       "kernels (27C² vs 49C², 18C² vs 25C²); the grid filling outwards 2 pixels per layer.",
       settings=(Setting("channels", "Channels C (in and out)", 64, lo=1, hi=1024),
                 Setting("size", "Feature map side (pixels)", 56, lo=7, hi=224)),
       present=present)
def telescoping(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    c, size = settings["channels"], settings["size"]
    out = []
    for label, kernels in VARIANTS:
        spec = variant_spec(label, kernels, c, size)
        report = cost(spec)
        convs = weighted(report)
        fields = [l.receptive_field[0] for l in convs]
        out.append({"label": label, "kernels": list(kernels), "receptive_field": fields[-1],
                    "layer_fields": fields, "params": report.params, "macs": report.macs,
                    "nonlinearities": nonlinearities(spec)})
    return {"channels": c, "size": size, "variants": out}
