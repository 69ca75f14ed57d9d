"""What a recipe is: a named way to train (from scratch, transfer...) with its own typed
options, a ``check`` run before a run is recorded, and the ``run`` body that trains and returns
the summary. The run lifecycle (:mod:`playground.train.runs`) knows recipes only through this
registry, so a study or a new training scheme is one more registered recipe."""
from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from typing import Any, Callable

from playground.errors import SpecError
from playground.registry import Registry
from playground.store import RunStore
from playground.train.config import TrainConfig


@dataclass
class RunContext:
    """Everything a recipe's body needs: the job, where to report, and how to be stopped."""

    config: TrainConfig
    store: RunStore
    run_id: str
    cancel: threading.Event
    on_progress: Callable[[dict[str, Any]], None]
    t_job: float

    def progress(self, phase: str, **fields_: Any) -> None:
        self.on_progress({"phase": phase, "epoch": 0, "epochs": self.config.epochs, **fields_})


@dataclass(frozen=True)
class RunResult:
    summary: dict[str, Any]
    stop_reason: str   # "" when the epochs ran out; "cancelled", "time budget reached"...
    epochs_done: int


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    options: type                                   # a frozen dataclass with ``from_dict``
    check: Callable[[TrainConfig], Any]             # SpecError before anything is recorded
    run: Callable[[RunContext], RunResult]
    default_name: Callable[[TrainConfig, RunStore], str]


RECIPES: Registry[Recipe] = Registry("recipe")


def options_from_dict(cls: type, data: dict[str, Any], where: str) -> Any:
    """``cls(**data)`` for a recipe's options dataclass; unknown keys are one clear error."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(where, f"unknown option(s) {unknown}; known: {sorted(known)}")
    return cls(**data)
