"""Residual families: ImageNet ResNets (v1 like Keras, v1.5 like torchvision), ResNeXt, and the
CIFAR depth study (ResNet vs plain nets of 20-110 layers, and stochastic depth)."""
from __future__ import annotations

from playground.errors import SpecError
from playground.spec import ArchSpec, BlockSpec
from playground.zoo.base import B, Reference, arch, entry

STAGE_FILTERS = (64, 128, 256, 512)


def _stem(bias: bool) -> list[BlockSpec]:
    return [B("conv", "conv1", filters=64, kernel=7, stride=2, batch_norm=True, bias=bias),
            B("max_pool", "pool1", size=3, stride=2, padding="same")]


def _resnet(name: str, depths: tuple[int, ...], kind: str, bias: bool = False,
            stride_on: str = "1x1") -> ArchSpec:
    blocks = _stem(bias)
    for s, (n, f) in enumerate(zip(depths, STAGE_FILTERS), 2):
        for i in range(1, n + 1):
            stride = 2 if (i == 1 and s > 2) else 1
            params = dict(filters=f, stride=stride, bias=bias)
            if kind == "resnet_bottleneck":
                params["stride_on"] = stride_on
            blocks.append(B(kind, f"conv{s}_block{i}", **params))
    return arch(name, (224, 224, 3), blocks, B("gap_head", classes=1000))


def _ref(params: int, macs: float, source: str, trainable_only: bool = False) -> Reference:
    return Reference(params=params, macs=int(macs), macs_tol=0.03, source=source,
                     trainable_only=trainable_only)


@entry("resnet18", "resnet", "He et al. 2015: basic blocks [2, 2, 2, 2], projection shortcuts.",
       year=2015, ref=_ref(11_689_512, 1.8e9, "He et al. 2015 Table 1; torchvision resnet18", True))
def resnet18() -> ArchSpec:
    return _resnet("resnet18", (2, 2, 2, 2), "resnet_basic")


@entry("resnet34", "resnet", "Basic blocks [3, 4, 6, 3].", year=2015,
       ref=_ref(21_797_672, 3.6e9, "He et al. 2015 Table 1; torchvision resnet34", True))
def resnet34() -> ArchSpec:
    return _resnet("resnet34", (3, 4, 6, 3), "resnet_basic")


@entry("resnet50", "resnet", "Bottleneck blocks [3, 4, 6, 3]; v1 as in Keras (stride on the "
       "first 1x1, biased convs).", year=2015,
       ref=_ref(25_636_712, 3.8e9, "He et al. 2015 Table 1 (3.8G); Keras Applications ResNet50"))
def resnet50() -> ArchSpec:
    return _resnet("resnet50", (3, 4, 6, 3), "resnet_bottleneck", bias=True)


@entry("resnet50-v1.5", "resnet", "ResNet-50 with the stride on the 3x3 conv and no conv biases "
       "(torchvision's variant): more MACs, slightly better accuracy.", year=2017,
       ref=_ref(25_557_032, 4.09e9, "torchvision resnet50 (4.09G multiply-adds)", True))
def resnet50_v15() -> ArchSpec:
    return _resnet("resnet50-v1.5", (3, 4, 6, 3), "resnet_bottleneck", stride_on="3x3")


@entry("resnet101", "resnet", "Bottleneck blocks [3, 4, 23, 3], v1 as in Keras.", year=2015,
       ref=_ref(44_707_176, 7.6e9, "He et al. 2015 Table 1; Keras Applications ResNet101"))
def resnet101() -> ArchSpec:
    return _resnet("resnet101", (3, 4, 23, 3), "resnet_bottleneck", bias=True)


@entry("resnet152", "resnet", "Bottleneck blocks [3, 8, 36, 3], v1 as in Keras.", year=2015,
       ref=_ref(60_419_944, 11.3e9, "He et al. 2015 Table 1; Keras Applications ResNet152"))
def resnet152() -> ArchSpec:
    return _resnet("resnet152", (3, 8, 36, 3), "resnet_bottleneck", bias=True)


@entry("resnext50-32x4d", "resnet", "Xie et al. 2016: ResNet-50 layout with 32-path grouped 3x3 "
       "convs (4 channels per path in the first stage).", year=2016,
       ref=_ref(25_028_904, 4.23e9, "Xie et al. 2016 Table 1 (4.2G); torchvision "
                                     "resnext50_32x4d", True))
def resnext50() -> ArchSpec:
    blocks = _stem(False)
    for s, (n, f) in enumerate(zip((3, 4, 6, 3), (256, 512, 1024, 2048)), 2):
        for i in range(1, n + 1):
            blocks.append(B("resnext", f"conv{s}_block{i}", filters=f, cardinality=32,
                            group_width=4 * 2 ** (s - 2), stride=2 if (i == 1 and s > 2) else 1))
    return arch("resnext50-32x4d", (224, 224, 3), blocks, B("gap_head", classes=1000))


