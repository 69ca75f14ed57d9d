"""Study 10 (cost part): downsampling by max-pool vs strided conv, and a dense head vs global
average pooling (VGG16's dense head holds 123.6M of its 138.4M parameters). The accuracy part
is the separate training study ``downsampling-heads-train``."""
from __future__ import annotations

from typing import Any

from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import (NB, bars, block, cost, exact, head_less, pair_bars,
                                       short)

LECTURE = {"vgg16_params": 138_357_544, "head_params_m": 123.6, "total_params_m": 138.4}


def down_specs(size: int, channels: int) -> list[tuple[str, Any]]:
    """Three ways from size x size x C to size/2 x size/2 x C (convs C -> C, no bias)."""
    shape = (size, size, channels)
    return [
        ("max pool 2x2/2", head_less("maxpool", shape, block("max_pool", "pool", size=2))),
        ("3x3 conv, then max pool", head_less("conv-pool", shape,
                                              block("conv", "conv", filters=channels, **NB),
                                              block("max_pool", "pool", size=2))),
        ("strided 3x3 conv /2", head_less("strided", shape,
                                          block("strided_conv", "down", filters=channels,
                                                **NB))),
    ]


def head_costs(report: Any) -> dict[str, int]:
    """Params and MACs of the layers the head block built (named ``head.*``)."""
    layers = [l for l in report.layers if l.name.startswith("head.")]
    return {"params": sum(l.params for l in layers), "macs": sum(l.macs for l in layers)}


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    down, heads = numbers["downsampling"], numbers["heads"]
    d, g = heads["dense"], heads["gap"]
    s, c = settings["size"], settings["channels"]
    pool, conv_pool, strided = down
    findings = [
        f"Halving {s}x{s}x{c}: a max pool has no weights and no multiply-adds "
        f"({short(pool['other_ops'])} comparisons); a strided 3x3 conv learns the downsampling "
        f"with {exact(strided['params'])} weights and {short(strided['macs'])} MACs, a quarter "
        f"of the {short(conv_pool['macs'])} that the same conv costs at full resolution before "
        "a pool.",
        f"VGG16 with its dense head: {exact(d['total_params'])} params, of which the head "
        f"(flatten -> 4096 -> 4096 -> {settings['classes']}) holds {exact(d['head_params'])} "
        f"({d['head_params'] / d['total_params']:.1%}) while doing "
        f"{d['head_macs'] / d['total_macs']:.1%} of the MACs.",
        f"A global-average-pooling head (512 -> {settings['classes']}) needs "
        f"{exact(g['head_params'])} params: the whole net drops to "
        f"{exact(g['total_params'])} ({g['total_params'] / d['total_params']:.1%}), and it "
        "accepts any input size.",
    ]
    if settings["classes"] == 1000:
        findings.append(f"The lecture's figure holds: the dense head is "
                        f"{d['head_params'] / 1e6:.1f}M of {d['total_params'] / 1e6:.1f}M "
                        "parameters.")
    fig_d = pair_bars([v["label"] for v in down],
                      ("weights (params)", "params", [v["params"] for v in down]),
                      ("multiply-adds (MACs)", "MACs per image", [v["macs"] for v in down]),
                      f"Downsampling {s}x{s}x{c} to {s // 2}x{s // 2}x{c}", "downsampling")
    fig_h = bars(["dense head", "GAP head"],
                 {"body (convolutions)": [d["total_params"] - d["head_params"],
                                          g["total_params"] - g["head_params"]],
                  "head": [d["head_params"], g["head_params"]]},
                 f"VGG16 parameters: dense head vs GAP ({settings['classes']} classes)",
                 "head", "params", stacked=True)
    rows_d = [{"downsampling": v["label"], "output": v["output"], "params": v["params"],
               "MACs": v["macs"], "other ops": v["other_ops"]} for v in down]
    rows_h = [{"head": label, "total params": v["total_params"], "head params": v["head_params"],
               "head share": v["head_params"] / v["total_params"], "total MACs": v["total_macs"],
               "head MACs": v["head_macs"]} for label, v in (("dense", d), ("GAP", g))]
    return StudyResult(numbers, findings, [("Max pool vs strided conv", fig_d),
                                           ("Where VGG16's parameters are", fig_h)],
                       [("Downsampling", rows_d), ("VGG16 heads", rows_h)])


@study("downsampling-heads", 10, "Pooling, strided convs and GAP heads (cost)",
       "Downsampling by max pooling is free; a strided convolution learns it and, placed "
       "instead of a conv + pool, costs a quarter of the conv. On top, flatten + dense layers "
       "hold most of a classic net's weights (VGG16: 123.6M of 138.4M) where global average "
       "pooling needs almost none.",
       "The zero bars of the max pool; the head segment dominating VGG16's dense bar and "
       "nearly vanishing with GAP.",
       settings=(Setting("size", "Map side before downsampling (pixels)", 56, lo=2, hi=224),
                 Setting("channels", "Channels", 64, lo=1, hi=1024),
                 Setting("classes", "Classes (VGG16 head)", 1000, lo=1, hi=10000)),
       present=present)
def downsampling_heads(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    down = []
    for label, spec in down_specs(settings["size"], settings["channels"]):
        r = cost(spec)
        down.append({"label": label, "params": r.params, "macs": r.macs,
                     "other_ops": r.other_ops,
                     "output": "x".join(map(str, r.layers[-1].output_shape))})
    from playground.zoo import get
    vgg = get("vgg16").spec(classes=settings["classes"])
    heads = {}
    for key, spec in (("dense", vgg), ("gap", vgg.replace(
            name="vgg16-gap", head=block("gap_head", classes=settings["classes"])))):
        r = cost(spec)
        h = head_costs(r)
        heads[key] = {"total_params": r.params, "total_macs": r.macs,
                      "head_params": h["params"], "head_macs": h["macs"]}
    return {"downsampling": down, "heads": heads}
