"""Multi-path blocks: residual (generic, ResNet basic/bottleneck v1/v2, ResNeXt), Inception,
DenseNet dense block + transition, MobileNetV2 inverted residual, Xception blocks, and the
GoogLeNet auxiliary classifier."""
from __future__ import annotations

from typing import Any

from playground._env import LazyModule
from playground.blocks import layers as L
from playground.blocks.base import BlockCtx, P, Param, block
from playground.blocks.basic import BIAS, SURVIVAL, act_p, bn_p, filters_p, stride_p

layers = LazyModule("keras.layers")  # Keras loads when a block is built

SHORTCUT = Param("shortcut", "choice", "auto", "identity, a 1x1 projection, or auto (project "
                 "only when the shapes differ)", choices=("auto", "identity", "projection"))
VERSION = Param("version", "choice", "v1", "v1: conv-BN-ReLU, ReLU after the add; v2: "
                "pre-activation BN-ReLU-conv, nothing after the add", choices=("v1", "v2"))


def _bias(p: P) -> bool:
    return False if p.get("bias") is None else p.bias


def residual_merge(x_in: Any, y: Any, b: BlockCtx, shortcut: str, survival: float,
                   post_act: str | None, proj_from: Any = None, bias: bool = False,
                   proj_bn: bool = True) -> Any:
    """Add the branch ``y`` to the shortcut of ``x_in`` (projected when asked or needed)."""
    same = tuple(x_in.shape[1:]) == tuple(y.shape[1:])
    if shortcut == "projection" or (shortcut == "auto" and not same):
        src = x_in if proj_from is None else proj_from
        sc = L.projection(src, b, y, batch_norm=proj_bn, bias=bias)
    else:
        sc = x_in
    y = L.drop_path(y, b, survival)
    out = L.add([sc, y], b)
    return L.act(out, b, post_act, "out_act")


@block("residual", "Residual (custom body)", "composite",
       (Param("body", "blocks", [{"type": "conv", "params": {"filters": 64, "batch_norm": True}},
                                 {"type": "conv", "params": {"filters": 64, "batch_norm": True,
                                                              "activation": "none"}}],
              "the blocks on the main path"),
        SHORTCUT, act_p("relu"), SURVIVAL), composite=True)
def residual_block(x: Any, p: P, b: BlockCtx) -> Any:
    """y = body(x) + shortcut(x): any inner blocks, a 1x1 projection when shapes change."""
    if not p.body:
        raise b.error("a residual block needs at least one block in its body")
    y = b.apply(p.body, x)
    if len(y.shape) != len(x.shape):
        raise b.error("the residual body must keep a feature map (no flatten or global pooling)")
    return residual_merge(x, y, b, p.shortcut, p.survival_prob, p.activation)


@block("resnet_basic", "ResNet basic block", "composite",
       (filters_p(64), stride_p(1), VERSION, SHORTCUT, SURVIVAL, BIAS), composite=True)
def resnet_basic(x: Any, p: P, b: BlockCtx) -> Any:
    """Two 3x3 convs with a shortcut (ResNet-18/34 and the CIFAR ResNets)."""
    bias = _bias(p)
    if p.version == "v1":
        y = L.conv_bn_act(x, b, "conv1", p.filters, 3, p.stride, bias=bias)
        y = L.conv_bn_act(y, b, "conv2", p.filters, 3, 1, activation=None, bias=bias)
        return residual_merge(x, y, b, p.shortcut, p.survival_prob, "relu", bias=bias)
    pre = L.act(L.bn(x, b, "preact_bn"), b, "relu", "preact_act")
    y = L.conv(pre, b, "conv1", p.filters, 3, p.stride, use_bias=bias)
    y = L.act(L.bn(y, b, "conv1_bn"), b, "relu", "conv1_act")
    y = L.conv(y, b, "conv2", p.filters, 3, 1, use_bias=bias)
    return residual_merge(x, y, b, p.shortcut, p.survival_prob, None, proj_from=pre, bias=bias)


