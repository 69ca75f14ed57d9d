"""Training jobs as background processes: :func:`launch` records a run and starts
``python -m playground.train.worker RUN_ID`` in its own session, so the run outlives the
Streamlit script, the browser tab and even the app. There is a fixed number of job slots
(``PLAYGROUND_MAX_JOBS``, default 1): a run launched with a slot free gets it from the launcher
and is RUNNING at once (phase "starting" while its process loads Keras); otherwise it waits
SCHEDULED, in launch order, for a slot. Workers train through
:func:`playground.train.runs.execute`, the same code the CLI's foreground ``train`` runs. Only
process management lives here; the worker reads its config from the run store.

Cancel is SIGTERM (plus a request in the store the worker also polls); a worker that dies without
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


def launch(config: TrainConfig, store: RunStore | None = None,
           tags: dict[str, str] | None = None) -> str:
    """Start a job's worker process; returns the run id at once. With nobody queued and a slot
    free, the slot is taken here and handed to the worker, so the run is RUNNING (phase
    "starting") before this returns; otherwise it queues (SCHEDULED) for a slot. ``tags`` go
    on the run (a sweep's child carries its parent's id)."""
    from playground.train.runs import create
    store = store or RunStore()
    run_id = create(config, store, tags)
    slot = None if _live_tickets() else _free_slot()
    try:
        proc = _start_worker(config, store, run_id, slot)
    finally:
        if slot is not None:
            slot.close()  # the worker holds the slot's lock now (its copy of the descriptor)
    if slot is not None:
        store.mark_running(run_id, proc.pid)
        store.write_progress(run_id, {"phase": "starting"})
    threading.Thread(target=_reap, args=(proc, store.uri, run_id), daemon=True,
                     name=f"reap-{run_id[:8]}").start()
    return run_id


def _start_worker(config: TrainConfig, store: RunStore, run_id: str, slot: Any
                  ) -> subprocess.Popen:
    """The worker process for ``run_id``: handed ``slot`` (an open, locked slot file), or
    given a queue ticket to wait with when there is none."""
    ticket = None if slot is not None else _queue_dir() / f"{time.time_ns():020d}_{run_id}"
    env = dict(os.environ, KERAS_BACKEND=config.backend, PLAYGROUND_DATA=str(data_dir()),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    if config.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = "-1"
    env.update(gpu_env(config.num_gpus))
    # JAX keeps compiled programs on disk: a second run of the same model skips XLA compiling
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(data_dir() / "jax-cache"))
    args = [sys.executable, "-m", "playground.train.worker", run_id, "--store-uri", store.uri]
    args += ["--slot-fd", str(slot.fileno())] if slot is not None else ["--ticket", str(ticket)]
    with open(store.log_path(run_id), "ab") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            cwd=str(ROOT), start_new_session=True,
            pass_fds=(slot.fileno(),) if slot is not None else ())
    if ticket is not None:
        ticket.write_text(str(proc.pid))
    store.set_tags(run_id, {PID_TAG: proc.pid, HOST_TAG: socket.gethostname(),
                            PID_START_TAG: process_start(proc.pid) or ""})
    return proc


def gpu_env(num_gpus: float | None) -> dict[str, str]:
    """Environment for a run given a share of one GPU (``0 < num_gpus < 1``): JAX and
    TensorFlow allocate as they need, capped at the share, instead of taking the whole GPU at
    start (which would starve the runs sharing it). Nothing for a whole GPU or none."""
    if num_gpus is None or not 0 < num_gpus < 1:
        return {}
    return {"XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "XLA_PYTHON_CLIENT_MEM_FRACTION": f"{max(0.05, 0.95 * num_gpus):.2f}",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


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


def acquire_slot(ticket: Path | None, cancelled: threading.Event) -> Any:
    """Block until this worker is at the head of the queue and a slot is free; returns the
    open, locked slot file (held for the whole run) or None when cancelled while waiting."""
    while not cancelled.is_set():
        ahead = 0
        if ticket is not None:
            live = _live_tickets()
            ahead = live.index(ticket) if ticket in live else 0
        if ahead < max_jobs():
            f = _free_slot()
            if f is not None:
                if ticket is not None:
                    ticket.unlink(missing_ok=True)
                return f
        time.sleep(POLL_S)
    return None


def _free_slot() -> Any:
    """A free job slot: its slot file, open and locked (the lock lasts while any process
    holds the open file); None when every slot is taken."""
    slots = data_dir() / "slots"
    slots.mkdir(parents=True, exist_ok=True)
    for i in range(max_jobs()):
        f = open(slots / f"slot-{i}.lock", "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        return f
    return None


# --- the worker process -------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="playground.train.worker")
    p.add_argument("run_id")
    p.add_argument("--store-uri")
    p.add_argument("--ticket")
    p.add_argument("--slot-fd", type=int, help="a locked slot file handed over by launch")
    args = p.parse_args(argv)
    from playground.train.runs import stored_config
    store = RunStore(args.store_uri)
    config = stored_config(store, args.run_id)
    os.environ["KERAS_BACKEND"] = config.backend
    cancelled = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        cancelled.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    ticket = Path(args.ticket) if args.ticket else None
    slot = (os.fdopen(args.slot_fd, "a+") if args.slot_fd is not None
            else acquire_slot(ticket, cancelled))
    if slot is None or store.cancel_requested(args.run_id):
        if ticket is not None:
            ticket.unlink(missing_ok=True)
        store.finish(args.run_id, "KILLED", "cancelled while queued")
        return 0
    from playground.train.runs import claim, execute
    if not claim(store, args.run_id):  # ended meanwhile, or another worker has it
        slot.close()
        print(f"run {args.run_id} is taken or ended: not training it", flush=True)
        return 0
    from playground._env import import_keras_quietly
    import_keras_quietly()
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
