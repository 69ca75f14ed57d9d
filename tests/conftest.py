"""Test-wide environment and shared helpers.

The environment is set before Keras is first imported: Keras' cache and the playground's data
folder live in temporary folders, never in the user's home. Helpers used by more than one test
module live here (import them with ``from conftest import ...``); playground modules are imported
inside them, so importing this file never loads Keras early.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="playground-keras-home-")
os.environ["PLAYGROUND_DATA"] = tempfile.mkdtemp(prefix="playground-data-")

# module -> the global registry it holds (see playground.registry)
REGISTRIES = {"playground.blocks": "BLOCKS", "playground.zoo": "ZOO",
              "playground.cost.handlers": "HANDLERS", "playground.data": "DATASETS",
              "playground.studies.base": "STUDIES"}


@pytest.fixture(autouse=True)
def _registries_restored(monkeypatch):
    """Whatever a test adds to a global registry (a data set, a block...) is gone after it, so
    no test sees another's entries and the suite passes in any order."""
    for module, attr in REGISTRIES.items():
        registry = getattr(sys.modules.get(module), attr, None)
        if registry is not None:
            monkeypatch.setattr(registry, "_items", dict(registry._items))


# --- run store ----------------------------------------------------------------------------


def fake_run(store, name: str, dataset: str = "shapes", macs: float = 1e6,
             accs: tuple[float, ...] = (0.5, 0.8, 0.9), status: str = "FINISHED",
             error: str | None = None, architecture: str = "quick-cnn") -> str:
    """A run as a worker would leave it: params, per-epoch metrics, a terminal status."""
    run_id = store.create_run(name, {"architecture": architecture, "dataset": dataset,
                                     "cost.macs": int(macs), "cost.params": 1000 + int(macs) // 100,
                                     "epochs": len(accs), "batch_size": 32, "data.train": 320,
                                     "kind": "train", "backend": "tensorflow"})
    store.mark_running(run_id)
    best = 0.0
    for epoch, acc in enumerate(accs, start=1):
        best = max(best, acc)
        store.log_metrics(run_id, {"loss": 1.5 - acc, "val_loss": 1.6 - acc, "accuracy": acc,
                                   "val_accuracy": acc, "best_val_accuracy": best,
                                   "epochs_done": epoch, "train_seconds": 0.5 * epoch,
                                   "images_per_s": 1000.0}, epoch)
        store.log_metrics(run_id, {"batch_loss": 1.55 - acc}, epoch * 10 - 5)
    if status == "FINISHED":  # the kept model's accuracy, as finish_artifacts logs it
        store.log_metrics(run_id, {"final_val_accuracy": accs[-1]}, len(accs))
    store.finish(run_id, status, error)
    return run_id


def wait_terminal(store, run_id: str, timeout: float = 180, fail: bool = True):
    """The run once it has ended; past ``timeout`` seconds (a worker imports TensorFlow first:
    allow for a busy 2-core machine) it is cancelled, and the test fails unless ``fail=False``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rec = store.get(run_id)
        if not rec.active:
            return rec
        time.sleep(0.5)
    store.cancel(run_id)
    if fail:
        pytest.fail(f"run {run_id} still {store.get(run_id).status} after {timeout} s:\n"
                    + store.log_tail(run_id, 40))
    return store.get(run_id)


# --- image files ----------------------------------------------------------------------------


def png(img: np.ndarray) -> bytes:
    """``img`` (uint8, H x W or H x W x C) encoded as a PNG file."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def shape_files(classes: int = 2, count: int = 40, size: int = 48) -> dict[str, list]:
    """Generated shapes as PNG files, ``{class: [(name, bytes)]}``."""
    from playground.data.builtin import make_shapes
    ds = make_shapes(classes=classes, image_size=size, count=count, channels=3, seed=3)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    out: dict[str, list] = {}
    for i, (img, label) in enumerate(zip(x, y)):
        out.setdefault(ds.class_names[label], []).append((f"{ds.class_names[label]}_{i}.png",
                                                          png(img)))
    return out


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding ``{name: data}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


# --- browser end-to-end harness: the app served by `streamlit run`, driven by Playwright ------

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 90
T = 60_000  # ms: generous bound for one rerun on a slow 2-core machine (model builds included)


@functools.cache
def shots_dir() -> Path:
    """Where the browser tests save screenshots: $E2E_SHOTS, else a new temporary folder."""
    return Path(os.environ.get("E2E_SHOTS") or tempfile.mkdtemp(prefix="playground-e2e-shots-"))


