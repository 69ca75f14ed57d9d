"""Do short runs on the defaults learn? Trains each architecture with the CLI's defaults only
(no data or optimiser options: the default data set, recipe and epochs), as a new user would,
and prints the kept model's validation accuracy, the training seconds and the whole command's
wall time. Target: every one >= 0.90 validation accuracy in under 2 minutes of wall time.

    .venv/bin/python bench/bench_learning.py [--only lenet5,resnet20-cifar] [--backend jax]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("lenet5", "resnet20-cifar", "plain20-cifar", "densenet-bc22-cifar",
           "mobilenetv2-compact-cifar", "separable-cnn-28", "quick-cnn")
MIN_ACCURACY, MAX_SECONDS = 0.90, 120.0


def quick_cnn_file(folder: Path) -> str:
    """The Train page's default architecture, as the spec file the CLI takes."""
    sys.path.insert(0, str(ROOT))
    from playground.zoo.starter import QUICK_CNN
    path = folder / "quick-cnn.json"
    path.write_text(QUICK_CNN.to_json())
    return str(path)


def train(target: str, env: dict[str, str]) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "playground", "train", target, "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1], "wall_s": wall}
    return {**json.loads(proc.stdout), "wall_s": wall}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated subset of " + ", ".join(TARGETS))
    p.add_argument("--backend", help="KERAS_BACKEND for the runs (default: the app's default)")
    args = p.parse_args()
    targets = args.only.split(",") if args.only else TARGETS
    with tempfile.TemporaryDirectory(prefix="bench-learning-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ, PLAYGROUND_DATA=str(folder / "data"),
                   KERAS_HOME=str(folder / "keras"), TF_CPP_MIN_LOG_LEVEL="3")
        env.pop("MLFLOW_TRACKING_URI", None)
        if args.backend:
            env["KERAS_BACKEND"] = args.backend
        print(f"{'architecture':<22} {'val acc':>8} {'train s':>8} {'wall s':>7} {'epochs':>6}  "
              "verdict", flush=True)
        ok = True
        for name in targets:
            target = quick_cnn_file(folder) if name == "quick-cnn" else name
            r = train(target, env)
            if "error" in r:
                ok = False
                print(f"{name:<22} {'':>8} {'':>8} {r['wall_s']:>7.1f} {'':>6}  FAIL: {r['error']}")
                continue
            good = r["val_accuracy"] >= MIN_ACCURACY and r["wall_s"] < MAX_SECONDS
            ok &= good
            print(f"{name:<22} {r['val_accuracy']:>8.3f} {r['train_seconds']:>8.1f} "
                  f"{r['wall_s']:>7.1f} {r['epochs_done']:>6}  {'PASS' if good else 'FAIL'}"
                  + ("".join(f"  warning: {w}" for w in r.get("warnings") or [])), flush=True)
    print(f"verdict: {'PASS' if ok else 'FAIL'} (each >= {MIN_ACCURACY:.2f} validation accuracy "
          f"in under {MAX_SECONDS:.0f} s wall time, defaults only)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
