"""One way to show a :class:`SpecError` on a page: *where* in bold, then the rule."""
from __future__ import annotations

import re
from typing import Any

import streamlit as st

from playground.errors import SpecError


URL = re.compile(r"https?://[^\s)\]'\"<>]+")  # a web address in a message


def error_text(e: SpecError) -> str:
    """The markdown of one error: ``**where**: rule``."""
    return f"**{e.where}**: {e.rule}"


def show_error(e: SpecError, prefix: str = "", suffix: str = "", **kwargs: Any) -> None:
    """``st.error`` with the error's markdown between ``prefix`` and ``suffix`` (keyword
    arguments such as ``icon`` go to ``st.error``)."""
    st.error(f"{prefix}{error_text(e)}{suffix}", **kwargs)


def show_failure(title: str, message: str, **kwargs: Any) -> None:
    """``st.error`` of ``**title**: message``, with each web address in the message (too long
    to wrap on screen) shown whole below it in a code block the user can copy from."""
    urls = list(dict.fromkeys(URL.findall(message)))
    text = URL.sub("the address below" if len(urls) == 1 else "an address below", message)
    st.error(f"**{title}**: {text}", **kwargs)
    for url in urls:
        st.code(url, language=None, wrap_lines=True)
