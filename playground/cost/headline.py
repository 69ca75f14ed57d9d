"""Headline figures of a cost report: one row of the zoo or compare table, the builder's totals."""
from __future__ import annotations

from typing import Any

from playground.cost.analyze import CostReport

__all__ = ["summary", "weight_depth", "WEIGHT_LAYERS"]

# layer types that count towards a network's depth ("VGG16" counts 13 convs + 3 dense)
WEIGHT_LAYERS = frozenset({"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
                           "SeparableConv1D", "SeparableConv2D", "Conv2DTranspose", "Dense"})


def weight_depth(report: CostReport) -> int:
    """Weight layers (conv / dense) on the longest input-to-output path: VGG16 -> 16."""
    depth: dict[str, int] = {}
    for layer in report.layers:  # topological order
        own = 1 if layer.type in WEIGHT_LAYERS else 0
        depth[layer.name] = own + max((depth.get(i, 0) for i in layer.inputs), default=0)
    return max(depth.values(), default=0)


def summary(report: CostReport) -> dict[str, Any]:
    """The headline figures of a report: one row of the zoo or compare table, the builder's
    totals (memory figures at the report's batch)."""
    return {
        "params": report.params,
        "trainable_params": report.trainable_params,
        "non_trainable_params": report.non_trainable_params,
        "macs": report.macs,
        "flops": report.flops,
        "weight_bytes_fp32": report.weight_bytes["fp32"],
        "peak_activation_bytes": report.peak_activation_bytes,
        "training_memory_total": report.training_memory["total"],
        "layers": len(report.layers),
        "depth": weight_depth(report),
    }
