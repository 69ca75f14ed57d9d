"""The executor seam, with both executors: ``local`` (worker processes) and ``ray`` (a local Ray
instance, started once for the session). Three runs at once: one cancelled through the store
(KILLED), one whose worker process is killed (marked within seconds, its metrics kept), one that
finishes; all checked through MLflow client queries alone (no local run folder or log read).
Then what holds without a cluster: the claim that keeps a second worker from training a run,
remote runs' liveness by heartbeat, the log tail in the store, GPU requests."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from playground.errors import SpecError
from playground.store import (CANCEL_TAG, CLAIM_PARAM, EXECUTOR_TAG, HEARTBEAT_STALE_S,
                              HEARTBEAT_TAG, HOST_TAG, LOG_TAIL_TAG, PID_TAG, RunStore)
from playground.train import executors
from playground.train.config import TrainConfig
from playground.train.runs import claim, create
from playground.train.worker import gpu_env

DATA = {"count": 60}  # 48 training images: two steps an epoch
TERMINAL = ("FINISHED", "FAILED", "KILLED")
KILL_MARKED_S = 30.0  # measured on 2 busy cores: local 0.5 s; ray 1.8-7.3 s, over 35 s once at load 15
#                      alone, 7.3 s beside the two other runs (its dispatcher, then SQLite writes)


def lenet(**kw) -> TrainConfig:
    base = dict(target="lenet5", dataset="shapes", dataset_options=DATA, epochs=2,
                batch_size=32)
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="session")
def ray_instance():
    """One local Ray instance for the session (2 CPUs, no dashboard), shut down after."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, namespace=executors.NAMESPACE,
             log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def module_store(tmp_path_factory):
    """A store for this file's tests (a new MLflow database costs 5-10 s on two busy cores)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_DATA", str(tmp_path_factory.mktemp("executors-data")))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        s = RunStore()
        s.list_runs()
        yield s, os.environ["PLAYGROUND_DATA"]


@pytest.fixture
def store(module_store, monkeypatch):
    """The file's store (workers find it through PLAYGROUND_DATA)."""
    s, data = module_store
    monkeypatch.setenv("PLAYGROUND_DATA", data)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return s


@pytest.fixture(params=["local", "ray"])
def executor(request, monkeypatch, store):
    """The executor under test, set up so three runs really overlap on two cores: three job
    slots, or half a CPU per Ray task."""
    monkeypatch.setenv("PLAYGROUND_EXECUTOR", request.param)
    if request.param == "ray":
        request.getfixturevalue("ray_instance")
        monkeypatch.setenv("PLAYGROUND_CPUS_PER_RUN", "0.5")
    else:
        monkeypatch.setenv("PLAYGROUND_MAX_JOBS", "3")
    return request.param


