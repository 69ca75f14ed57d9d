"""Data sets for training runs, as uint8 image arrays (N, H, W, C) with integer labels.

Offline and always there: ``shapes`` (generated, deterministic by seed) and ``digits``
(scikit-learn's 8x8 handwritten digits). When the machine can download: Keras' ``mnist``,
``fashion_mnist``, ``cifar10`` and ``cifar100`` through Keras' own loader and cache; without a
network they fail with a message that says so and names the offline alternatives.
"""
from playground.data.base import DATASETS, Dataset, DatasetInfo, load, split
from playground.data import builtin, files, saved  # noqa: E402,F401  (registration)

__all__ = ["Dataset", "DatasetInfo", "DATASETS", "load", "split"]
