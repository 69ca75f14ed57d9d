"""One neutral architecture graph and thin renderers (pydot / DOT text / SVG / plotly).

:func:`model_graph` walks a built Keras Functional (or Sequential) model (through
:mod:`playground.keras_graph`, the one reader of Keras' graph internals) into a :class:`Graph`
of plain :class:`Node` records and ``(source, target)`` edges, either one node per layer
(``level="layer"``) or with composite blocks collapsed (``level="block"``). The renderers only
read that graph, so tests can assert on edges rather than on pictures.

Block grouping: our models name layers ``{block}.{part}`` so a layer's block is the part before
the first dot. For models we did not build (``keras.applications``) a short table of name rules
recognises the usual families (ResNet ``conv2_block1_*``, VGG/Xception ``block1_*``,
MobileNetV2 ``block_1_*``, Inception ``mixed0``, NASNet cells, ...). Layers that still carry a
Keras auto-name (``conv2d_7``, ``activation_12``) are attached by structure: a merge joins the
block of its inputs, any other layer the block of its consumers, and a fork that feeds a whole
block on its own becomes a block itself. A layer that matches nothing is its own block.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from playground import keras_graph as kg
from playground.errors import SpecError

try:  # one way of writing counts across the app (346.8M); the formulas need no Keras
    from playground.cost.formulas import format_count as _format_count
except ImportError:  # pragma: no cover - the cost package is optional for graphs
    _format_count = None

LEVELS = ("block", "layer")
KINDS = ("input", "conv", "pooling", "merge", "dense", "norm", "composite", "other")
COLOURS = {
    "input": "#E5E8E8",
    "conv": "#AED6F1",
    "pooling": "#A9DFBF",
    "merge": "#F9E79F",
    "dense": "#F5B7B1",
    "norm": "#D7BDE2",
    "composite": "#FAD7A0",
    "other": "#F8F9F9",
}


@dataclass
class Node:
    """One box of the graph: a layer, or a block of layers (``members``, in graph order).

    ``output_shape`` is the Keras shape with the batch axis (``(None, 32, 32, 16)``), a list of
    such shapes for a multi-output layer, or ``None`` when unknown. ``macs`` is ``None`` unless
    annotations supplied it (the graph does not compute costs).
    """

    id: str
    label: str
    kind: str
    output_shape: Any
    params: int
    macs: int | None
    members: list[str] = field(default_factory=list)
    type: str = ""

    @property
    def name(self) -> str:
        return self.id


@dataclass
class Graph:
    nodes: list[Node]
    edges: list[tuple[str, str]]
    level: str

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r}; nodes: {', '.join(n.id for n in self.nodes[:20])}")

    def parents(self, node_id: str) -> list[str]:
        return [u for u, v in self.edges if v == node_id]

    def children(self, node_id: str) -> list[str]:
        return [v for u, v in self.edges if u == node_id]

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.nodes]


# --- formatting --------------------------------------------------------------------------
def human(n: float | int | None) -> str:
    """A count for people: 346.8M, 1.82G, 512 (``?`` for None)."""
    if _format_count is not None:
        return _format_count(n)
    if n is None:  # pragma: no cover - fallback
        return "?"
    for scale, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):  # pragma: no cover
        if abs(n) >= scale:
            v = n / scale
            return f"{v:.2f}{unit}" if abs(v) < 10 else f"{v:.1f}{unit}"
    return str(int(n)) if float(n).is_integer() else f"{n:.3g}"  # pragma: no cover


def format_shape(shape: Any) -> str:
    """``(None, 32, 32, 16)`` -> ``32x32x16``; several outputs are joined with `` | ``."""
    if shape is None:
        return "?"
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return " | ".join(format_shape(s) for s in shape)
    dims = list(shape)[1:] if len(shape) > 1 else list(shape)
    return "x".join("?" if d is None else str(d) for d in dims) or "scalar"


def make_label(name: str, type_: str, shape: Any, macs: int | None, extra: str = "") -> str:
    lines = [name, type_ + (f" {extra}" if extra else ""), format_shape(shape)]
    if macs is not None:
        lines.append(f"{human(macs)} MACs")
    return "\n".join(lines)


# --- layer kinds -------------------------------------------------------------------------
_MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
_DENSE = {"Dense", "EinsumDense", "Embedding"}


def layer_kind(layer: Any, n_inputs: int = 1) -> str:
    """conv / pooling / merge / dense / norm / input / other, by the layer's class (or a base)."""
    for cls in type(layer).__mro__:
        n = cls.__name__
        if n == "InputLayer":
            return "input"
        if re.search(r"Conv(\d+D|olution|LSTM)|Conv$", n):
            return "conv"
        if "Pooling" in n:
            return "pooling"
        if n in _MERGES:
            return "merge"
        if n in _DENSE:
            return "dense"
        if n.endswith("Normalization"):
            return "norm"
        if n in ("Layer", "Operation", "Model", "Functional", "Sequential"):
            break
    return "merge" if n_inputs > 1 else "other"


