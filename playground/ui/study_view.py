"""The Studies page's parts: a study's settings as widgets (built from its
:class:`~playground.studies.base.Setting` list, errors shown under the setting they name), its
result (findings, plotly figures, tables), the instant cost-only path (cached by settings) and
the background path of a training study (a detached study run, polled while it runs, presented
from its stored ``study.json`` when done)."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import pandas as pd
import streamlit as st

from playground.errors import SpecError, first_line
from playground.store import RunRecord, RunStore, default_uri
from playground.studies import Study, StudyResult, get
from playground.studies import runner
from playground.tables import shown
from playground.ui.errors import error_text, show_error, show_failure
from playground.ui.run_status import STATUS_ICON, duration_text

POLL_S = 2.0
COLUMNS = 3
SETTING_RE = re.compile(r"setting '([^']+)'")


# --- settings --------------------------------------------------------------------------------
def _key(study: Study, preset: str, name: str) -> str:
    return f"study_{study.name}_{preset}_{name}"


def _widget(study: Study, s: Any, preset: str, value: Any) -> Any:
    """One setting's widget (its key carries the preset, so toggling it starts from the
    preset's values)."""
    key = _key(study, preset, s.name)
    kind = s.kind
    help_ = s.help or None
    if s.choices:
        options = list(s.choices)
        return st.selectbox(s.label, options, index=options.index(value), key=key, help=help_)
    if kind is bool:
        return st.checkbox(s.label, value=value, key=key, help=help_)
    if kind is int:
        return st.number_input(s.label, value=int(value), step=1, key=key, help=help_,
                               min_value=None if s.lo is None else int(math.ceil(s.lo)),
                               max_value=None if s.hi is None else int(math.floor(s.hi)))
    if kind is float:
        return st.number_input(s.label, value=float(value), key=key, help=help_, format="%.3f",
                               step=0.01 if (s.hi or 1) <= 1 else 0.1,
                               min_value=None if s.lo is None else float(s.lo),
                               max_value=None if s.hi is None else float(s.hi))
    return st.text_input(s.label, value=str(value), key=key, help=help_)


