"""A finished transfer run's results, as the Transfer page's last step shows them: figures,
curves, the clickable confusion matrix with the images of the chosen cell, predictions with a
Grad-CAM heat map on new images, and the model and predict script to download."""
from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from playground.cost import format_count
from playground.data.images import short_name
from playground.data.resize import thumbnail_strip
from playground.errors import SpecError, first_line
from playground.store import RunRecord
from playground.train.config import TrainConfig
from playground.training_charts import CURVE_KEYS, curves_figure
from playground.transfer.backbones import RUN_PREFIX
from playground.transfer.results import (cell_indices, confusion_click_figure, confusions,
                                         per_class_figure, selected_cell)
from playground.ui.errors import show_error
from playground.ui.run_status import duration_text, result_label
from playground.ui.run_store import store

MAX_SHOWN = 24   # thumbnails of one confusion-matrix cell
MAX_PREDICT = 12  # images classified at once


@st.cache_resource(show_spinner=False, max_entries=4)
def validation_images(run_id: str) -> np.ndarray | None:
    """The run's validation images, in the order of its predictions.json (same split)."""
    from playground.train.fitting import load_dataset
    config, meta = store().run_config(run_id), store().artifact_json(run_id, "transfer.json")
    if config is None or meta is None:
        return None
    config = TrainConfig.from_dict(config)
    return load_dataset(config.with_(dataset_options=meta["dataset_options"])).x_val


@st.cache_resource(show_spinner=False, max_entries=2)
def _predictor(run_id: str) -> Any:
    from playground.transfer.predict import load_predictor
    return load_predictor(run_id, store())


def _cell_images(run_id: str, names: list[str], t: int, p: int, preds: dict[str, Any],
                 any_errors: bool) -> None:
    """The validation images of class ``t`` predicted ``p``."""
    idx = cell_indices(preds["y_true"], preds["y_pred"], t, p)
    what = "correctly classified" if t == p else "misclassified"
    st.markdown(f"**{len(idx)}** validation image(s) of *{names[t]}* predicted as "
                f"*{names[p]}* ({what})")
    if not idx:
        if not any_errors:
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
    st.image(thumbnail_strip(x_val[idx[:MAX_SHOWN]], n=MAX_SHOWN, size=72, columns=6))
    if top_p:
        conf = [top_p[i][0] for i in idx[:MAX_SHOWN]]
        st.caption(f"Showing {min(MAX_SHOWN, len(idx))} of {len(idx)}; the model's confidence "
                   f"in its top class: {min(conf):.0%} to {max(conf):.0%}.")


def misclassified(run_id: str, cm: dict[str, Any], preds: dict[str, Any] | None) -> None:
    """The clickable confusion matrix and the images of the chosen (true, predicted) cell."""
    ss = st.session_state
    names = [str(n) for n in cm["class_names"]]
    pair_key = (f"tl_true_{run_id}", f"tl_pred_{run_id}")
    worst = confusions(cm["matrix"])
    if pair_key[0] not in ss:
        ss[pair_key[0]], ss[pair_key[1]] = (worst[0][0], worst[0][1]) if worst else (0, 0)
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
        k = range(len(names))
        t = a.selectbox("True class", k, format_func=lambda i: names[i], key=pair_key[0])
        p = b.selectbox("Predicted class", k, format_func=lambda i: names[i], key=pair_key[1])
        if preds is None:
            st.info("This run has no saved predictions.")
            return
        _cell_images(run_id, names, t, p, preds, bool(worst))


def _predict_one(predictor: Any, up: Any) -> None:
    from PIL import Image
    from playground.transfer.predict import overlay

    def big(a: np.ndarray, show: int = 200) -> np.ndarray:
        return np.asarray(Image.fromarray(a).resize((show, show), Image.Resampling.BILINEAR))

    try:
        img = predictor.decode(up.getvalue(), up.name)
    except SpecError as e:
        show_error(e, icon=":material/error:")
        return
    try:
        pred = predictor.predict(img[None], k=3)[0]
    except Exception as e:  # noqa: BLE001
        st.error(f"**{short_name(up.name)}**: the model could not predict on it "
                 f"({first_line(e, 200)})", icon=":material/error:")
        return
    rgb = img if img.shape[-1] == 3 else np.repeat(img, 3, axis=-1)
    a, b, c = st.columns([1, 1, 1.4], gap="medium")
    a.image(big(rgb), caption=short_name(up.name, 40))
    b.image(big(overlay(rgb, pred.heatmap)), caption="Grad-CAM: where it looked")
    with c:
        st.markdown(f"**{pred.top[0][0]}**")
        for cls, prob in pred.top:
            st.progress(min(1.0, max(0.0, prob)), text=f"{cls} · {prob:.1%}")


