"""Study 9: stochastic depth (Huang et al. 2016). The same residual net trained with and without
randomly dropped residual branches, at equal epochs, on the same data and seeds: seconds per
epoch and accuracy; and the expected depth of the survival schedule, exactly: a block with
survival probability p is active in a training step with probability p, so the expected number
of active blocks is the sum of the survival probabilities (linearity of expectation)."""
from __future__ import annotations

import time
from typing import Any

import plotly.graph_objects as go

from playground.spec import ArchSpec
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import spread_bars, style
from playground.studies.trained import (bands, base_config, compare, data_shape, failed_line,
                                        final, finished, optimizer_setting, pm, recipe_line, stats,
                                        steady_epoch_seconds, survival_probs, sweep_numbers,
                                        sweep_result, thin_cifar_spec, weighted_depth)
from playground.training_charts import PALETTE

NAME = "stochastic-depth"
DEPTHS = (8, 14, 20, 32, 44, 56, 110)
DATASETS = ("shapes", "shapes_hard")
LAYERS_PER_BLOCK = {"resnet_basic": 2, "resnet_bottleneck": 3}


# --- expected depth (exact) --------------------------------------------------------------------
def expected_depth(spec: ArchSpec) -> dict[str, Any]:
    """The spec's residual blocks L, their survival probabilities, the expected number of
    active blocks in a training step (sum of the probabilities) and the expected weighted depth
    (the full depth less each block's layers times its drop probability)."""
    probs = survival_probs(spec)
    dropped_layers = sum((1.0 - float(b.params.get("survival_prob", 1.0)))
                         * LAYERS_PER_BLOCK.get(b.type, 0) for b in spec.blocks)
    depth = weighted_depth(spec)
    return {"blocks": len(probs), "survival": probs, "expected_blocks": sum(probs),
            "depth": depth, "expected_depth": depth - dropped_layers}


def linear_expected_blocks(blocks: int, final_survival: float) -> float:
    """Closed form of the sum for Huang et al.'s linear rule p_l = 1 - l/L (1 - p_L),
    l = 1..L: L - (1 - p_L)(L + 1)/2; (3L - 1)/4 for p_L = 0.5."""
    return blocks - (1.0 - final_survival) * (blocks + 1) / 2.0


# --- the study ---------------------------------------------------------------------------------
SETTINGS = (
    Setting("depth", "Depth (layers)", 20, choices=DEPTHS, longer=56,
            help="6n+2 layers: 3n residual blocks"),
    Setting("final_survival", "Survival of the last block p_L", 0.5, lo=0.05, hi=1.0,
            help="survival falls linearly from 1 (first block) to p_L (last block)"),
    Setting("width", "Maps in the first stage", 8, lo=2, hi=64, longer=16),
    Setting("dataset", "Data set", "shapes", choices=DATASETS),
    Setting("image_size", "Image size (pixels)", 16, lo=8, hi=64, longer=32),
    Setting("count", "Images (train + validation)", 1200, lo=60, hi=20000, longer=6000),
    Setting("epochs", "Epochs", 4, lo=1, hi=500, longer=30),
    Setting("seeds", "Seeds per net", 3, lo=1, hi=10, longer=3),
    optimizer_setting(),
)


def arm_specs(settings: dict[str, Any]) -> list[tuple[str, ArchSpec]]:
    """(label, spec): the residual net without and with stochastic depth."""
    shape, classes = data_shape(settings)
    d, p = settings["depth"], settings["final_survival"]
    return [(label, thin_cifar_spec(d, True, settings["width"], shape, classes, surv,
                                    label=label))
            for label, surv in ((f"resnet-{d}", 1.0), (f"resnet-{d}-sd{p:g}", p))]


