"""AppTest smoke tests for the Zoo and Compare pages, and the lecture-comparison buttons."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from playground.comparisons import COMPARISONS
from playground.zoo import ZOO


def _col(at, column):
    return list(at.dataframe[0].value[column])


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
    assert _col(at, "architecture") == ["resnet20-cifar", "plain20-cifar"]
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
    assert _col(at, "architecture") == COMPARISONS.get(name).labels()
    assert _col(at, "conv MACs") == macs
    assert any(COMPARISONS.get(name).title in s.value for s in at.subheader)
    if name == "inception":
        assert any("358M" in m.value for m in at.markdown)
    at.button(key="lecture_clear").click().run()
    assert not at.exception
    assert _col(at, "architecture") == ["resnet20-cifar", "plain20-cifar"]
