"""The block board, a custom Streamlit component: static HTML + plain JavaScript speaking the
Streamlit component protocol (``streamlit.components.v1.declare_component(path=...)``), so there
is no frontend build step.

:func:`block_board` is the builder's palette and model list in one frame (a drag must stay in
one document to cross from the palette into the model): drag a palette block into the model or
click it to append it, drag model blocks to reorder them or out of the list to delete them,
click a block to open its parameters. A composite block with inner block lists (a residual's
body, parallel branches, an Inception module's branches) opens in place: its lists are drop
targets of the same board, each inner block with its output shape and cost. It returns the last
gesture as an event dict.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

FRONTEND = Path(__file__).resolve().parent / "block_board"
EVENT_KINDS = ("select", "add", "move", "delete")  # = playground.editor.GESTURES

_component: Callable[..., Any] | None = None


def _func() -> Callable[..., Any]:
    global _component
    if _component is None:
        import streamlit.components.v1 as components
        _component = components.declare_component("block_board", path=str(FRONTEND))
    return _component


def block_board(groups: Sequence[Mapping[str, Any]], blocks: Sequence[Mapping[str, Any]], *,
                selected: str | None, header: str, key: str, hint: str = "",
                empty_text: str = "Drop blocks here",
                on_change: Callable[[], Any] | None = None) -> dict | None:
    """Render the board; the value is the last gesture (None before the first).

    ``groups``: ``[{"header": "Convolution", "items": [{"type", "label", "help"}]}]``, the
    palette. ``blocks``: the model in order, as :func:`model_blocks` makes them
    (``{"name", "address", "label", "shape", "error", "title"}``, a composite block also
    ``"lists"``: ``[{"path", "label", "empty", "blocks": [...]}]``). ``selected``: the address
    of the open block. Events: ``{"kind": "select", "block"}``, ``{"kind": "add", "type",
    "index"}``, ``{"kind": "move", "block", "index"}`` (the block's new position) and
    ``{"kind": "delete", "block"}``, each with ``"path"`` (the list the block is in or goes to,
    ``[]`` for the model's; a move to another list adds ``"to"``) and a unique ``"id"``. With
    ``on_change`` (called with no arguments) the event is in ``st.session_state[key]`` when the
    callback runs, before the page does. See :func:`playground.editor.apply_gesture`.
    """
    return _func()(groups=[dict(g) for g in groups], blocks=[dict(b) for b in blocks],
                   selected=selected, header=header, hint=hint, empty_text=empty_text,
                   key=key, default=None, on_change=on_change)


def palette_groups(palette: Mapping[str, Sequence[Any]]) -> list[dict]:
    """The board's palette from :func:`playground.editor.palette` (heads are picked apart)."""
    return [{"header": cat.capitalize(),
             "items": [{"type": i.type, "label": i.label, "help": i.doc.split("\n")[0]}
                       for i in items]}
            for cat, items in palette.items() if cat != "head"]


def _shape(row: Any) -> str:
    return "x".join(map(str, row.output_shape)) if row.output_shape else "?"


def _merge_text(nested: Any) -> str:
    """What a composite adds outside its lists: the shortcut and add, or the concatenation."""
    from playground.cost import format_count
    cost = (f": {format_count(nested.own_params)} params · {format_count(nested.own_macs)} MACs"
            if nested.own_params or nested.own_macs else "")
    if any(isinstance(lst.path[-1], int) for lst in nested.lists):
        return "then the branch outputs are concatenated" + cost
    if nested.own_params:
        return "plus a 1x1 projection shortcut, added" + cost
    return "plus the input (identity shortcut), added" + cost


def _block_item(bs: Any, row: Any, ev: Any) -> dict:
    from playground.cost import format_count
    from playground.editor import item_text
    params = ", ".join(f"{k}={v}" for k, v in bs.params.items() if k not in ("body", "branches"))
    address = row.address or row.name
    item = {"name": row.name, "address": address, "label": item_text(bs), "shape": _shape(row),
            "params": format_count(row.params), "macs": format_count(row.macs),
            "error": row.error, "title": f"{row.label}: {params}" if params else row.label}
    nested = ev.inner.get(address)
    if nested is not None:
        item["lists"] = [{"path": list(lst.path), "label": lst.label,
                          "empty": ("empty: the input passes on" if isinstance(lst.path[-1], int)
                                    else "drop blocks here"),
                          "blocks": [_block_item(b, r, ev) for b, r in zip(lst.blocks, lst.rows)]}
                         for lst in nested.lists]
        item["merge"] = _merge_text(nested)
        if not nested.editable:
            item["note"] = ("An edit inside turns this module into 'Parallel branches' with "
                            "the same layers, then applies the edit.")
    return item


def model_blocks(session: Any, ev: Any) -> list[dict]:
    """The board's model list: each block of ``session`` with its row of evaluation ``ev``
    (output shape, params, MACs, error) and its parameters as a tooltip; a composite block
    also with its inner lists, block by block (see :attr:`playground.editor.Evaluation.inner`)."""
    return [_block_item(bs, row, ev) for bs, row in zip(session.spec.blocks, ev.blocks)]


def parse_event(value: Any) -> dict | None:
    """``value`` as a board event (a dict with a known ``kind`` and a string ``id``), else None;
    never raises. The rest is checked where the event is applied
    (:func:`playground.editor.apply_gesture`)."""
    if not isinstance(value, Mapping) or value.get("kind") not in EVENT_KINDS:
        return None
    if not isinstance(value.get("id"), str) or not value["id"]:
        return None
    return dict(value)
