"""The zoo: every architecture with its cost, and the Keras Applications' accuracy vs cost."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from playground._env import freeze_import_heap

from playground.cost import CONVENTIONS, format_bytes, format_count
from playground.zoo import ZOO
from playground.zoo.summaries import load_summaries
from playground.ui.measure_view import zoo_column
from playground.ui.router import ensure_routed

ensure_routed(__file__)

BUILDER_PAGE = Path(__file__).resolve().parent / "build.py"


@st.cache_data(show_spinner=False)
def _table() -> pd.DataFrame:
    """One row per zoo entry, from the shipped summaries (no model is built here)."""
    figures = load_summaries()
    rows = []
    for name, entry in ZOO.items():
        s = figures.get(name, {})
        shape = s.get("input_shape") or list(entry.input_shape)
        ref = entry.ref
        rows.append({
            "name": name, "family": entry.family, "input": " x ".join(map(str, shape)),
            "params": s.get("params", ref.params), "MACs (G)": (s["macs"] / 1e9) if "macs" in s
            else None, "depth": s.get("depth"),
            "weights (MB)": (s["weight_bytes_fp32"] / 2**20) if "weight_bytes_fp32" in s else None,
            "top-1": ref.top1, "top-5": ref.top5, "year": entry.year,
            "reference": ref.source, "summary": entry.summary,
        })
    table = pd.DataFrame(rows)
    for col in ("top-1", "top-5", "year"):  # missing figures show blank, not "None"
        table[col] = pd.to_numeric(table[col], errors="coerce")
    return table


def _bubble_chart(table: pd.DataFrame):
    keras_rows = table[(table["family"] == "keras-applications") & table["MACs (G)"].notna()
                       & table["top-1"].notna()].copy()
    if keras_rows.empty:
        return None
    keras_rows["label"] = keras_rows["name"].str.removeprefix("keras:")
    keras_rows["params (M)"] = keras_rows["params"] / 1e6
    fig = px.scatter(keras_rows, x="MACs (G)", y="top-1", size="params (M)", text="label",
                     log_x=True, size_max=45, hover_data={"params (M)": ":.1f", "top-5": True,
                                                         "input": True, "label": False},
                     title="Keras Applications: ImageNet top-1 vs multiply-adds (bubble = params)")
    fig.update_traces(textposition="top center")
    fig.update_layout(height=520, xaxis_title="MACs per image (G, log scale)",
                      yaxis_title="top-1 accuracy")
    return fig


def page() -> None:
    st.title("Architecture zoo")
    st.caption("Every architecture in the playground at its default input: parameters, "
               "multiply-adds, weight layers on the longest path and fp32 weight size. "
               "Click a column header to sort.")
    table = zoo_column(_table())
    families = sorted(table["family"].unique())
    chosen = st.multiselect("Families", families, default=families)
    shown = table[table["family"].isin(chosen)]
    num = st.column_config.NumberColumn
    st.dataframe(
        shown.drop(columns=["summary"]), hide_index=True, width="stretch", height=460,
        column_config={"params": num(format="localized"), "MACs (G)": num(format="%.3f"),
                       "weights (MB)": num(format="%.1f"), "top-1": num(format="%.3f"),
                       "top-5": num(format="%.3f"), "year": num(format="%d")})

    fig = _bubble_chart(table)
    if fig is not None:
        st.plotly_chart(fig, width="stretch")

    st.subheader("Open an architecture")
    spec_names = [n for n in ZOO.list() if ZOO.get(n).is_spec]
    name = st.selectbox("Zoo architecture (editable specs)", spec_names,
                        format_func=lambda n: f"{n} — {ZOO.get(n).family}")
    entry = ZOO.get(name)
    row = table.set_index("name").loc[name]
    st.markdown(f"**{name}** ({entry.year or 'n/a'}): {entry.summary}")
    st.caption(f"{format_count(row['params'])} params · "
               f"{format_count((row['MACs (G)'] or 0) * 1e9)} MACs · depth {row['depth']} · "
               f"{format_bytes((row['weights (MB)'] or 0) * 2**20)} weights · "
               f"source: {entry.ref.source or 'n/a'}")
    has_builder = BUILDER_PAGE.is_file()
    if st.button("Open in builder", disabled=not has_builder, key="zoo_open_builder",
                 help=None if has_builder else "The builder page is not available yet"):
        st.session_state["builder_spec"] = entry.spec().to_dict()
        st.switch_page("pages/build.py")

    with st.expander("Counting conventions"):
        st.markdown(CONVENTIONS)


freeze_import_heap()
page()