def summarise(numbers: dict[str, Any]) -> dict[str, Any]:
    """Per arm seconds per epoch, total seconds, final validation accuracy and training
    error over seeds; stochastic depth against the plain schedule (pure, on ``numbers``)."""
    for a in numbers["arms"]:
        runs = finished(a["runs"])
        a["epoch_seconds"] = stats([steady_epoch_seconds(r) for r in runs])
        a["train_seconds"] = stats([r["train_seconds"] for r in runs])
        a["final_val_accuracy"] = stats([r["final_val_accuracy"] for r in runs])
        a["final_train_error"] = stats(final(runs, "train_error"))
        a["params"] = next((r["params"] for r in runs if r.get("params")), None)
    if len(numbers["arms"]) == 2:
        base, sd = (finished(a["runs"]) for a in numbers["arms"])
        secs = compare([steady_epoch_seconds(r) for r in sd],
                       [steady_epoch_seconds(r) for r in base])
        b_mean = numbers["arms"][0]["epoch_seconds"]["mean"]
        s_mean = numbers["arms"][1]["epoch_seconds"]["mean"]
        secs["ratio"] = s_mean / b_mean if b_mean and s_mean else None
        numbers["comparisons"] = {
            "epoch_seconds": secs,
            "val_accuracy": compare([r["final_val_accuracy"] for r in sd],
                                    [r["final_val_accuracy"] for r in base]),
            "train_error": compare(final(sd, "train_error"), final(base, "train_error"))}
    return numbers


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    ex, paper = numbers["expected"], numbers["paper_110"]
    p = settings["final_survival"]
    L = ex["blocks"]
    findings = [
        f"Expected depth: survival falls linearly from 1 to {p:g} over the {L} residual "
        f"blocks, so a training step runs on average {ex['expected_blocks']:.4g} of them "
        f"(the sum of the survival probabilities; closed form L - (1 - p_L)(L + 1)/2 = "
        f"{linear_expected_blocks(L, p):.4g}), {ex['expected_blocks'] / L:.0%} of the blocks: "
        f"{ex['expected_depth']:.4g} of {ex['depth']} weighted layers. Testing always uses "
        "all of them.",
        f"For Huang et al.'s 110-layer ResNet ({paper['blocks']} blocks, p_L = 0.5): "
        f"{paper['expected_blocks']:.2f} expected blocks ((3L - 1)/4 = "
        f"{(3 * paper['blocks'] - 1) / 4:g}), {paper['expected_depth']:.1f} of "
        f"{paper['depth']} layers: about 25% less work per step if dropped blocks are "
        "skipped.",
    ]
    arms = numbers["arms"]
    c = numbers.get("comparisons")
    if c and len(arms) == 2:
        base, sd = arms
        secs = c["epoch_seconds"]
        if secs.get("ratio") is not None:
            verdict = {"lower": "FASTER", "higher": "SLOWER"}.get(secs["verdict"],
                                                                  "no clearly different")
            findings.append(
                f"Seconds per epoch once compiled (median of epochs 2..{settings['epochs']}): "
                f"{base['label']} {pm(base['epoch_seconds'], '.2f')}, {sd['label']} "
                f"{pm(sd['epoch_seconds'], '.2f')} (ratio {secs['ratio']:.2f}: "
                + (f"{verdict} per epoch)." if verdict != "no clearly different" else
                   "no clear difference over the seeds).")
                + " This implementation drops a branch per image by multiplying it by zero "
                "(Keras Dropout with one noise value per image), so every branch is still "
                "computed and no time can be saved; an implementation that skips a dropped "
                f"branch for the whole mini-batch (Huang et al.) would run "
                f"{ex['expected_blocks'] / L:.0%} of the branches.")
        acc = c["val_accuracy"]
        word = {"higher": "HIGHER with stochastic depth", "lower":
                "LOWER with stochastic depth", "no clear difference": "no clear difference",
                "too few seeds": "one seed: no spread to judge"}.get(acc["verdict"],
                                                                     acc["verdict"])
        findings.append(
            f"Validation accuracy after {settings['epochs']} epochs (equal epochs): "
            f"{base['label']} {pm(base['final_val_accuracy'])}, {sd['label']} "
            f"{pm(sd['final_val_accuracy'])}: {word}. Training error "
            f"{pm(base['final_train_error'])} vs {pm(sd['final_train_error'])}. Stochastic "
            "depth is a regulariser: its gain in the paper comes over hundreds of epochs; in a "
            "short run the noisier, shallower training steps can cost accuracy instead.")
    missing = failed_line(arms)
    if missing:
        findings.append(missing)
    findings.append("Both nets trained with: " + recipe_line(settings) + ".")
    from playground.training_charts import sweep_figure
    fig_acc = sweep_figure(bands(arms, "val_accuracy"), "val_accuracy", height=420)
    fig_acc.update_layout(title="Validation accuracy per epoch (mean ± std over seeds)")
    figures = [("Validation accuracy per epoch, with and without stochastic depth (same "
                "epochs, data and seeds).", fig_acc),
               ("Seconds per epoch once compiled, mean ± std over seeds.", seconds_figure(arms)),
               ("The survival schedule: each block's probability of running in a training "
                "step; the expected depth is their sum.", survival_figure(ex, p))]
    rows = [{"net": a["label"], "params": a.get("params"),
             "finished": len(finished(a["runs"])), "runs": len(a["runs"]),
             "s / epoch": pm(a["epoch_seconds"], ".2f"),
             "s in all": pm(a["train_seconds"], ".1f"),
             "val accuracy": pm(a["final_val_accuracy"]),
             "train error": pm(a["final_train_error"])} for a in arms]
    return sweep_result(numbers, findings, figures, rows,
                        f"After {settings['epochs']} epochs (mean ± std over seeds)")


