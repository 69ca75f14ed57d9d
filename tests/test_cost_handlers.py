"""One small test per cost handler against hand-computed numbers (fvcore-style).

``CASES`` holds, for every key of the handler table, at least one tiny model with the MACs, other
ops and params of that layer worked out by hand (the arithmetic is written in the case, never
taken from the code under test). ``test_every_handler_has_a_hand_computed_case`` fails naming
any registered handler without a case, so a new handler is tested by registering it here.
"""
from fractions import Fraction
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest

import playground  # noqa: F401  (sets KERAS_BACKEND)
import keras
from keras import layers, ops
from keras.src.applications.convnext import LayerScale, StochasticDepth
from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

from playground.cost import analyze
from playground.cost import formulas as F
from playground.cost.handlers import HANDLERS, OpCost, activation_ops, handler_for

L = layers


def run_handler(layer, *input_shapes, dtype="float32"):
    """Call ``layer`` on symbolic inputs and run its handler on the shapes (no batch axis)."""
    inputs = [keras.Input(shape=s, dtype=dtype) for s in input_shapes]
    out = layer(inputs if len(inputs) > 1 else inputs[0])
    outs = out if isinstance(out, (list, tuple)) else [out]
    handler = HANDLERS.get(type(layer).__name__)
    return handler(layer, [tuple(s) for s in input_shapes], [tuple(o.shape[1:]) for o in outs])


class Case(NamedTuple):
    """A tiny model around one layer of type ``key`` and that layer's cost, worked out by hand."""

    key: str  # the handler-table key (layer type name) the case covers
    build: Callable[[list], Any]  # the model inputs -> the output tensor
    shapes: list  # input shapes without the batch axis
    macs: int
    other_ops: int
    params: int = 0
    dtype: str = "float32"


def lay(cls, *args, **kwargs) -> Callable[[list], Any]:
    """A fresh ``cls(*args, **kwargs)`` called on the input (or the list of inputs)."""
    return lambda xs: cls(*args, **kwargs)(xs if len(xs) > 1 else xs[0])


def op(fn, *args, **kwargs) -> Callable[[list], Any]:
    """A ``keras.ops`` function called on the inputs, then ``args``."""
    return lambda xs: fn(*xs, *args, **kwargs)


def layer_case(cls, args: tuple, kwargs: dict, shapes: list, macs: int, other_ops: int,
               params: int = 0, dtype: str = "float32") -> Case:
    return Case(cls.__name__, lay(cls, *args, **kwargs), shapes, macs, other_ops, params, dtype)


def free(cls, *args, shape=(4, 4, 3), **kwargs) -> Case:
    """A layer that costs nothing at inference (identity, copy, layout, augmentation)."""
    return layer_case(cls, args, kwargs, [shape], 0, 0)


def per_element(key: str, build, shape: tuple, ops_each: int, params: int = 0) -> Case:
    n = int(np.prod(shape))
    return Case(key, build, [shape], 0, ops_each * n, params)


S = (4, 4, 3)  # the default small feature map: 4*4*3 = 48 elements
N = 4 * 4 * 3
V = (3, 4)  # the default small non-spatial tensor: 12 elements

