"""Study runs: a study measured in a detached process and recorded in the run store, so the page
stays responsive and a person can leave and come back.

A *study run* lives in the run store's ``playground-studies`` experiment (same tracking URI as
the training runs, kept off the Leaderboard): tags say it is a study and which one, its params
are the settings, the numbers are artifact ``study.json``, and it ends FINISHED, FAILED (with
the error) or KILLED. The sweeps it trains are ordinary sweeps in the training experiment (they
show on the Leaderboard), each tagged with the study run's id (:data:`STUDY_RUN_TAG`).

:func:`start` creates the run and starts ``python -m playground study NAME --set ... --record
RUN_ID`` as its own session; that process calls :func:`execute`. The orchestrator never takes a
training worker slot: its sweeps' children need them.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from playground.errors import first_line
from playground.paths import data_dir
from playground.store import RunRecord, RunStore
from playground.studies.base import STUDY_RUN_TAG, STUDY_TAG, Context, Study, StudyResult

EXPERIMENT = "playground-studies"
KIND_TAG = "playground.kind"            # "study" (the sweeps' parents say "sweep")
PRESET_TAG = "playground.study.preset"
LINE_TAG = "playground.study.progress"  # the orchestrator's last progress line
ARTIFACT = "study.json"
ROOT = Path(__file__).resolve().parents[2]


class Cancelled(BaseException):
    """The study run was asked to stop (SIGTERM from :func:`cancel`). A BaseException, like
    KeyboardInterrupt, so no ``except Exception`` on the way (store retries) swallows it."""


def study_store(uri: str | None = None) -> RunStore:
    """The study runs' store: the training runs' tracking URI, its own experiment."""
    return RunStore(uri or RunStore().uri, experiment=EXPERIMENT)


def create(study: Study, settings: Mapping[str, Any], preset: str = "default",
           store: RunStore | None = None) -> str:
    """A new study run (SCHEDULED) with the resolved settings as params; returns its id."""
    store = store or study_store()
    params = {k: v for k, v in settings.items()}
    params.update(study=study.name, preset=preset)
    return store.create_run(f"study {study.number}: {study.name}", params,
                            tags={KIND_TAG: "study", STUDY_TAG: study.name, PRESET_TAG: preset})


def execute(study: Study, run_id: str, given: Mapping[str, Any] | None = None,
            preset: str = "default", store: RunStore | None = None,
            train_store: RunStore | None = None, progress: Callable[[str], None] | None = None,
            submit: Any = None) -> StudyResult:
    """Run ``study`` as the study run ``run_id`` in this process: mark it running (this pid),
    measure with its sweeps tagged by the run, store the numbers as ``study.json`` and end it.
    On failure the run ends FAILED with the error's first line (and the error is re-raised);
    on :class:`Cancelled` its active sweeps are cancelled and it ends KILLED."""
    from playground.train import sweeps
    store = store or study_store()
    train_store = train_store or RunStore(store.uri)
    store.mark_running(run_id)

    def say(msg: str) -> None:
        try:
            store.set_tags(run_id, {LINE_TAG: msg})
        except Exception:  # noqa: BLE001  progress is best effort
            pass
        if progress is not None:
            progress(msg)

    ctx = Context(store=train_store, progress=say, submit=submit, study_run=run_id,
                  study=study.name)
    try:
        settings = study.resolve(given, preset)
        numbers = study.measure(settings, ctx)
        result = study.present(settings, numbers)
        run_ids = result.run_ids or list(ctx.parents)
        store.log_text(run_id, json.dumps({"study": study.name, "preset": preset,
                                           "settings": settings, "numbers": numbers,
                                           "run_ids": run_ids}, indent=1, default=str),
                       ARTIFACT)
        store.finish(run_id, "FINISHED")
        result.run_ids = run_ids
        return result
    except BaseException as e:
        for parent in ctx.parents:
            try:
                if sweeps.status(train_store, parent).active:
                    sweeps.cancel(train_store, parent)
            except Exception:  # noqa: BLE001  ending the run matters more
                pass
        if isinstance(e, (Cancelled, KeyboardInterrupt)):
            store.finish(run_id, "KILLED", "cancelled")
        else:
            store.finish(run_id, "FAILED", f"{type(e).__name__}: {first_line(e, 500)}")
        raise


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise Cancelled("cancelled")


def on_sigterm_cancel() -> None:
    """In the orchestrator process: SIGTERM (what :meth:`RunStore.cancel` sends) raises
    :class:`Cancelled` so :func:`execute` can cancel its sweeps and end the run KILLED."""
    signal.signal(signal.SIGTERM, _raise_cancelled)


def command(study: Study, given: Mapping[str, Any], preset: str, run_id: str) -> list[str]:
    """The orchestrator's command line."""
    args = [sys.executable, "-m", "playground", "study", study.name]
    for key, value in given.items():
        args += ["--set", f"{key}={value}"]
    if preset == "longer":
        args.append("--longer")
    return args + ["--record", run_id]


