"""Builder: drag blocks from the palette into the model, edit them, and watch the cost change."""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from playground._env import freeze_import_heap
from streamlit_sortables import sort_items

from playground.analysis import build_cached
from playground.blocks import BLOCKS
from playground.charts import METRICS, layer_rows, per_layer_figure
from playground.cost import CONVENTIONS, format_bytes, format_count
from playground.export import EXTENSIONS, MIME_TYPES, export_bytes
from playground.graph import spec_graph, to_dot
from playground.editor import EditSession, delta, evaluate, item_text, palette, spec_from_query, spec_to_query
from playground.errors import SpecError
from playground.spec import ArchSpec
from playground.targets import parse_shape, spec_from_json_text
from playground.zoo import ZOO

PALETTE_PREFIX = "+ "
MODEL_HEADER = "Your model: drop blocks here, drag to reorder, drag out to delete"
# Palette categories as compact wrapping chips; the model (last container) as a full-width stack.
DRAG_CSS = """
.sortable-component.vertical .sortable-container { padding: 4px 2px; min-width: 150px; }
.sortable-container-header { font-size: 12px; font-weight: 600; color: #555; padding: 0 2px 2px; }
.sortable-container-body { display: flex; flex-wrap: wrap; align-content: flex-start;
  padding: 3px; border-radius: 6px; min-height: 34px; }
.sortable-component.vertical .sortable-item { display: inline-block; font-size: 12.5px;
  margin: 2px; padding: 2px 8px; border-radius: 5px; background: #e9effc; color: #1d3a78;
  border: 1px solid #c8d5f4; height: auto; }
.sortable-container:not(:has(~ .sortable-container)) { flex-basis: 100%; }
.sortable-container:not(:has(~ .sortable-container)) .sortable-container-header { font-size: 13px; color: #1d3a78; }
.sortable-container:not(:has(~ .sortable-container)) .sortable-container-body { display: block; min-height: 120px;
  border: 2px dashed #9db3e8; background: #f7f9fe; }
.sortable-component.vertical .sortable-container:not(:has(~ .sortable-container)) .sortable-item { display: block;
  background: #3b6fd8; color: #fff; border-color: #3b6fd8; font-size: 13px; padding: 4px 10px; }
"""


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


def _apply(new: EditSession) -> None:
    ss = st.session_state
    if new is not ss["builder"]:
        ss["builder"] = new
        ss["builder_nonce"] += 1  # remount the drag lists so the palette is whole again


def _palette_types() -> dict[str, str]:
    return {f"{PALETTE_PREFIX}{item.label}": item.type
            for items in palette().values() for item in items if item.category != "head"}


def _drag_area(session: EditSession) -> None:
    """Palette containers per category + the model container; apply what the user dragged."""
    groups = palette()
    containers = [{"header": cat.capitalize(), "items": [f"{PALETTE_PREFIX}{i.label}" for i in items]}
                  for cat, items in groups.items() if cat != "head"]
    model_items = session.items()
    containers.append({"header": MODEL_HEADER, "items": model_items})
    result = sort_items(containers, multi_containers=True, direction="vertical",
                        custom_style=DRAG_CSS, key=f"sortable_{st.session_state['builder_nonce']}")
    new_model = result[-1]["items"]
    if new_model == model_items:
        return
    types = _palette_types()
    new = session
    kept = [i for i in new_model if i in model_items]
    removed = [i for i in model_items if i not in new_model]
    try:
        for item in removed:
            new = new.delete_block(new.index_of(item.split(" ")[0]))
        if kept and kept != [i for i in model_items if i in kept]:
            new = new.reorder(kept)
        for pos, item in enumerate(new_model):
            if item in types:
                new = new.add_block(types[item], index=pos)
                st.session_state["builder_selected"] = new.names[pos]  # open the new block
    except SpecError as e:
        st.error(f"**{e.where}**: {e.rule}")
        return
    _apply(new)
    st.rerun()


def _param_widget(p: Any, value: Any, key: str) -> Any:
    label = p.name.replace("_", " ")
    if p.kind == "bool":
        return st.checkbox(label, value=bool(value), help=p.help, key=key)
    if p.kind == "choice":
        return st.selectbox(label, list(p.choices), index=list(p.choices).index(value)
                            if value in p.choices else 0, help=p.help, key=key)
    if p.kind == "int" and value is not None:
        return int(st.number_input(label, value=int(value), step=1, help=p.help, key=key))
    if p.kind == "float":
        return float(st.number_input(label, value=float(value), step=0.05, format="%.4g",
                                     help=p.help, key=key))
    if p.kind in ("blocks", "branches"):
        text = st.text_area(label, json.dumps(value, indent=1), height=160, help=p.help, key=key)
        return json.loads(text)
    # size / ints / optional ints: typed as text ("3" or "3, 3"; blank = default)
    shown = "" if value is None else (", ".join(map(str, value)) if isinstance(value, (list, tuple))
                                      else str(value))
    text = st.text_input(label, shown, help=p.help, key=key).strip()
    if not text:
        return None if p.optional else []
    nums = [int(t) for t in text.replace("x", ",").split(",") if t.strip()]
    return nums if p.kind == "ints" or len(nums) > 1 else nums[0]


