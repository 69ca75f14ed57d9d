"""Block parameters as the Builder's form holds them: widget kinds, the text shown, the values
read back, and the changes of one Apply (an unreadable value names the block)."""
from __future__ import annotations

import json

import pytest

from playground.blocks.base import BLOCKS, Param
from playground.errors import SpecError
from playground.param_forms import param_changes, param_text, param_value, widget_kind


@pytest.mark.parametrize("param, value, kind", [
    (Param("bias", "bool", None), True, "checkbox"),
    (Param("padding", "choice", None, choices=("same", "valid")), "same", "select"),
    (Param("filters", "int", None), 16, "int"),
    (Param("groups", "int", None, optional=True), None, "text"),  # an int left blank: typed as text
    (Param("rate", "float", None), 0.5, "float"),
    (Param("body", "blocks", None), [], "json"),
    (Param("kernel", "size", None), 3, "text"),
    (Param("dilations", "ints", None), [1, 2], "text"),
])
def test_widget_kind(param, value, kind):
    assert widget_kind(param, value) == kind


@pytest.mark.parametrize("param, value, shown, raw, back", [
    (Param("kernel", "size", None), [3, 5], "3, 5", "3x5", [3, 5]),
    (Param("kernel", "size", None), 3, "3", " 7 ", 7),
    (Param("dilations", "ints", None), [2], "2", "4", [4]),
    (Param("dilations", "ints", None), [], "", "", []),
    (Param("groups", "int", None, optional=True), None, "", "", None),
    (Param("body", "blocks", None), [{"type": "conv"}], json.dumps([{"type": "conv"}], indent=1),
     "[]", []),
])
def test_text_round_trip(param, value, shown, raw, back):
    assert param_text(param, value) == shown
    assert param_value(param, value, raw) == back


def test_typed_widgets_read_back_their_values():
    assert param_value(Param("filters", "int", None), 16, 32.0) == 32
    assert param_value(Param("rate", "float", None), 0.5, 1) == 1.0
    assert param_value(Param("bias", "bool", None), True, 0) is False
    with pytest.raises(ValueError):
        param_value(Param("kernel", "size", None), 3, "three")


def test_param_changes_lists_only_what_changed():
    conv = BLOCKS.get("conv")
    params = {"filters": 8, "bias": True}
    current = {**conv.defaults(), **params}
    raw = {}  # what each widget holds when the form opens
    for p in conv.params:
        v, kind = current.get(p.name), widget_kind(p, current.get(p.name))
        raw[p.name] = param_text(p, v) if kind in ("text", "json") else (
            bool(v) if kind == "checkbox" else v)
    assert param_changes(conv, params, raw, "conv_1") == {}
    assert param_changes(conv, params, {**raw, "filters": 12}, "conv_1") == {"filters": 12}
    with pytest.raises(SpecError) as e:
        param_changes(conv, params, {**raw, "kernel": "3 by 3"}, "conv_1")
    assert e.value.where == "block 'conv_1'" and e.value.rule.startswith("could not read a value")
