"""Training jobs as background processes: :func:`launch` records a run (SCHEDULED) and starts
``python -m playground.train.worker RUN_ID`` in its own session, so the run outlives the
Streamlit script, the browser tab and even the app. Workers queue in launch order for a fixed
number of slots (``PLAYGROUND_MAX_JOBS``, default 1), then train through
:func:`playground.train.job.execute`, the same code the CLI's foreground ``train`` runs.

Cancel is SIGTERM (plus a flag file the worker also polls); a worker that dies without
reporting is caught by the launcher's reaper thread or, after an app restart, by
:meth:`playground.store.RunStore.reconcile`.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from playground.paths import data_dir
from playground.store import HOST_TAG, PID_START_TAG, PID_TAG, RunStore, pid_alive, process_start
from playground.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.25


def max_jobs() -> int:
    try:
        return max(1, int(os.environ.get("PLAYGROUND_MAX_JOBS", "1")))
    except ValueError:
        return 1


def create(config: TrainConfig, store: RunStore) -> str:
    """Record a validated job in the store (SCHEDULED) with its config; returns the run id."""
    config.validate()
    if config.kind == "transfer":  # fail now, in the caller, on bad options or names
        from playground.transfer.recipe import check
        check(config)
    elif config.spec is None:
        from playground.targets import resolve
        resolve(config.target)
    name = config.name or _default_name(config, store)
    run_id = store.create_run(name, config.store_params(),
                              tags={"playground.kind": config.kind})
    run_dir = store.run_dir(run_id)
    (run_dir / "config.json").write_text(config.to_json())
    store.log_text(run_id, config.to_json(), "config.json")
    return run_id


def _default_name(config: TrainConfig, store: RunStore) -> str:
    """'<architecture> on <data set>'; transfer runs name their backbone (a run by its name)."""
    if config.kind != "transfer":
        return f"{config.architecture} on {config.dataset}"
    backbone = str(config.extra.get("backbone", config.target))
    if backbone.startswith("run:"):
        try:
            backbone = f"'{store.get(backbone[4:]).name}'"
        except Exception:  # noqa: BLE001  checked again when the run starts
            backbone = f"run {backbone[4:12]}"
    return f"transfer: {backbone} on {config.dataset}"


def launch(config: TrainConfig, store: RunStore | None = None) -> str:
    """Queue a job and start its worker process; returns the run id at once."""
    store = store or RunStore()
    run_id = create(config, store)
    run_dir = store.run_dir(run_id)
    ticket = _queue_dir() / f"{time.time_ns():020d}_{run_id}"
    env = dict(os.environ, KERAS_BACKEND=config.backend, PLAYGROUND_DATA=str(data_dir()),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    if config.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = "-1"
    # JAX keeps compiled programs on disk: a second run of the same model skips XLA compiling
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(data_dir() / "jax-cache"))
    with open(run_dir / "worker.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "playground.train.worker", run_id, "--store-uri", store.uri,
             "--ticket", str(ticket)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=str(ROOT), start_new_session=True)
    ticket.write_text(str(proc.pid))
    store.set_tags(run_id, {PID_TAG: proc.pid, HOST_TAG: socket.gethostname(),
                            PID_START_TAG: process_start(proc.pid) or ""})
    threading.Thread(target=_reap, args=(proc, store.uri, run_id), daemon=True,
                     name=f"reap-{run_id[:8]}").start()
    return run_id


def _reap(proc: subprocess.Popen, uri: str, run_id: str) -> None:
    """Wait for a worker; if it ended without closing its run, close it with the reason."""
    rc = proc.wait()
    store = RunStore(uri)
    try:
        rec = store.get(run_id)
    except Exception:  # noqa: BLE001  run deleted meanwhile
        return
    if not rec.active:
        return
    if rc < 0:
        sig = signal.Signals(-rc).name
        cancelled = store.cancel_requested(run_id)
        store.finish(run_id, "KILLED", "cancelled" if cancelled else
                     f"the worker process was killed by {sig}")
    else:
        tail = store.log_tail(run_id, 1)
        store.finish(run_id, "FAILED", f"the worker process exited with status {rc}"
                     + (f": {tail}" if tail else ""))


# --- queue ---------------------------------------------------------------------------------
def _queue_dir() -> Path:
    path = data_dir() / "queue"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _live_tickets() -> list[Path]:
    """Queue tickets in launch order, dropping those whose worker is gone."""
    live = []
    for t in sorted(_queue_dir().iterdir()):
        try:
            pid = int(t.read_text() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and not pid_alive(pid):
            t.unlink(missing_ok=True)
            continue
        live.append(t)
    return live


def acquire_slot(ticket: Path | None, cancelled: list[bool]) -> Any:
    """Block until this worker is at the head of the queue and a slot is free; returns the
    open, locked slot file (held for the whole run) or None when cancelled while waiting."""
    slots = data_dir() / "slots"
    slots.mkdir(parents=True, exist_ok=True)
    while not cancelled[0]:
        ahead = 0
        if ticket is not None:
            live = _live_tickets()
            ahead = live.index(ticket) if ticket in live else 0
        if ahead < max_jobs():
            for i in range(max_jobs()):
                f = open(slots / f"slot-{i}.lock", "a+")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    continue
                if ticket is not None:
                    ticket.unlink(missing_ok=True)
                return f
        time.sleep(POLL_S)
    return None


# --- the worker process -------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="playground.train.worker")
    p.add_argument("run_id")
    p.add_argument("--store-uri")
    p.add_argument("--ticket")
    args = p.parse_args(argv)
    store = RunStore(args.store_uri)
    run_dir = store.run_dir(args.run_id)
    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    os.environ["KERAS_BACKEND"] = config.backend
    cancelled = [False]

    def on_term(signum: int, frame: Any) -> None:
        cancelled[0] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    ticket = Path(args.ticket) if args.ticket else None
    slot = acquire_slot(ticket, cancelled)
    if slot is None or store.cancel_requested(args.run_id):
        if ticket is not None:
            ticket.unlink(missing_ok=True)
        store.finish(args.run_id, "KILLED", "cancelled while queued")
        return 0
    from playground._env import import_keras_quietly
    import_keras_quietly()
    from playground.train.job import execute
    try:
        result = execute(config, store, args.run_id, cancelled)
    except Exception:  # noqa: BLE001  already recorded in the store by execute()
        return 1
    finally:
        slot.close()
    print(json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
