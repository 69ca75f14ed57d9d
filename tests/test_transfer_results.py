"""A transfer run's results: the clickable confusion matrix, which images fall in a cell, the
most frequent confusions and the per-class accuracy bars."""
from __future__ import annotations

from playground.transfer import results as res


CM = {"class_names": ["circle", "square", "triangle"], "matrix": [[8, 2, 0], [1, 9, 0],
                                                                   [0, 3, 7]],
      "val_accuracy": 0.8, "per_class_accuracy": [0.8, 0.9, 0.7]}


def test_confusion_click_figure_has_one_clickable_point_per_cell():
    fig = res.confusion_click_figure(CM, selected=(2, 1))
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
    assert res.selected_cell(event) == (2, 1)
    assert res.selected_cell({"selection": {"points": []}}) is None
    assert res.selected_cell(None) is None


def test_cells_and_confusions():
    assert res.cell_indices([0, 1, 1, 2, 1], [0, 2, 1, 2, 2], 1, 2) == [1, 4]
    assert res.confusions(CM["matrix"]) == [(2, 1, 3), (0, 1, 2), (1, 0, 1)]


def test_per_class_figure_sorts_worst_first():
    fig = res.per_class_figure(CM)
    assert list(fig.data[0].y) == ["triangle", "circle", "square"]
    assert list(fig.data[0].customdata) == [10, 10, 10]
