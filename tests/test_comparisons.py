"""The lecture's comparisons reproduce the lecture's figures exactly, uploads fail with one line,
and the shipped zoo summaries equal a fresh analysis (a stale summaries.json fails here)."""
import json

import pytest

from playground.cached import analyze_spec
from playground.cost.headline import summary
from playground.layer_charts import layer_rows
from playground.comparisons import (COMPARISONS, conv_macs, spec_from_upload,
                                    totals)
from playground.errors import SpecError
from playground.zoo import ZOO
from playground.zoo.summaries import FIELDS, load_summaries, write_summaries


def _costs(comp_name):
    comp = COMPARISONS.get(comp_name)
    return {label: analyze_spec(spec) for label, spec in comp.variants}


def test_registry_has_the_seven_lecture_comparisons():
    assert COMPARISONS.list() == ["7x7-vs-3x3", "bottleneck", "inception", "separable",
                                  "grouped", "vgg-head", "plain-vs-residual"]
    for name, comp in COMPARISONS.items():
        assert comp.title and comp.explanation and len(comp.variants) >= 2, name


def test_7x7_vs_three_3x3():
    r = _costs("7x7-vs-3x3")
    one, three = r["one 7x7 conv"], r["three 3x3 convs"]
    c = 64
    assert one.params == 49 * c * c and three.params == 27 * c * c
    assert one.layers[-1].receptive_field == three.layers[-1].receptive_field == (7, 7)
    assert one.macs == 49 * c * c * 56 * 56 and three.macs == 27 * c * c * 56 * 56
    relus = lambda rep: sum(1 for row in rep.layers if row.type in ("Conv2D", "Activation"))  # noqa
    assert relus(one) == 1 and relus(three) == 3


def test_bottleneck():
    r = _costs("bottleneck")
    assert conv_macs(r["3x3 conv 256→192"]) == 346_816_512
    bott = r["1x1 to 64 + 3x3 to 192"]
    assert [row.macs for row in bott.layers if row.type == "Conv2D"] == [12_845_056, 86_704_128]
    assert conv_macs(bott) == 99_549_184


def test_inception_naive_vs_reduced_and_the_slide_note():
    r = _costs("inception")
    assert r["naive module"].by_type()["Conv2D"]["macs"] == 854_196_224
    assert r["with 1x1 reductions"].by_type()["Conv2D"]["macs"] == 271_351_808
    text = COMPARISONS.get("inception").explanation
    assert "358M" in text and "271.35M" in text


def test_separable_matches_mobilenet_table_3():
    r = _costs("separable")
    expected = {"3x3 conv": (462.4e6, 2.36e6), "depthwise separable": (52.3e6, 0.27e6),
                "α = 0.75": (29.6e6, 0.15e6), "α = 0.75, ρ = 0.714": (15.1e6, 0.15e6)}
    for label, (macs, params) in expected.items():
        assert round(r[label].macs / 1e5) == round(macs / 1e5), label
        assert round(r[label].params / 1e4) == round(params / 1e4), label
    assert r["3x3 conv"].macs == 462_422_016 and r["depthwise separable"].macs == 52_283_392


def test_grouped_conv_macs_fall_by_one_over_g():
    r = _costs("grouped")
    base = 3 * 3 * 256 * 256 * 56 * 56
    for g in (1, 2, 32):
        assert r[f"g = {g}"].macs == base // g
        assert r[f"g = {g}"].params == 3 * 3 * 256 * 256 // g


def test_vgg_head_and_plain_vs_residual_reuse_the_zoo():
    r = _costs("vgg-head")
    dense, gap = r["VGG16, dense head"], r["VGG16, GAP head"]
    assert dense.params == 138_357_544
    assert gap.params == 14_714_688 + 512 * 1000 + 1000
    assert conv_macs(dense) == conv_macs(gap)
    comp = COMPARISONS.get("plain-vs-residual")
    assert comp.spec("plain-56") == ZOO.get("plain56-cifar").spec()
    assert comp.spec("ResNet-56") == ZOO.get("resnet56-cifar").spec()


def test_page_helpers():
    rep = analyze_spec(COMPARISONS.get("bottleneck").spec("1x1 to 64 + 3x3 to 192"))
    assert totals(rep)["macs"] == rep.macs
    rows = layer_rows(rep, "b")
    assert [r["index"] for r in rows] == list(range(len(rep.layers)))
    assert rows[-1]["receptive_field"] == 3


# --- uploads ------------------------------------------------------------------------------------
def test_upload_roundtrips_a_spec():
    spec = COMPARISONS.get("bottleneck").spec("1x1 to 64 + 3x3 to 192")
    assert spec_from_upload("mine.json", spec.to_json().encode()) == spec


@pytest.mark.parametrize("name, data, rule", [
    ("bad.json", b"{not json", "malformed JSON at line 1"),
    ("bad.json", b"\xff\xfe", "UTF-8"),
    ("bad.json", b'{"input_shape": [8, 8, 3], "blocks": [{"type": "nope"}]}', "nope"),
    ("bad.json", b'{"input_shape": [8, 8, 3], "blocks": [], "extra": 1}', "unknown key"),
    ("model.txt", b"{}", ".json"),
])
def test_bad_upload_is_one_spec_error(name, data, rule):
    with pytest.raises(SpecError) as e:
        spec_from_upload(name, data)
    assert rule in e.value.rule
    assert e.value.where.startswith(f"file '{name}'")


# --- shipped zoo summaries ------------------------------------------------------------------------
def test_summaries_cover_every_zoo_entry():
    shipped = load_summaries()
    assert set(shipped) == set(ZOO.list())
    for name, row in shipped.items():
        assert set(FIELDS) <= set(row), name


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ZOO.list() if ZOO.get(n).is_spec])
def test_shipped_summary_equals_a_fresh_analysis(name):
    spec = ZOO.get(name).spec()
    fresh = summary(analyze_spec(spec))
    row = load_summaries()[name]
    assert row["input_shape"] == list(spec.input_shape)
    got = {"params": fresh["params"], "trainable": fresh["trainable_params"],
           "non_trainable": fresh["non_trainable_params"], "macs": fresh["macs"],
           "flops": fresh["flops"], "weight_bytes_fp32": fresh["weight_bytes_fp32"],
           "peak_activation_bytes": fresh["peak_activation_bytes"], "layers": fresh["layers"],
           "depth": fresh["depth"]}
    assert {k: row[k] for k in FIELDS} == got, (
        f"playground/zoo/summaries.json is stale for {name}: regenerate it (see "
        "playground/zoo/summaries.py)")


@pytest.mark.parametrize("name", ZOO.list("keras:*"))
def test_shipped_keras_params_equal_the_reference(name):
    entry = ZOO.get(name)
    row = load_summaries()[name]
    assert row["params"] == entry.ref.params
    assert row["input_shape"] == list(entry.input_shape)
    assert row["macs"] > 0


def test_write_summaries_keeps_other_entries(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"entries": {"vgg16": {"params": 1}}}))
    write_summaries(path, names=["lenet5"])
    data = json.loads(path.read_text())
    assert data["entries"]["vgg16"] == {"params": 1}
    assert data["entries"]["lenet5"]["params"] == 61_706
    assert data["entries"]["lenet5"]["macs"] == 416_520
