"""What a run leaves behind: its facts (backend, device, cost, data sizes), and after training
the kept model's validation predictions, confusion matrix, sanity warnings and the model file,
all in the run store (no run folder is read or written)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from playground.store import WARNINGS_TAG, RunStore
from playground.train.config import TrainConfig
from playground.train.fitting import device_name
from playground.train.guards import run_warnings


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y_true.astype(int), y_pred.astype(int)), 1)
    return m


def log_run_facts(store: RunStore, run_id: str, config: TrainConfig, ds: Any,
                  cost: dict[str, Any]) -> None:
    """Backend, device, cost figures and data facts: the run's parameters known only now."""
    import keras
    store.log_params(run_id, {
        "backend": keras.backend.backend(), "device": device_name(config),
        "cost.params": cost["params"], "cost.macs": cost["macs"], "cost.flops": cost["flops"],
        "data.train": len(ds.x_train), "data.val": len(ds.x_val),
        "data.input_shape": "x".join(map(str, ds.input_shape)), "data.classes": ds.num_classes,
        "keras_version": keras.__version__})


def finish_artifacts(model: Any, ds: Any, config: TrainConfig, store: RunStore, run_id: str,
                     history: list[dict[str, float]], cost: dict[str, Any]) -> dict[str, Any]:
    """Final validation predictions, confusion matrix, the model file; the run's summary."""
    probs = np.asarray(model.predict(ds.x_val, batch_size=max(config.batch_size, 64), verbose=0))
    pred = np.argmax(probs, axis=-1)
    cm = confusion_matrix(ds.y_val, pred, ds.num_classes)
    val_acc = float(np.trace(cm) / max(1, cm.sum()))
    per_class = (np.diag(cm) / np.maximum(cm.sum(axis=1), 1)).tolist()
    cm_doc = {"class_names": list(ds.class_names), "matrix": cm.tolist(),
              "val_accuracy": val_acc, "per_class_accuracy": per_class}
    top = np.argsort(-probs, axis=-1)[:, :3]
    preds_doc = {"class_names": list(ds.class_names), "y_true": ds.y_val.tolist(),
                 "y_pred": pred.tolist(), "top_k": top.tolist(),
                 "top_p": np.take_along_axis(probs, top, axis=-1).round(4).tolist()}
    for name, doc in (("confusion_matrix.json", cm_doc), ("predictions.json", preds_doc)):
        store.log_text(run_id, json.dumps(doc), name)
    with tempfile.TemporaryDirectory(prefix="playground-model-") as tmp:
        model_path = Path(tmp) / "model.keras"
        model.save(model_path)
        store.log_file(run_id, model_path)
    last = history[-1] if history else {}
    final = {"final_val_accuracy": val_acc}
    store.log_metrics(run_id, final, len(history))
    warnings = run_warnings(history, ds.num_classes, len(ds.y_val), val_acc)
    if warnings:
        store.set_tags(run_id, {WARNINGS_TAG: json.dumps(warnings)})
    summary = {k: last.get(k) for k in ("loss", "accuracy", "val_loss", "best_val_accuracy",
                                        "images_per_s", "train_seconds")}
    summary["first_step_seconds"] = history[0].get("first_step_seconds") if history else None
    summary.update(final, val_accuracy=val_acc, warnings=warnings)
    summary.update(epochs_done=len(history), params=cost["params"], macs=cost["macs"])
    return summary
