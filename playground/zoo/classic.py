"""The classic ImageNet-era nets: LeNet-5, AlexNet, VGG-16/19 and GoogLeNet (Inception v1)."""
from __future__ import annotations

from playground.spec import ArchSpec
from playground.zoo.base import B, Reference, arch, entry


@entry("lenet5", "classic", "LeCun et al. 1998: two 5x5 conv + average-pool stages, tanh, "
       "then 120-84-10 dense layers.", input_shape=(32, 32, 1), classes=10, year=1998,
       ref=Reference(params=61_706, macs=416_520,
                     source="hand count of the LeNet-5 layer table (C3 fully connected)"))
def lenet5() -> ArchSpec:
    return arch("lenet5", (32, 32, 1), [
        B("conv", "c1", filters=6, kernel=5, padding="valid", activation="tanh"),
        B("avg_pool", "s2", size=2),
        B("conv", "c3", filters=16, kernel=5, padding="valid", activation="tanh"),
        B("avg_pool", "s4", size=2),
        B("flatten", "flatten"),
        B("dense", "c5", units=120, activation="tanh"),
        B("dense", "f6", units=84, activation="tanh"),
    ], B("dense_head", classes=10, hidden=[], dropout=0.0))


@entry("alexnet", "classic", "Krizhevsky et al. 2012: 11x11/4 stem, ReLU, max pooling, two "
       "GPU groups (grouped convs 2, 4, 5), 4096-4096 dense head with dropout; LRN omitted.",
       input_shape=(227, 227, 3), year=2012,
       ref=Reference(params=60_965_224, macs=720_000_000, macs_tol=0.03,
                     source="Krizhevsky et al. 2012 (two-GPU AlexNet, ~60M params, ~0.72G "
                            "multiply-adds)"))
def alexnet() -> ArchSpec:
    return arch("alexnet", (227, 227, 3), [
        B("conv", "conv1", filters=96, kernel=11, stride=4, padding="valid"),
        B("max_pool", "pool1", size=3, stride=2),
        B("conv", "conv2", filters=256, kernel=5, groups=2),
        B("max_pool", "pool2", size=3, stride=2),
        B("conv", "conv3", filters=384, kernel=3),
        B("conv", "conv4", filters=384, kernel=3, groups=2),
        B("conv", "conv5", filters=256, kernel=3, groups=2),
        B("max_pool", "pool5", size=3, stride=2),
    ], B("dense_head", classes=1000, hidden=[4096, 4096], dropout=0.5))


def _vgg(name: str, convs: tuple[int, ...]) -> ArchSpec:
    blocks = []
    for i, (n, f) in enumerate(zip(convs, (64, 128, 256, 512, 512)), 1):
        blocks.append(B("conv_stack", f"block{i}", n=n, filters=f))
        blocks.append(B("max_pool", f"pool{i}", size=2))
    return arch(name, (224, 224, 3), blocks,
                B("dense_head", classes=1000, hidden=[4096, 4096], dropout=0.5))


@entry("vgg16", "classic", "Simonyan & Zisserman 2014: only 3x3 convs in stacks of 2-3, five "
       "2x2 max pools, 4096-4096 dense head.", year=2014,
       ref=Reference(params=138_357_544, macs=15_500_000_000, macs_tol=0.03,
                     source="Simonyan & Zisserman 2014; Keras Applications VGG16"))
def vgg16() -> ArchSpec:
    return _vgg("vgg16", (2, 2, 3, 3, 3))


@entry("vgg19", "classic", "VGG-19: stacks of 2, 2, 4, 4, 4 3x3 convs.", year=2014,
       ref=Reference(params=143_667_240, macs=19_600_000_000, macs_tol=0.03,
                     source="Simonyan & Zisserman 2014; Keras Applications VGG19"))
def vgg19() -> ArchSpec:
    return _vgg("vgg19", (2, 2, 4, 4, 4))


# GoogLeNet Table 1: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj)
INCEPTION_V1 = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _inception(name: str, widths: tuple[int, ...]):
    keys = ("b1", "b3_reduce", "b3", "b5_reduce", "b5", "pool_proj")
    return B("inception", name, **dict(zip(keys, widths)))


@entry("googlenet", "classic", "Szegedy et al. 2014 (Inception v1): stem, nine Inception modules "
       "with 1x1 reductions, global average pooling; optional auxiliary classifiers.",
       options={"aux": False}, year=2014,
       ref=Reference(params=6_800_000, params_tol=0.03, trainable_only=True,
                     macs=1_586_000_000, macs_tol=0.03,
                     source="Szegedy et al. 2014, Table 1: params and ops columns sum to 6.8M and "
                            "1.586G (the text's '1.5 billion multiply-adds' is the budget)"))
def googlenet(aux: bool = False) -> ArchSpec:
    blocks = [
        B("conv", "conv1", filters=64, kernel=7, stride=2),
        B("max_pool", "pool1", size=3, stride=2, padding="same"),
        B("pointwise", "conv2_reduce", filters=64),
        B("conv", "conv2", filters=192, kernel=3),
        B("max_pool", "pool2", size=3, stride=2, padding="same"),
        _inception("inception3a", INCEPTION_V1["3a"]),
        _inception("inception3b", INCEPTION_V1["3b"]),
        B("max_pool", "pool3", size=3, stride=2, padding="same"),
    ]
    for k in ("4a", "4b", "4c", "4d", "4e"):
        blocks.append(_inception(f"inception{k}", INCEPTION_V1[k]))
        if aux and k in ("4a", "4d"):
            blocks.append(B("aux_head", f"aux_{k}", classes=1000))
    blocks.append(B("max_pool", "pool4", size=3, stride=2, padding="same"))
    blocks += [_inception("inception5a", INCEPTION_V1["5a"]),
               _inception("inception5b", INCEPTION_V1["5b"])]
    return arch("googlenet", (224, 224, 3), blocks, B("gap_head", classes=1000, dropout=0.4))
