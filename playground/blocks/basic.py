"""Single-path blocks: convolutions (standard, stacked, 1x1, grouped, depthwise, separable),
pooling and strided downsampling, and the plain layers (BN, activation, dropout, dense, ...)."""
from __future__ import annotations

from typing import Any

from playground._env import LazyModule
from playground.blocks import layers as L
from playground.blocks.base import BlockCtx, P, Param, block

layers = LazyModule("keras.layers")  # Keras loads when a block is built


# --- parameter schema pieces shared by many blocks ---------------------------------------
def filters_p(default: int = 64, help: str = "output channels") -> Param:
    return Param("filters", "int", default, help, min=1)


def kernel_p(default: int = 3) -> Param:
    return Param("kernel", "size", default, "kernel size (an integer or [h, w])", min=1)


def stride_p(default: int = 1) -> Param:
    return Param("stride", "size", default, "stride (2 halves the feature map)", min=1)


def padding_p(default: str = "same") -> Param:
    return Param("padding", "choice", default, "'same' keeps the size at stride 1; 'valid' "
                 "shrinks it by kernel-1", choices=("same", "valid"))


def act_p(default: str = "relu") -> Param:
    return Param("activation", "choice", default, "non-linearity after the layer",
                 choices=L.ACTIVATIONS)


def bn_p(default: bool = False) -> Param:
    return Param("batch_norm", "bool", default, "batch normalisation after the conv")


BIAS = Param("bias", "bool", None, "learn a bias (default: only without batch norm)", optional=True)
GROUPS = Param("groups", "int", 1, "split channels into groups (ResNeXt, AlexNet)", min=1)
SURVIVAL = Param("survival_prob", "float", 1.0, "stochastic depth: probability the residual "
                 "branch is kept in training (1 = off)", min=0.05, max=1.0)


# --- convolutions --------------------------------------------------------------------------
CONV_PARAMS = (filters_p(), kernel_p(), stride_p(), padding_p(), GROUPS,
               Param("dilation", "int", 1, "dilation rate (atrous conv)", min=1),
               act_p(), bn_p(), BIAS)


@block("conv", "Conv", "convolution", CONV_PARAMS)
def conv_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Standard convolution: conv -> [batch norm] -> activation (1D or 2D by input rank)."""
    return L.conv_bn_act(x, b, "conv", p.filters, p.kernel, p.stride, p.padding, p.groups,
                         p.activation, p.batch_norm, p.bias, p.dilation)


@block("grouped_conv", "Grouped conv", "convolution",
       (filters_p(128), kernel_p(), stride_p(), padding_p(),
        Param("groups", "int", 2, "number of groups: each sees channels/groups inputs", min=1),
        act_p(), bn_p(True), BIAS))
def grouped_conv_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Grouped convolution: the channels are split into groups convolved in parallel (cost/g)."""
    return L.conv_bn_act(x, b, "conv", p.filters, p.kernel, p.stride, p.padding, p.groups,
                         p.activation, p.batch_norm, p.bias)


@block("conv_stack", "Stack of small convs", "convolution",
       (Param("n", "int", 3, "how many convs (3 x 3x3 sees as far as one 7x7)", min=1, max=16),
        filters_p(), kernel_p(3), act_p(), bn_p(), BIAS))
def conv_stack_block(x: Any, p: P, b: BlockCtx) -> Any:
    """n small convs in a row: the receptive field of one big kernel, fewer weights, more ReLUs."""
    for i in range(p.n):
        x = L.conv_bn_act(x, b, f"conv{i + 1}", p.filters, p.kernel, 1, "same", 1,
                          p.activation, p.batch_norm, p.bias)
    return x


@block("pointwise", "1x1 bottleneck", "convolution",
       (filters_p(64, "channels after the 1x1 (fewer = cheaper next layer)"), act_p(), bn_p(), BIAS))
def pointwise_block(x: Any, p: P, b: BlockCtx) -> Any:
    """1x1 convolution: mixes channels without spatial filtering; compresses the map count."""
    return L.conv_bn_act(x, b, "conv", p.filters, 1, 1, "same", 1, p.activation, p.batch_norm,
                         p.bias)


@block("depthwise_conv", "Depthwise conv", "efficient",
       (kernel_p(), stride_p(), padding_p(),
        Param("depth_multiplier", "int", 1, "filters per input channel", min=1),
        act_p(), bn_p(True), BIAS))
