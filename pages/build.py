"""Builder: drag blocks from the palette into the model, edit them, and watch the cost change.

The model lives in the browser session (:mod:`playground.ui.builder_state`): it is still here
after a visit to another page, and the Train page trains it. Everything below the title is one
fragment, so an edit reruns only the Builder, not the whole app."""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground._env import freeze_import_heap, preload_keras
from playground.blocks import BLOCKS
from playground.editor import EditSession, evaluate, palette, spec_to_query
from playground.ui import builder_state as bs
from playground.ui.block_form import block_form
from playground.ui.board import block_board, model_blocks, palette_groups
from playground.ui.errors import error_text
from playground.ui.measure_view import measure_section
from playground.ui.router import ensure_routed
from playground.ui.spec_views import spec_views
from playground.ui.totals import totals_row
from playground.zoo import ZOO

ensure_routed(__file__)

BATCH = "builder_batch"
MODEL_HEADER = "Your model"
BOARD_HINT = ("Click a block to edit it · drag to reorder · drag out of the list to delete · "
              "click or drag a palette block to add it · \u25B8 opens a composite block: drag "
              "blocks into its body or branches")


def _share_url(query: str) -> str:
    """The absolute address of this page with the spec in its query (relative without one)."""
    try:
        base = (st.context.url or "").split("?", 1)[0]
    except Exception:  # noqa: BLE001  (no browser context, e.g. in AppTest)
        base = ""
    return f"{base}?spec={query}"


def _field_error(where: str) -> None:
    text = bs.error(where)
    if text:
        st.error(text)


def _toolbar(session: EditSession) -> int:
    """Name, input shape and batch; then Start from + Load, New, Clear. Returns the batch."""
    spec = session.spec
    widths = [2.2, 1.5, 1.0]
    row = st.columns(widths)
    with row[0]:
        if bs.seed(bs.NAME, spec.name):
            bs.set_error("name", None)
        st.text_input("Model name", key=bs.NAME, on_change=bs.on_name, max_chars=64,
                      help="Names the model's training runs, its downloads and its code")
        _field_error("name")
    with row[1]:
        if bs.seed(bs.INPUT, "x".join(map(str, spec.input_shape))):
            bs.set_error("input", None)
        st.text_input("Input shape", key=bs.INPUT, on_change=bs.on_input,
                      help="height x width x channels, e.g. 32x32x3 (or length x channels)")
        _field_error("input")
    bs.keep(BATCH, 32)
    batch = int(row[2].number_input("Batch", 1, 4096, key=BATCH,
                                    help="batch size for the memory figures"))

    row = st.columns([2.2, 0.84, 0.83, 0.83], vertical_alignment="bottom")
    editable = [n for n in ZOO.list() if ZOO.get(n).is_spec]
    bs.keep(bs.ZOO_PICK, editable[0])
    row[0].selectbox("Start from", editable, key=bs.ZOO_PICK,
                     format_func=lambda n: f"{n} ({ZOO.get(n).family})",
                     help="A zoo architecture to load into the Builder (Keras Applications "
                          "models are on the Zoo and Compare pages: they are not made of blocks)")
    row[1].button("Load", width="stretch", on_click=bs.on_load_zoo,
                  help="Replace the model with the architecture picked (Undo brings it back)")
    row[2].button("New", width="stretch", on_click=bs.on_new,
                  help="A new empty model (32x32x3, no head); Undo brings this one back")
    row[3].button("Clear", width="stretch", on_click=bs.on_clear, disabled=not spec.blocks,
                  help="Remove every block; the name, input shape and head stay")
    return batch


def _history(session: EditSession, text: str) -> None:
    """The last edit's cost change, with Undo and Redo beside it."""
    row = st.columns([5.0, 0.85, 0.85], vertical_alignment="center")
    if text:
        row[0].info(text, icon=":material/difference:")
    else:
        row[0].caption("Each edit's change in cost shows here.")
    row[1].button("Undo", disabled=not session.can_undo, width="stretch", on_click=bs.on_undo,
                  help=f"Undo: {session.undo_stack[-1][1]}" if session.can_undo else None)
    row[2].button("Redo", disabled=not session.can_redo, width="stretch", on_click=bs.on_redo,
                  help=f"Redo: {session.redo_stack[-1][1]}" if session.can_redo else None)


def _selection(session: EditSession, ev: Any) -> str | None:
    """The block whose parameters are open: the one last clicked, added or picked; a block that
    just became invalid opens once; else the first block."""
    ss = st.session_state
    names = session.addresses()  # top-level names and inner blocks' addresses
    if ev.error_address in names and ss.get("_builder_error_opened") != session.spec.key():
        ss["_builder_error_opened"] = session.spec.key()
        ss[bs.SELECTED] = ev.error_address
    selected = ss.get(bs.SELECTED)
    if selected not in names:
        selected = names[0] if names else None
    ss[bs.SELECTED] = selected
    return selected


