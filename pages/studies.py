"""Studies: the lecture's claims as runnable experiments (pick one; ``?study=NAME`` links it)."""
from __future__ import annotations

import streamlit as st

import playground.studies as studies
from playground.ui import study_view
from playground.ui.router import ensure_routed

ensure_routed(__file__)

PICK = "studies_pick"
SEEN_QUERY = "studies_query"  # the ?study= value this session last acted on


def _label(name: str) -> str:
    s = studies.get(name)
    return f"{s.number}. {s.title}" + ("" if s.kind == "cost" else f" ({s.kind})")


def _pick(names: list[str]) -> str | None:
    """The study chosen in the list; a deep link (``?study=NAME``) chooses it first. Returns
    the unknown name of a bad link (shown as an error), else None."""
    ss = st.session_state
    wanted = st.query_params.get("study")
    bad = None
    if wanted != ss.get(SEEN_QUERY):
        ss[SEEN_QUERY] = wanted
        if wanted in names:
            ss[PICK] = wanted
        elif wanted:
            bad = wanted
    if ss.get(PICK) not in names:
        ss[PICK] = names[0]
    return bad


def page() -> None:
    st.title("Studies")
    st.caption("The lecture's claims as experiments: each has a claim, a few settings, the "
               "result and what to look for. Cost studies are exact and instant; studies that "
               "train run in the background and save their runs to the Leaderboard.")
    names = studies.names()
    bad = _pick(names)
    choice = st.selectbox("Study", names, format_func=_label, key=PICK)
    if bad:
        st.error(f"**study '{bad}'** (from the link): no such study; showing "
                 f"{_label(choice)}. Known: {', '.join(names)}", icon=":material/error:")
    if st.query_params.get("study") != choice:
        st.query_params["study"] = choice
        st.session_state[SEEN_QUERY] = choice
    study_view.render(studies.get(choice))


page()
