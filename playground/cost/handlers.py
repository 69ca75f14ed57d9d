"""The cost handler table: one handler per Keras layer type, keyed by ``type(layer).__name__``.

A handler is ``handler(layer, in_shapes, out_shapes) -> OpCost``: shapes are tuples *without*
the batch axis, one per input / output tensor. It reads the layer's configuration and calls the
pure formulas in :mod:`playground.cost.formulas`. A layer type with no handler is reported as
*uncounted* by :func:`playground.cost.analyze`, never silently zero.

Counting conventions (inference, one sample):

* **MACs**: one multiply-add with a weight, only in conv / dense / matmul kernels.
  Conv ``prod(k) * (Cin/groups) * Cout * prod(out)``; depthwise ``prod(k) * Cin * dm * prod(out)``;
  separable = depthwise + pointwise ``Cin*dm * Cout * prod(out)``; transposed conv
  ``prod(k) * (Cin/groups) * Cout * prod(in)``; Dense ``in * out * prod(leading axes)`` on any
  rank; Embedding 0 (a lookup).
* **Other ops** (non-MAC arithmetic), per output element unless said otherwise:
  bias add 1; activation 1 (softmax / log_softmax 3, linear 0), also when fused into a conv or
  dense layer (``activation="relu"``); BatchNormalization 2 (scale + shift, inference);
  LayerNormalization / GroupNormalization 4 (statistics and normalisation) + 1 for the scale and
  + 1 for the shift when enabled; UnitNormalization 3; RMSNormalization 4; pooling
  ``prod(pool_size)``; global pooling 1 per *input* element; elementwise merges (Add, Subtract,
  Multiply, Average, Maximum, Minimum) ``n_inputs - 1`` (at least 1: an op with a constant
  operand); Rescaling and Normalization 2; LayerScale 1; CustomScaleLayer (Inception-ResNet
  ``a + b * scale``) 2; resampling 0 for nearest, else ``2 * neighbours - 1`` (bilinear 7);
  reshape / concatenate / crop / pad / dropout / noise / random augmentation 0 (identity at
  inference).
* **FLOPs** = ``2 * MACs + other ops``.

For the receptive field a spatial layer also returns ``window``: one ``(kernel, stride,
dilation)`` per spatial axis; resampling layers return ``scale`` (the factor applied to the
effective stride, e.g. 1/2 for 2x upsampling); ``global_field`` marks layers whose output sees
the whole input (global pooling, Flatten); ``reset`` marks layout changes (Reshape, Permute)
after which the field is measured afresh. Layouts are channels_last unless the layer's
``data_format`` says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence

from playground import keras_graph
from playground.cost import formulas as F
from playground.cost.formulas import split_channels
from playground.registry import Registry

Shape = tuple  # a tensor shape without the batch axis; entries may be None

# The counting convention in a few lines, for the UI and the CLI to show next to the numbers.
CONVENTIONS = """\
- MAC = one multiply-add with a weight (conv, dense, matmul).
  Conv: Kh*Kw*(Cin/groups)*Cout*Hout*Wout; depthwise: Kh*Kw*C*Hout*Wout;
  dense: in*out per position. Bias adds are not MACs.
- FLOPs = 2 x MACs + other ops. Other ops (per output element): bias 1, activation 1 (softmax 3),
  BatchNorm 2, LayerNorm 6, pooling Kh*Kw, global pooling 1 per input element, merges n-1,
  Rescaling 2; reshape, concatenate, padding, dropout and augmentation are free at inference.
