"""What the Transfer page offers as a backbone: finished from-scratch runs with an image input,
and the sizes and scaled cost of a Keras Application."""
from __future__ import annotations

from playground.store import RunRecord
from playground.transfer import backbone_choice as bc


def test_run_input_shape_and_scaled_macs():
    assert bc.run_input_shape({"data.input_shape": "32x32x1"}) == (32, 32, 1)
    assert bc.run_input_shape({"data.input_shape": "10"}) is None
    assert bc.run_input_shape({}) is None
    assert bc.scaled_macs(100.0, 224, 112) == 25.0


def _rec(run_id: str, status: str = "FINISHED", **params: str) -> RunRecord:
    return RunRecord(run_id=run_id, name=run_id, status=status, start_time=None, end_time=None,
                     params=params)


def test_backbone_runs_keep_finished_image_runs_trained_from_scratch():
    runs = [_rec("a", **{"data.input_shape": "32x32x1"}),
            _rec("b", "FAILED", **{"data.input_shape": "32x32x1"}),
            _rec("c", kind="transfer", **{"data.input_shape": "96x96x3"}),
            _rec("d", **{"data.input_shape": "64"}),  # a CSV run: rows, not images
            _rec("e", kind="train", **{"data.input_shape": "28x28x1"})]
    assert list(bc.backbone_runs(runs)) == ["run:a", "run:e"]
    assert bc.backbone_runs(runs)["run:e"].run_id == "e"


def test_size_options_respect_the_smallest_input_and_include_the_default():
    assert bc.size_options("Xception")[0] == 96 and 299 in bc.size_options("Xception")
    assert bc.size_options("MobileNetV2")[0] == 32 and 224 in bc.size_options("MobileNetV2")
    assert 331 in bc.size_options("NASNetLarge")
