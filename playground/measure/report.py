"""A measurement as text (the CLI's output) and as table rows (the pages' tables)."""
from __future__ import annotations

from typing import Any, Mapping

from playground.cost.formulas import format_bytes, format_count

__all__ = ["text_report", "summary_rows", "layer_table", "ms_text", "ratio_text", "rate_text"]


def ms_text(ms: float | None) -> str:
    """``"4.03 ms"``, ``"0.081 ms"``, ``"1.25 s"`` (``"-"`` when None)."""
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.3g} ms" if ms < 10 else f"{ms:.1f} ms"


def rate_text(value: float | None) -> str:
    """A figure with three significant digits and no exponent: ``"4,800"``, ``"0.099"``."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def ratio_text(ratio: float | None) -> str:
    return "-" if ratio is None else f"x{ratio:.2f}" if ratio < 10 else f"x{ratio:.0f}"


def bytes_text(n: int | None) -> str:
    """Bytes as text; "-" when nothing was measured."""
    return "-" if n is None else format_bytes(n)


def summary_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The headline figures as (what, measured, detail) rows."""
    inf, tr, mem = result["inference"], result.get("train") or {}, result["memory"]
    b = result["batch"]
    rows = [
        {"what": f"inference latency (batch {b})", "measured": ms_text(inf["median_ms"]),
         "detail": f"p90 {ms_text(inf['p90_ms'])}, spread {inf['spread']:.0%} over "
                   f"{inf['repeats']} samples after {inf['warmup']} warm-up; first call "
                   f"{ms_text(inf['first_call_ms'])} (compiling)"},
        {"what": "inference throughput", "measured": f"{result['images_per_s']:,.0f} images/s",
         "detail": f"{rate_text(result['ms_per_gmac'])} ms per GMAC" if result.get("ms_per_gmac")
         else ""},
    ]
    if tr:
        rows += [
            {"what": f"training step (batch {b})", "measured": ms_text(tr["median_ms"]),
             "detail": f"p90 {ms_text(tr['p90_ms'])}, spread {tr['spread']:.0%} over "
                       f"{tr['repeats']} samples; first step {ms_text(tr['first_call_ms'])}"},
            {"what": "training throughput",
             "measured": f"{result['train_images_per_s']:,.0f} images/s", "detail": "Adam, MSE"}]
    rows += [
        {"what": "peak memory, inference", "measured": bytes_text(mem["inference_bytes"]),
         "detail": f"estimate {bytes_text(mem['estimate_inference_bytes'])} (weights + peak "
                   f"activations): measured/estimate {ratio_text(mem['inference_ratio'])}"},
        {"what": "peak memory, training", "measured": bytes_text(mem["training_bytes"]),
         "detail": f"estimate {bytes_text(mem['estimate_training_bytes'])} (weights, gradients, "
                   f"Adam state, saved activations): {ratio_text(mem['training_ratio'])}"},
    ]
    return rows


def layer_table(result: Mapping[str, Any], top: int | None = None) -> list[dict[str, Any]]:
    """The per-layer rows as a table (slowest first when ``top`` is given)."""
    per = result.get("layers") or {}
    rows = list(per.get("layers") or [])
    if top is not None:
        rows = sorted(rows, key=lambda r: -(r.get("ms") or 0))[:top]
    return [{"layer": r["name"], "type": r["type"], "MACs": r["macs"],
             "ms": r.get("ms"), "time %": None if r.get("time_share") is None
             else 100 * r["time_share"], "MAC %": 100 * r.get("mac_share", 0.0),
             "▲": "▲" if r.get("stands_out") else "",
             "MACs/byte": r.get("intensity"), "bound": r.get("bound", ""),
             "of roofline": r.get("efficiency"), "note": r.get("error") or "; ".join(
                 n for n in (f"same as {r['same_as']}" if r.get("same_as") else "",
                             "mostly dispatch overhead" if r.get("small") else "") if n)}
            for r in rows]


def text_report(result: Mapping[str, Any], top: int = 12) -> str:
    """The CLI's text: headline figures, memory, roofline and the slowest layers."""
    m = result["machine"]
    shape = "x".join(map(str, result["input_shape"])) if result["input_shape"] and not isinstance(
        result["input_shape"][0], list) else str(result["input_shape"])
    out = [f"{result['architecture']} ({shape}, {format_count(result['params'])} params, "
           f"{format_count(result['macs'])} MACs per image) at batch {result['batch']}",
           f"machine: {m['label']}; compiled: {result['compile']}", ""]
    width = max(len(r["what"]) for r in summary_rows(result))
    for r in summary_rows(result):
        out.append(f"{r['what']:<{width}}  {r['measured']:>14}  {r['detail']}")
    roof = result.get("roofline")
    if roof:
        out += ["", f"roofline: peak {roof['macs_per_s'] / 1e9:.1f} GMAC/s (numpy/BLAS "
                f"{roof['numpy_macs_per_s'] / 1e9:.1f}: x{roof['macs_vs_numpy']:.2f}), "
                f"bandwidth {roof['bytes_per_s'] / 1e9:.1f} GB/s (numpy "
                f"{roof['numpy_bytes_per_s'] / 1e9:.1f}: x{roof['bytes_vs_numpy']:.2f}), "
                f"ridge {roof['ridge']:.1f} MACs/byte"
                + (" (cached)" if roof.get("cached") else "")]
    per = result.get("layers")
    if per:
        out += ["", f"per layer: {per['timed']} timed ({per['unique_timed']} distinct), "
                f"{per['untimed']} untimed; sum {ms_text(per['sum_ms'])} vs the whole model "
                f"{ms_text(per['model_ms'])}; dispatch overhead {ms_text(per['overhead_ms'])} "
                "subtracted per layer", f"slowest {top} (▲: time share >= 1.5x MAC share):"]
        rows = layer_table(result, top)
        out.append(f"  {'layer':<34} {'type':<20} {'MACs':>8} {'ms':>9} {'time%':>6} "
                   f"{'MAC%':>6} {'MAC/B':>7} bound")
        for r in rows:
            inten = "-" if r["MACs/byte"] is None else f"{r['MACs/byte']:.1f}"
            tshare = "-" if r["time %"] is None else f"{r['time %']:.1f}"
            out.append(f"{r['▲'] or ' '} {r['layer'][:34]:<34} {r['type'][:20]:<20} "
                       f"{format_count(r['MACs']):>8} {ms_text(r['ms']):>9} {tshare:>6} "
                       f"{r['MAC %']:>6.1f} {inten:>7} {r['bound']}")
    if result.get("run_id"):
        out += ["", f"stored as run {result['run_id']} (measure)"]
    return "\n".join(out)
