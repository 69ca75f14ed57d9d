"""The builder page's editing model, free of Streamlit: an immutable :class:`EditSession`.

Every operation (add, move, reorder, delete, duplicate, change parameters, head, input, load)
returns a *new* session and never changes the old one; each keeps the previous spec on a bounded
undo stack with a short label ("+Conv", "-Inception module", "Conv kernel 3 -> 5") that
:func:`delta` turns into a one-line cost change. Every block gets an explicit unique name
(``f"{type}_{n}"``) when it enters the session, so the drag-and-drop list can identify blocks
by name and duplicates of one type stay distinguishable.

Composite blocks keep inner block lists in their parameters (a residual's ``body``, the
``branches`` of parallel branches); an Inception module's branches are derived from its
widths and become a same-cost parallel-branches block when one is edited. A *path* names one
such list: ``("res_1", "body")``, ``("branch_concat_1", "branches", 0)``, nested as deep as the
blocks are (``()`` is the model's own list); an *address* names one block:
``"res_1/body/conv_1"`` (a top-level block's address is its name). The ``*_at`` operations and
:func:`apply_gesture` take addresses and paths; every edit is one undoable step.

:func:`evaluate` builds and analyses the current spec (cached by the spec's content hash through
:func:`playground.cached.analyze_spec`). When the spec is invalid it returns the
:class:`SpecError` with the offending block's index and keeps the last valid report on screen.

:func:`spec_to_query` / :func:`spec_from_query` make compact share links, and :func:`palette`
lists the block types by category for the palette.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from playground import blocks as _blocks  # noqa: F401  (registers every block type)
from playground.blocks.base import BLOCKS, CATEGORIES, BlockType, resolve_params
from playground.errors import SpecError
from playground.spec import NAME_RE, ArchSpec, BlockSpec, block_names

__all__ = [
    "HISTORY_LIMIT",
    "EditSession",
    "BlockRow",
    "Evaluation",
    "PaletteItem",
    "evaluate",
    "delta",
    "DeltaNote",
    "spec_to_query",
    "spec_from_query",
    "palette",
    "item_text",
    "EMPTY_SPEC",
    "InnerList",
    "Nested",
    "inner_lists",
    "as_editable",
    "block_address",
    "parse_address",
    "list_text",
]

HISTORY_LIMIT = 100
EMPTY_SPEC = ArchSpec(input_shape=(32, 32, 3), blocks=(), head=None, name="my_model")
RESERVED_NAMES = ("head", "input")


# --- helpers -------------------------------------------------------------------------------
def _btype(type_name: str) -> BlockType:
    if type_name not in BLOCKS:
        raise SpecError("edit", f"unknown block type {type_name!r}; known: "
                        + ", ".join(BLOCKS.list()))
    return BLOCKS.get(type_name)


def _label(type_name: str) -> str:
    return BLOCKS.get(type_name).label if type_name in BLOCKS else type_name


def _fresh_name(type_name: str, taken: Iterable[str]) -> str:
    """``f"{type}_{n}"`` with the smallest ``n >= 1`` not in ``taken``."""
    used = set(taken) | set(RESERVED_NAMES)
    stem = type_name if NAME_RE.match(f"{type_name}_1") else "block"
    n = 1
    while f"{stem}_{n}" in used:
        n += 1
    return f"{stem}_{n}"


def _named(spec: ArchSpec) -> ArchSpec:
    """``spec`` with every top-level block explicitly named (the name ``build`` would give it,
    or a fresh one where that would clash), so reordering never renames a block."""
    if all(b.name for b in spec.blocks):
        return spec
    explicit = {b.name for b in spec.blocks if b.name}
    taken: set[str] = set()
    out = []
    for bs, default in zip(spec.blocks, block_names(spec)):
        if bs.name:
            name = bs.name
        elif default not in explicit and default not in taken and default not in RESERVED_NAMES:
            name = default
        else:
            name = _fresh_name(bs.type, taken | explicit)
        taken.add(name)
        out.append(BlockSpec(bs.type, bs.params, name))
    return spec.replace(blocks=tuple(out))


def _fmt_value(v: Any) -> str:
    if isinstance(v, (list, tuple)) and v and all(isinstance(i, (list, tuple)) for i in v):
        return f"{len(v)} branches of {'/'.join(str(len(i)) for i in v)} blocks"
    if isinstance(v, (list, tuple)) and v and all(isinstance(i, (Mapping, BlockSpec)) for i in v):
        return f"{len(v)} block{'s' if len(v) != 1 else ''}"
    if isinstance(v, (list, tuple)) and all(isinstance(i, int) for i in v):
        return "x".join(str(i) for i in v) if v else "[]"
    if isinstance(v, float):
        return f"{v:g}"
    if v is None:
        return "auto"
    return str(v)


def _fmt_shape(shape: Sequence[Any] | None) -> str:
    return "?" if shape is None else "x".join(str(s) for s in shape)


def item_text(block: BlockSpec) -> str:
    """The text of one block in the drag-and-drop list: ``"conv_2 (Conv)"``.

    The first word is the block's unique name, so :meth:`EditSession.reorder` accepts these
    texts as well as bare names."""
    return f"{block.name} ({_label(block.type)})"


def _name_of_item(item: Any) -> str:
    if not isinstance(item, str) or not item.strip():
        raise SpecError("edit", f"reorder expects block names, got {item!r}")
    return item.strip().split(" ", 1)[0]


# --- inner block lists of composite blocks ----------------------------------------------------
LIST_KINDS = ("blocks", "branches")  # parameter kinds that hold inner block lists


def _inception_branches(p: Mapping[str, Any]) -> list[list[BlockSpec]]:
    """The four branches an Inception module builds, as blocks of the same cost (conv ->
    [BN] -> ReLU, 'same' padding; the 3x3/1 max pool), named after the module's parts."""
    bn = p["batch_norm"]

    def conv(name: str, filters: int, kernel: int) -> BlockSpec:
        return BlockSpec("conv", {"filters": filters, "kernel": kernel, "batch_norm": bn}, name)

    pool = BlockSpec("max_pool", {"size": 3, "stride": 1, "padding": "same"}, "pool")
    if p["naive"]:
        return [[conv("b1", p["b1"], 1)], [conv("b3", p["b3"], 3)], [conv("b5", p["b5"], 5)],
                [pool]]
    return [[conv("b1", p["b1"], 1)],
            [conv("b3_reduce", p["b3_reduce"], 1), conv("b3", p["b3"], 3)],
            [conv("b5_reduce", p["b5_reduce"], 1), conv("b5", p["b5"], 5)],
            [pool, conv("pool_proj", p["pool_proj"], 1)]]