def _poll(client, run_ids, until, timeout=150.0, every=0.2):
    """Poll MLflow until ``until(runs by id)`` is true; returns those runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = {i: client.get_run(i) for i in run_ids}
        if until(runs):
            return runs
        time.sleep(every)
    states = {i[:8]: (r.info.status, r.data.tags.get("playground.error"))
              for i, r in runs.items()}
    raise AssertionError(f"not reached in {timeout} s: {states}")


def _epochs(run) -> float:
    return run.data.metrics.get("epochs_done", 0)


# --- the acceptance test, on each executor -------------------------------------------------
def test_three_runs_at_once_cancelled_killed_and_finished(executor, store):
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=store.uri)  # the only window on the runs below
    long = dict(epochs=3000, time_budget_s=150)  # stopped long before either limit
    ids = {"cancel": executors.submit(lenet(name="to cancel", **long), store),
           "kill": executors.submit(lenet(name="to kill", **long), store),
           "finish": executors.submit(lenet(name="to finish"), store)}
    seen_all_running = []

    def started(runs):
        if all(r.info.status == "RUNNING" for r in runs.values()):
            seen_all_running.append(True)
        return _epochs(runs[ids["cancel"]]) >= 1 and _epochs(runs[ids["kill"]]) >= 1

    _poll(client, ids.values(), started)
    assert seen_all_running, "the three runs never ran at the same time"

    assert executors.cancel(ids["cancel"], store)
    pid = int(client.get_run(ids["kill"]).data.tags[PID_TAG])  # the worker writes its pid
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    t_kill = time.monotonic()
    _poll(client, [ids["kill"]], lambda r: r[ids["kill"]].info.status in TERMINAL,
          timeout=KILL_MARKED_S + 20, every=0.1)
    marked_s = time.monotonic() - t_kill
    print(f"{executor}: the killed worker's run was marked {marked_s:.1f} s after the kill")
    runs = _poll(client, ids.values(),
                 lambda r: all(x.info.status in TERMINAL for x in r.values()))

    killed = runs[ids["kill"]]
    assert killed.info.status in ("FAILED", "KILLED"), killed.data.tags
    assert marked_s < KILL_MARKED_S, f"marked {marked_s:.1f} s after the kill"
    assert killed.data.tags.get("playground.error")
    assert len(client.get_metric_history(ids["kill"], "loss")) >= 1  # its epochs so far kept

    cancelled = runs[ids["cancel"]]
    assert cancelled.info.status == "KILLED"
    assert cancelled.data.tags.get("playground.error") == "cancelled"
    assert cancelled.data.tags.get(CANCEL_TAG) == "1"

    done = runs[ids["finish"]]
    assert done.info.status == "FINISHED", done.data.tags.get("playground.error")
    assert done.data.metrics["epochs_done"] == 2
    assert [m.step for m in client.get_metric_history(ids["finish"], "loss")] == [1, 2]
    artifacts = {a.path for a in client.list_artifacts(ids["finish"])}
    assert {"config.json", "model.keras", "confusion_matrix.json", "spec.json"} <= artifacts
    for run_id, run in runs.items():  # each trained by exactly one claimed worker
        assert run.data.params.get(CLAIM_PARAM, "").endswith(
            run.data.tags[PID_TAG] + ":" + run.data.tags["playground.pid_start"])
    if executor == "ray":  # liveness and log are in the store, not on this host
        assert done.data.tags[EXECUTOR_TAG] == "ray" and HEARTBEAT_TAG in done.data.tags
        assert "worker.log" in artifacts and LOG_TAIL_TAG in done.data.tags
        assert not store.log_path(ids["finish"]).exists()


def test_a_sweep_submits_its_children_through_the_executor(executor, store):
    from playground.train import sweeps
    arms = [sweeps.Arm("lenet5", target="lenet5"), sweeps.Arm("lenet5 (b)", target="lenet5")]
    base = TrainConfig(dataset="shapes", dataset_options=DATA, epochs=1)
    sweep_id = sweeps.create(arms, base, 1, store)
    st = sweeps.wait(store, sweep_id, timeout=150, poll_s=0.5)
    assert st.status == "FINISHED", [c.error for c in st.children]
    assert len(st.children) == 2
    expected = "ray" if executor == "ray" else None
    assert {c.tags.get(EXECUTOR_TAG) for c in st.children} == {expected}


def test_the_ray_dispatcher_starts_a_run_once(ray_instance, store, monkeypatch):
    """A second submit of the same run is refused; a task for a run that has ended (cancelled
    while queued) exits without training it."""
    monkeypatch.setenv("PLAYGROUND_EXECUTOR", "ray")
    run_id = create(lenet(), store, {EXECUTOR_TAG: "ray"})
    store.finish(run_id, "KILLED", "cancelled while queued")
    options = {"num_cpus": 0.5, "num_gpus": 0, "max_retries": 0,
               "runtime_env": {"env_vars": executors.task_env(lenet(), 0, True)}}
    dispatcher = executors._dispatcher()
    ray = ray_instance
    assert ray.get(dispatcher.submit.remote(run_id, store.uri, options)) is True
    assert ray.get(dispatcher.submit.remote(run_id, store.uri, options)) is False
    deadline = time.monotonic() + 60
    while run_id in ray.get(dispatcher.running.remote()) and time.monotonic() < deadline:
        time.sleep(0.2)
    rec = store.get(run_id)
    assert rec.status == "KILLED" and CLAIM_PARAM not in rec.params and rec.metrics == {}


# --- one worker per run ----------------------------------------------------------------------
def test_the_claim_is_atomic_and_only_one_of_many_workers_wins(store):
    run_id = create(lenet(), store)
    wins: list[str] = []

    def worker(i: int) -> None:
        if RunStore(store.uri).claim(run_id, f"host:{i}:0"):
            wins.append(str(i))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.claim(run_id, f"host:{wins[0]}:0")  # the winner may claim again
    assert store.get(run_id).params[CLAIM_PARAM] == f"host:{wins[0]}:0"


def test_a_second_worker_for_a_claimed_run_exits_without_training(store, monkeypatch):
    from playground.train import worker
    monkeypatch.setenv("PLAYGROUND_MAX_JOBS", "1")
    run_id = create(lenet(), store)
    assert store.claim(run_id, "elsewhere:1:1")  # the first worker has it
    assert not claim(store, run_id)
    assert worker.main([run_id, "--store-uri", store.uri]) == 0
    rec = store.get(run_id)
    assert rec.status == "SCHEDULED" and rec.metrics == {}  # untouched: not trained here


def test_a_run_cancelled_while_queued_is_not_claimed(store):
    run_id = create(lenet(), store, {EXECUTOR_TAG: "ray"})
    assert executors.cancel(run_id, store)  # no worker yet: ended at once
    assert store.get(run_id).status == "KILLED"
    assert not claim(store, run_id)
    assert CLAIM_PARAM not in store.get(run_id).params


# --- remote liveness, without a cluster -------------------------------------------------------
def _remote_run(store, beat_age: float | None, status: str = "RUNNING") -> str:
    run_id = create(lenet(), store, {EXECUTOR_TAG: "ray"})
    tags = {HOST_TAG: "gpu-host-7", PID_TAG: 1}  # another host's pid: meaningless here
    if beat_age is not None:
        tags[HEARTBEAT_TAG] = time.time() - beat_age
    store.set_tags(run_id, tags)
    if status == "RUNNING":
        store.client.update_run(run_id, status="RUNNING")
    store.log_metrics(run_id, {"loss": 1.5, "epochs_done": 1}, 1)
    store.write_progress(run_id, {"phase": "train", "epoch": 2})
    return run_id


def test_a_remote_worker_gone_silent_is_marked_from_any_host(store):
    gone = _remote_run(store, HEARTBEAT_STALE_S + 5)
    alive = _remote_run(store, 1.0)
    queued = _remote_run(store, None, status="SCHEDULED")
    fresh = RunStore(store.uri)  # another replica's view: no pid of these runs is local
    assert fresh.reconcile([fresh.get(i) for i in (gone, alive, queued)]) == [gone]
    rec = fresh.get(gone)
    assert rec.status == "FAILED" and "stopped reporting during epoch 2" in rec.error
    assert fresh.history(gone, ["loss"])["loss"] == [(1, 1.5)]
    assert fresh.get(alive).status == "RUNNING" and fresh.get(queued).status == "SCHEDULED"


def test_cancelling_a_remote_run_leaves_it_to_its_worker_unless_silent(store):
    alive = _remote_run(store, 1.0)
    gone = _remote_run(store, HEARTBEAT_STALE_S + 5)
    assert executors.cancel(alive, store) and executors.cancel(gone, store)
    assert store.get(alive).status == "RUNNING"  # its worker polls the request and ends it
    assert store.cancel_requested(alive)
    assert store.get(gone).status == "KILLED"


def test_the_log_tail_of_a_remote_run_comes_from_the_store(store):
    run_id = _remote_run(store, 1.0)
    store.set_tags(run_id, {LOG_TAIL_TAG: "loading\nepoch 1\nepoch 2"})
    assert not store.log_path(run_id).exists()
    assert store.log_tail(run_id, 2) == "epoch 1\nepoch 2"


def test_the_ray_tasks_log_is_captured_at_the_descriptor():
    """What the worker process prints (C++ logs write to fd 2 directly) reaches the tail."""
    with executors.CapturedLog() as log:
        print("from python", flush=True)
        os.write(2, b"from fd 2\n")
        tail = log.tail()
    assert tail.splitlines() == ["from python", "from fd 2"]


# --- GPU requests ----------------------------------------------------------------------------
@pytest.mark.parametrize("value, ok", [(0.25, True), (1, True), (2, True), (1.5, False),
                                       (-1, False), (True, False)])
def test_num_gpus_is_a_fraction_or_whole_gpus(value, ok):
    config = lenet(num_gpus=value)
    if ok:
        assert config.validate().num_gpus == value
    else:
        with pytest.raises(SpecError, match="num_gpus"):
            config.validate()


def test_gpu_requests_and_sharing(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_GPUS_PER_RUN", raising=False)
    assert executors.gpus_for(lenet(), 0) == 0  # auto, no GPU in the cluster: CPUs
    assert executors.gpus_for(lenet(), 4) == 1
    assert executors.gpus_for(lenet(device="cpu"), 4) == 0
    assert executors.gpus_for(lenet(num_gpus=0.25), 1) == 0.25
    monkeypatch.setenv("PLAYGROUND_GPUS_PER_RUN", "0.5")
    assert executors.gpus_for(lenet(), 2) == 0.5
    with pytest.raises(SpecError, match="cluster has 0"):
        executors.gpus_for(lenet(device="gpu"), 0)
    env = executors.task_env(lenet(), 0.25, False)
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.24"
    assert "PLAYGROUND_DATA" not in env  # a cluster's hosts keep their own data folders
    assert gpu_env(1) == {} and gpu_env(None) == {}
    assert "CUDA_VISIBLE_DEVICES" not in executors.task_env(lenet(), 1, False)


def test_an_unknown_executor_is_named(monkeypatch, store):
    monkeypatch.setenv("PLAYGROUND_EXECUTOR", "slurm")
    before = len(store.list_runs())
    with pytest.raises(SpecError, match="local, ray"):
        executors.submit(lenet(), store)
    assert len(store.list_runs()) == before
    assert "PLAYGROUND_EXECUTOR" in executors.where_runs()


def test_a_local_ray_instance_is_started_from_a_thread_that_outlives_the_caller():
    """A Streamlit script's thread ends after each rerun, and a local Ray instance's processes
    die with the thread that started them: ray.init must run in a thread that stays."""
    ran_in: list[threading.Thread] = []
    caller = threading.Thread(target=executors._init_in_lasting_thread,
                              args=(lambda: ran_in.append(threading.current_thread()),))
    caller.start()
    caller.join()
    assert ran_in and ran_in[0] is not caller and ran_in[0].is_alive()
    errors: list[BaseException] = []

    def failing_caller() -> None:  # a failed init is raised in the caller's thread
        try:
            executors._init_in_lasting_thread(
                lambda: (_ for _ in ()).throw(RuntimeError("no cluster")))
        except RuntimeError as e:
            errors.append(e)

    caller = threading.Thread(target=failing_caller)
    caller.start()
    caller.join()
    assert [str(e) for e in errors] == ["no cluster"]
