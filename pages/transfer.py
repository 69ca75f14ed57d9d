"""Transfer learning: your own photos, a pretrained backbone, a new head, in four steps.

1. Images: classes by name with files dropped into each, or one zip with a folder per class;
   every file goes through the safe-ingestion path and a rejected one is listed with its reason.
2. Backbone: a Keras Application (ImageNet, random or your weights file) or a finished run.
3. Train: a background run of the same worker as the Train page (live progress, Cancel).
4. Results: curves, a clickable confusion matrix with the misclassified images, per-class
   accuracy, predictions with a Grad-CAM heat map, and the model and predict script to download.

The page never trains: it saves the images as an image set and launches a worker.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

import numpy as np
import streamlit as st

from playground._env import freeze_import_heap
from playground.cost import format_count
from playground.data.images import short_name
from playground.data.saved import list_saved, load_arrays, save_images, saved_info
from playground.errors import SpecError, first_line
from playground.paths import data_dir
from playground.training_charts import CURVE_KEYS, curves_figure
from playground.store import RunRecord
from playground.train.config import TrainConfig
from playground.transfer.backbones import MIN_SIDE, RUN_PREFIX, default_size, keras_backbones
from playground.transfer.ui_helpers import (cell_indices, clean_class_name, confusion_click_figure,
                                            confusions, data_warnings, per_class_figure, prepare,
                                            preview, resize_images, run_input_shape,
                                            safe_weights_name, scaled_macs, selected_cell,
                                            split_counts, thumbnail_strip)
from playground.ui.router import ensure_routed
from playground.ui.run_store import STATUS_ICON, live_progress, require_store, store

ensure_routed(__file__)

WORKING_SIDE = 128      # images are stored at least this large; resized again for the backbone
SIZES = (32, 48, 64, 96, 128, 160, 192, 224, 256, 299, 331, 384, 448, 512)
LIVE_EVERY_S = 1.0
WEIGHTS = {"imagenet": "ImageNet (downloaded once, then cached)",
           "none": "Random initialisation", "file": "Upload a weights file"}


def _state() -> None:
    """Session-state keys of the page, initialised in one place."""
    ss = st.session_state
    ss.setdefault("tl_classes", [])     # class names typed by the user, in order
    ss.setdefault("tl_files", {})       # {class: [(name, bytes)]} handed over without a widget
    ss.setdefault("tl_zips", [])        # [(name, bytes)] zips handed over without a widget
    ss.setdefault("tl_nonce", 0)        # part of the uploaders' keys: bumping it clears them
    ss.setdefault("tl_prepared", None)  # the last "Use these images" outcome (for messages)
    for cls in ss["tl_files"]:          # classes handed over come with their files
        if cls not in ss["tl_classes"]:
            ss["tl_classes"].append(cls)


def _slug(cls: str) -> str:
    return hashlib.sha1(cls.encode()).hexdigest()[:10]


def _err(e: SpecError) -> str:
    return f"**{e.where}**: {e.rule}"


# --- 1. images -----------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=4000)
def _preview(data: bytes, name: str) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    return preview([(name, data)])


@st.cache_data(show_spinner=False, max_entries=8)
def _zip_preview(data: bytes, name: str) -> dict[str, Any]:
    """Classes, counts, a few thumbnails and the rejections of one zip (nothing written)."""
    from playground.transfer.ui_helpers import gather
    files, report, problems = gather({}, [(name, data)])
    classes, rejected = {}, [(short_name(r.name), r.reason) for r in report.rejected]
    for cls, items in sorted(files.items()):
        thumbs, bad = preview(items)
        classes[cls] = {"count": len(thumbs), "strip": thumbnail_strip(thumbs)}
        rejected += bad
    return {"classes": classes, "rejected": rejected, "problems": problems}


def _add_class() -> None:
    ss = st.session_state
    name = clean_class_name(ss.get("tl_new_class", ""))
    ss["tl_new_class"] = ""
    if not name:
        ss["tl_class_msg"] = "Type a class name first."
    elif name in ss["tl_classes"]:
        ss["tl_class_msg"] = f"There is already a class called {name!r}."
    else:
        ss["tl_classes"].append(name)
        ss["tl_class_msg"] = None


def _remove_class(cls: str) -> None:
    ss = st.session_state
    ss["tl_classes"] = [c for c in ss["tl_classes"] if c != cls]
    ss["tl_files"].pop(cls, None)
    ss.pop(f"tl_up_{_slug(cls)}_{ss['tl_nonce']}", None)


def _class_files(cls: str) -> list[tuple[str, bytes]]:
    """The files of one class: its uploader's plus any handed over in session state."""
    ss = st.session_state
    ups = ss.get(f"tl_up_{_slug(cls)}_{ss['tl_nonce']}") or []
    return [(u.name, u.getvalue()) for u in ups] + list(ss["tl_files"].get(cls, ()))


