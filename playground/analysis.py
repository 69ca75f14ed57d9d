"""Cached cost analysis: the front door the CLI and the UI use.

Reports are memoised by the spec's content hash (an edit that changes nothing is served from
memory in well under a millisecond). The zoo's headline figures are shipped precomputed
(:mod:`playground.zoo.summaries`).

Two kinds of built model: :func:`analysis_model` (shapes only, no weight values: what the cost
model and the graph views read; about twice as fast to build, and cheap to keep) and
:func:`build_cached` / :func:`model_for` (initialised weights: anything that may run, save or
export the model).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Hashable

from playground.cost import CostReport, analyze
from playground.spec import ArchSpec


class LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_MODELS = LRU(8)
# few: a spec's report is cached on its own, the model only serves the graph views of the spec
# just analysed; every model kept alive lengthens each full garbage collection (Streamlit runs
# one after every script run)
_SHAPE_MODELS = LRU(2)
_REPORTS = LRU(256)


def build_cached(spec: ArchSpec) -> Any:
    """The Keras model for ``spec`` with initialised weights, built once per distinct spec
    (small LRU)."""
    from playground.build import build
    return _MODELS.get_or_make(spec.key(), lambda: build(spec))


def analysis_model(spec: ArchSpec) -> Any:
    """The shapes-only model of ``spec`` (:func:`playground.build.build_shapes`): layers, output
    and weight shapes, parameter counts, no weight values. For analysis and graphs, never for
    export or training (reading a weight raises)."""
    from playground.build import build_shapes
    return _SHAPE_MODELS.get_or_make(spec.key(), lambda: build_shapes(spec))


def _at_batch(key: Hashable, batch: int, optimizer: str, make: Callable[[], Any]) -> CostReport:
    """The report for ``key`` at ``batch``: the graph is walked once (batch 1); other batches
    are the same report with its memory figures rescaled."""
    base = _REPORTS.get_or_make((key, 1, optimizer), lambda: analyze(make(), 1, optimizer))
    return base if batch == 1 else _REPORTS.get_or_make((key, batch, optimizer),
                                                        lambda: base.at_batch(batch))


def analyze_spec(spec: ArchSpec, batch: int = 1, optimizer: str = "adam") -> CostReport:
    """Cost report of ``spec`` (memoised on the spec's content hash, batch and optimizer)."""
    return _at_batch(spec.key(), batch, optimizer, lambda: analysis_model(spec))


def _target_key(target: Any) -> Hashable:
    if target.spec is not None:
        return target.spec.key()
    if target.path is not None:
        st = Path(target.path).stat() if Path(target.path).exists() else None
        return ("file", str(Path(target.path).resolve()), st.st_mtime_ns if st else None)
    return ("zoo", target.name, target.input_shape)


def model_for(target: Any) -> Any:
    """The Keras model of a :class:`playground.targets.Target`, built or loaded once."""
    if target.spec is not None:
        return build_cached(target.spec)
    return _MODELS.get_or_make(_target_key(target), target.build)


def analyze_target(target: Any, batch: int = 1, optimizer: str = "adam") -> CostReport:
    """Cost report of a :class:`playground.targets.Target` (spec, zoo entry or .keras file)."""
    if target.spec is not None:
        return analyze_spec(target.spec, batch, optimizer)
    return _at_batch(_target_key(target), batch, optimizer, lambda: model_for(target))


def weight_depth(report: CostReport) -> int:
    """Weight layers (conv / dense) on the longest input-to-output path: VGG16 -> 16."""
    weighted = {"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
                "SeparableConv1D", "SeparableConv2D", "Conv2DTranspose", "Dense"}
    depth: dict[str, int] = {}
    for layer in report.layers:  # topological order
        own = 1 if layer.type in weighted else 0
        depth[layer.name] = own + max((depth.get(i, 0) for i in layer.inputs), default=0)
    return max(depth.values(), default=0)


def summary(report: CostReport) -> dict[str, Any]:
    """The headline figures of a report: one row of the zoo or compare table, the builder's
    totals (memory figures at the report's batch)."""
    return {
        "params": report.params,
        "trainable_params": report.trainable_params,
        "non_trainable_params": report.non_trainable_params,
        "macs": report.macs,
        "flops": report.flops,
        "weight_bytes_fp32": report.weight_bytes["fp32"],
        "peak_activation_bytes": report.peak_activation_bytes,
        "training_memory_total": report.training_memory["total"],
        "layers": len(report.layers),
        "depth": weight_depth(report),
    }
