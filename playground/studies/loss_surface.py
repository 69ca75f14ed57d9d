"""Study 8: loss surfaces with and without skip connections (Li et al. 2018).

A residual CIFAR net and its no-skip twin (the same convolutions without the shortcuts:
``resnetN-cifar`` and ``plainN-cifar``) are trained briefly through one sweep (so both runs are
in the store and on the Leaderboard); each trained model is loaded from its run's
``model.keras`` and its loss on a fixed batch of training images is evaluated over a 2-D grid
``w + a * d1 + b * d2`` of two filter-normalised random directions
(:mod:`playground.studies.landscape`). The loss is the
training loss (sparse categorical cross-entropy, as Keras computes it) of the model in inference
mode (batch norm with its moving statistics, as Li et al. evaluate); only the data loss, no
weight-decay term.

The Keras side is here and backend-agnostic (``Variable.assign`` and ``predict_on_batch``);
the maths is pure NumPy in :mod:`playground.studies.landscape`.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from playground.errors import SpecError
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.landscape import (default_filter_axes, grid_coords, random_direction,
                                          summarize, surface)

__all__ = ["filter_axes_of", "loss_evaluator", "model_surface", "loss_surface_study",
           "surface_figure", "contour_figure", "cut_figure", "DEPTHS"]

DEPTHS = (20, 32, 44, 56, 110)
RADII = (0.5, 1.0)
# below these the two surfaces are called "alike" in the findings
STEEPER = 1.25       # ratio of loss rises
NONCONVEX_GAP = 0.10  # difference of non-convex shares


# --- Keras adapters ----------------------------------------------------------------------
def filter_axes_of(model: Any) -> tuple[list[Any], list[tuple[int, ...] | None]]:
    """The model's trainable variables and, for each, the axes that index its filters
    (:func:`~playground.studies.landscape.default_filter_axes`; depthwise kernels by layer
    type and by the ``depthwise_kernel`` name of separable convolutions)."""
    import keras
    depthwise = set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            depthwise.update(id(v) for v in layer.trainable_variables if v.name == "kernel")
    variables = list(model.trainable_variables)
    axes = [default_filter_axes(tuple(v.shape), id(v) in depthwise
                                or v.name == "depthwise_kernel") for v in variables]
    return variables, axes


def loss_evaluator(model: Any, x: np.ndarray, y: np.ndarray, loss: Any = None,
                   batch: int = 1024) -> tuple[Callable[[list[np.ndarray]], float],
                                               list[np.ndarray], list[Any]]:
    """``(loss_at, weights, filter_axes)``: ``loss_at(ws)`` sets the trainable variables to
    ``ws`` and returns ``loss(y, model(x))`` in inference mode (``predict_on_batch`` in chunks
    of ``batch``); ``weights`` are the current values. ``loss`` defaults to sparse categorical
    cross-entropy (the training loss of the playground's classifiers)."""
    import keras
    loss = loss or keras.losses.SparseCategoricalCrossentropy()
    variables, axes = filter_axes_of(model)
    weights = [np.array(keras.ops.convert_to_numpy(v)) for v in variables]
    if not model.compiled:
        model.compile(jit_compile="auto")

    def loss_at(ws: list[np.ndarray]) -> float:
        for v, w in zip(variables, ws):
            v.assign(w)
        preds = [np.asarray(model.predict_on_batch(x[i:i + batch]))
                 for i in range(0, len(x), batch)]
        pred = np.concatenate(preds, axis=0)
        return float(keras.ops.convert_to_numpy(loss(y, pred)))

    return loss_at, weights, axes


def model_surface(model: Any, x: np.ndarray, y: np.ndarray, steps: int, radius: float,
                  seed: int = 0, loss: Any = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The loss surface of ``model`` on ``(x, y)`` over ``steps`` x ``steps`` points of two
    filter-normalised random directions (seeded), with its summary; the model's weights are
    restored afterwards."""
    loss_at, weights, axes = loss_evaluator(model, x, y, loss)
    rng = np.random.default_rng(seed)
    d1 = random_direction(weights, axes, rng)
    d2 = random_direction(weights, axes, rng)
    coords = grid_coords(steps, radius)
    t0 = time.perf_counter()
    try:
        z = surface(loss_at, weights, d1, d2, coords, progress)
    finally:
        loss_at(weights)
    seconds = time.perf_counter() - t0
    return {"coords": coords.tolist(), "z": z.tolist(), "summary": summarize(z, coords, RADII),
            "directions_cosine": _cosine(d1, d2), "seconds": seconds,
            "perturbed_tensors": sum(a is not None for a in axes), "tensors": len(axes),
            "perturbed_params": int(sum(w.size for w, a in zip(weights, axes) if a is not None))}


def _cosine(d1: Sequence[np.ndarray], d2: Sequence[np.ndarray]) -> float:
    a = np.concatenate([x.ravel() for x in d1])
    b = np.concatenate([x.ravel() for x in d2])
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / den) if den else 0.0


# --- the study -----------------------------------------------------------------------------
SETTINGS = (
    Setting("depth", "Depth (layers)", 20, choices=DEPTHS, longer=56,
            help="resnetN-cifar against plainN-cifar: Li et al. see little difference at 20 "
                 "layers and a chaotic no-skip surface at 56."),
    Setting("dataset", "Data set", "shapes", choices=("shapes", "shapes_hard"),
            help="generated, offline: shapes (3 classes) or shapes_hard (6, cluttered)"),
    Setting("count", "Images in the data set", 1000, lo=60, hi=6000, longer=3000,
            help="80% train, 20% validation"),
    Setting("epochs", "Training epochs", 3, lo=1, hi=100, longer=10),
    Setting("seed", "Seed (training and directions)", 0, lo=0, hi=10_000),
    Setting("steps", "Grid points per axis (odd)", 11, lo=3, hi=61, longer=31,
            help="the grid has steps x steps points per network"),
    Setting("radius", "Grid half-width (filter norms)", 1.0, lo=0.05, hi=5.0,
            help="1.0 moves each filter by as much as its own norm (Li et al. plot -1..1)"),
    Setting("images", "Fixed batch of training images", 256, lo=8, hi=4096, longer=1024),
)


def _arms(depth: int) -> list[Any]:
    from playground.train.sweeps import Arm
    return [Arm(f"resnet{depth}-cifar", target=f"resnet{depth}-cifar"),
            Arm(f"plain{depth}-cifar", target=f"plain{depth}-cifar")]


def _trained(store: Any, parent: str) -> list[dict[str, Any]]:
    """The sweep's finished children: label, run id, saved model path, accuracy, loss."""
    from playground.train import sweeps
    st = sweeps.status(store, parent)
    order = {label: i for i, label in enumerate(st.labels)}
    out = []
    for child in sorted(st.children, key=lambda c: order.get(c.tags.get(sweeps.ARM_TAG), 99)):
        label = child.tags.get(sweeps.ARM_TAG, child.name)
        if child.status != "FINISHED":
            raise SpecError(f"study 'loss-surface' run '{label}'",
                            f"ended {child.status}: {child.error or 'no message'}")
        path = store.artifact_path(child.run_id, "model.keras")
        if path is None:
            raise SpecError(f"study 'loss-surface' run '{label}'", "has no saved model.keras")
        out.append({"label": label, "run_id": child.run_id, "path": path,
                    "val_accuracy": child.val_accuracy, "train_loss": child.metrics.get("loss")})
    return out


# --- presentation --------------------------------------------------------------------------
def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def _pair(numbers: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    nets = numbers.get("nets") or []
    res = next((n for n in nets if n.get("skip")), None)
    plain = next((n for n in nets if not n.get("skip")), None)
    return res, plain


def comparison(numbers: dict[str, Any]) -> dict[str, Any]:
    """The figures that capture the difference: rise ratios (no-skip / residual) at each radius
    and the non-convex shares."""
    res, plain = _pair(numbers)
    if res is None or plain is None:
        return {}
    out: dict[str, Any] = {}
    for r, v in res["summary"]["rise"].items():
        out[f"rise_ratio_{r}"] = _ratio(plain["summary"]["rise"].get(r), v)
    for key in ("nonconvex_share", "nonconvex_share_inner"):
        out[f"{key}_residual"] = res["summary"].get(key)
        out[f"{key}_plain"] = plain["summary"].get(key)
    return out


def findings_of(numbers: dict[str, Any]) -> list[str]:
    """Sentences read off the numbers; says so plainly when the two surfaces are alike."""
    res, plain = _pair(numbers)
    if res is None or plain is None:
        return ["Only one network was sliced; there is nothing to compare."]
    out = []
    for net in (res, plain):
        sm = net["summary"]
        rises = ", ".join(f"{v:.3g} at radius {r}" for r, v in sm["rise"].items())
        acc = net.get("val_accuracy")
        acc_text = f"validation accuracy {acc:.1%}, " if acc is not None else ""
        out.append(f"{net['label']} ({acc_text}loss {sm['centre_loss']:.3g} at the trained "
                   f"weights): the loss rises by {rises}; the slice curves downwards "
                   f"(non-convex) at {sm['nonconvex_share_inner']:.0%} of the grid points in "
                   f"its inner half and {sm['nonconvex_share']:.0%} of all interior points; "
                   f"curvature at the trained weights {sm['centre_lambda_min']:.3g} and "
                   f"{sm['centre_lambda_max']:.3g}.")
    cmp_ = comparison(numbers)
    ratios = {k.removeprefix("rise_ratio_"): v for k, v in cmp_.items()
              if k.startswith("rise_ratio_") and v is not None}
    inner = "nonconvex_share_inner"
    gap = (plain["summary"].get(inner) or 0) - (res["summary"].get(inner) or 0)
    steeper = [r for r, v in ratios.items() if v >= STEEPER]
    if steeper or gap >= NONCONVEX_GAP:
        parts = [f"{ratios[r]:.2f}x the residual net's rise at radius {r}" for r in ratios]
        out.append(f"Without skip connections the surface is sharper: {'; '.join(parts)}; "
                   f"non-convex share in the inner half of the grid "
                   f"{plain['summary'][inner]:.0%} vs {res['summary'][inner]:.0%}.")
    elif any(v <= 1 / STEEPER for v in ratios.values()) or gap <= -NONCONVEX_GAP:
        parts = [f"{v:.2f}x at radius {r}" for r, v in ratios.items()]
        out.append("Here the no-skip net's surface is the flatter or more convex one "
                   f"(rise ratio no-skip / residual {', '.join(parts)}; non-convex share in "
                   f"the inner half {plain['summary'][inner]:.0%} vs "
                   f"{res['summary'][inner]:.0%}): the lecture's effect does not show at "
                   "these settings.")
    else:
        parts = [f"{v:.2f}x at radius {r}" for r, v in ratios.items()]
        out.append("No clear difference at these settings: the rise ratio no-skip / residual "
                   f"is {', '.join(parts)} and the non-convex shares in the inner half are "
                   f"{plain['summary'][inner]:.0%} vs {res['summary'][inner]:.0%}."
                   + (" Li et al. see the same at 20 layers; the effect needs depth (try "
                      "depth 56, the longer preset)." if (numbers.get("depth") or 20) <= 20
                      else " A longer run or a finer grid (the longer preset) may show it."))
    chance = numbers.get("chance_loss")
    top = max(ratios, key=float, default=None)
    if chance and top is not None and min(res["summary"]["rise"][top],
                                          plain["summary"]["rise"][top]) > 3 * chance:
        out.append(f"At radius {top} both losses are over 3x the chance level (ln classes = "
                   f"{chance:.2f}): both slices have left the basin there, and the rise at "
                   "the smaller radius is the one that compares the basins.")
    for net in (res, plain):
        if not net["summary"].get("finite", True):
            out.append(f"{net['label']}: some grid points gave a non-finite loss (shown as gaps).")
    return out


def _colour_range(nets: Sequence[dict[str, Any]]) -> tuple[float, float]:
    zs = np.concatenate([np.asarray(n["z"], dtype=float).ravel() for n in nets])
    zs = zs[np.isfinite(zs)]
    return (float(zs.min()), float(zs.max())) if len(zs) else (0.0, 1.0)


def surface_figure(numbers: dict[str, Any]) -> Any:
    """Both nets' surfaces as 3-D plotly surfaces side by side, one colour scale and z range."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    nets = numbers.get("nets") or []
    lo, hi = _colour_range(nets)
    cols = max(1, len(nets))
    fig = make_subplots(rows=1, cols=cols, specs=[[{"type": "surface"}] * cols],
                        subplot_titles=[n["label"] for n in nets], horizontal_spacing=0.02)
    for i, net in enumerate(nets, start=1):
        c = net["coords"]
        fig.add_trace(go.Surface(x=c, y=c, z=net["z"], cmin=lo, cmax=hi, colorscale="Viridis",
                                 showscale=i == len(nets),
                                 colorbar=dict(title="loss", len=0.8),
                                 hovertemplate="a %{x:.2f}, b %{y:.2f}<br>loss %{z:.4g}"
                                               "<extra>" + net["label"] + "</extra>"),
                      row=1, col=i)
    scene = dict(xaxis_title="a", yaxis_title="b", zaxis=dict(title="loss", range=[lo, hi]),
                 camera=dict(eye=dict(x=2.4, y=2.4, z=1.5)))
    fig.update_layout(height=500, margin=dict(l=20, r=0, t=50, b=10),
                      title="Loss at w + a·d1 + b·d2 (filter-normalised directions, same "
                            "colour scale)",
                      **{f"scene{'' if i == 1 else i}": scene for i in range(1, len(nets) + 1)})
    return fig


def contour_figure(numbers: dict[str, Any]) -> Any:
    """Both nets' surfaces as contour maps side by side with the same levels and colours; a
    cross marks the trained weights."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    nets = numbers.get("nets") or []
    lo, hi = _colour_range(nets)
    fig = make_subplots(rows=1, cols=max(1, len(nets)),
                        subplot_titles=[n["label"] for n in nets], horizontal_spacing=0.08,
                        shared_yaxes=True)
    size = (hi - lo) / 20 if hi > lo else 1.0
    for i, net in enumerate(nets, start=1):
        c = net["coords"]
        fig.add_trace(go.Contour(x=c, y=c, z=net["z"], zmin=lo, zmax=hi, colorscale="Viridis",
                                 contours=dict(start=lo, end=hi, size=size),
                                 showscale=i == len(nets), colorbar=dict(title="loss"),
                                 hovertemplate="a %{x:.2f}, b %{y:.2f}<br>loss %{z:.4g}"
                                               "<extra>" + net["label"] + "</extra>"),
                      row=1, col=i)
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", showlegend=False,
                                 marker=dict(symbol="x", size=10, color="white",
                                             line=dict(width=1, color="black")),
                                 hovertemplate="trained weights<extra></extra>"), row=1, col=i)
        fig.update_xaxes(title_text="direction 1 (a, filter norms)", row=1, col=i)
    fig.update_yaxes(title_text="direction 2 (b, filter norms)", row=1, col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=60, b=10),
                      title="Contours of the loss (same levels for both nets)")
    return fig