def _rejections(bad: list[tuple[str, str]], what: str) -> None:
    if not bad:
        return
    st.warning(f"{len(bad)} file(s) {what} cannot be used; the rest goes on.",
               icon=":material/warning:")
    with st.expander(f"Rejected files ({len(bad)}) and why"):
        st.dataframe([{"file": n, "reason": r} for n, r in bad], hide_index=True,
                     width="stretch")


def _class_card(cls: str) -> int:
    """One class: its uploader, count and thumbnails; returns the number of usable images."""
    ss = st.session_state
    files = _class_files(cls)
    thumbs, bad = [], []
    for name, data in files:
        t, b = _preview(data, name)
        thumbs += t
        bad += b
    with st.container(border=True, key=f"tl_card_{_slug(cls)}"):
        head, remove = st.columns([6, 1], vertical_alignment="center")
        head.markdown(f"**{cls}** · {len(thumbs)} image{'s' if len(thumbs) != 1 else ''}")
        remove.button("Remove", key=f"tl_rm_{_slug(cls)}", icon=":material/delete:",
                      on_click=_remove_class, args=(cls,), width="stretch")
        drop, pics = st.columns([2, 3], gap="medium")
        with drop:
            st.file_uploader(f"Images of {cls}", accept_multiple_files=True,
                             key=f"tl_up_{_slug(cls)}_{ss['tl_nonce']}",
                             label_visibility="collapsed",
                             help="PNG, JPEG, WebP, GIF, BMP, TIFF; any size (they are resized)")
        with pics:
            strip = thumbnail_strip(thumbs, n=16, columns=8)
            if strip is not None:
                st.image(strip, caption=f"{min(len(thumbs), 16)} of {len(thumbs)}")
            else:
                st.caption("Drop images of this class on the left.")
            _rejections(bad, f"in {cls!r}")
    return len(thumbs)


def _zip_section() -> tuple[list[tuple[str, bytes]], dict[str, int]]:
    """The zip uploader and its preview; returns the zips and their usable-image counts."""
    ss = st.session_state
    up = st.file_uploader("A zip with one folder per class (e.g. cats/*.jpg, dogs/*.jpg)",
                          type=["zip"], key=f"tl_zip_{ss['tl_nonce']}")
    zips = ([(up.name, up.getvalue())] if up is not None else []) + list(ss["tl_zips"])
    counts: dict[str, int] = {}
    for name, data in zips:
        info = _zip_preview(data, name)
        for p in info["problems"]:
            st.error(p, icon=":material/error:")
        if info["classes"]:
            cols = st.columns(min(3, len(info["classes"])))
            for i, (cls, c) in enumerate(info["classes"].items()):
                with cols[i % len(cols)]:
                    st.markdown(f"**{cls}** · {c['count']} image(s)")
                    if c["strip"] is not None:
                        st.image(c["strip"])
                counts[cls] = counts.get(cls, 0) + c["count"]
        _rejections(info["rejected"], f"in {short_name(name, 40)!r}")
    return zips, counts


def _use_images(zips: list[tuple[str, bytes]], side: int, set_name: str, val_split: float
                ) -> None:
    """Ingest every file at ``side`` and save an image set (a button's action)."""
    ss = st.session_state
    files = {cls: _class_files(cls) for cls in ss["tl_classes"]}
    with st.spinner("Reading the images..."):
        prep = prepare(files, zips, side)
    ss["tl_prepared"] = {"error": prep.error, "problems": prep.problems,
                         "rejected": [(r.name, r.reason) for r in prep.report.rejected],
                         "dropped": dict(prep.report.dropped), "set": None}
    if not prep.ok:
        return
    set_id = save_images(prep.x, prep.y, prep.class_names, set_name or "my images",
                         {"report": prep.report.to_dict(), "val_split": val_split})
    ss["tl_prepared"]["set"] = set_id
    ss["tl_set"] = set_id  # the picker below shows the new set


def _prepared_messages() -> None:
    p = st.session_state.get("tl_prepared")
    if not p:
        return
    for msg in p["problems"]:
        st.error(msg, icon=":material/error:")
    if p["error"]:
        st.error(p["error"], icon=":material/error:")
    if p["dropped"]:
        st.warning("Left out (fewer than 2 usable images): " + ", ".join(
            f"{short_name(c, 30)} ({n})" for c, n in p["dropped"].items()),
            icon=":material/warning:")
    if p["set"]:
        n = len(p["rejected"])
        st.success("Saved the image set" + (f"; {n} file(s) left out (their reasons are listed "
                                           "with their class above)" if n else "") + ".",
                   icon=":material/check_circle:")


def _set_label(info: dict[str, Any]) -> str:
    when = dt.datetime.fromtimestamp(info.get("created", 0)).strftime("%d %b %H:%M")
    shape = "x".join(map(str, info.get("shape", [])[:2]))
    return (f"{info.get('name', '?')} · {info.get('count', 0)} images · "
            f"{len(info.get('class_names', []))} classes · {shape} · {when}")


@st.cache_data(show_spinner=False, max_entries=8)
def _set_overview(set_id: str) -> dict[str, Any]:
    x, y, names = load_arrays(set_id)
    out = {}
    for i, cls in enumerate(names):
        idx = np.flatnonzero(y == i)
        out[cls] = {"count": int(len(idx)), "strip": thumbnail_strip(x[idx[:8]], n=8, size=44)}
    return out


