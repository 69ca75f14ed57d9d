"""AppTest for the builder page: it renders, edits change the totals by the exact amount, and a
corrupted share link shows an error instead of a traceback."""
from streamlit.testing.v1 import AppTest

from playground.editor import spec_to_query
from playground.spec import ArchSpec

BOTTLENECK = ArchSpec.from_dict({"name": "b", "input_shape": [28, 28, 256], "blocks": [
    {"type": "conv", "name": "conv_1", "params": {"filters": 192, "kernel": 3, "bias": False}}]})


def _metric(at, label):
    return [m for m in at.metric if m.label == label][0]


def test_builder_renders_empty():
    at = AppTest.from_file("../pages/build.py", default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "Builder"


def test_shared_link_opens_the_model_and_an_edit_changes_macs_exactly():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK)
    at.run()
    assert not at.exception
    assert _metric(at, "MACs").help.startswith("346,816,512")
    # edit the conv's kernel 3 -> 1: MACs fall by exactly 9x
    at.text_input(key="p_conv_1_kernel").set_value("1")
    at.number_input(key="p_conv_1_filters").set_value(192)
    [b for b in at.button if b.label == "Apply"][0].click().run()
    assert not at.exception
    assert _metric(at, "MACs").help.startswith(f"{28 * 28 * 256 * 192:,}")
    assert any("MACs" in i.value and "-" in i.value for i in at.info)


def test_corrupted_link_shows_an_error_not_a_traceback():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = "eJzLSM3JyVcozy_KSQEAGgQEXQ-broken!!"
    at.run()
    assert not at.exception
    assert any("shared link" in e.value for e in at.error)


def test_invalid_edit_shows_error_on_block_and_keeps_last_valid_totals():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK)
    at.run()
    at.text_input(key="p_conv_1_kernel").set_value("31")
    at.selectbox(key="p_conv_1_padding").set_value("valid")
    [b for b in at.button if b.label == "Apply"][0].click().run()
    assert not at.exception
    assert any("larger than its 28x28 feature map" in e.value for e in at.error)
    assert _metric(at, "MACs").help.startswith("346,816,512")


def test_graph_and_charts_follow_the_model():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK)
    at.run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"conv_1"' in dot and "346.8M MACs" in dot
    assert len(at.get("plotly_chart")) == 0  # only the open tab (Graph) is computed
    [r for r in at.radio if r.label == "Graph level"][0].set_value("layer").run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"conv_1.conv"' in dot
    at.session_state["builder_view"] = "Charts"  # what a click on the "Charts" tab does
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1  # the chosen per-layer chart only
    assert len(at.get("graphviz_chart")) == 0


def test_duplicate_adds_a_copy_opens_it_and_undo_removes_it():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK.with_input((28, 28, 192)))
    at.run()
    before = _metric(at, "MACs").help
    [b for b in at.button if b.label == "Duplicate"][0].click().run()
    assert not at.exception
    assert [s for s in at.selectbox if s.label == "Edit block"][0].value == "conv_2"
    assert _metric(at, "MACs").help != before
    [b for b in at.button if b.label == "Undo"][0].click().run()
    assert _metric(at, "MACs").help == before


def test_open_in_builder_is_an_undoable_load():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK)
    at.run()
    at.session_state["builder_spec"] = BOTTLENECK.with_input((14, 14, 256)).to_dict()
    at.run()
    assert not at.exception
    assert _metric(at, "MACs").help.startswith(f"{346_816_512 // 4:,}")
    [b for b in at.button if b.label == "Undo"][0].click().run()
    assert _metric(at, "MACs").help.startswith("346,816,512")


def _board_args(at):
    import json
    return json.loads(at.get("component_instance")[0].proto.json_args)


def test_block_board_lists_the_blocks_and_marks_the_open_one():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = spec_to_query(BOTTLENECK.with_input((28, 28, 192)))
    at.run()
    [b for b in at.button if b.label == "Duplicate"][0].click().run()
    args = _board_args(at)
    assert [b["name"] for b in args["blocks"]] == ["conv_1", "conv_2"]
    assert args["blocks"][0]["shape"] == "28x28x192"
    assert args["selected"] == "conv_2"  # the copy is open, in the list and in the editor
    [s for s in at.selectbox if s.label == "Edit block"][0].set_value("conv_1").run()
    assert not at.exception
    assert _board_args(at)["selected"] == "conv_1"
    assert at.number_input(key="p_conv_1_filters").value == 192
