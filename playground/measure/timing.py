"""Honest timing of a compiled function: the first (compiling) call and warm-up calls are timed
apart and excluded, every call's result is waited for (asynchronous dispatch), and the spread of
repeated samples is reported beside the median.

* :func:`wait` blocks until a result exists: ``jax.block_until_ready`` on JAX; on the other
  backends one element of every output is copied to the host (``keras.ops.convert_to_numpy``),
  which cannot happen before the op that makes it has run. NumPy results are ready already.
* :func:`time_fn` calls ``fn`` once (the compile), ``warmup`` more times, then takes
  ``repeats`` samples; a sample runs ``fn`` ``number`` times in a row (chosen so that one sample
  lasts at least ``min_sample_s``: timer resolution and Python overhead stay small against it)
  and records the mean time of one call. A ``budget_s`` (seconds of sampling, the first call and
  warm-up not counted) cuts repeats short, never below three samples.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["Timing", "time_fn", "wait"]


def wait(value: Any) -> Any:
    """Block until every array in ``value`` (a tensor or a nest of them) has been computed."""
    import keras
    leaves = [v for v in keras.tree.flatten(value) if not isinstance(v, (np.ndarray, np.generic,
                                                                          int, float, bool))]
    if not leaves:
        return value
    if keras.config.backend() == "jax":
        import jax
        jax.block_until_ready(leaves)
        return value
    for leaf in leaves:
        if getattr(leaf, "shape", None) is None:
            continue
        flat = keras.ops.reshape(leaf, (-1,))
        if flat.shape[0]:
            keras.ops.convert_to_numpy(flat[:1])
    return value


@dataclass
class Timing:
    """Per-call times of one function in milliseconds (one entry per sample), the first call's
    time (compiling included) and how the samples were taken."""

    samples_ms: list[float]
    first_call_ms: float
    warmup: int
    number: int
    total_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def _pct(self, q: float) -> float:
        return float(np.percentile(self.samples_ms, q)) if self.samples_ms else math.nan

    @property
    def median_ms(self) -> float:
        return self._pct(50)

    @property
    def p90_ms(self) -> float:
        return self._pct(90)

    @property
    def p10_ms(self) -> float:
        return self._pct(10)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms) if self.samples_ms else math.nan

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: the relative width of the middle 80% of the samples."""
        med = self.median_ms
        return (self.p90_ms - self.p10_ms) / med if med > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The figures and the samples, JSON-ready."""
        return {**asdict(self), "median_ms": self.median_ms, "p90_ms": self.p90_ms,
                "p10_ms": self.p10_ms, "min_ms": self.min_ms, "spread": self.spread,
                "repeats": len(self.samples_ms)}


def time_fn(fn: Callable[[], Any], *, warmup: int = 2, repeats: int = 10,
            min_sample_s: float = 0.002, budget_s: float | None = 30.0,
            max_number: int = 1000) -> Timing:
    """Time ``fn()`` (no arguments; its result is waited for each call), see the module doc."""
    start = time.perf_counter()
    t0 = time.perf_counter()
    wait(fn())
    first = time.perf_counter() - t0
    one = first
    for _ in range(max(0, warmup)):
        t0 = time.perf_counter()
        wait(fn())
        one = time.perf_counter() - t0
    number = max(1, min(max_number, math.ceil(min_sample_s / max(one, 1e-7))))
    samples: list[float] = []
    timed = time.perf_counter()  # the budget is for the samples: compiling does not eat it
    for i in range(max(1, repeats)):
        t0 = time.perf_counter()
        for _ in range(number):
            wait(fn())
        samples.append((time.perf_counter() - t0) / number * 1e3)
        if budget_s is not None and i >= 2 and time.perf_counter() - timed > budget_s:
            break
    return Timing(samples, first * 1e3, warmup, number, time.perf_counter() - start)
