"""Study 7b: paths through a *trained* residual network (Veit et al. 2016), next to its plain
twin. Both are trained through one sweep; then, on each trained model read back from the run
store:

* **Lesion**: one block is deleted at test time and the validation accuracy measured, block by
  block. Deleting a residual block leaves its shortcut (the branch's output is set to exactly
  zero: the last batch norm of the branch gets gamma = beta = 0); deleting a plain block
  replaces its two convs by the identity (a Dirac kernel and a batch norm that undoes its own
  normalisation; the ReLU passes the non-negative input unchanged). Only blocks that keep the
  shape (stride 1, as many maps out as in) can be deleted; the stride-2 ones are left in.
* **Gradient by path length** (Veit et al., section 5): a batch goes forward through the whole
  net; in the backward pass, for k randomly chosen residual blocks the gradient flows only
  through the residual branch, for the other n - k only through the shortcut (stop-gradient on
  the other side of each sum; the forward values are unchanged). The gradient norm at the
  input then belongs to paths of length k. Multiplied by the C(n, k) paths of that length it
  says which lengths carry the gradient.
"""
from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import plotly.graph_objects as go

from playground.errors import SpecError
from playground.spec import ArchSpec, block_names
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import log_axis, style
from playground.studies.trained import (RESIDUAL_TYPES, base_config, data_shape, failed_line,
                                        finished, optimizer_setting, pm, recipe_line, stats,
                                        sweep_numbers, thin_cifar_spec)
from playground.training_charts import PALETTE

NAME = "paths-lesion"
DEPTHS = (8, 14, 20, 32, 44, 56, 110)
DATASETS = ("shapes", "shapes_hard")


# --- the deletable units of a net -------------------------------------------------------------
def units(spec: ArchSpec) -> list[dict[str, Any]]:
    """The blocks a lesion can delete, in order: every residual block (``kind`` "residual"),
    or every pair of plain convs ``X_conv1``, ``X_conv2`` that stands for one (``kind``
    "plain", named ``X``), each with ``keeps_shape``: stride 1 and as many maps out as in."""
    out: list[dict[str, Any]] = []
    channels = None
    pairs: dict[str, dict[str, Any]] = {}
    for b, name in zip(spec.blocks, block_names(spec)):
        p = b.params
        stride = p.get("stride", 1)
        if b.type in ("resnet_basic", "resnet_bottleneck"):
            maps = p.get("filters", 64) * (p.get("expansion", 4)
                                            if b.type == "resnet_bottleneck" else 1)
            out.append({"name": name, "kind": "residual",
                        "keeps_shape": stride == 1 and maps == channels})
            channels = maps
        elif b.type == "conv":
            maps = p.get("filters")
            keeps = (stride == 1 and maps == channels and p.get("batch_norm", False)
                     and p.get("activation", "relu") == "relu" and p.get("groups", 1) == 1
                     and p.get("padding", "same") == "same")
            if name.endswith(("_conv1", "_conv2")):
                key = name[:-6]
                unit = pairs.get(key)
                if unit is None:
                    unit = pairs[key] = {"name": key, "kind": "plain", "keeps_shape": True}
                    out.append(unit)
                unit["keeps_shape"] = unit["keeps_shape"] and keeps
            channels = maps
        elif b.type in RESIDUAL_TYPES:
            raise SpecError(f"block '{name}'", f"the lesion study handles ResNet basic and "
                            f"bottleneck blocks, not {b.type}")
    return out


def residual_adds(spec: ArchSpec) -> list[str]:
    """The Keras layer names of the residual sums (``{block}.add``), in order."""
    return [f"{u['name']}.add" for u in units(spec) if u["kind"] == "residual"]


