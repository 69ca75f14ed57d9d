"""Benchmark: what the user waits for in the Builder, measured in Chromium.

The app is served by ``streamlit run app.py`` (no file watcher) and driven by Playwright in
Debian's Chromium at 1400x1000. Each figure is the time from the user's gesture to the moment the
"MACs" total on screen shows the new model's value, both taken in the browser (a capture
listener stamps the gesture's ``pointerup``, a MutationObserver stamps the totals' change; both
on the wall clock ``performance.timeOrigin + performance.now()``, so a gesture inside the block
board's iframe and the totals in the page are on one clock):

1. **Apply**: the first block's ``filters`` is typed into the parameter form and "Apply" is
   clicked; edits alternate between two values (the first two are new specs, the rest cached).
2. **Click-add**: a click on a palette block (the block board appends it).
3. **Drop**: a palette block dragged into the model list (pointer moves, release over the list).
4. **First load**: a fresh server's first page load (the empty Builder at ``/``), from
   ``goto`` to its totals and palette on screen (cold imports); then a new tab opening the
   model's share link (the first model build), from ``goto`` to its blocks and totals.

Prints each sample and the medians; exits 0 when the Apply and add/drop medians are under
``--limit`` seconds (default 0.5). The machine may be shared: figures are noisy, read medians.

    .venv/bin/python bench/bench_ui_latency.py [--repeats 7] [--limit 0.5] [--shots DIR]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playground.app_server import served  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
T = 120_000  # ms

# A small CIFAR-size model, opened from a share link: conv stem, two residual stages, a head.
MODEL = {"name": "bench_net", "input_shape": [32, 32, 3], "blocks": [
    {"type": "conv", "name": "stem", "params": {"filters": 32, "batch_norm": True}},
    {"type": "resnet_basic", "params": {"filters": 32}},
    {"type": "max_pool", "params": {}},
    {"type": "resnet_basic", "params": {"filters": 64}},
    {"type": "conv", "params": {"filters": 64}},
    {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 128}},
], "head": {"type": "gap_head", "params": {"classes": 10}}}

# Installed in the page: stamps the next gesture's pointerup (in the page and in the board's
# iframe) and the moment the MACs metric's text differs from what it was when armed.
ARM_JS = r"""
() => {
  const now = () => performance.timeOrigin + performance.now();
  const metric = () => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      const l = m.querySelector('[data-testid="stMetricLabel"]');
      if (l && l.textContent.trim() === 'MACs')
        return m.querySelector('[data-testid="stMetricValue"]');
    }
    return null;
  };
  const before = (metric() || {}).textContent;
  const st = window.__lat = {start: null, end: null, before: before, after: null};
  const stamp = () => { if (st.start === null) st.start = now(); };
  const docs = [document];
  for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentDocument) docs.push(f.contentDocument); } catch (e) {}
  }
  for (const d of docs) d.addEventListener('pointerup', stamp, {capture: true, once: true});
  const check = () => {
    const m = metric();
    if (st.start !== null && st.end === null && m && m.textContent !== st.before) {
      st.end = now(); st.after = m.textContent; obs.disconnect();
    }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  return before;
}
"""


def serve(log: Path) -> tuple[Any, str, float]:
    """The app on a free port (own data folder); (server context, URL, seconds until healthy)."""
    env = {**os.environ, "PLAYGROUND_DATA": tempfile.mkdtemp(prefix="bench-lat-data-"),
           "KERAS_HOME": tempfile.mkdtemp(prefix="bench-lat-keras-"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    t0 = time.perf_counter()
    server = served(env, log)
    url, _ = server.__enter__()
    return server, url, time.perf_counter() - t0


def _idle(page) -> None:
    from playwright.sync_api import expect
    page.wait_for_timeout(250)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=T)


def _metric(page, label: str):
    return (page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel")
                                                   .get_by_text(label, exact=True))
            .get_by_test_id("stMetricValue"))


def _measure(page, act) -> tuple[float, str]:
    """Arm the stamps, run ``act()`` (one gesture), wait for the totals to change; (seconds,
    the MACs text shown)."""
    page.evaluate(ARM_JS)
    act()
    page.wait_for_function("() => window.__lat && window.__lat.end !== null", timeout=T)
    lat = page.evaluate("() => window.__lat")
    _idle(page)
    return (lat["end"] - lat["start"]) / 1e3, lat["after"]


def _board(page):
    return page.frame_locator("iframe[title*='block_board']").first


def bench_apply(page, repeats: int, spec) -> list[float]:
    from playground.cached import analyze_spec
    from playground.cost import format_count
    from playground.editor import EditSession
    form = page.get_by_test_id("stForm").first
    field = form.get_by_test_id("stNumberInput").filter(has_text="filters").locator("input")
    apply = form.get_by_role("button", name="Apply")
    out = []
    for k in range(repeats):
        value = 48 if k % 2 == 0 else 32
        want = format_count(analyze_spec(EditSession.start(spec).update_params(
            0, filters=value).spec).macs)
        field.fill(str(value))
        dt, shown = _measure(page, lambda: apply.click())
        ok = "" if shown == want else f"  (shows {shown}, expected {want})"
        print(f"  apply filters={value}: {dt * 1e3:7.0f} ms{ok}", flush=True)
        out.append(dt)
    return out


def bench_add(page, repeats: int, drag: bool) -> list[float]:
    frame = _board(page)
    chip = frame.locator(".chip").get_by_text("Conv", exact=True).first
    out = []
    for k in range(repeats):
        n = frame.locator(".block").count()
        if drag:
            def act() -> None:
                dst = frame.locator("#model").bounding_box()
                sb = chip.bounding_box()
                x0, y0 = sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2
                x, y = dst["x"] + 60, dst["y"] + dst["height"] - 8
                page.mouse.move(x0, y0)
                page.mouse.down()
                for i in range(1, 11):
                    page.mouse.move(x0 + (x - x0) * i / 10, y0 + (y - y0) * i / 10)
                page.mouse.up()
        else:
            def act() -> None:
                chip.click()
        dt, _ = _measure(page, act)
        frame.locator(".block").nth(n).wait_for(timeout=T)
        print(f"  {'drop' if drag else 'click-add'} Conv (block {n + 1}): {dt * 1e3:7.0f} ms",
              flush=True)
        out.append(dt)
        # back to the model as it was (Undo), so every sample adds to the same model
        page.get_by_role("button", name="Undo").click()
        _idle(page)
    return out


def first_load(browser, url: str, link: str | None) -> float:
    """Seconds from ``goto`` to the Builder shown and usable: its totals and block board (the
    palette; with ``link``, the model's blocks and totals) on screen."""
    from playwright.sync_api import expect
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/?spec={link}" if link else url)
    if link:
        expect(_metric(page, "MACs")).not_to_have_text("0", timeout=T)
        expect(_board(page).locator(".block").first).to_be_visible(timeout=T)
    else:
        expect(_metric(page, "MACs")).to_have_text("0", timeout=T)
        expect(_board(page).locator(".chip").first).to_be_visible(timeout=T)
    dt = time.perf_counter() - t0
    _idle(page)
    ctx.close()
    return dt


def fmt(xs: list[float]) -> str:
    return (f"median {statistics.median(xs) * 1e3:6.0f} ms  (min {min(xs) * 1e3:.0f}, "
            f"max {max(xs) * 1e3:.0f}, n={len(xs)})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--limit", type=float, default=0.5)
    ap.add_argument("--zoo", default=None, help="open this zoo architecture instead of the "
                    "small CIFAR model (its first block must have 'filters')")
    ap.add_argument("--first-loads", type=int, default=1,
                    help="fresh servers whose first (empty) Builder load is timed")
    ap.add_argument("--loads-only", action="store_true", help="time first loads only")
    ap.add_argument("--shots", default=None, help="save a screenshot of the page here")
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    from playground.editor import spec_to_query
    from playground.spec import ArchSpec
    from playground.zoo import ZOO
    spec = ZOO.get(args.zoo).spec() if args.zoo else ArchSpec.from_dict(MODEL)
    print(f"model: {spec.name}, {len(spec.blocks)} blocks, input {spec.input_shape}")
    link = spec_to_query(spec)
    log = Path(tempfile.mkdtemp(prefix="bench-lat-log-")) / "streamlit.log"
    firsts: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        for k in range(args.first_loads):
            server, url, t_start = serve(log)
            try:
                firsts.append(first_load(browser, url, None))
                print(f"  fresh server {k + 1}: healthy after {t_start:.1f} s, first Builder "
                      f"load {firsts[-1]:.1f} s", flush=True)
                if args.loads_only or k < args.first_loads - 1:
                    continue
                t_link = first_load(browser, url, link)
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                page.set_default_timeout(T)
                page.goto(f"{url}/?spec={link}")
                expect(_metric(page, "MACs")).not_to_have_text("0", timeout=T)
                _idle(page)
                print("Apply (filters of the first block, in the parameter form):", flush=True)
                apply = bench_apply(page, args.repeats, spec)
                print("click-add of a palette block:", flush=True)
                click = bench_add(page, args.repeats, drag=False)
                print("drop of a palette block (dragged into the model):", flush=True)
                drop = bench_add(page, args.repeats, drag=True)
                if args.shots:
                    Path(args.shots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(args.shots) / "bench_builder.png"))
            finally:
                server.__exit__(None, None, None)
        browser.close()
    print("first Builder load (fresh server, empty model, goto -> totals and palette shown): "
          + fmt(firsts))
    if args.loads_only:
        return 0
    print(f"then a new tab opening the model's share link (first model build): {t_link:.1f} s")
    print(f"Apply edit -> updated totals:      {fmt(apply)}")
    print(f"click-add -> updated totals:       {fmt(click)}")
    print(f"drop -> updated totals:            {fmt(drop)}")
    meds = {"apply": statistics.median(apply), "click-add": statistics.median(click),
            "drop": statistics.median(drop)}
    ok = all(v < args.limit for v in meds.values())
    print(f"verdict (medians under {args.limit * 1e3:.0f} ms; machine may be shared, figures "
          f"noisy): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
