"""Train: pick an architecture, a data set and a budget, press Train, and watch it learn.

The page never trains: :func:`playground.train.worker.launch` starts a background worker and the
live view below polls the run store (progress file, per-epoch metrics), so a run keeps going when
the tab closes and is found again on reload.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

import streamlit as st

from playground._env import freeze_import_heap
from playground.analysis import analyze_spec
from playground.cost import format_count
from playground.data import DATASETS
from playground.errors import SpecError
from playground.paths import data_dir
from playground.training_charts import CURVE_KEYS, confusion_figure, curves_figure, steps_per_epoch
from playground.spec import ArchSpec
from playground.store import RunRecord
from playground.targets import spec_from_json_text
from playground.train.config import (DEFAULT_LR, DEVICES, OPTIMIZERS, PRECISIONS, SCHEDULES, XLA,
                                     TrainConfig, default_backend,
                                     installed_backends)
from playground.train.worker import launch, max_jobs
from playground.zoo import ZOO
from playground.ui.router import ensure_routed
from playground.ui.run_store import STATUS_ICON, live_progress, require_store, store

ensure_routed(__file__)

QUICK_CNN = ArchSpec.from_dict({
    "name": "quick-cnn", "input_shape": [32, 32, 1],
    "blocks": [
        {"type": "conv", "name": "conv_1", "params": {"filters": 16, "kernel": 3}},
        {"type": "max_pool", "name": "pool_1", "params": {"size": 2}},
        {"type": "conv", "name": "conv_2", "params": {"filters": 32, "kernel": 3}},
        {"type": "max_pool", "name": "pool_2", "params": {"size": 2}},
        {"type": "conv", "name": "conv_3", "params": {"filters": 32, "kernel": 3}},
    ],
    "head": {"type": "gap_head", "params": {"classes": 3}},
})
QUICK = "quick-cnn"
BUILDER = "@builder"
UPLOAD = "@upload"
LIVE_EVERY_S = 1.0
RECENT = 30
# Data-set options that are training options here (the job passes them through).
SHARED_OPTIONS = ("val_split", "seed")
# The input shape and classes each data set gives (for the cost preview; files: at load).
FIXED_SHAPES = {"digits": ((8, 8, 1), 10), "mnist": ((28, 28, 1), 10),
                "fashion_mnist": ((28, 28, 1), 10), "cifar10": ((32, 32, 3), 10),
                "cifar100": ((32, 32, 3), 100)}


# --- the form ------------------------------------------------------------------------------
def _builder_spec() -> ArchSpec | None:
    session = st.session_state.get("builder")
    spec = getattr(session, "spec", None)
    return spec if spec is not None and spec.blocks else None


def _arch_label(key: str) -> str:
    if key == QUICK:
        return "quick-cnn: 3 small convs, trains in seconds"
    if key == BUILDER:
        spec = _builder_spec()
        return f"The model in the Builder ({spec.name if spec else '?'})"
    if key == UPLOAD:
        return "Upload a spec JSON..."
    return f"{key} ({ZOO.get(key).family})"


def _choose_architecture() -> tuple[str, ArchSpec | None, str | None]:
    """The architecture widgets; returns (choice, spec or None, zoo target name or None)."""
    zoo = [n for n in ZOO.list() if ZOO.get(n).is_spec]
    options = ([BUILDER] if _builder_spec() is not None else []) + [QUICK] + zoo + [UPLOAD]
    choice = st.selectbox("Architecture", options, format_func=_arch_label, key="train_arch")
    if choice == QUICK:
        return choice, QUICK_CNN, None
    if choice == BUILDER:
        return choice, _builder_spec(), None
    if choice == UPLOAD:
        up = st.file_uploader("Spec JSON", type=["json"], key="train_upload",
                              help="A spec saved from the Builder (Save, load and share).")
        if up is None:
            return choice, None, None
        try:
            return choice, spec_from_json_text(up.getvalue().decode("utf-8", "replace"),
                                               f"uploaded spec '{up.name}'"), None
        except SpecError as e:
            st.error(f"**{e.where}**: {e.rule}")
            return choice, None, None
    return choice, ZOO.get(choice).spec(), choice


def _save_upload(up: Any, kind: str) -> str:
    """Keep an uploaded zip/CSV under the data folder, named by its content hash (the name the
    browser sent is never used as a path)."""
    data = up.getvalue()
    folder = data_dir() / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:20]}.{kind}"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def _dataset_options(name: str) -> dict[str, Any]:
    """One widget per option of the data set (its defaults from the registry)."""
    info = DATASETS.get(name)
    st.caption(info.summary)
    keys = [k for k in info.options if k not in SHARED_OPTIONS]
    out: dict[str, Any] = {}
    if "path" in keys:
        kind = "zip" if name == "folder" else "csv"
        up = st.file_uploader(f"Upload a .{kind}", type=[kind], key=f"ds_{name}_upload",
                              help="One sub-folder per class inside the zip" if kind == "zip"
                              else "A header row, numeric feature columns and a label column")
        path = st.text_input("or a path on the server", key=f"ds_{name}_path",
                             placeholder="/path/to/" + ("images" if kind == "zip" else
                                                        "table.csv"))
        out["path"] = _save_upload(up, kind) if up is not None else path.strip()
        keys.remove("path")
    cols = st.columns(2)
    for i, key in enumerate(keys):
        default = info.options[key]
        wkey = f"ds_{name}_{key}"
        with cols[i % 2]:
            if isinstance(default, bool):
                out[key] = st.checkbox(key, value=default, key=wkey)
            elif isinstance(default, int):
                out[key] = int(st.number_input(key.replace("_", " "), value=default, step=1,
                                               key=wkey))
            elif isinstance(default, float):
                out[key] = float(st.number_input(key.replace("_", " "), value=default,
                                                 step=0.05, format="%.2f", key=wkey))
            elif key == "limit":
                n = int(st.number_input("limit (0 = all)", value=0, min_value=0, step=1000,
                                        key=wkey))
                if n:
                    out[key] = n
            else:
                text = st.text_input(key.replace("_", " "), value=default or "", key=wkey,
                                     placeholder="default")
                if text.strip():
                    out[key] = text.strip()
    return out


def data_shape(name: str, options: dict[str, Any]) -> tuple[tuple[int, ...], int | None] | None:
    """The (input shape, classes) a data set gives with these options, when known before it
    is loaded (None for a CSV table, whose width is only known from the file)."""
    if name == "shapes":
        size = int(options.get("image_size", 32))
        return (size, size, int(options.get("channels", 1))), int(options.get("classes", 3))
    if name in FIXED_SHAPES:
        return FIXED_SHAPES[name]
    if name == "folder":
        size = int(options.get("image_size", 64))
        return (size, size, 3), None
    return None


def _cost_preview(spec: ArchSpec | None, shape: Any) -> str | None:
    """Params and MACs of the architecture as it will be trained; returns an error text when
    the architecture cannot take this data."""
    if spec is None:
        st.info("Upload a spec JSON to train it.")
        return "no architecture"
    if spec.head is None or spec.head.type == "no_head":
        msg = (f"**{spec.name}** has no classifier head: add one (e.g. a global-average-pool "
               "head) in the Builder before training it.")
        st.error(msg)
        return msg
    adapted = spec if shape is None else spec.with_input(*shape)
    try:
        with st.spinner("Measuring the architecture..."):
            report = analyze_spec(adapted)
    except SpecError as e:
        msg = f"**{e.where}**: {e.rule}"
        st.error(f"This architecture does not fit the data: {msg}")
        return msg
    cols = st.columns(2)
    cols[0].metric("Parameters", format_count(report.params), help=f"{report.params:,}")
    cols[1].metric("MACs / image", format_count(report.macs), help=f"{report.macs:,}")
    where = "x".join(map(str, adapted.input_shape))
    st.caption(f"At the data's input {where}" + (f", {shape[1]} classes" if shape and shape[1]
                                                 else "") + ".")
    return None


def _float(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"training option '{option}'", f"must be a number like 0.001, got "
                        f"{text!r}") from None
    if not math.isfinite(value):
        raise SpecError(f"training option '{option}'", f"must be a finite number, got {text!r}")
    return value


def _form() -> tuple[dict[str, Any], str | None]:
    """Every widget of the job; returns (TrainConfig keyword arguments, blocking error)."""
    left, middle, right = st.columns([1.1, 1, 1], gap="large")
    with left:
        st.markdown("##### Model")
        choice, spec, target = _choose_architecture()
    with middle:
        st.markdown("##### Data")
        dataset = st.selectbox("Data set", DATASETS.list(), key="train_dataset",
                               format_func=lambda n: n + ("" if DATASETS.get(n).offline
                                                          else " (download)"))
        options = _dataset_options(dataset)
    with left:
        blocked = _cost_preview(spec, data_shape(dataset, options))
    with right:
        st.markdown("##### Budget and optimiser")
        c1, c2 = st.columns(2)
        epochs = int(c1.number_input("Epochs", 1, 10000, 10, key="train_epochs"))
        budget = c2.number_input("Time budget (s)", 0, 7 * 86400, 0, step=30, key="train_budget",
                                 help="Stop after this many seconds even if epochs remain "
                                      "(0 = no limit).")
        batch = int(c1.number_input("Batch size", 1, 65536, 32, key="train_batch"))
        optimizer = c2.selectbox("Optimizer", OPTIMIZERS, key="train_optimizer",
                                 format_func=lambda o: {"sgd": "SGD + momentum", "adam": "Adam",
                                                        "adamw": "AdamW"}[o])
        lr_text = st.text_input("Learning rate", key=f"train_lr_{optimizer}",
                                value="0.003" if optimizer != "sgd" else str(DEFAULT_LR["sgd"]))
    with st.expander("Advanced: schedule, regularisation, augmentation, precision, device"):
        a, b, c, d = st.columns(4, gap="medium")
        schedule = a.selectbox("LR schedule", SCHEDULES, key="train_schedule")
        weight_decay = a.number_input("Weight decay", 0.0, 1.0, 0.0, step=1e-4, format="%.4f",
                                      key="train_wd")
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


def make_config(kwargs: dict[str, Any]) -> TrainConfig:
    """The validated job from the form's values (SpecError naming the first wrong one)."""
    kwargs = dict(kwargs)
    lr = str(kwargs.pop("learning_rate") or "").strip()
    kwargs["learning_rate"] = _float(lr, "learning_rate") if lr else None
    if kwargs["dataset"] in ("folder", "csv") and not kwargs["dataset_options"].get("path"):
        raise SpecError(f"data set '{kwargs['dataset']}'", "upload a file or give a path")
    return TrainConfig(**kwargs).validate()


