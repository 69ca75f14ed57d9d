"""Transfer learning, the Keras guide's recipe, as a run of the same worker and run store:

1. **Frozen phase on cached features.** The backbone (with batch norm in inference mode) turns
   every image, and ``aug_copies`` augmented variants of each training image, into a pooled
   feature vector once; the new head (standardisation, dropout, dense) trains on those vectors for ``epochs``
   epochs. The vectors are also cached on disk, keyed by the images, backbone, weights and
   augmentation, so a second run with other head settings skips the backbone entirely.
2. **Optional fine-tuning** of the backbone's top ``fine_tune_layers`` layers (batch-norm
   layers stay frozen and in inference mode) at a low learning rate, through the whole model
   with augmentation layers, for ``fine_tune_epochs`` epochs.

The saved model takes uint8 images and holds its own preprocessing, so it loads in safe mode
and predicts on raw pixels. Options live in ``TrainConfig.options`` (:class:`TransferOptions`).
With random weights there is nothing to transfer: the whole network trains from scratch.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from playground.errors import SpecError
from playground.paths import data_dir
from playground.store import RunStore
from playground.train.config import TrainConfig, steps_per_epoch
from playground.train.fitting import (RunFailed, adapt_batchnorm, augmentation_layers,
                                      compile_model, fit_arrays, load_dataset)
from playground.train.recipes.base import (RECIPES, Recipe, RunContext, RunResult,
                                           options_from_dict)
from playground.train.results import finish_artifacts, log_run_facts
from playground.transfer.backbones import RUN_PREFIX, Backbone, default_size, load_backbone

# Fine-tuning left unset (None) follows the backbone: an ImageNet network keeps its features
# frozen (its top layers can be opened by hand); a playground run's network is small and was
# trained on few, simple images, so all of it is fine-tuned after the head, at a moderate rate.
FINE_TUNE_DEFAULTS = {"keras": {"fine_tune_layers": 0, "fine_tune_epochs": 3,
                                "fine_tune_lr": 1e-5},
                      "run": {"fine_tune_layers": 10_000, "fine_tune_epochs": 5,
                              "fine_tune_lr": 1e-4}}
HEAD_GAP, HEAD_NORM, HEAD_DROPOUT, HEAD_DENSE = ("head_gap", "head_norm", "head_dropout",
                                                "head_dense")


@dataclass(frozen=True)
class TransferOptions:
    """A transfer run's own options (``TrainConfig.options``); ``None`` = the default for the
    backbone (see :data:`FINE_TUNE_DEFAULTS`)."""

    backbone: str = "MobileNetV2"
    weights: str = "imagenet"          # "imagenet", "none" (random) or a weights file path
    image_size: int | None = None      # None: the backbone's own size
    fine_tune_layers: int | None = None
    fine_tune_epochs: int | None = None
    fine_tune_lr: float | None = None
    dropout: float = 0.2
    aug_copies: int = 1                # augmented variants of each image in the feature cache
    feature_cache: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TransferOptions":
        """The options with per-backbone defaults filled in and checked (SpecError naming one)."""
        o = options_from_dict(cls, data, "transfer options")
        family = "run" if str(o.backbone).startswith(RUN_PREFIX) else "keras"
        o = replace(o, **{k: v for k, v in FINE_TUNE_DEFAULTS[family].items()
                          if getattr(o, k) is None})
        for key, lo, hi in (("fine_tune_layers", 0, 10_000), ("fine_tune_epochs", 0, 1000),
                            ("aug_copies", 0, 16)):
            value = getattr(o, key)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise SpecError(f"transfer option '{key}'", f"must be an integer from {lo} to "
                                f"{hi}, got {value!r}")
        if not 0 <= float(o.dropout) < 1:
            raise SpecError("transfer option 'dropout'", f"must be in [0, 1), got {o.dropout!r}")
        if not 0 < float(o.fine_tune_lr) <= 1:
            raise SpecError("transfer option 'fine_tune_lr'", "must be in (0, 1]")
        if o.image_size is not None and (not isinstance(o.image_size, int)
                                         or not 32 <= o.image_size <= 512):
            raise SpecError("transfer option 'image_size'", "must be an integer from 32 to 512")
        return o

    @property
    def from_scratch(self) -> bool:
        """Nothing to transfer (a Keras backbone with random weights): the whole network
        trains, since a frozen random backbone cannot learn."""
        return not self.backbone.startswith(RUN_PREFIX) and self.weights in ("none", "", None)


def check(config: TrainConfig) -> TransferOptions:
    """Options and backbone name checked before a run is recorded (no model is built)."""
    from playground.transfer.backbones import keras_backbones
    opts = TransferOptions.from_dict(config.options)
    name = opts.backbone
    if not name.startswith(RUN_PREFIX) and name not in keras_backbones():
        import difflib
        close = difflib.get_close_matches(name, keras_backbones(), n=3)
        raise SpecError(f"backbone '{name}'", "is not one of the Keras Applications"
                        + (f"; did you mean {', '.join(close)}?" if close else
                           f" ({', '.join(keras_backbones())}) or {RUN_PREFIX}<run id>"))
    return opts


def transfer_config(images: str | None = None, backbone: str = "MobileNetV2",
                    weights: str = "imagenet", upload_id: str | None = None,
                    **kw: Any) -> TrainConfig:
    """A TrainConfig for a transfer run on a folder/zip of images or an uploaded image set.
    Keyword arguments go to TrainConfig when they are its fields, else to the options."""
    from dataclasses import fields
    names = {f.name for f in fields(TrainConfig)}
    own = {k: v for k, v in kw.items() if k not in names}
    base = {k: v for k, v in kw.items() if k in names}
    if upload_id:
        dataset, dopts = "upload", {"id": upload_id}
    elif images:
        dataset, dopts = "folder", {"path": str(images)}
    else:
        raise SpecError("images", "give a folder or zip of images (one folder per class) or "
                        "an uploaded image set")
    base.setdefault("epochs", 10)
    base.setdefault("flip", True)
    return TrainConfig(target=backbone, dataset=dataset, dataset_options=dopts, recipe="transfer",
                       options={"backbone": backbone, "weights": weights, **own}, **base)


# --- features -----------------------------------------------------------------------------
def feature_model(backbone: Backbone, input_shape: tuple[int, ...]) -> Any:
    """uint8 images -> preprocessing -> backbone (inference mode) -> global average pool."""
    import keras
    from keras import layers
    from playground.transfer.backbones import preprocessing
    inp = keras.Input(input_shape, name="image")
    x = preprocessing(inp, backbone.mode, input_shape[-1], backbone.input_shape[-1])
    x = backbone.model(x, training=False)
    out = layers.GlobalAveragePooling2D(name=HEAD_GAP)(x)
    return keras.Model(inp, out, name="features")


def _augmented(x: np.ndarray, config: TrainConfig, copy: int) -> np.ndarray:
    """One augmented variant of every image (uint8 in, uint8 out), deterministic per copy."""
    import keras
    keras.utils.set_random_seed(config.seed * 1000 + copy + 1)
    layers = augmentation_layers(config.with_(seed=config.seed * 1000 + copy + 1))
    out = np.empty_like(x)
    for i in range(0, len(x), 256):
        b = x[i:i + 256].astype("float32")
        for layer in layers:
            b = layer(b, training=True)
        out[i:i + 256] = np.clip(np.rint(np.asarray(b)), 0, 255).astype("uint8")
    return out


def _cache_key(ds: Any, backbone: Backbone, config: TrainConfig, copies: int) -> str:
    h = hashlib.sha1()
    for arr in (ds.x_train, ds.y_train, ds.x_val):
        h.update(np.ascontiguousarray(arr).tobytes())
    weights = backbone.weights
    p = Path(weights)
    if p.is_file():
        st = p.stat()
        weights = f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    import keras
    h.update(json.dumps([backbone.name, weights, backbone.mode, list(backbone.input_shape),
                         copies, config.flip, config.translate, config.rotate, config.seed,
                         keras.backend.backend(), keras.__version__]).encode())
    return h.hexdigest()[:20]


def cached_features(ds: Any, backbone: Backbone, config: TrainConfig, copies: int,
                    use_disk: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(train features incl. augmented copies, their labels, val features, from_disk)."""
    path = data_dir() / "feature-cache" / f"{_cache_key(ds, backbone, config, copies)}.npz"
    if use_disk and path.is_file():
        try:
            with np.load(path) as f:
                return f["ft"], f["yt"], f["fv"], True
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    fm = feature_model(backbone, ds.input_shape)
    batch = max(config.batch_size, 128)  # inference only: larger batches are cheaper
    variants = [ds.x_train] + ([_augmented(ds.x_train, config, c) for c in range(copies)]
                               if augmentation_layers(config) else [])
    ft = np.concatenate([fm.predict(v, batch_size=batch, verbose=0) for v in variants])
    yt = np.concatenate([ds.y_train] * len(variants))
    fv = fm.predict(ds.x_val, batch_size=batch, verbose=0)
    if use_disk:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ft=ft, yt=yt, fv=fv)
        tmp.replace(path)
    return ft, yt, fv, False


