"""Study 3: grouped convolutions and split-transform-merge. A conv split into g groups costs
1/g; ResNeXt spends the saving on more, thinner paths (cardinality) at a fixed budget."""
from __future__ import annotations

from typing import Any

from playground.errors import SpecError
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import (NB, block, cost, exact, head_less, lines, pair_bars,
                                       short, weighted)

GROUPS = (1, 2, 4, 8, 16, 32, 64)
# Xie et al. 2017, Table 2: cardinality C x bottleneck width d at ~the same cost as ResNet-50's
# conv2 bottleneck (256 -> 64 -> 64 -> 256, "1x64d")
TEMPLATES = ((1, 64), (2, 40), (4, 24), (8, 14), (32, 4))


def grouped_spec(channels: int, groups: int, size: int, kernel: int):
    return head_less(f"grouped-g{groups}", (size, size, channels),
                     block("grouped_conv", "gconv", filters=channels, kernel=kernel,
                           groups=groups, activation="relu", **NB))


def resnext_spec(channels: int, cardinality: int, d: int, size: int):
    """ResNeXt's split-transform-merge block as convs (form (c) of the paper's Fig. 3): 1x1 to
    C*d maps, a 3x3 conv in C groups, 1x1 back to ``channels``; no bias, no shortcut cost."""
    width = cardinality * d
    return head_less(f"resnext-{cardinality}x{d}d", (size, size, channels),
                     block("pointwise", "reduce", filters=width, bias=False),
                     block("grouped_conv", "group3x3", filters=width, kernel=3,
                           groups=cardinality, activation="relu", **NB),
                     block("pointwise", "expand", filters=channels, bias=False,
                           activation="none"))


def block_params(channels: int, cardinality: int, d: int) -> int:
    """C·(channels·d + 9·d² + d·channels): the block's weights (to pick d for a budget)."""
    return cardinality * (2 * channels * d + 9 * d * d)


def width_for(channels: int, cardinality: int, budget: int) -> int:
    """The bottleneck width d whose block comes closest to ``budget`` weights (the smaller d
    on a tie), as the paper picks its templates."""
    best = min(range(1, 4 * channels + 1),
               key=lambda d: (abs(block_params(channels, cardinality, d) - budget), d))
    return best


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    g = numbers["groups"]
    c, k = settings["channels"], settings["kernel"]
    first, last = g[0], g[-1]
    findings = [
        f"A {k}x{k} conv {c} -> {c} maps costs {exact(first['macs'])} MACs in one group and "
        f"{exact(last['macs'])} in {last['groups']} groups: cost x 1/g exactly "
        f"({'holds' if all(r['macs'] * r['groups'] == first['macs'] for r in g) else 'FAILS'} "
        f"for every g counted), weights likewise ({exact(first['params'])} -> "
        f"{exact(last['params'])}).",
    ]
    t = numbers["templates"]
    ref = t[0]
    spread = max(r["params"] for r in t) / min(r["params"] for r in t) - 1
    findings.append(
        f"ResNeXt's templates at a {c}-map block ({', '.join(r['template'] for r in t)}) all "
        f"cost about the same: {short(min(r['params'] for r in t))} to "
        f"{short(max(r['params'] for r in t))} weights (within {spread:.1%}), "
        f"{short(min(r['macs'] for r in t))} to {short(max(r['macs'] for r in t))} MACs on "
        f"{settings['size']}x{settings['size']}, while the grouped width C·d grows from "
        f"{ref['width']} to {t[-1]['width']} maps.")
    if numbers["paper_templates_match"]:
        findings.append("Picking d for each cardinality as the width closest to the 1x64d "
                        "budget gives exactly the paper's templates (2x40d, 4x24d, 8x14d, "
                        "32x4d).")
    else:
        findings.append("At these settings the width closest to the 1x64d budget differs from "
                        "the paper's template for some cardinality (see 'd for budget'): the "
                        "paper's table is for 256-map blocks.")
    findings.append("Training each point is left out here: this study counts cost only.")
    fig_g = lines({"MACs": ([r["groups"] for r in g], [r["macs"] for r in g]),
                   "params": ([r["groups"] for r in g], [r["params"] for r in g])},
                  f"Cost vs groups ({k}x{k} conv, {c} -> {c} maps, {settings['size']}x"
                  f"{settings['size']})", "groups g", "count (log)", log_x=True, log_y=True)
    fig_t = pair_bars([r["template"] for r in t],
                      ("weights per block (dashed: the 1x64d budget)", "params per block",
                       [r["params"] for r in t]),
                      ("grouped width C·d", "maps in the grouped 3x3", [r["width"] for r in t]),
                      f"ResNeXt templates at a fixed budget ({c}-map block)",
                      "template (cardinality x width d)")
    fig_t.add_hline(y=ref["params"], line_dash="dash", line_color="#333333", row=1, col=1)
    rows_g = [{"groups": r["groups"], "inputs per group": c // r["groups"], "params": r["params"],
               "MACs": r["macs"], "cost vs g=1": r["macs"] / first["macs"]} for r in g]
    rows_t = [{"template": r["template"], "cardinality C": r["cardinality"], "width d": r["d"],
               "grouped width C·d": r["width"], "params": r["params"], "MACs": r["macs"],
               "d for budget": r["d_for_budget"]} for r in t]
    return StudyResult(numbers, findings, [("Grouped conv: cost falls as 1/g", fig_g),
                                           ("Cardinality vs width at one budget", fig_t)],
                       [("Cost vs groups", rows_g), ("ResNeXt templates (Xie et al., Table 2)",
                                                     rows_t)])


@study("grouped", 3, "Grouped convolutions and split-transform-merge",
       "Splitting a convolution's channels into g groups that are convolved separately divides "
       "its weights and multiply-adds by g. ResNeXt spends that saving on more parallel paths "
       "(cardinality): 32 paths of width 4 cost what one path of width 64 does.",
       "The two straight lines falling by one decade per decade of g; the template bars level "
       "with the dashed 1x64d budget while the grouped width grows.",
       settings=(Setting("channels", "Channels (in and out)", 256, lo=64, hi=1024,
                         help="multiples of 64 keep every group count valid"),
                 Setting("size", "Feature map side (pixels)", 56, lo=1, hi=224),
                 Setting("kernel", "Kernel size", 3, choices=(1, 3, 5))),
       present=present)
def grouped(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    c, size, k = settings["channels"], settings["size"], settings["kernel"]
    if c % 64:
        raise SpecError("study 'grouped' setting 'channels'",
                        f"must be a multiple of 64 (so 1..64 groups divide it), got {c}")
    groups = []
    for g in GROUPS:
        r = cost(grouped_spec(c, g, size, k))
        groups.append({"groups": g, "params": r.params, "macs": r.macs})
    budget = block_params(c, 1, 64)
    templates = []
    for card, d in TEMPLATES:
        r = cost(resnext_spec(c, card, d, size))
        templates.append({"template": f"{card}x{d}d", "cardinality": card, "d": d,
                          "width": card * d, "params": r.params, "macs": r.macs,
                          "layer_macs": [l.macs for l in weighted(r)],
                          "d_for_budget": width_for(c, card, budget)})
    return {"groups": groups, "templates": templates, "budget_params": budget,
            "paper_templates_match": all(t["d"] == t["d_for_budget"] for t in templates)}
