"""One way to show a :class:`SpecError` on a page: *where* in bold, then the rule."""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground.errors import SpecError


def error_text(e: SpecError) -> str:
    """The markdown of one error: ``**where**: rule``."""
    return f"**{e.where}**: {e.rule}"


def show_error(e: SpecError, prefix: str = "", suffix: str = "", **kwargs: Any) -> None:
    """``st.error`` with the error's markdown between ``prefix`` and ``suffix`` (keyword
    arguments such as ``icon`` go to ``st.error``)."""
    st.error(f"{prefix}{error_text(e)}{suffix}", **kwargs)
