"""Measured speed and memory (``playground.measure``): the timing method on a model whose time
is known to scale, the roofline micro-benchmarks against NumPy in the same run, the memory
probe, the will-it-fit pre-flight, per-layer shares, the run store records, the CLI and the
figures. The machine is shared and busy: bounds are stated and wide, models tiny."""
from __future__ import annotations

import json
import statistics
import time

import numpy as np
import pytest

from playground.measure import records
from playground.measure.charts import macs_time_figure, roofline_figure, share_figure
from playground.measure.layers import by_group, group_of, shares
from playground.measure.memory import PeakMemory, fit_check, fit_text, reset_peak, training_fit
from playground.training_charts import pareto_figure
from playground.measure.roofline import classify, micro_benchmarks
from playground.measure.timing import time_fn
from playground.spec import ArchSpec

TINY = {"name": "tiny-measure", "input_shape": [16, 16, 3],
        "blocks": [{"type": "conv", "name": "stem", "params": {"filters": 8, "batch_norm": True}},
                   {"type": "conv", "name": "body", "params": {"filters": 16, "stride": 2}}],
        "head": {"type": "gap_head", "params": {"classes": 3}}}


# --- the timing method ---------------------------------------------------------------------
def test_first_call_and_warmup_are_left_out_and_the_spread_is_reported():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.25 if len(calls) == 1 else 0.01)  # the first call "compiles"
        return np.zeros(1)

    t = time_fn(fn, warmup=2, repeats=6, min_sample_s=0.0)
    assert t.first_call_ms >= 240  # the compile is reported...
    assert 9 <= t.median_ms < 60  # ...and not in the samples (sleep only ever runs long)
    assert len(t.samples_ms) == 6 and len(calls) == 1 + 2 + 6
    assert t.p90_ms >= t.median_ms >= t.min_ms
    d = t.to_dict()
    assert d["repeats"] == 6 and d["warmup"] == 2 and d["spread"] >= 0


def test_a_budget_cuts_repeats_short_but_keeps_three_samples():
    t = time_fn(lambda: time.sleep(0.02), warmup=0, repeats=50, budget_s=0.01,
                min_sample_s=0.0)
    assert len(t.samples_ms) == 3


def _dense_model(width: int, name: str):
    import keras
    inp = keras.Input((1024,), name=f"{name}_in")
    return keras.Model(inp, keras.layers.Dense(width, name=f"{name}_dense")(inp), name=name)


def test_dense_layer_time_grows_with_its_width():
    """The method on a model whose time is known to scale: one Dense layer, 1024 inputs, batch
    256, at widths 1024, 2048, 4096 (268M, 537M, 1074M MACs: 4x the work at 4x the width).
    The machine is shared and noisy, so the three widths are timed in turn, five rounds, each
    timing the median of its samples; each round's ratios compare widths timed moments apart
    and the test reads the median ratio over the rounds. Bounds: 2x width at least 1.25x the 1x
    time (ideal 2x), 4x width at least 2x the 1x time (ideal 4x) and at least 1.25x the 2x
    time, and no more than 12x the 1x time."""
    from playground.measure.latency import inference_fn, model_inputs
    fns = {}
    for k in (1, 2, 4):
        model = _dense_model(1024 * k, f"width{k}x")
        f, _ = inference_fn(model)
        x = model_inputs(model, 256)[0]
        fns[k] = (lambda f=f, x=x: f(x))
    ratios: dict[str, list[float]] = {"2/1": [], "4/1": [], "4/2": []}
    seen = []
    for _ in range(5):
        t = {k: time_fn(fn, warmup=1, repeats=5, budget_s=10).median_ms for k, fn in fns.items()}
        seen.append(t)
        ratios["2/1"].append(t[2] / t[1])
        ratios["4/1"].append(t[4] / t[1])
        ratios["4/2"].append(t[4] / t[2])
    r = {k: statistics.median(v) for k, v in ratios.items()}
    note = f"median ratios {r}; rounds (ms) {seen}"
    assert r["2/1"] >= 1.25, note
    assert r["4/1"] >= 2.0, note
    assert r["4/2"] >= 1.25, note
    assert r["4/1"] <= 12, note