def _images_step() -> tuple[str | None, dict[str, int], float]:
    """Step 1; returns (image set id or None, its class counts, the validation split)."""
    ss = st.session_state
    st.subheader("1 · Images", anchor="images")
    st.caption("Add a class per kind of thing to recognise and drop its images into it, or "
               "upload one zip with a folder per class. Nothing you upload is kept as a file: "
               "the images are decoded, resized and stored as an image set.")
    by_class, by_zip = st.tabs(["Classes and images", "One zip"])
    counts: dict[str, int] = {}
    with by_class:
        name_col, add_col, _ = st.columns([3, 1, 3], vertical_alignment="bottom")
        name_col.text_input("New class", key="tl_new_class", placeholder="e.g. cat",
                            max_chars=40)
        add_col.button("Add class", key="tl_add_class", icon=":material/add:",
                       on_click=_add_class, width="stretch")
        if ss.get("tl_class_msg"):
            st.warning(ss["tl_class_msg"], icon=":material/warning:")
        if not ss["tl_classes"]:
            st.caption("No classes yet: type a name and press Add class.")
        for cls in list(ss["tl_classes"]):
            counts[cls] = _class_card(cls)
    with by_zip:
        zips, zip_counts = _zip_section()
    for cls, n in zip_counts.items():
        counts[cls] = counts.get(cls, 0) + n

    if counts:
        for w in data_warnings(counts):
            st.warning(w, icon=":material/warning:")
    side = max(WORKING_SIDE, _backbone_side())
    a, b, c = st.columns([2, 2, 1], vertical_alignment="bottom", gap="medium")
    set_name = a.text_input("Name of the image set", key="tl_set_name",
                            placeholder="my images", max_chars=60)
    val_split = b.slider("Validation share", 0.1, 0.5, 0.2, 0.05, key="tl_val",
                         help="Held out from training (per class) to measure accuracy.")
    ready = len([n for n in counts.values() if n]) >= 2
    if c.button("Use these images", key="tl_use", type="primary", icon=":material/done:",
                disabled=not counts, width="stretch",
                help=None if ready else "Add at least two classes with images"):
        _use_images(zips, side, set_name.strip(), val_split)
    if counts:
        train_n, val_n = split_counts(counts, val_split)
        st.caption(f"{sum(counts.values())} images in {len(counts)} classes → about {train_n} "
                   f"for training and {val_n} for validation. Stored at {side}×{side} pixels.")
    _prepared_messages()

    sets = [s for s in list_saved() if not s.get("meta", {}).get("resized_from")]
    if not sets:
        return None, {}, val_split
    ids = [s["id"] for s in sets]
    if ss.get("tl_set") not in ids:
        ss["tl_set"] = ids[0]
    labels = {s["id"]: _set_label(s) for s in sets}
    set_id = st.selectbox("Image set to train on", ids, format_func=labels.get, key="tl_set",
                          help="The set you just made, or one saved before.")
    try:
        overview = _set_overview(set_id)
    except (SpecError, OSError, ValueError) as e:
        st.error(f"This image set cannot be read: {e}", icon=":material/error:")
        return None, {}, val_split
    cols = st.columns(min(4, len(overview)))
    for i, (cls, o) in enumerate(overview.items()):
        with cols[i % len(cols)]:
            st.markdown(f"**{cls}** · {o['count']}")
            if o["strip"] is not None:
                st.image(o["strip"])
    return set_id, {c: o["count"] for c, o in overview.items()}, val_split


# --- 2. backbone ---------------------------------------------------------------------------
_RUNS: list[RunRecord] | None = None  # the store's runs, read once per script run


def _runs() -> list[RunRecord]:
    global _RUNS
    if _RUNS is None:
        _RUNS = store().list_runs()
    return _RUNS


def _source_runs() -> dict[str, RunRecord]:
    """Finished runs that trained an image model from scratch: backbones ``run:<id>``."""
    out = {}
    for rec in _runs():
        shape = run_input_shape(rec.params)
        if rec.status == "FINISHED" and rec.params.get("kind", "train") == "train" and shape:
            out[f"{RUN_PREFIX}{rec.run_id}"] = rec
    return out


@st.cache_data(show_spinner=False)
def _keras_cost(name: str) -> dict[str, Any]:
    from playground.zoo.summaries import summary_of
    try:
        return summary_of(f"keras:{name}")
    except Exception:  # noqa: BLE001  figures are a courtesy: no figures, no failure
        return {}


def _backbone_label(key: str, runs: dict[str, RunRecord]) -> str:
    if key in runs:
        rec = runs[key]
        best = rec.metrics.get("best_val_accuracy")
        return (f"Your run: {rec.name} ({key[len(RUN_PREFIX):][:8]}"
                + (f", {best:.0%}" if best is not None else "") + ")")
    s = _keras_cost(key)
    if s:
        return f"{key} · {format_count(s['params'])} params · {format_count(s['macs'])} MACs"
    return key


