"""The views of a valid spec below the Builder: its graph (block or layer level), per-layer
charts, the exported Keras code with the downloads, and the counting conventions, in tabs.
Only the open tab is computed, and each result is cached by the spec's JSON.

The graph is drawn on the server by Graphviz' ``dot`` when it is installed and shown as an
SVG image: the browser then only paints a picture (laying a graph out in the page blocked it
for about a second on every edit). Without ``dot`` the page lays it out in the browser."""
from __future__ import annotations

import shutil

import streamlit as st

from playground.cached import analysis_model, analyze_spec
from playground.cost import CONVENTIONS
from playground.errors import SpecError
from playground.export import EXTENSIONS, MIME_TYPES, export_bytes
from playground.graph import render_svg, spec_graph, to_dot
from playground.layer_charts import METRICS, layer_rows, per_layer_figure
from playground.spec import ArchSpec
from playground.ui.builder_state import keep

TABS = ("Graph", "Charts", "Code and export", "Conventions")
VIEW, LEVEL, CHART = "builder_view", "builder_graph_level", "builder_chart"
DOWNLOADS = (("keras", ".keras model"), ("onnx", "ONNX"), ("dot", "DOT graph"),
             ("svg", "SVG graph"))


@st.cache_data(show_spinner=False, max_entries=64)
def _graph_dot(spec_json: str, level: str) -> str:
    """DOT of the (last valid) spec at block or layer level, cached by the spec's JSON."""
    spec = ArchSpec.from_json(spec_json)
    return to_dot(spec_graph(spec, level, analyze_spec(spec), analysis_model(spec)))


@st.cache_data(show_spinner=False, max_entries=64)
def _graph_svg(spec_json: str, level: str) -> str | None:
    """The graph as SVG text drawn by ``dot`` (None without Graphviz or when it fails)."""
    if shutil.which("dot") is None:
        return None
    try:
        svg = render_svg(_graph_dot(spec_json, level)).decode("utf-8")
    except SpecError:
        return None
    return svg


@st.cache_data(show_spinner=False, max_entries=32)
def spec_code(spec_json: str) -> str:
    """The standalone Keras code of the spec: what the "Keras code" download holds (written
    from the shapes-only model: code export reads layer configurations, never weights)."""
    from playground.codegen import spec_to_source
    spec = ArchSpec.from_json(spec_json)
    return spec_to_source(spec, model=analysis_model(spec))


@st.cache_data(show_spinner=False, max_entries=64)
def _layer_rows(spec_json: str) -> list[dict]:
    spec = ArchSpec.from_json(spec_json)
    return layer_rows(analyze_spec(spec), spec.name)


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(spec_json: str, title: str):
    """One per-layer chart of the spec (only the chosen one is built; figures are cached)."""
    col, _, axis, log_y = next(m for m in METRICS if m[1] == title)
    return per_layer_figure(_layer_rows(spec_json), col, axis, log_y)


def _graph(spec_json: str) -> None:
    keep(LEVEL, "block")
    level = st.radio("Graph level", ["block", "layer"], horizontal=True, key=LEVEL,
                     help="block: composite blocks collapsed; layer: every Keras layer")
    svg = _graph_svg(spec_json, level)
    with st.container(height=620):
        if svg is not None:
            st.image(svg, width="content")
        else:
            st.graphviz_chart(_graph_dot(spec_json, level), width="content")


def _code_and_export(spec: ArchSpec, spec_json: str) -> None:
    code = spec_code(spec_json)
    with st.container(horizontal=True):  # a row that wraps on a narrow screen
        st.download_button("Keras code", data=code, file_name=f"{spec.name}.py",
                           mime=MIME_TYPES["keras-code"], on_click="ignore",
                           key="builder_dl_code", icon=":material/download:")
        for fmt, label in DOWNLOADS:
            st.download_button(label, data=lambda f=fmt: export_bytes(spec, f),
                               file_name=f"{spec.name}{EXTENSIONS[fmt]}", mime=MIME_TYPES[fmt],
                               on_click="ignore", key=f"builder_dl_{fmt}",
                               icon=":material/download:")
    st.caption(f"`{spec.name}.py`: standalone Keras 3 code that rebuilds this model "
               "(copy it with the icon at its top right).")
    st.code(code, language="python", height=480, wrap_lines=True)


def spec_views(spec: ArchSpec | None) -> None:
    """Graph, per-layer charts, code and export, and conventions of the last valid model.
    Only the open tab is computed (a new spec's chart is not built while the graph shows)."""
    if spec is None or not spec.blocks:
        return
    spec_json = spec.to_json()
    keep(VIEW, TABS[0])
    t_graph, t_charts, t_code, t_conv = st.tabs(list(TABS), key=VIEW, on_change="rerun")
    if t_graph.open:
        with t_graph:
            _graph(spec_json)
    if t_charts.open:
        with t_charts:
            titles = [title for _, title, _, _ in METRICS]
            keep(CHART, titles[0])
            metric = st.segmented_control("Chart", titles, key=CHART)
            st.plotly_chart(_figure(spec_json, metric or titles[0]), width="stretch")
    if t_code.open:
        with t_code:
            _code_and_export(spec, spec_json)
    if t_conv.open:
        with t_conv:
            st.markdown(CONVENTIONS)
