"""Every block type builds on a small input and costs what its hand-computed case says; each
validation rule names the block and the rule."""
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


def test_block_ctx_applies_inner_blocks_under_its_name():
    import keras

    from playground.blocks import BlockCtx
    x = keras.Input((8, 8, 3), name="x")
    ctx = BlockCtx("res_2", "residual")
    y = ctx.apply([{"type": "conv", "params": {"filters": 4}},
                   {"type": "conv", "name": "last", "params": {"filters": 5}}], x)
    assert tuple(y.shape) == (None, 8, 8, 5)
    model = keras.Model(x, y, name="m")
    names = [layer.name for layer in model.layers]
    assert "res_2.conv_1.conv" in names and "res_2.last.conv" in names
    branch = ctx.child("br2", "branch_concat")
    assert branch.name == "res_2.br2" and branch.outputs is ctx.outputs
    with pytest.raises(SpecError, match="duplicate inner block name 'a'") as e:
        ctx.apply([{"type": "conv", "name": "a"}, {"type": "conv", "name": "a"}], x)
    assert e.value.block == "res_2"


# --- hand-computed cost of every block --------------------------------------------------------
# One tiny case per block: parameters, input shape and the model's params and MACs worked out by
# hand (the model is the input and that block alone). The default input is 8x8x4: 64 positions.
# A registered block with no case fails test_every_block_has_a_hand_computed_case.
HW = 8 * 8


def _case(btype, params=None, shape=(8, 8, 4), params_count=0, macs=0, dtype="float32"):
    return btype, params or {}, shape, params_count, macs, dtype