def _backbone_side() -> int:
    """The input side the chosen backbone will get (from the widgets' last values)."""
    ss = st.session_state
    key = ss.get("tl_backbone") or "MobileNetV2"
    if key.startswith(RUN_PREFIX):
        rec = _source_runs().get(key)
        shape = run_input_shape(rec.params) if rec else None
        return shape[0] if shape else WORKING_SIDE
    return int(ss.get(f"tl_size_{key}") or default_size(key))


def _weights_file() -> tuple[str | None, str | None]:
    """The weights-file uploader; returns (saved path, error)."""
    up = st.file_uploader("Weights file (.weights.h5 or .h5) for this backbone without its top",
                          type=["h5"], key="tl_weights_upload")
    if up is None:
        return None, "Upload a weights file, or pick ImageNet or random initialisation."
    data = up.getvalue()
    if not data:
        return None, f"**weights file {short_name(up.name)!r}**: is an empty file"
    if data[:8] != b"\x89HDF\r\n\x1a\n":
        return None, (f"**weights file {short_name(up.name)!r}**: is not an HDF5 file (a "
                      "Keras weights file starts with the HDF5 signature)")
    folder = data_dir() / "weights"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_weights_name(up.name, data)
    if not path.exists():
        path.write_bytes(data)
    st.caption(f"Saved as {path.name}; it is loaded into the backbone when the run starts.")
    return str(path), None


def _backbone_step() -> tuple[dict[str, Any], str | None]:
    """Step 2; returns (transfer_config keyword arguments, blocking error)."""
    ss = st.session_state
    st.subheader("2 · Backbone", anchor="backbone")
    runs = _source_runs()
    options = keras_backbones() + list(runs)
    if ss.get("tl_backbone") not in options:
        ss["tl_backbone"] = "MobileNetV2"
    pick, cost = st.columns([2, 3], gap="large")
    with pick:
        key = st.selectbox("Pretrained model", options, key="tl_backbone",
                           format_func=lambda k: _backbone_label(k, runs),
                           help="The 18 Keras Applications of the lecture, and every finished "
                                "run of this app (its model without its head).")
    blocked = None
    weights = "none"
    if key in runs:
        rec = runs[key]
        shape = run_input_shape(rec.params) or (WORKING_SIDE, WORKING_SIDE, 3)
        side = shape[0]
        with cost:
            m = st.columns(3)
            m[0].metric("Parameters", format_count(float(rec.params.get("cost.params") or 0)))
            m[1].metric("MACs / image", format_count(float(rec.params.get("cost.macs") or 0)))
            m[2].metric("Input", "×".join(map(str, shape)))
            st.caption(f"Trained in this app on {rec.params.get('dataset', '?')}; its own weights "
                       f"and input size ({side}×{side}) are used.")
        weights = "run"
    else:
        s = _keras_cost(key)
        native = default_size(key)
        sizes = sorted({v for v in SIZES + (native,) if max(32, MIN_SIDE.get(key, 32)) <= v})
        with pick:
            side = st.select_slider(
                "Image size (pixels a side)", sizes, value=native, key=f"tl_size_{key}",
                help=f"{key} was trained at {native}×{native}. Smaller is much faster on a CPU "
                     "(cost grows with the pixel count); larger sees more detail.")
            choice = st.radio("Weights", list(WEIGHTS), format_func=WEIGHTS.get,
                              horizontal=True, key="tl_weights")
        with cost:
            m = st.columns(3)
            if s:
                m[0].metric("Parameters", format_count(s["params"]),
                            help="With its ImageNet classifier; the new head replaces it.")
                m[1].metric(f"MACs at {side}×{side}",
                            format_count(scaled_macs(s["macs"], native, side)),
                            help=f"{format_count(s['macs'])} at the default {native}×{native}.")
            m[2].metric("Default input", f"{native}×{native}")
            if side < native:
                st.caption(f"At {side}×{side} a forward pass costs about "
                           f"{(side / native) ** 2:.0%} of the default.")
            if choice == "imagenet":
                st.caption("ImageNet weights come through Keras' own loader and cache; without "
                           "a network the run stops with a message naming the file to place.")
        if choice == "file":
            with pick:
                weights, blocked = _weights_file()
            if blocked and weights is None and "**" in blocked:
                pick.error(blocked, icon=":material/error:")
        else:
            weights = choice

    st.markdown("###### Training")
    a, b, c = st.columns(3, gap="large")
    with a:
        epochs = int(st.number_input("Head epochs (frozen backbone)", 1, 500, 20,
                                     key="tl_epochs", help="Cheap: the head trains on "
                                     "features computed once."))
        fine_layers = st.slider("Fine-tune the top N layers", 0, 100, 0, key="tl_ft_layers",
                                help="0 = train only the new head on the frozen backbone. "
                                     "Batch-norm layers always stay frozen.")
    with b:
        ft_epochs = int(st.number_input("Fine-tune epochs", 1, 200, 3, key="tl_ft_epochs",
                                        disabled=fine_layers == 0))
        ft_lr = st.select_slider("Fine-tune learning rate",
                                 [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3], value=1e-5,
                                 key="tl_ft_lr", format_func=lambda v: f"{v:g}",
                                 disabled=fine_layers == 0)
    with c:
        flip = st.checkbox("Random horizontal flip", value=True, key="tl_flip")
        translate = st.slider("Random shift (fraction)", 0.0, 0.3, 0.0, 0.05, key="tl_translate")
        rotate = st.slider("Random rotation (fraction of a turn)", 0.0, 0.25, 0.0, 0.05,
                           key="tl_rotate")
    with st.expander("More options: head, batch, augmented copies, seed"):
        d, e, f, g = st.columns(4)
        lr = d.select_slider("Head learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=3e-3,
                             key="tl_lr", format_func=lambda v: f"{v:g}")
        batch = int(e.number_input("Batch size", 1, 1024, 32, key="tl_batch"))
        dropout = f.slider("Dropout before the head", 0.0, 0.8, 0.2, 0.1, key="tl_dropout")
        copies = int(g.number_input("Augmented copies per image", 0, 16, 1, key="tl_copies",
                                    help="Feature cache: each training image's features are "
                                         "computed once, plus this many augmented variants."))
        seed = int(d.number_input("Seed", value=0, step=1, key="tl_seed"))
        cache = e.checkbox("Reuse cached features", value=True, key="tl_cache")
        run_name = st.text_input("Run name", key="tl_run_name", placeholder="default: "
                                 "<backbone> on <image set>")
    kwargs = dict(backbone=key, weights=weights, epochs=epochs, batch_size=batch,
                  learning_rate=float(lr), flip=flip, translate=float(translate),
                  rotate=float(rotate), seed=seed, fine_tune_layers=int(fine_layers),
                  fine_tune_epochs=ft_epochs, fine_tune_lr=float(ft_lr), dropout=float(dropout),
                  aug_copies=copies, feature_cache=bool(cache), name=run_name.strip(),
                  image_size=None if key in runs else int(side), _side=int(side))
    return kwargs, blocked


