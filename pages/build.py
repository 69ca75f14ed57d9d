"""Builder: drag blocks from the palette into the model, edit them, and watch the cost change."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap
from playground.blocks import BLOCKS
from playground.editor import (DeltaNote, EditSession, apply_gesture, evaluate, palette,
                               spec_from_query, spec_to_query)
from playground.errors import SpecError
from playground.param_forms import param_changes, param_text, widget_kind
from playground.spec import ArchSpec
from playground.targets import parse_shape, spec_from_json_text
from playground.ui.board import block_board, model_blocks, palette_groups, parse_event
from playground.ui.errors import error_text, show_error
from playground.ui.measure_view import measure_section
from playground.ui.router import ensure_routed
from playground.ui.spec_views import spec_views
from playground.ui.totals import totals_row
from playground.zoo import ZOO

ensure_routed(__file__)

BOARD_KEY = "builder_board"
MODEL_HEADER = "Your model"
BOARD_HINT = ("Click a block to edit it · drag to reorder · drag out of the list to delete · "
              "click or drag a palette block to add it · \u25B8 opens a composite block: drag "
              "blocks into its body or branches")


def _state() -> None:
    """Initialise the page's session state once (from a zoo pick, a shared link, or empty)."""
    ss = st.session_state
    if "builder" in ss and "builder_spec" in ss:  # "Open in builder": an undoable load
        _apply(ss["builder"].load(ArchSpec.from_dict(ss.pop("builder_spec"))))
        return
    if "builder" in ss:
        return
    ss.setdefault("builder_nonce", 0)
    ss["builder_link_error"] = None
    spec = None
    if "builder_spec" in ss:  # set by the Zoo page's "Open in builder"
        spec = ArchSpec.from_dict(ss.pop("builder_spec"))
    elif "spec" in st.query_params and "builder" not in ss:
        try:
            spec = spec_from_query(st.query_params["spec"])
        except SpecError as e:
            ss["builder_link_error"] = error_text(e)
    ss["builder"] = EditSession.start(spec)
    ss["builder_delta"] = DeltaNote()


def _share_url(query: str) -> str:
    """The absolute address of this page with the spec in its query (relative without one)."""
    try:
        base = (st.context.url or "").split("?", 1)[0]
    except Exception:  # noqa: BLE001  (no browser context, e.g. in AppTest)
        base = ""
    return f"{base}?spec={query}"


def _apply(new: EditSession) -> None:
    ss = st.session_state
    if new is not ss["builder"]:
        ss["builder"] = new
        ss["builder_nonce"] += 1  # a fresh parameter form for the new state


def _on_board() -> None:
    """Apply one gesture of the block board (a callback: it lands before the page runs)."""
    ss = st.session_state
    ev = parse_event(ss.get(BOARD_KEY))
    if ev is None or ev["id"] == ss.get("builder_board_seen"):
        return
    ss["builder_board_seen"] = ev["id"]
    try:
        new, opened = apply_gesture(ss["builder"], ev)
    except SpecError as e:
        ss["builder_board_error"] = error_text(e)
        return
    if opened is not None:
        ss["builder_selected"] = opened
    _apply(new)


def _board(session: EditSession, ev: Any, selected: str | None) -> None:
    """The palette (per category) and the model list, in one drag-and-drop frame."""
    block_board(palette_groups(palette()), model_blocks(session, ev), selected=selected,
                header=MODEL_HEADER, hint=BOARD_HINT, key=BOARD_KEY, on_change=_on_board,
                empty_text="Drag blocks here from the palette (or click one)")
    error = st.session_state.pop("builder_board_error", None)
    if error:
        st.error(error)


def _param_widget(p: Any, value: Any, key: str) -> None:
    """The input of one parameter (its kind from :func:`playground.param_forms.widget_kind`)."""
    label = p.name.replace("_", " ")
    kind = widget_kind(p, value)
    if kind == "checkbox":
        st.checkbox(label, value=bool(value), help=p.help, key=key)
    elif kind == "select":
        st.selectbox(label, list(p.choices), index=list(p.choices).index(value)
                     if value in p.choices else 0, help=p.help, key=key)
    elif kind == "int":
        st.number_input(label, value=int(value), step=1, help=p.help, key=key)
    elif kind == "float":
        st.number_input(label, value=float(value), step=0.05, format="%.4g", help=p.help, key=key)
    elif kind == "json":
        st.text_area(label, param_text(p, value), height=160, help=p.help, key=key)
    else:
        st.text_input(label, param_text(p, value), help=p.help, key=key)


def _on_apply(name: str, block_type: str) -> None:
    """"Apply" (a callback: the edit lands before the page runs, so one run shows it);
    ``name``: the block's address (a top-level name or e.g. "res_1/body/conv_1")."""
    ss = st.session_state
    session: EditSession = ss["builder"]
    try:
        block = session.block_at(name)
    except SpecError:
        return  # the model changed under the form
    if block.type != block_type:
        return
    bt = BLOCKS.get(block.type)
    raw = {p.name: ss.get(f"p_{name}_{p.name}") for p in bt.params}
    try:
        changes = param_changes(bt, block.params, raw, name)
        _apply(session.update_params_at(name, **changes) if changes else session)
    except SpecError as e:
        ss["builder_edit_error"] = error_text(e)


def _on_duplicate(name: str) -> None:
    new, copy = st.session_state["builder"].duplicate_at(name)
    _apply(new)
    st.session_state["builder_selected"] = copy


def _on_delete(name: str) -> None:
    _apply(st.session_state["builder"].delete_at(name))


def _on_undo() -> None:
    _apply(st.session_state["builder"].undo())


def _on_redo() -> None:
    _apply(st.session_state["builder"].redo())


