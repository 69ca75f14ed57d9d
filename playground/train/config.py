"""What a training run is asked to do: architecture, data set, budget and optimisation options.

One frozen dataclass, validated in one place, shared by the page, the CLI and the worker (which
reads it back from the run store), and logged to the run store as the run's parameters. The
recipe (``scratch``, ``transfer``) takes its own options from ``options``.
"""
from __future__ import annotations

import importlib.util
import math
import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from playground.errors import SpecError

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "one_cycle")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
XLA = ("auto", "on", "off")
DEVICES = ("auto", "cpu", "gpu")
BACKENDS = ("tensorflow", "jax", "torch")
# The short-run recipe (tuned so every zoo family learns the default data in a few epochs on a
# CPU): AdamW, a one-cycle schedule (linear warm-up, cosine decay), decoupled weight decay.
DEFAULT_LR = {"adam": 1e-3, "adamw": 3e-3, "sgd": 0.05}
# Keras applies weight decay decoupled (w -= lr * wd * w) for every optimizer.
DEFAULT_WEIGHT_DECAY = {"adam": 0.0, "adamw": 0.05, "sgd": 5e-4}


def installed_backends() -> list[str]:
    """The Keras backends whose framework is importable here (TensorFlow first)."""
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


def gpu_present() -> bool:
    """Whether this machine has an NVIDIA GPU (driver device files), without importing a
    framework: the page asks this on every run."""
    from pathlib import Path
    return Path("/dev/nvidiactl").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def default_backend() -> str:
    """The backend a new run starts with: JAX on a GPU machine when installed (the fastest we
    measured there), else TensorFlow (fastest on CPU), else whatever is installed."""
    installed = installed_backends()
    if gpu_present() and "jax" in installed:
        return "jax"
    return "tensorflow" if "tensorflow" in installed else (installed or ["tensorflow"])[0]


def steps_per_epoch(n: int, batch: int) -> int:
    """Steps in one pass over ``n`` examples (the last batch may be short)."""
    return max(1, math.ceil(n / batch))


@dataclass(frozen=True)
class TrainConfig:
    """A training job. ``spec`` (an ArchSpec dict) wins over ``target`` (a zoo name or file)."""

    target: str = ""
    spec: dict | None = None
    dataset: str = "shapes"
    dataset_options: dict = field(default_factory=dict)
    epochs: int = 5
    time_budget_s: float | None = None
    batch_size: int = 32
    optimizer: str = "adamw"
    learning_rate: float | None = None
    momentum: float = 0.9
    schedule: str = "one_cycle"
    weight_decay: float | None = None
    label_smoothing: float = 0.0
    flip: bool = False
    translate: float = 0.0
    rotate: float = 0.0
    precision: str = "float32"
    xla: str = "auto"
    steps_per_execution: int = 1
    seed: int = 0
    val_split: float = 0.2
    backend: str = "tensorflow"
    device: str = "auto"
    num_gpus: float | None = None  # GPUs this run asks the executor for (0.25: a quarter)
    name: str = ""
    recipe: str = "scratch"   # a key of playground.train.recipes.RECIPES
    options: dict = field(default_factory=dict)  # the recipe's own options (its dataclass)

    @property
    def lr(self) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR[self.optimizer]

    @property
    def wd(self) -> float:
        """The weight decay used: the option, else the recipe's default for the optimizer."""
        if self.weight_decay is not None:
            return float(self.weight_decay)
        return DEFAULT_WEIGHT_DECAY.get(self.optimizer, 0.0)

    @property
    def architecture(self) -> str:
        if self.spec is not None:
            return str(self.spec.get("name") or self.target or "custom")
        return self.target

    def validate(self) -> "TrainConfig":
        """Check every field; SpecError naming the first wrong one. Returns self."""
        def bad(name: str, rule: str) -> SpecError:
            return SpecError(f"training option '{name}'", rule)

        if not self.target and self.spec is None:
            raise bad("target", "name an architecture (zoo name, spec file) or give a spec")
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10000:
            raise bad("epochs", f"must be an integer from 1 to 10000, got {self.epochs!r}")
        if self.time_budget_s is not None and not 0 < self.time_budget_s <= 7 * 86400:
            raise bad("time_budget_s", f"must be positive seconds (at most a week), got "
                      f"{self.time_budget_s!r}")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 65536:
            raise bad("batch_size", f"must be an integer from 1 to 65536, got {self.batch_size!r}")
        for name, value, choices in (("optimizer", self.optimizer, OPTIMIZERS),
                                     ("schedule", self.schedule, SCHEDULES),
                                     ("precision", self.precision, PRECISIONS),
                                     ("xla", self.xla, XLA), ("device", self.device, DEVICES),
                                     ("backend", self.backend, BACKENDS)):
            if value not in choices:
                raise bad(name, f"must be one of {', '.join(choices)}, got {value!r}")
        if self.backend not in installed_backends():
            raise bad("backend", f"{self.backend} is not installed here; installed: "
                      f"{', '.join(installed_backends())}")
        if not 0 < self.lr <= 10:
            raise bad("learning_rate", f"must be in (0, 10], got {self.lr!r}")
        for name, value, hi in (("momentum", self.momentum, 0.999),
                                ("weight_decay", self.wd, 1.0),
                                ("label_smoothing", self.label_smoothing, 0.5),
                                ("translate", self.translate, 0.5),
                                ("rotate", self.rotate, 0.5)):
            if not 0 <= value <= hi:
                raise bad(name, f"must be between 0 and {hi}, got {value!r}")
        if not 0 < self.val_split < 1:
            raise bad("val_split", f"must be between 0 and 1, got {self.val_split!r}")
        if not isinstance(self.steps_per_execution, int) or not 1 <= self.steps_per_execution <= 1000:
            raise bad("steps_per_execution", "must be an integer from 1 to 1000")
        if not isinstance(self.seed, int):
            raise bad("seed", f"must be an integer, got {self.seed!r}")
        g = self.num_gpus
        if g is not None and (isinstance(g, bool) or not isinstance(g, (int, float))
                              or not 0 <= g <= 64 or (g > 1 and g != int(g))):
            raise bad("num_gpus", "must be a fraction from 0 to 1 (a share of one GPU) or a "
                      f"whole number of GPUs up to 64, got {g!r}")
        if g == 0 and self.device == "gpu":
            raise bad("num_gpus", "is 0 but the device is 'gpu'")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        data = dict(data)
        if "kind" in data:  # configs stored before recipes had names
            kind = data.pop("kind")
            data.setdefault("recipe", "transfer" if kind == "transfer" else "scratch")
        if "extra" in data:
            data.setdefault("options", data.pop("extra"))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError("training options", f"unknown option(s) {unknown}")
        return cls(**data)

    def with_(self, **changes: Any) -> "TrainConfig":
        return replace(self, **changes)

    def store_params(self) -> dict[str, Any]:
        """The flat parameters logged to the run store (the spec goes in as an artifact)."""
        d = {k: v for k, v in self.to_dict().items() if k not in ("spec", "options")}
        d["learning_rate"] = self.lr
        d["weight_decay"] = self.wd
        d["device_requested"] = d.pop("device")  # the device used is logged by the run
        if d["num_gpus"] is None:  # the executor's default (runs stored before had none)
            del d["num_gpus"]
        d["architecture"] = self.architecture
        d["dataset_options"] = json.dumps(self.dataset_options, sort_keys=True)
        return d
