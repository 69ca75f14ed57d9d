"""From a page's form values to a validated :class:`TrainConfig`: the Train page's job (the
learning rate typed as text, a file data set that needs its path, the name a Builder model
trains under) and the Transfer page's fine-tune (its run name, the weights of a run backbone,
the image set at the backbone's side). Each raises a :class:`SpecError` naming the first wrong option, before anything is launched."""
from __future__ import annotations

import math
from typing import Any, Mapping

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


__all__ = ["FILE_DATASETS", "builder_model_name", "parse_float", "train_config", "transfer_run_config",
           "transfer_run_name", "without_imagenet"]
