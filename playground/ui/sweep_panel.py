"""Compare's "Train these": a small form (data set, epochs, seeds), one button that trains every
compared architecture on the same data, budget and seeds (a sweep, see
:mod:`playground.train.sweeps`), a status fragment that polls only while the sweep's runs are
active, and its curves overlaid: per architecture the mean over seeds and a shaded band of the
spread, with a table of the kept models' accuracy."""
from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from playground.data import DATASETS
from playground.errors import SpecError
from playground.run_setup import FILE_DATASETS
from playground.train import sweeps
from playground.train.config import TrainConfig, default_backend
from playground.training_charts import METRIC_LABELS, sweep_figure
from playground.ui.dataset_options import dataset_options
from playground.ui.errors import show_error
from playground.ui.run_status import STATUS_ICON
from playground.ui.run_store import store

POLL_S = 1.5
DEFAULT_EPOCHS = 3
METRICS = ("val_accuracy", "accuracy", "loss", "val_loss")
SPREADS = {"std": "mean ± std", "range": "min – max"}
SHARED_OPTIONS = ("val_split", "seed")  # training options, not the data set's (as on Train)
Chosen = Sequence[tuple[str, Any, Any]]  # (label, ArchSpec or None, Keras zoo name or None)


def arms_of(chosen: Chosen) -> list[sweeps.Arm]:
    """The compared architectures ((label, spec or None, Keras zoo name or None)) as arms."""
    return [sweeps.Arm(label, spec=spec.to_dict()) if spec is not None
            else sweeps.Arm(label, target=name or label) for label, spec, name in chosen]


def _form(arms: list[sweeps.Arm]) -> None:
    """The data set, epochs and seeds, and the button that starts the sweep."""
    names = [n for n in DATASETS.list() if n not in FILE_DATASETS]
    a, b, c = st.columns([2, 1, 1])
    dataset = a.selectbox("Data set", names, key="sweep_dataset",
                          format_func=lambda n: n + ("" if DATASETS.get(n).offline
                                                     else " (download)"))
    epochs = int(b.number_input("Epochs", 1, 1000, DEFAULT_EPOCHS, key="sweep_epochs"))
    seeds = int(c.number_input("Seeds", 1, sweeps.MAX_SEEDS, sweeps.DEFAULT_SEEDS,
                               key="sweep_seeds", help="Each architecture trains once per seed "
                               "(initialisation and shuffling); the data stay the same."))
    with st.expander("Data options"):
        options = dataset_options(dataset, skip=SHARED_OPTIONS)
    runs = len(arms) * seeds
    go, note = st.columns([1, 3], vertical_alignment="center")
    pressed = go.button("Train these", type="primary", icon=":material/play_arrow:",
                        key="sweep_go", width="stretch")
    note.caption(f"{len(arms)} architectures × {seeds} seed{'s' if seeds != 1 else ''} = "
                 f"{runs} runs of {epochs} epoch{'s' if epochs != 1 else ''}, queued in the "
                 "background like the Train page's runs (they show on the Leaderboard).")
    if not pressed:
        return
    base = TrainConfig(dataset=dataset, dataset_options=options, epochs=epochs,
                       backend=default_backend())
    try:
        sweep_id = sweeps.create(arms, base, seeds, store())
    except SpecError as e:
        show_error(e)
        return
    st.session_state["sweep_id"] = sweep_id
    st.rerun()


def _summary_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    pm = sweeps.pm_text
    return pd.DataFrame([{
        "architecture": r["architecture"], "finished": f"{r['finished']} / {r['runs']}",
        "val accuracy (mean ± std)": pm(r["val_accuracy"], r["val_accuracy_std"], ".1%"),
        "val accuracy (min – max)": "" if r["val_accuracy_min"] is None else
        f"{r['val_accuracy_min']:.1%} – {r['val_accuracy_max']:.1%}",
        "train loss (mean ± std)": pm(r["train_loss"], r["train_loss_std"], ".4f"),
        "params": "" if r["params"] is None else f"{r['params']:,}"} for r in rows])


