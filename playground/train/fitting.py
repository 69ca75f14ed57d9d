"""The fitting toolkit every recipe shares: the run's data, augmentation layers, optimiser and
schedule, batch-norm momentum for short runs, compiling, and ``model.fit`` with the reporter.

Backend-agnostic: only ``keras`` and ``keras.ops``; the data are NumPy arrays (uint8 images are
scaled inside the model, so the same arrays feed every backend).
"""
from __future__ import annotations

import threading
from typing import Any, Callable

import numpy as np

from playground.errors import SpecError
from playground.store import RunStore
from playground.train.config import TrainConfig


class RunFailed(Exception):
    """Training stopped on a condition that makes the run FAILED (NaN loss, ...)."""


def load_dataset(config: TrainConfig) -> Any:
    from playground.data import DATASETS, load
    options = dict(config.dataset_options)
    info = DATASETS.get(config.dataset) if config.dataset in DATASETS else None
    for key, value in (("val_split", config.val_split), ("seed", config.seed)):
        if info is not None and key in info.options:
            options.setdefault(key, value)
    return load(config.dataset, **options)


def augmentation_layers(config: TrainConfig) -> list[Any]:
    """The run's image augmentation as Keras preprocessing layers (active in training only)."""
    from keras import layers
    out = []
    if config.flip:
        out.append(layers.RandomFlip("horizontal", seed=config.seed, name="aug_flip"))
    if config.translate > 0:
        out.append(layers.RandomTranslation(config.translate, config.translate, seed=config.seed,
                                            name="aug_translate"))
    if config.rotate > 0:
        out.append(layers.RandomRotation(config.rotate, seed=config.seed, name="aug_rotate"))
    return out


def batchnorm_layers(model: Any) -> list[Any]:
    """Every BatchNormalization layer in ``model``, nested models and blocks included."""
    from keras import layers
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, layers.BatchNormalization)]


def short_run_bn_momentum(steps: int) -> float:
    """A batch-norm momentum whose moving statistics follow the weights within half an epoch
    (Keras' 0.99 needs ~500 steps; a 15-step epoch would evaluate with stale statistics)."""
    return min(0.99, max(0.5, 1.0 - 2.0 / max(steps, 1)))


def adapt_batchnorm(model: Any, steps: int) -> int:
    """Lower every batch-norm momentum above :func:`short_run_bn_momentum` to it, so that
    evaluation-mode statistics are right after a short run; returns how many layers changed."""
    target = short_run_bn_momentum(steps)
    changed = 0
    for layer in batchnorm_layers(model):
        if layer.momentum > target:
            layer.momentum = target
            changed += 1
    return changed


PRECISE_BN_CHUNK_ELEMENTS = 2**20  # input values per forward pass of the BN re-estimate


