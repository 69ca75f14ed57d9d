"""The two executors on this machine: N short runs (LeNet-5 on a small ``shapes``) submitted at
once, on ``local`` (worker processes, ``PLAYGROUND_MAX_JOBS`` = cores) and on ``ray`` (a local
Ray instance with ``num_cpus`` = cores, one CPU a run). Prints the total wall time and the
overhead per run of each:

- submit -> RUNNING: the first wave's (runs that found a free slot) mean; the local launcher
  marks a run RUNNING itself when it hands over a slot, a Ray run is RUNNING once its worker
  process has started and claimed it;
- last epoch -> FINISHED: from the last epoch's metric to the run's end (MLflow's timestamps):
  the final evaluation, the model saved to the artifact store, and for Ray the log upload;
- slot-seconds per run beyond training: (wall x slots - the runs' own train seconds) / N,
  everything a run costs that is not training (process start, imports, data, build, scheduling).

Usage: python bench/bench_executors.py [--runs 8] [--epochs 2] [--count 300] [--only local|ray]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="bench-executors-keras-"))


def batch(executor: str, runs: int, epochs: int, count: int, slots: int) -> dict[str, float]:
    """Submit ``runs`` runs at once on ``executor``; their timings, from the store."""
    os.environ["PLAYGROUND_DATA"] = tempfile.mkdtemp(prefix=f"bench-executors-{executor}-")
    os.environ["PLAYGROUND_EXECUTOR"] = executor
    os.environ["PLAYGROUND_MAX_JOBS"] = str(slots)
    os.environ["PLAYGROUND_CPUS_PER_RUN"] = "1"
    from playground.store import RunStore
    from playground.train import executors
    from playground.train.config import TrainConfig
    store = RunStore()
    store.list_runs()
    submitted: dict[str, float] = {}
    t0 = time.time()
    for i in range(runs):
        config = TrainConfig(target="lenet5", dataset="shapes", dataset_options={"count": count},
                             epochs=epochs, seed=i, name=f"bench {executor} {i}")
        submitted[executors.submit(config, store)] = time.time()
    t_submit = time.time() - t0
    running: dict[str, float] = {}
    ended: dict[str, object] = {}
    while len(ended) < runs:
        for rec in store.list_runs(reconcile=False):
            if rec.run_id not in submitted or rec.run_id in ended:
                continue
            if rec.status != "SCHEDULED":
                running.setdefault(rec.run_id, time.time())
            if not rec.active:
                ended[rec.run_id] = rec
        time.sleep(0.25)
    recs = list(ended.values())
    bad = [(r.name, r.status, r.error) for r in recs if r.status != "FINISHED"]
    if bad:
        raise SystemExit(f"{executor}: runs did not finish: {bad}")
    wall = max(r.end_time for r in recs) - t0
    first = sorted(submitted, key=submitted.get)[:slots]
    to_running = sum(running[i] - submitted[i] for i in first) / len(first)
    tails = []
    for r in recs:
        last = max(store.client.get_metric_history(r.run_id, "epochs_done"),
                   key=lambda m: m.step)
        tails.append(r.end_time - last.timestamp / 1000)
    train = sum(r.metrics["train_seconds"] for r in recs)
    return {"wall": wall, "submit": t_submit / runs, "to_running": to_running,
            "to_finished": sum(tails) / len(tails), "train": train / runs,
            "beyond": (wall * slots - train) / runs}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=8)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--count", type=int, default=300, help="shapes images a run (80%% train)")
    p.add_argument("--only", choices=("local", "ray"))
    args = p.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.runs} runs of LeNet-5, shapes count={args.count}, {args.epochs} epochs; "
          f"{cores} cores: local with PLAYGROUND_MAX_JOBS={cores}, ray with num_cpus={cores} "
          "and one CPU a run", flush=True)
    results = {}
    if args.only in (None, "local"):
        results["local"] = batch("local", args.runs, args.epochs, args.count, cores)
    if args.only in (None, "ray"):
        import ray
        t = time.time()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False,
                 namespace="playground")
        started = time.time() - t
        from playground.train import executors
        t = time.time()
        ray.get(executors._dispatcher().running.remote())
        print(f"ray: local instance started in {started:.1f} s, its dispatcher in "
              f"{time.time() - t:.1f} s (neither counted below: a cluster keeps both)",
              flush=True)
        try:
            results["ray"] = batch("ray", args.runs, args.epochs, args.count, cores)
        finally:
            ray.shutdown()
    print(f"\n{'executor':<9} {'wall s':>7} {'submit s':>9} {'->RUNNING s':>12} "
          f"{'epoch->FINISHED s':>18} {'train s/run':>12} {'slot-s/run beyond train':>24}")
    for name, r in results.items():
        print(f"{name:<9} {r['wall']:>7.1f} {r['submit']:>9.2f} {r['to_running']:>12.2f} "
              f"{r['to_finished']:>18.2f} {r['train']:>12.2f} {r['beyond']:>24.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
