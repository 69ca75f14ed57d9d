"""Shared pieces of the studies that train (6, 7b, 9, 10b): thin CIFAR-style nets, the sweep
configuration they share, a sweep's children read back as JSON-able per-seed numbers, and
seed statistics with a plain verdict ("higher", "lower", "no clear difference").

Everything here is pure or reads the run store; nothing trains by itself (the studies train
through :meth:`playground.studies.base.Context.sweep`).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from playground.spec import ArchSpec

PLAIN_BLOCK = "conv"          # the plain CIFAR net's blocks: two of these per residual block
RESIDUAL_TYPES = ("resnet_basic", "resnet_bottleneck", "residual", "resnext")
# What a run's history gives per epoch (the reporter's keys).
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "epoch_seconds",
                "train_seconds")
BATCH = 32  # the recipe's default batch: every training study uses it


# --- architectures ------------------------------------------------------------------------
def thin_cifar_spec(depth: int, residual: bool, width: int, input_shape: Sequence[int],
                    classes: int, final_survival: float = 1.0, label: str = "") -> ArchSpec:
    """A 6n+2-layer CIFAR net (He et al. 2015, 4.2) with ``width``/2w/4w maps, built by the
    zoo's :func:`~playground.zoo.resnets.cifar_resnet`, for the given input and classes."""
    from playground.zoo.resnets import cifar_resnet
    spec = cifar_resnet(depth, residual, final_survival, widths=(width, 2 * width, 4 * width))
    spec = spec.with_input(tuple(input_shape), classes)
    return spec.replace(name=label) if label else spec


def weighted_depth(spec: ArchSpec) -> int:
    """The depth the papers count: weighted layers on the main path (every 3x3 conv of the
    plain blocks or residual branches, the first conv) plus the classifier; projection
    shortcuts are not counted (He et al. 2015 count 6n+2 for the option-B ResNets)."""
    depth = 0
    for b in spec.blocks:
        if b.type == PLAIN_BLOCK:
            depth += 1
        elif b.type == "resnet_basic":
            depth += 2
        elif b.type == "resnet_bottleneck":
            depth += 3
        else:
            raise ValueError(f"weighted_depth: block type {b.type!r} is not counted here")
    return depth + (1 if spec.head is not None else 0)


def survival_probs(spec: ArchSpec) -> list[float]:
    """Each residual block's survival probability (1.0 when stochastic depth is off), in order."""
    return [float(b.params.get("survival_prob", 1.0)) for b in spec.blocks
            if b.type in RESIDUAL_TYPES]


def data_shape(settings: dict[str, Any]) -> tuple[tuple[int, ...], int]:
    """(input shape, classes) of the study's data set at its size, known without loading it."""
    from playground.data import DATASETS as REGISTRY
    shape, classes = REGISTRY.get(settings["dataset"]).shape(
        {"image_size": settings["image_size"], "count": settings["count"]})
    return tuple(shape), int(classes)


def base_config(settings: dict[str, Any]) -> Any:
    """The sweep's shared data and budget (the arms give the architectures, the seeds the
    initialisation): the project's short-run recipe (one-cycle schedule, the optimizer's
    default learning rate and weight decay) with the study's optimizer, AdamW by default."""
    from playground.train.config import TrainConfig
    return TrainConfig(dataset=settings["dataset"], epochs=settings["epochs"],
                       batch_size=BATCH, optimizer=settings.get("optimizer", "adamw"),
                       dataset_options={"image_size": settings["image_size"],
                                        "count": settings["count"]})


def optimizer_setting() -> Any:
    """The CIFAR-net studies' optimizer: SGD with momentum 0.9 as He et al. trained them
    (and, on this CPU, ~40% quicker to compile than AdamW for a 56-layer net), or AdamW."""
    from playground.studies.base import Setting
    return Setting("optimizer", "Optimizer", "sgd", choices=("sgd", "adamw"),
                   help="SGD with momentum 0.9 (the paper's), or AdamW (the playground's "
                        "default recipe); one-cycle schedule either way")


def recipe_line(settings: dict[str, Any]) -> str:
    """The shared recipe in words, for the findings."""
    from playground.train.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY
    opt = settings.get("optimizer", "adamw")
    name = "SGD (momentum 0.9)" if opt == "sgd" else "AdamW"
    return (f"{name}, one-cycle schedule peaking at learning rate {DEFAULT_LR[opt]:g}, weight "
            f"decay {DEFAULT_WEIGHT_DECAY[opt]:g}, batch {BATCH}, {settings['epochs']} epochs, "
            f"{settings['count']:,} {settings['image_size']}x{settings['image_size']} "
            f"'{settings['dataset']}' images (80% to train)")


