"""Per-layer measured time beside per-layer multiply-adds.

Each layer call of the model (nested models entered, :func:`playground.keras_graph.flatten`)
is timed as a model of its own: fresh inputs of the call's input shapes at the batch, the same
layer (same weights, same call arguments), compiled like the whole model
(:func:`playground.measure.latency.inference_fn`). Calls with the same layer type, configuration
and input shapes (the repeated blocks of a ResNet stage) are timed once and share the figure.

A compiled call costs a fixed dispatch overhead whatever the layer does; it is measured on a
model that only passes its input through, and subtracted (``ms`` = ``raw_ms`` - overhead, never
below 0), so a tiny layer's share is its own work. Layer times (and the overhead) are the fastest
of their repeats: the layers are timed at different moments, and on a shared machine other work
only ever adds time, so the minimum compares them best (``p90_ms`` keeps the slow side).
The whole model runs its layers in one program (fused, no per-layer dispatch), so the sum of the
layer times differs from the model's latency; both are reported.

A layer *stands out* when its share of the time is at least :data:`STANDOUT_RATIO` times its
share of the MACs and at least :data:`STANDOUT_MIN_SHARE` of the time: memory-bound layers
(batch norm, activations, adds, pooling, depthwise convolutions) that MAC counts call free.
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable

from playground import keras_graph as kg
from playground.measure.latency import inference_fn, model_inputs
from playground.measure.timing import time_fn

__all__ = ["layer_times", "group_of", "shares", "by_group", "STANDOUT_RATIO",
           "STANDOUT_MIN_SHARE", "SMALL_FACTOR", "BYTES"]

STANDOUT_RATIO = 1.5
STANDOUT_MIN_SHARE = 0.02
# a layer whose raw time is under this many dispatch overheads is "small": its own time is a
# difference of two close figures, too uncertain for a rate (roofline) though kept for shares
SMALL_FACTOR = 2.0
BYTES = 4  # fp32


def group_of(name: str) -> str:
    """The block a layer belongs to: ``stem`` for ``stem.conv`` (playground specs), ``outer``
    for ``outer/inner`` (nested models), ``conv2_block1`` for Keras Applications' names like
    ``conv2_block1_1_conv``; else the layer itself."""
    if "/" in name:
        return name.split("/", 1)[0]
    if "." in name:
        return name.split(".", 1)[0]
    m = re.match(r"^(.*?_?block_?\d+[a-z]?)(_|$)", name)
    if m:
        return m.group(1)
    return name.split("#", 1)[0]


def _elements(shape: tuple) -> int:
    n = 1
    for d in shape[1:]:
        n *= int(d or 1)
    return n


def _signature(call: kg.Call) -> str:
    import keras
    op = call.operation
    try:
        config = {k: v for k, v in op.get_config().items() if k != "name"}
    except Exception:  # noqa: BLE001  operations without a config
        config = {"id": id(op)}
    shapes = [(tuple(t.shape[1:]), str(t.dtype)) for t in call.inputs]
    others = repr(keras.tree.map_structure(
        lambda v: "<tensor>" if isinstance(v, keras.KerasTensor) else v,
        (list(call.args), sorted(call.kwargs.items()))))
    return f"{type(op).__name__}|{sorted(config.items(), key=lambda kv: kv[0])!r}|{shapes}|{others}"


def _call_on(call: kg.Call, mapping: dict[int, Any]) -> Any:
    """The call's operation applied to new tensors (``mapping``: id of an input -> tensor),
    every other argument as in the graph."""
    import keras

    def sub(v: Any) -> Any:
        return mapping.get(id(v), v) if isinstance(v, keras.KerasTensor) else v

    args = keras.tree.map_structure(sub, list(call.args))
    kwargs = keras.tree.map_structure(sub, dict(call.kwargs))
    return call.operation(*args, **kwargs)


def _layer_model(call: kg.Call) -> Any:
    import keras
    inputs: dict[int, Any] = {}
    for t in call.inputs:
        if id(t) not in inputs:
            inputs[id(t)] = keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype)
    out = _call_on(call, inputs)
    return keras.Model(list(inputs.values()), out)


def _time_model(model: Any, batch: int, xla: str, repeats: int, budget_s: float) -> Any:
    xs = model_inputs(model, batch, seed=1)
    x = xs[0] if len(xs) == 1 else xs
    f, _ = inference_fn(model, xla)
    return time_fn(lambda: f(x), warmup=1, repeats=repeats, budget_s=budget_s)


def dispatch_overhead(batch: int, xla: str = "auto", repeats: int = 15) -> float:
    """Milliseconds of one compiled call that does no work (a pass-through model)."""
    import keras
    inp = keras.Input(shape=(8,))
    model = keras.Model(inp, keras.layers.Identity()(inp))
    return _time_model(model, batch, xla, repeats, 5.0).min_ms


def layer_times(model: Any, report: Any, batch: int, *, xla: str = "auto", repeats: int = 5,
                budget_s: float = 120.0, layer_budget_s: float = 2.0,
                on_layer: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Every layer call of ``model`` timed on its own at ``batch`` beside its MACs (per image,
    from ``report``, the cost report of this same model): ``{"layers": rows, "overhead_ms",
    "sum_ms", "timed", "untimed"}``. Rows are in execution order, see :func:`shares` for the
    share columns. Past ``budget_s`` the remaining layers are left untimed (``ms`` None)."""
    graph = kg.graph_of(model)
    if graph is None:
        raise ValueError("per-layer timing needs a Functional or Sequential model")
    steps = [s for s in kg.flatten(graph).steps if not s.call.is_input]
    costs = {r.name: r for r in report.layers}
    overhead = dispatch_overhead(batch, xla)
    done: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    for i, step in enumerate(steps):
        call = step.call
        cost = costs.get(step.name)
        in_bytes = sum(_elements(tuple(t.shape)) for t in call.inputs) * BYTES * batch
        out_bytes = sum(_elements(tuple(t.shape)) for t in call.outputs) * BYTES * batch
        weight_bytes = (sum(kg.weight_size(w) for w in getattr(call.operation, "weights", []))
                        * BYTES)
        row: dict[str, Any] = {
            "name": step.name, "type": type(call.operation).__name__,
            "group": group_of(step.name), "macs": cost.macs if cost else 0,
            "params": cost.params if cost else 0,
            "output_shape": list(tuple(call.outputs[0].shape)[1:]) if call.outputs else [],
            "bytes": in_bytes + out_bytes + weight_bytes, "ms": None, "raw_ms": None,
            "p90_ms": None, "spread": None, "small": False, "same_as": None, "error": None}
        sig = _signature(call)
        if sig in done:
            src = done[sig]
            row.update({k: src[k] for k in ("ms", "raw_ms", "p90_ms", "spread", "small",
                                            "error")})
            row["same_as"] = src["name"]
        elif time.perf_counter() - start > budget_s:
            row["error"] = f"not timed: the {budget_s:.0f} s budget for layers ran out"
        else:
            try:
                t = _time_model(_layer_model(call), batch, xla, repeats, layer_budget_s)
                row.update(raw_ms=t.min_ms, ms=max(0.0, t.min_ms - overhead),
                           p90_ms=max(0.0, t.p90_ms - overhead), spread=t.spread,
                           small=t.min_ms < SMALL_FACTOR * overhead)
            except Exception as e:  # noqa: BLE001  a call that cannot stand alone
                from playground.errors import first_line
                row["error"] = f"not timed: {first_line(e, 160)}"
            done[sig] = row
        rows.append(row)
        if on_layer:
            on_layer(i + 1, len(steps))
    shares(rows)
    timed = [r for r in rows if r["ms"] is not None]
    return {"layers": rows, "batch": batch, "overhead_ms": overhead,
            "sum_ms": sum(r["ms"] for r in timed),
            "timed": len(timed), "untimed": len(rows) - len(timed),
            "unique_timed": sum(1 for r in done.values() if r["ms"] is not None)}


