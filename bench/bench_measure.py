"""Benchmark: how far multiply-adds are from predicting time on this machine.

Measures the inference latency (median and p90 over repeats after warm-up, compiled the
backend's way: ``playground.measure.latency``) of a set of zoo entries at batch 1, prints MACs,
ms and ms per GMAC per entry, the spread of ms per GMAC across them, this machine's roofline
beside NumPy's figures, and writes the MACs-vs-measured-time chart (HTML; ``--png`` also
renders it with Chromium when Playwright is installed).

    .venv/bin/python bench/bench_measure.py [--only lenet5,vgg16] [--batch 1] [--repeats 10]
                                            [--out DIR] [--png]

Timings depend on what else the machine is doing: run it on a quiet machine, and compare
figures from one run only.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground._env import import_keras_quietly  # noqa: E402

import_keras_quietly()

import keras  # noqa: E402

from playground.cost.formulas import format_count  # noqa: E402
from playground.measure.charts import macs_time_figure  # noqa: E402
from playground.measure.latency import time_inference  # noqa: E402
from playground.measure.machine import machine_info, visible_device  # noqa: E402
from playground.measure.roofline import machine_roofline  # noqa: E402
from playground.paths import data_dir  # noqa: E402
from playground.targets import resolve  # noqa: E402
from playground.zoo.summaries import summary_of  # noqa: E402

# small to large, CIFAR-sized and ImageNet-sized, plain / residual / dense / depthwise /
# searched: the pairs the issue names (MobileNet vs NASNetMobile, VGG16 vs MobileNet,
# DenseNet121 vs VGG16) are all here
ENTRIES = ("lenet5", "separable-cnn-28", "resnet20-cifar", "plain20-cifar", "mobilenetv2-cifar",
           "densenet-bc40-cifar", "chollet-separable-resnet", "mobilenet", "mobilenetv2",
           "keras:NASNetMobile", "resnet18", "googlenet", "densenet121", "resnet50", "vgg16")


def measure(name: str, batch: int, repeats: int) -> dict:
    target = resolve(name)
    t0 = time.perf_counter()
    model = target.build()
    build_s = time.perf_counter() - t0
    timing, mode = time_inference(model, batch, repeats=repeats, budget_s=60)
    macs = summary_of(name).get("macs")
    if macs is None:
        from playground.cost import analyze
        macs = analyze(model).macs
    del model
    keras.backend.clear_session()
    gc.collect()
    return {"architecture": name, "macs": macs, "batch": batch, "latency_ms": timing.median_ms,
            "p90_ms": timing.p90_ms, "spread": timing.spread, "first_s": timing.first_call_ms / 1e3,
            "build_s": build_s, "compile": mode,
            "ms_per_gmac": timing.median_ms / (macs * batch / 1e9)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="comma-separated zoo names (default: 15 entries)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", help="folder for the chart (default: <data folder>/measure)")
    ap.add_argument("--png", action="store_true", help="also render the chart to PNG")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(ENTRIES)
    machine = machine_info(keras.config.backend(), visible_device())
    print(f"machine: {machine['label']}")
    roof = machine_roofline(machine)
    print(f"roofline: {roof['macs_per_s'] / 1e9:.1f} GMAC/s (NumPy/BLAS "
          f"{roof['numpy_macs_per_s'] / 1e9:.1f}), {roof['bytes_per_s'] / 1e9:.1f} GB/s (NumPy "
          f"{roof['numpy_bytes_per_s'] / 1e9:.1f}){' (cached)' if roof.get('cached') else ''}")
    print(f"batch {args.batch}, median of up to {args.repeats} samples after warm-up\n")
    print(f"{'entry':<26}{'MACs':>9}{'ms':>10}{'p90 ms':>10}{'spread':>8}{'ms/GMAC':>10}"
          f"{'GMAC/s':>8}  compiled")
    rows = []
    for name in names:
        r = measure(name, args.batch, args.repeats)
        rows.append(r)
        print(f"{name:<26}{format_count(r['macs']):>9}{r['latency_ms']:>10.2f}"
              f"{r['p90_ms']:>10.2f}{r['spread']:>8.0%}{r['ms_per_gmac']:>10.2f}"
              f"{1e3 / r['ms_per_gmac']:>8.1f}  {r['compile']}", flush=True)
    per = [r["ms_per_gmac"] for r in rows]
    print(f"\nms per GMAC: median {statistics.median(per):.2f}, from {min(per):.2f} to "
          f"{max(per):.2f} ({max(per) / min(per):.0f}x apart): MACs alone do not predict time")
    best = max(r["macs"] * r["batch"] / (r["latency_ms"] / 1e3) for r in rows)
    now = machine_roofline(machine, at_least=0.95 * best)
    if now["macs_per_s"] != roof["macs_per_s"]:
        print(f"roofline re-measured (a model ran at {best / 1e9:.1f} GMAC/s, above the cached "
              f"peak): {now['macs_per_s'] / 1e9:.1f} GMAC/s (NumPy/BLAS "
              f"{now['numpy_macs_per_s'] / 1e9:.1f}), {now['bytes_per_s'] / 1e9:.1f} GB/s "
              f"(NumPy {now['numpy_bytes_per_s'] / 1e9:.1f})")
    elif now.get("remeasured_lower"):
        print(f"roofline re-measured lower ({now['remeasured_lower'] / 1e9:.1f} GMAC/s): the "
              "cached peak stays; the machine is busy")
    by = {r["architecture"]: r for r in rows}
    for a, b in (("mobilenet", "keras:NASNetMobile"), ("vgg16", "mobilenet"),
                 ("densenet121", "vgg16")):
        if a in by and b in by:
            print(f"  {a} vs {b}: {by[a]['macs'] / by[b]['macs']:.2f}x the MACs, "
                  f"{by[a]['latency_ms'] / by[b]['latency_ms']:.2f}x the time")
    out = Path(args.out) if args.out else data_dir() / "measure"
    out.mkdir(parents=True, exist_ok=True)
    fig = macs_time_figure(rows, title=f"Multiply-adds vs measured latency, batch {args.batch}, "
                                       f"{machine['label']}")
    html = out / "bench-macs-vs-ms.html"
    fig.write_html(html, include_plotlyjs=True)
    print(f"\nchart: {html}")
    if args.png:
        try:
            from playwright.sync_api import sync_playwright
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = b.new_page(viewport={"width": 1100, "height": 520})
                page.goto(html.as_uri())
                page.wait_for_timeout(1500)
                page.screenshot(path=str(out / "bench-macs-vs-ms.png"))
                b.close()
            print(f"chart: {out / 'bench-macs-vs-ms.png'}")
        except Exception as e:  # noqa: BLE001  no Playwright / Chromium here
            print(f"(no PNG: {type(e).__name__}: {e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
