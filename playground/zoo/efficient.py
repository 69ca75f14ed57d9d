"""Efficiency-minded nets: Xception, MobileNet (and its full-conv twin), MobileNetV2, DenseNet-121,
the lecture's separable-conv examples, and the IMDB Conv1D text model."""
from __future__ import annotations

from playground.spec import ArchSpec
from playground.zoo.base import B, Reference, arch, entry


@entry("xception", "efficient", "Chollet 2017: entry / middle / exit flows of depthwise separable "
       "convs with residual connections.", input_shape=(299, 299, 3), year=2017,
       ref=Reference(params=22_910_480, macs=8_400_000_000, macs_tol=0.03,
                     source="Chollet 2017; Keras Applications Xception (~8.4G at 299x299)"))
def xception() -> ArchSpec:
    blocks = [
        B("conv", "block1_conv1", filters=32, kernel=3, stride=2, padding="valid", batch_norm=True),
        B("conv", "block1_conv2", filters=64, kernel=3, padding="valid", batch_norm=True),
        B("xception_block", "block2", filters=[128, 128], stride=2, relu_first=False),
        B("xception_block", "block3", filters=[256, 256], stride=2),
        B("xception_block", "block4", filters=[728, 728], stride=2),
    ]
    blocks += [B("xception_block", f"block{i}", filters=[728, 728, 728]) for i in range(5, 13)]
    blocks += [
        B("xception_block", "block13", filters=[728, 1024], stride=2),
        B("separable_conv", "block14_sepconv1", filters=1536, batch_norm=True),
        B("separable_conv", "block14_sepconv2", filters=2048, batch_norm=True),
    ]
    return arch("xception", (299, 299, 3), blocks, B("gap_head", classes=1000))


# MobileNet Table 1 body: (filters, stride) of each depthwise separable layer
MOBILENET_BODY = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                  (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def _mobilenet(name: str, alpha: float, rho: float, separable: bool) -> ArchSpec:
    size = int(round(224 * rho))
    blocks = [B("conv", "conv1", filters=int(32 * alpha), kernel=3, stride=2, batch_norm=True)]
    for i, (f, s) in enumerate(MOBILENET_BODY, 1):
        if separable:
            blocks.append(B("depthwise_separable", f"dwsep{i}", filters=int(f * alpha), stride=s))
        else:
            blocks.append(B("conv", f"conv{i + 1}", filters=int(f * alpha), stride=s,
                            batch_norm=True))
    return arch(name, (size, size, 3), blocks, B("gap_head", classes=1000, dropout=0.001))


@entry("mobilenet", "efficient", "Howard et al. 2017: a 3x3 conv then 13 depthwise separable "
       "layers, strided convs instead of pooling; width multiplier alpha, resolution rho.",
       options={"alpha": 1.0, "rho": 1.0}, year=2017,
       ref=Reference(params=4_253_864, macs=569_000_000, macs_tol=0.03,
                     source="Howard et al. 2017 Table 4 (569M, 4.2M); Keras Applications "
                            "MobileNet params"))
def mobilenet(alpha: float = 1.0, rho: float = 1.0) -> ArchSpec:
    return _mobilenet("mobilenet", alpha, rho, separable=True)


@entry("conv-mobilenet", "efficient", "MobileNet with every depthwise separable layer replaced by "
       "a full 3x3 conv (Table 4's 'Conv MobileNet').", options={"alpha": 1.0, "rho": 1.0},
       year=2017, ref=Reference(params=29_300_000, params_tol=0.03, macs=4_866_000_000,
                                macs_tol=0.03, source="Howard et al. 2017 Table 4 (4866M, 29.3M)"))
def conv_mobilenet(alpha: float = 1.0, rho: float = 1.0) -> ArchSpec:
    return _mobilenet("conv-mobilenet", alpha, rho, separable=False)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channel counts as MobileNetV2 does (to a multiple of 8, never down by >10%)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


# MobileNetV2 Table 2: expansion t, channels c, repeats n, first stride s
MOBILENETV2_BODY = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                    (6, 160, 3, 2), (6, 320, 1, 1))


