"""Sample image folders written as PNG files, one folder per class: what a user would drop on
the Transfer page, made offline for demos, tests and benchmarks. Unlike the ``shapes`` data
set on purpose (other size, fixed class colours, textured backgrounds), so a transfer has to
carry over rather than recognise its own training images."""
from __future__ import annotations

from pathlib import Path

import numpy as np

DISC_RGB = (210, 40, 40)
SQUARE_RGB = (40, 60, 210)


def disc_square_images(count: int = 80, size: int = 96, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """``count`` uint8 RGB images (half red discs, half blue squares) of random size and place
    on noisy gradient backgrounds; returns (images, labels, class names)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype("float32")
    images = np.empty((count, size, size, 3), dtype="uint8")
    labels = np.arange(count) % 2
    for i, label in enumerate(labels):
        a, b = rng.uniform(40, 200, size=3), rng.uniform(40, 200, size=3)
        t = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) / size
        bg = a + (b - a) * ((t - t.min()) / max(np.ptp(t), 1e-6))[..., None]
        r = rng.uniform(0.15, 0.3) * size
        cy, cx = rng.uniform(r, size - r, size=2)
        if label == 0:
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2
        else:
            mask = (np.abs(yy - cy) <= 0.85 * r) & (np.abs(xx - cx) <= 0.85 * r)
        colour = np.array(DISC_RGB if label == 0 else SQUARE_RGB, dtype="float32")
        img = np.where(mask[..., None], colour * rng.uniform(0.8, 1.1), bg)
        img = img + rng.normal(0, 20, img.shape)
        images[i] = np.clip(img, 0, 255).astype("uint8")
    return images, labels, ("disc", "square")


def write_class_folders(root: Path, images: np.ndarray, labels: np.ndarray,
                        class_names: tuple[str, ...]) -> Path:
    """Save images as ``root/<class>/img_<i>.png`` (the layout the folder data set reads)."""
    from PIL import Image
    root = Path(root)
    for i, (img, label) in enumerate(zip(images, labels)):
        folder = root / class_names[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"img_{i}.png")
    return root