def _block_table(ev: Any) -> None:
    """Params and MACs per block (compact; the open block's exact figures are in its editor,
    its output shape on the board)."""
    rows = [{"block": r.name, "params": r.params, "MACs": r.macs} for r in ev.blocks]
    if not rows:
        return
    number = st.column_config.NumberColumn
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "block": st.column_config.TextColumn(width=max(len(r["block"]) for r in rows) * 8 + 24),
        "params": number(format="compact", help="parameters of the block"),
        "MACs": number(format="compact", help="multiply-adds per image")})


def _block_editor(session: EditSession, ev: Any, name: str | None) -> None:
    """The open block's parameters; ``name``: its address (a top-level name or an inner
    block's, e.g. "res_1/body/conv_1")."""
    if name is None:
        st.info("Drag a block from the palette into your model, or load a zoo architecture.")
        return
    bs.seed(bs.PICK, name)
    st.selectbox("Edit block", session.addresses(), key=bs.PICK, on_change=bs.on_pick,
                 format_func=session.address_text)
    block = session.block_at(name)
    st.caption(BLOCKS.get(block.type).doc)
    row = ev.row(name)
    if row is not None and row.error:  # the model's error, shown here only
        st.error(f"**{name}**: {row.error}")
    elif row is not None and row.output_shape is not None:
        st.caption(f"**{name}**: output {'x'.join(map(str, row.output_shape))} · "
                   f"{row.params:,} params · {row.macs:,} MACs")
    _field_error(f"params_{name}")
    block_form(name, block)
    c = st.columns(2)
    c[0].button("Duplicate", width="stretch", on_click=bs.on_duplicate, args=(name,))
    c[1].button("Delete", width="stretch", on_click=bs.on_delete, args=(name,))


def _head(session: EditSession) -> None:
    heads = [bs.NO_HEAD] + [i.type for i in palette().get("head", [])]
    bs.seed(bs.HEAD, session.spec.head.type if session.spec.head else bs.NO_HEAD)
    st.selectbox("Head", heads, key=bs.HEAD, on_change=bs.on_head,
                 help="The classifier after the blocks (needed to train the model)")
    _field_error("head")


def _save_load_share(spec: Any) -> None:
    with st.expander("Save, load and share"):
        c = st.columns(2)
        c[0].download_button("Download spec (.json)", spec.to_json(), f"{spec.name}.json",
                             "application/json", on_click="ignore")
        c[1].caption("Link that reopens this model (copy with the icon):")
        c[1].code(_share_url(spec_to_query(spec)), language=None, wrap_lines=True)
        st.file_uploader("Load a spec (.json)", type=["json"], key=bs.UPLOAD,
                         on_change=bs.on_upload)
        _field_error("upload")


@st.fragment
def _builder() -> None:
    """The Builder below its title: an edit reruns only this."""
    ss = st.session_state
    batch = _toolbar(bs.session())
    ev = evaluate(bs.session(), batch)
    bs.commit(ev.session)
    session = ev.session
    ss[bs.DELTA].update(session, ev.report, ev.ok)

    if ev.error is not None and ev.error_index is not None:
        st.warning(f"Block **{ev.error_address}** is invalid (see its parameters); the figures "
                   "are the last valid model's.", icon=":material/error:")
    elif ev.error is not None:
        st.error(f"{error_text(ev.error)}  \nShowing the last valid model.")
    totals_row(ev.totals, batch)
    _history(session, ss[bs.DELTA].text)
    selected = _selection(session, ev)
    left, right = st.columns([1, 1], gap="large")
    with left:
        block_board(palette_groups(palette()), model_blocks(session, ev), selected=selected,
                    header=MODEL_HEADER, hint=BOARD_HINT, key=bs.BOARD, on_change=bs.on_board,
                    empty_text="Drag blocks here from the palette (or click one)")
        board_error = bs.take_error("board")
        if board_error:
            st.error(board_error)
    with right:
        _block_table(ev)
        _block_editor(session, ev, selected)
        _head(session)
    spec_views(ev.report_spec if ev.report is not None else None)
    measure_section(ev.report_spec if ev.report is not None else None, batch)
    _save_load_share(session.spec)


def page() -> None:
    bs.init()
    st.title("Builder")
    if st.session_state.get(bs.LINK_ERROR):
        st.error("The shared link could not be opened: " + st.session_state[bs.LINK_ERROR])
    _builder()


page()
freeze_import_heap()
preload_keras()  # an empty Builder shows without Keras; it loads while the user looks