# --- 3. train ------------------------------------------------------------------------------
def set_for_side(set_id: str, side: int) -> str:
    """The image set at side x side: itself, a resized copy made before, or a new copy."""
    info = saved_info(set_id)
    if list(info["shape"][:2]) == [side, side]:
        return set_id
    for other in list_saved():
        meta = other.get("meta", {})
        if meta.get("resized_from") == set_id and list(other["shape"][:2]) == [side, side]:
            return other["id"]
    x, y, names = load_arrays(set_id)
    return save_images(resize_images(x, side), y, names, f"{info['name']} ({side}px)",
                       {"resized_from": set_id})


def make_config(kwargs: dict[str, Any], set_id: str, val_split: float) -> TrainConfig:
    """The transfer run's config from the form (SpecError naming the first wrong option)."""
    from playground.transfer.recipe import check, transfer_config
    kwargs = dict(kwargs)
    side = kwargs.pop("_side")
    backbone = kwargs["backbone"]
    label = backbone
    if backbone.startswith(RUN_PREFIX):
        rec = _source_runs().get(backbone)
        label = f"{rec.name if rec else 'run ' + backbone[len(RUN_PREFIX):][:8]} (transfer)"
    name = kwargs.pop("name") or f"{label} on {saved_info(set_id)['name']}"
    if backbone.startswith(RUN_PREFIX):
        kwargs["weights"] = "none"  # a run backbone brings its own trained weights
    config = transfer_config(upload_id=set_for_side(set_id, side), val_split=val_split,
                             name=name, **kwargs)
    config.validate()
    check(config)
    return config


def _launch(config: TrainConfig) -> None:
    from playground.train.worker import launch
    try:
        run_id = launch(config, store())
    except SpecError as e:
        st.session_state["tl_launch_error"] = _err(e)
        return
    global _RUNS
    _RUNS = None  # the new run is in the store: read the runs again
    st.session_state["tl_run"] = run_id
    st.session_state.pop("tl_launch_error", None)
    st.toast(f"Started run {run_id[:8]}", icon=":material/play_arrow:")


def _retry_without_imagenet(run_id: str) -> None:
    """Launch the failed run's config again with weights 'none' (a button callback)."""
    try:
        config = TrainConfig.from_dict(json.loads((store().run_dir(run_id) / "config.json")
                                                  .read_text()))
    except (OSError, ValueError, SpecError) as e:
        st.session_state["tl_launch_error"] = f"The failed run's settings cannot be read: {e}"
        return
    _launch(config.with_(extra={**config.extra, "weights": "none"},
                         name=(config.name or "transfer") + " (random init)"))


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60} min {seconds % 60:02d} s"


