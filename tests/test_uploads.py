"""Uploads kept under the data folder by content: the same file on every rerun is one file (the
Architecture cost page made a new temporary folder per rerun and never removed it)."""
from __future__ import annotations

import json

import pytest

from playground.data.uploads import save_upload, save_upload_as, upload_file_name
from playground.errors import SpecError
from playground.targets import target_from_upload
from playground.zoo import ZOO


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    return tmp_path


def test_the_same_upload_on_every_rerun_is_one_file(data):
    first = save_upload(b"a,b\n1,2\n", "csv")
    assert first.parent == data / "uploads" and first.suffix == ".csv"
    assert save_upload(b"a,b\n1,2\n", ".csv") == first
    other = save_upload(b"a,b\n3,4\n", "csv")
    assert other != first and other.read_bytes() == b"a,b\n3,4\n"
    assert sorted(p.name for p in (data / "uploads").iterdir()) == sorted([first.name, other.name])


def test_a_named_upload_keeps_our_name_in_a_folder_per_content(data):
    path = save_upload_as(b"model bytes", "model.keras")
    assert path.name == "model.keras" and path.parent.parent == data / "uploads"
    assert save_upload_as(b"model bytes", "model.keras") == path


def test_cost_page_model_upload_reuses_one_file_across_reruns(data):
    """What the Architecture cost page does on each rerun while a .keras upload is present."""
    payload = b"PK\x03\x04 not really a model"
    targets = [target_from_upload("my net.keras", payload) for _ in range(3)]
    assert {t.path for t in targets} == {targets[0].path}
    assert targets[0].name == "my net" and targets[0].path.name == "my net.keras"
    assert len(list((data / "uploads").iterdir())) == 1
    with pytest.raises(SpecError) as e:  # the loader's message names the user's file
        targets[0].build()
    assert e.value.where == "file 'my net.keras'"


@pytest.mark.parametrize("sent, kept", [
    ("my net.keras", "my net.keras"),
    ("C:\\Users\\me\\resnet (v2).KERAS", "resnet (v2).keras"),
    ("../../etc/passwd", "passwd.keras"),
    ("..keras", "keras.keras"),
    ("/", "model.keras"),
    (".hidden.keras", "hidden.keras"),
    ("bell\x07\n.keras", "bell.keras"),
    ("x" * 300 + ".keras", "x" * 94 + ".keras"),
])
def test_an_uploaded_model_keeps_a_clean_form_of_its_own_name(data, sent, kept):
    name = upload_file_name(sent, ".keras")
    assert name == kept
    path = save_upload_as(b"bytes", name)
    assert path.name == kept and path.parent.parent == data / "uploads"
    with pytest.raises(ValueError):
        save_upload_as(b"bytes", "../outside.keras")


def test_a_spec_upload_is_read_and_nothing_is_written(data):
    spec = ZOO.get("lenet5").spec()
    target = target_from_upload("dir/lenet.json", spec.to_json().encode())
    assert target.spec == spec and target.path is None
    assert not (data / "uploads").exists()
    with pytest.raises(SpecError) as e:
        target_from_upload("bad.json", b"\xff\xfe")
    assert e.value.where == "file 'bad.json'" and "UTF-8" in e.value.rule
    with pytest.raises(SpecError):
        target_from_upload("broken.json", json.dumps({"blocks": 3}).encode())
