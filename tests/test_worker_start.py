"""A run launched with a job slot free starts at once: the launcher hands the slot to the worker,
so the run is RUNNING (phase "starting") when ``launch`` returns, instead of showing "Queued:
waiting for a free job slot" for the seconds its process needs to import MLflow and Keras
(6.4 s on the 2-core machine before). With every slot taken it still queues."""
from __future__ import annotations

import time

import pytest

from playground.store import RunStore
from playground.train import TrainConfig
from playground.train.worker import _free_slot, launch

from conftest import wait_terminal

TINY = {"name": "tiny", "input_shape": [16, 16, 3], "blocks": [
    {"type": "conv", "params": {"filters": 4}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}}
LAUNCH_BOUND_S = 3.0  # launch's own store writes: measured 0.4-0.7 s on a busy 2-core machine


def _config(**kw) -> TrainConfig:
    return TrainConfig(spec=TINY, dataset="shapes", epochs=1, batch_size=32,
                       dataset_options={"image_size": 16, "count": 60}, **kw)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    s = RunStore()
    s.list_runs()  # the store exists before the clock starts
    return s


def test_a_run_with_a_free_slot_is_running_when_launch_returns(store):
    t0 = time.monotonic()
    run_id = launch(_config(), store)
    took = time.monotonic() - t0
    rec = store.get(run_id)
    assert rec.status == "RUNNING" and store.progress(run_id, rec)["phase"] == "starting"
    assert took < LAUNCH_BOUND_S, f"launch took {took:.2f} s"
    rec = wait_terminal(store, run_id, 180)
    assert rec.status == "FINISHED", rec.error


def test_with_every_slot_taken_a_run_queues_until_one_is_free(store):
    held = _free_slot()  # another worker's slot
    assert held is not None
    try:
        run_id = launch(_config(name="waits"), store)
        time.sleep(1.0)
        rec = store.get(run_id)
        assert rec.status == "SCHEDULED" and store.progress(run_id, rec) == {}
        assert _free_slot() is None
    finally:
        held.close()
    rec = wait_terminal(store, run_id, 180)
    assert rec.status == "FINISHED", rec.error