@block("resnet_bottleneck", "ResNet bottleneck block", "composite",
       (filters_p(64, "bottleneck width (the block outputs expansion x this)"),
        Param("expansion", "int", 4, "output channels = expansion x filters", min=1),
        stride_p(1),
        Param("stride_on", "choice", "1x1", "where the stride goes: first 1x1 (v1, Keras) or the "
              "3x3 (v1.5, torchvision)", choices=("1x1", "3x3")),
        Param("groups", "int", 1, "groups in the 3x3 conv", min=1),
        VERSION, SHORTCUT, SURVIVAL, BIAS), composite=True)
def resnet_bottleneck(x: Any, p: P, b: BlockCtx) -> Any:
    """1x1 reduce -> 3x3 -> 1x1 expand, with a shortcut (ResNet-50/101/152)."""
    bias = _bias(p)
    s1, s3 = (p.stride, 1) if p.stride_on == "1x1" else (1, p.stride)
    out = p.filters * p.expansion
    if p.version == "v1":
        y = L.conv_bn_act(x, b, "conv1", p.filters, 1, s1, bias=bias)
        y = L.conv_bn_act(y, b, "conv2", p.filters, 3, s3, groups=p.groups, bias=bias)
        y = L.conv_bn_act(y, b, "conv3", out, 1, 1, activation=None, bias=bias)
        return residual_merge(x, y, b, p.shortcut, p.survival_prob, "relu", bias=bias)
    pre = L.act(L.bn(x, b, "preact_bn"), b, "relu", "preact_act")
    y = L.conv(pre, b, "conv1", p.filters, 1, s1, use_bias=bias)
    y = L.act(L.bn(y, b, "conv1_bn"), b, "relu", "conv1_act")
    y = L.conv(y, b, "conv2", p.filters, 3, s3, groups=p.groups, use_bias=bias)
    y = L.act(L.bn(y, b, "conv2_bn"), b, "relu", "conv2_act")
    y = L.conv(y, b, "conv3", out, 1, 1, use_bias=bias)
    return residual_merge(x, y, b, p.shortcut, p.survival_prob, None, proj_from=pre, bias=bias)


@block("resnext", "ResNeXt block", "composite",
       (filters_p(256, "output channels"),
        Param("cardinality", "int", 32, "number of parallel paths (groups of the 3x3)", min=1),
        Param("group_width", "int", 4, "channels per path (d)", min=1),
        stride_p(1), SHORTCUT, SURVIVAL), composite=True)
def resnext_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Split-transform-merge: 1x1 -> grouped 3x3 (cardinality groups) -> 1x1, plus shortcut."""
    width = p.cardinality * p.group_width
    y = L.conv_bn_act(x, b, "conv1", width, 1, 1)
    y = L.conv_bn_act(y, b, "conv2", width, 3, p.stride, groups=p.cardinality)
    y = L.conv_bn_act(y, b, "conv3", p.filters, 1, 1, activation=None)
    return residual_merge(x, y, b, p.shortcut, p.survival_prob, "relu")


@block("inception", "Inception module", "composite",
       (Param("b1", "int", 64, "1x1 branch filters", min=1),
        Param("b3_reduce", "int", 96, "1x1 reduction before the 3x3", min=1),
        Param("b3", "int", 128, "3x3 branch filters", min=1),
        Param("b5_reduce", "int", 16, "1x1 reduction before the 5x5", min=1),
        Param("b5", "int", 32, "5x5 branch filters", min=1),
        Param("pool_proj", "int", 32, "1x1 after the 3x3 max pool", min=1),
        Param("naive", "bool", False, "naive module: no 1x1 reductions, pool passes through"),
        bn_p(False)), composite=True)
def inception_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Parallel 1x1, 3x3, 5x5 convs and a 3x3 max pool, concatenated along channels."""
    def cba(t: Any, part: str, f: int, k: int) -> Any:
        return L.conv_bn_act(t, b, part, f, k, 1, "same", batch_norm=p.batch_norm)

    br1 = cba(x, "b1", p.b1, 1)
    if p.naive:
        br3 = cba(x, "b3", p.b3, 3)
        br5 = cba(x, "b5", p.b5, 5)
        brp = L.pool(x, b, "pool", "max", 3, 1, "same")
    else:
        br3 = cba(cba(x, "b3_reduce", p.b3_reduce, 1), "b3", p.b3, 3)
        br5 = cba(cba(x, "b5_reduce", p.b5_reduce, 1), "b5", p.b5, 5)
        brp = cba(L.pool(x, b, "pool", "max", 3, 1, "same"), "pool_proj", p.pool_proj, 1)
    return L.concat([br1, br3, br5, brp], b)


