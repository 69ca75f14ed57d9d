"""Memory maths on tensor sizes and a schedule of steps: pure functions, no Keras.

* Activations are fp32: :data:`BYTES_PER_ELEMENT` bytes per element of every layer output.
* Peak inference memory (:func:`peak_live_bytes`): a tensor is live from the step that produces
  it until its last consumer has run (model outputs until the end); the peak is the largest sum
  of live tensors over the steps. Every output is its own buffer (no in-place reuse).
* Training memory (:func:`training_memory`): weights (4 bytes/param) + gradients (4 bytes per
  trainable param) + optimizer state (:data:`OPTIMIZER_STATE` times the trainable params, 4 bytes
  each) + the saved activations.
"""
from __future__ import annotations

from typing import Hashable, Mapping, Sequence

__all__ = ["BYTES_PER_ELEMENT", "OPTIMIZER_STATE", "elements", "peak_live_bytes",
           "training_memory", "weight_bytes"]

BYTES_PER_ELEMENT = 4  # fp32 activations

# Optimizer state per trainable parameter, in multiples of the parameter count.
OPTIMIZER_STATE = {
    "sgd": 0,
    "momentum": 1,
    "rmsprop": 1,
    "adagrad": 1,
    "lion": 1,
    "adam": 2,
    "adamw": 2,
    "nadam": 2,
    "adamax": 2,
    "adadelta": 2,
}


def elements(shape: Sequence[int | None]) -> int | None:
    """The number of elements of a shape (no batch axis); None when a dimension is unknown."""
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= d
    return n


def peak_live_bytes(steps: Sequence[tuple[Sequence[Hashable], Sequence[Hashable]]],
                    nbytes: Mapping[Hashable, int], output_keys: Sequence[Hashable]) -> int:
    """The largest sum of live tensors over ``steps`` run in order.

    ``steps`` are ``(input keys, output keys)`` per step; ``nbytes`` the size of each tensor
    (missing: 0); the tensors in ``output_keys`` stay live until the last step.
    """
    n = len(steps)
    produced: dict = {}
    last: dict = {}
    for i, (in_keys, out_keys) in enumerate(steps):
        for k in out_keys:
            produced[k] = i
            last[k] = i
        for k in in_keys:
            last[k] = i  # steps run in order, so the latest consumer wins
    for k in output_keys:
        last[k] = n - 1
    diff = [0] * (n + 1)
    for k, i in produced.items():
        b = nbytes.get(k, 0)
        diff[i] += b
        diff[last[k] + 1] -= b
    peak = live = 0
    for i in range(n):
        live += diff[i]
        peak = max(peak, live)
    return peak


def weight_bytes(params: int) -> dict[str, int]:
    """The weights' size at fp32, fp16 and int8."""
    return {"fp32": params * 4, "fp16": params * 2, "int8": params}


def training_memory(params: int, trainable: int, activations: int, optimizer: str) -> dict[str, int]:
    """The training memory estimate in bytes: weights, gradients, optimizer state, the saved
    ``activations`` (bytes, already at the batch size wanted) and their total."""
    weights_b = params * 4
    grads_b = trainable * 4
    opt_b = OPTIMIZER_STATE[optimizer] * trainable * 4
    return {
        "weights": weights_b,
        "gradients": grads_b,
        "optimizer_state": opt_b,
        "activations": activations,
        "total": weights_b + grads_b + opt_b + activations,
    }
