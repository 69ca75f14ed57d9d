"""The input shape and classes a registered data set gives with its options, known before it is
loaded (the Train page's cost preview), and checked against what loading really gives."""
from __future__ import annotations

import pytest

from playground.data import DATASETS, load


@pytest.mark.parametrize("name, options, expect", [
    ("shapes", {}, ((32, 32, 3), 3)),
    ("shapes_hard", {}, ((32, 32, 3), 6)),
    ("shapes", {"image_size": 24, "channels": 3, "classes": 5}, ((24, 24, 3), 5)),
    ("digits", {}, ((8, 8, 1), 10)),
    ("mnist", {"limit": 100}, ((28, 28, 1), 10)),
    ("fashion_mnist", {}, ((28, 28, 1), 10)),
    ("cifar10", {}, ((32, 32, 3), 10)),
    ("cifar100", {}, ((32, 32, 3), 100)),
    ("folder", {"image_size": 48}, ((48, 48, 3), None)),
    ("folder", {}, ((64, 64, 3), None)),
])
def test_shape_from_options(name, options, expect):
    assert DATASETS.get(name).shape(options) == expect


@pytest.mark.parametrize("name", ["csv", "upload", "synthetic"])
def test_shape_unknown_before_loading(name):
    assert DATASETS.get(name).shape({}) is None


@pytest.mark.parametrize("name, options", [
    ("shapes", {"image_size": 20, "channels": 3, "classes": 4, "count": 40}),
    ("digits", {}),
])
def test_shape_matches_the_loaded_data(name, options):
    ds = load(name, **options)
    assert DATASETS.get(name).shape(options) == (ds.input_shape, ds.num_classes)
