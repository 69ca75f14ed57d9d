"""Builder: drag blocks from the palette into the model, edit them, and watch the cost change."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap
from playground.analysis import analysis_model, analyze_spec
from playground.blocks import BLOCKS
from playground.layer_charts import METRICS, layer_rows, per_layer_figure
from playground.ui.board import block_board, parse_event
from playground.cost import CONVENTIONS, format_bytes, format_count
from playground.export import EXTENSIONS, MIME_TYPES, export_bytes
from playground.graph import spec_graph, to_dot
from playground.editor import (EditSession, apply_gesture, delta, evaluate, item_text, palette,
                               spec_from_query, spec_to_query)
from playground.errors import SpecError
from playground.spec import ArchSpec
from playground.targets import parse_shape, spec_from_json_text
from playground.zoo import ZOO
from playground.ui.router import ensure_routed

ensure_routed(__file__)

BOARD_KEY = "builder_board"
MODEL_HEADER = "Your model"
BOARD_HINT = ("Click a block to edit it · drag to reorder · drag out of the list to delete · "
              "click or drag a palette block to add it")


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
            ss["builder_link_error"] = f"**{e.where}**: {e.rule}"
    ss["builder"] = EditSession.start(spec)
    ss["builder_delta"] = ""
    ss["builder_prev"] = None


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
        ss["builder_board_error"] = f"**{e.where}**: {e.rule}"
        return
    if opened is not None:
        ss["builder_selected"] = opened
    _apply(new)


def _board(session: EditSession, ev: Any, selected: str | None) -> None:
    """The palette (per category) and the model list, in one drag-and-drop frame."""
    groups = [{"header": cat.capitalize(),
               "items": [{"type": i.type, "label": i.label, "help": i.doc.split("\n")[0]}
                         for i in items]}
              for cat, items in palette().items() if cat != "head"]
    blocks = []
    for bs, row in zip(session.spec.blocks, ev.blocks):
        params = ", ".join(f"{k}={v}" for k, v in bs.params.items() if k not in ("body", "branches"))
        blocks.append({"name": row.name, "label": item_text(bs),
                       "shape": "x".join(map(str, row.output_shape or ())),
                       "error": row.error, "title": f"{row.label}: {params}" if params else row.label})
    block_board(groups, blocks, selected=selected, header=MODEL_HEADER, hint=BOARD_HINT,
                empty_text="Drag blocks here from the palette (or click one)", key=BOARD_KEY,
                on_change=_on_board)
    error = st.session_state.pop("builder_board_error", None)
    if error:
        st.error(error)


def _param_widget(p: Any, value: Any, key: str) -> None:
    """The input of one parameter; its raw value is read back by :func:`_param_value`."""
    label = p.name.replace("_", " ")
    if p.kind == "bool":
        st.checkbox(label, value=bool(value), help=p.help, key=key)
    elif p.kind == "choice":
        st.selectbox(label, list(p.choices), index=list(p.choices).index(value)
                     if value in p.choices else 0, help=p.help, key=key)
    elif p.kind == "int" and value is not None:
        st.number_input(label, value=int(value), step=1, help=p.help, key=key)
    elif p.kind == "float":
        st.number_input(label, value=float(value), step=0.05, format="%.4g", help=p.help, key=key)
    elif p.kind in ("blocks", "branches"):
        st.text_area(label, json.dumps(value, indent=1), height=160, help=p.help, key=key)
    else:  # size / ints / optional ints: typed as text ("3" or "3, 3"; blank = default)
        shown = "" if value is None else (", ".join(map(str, value))
                                          if isinstance(value, (list, tuple)) else str(value))
        st.text_input(label, shown, help=p.help, key=key)


def _param_value(p: Any, value: Any, raw: Any) -> Any:
    """The parameter value of the raw widget value ``raw`` (``value``: the block's current one,
    which chose the widget). Raises ValueError / JSONDecodeError on unreadable text."""
    if p.kind == "bool":
        return bool(raw)
    if p.kind == "choice":
        return raw
    if p.kind == "int" and value is not None:
        return int(raw)
    if p.kind == "float":
        return float(raw)
    if p.kind in ("blocks", "branches"):
        return json.loads(raw)
    text = str(raw or "").strip()
    if not text:
        return None if p.optional else []
    nums = [int(t) for t in text.replace("x", ",").split(",") if t.strip()]
    return nums if p.kind == "ints" or len(nums) > 1 else nums[0]


def _on_apply(i: int, name: str) -> None:
    """"Apply" (a callback: the edit lands before the page runs, so one run shows it)."""
    ss = st.session_state
    session: EditSession = ss["builder"]
    if i >= len(session.names) or session.names[i] != name:
        return  # the model changed under the form
    block = session.spec.blocks[i]
    bt = BLOCKS.get(block.type)
    current = {**bt.defaults(), **block.params}
    try:
        values = {p.name: _param_value(p, current.get(p.name), ss.get(f"p_{name}_{p.name}"))
                  for p in bt.params}
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        ss["builder_edit_error"] = f"**block '{name}'**: could not read a value ({e})"
        return
    changes = {k: v for k, v in values.items() if v != current.get(k)}
    try:
        _apply(session.update_params(i, **changes) if changes else session)
    except SpecError as e:
        ss["builder_edit_error"] = f"**{e.where}**: {e.rule}"


def _on_duplicate(i: int) -> None:
    _apply(st.session_state["builder"].duplicate_block(i))
    st.session_state["builder_selected"] = st.session_state["builder"].names[i + 1]


def _on_delete(i: int) -> None:
    _apply(st.session_state["builder"].delete_block(i))


def _on_undo() -> None:
    _apply(st.session_state["builder"].undo())


def _on_redo() -> None:
    _apply(st.session_state["builder"].redo())


def _selection(session: EditSession, ev: Any) -> str | None:
    """The block whose parameters are open: the one last clicked, added or picked; a block that
    just became invalid opens once; else the first block."""
    ss = st.session_state
    names = session.names
    if ev.error_block in names and ss.get("builder_error_opened") != session.spec.key():
        ss["builder_error_opened"] = session.spec.key()
        ss["builder_selected"] = ev.error_block
    selected = ss.get("builder_selected")
    if selected not in names:
        selected = names[0] if names else None
    ss["builder_selected"] = selected
    return selected


def _on_pick() -> None:
    st.session_state["builder_selected"] = st.session_state["builder_pick"]


def _block_editor(session: EditSession, ev: Any, name: str | None) -> None:
    names = session.names
    if name is None:
        st.info("Drag a block from the palette into your model, or open a zoo architecture.")
        return
    st.session_state["builder_pick"] = name
    st.selectbox("Edit block", names, key="builder_pick", on_change=_on_pick,
                 format_func=lambda n: item_text(session.spec.blocks[names.index(n)]))
    i = names.index(name)
    block = session.spec.blocks[i]
    bt = BLOCKS.get(block.type)
    st.caption(bt.doc)
    row = ev.blocks[i] if i < len(ev.blocks) else None
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
        st.form_submit_button("Apply", type="primary", on_click=_on_apply, args=(i, name))
    c = st.columns(2)
    c[0].button("Duplicate", width="stretch", on_click=_on_duplicate, args=(i,))
    c[1].button("Delete", width="stretch", on_click=_on_delete, args=(i,))


def _totals(ev: Any, batch: int) -> None:
    t = ev.totals or {}
    m = st.columns(6)
    m[0].metric("Parameters", format_count(t.get("params", 0)), help=f"{t.get('params', 0):,}")
    m[1].metric("MACs", format_count(t.get("macs", 0)), help=f"{t.get('macs', 0):,} multiply-adds")
    m[2].metric("FLOPs", format_count(t.get("flops", 0)), help="2 x MACs + other ops (bias, BN, "
                "activations, pooling, adds)")
    m[3].metric("Weights (fp32)", format_bytes(t.get("weight_bytes_fp32", 0)))
    m[4].metric(f"Peak act. (B={batch})", format_bytes(t.get("peak_activation_bytes", 0)),
                help="largest set of live activations during inference, by liveness over the graph")
    m[5].metric(f"Training (B={batch})", format_bytes(t.get("training_memory_total", 0)),
                help="weights + gradients + Adam state + saved activations")


@st.cache_data(show_spinner=False, max_entries=64)
def _graph_dot(spec_json: str, level: str) -> str:
    """DOT of the (last valid) spec at block or layer level, cached by the spec's JSON."""
    spec = ArchSpec.from_json(spec_json)
    return to_dot(spec_graph(spec, level, analyze_spec(spec), analysis_model(spec)))