# --- roofline ------------------------------------------------------------------------------
def test_roofline_micro_benchmarks_are_within_a_factor_4_of_numpy_in_the_same_run():
    """Keras' matmul and add against NumPy's BLAS matmul and in-place add, same sizes, same
    run, each the fastest of its repeats: within 4x either way (on this CPU Keras/oneDNN and
    NumPy/OpenBLAS measure within ~1.5x of each other)."""
    r = micro_benchmarks("cpu", n=1024, elements=2**24, repeats=6)
    assert 0.25 <= r["macs_vs_numpy"] <= 4, r
    assert 0.25 <= r["bytes_vs_numpy"] <= 4, r
    assert r["macs_per_s"] > 1e9 and r["bytes_per_s"] > 1e9  # any CPU of this century
    assert r["ridge"] == pytest.approx(r["macs_per_s"] / r["bytes_per_s"])


def test_classify_puts_each_layer_under_the_roof():
    roof = {"macs_per_s": 100e9, "bytes_per_s": 10e9, "ridge": 10.0}
    rows = [{"name": "conv", "macs": 1_000_000, "bytes": 20_000, "ms": 0.02},  # 50 MACs/byte
            {"name": "bn", "macs": 0, "bytes": 4_000_000, "ms": 0.8},
            {"name": "dense", "macs": 10_000, "bytes": 4_000, "ms": None}]
    classify(rows, roof, batch=1)
    conv, bn, dense = rows
    assert conv["bound"] == "compute" and conv["intensity"] == pytest.approx(50)
    assert conv["roof_ms"] == pytest.approx(1e6 / 100e9 * 1e3)  # MACs / peak
    assert conv["achieved_macs_per_s"] == pytest.approx(1e6 / 0.02e-3)
    assert bn["bound"] == "memory" and bn["roof_ms"] == pytest.approx(4e6 / 10e9 * 1e3)
    assert bn["efficiency"] == pytest.approx(0.4 / 0.8)
    assert dense["bound"] == "memory" and dense["efficiency"] is None  # 2.5 MACs/byte < ridge


