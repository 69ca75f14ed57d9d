"""AppTest for the Train page: the form, its validation (a bad option starts nothing), a real
background run from the Train button to its results, live progress of a run the page did not
start (found again from the store), Cancel, and a FAILED run's error on the page."""
from __future__ import annotations

import json
import subprocess

import pytest
from streamlit.testing.v1 import AppTest

from playground.editor import EditSession
from playground.spec import ArchSpec
from playground.store import RunStore

from conftest import fake_run, wait_terminal as _wait_terminal  # noqa: E402

PAGE = "../pages/train.py"
WAIT_S = 180  # a worker imports TensorFlow first: allow for a busy 2-core machine


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return RunStore()


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=120).run()


def _metric(at, label):
    return [m for m in at.metric if m.label == label][0].value


def _metric_help(at, label):
    return [m for m in at.metric if m.label == label][0].help


def test_defaults_show_the_starter_model_and_its_cost(store):
    at = _page()
    assert not at.exception
    assert at.title[0].value == "Train"
    assert at.selectbox(key="train_arch").value == "quick-cnn"
    assert at.selectbox(key="train_dataset").value == "shapes"
    assert _metric(at, "Parameters") == "14.4K"  # 3 convs 16/32/32 on RGB + a 3-class head
    assert not at.button(key="train_go").disabled
    assert any("No runs yet" in i.value for i in at.info)
    # the cost follows the data set: 1 input channel drops 2 x 9 x 16 weights of the first conv
    assert [m for m in at.metric if m.label == "Parameters"][0].help == f"{14_435:,}"
    at.number_input(key="ds_shapes_channels").set_value(1).run()
    assert [m for m in at.metric if m.label == "Parameters"][0].help == f"{14_435 - 288:,}"


def test_the_form_starts_at_the_short_run_recipe(store):
    """A run launched with the page's defaults uses the recipe the CLI and the benchmark use
    (the page once defaulted to Adam, a constant rate, no weight decay and 10 epochs)."""
    from playground.train.config import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, TrainConfig
    recipe = TrainConfig(target="")
    at = _page()
    assert at.number_input(key="train_epochs").value == recipe.epochs
    assert at.number_input(key="train_batch").value == recipe.batch_size
    assert at.selectbox(key="train_optimizer").value == recipe.optimizer == "adamw"
    assert at.selectbox(key="train_schedule").value == recipe.schedule == "one_cycle"
    assert float(at.text_input(key="train_lr_adamw").value) == DEFAULT_LR["adamw"]
    assert at.number_input(key="train_wd_adamw").value == DEFAULT_WEIGHT_DECAY["adamw"]
    at.selectbox(key="train_optimizer").set_value("sgd").run()
    assert float(at.text_input(key="train_lr_sgd").value) == DEFAULT_LR["sgd"]
    assert at.number_input(key="train_wd_sgd").value == DEFAULT_WEIGHT_DECAY["sgd"]


def test_builder_model_is_offered_first(store):
    at = AppTest.from_file(PAGE, default_timeout=120)
    spec = ArchSpec.from_dict({"name": "mine", "input_shape": [32, 32, 1], "blocks": [
        {"type": "conv", "name": "conv_1", "params": {"filters": 8, "kernel": 3}}],
        "head": {"type": "gap_head", "params": {"classes": 10}}})
    at.session_state["builder"] = EditSession.start(spec)
    at.run()
    assert not at.exception
    assert at.selectbox(key="train_arch").value == "@builder"
    assert at.selectbox(key="train_arch").options[0] == "The model in the Builder (mine)"
    assert _metric(at, "Parameters") == f"{8 * 9 * 3 + 8 + 8 * 3 + 3}"  # RGB conv + 3-class head


def test_an_edited_zoo_model_from_the_builder_trains_under_its_own_name(store, monkeypatch):
    from playground.zoo import ZOO
    launched = []
    monkeypatch.setattr("playground.train.worker.launch",
                        lambda c, s=None: launched.append(c) or "run-id-0")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["builder"] = EditSession.start().load(
        ZOO.get("resnet20-cifar").spec()).delete_block(1)
    at.run()
    assert not at.exception
    assert at.selectbox(key="train_arch").options[0] == \
        "The model in the Builder (resnet20-cifar (edited))"
    at.button(key="train_go").click().run()
    assert not at.exception
    assert [c.architecture for c in launched] == ["resnet20-cifar (edited)"]


def test_the_time_hint_follows_the_architecture_not_a_promise_of_seconds(store):
    """The Builder's ResNet-50 on 3,000 shapes: about a minute or more per epoch on a CPU."""
    from playground.run_setup import DEFAULT_TRAIN_RATE, epoch_seconds, time_estimate
    from playground.zoo import ZOO
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["builder"] = EditSession.start().load(ZOO.get("resnet50").spec())
    at.run()
    assert not at.exception
    macs = float(_metric_help(at, "MACs / image").replace(",", ""))
    hints = [c.value for c in at.caption if c.value.startswith("Estimated time")]
    epochs = at.number_input(key="train_epochs").value
    assert hints == [time_estimate(macs, 3000, 0.2, epochs)]
    assert epoch_seconds(macs, 3000, 0.2, DEFAULT_TRAIN_RATE) > 30
    assert f"min for {epochs} epochs" in hints[0]
    assert not any("second" in i.value for i in at.info)  # no blanket "a few seconds"
    at.selectbox(key="train_arch").set_value("quick-cnn").run()
    hints = [c.value for c in at.caption if c.value.startswith("Estimated time")]
    assert len(hints) == 1 and " s per epoch" in hints[0]