@entry("mobilenetv2", "efficient", "Sandler et al. 2018: inverted residuals (1x1 expand, 3x3 "
       "depthwise, linear 1x1 project) with shortcuts between thin layers.",
       options={"alpha": 1.0}, year=2018,
       ref=Reference(params=3_538_984, macs=300_000_000, macs_tol=0.03,
                     source="Sandler et al. 2018 Table 4 (300M); Keras Applications MobileNetV2"))
def mobilenetv2(alpha: float = 1.0) -> ArchSpec:
    blocks = [B("conv", "conv1", filters=make_divisible(32 * alpha), kernel=3, stride=2,
                batch_norm=True, activation="relu6")]
    k = 0
    for t, c, n, s in MOBILENETV2_BODY:
        for i in range(n):
            k += 1
            blocks.append(B("inverted_residual", f"block{k}", filters=make_divisible(c * alpha),
                            expansion=t, stride=s if i == 0 else 1))
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    blocks.append(B("pointwise", "conv_last", filters=last, batch_norm=True, activation="relu6"))
    return arch("mobilenetv2", (224, 224, 3), blocks, B("gap_head", classes=1000))


@entry("densenet121", "efficient", "Huang et al. 2017: dense blocks [6, 12, 24, 16] with growth "
       "rate 32 and bottlenecks, transitions halving the maps.", year=2017,
       ref=Reference(params=8_062_504, macs=2_850_000_000, macs_tol=0.03,
                     source="Huang et al. 2017 (~2.9G); Keras Applications DenseNet121"))
def densenet121() -> ArchSpec:
    blocks = [B("conv", "conv1", filters=64, kernel=7, stride=2, batch_norm=True),
              B("max_pool", "pool1", size=3, stride=2, padding="same")]
    for i, n in enumerate((6, 12, 24, 16), 1):
        blocks.append(B("dense_block", f"dense{i}", layers=n, growth_rate=32))
        if i < 4:
            blocks.append(B("transition", f"transition{i}", compression=0.5))
    blocks += [B("batch_norm", "final_bn"), B("activation", "final_act", activation="relu")]
    return arch("densenet121", (224, 224, 3), blocks, B("gap_head", classes=1000))


# MobileNetV2 for 32x32 inputs (the common CIFAR adaptation): stride-1 stem and second stage,
# so the maps go 32 -> 16 -> 8 -> 4 instead of collapsing to 1x1.
MOBILENETV2_CIFAR_STRIDES = (1, 1, 2, 2, 1, 2, 1)


def mobilenetv2_params(alpha: float, classes: int, last: int,
                       body: tuple[tuple[int, int, int, int], ...] = MOBILENETV2_BODY) -> int:
    """Hand count of a MobileNetV2 (Keras counts 4 per batch-norm channel; convs have no bias):
    stem 3x3 conv + BN, per block [1x1 expand + BN], 3x3 depthwise + BN, 1x1 project + BN, then
    the last 1x1 conv + BN and the dense classifier. Gives Keras' 3,538,984 at alpha 1."""
    c = make_divisible(32 * alpha)
    total = 27 * c + 4 * c
    for t, cout, n, _ in body:
        cout = make_divisible(cout * alpha)
        for _ in range(n):
            e = c * t
            if t != 1:
                total += c * e + 4 * e
            total += 9 * e + 4 * e + e * cout + 4 * cout
            c = cout
    return total + c * last + 4 * last + last * classes + classes


