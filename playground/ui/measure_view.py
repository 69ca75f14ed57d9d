"""The Measure views: measured latency, training step, memory, per-layer time and roofline of
the Builder's model, of the architectures on the Compare page, latency beside accuracy on the
Leaderboard and a measured column in the Zoo.

Measuring runs ``python -m playground measure`` in a fresh process
(:func:`playground.measure.records.measure_subprocess`): the page's own process keeps serving,
and the memory peak is the measured model's alone. Results land in the run store (experiment
``playground-measure``) and in the session, keyed by what was measured and the batch.
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
import streamlit as st

from playground.cost import format_bytes
from playground.errors import SpecError
from playground.measure import records
from playground.measure.charts import macs_time_figure, roofline_figure, share_figure, share_rows
from playground.measure.report import (bytes_text, layer_table, ms_text, rate_text, ratio_text,
                                       summary_rows)
from playground.training_charts import pareto_figure
from playground.ui.errors import show_error

NOISE_NOTE = ("Timings vary between runs (10-25% on a busy machine): compare figures measured "
              "in one sitting.")


# --- measuring -------------------------------------------------------------------------------
def _measure(target: Any, label: str, batch: int, layers: bool, refresh: bool = False
             ) -> dict[str, Any] | None:
    """One measurement in a fresh process, with a spinner; the error shown, None, on failure."""
    from playground.train.config import default_backend
    what = "latency, memory, per-layer time" if layers else "latency and memory"
    try:
        with st.spinner(f"Measuring {label} at batch {batch} ({what}) in a fresh process: "
                        "about half a minute for a small model..."):
            return records.measure_subprocess(target, batch, layers=layers,
                                              backend=default_backend(),
                                              refresh_roofline=refresh)
    except SpecError as e:
        show_error(e)
        return None


def _metrics(result: dict[str, Any]) -> None:
    inf, mem = result["inference"], result["memory"]
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Latency (median)", ms_text(result["latency_ms"]),
                  help=f"p90 {ms_text(inf['p90_ms'])}, spread (p90-p10)/median "
                       f"{inf['spread']:.0%} over {inf['repeats']} timed samples after "
                       f"{inf['warmup']} warm-up calls; the first call "
                       f"({ms_text(inf['first_call_ms'])}) compiles and is left out.")
    top[1].metric("Images / s", rate_text(result["images_per_s"]),
                  help=f"{rate_text(result.get('ms_per_gmac'))} ms per billion MACs")
    top[2].metric("Training step", ms_text(result.get("train_step_ms")),
                  help=f"{rate_text(result.get('train_images_per_s'))} images/s "
                       "(Adam, one optimizer step)")
    bottom[0].metric("Peak memory, inference", bytes_text(mem["inference_bytes"]),
                     help=f"{mem['method']}; the cost model estimates "
                          f"{format_bytes(mem['estimate_inference_bytes'])} (weights + peak "
                          f"activations): {ratio_text(mem['inference_ratio'])}")
    bottom[1].metric("Peak memory, training", bytes_text(mem["training_bytes"]),
                     help=f"{mem['method']}; '-' when the process's memory did not rise above "
                          "what it held before (a model too small to show)")
    bottom[2].metric("Measured / estimate", ratio_text(mem["training_ratio"]),
                     help=f"of the estimated training memory "
                          f"{format_bytes(mem['estimate_training_bytes'])} (weights, gradients, "
                          "Adam state, saved activations); the rest is the framework's own "
                          "(graphs, workspaces, allocator caches)")


def _layers_tab(result: dict[str, Any], key: str) -> None:
    per = result.get("layers")
    if not per:
        st.info("Measured without per-layer timing.")
        return
    _, level = share_rows(result)
    levels = ["layer", "block"]
    pick = st.segmented_control("Per", levels, default=level, key=f"{key}_measure_level")
    st.plotly_chart(share_figure(result, pick or level), width="stretch",
                    key=f"{key}_measure_share")
    st.caption(f"Each layer timed alone as its own compiled model at batch {result['batch']}, "
               f"fastest of its repeats, {ms_text(per['overhead_ms'])} of dispatch overhead "
               f"subtracted. The layers add up to {ms_text(per['sum_ms'])}; the whole model "
               f"runs in {ms_text(per['model_ms'])} (one program, fused, no per-layer "
               "dispatch). Red: a share of the time at least 1.5x its share of the MACs.")
    num = st.column_config.NumberColumn
    st.dataframe(pd.DataFrame(layer_table(result)), hide_index=True, width="stretch",
                 height=320, key=f"{key}_measure_layers",
                 column_config={"MACs": num(format="compact"), "ms": num(format="%.4f"),
                                "time %": num(format="%.1f"), "MAC %": num(format="%.1f"),
                                "MACs/byte": num(format="%.2f"),
                                "of roofline": num(format="percent")})


def _roofline_tab(result: dict[str, Any], key: str) -> None:
    roof = result.get("roofline")
    if not roof:
        st.info("No roofline in this measurement.")
        return
    if result.get("layers"):
        st.plotly_chart(roofline_figure(result), width="stretch", key=f"{key}_measure_roof")
        rows = result["layers"]["layers"]
        if not any(r.get("achieved_macs_per_s") for r in rows):
            st.info(f"No layer with multiply-adds ran long enough on its own to place it here "
                    f"(each took under twice the {ms_text(result['layers']['overhead_ms'])} a "
                    "compiled call costs anyway): measure at a larger batch.")
        compute = sum(1 for r in rows if r.get("bound") == "compute")
        fast = [r for r in rows if (r.get("efficiency") or 0) > 1.1 and r.get("same_as") is None]
        over_peak = sum(1 for r in fast if r.get("bound") == "compute")
        in_cache = len(fast) - over_peak
        st.caption(f"{compute} of {len(rows)} layers are compute-bound (their MACs per byte "
                   f"exceed the ridge at {roof['ridge']:.1f}); the others, every layer "
                   "without multiply-adds among them, are limited by memory bandwidth."
                   + (f" {in_cache} memory-bound layer(s) ran above their roof: their tensors "
                      "fit in the caches, faster than the main-memory bandwidth measured here."
                      if in_cache else "")
                   + (f" {over_peak} compute-bound layer(s) ran faster than the measured peak: "
                      "the machine was busier during the micro-benchmark than during them; "
                      "tick *Re-measure the roofline* when it is quiet." if over_peak else ""))
    st.caption(f"Peak {roof['macs_per_s'] / 1e9:.1f} GMAC/s from a {roof['matmul_n']}x"
               f"{roof['matmul_n']} matmul through Keras (NumPy/BLAS in the same run: "
               f"{roof['numpy_macs_per_s'] / 1e9:.1f}); bandwidth "
               f"{roof['bytes_per_s'] / 1e9:.1f} GB/s over a {format_bytes(roof['array_bytes'])} "
               f"array (NumPy {roof['numpy_bytes_per_s'] / 1e9:.1f}). Measured once per machine "
               "and cached.")


def result_view(result: dict[str, Any], key: str) -> None:
    """Headline metrics, then Summary / Per layer / Roofline tabs of one measurement."""
    _metrics(result)
    st.caption(f"{result['architecture']} at batch {result['batch']} on "
               f"{result['machine']['label']} ({result['compile']}). {NOISE_NOTE}")
    t_sum, t_layers, t_roof = st.tabs(["Summary", "Per layer", "Roofline"],
                                      key=f"{key}_measure_tabs", on_change="rerun")
    if t_sum.open:
        with t_sum:
            st.table(pd.DataFrame(summary_rows(result)).set_index("what"))
    if t_layers.open:
        with t_layers:
            _layers_tab(result, key)
    if t_roof.open:
        with t_roof:
            _roofline_tab(result, key)


def measure_section(spec: Any, batch: int, key: str = "builder") -> None:
    """The Builder's "Measure on this machine" section for ``spec`` (None: no valid model)."""
    exp = st.expander("Measure on this machine: latency, memory, per-layer time, roofline",
                      key=f"{key}_measure", on_change="rerun", icon=":material/speed:")
    if not exp.open:
        return
    with exp:
        if spec is None or not getattr(spec, "blocks", None):
            st.info("Add blocks to the model first: a valid model can be measured.")
            return
        c1, c2, c3 = st.columns([1, 2, 1.3], vertical_alignment="bottom")
        b = int(c1.number_input("Batch", 1, 4096, int(batch), key=f"{key}_measure_batch"))
        layers = c2.checkbox("Time every layer", value=True, key=f"{key}_measure_layers_on",
                             help="Slower: each layer is compiled and timed on its own.")
        refresh = c2.checkbox("Re-measure the roofline", key=f"{key}_measure_refresh",
                              help="This machine's peak MAC rate and bandwidth are measured "
                                   "once and cached; measure them again (a few seconds), "
                                   "best when the machine is quiet.")
        pressed = c3.button("Measure", type="primary", icon=":material/speed:",
                            key=f"{key}_measure_go", width="stretch")
        done = st.session_state.setdefault(f"{key}_measure_results", {})
        slot = (spec.key(), b)
        if pressed:
            result = _measure(spec, spec.name, b, layers, refresh)
            if result is not None:
                done[slot] = result
        if slot in done:
            result_view(done[slot], key)
        else:
            st.caption("Runs the model on this machine: inference latency (median and p90 after "
                       "warm-up), a training step, peak memory beside the estimate, and each "
                       "layer's share of the time beside its share of the MACs. " + NOISE_NOTE)


