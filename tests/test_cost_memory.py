"""Memory maths (playground.cost.memory) against hand-computed values."""
import pytest

from playground.cost.memory import (BYTES_PER_ELEMENT, OPTIMIZER_STATE, elements,
                                    peak_live_bytes, training_memory, weight_bytes)


def test_elements():
    assert elements((32, 32, 3)) == 3072
    assert elements(()) == 1
    assert elements((None, 3)) is None
    assert BYTES_PER_ELEMENT == 4


def test_chain_frees_each_tensor_after_its_consumer():
    # x -> y -> z: at step 1 x (still read) and y are live: 100 + 50
    steps = [([], ["x"]), (["x"], ["y"]), (["y"], ["z"])]
    assert peak_live_bytes(steps, {"x": 100, "y": 50, "z": 10}, ["z"]) == 150


def test_residual_keeps_the_shortcut_alive():
    # x -> a -> b; add(x, b). Step 3 holds x, b and the sum: 100 + 40 + 100 (a is freed)
    steps = [([], ["x"]), (["x"], ["a"]), (["a"], ["b"]), (["x", "b"], ["add"])]
    sizes = {"x": 100, "a": 40, "b": 40, "add": 100}
    assert peak_live_bytes(steps, sizes, ["add"]) == 240


def test_model_outputs_stay_live_to_the_end():
    # aux is an output taken early: it stays live through the last step
    steps = [([], ["x"]), (["x"], ["aux"]), (["x"], ["y"]), (["y"], ["z"])]
    sizes = {"x": 10, "aux": 1000, "y": 10, "z": 10}
    assert peak_live_bytes(steps, sizes, ["z", "aux"]) == 1020
    assert peak_live_bytes(steps, sizes, ["z"]) == 1010  # aux freed after step 1: x + aux


def test_unknown_sizes_count_zero_and_no_steps_peak_zero():
    assert peak_live_bytes([([], ["x"]), (["x"], ["y"])], {"y": 8}, ["y"]) == 8
    assert peak_live_bytes([], {}, []) == 0


def test_training_memory_adam_and_sgd():
    adam = training_memory(params=10, trainable=8, activations=100, optimizer="adam")
    assert adam == {"weights": 40, "gradients": 32, "optimizer_state": 64, "activations": 100,
                    "total": 236}
    sgd = training_memory(10, 8, 100, "sgd")
    assert sgd["optimizer_state"] == 0 and sgd["total"] == 172
    assert training_memory(10, 8, 0, "momentum")["optimizer_state"] == 32
    with pytest.raises(KeyError):
        training_memory(1, 1, 0, "unknown")
    assert set(OPTIMIZER_STATE) >= {"sgd", "adam", "adamw", "rmsprop"}


def test_weight_bytes():
    assert weight_bytes(1000) == {"fp32": 4000, "fp16": 2000, "int8": 1000}
