"""Uploaded files sorted into classes on their way to an image set: every bad file keeps its
reason (the bad-upload corpus), a refused zip is one error, and the class counts get warnings.
The helpers that make test images are shared with the Transfer page's tests."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from playground.data import class_uploads as cu
from playground.data.images import NESTED_ARCHIVE
from playground.data.resize import THUMB

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
    other = png(np.full((1, 1, 3), 100, "uint8"))
    zipped = zip_bytes({"photos/" + cls + "/z.png": other, "../evil/e.png": one,
                        "/abs/a.png": one, "photos/" + cls + "/inner.zip": inner})
    prep = cu.prepare(files, [("upload.zip", zipped)], size=32, max_file_bytes=10_000_000)
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
    prep = cu.prepare({cls: files[cls] + [("big.png", b"x" * 2000)]},
                      [("junk.zip", b"definitely not a zip")], max_file_bytes=1000, size=32)
    assert not prep.ok
    assert "at least 2 classes" in prep.error.rule
    assert any("limit is" in r.reason for r in prep.report.rejected if r.name == "big.png")
    assert len(prep.problems) == 1
    assert prep.problems[0].where == "zip file 'junk.zip'"
    assert "not a zip file" in prep.problems[0].rule


def test_a_zip_without_class_folders_is_one_plain_text_problem():
    one = png(np.full((4, 4, 3), 9, "uint8"))
    files, _report, problems = cu.gather({}, [("flat.zip", zip_bytes({"a.png": one}))])
    assert files == {}
    assert [(p.where, p.rule.split(" (")[0]) for p in problems] == [
        ("zip file 'flat.zip'", "holds no images in class folders")]
    assert "*" not in problems[0].where + problems[0].rule  # no markdown in library text


def test_preview_gives_thumbnails_and_reasons():
    thumbs, bad = cu.preview([("a.png", png(np.zeros((10, 20, 3), "uint8"))), ("b.txt", b"hi")])
    assert len(thumbs) == 1 and thumbs[0].shape == (THUMB, THUMB, 3)
    assert bad == [("b.txt", "is not an image file Pillow can read")]


@pytest.mark.parametrize("counts, expect", [
    ({"a": 30, "b": 25}, []),
    ({"a": 30, "b": 5}, ["Few images in b (5)", "imbalanced"]),
    ({"a": 100, "b": 20}, ["imbalanced"]),
    ({"a": 12, "b": 4}, ["Few images in b (4)"]),  # 3:1 exactly is not over 3:1
])
def test_data_warnings(counts, expect):
    got = cu.data_warnings(counts)
    assert len(got) == len(expect)
    for g, e in zip(got, expect):
        assert e in g


def test_split_counts_follow_the_per_class_split():
    assert cu.split_counts({"a": 50, "b": 10}, 0.2) == (48, 12)


def test_clean_class_name():
    assert cu.clean_class_name("  big\tcat \n") == "big cat"
    assert cu.clean_class_name("\x00\x01") == ""
    assert len(cu.clean_class_name("x" * 100)) == 40


# --- the same image twice: through both tabs, or twice in one upload ------------------------
def _pixels(x: np.ndarray) -> set[bytes]:
    return {img.tobytes() for img in x}


def test_the_same_images_through_both_tabs_are_used_once():
    """Classes with files, then the same files as a zip (other folder names): every image is
    kept once, the copies are reported with the file they repeat, and the zip's classes,
    emptied by the copies, are not offered as classes of 0 images."""
    files = shape_files(count=20)
    entries = {f"pets/{cls}s/{name}": data for cls, items in files.items()
               for name, data in items}
    prep = cu.prepare(files, [("pets.zip", zip_bytes(entries))], size=32)
    n = sum(len(v) for v in files.values())
    assert prep.ok and len(prep.x) == n and len(_pixels(prep.x)) == n
    assert prep.class_names == tuple(sorted(files)) and prep.report.dropped == {}
    assert len(prep.report.duplicates) == n
    first = prep.report.duplicates[0]
    assert first.same_class in files and first.cls == first.same_class + "s"
    assert first.name.endswith("/" + first.same_as)
    assert prep.report.to_dict()["duplicates"][0]["same_as"] == first.same_as


def test_copies_within_one_class_and_across_classes_are_dropped_in_order():
    files = shape_files(count=12)
    a, b = sorted(files)[:2]
    twice = files[a][0]
    upload = {a: files[a] + [twice, ("renamed.png", twice[1])],
              b: files[b] + [("stray.png", twice[1])]}
    prep = cu.prepare(upload, size=24)
    assert len(prep.x) == len(files[a]) + len(files[b]) == len(_pixels(prep.x))
    assert [(d.name, d.cls, d.same_as, d.same_class) for d in prep.report.duplicates] == [
        (twice[0], a, twice[0], a), ("renamed.png", a, twice[0], a),
        ("stray.png", b, twice[0], a)]
    # the same content keys without the bytes: what the page counts before "Use these images"
    keyed = {c: [(n, cu.content_key(d)) for n, d in v] for c, v in upload.items()}
    assert cu.find_duplicates(keyed) == prep.report.duplicates
    assert cu.merged({a: [1]}, {a: [2], b: [3]}) == {a: [1, 2], b: [3]}


def test_image_set_names_come_from_the_upload_and_are_unique():
    from playground.data.saved import unique_set_name
    assert cu.default_set_name(["cat", "dog"], ["C:\\photos\\Pets 2024.ZIP"]) == "Pets 2024"
    assert cu.default_set_name(["cat", "dog"]) == "cat vs dog"
    assert cu.default_set_name(["cat", "dog", "bird"]) == "cat, dog, bird"
    assert len(cu.default_set_name([f"class number {i}" for i in range(9)])) == \
        cu.SET_NAME_CHARS
    assert cu.default_set_name([]) == "my images"
    assert unique_set_name("pets", []) == "pets"
    assert unique_set_name("pets", ["Pets"]) == "pets (2)"
    assert unique_set_name("pets", ["pets", "pets (2)"]) == "pets (3)"
    assert unique_set_name("pets (2)", ["pets", "pets (2)"]) == "pets (3)"