def _live(rec: RunRecord) -> None:
    """Progress of one active run: phase, epoch and step bars, ETA, curves."""
    p = store().progress(rec.run_id)
    with st.container(border=True, key=f"tl_live_{rec.run_id}"):
        head, button = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"{STATUS_ICON.get(rec.status, '')} **{rec.name}** · "
                      f"{p.get('phase') or rec.status.lower()} · `{rec.run_id[:8]}`")
        if button.button("Cancel", key=f"tl_cancel_{rec.run_id}", icon=":material/stop:",
                         width="stretch"):
            store().cancel(rec.run_id)
            st.toast(f"Cancelling {rec.name}")
        shown = live_progress(rec, p, {
            "preparing": "Preparing...", "loading backbone": "Loading the backbone...",
            "computing features": "Computing the backbone's features once per image (the "
                                  "feature cache)..."})
        if shown is None:
            return
        epoch, step, steps, done, epochs = shown
        m = st.columns(4)
        m[0].metric("ETA", _duration(p.get("eta_s")))
        ips = p.get("images_per_s")
        m[1].metric("Images / s", f"{ips:,.0f}" if ips else "-")
        m[2].metric("Loss", f"{p['loss']:.4f}" if p.get("loss") is not None else "-")
        m[3].metric("Accuracy", f"{p['accuracy']:.1%}" if p.get("accuracy") is not None
                    else "-")
        history = store().history(rec.run_id, ("loss", "val_loss", "accuracy", "val_accuracy"))
        if any(history.get(k) for k in ("loss", "val_loss")):
            st.plotly_chart(curves_figure(history, None, None, epochs, height=280),
                            width="stretch", key=f"tl_live_curves_{rec.run_id}")


def _transfer_runs(runs: list[RunRecord] | None = None) -> list[RunRecord]:
    return [r for r in (store().list_runs() if runs is None else runs)
            if r.params.get("kind") == "transfer"]


def _live_section(active_at_start: bool) -> None:
    @st.fragment(run_every=LIVE_EVERY_S if active_at_start else None)
    def live() -> None:
        ss = st.session_state
        active = [r for r in _transfer_runs() if r.active]
        now = {r.run_id for r in active}
        if (active_at_start and not now) or (now and not active_at_start):
            if ss.get("tl_run") and ss["tl_run"] not in now:
                ss["tl_result_focus"] = ss["tl_run"]
            st.rerun()  # the whole page: the outcome and results, and polling on or off
        for rec in active:
            _live(rec)

    live()


def _outcome(runs: list[RunRecord]) -> None:
    """The last run this session started, once it has ended: failed, stopped or finished."""
    ss = st.session_state
    rec = next((r for r in runs if r.run_id == ss.get("tl_run")), None)
    if rec is None or rec.active:
        return
    if rec.status == "FAILED":
        st.error(f"**The run failed**: {rec.error or 'no error message was recorded'}",
                 icon=":material/error:")
        try:
            extra = json.loads((store().run_dir(rec.run_id) / "config.json").read_text())["extra"]
        except (OSError, ValueError, KeyError, TypeError):
            extra = {}
        if isinstance(extra, dict) and extra.get("weights") == "imagenet":
            st.button("Retry from random initialisation (weights 'none')", key="tl_retry",
                      icon=":material/refresh:", on_click=_retry_without_imagenet,
                      args=(rec.run_id,))
    elif rec.status == "KILLED":
        st.warning(f"**Stopped before the end**: {rec.error or 'cancelled'}",
                   icon=":material/cancel:")
    elif rec.status == "FINISHED":
        acc = rec.metrics.get("best_val_accuracy")
        st.success(f"**{rec.name}** finished" + (f": {acc:.1%} best validation accuracy"
                                                 if acc is not None else "")
                   + ". Its results are below.", icon=":material/check_circle:")


def _train_step(kwargs: dict[str, Any], blocked: str | None, set_id: str | None,
                val_split: float) -> None:
    ss = st.session_state
    st.subheader("3 · Train", anchor="train")
    reason = blocked or (None if set_id else "Use some images first (step 1).")
    col, note = st.columns([1, 4], vertical_alignment="center")
    pressed = col.button("Train", type="primary", icon=":material/play_arrow:", key="tl_train",
                         disabled=reason is not None, width="stretch")
    note.caption(reason if reason and "**" not in reason else
                 "Runs in a background process, like the Train page; it shows on the "
                 "Leaderboard as a transfer run. Closing the tab does not stop it.")
    if pressed and set_id:
        try:
            with st.spinner("Preparing the image set for the backbone..."):
                config = make_config(kwargs, set_id, val_split)
        except SpecError as e:
            ss["tl_launch_error"] = _err(e)
        else:
            _launch(config)
    if ss.get("tl_launch_error"):
        st.error(ss["tl_launch_error"], icon=":material/error:")
    runs = _transfer_runs(_runs())
    _live_section(any(r.active for r in runs))
    _outcome(runs)


# --- 4. results ----------------------------------------------------------------------------
def _json(run_id: str, name: str) -> dict[str, Any] | None:
    text = store().artifact_text(run_id, name)
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


