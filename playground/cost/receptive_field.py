"""Receptive field and effective stride per tensor: pure functions on shapes.

A :class:`Field` holds, per spatial axis, the receptive field in input pixels (``rf``), the
effective stride (``jump``; None once the field is the whole input) and the spatial size of the
model input the field lives in. The rules (channels_last unless ``data_format`` says otherwise):

* a layer with windows ``(kernel, stride, dilation)`` grows the field with
  :func:`playground.cost.formulas.rf_step`: ``rf += (k_eff - 1) * jump``, ``jump *= stride``;
* a resampling layer multiplies the stride by its ``scale`` (1/2 for 2x upsampling);
* merges take the maximum over their inputs (:func:`merge`);
* global pooling, Flatten (``global_field``) and any rank-1 output make the field the whole input,
  and everything downstream of them sees the whole input;
* a layout change (``reset``: Reshape, Permute) measures the field afresh from that layer;
* a non-spatial tensor that never saw a spatial input has no field (None).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Sequence

from playground.cost.formulas import plain_number, rf_step, split_channels

Number = int | Fraction

__all__ = ["Field", "fresh", "whole", "merge", "propagate", "input_field", "field_values"]


@dataclass(frozen=True)
class Field:
    """The receptive field of one tensor, per spatial axis."""

    rf: tuple  # in input pixels (int or Fraction)
    jump: tuple | None  # effective stride; None once the field is the whole input
    size: tuple  # spatial size of the model input the field lives in (entries may be None)


def fresh(spatial: Sequence[int | None]) -> Field | None:
    """The field of a tensor measured from itself: 1 pixel, stride 1 (None without spatial axes)."""
    n = len(spatial)
    if n == 0:
        return None
    return Field((1,) * n, (1,) * n, tuple(spatial))


def whole(f: Field) -> tuple:
    """The field that covers the whole input (the input's size where known)."""
    return tuple(r if s is None else s for r, s in zip(f.rf, f.size))


def _max_opt(values: Iterable[Any]) -> Any:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def merge(fields: Sequence[Field | None]) -> Field | None:
    """The field of a layer with several inputs: the per-axis maximum of the inputs' fields
    (inputs of another spatial rank than the first are left out)."""
    fs = [f for f in fields if f is not None]
    if len(fs) <= 1:
        return fs[0] if fs else None
    n = len(fs[0].rf)
    fs = [f for f in fs if len(f.rf) == n]
    if len(fs) == 1:
        return fs[0]
    rf = tuple(max(f.rf[i] for f in fs) for i in range(n))
    size = tuple(_max_opt(f.size[i] for f in fs) for i in range(n))
    jumps = [f.jump for f in fs if f.jump is not None]
    jump = tuple(max(j[i] for j in jumps) for i in range(n)) if jumps else None
    return Field(rf, jump, size)


def input_field(shape: Sequence[int | None]) -> Field | None:
    """The field of a model input of ``shape`` (no batch axis, channels last)."""
    return fresh(tuple(shape)[:-1]) if len(shape) >= 2 else None


def propagate(base: Field | None, out_shape: Sequence[int | None],
              in_shape: Sequence[int | None] | None = None, data_format: str = "channels_last",
              *, window: Sequence[tuple[int, int, int]] | None = None,
              scale: Sequence[Number] | None = None, global_field: bool = False,
              reset: bool = False) -> Field | None:
    """The field of a layer's output (``out_shape``, no batch axis) from the merged field of its
    inputs (``base``), given the layer's effect: ``window`` one ``(kernel, stride, dilation)``
    per spatial axis, ``scale`` the stride factor per axis, ``global_field``, ``reset``."""
    out_rank = len(out_shape)
    if base is not None and base.jump is None:
        return base  # downstream of a global view: still the whole input
    if base is not None and (global_field or out_rank < 2):
        return Field(whole(base), None, base.size)
    if out_rank < 2:
        return None
    out_spatial = split_channels(tuple(out_shape), data_format)[0]
    if reset:
        return fresh(out_spatial)
    if window is None and scale is None:
        if base is None or len(base.rf) != len(out_spatial):
            return fresh(out_spatial)
        return base
    n = len(window if window is not None else scale)
    if base is None or len(base.rf) != n:
        base = fresh(split_channels(tuple(in_shape or out_shape), data_format)[0][:n])
        if base is None:
            return None
    rf, jump = list(base.rf), list(base.jump)
    if scale is not None:
        jump = [j * s for j, s in zip(jump, scale)]
    if window is not None:
        for i, (k, s, d) in enumerate(window):
            rf[i], jump[i] = rf_step(rf[i], jump[i], k, s, d)
    return Field(tuple(rf), tuple(jump), base.size)


def field_values(f: Field | None) -> tuple[tuple | None, tuple | None]:
    """``(receptive field, effective stride)`` as plain numbers for a report row (fractions that
    are whole become ints); ``(None, None)`` without a field, stride None for a global view."""
    if f is None:
        return None, None
    rf = tuple(plain_number(r) for r in f.rf)
    stride = None if f.jump is None else tuple(plain_number(j) for j in f.jump)
    return rf, stride