def depthwise_block(x: Any, p: P, b: BlockCtx) -> Any:
    """One spatial filter per channel, no channel mixing."""
    use_bias = (not p.batch_norm) if p.bias is None else p.bias
    x = L.depthwise(x, b, "dw", p.kernel, p.stride, p.padding, p.depth_multiplier, use_bias)
    if p.batch_norm:
        x = L.bn(x, b, "dw_bn")
    return L.act(x, b, p.activation, "dw_act")


@block("depthwise_separable", "Depthwise separable (dw + 1x1)", "efficient",
       (filters_p(), kernel_p(), stride_p(), act_p(), bn_p(True), BIAS))
def depthwise_separable_block(x: Any, p: P, b: BlockCtx) -> Any:
    """MobileNet unit: depthwise conv -> BN -> act -> 1x1 conv -> BN -> act (cost 1/N + 1/Dk^2)."""
    use_bias = (not p.batch_norm) if p.bias is None else p.bias
    x = L.depthwise(x, b, "dw", p.kernel, p.stride, "same", 1, use_bias)
    if p.batch_norm:
        x = L.bn(x, b, "dw_bn")
    x = L.act(x, b, p.activation, "dw_act")
    return L.conv_bn_act(x, b, "pw", p.filters, 1, 1, "same", 1, p.activation, p.batch_norm,
                         p.bias)


@block("separable_conv", "SeparableConv2D", "efficient",
       (filters_p(), kernel_p(), stride_p(), padding_p(),
        Param("depth_multiplier", "int", 1, "depthwise filters per input channel", min=1),
        act_p(), bn_p(), BIAS))
def separable_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Keras' fused SeparableConv2D (depthwise + pointwise in one layer) -> [BN] -> act."""
    use_bias = (not p.batch_norm) if p.bias is None else p.bias
    fused = None if p.batch_norm else p.activation
    x = L.separable(x, b, "sepconv", p.filters, p.kernel, p.stride, p.padding, p.depth_multiplier,
                    use_bias, fused)
    if p.batch_norm:
        x = L.bn(x, b, "sepconv_bn")
        x = L.act(x, b, p.activation, "sepconv_act")
    return x


# --- downsampling ----------------------------------------------------------------------
POOL_PARAMS = (Param("size", "size", 2, "pool window", min=1),
               Param("stride", "size", None, "stride (default: the window size)", min=1,
                     optional=True),
               padding_p("valid"))


@block("max_pool", "Max pooling", "pooling", POOL_PARAMS)
def max_pool_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Max pooling (1D or 2D by input rank)."""
    return L.pool(x, b, "pool", "max", p.size, p.stride, p.padding)


@block("avg_pool", "Average pooling", "pooling", POOL_PARAMS)
def avg_pool_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Average pooling (1D or 2D by input rank)."""
    return L.pool(x, b, "pool", "avg", p.size, p.stride, p.padding)


@block("strided_conv", "Strided conv (downsample)", "pooling",
       (Param("filters", "int", None, "output channels (default: keep)", min=1, optional=True),
        kernel_p(3), stride_p(2), act_p(), bn_p(True), BIAS))
def strided_conv_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Downsample with a learned strided conv instead of a pooling layer (MobileNet, ResNet)."""
    filters = p.filters or L.channels(x)
    return L.conv_bn_act(x, b, "conv", filters, p.kernel, p.stride, "same", 1, p.activation,
                         p.batch_norm, p.bias)


@block("global_avg_pool", "Global average pooling", "pooling")
def gap_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Average each map to one number: no weights, any input size (replaces flatten + FC)."""
    return L.global_pool(x, b, "gap", "avg")


@block("global_max_pool", "Global max pooling", "pooling")
def gmp_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Max of each map (GlobalMaxPooling1D/2D by input rank)."""
    return L.global_pool(x, b, "gmp", "max")


# --- plain layers --------------------------------------------------------------------------
@block("batch_norm", "Batch norm", "layers")
def batch_norm_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Batch normalisation."""
    return L.bn(x, b, "bn")


@block("activation", "Activation", "layers", (act_p(),))
def activation_block(x: Any, p: P, b: BlockCtx) -> Any:
    """A non-linearity on its own (e.g. the ReLU after a residual add)."""
    if p.activation in L.NO_ACT:
        raise b.error("activation 'none' would be an empty block; remove the block instead")
    return L.act(x, b, p.activation, "act")


@block("dropout", "Dropout", "layers",
       (Param("rate", "float", 0.5, "fraction of units dropped in training", min=0.0, max=0.95),))
def dropout_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Dropout (training only)."""
    return layers.Dropout(p.rate, name=b.layer("dropout"))(x)


@block("flatten", "Flatten", "layers")
def flatten_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Flatten the feature maps into one vector (before a dense head)."""
    return layers.Flatten(name=b.layer("flatten"))(x)


