"""The row of cost totals above a model (Builder and Architecture cost pages): parameters,
MACs, FLOPs, weight memory, and the peak activation and training memory at a batch size."""
from __future__ import annotations

from typing import Any, Mapping

import streamlit as st

from playground.cost import format_bytes, format_count


def totals_row(totals: Mapping[str, Any] | None, batch: int) -> None:
    """Six metrics from ``totals`` (``playground.cost.headline.summary`` of a report; zeros when
    None, as for an empty model)."""
    t = totals or {}
    params, macs = t.get("params", 0), t.get("macs", 0)
    m = st.columns(6)
    m[0].metric("Parameters", format_count(params),
                help=f"{params:,} ({t.get('trainable_params', params):,} trainable)")
    m[1].metric("MACs", format_count(macs), help=f"{macs:,} multiply-adds per image")
    m[2].metric("FLOPs", format_count(t.get("flops", 0)), help="2 x MACs + other ops (bias, BN, "
                "activations, pooling, adds)")
    m[3].metric("Weights (fp32)", format_bytes(t.get("weight_bytes_fp32", 0)))
    m[4].metric(f"Peak act. (B={batch})", format_bytes(t.get("peak_activation_bytes", 0)),
                help=f"largest set of live activations during inference at batch {batch}, by "
                     "liveness over the graph")
    m[5].metric(f"Training (B={batch})", format_bytes(t.get("training_memory_total", 0)),
                help=f"training memory at batch {batch}: weights + gradients + Adam state + "
                     "saved activations")
