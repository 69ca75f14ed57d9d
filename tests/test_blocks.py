"""Every block type builds on a small input; each validation rule names the block and the rule."""
import numpy as np
import pytest

from playground.blocks import BLOCKS
from playground.build import build
from playground.errors import SpecError
from playground.spec import ArchSpec

SEQUENCE_BLOCKS = {"embedding", "conv1d", "max_pool1d", "global_max_pool1d"}
HEADS = {b for b in BLOCKS.list() if BLOCKS.get(b).category == "head"}


def tiny_spec(btype: str) -> ArchSpec:
    """A small spec exercising ``btype`` with its default parameters."""
    if btype in SEQUENCE_BLOCKS:
        pre = [] if btype == "embedding" else [{"type": "embedding", "params": {"vocab": 50, "dim": 8}}]
        if btype in ("max_pool1d", "global_max_pool1d"):
            pre.append({"type": "conv1d", "params": {"filters": 4, "kernel": 3}})
        return ArchSpec.from_dict({"input_shape": [40], "input_dtype": "int32",
                                   "blocks": pre + [{"type": btype}],
                                   "head": {"type": "gap_head" if btype != "global_max_pool1d"
                                            else "dense_head", "params": {"classes": 3}}})
    if btype in HEADS:
        return ArchSpec.from_dict({"input_shape": [16, 16, 3], "blocks": [
            {"type": "conv", "params": {"filters": 4}}], "head": {"type": btype}})
    return ArchSpec.from_dict({"input_shape": [32, 32, 3], "blocks": [
        {"type": "conv", "params": {"filters": 8}},
        {"type": btype, "params": SMALL_PARAMS.get(btype, {})}],
        "head": {"type": "gap_head", "params": {"classes": 3}}})


SMALL_PARAMS = {"residual": {"body": [{"type": "conv", "params": {"filters": 3}}]},
                "xception_block": {"filters": [8, 8], "stride": 2},
                "dense_block": {"layers": 2, "growth_rate": 4},
                "aux_head": {"classes": 3}}


def test_special_cases_name_registered_blocks():
    """The per-block tables above only name blocks that exist (a renamed block fails here)."""
    stale = sorted((SEQUENCE_BLOCKS | set(SMALL_PARAMS)) - set(BLOCKS.list()))
    assert stale == []


@pytest.mark.parametrize("btype", BLOCKS.list())
def test_every_block_builds_and_runs(btype):
    model = build(tiny_spec(btype))
    shape = model.inputs[0].shape[1:]
    x = np.zeros((2, *shape), dtype=model.inputs[0].dtype)
    out = model(x)
    outs = out if isinstance(out, (list, tuple)) else [out]
    assert all(np.isfinite(np.asarray(o)).all() for o in outs)
    names = [layer.name for layer in model.layers]
    assert names[0] == "input"
    assert all(n == "input" or "." in n for n in names), names  # {block}.{part}


@pytest.mark.parametrize("btype", BLOCKS.list())
def test_every_block_has_a_schema_and_doc(btype):
    bt = BLOCKS.get(btype)
    assert bt.label and bt.doc
    for p in bt.params:
        assert p.help, (btype, p.name)


def test_three_3x3_vs_one_7x7_weights():
    C = 16
    stack = build(ArchSpec.from_dict({"input_shape": [32, 32, C], "blocks": [
        {"type": "conv_stack", "params": {"n": 3, "filters": C, "bias": False}}]}))
    big = build(ArchSpec.from_dict({"input_shape": [32, 32, C], "blocks": [
        {"type": "conv", "params": {"filters": C, "kernel": 7, "bias": False}}]}))
    assert stack.count_params() == 27 * C * C
    assert big.count_params() == 49 * C * C


def test_aux_heads_become_extra_outputs():
    from playground.zoo import get
    assert len(get("googlenet").build(aux=True).outputs) == 3
    assert len(get("googlenet").build().outputs) == 1


def test_stochastic_depth_drops_whole_branches_only_in_training():
    spec = ArchSpec.from_dict({"input_shape": [8, 8, 4], "blocks": [{"type": "resnet_basic", "params": {
        "filters": 4, "survival_prob": 0.5}}]})
    model = build(spec)
    drop = model.get_layer("resnet_basic_1.drop_path")
    assert drop.rate == 0.5 and tuple(drop.noise_shape)[1:] == (1, 1, 1)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 4)).astype("float32")
    assert np.allclose(model(x, training=False), model(x, training=False))


