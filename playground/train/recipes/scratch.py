"""Training from scratch: the architecture (a spec, a zoo entry or a Keras Applications model)
rebuilt for the data set's input and classes, with input scaling and augmentation as layers in
front, trained with the short-run recipe (:mod:`playground.train.config`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.errors import SpecError
from playground.store import RunStore
from playground.train.config import TrainConfig, steps_per_epoch
from playground.train.fitting import (RunFailed, adapt_batchnorm, augmentation_layers,
                                      compile_model, device_name, fit_arrays, load_dataset)
from playground.train.recipes.base import (RECIPES, Recipe, RunContext, RunResult,
                                           options_from_dict)
from playground.train.results import finish_artifacts, log_run_facts


@dataclass(frozen=True)
class ScratchOptions:
    """Training from scratch takes every option from :class:`TrainConfig` itself."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScratchOptions":
        return options_from_dict(cls, data, "training options")


@dataclass
class Prepared:
    """Everything a run needs before ``fit``."""

    dataset: Any
    spec: Any          # the ArchSpec adapted to the data (None for Keras Applications entries)
    core: Any          # the architecture as built (its cost figures are the run's)
    model: Any         # core wrapped with input scaling, augmentation and a float32 output
    cost: dict[str, Any]


def adapted_spec(config: TrainConfig, input_shape: tuple[int, ...], classes: int) -> Any:
    """The run's ArchSpec rebuilt for the data set's input shape and class count (or None
    for Keras Applications entries, which are built directly)."""
    from playground.spec import ArchSpec
    from playground.targets import resolve
    if config.spec is not None:
        spec = ArchSpec.from_dict(config.spec)
    else:
        target = resolve(config.target)
        if target.spec is None:
            return None
        spec = target.spec
    return spec.with_input(tuple(input_shape), classes)


def build_core(config: TrainConfig, dataset: Any) -> tuple[Any, Any]:
    from playground.build import build
    spec = adapted_spec(config, dataset.input_shape, dataset.num_classes)
    if spec is not None:
        return spec, build(spec)
    from playground.targets import resolve
    target = resolve(config.target)
    if target.entry is None:
        raise SpecError(f"target '{config.target}'", "a saved .keras model cannot be trained "
                        "from scratch here; use a spec or a zoo name")
    return None, target.entry.build(dataset.input_shape, dataset.num_classes)


def wrap(core: Any, dataset: Any, config: TrainConfig) -> Any:
    """Input scaling (uint8 -> [0, 1], or feature standardisation for tabular rows) and
    augmentation as Keras layers in front of the architecture; a float32 output under mixed
    precision. Only the first output of a multi-output model (GoogLeNet's auxiliary heads) is
    trained."""
    import keras
    from keras import layers
    x_train = dataset.x_train
    inp = keras.Input(dataset.input_shape, dtype=str(x_train.dtype), name="input")
    if x_train.dtype == np.uint8:  # per-channel standardisation, statistics of the train split
        axes = tuple(range(x_train.ndim - 1))
        sample = x_train[: 4096].astype("float32")
        mean, std = sample.mean(axis=axes), np.maximum(sample.std(axis=axes), 1.0)
        x = layers.Normalization(mean=mean.tolist(), variance=(std ** 2).tolist(), name="scale")(inp)
    else:
        mean = x_train.mean(axis=0).astype("float32")  # per feature (and position)
        var = np.maximum(x_train.var(axis=0), 1e-12).astype("float32")
        x = layers.Normalization(axis=tuple(range(1, x_train.ndim)), mean=mean, variance=var,
                                 name="standardize")(inp)
    if len(dataset.input_shape) == 3:
        for layer in augmentation_layers(config):
            x = layer(x)
    out = core(x)
    if isinstance(out, (list, tuple)):
        out = out[0]
    if config.precision != "float32":
        out = layers.Activation("linear", dtype="float32", name="output_float32")(out)
    return keras.Model(inp, out, name=f"train_{core.name}")


