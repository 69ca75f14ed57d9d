"""Train: pick an architecture, a data set and a budget, press Train, and watch it learn.

The page never trains: :func:`playground.train.executors.submit` starts a background worker and the
live view below polls the run store (progress file, per-epoch metrics), so a run keeps going when
the tab closes and is found again on reload.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from playground._env import freeze_import_heap
from playground.cached import analyze_spec
from playground.cost import format_count
from playground.data import DATASETS
from playground.errors import SpecError
from playground.run_setup import builder_model_name, time_estimate, train_config
from playground.spec import ArchSpec
from playground.store import RunRecord
from playground.targets import spec_from_json_text
from playground.train.config import (DEFAULT_LR, DEFAULT_WEIGHT_DECAY, DEVICES, OPTIMIZERS,
                                     PRECISIONS, SCHEDULES, XLA, TrainConfig, default_backend,
                                     installed_backends)
from playground.train.executors import submit, where_runs
from playground.training_charts import CURVE_KEYS, confusion_figure, curves_figure, steps_per_epoch
from playground.ui.errors import error_text, show_error, show_failure
from playground.ui.live_runs import live_section
from playground.ui.router import ensure_routed
from playground.ui.run_status import duration_text, metric_text, result_label
from playground.ui.run_store import require_store, store
from playground.ui.dataset_options import dataset_options
from playground.ui.preflight import fit_line
from playground.zoo import ZOO
from playground.zoo.starter import QUICK_CNN

ensure_routed(__file__)
RECIPE = TrainConfig(target="")  # the page's defaults are the short-run recipe's

QUICK = "quick-cnn"
BUILDER = "@builder"
UPLOAD = "@upload"
RECENT = 30
# Data-set options that are training options here (the job passes them through).
SHARED_OPTIONS = ("val_split", "seed")


# --- the form ------------------------------------------------------------------------------
def _builder_spec() -> ArchSpec | None:
    """The Builder's model under the name it trains as ("resnet18 (edited)" once changed)."""
    session = st.session_state.get("builder")
    spec = getattr(session, "spec", None)
    return spec.replace(name=builder_model_name(spec)) if spec is not None and spec.blocks \
        else None


def _arch_label(key: str, builder: ArchSpec | None) -> str:
    if key == QUICK:
        return "quick-cnn: 3 small convs"
    if key == BUILDER:
        return f"The model in the Builder ({builder.name if builder else '?'})"
    if key == UPLOAD:
        return "Upload a spec JSON..."
    return f"{key} ({ZOO.get(key).family})"


def _choose_architecture() -> tuple[str, ArchSpec | None, str | None]:
    """The architecture widgets; returns (choice, spec or None, zoo target name or None)."""
    zoo = [n for n in ZOO.list() if ZOO.get(n).is_spec]
    builder = _builder_spec()
    options = ([BUILDER] if builder is not None else []) + [QUICK] + zoo + [UPLOAD]
    choice = st.selectbox("Architecture", options, key="train_arch",
                          format_func=lambda k: _arch_label(k, builder))
    if choice == QUICK:
        return choice, QUICK_CNN, None
    if choice == BUILDER:
        return choice, builder, None
    if choice == UPLOAD:
        up = st.file_uploader("Spec JSON", type=["json"], key="train_upload",
                              help="A spec saved from the Builder (Save, load and share).")
        if up is None:
            return choice, None, None
        try:
            return choice, spec_from_json_text(up.getvalue().decode("utf-8", "replace"),
                                               f"uploaded spec '{up.name}'"), None
        except SpecError as e:
            show_error(e)
            return choice, None, None
    return choice, ZOO.get(choice).spec(), choice


def _cost_preview(spec: ArchSpec | None, shape: Any) -> tuple[str | None, float | None]:
    """Params and MACs of the architecture as it will be trained; returns (an error text when
    the architecture cannot take this data, its MACs per image)."""
    if spec is None:
        st.info("Upload a spec JSON to train it.")
        return "no architecture", None
    if spec.head is None or spec.head.type == "no_head":
        msg = (f"**{spec.name}** has no classifier head: add one (e.g. a global-average-pool "
               "head) in the Builder before training it.")
        st.error(msg)
        return msg, None
    adapted = spec if shape is None else spec.with_input(*shape)
    try:
        with st.spinner("Measuring the architecture..."):
            report = analyze_spec(adapted)
    except SpecError as e:
        show_error(e, "This architecture does not fit the data: ")
        return error_text(e), None
    cols = st.columns(2)
    cols[0].metric("Parameters", format_count(report.params), help=f"{report.params:,}")
    cols[1].metric("MACs / image", format_count(report.macs), help=f"{report.macs:,}")
    where = "x".join(map(str, adapted.input_shape))
    st.caption(f"At the data's input {where}" + (f", {shape[1]} classes" if shape and shape[1]
                                                 else "") + ".")
    return None, float(report.macs)


