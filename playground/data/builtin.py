"""The built-in data sets: generated shapes, scikit-learn digits, and Keras' downloadable sets."""
from __future__ import annotations

from typing import Any

import numpy as np

from playground.data.base import DATASETS, Dataset, DatasetInfo, split
from playground.data.cache import generated
from playground.errors import SpecError, first_line

SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond")


def _mask(kind: str, size: int, cy: float, cx: float, r: float) -> np.ndarray:
    """Boolean mask of one filled shape of radius ``r`` centred at (cy, cx) on a size x size grid."""
    yy, xx = np.mgrid[0:size, 0:size].astype("float32")
    dy, dx = yy - cy, xx - cx
    if kind == "circle":
        return dy ** 2 + dx ** 2 <= r ** 2
    if kind == "square":
        return (np.abs(dy) <= r * 0.8) & (np.abs(dx) <= r * 0.8)
    if kind == "triangle":  # apex up: the half-width grows from 0 at the apex to r at the base
        return (dy >= -r) & (dy <= r * 0.8) & (np.abs(dx) <= (dy + r) / 1.8)
    if kind == "cross":
        w = max(1.0, r * 0.3)
        return ((np.abs(dy) <= w) & (np.abs(dx) <= r)) | ((np.abs(dx) <= w) & (np.abs(dy) <= r))
    if kind == "ring":
        d2 = dy ** 2 + dx ** 2
        return (d2 <= r ** 2) & (d2 >= (0.55 * r) ** 2)
    if kind == "diamond":
        return np.abs(dy) + np.abs(dx) <= r
    raise ValueError(kind)


def _shape_image(rng: np.random.Generator, kind: str, size: int, noise: float, channels: int,
                 clutter: int) -> np.ndarray:
    """One float image in [0, 1]: a shape of random size, place, brightness and (RGB) colour on a
    noisy background, with ``clutter`` small distractor strokes of random colour."""
    r = rng.uniform(0.18, 0.32) * size
    cy, cx = rng.uniform(r, size - r, size=2)
    colour = rng.uniform(0.5, 1.0, size=channels).astype("float32") if channels == 3 else (
        np.ones(1, "float32"))
    img = _mask(kind, size, cy, cx, r)[..., None] * (colour * rng.uniform(0.6, 1.0))
    for _ in range(clutter):  # short bars and dots that belong to no class
        y0, x0 = rng.uniform(0, size, size=2)
        length, thick = rng.uniform(0.1, 0.3) * size, max(1.0, rng.uniform(0.02, 0.05) * size)
        yy, xx = np.mgrid[0:size, 0:size].astype("float32")
        if rng.random() < 0.5:
            m = (np.abs(yy - y0) <= thick / 2) & (xx >= x0) & (xx <= x0 + length)
        else:
            m = (np.abs(xx - x0) <= thick / 2) & (yy >= y0) & (yy <= y0 + length)
        img = np.where(m[..., None], rng.uniform(0.3, 1.0, size=channels), img)
    img = img + rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0.0, 1.0)


def make_shapes(classes: int = 3, image_size: int = 32, count: int = 3000, noise: float = 0.1,
                channels: int = 3, clutter: int = 0, seed: int = 0, val_split: float = 0.2,
                name: str = "shapes") -> Dataset:
    """``count`` images of ``classes`` filled shapes at random positions, sizes and colours,
    with Gaussian pixel noise (std ``noise`` of full scale) and ``clutter`` distractor strokes;
    deterministic for a given seed, generated once per option set (memory and disk cache)."""
    where = f"data set '{name}'"
    if not 2 <= classes <= len(SHAPES):
        raise SpecError(where, f"classes must be between 2 and {len(SHAPES)}, got {classes}")
    if not 8 <= image_size <= 512:
        raise SpecError(where, f"image_size must be between 8 and 512, got {image_size}")
    if count < 2 * classes:
        raise SpecError(where, f"count must be at least 2 per class ({2 * classes}), got {count}")
    if not 0.0 <= noise <= 1.0:
        raise SpecError(where, f"noise must be between 0 and 1, got {noise}")
    if channels not in (1, 3):
        raise SpecError(where, f"channels must be 1 or 3, got {channels}")
    if not 0 <= clutter <= 20:
        raise SpecError(where, f"clutter must be between 0 and 20, got {clutter}")

    def generate() -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        labels = np.arange(count) % classes
        images = np.empty((count, image_size, image_size, channels), dtype="uint8")
        for i, c in enumerate(labels):
            img = _shape_image(rng, SHAPES[c], image_size, noise, channels, clutter)
            images[i] = (img * 255).astype("uint8")
        return images, labels

    key = dict(classes=classes, image_size=image_size, count=count, noise=noise,
               channels=channels, clutter=clutter, seed=seed)
    images, labels = generated("shapes", key, generate)
    return split(name, images, labels, SHAPES[:classes], val_split, seed,
                 source="generated", noise=noise, clutter=clutter)


