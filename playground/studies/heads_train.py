"""Study 10b: downsampling and heads at equal budget. The same small ConvNet with its two
downsamplings done by a 3x3 conv followed by a 2x2 max pool, or by the same 3x3 conv with
stride 2; and with a flatten + dense head (VGG-style) or a global-average-pooling head
(GoogLeNet/ResNet-style): the four combinations trained on the same data, epochs and seeds.
The cost side (params and MACs) is study ``downsampling-heads``."""
from __future__ import annotations

import time
from typing import Any

import plotly.graph_objects as go

from playground.spec import ArchSpec, BlockSpec
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import short, spread_bars, style
from playground.studies.trained import (bands, base_config, compare, data_shape, failed_line,
                                        final, finished, pm, recipe_line, stats,
                                        steady_epoch_seconds, sweep_numbers, sweep_result)

NAME = "downsampling-heads-train"
DATASETS = ("shapes", "shapes_hard")
DOWNS = {"pool": "max pool", "strided": "strided conv"}
HEADS = {"dense": "dense head", "gap": "GAP head"}


def head_spec(down: str, head: str, width: int, shape: tuple[int, ...], classes: int,
              hidden: int, label: str = "", dropout: float = 0.0) -> ArchSpec:
    """conv w -> down(w) -> conv 2w -> down(2w) -> conv 4w -> head, where down is a 3x3 conv
    then a 2x2/2 max pool (``pool``) or that conv with stride 2 (``strided``), and the head is
    flatten -> dense ``hidden`` (``dropout`` after it) -> classes (``dense``) or global average
    pooling -> classes (``gap``). All convs 3x3 with batch norm and ReLU."""
    def conv(name: str, f: int, stride: int = 1) -> BlockSpec:
        return BlockSpec("conv", {"filters": f, "stride": stride, "batch_norm": True}, name)

    blocks = [conv("c1", width)]
    for i, f in ((1, width), (2, 2 * width)):
        if down == "pool":
            blocks += [conv(f"down{i}", f), BlockSpec("max_pool", {"size": 2}, f"pool{i}")]
        else:
            blocks.append(conv(f"down{i}", f, stride=2))
        blocks.append(conv(f"c{i + 1}", 2 * f))
    h = (BlockSpec("dense_head", {"classes": classes, "hidden": [hidden], "dropout": dropout},
                   "head") if head == "dense" else
         BlockSpec("gap_head", {"classes": classes}, "head"))
    return ArchSpec(tuple(shape), tuple(blocks), h, label or f"{down}-{head}")


SETTINGS = (
    Setting("dataset", "Data set", "shapes_hard", choices=DATASETS,
            help="shapes_hard: 6 shapes with noise and distractor strokes"),
    Setting("image_size", "Image size (pixels)", 32, lo=16, hi=96),
    Setting("count", "Images (train + validation)", 1500, lo=60, hi=20000, longer=6000),
    Setting("width", "Maps in the first stage", 8, lo=2, hi=64, longer=16),
    Setting("hidden", "Dense head: hidden units", 64, lo=1, hi=4096, longer=256),
    Setting("dropout", "Dense head: dropout", 0.0, lo=0.0, hi=0.9,
            help="after the hidden layer (VGG: 0.5; in a short run 0.5 keeps the dense head "
                 "from fitting at all)"),
    Setting("epochs", "Epochs", 4, lo=1, hi=200, longer=20),
    Setting("seeds", "Seeds per net", 2, lo=1, hi=10, longer=3),
)


def arm_specs(settings: dict[str, Any]) -> list[tuple[str, str, str, ArchSpec]]:
    """(label, down, head, spec) for the four combinations."""
    shape, classes = data_shape(settings)
    out = []
    for down in DOWNS:
        for head in HEADS:
            label = f"{down}-{head}"
            out.append((label, down, head, head_spec(down, head, settings["width"], shape,
                                                     classes, settings["hidden"], label,
                                                     settings["dropout"])))
    return out


def summarise(numbers: dict[str, Any]) -> dict[str, Any]:
    """Per arm validation accuracy, training error and seconds over seeds; each factor
    compared with the other held fixed (pure, on ``numbers``)."""
    by = {}
    for a in numbers["arms"]:
        runs = finished(a["runs"])
        a["final_val_accuracy"] = stats([r["final_val_accuracy"] for r in runs])
        a["final_train_error"] = stats(final(runs, "train_error"))
        a["epoch_seconds"] = stats([steady_epoch_seconds(r) for r in runs])
        a["params"] = next((r["params"] for r in a["runs"] if r.get("params")), None)
        a["macs"] = next((r["macs"] for r in a["runs"] if r.get("macs")), None)
        by[a["label"]] = [r["final_val_accuracy"] for r in runs]
    comps = []
    for head in HEADS:  # strided vs pool, same head
        comps.append({"factor": "downsampling", "fixed": head, "a": f"strided-{head}",
                      "b": f"pool-{head}", **compare(by.get(f"strided-{head}", []),
                                                     by.get(f"pool-{head}", []))})
    for down in DOWNS:  # GAP vs dense, same downsampling
        comps.append({"factor": "head", "fixed": down, "a": f"{down}-gap",
                      "b": f"{down}-dense", **compare(by.get(f"{down}-gap", []),
                                                      by.get(f"{down}-dense", []))})
    numbers["comparisons"] = comps
    return numbers


