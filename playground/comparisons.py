"""The lecture's comparisons as data: each one a few small specs side by side with an explanation.

``COMPARISONS`` is a :class:`~playground.registry.Registry` of :class:`Comparison` objects; the
Compare page shows one button per entry, and ``tests/test_comparisons.py`` checks the lecture's
figures against :func:`playground.cached.analyze_spec`. Convolutions in the cost-only variants
have no bias and no batch norm, so their parameter counts are the textbook K*K*Cin*Cout.

Also here: :func:`spec_from_upload` (an uploaded spec file -> ArchSpec or a one-line SpecError)
and :func:`totals` (what the Compare page tabulates; per-layer charts are in
:mod:`playground.layer_charts`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from playground.errors import SpecError, first_line
from playground.registry import Registry
from playground.spec import ArchSpec, BlockSpec

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Comparison:
    """A lecture comparison: a title, a markdown explanation and labelled variant specs."""

    name: str
    title: str
    explanation: str
    variants: tuple[tuple[str, ArchSpec], ...]

    def labels(self) -> list[str]:
        return [label for label, _ in self.variants]

    def spec(self, label: str) -> ArchSpec:
        for lab, spec in self.variants:
            if lab == label:
                return spec
        raise KeyError(f"comparison {self.name!r} has no variant {label!r}; it has {self.labels()}")


COMPARISONS: Registry[Comparison] = Registry("comparison")


def _b(type: str, name: str | None = None, **params: Any) -> BlockSpec:
    return BlockSpec(type, params, name)


def _spec(name: str, shape: tuple[int, ...], *blocks: BlockSpec) -> ArchSpec:
    """A head-less spec (the feature maps are the output): cost of the blocks alone."""
    return ArchSpec(tuple(shape), tuple(blocks), _b("no_head"), name)


def _add(name: str, title: str, explanation: str, variants: list[tuple[str, ArchSpec]]) -> None:
    COMPARISONS.add(name, Comparison(name, title, explanation.strip(), tuple(variants)))


NB = {"bias": False, "batch_norm": False}  # textbook counting: K*K*Cin*Cout weights, no extras

# (a) one 7x7 conv vs three 3x3 convs ---------------------------------------------------------
_add("7x7-vs-3x3", "One 7x7 conv vs three 3x3 convs (VGG)", """
Three stacked 3x3 convolutions see a **7x7 receptive field**, the same as one 7x7 convolution,
but with C = 64 channels in and out (56x56x64 input, no bias) they need
**27C² = 110,592** weights instead of **49C² = 200,704**, and 346.8M instead of 629.4M MACs.
They also put **three non-linearities** (ReLUs) where the single layer has one, which makes the
function more discriminative. This is why VGG uses only 3x3 convolutions.
""", [
    ("one 7x7 conv", _spec("conv7x7", (56, 56, 64),
                           _b("conv", "conv7x7", filters=64, kernel=7, **NB))),
    ("three 3x3 convs", _spec("conv3x3x3", (56, 56, 64),
                              _b("conv_stack", "stack3x3", n=3, filters=64, kernel=3,
                                 bias=False, batch_norm=False))),
])

# (b) 1x1 bottleneck ------------------------------------------------------------------------------
_add("bottleneck", "1x1 bottleneck before a 3x3 conv", """
A 3x3 convolution from 256 to 192 maps at 28x28 costs 28·28·3·3·256·192 = **346,816,512** MACs.
Squeezing the 256 maps to 64 with a 1x1 convolution first costs 28·28·256·64 = 12,845,056, and the
3x3 conv from 64 maps 28·28·3·3·64·192 = 86,704,128: **99,549,184** MACs in all, 3.5x fewer,
for the same output shape (and one more non-linearity).
""", [
    ("3x3 conv 256→192", _spec("conv3x3-256-192", (28, 28, 256),
                               _b("conv", "conv3x3", filters=192, kernel=3, **NB))),
    ("1x1 to 64 + 3x3 to 192", _spec("bottleneck-64", (28, 28, 256),
                                     _b("pointwise", "reduce1x1", filters=64, bias=False),
                                     _b("conv", "conv3x3", filters=192, kernel=3, **NB))),
])

# (c) Inception module ----------------------------------------------------------------------------
_INCEPTION = {"b1": 128, "b3_reduce": 64, "b3": 192, "b5_reduce": 64, "b5": 96, "pool_proj": 64}
_add("inception", "Naive vs dimension-reduced Inception module", """
On a 28x28x256 input, the **naive** module (1x1x128, 3x3x192 and 5x5x96 convolutions next to a
3x3 max pool) costs **854,196,224** MACs in its convolutions, and its output grows to
128+192+96+256 = 672 maps because the pool passes all 256 maps through.
The **reduced** module puts 1x1 convolutions to 64 maps in front of the 3x3 and 5x5 convs and
after the pool (pool projection 64): 28·28·(256·128 + 256·64 + 9·64·192 + 256·64 + 25·64·96 +
256·64) = **271,351,808** MACs, with 480 output maps.