def load_digits(val_split: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels scaled to 0..255)."""
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError as e:  # pragma: no cover - sklearn is a dependency
        raise SpecError("data set 'digits'", f"needs scikit-learn ({e})") from None
    d = sk_digits()
    x = (d.images * (255.0 / 16.0)).round().astype("uint8")[..., None]
    return split("digits", x, d.target, tuple(str(i) for i in range(10)), val_split, seed,
                 source="scikit-learn")


KERAS_SETS = {
    "mnist": ("mnist", tuple(str(i) for i in range(10))),
    "fashion_mnist": ("fashion_mnist", ("t-shirt", "trouser", "pullover", "dress", "coat",
                                        "sandal", "shirt", "sneaker", "bag", "ankle boot")),
    "cifar10": ("cifar10", ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck")),
    "cifar100": ("cifar100", tuple(f"class {i}" for i in range(100))),
}
KERAS_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3),
                "cifar100": (32, 32, 3)}  # the input shape of each Keras set
KERAS_COUNTS = {"mnist": 60000, "fashion_mnist": 60000, "cifar10": 50000,
                "cifar100": 50000}  # images in each Keras set's training part (what is loaded)
DIGITS_COUNT = 1797


def load_keras(name: str, val_split: float = 0.2, seed: int = 0, limit: int | None = None
               ) -> Dataset:
    """A Keras data set through Keras' own loader and cache (``$KERAS_HOME/datasets``)."""
    import keras

    module, class_names = KERAS_SETS[name]
    try:
        (x, y), _ = getattr(keras.datasets, module).load_data()
    except Exception as e:  # noqa: BLE001 - every download failure becomes one clear message
        raise SpecError(f"data set '{name}'", "could not be loaded: Keras downloads it on first "
                        f"use and this machine could not ({first_line(e, 200)}); the offline "
                        "data sets 'digits' and 'shapes' always work") from None
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    y = np.asarray(y).reshape(-1)
    if limit:
        x, y = x[:limit], y[:limit]
    return split(name, x.astype("uint8"), y, class_names, val_split, seed, source="keras")


def make_synthetic(classes: int = 10, image_size: int = 224, count: int = 2048,
                   channels: int = 3, seed: int = 0, val_split: float = 0.05) -> Dataset:
    """Random uint8 images with random labels: nothing to learn, for throughput benchmarks."""
    for opt, value, lo in (("classes", classes, 2), ("image_size", image_size, 8),
                           ("count", count, 4), ("channels", channels, 1)):
        if int(value) < lo:
            raise SpecError("data set 'synthetic'", f"{opt} must be at least {lo}, got {value}")
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(count, image_size, image_size, channels), dtype=np.uint8)
    y = np.arange(count) % classes
    return split("synthetic", x, y, tuple(f"class_{i}" for i in range(classes)), val_split, seed,
                 source="generated")


def _shapes_shape(o: dict[str, Any]) -> tuple[tuple[int, int, int], int]:
    side = int(o["image_size"])
    return (side, side, int(o["channels"])), int(o["classes"])


def _count(o: dict[str, Any]) -> int:
    return int(o["count"])


def _register() -> None:
    DATASETS.add("shapes", DatasetInfo(
        "shapes", "3,000 generated 32x32 colour images of filled shapes (circle, square, "
        "triangle) with noise; offline, deterministic by seed.", make_shapes, True,
        {"classes": 3, "image_size": 32, "count": 3000, "noise": 0.1, "channels": 3,
         "clutter": 0, "seed": 0, "val_split": 0.2}, shape_of=_shapes_shape, count_of=_count))
    DATASETS.add("shapes_hard", DatasetInfo(
        "shapes_hard", "A harder shapes set for comparisons: 6 shapes, stronger noise and "
        "distractor strokes (clutter); 6,000 images.",
        lambda **kw: make_shapes(name="shapes_hard", **kw), True,
        {"classes": 6, "image_size": 32, "count": 6000, "noise": 0.2, "channels": 3,
         "clutter": 3, "seed": 0, "val_split": 0.2}, shape_of=_shapes_shape, count_of=_count))
    DATASETS.add("digits", DatasetInfo(
        "digits", "scikit-learn's 1,797 real handwritten digits, 8x8 grayscale; offline.",
        load_digits, True, {"val_split": 0.2, "seed": 0}, shape_of=lambda o: ((8, 8, 1), 10),
        count_of=lambda o: DIGITS_COUNT))
    DATASETS.add("synthetic", DatasetInfo(
        "synthetic", "Random images and labels (nothing to learn): for throughput benchmarks.",
        make_synthetic, True, {"classes": 10, "image_size": 224, "count": 2048, "channels": 3,
                               "seed": 0, "val_split": 0.05}, count_of=_count))
    for key in KERAS_SETS:
        def loader(name: str = key, **kw: Any) -> Dataset:
            return load_keras(name, **kw)
        DATASETS.add(key, DatasetInfo(
            key, f"Keras' {key} (downloaded on first use into the Keras cache).",
            loader, False, {"val_split": 0.2, "seed": 0, "limit": None},
            shape_of=lambda o, key=key: (KERAS_SHAPES[key], len(KERAS_SETS[key][1])),
            count_of=lambda o, key=key: min(KERAS_COUNTS[key], int(o.get("limit") or 1e9))))


_register()
