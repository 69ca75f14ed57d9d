"""Study 5: the Inception module, naive vs with 1x1 reductions, branch by branch, and the
lecture slide's 358M total (its own terms add up to 271.35M)."""
from __future__ import annotations

from typing import Any

from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import bars, block, cost, exact, head_less

BRANCHES = (("1x1", ("b1",)), ("3x3", ("b3_reduce", "b3")), ("5x5", ("b5_reduce", "b5")),
            ("pool", ("pool", "pool_proj")))
SLIDE = {"naive_ops": 854_000_000, "reduced_ops": 358_000_000}  # "Total: 854M / 358M ops"
DEFAULTS = {"size": 28, "cin": 256, "b1": 128, "b3_reduce": 64, "b3": 192, "b5_reduce": 64,
            "b5": 96, "pool_proj": 64}


def module_spec(settings: dict[str, Any], naive: bool):
    params = {k: settings[k] for k in ("b1", "b3_reduce", "b3", "b5_reduce", "b5", "pool_proj")}
    s, c = settings["size"], settings["cin"]
    return head_less("inception-naive" if naive else "inception-reduced", (s, s, c),
                     block("inception", "inception", naive=naive, **params))


def _module(settings: dict[str, Any], naive: bool) -> dict[str, Any]:
    r = cost(module_spec(settings, naive))
    by_name = {l.name.split(".", 1)[1]: l for l in r.layers if l.name.startswith("inception.")}
    branches = []
    for label, parts in BRANCHES:
        layers = [{"layer": p, "macs": by_name[p].macs, "params": by_name[p].params,
                   "out_channels": by_name[p].output_shape[-1]} for p in parts if p in by_name]
        branches.append({"branch": label, "layers": layers,
                         "macs": sum(x["macs"] for x in layers),
                         "params": sum(x["params"] for x in layers),
                         "out_channels": layers[-1]["out_channels"]})
    return {"branches": branches, "macs": r.macs, "params": r.params,
            "out_channels": by_name["concat"].output_shape[-1]}


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    nv, rd, slip = numbers["naive"], numbers["reduced"], numbers["slip"]
    findings = [
        f"Naive module: {exact(nv['macs'])} MACs in its convolutions and "
        f"{nv['out_channels']} output maps (the pool passes all {settings['cin']} through, so "
        "stacking modules makes the maps grow).",
        f"With 1x1 reductions: {exact(rd['macs'])} MACs ({rd['macs'] / nv['macs']:.0%} of the "
        f"naive cost) and {rd['out_channels']} output maps.",
    ]
    if numbers["is_slide"]:
        findings.append(
            f"The slide's arithmetic slip: its reduced total reads 358M, but its own six terms "
            f"add up to {exact(slip['correct'])} (271.35M). The 358M is what you get with the "
            f"3x3 term ({exact(slip['b3_term'])}) counted twice: {exact(slip['b3_twice'])}. "
            f"The naive figure, 854M, is right ({exact(nv['macs'])}).")
    else:
        findings.append("The slide's 358M/854M refer to its 28x28x256 example (the defaults); "
                        "reset the settings to see the slip.")
    cats = [b["branch"] for b in nv["branches"]]
    fig = bars(cats, {"naive": [b["macs"] for b in nv["branches"]],
                      "with 1x1 reductions": [b["macs"] for b in rd["branches"]]},
               f"MACs per branch on {settings['size']}x{settings['size']}x{settings['cin']}",
               "branch", "MACs per image")
    rows = []
    for mod, label in ((nv, "naive"), (rd, "reduced")):
        for b in mod["branches"]:
            for x in b["layers"]:
                rows.append({"module": label, "branch": b["branch"], "layer": x["layer"],
                             "out maps": x["out_channels"], "MACs": x["macs"],
                             "params": x["params"]})
        rows.append({"module": label, "branch": "total", "layer": "concat",
                     "out maps": mod["out_channels"], "MACs": mod["macs"],
                     "params": mod["params"]})
    slide_rows = [{"figure": "naive total", "slide": "854M", "counted": nv["macs"]},
                  {"figure": "reduced total", "slide": "358M", "counted": rd["macs"]},
                  {"figure": "reduced, 3x3 term counted twice", "slide": "",
                   "counted": slip["b3_twice"]}] if numbers["is_slide"] else []
    tables = [("Branch by branch (params include biases; MACs do not)", rows)]
    if slide_rows:
        tables.append(("The slide's totals against the count", slide_rows))
    return StudyResult(numbers, findings,
                       [("The 1x1 reductions cut the 3x3 and 5x5 branches most", fig)], tables)


@study("inception", 5, "Inception: naive vs dimension-reduced",
       "An Inception module runs 1x1, 3x3 and 5x5 convolutions and a pool side by side. Run "
       "naively on a wide input it is very expensive (854M multiply-adds on 28x28x256) and its "
       "output grows; 1x1 bottlenecks before the big kernels and after the pool cut the cost "
       "to about a third.",
       "The 3x3 and 5x5 bars shrinking most; the totals in the table, and the slide's 358M "
       "against the 271.35M its own terms add up to.",
       settings=(Setting("size", "Map side (pixels)", 28, lo=1, hi=224),
                 Setting("cin", "Input maps", 256, lo=1, hi=2048),
                 Setting("b1", "1x1 branch maps", 128, lo=1, hi=1024),
                 Setting("b3_reduce", "3x3 reduction maps", 64, lo=1, hi=1024),
                 Setting("b3", "3x3 branch maps", 192, lo=1, hi=1024),
                 Setting("b5_reduce", "5x5 reduction maps", 64, lo=1, hi=1024),
                 Setting("b5", "5x5 branch maps", 96, lo=1, hi=1024),
                 Setting("pool_proj", "Pool projection maps", 64, lo=1, hi=1024)),
       present=present)
def inception(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    naive, reduced = _module(settings, True), _module(settings, False)
    b3_term = next(x["macs"] for b in reduced["branches"] for x in b["layers"]
                   if x["layer"] == "b3")
    return {"naive": naive, "reduced": reduced, "is_slide": settings == DEFAULTS,
            "slide": SLIDE,
            "slip": {"correct": reduced["macs"], "slide": SLIDE["reduced_ops"],
                     "difference": SLIDE["reduced_ops"] - reduced["macs"], "b3_term": b3_term,
                     "b3_twice": reduced["macs"] + b3_term}}
