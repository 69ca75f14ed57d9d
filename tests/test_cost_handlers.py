"""One small test per cost handler against hand-computed numbers (fvcore-style)."""
from fractions import Fraction

import pytest

import playground  # noqa: F401  (sets KERAS_BACKEND)
import keras
from keras import layers

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


# (layer factory, input shapes, MACs, other ops), every number worked out by hand.
CASES = {
    # 9*4*8 * 10*10 MACs; bias 1 per output element
    "conv2d_same_bias": (lambda: L.Conv2D(8, 3, padding="same"), [(10, 10, 4)], 28_800, 800),
    # out 4x4x8: 9*4*8*16 MACs; bias 128 + relu 128
    "conv2d_stride2_relu": (lambda: L.Conv2D(8, 3, strides=2, activation="relu"),
                            [(9, 9, 4)], 4_608, 256),
    # groups=2: 9 * (4/2) * 8 * 36
    "conv2d_groups": (lambda: L.Conv2D(8, 3, groups=2, padding="same", use_bias=False),
                      [(6, 6, 4)], 5_184, 0),
    "conv1d_causal": (lambda: L.Conv1D(6, 5, padding="causal"), [(20, 3)], 1_800, 120),
    # out 3x3x3x4: 27*2*4*27
    "conv3d_valid": (lambda: L.Conv3D(4, 3, use_bias=False), [(5, 5, 5, 2)], 5_832, 0),
    # every input element through the kernel: 9*6*4 * 5*5
    "conv2d_transpose": (lambda: L.Conv2DTranspose(4, 3, strides=2, padding="same",
                                                   use_bias=False), [(5, 5, 6)], 5_400, 0),
    # 9 * 5 * 2 * 64
    "depthwise2d_dm2": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same",
                                                  use_bias=False), [(8, 8, 5)], 5_760, 0),
    # out (8, 4): 3*4*8 MACs, bias 32
    "depthwise1d": (lambda: L.DepthwiseConv1D(3), [(10, 4)], 96, 32),
    # depthwise 9*8*49 + pointwise 8*16*49
    "separable2d": (lambda: L.SeparableConv2D(16, 3, padding="same", use_bias=False),
                    [(7, 7, 8)], 9_800, 0),
    # 3*4*10 + 4*6*10 MACs, bias 60
    "separable1d": (lambda: L.SeparableConv1D(6, 3, padding="same"), [(10, 4)], 360, 60),
    "dense": (lambda: L.Dense(5), [(7,)], 35, 5),
    # rank 3: 3*7*5 MACs; bias 15 + softmax 3*15
    "dense_rank3_softmax": (lambda: L.Dense(5, activation="softmax"), [(3, 7)], 105, 60),
    "embedding": (lambda: L.Embedding(100, 8), [(12,)], 0, 0),
    "batchnorm": (lambda: L.BatchNormalization(), [(4, 4, 3)], 0, 96),
    # 4 (statistics, normalise) + scale + shift = 6 per element
    "layernorm": (lambda: L.LayerNormalization(), [(5, 6)], 0, 180),
    "layernorm_no_shift": (lambda: L.LayerNormalization(center=False), [(5, 6)], 0, 150),
    "activation_relu": (lambda: L.Activation("relu"), [(4, 4, 3)], 0, 48),
    "activation_softmax": (lambda: L.Activation("softmax"), [(10,)], 0, 30),
    "activation_linear": (lambda: L.Activation("linear"), [(10,)], 0, 0),
    "relu": (lambda: L.ReLU(6.0), [(4, 4, 3)], 0, 48),
    "leaky_relu": (lambda: L.LeakyReLU(), [(4, 4, 3)], 0, 48),
    "prelu": (lambda: L.PReLU(), [(4, 4, 3)], 0, 48),
    "elu": (lambda: L.ELU(), [(4, 4, 3)], 0, 48),
    "softmax": (lambda: L.Softmax(), [(4, 5)], 0, 60),
    "dropout": (lambda: L.Dropout(0.5), [(4, 4, 3)], 0, 0),
    "spatial_dropout1d": (lambda: L.SpatialDropout1D(0.5), [(4, 3)], 0, 0),
    "spatial_dropout2d": (lambda: L.SpatialDropout2D(0.5), [(4, 4, 3)], 0, 0),
    "spatial_dropout3d": (lambda: L.SpatialDropout3D(0.5), [(2, 4, 4, 3)], 0, 0),
    "gaussian_noise": (lambda: L.GaussianNoise(0.1), [(4, 4, 3)], 0, 0),
    "flatten": (lambda: L.Flatten(), [(4, 4, 3)], 0, 0),
    "reshape": (lambda: L.Reshape((16, 3)), [(4, 4, 3)], 0, 0),
    "permute": (lambda: L.Permute((2, 1, 3)), [(4, 5, 3)], 0, 0),
    "add2": (lambda: L.Add(), [(4, 4, 3), (4, 4, 3)], 0, 48),
    "add3": (lambda: L.Add(), [(4, 4, 3)] * 3, 0, 96),
    "subtract": (lambda: L.Subtract(), [(4, 4, 3)] * 2, 0, 48),
    "multiply": (lambda: L.Multiply(), [(4, 4, 3)] * 2, 0, 48),
    "average": (lambda: L.Average(), [(4, 4, 3)] * 2, 0, 48),
    "maximum": (lambda: L.Maximum(), [(4, 4, 3)] * 2, 0, 48),
    "minimum": (lambda: L.Minimum(), [(4, 4, 3)] * 2, 0, 48),
    "concatenate": (lambda: L.Concatenate(), [(4, 4, 3), (4, 4, 5)], 0, 0),
    # out 4x4x3 = 48 elements, 2x2 = 4 ops each
    "maxpool2d": (lambda: L.MaxPooling2D(2), [(8, 8, 3)], 0, 192),
    # out (4, 2): 3 ops each
    "maxpool1d": (lambda: L.MaxPooling1D(3, strides=2), [(9, 2)], 0, 24),
    "maxpool3d": (lambda: L.MaxPooling3D(2), [(4, 4, 4, 2)], 0, 128),
    # out 5x5x2 = 50, 9 ops each
    "avgpool2d_same": (lambda: L.AveragePooling2D(3, strides=1, padding="same"),
                       [(5, 5, 2)], 0, 450),
    "avgpool1d": (lambda: L.AveragePooling1D(2), [(8, 3)], 0, 24),
    "avgpool3d": (lambda: L.AveragePooling3D(2), [(4, 4, 4, 1)], 0, 64),
    # global pooling: 1 per input element
    "gap1d": (lambda: L.GlobalAveragePooling1D(), [(10, 3)], 0, 30),
    "gap2d": (lambda: L.GlobalAveragePooling2D(), [(4, 4, 3)], 0, 48),
    "gap3d": (lambda: L.GlobalAveragePooling3D(), [(2, 4, 4, 3)], 0, 96),
    "gmp1d": (lambda: L.GlobalMaxPooling1D(), [(10, 3)], 0, 30),
    "gmp2d": (lambda: L.GlobalMaxPooling2D(keepdims=True), [(4, 4, 3)], 0, 48),
    "gmp3d": (lambda: L.GlobalMaxPooling3D(), [(2, 4, 4, 3)], 0, 96),
    "zeropad1d": (lambda: L.ZeroPadding1D(1), [(4, 3)], 0, 0),
    "zeropad2d": (lambda: L.ZeroPadding2D(1), [(4, 4, 3)], 0, 0),
    "cropping2d": (lambda: L.Cropping2D(1), [(4, 4, 3)], 0, 0),
    "upsampling2d_nearest": (lambda: L.UpSampling2D(2), [(3, 3, 2)], 0, 0),
    # out 6x6x2 = 72 elements, bilinear 4 neighbours: 2*4-1 = 7 ops each
    "upsampling2d_bilinear": (lambda: L.UpSampling2D(2, interpolation="bilinear"),
                              [(3, 3, 2)], 0, 504),
    "rescaling": (lambda: L.Rescaling(1 / 255), [(4, 4, 3)], 0, 96),
    "normalization": (lambda: L.Normalization(mean=0.0, variance=1.0), [(4, 4, 3)], 0, 96),
    # out 8x8x3 = 192 elements, bilinear 7 ops each
    "resizing_bilinear": (lambda: L.Resizing(8, 8), [(4, 4, 3)], 0, 1_344),
    "resizing_nearest": (lambda: L.Resizing(2, 2, interpolation="nearest"), [(4, 4, 3)], 0, 0),
    "random_flip": (lambda: L.RandomFlip(), [(4, 4, 3)], 0, 0),
    "random_rotation": (lambda: L.RandomRotation(0.1), [(4, 4, 3)], 0, 0),
    "random_translation": (lambda: L.RandomTranslation(0.1, 0.1), [(4, 4, 3)], 0, 0),
    "random_zoom": (lambda: L.RandomZoom(0.1), [(4, 4, 3)], 0, 0),
    "random_contrast": (lambda: L.RandomContrast(0.1), [(4, 4, 3)], 0, 0),
    "identity": (lambda: L.Identity(), [(4, 4, 3)], 0, 0),
    "center_crop": (lambda: L.CenterCrop(2, 2), [(4, 4, 3)], 0, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_handler(case):
    factory, shapes, macs, other = CASES[case]
    dtype = "int32" if case == "embedding" else "float32"
    cost = run_handler(factory(), *shapes, dtype=dtype)
    assert (cost.macs, cost.other_ops) == (macs, other)


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
