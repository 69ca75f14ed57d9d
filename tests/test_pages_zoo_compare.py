"""AppTest smoke tests for the Zoo and Compare pages, and the lecture-comparison buttons."""
import base64
import json
import math
from pathlib import Path

import pandas as pd
import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from playground.comparisons import COMPARISONS
from playground.zoo import ZOO


def _archs(at) -> list[str]:
    """The architectures of the Compare table (one column each, after the figure names)."""
    return list(at.dataframe[0].value.columns[1:])


def _figure_row(at, figure: str) -> list[str]:
    table = at.dataframe[0].value.set_index("figure")
    return list(table.loc[figure])


def test_zoo_page_lists_every_entry_from_the_shipped_summaries():
    at = AppTest.from_file("../pages/zoo.py", default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["name"]) == ZOO.list()
    vgg = table.set_index("name").loc["keras:VGG16"]
    assert vgg["params"] == 138_357_544 and vgg["top-1"] == pytest.approx(0.713)
    assert len(at.get("plotly_chart")) == 1
    button = [b for b in at.button if b.label == "Open in builder"][0]
    assert button.disabled == (not (Path(__file__).parents[1] / "pages" / "build.py").is_file())


def test_compare_page_renders_the_default_pair():
    at = AppTest.from_file("../pages/compare.py", default_timeout=120).run()
    assert not at.exception
    assert _archs(at) == ["resnet20-cifar", "plain20-cifar"]
    assert len(at.get("plotly_chart")) == 4  # MACs, params, activations, receptive field
    assert len(at.button) >= len(COMPARISONS)


@pytest.mark.parametrize("name, macs", [
    ("bottleneck", [346_816_512, 99_549_184]),
    ("inception", [854_196_224, 271_351_808]),
])
def test_lecture_button_shows_the_exact_figures(name, macs):
    at = AppTest.from_file("../pages/compare.py", default_timeout=120).run()
    at.button(key=f"lecture_{name}").click().run()
    assert not at.exception
    assert _archs(at) == COMPARISONS.get(name).labels()
    assert _figure_row(at, "conv MACs") == [f"{m:,}" for m in macs]
    assert any(COMPARISONS.get(name).title in s.value for s in at.subheader)
    if name == "inception":
        assert any("358M" in m.value for m in at.markdown)
    at.button(key="lecture_clear").click().run()
    assert not at.exception
    assert _archs(at) == ["resnet20-cifar", "plain20-cifar"]


# --- what the tables and charts show (issue 11: "None" cells, overlapping bubble labels) -------
def _shown(element) -> pd.DataFrame:
    """The text each cell of an AppTest dataframe shows: its Styler's display values, else its
    values as Streamlit draws them (a missing value as "None")."""
    display = element.proto.arrow_data.styler.display_values
    if display:
        return dataframe_util.convert_arrow_bytes_to_pandas_df(display)
    return element.value.map(lambda v: "None" if pd.isna(v) else str(v))


def test_zoo_table_shows_missing_figures_as_a_dash_not_none():
    at = AppTest.from_file("../pages/zoo.py", default_timeout=60).run()
    shown = _shown(at.dataframe[0]).set_index("name")
    assert not shown.isin(["None", "nan", "NaN", "<NA>"]).any().any()
    assert shown.loc["lenet5", "top-1"] == "—" and shown.loc["lenet5", "top-5"] == "—"
    assert shown.loc["keras:VGG16", "top-1"] == "0.713"
    assert shown.loc["keras:VGG16", "params"] == "138,357,544"
    # LeNet-5's 416.5K multiply-adds once read "0.000" in a column of billions
    assert shown.loc["lenet5", "MACs (M)"] == "0.4"
    assert shown.loc["vgg16", "MACs (M)"] == "15,470.3"
    # the numbers stay numbers: a click on a header sorts them as numbers
    assert at.dataframe[0].value["params"].dtype.kind == "f"


def _decoded(obj):
    """A plotly JSON value with its typed arrays (``{"dtype", "bdata"}``) as plain lists."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
            return arr.reshape(obj["shape"]).tolist() if "shape" in obj else arr.tolist()
        return {k: _decoded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decoded(v) for v in obj]
    return obj


def _figure(at, index: int = 0) -> go.Figure:
    """The plotly figure of an AppTest page's chart."""
    return go.Figure(_decoded(json.loads(at.get("plotly_chart")[index].proto.spec)))


def _label_boxes(fig) -> tuple[list, list]:
    """Pixel boxes (left, bottom, right, top) of a bubble chart's labels, and its bubbles as
    (x, y, radius), on a plot ``PLOT_WIDTH`` px wide (the chart at a 1024 px window)."""
    from playground.zoo_chart import CHAR_W, LABEL_H, PLOT_WIDTH
    trace, layout = fig.data[0], fig.layout
    top, bottom = layout.margin.t or 100, layout.margin.b or 80  # plotly's defaults
    width, height = PLOT_WIDTH, (layout.height or 450) - top - bottom
    lx = [math.log10(x) for x in trace.x]
    ys = list(trace.y)

    def axis(values, given):
        if given:
            return given
        lo, hi = min(values), max(values)
        return lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)

    (x0, x1) = axis(lx, layout.xaxis.range)
    (y0, y1) = axis(ys, layout.yaxis.range)
    px = [((a - x0) / (x1 - x0) * width, (b - y0) / (y1 - y0) * height) for a, b in zip(lx, ys)]
    sizes = trace.marker.size if trace.marker.size is not None else [0] * len(px)
    bubbles = [(x, y, s / 2) for (x, y), s in zip(px, sizes)]
    boxes = []
    if "text" in (trace.mode or ""):  # text drawn by the trace, above each marker
        for (x, y, r), label in zip(bubbles, trace.text):
            w = CHAR_W * len(label)
            boxes.append((x - w / 2, y + r, x + w / 2, y + r + LABEL_H))
    for ann in layout.annotations:
        if (ann.xref or "x") != "x":
            continue
        x = (ann.x - x0) / (x1 - x0) * width + (ann.xshift or 0)
        y = (ann.y - y0) / (y1 - y0) * height + (ann.yshift or 0)
        w = CHAR_W * len(ann.text)
        boxes.append((x - w / 2, y - LABEL_H / 2, x + w / 2, y + LABEL_H / 2))
    return boxes, bubbles


def test_zoo_bubble_labels_do_not_overlap():
    at = AppTest.from_file("../pages/zoo.py", default_timeout=60).run()
    fig = _figure(at)
    boxes, bubbles = _label_boxes(fig)
    assert len(boxes) >= 10  # most bubbles are named on the chart
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    assert len(fig.data[0].text) == len(bubbles) == 18  # every Keras Applications entry,
    assert "%{text}" in fig.data[0].hovertemplate       # named on hover
