"""Study 12: multiply-adds are not speed.

Two measurements on this machine, with :mod:`playground.measure` (warm-up excluded, results
waited for, median and spread over repeats; inference compiled the backend's fastest way):

* **The zoo**: MACs (the cost model's, per image) against the measured inference time of a set
  of zoo entries at one batch size, and the ms per GMAC each achieves.
* **ShuffleNet V2's four guidelines** (Ma et al. 2018) as micro-benchmarks at equal MACs, built
  as small Keras models of ``blocks`` stacked blocks on a ``size`` x ``size`` input (no bias, no
  batch norm: every FLOP is a convolution's, except G4's element-wise ops):

  - G1 equal channel widths: blocks of two 1x1 convs ``c1 -> c2 -> c1`` with ``c1:c2`` 1:1, 1:2,
    1:6, 1:12 and ``c1 * c2 ~ c^2`` (``c1 = round(c / sqrt(k))``, ``c2 = round(c^2 / c1)``);
  - G2 group count: 1x1 convs ``c_g -> c_g`` with 1, 2, 4, 8 groups and
    ``c_g^2 / g ~ c^2`` (``c_g`` the multiple of ``g`` nearest ``c * sqrt(g)``);
  - G3 fragmentation: a block of one 1x1 conv ``c -> c`` (1-fragment); 2 or 4 1x1 convs in
    series at width ``round(c / sqrt(k))``; 2 or 4 parallel 1x1 convs ``c -> c / k``
    concatenated (exactly ``c^2``: the same maths as one conv, in ``k`` kernels);
  - G4 element-wise ops: ResNet bottleneck blocks (1x1 ``c -> c/4``, 3x3 ``c/4 -> c/4``, 1x1
    ``c/4 -> c``) with the ReLUs and the shortcut add on or off (MACs identical; only the
    element-wise ops differ).

  Rounding: with ``c`` in (48, 96, 192) every configuration's MACs are within 0.35% of its
  guideline's baseline (:data:`MAX_MAC_MISMATCH`; G3's parallel and G4 exactly equal); the
  tests count them with :func:`playground.cost.analyze`. The configurations of each guideline
  are timed in interleaved rounds (all of them, then all again), so load from other work on a
  shared machine falls on all alike; a configuration's relative speed is the median over the
  rounds of ``baseline time / its time``, each time the fastest sample of its round (other work
  only ever adds time). The findings give the range over the rounds beside it.

The paper's figures beside ours are G2's GPU row (GTX 1080Ti, batches/s, Table 2 of Ma et al.
2018: 2,451 -> 634 from 1 to 8 groups, as issue 12 quotes it); the lecture gives none, and the
other tables' figures are left out rather than recalled. Compare the ratios, not the figures.
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

from playground.errors import SpecError
from playground.studies.base import Context, Setting, StudyResult, study

__all__ = ["Bench", "benches", "bench_macs", "build_bench", "time_benches", "time_zoo",
           "guideline_figure", "zoo_figure", "place_labels", "speed_study", "PAPER", "ZOO_SETS",
           "WIDTHS", "MAX_MAC_MISMATCH"]

WIDTHS = (48, 96, 192)
MAX_MAC_MISMATCH = 0.0035  # the largest |MACs / baseline MACs - 1| of any configuration
HELD = 1.10                # a guideline "held" when its extreme case differs by 10% or more
EXTREME = {"G1": "1:12", "G2": "g=8", "G3": "4-fragment-parallel", "G4": "neither"}
GUIDELINES = {
    "G1": "Equal channel widths minimise memory access cost",
    "G2": "Excessive group convolution increases memory access cost",
    "G3": "Network fragmentation reduces the degree of parallelism",
    "G4": "Element-wise operations are non-negligible",
}
# Ma et al. 2018, GPU (GTX 1080Ti) batches/s: only the figures we could check are shown (G2's,
# quoted by issue 12 from the paper's Table 2); the other tables are left blank, not recalled.
PAPER = {
    "G2": {"g=1": 2451, "g=8": 634},
}
PAPER_SOURCE = ("Ma et al. 2018 (ShuffleNet V2), Table 2: GPU (GTX 1080Ti) batches/s for 1 and 8 "
                "groups at equal FLOPs (the figures issue 12 quotes); "
                "the paper's Tables 1, 3 and 4 are not reproduced here")
ZOO_SETS = {
    "small": ("lenet5", "separable-cnn-28"),
    "cifar": ("lenet5", "separable-cnn-28", "resnet20-cifar", "plain20-cifar", "resnet56-cifar",
              "mobilenetv2-compact-cifar", "mobilenetv2-cifar", "densenet-bc22-cifar",
              "densenet-bc40-cifar"),
    "imagenet": ("mobilenet", "mobilenetv2", "keras:NASNetMobile", "resnet18", "googlenet",
                 "densenet121", "resnet50", "vgg16"),
    "none": (),
}
ZOO_SETS["cifar+imagenet"] = ZOO_SETS["cifar"] + ZOO_SETS["imagenet"]


# --- the guideline micro-benchmarks (pure configuration and counting) -----------------------
@dataclass(frozen=True)
class Bench:
    """One micro-benchmark network: ``kind`` "pair" (G1: ``width`` = c1, ``inner`` = c2),
    "group" (G2: ``width`` = c_g, ``count`` = groups), "series" / "parallel" (G3: ``count``
    convs at ``width``; parallel branches ``width -> inner``), "bottleneck" (G4: ``width`` in
    and out, ``inner`` the bottleneck, ``relu`` / ``shortcut`` on or off)."""

    guideline: str
    label: str
    kind: str
    width: int
    inner: int = 0
    count: int = 1
    relu: bool = False
    shortcut: bool = False

    def channels(self) -> str:
        """The channel configuration in words."""
        if self.kind == "pair":
            return f"{self.width} -> {self.inner} -> {self.width}"
        if self.kind == "group":
            return f"{self.width} channels, {self.count} groups"
        if self.kind == "series":
            return f"{self.count} x ({self.width} -> {self.width})"
        if self.kind == "parallel":
            return f"{self.count} x ({self.width} -> {self.inner}), concatenated"
        return f"{self.width} -> {self.inner} -> 3x3 {self.inner} -> {self.width}"


def benches(c: int, guidelines: Sequence[str] = tuple(GUIDELINES)) -> list[Bench]:
    """The configurations of each guideline at base width ``c`` (the first of each guideline is
    its baseline), see the module doc for the channel rules."""
    if c < 8 or c % 4:
        raise SpecError("setting 'width'", f"must be a multiple of 4 of at least 8, got {c}")
    out: list[Bench] = []
    if "G1" in guidelines:
        for k in (1, 2, 6, 12):
            c1 = round(c / math.sqrt(k))
            out.append(Bench("G1", f"1:{k}", "pair", c1, round(c * c / c1)))
    if "G2" in guidelines:
        for g in (1, 2, 4, 8):
            out.append(Bench("G2", f"g={g}", "group", g * round(c * math.sqrt(g) / g), count=g))
    if "G3" in guidelines:
        out.append(Bench("G3", "1-fragment", "series", c, count=1))
        for k in (2, 4):
            out.append(Bench("G3", f"{k}-fragment-series", "series", round(c / math.sqrt(k)),
                             count=k))
        for k in (2, 4):
            out.append(Bench("G3", f"{k}-fragment-parallel", "parallel", c, c // k, count=k))
    if "G4" in guidelines:
        for label, relu, shortcut in (("ReLU + shortcut", True, True), ("ReLU only", True, False),
                                      ("shortcut only", False, True), ("neither", False, False)):
            out.append(Bench("G4", label, "bottleneck", c, c // 4, relu=relu, shortcut=shortcut))
    return out


def bench_macs(b: Bench, size: int, blocks: int) -> int:
    """Multiply-adds per image of a benchmark network (exact; ``size`` x ``size`` positions)."""
    hw = size * size
    if b.kind == "pair":
        per = 2 * b.width * b.inner
    elif b.kind == "group":
        per = b.width * b.width // b.count
    elif b.kind == "series":
        per = b.count * b.width * b.width
    elif b.kind == "parallel":
        per = b.count * b.width * b.inner
    elif b.kind == "bottleneck":
        per = 2 * b.width * b.inner + 9 * b.inner * b.inner
    else:
        raise ValueError(f"unknown benchmark kind {b.kind!r}")
    return blocks * hw * per


def build_bench(b: Bench, size: int, blocks: int) -> Any:
    """The benchmark network as a Keras model (convolutions without bias, no batch norm)."""
    import keras
    from keras import layers
    inp = keras.Input((size, size, b.width), name="input")
    x = inp
    for i in range(blocks):
        p = f"b{i}"
        if b.kind == "pair":
            x = layers.Conv2D(b.inner, 1, use_bias=False, name=f"{p}_expand")(x)
            x = layers.Conv2D(b.width, 1, use_bias=False, name=f"{p}_reduce")(x)
        elif b.kind == "group":
            x = layers.Conv2D(b.width, 1, groups=b.count, use_bias=False, name=f"{p}_gconv")(x)
        elif b.kind == "series":
            for j in range(b.count):
                x = layers.Conv2D(b.width, 1, use_bias=False, name=f"{p}_conv{j}")(x)
        elif b.kind == "parallel":
            branches = [layers.Conv2D(b.inner, 1, use_bias=False, name=f"{p}_branch{j}")(x)
                        for j in range(b.count)]
            x = layers.Concatenate(name=f"{p}_concat")(branches)
        elif b.kind == "bottleneck":
            y = layers.Conv2D(b.inner, 1, use_bias=False, name=f"{p}_reduce")(x)
            if b.relu:
                y = layers.ReLU(name=f"{p}_relu1")(y)
            y = layers.Conv2D(b.inner, 3, padding="same", use_bias=False, name=f"{p}_conv3")(y)
            if b.relu:
                y = layers.ReLU(name=f"{p}_relu2")(y)
            y = layers.Conv2D(b.width, 1, use_bias=False, name=f"{p}_expand")(y)
            if b.shortcut:
                y = layers.Add(name=f"{p}_add")([x, y])
            if b.relu:
                y = layers.ReLU(name=f"{p}_relu3")(y)
            x = y
        else:
            raise ValueError(f"unknown benchmark kind {b.kind!r}")
    return keras.Model(inp, x, name=f"{b.guideline}_{b.kind}_{b.width}")


# --- timing --------------------------------------------------------------------------------
def _interleaved(fns: Sequence[Callable[[], Any]], rounds: int, repeats: int,
                 budget_s: float) -> list[list[list[float]]]:
    """``samples[round][i]``: per-call ms of ``fns[i]`` (``repeats`` samples a round), the
    functions timed one after another each round (compiling and warm-up in round 0 excluded)."""
    from playground.measure.timing import time_fn
    out = []
    for r in range(rounds):
        row = []
        for fn in fns:
            t = time_fn(fn, warmup=2 if r == 0 else 0, repeats=repeats, budget_s=budget_s)
            row.append(t.samples_ms)
        out.append(row)
    return out


def _stats(samples: Sequence[float]) -> dict[str, float]:
    import numpy as np
    a = np.asarray(samples, dtype=float)
    med = float(np.median(a))
    p10, p90 = float(np.percentile(a, 10)), float(np.percentile(a, 90))
    return {"median_ms": med, "p10_ms": p10, "p90_ms": p90, "min_ms": float(a.min()),
            "spread": (p90 - p10) / med if med > 0 else float("nan"), "samples": len(a)}


def time_benches(items: Sequence[Bench], size: int, blocks: int, batch: int, rounds: int,
                 repeats: int, progress: Callable[[str], None] = lambda m: None,
                 budget_s: float = 20.0) -> list[dict[str, Any]]:
    """Build, count (:func:`playground.cost.analyze`) and time every configuration, guideline
    by guideline in interleaved rounds; one JSON-ready row each."""
    import keras
    from playground.cost import analyze
    from playground.measure.latency import inference_fn, model_inputs
    rows: list[dict[str, Any]] = []
    for g in dict.fromkeys(b.guideline for b in items):
        group = [b for b in items if b.guideline == g]
        progress(f"{g}: building and timing {len(group)} configurations")
        fns, mode = [], ""
        for b in group:
            model = build_bench(b, size, blocks)
            report = analyze(model)
            x = model_inputs(model, batch)[0]
            f, mode = inference_fn(model)
            fns.append(lambda f=f, x=x: f(x))
            rows.append({"guideline": g, "label": b.label, "channels": b.channels(),
                         "bench": asdict(b), "macs": report.macs, "flops": report.flops,
                         "other_ops": report.other_ops, "params": report.params,
                         "formula_macs": bench_macs(b, size, blocks), "compile": mode})
        samples = _interleaved(fns, rounds, repeats, budget_s)
        mine = rows[-len(group):]
        for i, row in enumerate(mine):
            flat = [s for rnd in samples for s in rnd[i]]
            row.update(_stats(flat))
            row["images_per_s"] = batch / row["median_ms"] * 1e3
            row["batches_per_s"] = 1e3 / row["median_ms"]
            # per round: the baseline's fastest sample over this configuration's (other work on
            # the machine only ever adds time), then the median over the rounds
            per_round = [min(rnd[0]) / min(rnd[i]) for rnd in samples]
            row["relative_speed"] = statistics.median(per_round)
            row["relative_speed_rounds"] = per_round
            row["relative_speed_of_medians"] = statistics.median(
                statistics.median(rnd[0]) / statistics.median(rnd[i]) for rnd in samples)
            paper = PAPER.get(g, {})
            ours, base_paper = paper.get(group[i].label), paper.get(group[0].label)
            row["paper_batches_per_s"] = ours
            row["paper_relative_speed"] = ours / base_paper if ours and base_paper else None
            row["mac_mismatch"] = row["macs"] / mine[0]["macs"] - 1
        keras.backend.clear_session()
    return rows


def time_zoo(names: Sequence[str], batch: int, repeats: int,
             progress: Callable[[str], None] = lambda m: None,
             budget_s: float = 20.0) -> list[dict[str, Any]]:
    """Inference time of each zoo entry at ``batch`` beside its MACs per image (the shipped
    summaries, else counted), one JSON-ready row each."""
    import keras
    from playground.measure.latency import time_inference
    from playground.targets import resolve
    from playground.zoo.summaries import summary_of
    rows = []
    for k, name in enumerate(names, start=1):
        progress(f"zoo {k}/{len(names)}: {name}")
        t0 = time.perf_counter()
        model = resolve(name).build()
        build_s = time.perf_counter() - t0
        timing, mode = time_inference(model, batch, repeats=repeats, warmup=2,
                                      budget_s=budget_s)
        summary = summary_of(name)
        macs, params = summary.get("macs"), summary.get("params")
        st = _stats(timing.samples_ms)
        rows.append({"architecture": name, "macs": int(macs), "params": params,
                     "batch": batch, "latency_ms": st["median_ms"], **st,
                     "ms_per_gmac": st["median_ms"] / (macs * batch / 1e9) if macs else None,
                     "images_per_s": batch / st["median_ms"] * 1e3,
                     "first_call_ms": timing.first_call_ms, "build_s": build_s,
                     "compile": mode})
        del model
        keras.backend.clear_session()
    return rows


# --- findings and figures ------------------------------------------------------------------
def _rank(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):  # ties share their mean rank
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation of two equally long sequences (None below 3 points)."""
    if len(xs) < 3 or len(xs) != len(ys):
        return None
    rx, ry = _rank(list(xs)), _rank(list(ys))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den else None


