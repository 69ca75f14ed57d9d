"""Where a run's worker runs: the executor seam. The pages, the CLI and sweeps submit through
:func:`submit` and cancel through :func:`cancel`; ``PLAYGROUND_EXECUTOR`` picks the executor:

- ``local`` (the default, no server): a worker process on this machine
  (:func:`playground.train.worker.launch`: launch-ordered queue, ``PLAYGROUND_MAX_JOBS`` slots).
- ``ray``: one Ray task per run on the cluster at ``RAY_ADDRESS`` (without it ``ray.init()``
  starts a local instance), asking for ``PLAYGROUND_CPUS_PER_RUN`` CPUs (default 1) and the
  run's GPUs (:func:`gpus_for`: whole or a fraction of one, several runs sharing a GPU).

Both run the same body: :func:`playground.train.runs.claim`, then
:func:`playground.train.runs.execute`. Everything a run reports or is steered by travels
through the run store (MLflow): config, progress, status, the cancel request, metrics and
artifacts; a Ray worker also keeps a heartbeat tag (a killed worker is marked from any host by
:meth:`playground.store.RunStore.reconcile`) and its log's tail there (``log_tail`` works
anywhere), and its whole log as the ``worker.log`` artifact.

A run is submitted once: :func:`submit` records it (SCHEDULED) and hands it to the executor from
the same process, in the same call; nothing ever submits a run it did not just create (no
process scans the store for queued runs), so several Streamlit replicas over one store cannot
launch a run twice. Should a second worker start anyway (a retry, a hand-started worker), the
claim (a write-once MLflow param) lets only the first one train it.

On Ray the tasks are owned by one detached actor per cluster (the *dispatcher*), not by the app
process that asked, so a run outlives a restart of the Streamlit replica that submitted it (Ray
ends a task when its owner exits); the dispatcher also watches its tasks and marks a run whose
worker died (killed, out of memory, node lost) FAILED, or KILLED when it was being cancelled,
within a second of Ray noticing. ``import ray`` happens only here, and only for ``ray``.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playground.errors import SpecError, first_line
from playground.paths import data_dir
from playground.store import CANCEL_TAG, EXECUTOR_TAG, HEARTBEAT_TAG, LOG_TAIL_TAG, RunStore
from playground.train.config import TrainConfig

EXECUTORS = ("local", "ray")
ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "playground"
DISPATCHER = "playground-dispatcher"
RAY_TASK_TAG = "playground.ray.task"
RAY_NODE_TAG = "playground.ray.node"
HEARTBEAT_S = 2.0        # a Ray worker's heartbeat (and cancel poll) period
CANCEL_GRACE_S = 30.0    # a run still going this long after its cancel request is ended by force
LOG_TAIL_LINES = 60
LOG_TAIL_CHARS = 4000    # MLflow tags hold 5,000 characters
LOG_ARTIFACT = "worker.log"
LOG_ARTIFACT_MAX = 1_000_000
log = logging.getLogger(__name__)


# --- the seam ------------------------------------------------------------------------------
def executor_name() -> str:
    """``$PLAYGROUND_EXECUTOR`` (``local`` unless set); SpecError naming the known ones."""
    name = (os.environ.get("PLAYGROUND_EXECUTOR") or "local").strip().lower()
    if name not in EXECUTORS:
        raise SpecError("PLAYGROUND_EXECUTOR", f"must be one of {', '.join(EXECUTORS)}, "
                        f"got {name!r}")
    return name


def submit(config: TrainConfig, store: RunStore | None = None,
           tags: dict[str, str] | None = None) -> str:
    """Record a run (SCHEDULED, its config in the store) and hand it to the executor once;
    returns the run id at once. ``tags`` go on the run (a sweep's child carries its parent's
    id). The signature of :data:`playground.train.sweeps.Submit`."""
    store = store or RunStore()
    if executor_name() == "ray":
        return _ray_submit(config, store, tags)
    from playground.train import worker  # looked up at call time (tests replace launch)
    return worker.launch(config, store, tags) if tags else worker.launch(config, store)


def cancel(run_id: str, store: RunStore | None = None) -> bool:
    """Ask a run (or a sweep: its children) to stop, through the store's cancel request, which
    every executor's worker polls (a local one also gets SIGTERM); the worker ends it KILLED.
    Returns whether it was active."""
    return (store or RunStore()).cancel(run_id)


def where_runs() -> str:
    """Where a submitted run goes, for the pages' note ("in a background process (2 job
    slots...)", "on the Ray cluster at ...")."""
    try:
        name = executor_name()
    except SpecError as e:
        return f"nowhere yet: {e.where} {e.rule}"
    if name == "ray":
        address = os.environ.get("RAY_ADDRESS")
        return (f"as a Ray task on the cluster at {address} (queued there for free CPUs/GPUs)"
                if address else "as a Ray task on a local Ray instance")
    from playground.train.worker import max_jobs
    slots = max_jobs()
    return (f"in a background process ({slots} job slot{'s' if slots > 1 else ''}; more runs "
            "wait in a queue)")