def _selection(session: EditSession, ev: Any) -> str | None:
    """The block whose parameters are open: the one last clicked, added or picked; a block that
    just became invalid opens once; else the first block."""
    ss = st.session_state
    names = session.addresses()  # top-level names and inner blocks' addresses
    if ev.error_address in names and ss.get("builder_error_opened") != session.spec.key():
        ss["builder_error_opened"] = session.spec.key()
        ss["builder_selected"] = ev.error_address
    selected = ss.get("builder_selected")
    if selected not in names:
        selected = names[0] if names else None
    ss["builder_selected"] = selected
    return selected


def _on_pick() -> None:
    st.session_state["builder_selected"] = st.session_state["builder_pick"]


def _block_editor(session: EditSession, ev: Any, name: str | None) -> None:
    names = session.addresses()
    if name is None:
        st.info("Drag a block from the palette into your model, or open a zoo architecture.")
        return
    st.session_state["builder_pick"] = name
    st.selectbox("Edit block", names, key="builder_pick", on_change=_on_pick,
                 format_func=session.address_text)
    block = session.block_at(name)
    bt = BLOCKS.get(block.type)
    st.caption(bt.doc)
    row = ev.row(name)
    if row is not None and row.error:
        st.error(row.error)
    edit_error = st.session_state.pop("builder_edit_error", None)
    if edit_error:
        st.error(edit_error)
    with st.form(f"params_{name}_{st.session_state['builder_nonce']}"):
        cols = st.columns(2)
        current = {**bt.defaults(), **block.params}
        for k, p in enumerate(bt.params):
            with cols[k % 2]:
                _param_widget(p, current.get(p.name), f"p_{name}_{p.name}")
        st.form_submit_button("Apply", type="primary", on_click=_on_apply,
                              args=(name, block.type))
    c = st.columns(2)
    c[0].button("Duplicate", width="stretch", on_click=_on_duplicate, args=(name,))
    c[1].button("Delete", width="stretch", on_click=_on_delete, args=(name,))


def page() -> None:
    _state()
    ss = st.session_state
    st.title("Builder")
    if ss.get("builder_link_error"):
        st.error("The shared link could not be opened: " + ss["builder_link_error"])
    session: EditSession = ss["builder"]

    top = st.columns([3, 2, 1, 1, 1])
    with top[0]:
        names = ["(empty)"] + ZOO.list()
        pick = st.selectbox("Start from", names, key="builder_start",
                            help="Replace the model with an empty one or a zoo architecture")
    with top[1]:
        shape_text = st.text_input("Input shape", "x".join(map(str, session.spec.input_shape)))
    with top[2]:
        batch = int(st.number_input("Batch", 1, 4096, 32))
    with top[3]:
        st.write("")
        st.button("Undo", disabled=not session.can_undo, width="stretch", on_click=_on_undo)
    with top[4]:
        st.write("")
        st.button("Redo", disabled=not session.can_redo, width="stretch", on_click=_on_redo)
    if pick != ss.get("builder_last_pick", "(empty)"):
        ss["builder_last_pick"] = pick
        if pick != "(empty)" and not ZOO.get(pick).is_spec:
            st.warning(f"{pick} is a Keras Applications model: it can be analysed and compared, "
                       "but not edited as blocks.")
        else:
            _apply(session.load(None if pick == "(empty)" else ZOO.get(pick).spec()))
            st.rerun()
    try:
        shape = parse_shape(shape_text)
        if shape != session.spec.input_shape:
            _apply(session.set_input(shape))
            st.rerun()
    except SpecError as e:
        show_error(e)

    ev = evaluate(session, batch)
    ss["builder"] = ev.session
    ss["builder_delta"].update(session, ev.report, ev.ok)

    if ev.error:
        st.error(f"{ev.error}  \nShowing the last valid model.")
    totals_row(ev.totals, batch)
    if ss["builder_delta"].text:
        st.info(ss["builder_delta"].text, icon=":material/difference:")
    selected = _selection(ev.session, ev)
    left, right = st.columns([3, 2], gap="large")
    with left:
        _board(ev.session, ev, selected)
    with right:
        rows = [{"block": r.name, "output": "x".join(map(str, r.output_shape or ())),
                 "params": r.params, "MACs": r.macs} for r in ev.blocks]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                         column_config={"params": st.column_config.NumberColumn(format="localized"),
                                        "MACs": st.column_config.NumberColumn(format="localized")})
        _block_editor(ev.session, ev, selected)
        heads = ["(none)"] + [i.type for i in palette().get("head", [])]
        cur = ev.session.spec.head.type if ev.session.spec.head else "(none)"
        head = st.selectbox("Head", heads, index=heads.index(cur) if cur in heads else 0)
        if head != cur:
            _apply(ev.session.set_head(None if head == "(none)" else head))
            st.rerun()

    spec_views(ev.report_spec if ev.report is not None else None)
    measure_section(ev.report_spec if ev.report is not None else None, batch)

    with st.expander("Save, load and share"):
        spec = ev.session.spec
        c = st.columns(2)
        c[0].download_button("Download spec (.json)", spec.to_json(), f"{spec.name}.json",
                             "application/json")
        c[1].caption("Link that reopens this model (copy with the icon):")
        c[1].code(_share_url(spec_to_query(spec)), language=None, wrap_lines=True)
        up = st.file_uploader("Load a spec (.json)", type=["json"], key="builder_upload")
        if up is not None and ss.get("builder_upload_id") != up.file_id:
            ss["builder_upload_id"] = up.file_id
            try:
                loaded = spec_from_json_text(up.getvalue().decode("utf-8", "replace"),
                                             f"file '{up.name}'")
                _apply(ev.session.load(loaded))
                st.rerun()
            except SpecError as e:
                show_error(e)


freeze_import_heap()
page()
