"""Whole-page screenshots of every page of the app, at several window sizes, for a person to look at.

Streamlit scrolls inside its main panel, so a plain full-page screenshot shows one window's worth:
for each shot the viewport is enlarged to the height of the page's content (measured, then
measured again after the page re-laid itself out) before the picture is taken.

By default it serves the app itself, the way ``scripts/run-app.sh`` does (``streamlit run app.py
--server.fileWatcherType none``), on a free port with a new data folder in which it first trains
one tiny run (``python -m playground train lenet5 --epochs 2``) so the Leaderboard, Train and
Transfer pages have a finished run to show. ``--url`` uses a server that is already running.

    .venv/bin/python bench/screenshots.py SHOTS_DIR [--sizes 1400x1000,1024x768] [--only zoo,runs]
        [--url http://127.0.0.1:8501] [--data DIR] [--no-run]

Writes ``SHOTS_DIR/<shot>-<width>x<height>.png`` and prints one line per picture (its path, the
page height it was taken at, and whether the page showed an exception).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playground.app_server import served  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
T_MS = 120_000  # one page run on a busy 2-core machine (model builds included)
MAX_HEIGHT = 12_000  # px: a taller page is cut here (Chromium's limit is far above)

# The height of the content of Streamlit's scrolling main panel (plus the space above it).
PAGE_HEIGHT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]')
            || document.querySelector('[data-testid="stAppViewContainer"]');
  if (!main) return document.documentElement.scrollHeight;
  return Math.ceil(main.getBoundingClientRect().top + main.scrollHeight);
}"""


def app_env(data: Path) -> dict[str, str]:
    """The served app's environment: its own data folder and Keras cache."""
    keras_home = data / "keras-home"
    keras_home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "PLAYGROUND_DATA": str(data), "KERAS_HOME": str(keras_home),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}


def train_tiny_run(env: dict[str, str], name: str = "lenet5-shapes") -> None:
    """One finished three-epoch LeNet-5 run on the default data in the data folder of ``env``
    (a real worker, ~15 s)."""
    subprocess.run([sys.executable, "-m", "playground", "train", "lenet5", "--epochs", "3",
                    "--name", name], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def wait_idle(page) -> None:
    """Until Streamlit has finished the current run: no "Running..." status widget and no
    placeholder skeleton, twice in a row a second apart (a page may switch and run again)."""
    deadline = time.monotonic() + T_MS / 1000
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        busy = (page.get_by_test_id("stStatusWidget").count()
                + page.get_by_test_id("stSkeleton").count())
        quiet = 0 if busy else quiet + 1


def open_page(page, url: str) -> None:
    """Go to ``url`` and wait for the page's first run to end."""
    page.goto(url)
    page.get_by_test_id("stApp").wait_for(timeout=T_MS)
    page.locator("h1").first.wait_for(timeout=T_MS)
    wait_idle(page)
    page.wait_for_timeout(600)  # charts and data grids draw after the run ends


def whole_page(page, width: int, height: int) -> int:
    """Enlarge the viewport to the page's content height (until it stops growing); returns it."""
    tall = height
    for _ in range(4):
        need = min(MAX_HEIGHT, max(height, page.evaluate(PAGE_HEIGHT_JS)))
        if need <= tall and tall != height:
            break
        if need == tall:
            break
        tall = need
        page.set_viewport_size({"width": width, "height": tall})
        page.wait_for_timeout(700)
    return tall


def _click(key: str) -> Callable:
    """An action that clicks the button with Streamlit key ``key`` and waits for the rerun."""
    def act(page) -> None:
        page.locator(f".st-key-{key} button").first.click()
        wait_idle(page)
        page.wait_for_timeout(600)
    return act


def _tab(label: str) -> Callable:
    def act(page) -> None:
        page.get_by_role("tab", name=label).first.click()
        wait_idle(page)
        page.wait_for_timeout(600)
    return act


def shots() -> list[tuple[str, str, Callable | None]]:
    """(name, path and query, action before the picture) of every page and a few of its states."""
    from playground.editor import spec_to_query
    from playground.zoo import ZOO
    query = spec_to_query(ZOO.get("resnet20-cifar").spec())
    return [
        ("home", "/", None),
        ("builder-resnet20", f"/?spec={query}", None),
        ("builder-charts", f"/?spec={query}", _tab("Charts")),
        ("zoo", "/zoo", None),
        ("compare", "/compare", None),
        ("compare-vgg-head", "/compare", _click("lecture_vgg-head")),
        ("compare-separable", "/compare", _click("lecture_separable")),
        ("cost", "/cost", None),
        ("train", "/train", None),
        ("runs", "/runs", None),
        ("transfer", "/transfer", None),
        ("studies", "/studies", None),
        ("studies-separable", "/studies?study=separable", None),
    ]


def take(url: str, out: Path, sizes: list[tuple[int, int]], only: set[str] | None) -> int:
    """Every shot at every size into ``out``; returns how many pages showed an exception."""
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    bad = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for name, path, action in shots():
            if only and name not in only:
                continue
            for w, h in sizes:
                context = browser.new_context(viewport={"width": w, "height": h})
                page = context.new_page()
                page.set_default_timeout(T_MS)
                open_page(page, url + path)
                if action is not None:
                    action(page)
                page.mouse.move(w - 5, 5)  # no tooltip left over from a click
                tall = whole_page(page, w, h)
                wait_idle(page)
                file = out / f"{name}-{w}x{h}.png"
                page.screenshot(path=str(file), full_page=True)
                errors = page.get_by_test_id("stException").count()
                bad += bool(errors)
                print(f"{file}  height {tall}px" + (f"  EXCEPTION x{errors}" if errors else ""),
                      flush=True)
                context.close()
        browser.close()
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder for the PNG files")
    ap.add_argument("--sizes", default="1400x1000,1024x768", help="WxH,WxH,...")
    ap.add_argument("--only", default="", help="comma-separated shot names (default: all)")
    ap.add_argument("--url", help="a running app (default: serve one)")
    ap.add_argument("--data", type=Path, help="data folder of the served app (default: new)")
    ap.add_argument("--no-run", action="store_true", help="do not train the tiny run first")
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    if args.url:
        return 1 if take(args.url.rstrip("/"), args.out, sizes, only) else 0
    data = args.data or Path(tempfile.mkdtemp(prefix="playground-shots-data-"))
    env = app_env(data)
    if not args.no_run:
        print("training one tiny run for the Leaderboard/Train pages...", flush=True)
        train_tiny_run(env)
    with served(env, args.out.parent / f"{args.out.name}-streamlit.log", extra=()) as (url, _):
        return 1 if take(url, args.out, sizes, only) else 0


if __name__ == "__main__":
    sys.exit(main())
