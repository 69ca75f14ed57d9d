"""The Builder's state in one browser session, and the callbacks that change it.

The model is one :class:`playground.editor.EditSession` under ``st.session_state["builder"]``
(the Train page reads it there). It is made once per browser session and outlives the page:
Streamlit forgets the *widgets* of a page that is not shown, so nothing here decides anything
from a widget's value alone. Fields that show the model (name, input shape, head, a block's
parameters) are seeded from the model (:func:`seed`): after an edit, an Undo or a load, and
whenever their state was forgotten. View choices (batch, the open tab...) are kept by
:func:`keep`. Every change goes through a callback, which lands before the page runs, so one
run shows it; an input's error is kept under its name (:func:`error`) and shown beside it.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground.blocks import BLOCKS
from playground.editor import DeltaNote, EditSession, apply_gesture, spec_from_query
from playground.errors import SpecError
from playground.param_forms import param_changes
from playground.spec import ArchSpec
from playground.targets import parse_shape, spec_from_json_text
from playground.ui.errors import error_text

SESSION = "builder"          # the EditSession: the model in the Builder (read by the Train page)
OPEN_SPEC = "builder_spec"   # a spec dict another page asks the Builder to open (Zoo page)
DELTA = "builder_delta"      # the DeltaNote: the cost change of the last edit
SELECTED = "builder_selected"  # the block whose parameters are open
LINK_ERROR = "builder_link_error"
BOARD = "builder_board"      # the block board's last gesture
NAME, INPUT, HEAD, PICK = "builder_name", "builder_input", "builder_head", "builder_pick"
ZOO_PICK, UPLOAD = "builder_zoo", "builder_upload"
NO_HEAD = "(none)"


def init() -> EditSession:
    """The session's model: made once per browser session (from a spec the Zoo page sent, a
    shared link, or empty); a spec sent later is opened as an undoable load."""
    ss = st.session_state
    if SESSION not in ss:
        spec, ss[LINK_ERROR] = None, None
        if OPEN_SPEC in ss:
            spec = ArchSpec.from_dict(ss.pop(OPEN_SPEC))
        elif "spec" in st.query_params:
            try:
                spec = spec_from_query(st.query_params["spec"])
            except SpecError as e:
                ss[LINK_ERROR] = error_text(e)
        ss[SESSION] = EditSession.start(spec)
        ss[DELTA] = DeltaNote()
    elif OPEN_SPEC in ss:
        commit(ss[SESSION].load(ArchSpec.from_dict(ss.pop(OPEN_SPEC))))
    return ss[SESSION]


def session() -> EditSession:
    return st.session_state[SESSION]


def commit(new: EditSession) -> None:
    """Make ``new`` the session's model."""
    st.session_state[SESSION] = new


def error(where: str) -> str | None:
    """The error of input ``where`` (None when its last change was accepted)."""
    return st.session_state.get(f"_builder_error_{where}")


def set_error(where: str, text: str | None) -> None:
    """Set (or clear, with None) the error shown beside input ``where``."""
    st.session_state[f"_builder_error_{where}"] = text


def take_error(where: str) -> str | None:
    """The error of a one-off action ``where`` (a board gesture), shown once."""
    return st.session_state.pop(f"_builder_error_{where}", None)


def seed(key: str, value: Any) -> bool:
    """Show the model's ``value`` in widget ``key`` when the model changed it (an edit, Undo,
    a load) or the widget's state is gone (the page was left); otherwise leave what the user
    typed (an entry that was refused stays, with its error). Call before the widget, which
    must not be given a value of its own. True when the widget was (re)set."""
    ss = st.session_state
    mark = f"_builder_seed_{key}"
    if key in ss and mark in ss and ss[mark] == value:
        return False
    ss[key] = value
    ss[mark] = value
    return True


