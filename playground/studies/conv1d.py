"""Study 11: 1D convolutions on text or tabular rows, with the output length
N2 = (N1 - F + 2P)/S + 1 worked out for every layer and checked against the built Keras layers."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import plotly.graph_objects as go

from playground.errors import SpecError
from playground.spec import ArchSpec
from playground.studies.base import Context, Setting, StudyResult, study
from playground.studies.common import block, cost, exact, style
from playground.training_charts import PALETTE

VOCAB, DIM = 10000, 128  # the lecture's listing: Embedding(max_features=10000, 128)


def net_spec(s: dict[str, Any]) -> ArchSpec:
    """The lecture's IMDB Conv1D net (text: token ids -> embedding) or the same convs on a
    tabular row read as a sequence of features with one channel."""
    conv = dict(filters=s["filters"], kernel=s["kernel"], stride=s["stride"],
                padding=s["padding"])
    body = [block("conv1d", "conv1", **conv), block("max_pool1d", "pool1", size=s["pool"]),
            block("conv1d", "conv2", **conv), block("global_max_pool1d", "gmp")]
    head = block("dense_head", classes=1, hidden=[], dropout=0.0, activation="none")
    if s["data"] == "text":
        return ArchSpec((s["length"],), (block("embedding", "embedding", vocab=VOCAB, dim=DIM),
                                         *body), head, "conv1d-text", input_dtype="int32")
    return ArchSpec((s["length"], 1), tuple(body), head, "conv1d-tabular")


def out_length(n1: int, f: int, s: int, two_p: int) -> int:
    """N2 = floor((N1 - F + 2P) / S) + 1 (the lecture's formula, floored when S does not
    divide)."""
    return (n1 - f + two_p) // s + 1


def _p_text(two_p: int) -> str:
    p = Fraction(two_p, 2)
    return str(p.numerator) if p.denominator == 1 else f"{float(p):g}"


def present(settings: dict[str, Any], numbers: dict[str, Any]) -> StudyResult:
    rows = numbers["layers"]
    ok = all(r["match"] for r in rows)
    findings = [
        ("For every layer the formula N2 = (N1 - F + 2P)/S + 1 gives the length the built Keras "
         "layer has" if ok else "The formula and the built layer DISAGREE for some layer") +
        ": " + "; ".join(f"{r['layer']} {r['n1']} -> {r['n2_keras']}" for r in rows) + ".",
        f"The net has {exact(numbers['params'])} params and {exact(numbers['macs'])} MACs"
        + (f"; the zoo's imdb-conv1d (the lecture's listing) has {exact(numbers['zoo_params'])}"
           " params" if numbers.get("zoo_params") else "") + ".",
        "'same' padding adds 2P = F - 1 zeros so that N2 = ceil(N1 / S); 'valid' adds none, "
        "so each conv shortens the sequence by F - 1 (at stride 1).",
    ]
    xs = ["input"] + [r["layer"] for r in rows] + ["global max pool"]
    ys = [numbers["input_length"]] + [r["n2_keras"] for r in rows] + [1]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker_color=PALETTE[0], text=ys, textposition="auto",
                           hovertemplate="%{x}: length %{y}<extra></extra>"))
    style(fig, f"Sequence length through the net ({settings['data']}, N1 = "
               f"{settings['length']})", "layer", "sequence length (positions)", legend=False)
    table = [{"layer": f"{r['layer']} ({r['type']})", "N1": r["n1"], "F": r["f"], "P": r["p"],
              "S": r["s"], "N2 = (N1 - F + 2P)/S + 1": r["formula"],
              "Keras output": r["shape"], "match": r["match"]} for r in rows]
    return StudyResult(numbers, findings,
                       [("Each conv and pool shortens the sequence as the formula says", fig)],
                       [("Output length per layer", table)])


@study("conv1d", 11, "1D convolutions on text and tables",
       "A Conv1D slides a filter of F positions along a sequence (words of a review, or the "
       "features of a table row), so the same small ConvNet machinery applies to text and "
       "tabular data. Each layer's output length is N2 = (N1 - F + 2P)/S + 1.",
       "The table's formula column equal to the Keras column on every row; the bars shrinking "
       "by F - 1 per 'valid' conv and by the pool factor.",
       settings=(Setting("data", "Data", "text", choices=("text", "tabular"),
                         help="text: token ids through an embedding; tabular: a row of "
                              "features as a 1-channel sequence"),
                 Setting("length", "Sequence length N1 (words or features)", 500, lo=2,
                         hi=5000),
                 Setting("filters", "Filters per conv", 32, lo=1, hi=512),
                 Setting("kernel", "Kernel F", 7, lo=1, hi=64),
                 Setting("stride", "Stride S", 1, lo=1, hi=16),
                 Setting("padding", "Padding", "valid", choices=("valid", "same")),
                 Setting("pool", "Max-pool size (and stride)", 5, lo=1, hi=32)),
       present=present)
def conv1d(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    spec = net_spec(settings)
    try:
        report = cost(spec)
    except SpecError as e:  # a window longer than the sequence: say which setting to change
        raise SpecError("study 'conv1d' settings", f"{e.where}: {e.rule} (make the sequence "
                        "longer or the kernel, stride or pool smaller)") from None
    by_name = {l.name: l for l in report.layers}
    f, s, pool = settings["kernel"], settings["stride"], settings["pool"]
    two_p = f - 1 if settings["padding"] == "same" else 0
    n1 = settings["length"]
    rows = []
    for name, kind, (ff, ss, pp) in (("conv1", "Conv1D", (f, s, two_p)),
                                     ("pool1", "MaxPooling1D", (pool, pool, 0)),
                                     ("conv2", "Conv1D", (f, s, two_p))):
        layer = by_name[f"{name}.{'conv' if kind == 'Conv1D' else 'pool'}"]
        n2 = out_length(n1, ff, ss, pp)
        keras_len = layer.output_shape[0]
        rows.append({"layer": name, "type": kind, "n1": n1, "f": ff, "p": _p_text(pp), "s": ss,
                     "n2_formula": n2, "n2_keras": keras_len, "match": n2 == keras_len,
                     "formula": f"({n1} - {ff} + 2·{_p_text(pp)})/{ss} + 1 = {n2}",
                     "shape": "x".join(map(str, layer.output_shape))})
        n1 = keras_len
    out = {"input_length": settings["length"], "layers": rows, "params": report.params,
           "macs": report.macs}
    if settings["data"] == "text":
        from playground.zoo.summaries import summary_of
        out["zoo_params"] = summary_of("imdb-conv1d")["params"]
    return out