# --- Compare ---------------------------------------------------------------------------------
def _compare_row(label: str, r: dict[str, Any]) -> dict[str, Any]:
    mem = r["memory"]
    return {"architecture": label, "MACs": r["macs"], "latency ms": r["latency_ms"],
            "p90 ms": r["latency_p90_ms"], "ms / GMAC": r.get("ms_per_gmac"),
            "train step ms": r.get("train_step_ms"), "images/s": r["images_per_s"],
            "peak memory": bytes_text(mem["training_bytes"]),
            "estimate": format_bytes(mem["estimate_training_bytes"]),
            "measured / estimate": ratio_text(mem["training_ratio"])}


def compare_section(chosen: Sequence[tuple[str, Any, str | None]], batch: int) -> None:
    """The Compare page's "Measure on this machine": ``chosen`` as the page has it (label,
    spec or None, Keras zoo name or None), measured one after another at ``batch``."""
    exp = st.expander("Measure on this machine: latency and memory side by side",
                      key="compare_measure", on_change="rerun", icon=":material/speed:")
    if not exp.open:
        return
    with exp:
        done = st.session_state.setdefault("compare_measure_results", {})
        slots = [(label, spec.key() if spec is not None else name, batch)
                 for label, spec, name in chosen]
        missing = [s for s in slots if s not in done]
        label = (f"Measure {len(missing)} architecture{'s' if len(missing) != 1 else ''}"
                 if missing else "Measure again")
        if st.button(label, type="primary", icon=":material/speed:", key="compare_measure_go",
                     disabled=not chosen):
            for (lab, spec, name), slot in zip(chosen, slots):
                if missing and slot not in missing:
                    continue
                result = _measure(spec if spec is not None else name, lab, batch, False)
                if result is None:
                    break
                done[slot] = result
            else:
                st.rerun()  # the button's label and the table follow the new results
        have = [(s[0], done[s]) for s in slots if s in done]
        if not have:
            st.caption(f"Runs each architecture at batch {batch} on this machine, one after "
                       "another in a fresh process: inference latency, a training step and "
                       "peak memory. " + NOISE_NOTE)
            return
        num = st.column_config.NumberColumn
        st.dataframe(pd.DataFrame([_compare_row(lab, r) for lab, r in have]), hide_index=True,
                     width="stretch", key="compare_measure_table",
                     column_config={"MACs": num(format="compact"),
                                    "latency ms": num(format="%.3f"), "p90 ms": num(format="%.3f"),
                                    "ms / GMAC": num(format="%.3g"),
                                    "train step ms": num(format="%.2f"),
                                    "images/s": num(format="%.0f")})
        if len(have) > 1:
            pts = [{**r, "architecture": lab} for lab, r in have]
            st.plotly_chart(macs_time_figure(pts), width="stretch", key="compare_measure_fig")
        st.caption(f"On {have[0][1]['machine']['label']}. {NOISE_NOTE}")