# --- memory --------------------------------------------------------------------------------
@pytest.mark.skipif(not reset_peak(), reason="needs Linux /proc/self/clear_refs")
def test_peak_memory_sees_an_allocation_and_resets_between_blocks():
    with PeakMemory("cpu") as big:
        a = np.ones(100 * 2**20 // 8)  # 100 MiB, touched
        del a
    with PeakMemory("cpu") as small:
        b = np.ones(10 * 2**20 // 8)
        del b
    assert 90 * 2**20 <= big.peak_bytes <= 400 * 2**20
    assert (small.peak_bytes or 0) < 60 * 2**20  # the 100 MiB peak was reset (None: no rise)
    assert "VmHWM" in big.method


def test_fit_check_gives_the_largest_batch_that_fits():
    from playground.cached import analyze_spec
    report = analyze_spec(ArchSpec.from_dict(TINY), 1, "adam")
    tm = report.training_memory
    fixed, per = tm["total"] - tm["activations"], tm["activations"]
    free = int((fixed + 100.5 * per) / 0.8)  # room for 100 samples within the 80% headroom
    fit = fit_check(report, 64, "cpu", free=free)
    assert fit.fits and fit.max_batch == 100
    assert fit.estimate_bytes == report.at_batch(64).training_memory["total"]
    assert not fit_check(report, 101, "cpu", free=free).fits
    assert fit_check(report, 1, "cpu", free=fixed // 2).max_batch == 0  # not even the weights
    assert "largest batch that fits is about 100" in fit_text(fit)
    assert "does NOT fit" in fit_text(fit_check(report, 500, "cpu", free=free))


def test_training_fit_reads_the_train_form_and_adapts_the_spec_to_the_data():
    from playground.cached import analyze_spec
    from playground.data import DATASETS
    from playground.zoo import ZOO
    fit = training_fit({"target": "lenet5", "dataset": "shapes", "dataset_options": {},
                        "batch_size": 16, "optimizer": "adamw", "device": "cpu"})
    shape = DATASETS.get("shapes").shape({})
    report = analyze_spec(ZOO.get("lenet5").spec().with_input(*shape), 1, "adamw")
    assert fit.estimate_bytes == report.at_batch(16).training_memory["total"]
    assert fit.free_bytes and fit.free_bytes > 0 and fit.device == "cpu"
    assert training_fit({"target": "keras:VGG16", "dataset": "shapes"}) is None


# --- per-layer shares ----------------------------------------------------------------------
def test_group_of_names_the_block():
    assert group_of("stage1_b2.conv1_bn") == "stage1_b2"
    assert group_of("backbone/conv1") == "backbone"
    assert group_of("conv2_block1_1_conv") == "conv2_block1"
    assert group_of("block_3_expand") == "block_3"
    assert group_of("predictions") == "predictions"


def test_layers_whose_time_share_exceeds_their_mac_share_stand_out():
    rows = shares([{"name": "a.conv", "group": "a", "macs": 900, "ms": 5.0},
                   {"name": "a.bn", "group": "a", "macs": 0, "ms": 3.0},
                   {"name": "b.conv", "group": "b", "macs": 100, "ms": 2.0},
                   {"name": "b.relu", "group": "b", "macs": 0, "ms": 0.1},
                   {"name": "c.odd", "group": "c", "macs": 0, "ms": None}])
    by = {r["name"]: r for r in rows}
    assert by["a.conv"]["time_share"] == pytest.approx(5 / 10.1)
    assert by["a.conv"]["mac_share"] == pytest.approx(0.9) and not by["a.conv"]["stands_out"]
    assert by["a.bn"]["stands_out"]  # 30% of the time, no MACs
    assert by["b.conv"]["stands_out"]  # 20% of the time for 10% of the MACs
    assert not by["b.relu"]["stands_out"]  # under 2% of the time
    assert by["c.odd"]["time_share"] is None and not by["c.odd"]["stands_out"]
    blocks = {g["name"]: g for g in by_group(rows)}
    assert blocks["a"]["ms"] == pytest.approx(8.0) and blocks["a"]["macs"] == 900
    assert blocks["c"]["ms"] is None


# --- a whole measurement, the store and the CLI --------------------------------------------
@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    from playground.measure.runner import measure_target
    from playground.targets import Target
    spec = ArchSpec.from_dict(TINY)
    return measure_target(Target(spec.name, spec=spec), batch=2, repeats=3, layer_repeats=3)


def test_a_measurement_times_every_layer_beside_its_macs(tiny_result):
    from playground.cached import analyze_spec
    r = tiny_result
    report = analyze_spec(ArchSpec.from_dict(TINY))
    assert r["architecture"] == "tiny-measure" and r["batch"] == 2
    assert r["macs"] == report.macs and r["params"] == report.params
    assert 0 < r["inference"]["min_ms"] <= r["latency_ms"] <= r["latency_p90_ms"]
    assert r["inference"]["repeats"] >= 3 and r["train_step_ms"] > 0
    assert r["images_per_s"] == pytest.approx(2 / r["latency_ms"] * 1e3)
    layers = r["layers"]["layers"]
    assert [x["name"] for x in layers] == [x.name for x in report.layers
                                           if x.type != "InputLayer"]
    assert sum(x["macs"] for x in layers) == report.macs
    assert sum(x["time_share"] for x in layers if x["time_share"] is not None) == \
        pytest.approx(1.0)
    assert all(x["bound"] in ("compute", "memory") for x in layers)
    assert r["roofline"]["macs_per_s"] > 0 and r["machine"]["key"]
    mem = r["memory"]
    assert mem["estimate_training_bytes"] == report.at_batch(2).training_memory["total"]
    assert mem["inference_bytes"] > 0 and mem["inference_ratio"] > 0  # the build allocates
    if reset_peak():  # a tiny model's training may add less than the process frees meanwhile
        assert (mem["training_bytes"] is None and mem["training_ratio"] is None) or \
            (mem["training_bytes"] > 0 and mem["training_ratio"] > 0)
    json.dumps(r)  # JSON-ready: what the CLI prints and the store keeps


def test_measurements_are_runs_keyed_by_machine_beside_training_runs(tiny_result, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from playground.store import RunStore
    assert records.rows() == []  # nothing measured: nothing created either
    run_id = records.save(tiny_result)
    rows = records.rows()
    assert [r["run_id"] for r in rows] == [run_id]
    row = rows[0]
    assert row["machine_key"] == tiny_result["machine"]["key"]
    assert row["latency_ms"] == pytest.approx(tiny_result["latency_ms"])
    assert records.result_of(run_id)["layers"]["timed"] == tiny_result["layers"]["timed"]
    assert RunStore().list_runs() == []  # the training runs' experiment stays apart
    latest = records.latest_by_architecture(rows, tiny_result["machine"]["key"])
    joined = records.with_latency([{"architecture": "tiny-measure", "val_accuracy": 0.9},
                                   {"architecture": "other", "val_accuracy": 0.8}], latest)
    assert joined[0]["latency_ms"] == pytest.approx(tiny_result["latency_ms"])
    assert joined[1]["latency_ms"] is None
    assert records.latest_by_architecture(rows, "another-machine") == {}
    local = records.local_latest(tiny_result["machine"]["key"], batch=2)
    assert local["tiny-measure"]["run_id"] == run_id


def test_cli_measure_prints_json_and_stores_the_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from playground.cli import main
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    assert main(["measure", str(path), "--batch", "2", "--repeats", "3", "--no-layers",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["architecture"] == "tiny-measure" and out["layers"] is None
    assert [r["run_id"] for r in records.rows()] == [out["run_id"]]


@pytest.mark.parametrize("argv, says", [
    (["measure", "no-such-net"], "is not a zoo name"),
    (["measure", "lenet5", "--batch", "0"], "--batch"),
    (["measure", "lenet5", "--repeats", "1"], "--repeats"),
    (["measure", "lenet5", "--backend", "torch"], "torch is not installed"),
])
def test_cli_measure_bad_input_is_one_line_and_exit_2(argv, says, capsys, monkeypatch):
    from playground.cli import main
    from playground.train.config import installed_backends
    if "torch" in argv and "torch" in installed_backends():
        pytest.skip("torch is installed here")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")  # main() sets it from --backend
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


# --- figures -------------------------------------------------------------------------------
def test_share_and_roofline_figures_draw_the_measurement(tiny_result):
    fig = share_figure(tiny_result, "layer")
    timed = [x for x in tiny_result["layers"]["layers"] if x["time_share"] is not None]
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["share of MACs"].y) == [x["name"] for x in timed]
    plain = by_name.get("share of measured time")
    out = by_name.get("time share >= 1.5x MAC share")
    assert list(plain.y if plain else []) == [x["name"] for x in timed if not x["stands_out"]]
    assert list(out.y if out else []) == [x["name"] for x in timed if x["stands_out"]]
    roof = roofline_figure(tiny_result)
    assert roof.data[0].name == "roofline"
    assert max(roof.data[0].y) == pytest.approx(tiny_result["roofline"]["macs_per_s"] / 1e9)


def test_macs_time_and_latency_pareto_figures():
    rows = [{"architecture": "a", "macs": 1e9, "batch": 1, "latency_ms": 10.0},
            {"architecture": "b", "macs": 4e9, "batch": 1, "latency_ms": 20.0},
            {"architecture": "keras:C", "macs": 2e9, "batch": 1, "latency_ms": 80.0}]
    fig = macs_time_figure(rows)
    assert list(fig.data[1].text) == ["a", "b", "C"]
    assert fig.data[0].name == "median 10 ms per GMAC"  # of 10, 5 and 40 ms per GMAC
    runs = [{"run_id": "r1", "dataset": "shapes", "latency_ms": 1.0, "val_accuracy": 0.8},
            {"run_id": "r2", "dataset": "shapes", "latency_ms": 2.0, "val_accuracy": 0.9},
            {"run_id": "r3", "dataset": "shapes", "latency_ms": 3.0, "val_accuracy": 0.85}]
    pareto = pareto_figure(runs, cost="latency_ms")
    front = [t for t in pareto.data if t.name.startswith("Pareto")]
    assert list(front[0].x) == [1.0, 2.0]  # r3 is slower and worse than r2


def test_train_page_says_whether_the_run_will_fit(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    at = AppTest.from_file("../pages/train.py", default_timeout=120).run()
    assert not at.exception
    fit = [c.value for c in at.caption if "Will it fit?" in c.value]
    assert len(fit) == 1 and "at batch 32" in fit[0] and "largest batch that fits" in fit[0]
