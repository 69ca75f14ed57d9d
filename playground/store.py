"""The run store: every training run, its parameters, per-epoch metrics, artifacts and status,
on MLflow tracking.

The default is an embedded SQLite file under the playground's data folder (artifacts next to
it); ``MLFLOW_TRACKING_URI`` points it anywhere else unchanged. The leaderboard is a query over
this store, and nothing about a run is kept only in a process's memory or on one host: live
progress (step, ETA, images/s) is a small JSON tag the worker rewrites twice a second, a cancel
request is a tag, and the config the worker runs is an artifact. Only the local worker's log
file stays on the host that ran it.

Statuses follow MLflow: SCHEDULED (queued), RUNNING, FINISHED, FAILED, KILLED. A run whose
worker process vanished without reporting (SIGKILL, OOM killer, power cut) is found by
:meth:`RunStore.reconcile`, which every listing calls, and marked FAILED or KILLED: a local
worker by its pid, a remote one (``playground.executor`` = ``ray``) by its heartbeat tag going
stale, so any host can tell. A worker takes its run with :meth:`RunStore.claim` (an MLflow
param, which can be written once), so a second worker for the same run never trains it.

A *parent* run (a sweep, a study) has no worker of its own: its children carry MLflow's
``mlflow.parentRunId`` tag, cancelling it cancels them, and it ends when they have all ended
(:func:`parent_status`), settled by the child's :meth:`RunStore.finish` or by reconcile.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from playground.errors import SpecError, first_line
from playground.paths import data_dir

EXPERIMENT = "playground"
ACTIVE = ("SCHEDULED", "RUNNING")
TERMINAL = ("FINISHED", "FAILED", "KILLED")
ERROR_TAG = "playground.error"
WARNINGS_TAG = "playground.warnings"  # JSON list of the run's sanity warnings
PROGRESS_TAG = "playground.progress"  # JSON: phase, epoch, step, ETA... (rewritten ~2/s)
CANCEL_TAG = "playground.cancel_requested"
PID_TAG = "playground.pid"
HOST_TAG = "playground.host"
PID_START_TAG = "playground.pid_start"
PARENT_TAG = "mlflow.parentRunId"     # MLflow's own parent/child link (its UI nests by it)
ROLE_TAG = "playground.role"          # "parent": a run with no worker, ended by its children
CHILDREN_TAG = "playground.children"  # on a parent: how many children it will have
PARENT_GRACE_S = 120  # a parent short of children, idle this long, was abandoned (see _abandoned)
CREATOR_TAG = "playground.creator"  # on a parent: this_process() of the process creating it
EXECUTOR_TAG = "playground.executor"  # "ray": a worker anywhere, watched by its heartbeat
HEARTBEAT_TAG = "playground.heartbeat"  # unix time, rewritten every few seconds by a remote worker
LOG_TAIL_TAG = "playground.log_tail"  # a remote worker's last log lines (its log is not here)
CLAIM_PARAM = "playground.claimed_by"  # the one worker that trains the run (params never change)
HEARTBEAT_STALE_S = 30.0  # a remote worker silent this long is gone (killed, node lost)
T = TypeVar("T")

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)


def default_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<data folder>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{data_dir() / 'mlflow.db'}"


def process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (guards against pid reuse); None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished: its parent has not reaped it yet
        return None
    return fields[19]


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether ``pid`` is a live (non-zombie) process, and the same one when ``start`` is given."""
    if pid <= 0:
        return False
    now = process_start(pid)
    if now is None:
        if not Path("/proc").is_dir():  # no procfs: fall back to signal 0
            try:
                os.kill(pid, 0)
            except OSError:
                return False
            return True
        return False
    return start is None or now == start


