"""Read a built Keras model layer by layer and report its cost (:func:`analyze` -> CostReport).

The walk is :func:`playground.keras_graph.flatten`: the Functional graph in Keras' own execution
order (deepest first, the order ``Functional.call`` runs), so the liveness-based peak memory
matches how Keras runs the model. Nested Functional / Sequential models are entered and their
layers reported as ``outer/inner`` rows; a layer called several times (shared weights) gives one
row per call, ``name#1``, ``name#2``..., with its parameters on the first row only. Any other
layer type goes through the handler table (:mod:`playground.cost.handlers`); one without a
handler is listed in ``uncounted`` with ``counted=False``, never silently zero. The receptive
field and memory maths are pure functions in :mod:`playground.cost.receptive_field` and
:mod:`playground.cost.memory`.

Conventions (see also the handlers module):

* MACs and other ops per sample at inference; FLOPs = 2 * MACs + other ops; totals are per
  sample (``batch`` only scales the memory figures).
* Params are read from the weights' shapes; the totals come from the model's own trainable /
  non-trainable weights, so they equal ``model.count_params()`` exactly (BatchNormalization's
  moving mean and variance are non-trainable).
* Activation memory: 4 bytes (fp32) per element of every output of every layer, inputs included.
  Peak inference memory: a tensor is live from the step that produces it until its last consumer
  has run (model outputs until the end); the peak is the largest sum of live tensors over the
  steps, times ``batch``. Every layer output is counted as its own buffer (no in-place reuse).
* Training memory: weights (4 bytes/param) + gradients (4 bytes/trainable param) + optimizer
  state (adam-like 2x, momentum/rmsprop/adagrad 1x, sgd 0x the trainable params) + the saved
  activations (the sum of all layer outputs) times ``batch``.
* Receptive field and effective stride are tracked per tensor and spatial axis in input pixels
  (channels_last inputs): ``rf += (k_eff - 1) * jump``, ``jump *= stride``; merges take the
  maximum over their inputs; global pooling and Flatten make the field the whole input (the
  model input's spatial size) and everything downstream of them sees the whole input; Dense on
  a spatial tensor acts per position (1x1). After a Reshape/Permute that changes the spatial
  axes the field is measured afresh from that layer. Non-spatial tensors (rank 1 without the
  batch axis) that never saw a spatial input report ``None``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from playground import keras_graph as kg
from playground.cost import formulas as F
from playground.cost import receptive_field as RF
from playground.cost.formulas import UnknownDimension, format_bytes, format_count
from playground.cost.handlers import OpCost, field_effect, handler_for
from playground.cost.memory import (BYTES_PER_ELEMENT, OPTIMIZER_STATE, elements,
                                    peak_live_bytes, training_memory, weight_bytes)
from playground.errors import first_line

__all__ = ["LayerCost", "CostReport", "analyze", "OPTIMIZER_STATE", "format_count", "format_bytes"]


@dataclass
class LayerCost:
    """The cost of one call of one layer (one row of the report)."""

    name: str
    type: str
    output_shape: tuple | None
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    other_ops: int
    activation_bytes: int
    receptive_field: tuple | None
    effective_stride: tuple | None
    counted: bool
    inputs: list[str] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return F.flops(self.macs, self.other_ops)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "other_ops": self.other_ops,
            "flops": self.flops,
            "activation_bytes": self.activation_bytes,
            "receptive_field": _list_or_none(self.receptive_field),
            "effective_stride": _list_or_none(self.effective_stride),
            "counted": self.counted,
            "inputs": list(self.inputs),
        }


@dataclass
class CostReport:
    """Per-layer costs and totals of one model (per sample unless the field says batch)."""

    model_name: str
    layers: list[LayerCost]
    params: int
    trainable_params: int
    non_trainable_params: int
    macs: int
    other_ops: int
    flops: int
    weight_bytes: dict[str, int]
    peak_activation_bytes: int
    training_memory: dict[str, int]
    batch: int
    optimizer: str
    uncounted: list[str]
    warnings: list[str] = field(default_factory=list)

    def at_batch(self, batch: int) -> "CostReport":
        """The same report at another batch size: only the memory figures change, linearly
        (peak activations and the saved activations of the training estimate)."""
        batch = int(batch)
        if batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        if batch == self.batch:
            return self
        tm = self.training_memory
        saved = tm["activations"] // self.batch * batch
        training = {**tm, "activations": saved, "total": tm["total"] - tm["activations"] + saved}
        return replace(self, batch=batch, training_memory=training,
                       peak_activation_bytes=self.peak_activation_bytes // self.batch * batch)

    def layer(self, name: str) -> LayerCost:
        """The row of the layer called ``name`` (KeyError listing a few names if none)."""
        for row in self.layers:
            if row.name == name:
                return row
        known = ", ".join(r.name for r in self.layers[:20])
        raise KeyError(f"no layer {name!r} in the report; first layers: {known}")

    def by_type(self) -> dict[str, dict[str, int]]:
        """Totals per layer type, the heaviest (MACs, then params) first."""
        out: dict[str, dict[str, int]] = {}
        for row in self.layers:
            t = out.setdefault(
                row.type,
                {"count": 0, "params": 0, "macs": 0, "other_ops": 0, "flops": 0,
                 "activation_bytes": 0, "uncounted": 0},
            )
            t["count"] += 1
            t["params"] += row.params
            t["macs"] += row.macs
            t["other_ops"] += row.other_ops
            t["flops"] += row.flops
            t["activation_bytes"] += row.activation_bytes
            t["uncounted"] += 0 if row.counted else 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1]["macs"], -kv[1]["params"], kv[0])))

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (numbers, strings, lists, dicts only)."""
        return {
            "model_name": self.model_name,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "other_ops": self.other_ops,
            "flops": self.flops,
            "weight_bytes": dict(self.weight_bytes),
            "peak_activation_bytes": self.peak_activation_bytes,
            "training_memory": dict(self.training_memory),
            "batch": self.batch,
            "optimizer": self.optimizer,
            "uncounted": list(self.uncounted),
            "warnings": list(self.warnings),
            "layers": [row.to_dict() for row in self.layers],
        }

    def summary_table(self, max_name: int = 40) -> str:
        """An aligned text table, one row per layer, then the totals."""
        header = ("Layer", "Type", "Output shape", "Params", "MACs", "Other ops", "RF", "Stride")
        rows = []
        for r in self.layers:
            name = r.name if len(r.name) <= max_name else "..." + r.name[-(max_name - 3):]
            rows.append((
                name,
                r.type,
                _shape_text(r.output_shape),
                format_count(r.params),
                format_count(r.macs) if r.counted else "? (uncounted)",
                format_count(r.other_ops) if r.counted else "?",
                _shape_text(r.receptive_field, "x") if r.receptive_field else "-",
                _shape_text(r.effective_stride, "x") if r.effective_stride else "-",
            ))
        right = {3, 4, 5}
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(header)]

        def line(cells: Iterable[str]) -> str:
            parts = [c.rjust(w) if i in right else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(parts).rstrip()

        rule = "-" * len(line(header))
        out = [line(header), rule, *(line(r) for r in rows), rule]
        tm = self.training_memory
        out += [
            f"Params:             {format_count(self.params)} ({self.params:,}); trainable "
            f"{self.trainable_params:,}, non-trainable {self.non_trainable_params:,}",
            f"Weights:            {format_bytes(self.weight_bytes['fp32'])} fp32, "
            f"{format_bytes(self.weight_bytes['fp16'])} fp16, "
            f"{format_bytes(self.weight_bytes['int8'])} int8",
            f"MACs:               {format_count(self.macs)} ({self.macs:,}) per sample",
            f"FLOPs:              {format_count(self.flops)} = 2 x MACs + "
            f"{format_count(self.other_ops)} other ops",
            f"Peak activations:   {format_bytes(self.peak_activation_bytes)} "
            f"(inference, batch {self.batch})",
            f"Training memory:    {format_bytes(tm['total'])} (batch {self.batch}, "
            f"{self.optimizer}): weights {format_bytes(tm['weights'])}, gradients "
            f"{format_bytes(tm['gradients'])}, optimizer {format_bytes(tm['optimizer_state'])}, "
            f"activations {format_bytes(tm['activations'])}",
        ]
        if self.uncounted:
            out.append(f"Uncounted types:    {', '.join(self.uncounted)} (no cost handler)")
        for w in self.warnings:
            out.append(f"Warning: {w}")
        return "\n".join(out)


def _list_or_none(t: tuple | None) -> list | None:
    return None if t is None else list(t)


def _shape_text(shape: tuple | None, sep: str = ", ") -> str:
    if shape is None:
        return "-"
    if sep == "x":
        return "x".join("?" if d is None else str(d) for d in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# ---------------------------------------------------------------------------------------------
# the walk


class _Walker:
    """Turns the flattened calls of a graph (:func:`playground.keras_graph.flatten`) into rows."""

    def __init__(self, input_shapes: dict) -> None:
        self.rows: list[LayerCost] = []
        self.shape: dict = {}  # key -> full shape (with batch)
        self.field: dict = {}  # key -> Field | None
        self.nbytes: dict = {}  # key -> bytes per sample
        self.producer: dict = {}  # key -> row name
        self.uncounted: set[str] = set()
        self.warnings: list[str] = []
        self.unknown_bytes: list[str] = []
        self.unknown_dims: list[str] = []
        self.input_shapes = input_shapes  # top-level input key -> full shape given to analyze()

    def step(self, step: kg.Step) -> None:
        call = step.call
        op = call.operation
        name = step.name
        input_layer = call.is_input
        type_name = type(op).__name__
        in_tensors = call.inputs
        out_tensors = call.outputs
        in_keys = step.in_keys
        out_keys = step.out_keys

        # Shapes: the recorded ones, unless the caller fed this graph different shapes (a nested
        # model built on (None, None, 3) and called on 224x224): then ask Keras for the spec.
        in_full = [self.shape.get(k, t.shape) for k, t in zip(in_keys, in_tensors)]
        out_full = [t.shape for t in out_tensors]
        if input_layer and out_keys[0] in self.input_shapes:
            out_full = [self.input_shapes[out_keys[0]]]
        elif any(s != t.shape for s, t in zip(in_full, in_tensors)):
            out_full = self._respec(call, in_full, out_full, name)
        in_shapes = [tuple(s[1:]) for s in in_full]
        out_shapes = [tuple(s[1:]) for s in out_full]

        # Params: from the weights' shapes, on the first call of a shared layer only.
        trainable = non_trainable = 0
        weight_size = kg.weight_size
        if step.first_call:
            weights = getattr(op, "weights", None) or ()
            if weights:
                layer_trainable = getattr(op, "trainable", True)
                for v in weights:
                    n = weight_size(v)
                    if layer_trainable and v.trainable:
                        trainable += n
                    else:
                        non_trainable += n

        handler = handler_for(type_name)
        counted = handler is not None
        cost = OpCost()
        if handler is None:
            self.uncounted.add(type_name)
        else:
            try:
                cost = handler(op, in_shapes, out_shapes)
            except UnknownDimension:
                counted = False
                self.unknown_dims.append(name)
                cost = field_effect(op)
            except Exception as exc:  # a handler must never break the whole report
                counted = False
                self.warnings.append(
                    f"layer '{name}' ({type_name}): cost handler failed: {first_line(exc)}")

        act_bytes = 0
        for key, shape in zip(out_keys, out_shapes):
            n = elements(shape)
            if n is None:
                self.unknown_bytes.append(name)
                n = 0
            b = n * BYTES_PER_ELEMENT
            act_bytes += b
            self.nbytes[key] = b

        # Receptive field.
        if input_layer:
            out_field = RF.input_field(out_shapes[0])
        else:
            out_field = RF.propagate(
                RF.merge([self.field.get(k) for k in in_keys]), out_shapes[0],
                in_shapes[0] if in_shapes else None,
                getattr(op, "data_format", None) or "channels_last",
                window=cost.window, scale=cost.scale, global_field=cost.global_field,
                reset=cost.reset)
        for key, full in zip(out_keys, out_full):
            self.shape[key] = full
            self.field[key] = out_field
            self.producer[key] = name

        parents: list[str] = []
        for k in in_keys:
            p = self.producer.get(k)
            if p is not None and p not in parents:
                parents.append(p)

        rf, stride = RF.field_values(out_field)
        self.rows.append(LayerCost(
            name=name,
            type=type_name,
            output_shape=out_shapes[0] if out_shapes else None,
            params=trainable + non_trainable,
            trainable_params=trainable,
            non_trainable_params=non_trainable,
            macs=int(cost.macs),
            other_ops=int(cost.other_ops),
            activation_bytes=act_bytes,
            receptive_field=rf,
            effective_stride=stride,
            counted=counted,
            inputs=parents,
        ))

    def _respec(self, call: kg.Call, in_full: list, recorded: list, name: str) -> list:
        try:
            return kg.output_shapes_for(call, in_full)
        except Exception as exc:  # keep the recorded shapes
            self.warnings.append(f"layer '{name}': could not re-derive shapes "
                                 f"({first_line(exc)}); "
                                 "using the shapes it was built with")
            return recorded


def _input_overrides(graph: Any, input_keys: list, input_shape: tuple | list) -> dict:
    inputs = list(graph.inputs)
    shapes = list(input_shape)
    if not shapes or not isinstance(shapes[0], (tuple, list)):
        shapes = [tuple(shapes)]
    if len(shapes) != len(inputs):
        raise ValueError(f"input_shape gives {len(shapes)} shape(s) but the model has "
                         f"{len(inputs)} input(s)")
    out = {}
    for t, key, shape in zip(inputs, input_keys, shapes):
        shape = tuple(None if d is None else int(d) for d in shape)
        if len(shape) != len(t.shape) - 1:
            raise ValueError(f"input_shape {shape} has rank {len(shape)} but input "
                             f"'{t.name}' has shape {tuple(t.shape[1:])} (without the batch axis)")
        for d, ref in zip(shape, t.shape[1:]):
            if ref is not None and d != ref:
                raise ValueError(f"input_shape {shape} does not fit input '{t.name}' of shape "
                                 f"{tuple(t.shape[1:])}")
        out[key] = (None,) + shape
    return out


def _count(weights: Iterable[Any]) -> int:
    return int(sum(kg.weight_size(v) for v in weights))


def analyze(model: Any, batch: int = 1, optimizer: str = "adam",
            input_shape: tuple | list | None = None) -> CostReport:
    """Cost of a built Functional or Sequential Keras model (see the module docstring).

    ``batch`` scales the peak inference memory and the training memory estimate; MACs, FLOPs
    and per-layer activation bytes are per sample. ``optimizer`` is one of
    :data:`OPTIMIZER_STATE` (case-insensitive). ``input_shape`` (without the batch axis; a list
    of shapes for several inputs) fills in a model built for variable sizes, e.g.
    ``analyze(MobileNetV3Small(weights=None), input_shape=(224, 224, 3))``: the shapes are then
    re-derived layer by layer with Keras' ``compute_output_spec`` (slower).
    """
    if int(batch) < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    batch = int(batch)
    opt = str(optimizer).lower()
    if opt not in OPTIMIZER_STATE:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; known: {', '.join(sorted(OPTIMIZER_STATE))}")
    graph = kg.graph_of(model)
    if graph is None:
        name = getattr(model, "name", type(model).__name__)
        if kg.is_unbuilt_sequential(model):
            raise ValueError(f"model '{name}' is a Sequential model that is not built yet: give "
                             "it an input shape (keras.Input) or call build() first")
        raise ValueError(f"model '{name}' ({type(model).__name__}) has no layer graph to read: "
                         "analyze() needs a Functional or Sequential model")

    flat = kg.flatten(graph)
    overrides = {} if input_shape is None else _input_overrides(graph, flat.input_keys,
                                                                input_shape)
    walker = _Walker(overrides)
    for step in flat.steps:
        walker.step(step)
    rows = walker.rows

    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    params = trainable + non_trainable
    row_params = sum(r.params for r in rows)
    warnings = list(walker.warnings)
    if row_params != params:
        warnings.append(
            f"per-layer params add up to {row_params:,} but the model has {params:,} "
            "(weights shared between layers or owned by a model itself)")
    if walker.unknown_dims:
        warnings.append(
            f"{len(walker.unknown_dims)} layer(s) have unknown dimensions (None) in their shapes, "
            f"so their MACs and other ops are not counted (first: '{walker.unknown_dims[0]}'); "
            "pass input_shape= to analyze()")
    if walker.unknown_bytes:
        warnings.append(
            f"{len(walker.unknown_bytes)} layer(s) have outputs with unknown dimensions (None), "
            f"their activation memory is not counted (first: '{walker.unknown_bytes[0]}')")

    macs = sum(r.macs for r in rows)
    other = sum(r.other_ops for r in rows)
    # per sample; at_batch() scales the memory figures
    peak = peak_live_bytes([(s.in_keys, s.out_keys) for s in flat.steps], walker.nbytes,
                           flat.output_keys)
    saved = sum(r.activation_bytes for r in rows)
    return CostReport(
        model_name=getattr(model, "name", ""),
        layers=rows,
        params=params,
        trainable_params=trainable,
        non_trainable_params=non_trainable,
        macs=macs,
        other_ops=other,
        flops=F.flops(macs, other),
        weight_bytes=weight_bytes(params),
        peak_activation_bytes=peak,
        training_memory=training_memory(params, trainable, saved, opt),
        batch=1,
        optimizer=opt,
        uncounted=sorted(walker.uncounted),
        warnings=warnings,
    ).at_batch(batch)
