"""The views of a valid spec below the Builder: its graph (block or layer level), per-layer
charts, export downloads and the counting conventions, in tabs; only the open tab is computed,
and each result is cached by the spec's JSON."""
from __future__ import annotations

import streamlit as st

from playground.cached import analysis_model, analyze_spec
from playground.cost import CONVENTIONS
from playground.export import EXTENSIONS, MIME_TYPES, export_bytes
from playground.graph import spec_graph, to_dot
from playground.layer_charts import METRICS, layer_rows, per_layer_figure
from playground.spec import ArchSpec


@st.cache_data(show_spinner=False, max_entries=64)
def _graph_dot(spec_json: str, level: str) -> str:
    """DOT of the (last valid) spec at block or layer level, cached by the spec's JSON."""
    spec = ArchSpec.from_json(spec_json)
    return to_dot(spec_graph(spec, level, analyze_spec(spec), analysis_model(spec)))


@st.cache_data(show_spinner=False, max_entries=64)
def _layer_rows(spec_json: str) -> list[dict]:
    spec = ArchSpec.from_json(spec_json)
    return layer_rows(analyze_spec(spec), spec.name)


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(spec_json: str, title: str):
    """One per-layer chart of the spec (only the chosen one is built; figures are cached)."""
    col, _, axis, log_y = next(m for m in METRICS if m[1] == title)
    return per_layer_figure(_layer_rows(spec_json), col, axis, log_y)


def spec_views(spec: ArchSpec | None) -> None:
    """Graph, per-layer charts, export and conventions of the last valid model. Only the open
    tab is computed (a new spec's chart is not built while the graph is on screen)."""
    if spec is None or not spec.blocks:
        return
    spec_json = spec.to_json()
    t_graph, t_charts, t_export, t_conv = st.tabs(["Graph", "Charts", "Export", "Conventions"],
                                                  key="builder_view", on_change="rerun")
    if t_graph.open:
        with t_graph:
            level = st.radio("Graph level", ["block", "layer"], horizontal=True,
                             help="block: composite blocks collapsed; layer: every Keras layer")
            with st.container(height=620):
                st.graphviz_chart(_graph_dot(spec_json, level), width="content")
    if t_charts.open:
        with t_charts:
            titles = [title for _, title, _, _ in METRICS]
            metric = st.segmented_control("Chart", titles, default=titles[0], key="builder_chart")
            st.plotly_chart(_figure(spec_json, metric or titles[0]), width="stretch")
    if t_export.open:
        with t_export:
            cols = st.columns(5)
            for col, fmt, label in zip(cols, ("keras-code", "keras", "onnx", "dot", "svg"),
                                       ("Keras code", ".keras model", "ONNX", "DOT graph",
                                        "SVG graph")):
                col.download_button(label, data=lambda f=fmt: export_bytes(spec, f),
                                    file_name=f"{spec.name}{EXTENSIONS[fmt]}",
                                    mime=MIME_TYPES[fmt], width="stretch", on_click="ignore")
    if t_conv.open:
        with t_conv:
            st.markdown(CONVENTIONS)
