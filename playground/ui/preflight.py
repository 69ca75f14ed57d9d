"""The Train page's "will it fit" line: the training memory estimate of the job in the form
against the device's free memory, with the largest batch that fits
(:func:`playground.measure.memory.training_fit`)."""
from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from playground.errors import SpecError
from playground.measure.memory import fit_text, training_fit


def fit_line(values: Mapping[str, Any]) -> None:
    """A caption when the job fits, a warning when it does not; nothing when the architecture
    cannot be analysed yet (the form shows that error itself)."""
    try:
        fit = training_fit(dict(values))
    except (SpecError, KeyError, ValueError):
        return
    if fit is None:
        return
    if fit.fits is False:
        st.warning("**Will it fit?** " + fit_text(fit), icon=":material/memory:")
    else:
        st.caption(":material/memory: **Will it fit?** " + fit_text(fit))
