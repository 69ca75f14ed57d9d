"""The Keras callback that reports a run as it trains: per-epoch metrics to the run store,
throttled live progress (through ``on_progress``, by default the store), intra-epoch loss
points, and the stops: time budget, cancel request, NaN loss. Store writes and the cancel-request
poll run on one background thread, so a slow store never stalls a training step."""
from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import keras
import numpy as np

from playground.store import RunStore
from playground.train.config import TrainConfig, steps_per_epoch

PROGRESS_EVERY_S = 0.5     # live progress reports (a small JSON tag in the store)
BATCH_METRIC_EVERY_S = 2.0  # intra-epoch loss points logged to the store


class StoreReporter(keras.callbacks.Callback):
    """Per-epoch metrics to the store; throttled progress; time budget, cancel and NaN
    checks. Batch hooks only read a clock unless a report is due, so they cost nothing
    measurable."""

    def __init__(self, store: RunStore | None, run_id: str | None, config: TrainConfig,
                 n_train: int, cancel: threading.Event, t_job: float | None = None,
                 epoch_offset: int = 0, total_epochs: int | None = None,
                 phase: str = "train", best: float = -1.0, seconds_offset: float = 0.0,
                 on_progress: Callable[[dict[str, Any]], None] | None = None):
        super().__init__()
        if on_progress is None and store is not None:
            on_progress = lambda p: store.write_progress(run_id, p)  # noqa: E731
        self.on_progress = on_progress
        self.seconds_offset = seconds_offset  # training seconds of earlier phases
        self.epoch_offset, self.phase = epoch_offset, phase
        self.total_epochs = total_epochs or config.epochs
        self.t_job = t_job or time.perf_counter()  # when the job started (data, build...)
        self.first_step_s: float | None = None
        self.store, self.run_id, self.config = store, run_id, config
        self.n_train, self.cancel = n_train, cancel
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
        if self.cancel.is_set():
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
        if self.store is not None:  # polled off the training thread, like every store call
            self._write(self._poll_cancel)
        self._progress(now, loss, running.get("accuracy"))
        if now >= self.next_batch_metric and self.store is not None and loss is not None:
            self.next_batch_metric = now + BATCH_METRIC_EVERY_S
            self._write(self.store.log_metrics, self.run_id, {"batch_loss": loss},
                        (self.epoch_offset + self.epoch) * self.steps + self.step)

    def _poll_cancel(self) -> None:
        if self.store.cancel_requested(self.run_id):
            self.cancel.set()

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
        if self.on_progress is None:
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
        self._write(self.on_progress, {
            "phase": self.phase, "epoch": epoch + 1, "epochs": self.total_epochs,
            "step": self.steps if force_epoch_end else self.step, "steps": self.steps,
            "elapsed_s": elapsed, "eta_s": eta, "images_per_s": ips, "loss": loss,
            "accuracy": acc, "time_budget_s": c.time_budget_s})


def _float(v: Any) -> float | None:
    if v is None:
        return None
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError):
        return None
