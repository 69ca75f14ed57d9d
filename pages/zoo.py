"""The zoo: every architecture with its cost, and the Keras Applications' accuracy vs cost."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap

from playground.cost import CONVENTIONS, format_bytes, format_count
from playground.tables import shown as styled
from playground.zoo_chart import Point, bubble_figure
from playground.zoo import ZOO
from playground.zoo.summaries import load_summaries
from playground.ui.measure_view import zoo_column
from playground.ui.router import ensure_routed

ensure_routed(__file__)

BUILDER_PAGE = Path(__file__).resolve().parent / "build.py"
# Numbers shown in the table (a missing figure reads as a dash; sorting stays numeric).
TABLE_FORMATS = {"params": "{:,.0f}", "MACs (M)": "{:,.1f}", "depth": "{:.0f}",
                 "weights (MB)": "{:.1f}", "top-1": "{:.3f}", "top-5": "{:.3f}", "year": "{:.0f}",
                 "measured ms": "{:.3g}"}  # the latter once this machine has measured any


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
            "name": name, "family": entry.family, "input": "x".join(map(str, shape)),
            "params": s.get("params", ref.params), "MACs (M)": (s["macs"] / 1e6) if "macs" in s
            else None, "depth": s.get("depth"),
            "weights (MB)": (s["weight_bytes_fp32"] / 2**20) if "weight_bytes_fp32" in s else None,
            "top-1": ref.top1, "top-5": ref.top5, "year": entry.year,
            "reference": ref.source, "summary": entry.summary,
        })
    table = pd.DataFrame(rows)
    return table


def _bubble_chart(table: pd.DataFrame):
    keras_rows = table[(table["family"] == "keras-applications") & table["MACs (M)"].notna()
                       & table["top-1"].notna()]
    if keras_rows.empty:
        return None
    points = [Point(r["name"].removeprefix("keras:"), r["MACs (M)"] / 1e3, r["top-1"],
                    r["params"], f"{r['params'] / 1e6:.1f}M params · "
                    f"{r['MACs (M)'] / 1e3:.2f}G MACs · "
                    f"top-1 {r['top-1']:.1%} · input {r['input']}")
              for _, r in keras_rows.iterrows()]
    return bubble_figure(points, "Keras Applications: ImageNet top-1 vs multiply-adds "
                         "(bubble area = params)", "MACs per image (G, log scale)",
                         "top-1 accuracy")


def page() -> None:
    st.title("Architecture zoo")
    st.caption("Every architecture in the playground at its default input: parameters, "
               "multiply-adds, weight layers on the longest path and fp32 weight size. "
               "Click a column header to sort, a name to read its summary and source.")
    table = zoo_column(_table())
    families = sorted(table["family"].unique())
    chosen = st.multiselect("Families", families, default=families)
    shown = table[table["family"].isin(chosen)]
    event = st.dataframe(  # the long texts (summary, source) show for the row picked
        styled(shown.drop(columns=["family", "summary", "reference"]), TABLE_FORMATS),
        hide_index=True,
        width="stretch", height=460, key="zoo_table", on_select="rerun",
        selection_mode="single-cell",  # a row-picking checkbox column would not fit 1024 px
        column_config={"name": st.column_config.Column(pinned=True),
                       "top-1": st.column_config.Column(help="ImageNet top-1 accuracy "
                                                        "(Keras Applications table)"),
                       "top-5": st.column_config.Column(help="ImageNet top-5 accuracy")})
    picked = [i for i, _ in event.selection.cells if i < len(shown)]
    if picked:
        row = shown.iloc[picked[0]]
        st.markdown(f"**{row['name']}** ({row['family']}): {row['summary']}")
        st.caption(f"Source: {row['reference'] or 'n/a'}")

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
               f"{format_count((row['MACs (M)'] or 0) * 1e6)} MACs · depth {row['depth']} · "
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
