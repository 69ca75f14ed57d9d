"""Memory measured beside the cost model's estimate, and the "will it fit" pre-flight.

Measured (:class:`PeakMemory`): on the CPU the process's resident set, its growth from a
baseline to its high-water mark while a block runs (Linux: ``VmHWM`` in ``/proc/self/status``,
reset through ``/proc/self/clear_refs`` so each block has its own peak; elsewhere
``resource.getrusage``'s lifetime peak, or psutil's current RSS when installed). On a GPU the
device allocator's own statistics (JAX ``memory_stats``, TensorFlow ``get_memory_info``): the peak
bytes in use above what was in use before the block.

Estimated (:func:`estimates`): inference = fp32 weights + the peak of live activations at the
batch (``playground.cost``); training = ``CostReport.training_memory`` (weights, gradients,
optimizer state, saved activations). The ratio measured / estimated says how much the framework
adds (workspace, compiled programs, allocator caches) or saves (fused, in-place ops).

Free memory (:func:`free_memory`): ``MemAvailable`` from ``/proc/meminfo`` on the CPU;
``nvidia-smi``'s free memory of the first GPU (no framework import).
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PeakMemory", "current_rss", "peak_rss", "reset_peak", "device_memory",
           "estimates", "free_memory", "Fit", "fit_check", "training_fit", "fit_text",
           "HEADROOM"]

# the fraction of the free memory a training run may plan to use (the estimate leaves out the
# framework's own workspace and caches)
HEADROOM = 0.8


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def current_rss() -> int | None:
    """The process's resident set size in bytes (None when it cannot be read)."""
    rss = _status_kb("VmRSS")
    if rss is not None:
        return rss
    try:
        import psutil  # type: ignore[import-not-found]
        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001  not installed / not permitted
        return None


