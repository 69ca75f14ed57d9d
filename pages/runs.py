"""Leaderboard: every training run in the store, sortable and filterable, with CSV export,
overlaid curves of the runs you pick and accuracy vs multiply-adds with the Pareto front."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap
from playground.cost import format_count
from playground.leaderboard import filter_rows, rows as leaderboard_rows, to_csv
from playground.tables import shown as styled
from playground.training_charts import METRIC_LABELS, overlay_figure, pareto_figure, pareto_fronts
from playground.ui.measure_view import leaderboard_section
from playground.ui.router import ensure_routed
from playground.ui.run_store import require_store, store

ensure_routed(__file__)

STATUSES = ("SCHEDULED", "RUNNING", "FINISHED", "FAILED", "KILLED")
OVERLAY_METRICS = ("val_accuracy", "val_loss", "accuracy", "loss")
DEFAULT_PICKS = 3
# Run, outcome and time first: at a 1024 px window they show without scrolling the table.
TABLE_COLUMNS = {"front": "★", "name": "run", "status": "status", "started": "started",
                 "val_accuracy": "val acc", "warnings": "⚠", "architecture": "architecture",
                 "dataset": "data set", "params": "params", "macs": "MACs", "epochs": "epochs",
                 "train_seconds": "train s", "images_per_s": "images/s"}
# How the numbers read; a missing one (a failed run's accuracy) shows as a dash, not "None".
TABLE_FORMATS = {"val acc": "{:.1%}", "⚠": lambda n: f"⚠ {n:.0f}" if n else "",
                 "params": format_count, "MACs": format_count, "epochs": "{:.0f}",
                 "train s": "{:.1f}", "images/s": "{:,.0f}"}


def table(rows: list[dict], front: set[str]) -> pd.DataFrame:
    """The rows as the page's table (Pareto-front runs starred, times as datetimes)."""
    df = pd.DataFrame([{**r, "front": "★" if r["run_id"] in front else ""} for r in rows],
                      columns=list(TABLE_COLUMNS))
    df["started"] = pd.to_datetime([dt.datetime.fromtimestamp(s) if s else None  # local time
                                    for s in df["started"]])
    return df.rename(columns=TABLE_COLUMNS)


def _label(r: dict) -> str:
    return f"{r['name']} · {r['run_id'][:6]}"


