"""Study 4: depthwise separable convolutions. Counted cost ratio against 1/N + 1/Dk²;
MobileNet's Table 3 (one layer, alpha and rho); MobileNet vs Conv MobileNet (Table 4)."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import plotly.graph_objects as go

from playground.cost.formulas import separable_cost_ratio
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import NB, block, cost, head_less, log_axis, short, style
from playground.training_charts import PALETTE

N_VALUES = (8, 16, 32, 64, 128, 256, 512, 1024)
DK_VALUES = (1, 3, 5, 7)
# Howard et al. 2017, Table 3 (Dk = 3, M = N = 512, Df = 14; alpha 0.75, rho 0.714) in millions
TABLE3 = (("Convolution", 462, 2.36), ("Depthwise Separable Conv", 52.3, 0.27),
          ("α = 0.75", 29.6, 0.15), ("ρ = 0.714", 15.1, 0.15))
TABLE4 = {"conv-mobilenet": (4866, 29.3), "mobilenet": (569, 4.2)}  # Million MACs, params


def layer_spec(kind: str, m: int, n: int, dk: int, df: int):
    """One layer on a df x df x m map: a standard conv or a depthwise separable one, to n maps,
    no bias, no batch norm (MobileNet's Table 3 counting)."""
    blk = (block("conv", "conv", filters=n, kernel=dk, **NB) if kind == "conv" else
           block("depthwise_separable", "dwsep", filters=n, kernel=dk, **NB))
    return head_less(f"{kind}-{m}-{n}-k{dk}-{df}", (df, df, m), blk)


def _layer(kind: str, m: int, n: int, dk: int, df: int) -> dict[str, int]:
    r = cost(layer_spec(kind, m, n, dk, df))
    return {"macs": r.macs, "params": r.params}


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    grid = numbers["ratio_grid"]
    t3 = numbers["table3"]
    nets = numbers["networks"]
    s = settings
    findings = [
        f"Counted on built layers, the separable/standard MAC ratio equals 1/N + 1/Dk² exactly "
        f"at all {len(grid)} points (N = {N_VALUES[0]}..{N_VALUES[-1]}, Dk = "
        f"{', '.join(map(str, DK_VALUES))})" if numbers["all_exact"] else
        "The counted ratio differs from 1/N + 1/Dk² at some points (see the table).",
        f"One layer, Dk = {s['dk']}, M = {s['m']}, N = {s['n']}, Df = {s['df']}: "
        f"{short(t3[0]['macs'])} MACs / {short(t3[0]['params'])} params standard, "
        f"{short(t3[1]['macs'])} / {short(t3[1]['params'])} separable; α = {s['alpha']} "
        f"({t3[2]['m']} maps) {short(t3[2]['macs'])} / {short(t3[2]['params'])}; ρ = {s['rho']} "
        f"({t3[3]['df']}x{t3[3]['df']}) {short(t3[3]['macs'])} / {short(t3[3]['params'])}.",
    ]
    if numbers["is_table3"]:
        findings.append("These are MobileNet's Table 3 settings: every row matches the paper's "
                        "figures to the digits it prints (462M, 52.3M, 29.6M, 15.1M; 2.36M, "
                        "0.27M, 0.15M, 0.15M).")
    mb, cm = nets["mobilenet"], nets["conv-mobilenet"]
    findings.append(
        f"Whole networks at α = {s['net_alpha']}, ρ = {s['net_rho']} ({nets['size']}x"
        f"{nets['size']} input): MobileNet {short(mb['macs'])} MACs, {short(mb['params'])} "
        f"params; Conv MobileNet {short(cm['macs'])} MACs, {short(cm['params'])} params "
        f"({cm['macs'] / mb['macs']:.1f}x the MACs)"
        + (" - the paper's Table 4 says 569M vs 4,866M MACs, 4.2M vs 29.3M params."
           if s["net_alpha"] == 1.0 and s["net_rho"] == 1.0 else "."))
    fig = ratio_figure(grid, s["m"])
    rows3 = [{"row": r["row"], "maps": r["m"], "map side": r["df"], "MACs": r["macs"],
              "params": r["params"], "paper MACs (M)": r["paper_macs_m"],
              "paper params (M)": r["paper_params_m"]} for r in t3]
    rows_net = [{"network": name, "MACs": v["macs"], "params": v["params"],
                 "paper MACs (M)": TABLE4[name][0] if v["paper"] else None,
                 "paper params (M)": TABLE4[name][1] if v["paper"] else None}
                for name, v in nets.items() if name != "size"]
    rows_grid = [{"N": p["n"], "Dk": p["dk"], "counted ratio": p["ratio"],
                  "1/N + 1/Dk²": p["formula"], "exact": p["exact"]} for p in grid]
    return StudyResult(numbers, findings,
                       [("Counted ratio (markers) on the formula (dashed)", fig)],
                       [("MobileNet Table 3: one layer", rows3),
                        ("MobileNet vs Conv MobileNet (Table 4)", rows_net),
                        ("Ratio grid", rows_grid)])


def ratio_figure(grid: list[dict[str, Any]], m: int) -> go.Figure:
    """Per Dk: the counted ratios as markers on the formula's dashed line (same colour)."""
    fig = go.Figure()
    for i, dk in enumerate(DK_VALUES):
        pts = [p for p in grid if p["dk"] == dk]
        color = PALETTE[i % len(PALETTE)]
        xs = [p["n"] for p in pts]
        fig.add_trace(go.Scatter(x=xs, y=[p["formula"] for p in pts], mode="lines",
                                 line=dict(color=color, dash="dash", width=1.5),
                                 name=f"Dk={dk}: 1/N + 1/Dk²", legendgroup=str(dk),
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=xs, y=[p["ratio"] for p in pts], mode="markers",
                                 marker=dict(color=color, size=9), name=f"Dk = {dk}",
                                 legendgroup=str(dk),
                                 hovertemplate=f"Dk = {dk}, N = %{{x}}<br>counted %{{y:.5f}}"
                                               "<extra></extra>"))
    style(fig, f"Separable / standard cost, M = {m} (markers: counted; dashed: 1/N + 1/Dk²)",
          "output channels N", "cost ratio (MACs)", height=430)
    log_axis(fig, "x", [p["n"] for p in grid], si_labels=False)
    log_axis(fig, "y", [p["ratio"] for p in grid])
    return fig


@study("separable", 4, "Depthwise separable convolutions",
       "A depthwise separable layer filters each map on its own (Dk²·M·Df²) and then mixes maps "
       "with a 1x1 conv (M·N·Df²): a fraction 1/N + 1/Dk² of a standard conv's cost, about 8-9x "
       "less for 3x3. MobileNet is built from them: 569M multiply-adds where the same network "
       "with full convolutions needs 4,866M.",
       "Counted markers sitting on the dashed formula lines; the ratio flattening at 1/Dk² for "
       "wide layers; Table 3's rows shrinking.",
       settings=(Setting("m", "Input maps M", 512, lo=1, hi=2048),
                 Setting("n", "Output maps N", 512, lo=1, hi=2048),
                 Setting("dk", "Kernel Dk", 3, choices=(1, 3, 5, 7)),
                 Setting("df", "Map side Df (pixels)", 14, lo=1, hi=224),
                 Setting("alpha", "Width multiplier α (one layer)", 0.75, lo=0.05, hi=1.0),
                 Setting("rho", "Resolution multiplier ρ (one layer)", 0.714, lo=0.05, hi=1.0),
                 Setting("net_alpha", "Network α", 1.0, choices=(1.0, 0.75, 0.5, 0.25)),
                 Setting("net_rho", "Network ρ (224, 192, 160, 128 px)", 1.0,
                         choices=(1.0, 0.857, 0.714, 0.571))),
       present=present)
def separable(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    m, n, dk, df = settings["m"], settings["n"], settings["dk"], settings["df"]
    grid = []
    for dk_ in DK_VALUES:
        for n_ in N_VALUES:
            std, sep = _layer("conv", m, n_, dk_, df), _layer("sep", m, n_, dk_, df)
            formula = separable_cost_ratio(n_, dk_)
            grid.append({"n": n_, "dk": dk_, "ratio": sep["macs"] / std["macs"],
                         "formula": float(formula),
                         "exact": Fraction(sep["macs"], std["macs"]) == formula
                         and Fraction(sep["params"], std["params"]) == formula})
    am = max(1, int(m * settings["alpha"]))
    an = max(1, int(n * settings["alpha"]))
    rdf = max(1, round(df * settings["rho"]))
    rows = [("Convolution", "conv", m, n, df), ("Depthwise Separable Conv", "sep", m, n, df),
            (f"α = {settings['alpha']}", "sep", am, an, df),
            (f"ρ = {settings['rho']}", "sep", am, an, rdf)]
    is_table3 = (m, n, dk, df, settings["alpha"], settings["rho"]) == (512, 512, 3, 14, 0.75,
                                                                        0.714)
    table3 = []
    for (row, kind, mm, nn, d), paper in zip(rows, TABLE3):
        c = _layer(kind, mm, nn, dk, d)
        table3.append({"row": row, "m": mm, "n": nn, "df": d, **c,
                       "paper_macs_m": paper[1] if is_table3 else None,
                       "paper_params_m": paper[2] if is_table3 else None})
    from playground.zoo import get
    nets: dict[str, Any] = {}
    paper = settings["net_alpha"] == 1.0 and settings["net_rho"] == 1.0
    for name in ("mobilenet", "conv-mobilenet"):
        spec = get(name).spec(alpha=settings["net_alpha"], rho=settings["net_rho"])
        r = cost(spec)
        nets[name] = {"macs": r.macs, "params": r.params, "paper": paper}
        nets["size"] = spec.input_shape[0]
    return {"ratio_grid": grid, "all_exact": all(p["exact"] for p in grid),
            "table3": table3, "is_table3": is_table3, "networks": nets}
