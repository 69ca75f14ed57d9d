"""Study 6: depth degradation (He et al. 2015). Plain and residual CIFAR-style nets of a shallow
and a deep depth (20 and 56 layers) trained on the same data, budget and seeds through one
sweep; the deeper *plain* net ends with a higher *training* error (so it is an optimisation
problem, not overfitting), while the shortcuts of the residual net remove most of the gap."""
from __future__ import annotations

import time
from typing import Any

import plotly.graph_objects as go

from playground.errors import SpecError
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import style
from playground.studies.trained import (bands, base_config, compare, data_shape, failed_line,
                                        final, finished, optimizer_setting, pm, recipe_line, stats,
                                        steady_epoch_seconds, sweep_numbers, sweep_result,
                                        thin_cifar_spec, weighted_depth)

NAME = "depth-degradation"
DEPTHS = (8, 14, 20, 32, 44, 56, 110)
DATASETS = ("shapes", "shapes_hard")

SETTINGS = (
    Setting("shallow", "Shallow depth (layers)", 20, choices=DEPTHS,
            help="6n+2 layers: n two-conv blocks in each of 3 stages, the first conv and the "
                 "classifier"),
    Setting("deep", "Deep depth (layers)", 56, choices=DEPTHS),
    Setting("width", "Maps in the first stage", 8, lo=2, hi=64, longer=16,
            help="stages have w, 2w, 4w maps (the paper: 16); thin nets train fast on a CPU"),
    Setting("dataset", "Data set", "shapes", choices=DATASETS),
    Setting("image_size", "Image size (pixels)", 16, lo=8, hi=64, longer=32),
    Setting("count", "Images (train + validation)", 1200, lo=60, hi=20000, longer=6000),
    Setting("epochs", "Epochs", 3, lo=1, hi=200, longer=15),
    Setting("seeds", "Seeds per net", 3, lo=1, hi=10, longer=5,
            help="initialisation and shuffling; the data are the same for every run"),
    optimizer_setting(),
)


def arm_specs(settings: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, spec) of plain-shallow, plain-deep, resnet-shallow, resnet-deep."""
    shape, classes = data_shape(settings)
    out = []
    for residual in (False, True):
        for depth in (settings["shallow"], settings["deep"]):
            label = f"{'resnet' if residual else 'plain'}-{depth}"
            out.append((label, thin_cifar_spec(depth, residual, settings["width"], shape,
                                               classes, label=label)))
    return out


def summarise(numbers: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Per arm the final training error, loss, validation error and seconds over seeds; the
    deep-vs-shallow comparisons for the plain and the residual pair (pure, on ``numbers``)."""
    arms = {a["label"]: a for a in numbers["arms"]}
    for a in numbers["arms"]:
        runs = a["runs"]
        a["final_train_error"] = stats(final(runs, "train_error"))
        a["final_train_loss"] = stats(final(runs, "train_loss"))
        a["final_val_error"] = stats([1 - v for v in final(runs, "val_accuracy")])
        a["epoch_seconds"] = stats([steady_epoch_seconds(r) for r in finished(runs)])
        a["train_seconds"] = stats([r["train_seconds"] for r in finished(runs)])
        a["params"] = next((r["params"] for r in runs if r.get("params")), None)
    s, d = settings["shallow"], settings["deep"]
    out = {}
    for kind in ("plain", "resnet"):
        deep, shallow = arms.get(f"{kind}-{d}"), arms.get(f"{kind}-{s}")
        if deep is None or shallow is None:
            continue
        out[kind] = {
            "train_error": compare(final(deep["runs"], "train_error"),
                                   final(shallow["runs"], "train_error")),
            "val_error": compare([1 - v for v in final(deep["runs"], "val_accuracy")],
                                 [1 - v for v in final(shallow["runs"], "val_accuracy")])}
    numbers["comparisons"] = out
    return numbers