def _block_kind(kinds: Sequence[str]) -> str:
    ks = set(kinds)
    if len(kinds) > 1 and "merge" in ks:
        return "composite"
    for k in ("conv", "dense", "pooling", "norm", "merge", "input"):
        if k in ks:
            return k
    return "other"


# --- walking the Keras graph -------------------------------------------------------------
@dataclass
class _LayerInfo:
    name: str
    layer: Any
    type: str
    parents: list[str]
    shape: Any
    n_inputs: int
    params: int


def _shape_of(tensors: Sequence[Any]) -> Any:
    shapes = [tuple(t.shape) for t in tensors]
    if not shapes:
        return None
    return shapes[0] if len(shapes) == 1 else shapes


def _param_count(layer: Any) -> int:
    try:
        return int(layer.count_params())
    except (ValueError, AttributeError):  # an unbuilt layer or a non-layer operation
        return 0


def functional_of(model: Any) -> Any:
    """The Functional graph behind ``model`` (a Sequential keeps one once it has an input)."""
    fn = kg.graph_of(model)
    if fn is not None:
        return fn
    if kg.is_unbuilt_sequential(model):
        raise SpecError("graph", f"Sequential model '{model.name}' has no input shape yet; "
                                 "start it with keras.Input(shape=...)")
    raise SpecError("graph", f"model '{getattr(model, 'name', model)}' is not a Functional or "
                             "Sequential Keras model; subclassed models have no static graph")


def walk_layers(model: Any) -> list[_LayerInfo]:
    """Every layer of the model's graph in topological order, with its parent layers."""
    out: list[_LayerInfo] = []
    for op, op_calls in kg.layer_calls(functional_of(model)):
        parents: list[str] = []
        shape = None
        n_inputs = 0
        for call in op_calls:
            tensors = call.inputs
            n_inputs = max(n_inputs, len(tensors))
            for t in tensors:
                src = kg.producer(t)[0]
                if src is not None and src.name not in parents:
                    parents.append(src.name)
            if shape is None:
                shape = _shape_of(call.outputs)
        out.append(_LayerInfo(op.name, op, type(op).__name__, parents, shape, n_inputs,
                              _param_count(op)))
    return out


# --- block grouping --------------------------------------------------------------------------
_NAME_RULES: tuple[tuple[re.Pattern, str | int], ...] = tuple((re.compile(p), g) for p, g in (
    (r"^(conv\d+_block\d+)_", 1),                    # ResNet, DenseNet: conv2_block1_1_conv
    (r"^((?:conv|pool)\d+)(?:_|$)", 1),              # ResNet/DenseNet stem, transitions: pool2_conv
    (r"^(block\d+_\d+)(?:_|$)", 1),                  # InceptionResNetV2: block35_1_mixed
    (r"^(block_?\d+)_", 1),                          # VGG/Xception block1_conv1, MobileNetV2 block_1_
    (r"^conv_(?:dw|pw|pad)_(\d+)", "conv_dw_{}"),    # MobileNet: conv_dw_3, conv_pw_3_bn
    (r"^(?:bn_)?(Conv_?1)(?:_\w+)?$", 1),            # MobileNetV2 stem / top conv
    (r"^(expanded_conv)_", 1),                       # MobileNetV2 first block
    (r"^(mixed_?\d+[a-z]?)", 1),                     # InceptionV3 mixed9_0, InceptionResNetV2 mixed_6a
    (r"^(conv_\d+[a-z])(?:_|$)", 1),                 # InceptionResNetV2 conv_7b_bn
    (r"^(stem)_", 1),                                # NASNet stem_conv1
    (r"^(?:normal|reduction|adjust|separable_conv)\w*?_((?:stem_|reduce_)?\d+)$", "cell_{}"),
))


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _auto_named(name: str, layer: Any) -> bool:
    """A Keras default name (``conv2d_7``, ``batch_normalization``): it says nothing of a block."""
    return re.sub(r"_\d+$", "", name) == _snake(type(layer).__name__)


