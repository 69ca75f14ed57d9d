"""The block registry: every block type with its parameter schema and its builder function.

A builder is a small function ``(x, p, b) -> x``: ``x`` the incoming Keras tensor, ``p`` the
resolved parameters, ``b`` the :class:`BlockCtx` that names layers (``b.layer("conv")`` ->
``"stage2_b1.conv"``), raises :class:`SpecError` naming the block and builds a composite
block's inner blocks (``b.apply(p.body, x)``, through :func:`apply_block`). The same schema
drives validation, the builder UI's widgets and code export.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from playground.errors import SpecError, first_line
from playground.registry import Registry
from playground.spec import BlockSpec

CATEGORIES = ("convolution", "efficient", "composite", "pooling", "layers", "sequence", "head")


@dataclass(frozen=True)
class Param:
    """One parameter of a block type.

    kind: ``int``, ``float``, ``bool``, ``choice``, ``size`` (int or [h, w]), ``ints`` (list of
    int), ``blocks`` (list of block dicts: an inner graph), ``branches`` (list of block lists).
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False  # None is allowed (e.g. bias="auto" as None)


@dataclass(frozen=True)
class BlockType:
    name: str
    label: str
    category: str
    params: tuple[Param, ...]
    build: Callable[..., Any]
    doc: str = ""
    composite: bool = False

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}


BLOCKS: Registry[BlockType] = Registry("block type")


def block(name: str, label: str, category: str, params: Sequence[Param] = (), doc: str = "",
          composite: bool = False) -> Callable:
    """Register the decorated builder as block type ``name``."""
    assert category in CATEGORIES, category

    def deco(fn: Callable) -> Callable:
        BLOCKS.add(name, BlockType(name, label, category, tuple(params), fn,
                                   doc or (fn.__doc__ or "").strip(), composite))
        return fn
    return deco


class P(dict):
    """Resolved parameters with attribute access (``p.filters``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_value(param: Param, v: Any, where: str) -> Any:
    def bad(rule: str) -> SpecError:
        return SpecError(where, f"parameter '{param.name}' {rule}")

    if v is None:
        if param.optional:
            return None
        raise bad("is required")
    k = param.kind
    if k == "int":
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise bad(f"must be an integer, got {v!r}")
    elif k == "float":
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise bad(f"must be a number, got {v!r}")
        v = float(v)
    elif k == "bool":
        if not isinstance(v, bool):
            raise bad(f"must be true or false, got {v!r}")
    elif k == "choice":
        if v not in param.choices:
            raise bad(f"must be one of {list(param.choices)}, got {v!r}")
    elif k == "size":
        if _is_int(v):
            pass
        elif isinstance(v, (list, tuple)) and v and all(_is_int(i) for i in v):
            v = tuple(v)
        else:
            raise bad(f"must be an integer or a list of integers, got {v!r}")
    elif k == "ints":
        if not isinstance(v, (list, tuple)) or not all(_is_int(i) for i in v):
            raise bad(f"must be a list of integers, got {v!r}")
        v = list(v)
    elif k == "blocks":
        if not isinstance(v, (list, tuple)):
            raise bad("must be a list of blocks")
        v = list(v)
    elif k == "branches":
        if not isinstance(v, (list, tuple)) or not all(isinstance(br, (list, tuple)) for br in v):
            raise bad("must be a list of branches, each a list of blocks")
        v = [list(br) for br in v]
    else:  # pragma: no cover - schema bug
        raise AssertionError(k)
    nums = v if isinstance(v, (list, tuple)) and k in ("size", "ints") else [v]
    for n in nums:
        if k in ("int", "float", "size", "ints"):
            if param.min is not None and n < param.min:
                word = "zero or negative" if param.min > 0 >= n else f"below {param.min:g}"
                raise bad(f"is {word} ({n!r}); it must be >= {param.min:g}")
            if param.max is not None and n > param.max:
                raise bad(f"is {n!r}; it must be <= {param.max:g}")
    return v


def resolve_params(btype: BlockType, given: Mapping[str, Any], where: str) -> P:
    """Check ``given`` against the schema (unknown keys, types, ranges) and fill defaults."""
    known = {p.name for p in btype.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise SpecError(where, f"unknown parameter(s) {unknown}; {btype.name} takes "
                               f"{sorted(known) or 'no parameters'}")
    out = P()
    for param in btype.params:
        out[param.name] = _check_value(param, given.get(param.name, param.default), where)
    return out


@dataclass
class BlockCtx:
    """Names the layers of one block, reports errors against it and applies its inner blocks."""

    name: str
    type: str
    outputs: list = field(default_factory=list)  # extra model outputs (auxiliary heads)

    @property
    def where(self) -> str:
        return f"block '{self.name}' ({self.type})"

    def layer(self, part: str) -> str:
        return f"{self.name}.{part}"

    def error(self, rule: str) -> SpecError:
        return SpecError(self.where, rule, block=self.name.split(".")[0])

    def child(self, name: str, btype: str) -> "BlockCtx":
        """The context of a part of this block (``{self.name}.{name}``), e.g. one branch."""
        return BlockCtx(f"{self.name}.{name}", btype, self.outputs)

    def apply(self, items: Iterable[Any], x: Any) -> Any:
        """Build an inner block list (a composite block's body or one branch) on ``x``: each
        block is named ``{self.name}.{local}`` (its name, else ``{type}_{i}``)."""
        seen: set[str] = set()
        for i, item in enumerate(items):
            bs = item if isinstance(item, BlockSpec) else BlockSpec.from_dict(
                item, f"{self.where} inner block #{i + 1}")
            local = bs.name or f"{bs.type}_{i + 1}"
            if local in seen:
                raise self.error(f"duplicate inner block name {local!r}")
            seen.add(local)
            x = apply_block(x, bs, f"{self.name}.{local}", self.outputs)
        return x


def apply_block(x: Any, bspec: BlockSpec | Mapping[str, Any], name: str, outputs: list) -> Any:
    """Build one block on ``x`` under the layer-name prefix ``name`` (auxiliary outputs, such as
    GoogLeNet's side classifiers, are appended to ``outputs``)."""
    if not isinstance(bspec, BlockSpec):
        bspec = BlockSpec.from_dict(bspec, f"block '{name}'")
    where = f"block '{name}' ({bspec.type})"
    if bspec.type not in BLOCKS:
        raise SpecError(f"block '{name}'", f"unknown block type {bspec.type!r}; known: "
                        + ", ".join(BLOCKS.list()), block=name.split(".")[0])
    btype = BLOCKS.get(bspec.type)
    try:
        params = resolve_params(btype, bspec.params, where)
    except SpecError as e:
        e.block = name.split(".")[0]
        raise
    ctx = BlockCtx(name, bspec.type, outputs)
    try:
        return btype.build(x, params, ctx)
    except SpecError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise ctx.error(first_line(e, 300)) from None
