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

from typing import Any

import streamlit as st

from playground._env import freeze_import_heap
from playground.data.class_uploads import data_warnings, split_counts
from playground.data.saved import list_saved
from playground.errors import SpecError
from playground.run_setup import transfer_run_config, without_imagenet
from playground.store import RunRecord
from playground.train.config import TrainConfig
from playground.transfer.backbone_choice import backbone_runs
from playground.transfer.backbones import keras_backbones
from playground.ui import image_sets
from playground.ui.backbone_picker import (WORKING_SIDE, backbone_label, backbone_side,
                                           keras_backbone, run_backbone, show_backbone)
from playground.ui.errors import error_text, show_failure
from playground.ui.live_runs import live_section
from playground.ui.router import ensure_routed
from playground.ui.run_store import require_store, store
from playground.ui.transfer_results import results_step

ensure_routed(__file__)

WAITING = {"preparing": "Preparing...", "loading backbone": "Loading the backbone...",
           "computing features": "Computing the backbone's features once per image (the "
                                 "feature cache)..."}


# --- 1. images -----------------------------------------------------------------------------
def _images_step(side: int) -> tuple[str | None, float]:
    """Step 1; returns (image set id or None, the validation split)."""
    ss = st.session_state
    st.subheader("1 · Images", anchor="images")
    st.caption("Add a class per kind of thing to recognise and drop its images into it, or "
               "upload one zip with a folder per class. Nothing you upload is kept as a file: "
               "the images are decoded, resized and stored as an image set.")
    by_class, by_zip = st.tabs(["Classes and images", "One zip"])
    with by_class:
        class_items = image_sets.class_section()
    with by_zip:
        zips, zip_items = image_sets.zip_section()
    counts = image_sets.upload_counts(class_items, zip_items)
    for w in data_warnings(counts) if counts else ():
        st.warning(w, icon=":material/warning:")
    a, b = st.columns(2, vertical_alignment="bottom", gap="medium")
    set_name = image_sets.set_name_input(a, list(counts), zips)
    val_split = b.slider("Validation share", 0.1, 0.5, 0.2, 0.05, key="tl_val",
                         help="Held out from training (per class) to measure accuracy.")
    ready = len([n for n in counts.values() if n]) >= 2
    c, note = st.columns([1, 2], vertical_alignment="center", gap="medium")
    if c.button("Use these images", key="tl_use", type="primary", icon=":material/done:",
                disabled=not counts, width="stretch",
                help=None if ready else "Add at least two classes with images"):
        image_sets.use_images(zips, side, set_name.strip(), val_split)
    if counts:
        train_n, val_n = split_counts(counts, val_split)
        note.caption(f"{sum(counts.values())} images in {len(counts)} classes → about {train_n} "
                     f"for training and {val_n} for validation. Stored at {side}×{side} pixels.")
    image_sets.prepared_messages()

    sets = [s for s in list_saved() if not s.get("meta", {}).get("resized_from")]
    if not sets:
        return None, val_split
    ids = [s["id"] for s in sets]
    if ss.get("tl_set") not in ids:
        ss["tl_set"] = ids[0]
    labels = {s["id"]: image_sets.set_label(s) for s in sets}
    set_id = st.selectbox("Image set to train on", ids, format_func=labels.get, key="tl_set",
                          help="The set you just made, or one saved before.")
    try:
        overview = image_sets.set_overview(set_id)
    except (SpecError, OSError, ValueError) as e:
        st.error(f"This image set cannot be read: {e}", icon=":material/error:")
        return None, val_split
    cols = st.columns(min(4, len(overview)))
    for i, (cls, o) in enumerate(overview.items()):
        with cols[i % len(cols)]:
            st.markdown(f"**{cls}** · {o['count']}")
            if o["strip"] is not None:
                st.image(o["strip"])
    return set_id, val_split


