"""Picking a transfer backbone (Transfer page, step 2): its label with its cost, the input size
and weights of a Keras Application (ImageNet, random, or an uploaded file) with its MACs at that
size, and the figures of a finished run used as a backbone."""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground.cost import format_count
from playground.store import RunRecord
from playground.transfer.backbone_choice import run_input_shape, scaled_macs, size_options
from playground.transfer.backbones import RUN_PREFIX, default_size
from playground.ui.errors import error_text
from playground.ui.uploads import weights_file_input

WORKING_SIDE = 128  # images are stored at least this large; resized again for the backbone
WEIGHTS = {"imagenet": "ImageNet (downloaded once, then cached)",
           "none": "Random initialisation", "file": "Upload a weights file"}


@st.cache_data(show_spinner=False)
def _keras_cost(name: str) -> dict[str, Any]:
    from playground.zoo.summaries import summary_of
    try:
        return summary_of(f"keras:{name}")
    except Exception:  # noqa: BLE001  figures are a courtesy: no figures, no failure
        return {}


def backbone_label(key: str, sources: dict[str, RunRecord]) -> str:
    """A backbone in the picker: a run with its accuracy, a Keras Application with its cost."""
    if key in sources:
        rec = sources[key]
        best = rec.val_accuracy
        return (f"Your run: {rec.name} ({key[len(RUN_PREFIX):][:8]}"
                + (f", {best:.0%}" if best is not None else "") + ")")
    s = _keras_cost(key)
    if s:  # short enough for half the page at 1024 px; the parameters show beside it
        return f"{key} ({format_count(s['macs'])} MACs)"
    return key


def backbone_side(sources: dict[str, RunRecord]) -> int:
    """The input side the chosen backbone will get (from the widgets' last values)."""
    ss = st.session_state
    key = ss.get("tl_backbone") or "MobileNetV2"
    if key.startswith(RUN_PREFIX):
        rec = sources.get(key)
        shape = run_input_shape(rec.params) if rec else None
        return shape[0] if shape else WORKING_SIDE
    return int(ss.get(f"tl_size_{key}") or default_size(key))


def show_backbone(options: dict[str, Any]) -> None:
    """Set the backbone widgets to a launched run's options (backbone, size, weights), so
    they show what runs (call it from a button callback, before the widgets are drawn)."""
    ss = st.session_state
    key = options.get("backbone")
    if not key or str(key).startswith(RUN_PREFIX):
        return
    ss["tl_backbone"] = key
    if options.get("image_size") in size_options(key):
        ss[f"tl_size_{key}"] = options["image_size"]
    if options.get("weights") in ("imagenet", "none"):
        ss["tl_weights"] = options["weights"]


def run_backbone(rec: RunRecord) -> int:
    """The figures of a run backbone; returns its input side."""
    shape = run_input_shape(rec.params) or (WORKING_SIDE, WORKING_SIDE, 3)
    m = st.columns(2) + st.columns(2)  # two a row: three do not fit half a page at 1024 px
    m[0].metric("Parameters", format_count(float(rec.params.get("cost.params") or 0)))
    m[1].metric("MACs / image", format_count(float(rec.params.get("cost.macs") or 0)))
    m[2].metric("Input", "×".join(map(str, shape)))
    st.caption(f"Trained in this app on {rec.params.get('dataset', '?')}; its own weights "
               f"and input size ({shape[0]}×{shape[0]}) are used.")
    return shape[0]


def keras_backbone(key: str, pick: Any, cost: Any) -> tuple[int, str, str | None]:
    """Size, weights and figures of a Keras Application; returns (side, weights, why Train is
    blocked: None when it is not, '' when an error about the weights file is shown above)."""
    s, native = _keras_cost(key), default_size(key)
    with pick:
        side = st.select_slider(
            "Image size (pixels a side)", size_options(key), value=native, key=f"tl_size_{key}",
            help=f"{key} was trained at {native}×{native}. Smaller is much faster on a CPU "
                 "(cost grows with the pixel count); larger sees more detail.")
        choice = st.radio("Weights", list(WEIGHTS), format_func=WEIGHTS.get, horizontal=True,
                          key="tl_weights")
    with cost:
        m = st.columns(2)
        if s:
            m[0].metric("Parameters", format_count(s["params"]),
                        help="With its ImageNet classifier; the new head replaces it.")
            m[1].metric(f"MACs at {side}×{side}",
                        format_count(scaled_macs(s["macs"], native, side)))
        st.caption(f"Trained at {native}×{native}" + (f" ({format_count(s['macs'])} MACs)"
                                                     if s else "") + (
            f"; at {side}×{side} a forward pass costs about {(side / native) ** 2:.0%} of that."
            if side < native else "."))
        if choice == "imagenet":
            st.caption("ImageNet weights come through Keras' own loader and cache; without "
                       "a network the run stops with a message naming the file to place.")
        elif choice == "none":
            st.caption("Random weights have nothing to transfer: the whole network trains "
                       "from scratch on your images (slower than a head on frozen features, "
                       "and it needs more images to generalise).")
    if choice != "file":
        return side, choice, None
    with pick:
        path, hint, error = weights_file_input()
        if error is not None:
            st.error(error_text(error), icon=":material/error:")
    return side, path or "none", hint if error is None else ""
