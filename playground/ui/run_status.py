"""How a run's state reads on every page: status icons, durations, metric figures and the
one-line label of a run in a picker."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

STATUS_ICON = {"SCHEDULED": ":material/schedule:", "RUNNING": ":material/directions_run:",
               "FINISHED": ":material/check_circle:", "FAILED": ":material/error:",
               "KILLED": ":material/cancel:"}


def duration_text(seconds: float | None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``; ``"-"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def metric_text(value: float | None, kind: str = "") -> str:
    """A metric as a card shows it: ``kind`` ``"%"`` (accuracy), ``"rate"`` (images per
    second) or a loss to 4 decimals; ``"-"`` when unknown."""
    if value is None or not math.isfinite(value):
        return "-"
    if kind == "%":
        return f"{value:.1%}"
    if kind == "rate":
        return f"{value:,.0f}"
    return f"{value:.4f}"


def result_label(rec: Any, with_status: bool = True) -> str:
    """``"name · status · val accuracy · start time"`` (the kept model's, finished runs only;
    the status left out where every run listed has finished)."""
    when = dt.datetime.fromtimestamp(rec.start_time).strftime("%d %b %H:%M") \
        if rec.start_time else ""
    parts = [rec.name] + ([rec.status.lower()] if with_status else [])
    best = rec.val_accuracy
    if best is not None and rec.status == "FINISHED":
        parts.append(f"{best:.1%}")
    return " · ".join(parts + [when])
