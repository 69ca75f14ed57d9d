"""Study 2: the 1x1 bottleneck. Squeezing the maps with a 1x1 conv before a 3x3 conv cuts its
cost; the lecture's 346,816,512 -> 99,549,184 example, then the cost over the bottleneck width
and the input channels."""
from __future__ import annotations

import math
from typing import Any

from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import NB, block, cost, exact, head_less, lines, short, weighted

LECTURE = {"cin": 256, "cout": 192, "width": 64, "size": 28, "kernel": 3,
           "direct_macs": 346_816_512, "bottleneck_macs": 99_549_184}


def direct_spec(cin: int, cout: int, size: int, kernel: int):
    return head_less(f"direct-{cin}-{cout}", (size, size, cin),
                     block("conv", "conv", filters=cout, kernel=kernel, **NB))


def bottleneck_spec(cin: int, cout: int, width: int, size: int, kernel: int):
    return head_less(f"bottleneck-{cin}-{width}-{cout}", (size, size, cin),
                     block("pointwise", "reduce", filters=width, bias=False),
                     block("conv", "conv", filters=cout, kernel=kernel, **NB))


def pair(cin: int, cout: int, width: int, size: int, kernel: int) -> dict[str, Any]:
    """Direct conv vs 1x1 bottleneck + conv, counted from the built layers."""
    d = cost(direct_spec(cin, cout, size, kernel))
    b = cost(bottleneck_spec(cin, cout, width, size, kernel))
    reduce_layer, conv_layer = weighted(b)
    return {"cin": cin, "cout": cout, "width": width,
            "direct_macs": d.macs, "direct_params": d.params,
            "bottleneck_macs": b.macs, "bottleneck_params": b.params,
            "reduce_macs": reduce_layer.macs, "conv_macs": conv_layer.macs}


def _grid(top: int, extra: int) -> list[int]:
    """Powers of two and their 1.5x up to ``top``, plus ``extra``."""
    vals = {extra}
    v = 4
    while v <= top:
        vals.update({v, int(v * 1.5)} if int(v * 1.5) <= top else {v})
        v *= 2
    return sorted(x for x in vals if 1 <= x <= top)


