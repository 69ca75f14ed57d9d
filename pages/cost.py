"""Cost of one architecture: a zoo entry, an uploaded spec or an uploaded .keras file."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap
from playground.cached import analyze_spec, analyze_target, model_for
from playground.cost import CONVENTIONS
from playground.cost.headline import summary
from playground.errors import SpecError
from playground.export import export_bytes
from playground.graph import model_graph, spec_graph, to_dot
from playground.targets import Target, resolve, target_from_upload
from playground.ui.errors import show_error
from playground.ui.router import ensure_routed
from playground.ui.totals import totals_row
from playground.zoo import ZOO

ensure_routed(__file__)


@st.cache_resource(show_spinner=False)
def _zoo_target(name: str) -> Target:
    return resolve(name)


def page() -> None:
    st.title("Architecture cost")
    st.caption("Parameters, multiply-adds, FLOPs, memory and receptive field, layer by layer, "
               "computed from the built Keras model.")
    left, right = st.columns([2, 1])
    with left:
        names = ZOO.list()
        choice = st.selectbox("Zoo architecture", names, index=names.index("resnet50"),
                              format_func=lambda n: f"{n} — {ZOO.get(n).family}")
    with right:
        upload = st.file_uploader("…or upload a spec (.json) or model (.keras)",
                                  type=["json", "keras"])
    batch = st.number_input("Batch size (memory figures)", min_value=1, max_value=4096, value=32)

    try:
        target = (target_from_upload(upload.name, upload.getvalue()) if upload is not None
                  else _zoo_target(choice))
        with st.spinner("Building and analysing…"):
            report = (analyze_spec(target.spec, int(batch)) if target.spec is not None
                      else analyze_target(target, int(batch)))
            model = model_for(target)
    except SpecError as e:
        show_error(e)
        return

    st.subheader(target.name)
    totals_row(summary(report), int(batch))
    if report.uncounted:
        st.warning("Uncounted layer types (no cost handler): " + ", ".join(report.uncounted))

    tab_layers, tab_graph, tab_export = st.tabs(["Per layer", "Graph", "Export"])
    with tab_layers:
        rows = [{"layer": r.name, "type": r.type,
                 "output": " x ".join(map(str, r.output_shape or ())),
                 "params": r.params, "MACs": r.macs,
                 "receptive field": " x ".join(map(str, r.receptive_field or ())) or "—"}
                for r in report.layers]
        num = st.column_config.NumberColumn(format="localized")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=420,
                     column_config={"params": num, "MACs": num})
    with tab_graph:
        level = st.radio("Level", ["block", "layer"], horizontal=True)
        graph = (spec_graph(target.spec, level, report, model) if target.spec is not None
                 else model_graph(model, level=level, annotations=report))
        with st.container(height=640):
            st.graphviz_chart(to_dot(graph), width="content")
    with tab_export:
        obj = target.spec if target.spec is not None else model
        stem = target.name.replace(":", "_")
        c = st.columns(3)
        c[0].download_button("Keras code (.py)", export_bytes(obj, "keras-code"),
                             f"{stem}.py", "text/x-python")
        c[1].download_button("Graph (.dot)", export_bytes(obj, "dot"), f"{stem}.dot", "text/plain")
        if target.spec is not None:
            c[2].download_button("Spec (.json)", target.spec.to_json(), f"{stem}.json",
                                 "application/json")
    with st.expander("Counting conventions"):
        st.markdown(CONVENTIONS)


freeze_import_heap()
page()
