"""Serve the Streamlit app in a subprocess on a free port, wait for its health check, and stop
it cleanly: one place for the browser tests, the screenshot script and the UI benchmarks."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
# `streamlit run app.py` as scripts/run-app.sh runs it after installing (its exec line), less
# the port. No file watcher: a served app must not react to other files of the checkout changing.
APP_ARGS = ("-m", "streamlit", "run", "app.py", "--server.fileWatcherType", "none")
LOCAL_ARGS = ("--server.address", "127.0.0.1", "--server.headless", "true")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    """Block until the server at ``url`` answers ``/_stcore/health`` with ok; RuntimeError when
    ``proc`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer its health check within {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def served(env: dict[str, str], log: Path, command: Sequence[str] | None = None,
           extra: Sequence[str] = LOCAL_ARGS, timeout: float = 120,
           before_stop: Callable[[], None] | None = None
           ) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``command`` (default: ``python`` + :data:`APP_ARGS`) + ``extra`` + a free port from
    the checkout's root, output to ``log``; yield (url, process) once healthy; afterwards call
    ``before_stop`` (e.g. cancel runs the app left going) and stop the server."""
    port = free_port()
    args = [*(command or (sys.executable, *APP_ARGS)), *extra, "--server.port", str(port)]
    with open(log, "ab") as out:  # the child keeps its own handle
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url, proc
    finally:
        try:
            if before_stop is not None:
                before_stop()
        finally:
            stop(proc)