BAD = [
    ({"input_shape": [5, 5, 3], "blocks": [{"type": "conv", "params": {"kernel": 7, "padding": "valid"}}]},
     "block 'conv_1' (conv)", "larger than its 5x5 feature map with padding='valid'"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "max_pool", "params": {"size": 3, "stride": 2}},
                                          {"type": "max_pool", "params": {"size": 3, "stride": 2, "padding": "valid"}},
                                          {"type": "max_pool", "params": {"size": 2}}]},
     "block 'max_pool_3' (max_pool)", "larger than its 1x1 feature map"),
    ({"input_shape": [5, 5, 3], "blocks": [{"type": "conv", "params": {"kernel": 5, "stride": 9, "padding": "valid",
                                                                        "dilation": 2}}]},
     "block 'conv_1' (conv)", "larger than"),
    ({"input_shape": [5, 5, 3], "blocks": [{"type": "conv", "params": {"filters": 0}}]},
     "block 'conv_1' (conv)", "parameter 'filters' is zero or negative"),
    ({"input_shape": [5, 5, 3], "blocks": [{"type": "conv", "params": {"stride": -1}}]},
     "block 'conv_1' (conv)", "parameter 'stride' is zero or negative"),
    ({"input_shape": [5, 5, 3], "blocks": [{"type": "convolution"}]},
     "block 'convolution_1'", "unknown block type 'convolution'"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "grouped_conv", "params": {"filters": 8, "groups": 3}}]},
     "block 'grouped_conv_1' (grouped_conv)", "groups=3 must divide both the input channels (3)"),
    ({"input_shape": [8, 8, 4], "blocks": [{"type": "grouped_conv", "params": {"filters": 6, "groups": 4}}]},
     "block 'grouped_conv_1'", "and the filters (6)"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "residual", "params": {
        "shortcut": "identity", "body": [{"type": "conv", "params": {"filters": 16}}]}}]},
     "block 'residual_1' (residual)", "residual add with mismatched shapes 8x8x3 vs 8x8x16 and no projection"),
    ({"input_shape": [8, 8, 16], "blocks": [{"type": "resnet_basic", "params": {
        "filters": 16, "stride": 2, "shortcut": "identity"}}]},
     "block 'resnet_basic_1'", "mismatched shapes 8x8x16 vs 4x4x16"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "params": {"fliters": 4}}]},
     "block 'conv_1' (conv)", "unknown parameter(s) ['fliters']"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "params": {"filters": "many"}}]},
     "block 'conv_1' (conv)", "must be an integer"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "params": {"padding": "full"}}]},
     "block 'conv_1' (conv)", "must be one of ['same', 'valid']"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "flatten"}, {"type": "conv"}]},
     "block 'conv_2' (conv)", "cannot follow flatten"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "name": "a"}, {"type": "conv", "name": "a"}]},
     "block 'a'", "duplicate block name"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "conv1d"}]},
     "block 'conv1d_1' (conv1d)", "needs a sequence input"),
    ({"input_shape": [8, 8, 3], "blocks": [{"type": "embedding"}]},
     "block 'embedding_1' (embedding)", "an embedding takes a 1D sequence of token ids"),
]


@pytest.mark.parametrize("data, where, rule", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_blocks_name_the_block_and_the_rule(data, where, rule):
    with pytest.raises(SpecError) as e:
        build(ArchSpec.from_dict(data))
    msg = str(e.value)
    assert msg.startswith(where), msg
    assert rule in msg, msg
    assert "\n" not in msg
    assert e.value.block == where.split("'")[1]


@pytest.mark.parametrize("btype", BLOCKS.list())
def test_shapes_only_build_reports_the_same_cost_for_every_block(btype):
    """The builder analyses weightless builds: they must cost exactly what real builds do."""
    from playground.build import build_shapes
    from playground.cost import analyze
    spec = tiny_spec(btype)
    real, shapes = build(spec), build_shapes(spec)
    assert shapes.count_params() == real.count_params()
    assert analyze(shapes).to_dict() == analyze(real).to_dict()
