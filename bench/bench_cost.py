"""Benchmark: what the cost analysis adds to Keras' own model build, and the cache hit time.

For every zoo entry: the time Keras takes to build the model (best of --repeat) and the time
``analyze`` takes on the built model (best of --repeat); the ratio must stay <= 25%. Then an
unchanged spec (a fresh object parsed from the same JSON) is re-analysed through the cache,
which must answer in < 50 ms. Prints one line per entry and a verdict.

    .venv/bin/python bench/bench_cost.py [--filter 'resnet*'] [--repeat 2]
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground._env import import_keras_quietly  # noqa: E402

import_keras_quietly()

import keras  # noqa: E402

from playground.cached import analyze_spec  # noqa: E402
from playground.cost import analyze  # noqa: E402
from playground.spec import ArchSpec  # noqa: E402
from playground.zoo import ZOO  # noqa: E402


def best_of(n: int, fn):
    times, value = [], None
    for _ in range(n):
        gc.collect()
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--filter", default="*")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"{'entry':<28}{'layers':>7}{'build s':>10}{'analyze ms':>12}{'overhead':>10}"
          f"{'cached ms':>11}")
    worst, worst_cache = 0.0, 0.0
    for name in ZOO.list(args.filter):
        entry = ZOO.get(name)
        t_build, model = best_of(args.repeat, entry.build)
        t_an, report = best_of(max(3, args.repeat), lambda: analyze(model))
        ratio = t_an / t_build
        worst = max(worst, ratio)
        cached = ""
        if entry.is_spec:
            spec = entry.spec()
            analyze_spec(spec)  # first analysis fills the cache
            again = ArchSpec.from_json(spec.to_json())
            t_hit, hit = best_of(5, lambda: analyze_spec(again))
            assert hit.params == report.params
            worst_cache = max(worst_cache, t_hit)
            cached = f"{t_hit * 1e3:.3f}"
        print(f"{name:<28}{len(report.layers):>7}{t_build:>10.2f}{t_an * 1e3:>12.1f}"
              f"{ratio:>9.1%}{cached:>11}", flush=True)
        del model
        keras.backend.clear_session()
    ok = worst <= 0.25 and worst_cache < 0.05
    print(f"worst analysis overhead {worst:.1%} (limit 25%); worst cached re-analysis "
          f"{worst_cache * 1e3:.3f} ms (limit 50 ms): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