# block type -> (the editable type it becomes, its list parameter, the derived lists)
DERIVED_LISTS = {"inception": ("branch_concat", "branches", _inception_branches)}


def _spec_of(item: Any, where: str) -> BlockSpec:
    return item if isinstance(item, BlockSpec) else BlockSpec.from_dict(item, where)


def _named_items(items: Sequence[Any], where: str = "inner block") -> list[BlockSpec]:
    """An inner block list as BlockSpecs, each named: its own name, else the one the build gives
    it (``{type}_{i+1}``), or a fresh one where that would repeat a name in the list."""
    specs = [_spec_of(it, f"{where} #{i + 1}") for i, it in enumerate(items)]
    explicit = {b.name for b in specs if b.name}
    taken: set[str] = set()
    out = []
    for i, bs in enumerate(specs):
        name = bs.name or f"{bs.type}_{i + 1}"
        if name in taken or (not bs.name and name in explicit) or not NAME_RE.match(name):
            name = _fresh_name(bs.type, taken | explicit)
        taken.add(name)
        out.append(bs if bs.name == name else BlockSpec(bs.type, bs.params, name))
    return out


def _resolved(bs: BlockSpec) -> Mapping[str, Any] | None:
    """``bs``'s parameters with defaults filled (None for an unknown type or bad parameters)."""
    if bs.type not in BLOCKS:
        return None
    try:
        return resolve_params(BLOCKS.get(bs.type), bs.params, f"block '{bs.name}'")
    except SpecError:
        return None


def inner_lists(block: BlockSpec) -> list[tuple[tuple, str, list[BlockSpec], bool]]:
    """The inner block lists of ``block``: ``(path suffix, label, named blocks, editable)`` each,
    e.g. ``(("body",), "body", [...], True)`` or ``(("branches", 1), "branch 2", ...)``.

    An Inception module's branches are derived from its widths (``editable`` False: an edit
    makes it a parallel-branches block first, see :func:`as_editable`). A block without inner
    lists, or with malformed ones (the build reports those), has none."""
    p = _resolved(block)
    if p is None:
        return []
    if block.type in DERIVED_LISTS:
        _, param, derive = DERIVED_LISTS[block.type]
        return [((param, i), f"branch {i + 1}", br, False) for i, br in enumerate(derive(p))]
    out: list[tuple[tuple, str, list[BlockSpec], bool]] = []
    try:
        for prm in BLOCKS.get(block.type).params:
            if prm.kind == "blocks":
                out.append(((prm.name,), prm.name, _named_items(p[prm.name]), True))
            elif prm.kind == "branches":
                out.extend(((prm.name, i), f"branch {i + 1}", _named_items(br), True)
                           for i, br in enumerate(p[prm.name]))
    except SpecError:
        return []
    return out


def as_editable(block: BlockSpec) -> BlockSpec:
    """``block`` in a form whose inner lists can be edited: an Inception module becomes the
    parallel-branches block with its branches spelled out (the same layers, cost and output);
    any other block is returned unchanged."""
    if block.type not in DERIVED_LISTS:
        return block
    new_type, param, derive = DERIVED_LISTS[block.type]
    p = resolve_params(BLOCKS.get(block.type), block.params, f"block '{block.name}'")
    return BlockSpec(new_type, {param: [[b.to_dict() for b in br] for br in derive(p)]},
                     block.name)


def _norm_path(path: Any) -> tuple:
    """``path`` (a list from the board, a tuple, None for the model's list) checked for form:
    ``(block, param[, branch index])`` steps."""
    if path is None:
        return ()
    if isinstance(path, str) or not isinstance(path, Sequence):
        raise SpecError("edit", f"a block list path must be a list, got {path!r}")
    out: list = []
    i, n = 0, len(path)
    while i < n:
        name, param = path[i], path[i + 1] if i + 1 < n else None
        if not isinstance(name, str) or not isinstance(param, str):
            raise SpecError("edit", f"bad block list path {list(path)!r}: expected block name, "
                                    "parameter[, branch index] steps")
        out += [name, param]
        i += 2
        if i < n and isinstance(path[i], int) and not isinstance(path[i], bool):
            out.append(path[i])
            i += 1
    return tuple(out)


def _first_step(path: tuple) -> tuple[str, str, int | None, tuple]:
    if len(path) > 2 and isinstance(path[2], int):
        return path[0], path[1], path[2], path[3:]
    return path[0], path[1], None, path[2:]


def list_text(path: Sequence[Any]) -> str:
    """A block list for people: ``"res_1 body"``, ``"mix_1 branch 2"``, nested ones joined by
    " > ", "the model" for the top level."""
    path = tuple(path)
    parts = []
    while path:
        name, param, idx, path = _first_step(path)
        parts.append(f"{name} {param}" if idx is None else f"{name} branch {idx + 1}")
    return " > ".join(parts) or "the model"


def block_address(path: Sequence[Any], name: str) -> str:
    """The address of block ``name`` in the list at ``path``: ``"res_1/body/conv_1"``; a
    top-level block's address is its name."""
    return "/".join([str(s) for s in path] + [name])


def parse_address(address: Any) -> tuple[tuple, str]:
    """``(path, name)`` of a block address made by :func:`block_address`."""
    if not isinstance(address, str) or not address.strip("/"):
        raise SpecError("edit", f"expected a block name or address, got {address!r}")
    parts: list = [int(s) if s.isdigit() else s for s in address.strip("/").split("/")]
    name = parts.pop()
    if not isinstance(name, str):
        raise SpecError("edit", f"block address {address!r} does not end with a block name")
    return _norm_path(parts), name


def _list_index(index: Any, n: int, allow_end: bool, path: tuple) -> int:
    """``index`` checked as a position in a list of ``n`` blocks (negative from the end)."""
    if index is None:
        return n
    if isinstance(index, bool) or not isinstance(index, int):
        raise SpecError("edit", f"block index must be an integer, got {index!r}")
    hi = n if allow_end else n - 1
    if index < 0:
        index += hi + 1
    if not 0 <= index <= hi:
        raise SpecError("edit", f"no position {index} in {list_text(path)}; valid: 0..{hi}")
    return index


