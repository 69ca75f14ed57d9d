"""Data sets: the offline ones load deterministically; downloads fail with a clear message."""
import numpy as np
import pytest

from playground.data import DATASETS, load
from playground.data.builtin import SHAPES, _mask
from playground.errors import SpecError


def test_shapes_is_deterministic_balanced_and_uint8():
    a = load("shapes", classes=4, image_size=24, count=80, seed=3)
    b = load("shapes", classes=4, image_size=24, count=80, seed=3)
    c = load("shapes", classes=4, image_size=24, count=80, seed=4)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.dtype == np.uint8 and a.input_shape == (24, 24, 3)
    assert a.class_names == SHAPES[:4] and a.num_classes == 4
    assert len(a.x_train) + len(a.x_val) == 80
    assert np.bincount(a.y_val, minlength=4).tolist() == [4, 4, 4, 4]  # 20% of each class
    assert load("shapes", channels=3, count=12).input_shape == (32, 32, 3)


@pytest.mark.parametrize("kind", SHAPES)
def test_every_shape_draws_a_distinct_non_empty_mask(kind):
    m = _mask(kind, 32, 16, 16, 8)
    assert 20 < m.sum() < 32 * 32 / 2
    others = [_mask(k, 32, 16, 16, 8) for k in SHAPES if k != kind]
    assert all((m != o).sum() > 5 for o in others)


def test_digits_are_real_8x8_digits():
    d = load("digits", val_split=0.25)
    assert d.input_shape == (8, 8, 1) and d.num_classes == 10
    assert len(d.x_train) + len(d.x_val) == 1797
    assert d.x_train.max() == 255 and d.x_train.min() == 0


def test_download_failure_is_one_clear_message(monkeypatch):
    import keras

    def offline():
        raise OSError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(SpecError) as e:
        load("mnist")
    msg = str(e.value)
    assert msg.startswith("data set 'mnist': could not be loaded")
    assert "name resolution" in msg and "'digits' and 'shapes'" in msg


def test_keras_sets_use_keras_loader_shapes(monkeypatch):
    import keras
    x = np.zeros((50, 28, 28), "uint8")
    y = np.arange(50) % 10
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", lambda: ((x, y), (x, y)))
    d = load("fashion_mnist", limit=40)
    assert d.input_shape == (28, 28, 1) and len(d.x_train) + len(d.x_val) == 40
    assert d.class_names[-1] == "ankle boot"


@pytest.mark.parametrize("name, opts, rule", [
    ("shapez", {}, "is unknown; known: shapes"),
    ("shapes", {"classes": 1}, "classes must be between 2"),
    ("shapes", {"image_size": 4}, "image_size must be between 8"),
    ("shapes", {"count": 3}, "count must be at least"),
    ("shapes", {"val_split": 1.5}, "validation split must be between 0 and 1"),
    ("shapes", {"colour": 1}, "unknown option"),
    ("digits", {"val_split": 0}, "validation split"),
])
def test_bad_options_are_spec_errors(name, opts, rule):
    with pytest.raises(SpecError, match=rule):
        load(name, **opts)


def test_registry_lists_offline_and_download_sets():
    assert [n for n in DATASETS.list() if DATASETS.get(n).offline] == ["shapes", "shapes_hard", "digits", "synthetic", "folder", "csv", "upload"]
    assert {"mnist", "fashion_mnist", "cifar10", "cifar100"} <= set(DATASETS.list())


def test_synthetic_is_random_uint8_and_checks_its_options():
    a = load("synthetic", image_size=16, count=100, classes=4)
    b = load("synthetic", image_size=16, count=100, classes=4)
    assert a.x_train.shape[1:] == (16, 16, 3) and a.x_train.dtype == np.uint8
    assert len(a.x_train) + len(a.x_val) == 100 and a.num_classes == 4
    assert np.array_equal(a.x_train, b.x_train)
    with pytest.raises(SpecError, match="image_size"):
        load("synthetic", image_size=2)
