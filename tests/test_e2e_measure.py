"""End-to-end: the Measure views in the served app, driven in Chromium. The Builder and Compare
tests really measure (a fresh ``python -m playground measure`` process per architecture: a few
tens of seconds on a busy 2-core machine); the Leaderboard test reads runs and a measurement
seeded into the app's own store beforehand."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from conftest import (_start_from, ROOT, T, _idle, _metric, _no_traceback, _open, _shot,  # noqa: F401
                      app_env as make_app_env, serve_app)

MEASURE_T = 420_000  # ms: a measurement imports TensorFlow, compiles and times in a new process


@pytest.fixture(scope="module")
def app_env(tmp_path_factory) -> dict[str, str]:
    return make_app_env(tmp_path_factory)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, app_env):
    with serve_app(app_env, tmp_path_factory.mktemp("e2e-measure-log") / "st.log") as url:
        yield url


def _expander(page, text: str):
    exp = page.get_by_test_id("stExpander").filter(has_text=text)
    exp.locator("summary").click()
    _idle(page)
    return exp


def test_builder_measure_tab_times_the_model_and_its_layers(page):
    _open(page)
    _start_from(page, "lenet5", "416.5K")
    exp = _expander(page, "Measure on this machine")
    batch = exp.get_by_test_id("stNumberInput").filter(has_text="Batch").locator("input")
    batch.fill("4")
    batch.press("Enter")
    _idle(page)
    exp.get_by_role("button", name="Measure", exact=True).click()
    expect(_metric(page, "Latency (median)")).to_contain_text("ms", timeout=MEASURE_T)
    _idle(page)
    expect(exp).to_contain_text("lenet5 at batch 4")
    expect(exp.get_by_test_id("stTable")).to_contain_text("peak memory, training")
    _shot(page, "m1a_builder_measure_summary", exp)
    exp.get_by_role("tab", name="Per layer").click()
    _idle(page)
    chart = exp.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible(timeout=T)
    expect(chart).to_contain_text("Time share vs MAC share", timeout=T)
    expect(chart).to_contain_text("c1.conv", timeout=T)  # lenet5's first convolution
    _shot(page, "m1b_builder_measure_layers", chart)
    exp.get_by_role("tab", name="Roofline").click()
    _idle(page)
    roof = exp.get_by_test_id("stPlotlyChart").first
    expect(roof).to_contain_text("GMAC/s", timeout=T)
    expect(exp).to_contain_text("compute-bound")
    _shot(page, "m1c_builder_measure_roofline", roof)
    _no_traceback(page)


def test_compare_measures_each_architecture_side_by_side(page):
    _open(page, "/compare")
    page.get_by_role("button", name="bottleneck", exact=True).click()
    expect(page.locator("body")).to_contain_text("99,549,184", timeout=T)  # the lecture's pair
    _idle(page)
    exp = _expander(page, "Measure on this machine")
    exp.get_by_role("button", name="Measure 2 architectures").click()
    table = exp.get_by_test_id("stDataFrame")
    expect(table).to_be_visible(timeout=MEASURE_T)
    _idle(page)
    for label in ("latency ms", "3x3 conv 256→192", "1x1 to 64 + 3x3 to 192"):
        expect(table).to_contain_text(label, timeout=T)
    chart = exp.get_by_test_id("stPlotlyChart")
    expect(chart).to_contain_text("Multiply-adds vs measured latency", timeout=T)
    expect(exp.get_by_role("button", name="Measure again")).to_be_visible()
    _shot(page, "m2_compare_measure", exp)
    _no_traceback(page)


SEED = """
import json, sys, time
from playground.measure import records
from playground.store import RunStore
arch = json.loads(sys.argv[1])
store = RunStore()
for name, a, acc in (("small run", "lenet5", 0.90), ("mid run", "resnet20-cifar", 0.97),
                     ("big run", "plain20-cifar", 0.93)):
    run_id = store.create_run(name, {"architecture": a, "dataset": "shapes", "kind": "train",
                                     "cost.macs": 1e6, "cost.params": 1000, "epochs": 1})
    store.mark_running(run_id)
    store.log_metrics(run_id, {"val_accuracy": acc, "final_val_accuracy": acc,
                               "epochs_done": 1}, 1)
    store.finish(run_id, "FINISHED")
machine = records.this_machine()
for a, ms in arch.items():
    inf = {"median_ms": ms, "p90_ms": ms * 1.1, "p10_ms": ms * 0.9, "min_ms": ms * 0.9,
           "spread": 0.2, "repeats": 5, "warmup": 2, "first_call_ms": 100.0}
    records.save({"architecture": a, "input_shape": [32, 32, 3], "batch": 1,
                  "machine": machine, "device": machine["device"], "xla": "auto",
                  "compile": "tf.function graph", "params": 1000, "macs": 1e6,
                  "inference": inf, "train": inf, "latency_ms": ms, "latency_p90_ms": ms * 1.1,
                  "latency_spread": 0.2, "images_per_s": 1e3 / ms, "train_step_ms": 3 * ms,
                  "train_step_p90_ms": 3.3 * ms, "train_images_per_s": 1e3 / (3 * ms),
                  "ms_per_gmac": ms * 1e3,
                  "memory": {"device": "cpu", "method": "seeded", "inference_bytes": 1,
                             "training_bytes": 2, "estimate_inference_bytes": 1,
                             "estimate_training_bytes": 2, "inference_ratio": 1.0,
                             "training_ratio": 1.0},
                  "layers": None, "roofline": None, "measured_at": time.time()})
"""


def test_leaderboard_shows_latency_beside_accuracy_and_the_zoo_a_measured_column(page, app_env):
    latency = {"lenet5": 1.5, "resnet20-cifar": 4.0, "plain20-cifar": 6.0}
    done = subprocess.run([sys.executable, "-c", SEED, json.dumps(latency)], cwd=ROOT,
                          env=app_env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    _open(page, "/runs")
    heading = page.get_by_role("heading", name="Accuracy vs measured latency")
    expect(heading).to_be_visible(timeout=T)
    table = page.get_by_test_id("stDataFrame").filter(has_text="latency ms")
    for run in ("small run", "mid run", "big run"):
        expect(table).to_contain_text(run, timeout=T)
    chart = page.get_by_test_id("stPlotlyChart").filter(
        has_text="Validation accuracy vs measured latency")
    expect(chart).to_be_visible(timeout=T)
    expect(chart).to_contain_text("Pareto front (shapes)")
    machine = page.get_by_test_id("stSelectbox").filter(has_text="Machine")
    expect(machine.get_by_role("combobox")).to_have_value(re.compile("this machine$"))
    _shot(page, "m3a_leaderboard_latency", heading)
    _no_traceback(page)
    _open(page, "/zoo")
    zoo = page.get_by_test_id("stDataFrame").first
    expect(zoo).to_contain_text("measured ms", timeout=T)
    _shot(page, "m3b_zoo_measured_column", zoo)
    _no_traceback(page)
