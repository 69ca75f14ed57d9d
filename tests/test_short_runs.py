"""Short runs whose numbers can be trusted: batch-norm statistics adapted to few steps, the
generated data cached, sanity guards that name a run's problem, and transfer that learns (from
a run backbone and from random initialisation) on images unlike the backbone's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.data import cache, load
from playground.data import builtin
from playground.data.samples import disc_square_images, write_class_folders
from playground.store import RunStore
from playground.train import TrainConfig
from playground.train.guards import chance_margin, run_warnings
from playground.train.fitting import (adapt_batchnorm, batchnorm_layers, reestimate_batchnorm,
                                      short_run_bn_momentum)
from playground.train.runs import run_local

ROOT = Path(__file__).resolve().parent.parent
BN_CNN = {"name": "bn-cnn", "input_shape": [32, 32, 3], "blocks": [
    {"type": "conv", "params": {"filters": 16, "batch_norm": True}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32, "batch_norm": True}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32, "batch_norm": True}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}}


# --- guards (pure) -----------------------------------------------------------------------------
def rows(losses, accs, vals):
    return [{"loss": l, "accuracy": a, "val_accuracy": v} for l, a, v in zip(losses, accs, vals)]


def test_a_healthy_run_has_no_warning():
    h = rows([1.1, 0.5, 0.2], [0.4, 0.8, 0.95], [0.5, 0.85, 0.96])
    assert run_warnings(h, classes=3, n_val=200, val_accuracy=0.96) == []


def test_flat_loss_is_named_with_its_numbers():
    h = rows([0.6932, 0.6931, 0.6932], [0.5, 0.49, 0.5], [0.5, 0.5, 0.5])
    (w,) = run_warnings(h, classes=2, n_val=40, val_accuracy=0.5)
    assert w.startswith("flat loss") and "0.6932" in w and "learning rate" in w


def test_memorising_is_told_apart_from_not_learning():
    h = rows([1.0, 0.3, 0.05], [0.4, 0.9, 1.0], [0.33, 0.34, 0.33])
    (w,) = run_warnings(h, classes=3, n_val=120, val_accuracy=0.33)
    assert "stays at chance" in w and "100%" in w and "batch-norm" in w


def test_a_large_train_validation_gap_is_named():
    h = rows([1.0, 0.3, 0.05], [0.5, 0.9, 0.98], [0.4, 0.5, 0.6])
    (w,) = run_warnings(h, classes=3, n_val=300, val_accuracy=0.6)
    assert w.startswith("large gap") and "98%" in w and "60%" in w
    assert run_warnings(h, classes=3, n_val=300, val_accuracy=0.8) == []


def test_nan_loss_is_named():
    h = rows([1.0, float("nan")], [0.5, 0.5], [0.5, 0.5])
    assert any("NaN" in w for w in run_warnings(h, classes=2, n_val=100, val_accuracy=0.5))


def test_chance_margin_shrinks_with_more_validation_images():
    assert chance_margin(2, 40) == pytest.approx(2 * np.sqrt(0.25 / 40))
    assert chance_margin(2, 100_000) == 0.05
    just_above = 0.5 + chance_margin(2, 40) + 0.01
    h = rows([1.0, 0.6], [0.5, 0.7], [0.5, just_above])
    assert run_warnings(h, classes=2, n_val=40, val_accuracy=just_above) == []


# --- batch norm for short runs ---------------------------------------------------------------
def test_bn_momentum_follows_the_epoch_length():
    assert short_run_bn_momentum(15) == pytest.approx(1 - 2 / 15)
    assert short_run_bn_momentum(2) == 0.5       # never below 0.5
    assert short_run_bn_momentum(10_000) == 0.99  # long epochs keep Keras' default


def test_adapt_batchnorm_reaches_nested_models():
    import keras
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(momentum=0.999)])
    outer = keras.Sequential([keras.Input((8,)), keras.layers.BatchNormalization(), inner])
    assert adapt_batchnorm(outer, steps=20) == 2
    assert [bn.momentum for bn in batchnorm_layers(outer)] == [pytest.approx(0.9)] * 2


def test_reestimated_statistics_are_the_training_batches_averages(monkeypatch):
    """Stale moving statistics (as after a short run whose weights moved fast) are replaced by
    the average of the batch statistics (in chunks of several batches when images are small);
    frozen batch norm keeps its own."""
    import keras
    from playground.train import fitting
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(96, 4)) * [1, 2, 3, 4] + [5, 0, -5, 10]).astype("float32")
    bn, frozen = keras.layers.BatchNormalization(), keras.layers.BatchNormalization()
    model = keras.Sequential([keras.Input((4,)), bn, keras.layers.Dense(3), frozen])
    frozen.trainable = False
    before = np.array(frozen.moving_mean)
    assert reestimate_batchnorm(model, x, batch_size=32, batches=3) == 1  # one chunk of 96
    np.testing.assert_allclose(bn.moving_mean, x.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance, x.var(0), rtol=1e-3)
    monkeypatch.setattr(fitting, "PRECISE_BN_CHUNK_ELEMENTS", 4 * 32)  # one batch per chunk
    assert reestimate_batchnorm(model, x, batch_size=32, batches=3) == 1
    batches = x.reshape(3, 32, 4)
    np.testing.assert_allclose(bn.moving_mean, batches.mean(1).mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(bn.moving_variance, batches.var(1).mean(0), rtol=1e-3)
    np.testing.assert_allclose(frozen.moving_mean, before)
    assert bn.momentum == 0.99  # restored
    monkeypatch.setattr(fitting, "PRECISE_BN_CHUNK_ELEMENTS", 4 * 48)  # 80 as 40 + 40, not 48 + 32
    reestimate_batchnorm(model, x[:80], batch_size=32, batches=3)
    np.testing.assert_allclose(bn.moving_mean, x[:80].reshape(2, 40, 4).mean(1).mean(0),
                               rtol=1e-4, atol=1e-4)


# --- data ----------------------------------------------------------------------------------------
def test_generated_shapes_are_made_once_then_read_from_memory_and_disk(monkeypatch):
    opts = dict(image_size=16, count=60, seed=11)
    a = load("shapes", **opts)
    key = cache.cache_key("shapes", dict(classes=3, image_size=16, count=60, noise=0.1,
                                         channels=3, clutter=0, seed=11))
    assert key in cache._MEMORY

    def no_generation(*args, **kwargs):
        raise AssertionError("regenerated although cached")
    monkeypatch.setattr(builtin, "_shape_image", no_generation)
    b = load("shapes", **opts)                         # memory
    monkeypatch.setattr(cache, "_MEMORY", {})
    c = load("shapes", **opts)                         # disk
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.x_train, c.x_train)


def test_the_defaults_are_colour_images_and_shapes_hard_is_harder():
    from playground.data import DATASETS
    d, h = DATASETS.get("shapes").options, DATASETS.get("shapes_hard").options
    assert d["channels"] == 3 and d["count"] >= 3000
    assert h["classes"] > d["classes"] and h["noise"] > d["noise"] and h["clutter"] > 0
    small = load("shapes_hard", count=24, image_size=16)
    assert small.num_classes == 6 and small.input_shape == (16, 16, 3)


# --- runs ------------------------------------------------------------------------------------------
def test_a_model_that_cannot_learn_warns_on_the_run(tmp_path):
    """Random labels (the synthetic set has nothing to learn): the run ends with a warning."""
    store = RunStore()
    result = run_local(TrainConfig(spec=BN_CNN, dataset="synthetic", epochs=3,
                                   dataset_options={"image_size": 16, "count": 240,
                                                    "classes": 3}), store)
    assert result["status"] == "FINISHED"
    assert result["warnings"] and "chance" in result["warnings"][0]
    assert store.get(result["run_id"]).warnings == result["warnings"]


@pytest.fixture(scope="module")
def shapes_run():
    """A small batch-norm CNN trained on the default shapes (fewer images, for speed)."""
    res = run_local(TrainConfig(spec=BN_CNN, dataset="shapes", epochs=4,
                                dataset_options={"count": 900}))
    assert res["status"] == "FINISHED" and res["val_accuracy"] >= 0.9, res
    return res["run_id"]


def finetune(folder: Path, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "playground", "finetune", "--images",
                          str(folder), *args, "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env=os.environ.copy())
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def unlike_images(tmp_path_factory):
    """200 images of 96x96 red discs vs blue squares on noisy gradients: not the shapes data."""
    x, y, names = disc_square_images(200, 96, seed=5)
    return write_class_folders(tmp_path_factory.mktemp("discs"), x, y, names)


def test_transfer_from_a_run_backbone_learns_unlike_images(shapes_run, unlike_images):
    result = finetune(unlike_images, "--backbone", f"run:{shapes_run}")
    assert result["status"] == "FINISHED" and result["val_accuracy"] >= 0.9, result
    assert result["warnings"] == []


def test_transfer_from_random_initialisation_trains_the_whole_network(unlike_images):
    result = finetune(unlike_images, "--backbone", "MobileNetV2", "--weights", "none",
                      "--image-size", "64")
    assert result["status"] == "FINISHED" and result["mode"] == "from scratch"
    assert result["val_accuracy"] >= 0.85, result
    rec = RunStore().get(result["run_id"])
    assert rec.params["transfer.mode"] == "from scratch"
