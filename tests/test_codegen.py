"""Generated Keras source rebuilds the same graph: every block type, and Keras Applications."""
import ast
import subprocess
import sys

import keras
import pytest
from keras import layers

from playground.blocks import BLOCKS
from playground.build import build
from playground.codegen import (layer_expr, model_structure, model_to_source, py,
                                source_to_model, spec_to_source)
from playground.errors import SpecError
from playground.spec import ArchSpec

SEQUENCE_BLOCKS = {"embedding", "conv1d", "max_pool1d", "global_max_pool1d"}
HEADS = {b for b in BLOCKS.list() if BLOCKS.get(b).category == "head"}
# small parameters for block types whose defaults are ImageNet-sized
SMALL = {
    "conv": {"filters": 8, "batch_norm": True, "stride": 2},
    "grouped_conv": {"filters": 16, "groups": 4},
    "conv_stack": {"n": 2, "filters": 8},
    "pointwise": {"filters": 4},
    "depthwise_separable": {"filters": 8},
    "separable_conv": {"filters": 8, "batch_norm": True},
    "residual": {"body": [{"type": "conv", "params": {"filters": 8, "batch_norm": True}},
                          {"type": "conv", "params": {"filters": 8, "activation": "none"}}]},
    "resnet_basic": {"filters": 8, "version": "v2", "stride": 2},
    "resnet_bottleneck": {"filters": 4, "stride": 2, "survival_prob": 0.8},
    "resnext": {"filters": 16, "cardinality": 4, "group_width": 2},
    "inception": {"b1": 4, "b3_reduce": 4, "b3": 8, "b5_reduce": 2, "b5": 4, "pool_proj": 4},
    "branch_concat": {"branches": [[{"type": "pointwise", "params": {"filters": 4}}], [],
                                   [{"type": "max_pool", "params": {"size": 3, "stride": 1,
                                                                     "padding": "same"}}]]},
    "dense_block": {"layers": 2, "growth_rate": 4, "dropout": 0.1},
    "inverted_residual": {"filters": 8, "expansion": 2},
    "xception_block": {"filters": [8, 8], "stride": 2},
    "separable_residual": {"filters": 8},
    "aux_head": {"classes": 3},
    "dense": {"units": 8, "dropout": 0.2},
    "augment": {"zoom": 0.1},
    "max_pool": {"size": 3, "stride": 2, "padding": "same"},
    "embedding": {"vocab": 50, "dim": 8},
    "conv1d": {"filters": 4, "kernel": 3},
    "dense_head": {"hidden": [16], "classes": 3},
    "gap_head": {"classes": 3, "dropout": 0.1, "pool": "max"},
}


def tiny_spec(btype: str) -> ArchSpec:
    """A small spec that uses ``btype`` (32x32x3 images, or 100 token ids for 1D blocks)."""
    params = SMALL.get(btype, {})
    if btype in SEQUENCE_BLOCKS:
        pre = [] if btype == "embedding" else [{"type": "embedding", "params": SMALL["embedding"]}]
        if btype in ("max_pool1d", "global_max_pool1d"):
            pre.append({"type": "conv1d", "params": SMALL["conv1d"]})
        blocks = pre + [{"type": btype, "params": params}]
        return ArchSpec.from_dict({"name": f"tiny_{btype}", "input_shape": [100],
                                   "input_dtype": "int32", "blocks": blocks,
                                   "head": {"type": "gap_head", "params": {"classes": 3}}})
    if btype in HEADS:
        return ArchSpec.from_dict({"name": f"tiny_{btype}", "input_shape": [32, 32, 3],
                                   "blocks": [{"type": "conv", "params": {"filters": 4}}],
                                   "head": {"type": btype, "params": params}})
    stem = {"type": "conv", "params": {"filters": 8, "stride": 4 if btype == "aux_head" else 1}}
    head = ({"type": "dense_head", "params": {"hidden": [], "classes": 3}}
            if btype in ("flatten", "dense") else {"type": "gap_head", "params": {"classes": 3}})
    return ArchSpec.from_dict({"name": f"tiny_{btype}", "input_shape": [32, 32, 3],
                               "blocks": [stem, {"type": btype, "params": params}], "head": head})


def imports_of(source: str) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0])
    return mods


def assert_round_trip(model, source: str, function_name: str = "build_model"):
    assert imports_of(source) == {"keras"}
    assert "playground" not in source.split('"""', 2)[-1]
    rebuilt = source_to_model(source, function_name)
    before = {n: (t, set(p)) for n, t, p in model_structure(model)}
    after = {n: (t, set(p)) for n, t, p in model_structure(rebuilt)}
    assert after == before  # same names, types and parents (edges)
    assert rebuilt.count_params() == model.count_params()
    assert rebuilt.name == model.name
    assert len(rebuilt.outputs) == len(model.outputs)
    for layer in model.layers:  # and the same configuration, layer by layer
        assert rebuilt.get_layer(layer.name).get_config() == layer.get_config(), layer.name
    return rebuilt


def test_every_block_type_has_a_tiny_spec():
    for btype in BLOCKS.list():
        spec = tiny_spec(btype)
        assert btype in {b.type for b in spec.blocks} | {spec.head.type}


@pytest.mark.parametrize("btype", BLOCKS.list())
def test_round_trip_every_block_type(btype):
    spec = tiny_spec(btype)
    model = build(spec)
    src = spec_to_source(spec)
    assert_round_trip(model, src)


