"""Built models and cost reports, cached per spec (or per zoo entry / ``.keras`` file): the
front door the CLI and the UI use.

Specs are hashable by content (:class:`playground.spec.ArchSpec`), so plain ``functools`` caches
serve any equal spec: an edit that changes nothing is answered from memory in well under a
millisecond. The zoo's headline figures are shipped precomputed (:mod:`playground.zoo.summaries`).

Two kinds of built model: :func:`analysis_model` (shapes only, no weight values: what the cost
model and the graph views read; about twice as fast to build, and cheap to keep) and
:func:`build_cached` / :func:`model_for` (initialised weights: anything that may run, save or
export the model).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Hashable

from playground.cost import CostReport, analyze
from playground.spec import ArchSpec

__all__ = ["build_cached", "analysis_model", "analyze_spec", "model_for", "analyze_target",
           "clear"]


@dataclass(frozen=True)
class _Loaded:
    """A zoo entry or ``.keras`` file as a cache key: equal by ``key`` alone (name and input
    shape, or path and modification time), carrying the target that builds it."""

    key: Hashable
    target: Any = field(compare=False)


def _source(target: Any) -> ArchSpec | _Loaded:
    """What a :class:`playground.targets.Target` is cached by: its spec, else a :class:`_Loaded`."""
    if target.spec is not None:
        return target.spec
    if target.path is not None:
        st = Path(target.path).stat() if Path(target.path).exists() else None
        key = ("file", str(Path(target.path).resolve()), st.st_mtime_ns if st else None)
    else:
        key = ("zoo", target.name, target.input_shape)
    return _Loaded(key, target)


@lru_cache(maxsize=8)
def _model(source: ArchSpec | _Loaded) -> Any:
    """The model with initialised weights: spec models and loaded models share 8 places."""
    if isinstance(source, ArchSpec):
        from playground.build import build
        return build(source)
    return source.target.build()


# few: a spec's report is cached on its own, the model only serves the graph views of the spec
# just analysed; every model kept alive lengthens each full garbage collection (Streamlit runs
# one after every script run)
@lru_cache(maxsize=2)
def analysis_model(spec: ArchSpec) -> Any:
    """The shapes-only model of ``spec`` (:func:`playground.build.build_shapes`): layers, output
    and weight shapes, parameter counts, no weight values. For analysis and graphs, never for
    export or training (reading a weight raises)."""
    from playground.build import build_shapes
    return build_shapes(spec)


@lru_cache(maxsize=256)
def _report(source: ArchSpec | _Loaded, optimizer: str) -> CostReport:
    """The report at batch 1: the graph is walked once per source and optimizer."""
    model = analysis_model(source) if isinstance(source, ArchSpec) else _model(source)
    return analyze(model, 1, optimizer)


@lru_cache(maxsize=256)
def _report_at(source: ArchSpec | _Loaded, batch: int, optimizer: str) -> CostReport:
    """The batch-1 report with its memory figures rescaled to ``batch``."""
    return _report(source, optimizer).at_batch(batch)


def _at_batch(source: ArchSpec | _Loaded, batch: int, optimizer: str) -> CostReport:
    base = _report(source, optimizer)
    return base if batch == 1 else _report_at(source, batch, optimizer)


def build_cached(spec: ArchSpec) -> Any:
    """The Keras model for ``spec`` with initialised weights, built once per distinct spec
    (small LRU)."""
    return _model(spec)


def analyze_spec(spec: ArchSpec, batch: int = 1, optimizer: str = "adam") -> CostReport:
    """Cost report of ``spec`` (cached per equal spec, batch and optimizer)."""
    return _at_batch(spec, batch, optimizer)


def model_for(target: Any) -> Any:
    """The Keras model of a :class:`playground.targets.Target`, built or loaded once."""
    return _model(_source(target))


def analyze_target(target: Any, batch: int = 1, optimizer: str = "adam") -> CostReport:
    """Cost report of a :class:`playground.targets.Target` (spec, zoo entry or .keras file)."""
    return _at_batch(_source(target), batch, optimizer)


def clear() -> None:
    """Forget every cached model and report."""
    for fn in (_model, analysis_model, _report, _report_at):
        fn.cache_clear()