def settings_form(study: Study, preset: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The settings as widgets, a few per row; returns (values, a placeholder under each
    setting for its error)."""
    defaults = study.resolve(preset=preset)
    given, slots = {}, {}
    cols = st.columns(COLUMNS)
    for i, s in enumerate(study.settings):
        with cols[i % COLUMNS]:
            given[s.name] = _widget(study, s, preset, defaults[s.name])
            slots[s.name] = st.empty()
    return given, slots


def show_spec_error(e: SpecError, slots: dict[str, Any]) -> None:
    """A SpecError under the setting it names (or above the result when it names none)."""
    m = SETTING_RE.search(e.where)
    if m and m.group(1) in slots:
        slots[m.group(1)].error(error_text(e), icon=":material/error:")
    else:
        show_error(e, icon=":material/error:")


# --- a result --------------------------------------------------------------------------------
def _cell_format(values: list[Any]) -> Any:
    if all(isinstance(v, int) for v in values):
        return "{:,.0f}"
    return lambda v: f"{v:,.0f}" if abs(v) >= 1e6 else f"{v:.4g}"


def table_frame(rows: list[dict[str, Any]]) -> Any:
    """Rows as a styled frame: counts with thousands separators, other numbers to 4
    significant digits, True/False as yes/no, a missing value as a dash."""
    df = pd.DataFrame(rows)
    formats = {}
    for col in df.columns:
        values = [v for v in df[col].tolist() if v is not None and not
                  (isinstance(v, float) and math.isnan(v))]
        if values and all(isinstance(v, bool) for v in values):
            df[col] = df[col].map(lambda v: "" if v is None else ("yes" if v else "no"))
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                            for v in values):
            formats[col] = _cell_format(values)
    return shown(df, formats)


def show_result(result: StudyResult, key: str) -> None:
    """Findings, then each figure and table with its caption."""
    st.markdown("\n".join(f"- {f}" for f in result.findings))
    for i, (caption, fig) in enumerate(result.figures):
        st.plotly_chart(fig, width="stretch", key=f"{key}_fig{i}")
        st.caption(caption)
    for i, (caption, rows) in enumerate(result.tables):
        if not rows:
            continue
        st.markdown(f"**{caption}**")
        st.dataframe(table_frame(rows), hide_index=True, width="stretch",
                     height=min(600, 38 + 35 * len(rows)), key=f"{key}_table{i}")
    if result.run_ids:
        st.caption("Its sweeps on the Leaderboard: " + ", ".join(f"`{r[:8]}`"
                                                                 for r in result.run_ids))


# --- cost-only studies: instant, cached by settings -------------------------------------------
@st.cache_data(show_spinner=False, max_entries=128)
def _cost_result(name: str, settings_json: str, preset: str) -> StudyResult:
    return get(name).run(json.loads(settings_json), preset)


def cost_section(study: Study, given: dict[str, Any], preset: str,
                 slots: dict[str, Any]) -> None:
    try:
        settings = study.resolve(given, preset)
        with st.spinner("Counting..."):
            result = _cost_result(study.name, json.dumps(settings, sort_keys=True), preset)
    except SpecError as e:
        show_spec_error(e, slots)
        return
    except (ValueError, TypeError, KeyError) as e:
        show_failure("This study could not be computed", first_line(e))
        return
    show_result(result, f"study_{study.name}")


# --- training studies: a background study run -------------------------------------------------
@st.cache_resource(show_spinner=False)
def _runs_store(uri: str) -> RunStore:
    return runner.study_store(uri)


def runs_store() -> RunStore:
    return _runs_store(default_uri())


@st.cache_data(show_spinner=False, max_entries=32)
def _stored_result(name: str, run_id: str) -> StudyResult | None:
    """A finished study run presented from its ``study.json`` (immutable once finished)."""
    doc = runner.load(run_id, runs_store())
    if doc is None:
        return None
    result = get(name).present(doc["settings"], doc["numbers"])
    result.run_ids = result.run_ids or list(doc.get("run_ids") or [])
    return result


def _settings_text(rec: RunRecord, study: Study) -> str:
    return ", ".join(f"{s.name}={rec.params.get(s.name, '?')}" for s in study.settings)


def run_label(rec: RunRecord) -> str:
    when = (dt.datetime.fromtimestamp(rec.start_time).strftime("%d %b %H:%M")
            if rec.start_time else "?")
    preset = rec.params.get("preset", "default")
    return (f"{when} · {rec.status.lower()}" + (" · longer" if preset == "longer" else "")
            + f" · {rec.run_id[:8]}")


def _live(study: Study, active_at_start: bool) -> None:
    """The study's active runs, polled every few seconds while one was active when the page
    ran; the whole page reruns when that changes (so the finished numbers show)."""
    @st.fragment(run_every=POLL_S if active_at_start else None)
    def live() -> None:
        active = [r for r in runner.records(study.name, runs_store()) if r.active]
        if bool(active) != active_at_start:
            st.rerun()
        for rec in active:
            with st.container(border=True, key=f"study_live_{rec.run_id}"):
                head, button = st.columns([4, 1], vertical_alignment="center")
                elapsed = (dt.datetime.now().timestamp() - rec.start_time
                           if rec.start_time else None)
                head.markdown(f"{STATUS_ICON.get(rec.status, '')} **{rec.name}** · "
                              f"{rec.status.lower()} · {duration_text(elapsed)} · "
                              f"`{rec.run_id[:8]}`")
                if button.button("Cancel", key=f"study_cancel_{rec.run_id}",
                                 icon=":material/stop:", width="stretch"):
                    runner.cancel(rec.run_id, runs_store())
                    st.toast("Cancelling the study and its sweeps")
                st.caption(runner.line(rec) or "Starting: the study process is loading Keras")
                st.caption("Settings: " + _settings_text(rec, study))

    live()


def training_section(study: Study, given: dict[str, Any], preset: str,
                     slots: dict[str, Any]) -> None:
    records = runner.records(study.name, runs_store())
    active = [r for r in records if r.active]
    what = ("trains: it runs in the background as a study run (its sweeps show on the "
            "Leaderboard)" if study.trains else "times networks on this machine for about a "
            "minute: it runs in the background as a study run (it trains nothing)")
    st.caption(f"This study {what}. You can leave this page and come back.")
    if st.button("Run study", key=f"study_run_{study.name}", type="primary",
                 icon=":material/play_arrow:", disabled=bool(active),
                 help="one run of this study at a time" if active else None):
        try:
            run_id = runner.start(study, given, preset, runs_store())
        except SpecError as e:
            show_spec_error(e, slots)
        else:
            st.toast(f"Study run {run_id[:8]} started")
            st.rerun()
    _live(study, bool(active))
    ended = [r for r in records if not r.active]
    if not ended:
        if not active:
            st.info("No runs of this study yet: pick the settings and press **Run study**.",
                    icon=":material/science:")
        return
    finished = [r for r in ended if r.status == "FINISHED"]
    first = ended.index(finished[0]) if finished else 0
    by_id = {r.run_id: r for r in ended}
    key, seen = f"study_pick_{study.name}", f"study_newest_{study.name}"
    last = st.session_state.get(seen)
    if last != ended[0].run_id:  # first look: the newest finished; a run ended since: that one
        st.session_state[seen] = ended[0].run_id
        st.session_state[key] = ended[first if last is None else 0].run_id
    pick = st.selectbox("Recorded runs (latest first)", list(by_id),
                        format_func=lambda i: run_label(by_id[i]), key=key)
    rec = by_id[pick]
    st.caption("Settings: " + _settings_text(rec, study))
    if rec.status != "FINISHED":
        show_failure("This run was stopped" if rec.status == "KILLED" else "This run failed",
                     rec.error or "no error was recorded")
        return
    result = _stored_result(study.name, rec.run_id)
    if result is None:
        st.warning("This run stored no numbers (study.json is missing).")
        return
    show_result(result, f"study_{study.name}_{rec.run_id[:8]}")


# --- the whole study --------------------------------------------------------------------------
def render(study: Study) -> None:
    """One study: its claim, what to look for, settings, the Longer / GPU toggle, the result."""
    st.subheader(f"{study.number}. {study.title}")
    st.markdown(study.claim)
    st.info(f"**What to look for:** {study.look_for}", icon=":material/visibility:")
    has_longer = any(s.longer is not None for s in study.settings)
    longer = st.toggle("Longer / GPU", key=f"study_longer_{study.name}", disabled=not has_longer,
                       help="the longer preset: more epochs, seeds or a finer grid" if has_longer
                       else "this study is exact and instant: there is nothing to lengthen")
    preset = "longer" if longer else "default"
    given, slots = settings_form(study, preset)
    if study.background:
        training_section(study, given, preset, slots)
    else:
        cost_section(study, given, preset, slots)


__all__ = ["cost_section", "render", "run_label", "settings_form", "show_result",
           "show_spec_error", "table_frame", "training_section"]