def reestimate_batchnorm(model: Any, x: np.ndarray, batch_size: int = 32,
                         batches: int = 20) -> int:
    """Recompute the moving statistics of every trainable batch norm as the plain average over
    the first ``batches * batch_size`` training images with the current weights ("precise
    BN"). Moving averages lag behind weights that moved fast, so a short run evaluated with
    them can sit at chance while its batch statistics classify well. The images go through in
    chunks of ~1M input values, at least one batch (all 640 16x16 RGB images at once; one
    batch at a time at 224x224): each forward pass here is eager, and for a 56-layer CIFAR net
    20 batch-size passes took 2.9 s, one pass of the 640 images 0.5 s. Returns how many layers
    were refreshed."""
    bns = [layer for layer in batchnorm_layers(model) if layer.trainable]
    if not bns or len(x) == 0:
        return 0
    total = min(len(x), batches * batch_size)
    per_image = max(1, int(np.prod(x.shape[1:])))
    chunk = max(batch_size, PRECISE_BN_CHUNK_ELEMENTS // per_image)
    chunks = -(-total // chunk)
    chunk = -(-total // chunks)  # equal chunks, so each weighs the same in the average
    saved = [layer.momentum for layer in bns]
    try:
        for k, start in enumerate(range(0, total, chunk)):
            for layer in bns:  # momentum 1 - 1/(k+1): a running mean of the batch statistics
                layer.momentum = 1.0 - 1.0 / (k + 1)
            model(x[start:min(start + chunk, total)], training=True)
    finally:
        for layer, m in zip(bns, saved):
            layer.momentum = m
    return len(bns)


def batchnorm_refresh(x: np.ndarray, batch_size: int) -> Any:
    """A callback that re-estimates batch-norm statistics (:func:`reestimate_batchnorm`) before
    each evaluation, so every validation figure, and the kept model, use statistics that match
    the weights."""
    import keras

    class BatchNormRefresh(keras.callbacks.Callback):
        def on_test_begin(self, logs: Any = None) -> None:
            reestimate_batchnorm(self.model, x, batch_size)

        def on_train_end(self, logs: Any = None) -> None:
            reestimate_batchnorm(self.model, x, batch_size)

    return BatchNormRefresh()


def make_optimizer(config: TrainConfig, total_steps: int) -> Any:
    import keras
    lr: Any = config.lr
    total_steps = max(total_steps, 1)
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(config.lr, total_steps, alpha=0.0)
    elif config.schedule == "one_cycle":  # linear warm-up over 30%, cosine down to lr/1e4
        warm = max(1, int(0.3 * total_steps))
        lr = keras.optimizers.schedules.CosineDecay(
            config.lr / 25, max(1, total_steps - warm), alpha=1e-4, warmup_target=config.lr,
            warmup_steps=warm)
    wd = config.wd or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=config.wd)
    return keras.optimizers.Adam(lr, weight_decay=wd)


def compile_model(model: Any, config: TrainConfig, total_steps: int) -> None:
    import keras
    if config.label_smoothing > 0:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    jit = {"auto": "auto", "on": True, "off": False}[config.xla]
    model.compile(optimizer=make_optimizer(config, total_steps), loss=loss,
                  metrics=["accuracy"], jit_compile=jit,
                  steps_per_execution=config.steps_per_execution)


def targets(y: np.ndarray, classes: int, config: TrainConfig) -> np.ndarray:
    """Integer labels, or one-hot rows when label smoothing needs them."""
    if config.label_smoothing > 0:
        return np.eye(classes, dtype="float32")[y]
    return y


def device_name(config: TrainConfig) -> str:
    """The device Keras trains on ('gpu:0' when one is visible and allowed, else 'cpu:0')."""
    import keras
    try:
        devices = [d.lower() for d in keras.distribution.list_devices()]
    except Exception:  # noqa: BLE001  backends without a distribution library
        devices = ["cpu:0"]
    gpus = [d for d in devices if d.startswith(("gpu", "cuda"))]
    if config.device == "gpu" and not gpus:
        raise SpecError("training option 'device'", "gpu was asked for but no GPU is visible "
                        "to " + keras.backend.backend())
    return gpus[0] if gpus and config.device != "cpu" else "cpu:0"


def fit_arrays(model: Any, data: tuple[Any, Any, Any, Any], config: TrainConfig,
               store: RunStore | None, run_id: str | None, cancel: threading.Event | None,
               epochs: int, t_job: float | None = None,
               on_progress: Callable[[dict[str, Any]], None] | None = None,
               extra_callbacks: list[Any] | None = None, **reporter_options: Any) -> Any:
    """``model.fit`` (compiled by :func:`compile_model`) on (x, integer labels, x_val, labels)
    with the store reporter; returns the reporter (``history`` rows, ``failure``,
    ``stop_reason``)."""
    from playground.train.reporter import StoreReporter
    x, y, xv, yv = data
    classes = int(model.output.shape[-1])  # labels encoded to match compile_model's loss
    y, yv = targets(y, classes, config), targets(yv, classes, config)
    reporter = StoreReporter(store, run_id, config, len(x), cancel or threading.Event(), t_job,
                             on_progress=on_progress, **reporter_options)
    refresh = [batchnorm_refresh(x, config.batch_size)] if batchnorm_layers(model) else []
    model.fit(x, y, validation_data=(xv, yv), batch_size=config.batch_size, epochs=epochs,
              shuffle=True, callbacks=[*refresh, reporter, *(extra_callbacks or [])], verbose=0)
    return reporter
