"""Benchmark: training the new head on cached backbone features vs fitting through the frozen
backbone every epoch (same images, same head initialisation, optimiser, batch and epochs).

The backbone is a CNN trained in this process on six generated shape classes (a playground run,
as a user would make one); the transfer task is two shape classes at the same size. Arm (a)
computes the backbone's pooled features once (timed) and fits the head on them; arm (b) fits
the whole model with the backbone frozen, which runs the backbone forward on every image every
epoch. Prints both times and validation accuracies; target: speed-up >= 10x at equal accuracy
(within 2 points).

    .venv/bin/python bench/bench_transfer.py [--epochs 30] [--count 600] [--size 96]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PLAYGROUND_DATA", tempfile.mkdtemp(prefix="bench-transfer-data-"))
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="bench-transfer-keras-"))

from playground._env import import_keras_quietly  # noqa: E402

import_keras_quietly()

import numpy as np  # noqa: E402

from playground.data import load  # noqa: E402
from playground.store import RunStore  # noqa: E402
from playground.train import TrainConfig  # noqa: E402
from playground.train.fitting import compile_model  # noqa: E402
from playground.train.runs import run_local  # noqa: E402
from playground.transfer.backbones import load_backbone  # noqa: E402
from playground.train.recipes.transfer import cached_features, full_model, head_model  # noqa: E402

SPEEDUP_TARGET = 10.0


def source_spec(size: int) -> dict:
    return {"name": "bench-backbone", "input_shape": [size, size, 1], "blocks": [
        {"type": "conv", "params": {"filters": 32, "batch_norm": False}},
        {"type": "conv", "params": {"filters": 32, "batch_norm": False}},
        {"type": "max_pool", "params": {}},
        {"type": "conv", "params": {"filters": 64, "batch_norm": False}},
        {"type": "conv", "params": {"filters": 64, "batch_norm": False}},
        {"type": "max_pool", "params": {}},
        {"type": "conv", "params": {"filters": 128, "batch_norm": False}}],
        "head": {"type": "gap_head", "params": {"classes": 6}}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()

    t = time.perf_counter()
    src = run_local(TrainConfig(spec=source_spec(args.size), dataset="shapes", epochs=6,
                                learning_rate=3e-3, dataset_options={
                                    "classes": 6, "count": 1200, "image_size": args.size}))
    print(f"backbone: run {src['run_id'][:8]} ({src['params']:,} params, "
          f"{src['macs'] / 1e6:.0f} M MACs), val accuracy {src['val_accuracy']:.3f} on six "
          f"shape classes ({time.perf_counter() - t:.0f} s)")
    backbone = load_backbone(f"run:{src['run_id']}", store=RunStore())
    ds = load("shapes", classes=2, count=args.count, image_size=args.size, seed=11)
    config = TrainConfig(target="bench", dataset="shapes", epochs=args.epochs,
                         batch_size=args.batch, learning_rate=3e-3, seed=0)
    print(f"task: {len(ds.x_train)} train / {len(ds.x_val)} val images {ds.input_shape}, "
          f"{args.epochs} epochs, batch {args.batch}")

    # (a) cached features
    t0 = time.perf_counter()
    ft, yt, fv, _ = cached_features(ds, backbone, config, copies=0, use_disk=False)
    t_feat = time.perf_counter() - t0
    head = head_model(ft.shape[-1], ds.num_classes, 0.2)
    init = head.get_weights()
    compile_model(head, config, 1)
    t1 = time.perf_counter()
    head.fit(ft, yt, validation_data=(fv, ds.y_val), batch_size=args.batch, epochs=args.epochs,
             shuffle=True, verbose=0)
    t_head = time.perf_counter() - t1
    acc_cached = float(np.mean(np.argmax(head.predict(fv, verbose=0), -1) == ds.y_val))
    cached_s = t_feat + t_head

    # (b) through the frozen backbone every epoch
    head_b = head_model(ft.shape[-1], ds.num_classes, 0.2)
    head_b.set_weights(init)
    backbone.model.trainable = False
    model = full_model(backbone, ds.input_shape, head_b, config, "through_backbone")
    compile_model(model, config, 1)
    t2 = time.perf_counter()
    model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_val, ds.y_val),
              batch_size=args.batch, epochs=args.epochs, shuffle=True, verbose=0)
    through_s = time.perf_counter() - t2
    acc_through = float(np.mean(np.argmax(model.predict(ds.x_val, verbose=0), -1) == ds.y_val))

    speedup = through_s / cached_s
    equal = abs(acc_cached - acc_through) <= 0.02
    print(f"cached features: {cached_s:6.2f} s (features {t_feat:.2f} s + head {t_head:.2f} s), "
          f"val accuracy {acc_cached:.3f}")
    print(f"through backbone: {through_s:6.2f} s, val accuracy {acc_through:.3f}")
    ok = speedup >= SPEEDUP_TARGET and equal
    print(f"speed-up {speedup:.1f}x (target >= {SPEEDUP_TARGET:.0f}x), accuracy difference "
          f"{abs(acc_cached - acc_through):.3f} (<= 0.02): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
