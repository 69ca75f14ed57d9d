"""The neutral graph: edges at block and layer level, grouping of Keras Applications, and the
renderers (DOT text that parses back, one plotly marker per node, SVG only with Graphviz)."""
import stat

import keras
import pydot
import pytest

from playground import graph as G
from playground.build import build
from playground.errors import SpecError
from playground.graph import (model_graph, render_svg, spec_block_types, spec_graph, to_dot,
                              to_plotly, to_pydot)
from playground.spec import ArchSpec

RES_SPEC = ArchSpec.from_dict({
    "name": "tiny_res", "input_shape": [16, 16, 3],
    "blocks": [
        {"type": "conv", "params": {"filters": 8, "batch_norm": True}},
        {"type": "residual", "params": {"shortcut": "identity", "body": [
            {"type": "conv", "params": {"filters": 8, "batch_norm": True}},
            {"type": "conv", "params": {"filters": 8, "batch_norm": True, "activation": "none"}}]}},
        {"type": "resnet_basic", "params": {"filters": 16, "stride": 2}},
    ],
    "head": {"type": "gap_head", "params": {"classes": 3}},
})


@pytest.fixture(scope="module")
def res_model():
    return build(RES_SPEC)


def _unquote(s: str) -> str:
    return s[1:-1] if len(s) >= 2 and s[0] == s[-1] == '"' else s


def test_block_level_edges(res_model):
    g = spec_graph(RES_SPEC, model=res_model)
    assert g.level == "block"
    assert g.ids == ["input", "conv_1", "residual_2", "resnet_basic_3", "head"]
    assert g.edges == [("input", "conv_1"), ("conv_1", "residual_2"),
                       ("residual_2", "resnet_basic_3"), ("resnet_basic_3", "head")]
    res = g.node("residual_2")
    assert res.type == "residual" and res.kind == "composite"
    assert res.members[0] == "residual_2.conv_1.conv" and res.members[-1] == "residual_2.out_act"
    assert res.output_shape == (None, 16, 16, 8)
    # params of a block are the sum over its layers, and all blocks add up to the model
    assert res.params == sum(res_model.get_layer(n).count_params() for n in res.members)
    assert sum(n.params for n in g.nodes) == res_model.count_params()
    assert "residual_2\nresidual (7 layers)\n16x16x8" == res.label
    assert g.node("head").kind == "dense"


def test_layer_level_edges_show_the_shortcut(res_model):
    g = model_graph(res_model, level="layer")
    assert len(g.nodes) == len(res_model.layers)
    edges = set(g.edges)
    # identity shortcut: the add takes the block input and the end of the body
    assert set(g.parents("residual_2.add")) == {"conv_1.conv_act", "residual_2.conv_2.conv_bn"}
    assert ("conv_1.conv_act", "residual_2.conv_1.conv") in edges
    # the projection shortcut of the strided basic block
    assert set(g.parents("resnet_basic_3.add")) == {"resnet_basic_3.shortcut_bn",
                                                     "resnet_basic_3.conv2_bn"}
    assert g.parents("resnet_basic_3.shortcut") == ["residual_2.out_act"]
    assert g.parents("input") == []
    assert g.node("residual_2.add").kind == "merge"
    assert g.node("conv_1.conv").kind == "conv"
    assert g.node("conv_1.conv_bn").kind == "norm"
    assert g.node("head.pool").kind == "pooling"
    assert g.node("input").kind == "input"
    assert len(edges) == len(g.edges)


def test_block_edges_dedupe_and_have_no_self_loops(res_model):
    g = model_graph(res_model)  # default grouping by the part before the first dot
    assert len(set(g.edges)) == len(g.edges)
    assert all(u != v for u, v in g.edges)
    members = [m for n in g.nodes for m in n.members]
    assert sorted(members) == sorted(layer.name for layer in res_model.layers)


def test_custom_block_of_and_block_types(res_model):
    g = model_graph(res_model, block_of=lambda n: "body" if n.startswith(("conv_1", "residual"))
                    else n.split(".")[0], block_types={"body": "stem"})
    assert g.edges == [("input", "body"), ("body", "resnet_basic_3"), ("resnet_basic_3", "head")]
    assert g.node("body").type == "stem"