def _results(now: sweeps.SweepStatus) -> None:
    """The overlaid curves (mean line, spread band per architecture) and the summary table."""
    left, right = st.columns([3, 2])
    metric = left.radio("Metric", METRICS, horizontal=True, key="sweep_metric",
                        format_func=lambda m: METRIC_LABELS.get(m, m))
    spread = right.radio("Band", list(SPREADS), horizontal=True, key="sweep_spread",
                         format_func=SPREADS.get)
    bands = sweeps.curves(store(), now, metric)
    if not any(b.epochs for b in bands.values()):
        st.caption("The curves appear here as the runs finish their first epoch.")
    else:
        epochs = max((int(c.params.get("epochs") or 0) for c in now.children), default=0)
        st.plotly_chart(sweep_figure(bands, metric, spread, epochs or None), width="stretch",
                        key="sweep_curves")
    if now.ended:
        st.table(_summary_table(sweeps.summary(now)).set_index("architecture"))


def _status(sweep_id: str, active_at_start: bool) -> None:
    """The sweep's state; a fragment that polls the store only while its runs are active and
    reruns the page when they have all ended (so polling stops)."""
    @st.fragment(run_every=POLL_S if active_at_start else None)
    def view() -> None:
        try:
            now = sweeps.status(store(), sweep_id)
        except SpecError as e:
            show_error(e)
            return
        if active_at_start and not now.active:
            st.rerun()
        with st.container(border=True, key="sweep_state"):
            head, button = st.columns([5, 1], vertical_alignment="center")
            head.markdown(f"{STATUS_ICON.get(now.status, '')} **{now.name}** · "
                          f"{now.status.lower()} · {now.line()} · `{sweep_id[:8]}`")
            if now.active and button.button("Cancel", key="sweep_cancel",
                                            icon=":material/stop:", width="stretch"):
                sweeps.cancel(store(), sweep_id)
                st.toast("Cancelling the sweep's runs")
            if now.active:
                st.progress(now.ended / max(1, now.expected),
                            text=f"{now.ended} of {now.expected} runs ended")
                running = [c.name for c in now.children if c.status == "RUNNING"]
                if running:
                    st.caption("Training now: " + ", ".join(running))
            elif now.status != "FINISHED":
                st.warning(f"**{now.status.lower()}**: {now.error}", icon=":material/warning:")
            _results(now)

    view()


def train_these(chosen: Chosen) -> None:
    """The "Train these" section of the Compare page for the compared architectures."""
    arms = arms_of(chosen)
    st.subheader("Train these")
    problems = []
    for arm in arms:
        try:
            sweeps.check_arm(arm)
        except SpecError as e:
            problems.append(e)
    if problems or len(arms) < 2:
        st.caption("Training needs two or more architectures with a classifier head"
                   + (f" ({problems[0].where} {problems[0].rule})." if problems else "."))
        return
    st.caption("Train every architecture compared here on the same data, budget and seeds, "
               "then read the curves: the mean over seeds as a line, the spread between seeds "
               "as a band. A difference smaller than the band is not a difference.")
    _form(arms)
    _shown(arms)


def _when(rec: Any) -> str:
    """A sweep in the picker: start time, status and short id (its name is the card's)."""
    when = dt.datetime.fromtimestamp(rec.start_time).strftime("%d %b %H:%M") \
        if rec.start_time else "?"
    return f"{when} · {rec.status.lower()} · {rec.run_id[:8]}"


def _shown(arms: list[sweeps.Arm]) -> None:
    """The sweep of these architectures to show: the one just started, else the newest; a
    picker when there are several."""
    try:
        found = {r.run_id: r for r in sweeps.of_labels(store(), [a.label for a in arms])}
    except SpecError as e:  # the run store cannot be opened
        show_error(e)
        return
    if not found:
        return
    ss = st.session_state
    if ss.get("sweep_id") not in found:
        ss["sweep_id"] = next(iter(found))
    if len(found) > 1:
        pick, _ = st.columns([3, 2])
        pick.selectbox("Sweep", list(found), key="sweep_id", format_func=lambda i: _when(found[i]),
                       help="Every sweep of these architectures, newest first.")
    sweep_id = ss["sweep_id"]
    _status(sweep_id, found[sweep_id].active)
