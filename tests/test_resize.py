"""Resizing images: thumbnail strips, whole sets to a side, and a saved set at a backbone's side
made once and found again."""
from __future__ import annotations

import numpy as np

from playground.data import resize as rz
from playground.data.saved import list_saved, load_arrays, save_images


def test_thumbnail_strip_grid():
    imgs = [np.full((10, 10, 3), i * 20, "uint8") for i in range(5)]
    strip = rz.thumbnail_strip(imgs, n=4, size=8, gap=2, columns=2)
    assert strip.shape == (8 * 2 + 2, 8 * 2 + 2, 3)
    assert strip[0, 0, 0] == 0 and strip[-1, -1, 0] == 60 and strip[9, 0, 0] == 255
    gray = rz.thumbnail_strip([np.zeros((8, 8, 1), "uint8")], size=8)
    assert gray.shape == (8, 8, 3)
    assert rz.thumbnail_strip([]) is None


def test_resize_images_keeps_channels():
    x = np.zeros((3, 40, 40, 1), "uint8")
    assert rz.resize_images(x, 32).shape == (3, 32, 32, 1)
    assert rz.resize_images(x, 40) is x


def test_set_for_side_resizes_once_and_finds_the_copy_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    x = np.arange(4 * 40 * 40 * 3, dtype="uint32").reshape(4, 40, 40, 3).astype("uint8")
    y = np.array([0, 0, 1, 1])
    set_id = save_images(x, y, ("a", "b"), "mine", {})
    assert rz.set_for_side(set_id, 40) == set_id  # already that size: itself
    small = rz.set_for_side(set_id, 24)
    assert small != set_id
    xs, ys, names = load_arrays(small)
    assert xs.shape == (4, 24, 24, 3) and ys.tolist() == [0, 0, 1, 1] and names == ("a", "b")
    assert rz.set_for_side(set_id, 24) == small  # made once
    assert len(list_saved()) == 2
    copy = [s for s in list_saved() if s["id"] == small][0]
    assert copy["name"] == "mine (24px)" and copy["meta"]["resized_from"] == set_id
