"""One measurement of one architecture: latency, training step, memory, per-layer time and the
roofline, as one JSON-ready dict (what the CLI prints, the run store keeps and the pages show).

The process measures on the device its environment gives it: the CLI hides GPUs before Keras is
imported for ``--device cpu``. A measurement is best taken in a fresh process (the pages start
``python -m playground measure`` for it: :func:`playground.measure.records.measure_subprocess`),
where nothing else competes for the memory high-water mark or the device's peak statistics.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from playground.errors import SpecError
from playground.measure.latency import time_inference, time_training
from playground.measure.layers import layer_times
from playground.measure.machine import machine_info, visible_device
from playground.measure.memory import PeakMemory, estimates
from playground.measure.roofline import classify, machine_roofline

__all__ = ["measure_target", "resolve_device"]


def resolve_device(device: str = "auto") -> str:
    """``"cpu"`` or ``"gpu"`` for a requested device; SpecError when a GPU is asked for and the
    loaded backend sees none."""
    seen = visible_device()
    if device == "auto":
        return seen
    if device == "gpu" and seen != "gpu":
        import keras
        raise SpecError("--device gpu", f"the {keras.config.backend()} backend sees no GPU on "
                        "this machine")
    if device not in ("cpu", "gpu"):
        raise SpecError("--device", f"must be auto, cpu or gpu, got {device!r}")
    return device


def _best_rate(per: dict[str, Any] | None, macs: int, model_ms: float) -> float:
    """The highest MAC rate anything achieved in this measurement (whole model, or a layer
    timed alone) less 5% for timer noise: a cached peak below it is out of date."""
    rates = [macs / (model_ms / 1e3)] if model_ms > 0 else []
    for r in (per or {}).get("layers") or []:
        if r.get("ms") and r.get("macs") and not r.get("small"):
            rates.append(r["macs"] * per.get("batch", 1) / (r["ms"] / 1e3))
    return 0.95 * max(rates, default=0.0)


def _ratio(measured: int | None, estimate: int) -> float | None:
    return measured / estimate if measured is not None and estimate > 0 else None


def measure_target(target: Any, batch: int = 1, *, device: str = "auto", xla: str = "auto",
                   layers: bool = True, repeats: int = 15, layer_repeats: int = 5,
                   layer_budget_s: float = 120.0, refresh_roofline: bool = False,
                   on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Measure a :class:`playground.targets.Target` at ``batch`` on this machine (see the
    module doc); ``layers=False`` skips the per-layer timing (the slowest part);
    ``refresh_roofline`` measures the machine's roofline again instead of reading its cache."""
    import keras
    from playground.cost import analyze
    if batch < 1:
        raise SpecError("--batch", f"must be a positive integer, got {batch}")
    began = time.time()
    phase = on_phase or (lambda _p: None)
    device = resolve_device(device)
    machine = machine_info(keras.config.backend(), device)
    phase("build")
    infer_mem = PeakMemory(device)
    with infer_mem:
        model = target.build()
        phase("inference")
        inf, mode = time_inference(model, batch, xla=xla, repeats=repeats)
    phase("train")
    train_mem = PeakMemory(device, baseline=infer_mem.baseline)
    with train_mem:
        train = time_training(model, batch, xla=xla, repeats=max(3, repeats * 2 // 3))
    phase("cost")
    report = analyze(model, 1, "adam")
    est = estimates(report, batch)
    result: dict[str, Any] = {
        "architecture": target.name, "input_shape": [list(t.shape[1:]) for t in model.inputs][0]
        if len(model.inputs) == 1 else [list(t.shape[1:]) for t in model.inputs],
        "batch": batch, "machine": machine, "device": device, "xla": xla,
        "compile": mode, "params": report.params, "macs": report.macs,
        "inference": inf.to_dict(), "train": train.to_dict(),
        "latency_ms": inf.median_ms, "latency_p90_ms": inf.p90_ms, "latency_spread": inf.spread,
        "images_per_s": batch / inf.median_ms * 1e3,
        "train_step_ms": train.median_ms, "train_step_p90_ms": train.p90_ms,
        "train_images_per_s": batch / train.median_ms * 1e3,
        "ms_per_gmac": inf.median_ms / (report.macs * batch / 1e9) if report.macs else None,
        "memory": {
            "device": infer_mem.device, "method": infer_mem.method,
            "inference_bytes": infer_mem.peak_bytes, "training_bytes": train_mem.peak_bytes,
            "estimate_inference_bytes": est["inference"],
            "estimate_training_bytes": est["training"],
            "inference_ratio": _ratio(infer_mem.peak_bytes, est["inference"]),
            "training_ratio": _ratio(train_mem.peak_bytes, est["training"])},
        "layers": None,
    }
    per = None
    if layers:
        phase("layers")
        per = layer_times(model, report, batch, xla=xla, repeats=layer_repeats,
                          budget_s=layer_budget_s)
        per["model_ms"] = inf.median_ms
    phase("roofline")
    roof = machine_roofline(machine, refresh=refresh_roofline,
                            at_least=_best_rate(per, report.macs * batch, inf.min_ms))
    result["roofline"] = roof
    if per is not None:
        classify(per["layers"], roof, batch)
        result["layers"] = per
    result["measured_at"] = began
    result["seconds"] = time.time() - began
    return result