def keep(key: str, default: Any) -> None:
    """Let widget ``key`` (a view choice, not part of the model) keep its value when the user
    leaves the page and comes back. Call before the widget, which must not be given a value."""
    ss = st.session_state
    copy = f"_builder_keep_{key}"
    if key not in ss:
        ss[key] = ss.get(copy, default)
    ss[copy] = ss[key]


def _edit(change: Any, where: str) -> None:
    """Commit the session ``change()`` returns and clear ``where``'s error; a SpecError
    becomes ``where``'s error instead."""
    try:
        commit(change())
        set_error(where, None)
    except SpecError as e:
        set_error(where, error_text(e))


# --- callbacks ------------------------------------------------------------------------------
def on_undo() -> None:
    commit(session().undo())


def on_redo() -> None:
    commit(session().redo())


def on_new() -> None:
    """A new empty model (undoable)."""
    commit(session().load(None))


def on_clear() -> None:
    """Remove every block; the name, input and head stay (undoable)."""
    commit(session().clear())


def on_load_zoo() -> None:
    """Load the zoo architecture picked in "Start from" (always, even if loaded before)."""
    from playground.zoo import ZOO
    name = st.session_state.get(ZOO_PICK)
    if name in ZOO:
        commit(session().load(ZOO.get(name).spec()))


def on_name() -> None:
    _edit(lambda: session().set_name(st.session_state.get(NAME, "")), "name")


def on_input() -> None:
    def change() -> EditSession:
        return session().set_input(parse_shape(st.session_state.get(INPUT, "")))
    _edit(change, "input")


def on_head() -> None:
    head = st.session_state.get(HEAD)
    _edit(lambda: session().set_head(None if head in (None, NO_HEAD) else head), "head")


def on_pick() -> None:
    st.session_state[SELECTED] = st.session_state.get(PICK)


def param_key(block: str, param: str) -> str:
    """The widget key of one parameter of the block at address ``block`` in the form."""
    return f"p_{block}_{param}"


def on_apply(name: str, block_type: str) -> None:
    """"Apply" of the parameter form of the block at address ``name`` (a top-level name or
    e.g. "res_1/body/conv_1", of type ``block_type``): the fields the user changed."""
    s = session()
    try:
        block = s.block_at(name)
    except SpecError:
        return  # the model changed under the form
    if block.type != block_type:
        return
    bt = BLOCKS.get(block.type)
    ss = st.session_state
    raw = {p.name: ss[param_key(name, p.name)] for p in bt.params
           if param_key(name, p.name) in ss}

    def change() -> EditSession:
        changes = param_changes(bt, block.params, raw, name)
        return s.update_params_at(name, **changes) if changes else s
    _edit(change, f"params_{name}")


def on_duplicate(name: str) -> None:
    """Copy the block at address ``name`` right after it and open the copy."""
    new, copy = session().duplicate_at(name)
    commit(new)
    st.session_state[SELECTED] = copy


def on_delete(name: str) -> None:
    """Remove the block at address ``name``."""
    commit(session().delete_at(name))


def on_board() -> None:
    """One gesture of the block board (select, add, move, delete)."""
    from playground.ui.board import parse_event
    ss = st.session_state
    ev = parse_event(ss.get(BOARD))
    if ev is None or ev["id"] == ss.get("_builder_board_seen"):
        return
    ss["_builder_board_seen"] = ev["id"]
    try:
        new, opened = apply_gesture(session(), ev)
    except SpecError as e:
        set_error("board", error_text(e))
        return
    if opened is not None:
        ss[SELECTED] = opened
    commit(new)


def on_upload() -> None:
    """A spec file given in "Save, load and share": loaded (undoable) or its error shown."""
    up = st.session_state.get(UPLOAD)
    if up is None:
        return

    def load() -> EditSession:
        text = up.getvalue().decode("utf-8", "replace")
        return session().load(spec_from_json_text(text, f"file '{up.name}'"))
    _edit(load, "upload")


__all__ = ["SESSION", "OPEN_SPEC", "init", "session", "commit", "error", "set_error",
           "take_error", "seed", "keep", "param_key"]
