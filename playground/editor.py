"""The builder page's editing model, free of Streamlit: an immutable :class:`EditSession`.

Every operation (add, move, reorder, delete, duplicate, change parameters, head, input, load)
returns a *new* session and never changes the old one; each keeps the previous spec on a bounded
undo stack with a short label ("+Conv", "-Inception module", "Conv kernel 3 -> 5") that
:func:`delta` turns into a one-line cost change. Every block gets an explicit unique name
(``f"{type}_{n}"``) when it enters the session, so the drag-and-drop list can identify blocks
by name and duplicates of one type stay distinguishable.

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
    if isinstance(v, (list, tuple)) and all(isinstance(i, int) for i in v):
        return "x".join(str(i) for i in v) if v else "[]"
    if isinstance(v, float):
        return f"{v:g}"
    if v is None:
        return "auto"
    return str(v)


def _change_text(name: str, kind: str, old: Any, new: Any) -> str:
    """One parameter's change for an edit label: ``"kernel 3 -> 5"``; an inner graph is
    summarised by its size (``"body: 2 -> 3 blocks"``, ``"branches: 1+2 -> 1+3 blocks"``)."""
    if kind == "blocks":
        a, b = len(old or ()), len(new or ())
        return f"{name}: {a} -> {b} blocks" if a != b else f"{name}: {b} blocks edited"
    if kind == "branches":
        a = "+".join(str(len(br)) for br in old or ()) or "0"
        b = "+".join(str(len(br)) for br in new or ()) or "0"
        if len(old or ()) != len(new or ()):
            return f"{name}: {len(old or ())} -> {len(new or ())} branches"
        return f"{name}: {a} -> {b} blocks" if a != b else f"{name}: {b} blocks edited"
    return f"{name} {_fmt_value(old)} -> {_fmt_value(new)}"


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
        bs = self.spec.blocks[i]
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
                parts.append(_change_text(k, known[k].kind, old, v))
        label = f"{bt.label} " + ", ".join(parts) if parts else f"{bt.label} (no change)"
        new = BlockSpec(bs.type, params, bs.name)
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
    ``{"kind": "delete", "block": name}`` removes it. Returns ``(session, block to open or
    None)``; a malformed gesture or an unknown block raises SpecError."""
    if not isinstance(event, Mapping) or event.get("kind") not in GESTURES:
        raise SpecError("edit", f"unknown gesture {event!r}; gestures: {', '.join(GESTURES)}")
    kind = event["kind"]
    if kind == "select":
        name = event.get("block")
        session.index_of(name)  # raises for a block that is not (or no longer) there
        return session, name
    if kind == "add":
        index = event.get("index")
        new = session.add_block(event.get("type"), index=index)
        if len(new.names) == len(session.names):  # a head type sets the head
            return new, None
        pos = len(session.names) if index is None else session._index(index, allow_end=True)
        return new, new.names[pos]
    i = session.index_of(event.get("block"))
    if kind == "delete":
        return session.delete_block(i), None
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise SpecError("edit", f"block index must be an integer, got {index!r}")
    return session.move_block(i, min(max(index, 0), len(session.names) - 1)), event["block"]


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


def _rows_for(report: Any, name: str) -> list:
    prefix = f"{name}."
    return [r for r in report.layers if r.name.startswith(prefix)]


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
                             error.rule if error is not None and i == error_index else None))
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
        totals=summary(shown) if shown is not None else None, batch=batch)


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