@st.cache_resource(show_spinner=False, max_entries=4)
def validation_images(run_id: str) -> np.ndarray | None:
    """The run's validation images, in the order of its predictions.json (same split)."""
    from playground.train.job import load_dataset
    config_text = store().artifact_text(run_id, "config.json")
    meta = _json(run_id, "transfer.json")
    if not config_text or meta is None:
        return None
    config = TrainConfig.from_dict(json.loads(config_text))
    ds = load_dataset(config.with_(dataset_options=meta["dataset_options"]))
    return ds.x_val


@st.cache_resource(show_spinner=False, max_entries=2)
def _predictor(run_id: str) -> Any:
    from playground.transfer.predict import load_predictor
    return load_predictor(run_id, store())


def _misclassified(run_id: str, cm: dict[str, Any], preds: dict[str, Any] | None) -> None:
    """The clickable confusion matrix and the images of the chosen (true, predicted) cell."""
    ss = st.session_state
    names = [str(n) for n in cm["class_names"]]
    k = len(names)
    pair_key = (f"tl_true_{run_id}", f"tl_pred_{run_id}")
    worst = confusions(cm["matrix"])
    if pair_key[0] not in ss:
        t, p = (worst[0][0], worst[0][1]) if worst else (0, 0)
        ss[pair_key[0]], ss[pair_key[1]] = t, p
    left, right = st.columns([2, 3], gap="large")
    with left:
        sel = (ss[pair_key[0]], ss[pair_key[1]])
        event = st.plotly_chart(confusion_click_figure(cm, sel), width="stretch",
                                on_select="rerun", selection_mode="points",
                                key=f"tl_cm_{run_id}", config={"displayModeBar": False})
        clicked = selected_cell(event)
        if clicked is not None and clicked != ss.get("tl_cm_seen"):
            ss["tl_cm_seen"] = clicked
            ss[pair_key[0]], ss[pair_key[1]] = clicked
            st.rerun()
        st.caption("Click a cell to see its images (or pick the pair on the right).")
    with right:
        a, b = st.columns(2)
        t = a.selectbox("True class", range(k), format_func=lambda i: names[i], key=pair_key[0])
        p = b.selectbox("Predicted class", range(k), format_func=lambda i: names[i],
                        key=pair_key[1])
        if preds is None:
            st.info("This run has no saved predictions.")
            return
        idx = cell_indices(preds["y_true"], preds["y_pred"], t, p)
        what = "correctly classified" if t == p else "misclassified"
        st.markdown(f"**{len(idx)}** validation image(s) of *{names[t]}* predicted as "
                    f"*{names[p]}* ({what})")
        if not idx:
            if not worst:
                st.success("No validation image is misclassified.", icon=":material/check:")
            return
        try:
            x_val = validation_images(run_id)
        except Exception as e:  # noqa: BLE001  a deleted image set, a changed data folder
            st.warning(f"The validation images cannot be loaded again: {first_line(e, 200)}")
            return
        if x_val is None or len(x_val) != len(preds["y_true"]):
            st.warning("The validation images of this run are not available any more.")
            return
        top_p = preds.get("top_p") or []
        st.image(thumbnail_strip(x_val[idx[:24]], n=24, size=72, columns=6))
        if top_p:
            conf = [top_p[i][0] for i in idx[:24]]
            st.caption(f"Showing {min(24, len(idx))} of {len(idx)}; the model's confidence "
                       f"in its top class: {min(conf):.0%} to {max(conf):.0%}.")


def _predict_section(run_id: str) -> None:
    st.markdown("###### Try it on new images")
    ups = st.file_uploader("Images to classify", accept_multiple_files=True,
                           key=f"tl_predict_{run_id}",
                           help="Each image gets its top-3 classes and a Grad-CAM heat map of "
                                "where the model looked.")
    if not ups:
        return
    try:
        with st.spinner("Loading the model..."):
            predictor = _predictor(run_id)
    except SpecError as e:
        st.error(_err(e), icon=":material/error:")
        return
    except Exception as e:  # noqa: BLE001  a damaged artifact: say so, keep the page working
        st.error(f"The model of this run cannot be loaded: {first_line(e, 200)}",
                 icon=":material/error:")
        return
    from PIL import Image
    from playground.transfer.predict import overlay

    def big(a: np.ndarray, show: int = 200) -> np.ndarray:
        return np.asarray(Image.fromarray(a).resize((show, show), Image.Resampling.BILINEAR))

    for up in ups[:12]:
        with st.container(border=True):
            try:
                img = predictor.decode(up.getvalue(), up.name)
            except SpecError as e:
                st.error(_err(e), icon=":material/error:")
                continue
            try:
                pred = predictor.predict(img[None], k=3)[0]
            except Exception as e:  # noqa: BLE001
                st.error(f"**{short_name(up.name)}**: the model could not predict on it "
                         f"({first_line(e, 200)})", icon=":material/error:")
                continue
            rgb = img if img.shape[-1] == 3 else np.repeat(img, 3, axis=-1)
            a, b, c = st.columns([1, 1, 1.4], gap="medium")
            a.image(big(rgb), caption=short_name(up.name, 40))
            b.image(big(overlay(rgb, pred.heatmap)), caption="Grad-CAM: where it looked")
            with c:
                st.markdown(f"**{pred.top[0][0]}**")
                for cls, prob in pred.top:
                    st.progress(min(1.0, max(0.0, prob)), text=f"{cls} · {prob:.1%}")
    if len(ups) > 12:
        st.caption(f"Showing the first 12 of {len(ups)} images.")


