"""This machine's roofline: its peak multiply-add rate and memory bandwidth, measured by two
micro-benchmarks through ``keras.ops`` (the backend and device the models run on), once per
machine (:mod:`playground.measure.machine` key) and cached in the data folder; NumPy's figures
(its BLAS matmul and an in-place add over the same arrays) are measured in the same run as a
check on them.

* Peak MAC rate: ``keras.ops.matmul`` of two N x N fp32 matrices (N^3 multiply-adds).
* Bandwidth: ``keras.ops.add(x, 1)`` over an fp32 array far larger than the caches (each
  element read once and written once: 8 bytes per element).

Both are peaks, so each figure comes from the fastest of its repeats (on a shared machine other
work only ever adds time); Keras and NumPy are treated alike. ``--refresh-roofline`` (CLI)
measures again, e.g. once the machine is quiet.

A layer's arithmetic intensity is its MACs per byte moved (fp32 inputs, outputs and weights at
the batch); above the machine's balance point (``ridge`` = peak MAC/s / bandwidth) the roofline
says it is compute-bound, below it memory-bound; its roofline time is the larger of MACs / peak
and bytes / bandwidth.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from playground.measure.timing import time_fn, wait
from playground.paths import data_dir

__all__ = ["micro_benchmarks", "machine_roofline", "classify", "cache_path", "SIZES"]

CACHE_VERSION = 1
# (matmul side N, bandwidth array elements) per device: a few seconds in all. On the CPU a
# 1024 matmul (~20 ms) leaves a busy machine more quiet moments to catch than a 2048 one.
SIZES = {"cpu": (1024, 2**26), "gpu": (8192, 2**28)}


def _keras_matmul(n: int, repeats: int) -> float:
    import keras
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32))
    b = keras.ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32))
    t = time_fn(lambda: keras.ops.matmul(a, b), warmup=1, repeats=repeats, budget_s=30)
    return n ** 3 / (t.min_ms / 1e3)


def _numpy_matmul(n: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    t = time_fn(lambda: a @ b, warmup=1, repeats=repeats, budget_s=30)
    return n ** 3 / (t.min_ms / 1e3)


def _keras_bandwidth(elements: int, repeats: int) -> float:
    import keras
    x = keras.ops.ones((elements,), dtype="float32")
    wait(x)
    t = time_fn(lambda: keras.ops.add(x, 1.0), warmup=1, repeats=repeats, budget_s=30)
    return 8 * elements / (t.min_ms / 1e3)


def _numpy_bandwidth(elements: int, repeats: int) -> float:
    a = np.ones(elements, dtype=np.float32)
    b = np.empty_like(a)
    t = time_fn(lambda: np.add(a, 1.0, out=b), warmup=1, repeats=repeats, budget_s=30)
    return 8 * elements / (t.min_ms / 1e3)


def micro_benchmarks(device: str = "cpu", n: int | None = None, elements: int | None = None,
                     repeats: int = 10) -> dict[str, Any]:
    """Run the two micro-benchmarks through Keras and NumPy in one go (figures per second)."""
    dn, de = SIZES.get(device, SIZES["cpu"])
    n, elements = n or dn, elements or de
    # NumPy runs on the host CPU: on a GPU machine it gets the CPU's sizes (a reference, not
    # a like-for-like check)
    np_n, np_elements = (n, elements) if device != "gpu" else SIZES["cpu"]
    start = time.perf_counter()
    macs = _keras_matmul(n, repeats)
    np_macs = _numpy_matmul(np_n, repeats)
    bw = _keras_bandwidth(elements, repeats)
    np_bw = _numpy_bandwidth(np_elements, repeats)
    return {"macs_per_s": macs, "bytes_per_s": bw, "ridge": macs / bw,
            "numpy_macs_per_s": np_macs, "numpy_bytes_per_s": np_bw,
            "macs_vs_numpy": macs / np_macs, "bytes_vs_numpy": bw / np_bw,
            "matmul_n": n, "array_bytes": 4 * elements, "numpy_matmul_n": np_n,
            "numpy_array_bytes": 4 * np_elements, "repeats": repeats, "device": device,
            "seconds": time.perf_counter() - start, "measured_at": time.time()}


def cache_path(machine: dict[str, Any]) -> Path:
    """Where this machine's roofline is kept (one file per machine key)."""
    folder = data_dir() / "measure"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"roofline-{machine['key']}.json"


def machine_roofline(machine: dict[str, Any], refresh: bool = False,
                     at_least: float | None = None, **sizes: Any) -> dict[str, Any]:
    """The roofline of ``machine`` (this process's machine: its backend must be loaded),
    measured once and then read from the cache. ``refresh`` measures again; so does a cached
    peak below ``at_least`` MAC/s (a model just ran faster than it: the cache was measured
    while the machine was busy). A new measurement replaces the cached one only when its peak
    is higher: a peak is the best the machine does, and noise only ever lowers it."""
    path = cache_path(machine)
    old = None
    if path.is_file():
        try:
            old = json.loads(path.read_text())
            if old.get("version") != CACHE_VERSION:
                old = None
        except (OSError, ValueError):
            old = None
    stale = old is not None and at_least is not None and old["macs_per_s"] < at_least
    if old is not None and not refresh and not stale:
        return {**old, "cached": True}
    doc = {**micro_benchmarks(machine.get("device", "cpu"), **sizes), "version": CACHE_VERSION,
           "machine": machine.get("key"), "label": machine.get("label")}
    if old is not None and old["macs_per_s"] >= doc["macs_per_s"]:
        return {**old, "cached": True, "remeasured_lower": doc["macs_per_s"]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
    return {**doc, "cached": False}


def classify(rows: list[dict[str, Any]], roof: dict[str, Any], batch: int
             ) -> list[dict[str, Any]]:
    """Add ``intensity`` (MACs per byte), ``bound`` (compute / memory), ``roof_ms`` (the
    roofline's time) and, for timed rows, ``achieved_macs_per_s`` and ``efficiency`` (roofline
    time / measured time) to each layer row (in place)."""
    peak, bw, ridge = roof["macs_per_s"], roof["bytes_per_s"], roof["ridge"]
    for r in rows:
        macs = (r.get("macs") or 0) * batch
        moved = r.get("bytes") or 0
        r["intensity"] = macs / moved if moved else None
        inten = r["intensity"]
        r["bound"] = "compute" if inten is not None and inten >= ridge else "memory"
        r["roof_ms"] = max(macs / peak, moved / bw) * 1e3
        ms = None if r.get("small") else r.get("ms")  # too small to time alone: no rate
        r["achieved_macs_per_s"] = macs / (ms / 1e3) if ms and macs else None
        r["efficiency"] = r["roof_ms"] / ms if ms else None
    return rows