def seconds_figure(arms: list[dict[str, Any]]) -> go.Figure:
    """Bars of seconds per epoch per net with ± std error bars."""
    labels = [a["label"] for a in arms]
    means = [a["epoch_seconds"]["mean"] or 0.0 for a in arms]
    stds = [a["epoch_seconds"]["std"] or 0.0 for a in arms]
    fig = spread_bars(labels, means, stds, [f"{m:.2f} s" for m in means],
                      "%{x}: %{y:.2f} s per epoch<extra></extra>")
    style(fig, "Training time per epoch", "net", "seconds per epoch", height=380,
          legend=False)
    return fig


def survival_figure(ex: dict[str, Any], final_survival: float) -> go.Figure:
    """Each block's survival probability, with the expected number of active blocks."""
    ks = list(range(1, ex["blocks"] + 1))
    fig = go.Figure(go.Bar(x=ks, y=ex["survival"], marker_color=PALETTE[2],
                           hovertemplate="block %{x}: survives with p = %{y:.3f}"
                                         "<extra></extra>"))
    style(fig, f"Survival schedule (p_L = {final_survival:g}): expected "
               f"{ex['expected_blocks']:.4g} of {ex['blocks']} blocks per step",
          "residual block (input to output)", "survival probability", height=380,
          legend=False)
    fig.update_yaxes(range=[0, 1.05])
    if ex["blocks"] <= 30:
        fig.update_xaxes(dtick=1)
    return fig


@study(NAME, 9, "Stochastic depth: shorter nets in training, the full net at test time",
       "Huang et al. 2016 drop whole residual branches at random while training (bypassing "
       "them with the identity), with a survival probability falling linearly with depth; the "
       "full network is used at test time. Training gets shorter on average (expected depth), "
       "faster when dropped blocks are skipped, and regularised.",
       "The expected-depth readout (sum of survival probabilities), the seconds per epoch of "
       "the two nets, and their validation-accuracy curves at equal epochs.",
       settings=SETTINGS, kind="trains", present=present)
def stochastic_depth(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from playground.train.sweeps import Arm
    from playground.zoo.resnets import cifar_resnet
    t0 = time.perf_counter()
    specs = arm_specs(settings)
    arms = [Arm(label, spec=spec.to_dict()) for label, spec in specs]
    parent = ctx.sweep(f"study 9: resnet-{settings['depth']} with and without stochastic "
                       "depth", arms, base_config(settings), list(range(settings["seeds"])))
    numbers = sweep_numbers(ctx.run_store(), parent)
    numbers["expected"] = expected_depth(specs[1][1])
    numbers["paper_110"] = expected_depth(cifar_resnet(110, final_survival=0.5))
    numbers["wall_seconds"] = time.perf_counter() - t0
    return summarise(numbers)


__all__ = ["arm_specs", "expected_depth", "linear_expected_blocks", "present",
           "stochastic_depth", "summarise"]
