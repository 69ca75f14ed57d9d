"""Every export format on a tiny model; ONNX runs in onnxruntime with Keras' outputs."""
import stat

import keras
import numpy as np
import pydot
import pytest

from playground import graph as G
from playground.build import build
from playground.codegen import model_structure, source_to_model
from playground.errors import SpecError
from playground.export import EXTENSIONS, FORMATS, export_bytes, export_model
from playground.spec import ArchSpec

SPEC = ArchSpec.from_dict({
    "name": "tiny_cnn", "input_shape": [16, 16, 3],
    "blocks": [
        {"type": "conv", "params": {"filters": 8, "batch_norm": True}},
        {"type": "resnet_basic", "params": {"filters": 8}},
        {"type": "depthwise_separable", "params": {"filters": 12, "stride": 2}},
        {"type": "max_pool"},
    ],
    "head": {"type": "gap_head", "params": {"classes": 5}},
})


@pytest.fixture(scope="module")
def model():
    return build(SPEC)


@pytest.fixture
def fake_dot(monkeypatch, tmp_path):
    exe = tmp_path / "dot"
    exe.write_text("#!/bin/sh\ncat > /dev/null\necho '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(G.shutil, "which", lambda name: str(exe))
    return exe


def test_formats_listed():
    assert FORMATS == ("keras-code", "keras", "onnx", "dot", "svg")
    assert set(EXTENSIONS) == set(FORMATS)


def test_unknown_format_lists_the_formats(model, tmp_path):
    with pytest.raises(SpecError) as e:
        export_model(model, "tflite", tmp_path / "m.tflite")
    assert str(e.value) == ("export: unknown format 'tflite'; choose one of keras-code, keras, "
                            "onnx, dot, svg")


def test_keras_code_from_a_spec_and_from_a_model(model, tmp_path):
    p = export_model(SPEC, "keras-code", tmp_path / "m.py")
    src = p.read_text()
    assert src.startswith("# Architecture spec 'tiny_cnn'") and "model.summary()" in src
    rebuilt = source_to_model(src)
    assert sorted(model_structure(rebuilt)) == sorted(model_structure(model))
    assert rebuilt.count_params() == model.count_params()
    p2 = export_model(model, "keras-code", tmp_path / "m2.py")
    assert source_to_model(p2.read_text()).count_params() == model.count_params()


def test_keras_file(model, tmp_path):
    p = export_model(model, "keras", tmp_path / "m.keras")
    loaded = keras.saving.load_model(p)
    assert loaded.count_params() == model.count_params()
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)
    with pytest.raises(SpecError, match="must end in .keras"):
        export_model(model, "keras", tmp_path / "m.h5")


def test_onnx_matches_keras(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    p = export_model(model, "onnx", tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((3, 16, 16, 3), dtype=np.float32)
    (got,) = sess.run(None, {sess.get_inputs()[0].name: x})
    want = model.predict(x, verbose=0)
    assert got.shape == want.shape == (3, 5)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_onnx_failure_is_a_spec_error(model, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError("converter exploded\nwith details")
    monkeypatch.setattr(type(model), "export", boom)
    with pytest.raises(SpecError) as e:
        export_model(model, "onnx", tmp_path / "m.onnx")
    assert str(e.value) == "onnx export: converter exploded"


def test_dot(model, tmp_path):
    p = export_model(SPEC, "dot", tmp_path / "m.dot")
    parsed = pydot.graph_from_dot_data(p.read_text())[0]
    edges = {(e.get_source().strip('"'), e.get_destination().strip('"'))
             for e in parsed.get_edges()}
    assert ("conv_1", "resnet_basic_2") in edges and ("max_pool_4", "head") in edges
    assert "resnet_basic (7 layers)" in p.read_text()
    p2 = export_model(model, "dot", tmp_path / "l.dot", level="layer")
    assert '"resnet_basic_2.add" -> "resnet_basic_2.out_act"' in p2.read_text()


def test_svg_needs_graphviz(model, tmp_path, monkeypatch):
    monkeypatch.setattr(G.shutil, "which", lambda name: None)
    with pytest.raises(SpecError, match="Graphviz 'dot' is not installed"):
        export_model(model, "svg", tmp_path / "m.svg")
    assert not (tmp_path / "m.svg").exists()


def test_svg_with_dot(model, tmp_path, fake_dot):
    p = export_model(model, "svg", tmp_path / "m.svg")
    assert p.read_bytes().startswith(b"<svg")


def test_export_bytes(model, fake_dot):
    assert export_bytes(SPEC, "dot").startswith(b"digraph")
    assert export_bytes(model, "svg").startswith(b"<svg")
    assert b"def build_model():" in export_bytes(model, "keras-code")


def test_missing_folder(model, tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        export_model(model, "dot", tmp_path / "nope" / "m.dot")