# Half the repeats of each stage (rounded up): 11 inverted residuals instead of 17.
MOBILENETV2_COMPACT_BODY = tuple((t, c, (n + 1) // 2, s) for t, c, n, s in MOBILENETV2_BODY)


def mobilenetv2_for_cifar(name: str, alpha: float,
                          body: tuple[tuple[int, int, int, int], ...]) -> ArchSpec:
    """MobileNetV2 for 32x32 images: stride-1 stem and second stage, then ``body``'s stages."""
    blocks = [B("conv", "conv1", filters=make_divisible(32 * alpha), kernel=3, stride=1,
                batch_norm=True, activation="relu6")]
    k = 0
    for (t, c, n, _), s in zip(body, MOBILENETV2_CIFAR_STRIDES):
        for i in range(n):
            k += 1
            blocks.append(B("inverted_residual", f"block{k}", filters=make_divisible(c * alpha),
                            expansion=t, stride=s if i == 0 else 1))
    blocks.append(B("pointwise", "conv_last", filters=make_divisible(1280 * alpha),
                    batch_norm=True, activation="relu6"))
    return arch(name, (32, 32, 3), blocks, B("gap_head", classes=10))


@entry("mobilenetv2-cifar", "cifar", "MobileNetV2 for 32x32 images: the same inverted residuals "
       "with a stride-1 stem and second stage (final maps 4x4, not 1x1).",
       input_shape=(32, 32, 3), classes=10, options={"alpha": 0.5}, year=2018,
       ref=Reference(params=mobilenetv2_params(0.5, 10, make_divisible(640)),
                     source="hand count (mobilenetv2_params), Sandler et al. 2018 Table 2 "
                            "with CIFAR strides, alpha 0.5"))
def mobilenetv2_cifar(alpha: float = 0.5) -> ArchSpec:
    return mobilenetv2_for_cifar("mobilenetv2-cifar", alpha, MOBILENETV2_BODY)


@entry("mobilenetv2-compact-cifar", "cifar", "A compact MobileNetV2 for 32x32 images: each "
       "stage keeps half its inverted residuals (11, not 17); for short CPU runs.",
       input_shape=(32, 32, 3), classes=10, options={"alpha": 0.5}, year=2018,
       ref=Reference(params=mobilenetv2_params(0.5, 10, make_divisible(640),
                                               MOBILENETV2_COMPACT_BODY),
                     source="hand count (mobilenetv2_params) with half the repeats per stage "
                            "of Sandler et al. 2018 Table 2, CIFAR strides, alpha 0.5"))
def mobilenetv2_compact_cifar(alpha: float = 0.5) -> ArchSpec:
    return mobilenetv2_for_cifar("mobilenetv2-compact-cifar", alpha, MOBILENETV2_COMPACT_BODY)


def densenet_bc_params(layers: int, k: int, stem: int, classes: int) -> int:
    """Hand count of a 3-block DenseNet-BC: each layer BN(c) + 1x1 (c -> 4k) + BN(4k) + 3x3
    (4k -> k), no biases, Keras' 4 numbers per BN channel; transitions BN + 1x1 halving."""
    total, c = 9 * 3 * stem, stem
    for block in range(3):
        for _ in range(layers):
            total += 4 * c + c * 4 * k + 4 * 4 * k + 9 * 4 * k * k
            c += k
        if block < 2:
            total += 4 * c + c * (c // 2)
            c //= 2
    return total + 4 * c + c * classes + classes


def densenet_bc_cifar(name: str, layers: int) -> ArchSpec:
    """A 3-block DenseNet-BC for 32x32 images: 3x3 stem of 24, ``layers`` bottleneck layers per
    block (growth rate 12), transitions halving the channels, BN-ReLU before the GAP head."""
    blocks = [B("conv", "conv1", filters=24, kernel=3, bias=False)]
    for i in (1, 2, 3):
        blocks.append(B("dense_block", f"dense{i}", layers=layers, growth_rate=12))
        if i < 3:
            blocks.append(B("transition", f"transition{i}", compression=0.5))
    blocks += [B("batch_norm", "final_bn"), B("activation", "final_act", activation="relu")]
    return arch(name, (32, 32, 3), blocks, B("gap_head", classes=10))


@entry("densenet-bc40-cifar", "cifar", "Huang et al. 2017's DenseNet-BC for CIFAR: a 3x3 stem, "
       "three dense blocks of 6 bottleneck layers (growth rate 12), compressing transitions.",
       input_shape=(32, 32, 3), classes=10, year=2017,
       ref=Reference(params=densenet_bc_params(6, 12, 24, 10),
                     source="hand count (densenet_bc_params): Huang et al. 2017, DenseNet-BC "
                            "L=40, k=12"))
def densenet_bc40_cifar() -> ArchSpec:
    return densenet_bc_cifar("densenet-bc40-cifar", 6)


@entry("densenet-bc22-cifar", "cifar", "A compact DenseNet-BC (L=22, k=12): three dense blocks "
       "of 3 bottleneck layers; half the depth of BC-40, for short CPU runs.",
       input_shape=(32, 32, 3), classes=10, year=2017,
       ref=Reference(params=densenet_bc_params(3, 12, 24, 10),
                     source="hand count (densenet_bc_params): DenseNet-BC with L = 6*3 + 4"))
def densenet_bc22_cifar() -> ArchSpec:
    return densenet_bc_cifar("densenet-bc22-cifar", 3)


CHOLLET_SIZES = (32, 64, 128, 256, 512)


def chollet_params() -> int:
    """Hand count: 5x5 stem, per stage 2 x (BN + separable conv) + strided 1x1 shortcut, head."""
    total, c = 5 * 5 * 3 * 32, 32
    for s in CHOLLET_SIZES:
        total += 4 * c + 9 * c + c * s     # BN, depthwise, pointwise (no bias)
        total += 4 * s + 9 * s + s * s
        total += c * s                      # 1x1 strided shortcut, no bias
        c = s
    return total + c + 1


@entry("chollet-separable-resnet", "lecture", "The lecture's modular net (Chollet, DLwP 9.3): "
       "augmentation, rescaling, a 5x5 conv, then five [BN-ReLU-SeparableConv x2 + max pool] "
       "blocks with residuals, GAP, dropout, sigmoid.", input_shape=(180, 180, 3), classes=1,
       year=2021, ref=Reference(params=chollet_params(), source="hand count of the listing"))
def chollet_separable_resnet() -> ArchSpec:
    blocks = [B("augment", "augmentation", flip=True, rotate=0.1, translate=0.0, zoom=0.2),
              B("rescale", "rescaling", scale=1 / 255),
              B("conv", "stem", filters=32, kernel=5, padding="valid", activation="none",
                bias=False)]
    blocks += [B("separable_residual", f"block{i}", filters=s)
               for i, s in enumerate(CHOLLET_SIZES, 1)]
    return arch("chollet-separable-resnet", (180, 180, 3), blocks,
                B("gap_head", classes=1, dropout=0.5, activation="sigmoid"))


@entry("separable-cnn-28", "lecture", "The lecture's SeparableConv2D listing: two separable convs "
       "with max pooling and dropout, a 256-unit dense layer.", input_shape=(28, 28, 3),
       classes=10, ref=Reference(params=414_981, macs=777_964,
                                 source="hand count of the listing (no_classes = 10)"))
def separable_cnn_28() -> ArchSpec:
    return arch("separable-cnn-28", (28, 28, 3), [
        B("separable_conv", "sep1", filters=32, kernel=3, padding="valid"),
        B("max_pool", "pool1", size=2),
        B("dropout", "drop1", rate=0.25),
        B("separable_conv", "sep2", filters=64, kernel=3, padding="valid"),
        B("max_pool", "pool2", size=2),
        B("dropout", "drop2", rate=0.25),
        B("flatten", "flatten"),
        B("dense", "fc", units=256),
    ], B("dense_head", classes=10, hidden=[], dropout=0.0))


@entry("imdb-conv1d", "lecture", "The lecture's IMDB review classifier: embedding (10,000 words, "
       "128-d), two Conv1D(32, 7) with max pooling, global max pooling, one logit.",
       input_shape=(500,), classes=1,
       ref=Reference(params=1_315_937, macs=14_823_456,
                     source="hand count of the listing (max_features 10000, max_len 500)"))
def imdb_conv1d() -> ArchSpec:
    return arch("imdb-conv1d", (500,), [
        B("embedding", "embedding", vocab=10000, dim=128),
        B("conv1d", "conv1", filters=32, kernel=7),
        B("max_pool1d", "pool1", size=5),
        B("conv1d", "conv2", filters=32, kernel=7),
        B("global_max_pool1d", "gmp"),
    ], B("dense_head", classes=1, hidden=[], dropout=0.0, activation="none"), input_dtype="int32")