def _position(blocks: Sequence[BlockSpec], name: Any, path: tuple) -> int:
    for i, b in enumerate(blocks):
        if b.name == name:
            return i
    listed = ", ".join(b.name or "" for b in blocks) or "none"
    raise SpecError("edit", f"no block named {name!r} in {list_text(path)}; blocks: {listed}")


def _list_param(block: BlockSpec, param: str, idx: int | None, path: tuple) -> list:
    """The raw value of the inner list ``param`` (branch ``idx``) of ``block``."""
    p = _resolved(block)
    prm = next((q for q in BLOCKS.get(block.type).params if q.name == param), None) \
        if block.type in BLOCKS else None
    if p is None or prm is None or prm.kind not in LIST_KINDS:
        raise SpecError("edit", f"block '{block.name}' ({block.type}) has no block list "
                                f"{param!r} (at {list_text(path)})")
    if prm.kind == "blocks":
        if idx is not None:
            raise SpecError("edit", f"{param!r} of block '{block.name}' is one list, not branches")
        return list(p[param])
    if idx is None or not 0 <= idx < len(p[param]):
        raise SpecError("edit", f"block '{block.name}' has branches 0..{len(p[param]) - 1}, "
                                f"not {idx!r}")
    return list(p[param][idx])


def _blocks_at(blocks: Sequence[BlockSpec], path: tuple) -> list[BlockSpec]:
    """The named blocks of the list at ``path`` under ``blocks`` (derived lists too)."""
    seen: tuple = ()
    current = list(blocks)
    while path:
        name, param, idx, rest = _first_step(path)
        bs = current[_position(current, name, seen)]
        step = (name, param) + (() if idx is None else (idx,))
        if bs.type in DERIVED_LISTS:
            lists = {s: items for s, _, items, _ in inner_lists(bs)}
            if (param, idx) not in lists:
                raise SpecError("edit", f"block '{name}' has no list {list_text(seen + step)}")
            current = lists[(param, idx)]
        else:
            current = _named_items(_list_param(bs, param, idx, seen + step))
        seen, path = seen + step, rest
    return current


def _edit_list(blocks: Sequence[BlockSpec], path: tuple, fn: Any, seen: tuple = ()) -> list:
    """``blocks`` with the list at ``path`` replaced by ``fn(named blocks of that list)``; every
    list on the way keeps its blocks (named), an Inception module on the way becomes editable."""
    if not path:
        return list(fn(list(blocks)))
    name, param, idx, rest = _first_step(path)
    items = list(blocks)
    i = _position(items, name, seen)
    bs = as_editable(items[i])
    step = (name, param) + (() if idx is None else (idx,))
    inner = _named_items(_list_param(bs, param, idx, seen + step))
    new_inner = [b.to_dict() for b in _edit_list(inner, rest, fn, seen + step)]
    if idx is None:
        value: Any = new_inner
    else:
        value = [list(br) for br in {**BLOCKS.get(bs.type).defaults(), **bs.params}[param]]
        value[idx] = new_inner
    items[i] = BlockSpec(bs.type, {**bs.params, param: value}, bs.name)
    return items


def _unique(bs: BlockSpec, others: Iterable[BlockSpec]) -> BlockSpec:
    """``bs`` renamed afresh when its name is taken in ``others`` (or reserved)."""
    taken = {b.name for b in others}
    if bs.name and bs.name not in taken and bs.name not in RESERVED_NAMES:
        return bs
    return BlockSpec(bs.type, bs.params, _fresh_name(bs.type, taken))


def _updated(bs: BlockSpec, changes: Mapping[str, Any]) -> tuple[BlockSpec, str]:
    """``bs`` with ``changes`` to its parameters (``None`` on a non-optional one: back to the
    default) and the edit's label; unknown names raise SpecError."""
    bt = _btype(bs.type)
    known = {p.name: p for p in bt.params}
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise SpecError(f"block '{bs.name}' ({bs.type})",
                        f"unknown parameter(s) {unknown}; {bs.type} takes "
                        f"{sorted(known) or 'no parameters'}")
    params = dict(bs.params)
    parts = []
    for k, v in changes.items():
        old = params.get(k, known[k].default)
        if v is None and not known[k].optional:
            params.pop(k, None)
            v = known[k].default
        else:
            params[k] = v
        if old != v:
            parts.append(f"{k} {_fmt_value(old)} -> {_fmt_value(v)}")
    label = f"{bt.label} " + ", ".join(parts) if parts else f"{bt.label} (no change)"
    return BlockSpec(bs.type, params, bs.name), label