def _train_button(kwargs: dict[str, Any], blocked: str | None) -> None:
    col, note = st.columns([1, 4], vertical_alignment="center")
    pressed = col.button("Train", type="primary", icon=":material/play_arrow:",
                         key="train_go", disabled=blocked is not None, width="stretch")
    slots = max_jobs()
    note.caption(f"Runs in a background process ({slots} job slot{'s' if slots > 1 else ''}; "
                 "more runs wait in a queue). Closing the tab does not stop it.")
    if not pressed:
        return
    try:
        config = make_config(kwargs)
        run_id = launch(config, store())
    except SpecError as e:
        st.error(f"**{e.where}**: {e.rule}")
        return
    st.toast(f"Started run {run_id[:8]}", icon=":material/play_arrow:")


# --- live runs -----------------------------------------------------------------------------
def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _fmt(value: float | None, kind: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if kind == "%":
        return f"{value:.1%}"
    if kind == "rate":
        return f"{value:,.0f}"
    return f"{value:.4f}"


def _history(run_id: str) -> dict[str, list[tuple[int, float]]]:
    return store().history(run_id, CURVE_KEYS)


def _live_run(rec: RunRecord) -> None:
    with st.container(border=True, key=f"live_{rec.run_id}"):
        head, button = st.columns([5, 1], vertical_alignment="center")
        p = store().progress(rec.run_id)
        icon = STATUS_ICON.get(rec.status, "")
        head.markdown(f"{icon} **{rec.name}** · {rec.status.lower()} · `{rec.run_id[:8]}`")
        if button.button("Cancel", key=f"cancel_{rec.run_id}", icon=":material/stop:",
                         width="stretch"):
            store().cancel(rec.run_id)
            st.toast(f"Cancelling {rec.name}")
        shown = live_progress(rec, p, {
            "preparing": "Preparing: loading the data and building the model"})
        if shown is None:
            return
        epoch, step, steps, done, epochs = shown
        m = st.columns(5)
        m[0].metric("Elapsed", _duration(p.get("elapsed_s")))
        m[1].metric("ETA", _duration(p.get("eta_s")))
        ips = p.get("images_per_s")
        if step < max(3, steps // 10) and rec.metrics.get("images_per_s"):
            ips = rec.metrics["images_per_s"]  # early in an epoch: the last epoch's figure
        m[2].metric("Images / s", _fmt(ips, "rate"))
        m[3].metric("Loss", _fmt(p.get("loss")))
        m[4].metric("Accuracy", _fmt(p.get("accuracy"), "%"))
        spe = int(steps) if steps else steps_per_epoch(rec.params)
        live = (done, p.get("loss"), p.get("accuracy")) if p.get("phase") == "train" else None
        st.plotly_chart(curves_figure(_history(rec.run_id), spe, live, epochs, height=300),
                        width="stretch", key=f"live_curves_{rec.run_id}")


def _live_section(active_at_start: bool) -> None:
    @st.fragment(run_every=LIVE_EVERY_S if active_at_start else None)
    def live() -> None:
        ss = st.session_state
        runs = store().list_runs()
        active = [r for r in runs if r.active]
        was = set(ss.get("train_live_ids", ()))
        now = {r.run_id for r in active}
        ss["train_live_ids"] = now
        ended = [r.run_id for r in runs if r.run_id in was - now]
        if ended or (now and not active_at_start) or (active_at_start and not now):
            if ended:
                ss["train_focus"] = ended[0]
            st.rerun()  # the whole page: results below, and the polling switched on or off
        if not active:
            return
        st.subheader("Running")
        for rec in active:
            _live_run(rec)

    live()


# --- results -------------------------------------------------------------------------------
def _result_label(rec: RunRecord) -> str:
    when = dt.datetime.fromtimestamp(rec.start_time).strftime("%d %b %H:%M") if rec.start_time \
        else ""
    best = rec.metrics.get("best_val_accuracy")
    score = f" · {best:.1%}" if best is not None and rec.status == "FINISHED" else ""
    return f"{rec.name} · {rec.status.lower()}{score} · {when}"


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
    pick, _ = st.columns([3, 2])
    run_id = pick.selectbox("Run", ids, format_func=lambda i: _result_label(by_id[i]),
                          key="train_result", help="The most recent runs; the Leaderboard "
                          "page has all of them.")
    rec = by_id[run_id]
    if rec.status == "FAILED":
        st.error(f"**This run failed**: {rec.error or 'no error message was recorded'}",
                 icon=":material/error:")
        tail = store().log_tail(rec.run_id, 30)
        if tail:
            with st.expander("Worker log (last lines)"):
                st.code(tail, language=None)
    elif rec.status == "KILLED":
        st.warning(f"**Stopped before the end**: {rec.error or 'cancelled'}",
                   icon=":material/cancel:")
    m, p = rec.metrics, rec.params
    cols = st.columns(6)
    cols[0].metric("Best val accuracy", _fmt(m.get("best_val_accuracy"), "%"))
    cols[1].metric("Final val accuracy", _fmt(m.get("final_val_accuracy",
                                                    m.get("val_accuracy")), "%"))
    cols[2].metric("Epochs", f"{int(m['epochs_done'])} / {p.get('epochs', '?')}"
                   if "epochs_done" in m else "-")
    cols[3].metric("Train time", _duration(m.get("train_seconds")))
    cols[4].metric("Images / s", _fmt(m.get("images_per_s"), "rate"))
    macs = p.get("cost.macs")
    cols[5].metric("MACs / image", format_count(float(macs)) if macs else "-",
                   help=f"{format_count(float(p['cost.params']))} parameters"
                   if p.get("cost.params") else None)
    history = _history(rec.run_id)
    if not any(history.get(k) for k in ("loss", "val_loss")):
        if rec.status == "FINISHED":
            st.info("This run logged no epochs.")
        return
    text = store().artifact_text(rec.run_id, "confusion_matrix.json")
    epochs = int(p["epochs"]) if str(p.get("epochs", "")).isdigit() else None
    left, right = st.columns([3, 2]) if text else (st.container(), None)
    left.plotly_chart(curves_figure(history, steps_per_epoch(p), epochs=epochs),
                      width="stretch", key="result_curves")
    if right is not None:
        try:
            right.plotly_chart(confusion_figure(json.loads(text)), width="stretch",
                               key="result_confusion")
        except ValueError:
            right.warning("The confusion matrix artifact is not readable JSON.")


def page() -> None:
    st.title("Train")
    require_store()
    st.caption("Pick an architecture, a data set and a budget; press Train. The run trains in "
               "a background process and lands on the Leaderboard.")
    kwargs, blocked = _form()
    _train_button(kwargs, blocked)
    st.divider()
    runs = store().list_runs()
    _live_section(any(r.active for r in runs))
    _results(runs)
    if not runs:
        st.info("No runs yet: the defaults above (quick-cnn on shapes) train in a few seconds.")


freeze_import_heap()
page()