def check_precision(config: TrainConfig) -> None:
    """SpecError for bfloat16 on a CPU whose oneDNN is capped at AVX2 (playground's default,
    see ``playground._env``): TensorFlow has no AVX2 bfloat16 convolution, and the AVX-512
    kernels that have one are the ones that crash."""
    import os
    import keras
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if (config.precision == "mixed_bfloat16" and keras.backend.backend() == "tensorflow"
            and isa.startswith("AVX2") and device_name(config) == "cpu:0"):
        raise SpecError("training option 'precision'", "mixed_bfloat16 needs a GPU here: "
                        "TensorFlow's bfloat16 convolutions on a CPU need oneDNN's AVX-512 "
                        "kernels, which playground turns off because they crash on some "
                        "strided 1x1 convolutions (ONEDNN_MAX_CPU_ISA=AVX2); use float32 or "
                        "mixed_float16, or start with ONEDNN_MAX_CPU_ISA=ALL at your own risk")


def prepare(config: TrainConfig) -> Prepared:
    """Load the data, build and wrap the model, and take its cost figures."""
    import keras
    from playground.cost import analyze
    keras.utils.set_random_seed(config.seed)
    check_precision(config)
    dataset = load_dataset(config)
    if config.precision != "float32":
        keras.config.set_dtype_policy(config.precision)
    try:
        spec, core = build_core(config, dataset)
        model = wrap(core, dataset, config)
    finally:
        keras.config.set_dtype_policy("float32")
    report = analyze(core)
    cost = {"params": report.params, "macs": report.macs, "flops": report.flops,
            "trainable_params": report.trainable_params}
    return Prepared(dataset, spec, core, model, cost)


def fit(prep: Prepared, config: TrainConfig, store: RunStore | None = None,
        run_id: str | None = None, cancel: Any = None, extra_callbacks: list[Any] | None = None,
        t_job: float | None = None, on_progress: Any = None) -> Any:
    """Adapt batch norm to the run's length, compile and fit the prepared model; returns the
    reporting callback (its history)."""
    ds = prep.dataset
    steps = steps_per_epoch(len(ds.x_train), config.batch_size)
    adapt_batchnorm(prep.model, steps)
    compile_model(prep.model, config, steps * config.epochs)
    data = (ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    return fit_arrays(prep.model, data, config, store, run_id, cancel, config.epochs, t_job,
                      on_progress=on_progress, extra_callbacks=extra_callbacks)


def check(config: TrainConfig) -> ScratchOptions:
    """The architecture must resolve (zoo name or file) before the run is recorded."""
    if config.spec is None:
        from playground.targets import resolve
        resolve(config.target)
    return ScratchOptions.from_dict(config.options)


def run(ctx: RunContext) -> RunResult:
    """Prepare, train, and store the kept model's results."""
    config, store, run_id = ctx.config, ctx.store, ctx.run_id
    prep = prepare(config)
    ds = prep.dataset
    log_run_facts(store, run_id, config, ds, prep.cost)
    if prep.spec is not None:
        store.log_text(run_id, prep.spec.to_json(), "spec.json")
    ctx.progress("train", step=0, steps=steps_per_epoch(len(ds.x_train), config.batch_size))
    reporter = fit(prep, config, store, run_id, ctx.cancel, t_job=ctx.t_job,
                   on_progress=ctx.on_progress)
    if reporter.failure:
        raise RunFailed(reporter.failure)
    summary = finish_artifacts(prep.model, ds, config, store, run_id, reporter.history,
                               prep.cost)
    summary["stop_reason"] = reporter.stop_reason or "epochs done"
    return RunResult(summary, reporter.stop_reason, len(reporter.history))


def default_name(config: TrainConfig, store: RunStore) -> str:
    return f"{config.architecture} on {config.dataset}"


RECIPES.add("scratch", Recipe("scratch", "train an architecture from random initialisation",
                              ScratchOptions, check, run, default_name))