# --- 2. backbone ---------------------------------------------------------------------------
def _training_options() -> dict[str, Any]:
    """Epochs, fine-tuning, augmentation and the more rarely changed options of the run."""
    st.markdown("###### Training")
    a, b, c = st.columns(3, gap="large")
    epochs = int(a.number_input(
        "Epochs", 1, 500, 20, key="tl_epochs",
        help="Of the new head on the frozen backbone (cheap: features are computed once); "
             "with random weights, of the whole network trained from scratch."))
    ft = a.select_slider(
        "Fine-tune the top N layers", ["auto", *range(0, 101)], value="auto", key="tl_ft_layers",
        help="After the head, unfreeze the top N layers with weights (batch norm stays frozen). "
             "auto: none for an ImageNet backbone, all of it for a model trained here.")
    out: dict[str, Any] = dict(epochs=epochs, fine_tune_layers=None if ft == "auto" else ft)
    ft_epochs = b.number_input("Fine-tune epochs", 1, 200, None, key="tl_ft_epochs",
                               placeholder="auto", disabled=ft == 0,
                               help="auto: 3 for an ImageNet backbone, 5 for your runs.")
    out["fine_tune_epochs"] = None if ft_epochs is None else int(ft_epochs)
    lr = b.select_slider(
        "Fine-tune learning rate", ["auto", 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3],
        value="auto", key="tl_ft_lr", format_func=lambda v: v if v == "auto" else f"{v:g}",
        disabled=ft == 0,
        help="auto: 1e-5 for an ImageNet backbone, 1e-4 for a model trained here.")
    out["fine_tune_lr"] = None if lr == "auto" else float(lr)
    out["flip"] = c.checkbox("Horizontal flip", value=True, key="tl_flip",
                             help="Each training image is flipped left-right at random.")
    out["translate"] = float(c.slider("Random shift (fraction)", 0.0, 0.3, 0.0, 0.05,
                                      key="tl_translate"))
    out["rotate"] = float(c.slider("Random rotation (fraction of a turn)", 0.0, 0.25, 0.0, 0.05,
                                   key="tl_rotate"))
    with st.expander("More options: head, batch, augmented copies, seed"):
        d, e, f, g = st.columns(2) + st.columns(2)  # four a row do not fit 1024 px
        out["learning_rate"] = float(d.select_slider(
            "Head learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=3e-3, key="tl_lr",
            format_func=lambda v: f"{v:g}"))
        out["batch_size"] = int(e.number_input("Batch size", 1, 1024, 32, key="tl_batch"))
        out["dropout"] = float(f.slider("Dropout before the head", 0.0, 0.8, 0.2, 0.1,
                                        key="tl_dropout"))
        out["aug_copies"] = int(g.number_input(
            "Augmented copies per image", 0, 16, 1, key="tl_copies",
            help="Feature cache: each training image's features are computed once, plus this "
                 "many augmented variants."))
        out["seed"] = int(d.number_input("Seed", value=0, step=1, key="tl_seed"))
        out["feature_cache"] = bool(e.checkbox("Reuse cached features", value=True,
                                               key="tl_cache"))
        out["name"] = st.text_input("Run name", key="tl_run_name",
                                    placeholder="default: <backbone> on <image set>").strip()
    return out


def _backbone_step(sources: dict[str, RunRecord]) -> tuple[dict[str, Any], int, str | None]:
    """Step 2; returns (transfer_config keyword arguments, input side, why Train is blocked:
    None when it is not, '' when the reason is shown in the step already)."""
    ss = st.session_state
    st.subheader("2 · Backbone", anchor="backbone")
    options = keras_backbones() + list(sources)
    if ss.get("tl_backbone") not in options:
        ss["tl_backbone"] = "MobileNetV2"
    pick, cost = st.columns(2, gap="large")
    with pick:
        key = st.selectbox("Pretrained model", options, key="tl_backbone",
                           format_func=lambda k: backbone_label(k, sources),
                           help="The 18 Keras Applications of the lecture, and every finished "
                                "run of this app (its model without its head).")
    if key in sources:
        with cost:
            side = run_backbone(sources[key])
        weights, blocked = "run", None
    else:
        side, weights, blocked = keras_backbone(key, pick, cost)
    kwargs = dict(backbone=key, weights=weights, image_size=None if key in sources else side,
                  **_training_options())
    return kwargs, side, blocked


# --- 3. train ------------------------------------------------------------------------------
def _transfer_runs(runs: list[RunRecord]) -> list[RunRecord]:
    return [r for r in runs if r.recipe == "transfer"]


def _launch(config: TrainConfig) -> bool:
    """Start the run in the background; False (and the error kept for the page) when not."""
    from playground.train.executors import submit
    try:
        run_id = submit(config, store())
    except SpecError as e:
        st.session_state["tl_launch_error"] = error_text(e)
        return False
    st.session_state["tl_run"] = run_id
    st.session_state.pop("tl_launch_error", None)
    st.toast(f"Started run {run_id[:8]}", icon=":material/play_arrow:")
    return True


