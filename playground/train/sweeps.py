"""Sweeps: several architectures trained on the same data, budget and seeds, so their curves
can be compared with the seed-to-seed spread in view (Compare's "Train these", the studies).

A sweep is one *parent* run in the run store (no worker of its own; see
:meth:`playground.store.RunStore.create_parent`) and one child run per architecture x seed,
each an ordinary training run submitted through the executor
(:func:`playground.train.executors.submit`: local worker processes, or Ray tasks that run in
parallel across the cluster; or any ``submit`` with its signature), so the children show on the
Leaderboard and run wherever runs run. Each child carries MLflow's
``mlflow.parentRunId`` tag plus its architecture's label and seed; the parent ends FINISHED,
FAILED or KILLED once its children have (the store settles it), and cancelling the sweep
cancels its children.

:func:`aggregate` turns the children's per-epoch histories into mean, std, min and max per
architecture and epoch (a pure function); :func:`curves` reads them from the store.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from playground.errors import SpecError
from playground.store import ACTIVE, CHILDREN_TAG, PARENT_TAG, TERMINAL, RunRecord, RunStore
from playground.train.config import TrainConfig

KIND_TAG = "playground.kind"      # on the parent: "sweep"
ARM_TAG = "playground.sweep.arm"  # on each child: its architecture's label
SEED_TAG = "playground.sweep.seed"
PLAN_ARTIFACT = "sweep.json"      # on the parent: the architectures, seeds and base config
STATES = ("SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED")
MAX_ARMS = 8
MAX_SEEDS = 10
DEFAULT_SEEDS = 3

Points = Sequence[tuple[int, float]]
Submit = Callable[[TrainConfig, RunStore, dict[str, str]], str]


# --- what a sweep trains -------------------------------------------------------------------
@dataclass(frozen=True)
class Arm:
    """One architecture of a sweep: its label and either a zoo ``target`` or a ``spec`` dict."""

    label: str
    target: str = ""
    spec: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "target": self.target, "spec": self.spec}


def arm_of(name: str) -> Arm:
    """A zoo name or a spec ``.json`` file as an arm (labelled by the name, or the spec's)."""
    from playground.targets import load_spec_file, resolve
    if name.lower().endswith(".json"):
        spec = load_spec_file(name)
        return Arm(spec.name or Path(name).stem, spec=spec.to_dict())
    resolve(name)  # an unknown name fails here, naming what exists
    return Arm(name, target=name)


def check_arm(arm: Arm) -> None:
    """SpecError unless the arm can be trained as a classifier (a cost-only comparison's
    head-less variants cannot)."""
    head = (arm.spec or {}).get("head") if arm.spec is not None else None
    if arm.spec is not None and (not head or head.get("type") == "no_head"):
        raise SpecError(f"architecture '{arm.label}'", "has no classifier head, so it cannot "
                        "be trained (this comparison is about cost only)")
    if arm.spec is None and not arm.target:
        raise SpecError(f"architecture '{arm.label}'", "names neither a zoo entry nor a spec")


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """``n`` -> seeds 0..n-1; a sequence is checked for duplicates. SpecError when out of range."""
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if not 1 <= seeds <= MAX_SEEDS:
            raise SpecError("sweep option 'seeds'", f"must be from 1 to {MAX_SEEDS}, got {seeds}")
        return list(range(seeds))
    out = [int(s) for s in seeds]
    if not 1 <= len(out) <= MAX_SEEDS or len(set(out)) != len(out):
        raise SpecError("sweep option 'seeds'", f"must be 1 to {MAX_SEEDS} distinct integers, "
                        f"got {out}")
    return out


def child_configs(arms: Sequence[Arm], base: TrainConfig, seeds: Sequence[int]
                  ) -> list[tuple[Arm, int, TrainConfig]]:
    """Every child's (arm, seed, config), seed by seed so the first results compare all arms.
    The data set's own seed is pinned to the base config's, so only initialisation and
    shuffling change with the seed: the same data for every child."""
    from playground.data import DATASETS
    from playground.train.runs import recipe_of
    if not 1 <= len(arms) <= MAX_ARMS:
        raise SpecError("sweep", f"needs 1 to {MAX_ARMS} architectures, got {len(arms)}")
    labels = [a.label for a in arms]
    if len(set(labels)) != len(labels):
        raise SpecError("sweep", f"architecture labels must differ, got {labels}")
    if base.dataset not in DATASETS:  # fail here, not in every child's worker
        raise SpecError(f"data set '{base.dataset}'", "is unknown; known: "
                        + ", ".join(DATASETS.list()))
    options = dict(base.dataset_options)
    info = DATASETS.get(base.dataset)
    if "seed" in info.options:
        options.setdefault("seed", base.seed)
    out = []
    for seed in seeds:
        for arm in arms:
            check_arm(arm)
            config = base.with_(target=arm.target, spec=arm.spec, seed=int(seed),
                                dataset_options=options, name=f"{arm.label} · seed {seed}")
            config.validate()
            recipe_of(config).check(config)
            out.append((arm, int(seed), config))
    return out


def _launch(config: TrainConfig, store: RunStore, tags: dict[str, str]) -> str:
    from playground.train.executors import submit
    return submit(config, store, tags)


def create(arms: Sequence[Arm], base: TrainConfig, seeds: int | Sequence[int] = DEFAULT_SEEDS,
           store: RunStore | None = None, submit: Submit | None = None, name: str = "") -> str:
    """Record a sweep's parent run and submit one child per architecture x seed (through the
    executor by default); returns the sweep's (parent's) run id. ``base`` gives the data,
    budget and options (its target and seed are the arms' and seeds' own). Every child is checked
    before anything is recorded; if submitting fails part way, the children already submitted
    are cancelled and the parent ends FAILED."""
    store = store or RunStore()
    submit = submit or _launch
    seeds = seed_list(seeds)
    jobs = child_configs(arms, base, seeds)  # each child's config validated and checked
    labels = [a.label for a in arms]
    params = {k: v for k, v in base.store_params().items()
              if k not in ("target", "architecture", "seed", "name")}
    params.update(kind="sweep", architectures=json.dumps(labels), seeds=json.dumps(seeds),
                  dataset_options=json.dumps(jobs[0][2].dataset_options, sort_keys=True))
    title = name or f"sweep: {' vs '.join(labels)} on {base.dataset}"
    parent = store.create_parent(title, params, len(jobs), tags={KIND_TAG: "sweep"})
    store.log_text(parent, json.dumps({"arms": [a.to_dict() for a in arms], "seeds": seeds,
                                       "config": base.to_dict()}, indent=1), PLAN_ARTIFACT)
    launched: list[str] = []
    try:
        for arm, seed, config in jobs:
            launched.append(submit(config, store, {PARENT_TAG: parent, ARM_TAG: arm.label,
                                                   SEED_TAG: str(seed)}))
    except BaseException as e:
        for run_id in launched:
            store.cancel(run_id)
        if store.get(parent).active:
            store.finish(parent, "FAILED", f"submitting its runs failed after {len(launched)} "
                         f"of {len(jobs)}: {e}")
        raise
    return parent


# --- reading a sweep -----------------------------------------------------------------------
@dataclass(frozen=True)
class SweepStatus:
    """A sweep as the store has it now: the parent's status and its children's, counted."""

    sweep_id: str
    name: str
    status: str
    error: str
    expected: int
    children: tuple[RunRecord, ...] = ()
    labels: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        """Children per state, every state listed (zeros included)."""
        return {s: sum(c.status == s for c in self.children) for s in STATES}

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def ended(self) -> int:
        return sum(c.status in TERMINAL for c in self.children)

    def line(self) -> str:
        """``"2 finished · 1 running · 3 queued (of 6 runs)"`` (ended states first)."""
        words = {"SCHEDULED": "queued"}
        counts = self.counts
        parts = [f"{counts[s]} {words.get(s, s.lower())}" for s in STATES[2:] + STATES[:2]
                 if counts[s]]
        return " · ".join(parts or ["no runs yet"]) + f" (of {self.expected} runs)"

    def to_dict(self) -> dict[str, Any]:
        return {"sweep_id": self.sweep_id, "name": self.name, "status": self.status,
                "error": self.error, "counts": self.counts, "expected": self.expected,
                "architectures": list(self.labels), "seeds": list(self.seeds),
                "runs": [{"run_id": c.run_id, "name": c.name, "status": c.status,
                          "architecture": c.tags.get(ARM_TAG, ""),
                          "seed": _int(c.tags.get(SEED_TAG)), "error": c.error}
                         for c in self.children]}


def _int(text: str | None) -> int | None:
    try:
        return int(float(text)) if text not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def status(store: RunStore, sweep_id: str) -> SweepStatus:
    """The sweep's status and its children's; children whose worker vanished are marked first,
    and the parent is settled once they have all ended."""
    rec = store.get(sweep_id)
    if rec.tags.get(KIND_TAG) != "sweep":
        raise SpecError(f"run '{sweep_id}'", "is not a sweep")
    kids = store.children(sweep_id)
    if store.reconcile(kids):
        kids = store.children(sweep_id)
    if rec.active:
        store.settle(sweep_id, kids)
        rec = store.get(sweep_id)
    return SweepStatus(sweep_id, rec.name, rec.status, rec.error,
                       int(rec.tags.get(CHILDREN_TAG) or len(kids)), tuple(kids),
                       tuple(str(x) for x in _json_list(rec.params.get("architectures"))),
                       tuple(int(x) for x in _json_list(rec.params.get("seeds"))))


def cancel(store: RunStore, sweep_id: str) -> bool:
    """Cancel a sweep: its active children are asked to stop (the parent ends KILLED once they
    have). Returns whether it was active."""
    from playground.train.executors import cancel as cancel_run
    return cancel_run(sweep_id, store)


def wait(store: RunStore, sweep_id: str, timeout: float | None = None, poll_s: float = 1.0,
         on_change: Callable[[SweepStatus], None] | None = None) -> SweepStatus:
    """Block until the sweep has ended (or ``timeout`` seconds passed); ``on_change`` gets the
    status each time its counts change."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen = None
    while True:
        now = status(store, sweep_id)
        key = tuple(now.counts.items())
        if key != seen and on_change is not None:
            on_change(now)
        seen = key
        if not now.active or (deadline is not None and time.monotonic() > deadline):
            return now
        time.sleep(poll_s)


def sweeps(store: RunStore) -> list[RunRecord]:
    """Every sweep's parent run, newest first."""
    return [r for r in store.list_runs() if r.is_parent and r.tags.get(KIND_TAG) == "sweep"]


def of_labels(store: RunStore, labels: Sequence[str]) -> list[RunRecord]:
    """The sweeps of exactly these architecture labels (in any order), newest first."""
    want = sorted(labels)
    return [r for r in sweeps(store)
            if sorted(str(x) for x in _json_list(r.params.get("architectures"))) == want]


def latest(store: RunStore, labels: Sequence[str]) -> str | None:
    """The newest sweep of exactly these architecture labels (in any order), or None."""
    found = of_labels(store, labels)
    return found[0].run_id if found else None


# --- aggregation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Band:
    """One architecture's metric across seeds, per epoch: the mean, the sample standard
    deviation (0 with one seed), min, max and how many seeds had a finite value."""

    label: str
    epochs: tuple[int, ...] = ()  # ``runs``: the seeds with at least one value
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    lo: tuple[float, ...] = ()
    hi: tuple[float, ...] = ()
    n: tuple[int, ...] = ()
    runs: int = 0

    def spread(self, kind: str = "std") -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower, upper) edges of the band: mean -+ std (``"std"``) or min..max (``"range"``)."""
        if kind == "range":
            return self.lo, self.hi
        if kind != "std":
            raise ValueError(f"spread must be 'std' or 'range', got {kind!r}")
        return (tuple(m - s for m, s in zip(self.mean, self.std)),
                tuple(m + s for m, s in zip(self.mean, self.std)))


def aggregate(series: Mapping[str, Sequence[Points]]) -> dict[str, Band]:
    """``{label: [history of one seed, ...]}`` (each ``[(epoch, value), ...]``) -> a
    :class:`Band` per label. An epoch counts the seeds that reached it with a finite value
    (a diverged or unfinished run does not drag the mean)."""
    out = {}
    for label, histories in series.items():
        by_epoch: dict[int, list[float]] = {}
        for points in histories:
            for epoch, value in points:
                if value is not None and math.isfinite(value):
                    by_epoch.setdefault(int(epoch), []).append(float(value))
        cols: dict[str, list] = {k: [] for k in ("epochs", "mean", "std", "lo", "hi", "n")}
        for epoch in sorted(by_epoch):
            values = by_epoch[epoch]
            k = len(values)
            mean = sum(values) / k
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (k - 1)) if k > 1 else 0.0
            for key, value in (("epochs", epoch), ("mean", mean), ("std", std),
                               ("lo", min(values)), ("hi", max(values)), ("n", k)):
                cols[key].append(value)
        runs = sum(any(v is not None and math.isfinite(v) for _, v in h) for h in histories)
        out[label] = Band(label, runs=runs, **{k: tuple(v) for k, v in cols.items()})
    return out


def _by_arm(st: SweepStatus) -> dict[str, list[RunRecord]]:
    """The children grouped by architecture label, in the sweep's order, each by seed."""
    groups: dict[str, list[RunRecord]] = {label: [] for label in st.labels}
    for c in st.children:
        groups.setdefault(c.tags.get(ARM_TAG, c.name), []).append(c)
    for items in groups.values():
        items.sort(key=lambda c: _int(c.tags.get(SEED_TAG)) or 0)
    return groups


