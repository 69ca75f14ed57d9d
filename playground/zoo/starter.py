"""The Train page's starter model: three small convs and a global-average-pool head, which
trains on the generated shapes in seconds. Not a zoo entry (it reproduces no published net)."""
from __future__ import annotations

from playground.spec import ArchSpec

QUICK_CNN = ArchSpec.from_dict({
    "name": "quick-cnn", "input_shape": [32, 32, 1],
    "blocks": [
        {"type": "conv", "name": "conv_1", "params": {"filters": 16, "kernel": 3}},
        {"type": "max_pool", "name": "pool_1", "params": {"size": 2}},
        {"type": "conv", "name": "conv_2", "params": {"filters": 32, "kernel": 3}},
        {"type": "max_pool", "name": "pool_2", "params": {"size": 2}},
        {"type": "conv", "name": "conv_3", "params": {"filters": 32, "kernel": 3}},
    ],
    "head": {"type": "gap_head", "params": {"classes": 3}},
})

__all__ = ["QUICK_CNN"]