def _verdict_sentence(kind: str, numbers: dict[str, Any], settings: dict[str, Any]) -> str:
    s, d = settings["shallow"], settings["deep"]
    arms = {a["label"]: a for a in numbers["arms"]}
    deep, shallow = arms[f"{kind}-{d}"], arms[f"{kind}-{s}"]
    c = numbers["comparisons"][kind]["train_error"]
    te_d, te_s = deep["final_train_error"], shallow["final_train_error"]
    seeds = min(te_d["n"], te_s["n"])
    head = (f"{'Plain' if kind == 'plain' else 'Residual'} nets, training error after epoch "
            f"{settings['epochs']} ({seeds} seed{'s' if seeds != 1 else ''} each): "
            f"{kind}-{d} {pm(te_d)} vs {kind}-{s} {pm(te_s)}")
    if c["verdict"] == "higher":
        tail = (f": the {d}-layer {'plain' if kind == 'plain' else 'residual'} net trained "
                f"WORSE, by {100 * c['diff']:.1f} points ({c['diff'] / c['se']:.1f} standard "
                "errors)"
                if c["se"] else f": the {d}-layer net trained WORSE, by {100 * c['diff']:.1f} "
                "points")
        if kind == "plain":
            tail += (": its error on the very images it trains on is higher, so this is not "
                     "overfitting but an optimisation problem.")
            chance = 1.0 - 1.0 / numbers.get("classes", 0) if numbers.get("classes") else None
            if chance is not None and te_d["mean"] >= chance - 0.03:
                tail += (f" At {te_d['mean']:.1%} it is at chance ({chance:.1%} error for "
                         f"{numbers['classes']} classes): it has not learned at all.")
        else:
            tail += ("; with shortcuts the deeper net still lags at this short budget (the "
                     "paper trains for 64k steps), but compare the gap with the plain pair's.")
    elif c["verdict"] == "lower":
        tail = (f": the {d}-layer net trained BETTER, by {-100 * c['diff']:.1f} points"
                + (" — deeper is better once shortcuts are there, as in the paper."
                   if kind == "resnet" else
                   " — no degradation at this budget; the effect did not show."))
    elif c["verdict"] == "too few seeds":
        tail = (f": a difference of {100 * c['diff']:+.1f} points, but with one seed there is "
                "no spread to judge it by; run at least 2 seeds.")
    elif c["verdict"] == "no clear difference":
        tail = (f": the difference ({100 * c['diff']:+.1f} points) is within 2 standard errors "
                f"({100 * c['se']:.1f} points), so no clear difference"
                + ("; the degradation did NOT show at these settings (try the longer preset)."
                   if kind == "plain" else "."))
    else:
        tail = ": no finished runs to compare."
    return head + tail


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    arms = numbers["arms"]
    findings = []
    for kind in ("plain", "resnet"):
        if kind in numbers.get("comparisons", {}):
            findings.append(_verdict_sentence(kind, numbers, settings))
    comps = numbers.get("comparisons", {})
    if "plain" in comps and "resnet" in comps:
        dp, dr = comps["plain"]["train_error"]["diff"], comps["resnet"]["train_error"]["diff"]
        if dp is not None and dr is not None:
            findings.append(
                f"Going from {settings['shallow']} to {settings['deep']} layers changed the "
                f"training error by {100 * dp:+.1f} points without shortcuts and by "
                f"{100 * dr:+.1f} points with them.")
    by = {a["label"]: a for a in arms}
    deep_plain = by.get(f"plain-{settings['deep']}")
    if deep_plain and deep_plain["final_val_error"]["mean"] is not None:
        gap = deep_plain["final_val_error"]["mean"] - deep_plain["final_train_error"]["mean"]
        findings.append(
            f"plain-{settings['deep']}: validation error {pm(deep_plain['final_val_error'])} "
            f"against training error {pm(deep_plain['final_train_error'])} (gap "
            f"{100 * gap:+.1f} points): "
            "overfitting would show as a low training error with a high validation error.")
    missing = failed_line(arms)
    if missing:
        findings.append(missing)
    findings.append(
        "Training error here is 1 - the running training accuracy of each epoch (batch norm "
        "in training mode, as in the paper's curves). Every run: " + recipe_line(settings)
        + ".")
    figures = [
        ("Training error per epoch: mean over seeds (line) and ± one standard deviation "
         "(band); plain nets dashed, residual nets solid.",
         error_figure(bands(arms, "train_error"), "Training error per epoch (mean ± std over "
                      "seeds)", "training error (%)")),
        ("Validation error per epoch, same runs: overfitting would show as a validation "
         "error far above the training error.",
         error_figure(bands(arms, "val_accuracy"), "Validation error per epoch (mean ± std "
                      "over seeds)", "validation error (%)", invert=True)),
    ]
    rows = [{"net": a["label"], "layers": a.get("depth"),
             "shortcuts": "yes" if a.get("residual") else "no", "params": a.get("params"),
             "finished": len(finished(a["runs"])), "runs": len(a["runs"]),
             "train error": pm(a["final_train_error"]), "train loss":
             pm(a["final_train_loss"], ".3f"), "val error": pm(a["final_val_error"]),
             "s / epoch": pm(a["epoch_seconds"], ".1f")} for a in arms]
    return sweep_result(numbers, findings, figures, rows,
                        f"After epoch {settings['epochs']} (mean ± std over seeds)")