@block("branch_concat", "Parallel branches (custom)", "composite",
       (Param("branches", "branches",
              [[{"type": "pointwise", "params": {"filters": 32}}],
               [{"type": "conv", "params": {"filters": 32, "kernel": 3}}]],
              "each branch is a list of blocks; outputs are concatenated"),), composite=True)
def branch_concat_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Run several block lists on the same input and concatenate them (a custom Inception)."""
    if len(p.branches) < 2:
        raise b.error("needs at least two branches")
    outs = []
    for i, br in enumerate(p.branches):
        if not br:
            outs.append(x)  # an empty branch passes the input through
            continue
        outs.append(b.child(f"br{i + 1}", b.type).apply(br, x))
    return L.concat(outs, b)


@block("dense_block", "Dense block (DenseNet)", "composite",
       (Param("layers", "int", 6, "conv layers; each sees every earlier map", min=1, max=64),
        Param("growth_rate", "int", 32, "new maps per layer (k)", min=1),
        Param("bottleneck", "bool", True, "BN-ReLU-1x1(4k) before each 3x3 (DenseNet-B)"),
        Param("dropout", "float", 0.0, "dropout after each conv", min=0.0, max=0.9)),
       composite=True)
def dense_block(x: Any, p: P, b: BlockCtx) -> Any:
    """Each layer's k new maps are concatenated onto all earlier ones (feature reuse)."""
    if len(L.spatial(x)) != 2:
        raise b.error("needs an image feature map (HxWxC)")
    for i in range(1, p.layers + 1):
        y = L.act(L.bn(x, b, f"l{i}_bn1"), b, "relu", f"l{i}_act1")
        if p.bottleneck:
            y = L.conv(y, b, f"l{i}_conv1", 4 * p.growth_rate, 1, use_bias=False)
            y = L.act(L.bn(y, b, f"l{i}_bn2"), b, "relu", f"l{i}_act2")
        y = L.conv(y, b, f"l{i}_conv2", p.growth_rate, 3, use_bias=False)
        if p.dropout > 0:
            y = layers.Dropout(p.dropout, name=b.layer(f"l{i}_drop"))(y)
        x = L.concat([x, y], b, f"l{i}_concat")
    return x


@block("transition", "Transition (DenseNet)", "composite",
       (Param("compression", "float", 0.5, "fraction of maps kept by the 1x1", min=0.05, max=1.0),),
       composite=True)
def transition_block(x: Any, p: P, b: BlockCtx) -> Any:
    """BN-ReLU-1x1 conv (compress the maps) -> 2x2 average pool (halve the size)."""
    y = L.act(L.bn(x, b, "bn"), b, "relu", "act")
    y = L.conv(y, b, "conv", max(1, int(L.channels(x) * p.compression)), 1, use_bias=False)
    return L.pool(y, b, "pool", "avg", 2, 2)


@block("inverted_residual", "Inverted residual (MobileNetV2)", "composite",
       (filters_p(32), Param("expansion", "int", 6, "1x1 expansion factor t", min=1),
        stride_p(1), Param("kernel", "int", 3, "depthwise kernel", min=1), SURVIVAL),
       composite=True)
