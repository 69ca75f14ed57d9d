"""Validated layer helpers that blocks compose: conv, depthwise, separable, pooling, BN, merges.

Each helper checks the rule Keras would otherwise break with an opaque message (kernel larger
than the map, a stride that collapses it, groups that do not divide the channels) and raises a
:class:`SpecError` that names the block. Conv helpers work on 1D and 2D inputs alike (by rank).
"""
from __future__ import annotations

from typing import Any, Sequence

from playground._env import LazyModule
from playground.blocks.base import BlockCtx
from playground.cost.formulas import conv_output_length

keras = LazyModule("keras")  # Keras loads when a block is built, not when blocks are listed
layers = LazyModule("keras.layers")

ACTIVATIONS = ("relu", "relu6", "swish", "gelu", "elu", "selu", "tanh", "sigmoid", "leaky_relu",
               "none")
NO_ACT = (None, "none", "linear")


def spatial(x: Any) -> tuple[int, ...]:
    return tuple(x.shape[1:-1])


def channels(x: Any) -> int:
    return int(x.shape[-1])


def fmt_shape(shape: Sequence[Any]) -> str:
    return "x".join(str(s) for s in shape)


def _tuple(v: int | Sequence[int], rank: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * rank
    v = tuple(v)
    if len(v) != rank:
        raise ValueError(f"expected {rank} values, got {list(v)}")
    return v


def check_window(x: Any, b: BlockCtx, kernel: Any, stride: Any, padding: str, what: str = "kernel",
                 dilation: int = 1) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate a sliding window over ``x``'s spatial axes; return (kernel, stride) tuples."""
    sp = spatial(x)
    if not sp:
        raise b.error(f"needs a spatial (1D or 2D) input, got shape {fmt_shape(x.shape[1:])}; "
                      "it cannot follow flatten, dense or global pooling")
    if any(s is None for s in sp):
        return _tuple(kernel, len(sp)), _tuple(stride, len(sp))
    try:
        k, s = _tuple(kernel, len(sp)), _tuple(stride, len(sp))
    except ValueError as e:
        raise b.error(f"{what} size: {e}") from None
    if any(v <= 0 for v in k + s):
        raise b.error(f"{what} size and stride must be positive, got {what} {fmt_shape(k)} "
                      f"stride {fmt_shape(s)}")
    keff = tuple((kk - 1) * dilation + 1 for kk in k)
    if padding == "valid" and any(kk > n for kk, n in zip(keff, sp)):
        raise b.error(f"{what} {fmt_shape(keff)} is larger than its {fmt_shape(sp)} feature map "
                      "with padding='valid'")
    out = tuple(conv_output_length(n, kk, ss, padding, dilation) for n, kk, ss in zip(sp, k, s))
    if any(o < 1 for o in out):
        raise b.error(f"stride {fmt_shape(s)} with {what} {fmt_shape(k)} collapses the "
                      f"{fmt_shape(sp)} feature map to zero")
    return k, s


def _conv_cls(x: Any, b: BlockCtx, two_d: type, one_d: type) -> type:
    rank = len(spatial(x))
    if rank == 2:
        return two_d
    if rank == 1:
        return one_d
    raise b.error(f"needs a 1D or 2D feature map, got shape {fmt_shape(x.shape[1:])}")


def conv(x: Any, b: BlockCtx, part: str, filters: int, kernel: Any = 3, stride: Any = 1,
         padding: str = "same", groups: int = 1, use_bias: bool = True,
         activation: str | None = None, dilation: int = 1) -> Any:
    """A (grouped) convolution, 1D or 2D by the rank of ``x``."""
    if filters <= 0:
        raise b.error(f"filters must be positive, got {filters}")
    check_window(x, b, kernel, stride, padding, dilation=dilation)
    cin = channels(x)
    if groups < 1 or cin % groups or filters % groups:
        raise b.error(f"groups={groups} must divide both the input channels ({cin}) and the "
                      f"filters ({filters})")
    cls = _conv_cls(x, b, layers.Conv2D, layers.Conv1D)
    act = None if activation in NO_ACT else activation
    return cls(filters, kernel, strides=stride, padding=padding, groups=groups, use_bias=use_bias,
               activation=act, dilation_rate=dilation, name=b.layer(part))(x)


def depthwise(x: Any, b: BlockCtx, part: str, kernel: Any = 3, stride: Any = 1,
              padding: str = "same", depth_multiplier: int = 1, use_bias: bool = True) -> Any:
    check_window(x, b, kernel, stride, padding)
    cls = _conv_cls(x, b, layers.DepthwiseConv2D, layers.DepthwiseConv1D)
    return cls(kernel, strides=stride, padding=padding, depth_multiplier=depth_multiplier,
               use_bias=use_bias, name=b.layer(part))(x)


def separable(x: Any, b: BlockCtx, part: str, filters: int, kernel: Any = 3, stride: Any = 1,
              padding: str = "same", depth_multiplier: int = 1, use_bias: bool = True,
              activation: str | None = None) -> Any:
    if filters <= 0:
        raise b.error(f"filters must be positive, got {filters}")
    check_window(x, b, kernel, stride, padding)
    cls = _conv_cls(x, b, layers.SeparableConv2D, layers.SeparableConv1D)
    act = None if activation in NO_ACT else activation
    return cls(filters, kernel, strides=stride, padding=padding, depth_multiplier=depth_multiplier,
               use_bias=use_bias, activation=act, name=b.layer(part))(x)


def bn(x: Any, b: BlockCtx, part: str = "bn") -> Any:
    return layers.BatchNormalization(name=b.layer(part))(x)


def act(x: Any, b: BlockCtx, kind: str | None, part: str = "act") -> Any:
    if kind in NO_ACT:
        return x
    return layers.Activation(kind, name=b.layer(part))(x)


def conv_bn_act(x: Any, b: BlockCtx, part: str, filters: int, kernel: Any = 3, stride: Any = 1,
                padding: str = "same", groups: int = 1, activation: str | None = "relu",
                batch_norm: bool = True, bias: bool | None = None, dilation: int = 1) -> Any:
    """conv -> [BN] -> activation; without BN the activation is fused into the conv layer."""
    use_bias = (not batch_norm) if bias is None else bias
    if not batch_norm:
        return conv(x, b, part, filters, kernel, stride, padding, groups, use_bias, activation,
                    dilation)
    x = conv(x, b, part, filters, kernel, stride, padding, groups, use_bias, None, dilation)
    x = bn(x, b, f"{part}_bn")
    return act(x, b, activation, f"{part}_act")


def pool(x: Any, b: BlockCtx, part: str, kind: str, size: Any = 2, stride: Any = None,
         padding: str = "valid") -> Any:
    stride = size if stride is None else stride
    check_window(x, b, size, stride, padding, what="pool window")
    if kind == "max":
        cls = _conv_cls(x, b, layers.MaxPooling2D, layers.MaxPooling1D)
    else:
        cls = _conv_cls(x, b, layers.AveragePooling2D, layers.AveragePooling1D)
    return cls(size, strides=stride, padding=padding, name=b.layer(part))(x)


def global_pool(x: Any, b: BlockCtx, part: str, kind: str) -> Any:
    if len(x.shape) == 2:
        return x  # already a vector
    if kind == "max":
        cls = _conv_cls(x, b, layers.GlobalMaxPooling2D, layers.GlobalMaxPooling1D)
    else:
        cls = _conv_cls(x, b, layers.GlobalAveragePooling2D, layers.GlobalAveragePooling1D)
    return cls(name=b.layer(part))(x)


def add(xs: list[Any], b: BlockCtx, part: str = "add") -> Any:
    shapes = [tuple(t.shape[1:]) for t in xs]
    if len(set(shapes)) > 1:
        raise b.error("residual add with mismatched shapes "
                      + " vs ".join(fmt_shape(s) for s in shapes)
                      + " and no projection; set shortcut to 'projection' (or 'auto')")
    return layers.Add(name=b.layer(part))(xs)


def concat(xs: list[Any], b: BlockCtx, part: str = "concat") -> Any:
    sps = [spatial(t) for t in xs]
    if len(set(sps)) > 1:
        raise b.error("cannot concatenate branches with different spatial sizes "
                      + ", ".join(fmt_shape(s) for s in sps))
    return layers.Concatenate(name=b.layer(part))(xs)


def drop_path(x: Any, b: BlockCtx, survival: float, part: str = "drop_path") -> Any:
    """Stochastic depth: drop the whole residual branch per sample with probability 1-survival.

    A Dropout whose noise is shared across every axis but the batch drops a sample's branch
    entirely and rescales the kept ones by 1/survival in training; at inference it is the
    identity, which is the expected-value form of Huang et al.'s rule.
    """
    if survival >= 1.0:
        return x
    noise = (None,) + (1,) * (len(x.shape) - 1)
    return layers.Dropout(1.0 - survival, noise_shape=noise, name=b.layer(part))(x)


def projection(x: Any, b: BlockCtx, like: Any, part: str = "shortcut", batch_norm: bool = True,
               padding: str = "same", bias: bool | None = None) -> Any:
    """1x1 conv (with the stride that matches ``like``'s spatial size) onto ``like``'s shape."""
    sin, sout = spatial(x), spatial(like)
    strides = []
    for n_in, n_out in zip(sin, sout):
        s = max(1, -(-n_in // n_out))
        if conv_output_length(n_in, 1, s, padding) != n_out:
            raise b.error(f"cannot project the {fmt_shape(sin)} shortcut onto the "
                          f"{fmt_shape(sout)} output with a strided 1x1 conv")
        strides.append(s)
    stride = strides[0] if len(set(strides)) == 1 else tuple(strides)
    return conv_bn_act(x, b, part, channels(like), 1, stride, padding, activation=None,
                       batch_norm=batch_norm, bias=bias)


def keras_input(shape: Sequence[int], dtype: str, name: str = "input") -> Any:
    return keras.Input(shape=tuple(shape), dtype=dtype, name=name)