def break_even(cin: int, cout: int, kernel: int) -> float:
    """The bottleneck width at which 1x1 + conv costs as much as the conv alone:
    w (cin + k² cout) = k² cin cout."""
    k2 = kernel * kernel
    return k2 * cin * cout / (cin + k2 * cout)


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    ex, cur = numbers["lecture"], numbers["current"]
    k = settings["kernel"]
    findings = [
        f"The lecture's example, counted on the built layers: a 3x3 conv 256 -> 192 on 28x28 "
        f"costs {exact(ex['direct_macs'])} MACs; a 1x1 conv to 64 maps first "
        f"({exact(ex['reduce_macs'])}) and the 3x3 from 64 maps ({exact(ex['conv_macs'])}) cost "
        f"{exact(ex['bottleneck_macs'])} in all, {ex['direct_macs'] / ex['bottleneck_macs']:.2f}x "
        "fewer, for the same output shape.",
        f"At your settings ({cur['cin']} -> {cur['width']} -> {cur['cout']} maps, "
        f"{settings['size']}x{settings['size']}): {short(cur['direct_macs'])} MACs direct vs "
        f"{short(cur['bottleneck_macs'])} through the bottleneck "
        f"({cur['bottleneck_macs'] / cur['direct_macs']:.0%}); params "
        f"{exact(cur['direct_params'])} vs {exact(cur['bottleneck_params'])}.",
        f"The bottleneck pays off while its width is below {numbers['break_even']:.1f} maps "
        f"(k²·Cin·Cout / (Cin + k²·Cout)); above that the extra 1x1 costs more than it saves.",
    ]
    w = numbers["by_width"]
    c = numbers["by_cin"]
    fig_w = lines({"1x1 bottleneck + conv": (w["width"], w["bottleneck_macs"]),
                   "conv alone": (w["width"], w["direct_macs"])},
                  f"MACs vs bottleneck width ({cur['cin']} -> w -> {cur['cout']} maps, "
                  f"{settings['size']}x{settings['size']})",
                  "bottleneck width w (maps)", "MACs per image", dashed=("conv alone",))
    fig_wp = lines({"1x1 bottleneck + conv": (w["width"], w["bottleneck_params"]),
                    "conv alone": (w["width"], w["direct_params"])},
                   "Params vs bottleneck width", "bottleneck width w (maps)", "params",
                   dashed=("conv alone",))
    fig_c = lines({"1x1 bottleneck + conv": (c["cin"], c["bottleneck_macs"]),
                   "conv alone": (c["cin"], c["direct_macs"])},
                  f"MACs vs input channels (w = {cur['width']}, {cur['cout']} out)",
                  "input channels Cin (maps)", "MACs per image", log_x=True, log_y=True)
    for fig in (fig_w, fig_wp):
        fig.add_vline(x=cur["width"], line_dash="dot", line_color="#888888",
                      annotation_text=f"your w = {cur['width']}", annotation_position="top left")
    # on a log axis a shape takes data units but an annotation takes log10 units
    fig_c.add_vline(x=cur["cin"], line_dash="dot", line_color="#888888")
    fig_c.add_annotation(x=math.log10(cur["cin"]), y=1, yref="paper", showarrow=False,
                         text=f"your Cin = {cur['cin']}", xanchor="right", yanchor="bottom")
    rows = [{"variant": "conv alone", "layers": f"{k}x{k} conv {cur['cin']}->{cur['cout']}",
             "MACs": cur["direct_macs"], "params": cur["direct_params"]},
            {"variant": "bottleneck", "layers": f"1x1 {cur['cin']}->{cur['width']} + {k}x{k} "
             f"{cur['width']}->{cur['cout']}", "MACs": cur["bottleneck_macs"],
             "params": cur["bottleneck_params"]}]
    lecture_rows = [{"term": "3x3 conv 256->192", "MACs": ex["direct_macs"],
                     "lecture": LECTURE["direct_macs"]},
                    {"term": "1x1 256->64", "MACs": ex["reduce_macs"], "lecture": None},
                    {"term": "3x3 64->192", "MACs": ex["conv_macs"], "lecture": None},
                    {"term": "bottleneck total", "MACs": ex["bottleneck_macs"],
                     "lecture": LECTURE["bottleneck_macs"]}]
    return StudyResult(numbers, findings,
                       [("MACs over the bottleneck width: below the dashed line it saves",
                         fig_w), ("Params over the bottleneck width", fig_wp),
                        ("MACs over the input channels: the wider the input, the more the "
                         "1x1 saves", fig_c)],
                       [("Your settings", rows), ("The lecture's example (28x28, 256 -> 64 -> "
                                                  "192)", lecture_rows)])


@study("bottleneck", 2, "1x1 bottleneck",
       "A 1x1 convolution mixes channels without looking at neighbours, so it can squeeze many "
       "maps into few before an expensive 3x3 conv: 346,816,512 multiply-adds become "
       "99,549,184 in the lecture's example, for the same output shape.",
       "The bottleneck curve under the dashed 'conv alone' line (it saves) until the "
       "break-even width; the gap widening as the input gets wider.",
       settings=(Setting("cin", "Input channels", 256, lo=1, hi=2048),
                 Setting("cout", "Output channels", 192, lo=1, hi=2048),
                 Setting("width", "Bottleneck width (1x1 output maps)", 64, lo=1, hi=2048),
                 Setting("size", "Feature map side (pixels)", 28, lo=1, hi=224),
                 Setting("kernel", "Kernel of the expensive conv", 3, choices=(1, 3, 5, 7))),
       present=present)
def bottleneck(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    cin, cout, width = settings["cin"], settings["cout"], settings["width"]
    size, kernel = settings["size"], settings["kernel"]
    if kernel > size:
        from playground.errors import SpecError
        raise SpecError("study 'bottleneck' setting 'kernel'",
                        f"{kernel} is larger than the {size}x{size} map")
    by_width = [pair(cin, cout, w, size, kernel) for w in _grid(cin, width)]
    by_cin = [pair(c, cout, width, size, kernel) for c in _grid(max(cin, 1024), cin)
              if c >= 8 or c == cin]
    return {
        "lecture": pair(256, 192, 64, 28, 3),
        "current": pair(cin, cout, width, size, kernel),
        "break_even": break_even(cin, cout, kernel),
        "by_width": {key: [p[key] for p in by_width] for key in by_width[0]},
        "by_cin": {key: [p[key] for p in by_cin] for key in by_cin[0]},
    }