# --- lesion ------------------------------------------------------------------------------------
def _dirac(kernel: np.ndarray) -> np.ndarray:
    """A conv kernel (kh, kw, c, c) that copies its input: 1 at the centre tap of channel i
    to channel i, 0 elsewhere."""
    kh, kw, cin, cout = kernel.shape
    if cin != cout or kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"no identity kernel of shape {kernel.shape}")
    out = np.zeros_like(kernel)
    out[kh // 2, kw // 2, np.arange(cin), np.arange(cin)] = 1.0
    return out


def _has(core: Any, name: str) -> bool:
    try:
        core.get_layer(name)
        return True
    except ValueError:
        return False


def lesion_weights(core: Any, unit: dict[str, Any]) -> list[tuple[Any, list[np.ndarray]]]:
    """(layer, weights to set) that delete ``unit`` from the built ``core`` (see the module
    docstring); SpecError when the unit changes the shape."""
    if not unit["keeps_shape"]:
        raise SpecError(f"block '{unit['name']}'", "changes the shape, so it cannot be deleted")
    name = unit["name"]
    if unit["kind"] == "residual":
        for last in ("conv3", "conv2"):  # the branch's last conv (bottleneck / basic)
            if _has(core, f"{name}.{last}_bn"):  # v1: conv -> BN -> add
                bn = core.get_layer(f"{name}.{last}_bn")
                w = bn.get_weights()  # gamma, beta, moving mean, moving variance
                return [(bn, [np.zeros_like(w[0]), np.zeros_like(w[1]), *w[2:]])]
            if _has(core, f"{name}.{last}"):  # v2: BN -> ReLU -> conv -> add
                conv = core.get_layer(f"{name}.{last}")
                return [(conv, [np.zeros_like(v) for v in conv.get_weights()])]
        raise SpecError(f"block '{name}'", "has no branch layer to silence")
    out = []
    for part in ("conv1", "conv2"):
        conv = core.get_layer(f"{name}_{part}.conv")
        bn = core.get_layer(f"{name}_{part}.conv_bn")
        cw = conv.get_weights()
        gamma, beta, mean, var = bn.get_weights()
        out.append((conv, [_dirac(cw[0]), *[np.zeros_like(v) for v in cw[1:]]]))
        out.append((bn, [np.sqrt(var + bn.epsilon).astype(gamma.dtype), mean.copy(), mean,
                         var]))
    return out


@contextlib.contextmanager
def lesioned(core: Any, unit: dict[str, Any]) -> Iterator[None]:
    """Within the block, ``unit`` is deleted from ``core`` (its weights are put back after)."""
    saved = []
    try:
        for layer, weights in lesion_weights(core, unit):
            saved.append((layer, layer.get_weights()))
            layer.set_weights(weights)
        yield
    finally:
        for layer, weights in reversed(saved):
            layer.set_weights(weights)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of ``model`` on (x, y)."""
    pred = np.argmax(np.asarray(model.predict(x, batch_size=256, verbose=0)), axis=-1)
    return float(np.mean(pred == np.asarray(y)))


def lesion_curve(model: Any, core: Any, spec: ArchSpec, x: np.ndarray, y: np.ndarray
                 ) -> dict[str, Any]:
    """Validation accuracy of the intact model and with each deletable unit deleted in turn."""
    deletable = [u for u in units(spec) if u["keeps_shape"]]
    out = {"intact": accuracy(model, x, y), "units": [], "accuracy": []}
    for u in deletable:
        with lesioned(core, u):
            out["accuracy"].append(accuracy(model, x, y))
        out["units"].append(u["name"])
    out["kept"] = [u["name"] for u in units(spec) if not u["keeps_shape"]]
    return out


# --- gradient by path length -------------------------------------------------------------------
def _gated(layer: Any, branch: bool) -> Callable[..., Any]:
    """The residual sum ``layer([shortcut, branch])`` with the same value, whose gradient flows
    only through the branch (``branch``) or only through the shortcut."""
    from keras import ops

    def call(inputs: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        sc, y = inputs
        if branch:
            return ops.add(ops.stop_gradient(sc), y)
        return ops.add(sc, ops.stop_gradient(y))
    return call


def gated_forward(core: Any, x: Any, through_branch: set[str], adds: Sequence[str]) -> Any:
    """``core(x)`` in inference mode, with every residual sum in ``adds`` gated: through the
    branch for the names in ``through_branch``, through the shortcut for the others."""
    gates = {name: name in through_branch for name in adds}

    def operation_fn(layer: Any) -> Any:
        if layer.name in gates:
            return _gated(layer, gates[layer.name])
        return layer  # called without ``training``: batch norm and dropout in inference mode
    # Keras' own graph runner (Functional.call goes through it too) with our op for the sums
    return core._run_through_graph(x, operation_fn=operation_fn)


def input_gradient(fn: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    """d fn(x) / dx for a scalar ``fn`` on the current Keras backend (TensorFlow, JAX, torch):
    Keras has no backend-neutral gradient, so each backend's own is used."""
    import keras
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            value = fn(xt)
        return np.asarray(tape.gradient(value, xt))
    if backend == "jax":
        import jax
        return np.asarray(jax.grad(fn)(jax.numpy.asarray(x)))
    if backend == "torch":
        xt = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
        fn(xt).backward()
        return xt.grad.detach().cpu().numpy()
    raise SpecError("Keras backend", f"{backend} has no gradient support here")


def path_gradient(core: Any, x: np.ndarray, y: np.ndarray, through_branch: set[str],
                  adds: Sequence[str]) -> np.ndarray:
    """Per-sample gradients of the cross-entropy at the input of ``core`` along the paths
    that take the branch at the sums in ``through_branch`` and the shortcut elsewhere."""
    from keras import ops
    labels = np.asarray(y).astype("int32")[:, None]

    def loss(inp: Any) -> Any:
        probs = gated_forward(core, inp, through_branch, adds)
        picked = ops.take_along_axis(probs, ops.convert_to_tensor(labels), axis=1)
        return -ops.sum(ops.log(ops.maximum(picked, 1e-7)))  # a sum: per-sample gradients
    return input_gradient(loss, np.asarray(x, dtype="float32"))


def path_gradient_norms(core: Any, x: np.ndarray, y: np.ndarray, adds: Sequence[str],
                        lengths: Sequence[int], draws: int, seed: int = 0
                        ) -> dict[str, list[float]]:
    """For each path length k, ``draws`` random choices of k of the n residual blocks: the mean
    over samples of the input-gradient norm along those paths; per k its mean, std, min and
    max over draws (Veit et al. 2016, section 5)."""
    rng = np.random.default_rng(seed)
    n = len(adds)
    means, stds, los, his = [], [], [], []
    for k in lengths:
        norms = []
        for _ in range(draws):
            chosen = {adds[i] for i in rng.choice(n, size=k, replace=False)}
            g = path_gradient(core, x, y, chosen, adds)
            norms.append(float(np.mean(np.sqrt(np.sum(g.reshape(len(g), -1) ** 2, axis=1)))))
        means.append(float(np.mean(norms)))
        stds.append(float(np.std(norms, ddof=1)) if len(norms) > 1 else 0.0)
        los.append(min(norms))
        his.append(max(norms))
    return {"lengths": list(lengths), "mean": means, "std": stds, "min": los, "max": his}


def gradient_shares(n: int, mean: Sequence[float]) -> dict[str, list[float]]:
    """Veit et al.'s figure 6(c): per length k the share of all paths, C(n, k) / 2^n, and the
    share of the total gradient magnitude, C(n, k) g(k) / sum_j C(n, j) g(j)."""
    counts = [math.comb(n, k) for k in range(n + 1)]
    total = sum(c * g for c, g in zip(counts, mean))
    return {"paths": [c / 2 ** n for c in counts],
            "gradient": [c * g / total if total > 0 else 0.0 for c, g in zip(counts, mean)]}


def central_range(shares: Sequence[float], cover: float = 0.9) -> tuple[int, int]:
    """The narrowest range of lengths holding at least ``cover`` of the shares."""
    best = (0, len(shares) - 1)
    for lo in range(len(shares)):
        acc = 0.0
        for hi in range(lo, len(shares)):
            acc += shares[hi]
            if acc >= cover - 1e-12:
                if hi - lo < best[1] - best[0]:
                    best = (lo, hi)
                break
    return best


# --- the study -------------------------------------------------------------------------------
SETTINGS = (
    Setting("depth", "Depth (layers)", 20, choices=DEPTHS, longer=32,
            help="6n+2 layers: 3n blocks; the residual net and its plain twin (a plain net "
                 "deeper than 20 layers does not train reliably in 3 epochs: a plain-32 seed "
                 "ended at 50% here, and a net near chance has nothing to lose)"),
    Setting("width", "Maps in the first stage", 8, lo=2, hi=64, longer=16),
    Setting("dataset", "Data set", "shapes", choices=DATASETS),
    Setting("image_size", "Image size (pixels)", 16, lo=8, hi=64, longer=32),
    Setting("count", "Images (train + validation)", 1200, lo=60, hi=20000, longer=6000),
    Setting("epochs", "Epochs", 3, lo=1, hi=200, longer=15),
    Setting("seeds", "Seeds per net", 1, lo=1, hi=5, longer=3),
    Setting("draws", "Sampled paths per length", 6, lo=1, hi=200, longer=20,
            help="random choices of k blocks per path length k (each one backward pass)"),
    Setting("grad_batch", "Images per gradient", 32, lo=1, hi=512, longer=128),
    optimizer_setting(),
)


def load_trained(store: Any, run_id: str) -> tuple[Any, Any, Any, Any]:
    """A finished run's saved model (input scaling + architecture), its architecture (the
    inner Keras model), its spec as trained, and its data set."""
    import keras
    from playground.cost.loading import load_model_file
    from playground.train.config import TrainConfig
    from playground.train.fitting import load_dataset
    path = store.artifact_path(run_id, "model.keras")
    spec_doc = store.artifact_json(run_id, "spec.json")
    if path is None or spec_doc is None:
        raise SpecError(f"run '{run_id}'", "has no saved model.keras and spec.json")
    model = load_model_file(path)
    core = next((layer for layer in model.layers if isinstance(layer, keras.Model)), None)
    if core is None:
        raise SpecError(f"run '{run_id}'", "its model has no inner architecture")
    data = load_dataset(TrainConfig.from_dict(store.run_config(run_id)))
    return model, core, ArchSpec.from_dict(spec_doc), data


def scaled(model: Any, x: np.ndarray) -> np.ndarray:
    """Images as the architecture receives them (the saved model's own input scaling)."""
    scale = next((layer for layer in model.layers if layer.name == "scale"), None)
    return np.asarray(scale(x) if scale is not None else x.astype("float32") / 255.0)


def analyse_run(store: Any, run: dict[str, Any], label: str, settings: dict[str, Any]
                ) -> dict[str, Any]:
    """Lesion curve (every net) and gradient by path length (residual nets) of one run."""
    model, core, spec, ds = load_trained(store, run["run_id"])
    out = {"label": label, "seed": run["seed"], "run_id": run["run_id"],
           "lesion": lesion_curve(model, core, spec, ds.x_val, ds.y_val)}
    adds = residual_adds(spec)
    if adds:
        m = min(settings["grad_batch"], len(ds.x_val))
        x = scaled(model, ds.x_val[:m])
        out["paths"] = path_gradient_norms(core, x, ds.y_val[:m], adds,
                                           list(range(len(adds) + 1)), settings["draws"],
                                           seed=run["seed"])
        out["paths"]["blocks"] = len(adds)
    return out


def _mean_curve(analyses: list[dict[str, Any]]) -> tuple[list[str], list[float], float]:
    """Units, mean accuracy per deleted unit and mean intact accuracy over seeds."""
    units_ = analyses[0]["lesion"]["units"]
    accs = (np.mean([a["lesion"]["accuracy"] for a in analyses], axis=0).tolist()
            if units_ else [])
    return units_, accs, float(np.mean([a["lesion"]["intact"] for a in analyses]))


def summarise(numbers: dict[str, Any]) -> dict[str, Any]:
    """The lesion curves averaged over seeds (per net: intact, mean, worst and best accuracy
    with one block deleted) and the residual net's gradient by path length averaged over seeds
    with its shares, fitted factor per extra branch and 90% ranges (pure, on ``numbers``)."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for a in numbers.get("analyses", []):
        by_label.setdefault(a["label"], []).append(a)
    lesion = {}
    for label, items in by_label.items():
        names, accs, intact = _mean_curve(items)
        if names:
            lesion[label] = {"units": names, "accuracy": accs, "intact": intact,
                             "mean": float(np.mean(accs)), "worst": min(accs),
                             "best": max(accs), "kept": items[0]["lesion"]["kept"],
                             "seeds": len(items)}
    out: dict[str, Any] = {"lesion": lesion}
    items = [a for a in numbers.get("analyses", []) if a.get("paths")]
    if items:
        n, ks = items[0]["paths"]["blocks"], items[0]["paths"]["lengths"]
        mean = np.mean([a["paths"]["mean"] for a in items], axis=0).tolist()
        lo = np.min([a["paths"]["min"] for a in items], axis=0).tolist()
        hi = np.max([a["paths"]["max"] for a in items], axis=0).tolist()
        shares = gradient_shares(n, mean)
        paths: dict[str, Any] = {"label": items[0]["label"], "blocks": n, "lengths": ks,
                                 "mean": mean, "min": lo, "max": hi, "shares": shares,
                                 "gradient_90": list(central_range(shares["gradient"])),
                                 "paths_90": list(central_range(shares["paths"])),
                                 "gradient_mean_length": sum(k * s for k, s in
                                                             zip(ks, shares["gradient"]))}
        positive = [(k, g) for k, g in zip(ks, mean) if g > 0]
        if len(positive) >= 2:
            slope = np.polyfit([k for k, _ in positive],
                               np.log10([g for _, g in positive]), 1)[0]
            paths["factor_per_branch"] = float(10 ** slope)
        out["paths"] = paths
    numbers["summary"] = out
    return numbers


def kept_share(dr: dict[str, Any], chance: float) -> float | None:
    """The share of the intact net's margin above chance that a one-block lesion leaves, on
    average: 1 = no loss, 0 = down to chance (None for a net that did not get above chance).
    It puts nets of different intact accuracies on one scale: a net near chance cannot lose
    many points however fragile it is."""
    margin = dr["intact"] - chance
    if margin < 0.05:
        return None
    return float(np.mean([(acc - chance) / margin for acc in dr["accuracy"]]))


def lesion_verdict(res: dict[str, Any], pla: dict[str, Any], d: int, chance: float
                   ) -> list[str]:
    """The findings comparing the residual net's lesions with the plain net's: points lost,
    blocks that cost little or everything, and the verdict on the share of the above-chance
    margin each keeps (a difference under 10 points of that share is "no clear difference")."""
    def drops(dr: dict[str, Any]) -> tuple[float, float, int, int]:
        lost = [dr["intact"] - acc for acc in dr["accuracy"]]
        return (float(np.median(lost)), float(np.mean(lost)), sum(x <= 0.05 for x in lost),
                sum(acc <= chance + 0.05 for acc in dr["accuracy"]))
    (rmed, rmean, rsmall, rdead), (pmed, pmean, psmall, pdead) = drops(res), drops(pla)
    line = (f"Deleting one block costs the residual net a median of {100 * rmed:.1f} points "
            f"(mean {100 * rmean:.1f}; at most 5 points for {rsmall} of {len(res['units'])} "
            f"blocks; down to chance for {rdead}) and the plain net a median of "
            f"{100 * pmed:.1f} points (mean {100 * pmean:.1f}; at most 5 points for {psmall} of "
            f"{len(pla['units'])}; down to chance for {pdead})")
    rk, pk = kept_share(res, chance), kept_share(pla, chance)
    if rk is None or pk is None:
        line += "."
    else:
        line += (f". Of its margin above chance, the residual net keeps {rk:.0%} on average "
                 f"after a lesion, the plain net {pk:.0%}")
        if rk >= pk + 0.10:
            line += (": the residual net degrades more gracefully"
                     + (f", while the plain net collapses to chance for {pdead} of its blocks."
                        if pdead > rdead else "."))
        elif pk >= rk + 0.10:
            line += ": the effect did NOT show here (the plain net keeps more)."
        else:
            line += ": no clear difference here."
    out = [line]
    for label, dr, kept in ((f"resnet-{d}", res, rk), (f"plain-{d}", pla, pk)):
        if kept is None or dr["intact"] - chance < 0.2:
            out.append(f"Note: {label} itself trained to only {dr['intact']:.1%} (close to "
                       "chance), so its lesions say little; use more epochs or a shallower "
                       "depth.")
    return out


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    d = settings["depth"]
    chance = 1.0 / numbers.get("classes", 3)
    summary = numbers.get("summary") or summarise(dict(numbers))["summary"]
    lesion = summary.get("lesion", {})
    findings, figures = [], []
    rows: dict[str, dict[str, Any]] = {}
    if lesion:
        figures.append(("Lesion: validation accuracy with one block deleted (mean over seeds), "
                        "the intact net dotted, chance dashed.",
                        lesion_figure(lesion, chance, d)))
    for label, dr in lesion.items():
        findings.append(
            f"{label}: intact {dr['intact']:.1%}; with one of its {len(dr['units'])} deletable "
            f"blocks deleted {dr['mean']:.1%} on average (worst {dr['worst']:.1%}, best "
            f"{dr['best']:.1%}; chance {chance:.1%}). The {len(dr['kept'])} block(s) that "
            "change the shape (stride 2) are not deleted.")
        for u, acc in zip(dr["units"], dr["accuracy"]):
            row = rows.setdefault(u, {"deleted block": u})
            row[f"{label} val accuracy"] = acc
            row[f"{label} drop (points)"] = round(100 * (dr["intact"] - acc), 1)
    res, pla = lesion.get(f"resnet-{d}"), lesion.get(f"plain-{d}")
    if res and pla:
        findings += lesion_verdict(res, pla, d, chance)
    paths = summary.get("paths")
    if paths:
        n, ks, mean = paths["blocks"], paths["lengths"], paths["mean"]
        figures.append(("Gradient magnitude at the input along paths of each length: mean "
                        "over the sampled paths, bars from the smallest to the largest (log "
                        "scale).",
                        gradient_figure(ks, mean, paths["min"], paths["max"], n)))
        figures.append(("Which path lengths carry the gradient: share of all paths vs share "
                        "of the total gradient magnitude.", share_figure(ks, paths["shares"], n)))
        factor = paths.get("factor_per_branch")
        if factor is not None:
            findings.append(
                f"Gradient by path length in {paths['label']} ({n} residual blocks, "
                f"{settings['draws']} sampled paths per length): the input-gradient norm goes "
                f"from {mean[0]:.3g} (no residual branch: the shortcuts alone) to "
                f"{mean[-1]:.3g} (all {n} branches), a factor of about {factor:.2f} per extra "
                "branch on the path (log-linear fit)"
                + (": longer paths carry less gradient each." if factor < 1 else
                   ": here the longer paths do NOT carry less gradient each."))
        (glo, ghi), (plo, phi) = paths["gradient_90"], paths["paths_90"]
        gmean = paths["gradient_mean_length"]
        shift = n / 2 - gmean
        findings.append(
            f"Weighted by how many paths have each length, 90% of the gradient comes from "
            f"lengths {glo}..{ghi} (mean {gmean:.1f} blocks), while 90% of the paths are "
            f"{plo}..{phi} blocks long (mean {n / 2:g})"
            + (": the gradient comes from the shorter paths, as Veit et al. found."
               if shift >= 0.5 else
               f": only slightly shorter ({shift:.1f} blocks); with {n} blocks the shift is "
               "small (Veit et al.'s net had 54)." if shift > 0 else
               ": no shift towards shorter paths shows here."))
    missing = failed_line(numbers.get("arms", []))
    if missing:
        findings.append(missing)
    findings.append("Both nets trained with: " + recipe_line(settings) + ".")
    tables = [("The trained nets", [
        {"net": a["label"], "seeds finished": len(finished(a["runs"])),
         "val accuracy (kept model)": pm(stats([r["final_val_accuracy"]
                                                for r in finished(a["runs"])]))}
        for a in numbers.get("arms", [])])]
    if rows:
        tables.append(("Validation accuracy with one block deleted (mean over seeds)",
                       list(rows.values())))
    return StudyResult(numbers, findings, figures, tables,
                       [numbers["sweep_id"]] if numbers.get("sweep_id") else [])


def lesion_figure(lesion: dict[str, Any], chance: float, depth: int) -> go.Figure:
    """Per net the accuracy with each block deleted, its intact accuracy dotted, chance."""
    fig = go.Figure()
    for i, (label, dr) in enumerate(lesion.items()):
        color, names = PALETTE[i % len(PALETTE)], dr["units"]
        fig.add_trace(go.Scatter(
            x=names, y=dr["accuracy"], mode="lines+markers",
            name=f"{label}: one block deleted ({dr['seeds']} seed{'s' * (dr['seeds'] != 1)})",
            line=dict(color=color, width=2.5),
            hovertemplate=f"{label} without %{{x}}: %{{y:.1%}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[names[0], names[-1]], y=[dr["intact"]] * 2, mode="lines",
                                 name=f"{label} intact ({dr['intact']:.1%})",
                                 line=dict(color=color, width=1.5, dash="dot"),
                                 hoverinfo="skip"))
    first = next(iter(lesion.values()))["units"]
    fig.add_trace(go.Scatter(x=[first[0], first[-1]], y=[chance, chance], mode="lines",
                             name=f"chance ({chance:.0%})", hoverinfo="skip",
                             line=dict(color="#7f7f7f", width=1, dash="dash")))
    style(fig, f"Deleting one block at test time ({depth}-layer nets)",
          "deleted block (stage_block)", "validation accuracy (%)", height=440)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig


def gradient_figure(ks: Sequence[int], mean: Sequence[float], lo: Sequence[float],
                    hi: Sequence[float], n: int) -> go.Figure:
    """Input-gradient norm per path length on a log axis, with bars from the smallest to the
    largest sampled path."""
    fig = go.Figure(go.Scatter(
        x=list(ks), y=list(mean), mode="lines+markers", name="gradient norm",
        line=dict(color=PALETTE[0], width=2.5),
        error_y=dict(type="data", symmetric=False, array=[h - m for h, m in zip(hi, mean)],
                     arrayminus=[m - v for m, v in zip(mean, lo)], color=PALETTE[0]),
        hovertemplate="paths through %{x} branches: %{y:.3g}<extra></extra>"))
    style(fig, f"Gradient magnitude by path length ({n} residual blocks)",
          "path length (residual branches on the path)", "input-gradient norm (per image)",
          height=420, legend=False)
    log_axis(fig, "y", [v for v in list(mean) + list(lo) + list(hi) if v > 0],
             si_labels=False)
    if n <= 30:
        fig.update_xaxes(dtick=1)
    return fig


def share_figure(ks: Sequence[int], shares: dict[str, list[float]], n: int) -> go.Figure:
    """Share of paths vs share of the total gradient per path length."""
    fig = go.Figure()
    for i, (key, label) in enumerate((("paths", f"share of the 2^{n} paths"),
                                      ("gradient", "share of the total gradient"))):
        fig.add_trace(go.Scatter(x=list(ks), y=shares[key], mode="lines+markers", name=label,
                                 line=dict(color=PALETTE[i + 1], width=2.5),
                                 hovertemplate=f"{label}<br>length %{{x}}: %{{y:.1%}}"
                                               "<extra></extra>"))
    style(fig, "Which path lengths carry the gradient",
          "path length (residual branches on the path)", "share (%)", height=420)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    if n <= 30:
        fig.update_xaxes(dtick=1)
    return fig


@study(NAME, 7, "Paths through a trained residual network: lesions and gradients",
       "A residual network behaves like an ensemble of many paths of different lengths (Veit "
       "et al. 2016): deleting one block at test time barely hurts it, while deleting a layer "
       "of a plain net breaks it; and the gradient reaching the input comes mostly from the "
       "short paths, so very deep ResNets sidestep vanishing gradients.",
       "The lesion chart: the residual line stays near its intact accuracy for every deleted "
       "block, the plain line falls towards chance. The gradient chart: the magnitude falls "
       "with the path length, and the gradient's share peaks at shorter lengths than the "
       "paths' share.",
       settings=SETTINGS, kind="trains", present=present)
def paths_lesion(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from playground.train.sweeps import Arm
    t0 = time.perf_counter()
    shape, classes = data_shape(settings)
    d = settings["depth"]
    arms = [Arm(label, spec=thin_cifar_spec(d, residual, settings["width"], shape, classes,
                                            label=label).to_dict())
            for label, residual in ((f"resnet-{d}", True), (f"plain-{d}", False))]
    parent = ctx.sweep(f"study 7: resnet-{d} and plain-{d} for lesions and path gradients",
                       arms, base_config(settings), list(range(settings["seeds"])))
    numbers = sweep_numbers(ctx.run_store(), parent)
    numbers["classes"] = classes
    analyses = []
    for arm in numbers["arms"]:
        for run in finished(arm["runs"]):
            ctx.progress(f"lesions and path gradients: {arm['label']} seed {run['seed']}")
            analyses.append(analyse_run(ctx.run_store(), run, arm["label"], settings))
    numbers["analyses"] = analyses
    numbers["wall_seconds"] = time.perf_counter() - t0
    return summarise(numbers)


__all__ = ["accuracy", "analyse_run", "central_range", "gated_forward", "gradient_shares",
           "input_gradient", "kept_share", "lesion_curve", "lesion_figure", "lesion_verdict",
           "lesion_weights", "lesioned", "load_trained", "path_gradient", "path_gradient_norms", "present", "residual_adds",
           "summarise", "units"]
