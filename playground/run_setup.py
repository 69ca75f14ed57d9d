"""From a page's form values to a validated :class:`TrainConfig`: the Train page's job (the
learning rate typed as text, a file data set that needs its path, the name a Builder model
trains under) and the Transfer page's fine-tune (its run name, the weights of a run backbone,
the image set at the backbone's side). Each raises a :class:`SpecError` naming the first wrong option, before anything is launched."""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Mapping

from playground.cost import format_count
from playground.errors import SpecError
from playground.spec import ArchSpec
from playground.store import RunRecord
from playground.train.config import TrainConfig
from playground.transfer.backbones import RUN_PREFIX

FILE_DATASETS = ("folder", "csv")  # data sets read from a file the user gives


def parse_float(text: str, option: str) -> float:
    """A training option typed as text (``"3e-4"``) as a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"training option '{option}'", f"must be a number like 0.001, got "
                        f"{text!r}") from None
    if not math.isfinite(value):
        raise SpecError(f"training option '{option}'", f"must be a finite number, got {text!r}")
    return value


def train_config(values: Mapping[str, Any]) -> TrainConfig:
    """The Train page's job: TrainConfig keyword arguments, with ``learning_rate`` as the text
    of its field (blank: the optimiser's default)."""
    kwargs = dict(values)
    lr = str(kwargs.pop("learning_rate", "") or "").strip()
    kwargs["learning_rate"] = parse_float(lr, "learning_rate") if lr else None
    if kwargs.get("dataset") in FILE_DATASETS and not kwargs.get("dataset_options", {}).get("path"):
        raise SpecError(f"data set '{kwargs['dataset']}'", "upload a file or give a path")
    return TrainConfig(**kwargs).validate()


def builder_model_name(spec: ArchSpec) -> str:
    """The architecture name a Builder model trains under: its own name, or ``"<zoo name>
    (edited)"`` when it still carries a zoo entry's name but is no longer that architecture
    (the input shape and class count aside: training fits those to the data), so the
    Leaderboard never shows an edited model as the zoo's."""
    from playground.editor import EditSession
    from playground.zoo import ZOO
    if spec.name not in ZOO or not ZOO.get(spec.name).is_spec:
        return spec.name

    def same_data(s: ArchSpec) -> ArchSpec:  # block names as the Builder gives them
        return EditSession.start(s).spec.with_input((32, 32, 3), 2)

    edited = same_data(spec) != same_data(ZOO.get(spec.name).spec())
    return f"{spec.name} (edited)" if edited else spec.name


TRAIN_STEP_FORWARDS = 3.0  # a training step costs about three forward passes (backward: two)
# MACs per second of training on this project's 2-core CPU (TensorFlow, batch 32, 32x32 shapes,
# one 2-epoch run each while the machine was busy): 3 x MACs/image x images/s was 12G for
# quick-cnn, 24G for resnet20-cifar, 8.7G for resnet18 and 5.9G for mobilenetv2-cifar, so 10G
# is right within about 2.5x. Runs finished here replace it with what they measured.
DEFAULT_TRAIN_RATE = 10e9
RATE_RUNS = 10             # the latest finished runs a measured rate is the median of


def training_rate(runs: Iterable[RunRecord]) -> tuple[float, int]:
    """(MACs per second that training reaches here, how many runs say so): the median of
    3 x MACs/image x images/s over the latest finished from-scratch runs, else
    (:data:`DEFAULT_TRAIN_RATE`, 0)."""
    rates = []
    for r in runs:
        macs, ips = _num(r.params.get("cost.macs")), r.metrics.get("images_per_s")
        if r.status == "FINISHED" and r.recipe == "scratch" and macs and ips and ips > 0:
            rates.append(TRAIN_STEP_FORWARDS * macs * ips)
        if len(rates) == RATE_RUNS:
            break
    return (statistics.median(rates), len(rates)) if rates else (DEFAULT_TRAIN_RATE, 0)


def epoch_seconds(macs: float, images: int, val_split: float, rate: float) -> float:
    """Seconds one epoch should take: a training step per training image and a forward pass
    per validation image, ``macs`` each, at ``rate`` MACs per second."""
    val = max(1, round(images * val_split)) if images > 1 else 0
    return (TRAIN_STEP_FORWARDS * macs * (images - val) + macs * val) / rate


def rough_duration(seconds: float) -> str:
    """A duration as an estimate reads: ``"under a second"``, ``"about 40 s"``, ``"about 3
    min"``, ``"about 2 h"``, ``"about 3 days"``."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"about {seconds / 3600:.0f} h"
    return f"about {seconds / 86400:.0f} days"


def time_estimate(macs: float, images: int | None, val_split: float, epochs: int,
                  runs: Iterable[RunRecord] = ()) -> str:
    """What a training job should take, from its cost (never a promise of seconds for a large
    model): per epoch and for ``epochs`` when the data set's size is known, else per image."""
    rate, n = training_rate(runs)
    source = (f"the rate your last {n} run{'s' if n > 1 else ''} reached here" if n
              else "a typical rate for a 2-core CPU")
    at = f"{format_count(macs)} MACs per image at {format_count(rate)} MACs/s, {source}"
    if not images:
        ms = TRAIN_STEP_FORWARDS * macs / rate * 1000
        per = f"{ms:.1f} ms" if ms < 10 else f"{ms:,.0f} ms" if ms < 1000 else \
            rough_duration(ms / 1000)
        return f"Estimated time: {per} per training image ({at})."
    one = epoch_seconds(macs, images, val_split, rate)
    total = f", {rough_duration(one * epochs)} for {epochs} epochs" if epochs > 1 else ""
    return f"Estimated time: {rough_duration(one)} per epoch{total} ({images:,} images; {at})."


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def transfer_run_name(backbone: str, set_name: str, source: RunRecord | None = None) -> str:
    """The default name of a transfer run: ``"<backbone> on <image set>"``; a run backbone is
    named by its run (``"<run name> (transfer) on <image set>"``)."""
    label = backbone
    if backbone.startswith(RUN_PREFIX):
        label = f"{source.name if source else 'run ' + backbone[len(RUN_PREFIX):][:8]} (transfer)"
    return f"{label} on {set_name}"


def transfer_run_config(values: Mapping[str, Any], set_id: str, val_split: float, side: int,
                        source: RunRecord | None = None) -> TrainConfig:
    """The Transfer page's run: ``transfer_config`` keyword arguments (``backbone``,
    ``weights``, ``name`` (blank: the default name) ...) on saved image set ``set_id``, resized to
    ``side`` once; a run backbone (``source``) brings its own trained weights."""
    from playground.data.resize import set_for_side
    from playground.data.saved import saved_info
    from playground.train.recipes.transfer import check, transfer_config
    kwargs = dict(values)
    backbone = kwargs["backbone"]
    name = kwargs.pop("name", "") or transfer_run_name(backbone, saved_info(set_id)["name"], source)
    if backbone.startswith(RUN_PREFIX):
        kwargs["weights"] = "none"
    config = transfer_config(upload_id=set_for_side(set_id, side), val_split=val_split,
                             name=name, **kwargs)
    config.validate()
    check(config)
    return config


def without_imagenet(config: TrainConfig) -> TrainConfig:
    """A failed ImageNet transfer run's config again, from random initialisation."""
    return config.with_(options={**config.options, "weights": "none"},
                        name=(config.name or "transfer") + " (random init)")


__all__ = ["DEFAULT_TRAIN_RATE", "FILE_DATASETS", "builder_model_name", "epoch_seconds",
           "parse_float", "rough_duration", "time_estimate", "training_rate", "train_config", "transfer_run_config",
           "transfer_run_name", "without_imagenet"]
