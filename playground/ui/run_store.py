"""The run store as the pages share it: one cached client per tracking URI, and the status
icons every run list uses."""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground.store import RunStore, default_uri

STATUS_ICON = {"SCHEDULED": ":material/schedule:", "RUNNING": ":material/directions_run:",
               "FINISHED": ":material/check_circle:", "FAILED": ":material/error:",
               "KILLED": ":material/cancel:"}


@st.cache_resource(show_spinner=False)
def _store(uri: str) -> RunStore:
    return RunStore(uri)


def store() -> RunStore:
    """The app's run store (``$MLFLOW_TRACKING_URI`` or the data folder's SQLite file)."""
    return _store(default_uri())


def require_store() -> RunStore:
    """The run store, or a visible error (and the page stops) when it cannot be opened."""
    from playground.errors import SpecError
    s = store()
    try:
        s.experiment_id
    except SpecError as e:
        st.error(f"**{e.where}**: {e.rule}", icon=":material/error:")
        st.stop()
    return s


def live_progress(rec: Any, progress: dict[str, Any], waiting: dict[str, str]
                  ) -> tuple[int, int, int, float, int] | None:
    """An active run's epoch and step bars (or its queued / preparing message, then None).

    ``waiting`` maps the worker's pre-training phases to what to show for them. Returns
    (epoch, step, steps, epochs done as a fraction, epochs) once it trains."""
    if rec.status == "SCHEDULED" and not progress:
        st.progress(0.0, text="Queued: waiting for a free job slot")
        return None
    phase = progress.get("phase")
    if phase is None or phase in waiting:
        st.progress(0.0, text=waiting.get(phase, "Preparing..."))
        return None
    epochs = int(progress.get("epochs") or rec.params.get("epochs") or 1)
    epoch, step = int(progress.get("epoch") or 0), int(progress.get("step") or 0)
    steps = int(progress.get("steps") or 0)
    done = max(0, epoch - 1) + (step / steps if steps else 0.0)
    bars = st.columns(2)
    bars[0].progress(min(1.0, done / epochs), text=f"Epoch {max(epoch, 1)} / {epochs}")
    bars[1].progress(min(1.0, step / steps) if steps else 0.0,
                     text=f"Step {step} / {steps or '?'}")
    return epoch, step, steps, done, epochs
