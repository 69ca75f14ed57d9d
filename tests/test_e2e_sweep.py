"""End-to-end: Compare two tiny architectures in Debian's Chromium, press "Train these" with
tiny settings (60 shapes at 16x16, 2 epochs, 2 seeds), watch the sweep's status, and end with
the curves overlaid (a mean line and a shaded spread band per architecture) and the table of
mean +- std; the runs are on the Leaderboard with their sweep. Same harness as
``test_e2e_train.py``."""
from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from conftest import (T, _idle, _no_traceback, _number, _open, _whole_page, app_env,
                      serve_app)

SWEEP_S = 420  # four worker processes (each imports TensorFlow) on a busy 2-core machine
CHART_JS = """() => { const p = document.querySelector('.st-key-sweep_state .js-plotly-plot');
  if (!p || !p.data) return null;
  return p.data.map(t => ({name: t.name, fill: t.fill || null, n: (t.x || []).length,
                           y: Array.from(t.y || [])})); }"""


def tiny(name: str, filters: int) -> dict:
    return {"name": name, "input_shape": [16, 16, 3], "blocks": [
        {"type": "conv", "params": {"filters": filters}},
        {"type": "conv", "params": {"filters": filters}}],
        "head": {"type": "gap_head", "params": {"classes": 3}}}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app with two job slots, so the sweep's tiny runs overlap their start-up."""
    env = {**app_env(tmp_path_factory), "PLAYGROUND_MAX_JOBS": "2"}
    with serve_app(env, tmp_path_factory.mktemp("e2e-log") / "st.log") as url:
        yield url


def test_train_these_from_compare_ends_with_overlaid_curves_and_spread(page, tmp_path):
    _open(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare architectures")).to_be_visible(timeout=T)
    _idle(page)
    # two tiny architectures as spec files, instead of the default zoo pair
    files = []
    for name, filters in (("tiny-narrow", 4), ("tiny-wide", 12)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(tiny(name, filters)))
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        [str(f) for f in files])
    _idle(page)
    zoo = page.get_by_test_id("stMultiSelect").filter(has_text="Zoo architectures")
    for name in ("resnet20-cifar", "plain20-cifar"):
        zoo.locator(f"[aria-label=\"Remove {name}\"]").click()  # the chip's close icon
        _idle(page)
    expect(page.get_by_role("heading", name="Train these")).to_be_visible(timeout=T)
    expect(page.get_by_text("2 architectures × 3 seeds = 6 runs")).to_be_visible()

    page.get_by_text("Data options", exact=True).click()
    _number(page, "count", 60)
    _number(page, "image size", 16)
    _number(page, "Epochs", 2)
    _number(page, "Seeds", 2)
    expect(page.get_by_text("2 architectures × 2 seeds = 4 runs of 2 epochs")).to_be_visible()
    _whole_page(page, "9a_compare_train_these_form")

    t0 = time.monotonic()
    page.get_by_role("button", name="Train these").click()
    state = page.locator(".st-key-sweep_state")
    expect(state).to_contain_text("sweep: tiny-narrow vs tiny-wide on shapes", timeout=T)
    expect(state).to_contain_text("(of 4 runs)")
    # live: the status polls while the runs are active and shows how many have ended
    expect(state.get_by_text("runs ended")).to_be_visible(timeout=T)
    expect(state).to_contain_text("· finished ·", timeout=SWEEP_S * 1000)
    print(f"[e2e] sweep of 4 tiny runs: {time.monotonic() - t0:.0f} s from the click")
    expect(state).to_contain_text("4 finished (of 4 runs)")
    _idle(page)

    # the overlaid curves: per architecture a shaded band (the spread) and a mean line
    traces = page.evaluate(CHART_JS)
    assert traces, "no sweep chart"
    bands = [t for t in traces if t["fill"] == "toself"]
    means = [t for t in traces if t["fill"] != "toself"]
    assert [t["name"] for t in means] == ["tiny-narrow (2 seeds)", "tiny-wide (2 seeds)"]
    assert all(t["n"] == 2 for t in means) and len(bands) == 2
    assert all(t["n"] == 4 for t in bands)  # upper edge out, lower edge back
    expect(state.get_by_text("validation accuracy per epoch: mean ± std over seeds")).to_be_visible()
    summary = state.get_by_test_id("stTable")
    expect(summary).to_be_visible()
    _whole_page(page, "9b_compare_sweep_done")
    text = summary.inner_text()
    assert "mean ± std" in text and text.count("2 / 2") == 2, text
    assert "tiny-narrow" in text and "tiny-wide" in text and "±" in text

    # the band switches to min..max; the training loss is a metric too
    state.get_by_text("min – max", exact=True).click()
    _idle(page)
    expect(state.get_by_text("train loss per epoch: mean, band min–max over seeds")).to_have_count(0)
    state.get_by_text("train loss", exact=True).click()
    _idle(page)
    expect(state.get_by_text("train loss per epoch: mean, band min–max over seeds")).to_be_visible()
    _no_traceback(page)

    # the runs are on the Leaderboard, named by architecture and seed
    page.get_by_test_id("stSidebarNav").get_by_text("Leaderboard", exact=True).click()
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible(timeout=T)
    _idle(page)
    expect(page.get_by_text("4 runs of this playground")).to_be_visible()
    _no_traceback(page)