# --- the session ----------------------------------------------------------------------------
@dataclass(frozen=True)
class EditSession:
    """The builder's state: the current spec, undo / redo stacks and the last valid result.

    Stacks hold ``(spec, label)`` pairs, newest last, at most :data:`HISTORY_LIMIT` each.
    ``last_label`` describes the operation that produced ``spec`` ("" for a fresh session).
    ``last_valid_spec`` / ``last_valid_report`` are filled by :func:`evaluate` (use the session
    it returns) so the page can keep a valid report on screen while the spec is invalid.
    """

    spec: ArchSpec = EMPTY_SPEC
    undo_stack: tuple[tuple[ArchSpec, str], ...] = ()
    redo_stack: tuple[tuple[ArchSpec, str], ...] = ()
    last_label: str = ""
    last_valid_spec: ArchSpec | None = None
    last_valid_report: Any = None
    limit: int = HISTORY_LIMIT

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def start(cls, spec: ArchSpec | None = None, limit: int = HISTORY_LIMIT) -> "EditSession":
        """A fresh session on ``spec`` (default: an empty 32x32x3 model), blocks named."""
        return cls(spec=_named(spec if spec is not None else EMPTY_SPEC), limit=limit)

    # --- queries ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [b.name or "" for b in self.spec.blocks]

    @property
    def can_undo(self) -> bool:
        return bool(self.undo_stack)

    @property
    def can_redo(self) -> bool:
        return bool(self.redo_stack)

    def index_of(self, name: str) -> int:
        """The index of the block called ``name`` (SpecError if none)."""
        try:
            return self.names.index(name)
        except ValueError:
            raise SpecError("edit", f"no block named {name!r}; blocks: "
                            + (", ".join(self.names) or "none")) from None

    def items(self) -> list[str]:
        """The drag-and-drop list texts, in order (see :func:`item_text`)."""
        return [item_text(b) for b in self.spec.blocks]

    def _index(self, index: int, allow_end: bool = False) -> int:
        n = len(self.spec.blocks)
        if isinstance(index, bool) or not isinstance(index, int):
            raise SpecError("edit", f"block index must be an integer, got {index!r}")
        hi = n if allow_end else n - 1
        if index < 0:
            index += n + (1 if allow_end else 0)
        if not 0 <= index <= hi:
            what = f"0..{hi}" if hi >= 0 else "none (the model has no blocks)"
            raise SpecError("edit", f"no block position {index}; valid positions: {what}")
        return index

    # --- the one way a spec changes --------------------------------------------------------
    def _push(self, new_spec: ArchSpec, label: str) -> "EditSession":
        if new_spec == self.spec:
            return self
        undo = (self.undo_stack + ((self.spec, label),))[-self.limit:]
        return replace(self, spec=new_spec, undo_stack=undo, redo_stack=(), last_label=label)

    def _with_blocks(self, blocks: Sequence[BlockSpec], label: str) -> "EditSession":
        return self._push(self.spec.replace(blocks=tuple(blocks)), label)

    # --- operations ------------------------------------------------------------------------
    def add_block(self, type: str, index: int | None = None,
                  params: Mapping[str, Any] | None = None) -> "EditSession":
        """Insert a block of ``type`` at ``index`` (default: the end) with the schema's default
        parameters updated by ``params``. A head type sets the head instead."""
        bt = _btype(type)
        if bt.category == "head":
            return self.set_head(type, params)
        pos = len(self.spec.blocks) if index is None else self._index(index, allow_end=True)
        bs = BlockSpec(type, {**bt.defaults(), **dict(params or {})},
                       _fresh_name(type, self.names))
        blocks = list(self.spec.blocks)
        blocks.insert(pos, bs)
        return self._with_blocks(blocks, f"+{bt.label}")

    def delete_block(self, index: int) -> "EditSession":
        i = self._index(index)
        blocks = list(self.spec.blocks)
        gone = blocks.pop(i)
        return self._with_blocks(blocks, f"-{_label(gone.type)}")

    def duplicate_block(self, index: int) -> "EditSession":
        """Insert a copy of block ``index`` right after it, under a fresh unique name."""
        i = self._index(index)
        src = self.spec.blocks[i]
        copy_ = BlockSpec(src.type, src.params, _fresh_name(src.type, self.names))
        blocks = list(self.spec.blocks)
        blocks.insert(i + 1, copy_)
        return self._with_blocks(blocks, f"+{_label(src.type)} (copy)")

    def move_block(self, src: int, dst: int) -> "EditSession":
        """Move block ``src`` so that it ends up at position ``dst``."""
        i, j = self._index(src), self._index(dst)
        if i == j:
            return self
        blocks = list(self.spec.blocks)
        bs = blocks.pop(i)
        blocks.insert(j, bs)
        return self._with_blocks(blocks, f"move {_label(bs.type)} {i + 1} -> {j + 1}")

    def reorder(self, names: Sequence[str]) -> "EditSession":
        """Put the blocks in the order of ``names`` (what a sortable list returns): block names
        or :func:`item_text` texts, a permutation of the current blocks."""
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise SpecError("edit", "reorder expects a list of block names")
        wanted = [_name_of_item(n) for n in names]
        current = self.names
        if sorted(wanted) != sorted(current):
            missing = sorted(set(current) - set(wanted))
            extra = sorted(set(wanted) - set(current))
            dup = sorted({n for n in wanted if wanted.count(n) > 1})
            parts = ([f"missing {missing}"] if missing else []) + \
                    ([f"unknown {extra}"] if extra else []) + ([f"repeated {dup}"] if dup else [])
            raise SpecError("edit", "reorder must list every block exactly once: "
                            + "; ".join(parts or ["the lists differ"]))
        by_name = {b.name: b for b in self.spec.blocks}
        return self._with_blocks([by_name[n] for n in wanted], "reorder")

    def update_params(self, index: int, **changes: Any) -> "EditSession":
        """Change parameters of block ``index``; a value of ``None`` on a non-optional
        parameter removes it (back to the default). Unknown names raise SpecError."""
        i = self._index(index)
        new, label = _updated(self.spec.blocks[i], changes)
        blocks = list(self.spec.blocks)
        blocks[i] = new
        return self._with_blocks(blocks, label)

    def set_head(self, type: str | None, params: Mapping[str, Any] | None = None) -> "EditSession":
        """Set the head block (``None`` removes it). Parameters default to the schema's,
        updated by ``params``."""
        if type is None:
            return self._push(self.spec.replace(head=None), "-head")
        bt = _btype(type)
        if bt.category != "head":
            heads = [n for n, b in BLOCKS.items() if b.category == "head"]
            raise SpecError("edit", f"{type!r} is not a head; heads: {', '.join(heads)}")
        head = BlockSpec(type, {**bt.defaults(), **dict(params or {})})
        old = self.spec.head
        label = f"head {_label(old.type)} -> {bt.label}" if old and old.type != type \
            else f"head: {bt.label}"
        return self._push(self.spec.replace(head=head), label)

    def set_input(self, shape: Sequence[int]) -> "EditSession":
        """Set the input shape (no batch axis), e.g. ``(28, 28, 256)``."""
        try:
            shape_t = tuple(int(s) for s in shape)
        except (TypeError, ValueError):
            raise SpecError("input", f"input shape must be a list of integers, got {shape!r}") \
                from None
        if not shape_t or any(s <= 0 for s in shape_t):
            raise SpecError("input", f"input shape {list(shape_t)} needs positive sizes, "
                                     "e.g. [32, 32, 3]")
        label = f"input {_fmt_shape(self.spec.input_shape)} -> {_fmt_shape(shape_t)}"
        return self._push(self.spec.replace(input_shape=shape_t), label)

    def load(self, spec: ArchSpec | None = None) -> "EditSession":
        """Replace the whole spec (a new empty model by default, or a zoo spec); undoable."""
        new = _named(spec if spec is not None else EMPTY_SPEC)
        return self._push(new, f"load {new.name}" if spec is not None else "new model")

    def clear(self) -> "EditSession":
        """Remove every block, keeping the name, the input and the head; undoable."""
        n = len(self.spec.blocks)
        return self._with_blocks((), f"clear {n} block{'s' if n != 1 else ''}")

    def set_name(self, name: str) -> "EditSession":
        """Rename the model (its runs, downloads and generated code take this name)."""
        name = name.strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SpecError("model name", f"{name!r} is not a name: start with a letter, then "
                            "letters, digits, '_' or '-' (at most 64 characters)")
        return self._push(self.spec.replace(name=name), f"name {self.spec.name} -> {name}")

    # --- blocks anywhere: addresses and paths (see the module docstring) -------------------
    def blocks_at(self, path: Sequence[Any] = ()) -> list[BlockSpec]:
        """The blocks of the list at ``path`` (``()``: the model's), each named as the board
        shows it; an Inception module's derived branches too."""
        return _blocks_at(self.spec.blocks, _norm_path(path))

    def block_at(self, address: str) -> BlockSpec:
        """The block at ``address`` (a top-level name or ``"res_1/body/conv_1"``)."""
        path, name = parse_address(address)
        if not path:
            return self.spec.blocks[self.index_of(name)]
        blocks = self.blocks_at(path)
        return blocks[_position(blocks, name, path)]

    def addresses(self) -> list[str]:
        """Every editable block's address, depth first: a composite block, then the blocks of
        its lists (an Inception module's derived branches are not blocks yet)."""
        out: list[str] = []

        def walk(blocks: Sequence[BlockSpec], path: tuple) -> None:
            for bs in blocks:
                out.append(block_address(path, bs.name or ""))
                for suffix, _, items, editable in inner_lists(bs):
                    if editable:
                        walk(items, path + (bs.name,) + suffix)
        walk(self.spec.blocks, ())
        return out

    def address_text(self, address: str) -> str:
        """``"conv_2 (Conv)"`` for a top-level block, ``"conv_1 (Conv) in res_1 body"`` inside."""
        path, _ = parse_address(address)
        text = item_text(self.block_at(address))
        return f"{text} in {list_text(path)}" if path else text

    def add_at(self, type: str, path: Sequence[Any] = (), index: int | None = None,
               params: Mapping[str, Any] | None = None) -> tuple["EditSession", str | None]:
        """Insert a block of ``type`` into the list at ``path`` at ``index`` (default: the end);
        returns the new session and the new block's address (None when a head was set)."""
        path = _norm_path(path)
        if not path:
            new = self.add_block(type, index, params)
            if len(new.names) == len(self.names):  # a head type sets the head
                return new, None
            added = set(new.names) - set(self.names)
            return new, added.pop() if added else None
        bt = _btype(type)
        if bt.category == "head":
            raise SpecError("edit", f"a head ({bt.label}) cannot go inside {list_text(path)}")
        made: list[str] = []

        def insert(blocks: list[BlockSpec]) -> list[BlockSpec]:
            pos = _list_index(index, len(blocks), True, path)
            bs = BlockSpec(type, {**bt.defaults(), **dict(params or {})},
                           _fresh_name(type, [b.name for b in blocks]))
            made.append(bs.name)
            return blocks[:pos] + [bs] + blocks[pos:]
        blocks = _edit_list(self.spec.blocks, path, insert)
        return self._with_blocks(blocks, f"+{bt.label} in {list_text(path)}"), \
            block_address(path, made[0])

    def delete_at(self, address: str) -> "EditSession":
        """Remove the block at ``address`` (from the model or from a composite's list)."""
        path, name = parse_address(address)
        if not path:
            return self.delete_block(self.index_of(name))
        gone: list[BlockSpec] = []

        def remove(blocks: list[BlockSpec]) -> list[BlockSpec]:
            gone.append(blocks[_position(blocks, name, path)])
            return [b for b in blocks if b.name != name]
        blocks = _edit_list(self.spec.blocks, path, remove)
        return self._with_blocks(blocks, f"-{_label(gone[0].type)} from {list_text(path)}")

    def duplicate_at(self, address: str) -> tuple["EditSession", str]:
        """Insert a copy of the block at ``address`` right after it (a fresh name in its list);
        returns the new session and the copy's address."""
        path, name = parse_address(address)
        if not path:
            i = self.index_of(name)
            new = self.duplicate_block(i)
            return new, new.names[i + 1]
        made: list[BlockSpec] = []

        def copy(blocks: list[BlockSpec]) -> list[BlockSpec]:
            i = _position(blocks, name, path)
            src = blocks[i]
            name_ = _fresh_name(src.type, [b.name for b in blocks])
            made.append(BlockSpec(src.type, src.params, name_))
            return blocks[:i + 1] + made + blocks[i + 1:]
        blocks = _edit_list(self.spec.blocks, path, copy)
        return (self._with_blocks(blocks, f"+{_label(made[0].type)} (copy) in {list_text(path)}"),
                block_address(path, made[0].name or ""))

    def update_params_at(self, address: str, **changes: Any) -> "EditSession":
        """:meth:`update_params` for the block at ``address`` (top-level or inner)."""
        path, name = parse_address(address)
        if not path:
            return self.update_params(self.index_of(name), **changes)
        labels: list[str] = []

        def update(blocks: list[BlockSpec]) -> list[BlockSpec]:
            i = _position(blocks, name, path)
            new, label = _updated(blocks[i], changes)
            labels.append(label)
            return blocks[:i] + [new] + blocks[i + 1:]
        blocks = _edit_list(self.spec.blocks, path, update)
        return self._with_blocks(blocks, f"{labels[0]} ({name} in {list_text(path)})")

    def move_to(self, address: str, path: Sequence[Any] | None = None,
                index: int | None = None) -> tuple["EditSession", str]:
        """Move the block at ``address`` to position ``index`` (clamped; default: the end) of
        the list at ``path`` (default: its own list), renamed only if its name is taken there.
        Returns the new session and the block's new address."""
        src, name = parse_address(address)
        dst = src if path is None else _norm_path(path)
        if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
            raise SpecError("edit", f"block index must be an integer, got {index!r}")
        if dst == src:
            blocks = self.blocks_at(src)
            i = _position(blocks, name, src)
            j = len(blocks) - 1 if index is None else min(max(index, 0), len(blocks) - 1)
            if not src:
                return self.move_block(i, j), name
            if i == j:
                return self, address

            def reorder(items: list[BlockSpec]) -> list[BlockSpec]:
                bs = items.pop(i)
                return items[:j] + [bs] + items[j:]
            new_blocks = _edit_list(self.spec.blocks, src, reorder)
            return self._with_blocks(new_blocks, f"move {_label(blocks[i].type)} {i + 1} -> "
                                                 f"{j + 1} in {list_text(src)}"), address
        if dst[:len(src) + 1] == src + (name,):
            raise SpecError("edit", f"block '{name}' cannot go inside itself")
        moving = self.block_at(address)
        self.blocks_at(dst)  # the destination must exist before anything moves
        placed: list[BlockSpec] = []

        def take(items: list[BlockSpec]) -> list[BlockSpec]:
            return [b for b in items if b.name != name]

        def put(items: list[BlockSpec]) -> list[BlockSpec]:
            pos = len(items) if index is None else min(max(index, 0), len(items))
            placed.append(_unique(moving, items))
            return items[:pos] + placed + items[pos:]
        blocks = _edit_list(_edit_list(self.spec.blocks, src, take), dst, put)
        label = f"move {_label(moving.type)} to {list_text(dst)}"
        return self._with_blocks(blocks, label), block_address(dst, placed[0].name or "")

    def undo(self) -> "EditSession":
        """Back to the spec before the last operation (the same session if nothing to undo)."""
        if not self.undo_stack:
            return self
        prev, label = self.undo_stack[-1]
        redo = (self.redo_stack + ((self.spec, label),))[-self.limit:]
        return replace(self, spec=prev, undo_stack=self.undo_stack[:-1], redo_stack=redo,
                       last_label=f"undo {label}")

    def redo(self) -> "EditSession":
        """Re-apply the last undone operation (the same session if nothing to redo)."""
        if not self.redo_stack:
            return self
        nxt, label = self.redo_stack[-1]
        undo = (self.undo_stack + ((self.spec, label),))[-self.limit:]
        return replace(self, spec=nxt, undo_stack=undo, redo_stack=self.redo_stack[:-1],
                       last_label=label)


