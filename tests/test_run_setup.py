"""From form values to a validated TrainConfig: the Train page's job (the learning rate as text,
a file data set without its file) and the Transfer page's run (its default name, a run
backbone's weights, the image set resized once for the backbone)."""
from __future__ import annotations

import numpy as np
import pytest

from playground.data.saved import list_saved, save_images
from playground.errors import SpecError
from playground.run_setup import (parse_float, train_config, transfer_run_config,
                                  transfer_run_name, without_imagenet)
from playground.store import RunRecord
from playground.train.config import TrainConfig
from playground.zoo.starter import QUICK_CNN

FORM = dict(spec=QUICK_CNN.to_dict(), target="", dataset="shapes", dataset_options={},
            epochs=2, batch_size=32, optimizer="adam", learning_rate="0.003")


@pytest.mark.parametrize("text, value", [("0.003", 0.003), (" 1e-4 ", 1e-4)])
def test_parse_float(text, value):
    assert parse_float(text, "learning_rate") == value


@pytest.mark.parametrize("text, rule", [("fast", "must be a number like 0.001, got 'fast'"),
                                        ("nan", "must be a finite number, got 'nan'"),
                                        ("inf", "must be a finite number")])
def test_parse_float_names_the_option(text, rule):
    with pytest.raises(SpecError) as e:
        parse_float(text, "learning_rate")
    assert e.value.where == "training option 'learning_rate'" and rule in e.value.rule


def test_train_config_reads_the_learning_rate_text():
    config = train_config(FORM)
    assert config.learning_rate == 0.003 and config.spec["name"] == "quick-cnn"
    assert train_config({**FORM, "learning_rate": "  "}).learning_rate is None  # the default
    with pytest.raises(SpecError, match="must be in"):
        train_config({**FORM, "learning_rate": "20"})


def test_a_file_data_set_needs_its_file():
    with pytest.raises(SpecError) as e:
        train_config({**FORM, "dataset": "csv", "dataset_options": {"path": ""}})
    assert e.value.where == "data set 'csv'" and e.value.rule == "upload a file or give a path"


def _run(run_id: str, name: str) -> RunRecord:
    return RunRecord(run_id=run_id, name=name, status="FINISHED", start_time=None,
                     end_time=None)


def test_transfer_run_names():
    assert transfer_run_name("MobileNetV2", "pets") == "MobileNetV2 on pets"
    rid = "0123456789abcdef"
    assert transfer_run_name(f"run:{rid}", "pets", _run(rid, "my cnn")) == \
        "my cnn (transfer) on pets"
    assert transfer_run_name(f"run:{rid}", "pets") == "run 01234567 (transfer) on pets"


def test_transfer_run_config_resizes_the_set_once_and_names_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    x = np.zeros((8, 40, 40, 3), "uint8")
    set_id = save_images(x, np.arange(8) % 2, ("a", "b"), "pets", {})
    values = dict(backbone="MobileNetV2", weights="imagenet", epochs=3, image_size=32, name="")
    config = transfer_run_config(values, set_id, 0.25, 32)
    assert config.recipe == "transfer" and config.name == "MobileNetV2 on pets"
    assert config.options["weights"] == "imagenet" and config.options["image_size"] == 32
    resized = config.dataset_options["id"]
    assert resized != set_id and [s["shape"][:2] for s in list_saved() if s["id"] == resized] == \
        [[32, 32]]
    again = transfer_run_config({**values, "name": "mine"}, set_id, 0.25, 32)
    assert again.dataset_options["id"] == resized and again.name == "mine"
    rid = "fedcba9876543210"
    from_run = transfer_run_config({**values, "backbone": f"run:{rid}", "image_size": None},
                                   set_id, 0.25, 40, _run(rid, "my cnn"))
    assert from_run.options["weights"] == "none"  # the run brings its own weights
    assert from_run.dataset_options["id"] == set_id and from_run.name == "my cnn (transfer) on pets"
    with pytest.raises(SpecError, match="not one of the Keras Applications"):
        transfer_run_config({**values, "backbone": "MobileNetV9"}, set_id, 0.25, 32)


def test_without_imagenet():
    config = TrainConfig(target="MobileNetV2", dataset="upload", dataset_options={"id": "x"},
                         recipe="transfer", name="offline try",
                         options={"backbone": "MobileNetV2", "weights": "imagenet"})
    retry = without_imagenet(config)
    assert retry.options == {"backbone": "MobileNetV2", "weights": "none"}
    assert retry.name == "offline try (random init)" and config.options["weights"] == "imagenet"


