"""Measurements in the run store, and measuring in a fresh process.

A measurement is an MLflow run with recipe ``measure`` in an experiment of its own
(:data:`MEASURE_EXPERIMENT`, same tracking store as the training runs), so training views
(Train page, Leaderboard table, ``python -m playground runs``) list only training runs while the
Leaderboard, the Zoo and the Compare page read measurements beside them. Params name the
architecture, batch, input and the machine (``machine.key`` and its fields); metrics hold the
headline figures; the whole result is the ``measure.json`` artifact.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from playground.errors import SpecError, first_line
from playground.paths import data_dir
from playground.store import RunStore

__all__ = ["MEASURE_EXPERIMENT", "RECIPE", "measure_store", "save", "rows", "result_of",
           "latest_by_architecture", "machines", "with_latency", "this_machine", "local_latest",
           "measure_subprocess", "METRICS"]

MEASURE_EXPERIMENT = "playground-measure"
RECIPE = "measure"
ROOT = Path(__file__).resolve().parents[2]
# result key -> metric name (all at step 0)
METRICS = ("latency_ms", "latency_p90_ms", "latency_spread", "images_per_s", "train_step_ms",
           "train_step_p90_ms", "train_images_per_s", "ms_per_gmac")
MEMORY_METRICS = ("inference_bytes", "training_bytes", "estimate_inference_bytes",
                  "estimate_training_bytes", "inference_ratio", "training_ratio")


def measure_store(uri: str | None = None) -> RunStore:
    """The measurements' run store (the training runs' tracking URI, its own experiment)."""
    return RunStore(uri, experiment=MEASURE_EXPERIMENT)


def save(result: Mapping[str, Any], store: RunStore | None = None) -> str:
    """Record one measurement (:func:`playground.measure.runner.measure_target`'s result) as a
    finished ``measure`` run; returns its run id."""
    store = store or measure_store()
    m = result["machine"]
    params = {"recipe": RECIPE, "architecture": result["architecture"],
              "batch": result["batch"], "input": "x".join(map(str, _flat(result["input_shape"]))),
              "device": result["device"], "backend": m["backend"], "compile": result["compile"],
              "xla": result.get("xla", "auto"), "cost.macs": result["macs"],
              "cost.params": result["params"],
              **{f"machine.{k}": v for k, v in m.items() if v is not None}}
    run_id = store.create_run(f"{result['architecture']} (batch {result['batch']})", params,
                              tags={"playground.recipe": RECIPE, "machine.key": m["key"]})
    metrics = {k: result.get(k) for k in METRICS}
    metrics.update({f"memory.{k}": result["memory"].get(k) for k in MEMORY_METRICS})
    store.log_metrics(run_id, {k: v for k, v in metrics.items() if isinstance(v, (int, float))}, 0)
    store.log_text(run_id, json.dumps(result, default=str), "measure.json")
    store.finish(run_id, "FINISHED")
    _remember(result, run_id)
    return run_id


def _index_path(machine_key: str) -> Path:
    folder = data_dir() / "measure"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"latest-{machine_key}.json"


def _remember(result: Mapping[str, Any], run_id: str) -> None:
    """Keep this machine's newest latency per architecture and batch in a small file beside the
    roofline cache, so the Zoo shows its measured column without a tracking-store query."""
    path = _index_path(result["machine"]["key"])
    try:
        index = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        index = {}
    index[f"{result['architecture']}|{result['batch']}"] = {
        "architecture": result["architecture"], "batch": result["batch"], "run_id": run_id,
        "latency_ms": result["latency_ms"], "images_per_s": result["images_per_s"],
        "measured_at": result.get("measured_at")}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index, indent=1))
    tmp.replace(path)


def local_latest(machine_key: str, batch: int = 1) -> dict[str, dict[str, Any]]:
    """This host's newest measurement per architecture at ``batch`` on ``machine_key`` (from
    the file :func:`save` keeps; the run store stays the record)."""
    try:
        index = json.loads(_index_path(machine_key).read_text())
    except (OSError, ValueError):
        return {}
    return {v["architecture"]: v for v in index.values() if v.get("batch") == batch}


def _flat(shape: Any) -> list:
    return list(shape[0]) if shape and isinstance(shape[0], (list, tuple)) else list(shape)


def rows(store: RunStore | None = None) -> list[dict[str, Any]]:
    """Every finished measurement, newest first, as flat rows (figures, machine key and label)."""
    store = store or measure_store()
    if _absent(store):
        return []
    out = []
    for rec in store.list_runs(reconcile=False):
        if rec.status != "FINISHED" or rec.params.get("recipe") != RECIPE:
            continue
        p, m = rec.params, rec.metrics
        out.append({
            "run_id": rec.run_id, "architecture": p.get("architecture", ""),
            "batch": int(p.get("batch") or 1), "input": p.get("input", ""),
            "device": p.get("device", ""), "backend": p.get("backend", ""),
            "compile": p.get("compile", ""), "machine_key": p.get("machine.key", ""),
            "machine": p.get("machine.label", ""), "macs": _num(p.get("cost.macs")),
            "params": _num(p.get("cost.params")), "started": rec.start_time,
            **{k: m.get(k) for k in METRICS},
            **{f"memory_{k}": m.get(f"memory.{k}") for k in MEMORY_METRICS}})
    return out


def _absent(store: RunStore) -> bool:
    """Whether nothing was ever measured into ``store`` (reading creates nothing): no tracking
    file yet, or no measurement experiment in it."""
    from playground.store import _retry
    if store.uri.startswith("sqlite:///") and not Path(store.uri[len("sqlite:///"):]).exists():
        return True
    try:
        return _retry(lambda: store.client.get_experiment_by_name(store.experiment)) is None
    except Exception:  # noqa: BLE001  an unusable store: the caller's own queries will say so
        return False


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def result_of(run_id: str, store: RunStore | None = None) -> dict[str, Any] | None:
    """The whole result of one measurement (per-layer rows and roofline included)."""
    doc = (store or measure_store()).artifact_json(run_id, "measure.json")
    return doc if isinstance(doc, dict) else None


def latest_by_architecture(items: Iterable[Mapping[str, Any]], machine_key: str | None = None,
                           batch: int | None = None) -> dict[str, dict[str, Any]]:
    """The newest measurement of each architecture (on ``machine_key`` / at ``batch`` when
    given); ``items`` newest first, as :func:`rows` gives them."""
    out: dict[str, dict[str, Any]] = {}
    for r in items:
        if machine_key and r.get("machine_key") != machine_key:
            continue
        if batch is not None and r.get("batch") != batch:
            continue
        out.setdefault(r["architecture"], dict(r))
    return out


def machines(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """``(key, label, measurements)`` of every machine measured, the most measured first."""
    seen: dict[str, list] = {}
    for r in items:
        entry = seen.setdefault(r.get("machine_key", ""), [r.get("machine", ""), 0])
        entry[1] += 1
    return sorted(((k, v[0], v[1]) for k, v in seen.items()), key=lambda t: (-t[2], t[1]))


def with_latency(items: Iterable[Mapping[str, Any]],
                 measured: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Leaderboard rows with their architecture's measurement beside them: ``latency_ms``,
    ``latency_batch``, ``measured_images_per_s`` (None where the architecture is unmeasured)."""
    out = []
    for r in items:
        m = measured.get(str(r.get("architecture") or ""))
        out.append({**r, "latency_ms": m.get("latency_ms") if m else None,
                    "latency_batch": m.get("batch") if m else None,
                    "measured_images_per_s": m.get("images_per_s") if m else None})
    return out


