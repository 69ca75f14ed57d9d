"""An uploaded weights file: a safe name by content, the HDF5 signature checked, kept once."""
from __future__ import annotations

import pytest

from playground.errors import SpecError
from playground.transfer import weights_file as wf


@pytest.mark.parametrize("name, expect", [
    ("mobilenet.weights.h5", "_mobilenet.weights.h5"),
    ("../../etc/passwd.h5", "_passwd.h5"),
    ("C:\\Users\\me\\my net (1).h5", "_my_net_1.h5"),
    ("日本.weights.h5", "_weights.weights.h5"),
])
def test_safe_weights_name(name, expect):
    out = wf.safe_weights_name(name, b"data")
    assert out.endswith(expect) and "/" not in out and ".." not in out
    assert len(out.split("_", 1)[0]) == 10


@pytest.mark.parametrize("data, rule", [(b"", "is an empty file"),
                                        (b"PK\x03\x04 a zip", "is not an HDF5 file")])
def test_a_file_that_is_not_a_weights_file_is_refused(tmp_path, monkeypatch, data, rule):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    with pytest.raises(SpecError) as e:
        wf.save_weights_file("../net.weights.h5", data)
    assert e.value.where == "weights file '../net.weights.h5'" and rule in e.value.rule
    assert not (tmp_path / "weights").exists()


def test_a_weights_file_is_kept_once_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    data = wf.HDF5_SIGNATURE + b"rest of the file"
    path = wf.save_weights_file("C:\\me\\net.weights.h5", data)
    assert path.parent == tmp_path / "weights" and path.name.endswith("_net.weights.h5")
    assert path.read_bytes() == data
    assert wf.save_weights_file("net.weights.h5", data) == path
    assert len(list((tmp_path / "weights").iterdir())) == 1