# --- gestures of the drag-and-drop board -----------------------------------------------------
GESTURES = ("select", "add", "move", "delete")


def apply_gesture(session: EditSession, event: Mapping[str, Any]) -> tuple[EditSession, str | None]:
    """Apply one gesture of the builder's block board and say which block to open.

    ``{"kind": "select", "block": name}`` opens a block (the session is unchanged);
    ``{"kind": "add", "type": t, "index": i}`` inserts a block of type ``t`` at ``i`` and opens
    it; ``{"kind": "move", "block": name, "index": i}`` moves the block to position ``i``;
    ``{"kind": "delete", "block": name}`` removes it. Each may carry ``"path"``, the list the
    block is (or goes) in, e.g. ``["res_1", "body"]`` or ``["mix_1", "branches", 0]`` (none or
    ``[]``: the model's list); a move to another list gives it as ``"to"``. Returns
    ``(session, address of the block to open or None)`` (a selected block of an Inception
    module's derived branches opens the module); a malformed gesture or an unknown block
    raises SpecError."""
    if not isinstance(event, Mapping) or event.get("kind") not in GESTURES:
        raise SpecError("edit", f"unknown gesture {event!r}; gestures: {', '.join(GESTURES)}")
    kind = event["kind"]
    path = _norm_path(event.get("path"))
    if kind == "add":
        return session.add_at(event.get("type"), path, event.get("index"))
    name = event.get("block")
    if not isinstance(name, str):
        raise SpecError("edit", f"a {kind} gesture needs a block name, got {name!r}")
    address = block_address(path, name)
    if kind == "select":
        session.block_at(address)  # raises for a block that is not (or no longer) there
        if path and not _editable(session.spec.blocks, path):
            return session, _owner(path)
        return session, address
    if kind == "delete":
        return session.delete_at(address), None
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise SpecError("edit", f"block index must be an integer, got {index!r}")
    to = path if event.get("to") is None else _norm_path(event.get("to"))
    return session.move_to(address, to, index)


