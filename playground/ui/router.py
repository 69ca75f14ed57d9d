"""Deep links into a page of the router in ``app.py``.

Until ``app.py`` has run once in a server's life, Streamlit maps a URL such as ``/train`` onto
``pages/train.py`` by itself (the old ``pages/`` folder convention): the page then runs without
the router, its page config and its navigation. :func:`ensure_routed` notices that case and
hands the request to ``app.py``, which opens the same page with the same query parameters.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

ROUTED = "_playground_routed"
DEEP_LINK = "_playground_deep_link"
ENTRY = "app.py"


def ensure_routed(page_file: str) -> None:
    """Call first in every page: re-enter through ``app.py`` when run without it."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None or Path(ctx.main_script_path).name != ENTRY or st.session_state.get(ROUTED):
        return  # routed already, or run on its own on purpose (AppTest of a single page)
    st.session_state[DEEP_LINK] = (Path(page_file).name, st.query_params.to_dict())
    st.switch_page(ENTRY, query_params=st.query_params.to_dict() or None)


def route(nav: "st.navigation") -> None:
    """Call in ``app.py`` between ``st.navigation`` and ``.run()``."""
    st.session_state[ROUTED] = True
    link = st.session_state.pop(DEEP_LINK, None)
    if link:
        st.switch_page(f"pages/{link[0]}", query_params=link[1] or None)
