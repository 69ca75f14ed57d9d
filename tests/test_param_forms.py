"""Block parameters as the Builder's form holds them: widget kinds, the raw value a widget opens
with, the values read back, and the changes of one Apply (only what the user changed; an
unreadable value names the block and the parameter)."""
from __future__ import annotations

import json

import pytest

from playground.blocks.base import BLOCKS, Param
from playground.errors import SpecError
from playground.param_forms import (TRISTATE, param_changes, param_text, param_value,
                                    widget_kind, widget_value)

BIAS = Param("bias", "bool", None, optional=True)


@pytest.mark.parametrize("param, value, kind", [
    (Param("batch_norm", "bool", None), True, "checkbox"),
    (BIAS, None, "tristate"),  # bias=auto: a checkbox cannot show it
    (BIAS, False, "tristate"),
    (Param("padding", "choice", None, choices=("same", "valid")), "same", "select"),
    (Param("filters", "int", None), 16, "int"),
    (Param("groups", "int", None, optional=True), None, "text"),  # blank = auto
    (Param("groups", "int", None, optional=True), 4, "text"),  # still blankable once set
    (Param("rate", "float", None), 0.5, "float"),
    (Param("body", "blocks", None), [], "json"),
    (Param("kernel", "size", None), 3, "text"),
    (Param("dilations", "ints", None), [1, 2], "text"),
])
def test_widget_kind(param, value, kind):
    assert widget_kind(param, value) == kind


@pytest.mark.parametrize("value, shown", [(None, "auto"), (True, "on"), (False, "off")])
def test_tristate_shows_auto_on_off_and_reads_them_back(value, shown):
    assert widget_value(BIAS, value) == shown
    assert shown in TRISTATE
    assert param_value(BIAS, value, shown) is value


def test_tristate_rejects_other_values():
    with pytest.raises(ValueError):
        param_value(BIAS, None, True)


@pytest.mark.parametrize("param, value, shown, raw, back", [
    (Param("kernel", "size", None), [3, 5], "3, 5", "3x5", [3, 5]),
    (Param("kernel", "size", None), 3, "3", " 7 ", 7),
    (Param("dilations", "ints", None), [2], "2", "4", [4]),
    (Param("dilations", "ints", None), [], "", "", []),
    (Param("groups", "int", None, optional=True), None, "", "", None),
    (Param("groups", "int", None, optional=True), 4, "4", "", None),
    (Param("body", "blocks", None), [{"type": "conv"}], json.dumps([{"type": "conv"}], indent=1),
     "[]", []),
])
def test_text_round_trip(param, value, shown, raw, back):
    assert param_text(param, value) == shown
    assert widget_value(param, value) == shown
    assert param_value(param, value, raw) == back


def test_typed_widgets_read_back_their_values():
    assert param_value(Param("filters", "int", None), 16, 32.0) == 32
    assert param_value(Param("rate", "float", None), 0.5, 1) == 1.0
    assert param_value(Param("batch_norm", "bool", None), True, 0) is False
    with pytest.raises(ValueError):
        param_value(Param("kernel", "size", None), 3, "three")


def _opened(bt, params):
    """What each widget of block type ``bt`` holds when the form opens on ``params``."""
    current = {**bt.defaults(), **params}
    return {p.name: widget_value(p, current.get(p.name)) for p in bt.params}


def test_param_changes_lists_only_what_changed():
    conv = BLOCKS.get("conv")
    params = {"filters": 8, "bias": True}
    raw = _opened(conv, params)
    assert param_changes(conv, params, raw, "conv_1") == {}
    assert param_changes(conv, params, {**raw, "filters": 12}, "conv_1") == {"filters": 12}
    with pytest.raises(SpecError) as e:
        param_changes(conv, params, {**raw, "kernel": "3 by 3"}, "conv_1")
    assert e.value.where == "block 'conv_1'" and e.value.rule.startswith("could not read 'kernel'")


def test_changing_the_kernel_keeps_bias_auto():
    """Defect: the bias checkbox showed "auto" as unchecked, so an Apply that changed only the
    kernel turned the bias off."""
    conv = BLOCKS.get("conv")
    params = {"filters": 8}  # bias: auto (on, as there is no batch norm)
    raw = {**_opened(conv, params), "kernel": "5"}
    assert raw["bias"] == "auto"
    assert param_changes(conv, params, raw, "conv_1") == {"kernel": 5}


def test_a_field_left_as_it_opened_changes_nothing_even_if_it_reads_back_differently():
    conv = BLOCKS.get("conv")
    params = {"kernel": (3, 3), "stride": [1, 1]}  # a tuple from code, a list from JSON
    raw = _opened(conv, params)
    assert raw["kernel"] == "3, 3"
    assert param_changes(conv, params, raw, "conv_1") == {}
    # retyped in another spelling of the same size: still no change
    assert param_changes(conv, params, {**raw, "kernel": "3x3"}, "conv_1") == {}
    # missing fields (a widget that was not shown) change nothing either
    assert param_changes(conv, params, {"filters": 16}, "conv_1") == {"filters": 16}


def test_setting_and_clearing_a_tristate():
    conv = BLOCKS.get("conv")
    raw = _opened(conv, {})
    assert param_changes(conv, {}, {**raw, "bias": "off"}, "c") == {"bias": False}
    opened = _opened(conv, {"bias": False})
    assert param_changes(conv, {"bias": False}, {**opened, "bias": "auto"}, "c") == {"bias": None}