*Note:* the lecture slide gives **358M** for the reduced module, but its own listed terms add up
to **271.35M**; the 358M does not match the slide's figures.
""", [
    ("naive module", _spec("inception-naive", (28, 28, 256),
                           _b("inception", "inception", naive=True, **_INCEPTION))),
    ("with 1x1 reductions", _spec("inception-reduced", (28, 28, 256),
                                  _b("inception", "inception", **_INCEPTION))),
])

# (d) depthwise separable (MobileNet Table 3) -----------------------------------------------------
_SEP = {"kernel": 3, "bias": False, "batch_norm": False}
_add("separable", "Standard vs depthwise separable conv (MobileNet Table 3)", """
MobileNet's Table 3 for one layer with Dk = 3, M = N = 512 and a 14x14 feature map (no bias):

| layer | mult-adds | params |
|---|---|---|
| 3x3 conv | 462.4M | 2.36M |
| depthwise separable | 52.3M | 0.27M |
| width multiplier α = 0.75 (M = N = 384) | 29.6M | 0.15M |
| resolution multiplier ρ = 0.714 (Df = 10) | 15.1M | 0.15M |

The separable layer costs Dk²·M·Df² + M·N·Df², a fraction 1/N + 1/Dk² of the standard
Dk²·M·N·Df². α thins every layer (cost ~α²), ρ shrinks the maps (cost ~ρ², params unchanged).
""", [
    ("3x3 conv", _spec("conv-512", (14, 14, 512), _b("conv", "conv", filters=512, **_SEP))),
    ("depthwise separable", _spec("dw-sep-512", (14, 14, 512),
                                  _b("depthwise_separable", "dwsep", filters=512, **_SEP))),
    ("α = 0.75", _spec("dw-sep-384", (14, 14, 384),
                       _b("depthwise_separable", "dwsep", filters=384, **_SEP))),
    ("α = 0.75, ρ = 0.714", _spec("dw-sep-384-df10", (10, 10, 384),
                                  _b("depthwise_separable", "dwsep", filters=384, **_SEP))),
])

# (e) grouped convolution -------------------------------------------------------------------------
_add("grouped", "Grouped convolution (ResNeXt cardinality)", """
A 3x3 convolution from 256 to 256 maps on 56x56 split into **g groups**: each group convolves
256/g input maps into 256/g output maps, so weights and MACs fall by **1/g**:
1,849,688,064 MACs at g = 1, 924,844,032 at g = 2 and 57,802,752 at g = 32 (ResNeXt's
cardinality). The groups never mix channels; the 1x1 convolutions around them do.
""", [
    (f"g = {g}", _spec(f"grouped-g{g}", (56, 56, 256),
                       _b("grouped_conv", "gconv", filters=256, kernel=3, groups=g, **NB)))
    for g in (1, 2, 32)
])


# (f) and (g) reuse zoo specs ---------------------------------------------------------------------
def _vgg_variants() -> list[tuple[str, ArchSpec]]:
    from playground.zoo import get
    vgg = get("vgg16").spec()
    gap = vgg.replace(name="vgg16-gap", head=_b("gap_head", classes=1000))
    return [("VGG16, dense head", vgg), ("VGG16, GAP head", gap)]


_add("vgg-head", "VGG16: dense head vs global average pooling", """
VGG16's 7x7x512 -> 4096 -> 4096 -> 1000 head holds **123.6M of its 138.4M parameters**
(the first dense layer alone 102.8M), while doing only ~0.8% of the multiply-adds. Replacing it
by global average pooling and one 512 -> 1000 classifier (as GoogLeNet and ResNet do) leaves
15.2M parameters, almost all in the convolutions, and the network accepts any input size.
""", _vgg_variants())


def _residual_variants() -> list[tuple[str, ArchSpec]]:
    from playground.zoo import get
    return [("plain-56", get("plain56-cifar").spec()), ("ResNet-56", get("resnet56-cifar").spec())]


_add("plain-vs-residual", "Plain 56-layer net vs ResNet-56 (CIFAR-10)", """
The same 56 weight layers with and without identity shortcuts: parameters and MACs are almost
identical (the shortcuts are free additions), yet He et al. found the **plain 56-layer net
trains to a higher error than a plain 20-layer one** (degradation), while ResNet-56 keeps improving
with depth. The difference is optimisation, not capacity: train both to see it.
""", _residual_variants())


# --- helpers the Compare page uses ---------------------------------------------------------------
def spec_from_upload(filename: str, data: bytes) -> ArchSpec:
    """An uploaded spec ``.json`` as an ArchSpec; a :class:`SpecError` naming the file otherwise."""
    where = f"file '{filename}'"
    if not filename.lower().endswith(".json"):
        raise SpecError(where, "is not a spec .json file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(where, "is not UTF-8 text") from None
    spec = ArchSpec.from_json(text, where)
    from playground.build import build  # validate block types/params now, not on first chart
    try:
        build(spec)
    except SpecError as e:
        raise SpecError(f"{where}, {e.where}", e.rule) from None
    except (ValueError, TypeError) as e:
        raise SpecError(where, first_line(e)) from None
    return spec


def totals(report: Any) -> dict[str, int]:
    """The side-by-side totals of one architecture (peak memory at the report's batch)."""
    from playground.cost.headline import summary
    s = summary(report)
    return {"params": s["params"], "trainable": s["trainable_params"], "macs": s["macs"],
            "flops": s["flops"], "weight_bytes_fp32": s["weight_bytes_fp32"],
            "peak_activation_bytes": s["peak_activation_bytes"]}


def conv_macs(report: Any) -> int:
    """Multiply-adds of the convolution layers alone (what the lecture's figures count)."""
    return sum(r.macs for r in report.layers if "Conv" in r.type)


def side_by_side(columns: Sequence[tuple[str, Mapping[str, int], int]], batch: int
                 ) -> "pd.DataFrame":
    """The Compare page's table: one row per figure, one column per architecture (label,
    :func:`totals`, :func:`conv_macs`), every number written out in full. Two to four narrow
    columns fit a 1024 px window where nine figure columns did not."""
    import pandas as pd

    from playground.cost import format_bytes, format_count
    figures = {
        "params": lambda t, c: f"{t['params']:,}",
        "trainable params": lambda t, c: f"{t['trainable']:,}",
        "MACs": lambda t, c: f"{t['macs']:,}",
        "MACs (short)": lambda t, c: format_count(t["macs"]),
        "conv MACs": lambda t, c: f"{c:,}",
        "FLOPs": lambda t, c: f"{t['flops']:,}",
        "weights (fp32)": lambda t, c: format_bytes(t["weight_bytes_fp32"]),
        f"peak activations (batch {batch})":
            lambda t, c: format_bytes(t["peak_activation_bytes"]),
    }
    table = {"figure": list(figures)}
    for label, tot, cmacs in columns:
        table[label] = [show(tot, cmacs) for show in figures.values()]
    return pd.DataFrame(table)


__all__ = ["Comparison", "COMPARISONS", "spec_from_upload", "totals", "conv_macs",
           "side_by_side"]