def zoo_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Spread of ms per GMAC, the rank correlation of MACs and time, and the starkest
    inversion (more MACs, less time; the largest MAC ratio among such pairs)."""
    pts = [r for r in rows if r.get("ms_per_gmac")]
    if not pts:
        return {}
    lo = min(pts, key=lambda r: r["ms_per_gmac"])
    hi = max(pts, key=lambda r: r["ms_per_gmac"])
    out: dict[str, Any] = {
        "entries": len(pts), "fastest_per_gmac": lo["architecture"],
        "slowest_per_gmac": hi["architecture"], "ms_per_gmac_min": lo["ms_per_gmac"],
        "ms_per_gmac_max": hi["ms_per_gmac"],
        "ms_per_gmac_spread": hi["ms_per_gmac"] / lo["ms_per_gmac"],
        "spearman_macs_time": spearman([r["macs"] for r in pts],
                                       [r["latency_ms"] for r in pts]),
        "inversion": None}
    best = None
    for a in pts:
        for b in pts:
            if a["macs"] > b["macs"] and a["latency_ms"] < b["latency_ms"]:
                ratio = a["macs"] / b["macs"]
                if best is None or ratio > best["macs_ratio"]:
                    best = {"more_macs": a["architecture"], "fewer_macs": b["architecture"],
                            "macs_ratio": ratio, "time_ratio": b["latency_ms"] / a["latency_ms"]}
    out["inversion"] = best
    return out


def guideline_summary(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per guideline: its extreme case against its baseline (:data:`EXTREME`: 1:12, 8 groups,
    4 parallel fragments; for G4 the block without ReLUs and shortcut, whose speed-up is the
    cost of those ops), ours beside the paper's; whether it held here (a factor of at least
    :data:`HELD` with every round's factor above 1; ``mixed`` when the median reaches it but
    some round does not), and the slowest configuration of the guideline."""
    out: dict[str, dict[str, Any]] = {}
    for g in dict.fromkeys(r["guideline"] for r in rows):
        mine = [r for r in rows if r["guideline"] == g]
        case = next((r for r in mine if r["label"] == EXTREME.get(g)), mine[-1])
        rel, paper = case["relative_speed"], case.get("paper_relative_speed")
        if g == "G4":  # > 1: dropping the element-wise ops sped it up
            factor, paper_factor = rel, paper
        else:          # > 1: the extreme case was slower than the baseline
            factor = 1 / rel if rel else None
            paper_factor = 1 / paper if paper else None
        slowest = min(mine, key=lambda r: r["relative_speed"])
        rounds = [x if g == "G4" else 1 / x for x in case.get("relative_speed_rounds") or [] if x]
        out[g] = {"case": case["label"], "baseline": mine[0]["label"],
                  "factor": factor, "paper_factor": paper_factor,
                  "factor_rounds": [min(rounds), max(rounds)] if rounds else None,
                  "held": bool(factor is not None and factor >= HELD
                               and (not rounds or min(rounds) > 1.0)),
                  "mixed": bool(factor is not None and factor >= HELD and rounds
                                and min(rounds) <= 1.0),
                  "slowest": slowest["label"], "slowest_relative_speed":
                  slowest["relative_speed"],
                  "max_mac_mismatch": max(abs(r["mac_mismatch"]) for r in mine)}
    return out


