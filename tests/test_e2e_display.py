"""What a 1024 x 768 window shows of the Zoo, Compare, Architecture cost and Leaderboard pages
(issue 11), measured in Chromium: no text cut to an ellipsis (metric values and labels, buttons,
captions), tables that fit the page or keep their key columns in view, and no "Deploy" button.
The app is served with a store holding a few runs (one that died before its first epoch)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conftest import T, _idle, _no_traceback, _shot, app_env, fake_run, serve_app

WIDTH, HEIGHT = 1024, 768

# Texts the browser draws cut: an element whose text overflows its box and is clipped (an
# ellipsis, or a leaf that hides its overflow). Canvas tables and charts are measured apart.
CUT_TEXTS = """() => {
  const out = [];
  const main = document.querySelector('[data-testid="stMain"]');
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('.stDataFrameGlideDataEditor, [data-testid="stPlotlyChart"], '
                   + '[data-testid="stGraphVizChart"], iframe, pre, code')) continue;
    const s = getComputedStyle(el);
    const clips = s.textOverflow === 'ellipsis'
      || (el.children.length === 0 && (s.overflowX === 'hidden' || s.overflowX === 'clip'));
    if (clips && el.textContent.trim() && el.scrollWidth > el.clientWidth + 1)
      out.push(el.textContent.trim());
  }
  return out;
}"""
# Each data table: [content width, visible width, visible column headers].
TABLES = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(df => {
  const s = df.querySelector('.dvn-scroller');
  const heads = [...df.querySelectorAll('th[role="columnheader"]')].map(h => h.textContent);
  return s ? [s.scrollWidth, s.clientWidth, heads] : null;
}).filter(Boolean)"""


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app, its store holding three finished runs on two data sets and one that died."""
    from playground.store import RunStore
    env = app_env(tmp_path_factory)
    store = RunStore(f"sqlite:///{env['PLAYGROUND_DATA']}/mlflow.db")
    fake_run(store, "resnet20 on shapes", macs=4.08e7, accs=(0.6, 0.82),
             architecture="resnet20-cifar")
    fake_run(store, "quick cnn", macs=2.2e6, accs=(0.5, 0.9))
    fake_run(store, "lenet digits", dataset="digits", macs=4.2e5, accs=(0.7, 0.95),
             architecture="lenet5")
    died = store.create_run("died early", {"architecture": "quick-cnn", "dataset": "shapes"})
    store.mark_running(died)
    store.finish(died, "FAILED", "worker died before the first epoch")
    with serve_app(env, tmp_path_factory.mktemp("e2e-log") / "st.log") as url:
        yield url


@pytest.fixture
def small(browser, app_url):
    """A 1024 x 768 window on the served app."""
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    pg = context.new_page()
    pg.set_default_timeout(T)
    yield pg
    context.close()


def _open_at(page, url: str) -> None:
    page.goto(url)
    expect(page.locator("h1").first).to_be_visible(timeout=T)
    _idle(page)
    page.wait_for_timeout(1500)  # tables and charts draw after the run ends


def _check(page, name: str, tables: int = 0) -> list:
    """Screenshot, then: no traceback, no Deploy button, no cut text; returns the tables'
    measurements (after waiting for the first ``tables`` of them to draw)."""
    if tables:  # (other sections may add tables below: the first ones are this test's)
        expect(page.locator(".dvn-scroller").nth(tables - 1)).to_be_attached(timeout=T)
        page.wait_for_timeout(500)
    _shot(page, f"display_{name}_{WIDTH}x{HEIGHT}")
    _no_traceback(page)
    expect(page.get_by_text("Deploy", exact=True)).to_have_count(0)
    assert page.evaluate(CUT_TEXTS) == []
    return page.evaluate(TABLES)


@pytest.mark.parametrize("path", ["/zoo", "/cost"])
def test_zoo_and_cost_pages_cut_no_text(small, app_url, path):
    _open_at(small, app_url + path)
    tables = _check(small, path.strip("/"), tables=1)
    full, shown, _ = tables[0]
    assert full <= shown + 1, tables  # the table fits: nothing to scroll to sideways
    if path == "/zoo":  # the long texts show for a picked row, not cut in a column
        box = small.locator(".dvn-scroller").first.bounding_box()
        small.mouse.click(box["x"] + 40, box["y"] + 35 + 17)  # first row's name (lenet5)
        _idle(small)
        expect(small.get_by_text(re.compile("^Source: hand count of the LeNet-5 layer table"))
               ).to_be_visible(timeout=T)


@pytest.mark.parametrize("lecture", [None, "vgg-head", "plain-vs-residual"])
def test_compare_table_and_buttons_fit_a_1024_window(small, app_url, lecture):
    _open_at(small, app_url + "/compare")
    if lecture:
        small.get_by_role("button", name=lecture, exact=True).click()
        _idle(small)
        expect(small.locator("body")).to_contain_text("138,357,544" if lecture == "vgg-head"
                                                      else "figure", timeout=T)
        small.wait_for_timeout(1500)
        small.mouse.move(WIDTH - 5, 5)  # the clicked button's tooltip away
    tables = _check(small, f"compare_{lecture or 'default'}", tables=1)
    full, shown, heads = tables[0]
    assert full <= shown + 1, f"the table scrolls sideways: {full} px of content in {shown} px"
    assert heads[0] == "figure" and len(heads) >= 3  # every architecture's column in view


def test_leaderboard_shows_status_and_start_without_scrolling(small, app_url):
    _open_at(small, app_url + "/runs")
    expect(small.locator("body")).to_contain_text("died early", timeout=T)
    tables = _check(small, "runs", tables=1)
    _, _, heads = tables[0]
    for column in ("run", "status", "started", "val acc", "architecture"):
        assert column in heads, heads
    csv = small.get_by_test_id("stDownloadButton").filter(has_text="Download CSV")
    expect(csv).to_be_visible()