def test_annotations_give_macs_in_human_units(res_model):
    ann = {"conv_1.conv": {"macs": 346_816_512, "params": 224},
           "residual_2.conv_1.conv": {"macs": 12_845_056},
           "residual_2.conv_2.conv": {"macs": 86_704_128}}
    g = model_graph(res_model, annotations=ann, block_types=spec_block_types(RES_SPEC))
    assert g.node("conv_1").macs == 346_816_512
    assert g.node("conv_1").label.endswith("346.8M MACs")
    assert g.node("residual_2").macs == 99_549_184
    assert "99.5M MACs" in g.node("residual_2").label
    assert g.node("head").macs is None and "MACs" not in g.node("head").label
    gl = model_graph(res_model, "layer", annotations=ann)
    assert gl.node("conv_1.conv").label == "conv_1.conv\nConv2D\n16x16x8\n346.8M MACs"


def test_annotations_from_a_report_like_object(res_model):
    class Row:
        def __init__(self, name, macs):
            self.name, self.macs, self.params = name, macs, 0

    class Report:
        layers = [Row("conv_1.conv", 1000)]
    g = model_graph(res_model, annotations=Report())
    assert g.node("conv_1").macs == 1000
    assert g.node("conv_1").params == 0 + res_model.get_layer("conv_1.conv_bn").count_params()


def test_unknown_level_is_a_spec_error(res_model):
    with pytest.raises(SpecError, match="unknown level 'cells'"):
        model_graph(res_model, level="cells")


def test_multi_input_multi_output_and_shared_layers():
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    shared = keras.layers.Dense(4, name="enc.dense")
    m = keras.layers.Concatenate(name="merge.cat")([shared(a), shared(b)])
    o1 = keras.layers.Dense(2, name="out1.dense")(m)
    o2 = keras.layers.Dense(3, name="out2.dense")(m)
    model = keras.Model([a, b], [o1, o2])
    g = model_graph(model, "layer")
    assert set(g.edges) == {("a", "enc.dense"), ("b", "enc.dense"), ("enc.dense", "merge.cat"),
                            ("merge.cat", "out1.dense"), ("merge.cat", "out2.dense")}
    assert g.node("merge.cat").output_shape == (None, 8)
    gb = model_graph(model)
    assert set(gb.edges) == {("a", "enc"), ("b", "enc"), ("enc", "merge"), ("merge", "out1"),
                             ("merge", "out2")}


def test_sequential_model_graph():
    seq = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d1"),
                            keras.layers.Dense(2, name="d2")])
    g = model_graph(seq, "layer")
    assert [e[1] for e in g.edges] == ["d1", "d2"]
    assert g.edges[1] == ("d1", "d2")


def test_subclassed_model_is_refused():
    class Sub(keras.Model):
        def call(self, x):
            return x
    with pytest.raises(SpecError, match="no static graph"):
        model_graph(Sub())


def test_default_block_of_name_rules():
    f = G.default_block_of
    assert f("resnet_basic_4.conv1") == "resnet_basic_4"
    assert f("residual_2.conv_1.conv") == "residual_2"
    assert f("conv2_block1_1_conv") == "conv2_block1"     # ResNet50
    assert f("conv2_block1_0_bn") == "conv2_block1"       # DenseNet
    assert f("pool2_conv") == "pool2"                     # DenseNet transition
    assert f("block1_conv1") == "block1"                  # VGG16
    assert f("block_1_expand") == "block_1"               # MobileNetV2
    assert f("mixed0") == "mixed0" and f("mixed9_1") == "mixed9"  # InceptionV3
    assert f("block35_1_mixed") == "block35_1"            # InceptionResNetV2
    assert f("conv_pw_3_bn") == "conv_dw_3"               # MobileNet
    assert f("separable_conv_1_bn_normal_left1_12") == "cell_12"  # NASNet
    assert f("reduction_add_1_stem_1") == "cell_stem_1"
    assert f("predictions") is None