def findings_of(s: dict[str, Any], numbers: dict[str, Any]) -> list[str]:
    """Sentences on what held on this machine and what did not, with the numbers."""
    out = []
    z = numbers.get("zoo_summary") or {}
    if z:
        rho = z.get("spearman_macs_time")
        rho_text = f"; rank correlation of MACs and time {rho:.2f}" if rho is not None else ""
        out.append(f"Zoo ({z['entries']} entries, batch {s['batch']}): ms per GMAC ranges from "
                   f"{z['ms_per_gmac_min']:.3g} ({z['fastest_per_gmac']}) to "
                   f"{z['ms_per_gmac_max']:.3g} ({z['slowest_per_gmac']}), a "
                   f"{z['ms_per_gmac_spread']:.1f}x spread{rho_text}.")
        inv = z.get("inversion")
        if inv:
            out.append(f"{inv['more_macs']} has {inv['macs_ratio']:.1f}x the MACs of "
                       f"{inv['fewer_macs']} yet ran {inv['time_ratio']:.2f}x faster here.")
        else:
            out.append("Here every entry with more MACs also took longer: MACs ordered these "
                       "entries' times correctly, though not their ratios.")
    for g, row in (numbers.get("guideline_summary") or {}).items():
        mine, paper = row["factor"], row["paper_factor"]
        paper_text = f" (paper, GTX 1080Ti: {paper:.2f}x)" if paper else ""
        spread = row.get("factor_rounds")
        rounds_text = (f", {spread[0]:.2f}-{spread[1]:.2f}x over the rounds"
                       if spread and len(set(spread)) > 1 else "")
        if g == "G4":
            what = (f"without the ReLUs and shortcut the blocks ran {mine:.2f}x as fast"
                    f"{rounds_text}{paper_text}")
        else:
            what = (f"at equal MACs {row['case']} took {mine:.2f}x the time of "
                    f"{row['baseline']}{rounds_text}{paper_text}")
        verdict = ("held here" if row["held"] else
                   "showed in some rounds only (not a clear effect here)" if row.get("mixed")
                   else f"did not show here (under {HELD:.2f}x)")
        slowest = ""
        if (row["slowest"] not in (row["case"], row["baseline"]) and g != "G4"
                and 1 / row["slowest_relative_speed"] > 1.05 * mine):
            slowest = (f"; the slowest was {row['slowest']} at "
                       f"{1 / row['slowest_relative_speed']:.2f}x")
        out.append(f"{g} ({GUIDELINES[g].lower()}) {verdict}: {what}{slowest}.")
    if numbers.get("load_before") is not None:
        out.append(f"Load average before / after: {numbers['load_before']:.2f} / "
                   f"{numbers['load_after']:.2f} on {numbers.get('cpus')} CPUs (other work "
                   "slows every figure; the ratios are taken within rounds).")
    return out


POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right",
             "bottom right", "top left", "bottom left")


def place_labels(xs: Sequence[float], ys: Sequence[float], texts: Sequence[str],
                 width_px: float = 700, height_px: float = 320, char_px: float = 6.5,
                 line_px: float = 14) -> list[str]:
    """A plotly ``textposition`` per point of a log-log scatter, chosen greedily (points in x
    order) so that no label box overlaps an earlier one or a marker, as far as the estimated
    boxes go (``width_px`` x ``height_px`` of plot area, ``char_px`` per character)."""
    lx = [math.log10(x) for x in xs]
    ly = [math.log10(y) for y in ys]
    span_x = (max(lx) - min(lx)) or 1.0
    span_y = (max(ly) - min(ly)) or 1.0
    px = [(v - min(lx)) / span_x * width_px * 0.9 for v in lx]
    py = [(v - min(ly)) / span_y * height_px * 0.8 for v in ly]
    placed: list[tuple[float, float, float, float]] = []
    marks = [(x - 5, y - 5, x + 5, y + 5) for x, y in zip(px, py)]
    out = [""] * len(xs)

    def box(i: int, pos: str) -> tuple[float, float, float, float]:
        w, h = char_px * len(texts[i]), line_px
        vert, horiz = pos.split()
        x0 = {"center": px[i] - w / 2, "right": px[i] + 6, "left": px[i] - 6 - w}[horiz]
        y0 = {"top": py[i] + 7, "bottom": py[i] - 7 - h, "middle": py[i] - h / 2}[vert]
        return x0, y0, x0 + w, y0 + h

    def hits(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    for i in sorted(range(len(xs)), key=lambda k: (px[k], py[k])):
        best, best_n = POSITIONS[0], None
        for pos in POSITIONS:
            b = box(i, pos)
            n = sum(hits(b, o) for o in placed) + sum(hits(b, m) for j, m in enumerate(marks)
                                                      if j != i)
            if best_n is None or n < best_n:
                best, best_n = pos, n
            if n == 0:
                break
        out[i] = best
        placed.append(box(i, best))
    return out


def zoo_figure(rows: Sequence[dict[str, Any]], batch: int) -> Any:
    """:func:`playground.measure.charts.macs_time_figure` of the zoo rows, with the labels
    placed apart (:func:`place_labels`) and without the ``-cifar`` suffix all CIFAR entries
    share."""
    from playground.measure.charts import macs_time_figure
    short = [{**r, "architecture": str(r["architecture"]).removesuffix("-cifar")} for r in rows]
    fig = macs_time_figure(short, title=f"Multiply-adds vs measured inference time (batch "
                                        f"{batch}, this machine)")
    for trace in fig.data:
        if trace.name == "measured" and trace.x is not None and len(trace.x) > 1:
            trace.textposition = place_labels(list(trace.x), list(trace.y), list(trace.text))
    return fig


SHORT = {"G1": "G1: channel widths", "G2": "G2: group count", "G3": "G3: fragmentation",
         "G4": "G4: element-wise ops"}


def _tick(label: str) -> str:
    """A guideline configuration's axis label, short enough to sit level under its bars."""
    return (label.replace("-fragment-", "<br>").replace("1-fragment", "1<br>fragment")
            .replace("ReLU + shortcut", "ReLU +<br>shortcut").replace(" only", "<br>only"))


def guideline_figure(rows: Sequence[dict[str, Any]]) -> Any:
    """Relative speed at equal MACs per configuration (baseline = 1), ours beside the paper's,
    one panel per guideline."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    groups = list(dict.fromkeys(r["guideline"] for r in rows))
    cols = 2 if len(groups) > 1 else 1
    nrows = math.ceil(len(groups) / cols) or 1
    fig = make_subplots(rows=nrows, cols=cols, vertical_spacing=0.22, horizontal_spacing=0.08,
                        subplot_titles=[SHORT[g] for g in groups])
    for k, g in enumerate(groups):
        mine = [r for r in rows if r["guideline"] == g]
        rr, cc = k // cols + 1, k % cols + 1
        labels = [_tick(r["label"]) for r in mine]
        fig.add_trace(go.Bar(x=labels, y=[r["relative_speed"] for r in mine],
                             name="this machine", marker_color="#1f77b4", showlegend=k == 0,
                             legendgroup="ours",
                             customdata=[[r["median_ms"], r["macs"]] for r in mine],
                             hovertemplate="%{x}: %{y:.2f}x<br>%{customdata[0]:.3g} ms per "
                                           "batch<br>%{customdata[1]:,} MACs per image"
                                           "<extra>this machine</extra>"),
                      row=rr, col=cc)
        fig.add_trace(go.Bar(x=labels, y=[r.get("paper_relative_speed") for r in mine],
                             name="paper (GTX 1080Ti)", marker_color="#ff7f0e",
                             showlegend=k == 0, legendgroup="paper",
                             hovertemplate="%{x}: %{y:.2f}x<extra>paper</extra>"),
                      row=rr, col=cc)
        if cc == 1:
            fig.update_yaxes(title_text="speed vs baseline (x)", row=rr, col=cc)
        fig.update_xaxes(tickangle=0, row=rr, col=cc)
    fig.update_layout(barmode="group", height=330 * nrows + 80,
                      margin=dict(l=10, r=10, t=70, b=10),
                      title="Speed at equal MACs, relative to each guideline's first bar",
                      legend=dict(orientation="h", y=-0.08, x=0.5, xanchor="center",
                                  yanchor="top"))
    fig.add_hline(y=1.0, line=dict(color="grey", dash="dot"))
    return fig


def present(s: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    """Findings, the MACs-vs-time chart of the zoo, the guideline bars and tables."""
    figures, tables = [], []
    zoo = numbers.get("zoo") or []
    if zoo:
        figures.append(("MACs vs measured time across the zoo", zoo_figure(zoo, s["batch"])))
        tables.append(("Zoo: MACs and measured time", [
            {"architecture": r["architecture"], "MACs per image": r["macs"],
             "ms per batch (median)": r["median_ms"], "p10-p90 ms":
             f"{r['p10_ms']:.3g}-{r['p90_ms']:.3g}", "ms per GMAC": r["ms_per_gmac"],
             "images/s": r["images_per_s"]} for r in zoo]))
    rows = numbers.get("guidelines") or []
    if rows:
        figures.append(("ShuffleNet V2's guidelines on this machine", guideline_figure(rows)))
        tables.append(("Guideline micro-benchmarks (equal MACs within each guideline)", [
            {"guideline": r["guideline"], "configuration": r["label"], "channels": r["channels"],
             "MACs per image": r["macs"], "MACs vs baseline": f"{r['mac_mismatch']:+.2%}",
             "other ops": r["other_ops"], "ms per batch (median)": r["median_ms"],
             "spread": r["spread"], "relative speed": r["relative_speed"],
             "paper batches/s": r.get("paper_batches_per_s"),
             "paper relative": r.get("paper_relative_speed")} for r in rows]))
    return StudyResult(numbers, findings_of(s, numbers), figures, tables)


SETTINGS = (
    Setting("zoo", "Zoo entries", "cifar", choices=tuple(ZOO_SETS), longer="cifar+imagenet",
            help="which zoo entries to time: small (2), cifar (9, 32x32), imagenet (8, 224x224)"),
    Setting("batch", "Batch size", 8, lo=1, hi=256, longer=16),
    Setting("guidelines", "Guidelines", "all", choices=("all", "G1", "G2", "G3", "G4", "none")),
    Setting("width", "Base width c (channels)", 96, choices=WIDTHS, longer=192,
            help="the paper's GPU tables use 128 at 56x56; 48, 96 and 192 keep every "
                 "configuration within 0.35% of equal MACs"),
    Setting("size", "Input size (pixels a side)", 28, choices=(14, 28, 56), longer=56),
    Setting("blocks", "Stacked blocks", 10, lo=1, hi=40, help="the paper stacks 10"),
    Setting("rounds", "Interleaved rounds", 5, lo=1, hi=20, longer=9),
    Setting("repeats", "Timed samples per round", 3, lo=1, hi=50, longer=5),
)


def _load() -> float | None:
    import os
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - platforms without a load average
        return None


@study("macs-vs-speed", 12, "Multiply-adds are not speed",
       claim="Counting multiply-adds does not predict time: memory access, the degree of "
             "parallelism and element-wise operations cost time that FLOPs do not count. "
             "ShuffleNet V2 (Ma et al. 2018) turned this into four guidelines: equal channel "
             "widths, few groups, little fragmentation, few element-wise ops.",
       look_for="On the zoo chart, points far from the dotted line run faster or slower than "
                "their MACs say. In the guideline panels every bar has the same MACs: a bar "
                "below 1 is a configuration that is slower at equal cost; orange is the paper's "
                "GPU, blue this machine.",
       # it trains nothing, but it times for about a minute: the page runs it in the background
       settings=SETTINGS, present=present, kind="times")
def speed_study(s: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Time the zoo entries and the guideline micro-benchmarks on this machine."""
    import os
    from playground._env import import_keras_quietly
    import_keras_quietly()
    import keras
    from playground.measure.machine import machine_info, visible_device
    t0 = time.perf_counter()
    load_before = _load()
    wanted = tuple(GUIDELINES) if s["guidelines"] == "all" else (
        () if s["guidelines"] == "none" else (s["guidelines"],))
    items = benches(s["width"], wanted)
    zoo = time_zoo(ZOO_SETS[s["zoo"]], s["batch"], max(5, s["rounds"] * s["repeats"]),
                   ctx.progress)
    rows = time_benches(items, s["size"], s["blocks"], s["batch"], s["rounds"], s["repeats"],
                        ctx.progress)
    return {"machine": machine_info(keras.config.backend(), visible_device()),
            "zoo": zoo, "zoo_summary": zoo_summary(zoo), "guidelines": rows,
            "guideline_summary": guideline_summary(rows), "paper_source": PAPER_SOURCE,
            "batch": s["batch"], "size": s["size"], "width": s["width"],
            "blocks": s["blocks"], "load_before": load_before, "load_after": _load(),
            "cpus": os.cpu_count(), "seconds": time.perf_counter() - t0}