def _delete(picked: list[str], by_id: dict[str, dict]) -> None:
    """A two-step delete: the button asks, the confirmation deletes."""
    ss = st.session_state
    if st.button(f"Delete {len(picked)} picked run{'s' if len(picked) != 1 else ''}",
                 icon=":material/delete:", key="lb_delete", disabled=not picked):
        ss["lb_confirm"] = list(picked)
    pending = [i for i in ss.get("lb_confirm", ()) if i in by_id]
    if not pending:
        return
    names = ", ".join(by_id[i]["name"] for i in pending[:5]) + (" ..." if len(pending) > 5 else "")
    st.warning(f"Delete {len(pending)} run{'s' if len(pending) != 1 else ''} ({names}) with their "
               "metrics and artifacts? Active runs are cancelled first.", icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button("Yes, delete", type="primary", key="lb_delete_yes", width="stretch"):
        for run_id in pending:
            store().delete(run_id)
        ss.pop("lb_confirm", None)
        ss.pop("lb_picks", None)
        st.toast(f"Deleted {len(pending)} run(s)")
        st.rerun()
    if no.button("Keep them", key="lb_delete_no", width="stretch"):
        ss.pop("lb_confirm", None)
        st.rerun()


def _signature(rows: list[dict]) -> tuple:
    """What changes on the board while runs are active (status and epochs of each run)."""
    return tuple((r["run_id"], r["status"], r["epochs"]) for r in rows)


@st.fragment(run_every=2.0)
def _watch(seen: tuple) -> None:
    """While a run is active: rerun the page when a run's status or epoch count changes."""
    if _signature(leaderboard_rows(store())) != seen:
        st.rerun()


def page() -> None:
    st.title("Leaderboard")
    require_store()
    all_rows = leaderboard_rows(store())
    if any(r["status"] in ("SCHEDULED", "RUNNING") for r in all_rows):
        _watch(_signature(all_rows))
    if not all_rows:
        st.caption("Every training run of this playground, from the Train page or "
                   "`python -m playground train`.")
        st.info("No runs yet. Open the **Train** page in the sidebar, keep the defaults "
                "(quick-cnn on shapes) and press Train: the run shows up here seconds later.",
                icon=":material/model_training:")
        return
    plural = "s" if len(all_rows) != 1 else ""
    st.caption(f"{len(all_rows)} run{plural} of this playground (Train page and `python -m "
               "playground train`). Click a column header to sort; ★ marks the Pareto front of "
               "accuracy vs MACs within each data set.")
    f1, f2, f3 = st.columns([2, 2, 2])
    text = f1.text_input("Filter by name or architecture", key="lb_text",
                         placeholder="e.g. resnet")
    present = [s for s in STATUSES if any(r["status"] == s for r in all_rows)]
    statuses = f2.multiselect("Status", present, key="lb_status", placeholder="any status")
    datasets = f3.multiselect("Data set", sorted({r["dataset"] for r in all_rows}),
                              key="lb_dataset", placeholder="any data set")
    rows = filter_rows(all_rows, text, statuses, datasets)
    if not rows:
        st.info("No run matches these filters.")
        return
    finished = [r for r in rows if r["status"] == "FINISHED"]
    fronts = pareto_fronts(finished)
    front = {i for ids in fronts.values() for i in ids}
    st.dataframe(
        styled(table(rows, front), TABLE_FORMATS), hide_index=True, width="stretch",
        height=min(420, 38 + 35 * len(rows)), key="lb_table",
        column_config={
            "★": st.column_config.TextColumn(help="on the Pareto front of accuracy vs MACs",
                                             pinned=True),
            "run": st.column_config.TextColumn(pinned=True),
            "val acc": st.column_config.Column(help="validation accuracy of the kept model"),
            "⚠": st.column_config.Column(help="warnings (see the run on the Train page)"),
            "started": st.column_config.DatetimeColumn(format="D MMM HH:mm")})
    st.download_button("Download CSV", to_csv(rows), file_name="playground-runs.csv",
                       mime="text/csv", icon=":material/download:", key="lb_csv")

    by_id = {r["run_id"]: r for r in all_rows}
    ss = st.session_state
    if "lb_picks" in ss:
        ss["lb_picks"] = [i for i in ss["lb_picks"] if i in by_id]
    else:
        ss["lb_picks"] = [r["run_id"] for r in finished[:DEFAULT_PICKS]]
    st.subheader("Curves")
    picked = st.multiselect("Runs to overlay (or delete)", list(by_id),
                            format_func=lambda i: _label(by_id[i]), key="lb_picks",
                            placeholder="pick runs")
    metric = st.radio("Metric", OVERLAY_METRICS, horizontal=True, key="lb_metric",
                      format_func=lambda m: METRIC_LABELS.get(m, m), label_visibility="collapsed")
    if picked:
        series = {}
        for i in picked:
            series[_label(by_id[i])] = store().history(i, [metric])[metric]
        st.plotly_chart(overlay_figure(series, metric), width="stretch", key="lb_overlay")
    else:
        st.caption("Pick runs above to compare their curves.")
    _delete(picked, by_id)

    st.subheader("Accuracy vs cost")
    if finished and any(r.get("macs") for r in finished):
        st.plotly_chart(pareto_figure(finished), width="stretch", key="lb_pareto")
        for dataset, ids in fronts.items():
            st.caption(f"Pareto front on **{dataset}**: "
                       + " → ".join(by_id[i]["name"] for i in ids))
    else:
        st.caption("Finished runs with a cost figure appear here.")
    leaderboard_section(finished)


freeze_import_heap()
page()
