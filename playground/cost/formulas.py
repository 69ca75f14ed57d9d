"""Cost and shape maths as pure functions on shapes and integers (no Keras import).

Counting conventions (the handler table in :mod:`playground.cost.handlers` follows them):

* **MAC** = one multiply-add of an input value with a *weight* (conv, dense, matmul kernels).
  Bias additions are not MACs.
* **FLOPs** = ``2 * MACs + other ops`` (see :func:`flops`): both conventions can be read off.

The formulas take spatial sizes as sequences (one entry per spatial axis), so the same code
serves the 1D, 2D and 3D layers. Unknown dimensions (``None``) raise :class:`UnknownDimension`:
a cost is never silently zero.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Sequence

__all__ = [
    "UnknownDimension",
    "prod",
    "conv_macs",
    "depthwise_macs",
    "separable_macs",
    "conv_transpose_macs",
    "dense_macs",
    "conv_output_length",
    "conv_transpose_output_length",
    "rf_step",
    "receptive_field",
    "separable_cost_ratio",
    "flops",
    "format_count",
    "format_bytes",
]


class UnknownDimension(ValueError):
    """A cost needs a dimension that is unknown (``None``) in the built model."""


def prod(values: Iterable[int | None]) -> int:
    """Product of dimensions; an unknown (``None``) dimension raises :class:`UnknownDimension`."""
    result = 1
    for v in values:
        if v is None:
            raise UnknownDimension("a dimension is unknown (None)")
        result *= int(v)
    return result


def _int(v: int | None) -> int:
    if v is None:
        raise UnknownDimension("a dimension is unknown (None)")
    return int(v)


def conv_macs(
    kernel: Sequence[int], cin: int, cout: int, out_spatial: Sequence[int], groups: int = 1
) -> int:
    """Standard (grouped) convolution: ``prod(kernel) * (cin / groups) * cout * prod(out)``."""
    cin, cout, groups = _int(cin), _int(cout), int(groups)
    if groups < 1 or cin % groups:
        raise ValueError(f"cin={cin} is not divisible by groups={groups}")
    return prod(kernel) * (cin // groups) * cout * prod(out_spatial)


def depthwise_macs(
    kernel: Sequence[int], cin: int, out_spatial: Sequence[int], depth_multiplier: int = 1
) -> int:
    """Depthwise convolution: ``prod(kernel) * cin * depth_multiplier * prod(out)``."""
    return prod(kernel) * _int(cin) * int(depth_multiplier) * prod(out_spatial)


def separable_macs(
    kernel: Sequence[int],
    cin: int,
    cout: int,
    out_spatial: Sequence[int],
    depth_multiplier: int = 1,
) -> int:
    """Depthwise separable conv = depthwise part + 1x1 pointwise part (``cin*dm -> cout``)."""
    mid = _int(cin) * int(depth_multiplier)
    return depthwise_macs(kernel, cin, out_spatial, depth_multiplier) + mid * _int(cout) * prod(
        out_spatial
    )


def conv_transpose_macs(
    kernel: Sequence[int], cin: int, cout: int, in_spatial: Sequence[int], groups: int = 1
) -> int:
    """Transposed convolution: every *input* element is scattered through the kernel,
    ``prod(kernel) * (cin / groups) * cout * prod(in_spatial)``."""
    cin, groups = _int(cin), int(groups)
    if groups < 1 or cin % groups:
        raise ValueError(f"cin={cin} is not divisible by groups={groups}")
    return prod(kernel) * (cin // groups) * _int(cout) * prod(in_spatial)


def dense_macs(in_features: int, out_features: int, leading: Sequence[int] = ()) -> int:
    """Dense on any rank: ``in * out * prod(leading dims)`` (leading = all axes but the last)."""
    return _int(in_features) * _int(out_features) * prod(leading)


def conv_output_length(
    n: int | None, kernel: int, stride: int = 1, padding: str = "valid", dilation: int = 1
) -> int | None:
    """Output length of a conv/pool along one axis, with Keras semantics.

    ``"same"`` and ``"causal"``: ``ceil(n / stride)``; ``"valid"``:
    ``ceil((n - k_eff + 1) / stride)`` with ``k_eff = (k - 1) * dilation + 1`` (0 if negative).
    """
    if n is None:
        return None
    k_eff = (kernel - 1) * dilation + 1
    padding = padding.lower()
    if padding in ("same", "causal"):
        length = n
    elif padding == "valid":
        length = n - k_eff + 1
    elif padding == "full":
        length = n + k_eff - 1
    else:
        raise ValueError(f"unknown padding {padding!r}; known: same, valid, causal, full")
    return max(0, (length + stride - 1) // stride)


def conv_transpose_output_length(
    n: int | None,
    kernel: int,
    stride: int = 1,
    padding: str = "valid",
    dilation: int = 1,
    output_padding: int | None = None,
) -> int | None:
    """Output length of a transposed conv along one axis (Keras ``deconv_output_length``)."""
    if n is None:
        return None
    k_eff = (kernel - 1) * dilation + 1
    padding = padding.lower()
    if output_padding is None:
        if padding == "valid":
            return n * stride + max(k_eff - stride, 0)
        if padding == "same":
            return n * stride
        if padding == "full":
            return n * stride - (stride + k_eff - 2)
        raise ValueError(f"unknown padding {padding!r}; known: same, valid, full")
    pad = {"same": k_eff // 2, "valid": 0, "full": k_eff - 1}[padding]
    return (n - 1) * stride + k_eff - 2 * pad + output_padding


Number = int | Fraction


def split_channels(shape: tuple, data_format: str | None) -> tuple[tuple, int | None]:
    """``(spatial dims, channels)`` of a shape without the batch axis."""
    if data_format == "channels_first":
        return tuple(shape[1:]), shape[0]
    return tuple(shape[:-1]), shape[-1]


def rf_step(
    rf: Number, jump: Number, kernel: int, stride: int = 1, dilation: int = 1
) -> tuple[Number, Number]:
    """One layer of receptive-field growth along one spatial axis.

    ``rf_out = rf + (k_eff - 1) * jump`` and ``jump_out = jump * stride``, with
    ``k_eff = (kernel - 1) * dilation + 1``. ``jump`` is the distance, in input pixels, between
    neighbouring positions of the current feature map (the effective stride).
    """
    k_eff = (kernel - 1) * dilation + 1
    return rf + (k_eff - 1) * jump, jump * stride


def receptive_field(layers: Iterable[tuple[int, int] | tuple[int, int, int]]) -> tuple[int, int]:
    """Receptive field and effective stride of a chain of ``(kernel, stride[, dilation])``."""
    rf, jump = 1, 1
    for spec in layers:
        rf, jump = rf_step(rf, jump, *spec)
    return rf, jump


def separable_cost_ratio(n: int, dk: int) -> Fraction:
    """Depthwise separable / standard conv cost (MACs and weights, no bias): ``1/N + 1/Dk**2``.

    Exact (a :class:`fractions.Fraction`), so tests can compare it with a MAC ratio exactly.
    """
    return Fraction(1, n) + Fraction(1, dk * dk)


def flops(macs: int, other_ops: int = 0) -> int:
    """FLOPs = 2 * MACs + other (non-MAC) arithmetic."""
    return 2 * int(macs) + int(other_ops)


_UNITS = ((10**3, "K"), (10**6, "M"), (10**9, "G"), (10**12, "T"))


def format_count(n: float | int | None, style: str = "short") -> str:
    """A count for people: ``style="short"`` gives 346.8M, 99.5M, 1.82G, 25.6M, 4.61K, 512;
    ``style="exact"`` gives 99,549,184. ``None`` gives "?".

    Short form: below 1000 the number itself; otherwise two decimals when the scaled value is
    below 10 (1.82G), one decimal from 10 up (346.8M); 999.96M rounds up to 1.00G.
    """
    if n is None:
        return "?"
    if style == "exact":
        return f"{int(round(n)):,}"
    if style != "short":
        raise ValueError(f"unknown style {style!r}; known: exact, short")
    sign = "-" if n < 0 else ""
    a = abs(n)
    unit_index = -1
    for i, (scale, _) in enumerate(_UNITS):
        if a >= scale:
            unit_index = i
    if unit_index < 0:
        if float(a).is_integer():
            return f"{sign}{int(a)}"
        return f"{sign}{a:.3g}"
    while True:
        scale, unit = _UNITS[unit_index]
        v = a / scale
        text = f"{v:.2f}" if round(v, 2) < 10 else f"{v:.1f}"
        if float(text) >= 1000 and unit_index + 1 < len(_UNITS):
            unit_index += 1
            continue
        return f"{sign}{text}{unit}"


def format_bytes(n: float | int | None) -> str:
    """Bytes for people, in binary units: 512 B, 97.5 KiB, 13.6 MiB, 1.25 GiB."""
    if n is None:
        return "?"
    a = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if a < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(a)} B"
            return f"{a:.2f} {unit}" if a < 10 else f"{a:.1f} {unit}"
        a /= 1024
    return f"{a:.1f} TiB"  # pragma: no cover


def _is_int(x: Number) -> bool:
    return isinstance(x, int) or (isinstance(x, Fraction) and x.denominator == 1)


def plain_number(x: Number | float | None) -> int | float | None:
    """A Fraction as an int when whole, else a float (for JSON and tables)."""
    if x is None:
        return None
    if _is_int(x):
        return int(x)
    return float(x)


__all__ += ["plain_number"]
