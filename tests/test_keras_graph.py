"""The Keras graph adapter (playground.keras_graph): calls, layers, nested expansion.

Every layer and model is named: Keras' auto-name counters are global, and other tests read
auto-names (``concatenate``)."""
import keras
import pytest
from keras import layers as L

from playground import keras_graph as kg


@pytest.fixture
def nested_model():
    """img -> shared conv twice (once after a ReLU) -> add -> a nested Sequential -> dense."""
    inner = keras.Sequential([keras.Input((8, 8, 3), name="inner_in"),
                              L.Conv2D(4, 3, name="inner_conv")], name="inner")
    img = keras.Input((8, 8, 3), name="img")
    shared = L.Conv2D(3, 1, name="shared")
    a = shared(img)
    b = shared(L.ReLU(name="pre")(img))
    y = inner(L.Add(name="add")([a, b]))
    out = L.Dense(2, name="head")(L.Flatten(name="flat")(y))
    return keras.Model(img, out, name="outer"), shared, inner


def test_graph_of_finds_the_functional_behind_a_model():
    m = keras.Sequential([keras.Input((4,), name="x"), L.Dense(2, name="d")], name="s")
    assert kg.graph_of(m) is not None and kg.graph_of(m) is not m
    unbuilt = keras.Sequential([L.Dense(2, name="d")], name="u")
    assert kg.graph_of(unbuilt) is None and kg.is_unbuilt_sequential(unbuilt)
    layer = L.Dense(2, name="d")
    assert kg.graph_of(layer) is None and not kg.is_unbuilt_sequential(layer)


def test_calls_run_deepest_first_and_know_their_tensors(nested_model):
    model, shared, inner = nested_model
    calls = kg.calls(model)
    names = [c.operation.name for c in calls]
    assert names[0] == "img" and calls[0].is_input and calls[0].inputs == []
    assert names[-1] == "head" and calls[-1].depth == 0
    assert sorted(names) == sorted(["img", "pre", "shared", "shared", "add", "inner", "flat",
                                    "head"])
    depths = [c.depth for c in calls]
    assert depths == sorted(depths, reverse=True)
    assert sorted(c.index for c in calls if c.operation is shared) == [0, 1]
    add = next(c for c in calls if c.operation.name == "add")
    assert [kg.producer(t)[:2] for t in add.inputs] == [(shared, 0), (shared, 1)]
    assert len(add.args) == 1 and len(add.args[0]) == 2  # Add is called on one list


def test_layer_calls_list_each_layer_once_with_its_calls(nested_model):
    model, shared, inner = nested_model
    per_layer = kg.layer_calls(model)
    assert [op.name for op, _ in per_layer] == [op.name for op in kg.operations(model)]
    counts = {op.name: len(cs) for op, cs in per_layer}
    assert counts["shared"] == 2 and counts["add"] == 1 and counts["inner"] == 1
    # the nested model's own graph holds its input and conv, called once there
    assert [op.name for op, _ in kg.layer_calls(kg.graph_of(inner))] == ["inner_in", "inner_conv"]


def test_flatten_enters_nested_models_and_numbers_repeated_calls(nested_model):
    model, _, _ = nested_model
    flat = kg.flatten(model)
    names = [s.name for s in flat.steps]
    assert "inner" not in names and "inner/inner_conv" in names
    assert "inner/inner_in" not in names  # a nested input is the caller's tensor
    assert sorted(n for n in names if n.startswith("shared")) == ["shared", "shared#1"]
    first = {s.name: s.first_call for s in flat.steps}
    assert first["shared"] and not first["shared#1"]
    by_name = {s.name: s for s in flat.steps}
    # the nested conv reads the outer add's output; flat reads the nested conv's output
    assert by_name["inner/inner_conv"].in_keys == by_name["add"].out_keys
    assert by_name["flat"].in_keys == by_name["inner/inner_conv"].out_keys
    assert flat.input_keys == by_name["img"].out_keys
    assert flat.output_keys == by_name["head"].out_keys


def test_output_shapes_for_other_input_shapes():
    inp = keras.Input((None, None, 3), name="x")
    out = L.Conv2D(8, 3, strides=2, padding="same", name="c")(inp)
    model = keras.Model(inp, out, name="m")
    call = next(c for c in kg.calls(model) if c.operation.name == "c")
    assert kg.output_shapes_for(call, [(None, 64, 48, 3)]) == [(None, 32, 24, 8)]


def test_io_structure_and_sequential_input():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    out = L.Concatenate(name="cat")([a, b])
    model = keras.Model({"a": a, "b": b}, [out], name="m")
    ins, outs = kg.io_structure(model)
    assert set(ins) == {"a", "b"} and isinstance(outs, list) and len(outs) == 1
    seq = keras.Sequential([keras.Input((4,), name="x"), L.Dense(2, name="d")], name="s")
    assert kg.sequential_input_layer(seq).name == "x"
    assert kg.sequential_input_layer(keras.Sequential([L.Dense(2, name="d")], name="u")) is None


def test_weight_size_counts_elements_without_reading_values():
    layer = L.Conv2D(8, 3, name="c")
    layer.build((None, 16, 16, 3))
    kernel, bias = layer.weights
    assert kg.weight_size(kernel) == 3 * 3 * 3 * 8 and kg.weight_size(bias) == 8
    assert sum(kg.weight_size(v) for v in layer.weights) == layer.count_params()
