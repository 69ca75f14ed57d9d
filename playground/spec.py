"""Architectures as data: ``ArchSpec`` (input, blocks, head) and ``BlockSpec`` (type + params).

A spec is plain, JSON-round-trippable data. Composite blocks keep their inner graph in their
params (``body``: a list of block dicts, ``branches``: a list of such lists), so one format
describes everything from a single conv to a whole ResNet.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from playground.errors import SpecError

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
INPUT_DTYPES = ("float32", "int32", "uint8")


_DERIVED = ("_canonical_text", "_key")


def _jsonable(obj: Any) -> Any:
    """Inner blocks given as BlockSpec objects are written as their dicts."""
    if isinstance(obj, BlockSpec):
        return obj.to_dict()
    raise TypeError(f"a spec value must be JSON data, got {type(obj).__name__}")


class _Canonical:
    """Equality and hashing by canonical JSON text, computed once per (immutable) spec object:
    equal specs hash equal, so a spec can key ``functools`` caches and dicts directly."""

    __slots__ = ()

    def _canonical(self) -> str:
        text = self.__dict__.get("_canonical_text")
        if text is None:
            text = json.dumps(self.to_dict(), sort_keys=True, separators=(", ", ": "),
                              default=_jsonable)
            object.__setattr__(self, "_canonical_text", text)
        return text

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(self._canonical())

    def __getstate__(self) -> dict[str, Any]:
        # the cached canonical text and key are derived data: not pickled or copied
        return {k: v for k, v in self.__dict__.items() if k not in _DERIVED}


@dataclass(frozen=True, eq=False)
class BlockSpec(_Canonical):
    """One block: its registered ``type``, its parameters and an optional unique ``name``.

    Immutable by contract: ``params`` is a private deep copy that nothing may modify (edits make
    a new spec). Equal and hashed by its canonical JSON, so it can key caches.
    """

    type: str
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", copy.deepcopy(dict(self.params)))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type}
        if self.name:
            d["name"] = self.name
        if self.params:
            d["params"] = copy.deepcopy(dict(self.params))
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "block") -> "BlockSpec":
        if isinstance(d, str):  # shorthand: "flatten"
            return cls(type=d)
        if not isinstance(d, Mapping):
            raise SpecError(where, f"must be an object with a 'type', got {type(d).__name__}")
        unknown = set(d) - {"type", "params", "name"}
        if unknown:
            raise SpecError(where, f"unknown key(s) {sorted(unknown)}; a block has type, name, params")
        btype = d.get("type")
        if not isinstance(btype, str) or not btype:
            raise SpecError(where, "missing block 'type'")
        params = d.get("params", {}) or {}
        if not isinstance(params, Mapping):
            raise SpecError(where, "'params' must be an object")
        name = d.get("name")
        if name is not None and (not isinstance(name, str) or not NAME_RE.match(name)):
            raise SpecError(where, f"invalid block name {name!r}: use letters, digits, '_' or '-', "
                                   "starting with a letter")
        return cls(type=btype, params=params, name=name)


@dataclass(frozen=True, eq=False)
class ArchSpec(_Canonical):
    """A whole architecture: input shape (no batch), ordered blocks, and a head block.

    Immutable and hashable: equal (and hashed) by its canonical JSON, the text :meth:`key`
    digests, so ``functools`` caches keyed by a spec serve any equal spec.
    """

    input_shape: tuple[int, ...]
    blocks: tuple[BlockSpec, ...]
    head: BlockSpec | None = None
    name: str = "model"
    input_dtype: str = "float32"

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(self.input_shape))
        object.__setattr__(self, "blocks", tuple(self.blocks))

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "blocks": [b.to_dict() for b in self.blocks],
            "head": self.head.to_dict() if self.head else None,
        }
        if self.input_dtype != "float32":
            d["input_dtype"] = self.input_dtype
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=indent is None)

    @classmethod
    def from_dict(cls, d: Any, where: str = "spec") -> "ArchSpec":
        if not isinstance(d, Mapping):
            raise SpecError(where, "a spec must be a JSON object with input_shape and blocks")
        unknown = set(d) - {"name", "input_shape", "blocks", "head", "input_dtype"}
        if unknown:
            raise SpecError(where, f"unknown key(s) {sorted(unknown)}; a spec has name, "
                                   "input_shape, input_dtype, blocks, head")
        shape = d.get("input_shape")
        if (not isinstance(shape, (list, tuple)) or not shape
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape)):
            raise SpecError(where, "input_shape must be a list of positive integers, e.g. [224, 224, 3]")
        if any(s <= 0 for s in shape):
            raise SpecError(where, f"input_shape {list(shape)} has a zero or negative size")
        blocks = d.get("blocks", [])
        if not isinstance(blocks, list):
            raise SpecError(where, "'blocks' must be a list")
        parsed = tuple(BlockSpec.from_dict(b, f"block #{i + 1}") for i, b in enumerate(blocks))
        head = d.get("head")
        dtype = d.get("input_dtype", "float32")
        if dtype not in INPUT_DTYPES:
            raise SpecError(where, f"input_dtype must be one of {INPUT_DTYPES}, got {dtype!r}")
        name = d.get("name", "model")
        if not isinstance(name, str) or not name.strip():
            raise SpecError(where, "'name' must be a non-empty string")
        return cls(input_shape=tuple(shape), blocks=parsed,
                   head=BlockSpec.from_dict(head, "head") if head else None,
                   name=name, input_dtype=dtype)

    @classmethod
    def from_json(cls, text: str, where: str = "spec") -> "ArchSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(where, f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        return cls.from_dict(data, where)

    # --- identity and edits --------------------------------------------------------------
    def key(self) -> str:
        """A stable content hash: equal specs share it (the spec's short id in URLs, files and
        UI state)."""
        key = self.__dict__.get("_key")
        if key is None:
            key = hashlib.sha256(self._canonical().encode()).hexdigest()[:20]
            object.__setattr__(self, "_key", key)
        return key

    def replace(self, **changes: Any) -> "ArchSpec":
        return replace(self, **changes)

    def with_input(self, shape: tuple[int, ...], classes: int | None = None) -> "ArchSpec":
        """The same architecture for another input shape and, if given, number of classes."""
        head = self.head
        if classes is not None and head is not None and head.type != "no_head":
            head = BlockSpec(head.type, {**head.params, "classes": int(classes)}, head.name)
        return replace(self, input_shape=tuple(shape), head=head)


def block_names(spec: ArchSpec) -> list[str]:
    """The name each top-level block gets in the built model (explicit, else ``{type}_{i}``)."""
    return [b.name or f"{b.type}_{i + 1}" for i, b in enumerate(spec.blocks)]
