"""The command line, run as a user runs it: ``python -m playground ...`` in a subprocess."""
import json
import os
import subprocess
import sys
import zipfile

import pytest

from playground.cli import main


def run_cli(*args, cwd=None):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_cost_json_has_the_documented_keys():
    r = run_cli("cost", "lenet5", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("params", "trainable_params", "non_trainable_params", "macs", "flops",
                "weight_bytes", "peak_activation_bytes", "uncounted", "layers"):
        assert key in data
    assert data["params"] == 61_706 and data["macs"] == 416_520
    assert data["flops"] >= 2 * data["macs"]
    layer = data["layers"][1]
    for key in ("name", "type", "output_shape", "params", "macs", "receptive_field"):
        assert key in layer
    assert layer["name"] == "c1.conv" and layer["output_shape"] == [28, 28, 6]
    assert layer["receptive_field"] == [5, 5]


def test_cost_table_and_batch(capsys):
    assert main(["cost", "separable-cnn-28", "--batch", "8"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("sep1.sepconv ") for line in out.splitlines())
    assert "(414,981)" in out and "(inference, batch 8)" in out


def test_cost_input_override_changes_macs(capsys):
    assert main(["cost", "resnet20-cifar", "--json"]) == 0
    small = json.loads(capsys.readouterr().out)
    assert main(["cost", "resnet20-cifar", "--input", "64x64x3", "--json"]) == 0
    big = json.loads(capsys.readouterr().out)
    assert big["params"] == small["params"]
    assert big["macs"] == pytest.approx(4 * small["macs"], rel=0.01)


def test_cost_of_a_spec_file_and_a_keras_file(tmp_path, capsys):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"name": "net", "input_shape": [16, 16, 3], "blocks": [
        {"type": "conv", "params": {"filters": 4}}], "head": {"type": "gap_head", "params": {"classes": 2}}}))
    assert main(["cost", str(spec), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 3 * 3 * 3 * 4 + 4 + 4 * 2 + 2
    out = tmp_path / "net.keras"
    assert main(["export", str(spec), "--format", "keras", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["cost", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == data["params"]


def test_zoo_lists_entries_with_params_and_macs(capsys):
    assert main(["zoo", "--filter", "resnet*-cifar", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [f"resnet{d}-cifar" for d in (20, 32, 44, 56, 110)]
    assert all(r["params"] > 0 and r["macs"] > 0 for r in rows)
    assert main(["zoo", "--filter", "lenet5"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("lenet5") and "61.7K" in line and "416.5K" in line


def test_graph_prints_dot(capsys):
    assert main(["graph", "resnet20-cifar"]) == 0
    dot = capsys.readouterr().out
    assert dot.lstrip().startswith(("digraph", "strict digraph"))
    assert "stage1_b1" in dot and "stage3_b3" in dot


def test_export_keras_code_runs(tmp_path, capsys):
    out = tmp_path / "lenet.py"
    assert main(["export", "lenet5", "--format", "keras-code", "-o", str(out)]) == 0
    ns: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), ns)
    model = ns["build_model"]()
    assert model.count_params() == 61_706


def _bad_keras_files(tmp_path):
    import keras
    inp = keras.Input((4,))
    lam = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2)(inp))
    lam_path = tmp_path / "lambda.keras"
    lam.save(lam_path)
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    z = tmp_path / "other.keras"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("hello.txt", "hi")
    return lam_path, text, z


SUBPROCESS_CASES = {"malformed", "lambda", "target", "format"}
BAD_JSON = '{"input_shape": [8, 8, 3], "blocks": [{"type": "conv", '


@pytest.mark.parametrize("case", ["malformed", "unknown_block", "kernel", "groups", "zero",
                                  "residual", "lambda", "text", "zip", "missing", "target",
                                  "shape", "batch", "format"])
def test_bad_input_prints_one_line_and_exits_2(case, tmp_path, capsys):
    def spec_file(blocks):
        p = tmp_path / f"{case}-{len(list(tmp_path.glob('*.json')))}.json"
        p.write_text(json.dumps({"input_shape": [8, 8, 3], "blocks": blocks}))
        return str(p)

    lam, text, z = _bad_keras_files(tmp_path) if case in ("lambda", "text", "zip") else (None,) * 3
    malformed = tmp_path / "bad.json"
    malformed.write_text(BAD_JSON)
    args, expect = {
        "malformed": (["cost", str(malformed)], "file 'bad.json': malformed JSON"),
        "unknown_block": (["cost", spec_file([{"type": "inceptionn"}])], "unknown block type 'inceptionn'"),
        "kernel": (["cost", spec_file([{"type": "conv", "params": {"kernel": 9, "padding": "valid"}}])],
                   "block 'conv_1' (conv): kernel 9x9 is larger than its 8x8 feature map"),
        "groups": (["cost", spec_file([{"type": "conv", "params": {"filters": 8, "groups": 2}}])],
                   "groups=2 must divide"),
        "zero": (["cost", spec_file([{"type": "conv", "params": {"filters": -4}}])],
                 "parameter 'filters' is zero or negative"),
        "residual": (["cost", spec_file([{"type": "residual", "params": {"shortcut": "identity"}}])],
                     "residual add with mismatched shapes"),
        "lambda": (["cost", str(lam)], "file 'lambda.keras'"),
        "text": (["cost", str(text)], "file 'notes.keras'"),
        "zip": (["cost", str(z)], "file 'other.keras'"),
        "missing": (["cost", str(tmp_path / "nope.json")], "file 'nope.json': does not exist"),
        "target": (["cost", "resnet5O"], "did you mean resnet50"),
        "shape": (["cost", "lenet5", "--input", "32xAx1"], "--input"),
        "batch": (["cost", "lenet5", "--batch", "0"], "--batch"),
        "format": (["export", "lenet5", "--format", "png", "-o", "x"], "invalid choice"),
    }[case]
    if case in SUBPROCESS_CASES:  # the real process: nothing else may reach stderr
        r = run_cli(*args)
        code, err = r.returncode, r.stderr.strip()
    else:
        code = main(args)
        err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert expect in err, err
    if case == "lambda":
        assert "Lambda" in err
