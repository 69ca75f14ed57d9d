"""End-to-end: start a training run from the Train page in Debian's Chromium, watch its live
progress and curve grow, then find it FINISHED on the Leaderboard. Same harness as
``test_e2e_browser.py`` (the app served by ``streamlit run``, a fresh data folder, full-page
screenshots into $E2E_SHOTS)."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from conftest import (T, _idle, _no_traceback, _number, _open, _shot,  # noqa: F401
                      _whole_page)

RUN_S = 120  # worker start (TensorFlow import) plus the run, on a busy 2-core machine
LIVE_JS = """() => { const el = document.querySelector("[class*='st-key-live_']");
  if (!el) return null;
  const m = el.innerText.match(/Epoch (\\d+) \\/ 12/);
  const p = el.querySelector('.js-plotly-plot');
  const points = p && p.data ? p.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : 0;
  return {epoch: m ? Number(m[1]) : null, points: points}; }"""


def test_train_from_the_page_watch_it_learn_then_see_it_on_the_leaderboard(page):
    # a fresh server runs a sub-page URL opened first without the router (Streamlit's
    # pages/ folder discovery), so start at the root like a person would
    _open(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=T)
    _idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Parameters")).to_contain_text("14.4K", timeout=T)  # quick-cnn on RGB shapes
    # a bigger shapes set and more epochs than the defaults, so the run lasts long enough to
    # be seen growing (a few seconds of training on CPU)
    _number(page, "count", 4000)
    _number(page, "Epochs", 12)
    _whole_page(page, "6a_train_form")

    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_role("heading", name="Running")).to_be_visible(timeout=T)

    # poll the live view (one atomic read per tick): the epoch shown and the number of points
    # on its curves should both grow while the run trains
    epochs_seen, points_seen = [], []
    results = page.get_by_role("heading", name="Results")
    deadline = time.monotonic() + RUN_S
    shot_taken = False
    while time.monotonic() < deadline and results.count() == 0:
        state = page.evaluate(LIVE_JS)
        if state and state["epoch"]:
            epochs_seen.append(state["epoch"])
        if state and state["points"]:
            points_seen.append(state["points"])
            if not shot_taken and state["epoch"] and state["epoch"] >= 4:
                _whole_page(page, "6b_train_running")
                shot_taken = True
        page.wait_for_timeout(300)
    expect(results).to_be_visible(timeout=T)
    assert len(set(epochs_seen)) >= 2 and max(epochs_seen) > min(epochs_seen), epochs_seen
    assert points_seen and max(points_seen) > min(points_seen), points_seen

    picker = page.get_by_test_id("stSelectbox").filter(has_text="Run").get_by_role("combobox")
    expect(picker).to_have_value(re.compile(r"^quick-cnn on shapes · finished · \d+\.\d%"),
                                 timeout=T)
    expect(page.get_by_test_id("stMetric").filter(has_text="Epochs")).to_contain_text("12 / 12")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2, timeout=T)  # curves + matrix
    _idle(page)
    _whole_page(page, "6c_train_finished")
    _no_traceback(page)

    page.get_by_test_id("stSidebarNav").get_by_text("Leaderboard", exact=True).click()
    expect(page.get_by_role("heading", name="Leaderboard")).to_be_visible(timeout=T)
    grid = page.get_by_test_id("stDataFrame")
    expect(grid.get_by_text("quick-cnn on shapes", exact=True).first).to_be_attached(timeout=T)
    expect(grid.get_by_text("FINISHED", exact=True).first).to_be_attached(timeout=T)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2, timeout=T)  # overlay + Pareto
    _idle(page)
    _whole_page(page, "6d_leaderboard")
    _no_traceback(page)