# --- CIFAR depth study (He et al. 2015, section 4.2): 6n+2 layers, 16/32/64 maps -----------
CIFAR_DEPTHS = {20: 3, 32: 5, 44: 7, 56: 9, 110: 18}
CIFAR_PAPER_PARAMS = {20: 0.27e6, 32: 0.46e6, 44: 0.66e6, 56: 0.85e6, 110: 1.7e6}


def cifar_blocks_per_stage(depth: int) -> int:
    """n of a 6n+2-layer CIFAR net (3 stages of n two-conv blocks, the first conv and the
    classifier); SpecError unless ``depth`` is 6n+2 with n >= 1."""
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise SpecError("CIFAR net depth", f"must be 6n+2 (8, 14, 20, ..., 56, ...), got {depth!r}")
    return (depth - 2) // 6


def cifar_resnet(depth: int, residual: bool = True, final_survival: float = 1.0,
                 widths: tuple[int, int, int] = (16, 32, 64)) -> ArchSpec:
    """6n+2-layer CIFAR net; ``residual=False`` gives the plain net; ``final_survival`` < 1 turns on
    stochastic depth with survival decaying linearly from 1 to it over the blocks; ``widths``
    are the three stages' maps (the paper's 16/32/64; thinner nets train faster on a CPU)."""
    n = cifar_blocks_per_stage(depth)
    total = 3 * n
    blocks = [B("conv", "conv1", filters=widths[0], kernel=3, batch_norm=True)]
    k = 0
    for s, f in enumerate(widths, 1):
        for i in range(1, n + 1):
            k += 1
            stride = 2 if (i == 1 and s > 1) else 1
            name = f"stage{s}_b{i}"
            if residual:
                surv = round(1.0 - k / total * (1.0 - final_survival), 4)
                extra = {"survival_prob": surv} if surv < 1.0 else {}
                blocks.append(B("resnet_basic", name, filters=f, stride=stride, **extra))
            else:
                blocks.append(B("conv", f"{name}_conv1", filters=f, stride=stride,
                                batch_norm=True))
                blocks.append(B("conv", f"{name}_conv2", filters=f, batch_norm=True))
    kind = "resnet" if residual else "plain"
    suffix = "-stochastic-depth" if final_survival < 1.0 else "-cifar"
    name = f"{kind}{depth}{suffix}"
    return arch(name, (32, 32, 3), blocks, B("gap_head", classes=10))


def plain_cifar_params(depth: int) -> int:
    """Hand count for the plain CIFAR net (3x3 convs without bias, BN = 4 per channel)."""
    n = CIFAR_DEPTHS[depth]
    total = 27 * 16 + 4 * 16
    cin = 16
    for c in (16, 32, 64):
        for j in range(2 * n):
            total += 9 * (cin if j == 0 else c) * c + 4 * c
        cin = c
    return total + 64 * 10 + 10


def _register_cifar() -> None:
    for depth in CIFAR_DEPTHS:
        entry(f"resnet{depth}-cifar", "cifar", f"{depth}-layer CIFAR-10 ResNet (He et al. 2015, "
              "4.2): 3 stages of basic blocks, 16/32/64 maps, projection shortcuts (option B).",
              input_shape=(32, 32, 3), classes=10, year=2015,
              ref=Reference(params=int(CIFAR_PAPER_PARAMS[depth]), params_tol=0.03,
                            trainable_only=True, source="He et al. 2015, Table 6"))(
            lambda d=depth: cifar_resnet(d))
        entry(f"plain{depth}-cifar", "cifar", f"{depth}-layer plain CIFAR-10 net: the ResNet "
              "without shortcuts (the deeper plain net trains worse).",
              input_shape=(32, 32, 3), classes=10, year=2015,
              ref=Reference(params=plain_cifar_params(depth),
                            source="hand count: 3x3 convs without bias + BN + dense"))(
            lambda d=depth: cifar_resnet(d, residual=False))


_register_cifar()


@entry("resnet56-stochastic-depth", "cifar", "ResNet-56 with stochastic depth (Huang et al. "
       "2016): each residual branch is dropped in training with a probability rising linearly "
       "to 0.5 at the last block; identical at test time.", input_shape=(32, 32, 3), classes=10,
       year=2016, ref=Reference(params=int(0.85e6), params_tol=0.03, trainable_only=True,
                                source="He et al. 2015 Table 6 (same weights as ResNet-56)"))
def resnet56_sd() -> ArchSpec:
    return cifar_resnet(56, final_survival=0.5)