def _form(runs: list[RunRecord]) -> tuple[dict[str, Any], str | None]:
    """Every widget of the job; returns (TrainConfig keyword arguments, blocking error)."""
    left, middle = st.columns(2, gap="large")
    with left:
        st.markdown("##### Model")
        choice, spec, target = _choose_architecture()
    with middle:
        st.markdown("##### Data")
        dataset = st.selectbox("Data set", DATASETS.list(), key="train_dataset",
                               format_func=lambda n: n + ("" if DATASETS.get(n).offline
                                                          else " (download)"))
        options = dataset_options(dataset, skip=SHARED_OPTIONS)
    with left:
        blocked, macs = _cost_preview(spec, DATASETS.get(dataset).shape(options))
    st.markdown("##### Budget and optimiser")
    c1, c2, c3, c4 = st.columns(4)
    epochs = int(c1.number_input("Epochs", 1, 10000, RECIPE.epochs, key="train_epochs"))
    budget = c2.number_input("Time budget (s)", 0, 7 * 86400, 0, step=30, key="train_budget",
                             help="Stop after this many seconds even if epochs remain "
                                  "(0 = no limit).")
    batch = int(c3.number_input("Batch size", 1, 65536, RECIPE.batch_size, key="train_batch"))
    optimizer = c4.selectbox("Optimizer", OPTIMIZERS, key="train_optimizer",
                             index=OPTIMIZERS.index(RECIPE.optimizer),
                             format_func=lambda o: {"sgd": "SGD + momentum", "adam": "Adam",
                                                    "adamw": "AdamW"}[o])
    c1, c2 = st.columns([1, 3], vertical_alignment="center")
    lr_text = c1.text_input("Learning rate", key=f"train_lr_{optimizer}",
                            value=str(DEFAULT_LR[optimizer]))
    estimate = c2.empty()  # filled once the validation split below is known
    with st.expander("Advanced: schedule, regularisation, augmentation, precision, device"):
        a, b, c, d = st.columns(2, gap="medium") + st.columns(2, gap="medium")  # fits 1024 px
        schedule = a.selectbox("LR schedule", SCHEDULES, key="train_schedule",
                               index=SCHEDULES.index(RECIPE.schedule))
        weight_decay = a.number_input("Weight decay", 0.0, 1.0,
                                      DEFAULT_WEIGHT_DECAY[optimizer], step=1e-4,
                                      format="%.4f", key=f"train_wd_{optimizer}")
        smoothing = a.number_input("Label smoothing", 0.0, 0.5, 0.0, step=0.05, format="%.2f",
                                   key="train_smoothing")
        momentum = a.number_input("Momentum (SGD)", 0.0, 0.999, 0.9, step=0.05, format="%.3f",
                                  key="train_momentum", disabled=optimizer != "sgd")
        flip = b.checkbox("Random horizontal flip", key="train_flip")
        translate = b.slider("Random translation (fraction)", 0.0, 0.5, 0.0, 0.05,
                             key="train_translate")
        rotate = b.slider("Random rotation (fraction of a turn)", 0.0, 0.5, 0.0, 0.05,
                          key="train_rotate")
        precision = c.selectbox("Precision", PRECISIONS, key="train_precision",
                                help="Mixed precision pays off on GPUs.")
        xla = c.selectbox("XLA compilation", XLA, key="train_xla")
        spe = int(c.number_input("Steps per execution", 1, 1000, 1, key="train_spe"))
        backends = installed_backends()
        backend = d.selectbox("Keras backend", backends, key="train_backend",
                              index=backends.index(default_backend()) if default_backend()
                              in backends else 0,
                              help="TensorFlow is fastest on CPU; JAX on a GPU (the default "
                              "there when installed)")
        device = d.selectbox("Device", DEVICES, key="train_device")
        seed = int(d.number_input("Seed", value=0, step=1, key="train_seed"))
        val_split = d.number_input("Validation split", 0.05, 0.9, 0.2, step=0.05, format="%.2f",
                                   key="train_val_split")
        run_name = st.text_input("Run name", key="train_name",
                                 placeholder="default: <architecture> on <data set>")
    if macs:
        estimate.caption(time_estimate(macs, DATASETS.get(dataset).count(options),
                                       float(val_split), epochs, runs))
    kwargs = dict(
        spec=spec.to_dict() if spec is not None and target is None else None,
        target=target or "", dataset=dataset, dataset_options=options, epochs=epochs,
        time_budget_s=float(budget) or None, batch_size=batch, optimizer=optimizer,
        learning_rate=lr_text, momentum=float(momentum), schedule=schedule,
        weight_decay=float(weight_decay), label_smoothing=float(smoothing), flip=flip,
        translate=float(translate), rotate=float(rotate), precision=precision, xla=xla,
        steps_per_execution=spe, seed=seed, val_split=float(val_split), backend=backend,
        device=device, name=run_name.strip())
    return kwargs, blocked


