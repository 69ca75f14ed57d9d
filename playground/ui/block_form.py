"""The Builder's parameter form of one block: one widget per parameter (its kind from
:func:`playground.param_forms.widget_kind`), each showing the block's current value (seeded
from the model, so Undo, Redo and a return to the page show what the block holds), and an
"Apply" that changes only the fields the user changed."""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground.blocks import BLOCKS
from playground.param_forms import TRISTATE, widget_kind, widget_value
from playground.spec import BlockSpec
from playground.ui import builder_state as bs


def _widget(p: Any, value: Any, key: str) -> None:
    """The input of one parameter; its value is in ``st.session_state[key]`` (seeded)."""
    label = p.name.replace("_", " ")
    kind = widget_kind(p, value)
    bs.seed(key, widget_value(p, value))
    if kind == "checkbox":
        st.checkbox(label, help=p.help, key=key)
    elif kind == "tristate":
        st.selectbox(label, TRISTATE, key=key,
                     help=f"{p.help}. auto: the block decides; on / off: always / never")
    elif kind == "select":
        if st.session_state[key] not in p.choices:
            st.session_state[key] = p.choices[0]
        st.selectbox(label, list(p.choices), help=p.help, key=key)
    elif kind == "int":
        st.number_input(label, step=1, help=p.help, key=key)
    elif kind == "float":
        st.number_input(label, step=0.05, format="%.4g", help=p.help, key=key)
    elif kind == "json":
        st.text_area(label, height=160, help=p.help, key=key)
    else:
        st.text_input(label, help=p.help, key=key,
                      placeholder="auto" if p.optional else None)


def block_form(address: str, block: BlockSpec) -> None:
    """The form of block ``block`` (at ``address``: a top-level name or an inner block's, e.g.
    "res_1/body/conv_1") with its "Apply" button."""
    bt = BLOCKS.get(block.type)
    current = {**bt.defaults(), **block.params}
    boxes = [p for p in bt.params if widget_kind(p, current.get(p.name)) == "checkbox"]
    fields = [p for p in bt.params if p not in boxes]
    with st.form(f"params_{address}", border=True):
        cols = st.columns(2)
        for k, p in enumerate(fields):
            with cols[k % 2]:
                _widget(p, current.get(p.name), bs.param_key(address, p.name))
        if boxes:  # in a row that wraps: a long label is never cut by a narrow column
            with st.container(horizontal=True, gap="medium"):
                for p in boxes:
                    _widget(p, current.get(p.name), bs.param_key(address, p.name))
        st.form_submit_button("Apply", type="primary", on_click=bs.on_apply,
                              args=(address, block.type))