def default_block_of(name: str) -> str | None:
    """The block a layer name belongs to, by name alone (None when the name does not say)."""
    if "." in name:
        return name.split(".", 1)[0]
    for pattern, group in _NAME_RULES:
        m = pattern.match(name)
        if m:
            return m.group(group) if isinstance(group, int) else group.format(*m.groups())
    return None


def _group_layers(infos: list[_LayerInfo], block_of: Callable[[str], str | None] | None) -> dict[str, str]:
    """layer name -> block name (see the module doc for the rules)."""
    group: dict[str, str | None] = {}
    for info in infos:
        if info.type == "InputLayer":
            group[info.name] = info.name
            continue
        g = block_of(info.name) if block_of is not None else default_block_of(info.name)
        if g is None and not _auto_named(info.name, info.layer):
            g = info.name
        group[info.name] = g
    if all(g is not None for g in group.values()):
        return group  # type: ignore[return-value]

    children: dict[str, list[str]] = defaultdict(list)
    for info in infos:
        for p in info.parents:
            children[p].append(info.name)
    parents = {info.name: info.parents for info in infos}

    # forward: an unnamed merge closes the block of its most recent named input (a residual
    # add joins the block whose branch it ends, not the block its shortcut comes from)
    position = {info.name: i for i, info in enumerate(infos)}
    for info in infos:
        if group[info.name] is None and info.n_inputs > 1:
            named = [p for p in info.parents if group.get(p) is not None]
            if named:
                group[info.name] = group[max(named, key=position.__getitem__)]

    members: dict[str, set[str]] = defaultdict(set)
    for n, g in group.items():
        if g is not None:
            members[g].add(n)

    def sole_entry(name: str, g: str) -> bool:
        """Whether every edge into block ``g`` comes from ``name`` (it feeds the block alone)."""
        for m in members[g]:
            for p in parents.get(m, ()):
                if p not in members[g] and p != name:
                    return False
        return True

    # backward: other unnamed layers join the block they feed
    for info in reversed(infos):
        name = info.name
        if group[name] is not None:
            continue
        gs = {group.get(c) for c in children.get(name, ())}
        g = None
        if len(gs) == 1 and None not in gs:
            g = gs.pop()
            if len(children[name]) > 1 and sole_entry(name, g):
                g = None  # a fork feeding a whole block is that block's input, not part of it
        group[name] = g if g is not None else name
        members[group[name]].add(name)
    return group  # type: ignore[return-value]


# --- the graph --------------------------------------------------------------------------
def _annotation(annotations: Any, name: str) -> Mapping[str, Any] | None:
    if annotations is None:
        return None
    a = annotations.get(name) if isinstance(annotations, Mapping) else None
    if a is None:
        return None
    if isinstance(a, Mapping):
        return a
    return {k: getattr(a, k) for k in ("macs", "params") if hasattr(a, k)}


def annotations_from_report(report: Any) -> dict[str, dict[str, Any]]:
    """Per-layer annotations from anything with ``.layers`` of ``name/params/macs`` rows."""
    return {row.name: {"macs": getattr(row, "macs", None), "params": getattr(row, "params", None)}
            for row in report.layers}


def _ann_int(a: Mapping[str, Any] | None, key: str) -> int | None:
    if a is None or a.get(key) is None:
        return None
    return int(a[key])


