"""analyze() on small Keras models: lecture figures, params, receptive field, memory, graph."""
import json
import time
from fractions import Fraction

import pytest

import playground  # noqa: F401  (sets KERAS_BACKEND)
import keras
from keras import layers as L

from playground.cost import CostReport, analyze, format_count, separable_cost_ratio


def conv_model(cin, size, *convs, name="m"):
    x = inp = keras.Input(shape=(size, size, cin))
    for conv in convs:
        x = conv(x)
    return keras.Model(inp, x, name=name)


# --- lecture figures --------------------------------------------------------------------------

@pytest.mark.parametrize("use_bias", [False, True])
def test_3x3_conv_256_to_192(use_bias):
    model = conv_model(256, 28, L.Conv2D(192, 3, padding="same", use_bias=use_bias))
    report = analyze(model)
    assert report.macs == 346_816_512  # MACs exclude the bias
    assert report.other_ops == (28 * 28 * 192 if use_bias else 0)
    assert report.flops == 2 * 346_816_512 + report.other_ops
    assert format_count(report.macs) == "346.8M"


def test_1x1_bottleneck():
    model = conv_model(256, 28, L.Conv2D(64, 1, use_bias=False, name="reduce"),
                       L.Conv2D(192, 3, padding="same", use_bias=False, name="conv"))
    report = analyze(model)
    assert report.layer("reduce").macs == 12_845_056
    assert report.layer("conv").macs == 86_704_128
    assert report.macs == 99_549_184
    assert format_count(report.macs) == "99.5M"


def inception(reduced):
    inp = keras.Input(shape=(28, 28, 256))
    same = dict(padding="same", use_bias=False)
    b1 = L.Conv2D(128, 1, **same)(inp)
    b3 = L.Conv2D(64, 1, **same)(inp) if reduced else inp
    b3 = L.Conv2D(192, 3, **same)(b3)
    b5 = L.Conv2D(64, 1, **same)(inp) if reduced else inp
    b5 = L.Conv2D(96, 5, **same)(b5)
    pool = L.MaxPooling2D(3, strides=1, padding="same", name="pool")(inp)
    if reduced:
        pool = L.Conv2D(64, 1, **same)(pool)
    out = L.Concatenate(name="concat")([b1, b3, b5, pool])
    return keras.Model(inp, out)


def test_naive_inception_module():
    report = analyze(inception(reduced=False))
    assert report.by_type()["Conv2D"]["macs"] == 854_196_224
    assert report.layer("pool").other_ops == 9 * 28 * 28 * 256  # 3x3 max per output element
    assert report.layer("concat").output_shape == (28, 28, 128 + 192 + 96 + 256)
    assert sorted(report.layer("concat").inputs)[-1] == "pool"


def test_inception_module_with_reductions():
    report = analyze(inception(reduced=True))
    assert report.by_type()["Conv2D"]["macs"] == 271_351_808
    assert report.layer("concat").output_shape == (28, 28, 128 + 192 + 96 + 64)


@pytest.mark.parametrize(
    "m, df, sep_macs, sep_params, text",
    [
        (512, 14, 52_283_392, 266_752, ("52.3M", "266.8K")),
        (384, 14, 29_578_752, 150_912, ("29.6M", "150.9K")),  # alpha = 0.75
        (384, 10, 15_091_200, 150_912, ("15.1M", "150.9K")),  # rho = 0.714
    ],
)
def test_mobilenet_table3(m, df, sep_macs, sep_params, text):
    std = analyze(conv_model(m, df, L.Conv2D(m, 3, padding="same", use_bias=False)))
    sep = analyze(conv_model(m, df, L.SeparableConv2D(m, 3, padding="same", use_bias=False)))
    assert (sep.macs, sep.params) == (sep_macs, sep_params)
    assert (format_count(sep.macs), format_count(sep.params)) == text
    if m == 512 and df == 14:
        assert (std.macs, std.params) == (462_422_016, 2_359_296)
    assert Fraction(sep.macs, std.macs) == separable_cost_ratio(m, 3)
    assert Fraction(sep.params, std.params) == separable_cost_ratio(m, 3)


# --- receptive field ----------------------------------------------------------------------------

