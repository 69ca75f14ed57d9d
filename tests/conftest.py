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
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(tmp_path_factory) -> dict[str, str]:
    """The served app's environment: data folder and Keras cache in new temporary folders."""
    return {**os.environ,
            "PLAYGROUND_DATA": str(tmp_path_factory.mktemp("e2e-data")),
            "KERAS_HOME": str(tmp_path_factory.mktemp("e2e-keras-home")),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


@contextlib.contextmanager
def serve_app(env: dict[str, str], log: Path):
    """`streamlit run app.py` on a free port (no file watcher: a test server must not react to
    other files of the checkout changing); yields its URL, stops it (and any training worker it
    left running) afterwards."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer /_stcore/health within {START_TIMEOUT_S} s:"
                            f"\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        # training workers run in sessions of their own: stop any a failed test left behind
        subprocess.run([sys.executable, "-c", "from playground.store import RunStore\n"
                        "s = RunStore()\n[s.cancel(r.run_id) for r in s.list_runs() if r.active]"],
                       cwd=ROOT, env=env, timeout=60, check=False)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