def _owner(path: tuple) -> str:
    """The address of the composite block that holds the list at ``path``."""
    cut = len(path) - (3 if isinstance(path[-1], int) else 2)
    return block_address(path[:cut], path[cut])


def _editable(blocks: Sequence[BlockSpec], path: tuple) -> bool:
    """Whether the list at ``path`` is a real one (not an Inception module's derived branch)."""
    current = list(blocks)
    seen: tuple = ()
    while path:
        name, param, idx, rest = _first_step(path)
        bs = current[_position(current, name, seen)]
        if bs.type in DERIVED_LISTS:
            return False
        seen += (name, param) + (() if idx is None else (idx,))
        current, path = _named_items(_list_param(bs, param, idx, seen)), rest
    return True


# --- evaluation -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockRow:
    """One block's figures, looked up by its name in the report on screen."""

    index: int
    name: str
    type: str
    label: str
    output_shape: tuple | None  # None when the block is not in the report shown
    params: int
    macs: int
    error: str | None = None
    address: str = ""  # "conv_1" for a top-level block, "res_1/body/conv_1" inside one


@dataclass(frozen=True)
class InnerList:
    """One inner block list of a composite block, with each block's figures (``rows`` match
    ``blocks``, named as the board shows them)."""

    path: tuple        # ("res_1", "body") or ("mix_1", "branches", 0)
    label: str         # "body", "branch 1"
    blocks: tuple[BlockSpec, ...]
    rows: tuple[BlockRow, ...]


