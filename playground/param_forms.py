"""A block's parameters as the Builder's form holds them: the text a text field shows for a
value, the value read back from a widget's raw value, and the changes one "Apply" makes. Which
widget a parameter gets follows its kind (and, for ``int``, whether it has a value)."""
from __future__ import annotations

import json
from typing import Any, Mapping

from playground.blocks.base import BlockType, Param
from playground.errors import SpecError

TEXT_KINDS = ("blocks", "branches")  # JSON in a text area


def widget_kind(p: Param, value: Any) -> str:
    """The widget a parameter gets: ``checkbox``, ``select``, ``int``, ``float``, ``json`` or
    ``text`` (sizes, int lists and optional ints typed as "3" or "3, 3"; blank = default)."""
    if p.kind == "bool":
        return "checkbox"
    if p.kind == "choice":
        return "select"
    if p.kind == "int" and value is not None:
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


def param_value(p: Param, value: Any, raw: Any) -> Any:
    """The parameter value of the raw widget value ``raw`` (``value``: the block's current one,
    which chose the widget). Raises ValueError / JSONDecodeError on unreadable text."""
    kind = widget_kind(p, value)
    if kind == "checkbox":
        return bool(raw)
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


def param_changes(bt: BlockType, params: Mapping[str, Any], raw: Mapping[str, Any],
                  block: str) -> dict[str, Any]:
    """The parameters of block ``block`` (of type ``bt``, set to ``params``) that the form's
    raw values ``{param name: raw}`` change; SpecError naming the block on unreadable text."""
    current = {**bt.defaults(), **params}
    try:
        values = {p.name: param_value(p, current.get(p.name), raw.get(p.name)) for p in bt.params}
    except (ValueError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        raise SpecError(f"block '{block}'", f"could not read a value ({e})") from None
    return {k: v for k, v in values.items() if v != current.get(k)}


__all__ = ["param_changes", "param_text", "param_value", "widget_kind"]