@block("dense", "Dense", "layers",
       (Param("units", "int", 256, "output units", min=1), act_p(),
        Param("dropout", "float", 0.0, "dropout after the layer", min=0.0, max=0.95)))
def dense_block_(x: Any, p: P, b: BlockCtx) -> Any:
    """Fully connected layer (flattens a spatial input first)."""
    if len(x.shape) > 2:
        x = layers.Flatten(name=b.layer("flatten"))(x)
    act = None if p.activation in L.NO_ACT else p.activation
    x = layers.Dense(p.units, activation=act, name=b.layer("dense"))(x)
    if p.dropout > 0:
        x = layers.Dropout(p.dropout, name=b.layer("dropout"))(x)
    return x


@block("rescale", "Rescaling", "layers",
       (Param("scale", "float", 1 / 255, "multiply inputs by"),
        Param("offset", "float", 0.0, "then add")))
def rescale_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Input scaling inside the model (e.g. 0..255 -> 0..1)."""
    return layers.Rescaling(p.scale, p.offset, name=b.layer("rescale"))(x)


@block("zero_pad", "Zero padding", "layers", (Param("padding", "int", 1, "pixels per side", min=1),))
def zero_pad_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Zero padding around each feature map."""
    rank = len(L.spatial(x))
    cls = layers.ZeroPadding2D if rank == 2 else layers.ZeroPadding1D
    if rank not in (1, 2):
        raise b.error("needs a 1D or 2D feature map")
    return cls(p.padding, name=b.layer("pad"))(x)


@block("augment", "Augmentation", "layers",
       (Param("flip", "bool", True, "random horizontal flips"),
        Param("rotate", "float", 0.1, "max rotation (fraction of a full turn)", min=0.0, max=0.5),
        Param("translate", "float", 0.1, "max shift (fraction of the size)", min=0.0, max=0.5),
        Param("zoom", "float", 0.0, "max zoom (fraction)", min=0.0, max=0.5)))
def augment_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Random image augmentation as Keras preprocessing layers (active in training only)."""
    if len(L.spatial(x)) != 2:
        raise b.error("augmentation needs an image (HxWxC) input")
    if p.flip:
        x = layers.RandomFlip("horizontal", name=b.layer("flip"))(x)
    if p.rotate > 0:
        x = layers.RandomRotation(p.rotate, name=b.layer("rotate"))(x)
    if p.translate > 0:
        x = layers.RandomTranslation(p.translate, p.translate, name=b.layer("translate"))(x)
    if p.zoom > 0:
        x = layers.RandomZoom(p.zoom, name=b.layer("zoom"))(x)
    return x


# --- text / tabular (Conv1D family) -----------------------------------------------------
def _needs_sequence(x: Any, b: BlockCtx) -> None:
    if len(x.shape) != 3:
        raise b.error("needs a sequence input (length x channels); use an embedding first for "
                      "token ids, or input_shape [features, 1] for tabular rows, got shape "
                      + L.fmt_shape(x.shape[1:]))


@block("embedding", "Embedding", "sequence",
       (Param("vocab", "int", 10000, "vocabulary size (token ids 0..vocab-1)", min=1),
        Param("dim", "int", 128, "vector size per token", min=1)))
def embedding_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Token ids -> dense vectors (for text Conv1D models)."""
    if len(x.shape) != 2:
        raise b.error("an embedding takes a 1D sequence of token ids, got shape "
                      + L.fmt_shape(x.shape[1:]))
    return layers.Embedding(p.vocab, p.dim, name=b.layer("embedding"))(x)


@block("conv1d", "Conv1D", "sequence",
       (filters_p(32), kernel_p(7), stride_p(), padding_p("valid"), act_p(), bn_p(), BIAS))
def conv1d_block(x: Any, p: P, b: BlockCtx) -> Any:
    """1D convolution over a sequence: output length (N - F + 2P) / S + 1."""
    _needs_sequence(x, b)
    return L.conv_bn_act(x, b, "conv", p.filters, p.kernel, p.stride, p.padding, 1,
                         p.activation, p.batch_norm, p.bias)


@block("max_pool1d", "MaxPooling1D", "sequence", POOL_PARAMS)
def max_pool1d_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Max pooling over a sequence."""
    _needs_sequence(x, b)
    return L.pool(x, b, "pool", "max", p.size, p.stride, p.padding)


@block("global_max_pool1d", "GlobalMaxPooling1D", "sequence")
def gmp1d_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Max over the whole sequence, per channel."""
    _needs_sequence(x, b)
    return L.global_pool(x, b, "gmp", "max")
