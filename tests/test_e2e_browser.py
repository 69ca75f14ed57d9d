"""End-to-end: the real app served by `streamlit run app.py`, driven in Debian's Chromium by
Playwright (sync API). Each test opens a fresh browser context (a new Streamlit session) and saves
a full-page screenshot per step into $E2E_SHOTS (default: a new temporary folder, printed)."""
from __future__ import annotations

import base64
import time

from playwright.sync_api import expect

from playground.cached import analyze_spec
from playground.cost import format_count
from playground.zoo import ZOO

from conftest import _start_from, T, _board, _idle, _metric, _no_traceback, _open, _shot  # noqa: F401


def _drag(page, src, x: float, y: float) -> None:
    """Press on `src`, move in small steps to (x, y) in page coordinates, release."""
    sb = src.bounding_box()
    x0, y0 = sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 21):
        page.mouse.move(x0 + (x - x0) * i / 20, y0 + (y - y0) * i / 20, steps=2)
        time.sleep(0.03)
    page.mouse.up()


def test_builder_drag_conv_into_model_updates_cost_table_and_graph(page):
    _open(page)
    expect(page.get_by_role("heading", name="Builder")).to_be_visible()
    expect(_metric(page, "Parameters")).to_have_text("0")
    expect(_metric(page, "MACs")).to_have_text("0")
    frame = _board(page)
    src = frame.locator(".chip").get_by_text("Conv", exact=True).first
    dst = frame.locator("#model")
    expect(src).to_be_visible(timeout=T)
    expect(frame.locator(".model")).to_contain_text("Your model")
    _shot(page, "1a_builder_empty")

    db = dst.bounding_box()
    below = db["y"] + db["height"] + 40 - page.viewport_size["height"]
    if below > 0:  # the model list is under the palette, below the fold: scroll it into sight
        # (a drag held past the window's edge scrolls the page, and the drop would miss)
        page.evaluate("d => document.querySelector('[data-testid=stMain]').scrollBy(0, d)",
                      below)
        page.wait_for_timeout(400)
        db = dst.bounding_box()
    _drag(page, src, db["x"] + 60, db["y"] + db["height"] - 10)

    expect(_metric(page, "Parameters")).not_to_have_text("0", timeout=T)
    expect(_metric(page, "MACs")).not_to_have_text("0", timeout=T)
    _idle(page)
    # the block table (a glide data grid: its cells are mirrored in an accessible table)
    expect(page.get_by_test_id("stDataFrame").get_by_text("conv_1", exact=True).first
           ).to_be_attached(timeout=T)
    expect(frame.locator(".block")).to_have_count(1, timeout=T)
    expect(frame.locator(".block").first).to_contain_text("conv_1")
    _shot(page, "1b_builder_conv_added")

    page.get_by_role("tab", name="Graph").click()
    # drawn by Graphviz on the server (an SVG image), else laid out in the page
    graph = page.get_by_role("tabpanel").get_by_test_id("stImage").locator("img").or_(
        page.get_by_test_id("stGraphVizChart").locator("svg"))
    expect(graph.first).to_be_visible(timeout=T)
    src = graph.first.get_attribute("src")
    if src:
        assert "conv_1" in base64.b64decode(src.split(",", 1)[1]).decode()
    else:
        expect(graph.locator("text", has_text="conv_1").first).to_be_visible(timeout=T)
    _shot(page, "1c_builder_graph", graph.first)
    page.get_by_role("tab", name="Charts").click()  # computed when opened
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=T)
    _no_traceback(page)


