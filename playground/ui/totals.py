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
    cost = (("Parameters", format_count(params),
             f"{params:,} ({t.get('trainable_params', params):,} trainable)"),
            ("MACs", format_count(macs), f"{macs:,} multiply-adds per image"),
            ("FLOPs", format_count(t.get("flops", 0)),
             "2 x MACs + other ops (bias, BN, activations, pooling, adds)"))
    memory = (("Weights (fp32)", format_bytes(t.get("weight_bytes_fp32", 0)), None),
              (f"Peak act. (B={batch})", format_bytes(t.get("peak_activation_bytes", 0)),
               f"largest set of live activations during inference at batch {batch}, by "
               "liveness over the graph"),
              (f"Training (B={batch})", format_bytes(t.get("training_memory_total", 0)),
               f"training memory at batch {batch}: weights + gradients + Adam state + saved "
               "activations"))
    # One row of six where it fits, else cost above memory: each metric as wide as its label
    # and value (six equal columns cut "294.0 MiB" to "294.0 ..." at a 1024 px window).
    with st.container(horizontal=True, gap="small"):  # also the gap between the two lines
        for group in (cost, memory):
            with st.container(horizontal=True, gap="medium", width="content"):
                for label, value, help_text in group:
                    st.metric(label, value, help=help_text, width="content")