BLOCK_CASES = {
    # conv 3x3 4->6 with bias, same padding
    "conv": _case("conv", {"filters": 6}, params_count=3 * 3 * 4 * 6 + 6, macs=3 * 3 * 4 * 6 * HW),
    # batch norm (4 per channel), so no bias; each group sees 4/2 input channels
    "grouped_conv": _case("grouped_conv", {"filters": 6, "groups": 2},
                          params_count=3 * 3 * 2 * 6 + 4 * 6, macs=3 * 3 * 2 * 6 * HW),
    "conv_stack": _case("conv_stack", {"n": 2, "filters": 4},
                        params_count=2 * (3 * 3 * 4 * 4 + 4), macs=2 * 3 * 3 * 4 * 4 * HW),
    "pointwise": _case("pointwise", {"filters": 6}, params_count=4 * 6 + 6, macs=4 * 6 * HW),
    "depthwise_conv": _case("depthwise_conv", params_count=3 * 3 * 4 + 4 * 4, macs=3 * 3 * 4 * HW),
    "depthwise_separable": _case("depthwise_separable", {"filters": 6},
                                 params_count=3 * 3 * 4 + 4 * 4 + 4 * 6 + 4 * 6,
                                 macs=(3 * 3 * 4 + 4 * 6) * HW),
    # no batch norm: one bias per output channel
    "separable_conv": _case("separable_conv", {"filters": 6}, params_count=3 * 3 * 4 + 4 * 6 + 6,
                            macs=(3 * 3 * 4 + 4 * 6) * HW),
    "max_pool": _case("max_pool"),
    "avg_pool": _case("avg_pool"),
    # keeps the 4 channels, stride 2: 4x4 out
    "strided_conv": _case("strided_conv", params_count=3 * 3 * 4 * 4 + 4 * 4,
                          macs=3 * 3 * 4 * 4 * 4 * 4),
    "global_avg_pool": _case("global_avg_pool"),
    "global_max_pool": _case("global_max_pool"),
    "batch_norm": _case("batch_norm", params_count=4 * 4),
    "activation": _case("activation"),
    "dropout": _case("dropout"),
    "flatten": _case("flatten"),
    # flattens 8*8*4 = 256 inputs first
    "dense": _case("dense", {"units": 5}, params_count=256 * 5 + 5, macs=256 * 5),
    "rescale": _case("rescale"),
    "zero_pad": _case("zero_pad"),
    "augment": _case("augment"),
    "embedding": _case("embedding", {"vocab": 50, "dim": 8}, (40,), 50 * 8, 0, "int32"),
    # length 10 -> 8 (valid), 2 -> 4 channels
    "conv1d": _case("conv1d", {"filters": 4, "kernel": 3}, (10, 2), 3 * 2 * 4 + 4, 3 * 2 * 4 * 8),
    "max_pool1d": _case("max_pool1d", shape=(10, 2)),
    "global_max_pool1d": _case("global_max_pool1d", shape=(10, 2)),
    # the body keeps 8x8x4, so an identity shortcut
    "residual": _case("residual", {"body": [{"type": "conv", "params": {"filters": 4}}]},
                      params_count=3 * 3 * 4 * 4 + 4, macs=3 * 3 * 4 * 4 * HW),
    # two 3x3 conv + BN, no biases, identity shortcut
    "resnet_basic": _case("resnet_basic", {"filters": 4},
                          params_count=2 * (3 * 3 * 4 * 4 + 4 * 4), macs=2 * 3 * 3 * 4 * 4 * HW),
    # stride 2 to 8 channels: 4x4 out, a strided 1x1 projection (+ BN) on the shortcut
    "resnet_basic_projection": _case(
        "resnet_basic", {"filters": 8, "stride": 2},
        params_count=(3 * 3 * 4 * 8 + 4 * 8) + (3 * 3 * 8 * 8 + 4 * 8) + (4 * 8 + 4 * 8),
        macs=(3 * 3 * 4 * 8 + 3 * 3 * 8 * 8 + 4 * 8) * 4 * 4),
    # 1x1 4->2, 3x3 2->2, 1x1 2->8 (expansion 4), projection 4->8; each with BN, no bias
    "resnet_bottleneck": _case(
        "resnet_bottleneck", {"filters": 2},
        params_count=(4 * 2 + 4 * 2) + (3 * 3 * 2 * 2 + 4 * 2) + (2 * 8 + 4 * 8) + (4 * 8 + 4 * 8),
        macs=(4 * 2 + 3 * 3 * 2 * 2 + 2 * 8 + 4 * 8) * HW),
    # width 2 paths x 2 channels = 4: 1x1 4->4, grouped 3x3 (2 per group), 1x1 4->4; BN, no bias
    "resnext": _case("resnext", {"filters": 4, "cardinality": 2, "group_width": 2},
                     params_count=(4 * 4 + 4 * 4) + (3 * 3 * 2 * 4 + 4 * 4) + (4 * 4 + 4 * 4),
                     macs=(4 * 4 + 3 * 3 * 2 * 4 + 4 * 4) * HW),
    # 1x1 4->2 | 1x1 4->2, 3x3 2->3 | 1x1 4->1, 5x5 1->2 | pool, 1x1 4->2; biases, no BN
    "inception": _case(
        "inception", {"b1": 2, "b3_reduce": 2, "b3": 3, "b5_reduce": 1, "b5": 2, "pool_proj": 2},
        params_count=(4 * 2 + 2) + (4 * 2 + 2) + (3 * 3 * 2 * 3 + 3) + (4 * 1 + 1)
        + (5 * 5 * 1 * 2 + 2) + (4 * 2 + 2),
        macs=(4 * 2 + 4 * 2 + 3 * 3 * 2 * 3 + 4 * 1 + 5 * 5 * 1 * 2 + 4 * 2) * HW),
    "inception_naive": _case(
        "inception", {"naive": True, "b1": 2, "b3": 3, "b5": 2},
        params_count=(4 * 2 + 2) + (3 * 3 * 4 * 3 + 3) + (5 * 5 * 4 * 2 + 2),
        macs=(4 * 2 + 3 * 3 * 4 * 3 + 5 * 5 * 4 * 2) * HW),
    "branch_concat": _case(
        "branch_concat", {"branches": [[{"type": "pointwise", "params": {"filters": 2}}],
                                       [{"type": "conv", "params": {"filters": 3}}]]},
        params_count=(4 * 2 + 2) + (3 * 3 * 4 * 3 + 3), macs=(4 * 2 + 3 * 3 * 4 * 3) * HW),
    # layer 1: BN(4), 1x1 4->8 (4k), BN(8), 3x3 8->2; layer 2 the same on 4+2 = 6 channels
    "dense_block": _case(
        "dense_block", {"layers": 2, "growth_rate": 2},
        params_count=(4 * 4 + 4 * 8 + 4 * 8 + 3 * 3 * 8 * 2) + (4 * 6 + 6 * 8 + 4 * 8 + 3 * 3 * 8 * 2),
        macs=(4 * 8 + 3 * 3 * 8 * 2 + 6 * 8 + 3 * 3 * 8 * 2) * HW),
    # BN(4), 1x1 4->2 (compression 0.5), 2x2 average pool
    "transition": _case("transition", params_count=4 * 4 + 4 * 2, macs=4 * 2 * HW),
    # expand 1x1 4->8 + BN, depthwise 3x3 + BN, project 1x1 8->4 + BN; identity add
    "inverted_residual": _case(
        "inverted_residual", {"filters": 4, "expansion": 2},
        params_count=(4 * 8 + 4 * 8) + (3 * 3 * 8 + 4 * 8) + (8 * 4 + 4 * 4),
        macs=(4 * 8 + 3 * 3 * 8 + 8 * 4) * HW),
    # separable 4->4 + BN, separable 4->6 + BN (no biases); 1x1 4->6 + BN projection
    "xception_block": _case(
        "xception_block", {"filters": [4, 6]},
        params_count=(3 * 3 * 4 + 4 * 4 + 4 * 4) + (3 * 3 * 4 + 4 * 6 + 4 * 6) + (4 * 6 + 4 * 6),
        macs=(3 * 3 * 4 + 4 * 4 + 3 * 3 * 4 + 4 * 6 + 4 * 6) * HW),
    # BN, separable 4->4, BN, separable 4->4 at 8x8; 3x3/2 pool to 4x4; 1x1/2 projection, no BN
    "separable_residual": _case(
        "separable_residual", {"filters": 4},
        params_count=2 * (4 * 4 + 3 * 3 * 4 + 4 * 4) + 4 * 4,
        macs=2 * (3 * 3 * 4 + 4 * 4) * HW + 4 * 4 * 4 * 4),
    # avg pool 5/3: 8 -> 2; 1x1 4->128; flatten 2*2*128 = 512; fc 512->1024; fc 1024->3
    "aux_head": _case("aux_head", {"classes": 3},
                      params_count=(4 * 128 + 128) + (512 * 1024 + 1024) + (1024 * 3 + 3),
                      macs=4 * 128 * 2 * 2 + 512 * 1024 + 1024 * 3),
    "gap_head": _case("gap_head", {"classes": 3}, params_count=4 * 3 + 3, macs=4 * 3),
    "dense_head": _case("dense_head", {"classes": 3, "hidden": [5]},
                        params_count=(256 * 5 + 5) + (5 * 3 + 3), macs=256 * 5 + 5 * 3),
    "no_head": _case("no_head"),
}


def test_every_block_has_a_hand_computed_case():
    """Registering a block without a case in BLOCK_CASES fails here, naming it."""
    covered = {case[0] for case in BLOCK_CASES.values()}
    missing = [b for b in BLOCKS.list() if b not in covered]
    assert missing == [], f"blocks with no hand-computed case in BLOCK_CASES: {missing}"
    assert sorted(covered - set(BLOCKS.list())) == []


@pytest.mark.parametrize("case", list(BLOCK_CASES))
def test_block_params_and_macs_by_hand(case):
    from playground.cost import analyze
    btype, params, shape, params_count, macs, dtype = BLOCK_CASES[case]
    entry = {"type": btype, "params": params}
    head = BLOCKS.get(btype).category == "head"
    spec = ArchSpec.from_dict({"input_shape": list(shape), "input_dtype": dtype,
                               "blocks": [] if head else [entry], "head": entry if head else None})
    model = build(spec)
    report = analyze(model)
    assert (report.params, report.macs) == (params_count, macs)
    assert report.params == model.count_params() and report.uncounted == []
