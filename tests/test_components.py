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


def test_model_blocks_nest_composite_lists_with_paths_and_figures():
    from playground.cost import format_count
    from playground.editor import EditSession, evaluate
    from playground.spec import ArchSpec, BlockSpec
    from playground.ui.board import model_blocks

    body = [{"type": "conv", "params": {"filters": 4, "bias": False}}]
    inc = {"b1": 2, "b3_reduce": 2, "b3": 2, "b5_reduce": 2, "b5": 2, "pool_proj": 2}
    s = EditSession.start(ArchSpec((8, 8, 4), (BlockSpec("residual", {"body": body}, "res"),
                                               BlockSpec("inception", inc, "inc")), name="t"))
    ev = evaluate(s)
    blocks = model_blocks(s, ev)
    json.dumps(blocks)  # the component's arguments travel as JSON
    res, mod = blocks
    assert res["address"] == "res" and res["shape"] == "8x8x4"
    assert [(lst["path"], lst["label"]) for lst in res["lists"]] == [(["res", "body"], "body")]
    conv = res["lists"][0]["blocks"][0]
    assert conv["address"] == "res/body/conv_1" and conv["label"] == "conv_1 (Conv)"
    assert (conv["shape"], conv["params"], conv["macs"]) == ("8x8x4", "144", format_count(144 * 64))
    assert "identity shortcut" in res["merge"] and "note" not in res
    assert [lst["path"] for lst in mod["lists"]] == [["inc", "branches", i] for i in range(4)]
    assert [b["name"] for b in mod["lists"][1]["blocks"]] == ["b3_reduce", "b3"]
    assert "Parallel branches" in mod["note"] and "concatenated" in mod["merge"]
    assert "lists" not in conv  # a plain block has nothing inside


def test_frontend_sends_the_list_path_with_each_gesture():
    html = (FRONTEND / "index.html").read_text()
    for kind in EVENT_KINDS:
        line = next(ln for ln in html.splitlines() if f'kind: "{kind}"' in ln)
        assert "path" in line, line
