"""GPU benchmark: a playground training run vs a tuned PyTorch reference, and the time from
Train to the first finished step.

1. ResNet-50, 224x224, bf16, synthetic data: images/s of a playground run (the same
   ``playground.train.runs`` code the app's worker runs: uint8 arrays, ``mixed_bfloat16``,
   ``steps_per_execution``; Keras backend from ``--backend``, JAX by default) vs
   ``torchvision.models.resnet50`` with ``torch.compile``, bf16 autocast and channels_last, run
   in a child process on the same GPU. Reports the ratio (aim: >= 1.0).
2. MobileNetV2 224x224: seconds from the start of the job (data, build, trace, compile) to the
   first finished training step, as the run records it (``first_step_seconds``).

Needs a CUDA GPU with JAX (and PyTorch for the reference); it says so and exits 0 without one.
``--smoke`` runs the same code with tiny sizes on any machine (a check of the script itself).

    KERAS_BACKEND=jax python bench/bench_gpu.py [--batch 256] [--steps 40] [--smoke]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TORCH_CHILD = r"""
import json, sys, time
import torch, torchvision
batch, steps, size, smoke = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
dev = "cuda" if torch.cuda.is_available() else "cpu"
model = torchvision.models.resnet50(num_classes=1000).to(dev).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loss_fn = torch.nn.CrossEntropyLoss()
step = model if smoke else torch.compile(model)
x8 = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=dev)
y = torch.randint(0, 1000, (batch,), device=dev)
def one():
    x = (x8.float() / 255).contiguous(memory_format=torch.channels_last)
    with torch.autocast(dev, dtype=torch.bfloat16):
        loss = loss_fn(step(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
for _ in range(3 if smoke else 15):
    one()
if dev == "cuda": torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(steps):
    one()
if dev == "cuda": torch.cuda.synchronize()
dt = time.perf_counter() - t
print("BENCH_JSON " + json.dumps({"images_per_s": batch * steps / dt, "device": dev}))
"""


def gpu_visible() -> bool:
    import keras
    try:
        return any(d.lower().startswith(("gpu", "cuda")) for d in keras.distribution.list_devices())
    except Exception:  # noqa: BLE001
        return False


def playground_run(target: str, size: int, batch: int, steps: int, epochs: int, spe: int,
                   precision: str, backend: str) -> dict:
    from playground.store import RunStore
    from playground.train import TrainConfig
    from playground.train.runs import run_local
    count = batch * steps
    config = TrainConfig(target=target, dataset="synthetic", epochs=epochs, batch_size=batch,
                         dataset_options={"image_size": size, "count": int(count / 0.95) + 1,
                                          "classes": 1000 if size >= 64 else 10},
                         optimizer="sgd", precision=precision, steps_per_execution=spe,
                         backend=backend, name=f"bench {target} {size}px b{batch}")
    result = run_local(config, RunStore())
    store = RunStore()
    hist = store.history(result["run_id"], ["images_per_s", "first_step_seconds"])
    return {"images_per_s": [v for _, v in hist["images_per_s"]],
            "first_step_seconds": (hist["first_step_seconds"] or [(0, None)])[0][1],
            "run_id": result["run_id"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=40, help="training steps per epoch")
    ap.add_argument("--spe", type=int, default=8, help="steps_per_execution")
    ap.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "jax"))
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, any machine")
    args = ap.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("PLAYGROUND_DATA", tempfile.mkdtemp(prefix="bench-gpu-data-"))
    os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="bench-gpu-keras-"))
    from playground._env import import_keras_quietly
    import_keras_quietly()
    import keras

    if not gpu_visible() and not args.smoke:
        print(f"no GPU visible to Keras ({keras.backend.backend()}): nothing measured "
              "(run on a GPU machine; --smoke checks the script on any machine)")
        return 0
    size, batch, steps = (32, 8, 4) if args.smoke else (224, args.batch, args.steps)
    precision = "float32" if args.smoke else "mixed_bfloat16"

    # 1. ResNet-50 throughput: playground run vs PyTorch reference
    t = time.perf_counter()
    ours = playground_run("resnet50", size, batch, steps, 2, args.spe if not args.smoke else 1,
                          precision, args.backend)
    ips = ours["images_per_s"][-1]
    print(f"playground run ({keras.backend.backend()}, {precision}, batch {batch}, "
          f"steps_per_execution {args.spe}): {ips:,.0f} img/s (epochs: "
          f"{', '.join(f'{v:,.0f}' for v in ours['images_per_s'])}; {time.perf_counter() - t:.0f} s)")
    ref = None
    try:
        out = subprocess.run([sys.executable, "-c", TORCH_CHILD, str(batch), str(steps),
                              str(size), "1" if args.smoke else "0"],
                             capture_output=True, text=True, timeout=1800)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
        ref = json.loads(line[-1][11:]) if line else None
        if ref is None:
            print("PyTorch reference failed: " + (out.stderr.strip().splitlines() or ["?"])[-1])
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"PyTorch reference could not run: {e}")
    if ref:
        print(f"PyTorch torchvision resnet50 + torch.compile + bf16 autocast + channels_last "
              f"({ref['device']}): {ref['images_per_s']:,.0f} img/s")
        print(f"ratio playground / PyTorch: {ips / ref['images_per_s']:.3f} (aim >= 1.0)")

    # 2. MobileNetV2: job start -> first finished step
    mb = playground_run("mobilenetv2", size, min(batch, 128), 4, 1, 1, precision, args.backend)
    print(f"MobileNetV2 {size}x{size}: job start -> first finished step "
          f"{mb['first_step_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
