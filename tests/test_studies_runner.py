"""Study runs in the run store: execute() records settings, numbers (study.json) and the end
state; a failure ends the run FAILED with its error; start() runs the study in a detached
process (not a training slot) that the store shows finishing."""
from __future__ import annotations

import subprocess
import time

import pytest

from playground.store import RunStore
from playground.studies import runner
from playground.studies.base import STUDY_TAG, Setting, study


@pytest.fixture
def stores(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return runner.study_store(uri), RunStore(uri)


def _toy(name="toy-run", fail=False):
    @study(name, 97, "Toy", "c", "l", settings=(Setting("k", "K", 2, lo=1, hi=9),))
    def measure(s, ctx):
        ctx.progress("halfway")
        if fail:
            raise RuntimeError("the toy broke\nsecond line")
        return {"square": s["k"] ** 2}
    return measure


def test_execute_records_settings_numbers_and_finishes(stores):
    st, train = stores
    toy = _toy()
    run_id = runner.create(toy, toy.resolve({"k": 3}), "default", st)
    assert st.get(run_id).status == "SCHEDULED"
    seen = []
    result = runner.execute(toy, run_id, {"k": "3"}, store=st, train_store=train,
                            progress=seen.append)
    assert result.numbers == {"square": 9} and seen == ["halfway"]
    rec = st.get(run_id)
    assert rec.status == "FINISHED" and rec.params["k"] == "3" and rec.tags[STUDY_TAG] == toy.name
    assert rec.tags[runner.KIND_TAG] == "study" and runner.line(rec) == "halfway"
    doc = runner.load(run_id, st)
    assert doc["numbers"] == {"square": 9} and doc["settings"] == {"k": 3}
    assert [r.run_id for r in runner.records(toy.name, st)] == [run_id]
    assert runner.records("other", st) == []
    assert RunStore(train.uri).list_runs() == []  # off the Leaderboard's experiment


def test_execute_failure_ends_the_run_failed_with_the_error(stores):
    st, train = stores
    toy = _toy("toy-fail", fail=True)
    run_id = runner.create(toy, toy.resolve(), "default", st)
    with pytest.raises(RuntimeError):
        runner.execute(toy, run_id, store=st, train_store=train)
    rec = st.get(run_id)
    assert rec.status == "FAILED" and rec.error == "RuntimeError: the toy broke"
    assert runner.load(run_id, st) is None


def test_start_runs_the_study_in_a_detached_process(stores, monkeypatch):
    st, _ = stores
    import playground.studies as studies
    from playground.train import worker
    monkeypatch.setattr(worker, "launch", lambda *a, **k: pytest.fail("took a worker slot"))
    paths = studies.get("residual-paths")
    run_id = runner.start(paths, {"n": "4", "lo": "1", "hi": "3"}, store=st)
    deadline = time.monotonic() + 120
    while st.get(run_id).active and time.monotonic() < deadline:
        time.sleep(0.5)
    rec = st.get(run_id)
    assert rec.status == "FINISHED", (rec.error, runner.log_path(run_id).read_text())
    doc = runner.load(run_id, st)
    assert doc["numbers"]["counts"] == [1, 4, 6, 4, 1] and doc["numbers"]["in_range"] == 14
    assert doc["settings"] == {"n": 4, "lo": 1, "hi": 3}
    assert int(rec.tags["playground.pid"]) > 0


def test_sigterm_cancels_the_study_run_and_its_unfinished_sweep(stores):
    import os
    import signal

    from playground.train import sweeps
    from playground.train.config import TrainConfig
    st, train = stores

    workers = []

    def submit(config, store, tags):  # a child that stays RUNNING (a worker still training)
        rid = store.create_run(config.name, {"architecture": config.target}, tags=tags)
        workers.append(subprocess.Popen(["sleep", "60"]))
        store.mark_running(rid, workers[-1].pid)
        return rid

    @study("toy-cancel", 96, "Toy", "c", "l")
    def measure(s, ctx):
        ctx.submit = submit
        try:
            ctx.sweep("toy", [sweeps.Arm("r20", target="resnet20-cifar")], TrainConfig(epochs=1),
                      [0], timeout=0.2)
        except TimeoutError:
            pass
        ctx.parents.append(sweeps.create([sweeps.Arm("r20", target="resnet20-cifar")],
                                         TrainConfig(epochs=1), [1], store=ctx.store,
                                         submit=submit))
        os.kill(os.getpid(), signal.SIGTERM)  # what runner.cancel sends the orchestrator
        return {}

    old = signal.getsignal(signal.SIGTERM)
    try:
        runner.on_sigterm_cancel()
        run_id = runner.create(measure, {}, "default", st)
        with pytest.raises(runner.Cancelled):
            runner.execute(measure, run_id, store=st, train_store=train)
    finally:
        signal.signal(signal.SIGTERM, old)
        for w in workers:
            w.kill()
            w.wait()
    assert len(workers) == 2
    rec = st.get(run_id)
    assert rec.status == "KILLED" and rec.error == "cancelled"
    made = [r.run_id for r in runner.sweeps_of(run_id, train)]  # tagged by ctx.sweep
    assert len(made) == 1
    # both sweeps were asked to stop: the one past its timeout, and the one in flight
    for parent in sweeps.sweeps(train):
        kids = train.children(parent.run_id)
        assert kids and all(k.tags.get("playground.cancel_requested") == "1" for k in kids)
    assert len(sweeps.sweeps(train)) == 2
