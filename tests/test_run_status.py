"""Reading a run's state: the run store's config and JSON artifacts of a run, and the text every
run list shows (durations, metric figures, a run's label)."""
from __future__ import annotations

import datetime as dt

import pytest

from playground.store import RunRecord, RunStore
from playground.train.config import TrainConfig
from playground.ui.run_status import duration_text, metric_text, result_label


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return RunStore()


def test_run_config_is_read_from_the_store(store):
    config = TrainConfig(dataset="shapes", name="a run")
    run_id = store.create_run("r", {})  # any host's run: the artifact is all there is
    store.log_text(run_id, config.to_json(), "config.json")
    assert TrainConfig.from_dict(store.run_config(run_id)) == config
    assert store.run_config(store.create_run("none", {})) is None
    broken = store.create_run("broken", {})
    store.log_text(broken, "{not json", "config.json")
    assert store.run_config(broken) is None
    legacy = store.create_run("legacy", {})  # stored before recipes: kind/extra
    store.log_text(legacy, '{"target": "x", "kind": "transfer", "extra": {"backbone": "B"}}',
                   "config.json")
    old = TrainConfig.from_dict(store.run_config(legacy))
    assert old.recipe == "transfer" and old.options == {"backbone": "B"}


def test_artifact_json(store):
    run_id = store.create_run("r", {})
    store.log_text(run_id, '{"matrix": [[1, 0], [0, 1]]}', "confusion_matrix.json")
    store.log_text(run_id, "not json", "bad.json")
    assert store.artifact_json(run_id, "confusion_matrix.json") == {"matrix": [[1, 0], [0, 1]]}
    assert store.artifact_json(run_id, "bad.json") is None
    assert store.artifact_json(run_id, "missing.json") is None


@pytest.mark.parametrize("seconds, text", [(None, "-"), (float("nan"), "-"), (4.4, "4 s"),
                                           (65, "1 min 05 s"), (3599, "59 min 59 s"),
                                           (7500, "2 h 05 min")])
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


@pytest.mark.parametrize("value, kind, text", [(0.8123, "%", "81.2%"), (1234.4, "rate", "1,234"),
                                               (0.123456, "", "0.1235"), (None, "%", "-"),
                                               (float("inf"), "", "-")])
def test_metric_text(value, kind, text):
    assert metric_text(value, kind) == text


def test_result_label():
    start = dt.datetime(2026, 3, 4, 5, 6).timestamp()
    done = RunRecord("r1", "net", "FINISHED", start, None, metrics={"final_val_accuracy": 0.9})
    failed = RunRecord("r2", "net", "FAILED", start, None, metrics={"val_accuracy": 0.4})
    assert result_label(done) == "net · finished · 90.0% · 04 Mar 05:06"
    assert result_label(failed) == "net · failed · 04 Mar 05:06"  # no score for a failed run
    assert result_label(done, with_status=False) == "net · 90.0% · 04 Mar 05:06"
    assert result_label(RunRecord("r3", "new", "FINISHED", None, None)) == "new · finished · "