def test_three_3x3_convs_see_as_far_as_one_7x7():
    c = 16
    three = analyze(conv_model(c, 32, *[L.Conv2D(c, 3, padding="same", use_bias=False)
                                        for _ in range(3)]))
    one = analyze(conv_model(c, 32, L.Conv2D(c, 7, padding="same", use_bias=False)))
    assert three.layers[-1].receptive_field == (7, 7) == one.layers[-1].receptive_field
    assert [r.receptive_field for r in three.layers] == [(1, 1), (3, 3), (5, 5), (7, 7)]
    assert (three.params, one.params) == (27 * c * c, 49 * c * c)


def test_stride_dilation_pooling_and_global_field():
    inp = keras.Input(shape=(64, 48, 3))
    x = L.Conv2D(8, 7, strides=2, padding="same", name="stem")(inp)
    x = L.MaxPooling2D(3, strides=2, padding="same", name="pool")(x)
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same", name="dilated")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dense(4, name="fc")(x)
    report = analyze(keras.Model(inp, x))
    assert report.layer("stem").receptive_field == (7, 7)
    assert report.layer("stem").effective_stride == (2, 2)
    assert report.layer("pool").receptive_field == (11, 11)
    assert report.layer("pool").effective_stride == (4, 4)
    assert report.layer("dilated").receptive_field == (11 + 4 * 4,) * 2  # k_eff 5, jump 4
    # global pooling: the whole input; everything after it too
    assert report.layer("gap").receptive_field == (64, 48)
    assert report.layer("gap").effective_stride is None
    assert report.layer("fc").receptive_field == (64, 48)


def test_merge_takes_the_largest_field():
    inp = keras.Input(shape=(16, 16, 4))
    x = L.Conv2D(4, 3, padding="same")(inp)
    x = L.Conv2D(4, 3, padding="same")(x)
    out = L.Add(name="add")([inp, x])
    report = analyze(keras.Model(inp, out))
    assert report.layer("add").receptive_field == (5, 5)
    assert report.layer("add").effective_stride == (1, 1)


def test_upsampling_divides_the_effective_stride():
    report = analyze(conv_model(2, 16, L.Conv2D(2, 3, strides=2, padding="same", name="down"),
                                L.UpSampling2D(2, name="up"),
                                L.Conv2D(2, 3, padding="same", name="after")))
    assert report.layer("up").effective_stride == (1, 1)
    assert report.layer("after").receptive_field == (5, 5)  # 3 + (3 - 1) * 1


def test_non_spatial_model_has_no_field():
    inp = keras.Input(shape=(20,))
    report = analyze(keras.Model(inp, L.Dense(3)(L.Dense(8)(inp))))
    assert all(r.receptive_field is None and r.effective_stride is None for r in report.layers)


# --- parameters ---------------------------------------------------------------------------

def mixed_model():
    img = keras.Input(shape=(16, 16, 3), name="image")
    x = L.Conv2D(8, 3, name="stage1.conv")(img)
    x = L.BatchNormalization(name="stage1.bn")(x)
    x = L.Conv2D(8, 3, groups=2, name="stage2_b1.conv1")(x)
    x = L.SeparableConv2D(12, 3, name="stage2_b1.sep")(x)
    x = L.GlobalAveragePooling2D()(x)
    tokens = keras.Input(shape=(20,), dtype="int32", name="tokens")
    t = L.Embedding(50, 8, name="embed")(tokens)
    t = L.Conv1D(4, 3, name="text.conv")(t)
    t = L.GlobalMaxPooling1D()(t)
    x = L.Concatenate(name="join")([x, t])
    out = L.Dense(10, name="head")(x)
    return keras.Model([img, tokens], out)


def weight_count(weights):
    return sum(int(v.numpy().size) for v in weights)


def test_params_equal_keras_counts_with_bn_groups_separable_embedding():
    model = mixed_model()
    report = analyze(model)
    assert report.params == model.count_params()
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert report.non_trainable_params == weight_count(model.non_trainable_weights) == 16
    assert sum(r.params for r in report.layers) == report.params
    bn = report.layer("stage1.bn")
    assert (bn.trainable_params, bn.non_trainable_params) == (16, 16)
    assert report.layer("stage2_b1.conv1").params == 9 * 4 * 8 + 8  # groups=2
    assert report.layer("embed").params == 400 and report.layer("embed").macs == 0
    assert report.layer("text.conv").macs == 3 * 8 * 4 * 18
    assert report.layer("text.conv").receptive_field == (3,)
    assert report.layer("head").inputs == ["join"]
    assert report.weight_bytes == {"fp32": report.params * 4, "fp16": report.params * 2,
                                   "int8": report.params}


