"""Benchmark: what tracking and live progress cost a training run on the CPU.

The same wrapped model (a small CNN) and the same data (the generated shapes set) are trained
in one process, alternately: (a) plain ``model.fit`` with no callbacks, (b) a playground run
through ``playground.train.recipes.scratch.fit`` with the store reporter (per-epoch MLflow metrics, the
progress file twice a second, intra-epoch loss points, cancel/time checks). Both are freshly
compiled from identical weights; each repetition trains --epochs epochs and the first epoch
(tracing/compiling) is left out. The figure is images/s over the remaining epochs, from the
wall time of each epoch (validation included in both). Target: playground / plain >= 0.95,
judged on the median epoch time of each arm over all repetitions (robust to the load spikes of
a shared 2-core machine); the best repetition of each is printed too.

    .venv/bin/python bench/bench_train.py [--reps 5] [--epochs 6] [--count 3000] [--size 32]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYGROUND_DATA", tempfile.mkdtemp(prefix="bench-train-data-"))
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="bench-train-keras-"))

from playground._env import import_keras_quietly  # noqa: E402

import_keras_quietly()

import keras  # noqa: E402

from playground.store import RunStore  # noqa: E402
from playground.train import TrainConfig  # noqa: E402
from playground.train.fitting import compile_model  # noqa: E402
from playground.train.recipes.scratch import fit, prepare  # noqa: E402
from playground.train.runs import create  # noqa: E402

TARGET = 0.95
SPEC = {"name": "bench-cnn", "input_shape": [32, 32, 1], "blocks": [
    {"type": "conv", "params": {"filters": 32, "batch_norm": True}},
    {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 64, "batch_norm": True}},
    {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 64, "batch_norm": True}}],
    "head": {"type": "gap_head", "params": {"classes": 6}}}


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch (only epoch hooks: costs nothing per step)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()

    config = TrainConfig(spec=SPEC, dataset="shapes", epochs=args.epochs, batch_size=args.batch,
                         dataset_options={"classes": 6, "count": args.count,
                                          "image_size": args.size})
    prep = prepare(config)
    ds = prep.dataset
    weights = prep.model.get_weights()
    n = len(ds.x_train)
    store = RunStore()
    print(f"bench-cnn {prep.cost['params']:,} params, {prep.cost['macs'] / 1e6:.1f} M MACs; "
          f"shapes {n} train / {len(ds.x_val)} val images {ds.input_shape}, batch {args.batch}, "
          f"{args.epochs} epochs x {args.reps} reps, backend {keras.backend.backend()}")

    plain, tracked = [], []
    plain_epochs: list[float] = []
    tracked_epochs: list[float] = []
    for rep in range(args.reps):
        # (a) plain fit
        prep.model.set_weights(weights)
        compile_model(prep.model, config, 1)
        timer = EpochTimer()
        prep.model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val),
                       batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0,
                       callbacks=[timer])
        ips_plain = n * (args.epochs - 1) / sum(timer.times[1:])
        plain_epochs += timer.times[1:]
        # (b) a playground run: store reporter, progress file, MLflow metrics
        prep.model.set_weights(weights)
        run_id = create(config, store)
        store.mark_running(run_id)
        timer = EpochTimer()
        reporter = fit(prep, config, store, run_id, extra_callbacks=[timer])
        store.finish(run_id, "FINISHED")
        ips_run = n * (args.epochs - 1) / sum(timer.times[1:])
        tracked_epochs += timer.times[1:]
        logged = len(store.history(run_id, ["loss"])["loss"])
        plain.append(ips_plain)
        tracked.append(ips_run)
        print(f"rep {rep + 1}: plain fit {ips_plain:8.0f} img/s   playground run "
              f"{ips_run:8.0f} img/s   ratio {ips_run / ips_plain:.3f}   "
              f"({logged} epochs logged, reporter saw {len(reporter.history)})", flush=True)

    med_plain = n / statistics.median(plain_epochs)
    med_run = n / statistics.median(tracked_epochs)
    ratio = med_run / med_plain
    ok = ratio >= TARGET
    print(f"best repetition: plain {max(plain):.0f} img/s, playground {max(tracked):.0f} img/s "
          f"(ratio {max(tracked) / max(plain):.3f})")
    print(f"median epoch ({len(plain_epochs)} per arm): plain {med_plain:.0f} img/s, playground "
          f"{med_run:.0f} img/s: ratio {ratio:.3f} (target >= {TARGET}): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
