"""The cost-only studies against hand-computed values. Every expected number is worked out
here from first principles (K·K·Cin·Cout·H·W and friends, Pascal's triangle), not copied from
the studies' output; the studies count them on built Keras layers."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest

import playground.studies as studies
from playground.cli import main
from playground.errors import SpecError

COST_STUDIES = ("telescoping", "bottleneck", "grouped", "separable", "inception",
                "residual-paths", "downsampling-heads", "conv1d")


def run(name: str, **given):
    return studies.get(name).run(given)


def test_the_cost_studies_are_registered_in_order_and_do_not_train():
    names = studies.names()
    assert [n for n in names if n in COST_STUDIES] == list(COST_STUDIES)
    for n in COST_STUDIES:
        s = studies.get(n)
        assert not s.trains and s.claim and s.look_for and s.settings


def test_telescoping_7x7_vs_three_3x3_and_5x5_vs_two_3x3():
    c, h = 64, 56
    r = run("telescoping")
    v = {x["label"]: x for x in r.numbers["variants"]}
    assert v["one 7x7"]["params"] == 7 * 7 * c * c == 200_704
    assert v["three 3x3"]["params"] == 3 * (3 * 3 * c * c) == 110_592
    assert v["one 5x5"]["params"] == 5 * 5 * c * c
    assert v["two 3x3"]["params"] == 2 * 3 * 3 * c * c
    for label in v:
        assert v[label]["macs"] == v[label]["params"] * h * h  # same padding, stride 1
    assert [v[k]["receptive_field"] for k in ("one 7x7", "three 3x3", "one 5x5", "two 3x3")] \
        == [7, 1 + 3 * 2, 5, 1 + 2 * 2]
    assert v["three 3x3"]["layer_fields"] == [3, 5, 7]
    assert [v[k]["nonlinearities"] for k in ("one 7x7", "three 3x3", "one 5x5", "two 3x3")] \
        == [1, 3, 1, 2]
    assert len(r.figures) == 2 and r.tables[0][1][1]["params / C²"] == 27
    # other settings: C = 16 on 10x10
    v = {x["label"]: x for x in run("telescoping", channels=16, size=10).numbers["variants"]}
    assert v["three 3x3"]["macs"] == 27 * 16 * 16 * 10 * 10


def test_bottleneck_reproduces_the_lecture_example_exactly():
    r = run("bottleneck")
    ex = r.numbers["lecture"]
    assert ex["direct_macs"] == 3 * 3 * 256 * 28 * 28 * 192 == 346_816_512
    assert ex["reduce_macs"] == 1 * 1 * 256 * 28 * 28 * 64
    assert ex["conv_macs"] == 3 * 3 * 64 * 28 * 28 * 192
    assert ex["bottleneck_macs"] == 12_845_056 + 86_704_128 == 99_549_184
    assert ex["direct_params"] == 9 * 256 * 192
    assert ex["bottleneck_params"] == 256 * 64 + 9 * 64 * 192
    assert r.numbers["break_even"] == pytest.approx(9 * 256 * 192 / (256 + 9 * 192))
    w = r.numbers["by_width"]
    for width, macs in zip(w["width"], w["bottleneck_macs"]):
        assert macs == 28 * 28 * (256 * width + 9 * width * 192)
    assert 64 in w["width"]


def test_bottleneck_settings_move_the_curves():
    r = run("bottleneck", cin="512", cout=128, width=32, size=14, kernel=5)
    cur = r.numbers["current"]
    assert cur["direct_macs"] == 25 * 512 * 128 * 14 * 14
    assert cur["bottleneck_macs"] == 14 * 14 * (512 * 32 + 25 * 32 * 128)
    assert r.numbers["lecture"]["direct_macs"] == 346_816_512  # the example stays the lecture's
    for cin, macs in zip(r.numbers["by_cin"]["cin"], r.numbers["by_cin"]["direct_macs"]):
        assert macs == 25 * cin * 128 * 14 * 14


def test_grouped_cost_falls_as_one_over_g_and_resnext_templates_share_a_budget():
    r = run("grouped")
    full = 3 * 3 * 256 * 256 * 56 * 56
    assert full == 1_849_688_064
    for row in r.numbers["groups"]:
        g = row["groups"]
        assert row["macs"] == 3 * 3 * (256 // g) * 256 * 56 * 56 == full // g
        assert row["params"] == 3 * 3 * (256 // g) * 256
    assert [x["groups"] for x in r.numbers["groups"]] == [1, 2, 4, 8, 16, 32, 64]
    t = {x["template"]: x for x in r.numbers["templates"]}
    assert list(t) == ["1x64d", "2x40d", "4x24d", "8x14d", "32x4d"]
    for x in t.values():
        c, d = x["cardinality"], x["d"]
        assert x["params"] == 256 * c * d + c * 9 * d * d + c * d * 256
        assert x["macs"] == x["params"] * 56 * 56
        assert x["d_for_budget"] == d
    assert t["1x64d"]["params"] == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert r.numbers["paper_templates_match"]
    with pytest.raises(SpecError, match="setting 'channels'.*multiple of 64"):
        run("grouped", channels=100)


def test_separable_ratio_table3_and_mobilenet_vs_conv_mobilenet():
    r = run("separable")
    grid = r.numbers["ratio_grid"]
    assert len(grid) == 8 * 4 and all(p["exact"] for p in grid)
    p = next(p for p in grid if p["n"] == 64 and p["dk"] == 3)
    assert p["ratio"] == pytest.approx(float(Fraction(1, 64) + Fraction(1, 9)))
    t3 = r.numbers["table3"]
    assert [row["macs"] for row in t3] == [
        3 * 3 * 512 * 512 * 14 * 14,                    # 462,422,016
        3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14,    # 52,283,392
        3 * 3 * 384 * 14 * 14 + 384 * 384 * 14 * 14,    # alpha 0.75: M = N = 384
        3 * 3 * 384 * 10 * 10 + 384 * 384 * 10 * 10]   # rho 0.714: Df = round(9.996) = 10
    assert [row["params"] for row in t3] == [
        9 * 512 * 512, 9 * 512 + 512 * 512, 9 * 384 + 384 * 384, 9 * 384 + 384 * 384]
    # the paper's Table 3, to the digits it prints
    assert [round(row["macs"] / 1e6, 1) for row in t3] == [462.4, 52.3, 29.6, 15.1]
    assert [round(row["params"] / 1e6, 2) for row in t3] == [2.36, 0.27, 0.15, 0.15]
    nets = r.numbers["networks"]
    assert round(nets["mobilenet"]["macs"] / 1e6) == 569          # Table 4: 569M
    assert abs(nets["conv-mobilenet"]["macs"] / 1e6 - 4866) / 4866 < 0.001  # 4,866M (0.1%)
    assert round(nets["mobilenet"]["params"] / 1e6, 1) == 4.3  # Keras' 4,253,864 (paper 4.2M)
    assert round(nets["conv-mobilenet"]["params"] / 1e6, 1) == 29.3
    # width multiplier on the whole net: about alpha² of the MACs
    half = run("separable", net_alpha=0.5).numbers["networks"]["mobilenet"]["macs"]
    assert 0.2 < half / nets["mobilenet"]["macs"] < 0.3


def test_inception_naive_reduced_and_the_slides_358m_slip():
    r = run("inception")
    hw = 28 * 28
    naive = hw * (256 * 128 + 9 * 256 * 192 + 25 * 256 * 96)
    reduced = hw * (256 * 64 + 256 * 64 + 256 * 128 + 9 * 64 * 192 + 25 * 64 * 96 + 256 * 64)
    assert naive == 854_196_224 and reduced == 271_351_808
    assert r.numbers["naive"]["macs"] == naive and r.numbers["reduced"]["macs"] == reduced
    assert r.numbers["naive"]["out_channels"] == 128 + 192 + 96 + 256
    assert r.numbers["reduced"]["out_channels"] == 128 + 192 + 96 + 64
    br = {b["branch"]: b["macs"] for b in r.numbers["reduced"]["branches"]}
    assert br == {"1x1": hw * 256 * 128, "3x3": hw * (256 * 64 + 9 * 64 * 192),
                  "5x5": hw * (256 * 64 + 25 * 64 * 96), "pool": hw * 256 * 64}
    slip = r.numbers["slip"]
    assert slip["b3_twice"] == reduced + hw * 9 * 64 * 192 == 358_055_936
    assert round(slip["b3_twice"] / 1e6) == 358 != round(reduced / 1e6)
    assert any("358M" in f and "271,351,808" in f for f in r.findings)
    other = run("inception", size=14)
    assert not other.numbers["is_slide"] and other.numbers["naive"]["macs"] == naive // 4


def _pascal(n: int) -> list[int]:
    row = [1]
    for _ in range(n):
        row = [a + b for a, b in zip([0] + row, row + [0])]
    return row


def test_residual_paths_counts_are_exact():
    r = run("residual-paths")
    n = r.numbers
    row = _pascal(54)
    assert n["paths"] == 2 ** 54 == sum(row) == 18_014_398_509_481_984
    assert n["counts"] == row
    inside = sum(row[20:35])
    assert n["in_range"] == inside
    assert Fraction(inside, 2 ** 54) >= Fraction(95, 100)          # "95% between 20 and 34"
    assert Fraction(sum(row[21:34]), 2 ** 54) < Fraction(95, 100)  # and not between 21 and 33
    assert n["narrowest_95"] == [20, 34]
    assert n["resnet110"] == {"blocks": 54, "depth": 110}
    small = run("residual-paths", n=3, lo=1, hi=2).numbers
    assert small["counts"] == [1, 3, 3, 1] and small["in_range"] == 6 and small["paths"] == 8
    with pytest.raises(SpecError, match="setting 'hi'"):
        run("residual-paths", n=10, lo=2, hi=11)


def test_downsampling_and_vgg16_heads():
    r = run("downsampling-heads")
    down = {d["label"]: d for d in r.numbers["downsampling"]}
    assert down["max pool 2x2/2"]["params"] == 0 and down["max pool 2x2/2"]["macs"] == 0
    assert down["strided 3x3 conv /2"]["macs"] == 9 * 64 * 64 * 28 * 28
    assert down["3x3 conv, then max pool"]["macs"] == 9 * 64 * 64 * 56 * 56
    assert {d["output"] for d in down.values()} == {"28x28x64"}
    dense, gap = r.numbers["heads"]["dense"], r.numbers["heads"]["gap"]
    head = (7 * 7 * 512 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert dense["head_params"] == head == 123_642_856
    assert dense["total_params"] == 138_357_544  # Keras' published VGG16 count
    assert round(head / 1e6, 1) == 123.6 and round(dense["total_params"] / 1e6, 1) == 138.4
    assert gap["head_params"] == 512 * 1000 + 1000
    assert gap["total_params"] == dense["total_params"] - head + 513_000
    assert dense["head_macs"] == 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000


def test_conv1d_output_lengths_follow_the_formula():
    r = run("conv1d")
    layers = r.numbers["layers"]
    assert [x["n2_keras"] for x in layers] == [(500 - 7 + 0) // 1 + 1, (494 - 5) // 5 + 1,
                                              (98 - 7) // 1 + 1] == [494, 98, 92]
    assert all(x["match"] for x in layers)
    assert r.numbers["params"] == 10000 * 128 + (7 * 128 * 32 + 32) + (7 * 32 * 32 + 32) + 33
    tab = run("conv1d", data="tabular", length=64, padding="same", stride=2, pool=2).numbers
    assert [x["n2_keras"] for x in tab["layers"]] == [32, 16, 8]  # ceil(64/2), 32/2, ceil(16/2)
    assert tab["layers"][0]["p"] == "3"
    with pytest.raises(SpecError, match="conv1d"):
        run("conv1d", length=10)


def test_cli_study_json_list_and_errors(capsys):
    assert main(["study", "bottleneck", "--set", "width=32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["study"] == "bottleneck" and out["settings"]["width"] == 32
    assert out["numbers"]["current"]["bottleneck_macs"] == 28 * 28 * (256 * 32 + 9 * 32 * 192)
    assert out["numbers"]["lecture"]["bottleneck_macs"] == 99_549_184
    assert main(["study", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.split()[:3] == ["2", "bottleneck", "cost"] for line in listed)
    assert any(line.split()[:3] == ["12", "macs-vs-speed", "times"] for line in listed)
    assert main(["study", "--list", "--json"]) == 0
    assert {"number": 7, "name": "residual-paths", "title": studies.get("residual-paths").title,
            "kind": "cost", "trains": False} in json.loads(capsys.readouterr().out)
    assert main(["study", "inception"]) == 0
    text = capsys.readouterr().out
    assert "271,351,808" in text and "358M" in text
    for argv, words in ((["study", "nope"], "study 'nope'"),
                        (["study", "bottleneck", "--set", "width=0"], "setting 'width'"),
                        (["study", "bottleneck", "--set", "width"], "KEY=VALUE")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err