def model_graph(model: Any, level: str = "block",
                annotations: Mapping[str, Mapping[str, Any]] | Any | None = None,
                block_of: Callable[[str], str | None] | None = None,
                block_types: Mapping[str, str] | None = None) -> Graph:
    """The graph of a built Keras model, one node per layer or per block.

    ``annotations`` maps layer names to ``{"macs": ..., "params": ...}`` (e.g. from the cost
    model; an object with ``.layers`` rows is accepted too); ``block_of`` maps a layer name to
    its block (default: :func:`default_block_of` plus structural attachment); ``block_types``
    names each block's type in its label (``{"res_2": "resnet_basic"}``).
    """
    if level not in LEVELS:
        raise SpecError("graph", f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")
    if annotations is not None and not isinstance(annotations, Mapping) and hasattr(annotations, "layers"):
        annotations = annotations_from_report(annotations)
    infos = walk_layers(model)
    layer_nodes: list[Node] = []
    for info in infos:
        a = _annotation(annotations, info.name)
        macs = _ann_int(a, "macs")
        params = _ann_int(a, "params")
        params = info.params if params is None else params
        kind = layer_kind(info.layer, info.n_inputs)
        layer_nodes.append(Node(info.name, make_label(info.name, info.type, info.shape, macs), kind,
                                info.shape, params, macs, [info.name], info.type))
    layer_edges = [(p, info.name) for info in infos for p in info.parents]
    if level == "layer":
        return Graph(layer_nodes, layer_edges, "layer")

    group = _group_layers(infos, block_of)
    order: list[str] = []
    grouped: dict[str, list[Node]] = {}
    for n in layer_nodes:
        g = group[n.id]
        if g not in grouped:
            grouped[g] = []
            order.append(g)
        grouped[g].append(n)
    types = dict(block_types or {})
    nodes: list[Node] = []
    for g in order:
        ms = grouped[g]
        last = ms[-1]
        known = [m.macs for m in ms if m.macs is not None]
        macs = sum(known) if known else None
        params = sum(m.params for m in ms)
        if g in types:
            btype = types[g]
        elif len(ms) == 1:
            btype = ms[0].type
        else:
            mtypes = {m.type for m in ms}
            btype = ("residual" if "Add" in mtypes else
                     "concat" if "Concatenate" in mtypes else "sequential")
        extra = f"({len(ms)} layers)" if len(ms) > 1 else ""
        nodes.append(Node(g, make_label(g, btype, last.output_shape, macs, extra),
                          _block_kind([m.kind for m in ms]), last.output_shape, params, macs,
                          [m.id for m in ms], btype))
    seen: set[tuple[str, str]] = set()
    edges: list[tuple[str, str]] = []
    for u, v in layer_edges:
        e = (group[u], group[v])
        if e[0] != e[1] and e not in seen:
            seen.add(e)
            edges.append(e)
    return Graph(nodes, edges, "block")


def spec_block_types(spec: Any) -> dict[str, str]:
    """Block name -> block type for a spec's built model (``input`` and ``head`` included)."""
    from playground.spec import block_names
    types = {"input": "InputLayer"}
    types.update({n: b.type for n, b in zip(block_names(spec), spec.blocks)})
    if spec.head is not None:
        types["head"] = spec.head.type
    return types


def spec_graph(spec: Any, level: str = "block", annotations: Any = None, model: Any = None) -> Graph:
    """:func:`model_graph` of a spec's model, with the block types in the labels."""
    if model is None:
        from playground.build import build
        model = build(spec)
    return model_graph(model, level, annotations, block_types=spec_block_types(spec))


# --- renderers ------------------------------------------------------------------------------
def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: Graph, rankdir: str = "TB") -> str:
    """DOT text of the graph (rounded boxes coloured by kind); needs no Graphviz binary.

    Written directly (not via pydot's per-attribute quoting) so a 1000-layer model takes
    milliseconds; :func:`to_pydot` parses the same text.
    """
    lines = [
        "digraph G {",
        f'rankdir={rankdir};',
        'nodesep="0.25";',
        'ranksep="0.35";',
        'fontname="Helvetica";',
        'node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
        'color="#5D6D7E", margin="0.12,0.04"];',
        'edge [color="#5D6D7E", arrowsize="0.6"];',
    ]
    for n in graph.nodes:
        colour = COLOURS.get(n.kind, COLOURS["other"])
        lines.append(f'"{_dot_escape(n.id)}" [label="{_dot_escape(n.label)}", '
                     f'fillcolor="{colour}", tooltip="{_dot_escape(n.kind)}"];')
    for u, v in graph.edges:
        lines.append(f'"{_dot_escape(u)}" -> "{_dot_escape(v)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_pydot(graph: Graph, rankdir: str = "TB") -> Any:
    """A ``pydot.Dot`` of the graph, parsed from :func:`to_dot` (one place holds the styling)."""
    import pydot
    return pydot.graph_from_dot_data(to_dot(graph, rankdir))[0]


def render_svg(dot_text: str, timeout: float = 120.0) -> bytes:
    """SVG bytes of DOT text, drawn by the Graphviz ``dot`` binary."""
    exe = shutil.which("dot")
    if exe is None:
        raise SpecError("svg export", "Graphviz 'dot' is not installed; export DOT instead or "
                                      "install graphviz")
    try:
        res = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True,
                             timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SpecError("svg export", f"Graphviz 'dot' failed: {e}") from None
    if res.returncode != 0:
        err = (res.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[0]
        raise SpecError("svg export", f"Graphviz 'dot' failed (exit {res.returncode}): {err}")
    return res.stdout


def layered_layout(graph: Graph) -> dict[str, tuple[float, int]]:
    """node id -> (x, depth): depth is the longest path from an input; x spreads each layer.

    Kahn's order over the DAG (an edge that would close a cycle, possible between blocks, is
    ignored); within a layer nodes are ordered by the mean position of their parents.
    """
    ids = graph.ids
    index = {n: i for i, n in enumerate(ids)}
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    indeg = dict.fromkeys(ids, 0)
    for u, v in graph.edges:
        if u in index and v in index:
            succ[u].append(v)
            pred[v].append(u)
            indeg[v] += 1
    depth = dict.fromkeys(ids, 0)
    done: set[str] = set()
    ready = [n for n in ids if indeg[n] == 0]
    pending = list(ids)
    while len(done) < len(ids):
        if not ready:  # a cycle: release the earliest pending node
            ready = [next(n for n in pending if n not in done)]
        nxt: list[str] = []
        for n in ready:
            if n in done:
                continue
            done.add(n)
            for v in succ[n]:
                if v in done:
                    continue
                depth[v] = max(depth[v], depth[n] + 1)
                indeg[v] -= 1
                if indeg[v] == 0:
                    nxt.append(v)
        ready = nxt
    by_depth: dict[int, list[str]] = defaultdict(list)
    for n in ids:
        by_depth[depth[n]].append(n)
    x: dict[str, float] = {}
    for d in sorted(by_depth):
        row = by_depth[d]

        def bary(n: str) -> float:
            ps = [x[p] for p in pred[n] if p in x]
            return sum(ps) / len(ps) if ps else float(index[n])
        row.sort(key=lambda n: (bary(n), index[n]))
        for i, n in enumerate(row):
            x[n] = i - (len(row) - 1) / 2
    return {n: (x[n], depth[n]) for n in ids}


def to_plotly(graph: Graph, title: str | None = None) -> Any:
    """A plotly figure: nodes as markers (one trace per kind, hover shows the label), edges as
    lines, laid out top to bottom by depth."""
    import plotly.graph_objects as go
    pos = layered_layout(graph)
    ex: list[float | None] = []
    ey: list[float | None] = []
    for u, v in graph.edges:
        if u in pos and v in pos:
            ex += [pos[u][0], pos[v][0], None]
            ey += [-pos[u][1], -pos[v][1], None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=dict(width=1, color="#85929E"),
                             hoverinfo="skip", showlegend=False, name="edges"))
    show_text = len(graph.nodes) <= 120
    for kind in KINDS:
        ns = [n for n in graph.nodes if n.kind == kind]
        if not ns:
            continue
        hover = [n.label.replace("\n", "<br>") + f"<br>{human(n.params)} params" for n in ns]
        fig.add_trace(go.Scatter(
            x=[pos[n.id][0] for n in ns], y=[-pos[n.id][1] for n in ns],
            mode="markers+text" if show_text else "markers", name=kind,
            text=[n.id for n in ns] if show_text else None, textposition="middle right",
            hovertext=hover, hoverinfo="text",
            marker=dict(size=14, color=COLOURS[kind], symbol="square",
                        line=dict(width=1, color="#5D6D7E"))))
    depth = max((d for _, d in pos.values()), default=0)
    fig.update_layout(title=title, showlegend=True, hovermode="closest",
                      height=max(400, min(30 * (depth + 1) + 120, 20000)),
                      margin=dict(l=10, r=10, t=40 if title else 10, b=10),
                      plot_bgcolor="white",
                      xaxis=dict(visible=False), yaxis=dict(visible=False))
    return fig


def graph_edges(graph: Graph) -> set[tuple[str, str]]:
    """The edges as a set (handy in tests and comparisons)."""
    return set(graph.edges)


__all__ = ["Node", "Graph", "LEVELS", "KINDS", "COLOURS", "model_graph", "spec_graph",
           "spec_block_types", "default_block_of", "layer_kind", "annotations_from_report",
           "to_dot", "to_pydot", "to_plotly", "render_svg", "layered_layout", "human",
           "format_shape", "walk_layers", "functional_of", "graph_edges"]