def this_process() -> str:
    """``host:pid:start`` of the calling process: who claimed a run, who is creating a parent
    (the start time tells a reused pid from the same process)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start(pid) or ''}"


def _abandoned(parent: "RunRecord", kids: list["RunRecord"]) -> bool:
    """Whether a parent still short of children will never get the rest: none is active and
    its creator is gone. A creator on this host is checked by pid (a study that trains its
    children one after another in the foreground may take an hour and is not abandoned); one
    elsewhere counts as gone once nothing happened for ``PARENT_GRACE_S`` (the parent's start,
    a child's start or end)."""
    if any(k.active for k in kids):
        return False
    host, _, rest = parent.tags.get(CREATOR_TAG, "").partition(":")
    pid, _, start = rest.partition(":")
    if host == socket.gethostname() and pid.isdigit():
        return not pid_alive(int(pid), start or None)
    times = [t for r in (parent, *kids) for t in (r.start_time, r.end_time) if t]
    return bool(times) and time.time() - max(times) > PARENT_GRACE_S


@dataclass
class RunRecord:
    """One run as the store has it (params and tags are strings, as in MLflow)."""

    run_id: str
    name: str
    status: str
    start_time: float | None
    end_time: float | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str:
        return self.tags.get(ERROR_TAG, "")

    @property
    def warnings(self) -> list[str]:
        """The run's sanity warnings (flat loss, stuck at chance...), each with its cause."""
        try:
            return list(json.loads(self.tags.get(WARNINGS_TAG) or "[]"))
        except ValueError:
            return []

    @property
    def recipe(self) -> str:
        """How the run trains: 'scratch' or 'transfer' (runs stored before recipes had names
        kept a 'kind' of 'train' or 'transfer')."""
        p = self.params
        return p.get("recipe") or ("transfer" if p.get("kind") == "transfer" else "scratch")

    @property
    def val_accuracy(self) -> float | None:
        """The kept (saved) model's validation accuracy once the run ended; while it runs, the
        last epoch's. The one accuracy the pages, leaderboard and CLI show."""
        m = self.metrics
        return m.get("final_val_accuracy", m.get("val_accuracy"))

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def parent_id(self) -> str:
        """The parent run's id (a sweep's child), or ``""``."""
        return self.tags.get(PARENT_TAG, "")

    @property
    def is_parent(self) -> bool:
        """A run with no worker of its own whose children do the training (a sweep)."""
        return self.tags.get(ROLE_TAG) == "parent"

    def row(self) -> dict[str, Any]:
        """The leaderboard's columns for this run."""
        p, m = self.params, self.metrics
        seconds = m.get("train_seconds")
        if seconds is None and self.start_time and self.active:
            seconds = time.time() - self.start_time
        return {
            "run_id": self.run_id, "name": self.name, "recipe": self.recipe,
            "architecture": p.get("architecture", ""), "backbone": p.get("backbone", ""),
            "dataset": p.get("dataset", ""), "params": _num(p.get("cost.params")),
            "macs": _num(p.get("cost.macs")), "val_accuracy": self.val_accuracy,
            "best_val_accuracy": m.get("best_val_accuracy"), "epochs": m.get("epochs_done"),
            "train_seconds": seconds, "images_per_s": m.get("images_per_s"),
            "status": self.status, "backend": p.get("backend", ""), "device": p.get("device", ""),
            "started": self.start_time, "error": self.error,
            "warnings": len(self.warnings),
        }


def parent_status(statuses: Iterable[str], expected: int, cancelled: bool = False
                  ) -> str | None:
    """The terminal status a parent run takes from its children's, or None while it must wait
    (a child is active, or fewer than ``expected`` exist yet): FINISHED when every child
    finished, else KILLED when the parent was cancelled, else FAILED when any child failed,
    else KILLED."""
    statuses = list(statuses)
    if any(s in ACTIVE for s in statuses) or len(statuses) < max(1, expected):
        return None
    if all(s == "FINISHED" for s in statuses):
        return "FINISHED"
    if cancelled:
        return "KILLED"
    return "FAILED" if "FAILED" in statuses else "KILLED"


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _retry(fn: Callable[[], T], attempts: int = 8) -> T:
    """Run ``fn``, retrying while SQLite reports the database locked (concurrent writers)."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001  (MLflow wraps SQLAlchemy errors variously)
            if "locked" not in str(e).lower() or i == attempts - 1:
                raise
            time.sleep(0.05 * 2 ** i)
    raise AssertionError("unreachable")


class RunStore:
    """Runs of the ``playground`` experiment in an MLflow tracking store."""

    def __init__(self, uri: str | None = None, experiment: str = EXPERIMENT):
        self.uri = uri or default_uri()
        self.experiment = experiment
        self._client: Any = None
        self._experiment_id: str | None = None

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient
            for name in ("mlflow", "alembic"):  # mlflow configures its loggers on import
                logging.getLogger(name).setLevel(logging.WARNING)
            try:
                self._client = MlflowClient(tracking_uri=self.uri)
            except Exception as e:  # noqa: BLE001  unsupported scheme, bad path...
                raise self._unusable(e) from None
        return self._client

    @property
    def experiment_id(self) -> str:
        if self._experiment_id is None:
            try:
                self._experiment_id = _retry(self._ensure_experiment)
            except SpecError:
                raise
            except Exception as e:  # noqa: BLE001
                raise self._unusable(e) from None
        return self._experiment_id

    def _unusable(self, e: Exception) -> SpecError:
        return SpecError(f"run store '{self.uri}'", f"cannot be opened ({first_line(e, 200)}); "
                         "check MLFLOW_TRACKING_URI or the data folder")

    def _ensure_experiment(self) -> str:
        exp = self.client.get_experiment_by_name(self.experiment)
        if exp is not None:
            return exp.experiment_id
        # A tracking server chooses its own artifact store; any other store (a database or
        # file URI) would default to ./mlruns in whatever folder the process started in.
        location = None
        if not self.uri.startswith(("http://", "https://", "databricks")):
            location = (data_dir() / "artifacts").as_uri()
        try:
            return self.client.create_experiment(self.experiment, artifact_location=location)
        except Exception:  # noqa: BLE001  another process created it first
            exp = self.client.get_experiment_by_name(self.experiment)
            if exp is None:
                raise
            return exp.experiment_id

    # --- writing ----------------------------------------------------------------------------
    def create_run(self, name: str, params: dict[str, Any], tags: dict[str, str] | None = None
                   ) -> str:
        """A new run in status SCHEDULED with its parameters; returns its id."""
        from mlflow.entities import Param
        run = _retry(lambda: self.client.create_run(self.experiment_id, run_name=name,
                                                     tags=dict(tags or {})))
        run_id = run.info.run_id
        items = [Param(k, _param_text(v)) for k, v in params.items()]
        for i in range(0, len(items), 90):
            _retry(lambda chunk=items[i:i + 90]: self.client.log_batch(run_id, params=chunk))
        _retry(lambda: self.client.update_run(run_id, status="SCHEDULED"))
        return run_id

    def create_parent(self, name: str, params: dict[str, Any], children: int,
                      tags: dict[str, str] | None = None) -> str:
        """A parent run (RUNNING at once, no worker) that will have ``children`` child runs,
        each created with ``{PARENT_TAG: its id}``; it ends when they all have."""
        run_id = self.create_run(name, params, {**(tags or {}), ROLE_TAG: "parent",
                                                CHILDREN_TAG: str(int(children)),
                                                CREATOR_TAG: this_process()})
        _retry(lambda: self.client.update_run(run_id, status="RUNNING"))
        return run_id

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        from mlflow.entities import RunTag
        _retry(lambda: self.client.log_batch(
            run_id, tags=[RunTag(k, str(v)[:4900]) for k, v in tags.items()]))

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param
        existing = self.get(run_id).params
        items = [Param(k, _param_text(v)) for k, v in params.items() if k not in existing]
        if items:
            _retry(lambda: self.client.log_batch(run_id, params=items))

    def mark_running(self, run_id: str, pid: int | None = None) -> None:
        pid = pid or os.getpid()
        self.set_tags(run_id, {PID_TAG: pid, HOST_TAG: socket.gethostname(),
                               PID_START_TAG: process_start(pid) or ""})
        _retry(lambda: self.client.update_run(run_id, status="RUNNING"))

    def log_metrics(self, run_id: str, metrics: dict[str, float], step: int) -> None:
        """Log several metrics at one step in one write (NaN/inf are stored as given)."""
        from mlflow.entities import Metric
        ts = int(time.time() * 1000)
        items = [Metric(k, float(v), ts, int(step)) for k, v in metrics.items() if v is not None]
        if items:
            _retry(lambda: self.client.log_batch(run_id, metrics=items))

    def log_text(self, run_id: str, text: str, path: str) -> None:
        _retry(lambda: self.client.log_text(run_id, text, path))

    def log_file(self, run_id: str, local: str | Path, folder: str | None = None) -> None:
        _retry(lambda: self.client.log_artifact(run_id, str(local), folder))

    def claim(self, run_id: str, token: str) -> bool:
        """Make ``token`` (a worker's host, pid and start) the one worker of the run; False when
        another worker claimed it first. Atomic: a param can be written once (the database's
        key on run and param name decides a race), and writing the same value again is allowed."""
        try:
            _retry(lambda: self.client.log_param(run_id, CLAIM_PARAM, token))
            return True
        except Exception as e:  # noqa: BLE001
            if "changing param values is not allowed" in str(e).lower():
                return False
            raise

    def is_remote(self, rec: RunRecord) -> bool:
        """Whether the run's worker is watched by heartbeat (a Ray task), not by a local pid."""
        return rec.tags.get(EXECUTOR_TAG) == "ray"

    def heartbeat_age(self, rec: RunRecord) -> float | None:
        """Seconds since a remote worker last reported; None before its first heartbeat."""
        try:
            beat = float(rec.tags.get(HEARTBEAT_TAG) or 0)
        except ValueError:
            beat = 0.0
        return time.time() - beat if beat else None

    def finish(self, run_id: str, status: str, error: str | None = None) -> None:
        """End a run as FINISHED, FAILED or KILLED (with the error text when there is one)."""
        if status not in TERMINAL:
            raise ValueError(f"not a terminal status: {status}")
        if error:
            self.set_tags(run_id, {ERROR_TAG: error})
        _retry(lambda: self.client.set_terminated(run_id, status))
        try:
            parent = self.get(run_id).parent_id
            if parent:
                self.settle(parent)
        except Exception as e:  # noqa: BLE001  the child has ended; reconcile settles later
            logging.getLogger(__name__).warning("could not settle the parent of %s: %s",
                                                run_id, first_line(e))

    def delete(self, run_id: str) -> None:
        """Remove a run from the leaderboard (cancelling it first when it is still active)."""
        rec = self.get(run_id)
        if rec.active:
            self.cancel(run_id)
        _retry(lambda: self.client.delete_run(run_id))

    def cancel(self, run_id: str) -> bool:
        """Ask an active run to stop: a request in the store (which a worker anywhere polls)
        plus SIGTERM to a local worker. Returns whether the run was active. The worker marks it
        KILLED; a vanished worker is marked here."""
        rec = self.get(run_id)
        if not rec.active:
            return False
        self.set_tags(run_id, {CANCEL_TAG: "1"})
        if rec.is_parent:  # its children stop; the last to end settles it
            for child in self.children(run_id):
                self.cancel(child.run_id)
            self.settle(run_id)
            return True
        if self.is_remote(rec):  # its worker polls the request; a silent or unstarted one ends here
            age = self.heartbeat_age(rec)
            if age is None and rec.status == "SCHEDULED":
                self.finish(run_id, "KILLED", "cancelled while queued")
            elif age is not None and age > HEARTBEAT_STALE_S:
                self.finish(run_id, "KILLED", "cancelled (the worker was no longer running)")
            return True
        pid = int(rec.tags.get(PID_TAG) or 0)
        if self._local(rec) and pid_alive(pid, rec.tags.get(PID_START_TAG) or None):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        elif self._local(rec):
            self.finish(run_id, "KILLED", "cancelled (the worker was no longer running)")
        return True

    # --- reading ----------------------------------------------------------------------------
    def get(self, run_id: str) -> RunRecord:
        try:
            run = _retry(lambda: self.client.get_run(run_id))
        except Exception as e:  # noqa: BLE001
            raise SpecError(f"run '{run_id}'", f"is not in the run store ({first_line(e, 120)})"
                            ) from None
        return _record(run)

    def list_runs(self, reconcile: bool = True, max_results: int = 5000) -> list[RunRecord]:
        """Every (not deleted) run, newest first; dead workers are reconciled first."""
        runs = [_record(r) for r in _retry(lambda: self.client.search_runs(
            [self.experiment_id], max_results=max_results, order_by=["attributes.start_time DESC"]))]
        if reconcile and self.reconcile(runs):
            return self.list_runs(reconcile=False, max_results=max_results)
        return runs

    def children(self, run_id: str) -> list[RunRecord]:
        """The (not deleted) child runs of a parent run, oldest first."""
        found = _retry(lambda: self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{run_id}'",
            max_results=5000, order_by=["attributes.start_time ASC"]))
        return [_record(r) for r in found]

    def settle(self, run_id: str, kids: list[RunRecord] | None = None) -> str | None:
        """End an active parent run when its children have all ended (see
        :func:`parent_status`); returns the status it took, or None while it waits."""
        rec = self.get(run_id)
        if not rec.active or not rec.is_parent:
            return None
        kids = self.children(run_id) if kids is None else kids
        expected = int(rec.tags.get(CHILDREN_TAG) or 0)
        cancelled = rec.tags.get(CANCEL_TAG) == "1"
        status = parent_status([k.status for k in kids], expected, cancelled)
        if status is None and _abandoned(rec, kids):
            status = "KILLED" if cancelled else "FAILED"  # its creation was abandoned part way
        if status is None:
            return None
        self.finish(run_id, status, _parent_error(status, kids, expected, cancelled))
        return status

    def history(self, run_id: str, keys: Iterable[str]) -> dict[str, list[tuple[int, float]]]:
        """Per-step values of each metric key, in step order."""
        out = {}
        for key in keys:
            hist = _retry(lambda k=key: self.client.get_metric_history(run_id, k))
            out[key] = sorted((m.step, m.value) for m in hist)
        return out

    def artifact_text(self, run_id: str, path: str) -> str | None:
        """The text of one artifact, or None when the run has none at that path."""
        try:
            local = _retry(lambda: self.client.download_artifacts(run_id, path))
        except Exception:  # noqa: BLE001
            return None
        try:
            return Path(local).read_text(encoding="utf-8")
        except OSError:
            return None

    def artifact_json(self, run_id: str, path: str) -> Any | None:
        """One JSON artifact, parsed; None when the run has none there or it is not JSON."""
        text = self.artifact_text(run_id, path)
        try:
            return json.loads(text) if text else None
        except ValueError:
            return None

    def run_config(self, run_id: str) -> dict[str, Any] | None:
        """The run's config as it was created (``TrainConfig.to_dict()``, the ``config.json``
        artifact the worker reads); None when it is missing or unreadable."""
        doc = self.artifact_json(run_id, "config.json")
        return doc if isinstance(doc, dict) else None

    def artifact_path(self, run_id: str, path: str) -> Path | None:
        try:
            return Path(_retry(lambda: self.client.download_artifacts(run_id, path)))
        except Exception:  # noqa: BLE001
            return None

    # --- live state (in the store, so it travels) -------------------------------------------
    def write_progress(self, run_id: str, progress: dict[str, Any]) -> None:
        """Replace the run's live progress (what the pages' live view polls)."""
        self.set_tags(run_id, {PROGRESS_TAG: json.dumps({**progress, "updated": time.time()},
                                                         default=str)})

    def progress(self, run_id: str, rec: RunRecord | None = None) -> dict[str, Any]:
        rec = rec or self.get(run_id)
        try:
            return json.loads(rec.tags.get(PROGRESS_TAG) or "{}")
        except ValueError:
            return {}

    def cancel_requested(self, run_id: str) -> bool:
        return self.get(run_id).tags.get(CANCEL_TAG) == "1"

    @staticmethod
    def log_path(run_id: str) -> Path:
        """The local worker's log file (stdout and stderr), on the host that ran it."""
        folder = data_dir() / "worker-logs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{run_id}.log"

    def log_tail(self, run_id: str, lines: int = 20) -> str:
        """The last lines of the run's worker log: the local file of a local worker, else the
        tail a remote worker keeps in the store (readable from any host)."""
        try:
            text = self.log_path(run_id).read_text(errors="replace")
        except OSError:
            try:
                text = self.get(run_id).tags.get(LOG_TAIL_TAG, "")
            except SpecError:
                return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- faults ------------------------------------------------------------------------------
    @staticmethod
    def _local(rec: RunRecord) -> bool:
        return rec.tags.get(HOST_TAG, socket.gethostname()) == socket.gethostname()

    def reconcile(self, runs: list[RunRecord] | None = None) -> list[str]:
        """Mark active runs whose worker is gone as FAILED/KILLED: a local worker's process
        (on this host), a remote worker's heartbeat (from any host).

        Returns the ids it changed. A run with no pid yet is left alone for a grace period."""
        changed = []
        runs = runs if runs is not None else self.list_runs(reconcile=False)
        for rec in runs:
            if rec.active and rec.is_parent:
                kids = [r for r in runs if r.parent_id == rec.run_id]
                if self.settle(rec.run_id, sorted(kids, key=lambda r: r.start_time or 0)):
                    changed.append(rec.run_id)
                continue
            if rec.active and self.is_remote(rec):
                if self._remote_gone(rec):
                    changed.append(rec.run_id)
                continue
            if not rec.active or not self._local(rec):
                continue
            pid = int(rec.tags.get(PID_TAG) or 0)
            if not pid:
                if rec.start_time and time.time() - rec.start_time > 120:
                    self.finish(rec.run_id, "FAILED", "the worker never started")
                    changed.append(rec.run_id)
                continue
            if pid_alive(pid, rec.tags.get(PID_START_TAG) or None):
                continue
            self._end_dead(rec, f"the worker process (pid {pid}) ended without reporting"
                           "{where}: killed or crashed; see the worker log")
            changed.append(rec.run_id)
        return changed

    def _remote_gone(self, rec: RunRecord) -> bool:
        """End a remote run whose heartbeat went stale (its worker was killed or its node lost);
        True when it did. A queued one (no heartbeat yet) waits for the cluster's resources."""
        age = self.heartbeat_age(rec)
        if age is None:
            started = rec.status == "RUNNING" and rec.start_time
            if not (started and time.time() - rec.start_time > 120):
                return False
            age = time.time() - rec.start_time
        elif age <= HEARTBEAT_STALE_S:
            return False
        self._end_dead(rec, "the remote worker stopped reporting{where} "
                       f"({age:.0f} s without a heartbeat): killed, or its node was lost")
        return True

    def _end_dead(self, rec: RunRecord, message: str) -> None:
        """End a run whose worker is gone: KILLED when a cancel was asked for, else FAILED with
        ``message`` (its ``{where}`` becomes " during epoch N" from the last progress)."""
        if rec.tags.get(CANCEL_TAG) == "1":
            self.finish(rec.run_id, "KILLED", "cancelled")
            return
        last = self.progress(rec.run_id, rec)
        where = f" during epoch {last['epoch']}" if last.get("epoch") else ""
        self.finish(rec.run_id, "FAILED", message.replace("{where}", where))


def _parent_error(status: str, kids: list[RunRecord], expected: int, cancelled: bool
                  ) -> str | None:
    """The error line of a parent that did not finish: what its children did."""
    if status == "FINISHED":
        return None
    if not kids:
        return "none of its runs was started"
    failed = [k for k in kids if k.status == "FAILED"]
    counts = ", ".join(f"{n} {s.lower()}" for s in TERMINAL
                       if (n := sum(k.status == s for k in kids)))
    text = "cancelled: " if cancelled else ""
    text += f"{counts} of {len(kids)} runs"
    if len(kids) < expected:
        text += f" (only {len(kids)} of {expected} were started)"
    if failed:
        text += f"; first failure: {failed[0].name}: {failed[0].error or 'no error recorded'}"
    return text


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]


def _record(run: Any) -> RunRecord:
    info, data = run.info, run.data
    return RunRecord(
        run_id=info.run_id, name=info.run_name or info.run_id[:8], status=info.status,
        start_time=info.start_time / 1000 if info.start_time else None,
        end_time=info.end_time / 1000 if info.end_time else None,
        params=dict(data.params), metrics=dict(data.metrics), tags=dict(data.tags))