def _downloads(rec: RunRecord) -> None:
    model = store().artifact_path(rec.run_id, "model.keras")
    script = store().artifact_text(rec.run_id, "predict.py")
    a, b, _ = st.columns([1, 1, 2])
    if model is not None and model.is_file():
        a.download_button("Download model (.keras)", model.read_bytes(),
                          file_name=f"transfer_{rec.run_id[:8]}.keras",
                          mime="application/octet-stream", icon=":material/download:",
                          key=f"tl_dl_model_{rec.run_id}", width="stretch")
    if script:
        b.download_button("Download predict.py", script, file_name="predict.py",
                          mime="text/x-python", icon=":material/code:",
                          key=f"tl_dl_script_{rec.run_id}", width="stretch")
    st.caption("`python predict.py model.keras photo.jpg` prints the top 3 classes; the model "
               "takes raw uint8 pixels (its preprocessing is inside).")


def _result_label(rec: RunRecord) -> str:
    when = dt.datetime.fromtimestamp(rec.start_time).strftime("%d %b %H:%M") \
        if rec.start_time else ""
    best = rec.metrics.get("best_val_accuracy")
    return f"{rec.name} · {best:.1%} · {when}" if best is not None else f"{rec.name} · {when}"


def _results_step(runs: list[RunRecord]) -> None:
    ss = st.session_state
    done = [r for r in runs if r.status == "FINISHED"]
    st.subheader("4 · Results", anchor="results")
    if not done:
        st.caption("The results of a finished transfer run show here.")
        return
    ids = [r.run_id for r in done]
    focus = ss.pop("tl_result_focus", None)
    if focus in ids:
        ss["tl_result"] = focus
    if ss.get("tl_result") not in ids:
        ss["tl_result"] = ids[0]
    by_id = {r.run_id: r for r in done}
    pick, _ = st.columns([3, 2])
    run_id = pick.selectbox("Finished transfer run", ids, key="tl_result",
                            format_func=lambda i: _result_label(by_id[i]))
    rec = by_id[run_id]
    m, p = rec.metrics, rec.params
    backbone = p.get("backbone", "?")
    if backbone.startswith(RUN_PREFIX):
        source = next((r for r in _runs() if r.run_id == backbone[len(RUN_PREFIX):]), None)
        backbone = f"your run {source.name if source else ''} ({backbone[len(RUN_PREFIX):][:8]})"
    weights = p.get("weights", "")
    weights = "" if weights in ("", backbone) or p.get("backbone", "").startswith(RUN_PREFIX) \
        else f" · weights: {short_name(weights.rsplit('/', 1)[-1], 40)}"
    st.caption(f"Backbone: **{backbone}**{weights} · input {p.get('data.input_shape', '?')} · "
               f"{format_count(float(p['cost.macs']))} MACs per image" if p.get("cost.macs")
               else f"Backbone: **{backbone}**{weights}")
    cols = st.columns(4)
    best = m.get("best_val_accuracy")
    cols[0].metric("Best val accuracy", f"{best:.1%}" if best is not None else "-")
    cols[1].metric("Epochs", f"{int(m.get('epochs_done', 0))}")
    cols[2].metric("Train time", _duration(m.get("train_seconds")))
    cols[3].metric("Images (train / val)", f"{p.get('data.train', '?')} / {p.get('data.val', '?')}")
    history = store().history(run_id, CURVE_KEYS)
    cm = _json(run_id, "confusion_matrix.json")
    left, right = st.columns([3, 2], gap="large")
    epochs = None
    try:
        epochs = int(m.get("epochs_done")) or None
    except (TypeError, ValueError):
        pass
    history.pop("batch_loss", None)  # head steps run over features and augmented copies
    left.plotly_chart(curves_figure(history, None, epochs=epochs, height=320),
                      width="stretch", key=f"tl_curves_{run_id}")
    if cm is not None:
        right.plotly_chart(per_class_figure(cm, height=320), width="stretch",
                           key=f"tl_per_class_{run_id}", config={"displayModeBar": False})
        _misclassified(run_id, cm, _json(run_id, "predictions.json"))
    else:
        right.info("This run saved no confusion matrix.")
    _predict_section(run_id)
    _downloads(rec)


def page() -> None:
    _state()
    st.title("Transfer learning")
    require_store()
    st.caption("Your own images, a pretrained ConvNet, a new head: train in minutes and see what "
               "each backbone costs. Four steps, top to bottom.")
    set_id, _counts, val_split = _images_step()
    st.divider()
    kwargs, blocked = _backbone_step()
    st.divider()
    _train_step(kwargs, blocked, set_id, val_split)
    st.divider()
    _results_step(_transfer_runs(_runs()))


freeze_import_heap()
page()
