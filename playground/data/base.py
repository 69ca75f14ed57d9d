"""The data-set types and registry: :class:`Dataset` (arrays ready for ``fit``),
:class:`DatasetInfo` (a registered loader with its options), ``DATASETS``, the per-class
validation split and :func:`load`. The loaders register themselves from their own modules."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from playground.errors import SpecError
from playground.registry import Registry


@dataclass(frozen=True)
class Dataset:
    """Arrays ready for ``model.fit``: images uint8 (N, H, W, C), labels int32 (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    class_names: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


Shape = tuple[tuple[int, ...], int | None]  # (input shape, classes or None)


@dataclass(frozen=True)
class DatasetInfo:
    """A registered data set: its loader, default options and, where it is known before
    loading, the input shape and classes its options give (``shape_of``) and how many images
    (training and validation together) it holds (``count_of``)."""

    name: str
    summary: str
    load: Callable[..., Dataset]
    offline: bool
    options: dict[str, Any] = field(default_factory=dict)
    shape_of: Callable[[dict[str, Any]], Shape] | None = None
    count_of: Callable[[dict[str, Any]], int | None] | None = None

    def shape(self, options: dict[str, Any] | None = None) -> Shape | None:
        """(input shape, classes or None) the data set gives with ``options`` (over its
        defaults), known without loading it; None when only the data tells (a CSV's width)."""
        if self.shape_of is None:
            return None
        return self.shape_of({**self.options, **(options or {})})

    def count(self, options: dict[str, Any] | None = None) -> int | None:
        """Images the data set gives with ``options`` (before the validation split), known
        without loading it; None when only the data tells (a folder, a CSV)."""
        n = None if self.count_of is None else self.count_of({**self.options, **(options or {})})
        return None if n is None else int(n)


DATASETS: Registry[DatasetInfo] = Registry("data set")


def split(name: str, x: np.ndarray, y: np.ndarray, class_names: tuple[str, ...],
          val_fraction: float, seed: int, **meta: Any) -> Dataset:
    """Shuffle deterministically and hold out ``val_fraction`` of every class for validation."""
    if not 0.0 < val_fraction < 1.0:
        raise SpecError(f"data set '{name}'", f"validation split must be between 0 and 1, got "
                        f"{val_fraction}")
    rng = np.random.default_rng(seed)
    val_idx, train_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = max(1, int(round(len(idx) * val_fraction)))
        if len(idx) - k < 1:
            raise SpecError(f"data set '{name}'", f"class {class_names[int(c)]!r} has too few "
                            f"examples ({len(idx)}) to split off a validation set")
        val_idx.append(idx[:k])
        train_idx.append(idx[k:])
    tr, va = rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(val_idx))
    return Dataset(name, x[tr], y[tr].astype("int32"), x[va], y[va].astype("int32"),
                   tuple(class_names), dict(meta))


def load(name: str, **options: Any) -> Dataset:
    """Load data set ``name`` with its options (unknown names or options: SpecError)."""
    if name not in DATASETS:
        raise SpecError(f"data set '{name}'", "is unknown; known: " + ", ".join(DATASETS.list()))
    info = DATASETS.get(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise SpecError(f"data set '{name}'", f"unknown option(s) {unknown}; it takes "
                        f"{sorted(info.options)}")
    return info.load(**{**info.options, **options})