# --- Leaderboard and Zoo ---------------------------------------------------------------------
@st.cache_data(ttl=10, show_spinner=False)
def _measure_rows(uri: str) -> list[dict[str, Any]]:
    return records.rows(records.measure_store(uri))


def _rows() -> list[dict[str, Any]]:
    from playground.store import default_uri
    try:
        return _measure_rows(default_uri())
    except SpecError:
        return []


def leaderboard_section(rows: Sequence[dict[str, Any]]) -> None:
    """The Leaderboard's "Accuracy vs measured latency": finished runs beside their
    architecture's latest measurement on a machine, and the Pareto front."""
    st.subheader("Accuracy vs measured latency")
    measured = _rows()
    if not measured:
        st.caption("Measure an architecture (Builder or Compare: *Measure on this machine*, or "
                   "`python -m playground measure NAME`) to see its latency beside accuracy.")
        return
    options = records.machines(measured)
    here = records.this_machine()["key"]
    keys = [k for k, _, _ in options]
    labels = {k: f"{lab} ({n} measured)" for k, lab, n in options}
    pick = st.selectbox("Machine", keys, index=keys.index(here) if here in keys else 0,
                        format_func=lambda k: labels[k] + (" - this machine" if k == here else ""),
                        key="lb_measure_machine")
    latest = {**records.latest_by_architecture(measured, pick),  # batch 1 where measured
              **records.latest_by_architecture(measured, pick, batch=1)}
    joined = records.with_latency(rows, latest)
    shown = [r for r in joined if r["latency_ms"] is not None]
    if not shown:
        st.caption("None of these runs' architectures has been measured on this machine yet.")
        return
    table = pd.DataFrame([{"run": r["name"], "architecture": r["architecture"],
                           "data set": r["dataset"], "val acc": r["val_accuracy"],
                           "MACs": r["macs"], "latency ms": r["latency_ms"],
                           "batch": r["latency_batch"]} for r in shown])
    num = st.column_config.NumberColumn
    st.dataframe(table, hide_index=True, width="stretch", key="lb_latency_table",
                 column_config={"val acc": st.column_config.ProgressColumn(
                     format="percent", min_value=0.0, max_value=1.0),
                     "MACs": num(format="compact"), "latency ms": num(format="%.3g"),
                     "batch": num(format="%d")})
    st.plotly_chart(pareto_figure(shown, cost="latency_ms"), width="stretch", key="lb_latency_pareto")
    st.caption("Latency: the architecture's newest measurement on this machine (at batch 1 "
               "where there is one), at its own input size, which may differ from the data a "
               "run trained on. " + NOISE_NOTE)


def zoo_column(table: pd.DataFrame) -> pd.DataFrame:
    """The Zoo table with a ``measured ms`` column (latest batch-1 latency on this machine)
    once this machine has measured any zoo entry; unchanged before."""
    latest = records.local_latest(records.this_machine()["key"], batch=1)
    if not set(latest) & set(table["name"]):
        return table
    out = table.copy()
    at = out.columns.get_loc("MACs (M)") + 1 if "MACs (M)" in out.columns else len(out.columns)
    out.insert(at, "measured ms", pd.to_numeric(
        [float(f"{latest[n]['latency_ms']:.3g}") if n in latest else None for n in out["name"]]))
    return out


__all__ = ["measure_section", "compare_section", "leaderboard_section", "zoo_column",
           "result_view"]