def test_an_edited_zoo_model_trains_under_a_name_of_its_own():
    """Builder -> Start from a zoo entry -> an edit: the leaderboard must not call it the zoo's."""
    from playground.editor import EditSession
    from playground.run_setup import builder_model_name
    from playground.zoo import ZOO
    loaded = EditSession.start().load(ZOO.get("resnet20-cifar").spec())
    assert builder_model_name(loaded.spec) == "resnet20-cifar"
    assert builder_model_name(loaded.set_input((64, 64, 1)).spec) == "resnet20-cifar"
    assert builder_model_name(loaded.delete_block(1).spec) == "resnet20-cifar (edited)"
    assert builder_model_name(loaded.delete_block(1).undo().spec) == "resnet20-cifar"
    assert builder_model_name(loaded.delete_block(1).spec.replace(name="my net")) == "my net"
    assert builder_model_name(ZOO.get("lenet5").spec()) == "lenet5"


# --- the Train page's time hint: from the architecture's cost, never a blanket "seconds" ------
def _timed(macs: float, ips: float, status: str = "FINISHED", recipe: str = "scratch"):
    return RunRecord("r", "r", status, None, None,
                     params={"cost.macs": str(int(macs)), "recipe": recipe},
                     metrics={"images_per_s": ips})


def test_training_rate_is_measured_by_the_latest_finished_runs():
    from playground.run_setup import DEFAULT_TRAIN_RATE, RATE_RUNS, training_rate
    assert training_rate([]) == (DEFAULT_TRAIN_RATE, 0)
    runs = [_timed(1e6, 1000), _timed(2e6, 1000), _timed(1e6, 4000),
            _timed(1e9, 1, status="FAILED"), _timed(1e9, 1, recipe="transfer"),
            RunRecord("x", "x", "FINISHED", None, None)]  # no figures
    assert training_rate(runs) == (3 * 2e9, 3)  # the median of 3e9, 6e9 and 12e9
    many = [_timed(1e6, 1000)] * RATE_RUNS + [_timed(1e9, 1e6)]
    assert training_rate(many) == (3e9, RATE_RUNS)  # older runs do not count


def test_epoch_time_and_its_words():
    from playground.run_setup import epoch_seconds, rough_duration, time_estimate
    # 800 training steps at 3 x 1M MACs and 200 validation images at 1M, at 1G MACs/s
    assert epoch_seconds(1e6, 1000, 0.2, 1e9) == pytest.approx((800 * 3e6 + 200 * 1e6) / 1e9)
    assert [rough_duration(s) for s in (0.4, 42, 200, 3 * 3600, 5 * 86400)] == [
        "under a second", "about 42 s", "about 3 min", "about 3 h", "about 5 days"]
    # ResNet-50 at 32x32 (86M MACs) on 3,000 images is minutes per epoch on a CPU, not seconds
    slow = time_estimate(86e6, 3000, 0.2, 10)
    assert slow.startswith("Estimated time: about 67 s per epoch, about 11 min for 10 epochs")
    assert "a typical rate for a 2-core CPU" in slow
    fast = time_estimate(2.2e6, 3000, 0.2, 10, [_timed(2.2e6, 1800)])
    assert fast.startswith("Estimated time: about 1 s per epoch") and "your last 1 run " in fast
    assert time_estimate(37e6, None, 0.2, 10).startswith(
        "Estimated time: 11 ms per training image (37.0M MACs per image")


def test_data_sets_say_how_many_images_they_hold_before_loading(tmp_path, monkeypatch):
    from playground.data import DATASETS
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    assert DATASETS.get("shapes").count() == 3000
    assert DATASETS.get("shapes_hard").count({"count": 600}) == 600
    assert DATASETS.get("digits").count() == 1797
    assert DATASETS.get("cifar10").count() == 50000
    assert DATASETS.get("mnist").count({"limit": 5000}) == 5000
    assert DATASETS.get("folder").count({"path": "/x"}) is None
    assert DATASETS.get("upload").count({"id": "0123456789ab"}) is None  # no such set
    set_id = save_images(np.zeros((7, 8, 8, 3), "uint8"), np.arange(7) % 2, ("a", "b"), "s")
    assert DATASETS.get("upload").count({"id": set_id}) == 7
