"""The one adapter over Keras' private Functional-graph attributes.

Keras 3 keeps a model's graph in attributes it does not document (``_nodes_by_depth``,
``_operations``, ``_nodes``, ``_inbound_nodes``, ``_keras_history``, ``_inputs_struct``...).
This module is the only place in the playground that reads them; the cost model
(:mod:`playground.cost.analyze`), the graph views (:mod:`playground.graph`) and code export
(:mod:`playground.codegen`) see only the neutral records below:

* :class:`Call`: one call of one operation (layer) in a graph, with its input and output tensors;
* :func:`calls`: every call of a graph in Keras' own execution order (deepest first, the order
  ``Functional.call`` runs);
* :func:`layer_calls`: every operation of a graph with the calls that belong to this graph;
* :func:`flatten`: the calls of a graph with nested Functional / Sequential models expanded,
  tensors identified by hashable keys that see through the nested models' boundaries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Hashable, Sequence

__all__ = ["Call", "Step", "Flat", "graph_of", "is_unbuilt_sequential", "operations", "calls",
           "layer_calls", "producer", "io_structure", "sequential_input_layer", "flatten",
           "output_shapes_for", "weight_size"]


class Call:
    """One call of ``operation`` in a graph: its input tensors (the KerasTensors among the call's
    arguments), its output tensors and its depth (0 = the model outputs' calls)."""

    __slots__ = ("operation", "node", "depth", "inputs", "outputs", "is_input")

    def __init__(self, node: Any, depth: int) -> None:
        self.node = node
        self.operation = node.operation
        self.depth = depth
        self.inputs: list = node.input_tensors
        self.outputs: list = node.outputs
        self.is_input: bool = node.is_input

    @property
    def index(self) -> int:
        """Which call of its operation this is (the position among the operation's calls)."""
        return self.operation._inbound_nodes.index(self.node)

    @property
    def args(self) -> Sequence[Any]:
        """The call's positional arguments, KerasTensors in place."""
        return self.node.arguments.args

    @property
    def kwargs(self) -> dict[str, Any]:
        """The call's keyword arguments, KerasTensors in place."""
        return self.node.arguments.kwargs


def graph_of(model: Any) -> Any | None:
    """The object that holds ``model``'s node graph: a Functional (or ``keras.Function``) itself,
    a Sequential's inner Functional; None for subclassed models, plain layers and a Sequential
    that has no input yet."""
    if hasattr(model, "_nodes_by_depth"):
        return model
    inner = getattr(model, "_functional", None)
    if inner is not None and hasattr(inner, "_nodes_by_depth"):
        return inner
    return None


def is_unbuilt_sequential(model: Any) -> bool:
    """A Sequential model without an input shape (it has no graph until it is built)."""
    return getattr(model, "_functional", "absent") is None


def operations(graph: Any) -> list:
    """The graph's operations (layers) in Keras' topological order."""
    return list(graph._operations)


def calls(graph: Any) -> list[Call]:
    """Every call of the graph in Keras' execution order: deepest first, within a depth in the
    order Keras lists them (what ``Functional.call`` runs)."""
    by_depth = graph._nodes_by_depth
    out: list[Call] = []
    for depth in sorted(by_depth, reverse=True):
        out.extend(Call(node, depth) for node in by_depth[depth])
    return out


def _node_key(op: Any, index: int) -> str:
    try:
        from keras.src.ops.function import make_node_key
        return make_node_key(op, index)
    except ImportError:  # pragma: no cover - the key format of Keras 3.0-3.15
        return f"{id(op)}_ib-{index}"


def layer_calls(graph: Any) -> list[tuple[Any, list[Call]]]:
    """``(operation, its calls in this graph)`` for every operation of the graph, in
    :func:`operations` order; calls made in other graphs (a layer shared with another model)
    are left out. ``Call.depth`` is -1 here (not needed in this view)."""
    own = graph._nodes
    out = []
    for op in graph._operations:
        mine = [Call(node, -1) for i, node in enumerate(op._inbound_nodes)
                if _node_key(op, i) in own]
        out.append((op, mine))
    return out


def producer(tensor: Any) -> tuple[Any, int, int]:
    """``(operation, call index, output index)`` of the call that produced a KerasTensor."""
    h = tensor._keras_history
    return h.operation, h.node_index, h.tensor_index


def first_argument_is_constant(op: Any) -> bool:
    """Whether the first argument of the operation's first call is a constant (a NumPy array or
    number closed over by the graph), not a graph tensor: ``ops.matmul(W, x)``."""
    nodes = getattr(op, "_inbound_nodes", None) or []
    if not nodes:
        return False
    args = nodes[0].arguments.args
    return bool(args) and not hasattr(args[0], "_keras_history")


def is_functional(model: Any) -> bool:
    """Whether the model is a graph of layer calls (Functional), not a subclassed model."""
    return hasattr(model, "_inputs_struct")


def io_structure(graph: Any) -> tuple[Any, Any]:
    """The graph's inputs and outputs as the model was created with them (a tensor, or lists,
    tuples and dicts of tensors)."""
    return graph._inputs_struct, graph._outputs_struct


def sequential_input_layer(model: Any) -> Any | None:
    """A Sequential model's ``InputLayer`` when it was given one (``model.layers`` hides it)."""
    from keras import layers as L
    first = model._layers[0] if getattr(model, "_layers", None) else None
    return first if isinstance(first, L.InputLayer) else None


def output_shapes_for(call: Call, input_shapes: Sequence[tuple]) -> list[tuple]:
    """The output shapes ``call`` gives when its input tensors have ``input_shapes`` instead of
    the shapes it was built with (Keras' ``compute_output_spec``); raises what Keras raises."""
    import keras

    values = {id(t): keras.KerasTensor(shape=s, dtype=t.dtype)
              for t, s in zip(call.inputs, input_shapes)}
    args, kwargs = call.node.arguments.fill_in(values)
    spec = call.operation.compute_output_spec(*args, **kwargs)
    return [tuple(s.shape) for s in keras.tree.flatten(spec)]


def weight_size(variable: Any) -> int:
    """The number of elements of a Keras weight, from the shape it was created with (no value is
    read, so shapes-only models work; the TensorFlow backend's ``shape`` property would build a
    ``TensorShape`` on every call, a tenth of a whole cost analysis)."""
    shape = getattr(variable, "_shape", None)
    return math.prod(variable.shape if shape is None else shape)


# --- the flattened walk -------------------------------------------------------------------
@dataclass
class Step:
    """One call of one layer in the flattened walk (nested models expanded).

    ``name`` is the layer's name, prefixed ``outer/`` inside a nested model and suffixed
    ``#1``, ``#2``... for its second, third... call; ``in_keys`` / ``out_keys`` identify its
    tensors (a nested model's input is the caller's tensor, its output the inner tensor).
    """

    __slots__ = ("name", "call", "first_call", "in_keys", "out_keys")

    name: str
    call: Call
    first_call: bool
    in_keys: list
    out_keys: list

    @property
    def operation(self) -> Any:
        return self.call.operation


@dataclass
class Flat:
    """A graph with its nested models expanded: ``steps`` in execution order, and the keys of
    the graph's inputs (as ``graph.inputs``) and outputs (as ``graph.outputs``)."""

    steps: list[Step]
    input_keys: list[Hashable]
    output_keys: list[Hashable] = field(default_factory=list)


class _Flattener:
    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.alias: dict = {}
        self.calls: dict[int, int] = {}

    def resolve(self, key: tuple) -> tuple:
        alias = self.alias
        while key in alias:
            key = alias[key]
        return key

    def call_name(self, op: Any, prefix: str) -> str:
        count = self.calls.get(id(op), 0)
        self.calls[id(op)] = count + 1
        return prefix + op.name + (f"#{count}" if count else "")

    def walk(self, graph: Any, scope: tuple, prefix: str) -> None:
        resolve = self.resolve
        alias = self.alias
        steps = self.steps
        for call in calls(graph):
            op = call.operation
            if call.is_input:
                key = (scope, id(call.outputs[0]))
                if scope and resolve(key) != key:
                    continue  # a nested model's input: an alias of the caller's tensor
            else:
                sub = graph_of(op) if op is not graph else None
                if sub is not None:
                    self.nested(call, sub, scope, prefix)
                    continue
            first = id(op) not in self.calls
            name = self.call_name(op, prefix)
            in_keys = [(scope, id(t)) for t in call.inputs]
            if alias:  # only a nested model's boundary tensors have aliases
                in_keys = [resolve(k) for k in in_keys]
            steps.append(Step(name, call, first, in_keys,
                              [(scope, id(t)) for t in call.outputs]))

    def nested(self, call: Call, sub: Any, scope: tuple, prefix: str) -> None:
        name = self.call_name(call.operation, prefix)
        sub_scope = scope + (id(call.node),)
        for inner, outer in zip(sub.inputs, call.inputs):
            self.alias[(sub_scope, id(inner))] = self.resolve((scope, id(outer)))
        self.walk(sub, sub_scope, name + "/")
        for outer, inner in zip(call.outputs, sub.outputs):
            self.alias[(scope, id(outer))] = self.resolve((sub_scope, id(inner)))


def flatten(graph: Any) -> Flat:
    """Every layer call of ``graph`` in execution order with nested Functional / Sequential
    models entered (their layers become ``outer/inner`` steps), see :class:`Step`."""
    f = _Flattener()
    f.walk(graph, (), "")
    return Flat(f.steps, [((), id(t)) for t in graph.inputs],
                [f.resolve(((), id(t))) for t in graph.outputs])
