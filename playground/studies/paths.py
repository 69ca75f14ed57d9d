"""Study 7 (counting part): paths through a residual network (Veit et al. 2016). Each of n
residual blocks is either taken or skipped, so there are 2^n paths, and C(n, k) of them pass
through k blocks: path lengths are Binomial(n, 1/2). Counted exactly with integers."""
from __future__ import annotations

from fractions import Fraction
from math import comb, sqrt
from typing import Any

import plotly.graph_objects as go

from playground.errors import SpecError
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import style
from playground.training_charts import PALETTE

COVER = Fraction(95, 100)


def counts(n: int) -> list[int]:
    """C(n, k) for k = 0..n: the paths through exactly k of n residual blocks."""
    return [comb(n, k) for k in range(n + 1)]


def share(n: int, lo: int, hi: int) -> Fraction:
    """The exact fraction of the 2^n paths whose length is in lo..hi (inclusive)."""
    return Fraction(sum(comb(n, k) for k in range(max(lo, 0), min(hi, n) + 1)), 2 ** n)


def narrowest_symmetric(n: int, cover: Fraction = COVER) -> tuple[int, int]:
    """The narrowest interval of lengths symmetric around n/2 holding at least ``cover`` of
    the paths."""
    c, total = counts(n), 2 ** n
    lo, hi = n // 2, (n + 1) // 2
    inside = sum(c[lo:hi + 1])
    while Fraction(inside, total) < cover and (lo > 0 or hi < n):
        lo, hi = lo - 1, hi + 1
        inside += c[lo] + c[hi]
    return lo, hi


def resnet110_blocks() -> dict[str, int]:
    """Residual blocks and weight layers of the zoo's 110-layer CIFAR ResNet (from its spec)."""
    from playground.zoo import get
    spec = get("resnet110-cifar").spec()
    blocks = sum(b.type == "resnet_basic" for b in spec.blocks)
    return {"blocks": blocks, "depth": 2 * blocks + 2}


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    n, lo, hi = numbers["n"], numbers["lo"], numbers["hi"]
    frac = Fraction(numbers["in_range"], numbers["paths"])
    nl, nh = numbers["narrowest_95"]
    findings = [
        f"{n} residual blocks give 2^{n} = {numbers['paths']:,} paths; C({n}, k) of them go "
        f"through k blocks, so lengths are Binomial({n}, 1/2): mean {n / 2:g}, standard "
        f"deviation {sqrt(n) / 2:.2f} blocks.",
        f"Exactly {numbers['in_range']:,} of them ({float(frac):.4%}) have a length from {lo} "
        f"to {hi} blocks; the narrowest range centred on {n / 2:g} that holds at least 95% is "
        f"{nl}..{nh} ({numbers['narrowest_share']:.4%}).",
    ]
    r = numbers["resnet110"]
    if n == r["blocks"] and (lo, hi) == (20, 34):
        findings.append(
            f"For the 110-layer CIFAR ResNet ({r['blocks']} blocks in the zoo's spec, "
            f"{r['depth']} weight layers): the claim '95% of paths between 20 and 34 blocks' "
            f"holds, exactly {float(frac):.2%} (>= 95%), and 20..34 is the narrowest such range "
            f"around 27 (21..33 holds only {numbers['inner_share']:.2%}). Most paths are far "
            f"shorter than the {r['blocks']}-block deep net.")
    ks = list(range(n + 1))
    pct = [100 * c / numbers["paths"] for c in numbers["counts"]]
    inside = [lo <= k <= hi for k in ks]
    fig = go.Figure()
    for flag, name, color in ((True, f"length {lo}..{hi} ({float(frac):.2%} of paths)",
                               PALETTE[0]), (False, "other lengths", "#bbbbbb")):
        fig.add_trace(go.Bar(x=[k for k, f in zip(ks, inside) if f == flag],
                             y=[p for p, f in zip(pct, inside) if f == flag], name=name,
                             marker_color=color,
                             hovertemplate="length %{x} blocks: %{y:.4f}% of paths"
                                           "<extra></extra>"))
    style(fig, f"Path lengths in a residual net with {n} blocks (2^{n} paths)",
          "path length (residual blocks on the path)", "share of all paths (%)", height=420)
    fig.update_layout(barmode="overlay", bargap=0.1)
    rows = [{"length k": k, "paths C(n,k)": f"{c:,}", "share": c / numbers["paths"]}
            for k, c in enumerate(numbers["counts"]) if lo - 3 <= k <= hi + 3]
    return StudyResult(numbers, findings,
                       [("Path-length histogram: lengths are Binomial(n, 1/2)", fig)],
                       [(f"Path counts near {lo}..{hi}", rows)])


@study("residual-paths", 7, "Paths through a residual network (counting)",
       "A residual network is a collection of many paths: with n residual blocks, each taken "
       "or skipped, there are 2^n paths of Binomial(n, 1/2) lengths. In a 110-layer CIFAR "
       "ResNet (54 blocks) that is 2^54 paths, 95% of them 20 to 34 blocks long, so the "
       "network behaves like an ensemble of much shallower nets (Veit et al. 2016).",
       "The bell of path lengths centred on n/2; the shaded range holding 95% of the paths, "
       "far from the full depth.",
       settings=(Setting("n", "Residual blocks n", 54, lo=1, hi=1000),
                 Setting("lo", "Range from (blocks)", 20, lo=0, hi=1000),
                 Setting("hi", "Range to (blocks)", 34, lo=0, hi=1000)),
       present=present)
def residual_paths(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    n, lo, hi = settings["n"], settings["lo"], settings["hi"]
    if lo > hi:
        raise SpecError("study 'residual-paths' setting 'lo'",
                        f"must be at most 'hi' ({hi}), got {lo}")
    if hi > n:
        raise SpecError("study 'residual-paths' setting 'hi'",
                        f"must be at most n ({n}), got {hi}")
    c = counts(n)
    nl, nh = narrowest_symmetric(n)
    return {"n": n, "lo": lo, "hi": hi, "paths": 2 ** n, "counts": c,
            "in_range": sum(c[lo:hi + 1]),
            "share": float(share(n, lo, hi)),
            "narrowest_95": [nl, nh], "narrowest_share": float(share(n, nl, nh)),
            "inner_share": float(share(n, nl + 1, nh - 1)) if nh - nl >= 2 else 0.0,
            "resnet110": resnet110_blocks()}