def _retry_without_imagenet(run_id: str) -> None:
    """Launch the failed run's config again with weights 'none' (a button callback); the
    backbone widgets then show what runs."""
    doc = store().run_config(run_id)
    try:
        if doc is None:
            raise ValueError("no config.json in its run folder or artifacts")
        config = without_imagenet(TrainConfig.from_dict(doc))
    except (ValueError, TypeError) as e:
        st.session_state["tl_launch_error"] = f"The failed run's settings cannot be read: {e}"
        return
    if _launch(config):
        show_backbone(config.options)


def _run_options(run_id: str) -> dict:
    """A run's recipe options as it was created ({} when its config cannot be read)."""
    try:
        return TrainConfig.from_dict(store().run_config(run_id) or {}).options
    except (SpecError, TypeError):
        return {}


def _focus_ended(_ended: list[str], active: set[str]) -> None:
    ss = st.session_state
    if ss.get("tl_run") and ss["tl_run"] not in active:
        ss["tl_result_focus"] = ss["tl_run"]


def _outcome(runs: list[RunRecord]) -> None:
    """The last run this session started, once it has ended: failed, stopped or finished."""
    rec = next((r for r in runs if r.run_id == st.session_state.get("tl_run")), None)
    if rec is None or rec.active:
        return
    if rec.status == "FAILED":
        show_failure("The run failed", rec.error or "no error message was recorded",
                     icon=":material/error:")
        if _run_options(rec.run_id).get("weights") == "imagenet":
            st.button("Retry from random initialisation (weights 'none')", key="tl_retry",
                      icon=":material/refresh:", on_click=_retry_without_imagenet,
                      args=(rec.run_id,))
    elif rec.status == "KILLED":
        st.warning(f"**Stopped before the end**: {rec.error or 'cancelled'}",
                   icon=":material/cancel:")
    elif rec.status == "FINISHED":
        acc = rec.val_accuracy
        st.success(f"**{rec.name}** finished" + (f": {acc:.1%} validation accuracy"
                                                 if acc is not None else "")
                   + ". Its results are below.", icon=":material/check_circle:")


def _train_step(kwargs: dict[str, Any], side: int, blocked: str | None, runs: list[RunRecord],
                sources: dict[str, RunRecord], set_id: str | None, val_split: float
                ) -> list[RunRecord]:
    """Step 3; returns the store's runs as they are after it (a new run included)."""
    ss = st.session_state
    st.subheader("3 · Train", anchor="train")
    reason = blocked if blocked is not None else (
        None if set_id else "Use some images first (step 1).")
    col, note = st.columns([1, 4], vertical_alignment="center")
    pressed = col.button("Train", type="primary", icon=":material/play_arrow:", key="tl_train",
                         disabled=reason is not None, width="stretch")
    note.caption(reason or "Runs in a background process, like the Train page; it shows on "
                 "the Leaderboard as a transfer run. Closing the tab does not stop it.")
    if pressed and set_id:
        try:
            with st.spinner("Preparing the image set for the backbone..."):
                config = transfer_run_config(kwargs, set_id, val_split, side,
                                             sources.get(kwargs["backbone"]))
        except SpecError as e:
            ss["tl_launch_error"] = error_text(e)
        else:
            if _launch(config):
                runs = store().list_runs()  # with the new run
    if ss.get("tl_launch_error"):
        st.error(ss["tl_launch_error"], icon=":material/error:")
    transfer = _transfer_runs(runs)
    live_section(any(r.active for r in transfer), "tl_", WAITING,
                 select=lambda r: r.recipe == "transfer", batch_loss=False,
                 on_end=_focus_ended)
    _outcome(transfer)
    return runs


def page() -> None:
    image_sets.init_state()
    st.title("Transfer learning")
    require_store()
    st.caption("Your own images, a pretrained ConvNet, a new head: train in minutes and see what "
               "each backbone costs. Four steps, top to bottom.")
    runs = store().list_runs()
    sources = backbone_runs(runs)
    set_id, val_split = _images_step(max(WORKING_SIDE, backbone_side(sources)))
    st.divider()
    kwargs, side, blocked = _backbone_step(sources)
    st.divider()
    runs = _train_step(kwargs, side, blocked, runs, sources, set_id, val_split)
    st.divider()
    results_step(_transfer_runs(runs), runs)


freeze_import_heap()
page()
