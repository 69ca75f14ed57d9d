"""What the charts and tables put on screen (issue 11): per-layer charts name their layers and
keep every point above the lowest tick, the zoo's bubble labels never overlap, missing table
cells read as a dash, the CSV writes counts as integers, and the run figures keep their points
and titles inside the frame. Plain functions on small literals: no Streamlit, no browser."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from playground.cached import analyze_spec
from playground.layer_charts import METRICS, layer_rows, per_layer_figure
from playground.leaderboard import to_csv
from playground.tables import MISSING, shown
from playground.training_charts import (confusion_figure, curves_figure, overlay_figure,
                                         pareto_figure)
from playground.zoo import ZOO
from playground.zoo_chart import (CHAR_W, LABEL_H, Point, axis_ranges, diameters, label_box,
                                  place_labels)


@pytest.fixture(scope="module")
def resnet20_rows():
    return layer_rows(analyze_spec(ZOO.get("resnet20-cifar").spec()), "resnet20-cifar")


def _points(fig):
    return [(x, y) for t in fig.data for x, y in zip(t.x, t.y)]


# --- per-layer charts ----------------------------------------------------------------------
@pytest.mark.parametrize("column, _title, axis, log_y", METRICS)
def test_per_layer_chart_names_its_layers_on_the_x_axis(resnet20_rows, column, _title, axis,
                                                        log_y):
    fig = per_layer_figure(resnet20_rows, column, axis, log_y)
    names = {r["index"]: r["layer"] for r in resnet20_rows}
    ticks = fig.layout.xaxis
    assert ticks.tickvals and len(ticks.tickvals) == len(ticks.ticktext) <= 30
    assert [names[v] for v in ticks.tickvals] == list(ticks.ticktext)  # names, not numbers
    gaps = {b - a for a, b in zip(ticks.tickvals, ticks.tickvals[1:])}
    lo, hi = ticks.range  # spread out: labels of neighbouring layers would overlap
    assert min(gaps) >= (hi - lo) / 30
    assert "stage1_b1.conv1" in ticks.ticktext


@pytest.mark.parametrize("column, _title, axis, log_y", METRICS)
def test_per_layer_chart_has_a_tick_below_its_lowest_point(resnet20_rows, column, _title, axis,
                                                           log_y):
    fig = per_layer_figure(resnet20_rows, column, axis, log_y)
    ys = [y for _, y in _points(fig)]
    lo, hi = fig.layout.yaxis.range
    if log_y:  # axis range in decades; a tick on every decade, so one at the bottom edge
        assert fig.layout.yaxis.dtick == 1 and lo == math.floor(lo) and hi == math.ceil(hi)
        assert 10 ** lo < min(ys) and max(ys) < 10 ** hi
        assert math.log10(min(ys)) - lo >= 0.05  # clear of the edge, not drawn on it
    else:
        assert lo <= 0 <= min(ys) and max(ys) < hi


def test_per_layer_chart_of_several_architectures_keeps_each_layers_name_on_hover():
    plain = layer_rows(analyze_spec(ZOO.get("plain20-cifar").spec()), "plain20-cifar")
    res = layer_rows(analyze_spec(ZOO.get("resnet20-cifar").spec()), "resnet20-cifar")
    fig = per_layer_figure(res + plain, "macs", "multiply-adds", True)
    assert {t.name for t in fig.data} == {"resnet20-cifar", "plain20-cifar"}
    for trace in fig.data:
        rows = {r["index"]: r for r in res + plain if r["architecture"] == trace.name}
        assert [c[0] for c in trace.customdata] == [rows[i]["layer"] for i in trace.x]
        assert "%{customdata[0]}" in trace.hovertemplate


def test_architectures_with_other_layer_names_get_layer_numbers_not_one_of_their_names():
    """Compare's resnet20 vs plain20 once labelled resnet20's depths with plain20's head name."""
    from playground.comparisons import COMPARISONS
    comp = COMPARISONS.get("separable")  # one conv layer vs depthwise + pointwise
    rows = [r for label, spec in comp.variants for r in layer_rows(analyze_spec(spec), label)]
    fig = per_layer_figure(rows, "macs", "multiply-adds", True)
    plotted = {x for t in fig.data for x in t.x}
    axis = fig.layout.xaxis
    assert set(axis.tickvals) == plotted  # a depth only a later architecture reaches, too
    assert list(axis.ticktext) == [str(v + 1) for v in axis.tickvals]
    assert "layer number" in axis.title.text
    one = next(r for r in rows if r["macs"])
    same = per_layer_figure([one, dict(one, architecture="twin")], "macs", "m", True)
    assert list(same.layout.xaxis.ticktext) == [one["layer"]]  # the same names: names


# --- the zoo's bubble chart -----------------------------------------------------------------
def _crowd() -> list[Point]:
    """Eighteen bubbles, many in one corner (as the Keras Applications table is)."""
    pts = [Point(f"Net{i}-{'x' * (i % 5)}", 3 + 0.4 * i, 0.75 + 0.002 * i, 10 + 5 * i)
           for i in range(14)]
    return pts + [Point("Tiny", 0.3, 0.71, 3), Point("Huge", 20, 0.82, 140),
                  Point("Twin-a", 15, 0.713, 138), Point("Twin-b", 19, 0.713, 143)]


