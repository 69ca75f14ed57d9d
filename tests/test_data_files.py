"""User files as data sets: images in class folders (a directory or a zip) and CSV tables.

Every input is made here, in tmp_path: good folders and zips load; each bad file is rejected
with its reason while the rest loads; unsafe zips write nothing anywhere."""
import io
import os
import stat
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from playground.data import DATASETS, load
from playground.data import images
from playground.data.images import (NESTED_ARCHIVE, IngestReport, ZipLimits, decode_image,
                                    ingest, read_folder, read_zip, short_name)
from playground.errors import SpecError

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def encode(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def solid(color, size=(12, 10), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def good_files() -> dict[str, bytes]:
    """Relative path -> bytes: three red 'cats' and three blue 'dogs' in four formats."""
    return {
        "cats/a.png": encode(solid(RED)),
        "cats/b.jpg": encode(solid(RED, (30, 20)), "JPEG", quality=95),
        "cats/c.gif": encode(solid(RED).convert("P")),
        "dogs/a.tiff": encode(solid(BLUE), "TIFF"),
        "dogs/b.png": encode(solid(BLUE, (5, 40))),
        "dogs/sub/c.jpg": encode(solid(BLUE), "JPEG", quality=95),
    }


def write_tree(root, files: dict[str, bytes]):
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def write_zip(path, files: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def snapshot(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def reasons(d) -> dict[str, str]:
    return {r["name"]: r["reason"] for r in d.meta["rejected"]}


# ---------------------------------------------------------------------------- good inputs


def test_folder_and_zips_load_the_same_sorted_classes(tmp_path):
    files = good_files()
    folder = write_tree(tmp_path / "pets", files)
    plain = write_zip(tmp_path / "plain.zip", files)
    topped = write_zip(tmp_path / "topped.zip", {
        **{f"pets/{k}": v for k, v in files.items()},
        "__MACOSX/pets/cats/._a.png": b"resource fork", "pets/.DS_Store": b"\0\1",
        "pets/cats/Thumbs.db": b"\0\1", "pets/dogs/.hidden.png": b"not read"})
    a = load("folder", path=str(folder), image_size=16, val_split=0.34, seed=1)
    for other in (plain, topped):
        b = load("folder", path=str(other), image_size=16, val_split=0.34, seed=1)
        assert b.class_names == a.class_names == ("cats", "dogs")
        assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)
        assert b.meta["rejected"] == [] and b.meta["counts"] == {"cats": 3, "dogs": 3}
    assert a.input_shape == (16, 16, 3) and a.x_train.dtype == np.uint8
    assert a.y_train.dtype == np.int32 and len(a.x_train) + len(a.x_val) == 6
    x = np.concatenate([a.x_train, a.x_val]).astype(int)
    y = np.concatenate([a.y_train, a.y_val])
    assert (x[y == 0, ..., 0] > x[y == 0, ..., 2] + 150).all()  # cats are red
    assert (x[y == 1, ..., 2] > x[y == 1, ..., 0] + 150).all()  # dogs are blue
    assert DATASETS.get("folder").offline and DATASETS.get("csv").offline


def test_unicode_and_200_character_names(tmp_path):
    long = "x" * 196 + ".png"
    files = {"猫/🐱 fotó.png": encode(solid(RED)), f"猫/{long}": encode(solid(RED)),
             "Hündin/ü.jpg": encode(solid(BLUE), "JPEG"), "Hündin/ß.png": encode(solid(BLUE)),
             f"Hündin/bad-{long}": b"definitely not an image"}
    for src in (write_tree(tmp_path / "d", files), write_zip(tmp_path / "u.zip", files)):
        d = load("folder", path=str(src), image_size=8)
        assert d.class_names == ("Hündin", "猫") and d.meta["counts"] == {"Hündin": 2, "猫": 2}
        [(name, reason)] = reasons(d).items()
        assert len(name) <= images.NAME_LIMIT and name.startswith("Hündin/bad-xxx")
        assert name.endswith("xxx.png") and "…" in name
        assert "not an image" in reason
    assert short_name("a\nb\x00c") == "a?b?c"


# ---------------------------------------------------------------------------- one image


@pytest.mark.parametrize("data, reason", [
    (b"", "is an empty file"),
    (b"name,value\n1,2\n", "is not an image file"),
    (encode(solid(RED, (64, 64)), "JPEG")[:300], "is truncated or damaged"),
    (encode(solid(RED, (64, 64)))[:-30], "is truncated or damaged"),
])
def test_bad_bytes_are_rejected_with_their_reason(data, reason):
    with pytest.raises(SpecError, match=reason) as e:
        decode_image(data, "bad.file", (8, 8))
    assert e.value.where == "image 'bad.file'"


def test_an_oversize_file_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_FILE_BYTES", 1000)
    data = encode(solid(RED, (64, 64)), "BMP")  # 12 KB
    with pytest.raises(SpecError, match="limit for one image"):
        decode_image(data, "big.bmp")
    assert decode_image(encode(solid(RED, (4, 4))), "small.png").shape == (4, 4, 3)


def test_a_1x1_image_is_accepted_and_resized():
    out = decode_image(encode(solid(GREEN, (1, 1))), "dot.png", (16, 24))
    assert out.shape == (16, 24, 3) and out.dtype == np.uint8
    assert (out == GREEN).all()


def bilevel_png(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG, streamed row by row: small on disk, never in memory whole."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    comp, row = zlib.compressobj(9), b"\0" * (1 + (width + 7) // 8)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0,
                                                              0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.mark.parametrize("w, h", [(20_000, 20_000), (7_000, 6_000)])
def test_too_many_pixels_is_rejected_from_the_header(monkeypatch, w, h):
    from PIL import ImageFile
    data = bilevel_png(w, h)
    assert len(data) < 200_000 and struct.unpack(">II", data[16:24]) == (w, h)
    assert (decode_image(bilevel_png(16, 8), "small.png", None) == 0).all()  # a valid PNG
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load",
                        lambda self: decoded.append(self.size) or real_load(self))
    with pytest.raises(SpecError, match="has too many pixels") as e:
        decode_image(data, "huge.png", (8, 8))
    assert decoded == []
    if w * h < Image.MAX_IMAGE_PIXELS:  # below Pillow's own check: ours names the limit
        assert f"{w}x{h}" in str(e.value) and "limit is 40,000,000" in str(e.value)


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (20, 10), RED)
    im.paste(BLUE, (10, 0, 20, 10))  # stored: left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise: left -> top
    out = decode_image(encode(im, "JPEG", quality=95, exif=exif.tobytes()), "r.jpg", None)
    assert out.shape == (20, 10, 3)
    assert np.abs(out[2, 5].astype(int) - RED).max() < 40
    assert np.abs(out[17, 5].astype(int) - BLUE).max() < 40


def modes():
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (*RED, 255))
    pal = Image.new("P", (4, 4), 1)
    pal.putpalette([0, 0, 0, *GREEN] + [0] * 762)
    pal.putpixel((0, 0), 0)
    cmyk = Image.new("CMYK", (4, 4), (255, 0, 0, 0))  # pure cyan ink
    i16 = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    i16.putpixel((0, 0), 32896)
    return [  # (image, format, save options, pixel (0, 0), pixel (3, 3))
        (rgba, "PNG", {}, RED, (255, 255, 255)),
        (pal, "GIF", {"transparency": 0}, (255, 255, 255), GREEN),
        (pal, "PNG", {}, (0, 0, 0), GREEN),
        (cmyk, "JPEG", {"quality": 100}, (0, 255, 255), (0, 255, 255)),
        (cmyk, "TIFF", {}, (0, 255, 255), (0, 255, 255)),
        (i16, "PNG", {}, (128, 128, 128), (255, 255, 255)),
        (Image.new("I", (4, 4), 1000), "TIFF", {}, (4, 4, 4), (4, 4, 4)),
        (Image.new("L", (4, 4), 100), "TIFF", {}, (100, 100, 100), (100, 100, 100)),
        (Image.new("1", (4, 4), 1), "PNG", {}, (255, 255, 255), (255, 255, 255)),
        (Image.new("LA", (4, 4), (0, 0)), "PNG", {}, (255, 255, 255), (255, 255, 255)),
    ]


@pytest.mark.parametrize("im, fmt, opts, first, last", modes(),
                         ids=lambda v: v.mode if isinstance(v, Image.Image) else None)
def test_every_mode_becomes_rgb(im, fmt, opts, first, last):
    data = encode(im, fmt, **opts)
    source_mode = Image.open(io.BytesIO(data)).mode
    assert source_mode == im.mode or (fmt, im.mode) in {("GIF", "P"), ("PNG", "I")}
    out = decode_image(data, f"m.{fmt.lower()}", None)
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert np.abs(out[0, 0].astype(int) - first).max() <= 3, out[0, 0]
    assert np.abs(out[3, 3].astype(int) - last).max() <= 3, out[3, 3]


# ---------------------------------------------------------------------------- zips


def test_unsafe_zip_entries_are_refused_and_nothing_is_written(tmp_path):
    evil = write_zip(tmp_path / "evil.zip", {
        **good_files(), "../evil.png": encode(solid(RED)), "/abs.png": encode(solid(RED)),
        "C:/drive.png": encode(solid(RED)), "cats/../../up.png": encode(solid(RED)),
        "cats\\..\\..\\win.png": encode(solid(RED))})
    with zipfile.ZipFile(evil, "a") as z:
        link = zipfile.ZipInfo("cats/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "../../../etc/passwd")
        assert {"../evil.png", "/abs.png", "cats/link.png"} <= set(z.namelist())
    before, parent_before = snapshot(tmp_path), set(os.listdir(tmp_path.parent))
    d = load("folder", path=str(evil), image_size=8)
    assert snapshot(tmp_path) == before and set(os.listdir(tmp_path.parent)) == parent_before
    assert d.meta["counts"] == {"cats": 3, "dogs": 3}
    assert reasons(d) == {
        "../evil.png": "refused: has a '..' component in its path",
        "/abs.png": "refused: has an absolute path",
        "C:/drive.png": "refused: has a drive letter in its path",
        "cats/../../up.png": "refused: has a '..' component in its path",
        "cats\\..\\..\\win.png": "refused: has a '..' component in its path",
        "cats/link.png": "refused: is a symbolic link"}


def test_zip_bomb_is_refused_from_the_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "RATIO_MIN_BYTES", 1 << 16)
    bomb = write_zip(tmp_path / "bomb.zip", {**good_files(), "cats/bomb.bmp": bytes(1 << 20)})
    assert zipfile.ZipFile(bomb).getinfo("cats/bomb.bmp").compress_size < (1 << 20) // 200
    report = IngestReport()
    files = read_zip(bomb, report=report)
    assert [r.name for r in report.rejected] == ["cats/bomb.bmp"]
    assert "over 200:1, a zip bomb?" in report.rejected[0].reason
    assert sorted(n for n, _ in files["cats"]) == ["cats/a.png", "cats/b.jpg", "cats/c.gif"]
    stored = write_zip(tmp_path / "stored.zip", {"a/big.bin": bytes(1 << 20)},
                       zipfile.ZIP_STORED)  # ratio 1: only the total limit applies
    with pytest.raises(SpecError, match=r"would unpack to 1,048,576 bytes; the limit is 1,000"):
        read_zip(stored, ZipLimits(max_total_bytes=1000))


def test_zip_limits_are_enforced_while_reading(tmp_path, monkeypatch):
    """A header that lies (here: a reader that returns more than the header says) is caught
    chunk by chunk, and reading stops right past the limit."""
    z = write_zip(tmp_path / "liar.zip", {"cats/a.png": b"x" * 100, "dogs/b.png": b"y" * 100})
    served = []

    class Endless(io.BytesIO):
        def read(self, n=-1):
            chunk = super().read(n)
            served[-1] += len(chunk)
            return chunk

    def open_(self, info, *a, **kw):
        served.append(0)
        return Endless(b"z" * (8 << 20))
    monkeypatch.setattr(zipfile.ZipFile, "open", open_)
    report = IngestReport()
    assert read_zip(z, report=report) == {}
    assert [r.reason for r in report.rejected] == [
        "refused: unpacks to more bytes than its header says"] * 2
    assert served == [1 << 16, 1 << 16]  # one chunk each, not 8 MiB
    with pytest.raises(SpecError, match=r"unpacks to more than 1,000 bytes \(the limit\)"):
        read_zip(z, ZipLimits(max_total_bytes=1000))  # the directory says 200: fine


def test_too_many_entries(tmp_path, monkeypatch):
    files = {f"c{i % 2}/{i}.png": b"" for i in range(6)}
    z = write_zip(tmp_path / "many.zip", files)
    monkeypatch.setattr(images, "MAX_ENTRIES", 5)
    with pytest.raises(SpecError, match="has 6 entries; the limit is 5"):
        load("folder", path=str(z))
    with pytest.raises(SpecError, match="more than 5 files"):
        read_folder(write_tree(tmp_path / "many", files))
    monkeypatch.setattr(images, "MAX_ENTRIES", 6)
    assert sum(map(len, read_zip(z).values())) == 6


def test_zip_inside_a_zip_is_not_read(tmp_path):
    inner = write_zip(tmp_path / "inner.zip", good_files()).read_bytes()
    z = write_zip(tmp_path / "outer.zip", {**good_files(), "cats/inner.zip": inner,
                                           "dogs/sneaky.png": inner})
    d = load("folder", path=str(z), image_size=8)
    assert reasons(d) == {"cats/inner.zip": NESTED_ARCHIVE, "dogs/sneaky.png": NESTED_ARCHIVE}
    assert d.meta["counts"] == {"cats": 3, "dogs": 3}


def test_not_a_zip_and_damaged_entries(tmp_path):
    with pytest.raises(SpecError, match="is not a zip file"):
        read_zip(b"PK but not really a zip")
    raw = bytearray(write_zip(tmp_path / "z.zip", good_files(), zipfile.ZIP_STORED).read_bytes())
    at = raw.index(b"IHDR")  # corrupt the stored bytes of the first PNG: bad CRC-32
    raw[at + 6] ^= 0xFF
    report = IngestReport()
    files = read_zip(bytes(raw), report=report)
    assert [r.name for r in report.rejected] == ["cats/a.png"]
    assert "could not be read from the zip" in report.rejected[0].reason
    assert len(files["cats"]) == 2 and len(files["dogs"]) == 3


# ---------------------------------------------------------------------------- folders


def test_folder_refuses_links_that_leave_it_and_rejects_stray_files(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(encode(solid(GREEN)))
    root = write_tree(tmp_path / "data", {**good_files(), "README.md": b"# my pets",
                                          "cats/.hidden.png": b"skipped"})
    (root / "cats" / "escape.png").symlink_to(outside)
    (root / "dogs" / "again.png").symlink_to(root / "dogs" / "b.png")  # stays inside
    (root / "dogs" / "loop").symlink_to(root / "dogs")  # a cycle: walked once
    report = IngestReport()
    files = read_folder(root, report=report)
    assert {r.name: r.reason for r in report.rejected} == {
        "README.md": "is not inside a class folder",
        "cats/escape.png": "refused: is a symbolic link that leads outside the folder"}
    assert sorted(n for n, _ in files["dogs"]) == [
        "dogs/a.tiff", "dogs/again.png", "dogs/b.png", "dogs/sub/c.jpg"]


def test_one_usable_class_is_a_spec_error_naming_the_counts(tmp_path):
    root = write_tree(tmp_path / "d", {"cats/a.png": encode(solid(RED)),
                                       "cats/b.png": encode(solid(RED)),
                                       "dogs/a.png": encode(solid(BLUE)),
                                       "dogs/b.png": b"broken"})
    with pytest.raises(SpecError, match=r"needs at least 2 classes .* found 'cats': 2, "
                                        r"'dogs': 1; 1 file\(s\) rejected"):
        load("folder", path=str(root))
    with pytest.raises(SpecError, match="found 'only': 3"):
        ingest({"only": [(f"{i}.png", encode(solid(RED))) for i in range(3)]}, (8, 8))
    x, y, names, report = ingest({"a": [("1", encode(solid(RED)))] * 2,
                                  "b": [("2", encode(solid(RED)))] * 2,
                                  "c": [("3", encode(solid(RED)))]}, (8, 8))
    assert names == ("a", "b") and report.dropped == {"c": 1} and y.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("path, rule", [
    ("", "needs a path"),
    ("nowhere/at/all", "does not exist"),
    ("note.txt", "must be a folder or a .zip file"),
])
def test_folder_bad_paths(tmp_path, path, rule):
    (tmp_path / "note.txt").write_text("hello")
    with pytest.raises(SpecError, match=rule):
        load("folder", path=str(tmp_path / path) if path else "")


# ---------------------------------------------------------------------------- csv


def write_csv(tmp_path, text: str, name="t.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_csv_with_string_labels(tmp_path):
    rows = ["sepal,petal,width,species"] + [
        f"{i}.5,{i * 2},{-i},{['versicolor', 'setosa'][i % 2]}" for i in range(10)]
    d = load("csv", path=write_csv(tmp_path, "\n".join(rows) + "\n\n"), val_split=0.2)
    assert d.class_names == ("setosa", "versicolor")
    assert d.input_shape == (3, 1) and d.x_train.dtype == np.float32
    assert d.y_train.dtype == np.int32 and len(d.x_train) + len(d.x_val) == 10
    x = np.concatenate([d.x_train, d.x_val])[..., 0]
    y = np.concatenate([d.y_train, d.y_val])
    i = (x[:, 0] - 0.5).astype(int)  # the row's own index
    assert (x[:, 1] == 2 * i).all() and (y == (i % 2 == 0)).all()  # even rows: versicolor (1)
    assert d.meta["label"] == "species" and d.meta["features"] == ["sepal", "petal", "width"]


def test_csv_integer_labels_sort_numerically_and_label_option(tmp_path):
    rows = ["y,a,b"] + [f"{[10, 2, 7][i % 3]},{i},{i + 1}" for i in range(12)]
    d = load("csv", path=write_csv(tmp_path, "\n".join(rows)), label="y")
    assert d.class_names == ("2", "7", "10") and d.input_shape == (2, 1)
    with pytest.raises(SpecError, match="has no column 'z'; its columns are"):
        load("csv", path=write_csv(tmp_path, "\n".join(rows)), label="z")


@pytest.mark.parametrize("text, rule", [
    ("a,b,label\n1,2,x\n3,oops,y\n", r"column 'b' is not numeric \(row 3 has 'oops'\)"),
    ("a,b,label\n1,2,x\n3,4,y\n5,,x\n", r"missing value in column 'b' on row 4"),
    ("a,b,label\n1,2,x\n3,NaN,y\n", r"missing value in column 'b' on row 3"),
    ("a,b,label\n1,2,x\n3,inf,y\n", r"column 'b' has 'inf' on row 3"),
    ("a,b,label\n1,2,x\n3,4\n", r"row 3 has 2 values; the header has 3 columns"),
    ("a,b,label\n1,2,x\n3,4,\n", r"missing label in column 'label' on row 3"),
    ("a,b,label\n1,2,x\n3,4,x\n", r"has only one class"),
    ("a;b;label\n1;2;x\n", r"needs at least one feature column"),
    ("a,b,label\n", r"has a header but no data rows"),
    ("", r"is empty"),
    ("\n\n  \n", r"is empty"),
])
def test_csv_bad_files(tmp_path, text, rule):
    with pytest.raises(SpecError, match=rule) as e:
        load("csv", path=write_csv(tmp_path, text))
    assert e.value.where == "CSV file 't.csv'"


def test_csv_unreadable_and_missing(tmp_path):
    (tmp_path / "bin.csv").write_bytes(encode(solid(RED)))
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        load("csv", path=str(tmp_path / "bin.csv"))
    with pytest.raises(SpecError, match="does not exist"):
        load("csv", path=str(tmp_path / "gone.csv"))
    with pytest.raises(SpecError, match="is not a file"):
        load("csv", path=str(tmp_path))
