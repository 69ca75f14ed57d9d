"""A block's parameters as the Builder's form holds them: the widget a parameter gets, the raw
value that widget shows for a parameter value, the value read back from a raw one, and the
changes one "Apply" makes (only the fields the user changed, so an untouched field never
rewrites a parameter, e.g. a bias left on "auto")."""
from __future__ import annotations

import json
from typing import Any, Mapping

from playground.blocks.base import BlockType, Param
from playground.errors import SpecError

TEXT_KINDS = ("blocks", "branches")  # JSON in a text area
TRISTATE = ("auto", "on", "off")  # an optional bool: None (the block decides), True, False
_TRISTATE_VALUES = {"auto": None, "on": True, "off": False}


def widget_kind(p: Param, value: Any) -> str:
    """The widget a parameter gets: ``checkbox``, ``tristate`` (an optional bool: auto / on /
    off), ``select``, ``int``, ``float``, ``json`` or ``text`` (sizes, int lists and optional
    ints typed as "3" or "3, 3"; blank = default)."""
    if p.kind == "bool":
        return "tristate" if p.optional else "checkbox"
    if p.kind == "choice":
        return "select"
    if p.kind == "int" and value is not None and not p.optional:
        return "int"
    if p.kind == "float":
        return "float"
    if p.kind in TEXT_KINDS:
        return "json"
    return "text"


def param_text(p: Param, value: Any) -> str:
    """What a ``json`` or ``text`` widget shows for ``value``."""
    if widget_kind(p, value) == "json":
        return json.dumps(value, indent=1)
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def widget_value(p: Param, value: Any) -> Any:
    """The raw value the parameter's widget holds for ``value`` (what the form opens with)."""
    kind = widget_kind(p, value)
    if kind == "checkbox":
        return bool(value)
    if kind == "tristate":
        return "auto" if value is None else ("on" if value else "off")
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind in ("json", "text"):
        return param_text(p, value)
    return value


def param_value(p: Param, value: Any, raw: Any) -> Any:
    """The parameter value of the raw widget value ``raw`` (``value``: the block's current one,
    which chose the widget). Raises ValueError / JSONDecodeError on unreadable text."""
    kind = widget_kind(p, value)
    if kind == "checkbox":
        return bool(raw)
    if kind == "tristate":
        if raw not in _TRISTATE_VALUES:
            raise ValueError(f"{p.name}: expected one of {', '.join(TRISTATE)}, got {raw!r}")
        return _TRISTATE_VALUES[raw]
    if kind == "select":
        return raw
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "json":
        return json.loads(raw)
    text = str(raw or "").strip()
    if not text:
        return None if p.optional else []
    nums = [int(t) for t in text.replace("x", ",").split(",") if t.strip()]
    return nums if p.kind == "ints" or len(nums) > 1 else nums[0]


def _same(a: Any, b: Any) -> bool:
    """Equal as parameter values (a list and a tuple of the same numbers are the same size)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def param_changes(bt: BlockType, params: Mapping[str, Any], raw: Mapping[str, Any],
                  block: str) -> dict[str, Any]:
    """The parameters of block ``block`` (of type ``bt``, set to ``params``) that the form's
    raw values ``{param name: raw}`` change: a field still showing what it opened with
    (:func:`widget_value`), or missing from ``raw``, changes nothing. SpecError naming the
    block and the parameter on unreadable text."""
    current = {**bt.defaults(), **params}
    changes: dict[str, Any] = {}
    for p in bt.params:
        value = current.get(p.name)
        if p.name not in raw or raw[p.name] == widget_value(p, value):
            continue
        try:
            new = param_value(p, value, raw[p.name])
        except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
            raise SpecError(f"block '{block}'",
                            f"could not read '{p.name}' ({e})") from None
        if not _same(new, value):
            changes[p.name] = new
    return changes


__all__ = ["TRISTATE", "param_changes", "param_text", "param_value", "widget_kind",
           "widget_value"]
