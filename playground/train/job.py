"""One training run from start to end: data, model, optimiser, ``model.fit`` with a callback
that reports to the run store, then the artifacts. The worker process and the CLI's
foreground ``train`` both call :func:`execute`, so they share every line of it.

Backend-agnostic: only ``keras`` and ``keras.ops``; the data are NumPy arrays (uint8 images are
scaled inside the model, so the same arrays feed every backend).
"""
from __future__ import annotations

import json
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.errors import SpecError, first_line
from playground.store import RunStore
from playground.train.config import TrainConfig

PROGRESS_EVERY_S = 0.5     # live progress file rewrites (cheap: a small JSON file)
BATCH_METRIC_EVERY_S = 2.0  # intra-epoch loss points logged to the store


class RunFailed(Exception):
    """Training stopped on a condition that makes the run FAILED (NaN loss, ...)."""


@dataclass
class Prepared:
    """Everything a run needs before ``fit``."""

    dataset: Any
    spec: Any          # the ArchSpec adapted to the data (None for Keras Applications entries)
    core: Any          # the architecture as built (its cost figures are the run's)
    model: Any         # core wrapped with input scaling, augmentation and a float32 output
    cost: dict[str, Any]


# --- architecture and data ----------------------------------------------------------------
def load_dataset(config: TrainConfig) -> Any:
    from playground.data import DATASETS, load
    options = dict(config.dataset_options)
    info = DATASETS.get(config.dataset) if config.dataset in DATASETS else None
    for key, value in (("val_split", config.val_split), ("seed", config.seed)):
        if info is not None and key in info.options:
            options.setdefault(key, value)
    return load(config.dataset, **options)


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


def prepare(config: TrainConfig) -> Prepared:
    """Load the data, build and wrap the model, and take its cost figures."""
    import keras
    from playground.cost import analyze
    keras.utils.set_random_seed(config.seed)
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


def steps_per_epoch(n: int, batch: int) -> int:
    return max(1, math.ceil(n / batch))


def batchnorm_layers(model: Any) -> list[Any]:
    """Every BatchNormalization layer in ``model``, nested models and blocks included."""
    from keras import layers
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, layers.BatchNormalization)]


def short_run_bn_momentum(steps_per_epoch: int) -> float:
    """A batch-norm momentum whose moving statistics follow the weights within half an epoch
    (Keras' 0.99 needs ~500 steps; a 15-step epoch would evaluate with stale statistics)."""
    return min(0.99, max(0.5, 1.0 - 2.0 / max(steps_per_epoch, 1)))


def adapt_batchnorm(model: Any, steps_per_epoch: int) -> int:
    """Lower every batch-norm momentum above :func:`short_run_bn_momentum` to it, so that
    evaluation-mode statistics are right after a short run; returns how many layers changed."""
    target = short_run_bn_momentum(steps_per_epoch)
    changed = 0
    for layer in batchnorm_layers(model):
        if layer.momentum > target:
            layer.momentum = target
            changed += 1
    return changed


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