@st.cache_data(show_spinner=False, max_entries=64)
def _layer_rows(spec_json: str) -> list[dict]:
    spec = ArchSpec.from_json(spec_json)
    return layer_rows(analyze_spec(spec), spec.name)


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(spec_json: str, title: str):
    """One per-layer chart of the spec (only the chosen one is built; figures are cached)."""
    col, _, axis, log_y = next(m for m in METRICS if m[1] == title)
    return per_layer_figure(_layer_rows(spec_json), col, axis, log_y)


def _views(spec: ArchSpec | None) -> None:
    """Graph, per-layer charts, export and conventions of the last valid model. Only the open
    tab is computed (a new spec's chart is not built while the graph is on screen)."""
    if spec is None or not spec.blocks:
        return
    spec_json = spec.to_json()
    t_graph, t_charts, t_export, t_conv = st.tabs(["Graph", "Charts", "Export", "Conventions"],
                                                  key="builder_view", on_change="rerun")
    if t_graph.open:
        with t_graph:
            level = st.radio("Graph level", ["block", "layer"], horizontal=True,
                             help="block: composite blocks collapsed; layer: every Keras layer")
            with st.container(height=620):
                st.graphviz_chart(_graph_dot(spec_json, level), width="content")
    if t_charts.open:
        with t_charts:
            titles = [title for _, title, _, _ in METRICS]
            metric = st.segmented_control("Chart", titles, default=titles[0], key="builder_chart")
            st.plotly_chart(_figure(spec_json, metric or titles[0]), width="stretch")
    if t_export.open:
        with t_export:
            cols = st.columns(5)
            for col, fmt, label in zip(cols, ("keras-code", "keras", "onnx", "dot", "svg"),
                                       ("Keras code", ".keras model", "ONNX", "DOT graph",
                                        "SVG graph")):
                col.download_button(label, data=lambda f=fmt: export_bytes(spec, f),
                                    file_name=f"{spec.name}{EXTENSIONS[fmt]}",
                                    mime=MIME_TYPES[fmt], width="stretch", on_click="ignore")
    if t_conv.open:
        with t_conv:
            st.markdown(CONVENTIONS)


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
        st.error(f"**{e.where}**: {e.rule}")

    ev = evaluate(session, batch)
    ss["builder"] = ev.session
    report = ev.report
    if session.last_label and ss.get("builder_prev") is not None and ss.get(
            "builder_delta_key") != session.spec.key():
        ss["builder_delta"] = delta(ss["builder_prev"], report if ev.ok else None,
                                    session.last_label)
        ss["builder_delta_key"] = session.spec.key()
    if ev.ok:
        ss["builder_prev"] = report

    if ev.error:
        st.error(f"{ev.error}  \nShowing the last valid model.")
    _totals(ev, batch)
    if ss.get("builder_delta"):
        st.info(ss["builder_delta"], icon=":material/difference:")
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

    _views(ev.report_spec if ev.report is not None else None)

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
                st.error(f"**{e.where}**: {e.rule}")


freeze_import_heap()
page()
