"""A run's lifecycle, whoever executes it (the CLI in the foreground, a local worker process,
a Ray task): :func:`create` records a checked job in the run store (SCHEDULED, with its
config as an artifact), a background worker takes it with :func:`claim`, :func:`execute` runs
its recipe and always ends it FINISHED, FAILED or KILLED. Progress goes out through
``on_progress`` (by default the store), and a cancel request arrives through a
``threading.Event`` (set by a signal, or by the reporter when the store says so), so nothing
here depends on where the run executes."""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any, Callable

from playground.errors import SpecError, first_line
from playground.store import RunStore, this_process
from playground.train.config import TrainConfig
from playground.train.fitting import RunFailed
from playground.train.recipes import RECIPES, Recipe, RunContext

CONFIG_ARTIFACT = "config.json"


def recipe_of(config: TrainConfig) -> Recipe:
    """The config's recipe, or a SpecError listing the known ones."""
    if config.recipe not in RECIPES:
        raise SpecError(f"recipe '{config.recipe}'", "is unknown; known: "
                        + ", ".join(RECIPES.list()))
    return RECIPES.get(config.recipe)


def create(config: TrainConfig, store: RunStore, tags: dict[str, str] | None = None) -> str:
    """Record a validated job in the store (SCHEDULED) with its config; returns the run id.
    ``tags`` go on the run (a sweep's child carries its parent's id)."""
    config.validate()
    recipe = recipe_of(config)
    recipe.check(config)  # fail now, in the caller, on bad options or names
    name = config.name or recipe.default_name(config, store)
    run_id = store.create_run(name, config.store_params(),
                              tags={**(tags or {}), "playground.recipe": config.recipe})
    store.log_text(run_id, config.to_json(), CONFIG_ARTIFACT)
    return run_id


def stored_config(store: RunStore, run_id: str) -> TrainConfig:
    """The config a run was created with, read back from the store (any host can run it)."""
    doc = store.run_config(run_id)
    if doc is None:
        raise SpecError(f"run '{run_id}'", "has no readable stored config.json")
    return TrainConfig.from_dict(doc)


def claim(store: RunStore, run_id: str) -> bool:
    """Take the run for this worker process before training it: False when it has ended
    already (cancelled while queued) or another worker claimed it first (a duplicate submit),
    and then this worker must exit without training."""
    if not store.get(run_id).active:
        return False
    return store.claim(run_id, this_process())


def execute(config: TrainConfig, store: RunStore, run_id: str,
            cancel: threading.Event | None = None,
            on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run a job whose store entry exists; ends it FINISHED, FAILED or KILLED (never left
    RUNNING) and returns the final summary. Exceptions are recorded, then re-raised."""
    cancel = cancel if cancel is not None else threading.Event()
    report = on_progress or (lambda p: store.write_progress(run_id, p))
    ctx = RunContext(config, store, run_id, cancel, report, time.perf_counter())
    store.mark_running(run_id)
    ctx.progress("preparing")
    try:
        result = recipe_of(config).run(ctx)
        status = "KILLED" if result.stop_reason == "cancelled" else "FINISHED"
        report({"phase": "done", "epoch": result.epochs_done, "epochs": result.epochs_done,
                "status": status})
        store.finish(run_id, status, "cancelled" if status == "KILLED" else None)
        return {**result.summary, "status": status, "run_id": run_id}
    except BaseException as e:  # noqa: BLE001  record every way a run can end, then re-raise
        status, message = classify(e)
        try:
            store.log_text(run_id, traceback.format_exc(), "traceback.txt")
            report({"phase": "done", "status": status, "error": message})
            store.finish(run_id, status, message)
        finally:
            raise


def classify(e: BaseException) -> tuple[str, str]:
    """(status, message) for an exception that ended a run."""
    if isinstance(e, KeyboardInterrupt):
        return "KILLED", "cancelled"
    if isinstance(e, SpecError):
        return "FAILED", f"{e.where}: {e.rule}"
    text = first_line(e, 500)
    name = type(e).__name__
    if isinstance(e, MemoryError) or "ResourceExhausted" in name or "out of memory" in text.lower():
        return "FAILED", f"out of memory: {text or name}"
    if isinstance(e, RunFailed):
        return "FAILED", text
    return "FAILED", f"{name}: {text}" if text else name


def run_local(config: TrainConfig, store: RunStore | None = None) -> dict[str, Any]:
    """Create a run and execute it in this process (the CLI's foreground ``train``)."""
    store = store or RunStore()
    run_id = create(config.validate(), store)
    return execute(config, store, run_id)


__all__ = ["create", "claim", "execute", "run_local", "stored_config", "classify", "recipe_of"]
