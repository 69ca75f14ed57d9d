"""The cost model: pure formulas on shapes, a handler table keyed by layer type, and
:func:`analyze` that walks a built Keras model into a :class:`CostReport`.

``from playground.cost import analyze`` imports Keras lazily (only when a model is analysed or
loaded); the formulas and handlers need no Keras at all.
"""
from playground.cost.analyze import CostReport, LayerCost, OPTIMIZER_STATE, analyze
from playground.cost.formulas import format_bytes, format_count, separable_cost_ratio
from playground.cost.handlers import CONVENTIONS, HANDLERS, OpCost, handler_for
from playground.cost.loading import load_model_file

__all__ = [
    "analyze",
    "CostReport",
    "LayerCost",
    "OPTIMIZER_STATE",
    "HANDLERS",
    "CONVENTIONS",
    "OpCost",
    "handler_for",
    "format_count",
    "format_bytes",
    "separable_cost_ratio",
    "load_model_file",
]