# --- models -------------------------------------------------------------------------------
MIN_HEAD_STEPS = 25  # per epoch: a head on a few dozen cached vectors needs more than 2 steps


def head_repeats(n_vectors: int, batch_size: int) -> int:
    """How many times an epoch of head training passes over the cached vectors, so that it
    has at least :data:`MIN_HEAD_STEPS` steps (they are cheap: no backbone involved)."""
    return max(1, math.ceil(MIN_HEAD_STEPS / steps_per_epoch(n_vectors, batch_size)))


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of the training vectors: the head learns on
    standardised features (a backbone's pooled activations span orders of magnitude); channels
    that never vary get a floor so they stay at zero instead of blowing up."""
    mu = features.mean(axis=0)
    sd = features.std(axis=0)
    floor = max(float(sd.mean()) * 1e-2, 1e-6)
    return mu.astype("float32"), np.maximum(sd, floor).astype("float32")



def head_model(features: int, classes: int, dropout: float,
               stats: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """Pooled features -> (standardisation by ``stats``, mean and std) -> dropout -> dense."""
    import keras
    from keras import layers
    inp = keras.Input((features,), name="features")
    x = inp
    if stats is not None:
        x = layers.Normalization(mean=stats[0].tolist(), variance=(stats[1] ** 2).tolist(),
                                 name=HEAD_NORM)(x)
    x = layers.Dropout(dropout, name=HEAD_DROPOUT)(x)
    out = layers.Dense(classes, activation="softmax", name=HEAD_DENSE)(x)
    return keras.Model(inp, out, name="head")


def full_model(backbone: Backbone, input_shape: tuple[int, ...], head: Any, config: TrainConfig,
               name: str, train_backbone: bool = False) -> Any:
    """uint8 images -> augmentation -> preprocessing -> backbone -> GAP -> the trained head.
    A frozen backbone always runs in inference mode; ``train_backbone`` (training from random
    initialisation) lets its batch norm learn statistics."""
    import keras
    from keras import layers
    from playground.transfer.backbones import preprocessing
    inp = keras.Input(input_shape, dtype="uint8", name="image")
    x = layers.Rescaling(1.0, name="to_float")(inp)  # uint8 -> float, values kept 0..255
    for layer in augmentation_layers(config):
        x = layer(x)
    x = preprocessing(x, backbone.mode, input_shape[-1], backbone.input_shape[-1])
    x = backbone.model(x) if train_backbone else backbone.model(x, training=False)
    x = layers.GlobalAveragePooling2D(name=HEAD_GAP)(x)
    if any(layer.name == HEAD_NORM for layer in head.layers):
        x = layers.Normalization.from_config(head.get_layer(HEAD_NORM).get_config())(x)
    x = layers.Dropout(head.get_layer(HEAD_DROPOUT).rate, name=HEAD_DROPOUT)(x)
    dense = layers.Dense(head.get_layer(HEAD_DENSE).units, activation="softmax", name=HEAD_DENSE)
    out = dense(x)
    dense.set_weights(head.get_layer(HEAD_DENSE).get_weights())
    return keras.Model(inp, out, name=name)


def unfreeze_top(backbone_model: Any, n: int) -> int:
    """Make the top ``n`` layers with weights trainable, nested models included (batch norm
    excluded: a frozen BatchNormalization layer runs in inference mode whatever the training
    flag, which is what keeps its statistics); returns how many trainable weights that gives."""
    import keras
    from keras import layers
    backbone_model.trainable = True
    leaves = [layer for layer in backbone_model._flatten_layers(include_self=False, recursive=True)
              if not isinstance(layer, keras.Model)]
    with_weights = [layer for layer in leaves if layer.weights]
    top = set(id(layer) for layer in with_weights[-n:]) if n else set()
    for layer in leaves:
        layer.trainable = id(layer) in top and not isinstance(layer, layers.BatchNormalization)
    return len(backbone_model.trainable_weights)


# --- the run ------------------------------------------------------------------------------
def _resolve_size(config: TrainConfig, opts: TransferOptions, store: RunStore) -> Backbone:
    import keras
    keras.utils.set_random_seed(config.seed)
    name = opts.backbone
    if name.startswith(RUN_PREFIX):
        return load_backbone(name, store=store)
    side = opts.image_size or default_size(name)
    return load_backbone(name, opts.weights, (side, side, 3))


def run(ctx: RunContext) -> RunResult:
    """The transfer recipe's body: backbone, data at its size, then the frozen-feature head and
    optional fine-tuning, or training from scratch when the weights are random."""
    from playground.cost import analyze
    from playground.data import DATASETS
    config, store, run_id, cancel, t_job = (ctx.config, ctx.store, ctx.run_id, ctx.cancel,
                                            ctx.t_job)
    opts = TransferOptions.from_dict(config.options)
    ctx.progress("loading backbone")
    backbone = _resolve_size(config, opts, store)
    side = backbone.input_shape[0]
    dopts = dict(config.dataset_options)
    if "image_size" in DATASETS.get(config.dataset).options:
        dopts["image_size"] = side
    ds = load_dataset(config.with_(dataset_options=dopts))
    if ds.input_shape[:2] != backbone.input_shape[:2]:
        raise SpecError(f"data set '{config.dataset}'", f"images are {ds.input_shape[0]}x"
                        f"{ds.input_shape[1]} but the backbone takes {side}x{side}; load them "
                        "at that size")
    scratch = opts.from_scratch
    store.log_params(run_id, {"backbone": backbone.name, "weights": backbone.weights,
                              "preprocess": backbone.mode, "fine_tune_layers":
                              opts.fine_tune_layers, "aug_copies": opts.aug_copies,
                              "transfer.mode": "from scratch" if scratch else "frozen backbone"})
    if scratch:
        return _train_from_scratch(ctx, backbone, ds, opts, dopts)

    # phase 1: features once, head on the cached vectors
    ctx.progress("computing features")
    ft, yt, fv, from_disk = cached_features(ds, backbone, config, opts.aug_copies,
                                            opts.feature_cache)
    store.log_params(run_id, {"features.cached_on_disk": from_disk,
                              "features.train_vectors": len(ft)})
    head = head_model(ft.shape[-1], ds.num_classes, float(opts.dropout), feature_stats(ft))
    ft_epochs = opts.fine_tune_epochs if opts.fine_tune_layers else 0
    total = config.epochs + ft_epochs
    repeats = head_repeats(len(ft), config.batch_size)
    zt, yt = np.tile(ft, (repeats, 1)), np.tile(yt, repeats)
    store.log_params(run_id, {"head.repeats_per_epoch": repeats})
    compile_model(head, config, steps_per_epoch(len(zt), config.batch_size) * config.epochs)
    model_name = f"transfer_{backbone.name.replace(':', '_')}"
    full = full_model(backbone, ds.input_shape, head, config, model_name)
    report = analyze(full)
    cost = {"params": report.params, "macs": report.macs, "flops": report.flops}
    log_run_facts(store, run_id, config, ds, cost)
    rep = fit_arrays(head, (zt, yt, fv, ds.y_val), config, store, run_id, cancel,
                     config.epochs, t_job, ctx.on_progress, total_epochs=total,
                     phase="head (frozen backbone)")
    if rep.failure:
        raise RunFailed(rep.failure)
    history, stop = list(rep.history), rep.stop_reason
    full.get_layer(HEAD_DENSE).set_weights(head.get_layer(HEAD_DENSE).get_weights())

    # phase 2: fine-tune the top layers through the whole model
    if ft_epochs and not stop:
        unfreeze_top(backbone.model, opts.fine_tune_layers)
        compile_model(full, config.with_(learning_rate=float(opts.fine_tune_lr),
                                         schedule="constant", optimizer="adam"), 1)
        rep2 = fit_arrays(full, (ds.x_train, ds.y_train, ds.x_val, ds.y_val), config, store,
                          run_id, cancel, ft_epochs, t_job, ctx.on_progress,
                          epoch_offset=len(history),
                          total_epochs=total, phase="fine-tuning", best=rep.best,
                          seconds_offset=history[-1]["train_seconds"] if history else 0.0)
        if rep2.failure:
            raise RunFailed(rep2.failure)
        history += rep2.history
        stop = rep2.stop_reason
    summary = _finish(full, ds, config, store, run_id, history, cost, backbone, dopts)
    summary.update(features_from_disk=from_disk, stop_reason=stop or "epochs done")
    return RunResult(summary, stop, len(history))


def _finish(model: Any, ds: Any, config: TrainConfig, store: RunStore, run_id: str,
            history: list[dict[str, float]], cost: dict[str, Any], backbone: Backbone,
            dopts: dict[str, Any]) -> dict[str, Any]:
    """The run's artifacts, its transfer metadata and the standalone predict script."""
    summary = finish_artifacts(model, ds, config, store, run_id, history, cost)
    meta = {"backbone": backbone.name, "weights": backbone.weights, "mode": backbone.mode,
            "input_shape": list(ds.input_shape), "class_names": list(ds.class_names),
            "dataset": config.dataset, "dataset_options": dopts, "seed": config.seed,
            "val_split": config.val_split}
    store.log_text(run_id, json.dumps(meta), "transfer.json")
    from playground.transfer.predict import predict_script
    store.log_text(run_id, predict_script(list(ds.class_names), ds.input_shape), "predict.py")
    summary["backbone"] = backbone.name
    return summary


def _train_from_scratch(ctx: RunContext, backbone: Backbone, ds: Any, opts: TransferOptions,
                        dopts: dict[str, Any]) -> RunResult:
    """Random initialisation: the whole network (backbone, batch norm, head) trains on the
    images with the short-run recipe; no feature cache, no separate fine-tuning phase."""
    from playground.cost import analyze
    config, store, run_id = ctx.config, ctx.store, ctx.run_id
    backbone.model.trainable = True
    probe = backbone.model.output_shape[-1]
    head = head_model(int(probe), ds.num_classes, float(opts.dropout))
    model_name = f"scratch_{backbone.name.replace(':', '_')}"
    full = full_model(backbone, ds.input_shape, head, config, model_name, train_backbone=True)
    report = analyze(full)
    cost = {"params": report.params, "macs": report.macs, "flops": report.flops}
    log_run_facts(store, run_id, config, ds, cost)
    steps = steps_per_epoch(len(ds.x_train), config.batch_size)
    adapt_batchnorm(full, steps)
    compile_model(full, config, steps * config.epochs)
    rep = fit_arrays(full, (ds.x_train, ds.y_train, ds.x_val, ds.y_val), config, store, run_id,
                     ctx.cancel, config.epochs, ctx.t_job, ctx.on_progress,
                     phase="training from scratch (random initialisation)")
    if rep.failure:
        raise RunFailed(rep.failure)
    summary = _finish(full, ds, config, store, run_id, rep.history, cost, backbone, dopts)
    summary.update(stop_reason=rep.stop_reason or "epochs done", mode="from scratch")
    return RunResult(summary, rep.stop_reason, len(rep.history))


def default_name(config: TrainConfig, store: RunStore) -> str:
    """'transfer: <backbone> on <data set>'; a run backbone by its run's name."""
    backbone = str(config.options.get("backbone", config.target))
    if backbone.startswith(RUN_PREFIX):
        try:
            backbone = f"'{store.get(backbone[len(RUN_PREFIX):]).name}'"
        except Exception:  # noqa: BLE001  checked again when the run starts
            backbone = f"run {backbone[len(RUN_PREFIX):][:8]}"
    return f"transfer: {backbone} on {config.dataset}"


RECIPES.add("transfer", Recipe("transfer", "a pretrained (or run) backbone with a new head, "
                               "optionally fine-tuned; from scratch with random weights",
                               TransferOptions, check, run, default_name))