# --- statistics ---------------------------------------------------------------------------
def stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample std (None with fewer than two), min, max and count of the finite values."""
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    mean = sum(xs) / len(xs)
    std = (math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1
           else None)
    return {"mean": mean, "std": std, "min": min(xs), "max": max(xs), "n": len(xs)}


def compare(a: Sequence[float], b: Sequence[float], z: float = 2.0) -> dict[str, Any]:
    """``a`` against ``b`` over seeds: the difference of means, its standard error (Welch:
    sqrt(sa^2/na + sb^2/nb)) and a verdict: "higher"/"lower" when the difference is at least
    ``z`` standard errors, "no clear difference" when it is not, "too few seeds" without a
    spread on either side."""
    sa, sb = stats(a), stats(b)
    if sa["mean"] is None or sb["mean"] is None:
        return {"diff": None, "se": None, "verdict": "no runs"}
    diff = sa["mean"] - sb["mean"]
    if sa["std"] is None or sb["std"] is None:
        return {"diff": diff, "se": None, "verdict": "too few seeds"}
    se = math.sqrt(sa["std"] ** 2 / sa["n"] + sb["std"] ** 2 / sb["n"])
    if se == 0.0:
        verdict = "no clear difference" if diff == 0 else ("higher" if diff > 0 else "lower")
    elif abs(diff) >= z * se:
        verdict = "higher" if diff > 0 else "lower"
    else:
        verdict = "no clear difference"
    return {"diff": diff, "se": se, "verdict": verdict}


def pm(s: dict[str, Any], fmt: str = ".1%") -> str:
    """``"12.3% ± 1.2%"`` from :func:`stats` (``"12.3% (1 seed)"`` without a spread)."""
    if s.get("mean") is None:
        return "n/a"
    if s.get("std") is None:
        return f"{s['mean']:{fmt}} (1 seed)"
    return f"{s['mean']:{fmt}} ± {s['std']:{fmt}}"


def sweep_result(numbers: dict[str, Any], findings: list[str], figures: list[Any],
                 rows: list[dict[str, Any]], caption: str) -> Any:
    """A training study's result: its findings, figures, one table of per-net rows (mean ±
    std over seeds) and the sweep it ran (its children are on the Leaderboard)."""
    from playground.studies.base import StudyResult
    return StudyResult(numbers, findings, figures, [(caption, rows)],
                       [numbers["sweep_id"]] if numbers.get("sweep_id") else [])


# --- a sweep read back ----------------------------------------------------------------------
def sweep_numbers(store: Any, parent: str) -> dict[str, Any]:
    """A finished sweep's children as JSON-able numbers: per architecture (in the sweep's
    order) each seed's run id, status, per-epoch history (training error = 1 - the epoch's
    running training accuracy, loss, validation accuracy, epoch seconds) and the kept model's
    validation accuracy, params and MACs."""
    from playground.train import sweeps
    st = sweeps.status(store, parent)
    arms: dict[str, list[dict[str, Any]]] = {label: [] for label in st.labels}
    for child in st.children:
        label = child.tags.get(sweeps.ARM_TAG, child.name)
        hist = store.history(child.run_id, HISTORY_KEYS)
        series = {k: [v for _, v in sorted(hist.get(k, []))] for k in HISTORY_KEYS}
        arms.setdefault(label, []).append({
            "seed": int(float(child.tags.get(sweeps.SEED_TAG) or 0)),
            "run_id": child.run_id, "status": child.status, "error": child.error,
            "train_error": [1.0 - a for a in series["accuracy"]],
            "train_loss": series["loss"], "val_accuracy": series["val_accuracy"],
            "epoch_seconds": series["epoch_seconds"],
            "train_seconds": series["train_seconds"][-1] if series["train_seconds"] else None,
            "final_val_accuracy": child.val_accuracy if child.status == "FINISHED" else None,
            "params": _int(child.params.get("cost.params")),
            "macs": _int(child.params.get("cost.macs"))})
    for runs in arms.values():
        runs.sort(key=lambda r: r["seed"])
    return {"sweep_id": parent, "status": st.status, "counts": st.counts,
            "arms": [{"label": label, "runs": runs} for label, runs in arms.items()]}


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def finished(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs that finished (a failed or cancelled child does not count in a mean)."""
    return [r for r in runs if r.get("status") == "FINISHED"]


def final(runs: Sequence[dict[str, Any]], key: str) -> list[float]:
    """The last epoch's ``key`` of every finished run that logged one."""
    return [r[key][-1] for r in finished(runs) if r.get(key)]


def steady_epoch_seconds(run: dict[str, Any]) -> float | None:
    """Seconds per epoch once compiled: the median over epochs 2..E (the first epoch also
    traces the training step); the first epoch's when it is the only one."""
    secs = list(run.get("epoch_seconds") or [])
    rest = sorted(secs[1:]) if len(secs) > 1 else secs
    if not rest:
        return None
    mid = len(rest) // 2
    return rest[mid] if len(rest) % 2 else (rest[mid - 1] + rest[mid]) / 2


def bands(arms: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """Mean and spread per epoch of a per-epoch series ``key`` over each arm's finished seeds
    (:func:`playground.train.sweeps.aggregate`'s :class:`Band` per label)."""
    from playground.train.sweeps import aggregate
    return aggregate({a["label"]: [list(enumerate(r[key], 1)) for r in finished(a["runs"])]
                      for a in arms})


def failed_line(arms: Sequence[dict[str, Any]]) -> str | None:
    """A finding naming the children that did not finish (None when all did)."""
    bad = [f"{a['label']} seed {r['seed']} ({r['status'].lower()}"
           + (f": {r['error']}" if r.get("error") else "") + ")"
           for a in arms for r in a["runs"] if r["status"] != "FINISHED"]
    if not bad:
        return None
    return ("Not every run finished, so the means below leave these out: " + "; ".join(bad)
            + ".")


__all__ = ["BATCH", "bands", "base_config", "compare", "data_shape", "failed_line", "final",
           "finished", "optimizer_setting", "pm", "recipe_line", "stats", "steady_epoch_seconds",
           "survival_probs", "sweep_numbers", "thin_cifar_spec", "weighted_depth"]