def _block_editor(session: EditSession, ev: Any) -> None:
    names = session.names
    if not names:
        st.info("Drag a block from the palette into your model, or open a zoo architecture.")
        return
    selected = st.session_state.get("builder_selected")
    default = (names.index(ev.error_block) if ev.error_block in names
               else names.index(selected) if selected in names else 0)
    name = st.selectbox("Edit block", names, index=default,
                        format_func=lambda n: item_text(session.spec.blocks[names.index(n)]))
    st.session_state["builder_selected"] = name
    i = names.index(name)
    block = session.spec.blocks[i]
    bt = BLOCKS.get(block.type)
    st.caption(bt.doc)
    row = ev.blocks[i] if i < len(ev.blocks) else None
    if row is not None and row.error:
        st.error(row.error)
    with st.form(f"params_{name}_{st.session_state['builder_nonce']}"):
        values = {}
        cols = st.columns(2)
        current = {**bt.defaults(), **block.params}
        try:
            for k, p in enumerate(bt.params):
                with cols[k % 2]:
                    values[p.name] = _param_widget(p, current.get(p.name), f"p_{name}_{p.name}")
        except (ValueError, json.JSONDecodeError) as e:
            st.error(f"**block '{name}'**: could not read a value ({e})")
            values = None
        applied = st.form_submit_button("Apply", type="primary")
    if applied and values is not None:
        changes = {k: v for k, v in values.items() if v != current.get(k)}
        try:
            _apply(session.update_params(i, **changes) if changes else session)
        except SpecError as e:
            st.error(f"**{e.where}**: {e.rule}")
            return
        st.rerun()
    c = st.columns(2)
    if c[0].button("Duplicate", width="stretch"):
        _apply(session.duplicate_block(i))
        st.session_state["builder_selected"] = st.session_state["builder"].names[i + 1]
        st.rerun()
    if c[1].button("Delete", width="stretch"):
        _apply(session.delete_block(i))
        st.rerun()


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
    from playground.analysis import analyze_spec
    spec = ArchSpec.from_json(spec_json)
    return to_dot(spec_graph(spec, level, analyze_spec(spec), build_cached(spec)))


@st.cache_data(show_spinner=False, max_entries=64)
def _layer_rows(spec_json: str) -> list[dict]:
    from playground.analysis import analyze_spec
    spec = ArchSpec.from_json(spec_json)
    return layer_rows(analyze_spec(spec), spec.name)


@st.cache_resource(show_spinner=False, max_entries=64)
def _figure(spec_json: str, title: str):
    """One per-layer chart of the spec (only the chosen one is built; figures are cached)."""
    col, _, axis, log_y = next(m for m in METRICS if m[1] == title)
    return per_layer_figure(_layer_rows(spec_json), col, axis, log_y)


def _views(spec: ArchSpec | None) -> None:
    """Graph, per-layer charts, export and conventions of the last valid model."""
    if spec is None or not spec.blocks:
        return
    spec_json = spec.to_json()
    t_graph, t_charts, t_export, t_conv = st.tabs(["Graph", "Charts", "Export", "Conventions"])
    with t_graph:
        level = st.radio("Graph level", ["block", "layer"], horizontal=True,
                         help="block: composite blocks collapsed; layer: every Keras layer")
        with st.container(height=620):
            st.graphviz_chart(_graph_dot(spec_json, level), width="content")
    with t_charts:
        titles = [title for _, title, _, _ in METRICS]
        metric = st.segmented_control("Chart", titles, default=titles[0], key="builder_chart")
        st.plotly_chart(_figure(spec_json, metric or titles[0]), width="stretch")
    with t_export:
        cols = st.columns(5)
        for col, fmt, label in zip(cols, ("keras-code", "keras", "onnx", "dot", "svg"),
                                   ("Keras code", ".keras model", "ONNX", "DOT graph", "SVG graph")):
            col.download_button(label, data=lambda f=fmt: export_bytes(spec, f),
                                file_name=f"{spec.name}{EXTENSIONS[fmt]}", mime=MIME_TYPES[fmt],
                                width="stretch", on_click="ignore")
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
        if st.button("Undo", disabled=not session.can_undo, width="stretch"):
            _apply(session.undo())
            st.rerun()
    with top[4]:
        st.write("")
        if st.button("Redo", disabled=not session.can_redo, width="stretch"):
            _apply(session.redo())
            st.rerun()
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
    left, right = st.columns([3, 2], gap="large")
    with left:
        _drag_area(ev.session)
    with right:
        rows = [{"block": r.name, "type": r.label,
                 "output": "x".join(map(str, r.output_shape or ())),
                 "params": r.params, "MACs": r.macs} for r in ev.blocks]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                         column_config={"params": st.column_config.NumberColumn(format="localized"),
                                        "MACs": st.column_config.NumberColumn(format="localized")})
        _block_editor(ev.session, ev)
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
        link = f"?spec={spec_to_query(spec)}"
        c[1].code(link, language=None)
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