def peak_rss() -> int | None:
    """The process's resident-set high-water mark in bytes (since the last :func:`reset_peak`
    on Linux; since the process started elsewhere)."""
    hwm = _status_kb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def reset_peak() -> bool:
    """Reset the high-water mark to the current resident set (Linux 4.0+); False when the
    kernel does not allow it (the peak then covers the whole process life)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def device_memory() -> dict[str, int] | None:
    """``{"in_use", "peak"}`` (and ``"limit"`` when known) in bytes of the first GPU the Keras
    backend uses; None on the CPU or when the backend keeps no statistics."""
    import keras
    backend = keras.config.backend()
    try:
        if backend == "jax":
            import jax
            dev = jax.devices()[0]
            if dev.platform == "cpu":
                return None
            stats = dev.memory_stats() or {}
            if "bytes_in_use" not in stats:
                return None
            return {"in_use": int(stats["bytes_in_use"]),
                    "peak": int(stats.get("peak_bytes_in_use", stats["bytes_in_use"])),
                    "limit": int(stats.get("bytes_limit", 0))}
        if backend == "tensorflow":
            import tensorflow as tf
            if not tf.config.list_physical_devices("GPU"):
                return None
            info = tf.config.experimental.get_memory_info("GPU:0")
            return {"in_use": int(info["current"]), "peak": int(info["peak"])}
        if backend == "torch":
            import torch
            if not torch.cuda.is_available():
                return None
            return {"in_use": int(torch.cuda.memory_allocated()),
                    "peak": int(torch.cuda.max_memory_allocated())}
    except Exception:  # noqa: BLE001  statistics are optional
        return None
    return None


def _reset_device_peak() -> bool:
    import keras
    backend = keras.config.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf
            tf.config.experimental.reset_memory_stats("GPU:0")
            return True
        if backend == "torch":
            import torch
            torch.cuda.reset_peak_memory_stats()
            return True
    except Exception:  # noqa: BLE001
        return False
    return False  # JAX keeps one peak for the process: a fresh process measures best


class PeakMemory:
    """``with PeakMemory(device) as m: ...`` -> ``m.peak_bytes``: the peak memory the block
    added above ``baseline`` (the memory in use when the probe was created, or given)."""

    def __init__(self, device: str = "cpu", baseline: int | None = None) -> None:
        self.device = device
        self.method = ""
        self.peak_bytes: int | None = None
        if device == "gpu" and device_memory() is not None:
            self.baseline = baseline if baseline is not None else device_memory()["in_use"]
        else:
            self.device = "cpu"
            self.baseline = baseline if baseline is not None else (current_rss() or 0)

    def __enter__(self) -> "PeakMemory":
        if self.device == "gpu":
            reset = _reset_device_peak()
            self.method = "device allocator peak" + ("" if reset else " (process lifetime)")
        else:
            reset = reset_peak()
            self.method = ("process RSS high-water mark (VmHWM, reset)" if reset else
                           "process peak RSS since start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device == "gpu":
            stats = device_memory()
            peak = stats["peak"] if stats else None
        else:
            peak = peak_rss()
        # No rise at all (the process freed more than the block used, e.g. a collection of
        # earlier garbage under a tiny model) is "not measurable here", not a peak of 0 bytes.
        self.peak_bytes = None if peak is None or peak <= self.baseline else peak - self.baseline


def estimates(report: Any, batch: int) -> dict[str, int]:
    """The cost model's memory estimate at ``batch`` in bytes: ``inference`` (fp32 weights +
    peak live activations) and ``training`` (weights, gradients, optimizer state, saved
    activations)."""
    r = report.at_batch(batch)
    return {"inference": int(r.weight_bytes["fp32"] + r.peak_activation_bytes),
            "training": int(r.training_memory["total"])}


def free_memory(device: str = "cpu") -> tuple[int | None, str]:
    """``(bytes, source)``: memory free for a new run on ``device`` (None when unknown)."""
    if device == "gpu":
        exe = shutil.which("nvidia-smi")
        if exe:
            try:
                out = subprocess.run([exe, "--query-gpu=memory.free", "--format=csv,noheader,"
                                      "nounits"], capture_output=True, text=True, timeout=10,
                                     check=False).stdout.split()
                if out:
                    return int(float(out[0])) * 2**20, "nvidia-smi free memory of GPU 0"
            except (OSError, subprocess.SubprocessError, ValueError):
                pass
        return None, "no GPU memory figure (nvidia-smi not found)"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024, "available RAM (/proc/meminfo)"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free RAM (sysconf)"
    except (ValueError, OSError, AttributeError):
        return None, "free memory unknown"


@dataclass
class Fit:
    """Whether a training run at ``batch`` fits: its estimate against the free memory."""

    batch: int
    device: str
    estimate_bytes: int
    free_bytes: int | None
    budget_bytes: int | None
    fits: bool | None
    max_batch: int | None
    fixed_bytes: int
    per_sample_bytes: int
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def fit_check(report: Any, batch: int, device: str = "cpu", free: int | None = None,
              headroom: float = HEADROOM) -> Fit:
    """The training memory estimate at ``batch`` against ``headroom`` x the free memory of
    ``device`` (``free`` overrides the reading), with the largest batch that fits: weights,
    gradients and optimizer state are fixed, saved activations grow with the batch."""
    source = "given"
    if free is None:
        free, source = free_memory(device)
    tm1 = report.at_batch(1).training_memory
    per_sample = int(tm1["activations"])
    fixed = int(tm1["total"] - tm1["activations"])
    estimate = fixed + per_sample * int(batch)
    if free is None:
        return Fit(batch, device, estimate, None, None, None, None, fixed, per_sample, source)
    budget = int(free * headroom)
    if fixed > budget:
        max_batch = 0
    elif per_sample <= 0:
        max_batch = None  # no activations: any batch
    else:
        max_batch = (budget - fixed) // per_sample
    return Fit(batch, device, estimate, int(free), budget, estimate <= budget, max_batch, fixed,
               per_sample, source)


def training_fit(values: dict[str, Any]) -> Fit | None:
    """The pre-flight of a training job described by TrainConfig keyword arguments (``spec``
    dict or zoo ``target``, ``dataset`` and ``dataset_options``, ``batch_size``, ``optimizer``,
    ``device``): the architecture at the data's input, its training memory estimate against the
    free memory. None when the architecture or data shape is not known yet."""
    from playground.cached import analyze_spec
    from playground.data import DATASETS
    from playground.spec import ArchSpec
    from playground.train.config import gpu_present
    from playground.zoo import ZOO
    if values.get("spec"):
        spec = ArchSpec.from_dict(values["spec"])
    elif values.get("target") in ZOO and ZOO.get(values["target"]).is_spec:
        spec = ZOO.get(values["target"]).spec()
    else:
        return None
    shape = DATASETS.get(values.get("dataset", "shapes")).shape(values.get("dataset_options"))
    if shape is not None:
        spec = spec.with_input(*shape)
    optimizer = {"sgd": "momentum"}.get(values.get("optimizer", "adam"),
                                        values.get("optimizer", "adam"))
    report = analyze_spec(spec, 1, optimizer)
    device = values.get("device", "auto")
    if device == "auto":
        device = "gpu" if gpu_present() else "cpu"
    return fit_check(report, int(values.get("batch_size", 32)), device)


def fit_text(fit: Fit) -> str:
    """One sentence: estimate vs free memory, and the largest batch that fits."""
    from playground.cost.formulas import format_bytes
    where = "GPU memory" if fit.device == "gpu" else "RAM"
    head = (f"Training at batch {fit.batch} needs about {format_bytes(fit.estimate_bytes)} "
            "(estimate: weights, gradients, optimizer state, saved activations)")
    if fit.free_bytes is None:
        return head + f"; free {where} is unknown here ({fit.source})."
    free = f"{format_bytes(fit.free_bytes)} of {where} available"
    if fit.max_batch is None:
        largest = "any batch fits"
    elif fit.max_batch == 0:
        largest = "even the weights and optimizer state alone do not fit"
    else:
        largest = f"the largest batch that fits is about {fit.max_batch:,}"
    verdict = "fits" if fit.fits else "does NOT fit"
    return (f"{head}; {free}: it {verdict} within {HEADROOM:.0%} of it, and {largest}.")