# --- resources -----------------------------------------------------------------------------
def cpus_per_run() -> float:
    """``$PLAYGROUND_CPUS_PER_RUN`` (default 1; fractions let runs overlap on few cores)."""
    text = os.environ.get("PLAYGROUND_CPUS_PER_RUN") or "1"
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1024:
        raise SpecError("PLAYGROUND_CPUS_PER_RUN", f"must be a positive number, got {text!r}")
    return value


def gpus_for(config: TrainConfig, cluster_gpus: float) -> float:
    """The GPUs a run asks for: its ``num_gpus``; else none for device ``cpu``; else
    ``$PLAYGROUND_GPUS_PER_RUN`` (e.g. 0.25: four runs share a GPU); else one for device
    ``gpu``, and for ``auto`` one when the cluster has GPUs. SpecError when a run must have
    a GPU the cluster does not have."""
    if config.num_gpus is not None:
        gpus = float(config.num_gpus)
    elif config.device == "cpu" or (config.device == "auto" and cluster_gpus <= 0):
        return 0.0  # auto with no GPU anywhere runs on CPUs
    else:
        text = os.environ.get("PLAYGROUND_GPUS_PER_RUN")
        try:
            gpus = float(config.with_(num_gpus=float(text)).validate().num_gpus or 0) if text \
                else 1.0
        except (ValueError, SpecError):
            raise SpecError("PLAYGROUND_GPUS_PER_RUN", "must be a fraction from 0 to 1 or a "
                            f"whole number of GPUs, got {text!r}") from None
    if gpus > 0 and cluster_gpus < gpus:
        raise SpecError("training option 'num_gpus'", f"asks for {gpus:g} GPU(s) but the Ray "
                        f"cluster has {cluster_gpus:g}")
    return gpus


