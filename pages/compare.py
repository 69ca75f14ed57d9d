"""Compare 2-4 architectures side by side, or load one of the lecture's comparisons."""
from __future__ import annotations

import streamlit as st

from playground._env import freeze_import_heap

from playground.cached import analyze_spec, analyze_target, model_for
from playground.layer_charts import METRICS, layer_rows, per_layer_figure
from playground.comparisons import COMPARISONS, conv_macs, side_by_side, spec_from_upload, totals
from playground.cost import CONVENTIONS
from playground.errors import SpecError
from playground.export import export_bytes
from playground.spec import ArchSpec
from playground.targets import resolve
from playground.zoo import ZOO
from playground.ui.errors import show_error
from playground.ui.measure_view import compare_section
from playground.ui.router import ensure_routed
from playground.ui.sweep_panel import train_these

ensure_routed(__file__)

MAX_ARCHS = 4
DEFAULT_ZOO = ["resnet20-cifar", "plain20-cifar"]


def _init_state() -> None:
    """Every session-state key this page uses, initialised in one place."""
    st.session_state.setdefault("compare_lecture", None)


# --- cached pure results (keyed by the spec JSON, or the zoo name for keras: entries) -----------
@st.cache_data(show_spinner=False, max_entries=64)
def _spec_costs(spec_json: str, batch: int, label: str) -> tuple[dict, int, list[dict]]:
    report = analyze_spec(ArchSpec.from_json(spec_json), batch)
    return totals(report), conv_macs(report), layer_rows(report, label)


@st.cache_data(show_spinner=False, max_entries=16)
def _keras_costs(name: str, batch: int, label: str) -> tuple[dict, int, list[dict]]:
    report = analyze_target(resolve(name), batch)
    return totals(report), conv_macs(report), layer_rows(report, label)


@st.cache_data(show_spinner=False, max_entries=32)
def _spec_export(spec_json: str, fmt: str) -> bytes:
    return export_bytes(ArchSpec.from_json(spec_json), fmt)


@st.cache_data(show_spinner=False, max_entries=8)
def _keras_export(name: str, fmt: str) -> bytes:
    return export_bytes(model_for(resolve(name)), fmt)


# --- choosing what to compare ----------------------------------------------------------------
def _lecture_buttons() -> None:
    st.markdown("**The lecture's comparisons** (one click loads them):")
    with st.container(horizontal=True, gap="small"):  # wraps: no name cut to "plain-vs-resid…"
        for name, comp in COMPARISONS.items():
            if st.button(name, key=f"lecture_{name}", help=comp.title):
                st.session_state["compare_lecture"] = name


def _chosen() -> list[tuple[str, ArchSpec | None, str | None]]:
    """(label, spec, keras zoo name) for each architecture to compare."""
    lecture = st.session_state["compare_lecture"]
    if lecture is not None:
        comp = COMPARISONS.get(lecture)
        st.subheader(comp.title)
        st.markdown(comp.explanation)
        if st.button("Back to my own selection", key="lecture_clear"):
            st.session_state["compare_lecture"] = None
            st.rerun()
        return [(label, spec, None) for label, spec in comp.variants]

    left, right = st.columns([3, 2])
    with left:
        names = st.multiselect("Zoo architectures", ZOO.list(), default=DEFAULT_ZOO,
                               max_selections=MAX_ARCHS, key="compare_zoo")
    with right:
        uploads = st.file_uploader("…and/or spec files (.json)", type=["json"],
                                   accept_multiple_files=True, key="compare_uploads")
        specs: list[ArchSpec] = []
        for up in uploads or []:
            try:
                specs.append(spec_from_upload(up.name, up.getvalue()))
            except SpecError as e:
                show_error(e)
    chosen: list[tuple[str, ArchSpec | None, str | None]] = []
    for n in names:
        entry = ZOO.get(n)
        chosen.append((n, entry.spec(), None) if entry.is_spec else (n, None, n))
    labels = {c[0] for c in chosen}
    for spec in specs:
        label = spec.name if spec.name not in labels else f"{spec.name} (upload)"
        labels.add(label)
        chosen.append((label, spec, None))
    if len(chosen) > MAX_ARCHS:
        st.warning(f"Comparing the first {MAX_ARCHS} of {len(chosen)} architectures.")
        chosen = chosen[:MAX_ARCHS]
    return chosen


# --- rendering ---------------------------------------------------------------------------------
def _charts(rows: list[dict]) -> None:
    tabs = st.tabs([title for _, title, _, _ in METRICS])
    for tab, (col, _, axis, log_y) in zip(tabs, METRICS):
        with tab:
            st.plotly_chart(per_layer_figure(rows, col, axis, log_y), width="stretch")


def page() -> None:
    _init_state()
    st.title("Compare architectures")
    st.caption("Pick two to four architectures, or load one of the lecture's comparisons, and "
               "read their cost side by side.")
    _lecture_buttons()
    chosen = _chosen()
    batch = int(st.number_input("Batch size (peak activation memory)", min_value=1,
                                max_value=4096, value=1, key="compare_batch"))
    if not chosen:
        st.info("Choose at least two architectures to compare.")
        return
    if len(chosen) < 2:
        st.info("Choose one more architecture to compare side by side.")

    columns, rows = [], []
    for label, spec, keras_name in chosen:
        try:
            with st.spinner(f"Analysing {label}…"):
                tot, cmacs, lrows = (_spec_costs(spec.to_json(), batch, label) if spec is not None
                                     else _keras_costs(keras_name, batch, label))
        except SpecError as e:
            show_error(e)
            continue
        columns.append((label, tot, cmacs))
        rows += lrows
    if not columns:
        return
    right = st.column_config.TextColumn(alignment="right")
    st.dataframe(side_by_side(columns, batch), hide_index=True, width="stretch",
                 column_config={"figure": st.column_config.TextColumn(pinned=True),
                                **{label: right for label, _, _ in columns}})
    _charts(rows)
    train_these(chosen)  # train them all on the same data and seeds; curves with the spread
    compare_section(chosen, batch)  # measured latency and memory on this machine

    with st.expander("Export"):
        for label, spec, keras_name in chosen:
            row = st.container(horizontal=True, vertical_alignment="center", gap="small")
            row.markdown(f"**{label}**", width="content")
            stem = label.replace(":", "_").replace(" ", "_")
            for fmt, ext, mime, text in [("keras-code", "py", "text/x-python", "Keras code (.py)"),
                                         ("dot", "dot", "text/plain", "Graph (.dot)")]:
                try:
                    data = (_spec_export(spec.to_json(), fmt) if spec is not None
                            else _keras_export(keras_name, fmt))
                except SpecError as e:
                    row.error(f"{e.where}: {e.rule}")
                    continue
                row.download_button(text, data, f"{stem}.{ext}", mime, key=f"dl_{fmt}_{label}")
    with st.expander("Counting conventions"):
        st.markdown(CONVENTIONS)


freeze_import_heap()
page()