@pytest.mark.slow
def test_block_view_of_keras_applications():
    m = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    g = model_graph(m)
    ids = g.ids
    assert ids[0] == m.layers[0].name
    assert {"Conv1", "expanded_conv", "block_1", "block_16", "Conv_1"} <= set(ids)
    assert len(g.nodes) < 30
    assert g.node("block_1").output_shape == (None, 24, 24, 24)
    assert all(u != v for u, v in g.edges) and len(set(g.edges)) == len(g.edges)
    assert sum(n.params for n in g.nodes) == m.count_params()
    assert g.parents("block_2") == ["block_1"]  # the shortcut stays inside block_2
    assert g.node("block_2").kind == "composite" and g.node("block_2").type == "residual"
    assert g.node("block_1").kind == "conv"  # strided: no shortcut

    inc = keras.applications.InceptionV3(weights=None)
    gi = model_graph(inc)
    assert {f"mixed{i}" for i in range(11)} <= set(gi.ids)
    assert len(gi.nodes) < 20  # auto-named conv/BN/ReLU layers join their module
    assert gi.node("mixed5").kind == "composite"


def test_dot_text_parses_back(res_model):
    for level in ("block", "layer"):
        g = model_graph(res_model, level, block_types=spec_block_types(RES_SPEC))
        for text in (to_dot(g), to_pydot(g).to_string()):
            parsed = pydot.graph_from_dot_data(text)[0]
            edges = {(_unquote(e.get_source()), _unquote(e.get_destination()))
                     for e in parsed.get_edges()}
            assert edges == set(g.edges)
            nodes = {_unquote(n.get_name()) for n in parsed.get_nodes()} - {"node", "edge", "graph"}
            assert nodes == set(g.ids)
    dot = to_pydot(spec_graph(RES_SPEC, model=res_model))
    assert dot.get_rankdir() == "TB"
    node = dot.get_node('"residual_2"')[0]
    assert node.get("fillcolor").strip('"') == G.COLOURS["composite"]
    assert "rounded" in dot.get_node_defaults()[0]["style"]


def test_plotly_has_one_marker_per_node(res_model):
    for level in ("block", "layer"):
        g = model_graph(res_model, level)
        fig = to_plotly(g)
        markers = [t for t in fig.data if "markers" in t.mode]
        assert sum(len(t.x) for t in markers) == len(g.nodes)
        lines = [t for t in fig.data if t.mode == "lines"]
        assert len(lines) == 1 and len(lines[0].x) == 3 * len(g.edges)


def test_layered_layout_depth_is_longest_path(res_model):
    g = model_graph(res_model, "layer")
    pos = G.layered_layout(g)
    assert pos["input"][1] == 0
    # the add waits for the longer branch (conv, bn, act, conv, bn)
    assert pos["residual_2.add"][1] == pos["conv_1.conv_act"][1] + 6
    depth = max(d for _, d in pos.values())
    assert pos["head.predictions"][1] == depth


def test_render_svg_without_graphviz_is_a_spec_error(monkeypatch):
    monkeypatch.setattr(G.shutil, "which", lambda name: None)
    with pytest.raises(SpecError) as e:
        render_svg("digraph G { a -> b; }")
    assert str(e.value) == ("svg export: Graphviz 'dot' is not installed; export DOT instead or "
                            "install graphviz")


def test_render_svg_runs_dot(monkeypatch, tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\ncat > /dev/null\necho '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(G.shutil, "which", lambda name: str(fake))
    assert render_svg("digraph G { a -> b; }").startswith(b"<svg")
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    with pytest.raises(SpecError, match="syntax error in line 1"):
        render_svg("digraph {")


@pytest.mark.skipif(not G.shutil.which("dot"), reason="Graphviz 'dot' is not installed")
def test_render_svg_with_real_graphviz(res_model):  # pragma: no cover - needs graphviz
    svg = render_svg(to_dot(model_graph(res_model)))
    assert b"<svg" in svg and b"residual_2" in svg


def test_human_units_and_shapes():
    assert G.human(346_816_512) == "346.8M"
    assert G.human(99_549_184) == "99.5M"
    assert G.format_shape((None, 28, 28, 192)) == "28x28x192"
    assert G.format_shape([(None, 3), (None, 10)]) == "3 | 10"