def inverted_residual(x: Any, p: P, b: BlockCtx) -> Any:
    """1x1 expand -> 3x3 depthwise -> linear 1x1 project; add when stride 1 and shapes match."""
    cin = L.channels(x)
    y = x
    if p.expansion != 1:
        y = L.conv_bn_act(y, b, "expand", cin * p.expansion, 1, activation="relu6")
    y = L.depthwise(y, b, "dw", p.kernel, p.stride, "same", use_bias=False)
    y = L.act(L.bn(y, b, "dw_bn"), b, "relu6", "dw_act")
    y = L.conv_bn_act(y, b, "project", p.filters, 1, activation=None)
    if tuple(y.shape[1:]) == tuple(x.shape[1:]):
        y = L.drop_path(y, b, p.survival_prob)
        return L.add([x, y], b)
    return y


@block("xception_block", "Xception block", "composite",
       (Param("filters", "ints", [728, 728, 728], "separable conv widths, in order", min=1),
        Param("stride", "int", 1, "2: end with a 3x3/2 max pool and project the shortcut",
              min=1, max=2),
        Param("relu_first", "bool", True, "start with a ReLU (off for the first entry block)")),
       composite=True)
def xception_block(x: Any, p: P, b: BlockCtx) -> Any:
    """[ReLU -> SeparableConv -> BN] x n, with a (strided 1x1) residual around it."""
    if not p.filters:
        raise b.error("filters must list at least one width")
    y = x
    for i, f in enumerate(p.filters, 1):
        if i > 1 or p.relu_first:
            y = L.act(y, b, "relu", f"sep{i}_act")
        y = L.separable(y, b, f"sep{i}", f, 3, 1, "same", use_bias=False)
        y = L.bn(y, b, f"sep{i}_bn")
    if p.stride > 1:
        y = L.pool(y, b, "pool", "max", 3, p.stride, "same")
    shortcut = "auto" if p.stride == 1 else "projection"
    return residual_merge(x, y, b, shortcut, 1.0, None)


@block("separable_residual", "Separable residual block", "composite",
       (filters_p(64, "width of both separable convs"),), composite=True)
def separable_residual(x: Any, p: P, b: BlockCtx) -> Any:
    """The lecture's modular block: [BN-ReLU-SeparableConv] x 2 -> 3x3/2 max pool, plus a
    strided 1x1 projection of the input."""
    y = x
    for i in (1, 2):
        y = L.act(L.bn(y, b, f"bn{i}"), b, "relu", f"act{i}")
        y = L.separable(y, b, f"sep{i}", p.filters, 3, 1, "same", use_bias=False)
    y = L.pool(y, b, "pool", "max", 3, 2, "same")
    return residual_merge(x, y, b, "projection", 1.0, None, proj_bn=False)


@block("aux_head", "Auxiliary classifier", "composite",
       (Param("classes", "int", 1000, "classes", min=1),
        Param("dropout", "float", 0.7, "dropout before the last layer", min=0.0, max=0.95)),
       composite=True)
def aux_head(x: Any, p: P, b: BlockCtx) -> Any:
    """GoogLeNet side classifier (AvgPool 5/3 - 1x1 conv 128 - FC 1024 - FC - softmax): an extra
    model output that injects gradient into middle layers; the main path passes through."""
    y = L.pool(x, b, "pool", "avg", 5, 3, "valid")
    y = L.conv(y, b, "conv", 128, 1, activation="relu")
    y = layers.Flatten(name=b.layer("flatten"))(y)
    y = layers.Dense(1024, activation="relu", name=b.layer("fc1"))(y)
    y = layers.Dropout(p.dropout, name=b.layer("dropout"))(y)
    y = layers.Dense(p.classes, activation="softmax", name=b.layer("fc2"))(y)
    b.outputs.append(y)
    return x
