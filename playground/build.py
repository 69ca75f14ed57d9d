"""``build(spec) -> keras.Model``: the Functional graph of an ArchSpec, with predictable names.

Layer names are ``{block}.{part}`` (``conv_3.conv``, ``stage2_b1.shortcut``); nested blocks
extend the prefix (``res_4.conv_1.conv``). The input layer is ``input`` and the head's layers
start with ``head.``. Every failure, ours or Keras', leaves as a :class:`SpecError` naming the
block and the rule.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

import keras

from playground import blocks as _blocks  # noqa: F401  (registers every block type)
from playground.blocks.base import BLOCKS, BlockCtx, resolve_params
from playground.blocks.layers import keras_input
from playground.errors import SpecError, first_line
from playground.spec import ArchSpec, BlockSpec, block_names


def apply_block(x: Any, bspec: BlockSpec | Mapping[str, Any], name: str, outputs: list) -> Any:
    """Build one block on ``x`` under the layer-name prefix ``name``."""
    if not isinstance(bspec, BlockSpec):
        bspec = BlockSpec.from_dict(bspec, f"block '{name}'")
    where = f"block '{name}' ({bspec.type})"
    if bspec.type not in BLOCKS:
        raise SpecError(f"block '{name}'", f"unknown block type {bspec.type!r}; known: "
                        + ", ".join(BLOCKS.list()), block=name.split(".")[0])
    btype = BLOCKS.get(bspec.type)
    try:
        params = resolve_params(btype, bspec.params, where)
    except SpecError as e:
        e.block = name.split(".")[0]
        raise
    ctx = BlockCtx(name, bspec.type, outputs)
    try:
        return btype.build(x, params, ctx)
    except SpecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise ctx.error(first_line(e, 300)) from None


def apply_blocks(x: Any, items: Iterable[Any], parent: BlockCtx) -> Any:
    """Build an inner block list (a composite block's body) under ``parent``'s name."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        bs = item if isinstance(item, BlockSpec) else BlockSpec.from_dict(
            item, f"{parent.where} inner block #{i + 1}")
        local = bs.name or f"{bs.type}_{i + 1}"
        if local in seen:
            raise parent.error(f"duplicate inner block name {local!r}")
        seen.add(local)
        x = apply_block(x, bs, f"{parent.name}.{local}", parent.outputs)
    return x


def model_name(spec: ArchSpec) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", spec.name) or "model"


def build(spec: ArchSpec) -> keras.Model:
    """Build the Keras Functional model that ``spec`` describes."""
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
