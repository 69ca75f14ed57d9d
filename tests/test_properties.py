"""Property test: every random spec either builds or raises a SpecError naming a block."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.build import build
from playground.cost import analyze
from playground.errors import SpecError
from playground.spec import ArchSpec

sizes = st.integers(min_value=-1, max_value=9)
small = st.integers(min_value=0, max_value=24)


def block_strategy():
    conv = st.fixed_dictionaries({"type": st.just("conv"), "params": st.fixed_dictionaries({
        "filters": small, "kernel": sizes, "stride": st.integers(-1, 5),
        "padding": st.sampled_from(["same", "valid", "bogus"]),
        "groups": st.integers(0, 4)})})
    pool = st.fixed_dictionaries({"type": st.sampled_from(["max_pool", "avg_pool"]),
                                  "params": st.fixed_dictionaries({
                                      "size": sizes, "padding": st.sampled_from(["same", "valid"])})})
    res = st.fixed_dictionaries({"type": st.sampled_from(["resnet_basic", "resnext", "inverted_residual"]),
                                 "params": st.fixed_dictionaries({
                                     "filters": st.integers(1, 16), "stride": st.integers(1, 3)})})
    residual = st.fixed_dictionaries({"type": st.just("residual"), "params": st.fixed_dictionaries({
        "shortcut": st.sampled_from(["auto", "identity", "projection"]),
        "body": st.lists(conv, min_size=0, max_size=2)})})
    simple = st.fixed_dictionaries({"type": st.sampled_from(
        ["flatten", "global_avg_pool", "batch_norm", "dropout", "depthwise_conv",
         "separable_conv", "pointwise", "strided_conv", "dense_block", "transition",
         "inception", "conv1d", "embedding", "no_such_block"])})
    return st.one_of(conv, pool, res, residual, simple)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(1, 24), c=st.integers(1, 4),
       blocks=st.lists(block_strategy(), min_size=1, max_size=4),
       head=st.sampled_from([None, {"type": "gap_head", "params": {"classes": 3}},
                             {"type": "dense_head", "params": {"classes": 2, "hidden": [4]}}]))
def test_random_specs_build_or_raise_spec_error(h, c, blocks, head):
    data = {"input_shape": [h, h, c], "blocks": blocks, "head": head}
    try:
        model = build(ArchSpec.from_dict(data))
    except SpecError as e:
        msg = str(e)
        assert e.where and e.rule and "\n" not in msg
        assert msg.startswith(("block '", "head", "spec"))
        return
    report = analyze(model)
    assert report.params == model.count_params()
    assert report.uncounted == []  # every layer a spec builds has a cost handler
    assert len(model.outputs) == 1