def shares(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``time_share``, ``mac_share`` and ``stands_out`` to each row (in place; untimed
    rows get None)."""
    total_ms = sum(r["ms"] for r in rows if r.get("ms") is not None)
    total_macs = sum(r.get("macs") or 0 for r in rows)
    for r in rows:
        r["mac_share"] = (r.get("macs") or 0) / total_macs if total_macs else 0.0
        if r.get("ms") is None or total_ms <= 0:
            r["time_share"], r["stands_out"] = None, False
            continue
        r["time_share"] = r["ms"] / total_ms
        r["stands_out"] = bool(r["time_share"] >= STANDOUT_MIN_SHARE
                               and r["time_share"] >= STANDOUT_RATIO * r["mac_share"])
    return rows


def by_group(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows summed per block (:func:`group_of`), in execution order, with shares."""
    groups: dict[str, dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault(r["group"], {"name": r["group"], "type": "block", "group": r["group"],
                                           "macs": 0, "bytes": 0, "ms": 0.0, "layers": 0,
                                           "untimed": 0})
        g["macs"] += r.get("macs") or 0
        g["bytes"] += r.get("bytes") or 0
        g["layers"] += 1
        if r.get("ms") is None:
            g["untimed"] += 1
        else:
            g["ms"] += r["ms"]
    out = list(groups.values())
    for g in out:
        if g["untimed"] == g["layers"]:
            g["ms"] = None
    return shares(out)