# --- the reporting callback ---------------------------------------------------------------
def _make_callback_class() -> type:
    import keras

    class StoreReporter(keras.callbacks.Callback):
        """Per-epoch metrics to the store; a throttled progress file; time budget, cancel
        and NaN checks. Batch hooks only read a clock unless a report is due, so they cost
        nothing measurable."""

        def __init__(self, store: RunStore | None, run_id: str | None, config: TrainConfig,
                     n_train: int, cancel_flag: list[bool], t_job: float | None = None,
                     epoch_offset: int = 0, total_epochs: int | None = None,
                     phase: str = "train", best: float = -1.0, seconds_offset: float = 0.0):
            super().__init__()
            self.seconds_offset = seconds_offset  # training seconds of earlier phases
            self.epoch_offset, self.phase = epoch_offset, phase
            self.total_epochs = total_epochs or config.epochs
            self.t_job = t_job or time.perf_counter()  # when the job started (data, build...)
            self.first_step_s: float | None = None
            self.store, self.run_id, self.config = store, run_id, config
            self.n_train, self.cancel_flag = n_train, cancel_flag
            self.steps = steps_per_epoch(n_train, config.batch_size)
            self.best = best
            self.history: list[dict[str, float]] = []
            self.t_start = self.t_epoch = self.t_train_end = 0.0
            self.next_progress = self.next_batch_metric = 0.0
            self.epoch = 0
            self.step = 0
            self.stop_reason = ""
            self.failure = ""

        # time ------------------------------------------------------------------------------
        def on_train_begin(self, logs: Any = None) -> None:
            from concurrent.futures import ThreadPoolExecutor
            self.t_start = time.perf_counter()
            # Store writes (SQLite or a remote server) go through one background thread, in
            # order, so a slow write never stalls a training step.
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
            self._pending: list[Any] = []

        def _write(self, fn: Any, *args: Any) -> None:
            for f in [f for f in self._pending if f.done()]:
                f.result()  # a failed write surfaces here, in the training thread
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._writer.submit(fn, *args))

        def on_train_end(self, logs: Any = None) -> None:
            self._writer.shutdown(wait=True)
            for f in self._pending:
                f.result()  # surface a failed write

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch, self.step = epoch, 0
            self.t_epoch = time.perf_counter()
            self.t_train_end = 0.0

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            # The *begin* hook: overriding on_train_batch_end would make Keras convert every
            # step's logs to Python floats (a device sync per step) and turn off its async
            # dispatch. Here ``batch`` steps are done; the running loss is read only when a
            # progress report is due.
            self.step = batch
            now = time.perf_counter()
            if self.first_step_s is None and batch >= 1:
                self.first_step_s = now - self.t_job
            if self.cancel_flag[0]:
                self.stop_reason = "cancelled"
                self.model.stop_training = True
            budget = self.config.time_budget_s
            if budget and now - self.t_start >= budget:
                self.stop_reason = self.stop_reason or "time budget reached"
                self.model.stop_training = True
            if now < self.next_progress or batch == 0:
                return
            self.next_progress = now + PROGRESS_EVERY_S
            running = self._running_metrics()
            loss = running.get("loss")
            if loss is not None and not math.isfinite(loss):
                self.failure = f"loss became {loss} at epoch {self.epoch + 1}, step {batch}"
                self.model.stop_training = True
                return
            if self.store is not None and self.store.cancel_requested(self.run_id):
                self.cancel_flag[0] = True
            self._progress(now, loss, running.get("accuracy"))
            if now >= self.next_batch_metric and self.store is not None and loss is not None:
                self.next_batch_metric = now + BATCH_METRIC_EVERY_S
                self._write(self.store.log_metrics, self.run_id, {"batch_loss": loss},
                            (self.epoch_offset + self.epoch) * self.steps + self.step)

        def _running_metrics(self) -> dict[str, float]:
            """The epoch's running training metrics so far (loss, accuracy)."""
            out: dict[str, float] = {}
            for metric in self.model.metrics:
                value = metric.result()
                items = value.items() if isinstance(value, dict) else [(metric.name, value)]
                for k, v in items:
                    f = _float(v)
                    if f is not None:
                        out[k] = f
            return out

        def on_test_begin(self, logs: Any = None) -> None:
            if self.t_train_end == 0.0:  # validation after the epoch's training steps
                self._running_metrics()  # waits for queued steps (JAX dispatches ahead)
                self.t_train_end = time.perf_counter()
                self._count_last_step()

        def _count_last_step(self) -> None:
            """The step that began last has run: the whole epoch unless training was stopped."""
            self.step = min(self.step + 1, self.steps) if self.model.stop_training else self.steps

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            now = time.perf_counter()
            if self.t_train_end == 0.0:
                self._count_last_step()
            logs = dict(logs or {})
            train_s = (self.t_train_end or now) - self.t_epoch
            seen = min(self.step * self.config.batch_size, self.n_train)
            row = {k: _float(v) for k, v in logs.items() if k != "learning_rate"}
            row = {k: v for k, v in row.items() if v is not None}
            row["learning_rate"] = _float(self.model.optimizer.learning_rate)
            row["epoch_seconds"] = now - self.t_epoch
            row["images_per_s"] = seen / train_s if train_s > 0 else 0.0
            if "val_accuracy" in row:
                self.best = max(self.best, row["val_accuracy"])
                row["best_val_accuracy"] = self.best
            row["epochs_done"] = self.epoch_offset + epoch + 1
            if epoch == 0 and self.epoch_offset == 0:  # job start -> first finished step
                row["first_step_seconds"] = (self.first_step_s if self.first_step_s is not None
                                             else now - self.t_job)
            row["train_seconds"] = self.seconds_offset + now - self.t_start
            self.history.append(row)
            loss = row.get("loss")
            if loss is None or not math.isfinite(loss):
                self.failure = f"loss became {loss} in epoch {epoch + 1}"
                self.model.stop_training = True
            if self.store is not None:
                self._write(self.store.log_metrics, self.run_id, row,
                            self.epoch_offset + epoch + 1)
            self._progress(now, loss, row.get("accuracy"), force_epoch_end=True)

        def _progress(self, now: float, loss: float | None, acc: float | None,
                      force_epoch_end: bool = False) -> None:
            if self.store is None:
                return
            c = self.config
            elapsed = now - self.t_start
            epoch = self.epoch_offset + self.epoch
            done = epoch * self.steps + (self.steps if force_epoch_end else self.step)
            total = self.total_epochs * self.steps
            rate = done / elapsed if elapsed > 0 and done else 0.0
            eta = (total - done) / rate if rate else None
            if c.time_budget_s:
                eta = min(eta, max(0.0, c.time_budget_s - elapsed)) if eta is not None else (
                    max(0.0, c.time_budget_s - elapsed))
            epoch_s = now - self.t_epoch
            ips = (self.step * c.batch_size / epoch_s) if epoch_s > 0 and self.step else None
            if force_epoch_end and self.history:
                ips = self.history[-1]["images_per_s"]
            self._write(self.store.write_progress, self.run_id, {
                "phase": self.phase, "epoch": epoch + 1, "epochs": self.total_epochs,
                "step": self.steps if force_epoch_end else self.step, "steps": self.steps,
                "elapsed_s": elapsed, "eta_s": eta, "images_per_s": ips, "loss": loss,
                "accuracy": acc, "time_budget_s": c.time_budget_s})

    return StoreReporter


