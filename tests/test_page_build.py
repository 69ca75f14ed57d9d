"""AppTest for the builder page: it renders, edits change the totals by the exact amount, the
model survives a visit to another page, the form follows Undo / Redo, Apply changes only what
was changed, New / Clear / Start from / the name field work, the code on screen is the download,
and a corrupted share link shows an error instead of a traceback."""
import base64
import json
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from playground.cached import analyze_spec
from playground.codegen import source_to_model
from playground.editor import spec_to_query
from playground.export import export_bytes
from playground.spec import ArchSpec
from playground.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
BOTTLENECK = ArchSpec.from_dict({"name": "b", "input_shape": [28, 28, 256], "blocks": [
    {"type": "conv", "name": "conv_1", "params": {"filters": 192, "kernel": 3, "bias": False}}]})
SMALL = ArchSpec.from_dict({"name": "small", "input_shape": [16, 16, 3], "blocks": [
    {"type": "conv", "name": "conv_1", "params": {"filters": 8}},
    {"type": "residual", "name": "res_1", "params": {"body": [
        {"type": "conv", "params": {"filters": 8}},
        {"type": "conv", "params": {"filters": 8, "activation": "none"}}]}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}})


def _metric(at, label):
    return [m for m in at.metric if m.label == label][0]


def _button(at, label):
    return [b for b in at.button if b.label == label][0]


def _page(spec=None) -> AppTest:
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    if spec is not None:
        at.query_params["spec"] = spec_to_query(spec)
    return at.run()


def _model(at) -> ArchSpec:
    return at.session_state["builder"].spec


def _graph_text(at) -> str:
    """The graph on screen: SVG drawn by Graphviz (an image) or DOT laid out in the browser."""
    imgs = at.get("image")
    if imgs:
        url = imgs[0].proto.imgs[0].url
        assert url.startswith("data:image/svg+xml;base64,"), url[:60]
        return base64.b64decode(url.split(",", 1)[1]).decode()
    return at.get("graphviz_chart")[0].proto.spec


def test_builder_renders_empty():
    at = _page()
    assert not at.exception
    assert at.title[0].value == "Builder"
    assert _metric(at, "MACs").value == "0"


def test_shared_link_opens_the_model_and_an_edit_changes_macs_exactly():
    at = _page(BOTTLENECK)
    assert not at.exception
    assert _metric(at, "MACs").help.startswith("346,816,512")
    # edit the conv's kernel 3 -> 1: MACs fall by exactly 9x
    at.text_input(key="p_conv_1_kernel").set_value("1")
    _button(at, "Apply").click().run()
    assert not at.exception
    assert _metric(at, "MACs").help.startswith(f"{28 * 28 * 256 * 192:,}")
    assert any("MACs" in i.value and "-" in i.value for i in at.info)


def test_corrupted_link_shows_an_error_not_a_traceback():
    at = AppTest.from_file("../pages/build.py", default_timeout=120)
    at.query_params["spec"] = "eJzLSM3JyVcozy_KSQEAGgQEXQ-broken!!"
    at.run()
    assert not at.exception
    assert any("shared link" in e.value for e in at.error)


def test_invalid_edit_shows_its_error_once_beside_the_block_and_keeps_last_valid_totals():
    at = _page(BOTTLENECK)
    at.text_input(key="p_conv_1_kernel").set_value("31")
    at.selectbox(key="p_conv_1_padding").set_value("valid")
    _button(at, "Apply").click().run()
    assert not at.exception
    shown = [e.value for e in at.error if "larger than its 28x28 feature map" in e.value]
    assert len(shown) == 1, [e.value for e in at.error]  # was shown twice
    assert any("conv_1" in w.value and "invalid" in w.value for w in at.warning)
    assert _metric(at, "MACs").help.startswith("346,816,512")


def test_graph_and_charts_follow_the_model():
    at = _page(BOTTLENECK)
    graph = _graph_text(at)
    assert "conv_1" in graph and "346.8M MACs" in graph
    assert len(at.get("plotly_chart")) == 0  # only the open tab (Graph) is computed
    [r for r in at.radio if r.label == "Graph level"][0].set_value("layer").run()
    assert "conv_1.conv" in _graph_text(at)
    at.session_state["builder_view"] = "Charts"  # what a click on the "Charts" tab does
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1  # the chosen per-layer chart only
    assert not at.get("image") and not at.get("graphviz_chart")


def test_duplicate_adds_a_copy_opens_it_and_undo_removes_it():
    at = _page(BOTTLENECK.with_input((28, 28, 192)))
    before = _metric(at, "MACs").help
    _button(at, "Duplicate").click().run()
    assert not at.exception
    assert [s for s in at.selectbox if s.label == "Edit block"][0].value == "conv_2"
    assert _metric(at, "MACs").help != before
    _button(at, "Undo").click().run()
    assert _metric(at, "MACs").help == before


def test_open_in_builder_is_an_undoable_load():
    at = _page(BOTTLENECK)
    at.session_state["builder_spec"] = BOTTLENECK.with_input((14, 14, 256)).to_dict()
    at.run()
    assert not at.exception
    assert _metric(at, "MACs").help.startswith(f"{346_816_512 // 4:,}")
    _button(at, "Undo").click().run()
    assert _metric(at, "MACs").help.startswith("346,816,512")


def _board_args(at):
    return json.loads(at.get("component_instance")[0].proto.json_args)


def test_block_board_lists_the_blocks_and_marks_the_open_one():
    at = _page(BOTTLENECK.with_input((28, 28, 192)))
    _button(at, "Duplicate").click().run()
    args = _board_args(at)
    assert [b["name"] for b in args["blocks"]] == ["conv_1", "conv_2"]
    assert args["blocks"][0]["shape"] == "28x28x192"
    assert args["selected"] == "conv_2"  # the copy is open, in the list and in the editor
    [s for s in at.selectbox if s.label == "Edit block"][0].set_value("conv_1").run()
    assert not at.exception
    assert _board_args(at)["selected"] == "conv_1"
    assert at.number_input(key="p_conv_1_filters").value == 192


# --- defects of issue 11 ---------------------------------------------------------------------
def test_model_survives_a_visit_to_another_page_and_the_train_page_sees_it():
    """Defect: Builder -> Start from resnet18 -> Zoo -> Builder showed 0 blocks ("load my_model:
    -1.81G MACs"); the "Start from" widget was forgotten on the other page and re-read as
    "(empty)", which loaded an empty model."""
    at = AppTest.from_file("../app.py", default_timeout=300).run()
    assert not at.exception
    at.selectbox(key="builder_zoo").set_value("resnet18").run()
    _button(at, "Load").click().run()
    assert len(_model(at).blocks) == 10
    macs = _metric(at, "MACs").help
    at.text_input(key="builder_name").set_value("my_resnet").run()
    at.switch_page("pages/zoo.py").run()
    assert not at.exception
    at.switch_page("pages/build.py").run()
    assert not at.exception
    assert len(_model(at).blocks) == 10 and _model(at).name == "my_resnet"
    assert _metric(at, "MACs").help == macs
    assert at.text_input(key="builder_name").value == "my_resnet"
    assert at.selectbox(key="builder_zoo").value == "resnet18"
    assert not any("my_model" in i.value for i in at.info)
    at.switch_page("pages/train.py").run()
    assert not at.exception
    arch = at.selectbox(key="train_arch")
    assert arch.options[0] == "The model in the Builder (my_resnet)"


def test_undo_and_redo_refresh_the_parameter_form():
    """Defect: filters 192 -> 16, Apply, Undo: the block had 192 again, the form still 16, and
    the next Apply re-applied 16."""
    at = _page(BOTTLENECK)
    at.number_input(key="p_conv_1_filters").set_value(16)
    _button(at, "Apply").click().run()
    assert _model(at).blocks[0].params["filters"] == 16
    _button(at, "Undo").click().run()
    assert _model(at).blocks[0].params["filters"] == 192
    assert at.number_input(key="p_conv_1_filters").value == 192
    _button(at, "Apply").click().run()  # nothing changed in the form: nothing to apply
    assert _model(at).blocks[0].params["filters"] == 192
    assert _metric(at, "MACs").help.startswith("346,816,512")
    _button(at, "Redo").click().run()
    assert at.number_input(key="p_conv_1_filters").value == 16


def test_apply_that_changes_the_kernel_keeps_bias_auto():
    """Defect: "auto" showed as an unticked bias box, so changing only the kernel turned the
    bias off ("bias auto -> False") and changed the parameter count."""
    spec = ArchSpec.from_dict({"name": "b", "input_shape": [16, 16, 3], "blocks": [
        {"type": "conv", "name": "conv_1", "params": {"filters": 8}}]})
    at = _page(spec)
    assert at.selectbox(key="p_conv_1_bias").value == "auto"
    assert at.selectbox(key="p_conv_1_bias").options == ["auto", "on", "off"]
    at.text_input(key="p_conv_1_kernel").set_value("5")
    _button(at, "Apply").click().run()
    params = _model(at).blocks[0].params
    assert params["kernel"] == 5 and params.get("bias") is None
    assert _metric(at, "Parameters").help.startswith(f"{5 * 5 * 3 * 8 + 8:,}")  # bias kept
    assert not any("bias" in i.value for i in at.info)
    at.selectbox(key="p_conv_1_bias").set_value("off")
    _button(at, "Apply").click().run()
    assert _model(at).blocks[0].params["bias"] is False
    assert _metric(at, "Parameters").help.startswith(f"{5 * 5 * 3 * 8:,}")


def test_new_clear_and_start_from_always_loads():
    at = _page(SMALL)
    _button(at, "Clear").click().run()
    spec = _model(at)
    assert spec.blocks == () and spec.name == "small" and spec.head is not None
    _button(at, "Undo").click().run()
    assert len(_model(at).blocks) == 2
    _button(at, "New").click().run()
    assert _model(at).blocks == () and _model(at).head is None
    assert _metric(at, "MACs").value == "0"
    at.selectbox(key="builder_zoo").set_value("lenet5").run()
    assert _model(at).blocks == ()  # picking alone changes nothing
    _button(at, "Load").click().run()
    lenet = ZOO.get("lenet5").spec()
    assert len(_model(at).blocks) == len(lenet.blocks)
    _button(at, "Delete").click().run()
    _button(at, "Load").click().run()  # the same pick again: loaded again
    assert len(_model(at).blocks) == len(lenet.blocks)
    assert not at.exception


def test_model_name_names_the_model_and_a_bad_name_shows_beside_the_field():
    at = _page(SMALL)
    at.text_input(key="builder_name").set_value("cifar_net").run()
    assert _model(at).name == "cifar_net"
    at.text_input(key="builder_name").set_value("9 lives").run()
    assert not at.exception
    assert _model(at).name == "cifar_net"
    assert any("model name" in e.value and "9 lives" in e.value for e in at.error)
    assert at.text_input(key="builder_name").value == "9 lives"  # the entry stays to be fixed
    _button(at, "Undo").click().run()  # back to "small": the field shows the model again
    assert at.text_input(key="builder_name").value == "small"
    assert not any("model name" in e.value for e in at.error)


def test_code_on_screen_is_the_download_and_rebuilds_the_model():
    at = _page(SMALL)
    at.session_state["builder_view"] = "Code and export"
    at.run()
    assert not at.exception
    code = at.code[0].value
    assert code.strip() == export_bytes(SMALL, "keras-code").decode().strip()
    assert "def build_model" in code and "'small'" in code
    model = source_to_model(code)
    assert model.count_params() == analyze_spec(SMALL).params
    assert any(b.label == "Keras code" for b in at.get("download_button"))


def test_a_composite_edit_is_summarised_in_the_delta_line():
    at = _page(SMALL)
    at.selectbox(key="builder_pick").set_value("res_1").run()
    body = json.loads(at.text_area(key="p_res_1_body").value)
    body.append({"type": "conv", "params": {"filters": 8, "activation": "none"}})
    at.text_area(key="p_res_1_body").set_value(json.dumps(body))
    _button(at, "Apply").click().run()
    assert not at.exception
    line = [i.value for i in at.info if "MACs" in i.value][0]
    assert line.startswith("Residual (custom body) body 2 blocks -> 3 blocks: +")
    assert "{" not in line and "'type'" not in line


def test_block_names_fit_their_column():
    spec = ZOO.get("resnet18").spec()
    at = _page(spec)
    grid = at.dataframe[0]
    config = json.loads(grid.proto.columns)
    width = config["block"]["width"]
    assert width >= max(len(n) for n in at.session_state["builder"].names) * 7


def test_an_empty_builder_shows_without_keras():
    """The first Builder load imported TensorFlow before showing anything; an empty model needs
    no Keras (it starts loading in the background once the page is shown)."""
    code = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('pages/build.py', default_timeout=300).run()\n"
            "assert not at.exception, at.exception\n"
            "import playground._env as env\n"
            "print('PRELOAD', env._PRELOAD is not None)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    # the background import starts only when Keras was not loaded by the page run
    assert "PRELOAD True" in out.stdout, out.stdout + out.stderr[-2000:]


def test_inner_blocks_are_edited_duplicated_and_deleted_by_address():
    """The Edit-block list names inner blocks; the form, Duplicate and Delete act on the inner
    block at its address, not on the top-level block of the same name."""
    at = _page(SMALL)
    pick = at.selectbox(key="builder_pick")
    assert "conv_1 (Conv) in res_1 body" in pick.options
    pick.set_value("res_1/body/conv_1").run()
    assert not at.exception
    at.text_input(key="p_res_1/body/conv_1_kernel").set_value("1")
    _button(at, "Apply").click().run()
    assert not at.exception
    body = _model(at).blocks[1].params["body"]
    assert body[0]["params"]["kernel"] == 1
    assert _model(at).blocks[0].params.get("kernel", 3) == 3  # the top-level conv_1 untouched
    _button(at, "Duplicate").click().run()
    assert not at.exception
    assert at.selectbox(key="builder_pick").value == "res_1/body/conv_3"
    assert len(_model(at).blocks[1].params["body"]) == 3 and len(_model(at).blocks) == 2
    _button(at, "Delete").click().run()
    assert not at.exception
    assert len(_model(at).blocks[1].params["body"]) == 2 and len(_model(at).blocks) == 2