def app_env(tmp_path_factory) -> dict[str, str]:
    """The served app's environment: data folder and Keras cache in new temporary folders."""
    return {**os.environ,
            "PLAYGROUND_DATA": str(tmp_path_factory.mktemp("e2e-data")),
            "KERAS_HOME": str(tmp_path_factory.mktemp("e2e-keras-home")),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


@contextlib.contextmanager
def serve_app(env: dict[str, str], log: Path):
    """`streamlit run app.py` on a free port (:func:`playground.app_server.served`); yields its
    URL, stops it (and any training worker it left running) afterwards."""
    def cancel_runs() -> None:  # training workers run in sessions of their own
        subprocess.run([sys.executable, "-c", "from playground.store import RunStore\n"
                        "s = RunStore()\n[s.cancel(r.run_id) for r in s.list_runs() if r.active]"],
                       cwd=ROOT, env=env, timeout=60, check=False)
    from playground.app_server import served
    with contextlib.ExitStack() as stack:
        try:
            url, _ = stack.enter_context(served(env, log, timeout=START_TIMEOUT_S,
                                                before_stop=cancel_runs))
        except RuntimeError as e:
            pytest.fail(f"{e}:\n{log.read_text()[-3000:]}")
        yield url


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app served for this test module, with its own data folder."""
    with serve_app(app_env(tmp_path_factory), tmp_path_factory.mktemp("e2e-log") / "st.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: the browser end-to-end tests need Debian's chromium "
                    "package. scripts/test.sh installs it (apt-get install chromium, run as root); "
                    "or run `apt-get install chromium` yourself.")
    from playwright.sync_api import sync_playwright
    shots_dir().mkdir(parents=True, exist_ok=True)
    print(f"\n[e2e] screenshots in {shots_dir()}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser context (a new Streamlit session) on the served app."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})  # empty profile
    pg = context.new_page()
    pg.set_default_timeout(T)
    pg.app_url = app_url
    yield pg
    context.close()


def _metric(page, label: str):
    """The value of the ``st.metric`` labelled ``label``."""
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel")
                                                   .get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def _board(page):
    """The Builder's palette + model list (a custom component in its own iframe)."""
    return page.frame_locator("iframe[title*='block_board']").first


def _number(page, label: str, value: int) -> None:
    """Type ``value`` into the number input labelled ``label`` and wait for the rerun."""
    box = page.get_by_test_id("stNumberInput").filter(
        has=page.get_by_text(label, exact=True)).locator("input")
    box.fill(str(value))
    box.press("Enter")
    _idle(page)


def _start_from(page, entry: str, macs: str):
    """On the Builder: pick zoo ``entry`` in "Start from", Load it and wait until the MACs
    metric reads ``macs``; returns the "Start from" select box."""
    from playwright.sync_api import expect
    box = page.get_by_test_id("stSelectbox").filter(has_text="Start from")
    box.click()
    page.keyboard.type(entry)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Load", exact=True).click()
    expect(_metric(page, "MACs")).to_have_text(macs, timeout=T)
    _idle(page)
    return box


def _whole_page(page, name: str, sizes=None) -> None:
    """Whole-page screenshots: at each (width, height) of ``sizes`` (default: the viewport's),
    the viewport grown to the main panel's height (Streamlit scrolls inside it), named with a
    ``_WxH`` suffix when there are several sizes; the viewport is set back afterwards."""
    start = dict(page.viewport_size)
    sizes = list(sizes or [(start["width"], start["height"])])
    for w, h in sizes:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(800)
        full = page.evaluate("() => { const m = document.querySelector('[data-testid=stMain]');"
                             " return m.getBoundingClientRect().top + m.scrollHeight; }")
        page.set_viewport_size({"width": w, "height": max(h, int(full) + 40)})
        page.wait_for_timeout(1200)
        _shot(page, f"{name}_{w}x{h}" if len(sizes) > 1 else name)
    page.set_viewport_size(start)
    page.wait_for_timeout(500)


def _shot(page, name: str, focus=None) -> None:
    """Full-page screenshot; Streamlit scrolls inside its main block, so scroll `focus` (a locator)
    into view first to get the part of the page the step is about."""
    if focus is not None:
        focus.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    path = shots_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"[e2e] {path}")


def _idle(page) -> None:
    """Wait until Streamlit has finished the current run (no "Running..." status widget)."""
    from playwright.sync_api import expect
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=T)


def _open(page, path: str = "/") -> None:
    """Go to ``path`` of the served app and wait for its first run to end."""
    from playwright.sync_api import expect
    page.goto(page.app_url + path)
    expect(page.get_by_test_id("stApp")).to_be_visible(timeout=T)
    expect(page.locator("h1").first).to_be_visible(timeout=T)
    _idle(page)


def _no_traceback(page) -> None:
    """No Streamlit exception box and no Python traceback on the page."""
    from playwright.sync_api import expect
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "Traceback" not in page.locator("body").inner_text()