CASES: dict[str, Case] = {
    # --- convolutions: MACs = prod(kernel) * Cin/groups * Cout * prod(out); bias 1 per output
    "conv1d_causal": layer_case(L.Conv1D, (6, 5), {"padding": "causal"}, [(20, 3)],
                                5 * 3 * 6 * 20, 20 * 6, 5 * 3 * 6 + 6),
    "conv2d_same_bias": layer_case(L.Conv2D, (8, 3), {"padding": "same"}, [(10, 10, 4)],
                                   3 * 3 * 4 * 8 * 10 * 10, 10 * 10 * 8, 3 * 3 * 4 * 8 + 8),
    # out (9-3)//2+1 = 4: 4x4x8; bias + relu, 1 each per output element
    "conv2d_stride2_relu": layer_case(L.Conv2D, (8, 3), {"strides": 2, "activation": "relu"},
                                      [(9, 9, 4)], 3 * 3 * 4 * 8 * 4 * 4, 2 * 4 * 4 * 8,
                                      3 * 3 * 4 * 8 + 8),
    "conv2d_groups": layer_case(L.Conv2D, (8, 3), {"groups": 2, "padding": "same",
                                                   "use_bias": False},
                                [(6, 6, 4)], 3 * 3 * (4 // 2) * 8 * 6 * 6, 0, 3 * 3 * (4 // 2) * 8),
    # channels first: (C=4, 10, 10) -> (8, 8, 8)
    "conv2d_channels_first": layer_case(L.Conv2D, (8, 3), {"data_format": "channels_first"},
                                        [(4, 10, 10)], 3 * 3 * 4 * 8 * 8 * 8, 8 * 8 * 8,
                                        3 * 3 * 4 * 8 + 8),
    # out 3x3x3x4
    "conv3d_valid": layer_case(L.Conv3D, (4, 3), {"use_bias": False}, [(5, 5, 5, 2)],
                               3 * 3 * 3 * 2 * 4 * 3 * 3 * 3, 0, 3 * 3 * 3 * 2 * 4),
    # transposed: every *input* element through the kernel; out (10, 4)
    "conv1d_transpose": layer_case(L.Conv1DTranspose, (4, 3), {"strides": 2, "padding": "same"},
                                   [(5, 6)], 3 * 6 * 4 * 5, 10 * 4, 3 * 6 * 4 + 4),
    "conv2d_transpose": layer_case(L.Conv2DTranspose, (4, 3), {"strides": 2, "padding": "same",
                                                               "use_bias": False},
                                   [(5, 5, 6)], 3 * 3 * 6 * 4 * 5 * 5, 0, 3 * 3 * 6 * 4),
    # out 4x4x4x2, bias 1 each
    "conv3d_transpose": layer_case(L.Conv3DTranspose, (2, 2), {"strides": 2}, [(2, 2, 2, 3)],
                                   2 * 2 * 2 * 3 * 2 * 2 * 2 * 2, 4 * 4 * 4 * 2,
                                   2 * 2 * 2 * 3 * 2 + 2),
    # depthwise: prod(kernel) * C * depth_multiplier * prod(out)
    "depthwise1d": layer_case(L.DepthwiseConv1D, (3,), {}, [(10, 4)],
                              3 * 4 * 8, 8 * 4, 3 * 4 + 4),
    "depthwise2d_dm2": layer_case(L.DepthwiseConv2D, (3,), {"depth_multiplier": 2,
                                                            "padding": "same", "use_bias": False},
                                  [(8, 8, 5)], 3 * 3 * 5 * 2 * 8 * 8, 0, 3 * 3 * 5 * 2),
    # separable: depthwise + pointwise
    "separable1d": layer_case(L.SeparableConv1D, (6, 3), {"padding": "same"}, [(10, 4)],
                              3 * 4 * 10 + 4 * 6 * 10, 10 * 6, 3 * 4 + 4 * 6 + 6),
    "separable2d": layer_case(L.SeparableConv2D, (16, 3), {"padding": "same", "use_bias": False},
                              [(7, 7, 8)], 3 * 3 * 8 * 7 * 7 + 8 * 16 * 7 * 7, 0,
                              3 * 3 * 8 + 8 * 16),
    # --- dense and matmul: in * out per position
    "dense": layer_case(L.Dense, (5,), {}, [(7,)], 7 * 5, 5, 7 * 5 + 5),
    # rank 3: 3 positions; bias 1 + softmax 3 per output element
    "dense_rank3_softmax": layer_case(L.Dense, (5,), {"activation": "softmax"}, [(3, 7)],
                                      3 * 7 * 5, 3 * 5 * (1 + 3), 7 * 5 + 5),
    # (3, 4) @ constant (4, 5): 3*5 outputs, 4 multiply-adds each
    "matmul_constant": Case("Matmul", op(ops.matmul, np.ones((4, 5), "float32")), [(3, 4)],
                            3 * 5 * 4, 0),
    # constant (2, 3) @ (3, 4): 2*4 outputs, 3 multiply-adds each
    "matmul_constant_first": Case("Matmul", lambda xs: ops.matmul(np.ones((2, 3), "float32"),
                                                                  xs[0]), [(3, 4)], 2 * 4 * 3, 0),
    "matmul_two_inputs": Case("Matmul", op(ops.matmul), [(3, 4), (4, 2)], 3 * 2 * 4, 0),
    "embedding": layer_case(L.Embedding, (100, 8), {}, [(12,)], 0, 0, 100 * 8, dtype="int32"),
    # --- normalisation: BN 2 per element (gamma, beta trainable + mean, var non-trainable)
    "batchnorm": per_element("BatchNormalization", lay(L.BatchNormalization), S, 2, 4 * 3),
    "rescaling": per_element("Rescaling", lay(L.Rescaling, 1 / 255), S, 2),
    "normalization": per_element("Normalization", lay(L.Normalization, mean=0.0, variance=1.0),
                                 S, 2),
    "unit_normalization": per_element("UnitNormalization", lay(L.UnitNormalization), S, 3),
    "rms_normalization": per_element("RMSNormalization", lay(L.RMSNormalization), S, 4, 3),
    # 4 (statistics, normalise) + scale + shift per element; gamma and beta of 6
    "layernorm": per_element("LayerNormalization", lay(L.LayerNormalization), (5, 6),
                             4 + 1 + 1, 6 + 6),
    "layernorm_no_shift": per_element("LayerNormalization",
                                      lay(L.LayerNormalization, center=False), (5, 6), 4 + 1, 6),
    "groupnorm": per_element("GroupNormalization", lay(L.GroupNormalization, 3), (4, 4, 6),
                             4 + 1 + 1, 6 + 6),
    "layer_scale": per_element("LayerScale", lay(LayerScale, 1e-6, 3), S, 1, 3),
    # a + b * scale on two inputs: 2 per output element
    "custom_scale": Case("CustomScaleLayer", lay(CustomScaleLayer, 0.17), [S, S], 0, 2 * N),
    # --- activations: 1 per element (softmax 3, linear 0)
    "activation_relu": per_element("Activation", lay(L.Activation, "relu"), S, 1),
    "activation_softmax": per_element("Activation", lay(L.Activation, "softmax"), (10,), 3),
    "activation_linear": per_element("Activation", lay(L.Activation, "linear"), (10,), 0),
    "relu": per_element("ReLU", lay(L.ReLU, 6.0), S, 1),
    "leaky_relu": per_element("LeakyReLU", lay(L.LeakyReLU), S, 1),
    # one alpha per element (no shared axes)
    "prelu": per_element("PReLU", lay(L.PReLU), S, 1, 4 * 4 * 3),
    "elu": per_element("ELU", lay(L.ELU), S, 1),
    "softmax": per_element("Softmax", lay(L.Softmax), (4, 5), 3),
    **{f"op_{fn.__name__}": per_element(key, op(fn), V, 1) for key, fn in [
        ("Relu", ops.relu), ("Relu6", ops.relu6), ("Sigmoid", ops.sigmoid), ("Tanh", ops.tanh),
        ("Silu", ops.silu), ("Gelu", ops.gelu), ("HardSigmoid", ops.hard_sigmoid),
        ("HardSilu", ops.hard_silu), ("Softplus", ops.softplus), ("Exp", ops.exp),
        ("Sqrt", ops.sqrt), ("Absolute", ops.absolute), ("Negative", ops.negative),
        ("Square", ops.square)]},
    # --- merges: n_inputs - 1 per output element, at least 1 (a constant operand)
    "add2": Case("Add", lay(L.Add), [S, S], 0, (2 - 1) * N),
    "add3": Case("Add", lay(L.Add), [S, S, S], 0, (3 - 1) * N),
    "subtract": Case("Subtract", lay(L.Subtract), [S, S], 0, N),
    "multiply": Case("Multiply", lay(L.Multiply), [S, S], 0, N),
    "average": Case("Average", lay(L.Average), [S, S], 0, N),
    "maximum": Case("Maximum", lay(L.Maximum), [S, S], 0, N),
    "minimum": Case("Minimum", lay(L.Minimum), [S, S], 0, N),
    "divide": Case("Divide", op(ops.divide), [V, V], 0, 3 * 4),
    "divide_by_constant": Case("Divide", op(ops.divide, 2.0), [V], 0, 3 * 4),
    "true_divide_by_constant": Case("TrueDivide", op(ops.true_divide, 2.0), [V], 0, 3 * 4),
    # --- pooling: prod(pool) per output element
    "maxpool1d": layer_case(L.MaxPooling1D, (3,), {"strides": 2}, [(9, 2)], 0, 3 * 4 * 2),
    "maxpool2d": layer_case(L.MaxPooling2D, (2,), {}, [(8, 8, 3)], 0, 2 * 2 * 4 * 4 * 3),
    "maxpool3d": layer_case(L.MaxPooling3D, (2,), {}, [(4, 4, 4, 2)], 0,
                            (2 * 2 * 2) * (2 * 2 * 2 * 2)),
    "avgpool1d": layer_case(L.AveragePooling1D, (2,), {}, [(8, 3)], 0, 2 * 4 * 3),
    "avgpool2d_same": layer_case(L.AveragePooling2D, (3,), {"strides": 1, "padding": "same"},
                                 [(5, 5, 2)], 0, 3 * 3 * 5 * 5 * 2),
    "avgpool3d": layer_case(L.AveragePooling3D, (2,), {}, [(4, 4, 4, 1)], 0,
                            (2 * 2 * 2) * (2 * 2 * 2 * 1)),
    # global pooling: 1 per *input* element
    "gap1d": layer_case(L.GlobalAveragePooling1D, (), {}, [(10, 3)], 0, 10 * 3),
    "gap2d": layer_case(L.GlobalAveragePooling2D, (), {}, [S], 0, N),
    "gap3d": layer_case(L.GlobalAveragePooling3D, (), {}, [(2, 4, 4, 3)], 0, 2 * 4 * 4 * 3),
    "gmp1d": layer_case(L.GlobalMaxPooling1D, (), {}, [(10, 3)], 0, 10 * 3),
    "gmp2d_keepdims": layer_case(L.GlobalMaxPooling2D, (), {"keepdims": True}, [S], 0, N),
    "gmp3d": layer_case(L.GlobalMaxPooling3D, (), {}, [(2, 4, 4, 3)], 0, 2 * 4 * 4 * 3),
    # --- resampling: nearest 0, else 2 * neighbours - 1 per output element
    "upsampling1d": layer_case(L.UpSampling1D, (2,), {}, [(3, 2)], 0, 0),
    "upsampling2d_nearest": layer_case(L.UpSampling2D, (2,), {}, [(3, 3, 2)], 0, 0),
    # out 6x6x2, 4 neighbours
    "upsampling2d_bilinear": layer_case(L.UpSampling2D, (2,), {"interpolation": "bilinear"},
                                        [(3, 3, 2)], 0, (2 * 4 - 1) * 6 * 6 * 2),
    "upsampling3d": layer_case(L.UpSampling3D, (2,), {}, [(2, 2, 2, 1)], 0, 0),
    # out 8x8x3
    "resizing_bilinear": layer_case(L.Resizing, (8, 8), {}, [S], 0, (2 * 4 - 1) * 8 * 8 * 3),
    # out 2x2x3, 16 neighbours
    "resizing_bicubic": layer_case(L.Resizing, (2, 2), {"interpolation": "bicubic"}, [S], 0,
                                   (2 * 16 - 1) * 2 * 2 * 3),
    "resizing_nearest": layer_case(L.Resizing, (2, 2), {"interpolation": "nearest"}, [S], 0, 0),
    # --- free at inference: layout, copies, regularisers, augmentation
    "input_layer": Case("InputLayer", lay(L.Identity), [S], 0, 0),
    "identity": free(L.Identity),
    "concatenate": Case("Concatenate", lay(L.Concatenate), [S, (4, 4, 5)], 0, 0),
    "dropout": free(L.Dropout, 0.5),
    "spatial_dropout1d": free(L.SpatialDropout1D, 0.5, shape=(4, 3)),
    "spatial_dropout2d": free(L.SpatialDropout2D, 0.5),
    "spatial_dropout3d": free(L.SpatialDropout3D, 0.5, shape=(2, 4, 4, 3)),
    "gaussian_noise": free(L.GaussianNoise, 0.1),
    "gaussian_dropout": free(L.GaussianDropout, 0.1),
    "alpha_dropout": free(L.AlphaDropout, 0.1),
    "activity_regularization": free(L.ActivityRegularization, l1=0.01),
    "stochastic_depth": free(StochasticDepth, 0.1),
    "masking": free(L.Masking),
    "zeropad1d": free(L.ZeroPadding1D, 1, shape=(4, 3)),
    "zeropad2d": free(L.ZeroPadding2D, 1),
    "zeropad3d": free(L.ZeroPadding3D, 1, shape=(2, 2, 2, 3)),
    "cropping1d": free(L.Cropping1D, 1, shape=(4, 3)),
    "cropping2d": free(L.Cropping2D, 1),
    "cropping3d": free(L.Cropping3D, 1, shape=(4, 4, 4, 3)),
    "center_crop": free(L.CenterCrop, 2, 2),
    "random_crop": free(L.RandomCrop, 2, 2),
    "random_flip": free(L.RandomFlip),
    "random_rotation": free(L.RandomRotation, 0.1),
    "random_translation": free(L.RandomTranslation, 0.1, 0.1),
    "random_zoom": free(L.RandomZoom, 0.1),
    "random_contrast": free(L.RandomContrast, 0.1),
    "random_brightness": free(L.RandomBrightness, 0.1),
    "random_shear": free(L.RandomShear, 0.1),
    "random_hue": free(L.RandomHue, 0.1),
    "random_saturation": free(L.RandomSaturation, 0.1),
    "random_grayscale": free(L.RandomGrayscale),
    "random_color_jitter": free(L.RandomColorJitter),
    "random_color_degeneration": free(L.RandomColorDegeneration, 0.1),
    "random_sharpness": free(L.RandomSharpness, 0.1),
    "random_invert": free(L.RandomInvert),
    "random_posterization": free(L.RandomPosterization, 4),
    "random_perspective": free(L.RandomPerspective),
    "random_erasing": free(L.RandomErasing),
    "random_gaussian_blur": free(L.RandomGaussianBlur),
    "random_elastic_transform": free(L.RandomElasticTransform),
    "flatten": free(L.Flatten),
    "reshape": free(L.Reshape, (16, 3)),
    "permute": free(L.Permute, (2, 1, 3), shape=(4, 5, 3)),
    "op_cast": Case("Cast", op(ops.cast, "float16"), [V], 0, 0),
    "op_expand_dims": Case("ExpandDims", op(ops.expand_dims, 1), [V], 0, 0),
    "op_squeeze": Case("Squeeze", op(ops.squeeze, 1), [(1, 4)], 0, 0),
    "op_transpose": Case("Transpose", op(ops.transpose, (0, 2, 1)), [V], 0, 0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_handler_against_hand_computed_cost(name):
    """The layer's row in a real cost report: MACs, other ops, FLOPs and params as worked out."""
    case = CASES[name]
    inputs = [keras.Input(shape=s, dtype=case.dtype) for s in case.shapes]
    report = analyze(keras.Model(inputs, case.build(inputs)))
    rows = [r for r in report.layers if r.type == case.key]
    assert len(rows) == 1, [(r.name, r.type) for r in report.layers]
    row = rows[0]
    assert row.counted and report.uncounted == []
    assert (row.macs, row.other_ops, row.params) == (case.macs, case.other_ops, case.params)
    assert row.flops == 2 * case.macs + case.other_ops


def test_every_handler_has_a_hand_computed_case():
    """Registering a handler without a case above fails here, naming it."""
    missing = [name for name in HANDLERS if name not in {c.key for c in CASES.values()}]
    assert missing == [], f"cost handlers with no hand-computed case in CASES: {missing}"


def test_every_case_names_a_registered_handler():
    stale = sorted({c.key for c in CASES.values()} - set(HANDLERS))
    assert stale == []


def test_input_layer_handler_is_free():
    inp = keras.Input(shape=(4, 4, 3))
    layer = inp._keras_history.operation
    assert type(layer).__name__ == "InputLayer"
    assert handler_for("InputLayer")(layer, [], [(4, 4, 3)]) == OpCost()


REQUIRED = """InputLayer Conv1D Conv2D Conv3D Conv2DTranspose DepthwiseConv1D DepthwiseConv2D
SeparableConv1D SeparableConv2D Dense Embedding BatchNormalization LayerNormalization Activation
ReLU LeakyReLU PReLU ELU Softmax Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D
GaussianNoise Flatten Reshape Permute Add Subtract Multiply Average Maximum Minimum Concatenate
MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D
GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D
GlobalMaxPooling2D GlobalMaxPooling3D ZeroPadding1D ZeroPadding2D Cropping2D UpSampling2D
Rescaling Normalization Resizing RandomFlip RandomRotation RandomTranslation RandomZoom
RandomContrast Identity CenterCrop""".split()


def test_required_layer_types_have_handlers():
    missing = [name for name in REQUIRED if name not in HANDLERS]
    assert missing == []


# keras.ops operations that can appear in a Functional graph, and layers from
# keras.applications that are not in keras.layers.
NON_LAYER_NAMES = {"Matmul", "Relu", "Relu6", "Sigmoid", "Tanh", "Silu", "Gelu", "HardSigmoid",
                   "HardSilu", "Softplus", "Exp", "Sqrt", "Absolute", "Negative", "Square",
                   "Divide", "TrueDivide", "Cast", "ExpandDims", "Squeeze", "Transpose",
                   "LayerScale", "StochasticDepth", "CustomScaleLayer"}


def test_every_handler_name_is_a_real_type():
    """Catches typos: a misspelt key would silently leave that layer uncounted."""
    from keras.src.ops import core, nn, numpy

    for name in HANDLERS:
        if name in NON_LAYER_NAMES:
            real = any(hasattr(m, name) for m in (core, nn, numpy)) or name in {
                "LayerScale", "StochasticDepth", "CustomScaleLayer"}
        else:
            real = hasattr(keras.layers, name)
        assert real, name


def test_unknown_type_has_no_handler():
    assert handler_for("MyFancyLayer") is None
    with pytest.raises(KeyError, match="known: "):
        HANDLERS.get("MyFancyLayer")


def test_activation_ops_by_name():
    assert [activation_ops(a) for a in ("linear", "relu", "softmax", None)] == [0, 1, 3, 0]
    assert activation_ops(keras.activations.gelu) == 1


# --- receptive-field parts ------------------------------------------------------------------

def test_conv_window_reports_kernel_stride_dilation():
    cost = run_handler(L.Conv2D(4, (3, 5), strides=(2, 1), dilation_rate=(1, 1)), (9, 9, 2))
    assert cost.window == ((3, 2, 1), (5, 1, 1))
    cost = run_handler(L.Conv1D(4, 3, dilation_rate=2, padding="same"), (9, 2))
    assert cost.window == ((3, 1, 2),)


def test_pooling_window_and_global_flags():
    assert run_handler(L.MaxPooling2D(3, strides=2), (9, 9, 2)).window == ((3, 2, 1),) * 2
    assert run_handler(L.GlobalAveragePooling2D(), (4, 4, 2)).global_field
    assert run_handler(L.Flatten(), (4, 4, 2)).global_field


def test_resampling_scales_the_effective_stride():
    assert run_handler(L.UpSampling2D(2), (3, 3, 1)).scale == (Fraction(1, 2),) * 2
    t = run_handler(L.Conv2DTranspose(2, 3, strides=2, padding="same"), (3, 3, 1))
    assert t.scale == (Fraction(1, 2),) * 2 and t.window == ((3, 1, 1),) * 2
    assert run_handler(L.Resizing(2, 8), (4, 4, 1)).scale == (Fraction(2), Fraction(1, 2))


def test_reshape_resets_only_when_spatial_axes_change():
    assert run_handler(L.Reshape((16, 3)), (4, 4, 3)).reset
    assert not run_handler(L.Reshape((4, 4, 3)), (4, 4, 3)).reset


# --- the shape formula agrees with Keras -----------------------------------------------------

@pytest.mark.parametrize("padding", ["same", "valid", "causal"])
@pytest.mark.parametrize("stride, dilation", [(1, 1), (2, 1), (3, 1), (1, 2)])
@pytest.mark.parametrize("n, k", [(13, 3), (16, 5), (7, 1)])
def test_conv_output_length_matches_keras(n, k, stride, dilation, padding):
    if stride > 1 and dilation > 1:
        pytest.skip("Keras refuses stride > 1 together with dilation > 1")
    out = L.Conv1D(1, k, strides=stride, dilation_rate=dilation, padding=padding)(
        keras.Input(shape=(n, 1)))
    assert F.conv_output_length(n, k, stride, padding, dilation) == out.shape[1]


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("stride, k, n", [(2, 3, 5), (2, 4, 7), (3, 3, 4), (1, 3, 6)])
def test_conv_transpose_output_length_matches_keras(n, k, stride, padding):
    out = L.Conv1DTranspose(1, k, strides=stride, padding=padding)(keras.Input(shape=(n, 1)))
    assert F.conv_transpose_output_length(n, k, stride, padding) == out.shape[1]
