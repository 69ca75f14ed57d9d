"""Inference latency and training step time of a built Keras model, compiled the way its
backend runs fastest, timed with :func:`playground.measure.timing.time_fn`.

Compilation (``xla``): ``"auto"`` is Keras' own choice, which is also the fastest we measured:
TensorFlow runs a ``tf.function`` graph on CPU (XLA on CPU was 1-13x slower here: MobileNet
432 ms vs 34 ms per image) and XLA on a GPU; JAX always compiles with XLA (``jax.jit``); torch
runs eagerly. ``"on"`` / ``"off"`` force XLA on or off where the backend allows the choice.

Inference calls the model's compiled predict step on inputs already on the device and waits for
its outputs (no host copy of the result is timed); a training step is ``train_on_batch`` with
Adam and a mean-squared error against zeros (the loss is a negligible part of a step), whose
logs come back as host floats, so it is synchronous.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from playground.measure.timing import Timing, time_fn

__all__ = ["XLA_MODES", "jit_setting", "model_inputs", "inference_fn", "train_step_fn",
           "time_inference", "time_training", "measure_latency"]

XLA_MODES = ("auto", "on", "off")


def jit_setting(xla: str) -> bool | str:
    """``model.compile(jit_compile=...)`` for an ``xla`` mode."""
    if xla not in XLA_MODES:
        raise ValueError(f"xla must be one of {', '.join(XLA_MODES)}, got {xla!r}")
    return {"auto": "auto", "on": True, "off": False}[xla]


def model_inputs(model: Any, batch: int, seed: int = 0) -> list[Any]:
    """Device tensors for every model input at ``batch``: normal floats, or zeros for integer
    inputs (token ids); ValueError naming an input with an unknown dimension."""
    import keras
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        dims = tuple(t.shape[1:])
        if any(d is None for d in dims):
            raise ValueError(f"input '{t.name}' has an unknown dimension {tuple(t.shape)}: give "
                             "a fixed input shape (--input)")
        shape = (batch, *dims)
        if "int" in str(t.dtype):
            arr = np.zeros(shape, dtype=str(t.dtype))
        else:
            arr = rng.standard_normal(shape).astype(str(t.dtype) if "float" in str(t.dtype)
                                                    else "float32")
        out.append(keras.ops.convert_to_tensor(arr))
    return out


def _single(xs: list[Any]) -> Any:
    return xs[0] if len(xs) == 1 else xs


def _compile_mode(model: Any) -> str:
    import keras
    backend = keras.config.backend()
    if backend == "jax":
        return "jax.jit (XLA)"
    if backend == "torch":
        return "eager"
    return "tf.function + XLA" if model.jit_compile is True else "tf.function graph"


def inference_fn(model: Any, xla: str = "auto") -> tuple[Callable[[Any], Any], str]:
    """``(f, mode)``: ``f(x)`` runs one compiled forward pass (training=False) and returns the
    outputs on the device; ``mode`` says how it was compiled."""
    import keras
    backend = keras.config.backend()
    if backend == "jax":
        import jax
        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def forward(tv: Any, ntv: Any, x: Any) -> Any:
            return model.stateless_call(tv, ntv, x, training=False)[0]

        return (lambda x: forward(trainable, frozen, x)), _compile_mode(model)
    model.compile(jit_compile=jit_setting(xla))
    if backend == "tensorflow":
        model.make_predict_function()
        return (lambda x: model.predict_function([(x,)])), _compile_mode(model)
    return (lambda x: model.predict_on_batch(x)), _compile_mode(model)


def train_step_fn(model: Any, xla: str = "auto", optimizer: str = "adam") -> Callable[[Any, Any],
                                                                                      Any]:
    """``f(x, y)``: one optimizer step (``train_on_batch``) with a mean-squared error loss."""
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_setting(xla))
    return lambda x, y: model.train_on_batch(x, y)


def zeros_like_outputs(model: Any, batch: int) -> Any:
    """Zero targets shaped like the model's outputs at ``batch``."""
    import keras
    ys = [keras.ops.zeros((batch, *tuple(o.shape[1:])), dtype="float32") for o in model.outputs]
    return _single(ys)


def time_inference(model: Any, batch: int, *, xla: str = "auto", repeats: int = 15,
                   warmup: int = 2, budget_s: float = 20.0) -> tuple[Timing, str]:
    """``(timing, compile mode)`` of one compiled forward pass of ``model`` at ``batch``."""
    x = _single(model_inputs(model, batch))
    f, mode = inference_fn(model, xla)
    return time_fn(lambda: f(x), warmup=warmup, repeats=repeats, budget_s=budget_s), mode


def time_training(model: Any, batch: int, *, xla: str = "auto", repeats: int = 10,
                  warmup: int = 2, budget_s: float = 20.0) -> Timing:
    """The timing of one optimizer step (Adam, MSE against zeros) of ``model`` at ``batch``."""
    x = _single(model_inputs(model, batch))
    y = zeros_like_outputs(model, batch)
    step = train_step_fn(model, xla)
    return time_fn(lambda: step(x, y), warmup=warmup, repeats=repeats, budget_s=budget_s)


def measure_latency(model: Any, batch: int, *, xla: str = "auto", repeats: int = 15,
                    warmup: int = 2, budget_s: float = 20.0, train: bool = True
                    ) -> dict[str, Any]:
    """Inference latency (and, with ``train``, training step time) of ``model`` at ``batch``:
    ``{"inference": Timing, "train": Timing | None, "compile": mode, "images_per_s",
    "train_images_per_s"}``."""
    inf, mode = time_inference(model, batch, xla=xla, repeats=repeats, warmup=warmup,
                               budget_s=budget_s)
    out: dict[str, Any] = {"inference": inf, "train": None, "compile": mode,
                           "images_per_s": batch / inf.median_ms * 1e3}
    if train:
        tr = time_training(model, batch, xla=xla, repeats=max(3, repeats * 2 // 3),
                           warmup=warmup, budget_s=budget_s)
        out["train"] = tr
        out["train_images_per_s"] = batch / tr.median_ms * 1e3
    return out
