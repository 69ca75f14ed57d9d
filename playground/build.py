"""``build(spec) -> keras.Model``: the Functional graph of an ArchSpec, with predictable names.

Layer names are ``{block}.{part}`` (``conv_3.conv``, ``stage2_b1.shortcut``); nested blocks
extend the prefix (``res_4.conv_1.conv``). The input layer is ``input`` and the head's layers
start with ``head.``. Every failure, ours or Keras', leaves as a :class:`SpecError` naming the
block and the rule.

:func:`build_shapes` builds the same graph without weights (for the cost model and the graph
views, which read shapes only): about twice as fast, and its weights refuse to be read.
"""
from __future__ import annotations

import re
from typing import Any

import keras

from playground import blocks as _blocks  # noqa: F401  (registers every block type)
from playground.blocks.base import apply_block
from playground.blocks.layers import keras_input
from playground.errors import SpecError, first_line
from playground.spec import ArchSpec, block_names


def model_name(spec: ArchSpec) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", spec.name) or "model"


def build(spec: ArchSpec) -> keras.Model:
    """Build the Keras Functional model that ``spec`` describes (with initialised weights)."""
    names = block_names(spec)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"block '{dupes[0]}'", "duplicate block name; block names must be unique",
                        block=dupes[0])
    if "head" in names or "input" in names:
        raise SpecError("spec", "block names 'head' and 'input' are reserved")
    inp = keras_input(spec.input_shape, spec.input_dtype)
    x = inp
    aux: list = []
    for name, bs in zip(names, spec.blocks):
        x = apply_block(x, bs, name, aux)
    if spec.head is not None:
        x = apply_block(x, spec.head, "head", aux)
    outputs = [x, *aux] if aux else x
    try:
        return keras.Model(inp, outputs, name=model_name(spec))
    except (ValueError, TypeError) as e:  # pragma: no cover - defensive
        raise SpecError("spec", first_line(e, 300)) from None


class ShapeOnlyModelError(RuntimeError):
    """A weight of a :func:`build_shapes` model was read: it has shapes but no values."""


def _no_values(name: str, model_name_: str) -> Any:
    def initializer(*args: Any, **kwargs: Any) -> Any:
        raise ShapeOnlyModelError(
            f"model '{model_name_}' was built for analysis only (weight shapes, no values; "
            f"weight {name!r}): build it with playground.build.build(spec) to export, save, "
            "run or train it")
    return initializer


def build_shapes(spec: ArchSpec) -> keras.Model:
    """The model of ``spec`` with deferred, never-materialised weights: layers, names, output
    shapes, weight shapes and ``count_params()`` are those of :func:`build`, but no backend
    variable is allocated (Keras' ``StatelessScope`` defers initialisation). Reading a weight's
    value (predict, fit, save, export) raises :class:`ShapeOnlyModelError` instead of handing
    out fresh random numbers; ``model.shape_only`` is True.
    """
    from keras.src.backend.common import global_state  # Keras' deferred-variable registry

    registry = "uninitialized_variables"
    pending = list(global_state.get_global_attribute(registry, None) or [])
    try:
        # initialize_variables=False: leaving the scope must not allocate the weights after all
        with keras.StatelessScope(initialize_variables=False):
            model = build(spec)
    finally:
        # Keras lists every deferred variable for a later initialize_all_variables(); ours
        # must never be initialised, so the list is put back as it was.
        global_state.set_global_attribute(registry, pending)
    for v in model.weights:
        if getattr(v, "_value", None) is None:
            v._initializer = _no_values(v.path, model.name)
    model.shape_only = True
    return model