def test_frozen_layer_moves_to_non_trainable():
    model = mixed_model()
    model.get_layer("stage1.conv").trainable = False
    report = analyze(model)
    assert report.layer("stage1.conv").non_trainable_params == 9 * 3 * 8 + 8
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert report.non_trainable_params == weight_count(model.non_trainable_weights)


@pytest.mark.parametrize(
    "name, params, macs_range",
    [
        ("MobileNetV2", 3_538_984, (300e6, 301e6)),   # published: 300M mult-adds
        ("ResNet50", 25_636_712, (3.8e9, 3.9e9)),     # published: 3.8G (v1)
    ],
)
def test_keras_applications(name, params, macs_range):
    start = time.perf_counter()
    model = getattr(keras.applications, name)(weights=None)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    report = analyze(model)
    analyze_s = time.perf_counter() - start
    assert report.params == model.count_params() == params
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert report.non_trainable_params == weight_count(model.non_trainable_weights)
    assert macs_range[0] <= report.macs <= macs_range[1]
    assert report.uncounted == [] and report.warnings == []
    assert report.layers[-1].receptive_field == (224, 224)
    assert analyze_s < 0.25 * build_s, (analyze_s, build_s)


# --- uncounted layers ------------------------------------------------------------------------

class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2.0


def test_unknown_layer_type_is_listed_as_uncounted():
    model = conv_model(3, 8, L.Conv2D(4, 3, name="conv"), Doubler(name="double"))
    report = analyze(model)
    assert report.uncounted == ["Doubler"]
    row = report.layer("double")
    assert (row.counted, row.macs, row.other_ops) == (False, 0, 0)
    assert report.layer("conv").counted
    assert "Doubler" in report.summary_table()
    assert report.to_dict()["uncounted"] == ["Doubler"]


# --- memory ----------------------------------------------------------------------------------

def pointwise(filters, name):
    return L.Conv2D(filters, 1, name=name)


def test_peak_activation_of_a_chain():
    # input 8*8*4*4 = 1024 B; c1 2048; relu 2048; c2 1024. Live per step: 1024, 3072,
    # 4096 (c1 + relu), 3072 -> peak 4096 per sample.
    model = conv_model(4, 8, pointwise(8, "c1"), L.ReLU(name="relu"), pointwise(4, "c2"))
    report = analyze(model)
    assert [r.activation_bytes for r in report.layers] == [1024, 2048, 2048, 1024]
    assert report.peak_activation_bytes == 4096
    assert analyze(model, batch=3).peak_activation_bytes == 3 * 4096


def residual(skip):
    inp = keras.Input(shape=(8, 8, 4))  # every tensor here is 1024 B
    x = pointwise(4, "c1")(inp)
    x = L.ReLU(name="relu")(x)
    x = pointwise(4, "c2")(x)
    if skip:
        x = L.Add(name="add")([inp, x])
    return keras.Model(inp, x)


def test_peak_activation_residual_keeps_the_input_alive():
    # chain: the input dies after c1 -> at most two tensors live: 2048 B.
    assert analyze(residual(skip=False)).peak_activation_bytes == 2048
    # residual: the input lives until the add -> three tensors live: 3072 B.
    assert analyze(residual(skip=True)).peak_activation_bytes == 3072


def test_peak_activation_keeps_model_outputs_alive():
    inp = keras.Input(shape=(4, 4, 2))  # 128 B per tensor
    a = pointwise(2, "a")(inp)
    b = pointwise(2, "b")(a)
    c = pointwise(2, "c")(b)
    # steps: in 128; a 256; b: a+b 256; c: a (an output) + b + c = 384
    assert analyze(keras.Model(inp, [a, c])).peak_activation_bytes == 384
    assert analyze(keras.Model(inp, c)).peak_activation_bytes == 256


def test_training_memory():
    inp = keras.Input(shape=(5,))
    model = keras.Model(inp, L.Dense(10)(inp))  # 60 params, activations (5 + 10) * 4 B
    adam = analyze(model, batch=2).training_memory
    assert adam == {"weights": 240, "gradients": 240, "optimizer_state": 480,
                    "activations": 120, "total": 1080}
    assert analyze(model, optimizer="sgd").training_memory["optimizer_state"] == 0
    assert analyze(model, optimizer="Momentum").training_memory["optimizer_state"] == 240
    assert analyze(model, optimizer="rmsprop").training_memory["optimizer_state"] == 240
    with pytest.raises(ValueError, match="known: "):
        analyze(model, optimizer="magic")
    with pytest.raises(ValueError, match="batch"):
        analyze(model, batch=0)


