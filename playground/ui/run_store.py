"""The run store as the pages share it: one cached client per tracking URI, and a visible
error when it cannot be opened."""
from __future__ import annotations

import streamlit as st

from playground.store import RunStore, default_uri


@st.cache_resource(show_spinner=False)
def _store(uri: str) -> RunStore:
    return RunStore(uri)


def store() -> RunStore:
    """The app's run store (``$MLFLOW_TRACKING_URI`` or the data folder's SQLite file)."""
    return _store(default_uri())


def require_store() -> RunStore:
    """The run store, or a visible error (and the page stops) when it cannot be opened."""
    from playground.errors import SpecError
    from playground.ui.errors import show_error
    s = store()
    try:
        s.experiment_id
    except SpecError as e:
        show_error(e, icon=":material/error:")
        st.stop()
    return s