def predict_section(run_id: str) -> None:
    """An uploader of new images; each gets its top-3 classes and a Grad-CAM heat map."""
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
        show_error(e, icon=":material/error:")
        return
    except Exception as e:  # noqa: BLE001  a damaged artifact: say so, keep the page working
        st.error(f"The model of this run cannot be loaded: {first_line(e, 200)}",
                 icon=":material/error:")
        return
    for up in ups[:MAX_PREDICT]:
        with st.container(border=True):
            _predict_one(predictor, up)
    if len(ups) > MAX_PREDICT:
        st.caption(f"Showing the first {MAX_PREDICT} of {len(ups)} images.")


def downloads(rec: RunRecord) -> None:
    """The trained model and a standalone predict script."""
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


def _backbone_caption(rec: RunRecord, runs: list[RunRecord]) -> str:
    p = rec.params
    backbone = p.get("backbone", "?")
    from_run = backbone.startswith(RUN_PREFIX)
    if from_run:
        source = next((r for r in runs if r.run_id == backbone[len(RUN_PREFIX):]), None)
        backbone = f"your run {source.name if source else ''} ({backbone[len(RUN_PREFIX):][:8]})"
    weights = p.get("weights", "")
    weights = "" if weights in ("", backbone) or from_run \
        else f" · weights: {short_name(weights.rsplit('/', 1)[-1], 40)}"
    if not p.get("cost.macs"):
        return f"Backbone: **{backbone}**{weights}"
    return (f"Backbone: **{backbone}**{weights} · input {p.get('data.input_shape', '?')} · "
            f"{format_count(float(p['cost.macs']))} MACs per image")


def results_step(transfer_runs: list[RunRecord], runs: list[RunRecord]) -> None:
    """Step 4: a finished transfer run picked (the one that just ended first) and its
    results; ``runs`` (every run) names a run backbone."""
    ss = st.session_state
    done = [r for r in transfer_runs if r.status == "FINISHED"]
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
                            format_func=lambda i: result_label(by_id[i], with_status=False))
    rec = by_id[run_id]
    m, p = rec.metrics, rec.params
    st.caption(_backbone_caption(rec, runs))
    if p.get("transfer.mode") == "from scratch":
        st.info("Random initialisation: there was nothing to transfer, so the whole network "
                "was trained from scratch on these images.", icon=":material/info:")
    for warning in rec.warnings:
        st.warning(warning, icon=":material/report:")
    cols = st.columns(4)
    acc = rec.val_accuracy
    cols[0].metric("Val accuracy", f"{acc:.1%}" if acc is not None else "-",
                   help="Of the model kept (the final one: saved, downloaded, used by the "
                   "confusion matrix and predictions) on the validation images.")
    cols[1].metric("Epochs", f"{int(m.get('epochs_done', 0))}")
    cols[2].metric("Train time", duration_text(m.get("train_seconds")))
    cols[3].metric("Images (train / val)", f"{p.get('data.train', '?')} / {p.get('data.val', '?')}")
    history = store().history(run_id, CURVE_KEYS)
    history.pop("batch_loss", None)  # head steps run over features and augmented copies
    cm = store().artifact_json(run_id, "confusion_matrix.json")
    left, right = st.columns([3, 2], gap="large")
    epochs = int(m["epochs_done"]) if m.get("epochs_done") else None
    left.plotly_chart(curves_figure(history, None, epochs=epochs, height=320),
                      width="stretch", key=f"tl_curves_{run_id}")
    if cm is not None:
        right.plotly_chart(per_class_figure(cm, height=320), width="stretch",
                           key=f"tl_per_class_{run_id}", config={"displayModeBar": False})
        misclassified(run_id, cm, store().artifact_json(run_id, "predictions.json"))
    else:
        right.info("This run saved no confusion matrix.")
    predict_section(run_id)
    downloads(rec)