def _float(v: Any) -> float | None:
    if v is None:
        return None
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError):
        return None


# --- the run ------------------------------------------------------------------------------
def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y_true.astype(int), y_pred.astype(int)), 1)
    return m


def fit_arrays(model: Any, data: tuple[Any, Any, Any, Any], config: TrainConfig,
               store: RunStore | None, run_id: str | None, cancel_flag: list[bool] | None,
               epochs: int, t_job: float | None = None, extra_callbacks: list[Any] | None = None,
               **reporter_options: Any) -> Any:
    """``model.fit`` (compiled by :func:`compile_model`) on (x, integer labels, x_val, labels)
    with the store reporter; returns the reporter (``history`` rows, ``failure``,
    ``stop_reason``)."""
    x, y, xv, yv = data
    classes = int(model.output.shape[-1])  # labels encoded to match compile_model's loss
    y, yv = targets(y, classes, config), targets(yv, classes, config)
    reporter = _make_callback_class()(store, run_id, config, len(x), cancel_flag or [False],
                                      t_job, **reporter_options)
    model.fit(x, y, validation_data=(xv, yv), batch_size=config.batch_size, epochs=epochs,
              shuffle=True, callbacks=[reporter, *(extra_callbacks or [])], verbose=0)
    return reporter


def fit(prep: Prepared, config: TrainConfig, store: RunStore | None = None,
        run_id: str | None = None, cancel_flag: list[bool] | None = None,
        extra_callbacks: list[Any] | None = None, t_job: float | None = None) -> Any:
    """Compile and fit the prepared model; returns the reporting callback (its history)."""
    ds = prep.dataset
    steps = steps_per_epoch(len(ds.x_train), config.batch_size)
    adapt_batchnorm(prep.model, steps)
    compile_model(prep.model, config, steps * config.epochs)
    data = (ds.x_train, ds.y_train, ds.x_val, ds.y_val)
    return fit_arrays(prep.model, data, config, store, run_id, cancel_flag, config.epochs,
                      t_job, extra_callbacks)


def execute(config: TrainConfig, store: RunStore, run_id: str,
            cancel_flag: list[bool] | None = None) -> dict[str, Any]:
    """Run a job whose store entry exists; ends it FINISHED, FAILED or KILLED (never left
    RUNNING) and returns the final summary. Exceptions are recorded, then re-raised.
    ``config.kind`` picks the body: training from scratch, or transfer learning."""
    cancel_flag = cancel_flag if cancel_flag is not None else [False]
    t_job = time.perf_counter()
    store.mark_running(run_id)
    store.write_progress(run_id, {"phase": "preparing", "epoch": 0, "epochs": config.epochs})
    try:
        if config.kind == "transfer":
            from playground.transfer.recipe import run_transfer
            summary, stop_reason, epochs_done = run_transfer(config, store, run_id, cancel_flag,
                                                             t_job)
        else:
            summary, stop_reason, epochs_done = _train(config, store, run_id, cancel_flag, t_job)
        status = "KILLED" if stop_reason == "cancelled" else "FINISHED"
        store.write_progress(run_id, {"phase": "done", "epoch": epochs_done,
                                      "epochs": epochs_done, "status": status})
        store.finish(run_id, status, "cancelled" if status == "KILLED" else None)
        return {**summary, "status": status, "run_id": run_id}
    except BaseException as e:  # noqa: BLE001  record every way a run can end, then re-raise
        status, message = _classify(e)
        try:
            (store.run_dir(run_id) / "traceback.txt").write_text(traceback.format_exc())
            store.write_progress(run_id, {"phase": "done", "status": status, "error": message})
            store.finish(run_id, status, message)
        finally:
            raise


