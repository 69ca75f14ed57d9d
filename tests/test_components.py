"""The playground's custom Streamlit components: the block board's event parsing, its static
frontend, and that it renders inside a Streamlit script."""
import json

from streamlit.testing.v1 import AppTest

from playground.ui.board import EVENT_KINDS, FRONTEND, parse_event
from playground.editor import GESTURES


def test_parse_event_accepts_gestures_and_rejects_anything_else():
    ev = {"kind": "select", "block": "conv_1", "id": "k1"}
    assert parse_event(ev) == ev
    for bad in (None, "select", [], {"kind": "select"}, {"kind": "jump", "id": "x"},
                {"kind": "add", "id": ""}, {"kind": "move", "id": 3}):
        assert parse_event(bad) is None
    assert set(EVENT_KINDS) == set(GESTURES)


def test_frontend_is_static_and_speaks_the_component_protocol():
    html = (FRONTEND / "index.html").read_text()
    for message in ("streamlit:componentReady", "streamlit:setComponentValue",
                    "streamlit:setFrameHeight", "streamlit:render"):
        assert message in html
    assert "<script src" not in html and "http" not in html.replace("http-equiv", "")  # offline
    for kind in EVENT_KINDS:
        assert f'kind: "{kind}"' in html


def _board_script():
    import streamlit as st

    from playground.ui.board import block_board

    ev = block_board([{"header": "Convolution", "items": [{"type": "conv", "label": "Conv"}]}],
                     [{"name": "conv_1", "label": "conv_1 (Conv)", "shape": "8x8x4"}],
                     selected="conv_1", header="Your model", key="board")
    st.write(f"event: {ev}")


def test_block_board_renders_in_a_script_with_its_arguments():
    at = AppTest.from_function(_board_script, default_timeout=60).run()  # first run imports
    assert not at.exception
    el = at.get("component_instance")[0]
    assert el.proto.component_name.endswith("block_board")
    args = json.loads(el.proto.json_args)
    assert args["selected"] == "conv_1" and args["blocks"][0]["shape"] == "8x8x4"
    assert at.markdown[0].value == "event: None"  # no gesture yet