def _sentence(c: dict[str, Any], arms: dict[str, Any]) -> str:
    a, b = arms.get(c["a"]), arms.get(c["b"])
    if a is None or b is None:
        return f"{c['a']} vs {c['b']}: no runs."
    word = {"higher": f"{c['a']} is HIGHER", "lower": f"{c['a']} is LOWER",
            "no clear difference": "no clear difference (within 2 standard errors)",
            "too few seeds": "one seed each: no spread to judge by"}.get(c["verdict"],
                                                                       c["verdict"])
    cost = ""
    if a.get("params") and b.get("params"):
        cost = (f"; {short(a['params'])} vs {short(b['params'])} params, "
                f"{short(a.get('macs'))} vs {short(b.get('macs'))} MACs")
    return (f"{c['a']} {pm(a['final_val_accuracy'])} vs {c['b']} "
            f"{pm(b['final_val_accuracy'])} validation accuracy: {word}{cost}.")


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    arms = {a["label"]: a for a in numbers["arms"]}
    findings = []
    for c in numbers.get("comparisons", []):
        what = ("Strided conv vs max pool" if c["factor"] == "downsampling" else
                "GAP vs dense head")
        fixed = HEADS.get(c["fixed"], DOWNS.get(c["fixed"], c["fixed"]))
        findings.append(f"{what} (with the {fixed}): {_sentence(c, arms)}")
    gaps = {}
    for head in HEADS:
        arms_h = [a for a in numbers["arms"] if a["label"].endswith(f"-{head}")]
        tr = [a["final_train_error"]["mean"] for a in arms_h
              if a["final_train_error"]["mean"] is not None]
        va = [1 - a["final_val_accuracy"]["mean"] for a in arms_h
              if a["final_val_accuracy"]["mean"] is not None]
        if tr and va:
            gaps[head] = (sum(tr) / len(tr), sum(va) / len(va))
    if len(gaps) == 2:
        (dt, dv), (gt, gv) = gaps["dense"], gaps["gap"]
        findings.append(
            f"Training vs validation error, averaged over both downsamplings: dense head "
            f"{dt:.1%} vs {dv:.1%} (gap {100 * (dv - dt):+.1f} points), GAP head {gt:.1%} vs "
            f"{gv:.1%} (gap {100 * (gv - gt):+.1f} points). A dense head on the flattened map "
            "learns weights for every position; averaging the map away makes the GAP head "
            "blind to where the shape is.")
    gap_win = [c for c in numbers.get("comparisons", []) if c["factor"] == "head"]
    if gap_win and all(c["verdict"] != "higher" for c in gap_win):
        findings.append("At this budget the GAP head did not beat the dense head on accuracy; "
                        "its case here is the parameter count (and any input size).")
    missing = failed_line(numbers["arms"])
    if missing:
        findings.append(missing)
    findings.append("All four nets, the same seeds: " + recipe_line(settings) + ".")
    from playground.training_charts import sweep_figure
    fig_curves = sweep_figure(bands(numbers["arms"], "val_accuracy"), "val_accuracy",
                              height=420)
    fig_curves.update_layout(title="Validation accuracy per epoch (mean ± std over seeds)")
    figures = [("Validation accuracy per epoch of the four combinations.", fig_curves),
               ("Final validation accuracy (mean ± std over seeds) against parameters.",
                accuracy_figure(numbers["arms"]))]
    rows = [{"net": a["label"], "downsampling": DOWNS[a["label"].split("-")[0]],
             "head": HEADS[a["label"].split("-")[1]], "params": a.get("params"),
             "MACs": a.get("macs"), "finished": len(finished(a["runs"])),
             "val accuracy": pm(a["final_val_accuracy"]),
             "train error": pm(a["final_train_error"]),
             "s / epoch": pm(a["epoch_seconds"], ".2f")} for a in numbers["arms"]]
    return sweep_result(numbers, findings, figures, rows,
                        f"After {settings['epochs']} epochs (mean ± std over seeds)")


def accuracy_figure(arms: list[dict[str, Any]]) -> go.Figure:
    """Bars of final validation accuracy per net (± std), labelled with the params."""
    labels = [a["label"] for a in arms]
    means = [a["final_val_accuracy"]["mean"] or 0.0 for a in arms]
    stds = [a["final_val_accuracy"]["std"] or 0.0 for a in arms]
    ticks = [f"{label}<br>{short(a.get('params'))} params" for label, a in zip(labels, arms)]
    fig = spread_bars(ticks, means, stds, [f"{m:.1%}" for m in means],
                      "%{customdata}: %{y:.1%}<extra></extra>", customdata=labels)
    style(fig, "Validation accuracy at equal budget", "downsampling - head (parameters)",
          "validation accuracy (%)", height=420, legend=False)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


@study(NAME, 10, "Pooling, strided convs and GAP heads: accuracy at equal budget",
       "Downsampling can be a fixed max pool or a learned strided conv (a quarter of the "
       "conv's multiply-adds); the classifier can be a big flatten + dense head (VGG16's holds "
       "123.6M of its 138.4M parameters) or global average pooling with almost no parameters. "
       "Trained at equal budget, the cheap choices cost little or no accuracy.",
       "The final-accuracy bars: how far apart the four combinations are compared with their "
       "spread over seeds, and the parameter counts written on them.",
       settings=SETTINGS, kind="trains", present=present)
def downsampling_heads_train(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from playground.train.sweeps import Arm
    t0 = time.perf_counter()
    specs = arm_specs(settings)
    arms = [Arm(label, spec=spec.to_dict()) for label, _, _, spec in specs]
    parent = ctx.sweep("study 10: max pool vs strided conv, dense head vs GAP", arms,
                       base_config(settings), list(range(settings["seeds"])))
    numbers = sweep_numbers(ctx.run_store(), parent)
    numbers["wall_seconds"] = time.perf_counter() - t0
    return summarise(numbers)


__all__ = ["accuracy_figure", "arm_specs", "downsampling_heads_train", "head_spec", "present",
           "summarise"]