def curves(store: RunStore, st: SweepStatus, metric: str = "val_accuracy") -> dict[str, Band]:
    """Mean and spread of ``metric`` per architecture and epoch over the sweep's children
    (the epochs logged so far, running children included)."""
    series = {label: [store.history(c.run_id, [metric])[metric] for c in items]
              for label, items in _by_arm(st).items()}
    return aggregate(series)


def _stats(values: Sequence[float | None]) -> dict[str, float | None]:
    """Mean, sample std (None with fewer than two values), min and max of the finite values."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    band = aggregate({"x": [[(1, v)] for v in values]})["x"]
    return {"mean": band.mean[0], "std": band.std[0] if len(values) > 1 else None,
            "min": band.lo[0], "max": band.hi[0]}


def pm_text(mean: float | None, std: float | None, fmt: str) -> str:
    """``"0.812 ± 0.031"``; ``"0.812 (1 seed)"`` without a std; ``""`` without a mean."""
    if mean is None:
        return ""
    return f"{mean:{fmt}} ± {std:{fmt}}" if std is not None else f"{mean:{fmt}} (1 seed)"


def summary(st: SweepStatus) -> list[dict[str, Any]]:
    """One row per architecture: finished runs, the kept models' validation accuracy and the
    final training loss (mean, std, min, max over the finished seeds; std None with fewer than
    two), params and MACs."""
    rows = []
    for label, items in _by_arm(st).items():
        done = [c for c in items if c.status == "FINISHED"]
        acc = _stats([c.val_accuracy for c in done])
        loss = _stats([c.metrics.get("loss") for c in done])
        first = items[0].params if items else {}
        rows.append({"architecture": label, "finished": len(done), "runs": len(items),
                     "val_accuracy": acc["mean"], "val_accuracy_std": acc["std"],
                     "val_accuracy_min": acc["min"], "val_accuracy_max": acc["max"],
                     "train_loss": loss["mean"], "train_loss_std": loss["std"],
                     "params": _int(first.get("cost.params")),
                     "macs": _int(first.get("cost.macs"))})
    return rows


__all__ = ["Arm", "Band", "SweepStatus", "aggregate", "arm_of", "cancel", "check_arm",
           "child_configs", "create", "curves", "latest", "of_labels", "pm_text", "seed_list", "status", "summary",
           "sweeps", "wait", "KIND_TAG", "ARM_TAG", "SEED_TAG", "DEFAULT_SEEDS"]