def cut_figure(numbers: dict[str, Any]) -> Any:
    """The loss along direction 1 through the trained weights (b = 0), both nets on one axis."""
    import plotly.graph_objects as go
    fig = go.Figure()
    for net in numbers.get("nets") or []:
        z = np.asarray(net["z"], dtype=float)
        mid = z.shape[0] // 2
        fig.add_trace(go.Scatter(x=net["coords"], y=z[mid].tolist(), mode="lines+markers",
                                 name=net["label"]))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=50, b=10),
                      title="A 1-D cut through the trained weights (direction 1, b = 0)",
                      xaxis_title="step along direction 1 (filter norms)",
                      yaxis_title="training loss (cross-entropy)",
                      legend=dict(orientation="h", y=-0.25, x=0.5, xanchor="center"))
    return fig


def present(s: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    """Findings, the surfaces and contours side by side, the 1-D cut and a table per net."""
    cmp_ = comparison(numbers)
    nums = {**numbers, "comparison": cmp_}
    rows = []
    for net in numbers.get("nets") or []:
        sm = net["summary"]
        rows.append({"network": net["label"], "skip connections": bool(net.get("skip")),
                     "validation accuracy": net.get("val_accuracy"),
                     "loss at centre": sm["centre_loss"],
                     **{f"rise at r={r}": v for r, v in sm["rise"].items()},
                     "max loss on grid": sm["max_loss"],
                     "non-convex share (inner half)": sm["nonconvex_share_inner"],
                     "non-convex share (all)": sm["nonconvex_share"],
                     "mean |λmin/λmax| there": sm["mean_abs_ratio_negative"],
                     "curvature at centre (λmin, λmax)": f"{sm['centre_lambda_min']:.3g}, "
                                                         f"{sm['centre_lambda_max']:.3g}",
                     "perturbed params": net.get("perturbed_params"),
                     "grid seconds": net.get("seconds"), "run": net.get("run_id")})
    figures = []
    if numbers.get("nets"):
        figures = [("Loss surfaces, same colour scale", surface_figure(numbers)),
                   ("Contours, same levels", contour_figure(numbers)),
                   ("1-D cut through the trained weights", cut_figure(numbers))]
    return StudyResult(nums, findings_of(numbers), figures,
                       [("Per network", rows)] if rows else [],
                       [numbers["sweep_id"]] if numbers.get("sweep_id") else [])


@study("loss-surface", 8, "Loss surfaces with and without skip connections",
       claim="Skip connections make the loss surface of a deep network smooth and close to "
             "convex around the trained weights; without them a deep net's surface turns "
             "chaotic, with many non-convex regions (Li et al. 2018; at 20 layers both are "
             "still well behaved).",
       look_for="Compare the two panels on the same colour scale: how fast the loss rises away "
                "from the centre (the trained weights), and whether the contours stay round "
                "and nested (convex) or break into ridges and separate basins. The numbers: "
                "the loss rise at radius 0.5 and 1.0, and the share of grid points where the "
                "slice curves downwards in some direction (non-convex).",
       settings=SETTINGS, kind="trains", present=present)
def loss_surface_study(s: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Train the residual net and its no-skip twin (one sweep), then slice each one's loss."""
    from playground.cost.loading import load_model_file
    from playground.train.config import TrainConfig
    from playground.train.fitting import load_dataset
    from playground.train.runs import stored_config
    from playground._env import import_keras_quietly
    if s["steps"] % 2 == 0:
        raise SpecError("study 'loss-surface' setting 'steps'",
                        f"must be odd (the trained weights sit at the grid centre), got "
                        f"{s['steps']}")
    base = TrainConfig(dataset=s["dataset"], dataset_options={"count": s["count"]},
                       epochs=s["epochs"])
    t0 = time.perf_counter()
    parent = ctx.sweep(f"loss-surface: resnet{s['depth']} vs plain{s['depth']}",
                       _arms(s["depth"]), base, seeds=[s["seed"]])
    train_s = time.perf_counter() - t0
    store = ctx.run_store()
    nets = _trained(store, parent)
    import_keras_quietly()
    config = stored_config(store, nets[0]["run_id"])
    ds = load_dataset(config)
    n = min(s["images"], len(ds.x_train))
    x, y = ds.x_train[:n], ds.y_train[:n]
    out: dict[str, Any] = {"sweep_id": parent, "train_seconds": train_s, "images": n,
                           "dataset": s["dataset"], "depth": s["depth"],
                           "chance_loss": math.log(ds.num_classes), "nets": []}
    for net in nets:
        ctx.progress(f"loss surface of {net['label']}: {s['steps']}x{s['steps']} points on "
                     f"{n} images")
        model = load_model_file(net["path"])

        def progress(done: int, total: int, label: str = net["label"],
                     last: list[float] = [0.0]) -> None:  # noqa: B006  (its own per net)
            if time.perf_counter() - last[0] > 5 or done == total:
                last[0] = time.perf_counter()
                ctx.progress(f"{label}: {done}/{total} grid points")

        surf = model_surface(model, x, y, s["steps"], s["radius"], s["seed"], progress=progress)
        out["nets"].append({k: v for k, v in net.items() if k != "path"}
                           | {"skip": net["label"].startswith("resnet"), **surf})
        del model
    return out