# --- graph shapes: nested, shared, Sequential, multi-output ----------------------------------

def test_nested_functional_and_sequential():
    inner_in = keras.Input(shape=(8, 8, 3))
    inner = keras.Model(inner_in, L.Conv2D(4, 3, padding="same", name="conv")(inner_in),
                        name="backbone")
    stem = keras.Sequential([L.Conv2D(3, 1, name="proj")], name="stem")
    inp = keras.Input(shape=(8, 8, 3))
    x = stem(inp)
    x = inner(x)
    out = L.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, out)
    report = analyze(model)
    names = [r.name for r in report.layers]
    assert report.layers[0].type == "InputLayer"
    assert names[1:] == ["stem/proj", "backbone/conv", "gap"]
    assert report.layer("backbone/conv").macs == 9 * 3 * 4 * 64
    assert report.layer("backbone/conv").inputs == ["stem/proj"]
    assert report.layer("gap").inputs == ["backbone/conv"]
    assert report.layer("backbone/conv").receptive_field == (3, 3)
    assert report.params == model.count_params()


def test_nested_model_built_for_any_size_gets_the_outer_shapes():
    inner_in = keras.Input(shape=(None, None, 3))
    inner = keras.Model(inner_in, L.Conv2D(4, 3, padding="same", name="conv")(inner_in),
                        name="backbone")
    inp = keras.Input(shape=(10, 10, 3))
    report = analyze(keras.Model(inp, inner(inp)))
    assert report.layer("backbone/conv").output_shape == (10, 10, 4)
    assert report.layer("backbone/conv").macs == 9 * 3 * 4 * 100
    assert report.warnings == []


def test_variable_size_model_needs_input_shape():
    model = conv_model(3, None, L.Conv2D(4, 3, padding="same", use_bias=False, name="conv"))
    report = analyze(model)
    assert not report.layer("conv").counted and report.macs == 0
    assert any("input_shape" in w for w in report.warnings)
    report = analyze(model, input_shape=(10, 10, 3))
    assert report.layer("conv").macs == 9 * 3 * 4 * 100
    assert report.layer("conv").output_shape == (10, 10, 4)
    assert report.warnings == []
    with pytest.raises(ValueError, match="rank"):
        analyze(model, input_shape=(10, 10))


def test_shared_layer_counts_params_once_and_macs_per_call():
    a, b = keras.Input(shape=(6,)), keras.Input(shape=(6,))
    dense = L.Dense(3, name="shared")
    out = L.Add(name="sum")([dense(a), dense(b)])
    model = keras.Model([a, b], out)
    report = analyze(model)
    first, second = report.layer("shared"), report.layer("shared#1")
    assert (first.params, second.params) == (21, 0)
    assert first.macs == second.macs == 18
    assert report.params == model.count_params() == 21
    assert sorted(report.layer("sum").inputs) == ["shared", "shared#1"]


def test_sequential_model():
    model = keras.Sequential([keras.Input(shape=(12,)), L.Dense(4), L.Dense(2)])
    report = analyze(model)
    assert report.params == model.count_params() == 12 * 4 + 4 + 4 * 2 + 2
    assert report.macs == 48 + 8
    with pytest.raises(ValueError, match="not built"):
        analyze(keras.Sequential([L.Dense(2)]))


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="Functional or Sequential"):
        analyze(Net())


def test_keras_ops_in_a_functional_graph():
    inp = keras.Input(shape=(4, 4, 2))
    x = keras.ops.relu(inp)           # an Operation, not a Layer
    x = keras.ops.add(x, inp)
    report = analyze(keras.Model(inp, x))
    assert [r.type for r in report.layers] == ["InputLayer", "Relu", "Add"]
    assert [r.other_ops for r in report.layers] == [0, 32, 32]
    assert report.uncounted == []


# --- outputs ----------------------------------------------------------------------------------

def test_to_dict_is_json_and_complete():
    report = analyze(mixed_model(), batch=4)
    data = json.loads(json.dumps(report.to_dict()))
    for key in ("params", "trainable_params", "non_trainable_params", "macs", "flops",
                "other_ops", "weight_bytes", "peak_activation_bytes", "training_memory",
                "batch", "uncounted", "layers"):
        assert key in data
    assert data["batch"] == 4
    layer_keys = {"name", "type", "output_shape", "params", "trainable_params",
                  "non_trainable_params", "macs", "other_ops", "activation_bytes",
                  "receptive_field", "effective_stride", "counted", "inputs"}
    assert all(layer_keys <= set(row) for row in data["layers"])
    row = next(r for r in data["layers"] if r["name"] == "stage2_b1.sep")
    assert row["inputs"] == ["stage2_b1.conv1"]
    assert row["output_shape"] == [10, 10, 12]
    assert row["receptive_field"] == [7, 7]


