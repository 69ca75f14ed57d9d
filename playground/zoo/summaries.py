"""Headline figures of every zoo entry, shipped with the package so the Zoo page opens at once.

``summaries.json`` (next to this module) holds, for each zoo entry at its default input, the
figures of :func:`playground.cost.headline.summary`: params, trainable, non-trainable, macs, flops,
weight_bytes_fp32, peak_activation_bytes (batch 1), layers and depth, plus the input shape.

Regenerate it after changing a zoo entry, a block or the cost model (it builds every model,
the Keras Applications included, so it takes a few minutes on a laptop CPU)::

    python -c "from playground.zoo.summaries import write_summaries; write_summaries()"

``tests/test_comparisons.py`` recomputes every spec entry and compares it with the file, so a
stale file fails the suite.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

PATH = Path(__file__).with_name("summaries.json")
FIELDS = ("params", "trainable", "non_trainable", "macs", "flops", "weight_bytes_fp32",
          "peak_activation_bytes", "layers", "depth")


def compute_summary(name: str) -> dict[str, Any]:
    """The figures of zoo entry ``name`` at its default input (builds and analyses the model)."""
    from playground.cached import analyze_spec
    from playground.cost.headline import summary
    from playground.cost import analyze
    from playground.zoo import get

    entry = get(name)
    if entry.is_spec:
        spec = entry.spec()
        report = analyze_spec(spec)
        shape = list(spec.input_shape)
    else:
        model = entry.build()
        report = analyze(model)
        shape = [int(s) for s in model.input_shape[1:]]
        del model
    s = summary(report)
    return {"input_shape": shape, "params": s["params"], "trainable": s["trainable_params"],
            "non_trainable": s["non_trainable_params"], "macs": s["macs"], "flops": s["flops"],
            "weight_bytes_fp32": s["weight_bytes_fp32"],
            "peak_activation_bytes": s["peak_activation_bytes"], "layers": s["layers"],
            "depth": s["depth"]}


def write_summaries(path: str | Path | None = None, names: Iterable[str] | None = None) -> Path:
    """Compute the figures of ``names`` (default: every zoo entry) and write them as JSON.

    With ``names``, the other entries already in the file are kept (regenerate a few at a time).
    """
    import keras

    from playground.zoo import ZOO

    target = Path(path) if path is not None else PATH
    old = json.loads(target.read_text())["entries"] if target.is_file() else {}
    todo = list(names) if names is not None else ZOO.list()
    entries = {n: old[n] for n in ZOO.list() if n in old and n not in todo}
    for n in todo:
        entries[n] = compute_summary(n)
        keras.backend.clear_session()
    data = {"keras_version": keras.__version__, "batch": 1,
            "entries": {n: entries[n] for n in ZOO.list() if n in entries}}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(target)
    load_summaries.cache_clear()
    return target


@lru_cache(maxsize=1)
def load_summaries() -> dict[str, dict[str, Any]]:
    """Zoo name -> figures, from the shipped file (empty if the file is missing)."""
    if not PATH.is_file():
        return {}
    return json.loads(PATH.read_text(encoding="utf-8"))["entries"]


def summary_of(name: str) -> dict[str, Any]:
    """Figures of zoo entry ``name``: from the shipped file, computed if the file lacks it."""
    return load_summaries().get(name) or compute_summary(name)


__all__ = ["PATH", "FIELDS", "compute_summary", "write_summaries", "load_summaries", "summary_of"]