def log_run_facts(store: RunStore, run_id: str, config: TrainConfig, ds: Any,
                  cost: dict[str, Any]) -> None:
    """Backend, device, cost figures and data facts: the run's parameters known only now."""
    import keras
    store.log_params(run_id, {
        "backend": keras.backend.backend(), "device": device_name(config),
        "cost.params": cost["params"], "cost.macs": cost["macs"], "cost.flops": cost["flops"],
        "data.train": len(ds.x_train), "data.val": len(ds.x_val),
        "data.input_shape": "x".join(map(str, ds.input_shape)), "data.classes": ds.num_classes,
        "keras_version": keras.__version__})


def _train(config: TrainConfig, store: RunStore, run_id: str, cancel_flag: list[bool],
           t_job: float) -> tuple[dict[str, Any], str, int]:
    """Training from scratch: (summary, stop reason, epochs done)."""
    prep = prepare(config)
    ds = prep.dataset
    log_run_facts(store, run_id, config, ds, prep.cost)
    if prep.spec is not None:
        store.log_text(run_id, prep.spec.to_json(), "spec.json")
    store.write_progress(run_id, {"phase": "train", "epoch": 0, "epochs": config.epochs,
                                  "step": 0, "steps": steps_per_epoch(len(ds.x_train),
                                                                      config.batch_size)})
    reporter = fit(prep, config, store, run_id, cancel_flag, t_job=t_job)
    if reporter.failure:
        raise RunFailed(reporter.failure)
    summary = finish_artifacts(prep.model, ds, config, store, run_id, reporter.history,
                               prep.cost)
    summary["stop_reason"] = reporter.stop_reason or "epochs done"
    return summary, reporter.stop_reason, len(reporter.history)


def _classify(e: BaseException) -> tuple[str, str]:
    if isinstance(e, KeyboardInterrupt):
        return "KILLED", "cancelled"
    if isinstance(e, SpecError):
        return "FAILED", f"{e.where}: {e.rule}"
    text = first_line(e, 500)
    name = type(e).__name__
    if isinstance(e, MemoryError) or "ResourceExhausted" in name or "out of memory" in text.lower():
        return "FAILED", f"out of memory: {text or name}"
    if isinstance(e, RunFailed):
        return "FAILED", text
    return "FAILED", f"{name}: {text}" if text else name


def finish_artifacts(model: Any, ds: Any, config: TrainConfig, store: RunStore, run_id: str,
                     history: list[dict[str, float]], cost: dict[str, Any]) -> dict[str, Any]:
    """Final validation predictions, confusion matrix, the model file; the run's summary."""
    probs = np.asarray(model.predict(ds.x_val, batch_size=max(config.batch_size, 64), verbose=0))
    pred = np.argmax(probs, axis=-1)
    cm = confusion_matrix(ds.y_val, pred, ds.num_classes)
    val_acc = float(np.trace(cm) / max(1, cm.sum()))
    run_dir = store.run_dir(run_id)
    per_class = (np.diag(cm) / np.maximum(cm.sum(axis=1), 1)).tolist()
    cm_doc = {"class_names": list(ds.class_names), "matrix": cm.tolist(),
              "val_accuracy": val_acc, "per_class_accuracy": per_class}
    top = np.argsort(-probs, axis=-1)[:, :3]
    preds_doc = {"class_names": list(ds.class_names), "y_true": ds.y_val.tolist(),
                 "y_pred": pred.tolist(), "top_k": top.tolist(),
                 "top_p": np.take_along_axis(probs, top, axis=-1).round(4).tolist()}
    for name, doc in (("confusion_matrix.json", cm_doc), ("predictions.json", preds_doc)):
        (run_dir / name).write_text(json.dumps(doc))
        store.log_file(run_id, run_dir / name)
    model_path = run_dir / "model.keras"
    model.save(model_path)
    store.log_file(run_id, model_path)
    last = history[-1] if history else {}
    final = {"final_val_accuracy": val_acc}
    store.log_metrics(run_id, final, len(history))
    from playground.store import WARNINGS_TAG
    from playground.train.guards import run_warnings
    warnings = run_warnings(history, ds.num_classes, len(ds.y_val), val_acc)
    if warnings:
        store.set_tags(run_id, {WARNINGS_TAG: json.dumps(warnings)})
    summary = {k: last.get(k) for k in ("loss", "accuracy", "val_loss", "best_val_accuracy",
                                        "images_per_s", "train_seconds")}
    summary["first_step_seconds"] = history[0].get("first_step_seconds") if history else None
    summary.update(final, val_accuracy=val_acc, warnings=warnings)
    summary.update(epochs_done=len(history), params=cost["params"], macs=cost["macs"])
    return summary


def run_local(config: TrainConfig, store: RunStore | None = None) -> dict[str, Any]:
    """Create a run and execute it in this process (the CLI's foreground ``train``)."""
    from playground.train.worker import create
    store = store or RunStore()
    run_id = create(config.validate(), store)
    return execute(config, store, run_id)


__all__ = ["Prepared", "prepare", "fit", "execute", "run_local", "wrap", "confusion_matrix",
           "RunFailed"]