def test_by_type_and_summary_table():
    model = conv_model(256, 28, L.Conv2D(64, 1, use_bias=False, name="reduce"),
                       L.Conv2D(192, 3, padding="same", use_bias=False, name="conv"),
                       L.ReLU(name="relu"))
    report = analyze(model)
    assert isinstance(report, CostReport)
    by_type = report.by_type()
    assert list(by_type)[0] == "Conv2D"
    assert by_type["Conv2D"]["count"] == 2 and by_type["Conv2D"]["macs"] == 99_549_184
    assert by_type["ReLU"]["other_ops"] == 28 * 28 * 192
    table = report.summary_table()
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["Layer", "Type", "Output"]
    assert any(line.startswith("conv ") and "86.7M" in line for line in lines)
    assert "99.5M (99,549,184)" in table
    # rows line up: the MACs column ends at the same place on every layer row
    header_end = lines[0].index("MACs") + len("MACs")
    assert all(line[header_end - 1] != " " for line in lines[2:5])


def test_at_batch_equals_analysing_at_that_batch():
    import keras
    from keras import layers
    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same")(inp)
    y = layers.Conv2D(8, 3, padding="same")(x)
    model = keras.Model(inp, layers.Add()([x, y]))
    one, eight = analyze(model), analyze(model, batch=8)
    assert one.at_batch(8) == eight and eight.at_batch(1) == one
    assert eight.peak_activation_bytes == 8 * one.peak_activation_bytes
    assert eight.training_memory["weights"] == one.training_memory["weights"]
    with pytest.raises(ValueError):
        one.at_batch(0)


# --- shapes-only builds (what the builder and analyze_spec use) ---------------------------------
SHAPE_SPECS = ["resnet20-cifar", "googlenet", "mobilenetv2", "densenet121", "resnext50-32x4d",
               "xception", "imdb-conv1d"]


@pytest.mark.parametrize("name", SHAPE_SPECS)
def test_shapes_only_build_gives_the_same_report_as_a_real_build(name):
    from playground.build import build, build_shapes
    from playground.zoo import ZOO
    spec = ZOO.get(name).spec()
    real, shapes = build(spec), build_shapes(spec)
    assert shapes.shape_only and not getattr(real, "shape_only", False)
    assert shapes.count_params() == real.count_params()
    assert analyze(shapes).to_dict() == analyze(real).to_dict()


def test_shapes_only_model_refuses_to_hand_out_weights():
    import numpy as np
    from keras.src.backend.common import global_state

    from playground.build import ShapeOnlyModelError, build_shapes
    from playground.export import export_bytes
    from playground.zoo import ZOO
    model = build_shapes(ZOO.get("resnet20-cifar").spec())
    # nothing left registered for Keras' deferred initialisation (a later scope exit would
    # otherwise allocate these weights)
    assert not global_state.get_global_attribute("uninitialized_variables", None)
    with keras.StatelessScope():
        pass
    assert all(getattr(v, "_value", None) is None for v in model.weights)
    with pytest.raises(ShapeOnlyModelError, match="analysis only"):
        model.weights[0].numpy()
    with pytest.raises(ShapeOnlyModelError):
        model.get_weights()
    with pytest.raises(Exception, match="analysis only"):
        model.predict(np.zeros((1, 32, 32, 3)), verbose=0)
    with pytest.raises(Exception, match="analysis only"):  # never a file of random numbers
        export_bytes(model, "keras")


def test_analyze_spec_uses_a_shapes_only_model_and_build_cached_a_real_one():
    from playground.analysis import analysis_model, analyze_spec, build_cached
    from playground.zoo import ZOO
    spec = ZOO.get("plain20-cifar").spec()
    assert analysis_model(spec).shape_only
    assert analysis_model(spec) is analysis_model(spec)  # cached by spec
    real = build_cached(spec)
    assert not getattr(real, "shape_only", False)
    assert real.weights[0].numpy().shape == tuple(real.weights[0].shape)
    assert analyze_spec(spec).params == real.count_params()