def log_path(run_id: str) -> Path:
    """The orchestrator's log (stdout and stderr) on this host."""
    folder = data_dir() / "study-logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.log"


def start(study: Study, given: Mapping[str, Any] | None = None, preset: str = "default",
          store: RunStore | None = None) -> str:
    """Check the settings, create the study run and start its orchestrator as a detached
    process (its own session: it outlives the page); returns the run id at once. A bad
    setting raises SpecError before anything is recorded."""
    settings = study.resolve(given, preset)
    store = store or study_store()
    run_id = create(study, settings, preset, store)
    env = dict(os.environ, PLAYGROUND_DATA=str(data_dir()), MLFLOW_TRACKING_URI=store.uri,
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    with open(log_path(run_id), "ab") as log:
        proc = subprocess.Popen(command(study, settings, preset, run_id), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=str(ROOT), start_new_session=True)
    threading.Thread(target=_reap, args=(proc, store.uri, run_id), daemon=True,
                     name=f"study-{run_id[:8]}").start()
    return run_id


def _reap(proc: subprocess.Popen, uri: str, run_id: str) -> None:
    """Wait for the orchestrator (no zombie); end its run if it exited without doing so."""
    rc = proc.wait()
    store = study_store(uri)
    try:
        rec = store.get(run_id)
    except Exception:  # noqa: BLE001  deleted meanwhile
        return
    if rec.active:
        tail = _tail(run_id)
        store.finish(run_id, "FAILED", f"the study process exited with status {rc}"
                     + (f": {tail}" if tail else ""))


def _tail(run_id: str) -> str:
    try:
        lines = [x for x in log_path(run_id).read_text(errors="replace").splitlines() if x]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def records(study: str, store: RunStore | None = None) -> list[RunRecord]:
    """The study's recorded runs, newest first (vanished orchestrators marked FAILED)."""
    store = store or study_store()
    return [r for r in store.list_runs() if r.tags.get(STUDY_TAG) == study]


def load(run_id: str, store: RunStore | None = None) -> dict[str, Any] | None:
    """A finished study run's ``study.json`` (study, preset, settings, numbers, run_ids), or
    None when it has none (yet)."""
    store = store or study_store()
    text = store.artifact_text(run_id, ARTIFACT)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def line(rec: RunRecord) -> str:
    """The orchestrator's last progress line."""
    return rec.tags.get(LINE_TAG, "")


def cancel(run_id: str, store: RunStore | None = None) -> bool:
    """Ask a study run to stop (its sweeps are cancelled too); whether it was active."""
    return (store or study_store()).cancel(run_id)


def sweeps_of(run_id: str, train_store: RunStore | None = None) -> list[RunRecord]:
    """The sweep parents a study run made (newest first)."""
    from playground.train import sweeps
    train_store = train_store or RunStore()
    return [r for r in sweeps.sweeps(train_store) if r.tags.get(STUDY_RUN_TAG) == run_id]


__all__ = ["ARTIFACT", "Cancelled", "EXPERIMENT", "cancel", "command", "create", "execute",
           "line", "load", "log_path", "on_sigterm_cancel", "records", "start", "study_store",
           "sweeps_of"]
