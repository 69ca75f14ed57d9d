"""Resizing uint8 images: a whole saved image set to a backbone's side (kept as a new set, made
once), and square thumbnails gathered into one strip for previews."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

THUMB = 56  # side of one thumbnail in a strip (pixels)


def resize_images(x: np.ndarray, side: int) -> np.ndarray:
    """uint8 images (N, H, W, C) resized (bilinear) to side x side (``x`` itself when they are
    that size already)."""
    if x.shape[1:3] == (side, side):
        return x
    from PIL import Image
    out = np.empty((len(x), side, side, x.shape[-1]), dtype="uint8")
    for i, img in enumerate(x):
        im = Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)
        arr = np.asarray(im.resize((side, side), Image.Resampling.BILINEAR))
        out[i] = arr[..., None] if arr.ndim == 2 else arr
    return out


def set_for_side(set_id: str, side: int) -> str:
    """The saved image set at side x side: itself, a resized copy made before, or a new copy
    (recorded with ``resized_from`` so the next call finds it)."""
    from playground.data.saved import list_saved, load_arrays, save_images, saved_info
    info = saved_info(set_id)
    if list(info["shape"][:2]) == [side, side]:
        return set_id
    for other in list_saved():
        meta = other.get("meta", {})
        if meta.get("resized_from") == set_id and list(other["shape"][:2]) == [side, side]:
            return other["id"]
    x, y, names = load_arrays(set_id)
    return save_images(resize_images(x, side), y, names, f"{info['name']} ({side}px)",
                       {"resized_from": set_id})


def thumbnail_strip(images: Sequence[np.ndarray], n: int = 8, size: int = THUMB, gap: int = 3,
                    columns: int | None = None, background: int = 255) -> np.ndarray | None:
    """Up to ``n`` images as one uint8 RGB grid of ``columns`` (default: all in one row) square
    thumbnails; None when there are none."""
    images = list(images)[:n]
    if not images:
        return None
    from PIL import Image
    cols = columns or len(images)
    rows = math.ceil(len(images) / cols)
    out = np.full((rows * size + (rows - 1) * gap, cols * size + (cols - 1) * gap, 3),
                  background, dtype="uint8")
    for i, img in enumerate(images):
        img = np.asarray(img)
        if img.ndim == 2:
            img = img[..., None]
        if img.shape[-1] == 1:
            img = np.repeat(img, 3, axis=-1)
        if img.shape[:2] != (size, size):
            img = np.asarray(Image.fromarray(img.astype("uint8")).resize(
                (size, size), Image.Resampling.BILINEAR))
        r, c = divmod(i, cols)
        top, left = r * (size + gap), c * (size + gap)
        out[top:top + size, left:left + size] = img
    return out


__all__ = ["THUMB", "resize_images", "set_for_side", "thumbnail_strip"]
