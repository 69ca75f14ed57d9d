"""End-to-end: the Transfer-learning page of the real app (``streamlit run app.py``) in Debian's
Chromium. Create two classes, drop generated images (and one bad file) into each, use them; look
at MobileNetV2's cost at 32x32, then pick as the backbone a small CNN trained beforehand in the
app's own data folder (by the CLI: real transfer, in seconds on a CPU); train, see the confusion
matrix and click a cell, then classify a new image and see its top-k list and heat map.
Full-page screenshots of each step go to $E2E_SHOTS."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from playground.data.builtin import make_shapes

from conftest import (ROOT, T, _idle, _no_traceback, _open, _shot,  # noqa: F401
                      _whole_page, app_env as make_app_env, serve_app)

RUN_T = 150_000  # ms: worker start (TensorFlow import), MobileNetV2 at 32x32, saving the model


SOURCE = {"name": "shapes-cnn", "input_shape": [32, 32, 1], "blocks": [
    {"type": "conv", "params": {"filters": 16}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}],
    "head": {"type": "gap_head", "params": {"classes": 6}}}


@pytest.fixture(scope="module")
def app_env(tmp_path_factory) -> dict[str, str]:
    return make_app_env(tmp_path_factory)


@pytest.fixture(scope="module")
def source_run(app_env, tmp_path_factory) -> str:
    """A small CNN trained on six kinds of shapes by the CLI, in the served app's data folder:
    a finished run the page offers as a backbone."""
    spec = tmp_path_factory.mktemp("e2e-transfer-spec") / "shapes-cnn.json"
    spec.write_text(json.dumps(SOURCE))
    out = subprocess.run(
        [sys.executable, "-m", "playground", "train", str(spec), "--dataset", "shapes",
         "--data-option", "classes=6", "--data-option", "count=900", "--epochs", "8",
         "--lr", "0.003", "--name", "shapes CNN", "--json"],
        cwd=ROOT, env=app_env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    result = json.loads(out.stdout[out.stdout.index("{"):])
    assert result["status"] == "FINISHED", result
    return result["run_id"]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, app_env):
    with serve_app(app_env, tmp_path_factory.mktemp("e2e-transfer-log") / "st.log") as url:
        yield url


@pytest.fixture
def images(tmp_path) -> dict[str, list[Path]]:
    """Generated circles and squares as PNG files, per class, plus one new image to classify."""
    from PIL import Image
    ds = make_shapes(classes=2, image_size=48, count=80, channels=3, seed=5)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    out: dict[str, list[Path]] = {}
    for i, (img, label) in enumerate(zip(x, y)):
        cls = ds.class_names[label]
        path = tmp_path / cls / f"{cls}_{i:03d}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(img).save(path)
        out.setdefault(cls, []).append(path)
    new = make_shapes(classes=2, image_size=48, count=4, channels=3, seed=99)
    query = tmp_path / "new_shape.png"
    Image.fromarray(new.x_train[0]).save(query)
    out["query"] = [query]
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    out["bad"] = [bad]
    return out


def _card(page, cls: str):
    return page.locator(f".st-key-tl_card_{hashlib.sha1(cls.encode()).hexdigest()[:10]}")


def test_transfer_two_classes_train_confusion_and_prediction(source_run, page, images):
    t0 = time.monotonic()
    _open(page)  # the router first, then its navigation, as a person does
    page.get_by_test_id("stSidebarNav").get_by_text("Transfer learning", exact=True).click()
    expect(page.get_by_role("heading", name="Transfer learning")).to_be_visible(timeout=T)
    assert page.url.endswith("/transfer")
    expect(page.get_by_role("heading", name="4 · Results")).to_be_attached(timeout=T)
    _idle(page)
    _shot(page, "7a_transfer_empty")

    # 1. two classes by name, images dropped into each (one bad file among them)
    for cls in ("circle", "square"):
        page.get_by_label("New class").fill(cls)
        page.get_by_role("button", name="Add class").click()
        expect(_card(page, cls)).to_be_visible(timeout=T)
        _idle(page)
    _card(page, "circle").locator("input[type=file]").set_input_files(
        [str(p) for p in images["circle"] + images["bad"]])
    expect(_card(page, "circle")).to_contain_text(f"circle · {len(images['circle'])} images",
                                                  timeout=T)
    _idle(page)
    _card(page, "square").locator("input[type=file]").set_input_files(
        [str(p) for p in images["square"]])
    expect(_card(page, "square")).to_contain_text(f"square · {len(images['square'])} images",
                                                  timeout=T)
    _idle(page)
    expect(_card(page, "circle").get_by_test_id("stImage")).to_have_count(1)
    warn = _card(page, "circle").get_by_test_id("stAlertContentWarning")
    expect(warn).to_contain_text("1 file(s) in 'circle' cannot be used")
    _card(page, "circle").get_by_test_id("stExpander").locator("summary").click()
    expect(_card(page, "circle").get_by_test_id("stDataFrame")).to_be_visible(timeout=T)
    _idle(page)
    _whole_page(page, "7b_transfer_classes")

    # 2. the backbone: MobileNetV2's cost at 32x32, then the CNN trained in the app
    page.get_by_text("Random initialisation", exact=True).click()
    _idle(page)
    size = page.get_by_test_id("stSlider").filter(has_text="Image size")
    size.get_by_role("slider").focus()
    page.keyboard.press("Home")
    expect(size.get_by_role("slider")).to_have_attribute("aria-valuetext", "32", timeout=T)
    _idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="MACs at 32×32")).to_be_visible()
    box = page.get_by_test_id("stSelectbox").filter(has_text="Pretrained model")
    box.click()
    page.keyboard.type("Your run")
    page.keyboard.press("Enter")
    expect(box.get_by_role("combobox")).to_have_value(
        re.compile(rf"^Your run: shapes CNN \({source_run[:8]}, \d+%\)$"), timeout=T)
    expect(page.get_by_test_id("stMetric").filter(has_text="Input")).to_contain_text(
        "32×32×3", timeout=T)
    _idle(page)
    epochs = page.get_by_test_id("stNumberInput").filter(
        has=page.get_by_text("Epochs", exact=True)).locator("input")
    epochs.fill("40")
    epochs.press("Enter")
    _idle(page)

    # use the images (stored at the working size), then train
    page.get_by_role("button", name="Use these images").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Saved the image set")
           ).to_be_visible(timeout=T)
    _idle(page)
    _whole_page(page, "7c_transfer_images_used")
    page.get_by_role("button", name="Train", exact=True).click()
    done = page.get_by_test_id("stAlertContentSuccess").filter(has_text="finished")
    live = page.locator("[class*='st-key-tl_live_']")
    deadline, shot = time.monotonic() + RUN_T / 1000, False
    while time.monotonic() < deadline and done.count() == 0:  # the live view, once training
        if not shot and live.count() and "Epoch" in (live.first.inner_text() or ""):
            _whole_page(page, "7d_transfer_training")
            shot = True
        page.wait_for_timeout(250)
    expect(done).to_be_visible(timeout=RUN_T)
    _idle(page)

    # 4. results: curves, per-class accuracy, the confusion matrix; a click on a cell
    matrix = page.get_by_test_id("stPlotlyChart").filter(has_text="Confusion matrix")
    expect(matrix).to_be_visible(timeout=T)
    expect(page.get_by_test_id("stPlotlyChart").filter(has_text="Accuracy per class")
           ).to_be_visible()
    _whole_page(page, "7e_transfer_results")
    points = matrix.locator(".scatterlayer .point")
    expect(points).to_have_count(4, timeout=T)
    points.nth(1).click(force=True)  # true circle, predicted square
    picked = page.get_by_test_id("stSelectbox").filter(has_text="Predicted class")
    expect(picked.get_by_role("combobox")).to_have_value("square", timeout=T)
    expect(page.get_by_test_id("stMarkdown").filter(has_text="predicted as square")
           .filter(has_text="of circle").first).to_be_visible(timeout=T)
    _idle(page)
    _whole_page(page, "7f_transfer_cell_clicked")

    # predict on a new image: top-k list and the heat map beside it
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Images to classify")
    uploader.locator("input[type=file]").set_input_files(str(images["query"][0]))
    heat = page.get_by_test_id("stImage").filter(has_text="Grad-CAM")
    expect(heat).to_be_visible(timeout=T)
    bars = page.get_by_test_id("stProgress").filter(has_text="%")
    expect(bars).to_have_count(2, timeout=T)  # two classes: top-2
    _idle(page)
    expect(page.get_by_test_id("stDownloadButton")).to_have_count(2)
    _whole_page(page, "7g_transfer_prediction")
    _no_traceback(page)
    print(f"[e2e] transfer test body took {time.monotonic() - t0:.0f} s")