def task_env(config: TrainConfig, gpus: float, local: bool) -> dict[str, str]:
    """The environment of a run's Ray worker: its Keras backend, GPU sharing
    (:func:`playground.train.worker.gpu_env`), and, when Ray runs on this machine (no
    ``RAY_ADDRESS``), this checkout and data folder, as a local worker gets them."""
    from playground.train.worker import gpu_env
    env = {"KERAS_BACKEND": config.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if config.device == "cpu" or gpus == 0:
        env["CUDA_VISIBLE_DEVICES"] = ""
    env.update(gpu_env(gpus if gpus else None))
    if local:
        env["PYTHONPATH"] = _pythonpath()
        env["PLAYGROUND_DATA"] = str(data_dir())
        env["JAX_COMPILATION_CACHE_DIR"] = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(
            data_dir() / "jax-cache")
        if os.environ.get("KERAS_HOME"):
            env["KERAS_HOME"] = os.environ["KERAS_HOME"]
    return env


def _pythonpath() -> str:
    """This checkout first, so a worker on this machine imports the code that submitted."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)


# --- ray: the submitting side --------------------------------------------------------------
_lock = threading.Lock()
_init_lock = threading.Lock()
_dispatcher_handle: Any = None


def _ray() -> Any:
    """The ``ray`` module, connected: to ``$RAY_ADDRESS``, to a cluster started on this machine
    (``ray start --head``), or to a new local instance. SpecError when it cannot be."""
    try:
        import ray
    except ImportError:
        raise SpecError("PLAYGROUND_EXECUTOR=ray", "needs Ray: pip install -e '.[ray]'"
                        ) from None
    with _init_lock:
        if not ray.is_initialized():
            try:
                _init_in_lasting_thread(lambda: ray.init(
                    namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING))
            except Exception as e:  # noqa: BLE001  unreachable address, version mismatch...
                raise SpecError("Ray cluster", f"cannot be reached at "
                                f"{os.environ.get('RAY_ADDRESS') or 'a local instance'} "
                                f"({first_line(e, 200)})") from None
    return ray


def _init_in_lasting_thread(init: Any) -> None:
    """Run ``init`` in the main thread, or else in a thread that lives as long as the process:
    a local Ray instance's processes get a parent-death signal when the *thread* that started
    them ends, and a Streamlit script's thread ends after every rerun."""
    if threading.current_thread() is threading.main_thread():
        init()
        return
    done = threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            init()
        except BaseException as e:  # noqa: BLE001  raised in the caller's thread below
            failed.append(e)
        done.set()
        if not failed:
            threading.Event().wait()  # keep this thread (the instance's parent) alive

    threading.Thread(target=hold, daemon=True, name="ray-driver").start()
    done.wait()
    if failed:
        raise failed[0]


def _dispatcher(fresh: bool = False) -> Any:
    """A handle on the cluster's dispatcher actor, created by whoever asks first (a named,
    detached actor: Ray makes exactly one)."""
    global _dispatcher_handle
    with _lock:
        if _dispatcher_handle is None or fresh:
            ray = _ray()
            local = not os.environ.get("RAY_ADDRESS")
            env = {"PYTHONPATH": _pythonpath()} if local else {}
            _dispatcher_handle = ray.remote(Dispatcher).options(
                name=DISPATCHER, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
                num_cpus=0, max_restarts=0, runtime_env={"env_vars": env}).remote()
        return _dispatcher_handle


def _ray_submit(config: TrainConfig, store: RunStore, tags: dict[str, str] | None) -> str:
    """Check the run fits the cluster, record it, hand it to the dispatcher (one call)."""
    from playground.train.runs import create
    config.validate()
    ray = _ray()
    cpus = cpus_per_run()
    gpus = gpus_for(config, float(ray.cluster_resources().get("GPU", 0)))
    options = {"num_cpus": cpus, "num_gpus": gpus, "max_retries": 0,
               "runtime_env": {"env_vars": task_env(config, gpus,
                                                    not os.environ.get("RAY_ADDRESS"))}}
    run_id = create(config, store, {**(tags or {}), EXECUTOR_TAG: "ray"})
    options["name"] = f"playground run {run_id[:8]}"
    try:
        try:
            ray.get(_dispatcher().submit.remote(run_id, store.uri, options), timeout=120)
        except ray.exceptions.RayActorError:  # the dispatcher died (its node was lost)
            ray.get(_dispatcher(fresh=True).submit.remote(run_id, store.uri, options),
                    timeout=120)
    except Exception as e:  # noqa: BLE001
        store.finish(run_id, "FAILED", f"could not submit it to Ray: {first_line(e, 300)}")
        raise SpecError("Ray cluster", f"did not take the run ({first_line(e, 200)})") from None
    return run_id


# --- ray: the dispatcher (an actor on the cluster) -----------------------------------------
class Dispatcher:
    """Owns the cluster's run tasks (so they outlive the app process that asked) and watches
    them: a task that ended without closing its run (its worker was killed, ran out of memory,
    or its node was lost) has its run marked FAILED, or KILLED when it was being cancelled."""

    def __init__(self) -> None:
        self._refs: dict[Any, tuple[str, str]] = {}
        self._seen: set[str] = set()
        self._mutex = threading.Lock()
        import ray
        self._task = ray.remote(max_calls=1, max_retries=0)(run_task)
        threading.Thread(target=self._watch, daemon=True, name="watch-runs").start()

    def submit(self, run_id: str, uri: str, options: dict[str, Any]) -> bool:
        """Start the run's task once; False (nothing started) for a run already submitted."""
        with self._mutex:
            if run_id in self._seen:
                return False
            self._seen.add(run_id)
        ref = self._task.options(**options).remote(run_id, uri)
        with self._mutex:
            self._refs[ref] = (run_id, uri)
        return True

    def running(self) -> list[str]:
        """The runs whose task has not ended yet."""
        with self._mutex:
            return [run_id for run_id, _ in self._refs.values()]

    def _watch(self) -> None:
        import ray
        while True:
            with self._mutex:
                refs = list(self._refs)
            if not refs:
                time.sleep(0.2)
                continue
            done, _ = ray.wait(refs, num_returns=1, timeout=0.5, fetch_local=False)
            for ref in done:
                with self._mutex:
                    run_id, uri = self._refs.pop(ref)
                try:
                    ray.get(ref)
                except Exception as e:  # noqa: BLE001
                    try:
                        task_ended(RunStore(uri), run_id, e)
                    except Exception as e2:  # noqa: BLE001  the store is down: reconcile later
                        log.warning("could not mark run %s: %s", run_id, first_line(e2))


def task_ended(store: RunStore, run_id: str, error: BaseException) -> None:
    """Close a run whose Ray task ended by ``error`` without closing it (nothing when the run
    ended already): KILLED when cancelled, else FAILED with what Ray said."""
    rec = store.get(run_id)
    if not rec.active:
        return
    text = first_line(error, 300)
    if rec.tags.get(CANCEL_TAG) == "1" or "TaskCancelled" in type(error).__name__:
        store.finish(run_id, "KILLED", "cancelled")
    elif "OutOfMemory" in type(error).__name__:
        store.finish(run_id, "FAILED", f"out of memory: Ray killed the worker ({text})")
    else:
        store.finish(run_id, "FAILED", f"the Ray worker ended without reporting "
                     f"({type(error).__name__}: {text})")


# --- ray: the task (a fresh worker process per run) ----------------------------------------
def run_task(run_id: str, uri: str) -> dict[str, Any]:
    """A run's Ray task: claim it, then the same :func:`playground.train.runs.execute` a local
    worker runs, with a heartbeat thread (liveness, the cancel poll, the log tail) beside it."""
    import ray
    from playground.train.runs import claim, execute, stored_config
    store = RunStore(uri)
    with CapturedLog() as captured:
        if not claim(store, run_id):  # ended while queued, or another worker has it
            return {"run_id": run_id, "status": "skipped"}
        cancelled = threading.Event()
        beat = Heartbeat(store, run_id, cancelled, captured)
        ctx = ray.get_runtime_context()
        beat.beat({RAY_TASK_TAG: ctx.get_task_id() or "", RAY_NODE_TAG: ctx.get_node_id()})
        store.mark_running(run_id)  # this process's pid and host, then RUNNING
        beat.start()
        try:
            config = stored_config(store, run_id)
            os.environ["KERAS_BACKEND"] = config.backend
            from playground._env import import_keras_quietly
            import_keras_quietly()
            return execute(config, store, run_id, cancelled)
        except Exception as e:  # noqa: BLE001  execute recorded it; a config error is recorded here
            if store.get(run_id).active:
                store.finish(run_id, "FAILED", first_line(e, 500))
            return {"run_id": run_id, "status": "FAILED", "error": first_line(e, 500)}
        finally:
            beat.stop()
            captured.to_store(store, run_id)


class CapturedLog:
    """This process's stdout and stderr (file descriptors 1 and 2, so C++ logs too) into a
    temporary file while a run executes, for its tail in the store and the log artifact."""

    def __enter__(self) -> "CapturedLog":
        sys.stdout.flush()
        sys.stderr.flush()
        fd, self.path = tempfile.mkstemp(prefix="playground-run-", suffix=".log")
        self._saved = (os.dup(1), os.dup(2))
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        self._streams = (sys.stdout, sys.stderr)  # Python's prints to the same descriptors
        sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
        sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = self._streams
        for target, saved in zip((1, 2), self._saved):
            os.dup2(saved, target)
            os.close(saved)
        Path(self.path).unlink(missing_ok=True)

    def read(self, limit: int) -> str:
        """The last ``limit`` characters or so written so far."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self) -> str:
        """The last lines (at most :data:`LOG_TAIL_LINES`, :data:`LOG_TAIL_CHARS`)."""
        sys.stdout.flush()
        sys.stderr.flush()
        text = "\n".join(self.read(4 * LOG_TAIL_CHARS).splitlines()[-LOG_TAIL_LINES:])
        return text[-LOG_TAIL_CHARS:]

    def to_store(self, store: RunStore, run_id: str) -> None:
        """The tail as a tag and the log (its last megabyte) as the ``worker.log`` artifact."""
        try:
            store.set_tags(run_id, {LOG_TAIL_TAG: self.tail()})
            store.log_text(run_id, self.read(LOG_ARTIFACT_MAX), LOG_ARTIFACT)
        except Exception as e:  # noqa: BLE001  the run has ended; only its log is lost
            log.warning("could not store the log of run %s: %s", run_id, first_line(e))


class Heartbeat(threading.Thread):
    """Every :data:`HEARTBEAT_S`: the heartbeat tag (and the log tail when it changed) to the
    store, and the cancel request polled from it (before training starts too). A run still
    going :data:`CANCEL_GRACE_S` after its cancel request is marked KILLED and its process
    exits."""

    def __init__(self, store: RunStore, run_id: str, cancelled: threading.Event,
                 captured: CapturedLog):
        super().__init__(daemon=True, name=f"heartbeat-{run_id[:8]}")
        self.store, self.run_id, self.cancelled, self.captured = store, run_id, cancelled, captured
        self._stop_event = threading.Event()
        self._sent = ""
        self._cancel_seen: float | None = None

    def beat(self, extra: dict[str, str] | None = None) -> None:
        tags = {HEARTBEAT_TAG: f"{time.time():.3f}", **(extra or {})}
        tail = self.captured.tail()
        if tail != self._sent:
            tags[LOG_TAIL_TAG] = tail
        self.store.set_tags(self.run_id, tags)
        self._sent = tail

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_S):
            try:
                self.beat()
                if self._cancel_seen is None and self.store.cancel_requested(self.run_id):
                    self._cancel_seen = time.monotonic()
                    self.cancelled.set()
            except Exception as e:  # noqa: BLE001  a slow or absent store: try again
                log.warning("heartbeat of run %s: %s", self.run_id, first_line(e))
            if self._cancel_seen is not None and (time.monotonic() - self._cancel_seen
                                                  > CANCEL_GRACE_S):
                self.store.finish(self.run_id, "KILLED", "cancelled (stopped by force after "
                                  f"{CANCEL_GRACE_S:.0f} s)")
                os._exit(1)

    def stop(self) -> None:
        self._stop_event.set()


__all__ = ["EXECUTORS", "submit", "cancel", "executor_name", "where_runs", "cpus_per_run",
           "gpus_for", "task_env", "run_task", "task_ended", "Dispatcher"]
