"""Which machine a measurement was taken on: CPU model and cores, memory, the GPU (when the
measurement ran on one), the Keras backend and the versions that shape its speed.

:func:`machine_info` reads ``/proc`` and package metadata only (no framework import), so pages
can ask for this machine's key on every run; :func:`visible_device` asks the imported backend
whether it sees a GPU (the measuring process calls it once Keras is loaded).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["machine_info", "machine_key", "machine_label", "cpu_model", "gpu_name",
           "visible_device", "KEY_FIELDS"]

# the fields that make two measurements comparable (the key hashes these)
KEY_FIELDS = ("cpu", "cores", "memory_gb", "gpu", "device", "backend", "backend_version", "keras")


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _memory_gb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20)
    except (OSError, ValueError, IndexError):
        pass
    return None


@lru_cache(maxsize=1)
def gpu_name() -> str | None:
    """The first NVIDIA GPU's name from ``nvidia-smi`` (None without one or without the tool)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in out.splitlines() if line.strip()]
    return names[0] if names else None


# distributions that may provide a module (tried before scanning every installed distribution)
_DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly"),
                  "torch": ("torch",), "jax": ("jax",)}


@lru_cache(maxsize=8)
def _version(module: str) -> str:
    """The installed version of the distribution that provides ``module`` (``tensorflow`` may
    come as ``tensorflow-cpu``)."""
    for name in _DISTRIBUTIONS.get(module, (module,)):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    try:
        names = importlib.metadata.packages_distributions().get(module, [])
    except Exception:  # noqa: BLE001
        names = []
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "?"


def visible_device() -> str:
    """``"gpu"`` when the imported Keras backend sees a GPU, else ``"cpu"`` (imports Keras)."""
    import keras
    backend = keras.config.backend()
    try:
        if backend == "jax":
            import jax
            return "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
        if backend == "tensorflow":
            import tensorflow as tf
            return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
        if backend == "torch":
            import torch
            return "gpu" if torch.cuda.is_available() else "cpu"
    except Exception:  # noqa: BLE001  a broken driver: measure on the CPU
        return "cpu"
    return "cpu"


def machine_info(backend: str | None = None, device: str = "cpu") -> dict[str, Any]:
    """This machine as a measurement sees it; ``backend`` defaults to ``$KERAS_BACKEND``, the GPU
    is named only when ``device`` is ``"gpu"``. Includes ``key`` and ``label``."""
    backend = backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    info: dict[str, Any] = {
        "cpu": cpu_model(), "cores": _cores(), "memory_gb": _memory_gb(),
        "gpu": gpu_name() if device == "gpu" else None, "device": device,
        "backend": backend, "backend_version": _version(backend), "keras": _version("keras"),
        "numpy": _version("numpy"), "python": platform.python_version(),
        "host": platform.node(),
    }
    info["key"] = machine_key(info)
    info["label"] = machine_label(info)
    return info


def machine_key(info: dict[str, Any]) -> str:
    """A short stable id of the fields in :data:`KEY_FIELDS` (same hardware, backend and
    versions: same key, on any host)."""
    text = json.dumps({k: info.get(k) for k in KEY_FIELDS}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def machine_label(info: dict[str, Any]) -> str:
    """``"AMD EPYC x2 cores, CPU, tensorflow 2.21.0, keras 3.15.1"``: the key in words."""
    where = info.get("gpu") if info.get("device") == "gpu" and info.get("gpu") else "CPU"
    return (f"{info.get('cpu')} x{info.get('cores')} cores, {where}, {info.get('backend')} "
            f"{info.get('backend_version')}, keras {info.get('keras')}")