def this_machine() -> dict[str, Any]:
    """This machine as the pages measure it: the default backend of a new run (JAX on a GPU
    machine when installed, else TensorFlow), on the GPU when there is one. Imports no
    framework."""
    from playground.measure.machine import machine_info
    from playground.train.config import default_backend, gpu_present
    backend = default_backend()
    return machine_info(backend, "gpu" if gpu_present() and backend != "torch" else "cpu")


def _spec_file(spec: Any) -> Path:
    folder = data_dir() / "measure" / "specs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.key()}.json"
    if not path.exists():
        path.write_text(spec.to_json())
    return path


def measure_subprocess(target: Any, batch: int = 1, *, layers: bool = True,
                       device: str = "auto", backend: str | None = None, store: bool = True,
                       refresh_roofline: bool = False, timeout: float = 900) -> dict[str, Any]:
    """Measure in a fresh ``python -m playground measure`` process and return its result
    (with ``run_id`` when stored). ``target``: a zoo name, a spec or .keras file path, or an
    :class:`playground.spec.ArchSpec` (written to the data folder first). SpecError with the
    command's one-line error when it fails."""
    arg = target if isinstance(target, (str, Path)) else str(_spec_file(target))
    cmd = [sys.executable, "-m", "playground", "measure", str(arg), "--batch", str(int(batch)),
           "--device", device, "--json"]
    if not layers:
        cmd.append("--no-layers")
    if not store:
        cmd.append("--no-store")
    if refresh_roofline:
        cmd.append("--refresh-roofline")
    if backend:
        cmd += ["--backend", backend]
    env = dict(os.environ, PLAYGROUND_DATA=str(data_dir()),
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    name = getattr(target, "name", str(target))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(ROOT), stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise SpecError(f"measuring '{name}'", f"did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
        msg = lines[-1] if lines else f"exited with status {proc.returncode}"
        raise SpecError(f"measuring '{name}'", first_line(msg.removeprefix("error: "), 300))
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise SpecError(f"measuring '{name}'", "printed no result (see the command's output)"
                        ) from None
