"""Benchmark: the CPU the idle app server uses, with nothing and with a browser tab open.

Serves the app the way ``scripts/run-app.sh`` does (``streamlit run app.py
--server.fileWatcherType none``; with ``--script`` it runs that script itself, which installs into
the checkout's ``.venv`` first), in a new data folder where it first trains one tiny run, so the
Leaderboard and Train pages show a finished run. Then, for no tab and for each page in turn (a
fresh headless Chromium tab left open on it after its first run ends and a short settling time),
it samples the server process's CPU time (user + system, all threads, from /proc) over
``--seconds`` and prints it as a percentage of one core. Live-run fragments poll only while a
run is active: the pages here have none, so any steady CPU use is a defect.

Prints one line per page and a verdict; exits 0 when every page stays under ``--limit`` (5%).

    .venv/bin/python bench/bench_idle.py [--seconds 30] [--limit 5] [--pages /,/runs,/train]
        [--data DIR] [--no-run] [--script] [--watcher none|auto|watchdog|poll]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshots import (CHROMIUM, CHROMIUM_ARGS, app_env, open_page,  # noqa: E402
                         train_tiny_run)

from playground.app_server import served  # noqa: E402

PAGES = ("/", "/runs", "/train", "/transfer", "/zoo", "/compare", "/cost")
SETTLE_S = 5.0  # after the page's first run: charts draw, the websocket goes quiet
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15


def cpu_percent(pid: int, seconds: float) -> float:
    """The share of one core ``pid`` used over the next ``seconds`` of wall time."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def settle(pid: int, limit: float = 5.0, timeout: float = 90.0) -> None:
    """Wait until one second of ``pid``'s CPU is under ``limit`` % (the page's run, the charts
    and the Builder's background Keras import done; on a busy machine that takes longer), for
    at most ``timeout`` s. A server that never settles is measured anyway, and fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and cpu_percent(pid, 1.0) >= limit:
        pass


def idle_with_tab(browser, url: str, pid: int, seconds: float) -> float:
    """CPU % of the server over ``seconds`` while a fresh tab sits on ``url``, once the page's
    own work is done (:func:`settle`)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(180_000)
    try:
        open_page(page, url)
        time.sleep(SETTLE_S)
        settle(pid)
        return cpu_percent(pid, seconds)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="sampling window per page")
    ap.add_argument("--limit", type=float, default=5.0, help="pass: every page under this %%")
    ap.add_argument("--pages", default="/,/runs,/train", help=f"comma-separated, of {PAGES}")
    ap.add_argument("--data", type=Path, help="data folder of the served app (default: new)")
    ap.add_argument("--no-run", action="store_true", help="do not train the tiny run first")
    ap.add_argument("--script", action="store_true", help="serve with scripts/run-app.sh")
    ap.add_argument("--watcher", choices=("none", "auto", "watchdog", "poll"), default="none",
                    help="file watcher (none: as run-app.sh; auto: as PLAYGROUND_DEV=1 does)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    data = args.data or Path(tempfile.mkdtemp(prefix="playground-idle-data-"))
    env = app_env(data)
    if not args.no_run:
        print("training one tiny run (for the Leaderboard and Train pages)...", flush=True)
        train_tiny_run(env)
    log = data / "streamlit.log"
    results: dict[str, float] = {}
    # --script: scripts/run-app.sh itself (it execs streamlit: same pid; a first run installs)
    server = (served(env, log, command=("bash", "scripts/run-app.sh"), extra=(), timeout=1800)
              if args.script else
              served(env, log, extra=("--server.fileWatcherType", args.watcher)))
    with server as (url, proc):
        time.sleep(SETTLE_S)
        results["no tab"] = cpu_percent(proc.pid, args.seconds)
        print(f"{'no tab':>10}: {results['no tab']:5.2f}% of one core over {args.seconds:.0f} s",
              flush=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                        headless=True)
            for path in [s.strip() for s in args.pages.split(",") if s.strip()]:
                results[path] = idle_with_tab(browser, url + path, proc.pid, args.seconds)
                print(f"{path:>10}: {results[path]:5.2f}% of one core over {args.seconds:.0f} s "
                      "(tab open)", flush=True)
            browser.close()
    worst = max(results, key=results.get)
    ok = results[worst] < args.limit
    print(f"VERDICT: {'PASS' if ok else 'FAIL'} (worst {worst}: {results[worst]:.2f}% vs "
          f"limit {args.limit:g}%; server log {log})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