def _train_button(kwargs: dict[str, Any], blocked: str | None) -> bool:
    """The Train button and its note; True when it launched a run."""
    col, note = st.columns([1, 4], vertical_alignment="center")
    pressed = col.button("Train", type="primary", icon=":material/play_arrow:",
                         key="train_go", disabled=blocked is not None, width="stretch")
    note.caption(f"Runs {where_runs()}. Closing the tab does not stop it.")
    if not pressed:
        return False
    try:
        run_id = submit(train_config(kwargs), store())
    except SpecError as e:
        show_error(e)
        return False
    st.toast(f"Started run {run_id[:8]}", icon=":material/play_arrow:")
    return True


# --- live runs -----------------------------------------------------------------------------
def _focus_ended(ended: list[str], _active: set[str]) -> None:
    if ended:
        st.session_state["train_focus"] = ended[0]


# --- results -------------------------------------------------------------------------------
def _results(runs: list[RunRecord]) -> None:
    done = [r for r in runs if not r.active][:RECENT]
    if not done:
        return
    ss = st.session_state
    ids = [r.run_id for r in done]
    if "train_focus" in ss:
        ss["train_result"] = ss.pop("train_focus")
    if ss.get("train_result") not in ids:
        ss.pop("train_result", None)
    st.subheader("Results")
    by_id = {r.run_id: r for r in done}
    run_id = st.selectbox("Run", ids, format_func=lambda i: result_label(by_id[i]),
                          key="train_result", help="The most recent runs; the Leaderboard "
                          "page has all of them.")
    rec = by_id[run_id]
    if rec.status == "FAILED":
        show_failure("This run failed", rec.error or "no error message was recorded",
                     icon=":material/error:")
        tail = store().log_tail(rec.run_id, 30)
        if tail:
            with st.expander("Worker log (last lines)"):
                st.code(tail, language=None)
    elif rec.status == "KILLED":
        st.warning(f"**Stopped before the end**: {rec.error or 'cancelled'}",
                   icon=":material/cancel:")
    m, p = rec.metrics, rec.params
    cols = st.columns(3) + st.columns(3)  # two rows: six figures do not fit one at 1024 px
    for warning in rec.warnings:
        st.warning(warning, icon=":material/report:")
    cols[0].metric("Val accuracy", metric_text(rec.val_accuracy, "%"),
                   help="Of the model kept (the final one: saved, downloaded, used by the "
                   "confusion matrix and predictions) on the validation split.")
    cols[1].metric("Train accuracy", metric_text(m.get("accuracy"), "%"),
                   help="The last epoch's running accuracy on the training images.")
    cols[2].metric("Epochs", f"{int(m['epochs_done'])} / {p.get('epochs', '?')}"
                   if "epochs_done" in m else "-")
    cols[3].metric("Train time", duration_text(m.get("train_seconds")))
    cols[4].metric("Images / s", metric_text(m.get("images_per_s"), "rate"))
    macs = p.get("cost.macs")
    cols[5].metric("MACs / image", format_count(float(macs)) if macs else "-",
                   help=f"{format_count(float(p['cost.params']))} parameters"
                   if p.get("cost.params") else None)
    history = store().history(rec.run_id, CURVE_KEYS)
    if not any(history.get(k) for k in ("loss", "val_loss")):
        if rec.status == "FINISHED":
            st.info("This run logged no epochs.")
        return
    cm = store().artifact_json(rec.run_id, "confusion_matrix.json")
    epochs = int(p["epochs"]) if str(p.get("epochs", "")).isdigit() else None
    left, right = st.columns([3, 2]) if cm else (st.container(), None)
    left.plotly_chart(curves_figure(history, steps_per_epoch(p), epochs=epochs),
                      width="stretch", key="result_curves")
    if right is not None:
        right.plotly_chart(confusion_figure(cm), width="stretch", key="result_confusion")


def page() -> None:
    st.title("Train")
    require_store()
    st.caption("Pick an architecture, a data set and a budget; press Train. The run trains in "
               "a background process and lands on the Leaderboard.")
    runs = store().list_runs()
    kwargs, blocked = _form(runs)
    fit_line(kwargs)
    if _train_button(kwargs, blocked):
        runs = store().list_runs()  # with the new run
    st.divider()
    live_section(any(r.active for r in runs), "", {
        "preparing": "Preparing: loading the data and building the model"},
        title="Running", on_end=_focus_ended)
    _results(runs)
    if not runs:
        st.info("No runs yet: press Train; the estimate above says about how long it takes.")


freeze_import_heap()
page()