DASH = {"plain": "dash", "resnet": "solid"}


def error_figure(bands_by_label: dict[str, Any], title: str, y_title: str,
                 invert: bool = False) -> go.Figure:
    """Per net the mean error per epoch with a ± std band: one colour per depth, plain nets
    dashed and residual ones solid; ``invert`` turns accuracy bands into error (1 - value)."""
    from playground.training_charts import PALETTE, _rgba
    fig = go.Figure()
    ymax = 0.0
    depths: list[str] = []
    for label, band in bands_by_label.items():
        depth = label.rsplit("-", 1)[-1]
        if depth not in depths:
            depths.append(depth)
        i = depths.index(depth)
        xs = list(band.epochs)
        if not xs:
            continue
        mean = [1 - m for m in band.mean] if invert else list(band.mean)
        lo = [max(0.0, m - s) for m, s in zip(mean, band.std)]
        hi = [min(1.0, m + s) for m, s in zip(mean, band.std)]
        ymax = max(ymax, *hi)
        color = PALETTE[i % len(PALETTE)]
        if len(xs) > 1:
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=hi + lo[::-1], fill="toself",
                                     mode="lines", line=dict(width=0), hoverinfo="skip",
                                     fillcolor=_rgba(color, 0.18), legendgroup=label,
                                     showlegend=False, name=f"{label} spread"))
        fig.add_trace(go.Scatter(
            x=xs, y=mean, mode="lines+markers", name=f"{label} ({band.runs} seeds)",
            legendgroup=label, line=dict(color=color, width=2.5,
                                         dash=DASH.get(label.split("-")[0], "solid")),
            error_y=dict(type="data", symmetric=False, array=[h - m for h, m in zip(hi, mean)],
                         arrayminus=[m - l for m, l in zip(mean, lo)], color=color)
            if len(xs) == 1 else None,
            customdata=list(band.std),
            hovertemplate=f"{label}<br>epoch %{{x}}: %{{y:.1%}} ± %{{customdata:.1%}}"
                          "<extra></extra>"))
    style(fig, title, "epoch", y_title, height=420)
    last = max([max(b.epochs) for b in bands_by_label.values() if b.epochs] + [1])
    fig.update_xaxes(range=[0.5, last + 0.5], dtick=1 if last <= 12 else None)
    fig.update_yaxes(range=[0, min(1.0, ymax * 1.08) or 1.0], tickformat=".0%")
    return fig


@study(NAME, 6, "Depth degradation: deeper plain nets train worse",
       "Stacking more layers on a plain ConvNet makes it worse, and not by overfitting: the "
       "56-layer plain net has a higher training error than the 20-layer one. It is an "
       "optimisation problem; residual shortcuts make the deeper net trainable again "
       "(He et al. 2015).",
       "The training-error curves: the deep plain net (dashed, with its band over seeds) far "
       "above the shallow one; with shortcuts (solid) the gap between the two depths is much "
       "smaller.",
       settings=SETTINGS, kind="trains", present=present)
def depth_degradation(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    if settings["deep"] <= settings["shallow"]:
        raise SpecError(f"study '{NAME}' setting 'deep'", f"must be deeper than 'shallow' "
                        f"({settings['shallow']}), got {settings['deep']}")
    from playground.train.sweeps import Arm
    t0 = time.perf_counter()
    specs = arm_specs(settings)
    arms = [Arm(label, spec=spec.to_dict()) for label, spec in specs]
    parent = ctx.sweep(f"study 6: plain vs residual at {settings['shallow']} and "
                       f"{settings['deep']} layers", arms, base_config(settings),
                       list(range(settings["seeds"])))
    numbers = sweep_numbers(ctx.run_store(), parent)
    numbers["classes"] = data_shape(settings)[1]
    for arm, (label, spec) in zip(numbers["arms"], specs):
        arm.update(depth=weighted_depth(spec), residual=label.startswith("resnet"))
    numbers["wall_seconds"] = time.perf_counter() - t0
    return summarise(numbers, settings)


__all__ = ["arm_specs", "depth_degradation", "error_figure", "present",
           "summarise"]
