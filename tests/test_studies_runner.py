"""Study runs in the run store: execute() records settings, numbers (study.json) and the end
state; a failure ends the run FAILED with its error; start() runs the study in a detached
process (not a training slot) that the store shows finishing."""
from __future__ import annotations

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