def test_headless_builder_model_blocks_the_train_button(store):
    at = AppTest.from_file(PAGE, default_timeout=120)
    spec = ArchSpec.from_dict({"name": "nohead", "input_shape": [32, 32, 1], "blocks": [
        {"type": "conv", "name": "conv_1", "params": {"filters": 8, "kernel": 3}}]})
    at.session_state["builder"] = EditSession.start(spec)
    at.run()
    assert any("no classifier head" in e.value for e in at.error)
    assert at.button(key="train_go").disabled


@pytest.mark.parametrize("lr, message", [("20", "must be in (0, 10]"),
                                         ("fast", "must be a number")])
def test_bad_options_show_an_error_and_start_nothing(store, lr, message):
    at = _page()
    at.text_input(key="train_lr_adamw").set_value(lr)
    at.button(key="train_go").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("training option 'learning_rate'" in e and message in e for e in errors), errors
    assert store.list_runs() == []


def test_train_button_runs_a_job_in_the_background_and_shows_its_results(store):
    at = _page()
    at.number_input(key="ds_shapes_image_size").set_value(24)
    at.number_input(key="ds_shapes_count").set_value(300)
    at.number_input(key="train_epochs").set_value(4)
    at.button(key="train_go").click().run()
    assert not at.exception, at.exception
    runs = store.list_runs()
    assert len(runs) == 1
    run_id = runs[0].run_id
    try:
        assert runs[0].params["architecture"] == "quick-cnn"
        assert json.loads(runs[0].params["dataset_options"]) == {
            "classes": 3, "image_size": 24, "count": 300, "noise": 0.1, "channels": 3,
            "clutter": 0}
        # the live view of the run the button started: running at once, with a slot free
        assert any(s.value == "Running" for s in at.subheader)
        assert at.button(key=f"cancel_{run_id}")
        texts = [p.proto.text for p in at.get("progress")]
        assert texts and not any(t.startswith("Queued") for t in texts), texts
    finally:
        rec = _wait_terminal(store, run_id)
    assert rec.status == "FINISHED", rec.error
    at.run()
    assert not at.exception
    assert not any(s.value == "Running" for s in at.subheader)
    assert at.selectbox(key="train_result").value == run_id
    assert _metric(at, "Epochs") == "4 / 4"
    # the headline is the saved model's accuracy on the validation split, recomputed here
    import keras
    import numpy as np
    from playground.data import load
    model = keras.saving.load_model(store.artifact_path(run_id, "model.keras"))
    ds = load("shapes", classes=3, image_size=24, count=300, noise=0.1, channels=3, seed=0,
              val_split=0.2)
    saved = float(np.mean(np.argmax(model.predict(ds.x_val, verbose=0), -1) == ds.y_val))
    assert _metric(at, "Val accuracy") == f"{saved:.1%}" == f"{store.get(run_id).val_accuracy:.1%}"
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # curves and the confusion matrix
    assert "Confusion matrix" in charts[1].proto.spec


def test_a_running_run_is_found_again_with_progress_and_can_be_cancelled(store):
    """A run the page did not start (another tab, the CLI, before a reload): its worker is a
    stand-in process here, so Cancel has something real to stop."""
    worker = subprocess.Popen(["sleep", "120"])
    try:
        run_id = store.create_run("live one", {"architecture": "quick-cnn", "dataset": "shapes",
                                               "epochs": 5, "batch_size": 32,
                                               "data.train": 320})
        store.mark_running(run_id, pid=worker.pid)
        store.log_metrics(run_id, {"loss": 0.9, "val_loss": 1.0, "accuracy": 0.6,
                                   "val_accuracy": 0.55}, 1)
        store.write_progress(run_id, {"phase": "train", "epoch": 2, "epochs": 5, "step": 4,
                                      "steps": 10, "elapsed_s": 3.0, "eta_s": 9.5,
                                      "images_per_s": 1234.0, "loss": 0.7, "accuracy": 0.7})
        at = _page()
        assert not at.exception
        assert any(s.value == "Running" for s in at.subheader)
        texts = [p.proto.text for p in at.get("progress")]
        assert "Epoch 2 / 5" in texts and "Step 4 / 10" in texts
        assert _metric(at, "ETA") == "10 s" and _metric(at, "Images / s") == "1,234"
        assert len(at.get("plotly_chart")) == 1
        at.button(key=f"cancel_{run_id}").click().run()
        assert worker.wait(timeout=10) != 0  # SIGTERM reached the worker
        at.run()
        assert not at.exception
        assert store.get(run_id).status == "KILLED"
        assert any("Stopped before the end" in w.value for w in at.warning)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_failed_run_shows_its_error_prominently(store):
    fake_run(store, "ok net", accs=(0.5, 0.9))
    fake_run(store, "nan net", accs=(0.4,), status="FAILED",
             error="loss became nan in epoch 2")
    at = _page()
    assert not at.exception
    assert at.selectbox(key="train_result").options[0].startswith("nan net · failed")
    assert any("This run failed" in e.value and "loss became nan in epoch 2" in e.value
               for e in at.error)
    # the earlier, finished run: metrics and curves, no error
    ok = [o for o in at.selectbox(key="train_result").options]
    at.selectbox(key="train_result").select_index(1).run()
    assert not at.error and len(ok) == 2
    assert _metric(at, "Val accuracy") == "90.0%"