def test_spec_source_header_footer_and_one_line_per_layer():
    spec = tiny_spec("resnet_bottleneck")
    src = spec_to_source(spec)
    assert src.startswith(f"# Architecture spec 'tiny_resnet_bottleneck' (spec key {spec.key()})")
    assert src.rstrip().endswith('if __name__ == "__main__":\n    model = build_model()\n'
                                 '    model.summary()')
    model = build(spec)
    for layer in model.layers:
        assert src.count(f'name="{layer.name}"') == 1, layer.name
    assert ('layers.Conv2D(filters=4, kernel_size=(1, 1), strides=(2, 2), padding="same", '
            'use_bias=False, name="resnet_bottleneck_2.conv1")(x') in src
    assert 'x0 = keras.Input(shape=(32, 32, 3), dtype="float32", name="input")' in src
    assert 'layers.Add(name="resnet_bottleneck_2.add")([' in src


def test_multi_output_spec_returns_a_list():
    spec = tiny_spec("aux_head")
    src = spec_to_source(spec)
    ret = [line for line in src.splitlines() if "return keras.Model" in line][0]
    assert "outputs=[x" in ret
    rebuilt = assert_round_trip(build(spec), src)
    assert [t.shape for t in rebuilt.outputs] == [(None, 3), (None, 3)]


def test_only_non_default_arguments_are_written():
    x = keras.Input((16, 16, 4))
    conv = layers.Conv2D(64, 3, strides=2, padding="same", use_bias=False, name="c")
    conv(x)
    assert layer_expr(conv) == ('layers.Conv2D(filters=64, kernel_size=(3, 3), strides=(2, 2), '
                                'padding="same", use_bias=False, name="c")')
    bn = layers.BatchNormalization(name="bn")
    assert layer_expr(bn) == 'layers.BatchNormalization(name="bn")'
    assert layer_expr(layers.MaxPooling2D(3, name="p")) == \
        'layers.MaxPooling2D(pool_size=(3, 3), name="p")'
    # strides equal to the default pool size still differ from this layer's own default
    assert layer_expr(layers.MaxPooling2D(3, strides=2, name="p")) == \
        'layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2), name="p")'
    assert layer_expr(layers.Dense(3, kernel_initializer="he_normal", name="d", trainable=False,
                                   dtype="float16")) == \
        ('layers.Dense(units=3, kernel_initializer=keras.initializers.HeNormal(), '
         'trainable=False, dtype="float16", name="d")')
    assert layer_expr(layers.ReLU(6.0, name="r")) == 'layers.ReLU(max_value=6.0, name="r")'


def test_python_literals():
    assert py((3,)) == "(3,)"
    assert py((3, 3)) == "(3, 3)"
    assert py('a "b"') == '"a \\"b\\""'
    assert py(float("inf")) == 'float("inf")' and py(float("-inf")) == 'float("-inf")'
    assert py({"a": [1, None, True]}) == '{"a": [1, None, True]}'
    assert eval(py(0.1)) == 0.1


def test_function_name_must_be_an_identifier():
    with pytest.raises(SpecError, match="not a Python identifier"):
        model_to_source(build(tiny_spec("conv")), function_name="build model")


def test_custom_function_name_and_nested_and_shared_layers():
    inner = keras.Sequential([keras.Input((8,)), layers.Dense(4, name="d1"),
                              layers.ReLU(name="r")], name="inner")
    a = keras.Input((8,), name="a")
    b = keras.Input((8,), name="b")
    shared = layers.Dense(8, name="shared")
    m = layers.Add(name="add")([shared(a), shared(b)])
    o1 = layers.Dense(2, name="o1")(inner(m))
    o2 = layers.Dense(3, name="o2", kernel_regularizer=keras.regularizers.L2(1e-4))(m)
    model = keras.Model({"a": a, "b": b}, [o1, o2], name="multi")
    src = model_to_source(model, function_name="make")
    assert "def build_inner():" in src and "keras.Sequential([" in src
    assert src.count('layers.Dense(units=8, name="shared")') == 1  # made once, called twice
    assert 'inputs={"a": x0, "b": x1}' in src
    rebuilt = assert_round_trip(model, src, "make")
    assert rebuilt.get_layer("inner").count_params() == inner.count_params()


def test_sequential_model_source():
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="x")], name="seq")
    src = model_to_source(seq)
    assert source_to_model(src).count_params() == seq.count_params()


def test_generated_file_runs_as_a_script(tmp_path):
    path = tmp_path / "model.py"
    spec = tiny_spec("inverted_residual")
    path.write_text(spec_to_source(spec))
    res = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=240,
                         env={"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "tensorflow",
                              "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path),
                              "KERAS_HOME": str(tmp_path / ".keras")})
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'Model: "tiny_inverted_residual"' in res.stdout
    assert f"Total params: {build(spec).count_params():,} " in res.stdout


@pytest.mark.slow
def test_round_trip_mobilenet_v2():
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    assert_round_trip(model, model_to_source(model))


@pytest.mark.slow
def test_round_trip_inception_resnet_v2():
    """Keras 3's InceptionResNetV2 uses a CustomScaleLayer outside keras.layers: it is written
    as a serialized config and still rebuilds."""
    model = keras.applications.InceptionResNetV2(weights=None)
    src = model_to_source(model)
    assert '"class_name": "CustomScaleLayer"' in src
    assert_round_trip(model, src)
