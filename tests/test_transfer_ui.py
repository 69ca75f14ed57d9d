"""The Transfer-learning page's pure helpers: gathering uploads with every rejection's reason
(the bad-upload corpus), warnings on the class counts, thumbnail strips, the clickable confusion
matrix and the small conversions."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from playground.data.images import NESTED_ARCHIVE
from playground.transfer import ui_helpers as ui

from conftest import png, shape_files, zip_bytes


def huge_png_header(width: int = 20000, height: int = 20000) -> bytes:
    """A valid PNG whose header claims width x height (its pixels never get decoded)."""
    data = bytearray(png(np.zeros((1, 1, 3), "uint8")))
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


def test_prepare_keeps_the_good_files_and_gives_each_bad_one_its_reason():
    files = shape_files()
    good = sum(len(v) for v in files.values())
    one = png(np.full((1, 1, 3), 200, "uint8"))
    inner = zip_bytes({"a/x.png": one})
    cls = next(iter(files))
    files[cls] = files[cls] + [
        ("empty.png", b""), ("notes.txt", b"not an image at all"),
        ("cut.png", png(np.zeros((40, 40, 3), "uint8"))[:60]),
        ("huge.png", huge_png_header()),
        ("ünïcødé-" + "x" * 300 + ".png", one),  # a 1x1 image with a long Unicode name: kept
    ]
    zipped = zip_bytes({"photos/" + cls + "/z.png": one, "../evil/e.png": one,
                        "/abs/a.png": one, "photos/" + cls + "/inner.zip": inner})
    prep = ui.prepare(files, [("upload.zip", zipped)], size=32, max_file_bytes=10_000_000)
    assert prep.ok and prep.x.shape[1:] == (32, 32, 3)
    assert len(prep.x) == good + 2  # the 1x1 image and the zip's one image
    reasons = {r.name: r.reason for r in prep.report.rejected}
    assert "empty" in reasons["empty.png"]
    assert "not an image" in reasons["notes.txt"]
    assert "truncated or damaged" in reasons["cut.png"]
    assert "too many pixels" in reasons["huge.png"]
    assert "'..'" in reasons["../evil/e.png"]
    assert "absolute path" in reasons["/abs/a.png"]
    assert reasons[f"photos/{cls}/inner.zip"] == NESTED_ARCHIVE
    assert prep.error is None and prep.problems == []


def test_prepare_refuses_oversize_files_and_says_when_there_are_too_few_classes():
    files = shape_files()
    cls = sorted(files)[0]
    prep = ui.prepare({cls: files[cls] + [("big.png", b"x" * 2000)]},
                      [("junk.zip", b"definitely not a zip")], max_file_bytes=1000, size=32)
    assert not prep.ok
    assert "at least 2 classes" in prep.error
    assert any("limit is" in r.reason for r in prep.report.rejected if r.name == "big.png")
    assert len(prep.problems) == 1 and "not a zip file" in prep.problems[0]


def test_preview_gives_thumbnails_and_reasons():
    thumbs, bad = ui.preview([("a.png", png(np.zeros((10, 20, 3), "uint8"))), ("b.txt", b"hi")])
    assert len(thumbs) == 1 and thumbs[0].shape == (ui.THUMB, ui.THUMB, 3)
    assert bad == [("b.txt", "is not an image file Pillow can read")]


@pytest.mark.parametrize("counts, expect", [
    ({"a": 30, "b": 25}, []),
    ({"a": 30, "b": 5}, ["Few images in b (5)", "imbalanced"]),
    ({"a": 100, "b": 20}, ["imbalanced"]),
    ({"a": 12, "b": 4}, ["Few images in b (4)"]),  # 3:1 exactly is not over 3:1
])
def test_data_warnings(counts, expect):
    got = ui.data_warnings(counts)
    assert len(got) == len(expect)
    for g, e in zip(got, expect):
        assert e in g


def test_split_counts_follow_the_per_class_split():
    assert ui.split_counts({"a": 50, "b": 10}, 0.2) == (48, 12)


def test_thumbnail_strip_grid():
    imgs = [np.full((10, 10, 3), i * 20, "uint8") for i in range(5)]
    strip = ui.thumbnail_strip(imgs, n=4, size=8, gap=2, columns=2)
    assert strip.shape == (8 * 2 + 2, 8 * 2 + 2, 3)
    assert strip[0, 0, 0] == 0 and strip[-1, -1, 0] == 60 and strip[9, 0, 0] == 255
    gray = ui.thumbnail_strip([np.zeros((8, 8, 1), "uint8")], size=8)
    assert gray.shape == (8, 8, 3)
    assert ui.thumbnail_strip([]) is None


def test_resize_images_keeps_channels():
    x = np.zeros((3, 40, 40, 1), "uint8")
    assert ui.resize_images(x, 32).shape == (3, 32, 32, 1)
    assert ui.resize_images(x, 40) is x


CM = {"class_names": ["circle", "square", "triangle"], "matrix": [[8, 2, 0], [1, 9, 0],
                                                                   [0, 3, 7]],
      "val_accuracy": 0.8, "per_class_accuracy": [0.8, 0.9, 0.7]}


def test_confusion_click_figure_has_one_clickable_point_per_cell():
    fig = ui.confusion_click_figure(CM, selected=(2, 1))
    heat, cells = fig.data
    assert heat.type == "heatmap" and cells.type == "scatter"
    assert len(cells.customdata) == 9 and list(cells.customdata[5]) == [1, 2]
    assert list(cells.text) == ["8", "2", "0", "1", "9", "0", "0", "3", "7"]
    assert heat.texttemplate == "%{text}" and heat.text[2][1] == 3
    widths = list(cells.marker.line.width)
    assert widths[7] == 3 and sum(widths) == 3  # (true triangle, predicted square) outlined
    assert "80.0% correct" in fig.layout.title.text


def test_selected_cell_reads_the_chart_selection():
    event = {"selection": {"points": [{"x": "square", "y": "triangle", "customdata": [2, 1]}]}}
    assert ui.selected_cell(event) == (2, 1)
    assert ui.selected_cell({"selection": {"points": []}}) is None
    assert ui.selected_cell(None) is None


def test_cells_and_confusions():
    assert ui.cell_indices([0, 1, 1, 2, 1], [0, 2, 1, 2, 2], 1, 2) == [1, 4]
    assert ui.confusions(CM["matrix"]) == [(2, 1, 3), (0, 1, 2), (1, 0, 1)]


def test_per_class_figure_sorts_worst_first():
    fig = ui.per_class_figure(CM)
    assert list(fig.data[0].y) == ["triangle", "circle", "square"]
    assert list(fig.data[0].customdata) == [10, 10, 10]


@pytest.mark.parametrize("name, expect", [
    ("mobilenet.weights.h5", "_mobilenet.weights.h5"),
    ("../../etc/passwd.h5", "_passwd.h5"),
    ("C:\\Users\\me\\my net (1).h5", "_my_net_1.h5"),
    ("日本.weights.h5", "_weights.weights.h5"),
])
def test_safe_weights_name(name, expect):
    out = ui.safe_weights_name(name, b"data")
    assert out.endswith(expect) and "/" not in out and ".." not in out
    assert len(out.split("_", 1)[0]) == 10


def test_run_input_shape_and_scaled_macs():
    assert ui.run_input_shape({"data.input_shape": "32x32x1"}) == (32, 32, 1)
    assert ui.run_input_shape({"data.input_shape": "10"}) is None
    assert ui.run_input_shape({}) is None
    assert ui.scaled_macs(100.0, 224, 112) == 25.0


def test_clean_class_name():
    assert ui.clean_class_name("  big\tcat \n") == "big cat"
    assert ui.clean_class_name("\x00\x01") == ""
    assert len(ui.clean_class_name("x" * 100)) == 40