@dataclass(frozen=True)
class Nested:
    """A composite block's inside: its lists, whether they are editable as they are (an
    Inception module's derived branches are not: an edit converts the module first), and the
    cost of its own layers outside every list (shortcut projection, add, concatenation)."""

    lists: tuple[InnerList, ...]
    editable: bool
    own_params: int
    own_macs: int


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    ``report`` is the report on screen: the current spec's when ``ok``, else the last valid one
    (``stale`` True) or None. ``error`` is the SpecError of the current spec, ``error_index`` the
    index of the offending top-level block (None for the head, the input or the spec as a
    whole; ``error_block`` then says "head" or None). ``session`` is the input session with the
    last valid spec and report updated: keep it.
    """

    session: EditSession
    ok: bool
    report: Any
    report_spec: ArchSpec | None
    stale: bool
    error: SpecError | None
    error_index: int | None
    error_block: str | None
    blocks: list[BlockRow]
    head: BlockRow | None
    totals: dict[str, int] | None
    batch: int = 1
    inner: dict[str, Nested] = field(default_factory=dict)  # composite address -> its inside

    @property
    def error_address(self) -> str | None:
        """The address of the innermost block the error names (an inner block of a composite
        when that is where the rule failed), else :attr:`error_block`."""
        for nested in self.inner.values():
            for lst in nested.lists:
                for r in lst.rows:
                    if r.error:
                        return r.address
        return self.error_block

    def row(self, address: str) -> BlockRow | None:
        """The figures of the block at ``address`` (top-level or inner), None if not shown."""
        for r in self.blocks:
            if r.address == address or r.name == address:
                return r
        for nested in self.inner.values():
            for lst in nested.lists:
                for r in lst.rows:
                    if r.address == address:
                        return r
        return None


def _rows_for(report: Any, name: str) -> list:
    prefix = f"{name}."
    return [r for r in report.layers if r.name.startswith(prefix)]


def _part_rows(report: Any, prefix: str, part: str) -> list:
    """The layers of one part of a block (``{prefix}.{part}``, its ``_bn`` and ``_act``): a
    derived inner block of an Inception module."""
    names = {f"{prefix}.{part}", f"{prefix}.{part}_bn", f"{prefix}.{part}_act"}
    return [r for r in report.layers if r.name in names]


_WHERE_NAME = re.compile(r"^block '([^']+)'")


def _nest(report: Any, bs: BlockSpec, path: tuple, layer_name: str, in_shape: tuple | None,
          exists: Any, error: SpecError | None, out: dict[str, Nested]) -> None:
    """Fill ``out`` with the inside of block ``bs`` at ``path`` (and of composites inside it):
    each inner block's output shape, params and MACs read from ``report`` by the layer-name
    prefix the build gives it (``{block}.{inner}``, ``{block}.br{i}.{inner}`` for branches)."""
    lists = inner_lists(bs)
    if not lists:
        return
    address = block_address(path, bs.name or layer_name.rsplit(".", 1)[-1])
    err_where = _WHERE_NAME.match(error.where) if error is not None else None
    inner_params = inner_macs = 0
    built = []
    for suffix, label, items, editable in lists:
        list_path = tuple(path) + (bs.name,) + suffix
        base = layer_name if len(suffix) == 1 else f"{layer_name}.br{suffix[1] + 1}"
        shape = in_shape
        rows = []
        for j, ib in enumerate(items):
            a = block_address(list_path, ib.name or "")
            name = f"{base}.{ib.name}" if editable else f"{layer_name}.{ib.name}"
            if report is None:
                layers: list = []
            else:
                layers = _rows_for(report, name) if editable else \
                    _part_rows(report, layer_name, ib.name or "")
            if layers:
                out_shape = tuple(layers[-1].output_shape)
            elif report is not None and shape is not None and exists(a):
                out_shape = shape  # no layers (e.g. an activation "none") passes x on
            else:
                out_shape = None
            params, macs = sum(r.params for r in layers), sum(r.macs for r in layers)
            inner_params, inner_macs = inner_params + params, inner_macs + macs
            rule = error.rule if err_where is not None and err_where.group(1) == name else None
            rows.append(BlockRow(j, ib.name or "", ib.type, _label(ib.type), out_shape, params,
                                 macs, rule, a))
            _nest(report, ib, list_path, name, shape, exists, error, out)
            shape = out_shape
        built.append(InnerList(list_path, label, tuple(items), tuple(rows)))
    whole = _rows_for(report, layer_name) if report is not None else []
    out[address] = Nested(tuple(built), all(e for *_, e in lists),
                          sum(r.params for r in whole) - inner_params,
                          sum(r.macs for r in whole) - inner_macs)


def _find(spec: ArchSpec | None, address: str) -> bool:
    """Whether ``spec`` has a block at ``address``."""
    if spec is None:
        return False
    try:
        path, name = parse_address(address)
        _position(_blocks_at(_named(spec).blocks, path), name, path)
        return True
    except SpecError:
        return False


def evaluate(session: EditSession, batch: int = 1) -> Evaluation:
    """Build and analyse ``session.spec`` at ``batch`` (cached by spec key).

    Never raises for an invalid spec: the SpecError comes back in the result, pointing at the
    offending block, with the last valid report kept on screen."""
    from playground.cached import analyze_spec
    from playground.cost.headline import summary

    spec = session.spec
    if not spec.blocks and spec.head is None:  # nothing to build: zeros, and no Keras needed
        return Evaluation(session=session, ok=True, report=None, report_spec=None, stale=False,
                          error=None, error_index=None, error_block=None, blocks=[], head=None,
                          totals=None, batch=batch)
    names = block_names(spec)
    error: SpecError | None = None
    try:
        report = analyze_spec(spec, batch)
    except SpecError as e:
        error, report = e, None
    if report is not None:
        session = replace(session, last_valid_spec=spec, last_valid_report=report)
        shown, shown_spec = report, spec
    else:
        shown = session.last_valid_report
        shown_spec = session.last_valid_spec
        if shown is not None and shown.batch != batch and shown_spec is not None:
            try:
                shown = analyze_spec(shown_spec, batch)
            except SpecError:  # pragma: no cover - it was valid before
                pass
    error_index = None
    error_block = error.block if error is not None else None
    if error_block is not None and error_block in names:
        error_index = names.index(error_block)

    rows: list[BlockRow] = []
    inner: dict[str, Nested] = {}
    if shown is not None and shown_spec == spec:
        def exists(address: str) -> bool:
            return True
    else:
        def exists(address: str) -> bool:
            return _find(shown_spec, address)
    prev_shape = tuple(spec.input_shape) if shown is not None else None
    if shown is not None and tuple(shown_spec.input_shape) != tuple(spec.input_shape):
        prev_shape = None
    for i, (name, bs) in enumerate(zip(names, spec.blocks)):
        layers = _rows_for(shown, name) if shown is not None else []
        if layers:
            shape = layers[-1].output_shape
        elif shown is not None and shown_spec is not None and name in block_names(shown_spec):
            shape = prev_shape  # a block without layers (e.g. activation "none") passes x on
        else:
            shape = None
        rows.append(BlockRow(i, name, bs.type, _label(bs.type), shape,
                             sum(r.params for r in layers), sum(r.macs for r in layers),
                             error.rule if error is not None and i == error_index else None,
                             name))
        _nest(shown, bs, (), name, prev_shape, exists, error, inner)
        prev_shape = shape
    head_row = None
    if spec.head is not None:
        layers = _rows_for(shown, "head") if shown is not None else []
        same_head = shown_spec is not None and shown_spec.head == spec.head
        head_row = BlockRow(len(spec.blocks), "head", spec.head.type, _label(spec.head.type),
                            layers[-1].output_shape if layers and same_head else
                            (prev_shape if same_head and shown is not None else None),
                            sum(r.params for r in layers) if same_head else 0,
                            sum(r.macs for r in layers) if same_head else 0,
                            error.rule if error is not None and error_block == "head" else None)
    return Evaluation(
        session=session, ok=error is None, report=shown, report_spec=shown_spec,
        stale=error is not None and shown is not None, error=error, error_index=error_index,
        error_block=error_block, blocks=rows, head=head_row,
        totals=summary(shown) if shown is not None else None, batch=batch, inner=inner)


# --- the cost change of one edit -------------------------------------------------------------
def _signed(n: int) -> str:
    from playground.cost import format_count
    if n == 0:
        return "+0"
    text = format_count(n)
    return text if text.startswith("-") else f"+{text}"


def delta(prev_report: Any, new_report: Any, edit_label: str) -> str:
    """One line such as ``"+1x1 bottleneck: -247.3M MACs, -315.4K params"``.

    Without a previous report the new totals are given unsigned; without a new one (an invalid
    spec) the line says so."""
    from playground.cost import format_count

    label = edit_label or "edit"
    if new_report is None:
        return f"{label}: invalid model (figures unchanged)"
    if prev_report is None:
        return (f"{label}: {format_count(new_report.macs)} MACs, "
                f"{format_count(new_report.params)} params")
    return (f"{label}: {_signed(new_report.macs - prev_report.macs)} MACs, "
            f"{_signed(new_report.params - prev_report.params)} params")


@dataclass(frozen=True)
class _Figures:
    macs: int = 0
    params: int = 0


_NO_FIGURES = _Figures()  # an empty model's (it is not built)


@dataclass
class DeltaNote:
    """The Builder's line on the last edit's cost change, kept across reruns: it changes only
    when the spec does after a labelled edit, and remembers the last valid report to compare
    the next edit against."""

    prev: Any = None        # the last valid CostReport
    text: str = ""          # the line shown
    key: str | None = None  # the spec key the line was made for

    def update(self, session: "EditSession", report: Any, ok: bool) -> str:
        """Take one evaluation of ``session`` (``report`` valid when ``ok``; None for an empty
        model, whose figures are zero); the line."""
        if ok and report is None:
            report = _NO_FIGURES
        if session.last_label and self.prev is not None and self.key != session.spec.key():
            self.text = delta(self.prev, report if ok else None, session.last_label)
            self.key = session.spec.key()
        if ok:
            self.prev = report
        return self.text


# --- share links -------------------------------------------------------------------------------
QUERY_KEY = "spec"
MAX_LINK_CHARS = 100_000
MAX_DECOMPRESSED = 1_000_000
_B64URL = re.compile(r"^[A-Za-z0-9_\-]*={0,2}$")


def spec_to_query(spec: ArchSpec) -> str:
    """The spec as a compact URL-safe string: compact JSON, zlib, urlsafe base64 (no padding)."""
    text = json.dumps(spec.to_dict(), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 9)).decode().rstrip("=")


def _link_error(rule: str) -> SpecError:
    return SpecError("shared link", rule)


def _check_types(spec: ArchSpec) -> None:
    for i, bs in enumerate(spec.blocks):
        if bs.type not in BLOCKS:
            raise _link_error(f"block #{i + 1} has unknown type {bs.type!r}")
        resolve_params(BLOCKS.get(bs.type), bs.params, f"block #{i + 1} ({bs.type})")
    if spec.head is not None:
        if spec.head.type not in BLOCKS or BLOCKS.get(spec.head.type).category != "head":
            raise _link_error(f"the head has unknown head type {spec.head.type!r}")
        resolve_params(BLOCKS.get(spec.head.type), spec.head.params, "head")


def _decode(text: Any) -> ArchSpec:
    if not isinstance(text, str):
        raise _link_error(f"expected text, got {type(text).__name__}")
    text = text.strip()
    if "?" in text or "&" in text or text.startswith(f"{QUERY_KEY}="):
        query = text.split("?", 1)[-1]
        values = urllib.parse.parse_qs(query).get(QUERY_KEY)
        if not values:
            raise _link_error(f"the link has no '{QUERY_KEY}=' part")
        text = values[0].strip()
    if not text:
        raise _link_error("the link is empty")
    if len(text) > MAX_LINK_CHARS:
        raise _link_error(f"the link is too long ({len(text):,} characters; at most "
                          f"{MAX_LINK_CHARS:,})")
    if not _B64URL.match(text):
        raise _link_error("the link contains characters that URL-safe base64 does not use; "
                          "it was probably cut or altered when copied")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise _link_error("the link is truncated (its length is not possible for base64)")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise _link_error("the link is not valid base64; it was probably cut when copied") from None
    d = zlib.decompressobj()
    try:
        data = d.decompress(raw, MAX_DECOMPRESSED)
    except zlib.error:
        raise _link_error("the link is corrupted (its compressed data does not decode)") from None
    if d.unconsumed_tail:
        raise _link_error(f"the link expands to more than {MAX_DECOMPRESSED:,} bytes")
    if not d.eof:
        raise _link_error("the link is truncated (its compressed data ends early)")
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _link_error("the link does not hold text") from None
    except json.JSONDecodeError as e:
        raise _link_error(f"the link does not hold valid JSON ({e.msg} at column {e.colno})") \
            from None
    except RecursionError:
        raise _link_error("the link's JSON is nested too deeply") from None
    try:
        spec = ArchSpec.from_dict(obj, "shared link")
        _check_types(spec)
    except SpecError as e:
        if e.where == "shared link":
            raise
        raise _link_error(f"{e.where}: {e.rule}") from None
    return spec


def spec_from_query(text: str) -> ArchSpec:
    """The spec in a share link made by :func:`spec_to_query` (the bare value, ``spec=...`` or a
    whole URL). Any damage raises ``SpecError("shared link", rule)``, never another type."""
    try:
        return _decode(text)
    except SpecError:
        raise
    except RecursionError:
        raise _link_error("the link's spec is nested too deeply") from None
    except Exception as e:  # defensive: a link is untrusted input
        raise _link_error(f"the link could not be read ({type(e).__name__})") from None


# --- the palette -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaletteItem:
    type: str
    label: str
    doc: str
    category: str
    composite: bool = False
    params: tuple = field(default=(), compare=False)


def palette() -> dict[str, list[PaletteItem]]:
    """Block types grouped by category, in :data:`CATEGORIES` order (empty categories left out),
    each in registration order with its label and doc."""
    out: dict[str, list[PaletteItem]] = {}
    for cat in CATEGORIES:
        items = [PaletteItem(name, bt.label, bt.doc, bt.category, bt.composite, bt.params)
                 for name, bt in BLOCKS.items() if bt.category == cat]
        if items:
            out[cat] = items
    return out