def test_builder_click_block_opens_its_parameters_and_drag_reorders(page):
    _open(page)
    frame = _board(page)
    editor = page.get_by_test_id("stSelectbox").filter(has_text="Edit block")
    # a click on a palette block appends it; the new block's parameters open
    for label, name in (("Conv", "conv_1"), ("Max pooling", "max_pool_1"), ("Dropout", "dropout_1")):
        frame.locator(".chip").get_by_text(label, exact=True).first.click()
        expect(frame.locator(".block", has_text=name)).to_have_count(1, timeout=T)
        expect(editor.get_by_role("combobox")).to_have_value(f"{name} ({label})", timeout=T)
        _idle(page)
    # a click on a model block opens its parameters (and marks it in the list)
    frame.locator(".block", has_text="conv_1").click()
    expect(editor.get_by_role("combobox")).to_have_value("conv_1 (Conv)", timeout=T)
    expect(page.get_by_test_id("stNumberInput").filter(has_text="filters")).to_be_visible()
    expect(frame.locator(".block.selected")).to_contain_text("conv_1")
    _idle(page)
    _shot(page, "1d_builder_block_clicked", frame.locator("#model"))
    # drag the last block to the top: the model's order follows
    rows = frame.locator(".block")
    top = rows.nth(0).bounding_box()
    _drag(page, rows.nth(2), top["x"] + 40, top["y"] + 3)
    expect(rows.nth(0)).to_contain_text("dropout_1", timeout=T)
    expect(page.get_by_test_id("stDataFrame").get_by_text("dropout_1", exact=True).first
           ).to_be_attached(timeout=T)
    _idle(page)
    expect(frame.locator(".block .label")).to_have_text(
        ["dropout_1 (Dropout)", "conv_1 (Conv)", "max_pool_1 (Max pooling)"], timeout=T)
    # keyboard: Alt+Down moves the focused block, Delete removes it
    frame.locator(".block", has_text="dropout_1").focus()
    page.keyboard.press("Alt+ArrowDown")
    expect(frame.locator(".block .label")).to_have_text(
        ["conv_1 (Conv)", "dropout_1 (Dropout)", "max_pool_1 (Max pooling)"], timeout=T)
    _idle(page)
    frame.locator(".block", has_text="dropout_1").focus()
    page.keyboard.press("Delete")
    expect(frame.locator(".block .label")).to_have_text(
        ["conv_1 (Conv)", "max_pool_1 (Max pooling)"], timeout=T)
    _idle(page)
    _no_traceback(page)


def test_builder_start_from_zoo_model_shows_its_macs(page):
    expected = format_count(analyze_spec(ZOO.get("resnet20-cifar").spec()).macs)  # "40.8M"
    _open(page)
    box = _start_from(page, "resnet20-cifar", expected)
    expect(box.get_by_role("combobox")).to_have_value(
        f"resnet20-cifar ({ZOO.get('resnet20-cifar').family})")
    _shot(page, "2_builder_resnet20_cifar")
    _no_traceback(page)


def test_compare_lecture_bottleneck(page):
    _open(page, "/compare")
    expect(page.get_by_role("heading", name="Compare architectures")).to_be_visible()
    page.get_by_role("button", name="bottleneck", exact=True).click()
    body = page.locator("body")
    expect(body).to_contain_text("346,816,512", timeout=T)
    expect(body).to_contain_text("99,549,184", timeout=T)
    _idle(page)
    _shot(page, "3a_compare_bottleneck")
    _shot(page, "3b_compare_bottleneck_chart", page.get_by_test_id("stPlotlyChart").first)
    _no_traceback(page)


def test_builder_upload_malformed_spec_shows_readable_error(page, tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('{"name": "x", "blocks": [')
    _open(page)
    page.get_by_test_id("stExpander").filter(has_text="Save, load and share") \
        .locator("summary").click()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Load a spec")
    uploader.locator("input[type=file]").set_input_files(str(bad))
    err = page.get_by_test_id("stAlertContentError").filter(has_text="malformed JSON")
    expect(err.first).to_be_visible(timeout=T)
    expect(err.first).to_contain_text("broken.json")
    _idle(page)
    _shot(page, "4_builder_upload_malformed", err.first)
    _no_traceback(page)


def test_corrupted_share_link_shows_error_not_traceback(page):
    _open(page, "/?spec=garbage!!")
    err = page.get_by_test_id("stAlertContentError").filter(has_text="shared link")
    expect(err.first).to_be_visible(timeout=T)
    _shot(page, "5_builder_corrupted_link")
    _no_traceback(page)
