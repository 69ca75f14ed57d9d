"""Data sets: the offline ones load deterministically; downloads fail with a clear message."""
import socket

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


# --- every registered data set ------------------------------------------------------------
# Each offline set with tiny options and what a person would count by hand: (images, classes,
# input shape). A registered offline set missing here fails test_every_offline_set_has_an_example.


def _folder_options(tmp_path) -> dict:
    """Two class folders of three 5x7 RGB PNGs each."""
    from PIL import Image
    for label, colour in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (5, 7), colour).save(tmp_path / "pets" / label / f"{i}.png")
    return {"path": str(tmp_path / "pets"), "image_size": 8, "val_split": 0.34}


def _csv_options(tmp_path) -> dict:
    """Eight rows of three numeric features and a two-class label."""
    rows = ["a,b,c,kind"] + [f"{i},{i * 2},{i % 3},{'odd' if i % 2 else 'even'}" for i in range(8)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"path": str(tmp_path / "t.csv"), "val_split": 0.25}


def _upload_options(tmp_path) -> dict:
    """Six stored 8x8 RGB images of two classes."""
    from playground.data.saved import save_images
    x = np.zeros((6, 8, 8, 3), np.uint8)
    return {"id": save_images(x, [0, 1] * 3, ("a", "b")), "val_split": 0.34}


OFFLINE = {
    "shapes": (lambda tmp: {"classes": 2, "image_size": 8, "count": 10, "channels": 1}, 10, 2,
               (8, 8, 1)),
    "shapes_hard": (lambda tmp: {"image_size": 8, "count": 12}, 12, 6, (8, 8, 3)),
    "digits": (lambda tmp: {}, 1797, 10, (8, 8, 1)),
    "synthetic": (lambda tmp: {"classes": 2, "image_size": 8, "count": 8, "val_split": 0.25},
                  8, 2, (8, 8, 3)),
    "folder": (_folder_options, 2 * 3, 2, (8, 8, 3)),
    "csv": (_csv_options, 8, 2, (3, 1)),
    "upload": (_upload_options, 6, 2, (8, 8, 3)),
}
OFFLINE_SETS = [n for n in DATASETS.list() if DATASETS.get(n).offline]
DOWNLOAD_SETS = [n for n in DATASETS.list() if not DATASETS.get(n).offline]


def test_every_offline_set_has_an_example():
    """Registering an offline data set without a tiny example in OFFLINE fails here, naming it."""
    missing = [n for n in OFFLINE_SETS if n not in OFFLINE]
    assert missing == [], f"offline data sets with no example in OFFLINE: {missing}"
    assert sorted(set(OFFLINE) - set(OFFLINE_SETS)) == []  # no stale example


@pytest.mark.parametrize("name", OFFLINE_SETS)
def test_every_offline_set_loads_tiny_arrays(name, tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "store"))
    options, count, classes, shape = OFFLINE[name]
    d = load(name, **options(tmp_path))
    assert d.name == name
    assert len(d.x_train) + len(d.x_val) == count and len(d.x_val) >= 1
    assert (len(d.y_train), len(d.y_val)) == (len(d.x_train), len(d.x_val))
    assert d.num_classes == classes and d.input_shape == shape == d.x_val.shape[1:]
    assert d.y_train.dtype == np.int32 and d.y_val.dtype == np.int32
    labels = np.concatenate([d.y_train, d.y_val])
    assert sorted(set(labels.tolist())) == list(range(classes))  # every class present


@pytest.mark.parametrize("name", DOWNLOAD_SETS)
def test_every_download_set_fails_offline_with_one_clear_message(name, monkeypatch):
    """No network (name resolution fails, the Keras cache is a fresh folder): one SpecError
    that says why and names the offline sets."""
    def offline(*args, **kwargs):
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    with pytest.raises(SpecError) as e:
        load(name)
    msg = str(e.value)
    assert msg.startswith(f"data set '{name}': could not be loaded"), msg
    assert "name resolution" in msg and "'digits' and 'shapes'" in msg
    assert "\n" not in msg


def test_synthetic_is_random_uint8_and_checks_its_options():
    a = load("synthetic", image_size=16, count=100, classes=4)
    b = load("synthetic", image_size=16, count=100, classes=4)
    assert a.x_train.shape[1:] == (16, 16, 3) and a.x_train.dtype == np.uint8
    assert len(a.x_train) + len(a.x_val) == 100 and a.num_classes == 4
    assert np.array_equal(a.x_train, b.x_train)
    with pytest.raises(SpecError, match="image_size"):
        load("synthetic", image_size=2)
