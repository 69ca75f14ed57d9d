"""The leaderboard: every run in the store as one row, with filters, CSV export and the
accuracy-vs-MACs Pareto front. The page and ``python -m playground runs`` both use it.

A sweep's parent run (no model of its own) is not a row; its children are, each naming its
sweep (``sweep``: the parent's name, ``sweep_id``)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Iterable

from playground.store import RunStore

COLUMNS = ("run_id", "name", "recipe", "architecture", "backbone", "dataset", "params", "macs",
           "val_accuracy", "warnings", "epochs", "train_seconds", "images_per_s", "status", "backend",
           "device", "started", "error", "sweep", "sweep_id")
# Counts: written as integers ("2260546", not the store's "2260546.0").
INTEGER_COLUMNS = ("params", "macs", "warnings", "epochs")


def rows(store: RunStore | None = None) -> list[dict[str, Any]]:
    """All trained runs, newest first, as leaderboard rows (dead workers reconciled first);
    a sweep's child names its sweep."""
    store = store or RunStore()
    runs = store.list_runs()
    names = {r.run_id: r.name for r in runs}
    return [{**r.row(), "sweep": names.get(r.parent_id, ""), "sweep_id": r.parent_id}
            for r in runs if not r.is_parent]


def filter_rows(items: Iterable[dict[str, Any]], text: str = "", statuses: Iterable[str] = (),
                datasets: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rows whose name/architecture/backbone/sweep contains ``text`` (any case) and whose
    status and data set are among those given (empty: any)."""
    text = text.strip().lower()
    statuses, datasets = set(statuses), set(datasets)
    out = []
    for r in items:
        hay = " ".join(str(r.get(k) or "") for k in ("name", "architecture", "backbone", "run_id",
                                                     "sweep"))
        if text and text not in hay.lower():
            continue
        if statuses and r["status"] not in statuses:
            continue
        if datasets and r["dataset"] not in datasets:
            continue
        out.append(r)
    return out


def sort_rows(items: Iterable[dict[str, Any]], key: str, descending: bool = True
              ) -> list[dict[str, Any]]:
    """Sort by a column; rows without a value go last either way."""
    items = list(items)
    have = [r for r in items if r.get(key) is not None]
    missing = [r for r in items if r.get(key) is None]
    return sorted(have, key=lambda r: r[key], reverse=descending) + missing


def pareto_front(items: Iterable[dict[str, Any]], cost: str = "macs",
                 score: str = "val_accuracy") -> list[str]:
    """Run ids on the Pareto front: no other run has lower-or-equal cost and a higher score
    (or equal score at a strictly lower cost). Ordered by cost."""
    pts = sorted(((r[cost], -r[score], r["run_id"]) for r in items
                  if r.get(cost) is not None and r.get(score) is not None))
    front, best = [], None
    for c, neg_s, run_id in pts:
        s = -neg_s
        if best is None or s > best:
            front.append(run_id)
            best = s
    return front


def to_csv(items: Iterable[dict[str, Any]]) -> str:
    """The rows as CSV text with the leaderboard's columns: ``started`` as ISO time, counts as
    integers."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in items:
        row = dict(r)
        for col in INTEGER_COLUMNS:
            if isinstance(row.get(col), float) and row[col].is_integer():
                row[col] = int(row[col])
        if row.get("started"):
            row["started"] = dt.datetime.fromtimestamp(row["started"]).isoformat(timespec="seconds")
        w.writerow(row)
    return buf.getvalue()
