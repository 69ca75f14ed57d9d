"""AppTest smoke tests: every page renders without an exception, and bad uploads show an error."""
from streamlit.testing.v1 import AppTest


def test_router_opens_the_builder_first():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Builder"]


def test_cost_page_renders_a_zoo_entry():
    at = AppTest.from_file("../pages/cost.py", default_timeout=120).run()
    assert not at.exception
    at.selectbox[0].set_value("lenet5").run()
    assert not at.exception
    assert at.subheader[0].value == "lenet5"
    params = [m for m in at.metric if m.label == "Parameters"][0]
    assert params.value == "61.7K"
    macs = [m for m in at.metric if m.label == "MACs"][0]
    assert macs.value == "416.5K"