def test_placed_labels_overlap_no_label_and_no_other_bubble():
    pts = _crowd()
    width, height = 460, 430
    placed = place_labels(pts, width, height)
    assert len(placed) >= 8
    (x0, x1), (y0, y1) = axis_ranges(pts, width, height)
    xy = [((math.log10(p.x) - x0) / (x1 - x0) * width, (p.y - y0) / (y1 - y0) * height)
          for p in pts]
    radii = [d / 2 for d in diameters(pts)]
    boxes = [label_box(xy[p.index][0] + p.dx, xy[p.index][1] + p.dy, pts[p.index].label)
             for p in placed]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= width and 0 <= a[1] and a[3] <= height
        assert a[2] - a[0] == pytest.approx(CHAR_W * len(pts[placed[i].index].label))
        assert a[3] - a[1] == pytest.approx(LABEL_H)
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
        for k, ((cx, cy), r) in enumerate(zip(xy, radii)):
            if k == placed[i].index:
                continue
            nx, ny = min(max(cx, a[0]), a[2]), min(max(cy, a[1]), a[3])
            assert (nx - cx) ** 2 + (ny - cy) ** 2 >= r * r - 1e-9


def test_bubbles_fit_inside_the_axes():
    pts = _crowd()
    (x0, x1), (y0, y1) = axis_ranges(pts)
    assert x0 < math.log10(0.3) and math.log10(20) < x1 and y0 < 0.71 and 0.82 < y1


# --- tables ---------------------------------------------------------------------------------
def test_missing_numbers_show_a_dash_and_still_sort_as_numbers():
    df = pd.DataFrame({"name": ["a", None, "c"], "acc": [0.5, None, 0.25],
                       "params": [138_357_544, 61_706, float("nan")]})
    styler = shown(df, {"acc": "{:.1%}", "params": "{:,.0f}"})
    text = styler.to_string(delimiter="|").splitlines()
    assert text[1:] == ["0|a|50.0%|138,357,544", f"1|{MISSING}|{MISSING}|61,706",
                        f"2|c|25.0%|{MISSING}"]
    data = styler.data
    assert data["params"].dtype.kind == "f" and data["acc"].dtype.kind == "f"
    assert list(data.sort_values("acc", ascending=False)["name"]) == ["a", "c", MISSING]


# --- the CSV download -----------------------------------------------------------------------
def test_csv_writes_counts_as_integers():
    row = {"run_id": "r1", "name": "n", "params": 2260546.0, "macs": 40812736.0,
           "val_accuracy": 0.5, "warnings": 1, "epochs": 3.0, "train_seconds": 2.5,
           "status": "FINISHED", "started": None}
    line = to_csv([row]).splitlines()[1].split(",")
    assert "2260546" in line and "40812736" in line and "3" in line and "0.5" in line
    assert not any(cell.endswith(".0") for cell in line)


# --- run figures ----------------------------------------------------------------------------
def test_one_epoch_curves_are_drawn_inside_the_axes_with_whole_epoch_ticks():
    history = {"loss": [(1, 0.9)], "val_loss": [(1, 1.0)], "accuracy": [(1, 0.6)],
               "val_accuracy": [(1, 0.55)]}
    fig = curves_figure(history, epochs=1)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        lo, hi = axis.range
        assert lo < 1 < hi and hi - 1 >= 0.05 * (hi - lo)  # the point is not on the edge
        assert axis.dtick == 1  # epochs are whole numbers: no "0.5" tick
    assert overlay_figure({"a": [(1, 0.5)]}).layout.xaxis.dtick == 1


def test_confusion_title_fits_half_a_narrow_page():
    cm = confusion_figure({"class_names": ["circle", "square", "triangle"],
                           "matrix": [[15, 5, 0], [16, 3, 1], [12, 5, 3]], "val_accuracy": 0.35})
    lines = cm.layout.title.text.split("<br>")
    assert all(len(_plain(line)) <= 26 for line in lines)  # ~260 px of a 300 px column
    assert "35.0%" in cm.layout.title.text


def _plain(text: str) -> str:
    import re
    return re.sub(r"<[^>]+>", "", text)


def test_log_axes_label_every_tick_in_full():
    from playground.chart_ticks import log_ticks, si
    ticks = log_ticks(4e5, 6.5e7, si)
    assert ticks["ticktext"] == ["500K", "1M", "2M", "5M", "10M", "20M", "50M"]
    assert len(log_ticks(1e3, 1e12)["tickvals"]) == 10  # thinned to decades when crowded
    rows = [{"run_id": "a", "dataset": "s", "macs": 6.5e5, "val_accuracy": 0.4},
            {"run_id": "b", "dataset": "s", "macs": 4.1e7, "val_accuracy": 0.35}]
    axis = pareto_figure(rows).layout.xaxis
    assert all(not t.isdigit() for t in axis.ticktext)  # "2M", never a bare "2"
    lo, hi = axis.range
    assert lo < math.log10(6.5e5) and math.log10(4.1e7) < hi