- Params equal model.count_params(); BatchNorm moving statistics are non-trainable params.
- Memory: fp32 activations (4 B per element); peak = largest set of live tensors (inference).
- Layers without a handler are listed as uncounted, never silently zero."""


@dataclass(frozen=True)
class OpCost:
    """What a handler returns for one call of one layer."""

    macs: int = 0
    other_ops: int = 0
    window: tuple[tuple[int, int, int], ...] | None = None  # (kernel, stride, dilation) per axis
    scale: tuple[Fraction, ...] | None = None  # effective-stride factor per axis (resampling)
    global_field: bool = False  # output sees the whole input (global pooling, Flatten)
    reset: bool = False  # spatial layout changed (Reshape, Permute): field restarts here


Handler = Callable[[Any, Sequence[Shape], Sequence[Shape]], OpCost]

HANDLERS: Registry[Handler] = Registry("cost handler")


def register(*names: str) -> Callable[[Handler], Handler]:
    """Register one handler under several layer type names."""

    def deco(fn: Handler) -> Handler:
        for name in names:
            HANDLERS.add(name, fn)
        return fn

    return deco


# ---------------------------------------------------------------------------------------------
# helpers

ACTIVATION_OPS = {"linear": 0, "softmax": 3, "log_softmax": 3}


def activation_ops(activation: Any) -> int:
    """Ops per element of an activation given as a function, a string or None."""
    if activation is None:
        return 0
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "")
    return ACTIVATION_OPS.get(name, 1)


def elements(shape: Shape) -> int:
    return F.prod(shape)


def _bias_and_activation(layer: Any, out_shape: Shape) -> int:
    n = elements(out_shape)
    ops = n if getattr(layer, "use_bias", False) else 0
    return ops + n * activation_ops(getattr(layer, "activation", None))


def _window(layer: Any, kernel: Sequence[int] | None = None) -> tuple[tuple[int, int, int], ...]:
    kernel = tuple(kernel if kernel is not None else layer.kernel_size)
    rank = len(kernel)
    strides = tuple(getattr(layer, "strides", None) or (1,) * rank)
    dilation = tuple(getattr(layer, "dilation_rate", None) or (1,) * rank)
    return tuple(zip(kernel, strides, dilation))


def _as_tuple(value: Any, rank: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * rank


# ---------------------------------------------------------------------------------------------
# weight layers (MACs)


@register("Conv1D", "Conv2D", "Conv3D")
def conv(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    _, cin = split_channels(in_shapes[0], df)
    out_sp, cout = split_channels(out_shapes[0], df)
    macs = F.conv_macs(layer.kernel_size, cin, cout, out_sp, getattr(layer, "groups", 1))
    return OpCost(macs, _bias_and_activation(layer, out_shapes[0]), window=_window(layer))


@register("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def conv_transpose(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    in_sp, cin = split_channels(in_shapes[0], df)
    _, cout = split_channels(out_shapes[0], df)
    kernel = tuple(layer.kernel_size)
    macs = F.conv_transpose_macs(kernel, cin, cout, in_sp, getattr(layer, "groups", 1))
    strides = tuple(layer.strides)
    dilation = tuple(getattr(layer, "dilation_rate", None) or (1,) * len(kernel))
    # Receptive field: upsample by the stride, then a stride-1 conv with the kernel.
    return OpCost(
        macs,
        _bias_and_activation(layer, out_shapes[0]),
        window=tuple((k, 1, d) for k, d in zip(kernel, dilation)),
        scale=tuple(Fraction(1, s) for s in strides),
    )


@register("DepthwiseConv1D", "DepthwiseConv2D")
def depthwise_conv(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    _, cin = split_channels(in_shapes[0], df)
    out_sp, _ = split_channels(out_shapes[0], df)
    macs = F.depthwise_macs(layer.kernel_size, cin, out_sp, layer.depth_multiplier)
    return OpCost(macs, _bias_and_activation(layer, out_shapes[0]), window=_window(layer))


@register("SeparableConv1D", "SeparableConv2D")
def separable_conv(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    _, cin = split_channels(in_shapes[0], df)
    out_sp, cout = split_channels(out_shapes[0], df)
    macs = F.separable_macs(layer.kernel_size, cin, cout, out_sp, layer.depth_multiplier)
    return OpCost(macs, _bias_and_activation(layer, out_shapes[0]), window=_window(layer))


@register("Dense")
def dense(layer, in_shapes, out_shapes):
    shape = in_shapes[0]
    macs = F.dense_macs(shape[-1], out_shapes[0][-1], shape[:-1])
    return OpCost(macs, _bias_and_activation(layer, out_shapes[0]))


@register("Matmul")
def matmul(layer, in_shapes, out_shapes):
    """``keras.ops.matmul`` in a Functional graph: ``prod(out) * K`` MACs, K = the contracted
    axis: the last axis of the first operand, or the second-to-last axis of the second one when
    the first is a constant (a constant operand is not a graph input, so has no shape here)."""
    a = in_shapes[0]
    if len(a) > 1:
        k = a[-2] if keras_graph.first_argument_is_constant(layer) else a[-1]
    else:
        k = a[0]
    return OpCost(elements(out_shapes[0]) * F.prod([k]))


# ---------------------------------------------------------------------------------------------
# normalisation and activations (other ops)


def _per_element(n_ops: int) -> Handler:
    def handler(layer, in_shapes, out_shapes):
        return OpCost(0, n_ops * elements(out_shapes[0]))

    handler.__doc__ = f"{n_ops} op(s) per output element."
    return handler


def _zero(layer, in_shapes, out_shapes):
    """Free at inference (identity, copy or layout change)."""
    return OpCost()


register("BatchNormalization")(_per_element(2))
register("Rescaling", "Normalization")(_per_element(2))
register("UnitNormalization")(_per_element(3))
register("RMSNormalization")(_per_element(4))
register("LayerScale")(_per_element(1))
register("CustomScaleLayer")(_per_element(2))
register("ReLU", "LeakyReLU", "PReLU", "ELU")(_per_element(1))
register("Softmax")(_per_element(3))
# keras.ops activations and unary math used directly in a Functional graph.
register("Relu", "Relu6", "Sigmoid", "Tanh", "Silu", "Gelu", "HardSigmoid", "HardSilu",
         "Softplus", "Exp", "Sqrt", "Absolute", "Negative", "Square")(_per_element(1))


@register("LayerNormalization", "GroupNormalization")
def layer_norm(layer, in_shapes, out_shapes):
    per = 4 + int(bool(getattr(layer, "scale", True))) + int(bool(getattr(layer, "center", True)))
    return OpCost(0, per * elements(out_shapes[0]))


@register("Activation")
def activation(layer, in_shapes, out_shapes):
    return OpCost(0, activation_ops(getattr(layer, "activation", None)) * elements(out_shapes[0]))


# ---------------------------------------------------------------------------------------------
# merges


@register("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Divide", "TrueDivide")
def elementwise_merge(layer, in_shapes, out_shapes):
    return OpCost(0, max(len(in_shapes) - 1, 1) * elements(out_shapes[0]))


# ---------------------------------------------------------------------------------------------
# pooling


@register("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
          "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def pooling(layer, in_shapes, out_shapes):
    pool = tuple(layer.pool_size)
    strides = tuple(layer.strides or pool)
    window = tuple((k, s, 1) for k, s in zip(pool, strides))
    return OpCost(0, F.prod(pool) * elements(out_shapes[0]), window=window)


@register("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
          "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def global_pooling(layer, in_shapes, out_shapes):
    return OpCost(0, elements(in_shapes[0]), global_field=True)


# ---------------------------------------------------------------------------------------------
# layout (free)

register("InputLayer", "Identity", "Concatenate", "Embedding",
         "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
         "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
         "StochasticDepth", "Masking",
         "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
         "Cropping1D", "Cropping2D", "Cropping3D", "CenterCrop", "RandomCrop",
         "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "RandomContrast",
         "RandomBrightness", "RandomShear", "RandomHue", "RandomSaturation", "RandomGrayscale",
         "RandomColorJitter", "RandomColorDegeneration", "RandomSharpness", "RandomInvert",
         "RandomPosterization", "RandomPerspective", "RandomErasing", "RandomGaussianBlur",
         "RandomElasticTransform",
         "Cast", "ExpandDims", "Squeeze")(_zero)


@register("Flatten")
def flatten(layer, in_shapes, out_shapes):
    return OpCost(global_field=True)


@register("Reshape", "Permute", "Transpose")
def reshape(layer, in_shapes, out_shapes):
    """Free; the field is kept only while the spatial axes are unchanged."""
    df = getattr(layer, "data_format", "channels_last")
    same = split_channels(in_shapes[0], df)[0] == split_channels(out_shapes[0], df)[0]
    return OpCost(reset=not same)


# ---------------------------------------------------------------------------------------------
# resampling

INTERPOLATION_NEIGHBOURS = {"nearest": 0, "bilinear": 4, "area": 4, "bicubic": 16,
                            "lanczos3": 36, "lanczos5": 100, "gaussian": 16, "mitchellcubic": 16}


def interpolation_ops(interpolation: str | None, ndim: int = 2) -> int:
    """Ops per output element: 0 for nearest, else ``2 * neighbours - 1`` (bilinear: 7)."""
    name = (interpolation or "nearest").lower()
    neighbours = INTERPOLATION_NEIGHBOURS.get(name, 4)
    if name == "bilinear" and ndim == 1:
        neighbours = 2
    return 0 if neighbours == 0 else 2 * neighbours - 1


@register("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    rank = len(split_channels(out_shapes[0], df)[0])
    size = _as_tuple(layer.size, rank)
    ops = interpolation_ops(getattr(layer, "interpolation", "nearest"), rank)
    return OpCost(0, ops * elements(out_shapes[0]), scale=tuple(Fraction(1, s) for s in size))


@register("Resizing")
def resizing(layer, in_shapes, out_shapes):
    df = getattr(layer, "data_format", "channels_last")
    in_sp, _ = split_channels(in_shapes[0], df)
    out_sp, _ = split_channels(out_shapes[0], df)
    scale = None
    if None not in in_sp and None not in out_sp and 0 not in out_sp:
        scale = tuple(Fraction(i, o) for i, o in zip(in_sp, out_sp))
    ops = interpolation_ops(getattr(layer, "interpolation", "bilinear"), len(out_sp))
    return OpCost(0, ops * elements(out_shapes[0]), scale=scale)


def field_effect(layer: Any) -> OpCost:
    """The receptive-field part of a cost, read from the layer's configuration only (no shapes):
    the fallback when a shape has unknown dimensions and the MACs cannot be counted."""
    name = type(layer).__name__
    if name in HANDLERS and HANDLERS.get(name) in (global_pooling, flatten):
        return OpCost(global_field=True)
    if "Transpose" in name and hasattr(layer, "kernel_size"):
        kernel = tuple(layer.kernel_size)
        dilation = tuple(getattr(layer, "dilation_rate", None) or (1,) * len(kernel))
        return OpCost(window=tuple((k, 1, d) for k, d in zip(kernel, dilation)),
                      scale=tuple(Fraction(1, s) for s in layer.strides))
    if hasattr(layer, "kernel_size"):
        return OpCost(window=_window(layer))
    if hasattr(layer, "pool_size") and getattr(layer, "strides", None) is not None:
        pool = tuple(layer.pool_size)
        return OpCost(window=tuple((k, s, 1) for k, s in zip(pool, layer.strides)))
    return OpCost()


def handler_for(type_name: str) -> Handler | None:
    """The handler for a layer type name, or None (the layer is then *uncounted*)."""
    return HANDLERS.get(type_name) if type_name in HANDLERS else None
