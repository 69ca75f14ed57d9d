"""End-to-end (Chromium): the Builder's model belongs to the browser session and survives a visit
to other pages (the Train page trains it), and the exported Keras code is on screen, copyable,
the same as the download, and rebuilds the model shown. Screenshots at 1400x1000 and 1024x768."""
from __future__ import annotations

import base64

from playwright.sync_api import expect

from playground.cached import analyze_spec
from playground.codegen import source_to_model
from playground.cost import format_count
from playground.editor import spec_to_query
from playground.spec import ArchSpec
from playground.zoo import ZOO

from conftest import (_start_from, T, _board, _idle, _metric, _no_traceback, _open,  # noqa: F401
                      _shot, _whole_page)

SMALL = ArchSpec.from_dict({"name": "small_net", "input_shape": [16, 16, 3], "blocks": [
    {"type": "conv", "name": "conv_1", "params": {"filters": 8}},
    {"type": "max_pool", "name": "pool_1", "params": {}},
    {"type": "conv", "name": "conv_2", "params": {"filters": 16, "batch_norm": True}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}})


def _nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def _field(page, label: str):
    return page.get_by_test_id("stTextInput").filter(has_text=label).locator("input")


def test_model_survives_navigation_and_the_train_page_sees_it(page):
    spec = ZOO.get("resnet20-cifar").spec()
    expected = format_count(analyze_spec(spec).macs)
    _open(page)
    _start_from(page, "resnet20-cifar", expected)
    name = _field(page, "Model name")
    name.fill("my_resnet20")
    name.press("Enter")
    _idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="my_resnet20: +0 MACs")
           ).to_be_visible(timeout=T)  # "name resnet20-cifar -> my_resnet20" (an arrow)
    _shot(page, "b1_builder_resnet20_named")

    _nav(page, "Zoo")
    expect(page.get_by_role("heading", name="Architecture zoo")).to_be_visible(timeout=T)
    _idle(page)
    _nav(page, "Builder")
    expect(page.get_by_role("heading", name="Builder")).to_be_visible(timeout=T)
    _idle(page)
    expect(_metric(page, "MACs")).to_have_text(expected, timeout=T)
    expect(_field(page, "Model name")).to_have_value("my_resnet20")
    expect(_board(page).locator(".block")).to_have_count(len(spec.blocks), timeout=T)
    assert "my_model" not in page.locator("body").inner_text()
    _shot(page, "b2_builder_after_visiting_the_zoo")

    _nav(page, "Train")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=T)
    arch = page.get_by_test_id("stSelectbox").filter(has_text="Architecture").first
    expect(arch.get_by_role("combobox")).to_have_value("The model in the Builder (my_resnet20)",
                                                       timeout=T)
    _idle(page)
    _shot(page, "b3_train_sees_the_builder_model")
    _no_traceback(page)


def test_code_preview_matches_the_model_and_the_download(page):
    _open(page, "/?spec=" + spec_to_query(SMALL))
    expect(_metric(page, "Parameters")).to_have_text(format_count(analyze_spec(SMALL).params),
                                                     timeout=T)
    page.get_by_role("tab", name="Code and export").click()
    code_box = page.get_by_test_id("stCode").filter(has_text="def build_model")
    expect(code_box).to_be_visible(timeout=T)
    _idle(page)
    code = code_box.locator("code").inner_text()
    assert "'small_net'" in code
    assert source_to_model(code).count_params() == analyze_spec(SMALL).params
    # a copy button on the code, and the download holds the same text
    code_box.hover()
    expect(code_box.get_by_role("button")).to_have_count(1)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Keras code").click()
    assert dl.value.suggested_filename == "small_net.py"
    from pathlib import Path
    assert Path(dl.value.path()).read_text(encoding="utf-8").strip() == code.strip()
    for width, height in ((1400, 1000), (1024, 768)):
        _whole_page(page, f"b4_builder_code_{width}x{height}", [(width, height)])

    # an edit: the code follows the model
    form = page.get_by_test_id("stForm").first
    box = form.get_by_test_id("stNumberInput").filter(has_text="filters").locator("input")
    box.fill("12")
    box.press("Tab")  # the form keeps the typed value before the click (not on blur)
    form.get_by_role("button", name="Apply").click()
    edited = SMALL.replace(blocks=(SMALL.blocks[0].__class__(
        "conv", {"filters": 12}, "conv_1"),) + SMALL.blocks[1:])
    expect(_metric(page, "Parameters")).to_have_text(
        format_count(analyze_spec(edited).params), timeout=T)
    expect(code_box.locator("code")).to_contain_text("filters=12", timeout=T)
    _idle(page)
    assert (source_to_model(code_box.locator("code").inner_text()).count_params()
            == analyze_spec(edited).params)
    _no_traceback(page)


def test_graph_is_drawn_and_the_builder_fits_both_screen_sizes(page):
    spec = ZOO.get("resnet18").spec()
    _open(page, "/?spec=" + spec_to_query(spec))
    expect(_metric(page, "MACs")).to_have_text(format_count(analyze_spec(spec).macs), timeout=T)
    panel = page.get_by_role("tabpanel")
    graph = panel.get_by_test_id("stImage").locator("img").or_(
        panel.get_by_test_id("stGraphVizChart").locator("svg"))
    expect(graph.first).to_be_visible(timeout=T)
    src = graph.first.get_attribute("src")
    if src:  # drawn by Graphviz on the server: an SVG image
        svg = base64.b64decode(src.split(",", 1)[1]).decode()
        assert "conv2_block1" in svg and "231.2M MACs" in svg
    else:  # laid out in the browser
        expect(graph.locator("text", has_text="conv2_block1").first).to_be_visible(timeout=T)
    _idle(page)
    for width, height in ((1400, 1000), (1024, 768)):
        _whole_page(page, f"b5_builder_resnet18_{width}x{height}", [(width, height)])
    _no_traceback(page)
