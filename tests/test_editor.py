"""The builder's editing model: operations, undo/redo, evaluation, deltas, share links."""
import base64
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.blocks.base import BLOCKS, CATEGORIES
from playground.editor import (HISTORY_LIMIT, DeltaNote, EditSession, apply_gesture, as_editable,
                               delta, evaluate, inner_lists, item_text, palette, spec_from_query,
                               spec_to_query)
from playground.errors import SpecError
from playground.spec import ArchSpec, BlockSpec


def tiny(blocks=(), head=None, shape=(8, 8, 3)):
    return EditSession.start(ArchSpec(shape, tuple(blocks), head, name="tiny"))


def conv(filters=4, kernel=3, **kw):
    return BlockSpec("conv", {"filters": filters, "kernel": kernel, **kw})


# --- operations ---------------------------------------------------------------------------------
def test_start_names_every_block_as_build_would():
    s = tiny([conv(), conv(), BlockSpec("max_pool")])
    assert s.names == ["conv_1", "conv_2", "max_pool_3"]


def test_start_avoids_clashing_with_explicit_names():
    s = tiny([BlockSpec("conv", {}, "conv_2"), conv()])
    assert len(set(s.names)) == 2 and s.names[0] == "conv_2"


def test_add_block_uses_schema_defaults_and_a_unique_name():
    s0 = tiny()
    s1 = s0.add_block("conv")
    assert s0.spec.blocks == ()  # the old state is untouched
    assert s1.spec.blocks[0].params == BLOCKS.get("conv").defaults()
    assert s1.names == ["conv_1"] and s1.last_label == "+Conv"
    s2 = s1.add_block("conv", 0, {"filters": 8})
    assert s2.names == ["conv_2", "conv_1"]
    assert s2.spec.blocks[0].params["filters"] == 8


def test_add_head_type_sets_the_head():
    s = tiny([conv()]).add_block("gap_head", params={"classes": 3})
    assert len(s.spec.blocks) == 1
    assert s.spec.head.type == "gap_head" and s.spec.head.params["classes"] == 3


def test_add_unknown_type_or_bad_index_raises_spec_error():
    with pytest.raises(SpecError, match="unknown block type"):
        tiny().add_block("nope")
    with pytest.raises(SpecError, match="no block position"):
        tiny([conv()]).add_block("conv", 5)


def test_move_block():
    s = tiny([conv(), BlockSpec("max_pool"), BlockSpec("batch_norm")])
    m = s.move_block(0, 2)
    assert m.names == ["max_pool_2", "batch_norm_3", "conv_1"]
    assert m.last_label == "move Conv 1 -> 3"
    assert s.move_block(1, 1) is s


def test_reorder_by_names_and_item_texts():
    s = tiny([conv(), conv(), BlockSpec("max_pool")])
    r = s.reorder(["max_pool_3", "conv_2", "conv_1"])
    assert r.names == ["max_pool_3", "conv_2", "conv_1"]
    texts = [item_text(b) for b in r.spec.blocks]
    assert texts[0] == "max_pool_3 (Max pooling)"
    assert s.reorder(list(reversed(s.items()))).names == ["max_pool_3", "conv_2", "conv_1"]
    with pytest.raises(SpecError, match="missing"):
        s.reorder(["conv_1", "conv_2"])
    with pytest.raises(SpecError, match="repeated"):
        s.reorder(["conv_1", "conv_1", "max_pool_3"])


def test_delete_block():
    s = tiny([conv(), BlockSpec("inception")])
    d = s.delete_block(1)
    assert d.names == ["conv_1"] and d.last_label == "-Inception module"
    with pytest.raises(SpecError):
        d.delete_block(3)


def test_duplicate_gives_fresh_unique_names():
    s = tiny([conv(filters=7)])
    d = s.duplicate_block(0).duplicate_block(0)
    assert d.names == ["conv_1", "conv_3", "conv_2"]
    assert len(set(d.names)) == 3
    assert all(b.params == s.spec.blocks[0].params for b in d.spec.blocks)


def test_update_params_label_and_reset():
    s = tiny([conv(kernel=3)])
    u = s.update_params(0, kernel=5)
    assert u.spec.blocks[0].params["kernel"] == 5
    assert u.last_label == "Conv kernel 3 -> 5"
    assert s.spec.blocks[0].params["kernel"] == 3
    with pytest.raises(SpecError, match="unknown parameter"):
        s.update_params(0, kernal=5)
    assert s.update_params(0, kernel=3) is s  # no change, no history entry


def test_set_head_and_input():
    s = tiny([conv()]).set_head("dense_head", {"classes": 4, "hidden": [8]})
    assert s.spec.head.params["classes"] == 4 and s.spec.head.params["dropout"] == 0.5
    with pytest.raises(SpecError, match="not a head"):
        s.set_head("conv")
    assert s.set_head(None).spec.head is None
    i = s.set_input([16, 16, 1])
    assert i.spec.input_shape == (16, 16, 1) and i.last_label == "input 8x8x3 -> 16x16x1"
    with pytest.raises(SpecError):
        s.set_input([0, 4, 3])


def test_load_is_undoable():
    s = tiny([conv()])
    other = ArchSpec((4, 4, 1), (BlockSpec("flatten"),), name="other")
    l = s.load(other)
    assert l.names == ["flatten_1"] and l.spec.name == "other"
    assert l.undo().spec == s.spec
    assert s.load().spec.blocks == ()


# --- undo / redo --------------------------------------------------------------------------------
def test_undo_redo_sequence():
    s0 = tiny()
    s3 = s0.add_block("conv").add_block("max_pool").update_params(0, filters=8)
    assert s3.undo().undo().undo().spec == s0.spec
    assert s3.undo().undo().undo().undo().spec == s0.spec  # nothing more to undo
    back = s3.undo().undo().redo().redo()
    assert back.spec == s3.spec and not back.can_redo
    # a new edit after an undo drops the redo stack
    branched = s3.undo().add_block("dropout")
    assert not branched.can_redo and branched.names == ["conv_1", "max_pool_1", "dropout_1"]


def test_history_is_bounded():
    s = tiny()
    for i in range(HISTORY_LIMIT + 20):
        s = s.set_input([8 + i % 3 + 1, 8, 3]) if i % 2 else s.set_input([8, 8 + i % 5 + 1, 3])
    assert len(s.undo_stack) == HISTORY_LIMIT


# --- evaluation ---------------------------------------------------------------------------------
def test_evaluate_gives_per_block_shapes_params_and_totals():
    s = tiny([conv(filters=4, bias=False), BlockSpec("max_pool", {"size": 2}),
              BlockSpec("dropout", {"rate": 0.1})],
             head=BlockSpec("gap_head", {"classes": 3}))
    ev = evaluate(s, batch=2)
    assert ev.ok and not ev.stale and ev.error is None
    assert [r.output_shape for r in ev.blocks] == [(8, 8, 4), (4, 4, 4), (4, 4, 4)]
    assert ev.blocks[0].params == 3 * 3 * 3 * 4
    assert ev.blocks[0].macs == 3 * 3 * 3 * 4 * 8 * 8
    assert ev.head.output_shape == (3,) and ev.head.params == 4 * 3 + 3
    assert ev.totals["params"] == 108 + 15
    assert ev.totals["weight_bytes_fp32"] == 4 * 123
    assert set(ev.totals) >= {"macs", "flops", "peak_activation_bytes", "training_memory_total"}
    assert ev.session.last_valid_spec == s.spec
    bare = evaluate(s.set_head("no_head"))
    assert bare.ok and bare.head.output_shape == (4, 4, 4) and bare.head.params == 0


def test_invalid_edit_keeps_last_valid_report_and_points_at_block():
    s = tiny([BlockSpec("batch_norm"), conv(kernel=3, padding="valid")])
    ok = evaluate(s)
    bad_session = ok.session.update_params(1, kernel=9)
    bad = evaluate(bad_session)
    assert not bad.ok and isinstance(bad.error, SpecError)
    assert bad.error_index == 1 and bad.error_block == "conv_2"
    assert bad.stale and bad.report is ok.report and bad.report_spec == s.spec
    assert bad.blocks[1].error and "larger" in bad.blocks[1].error
    assert bad.blocks[1].output_shape == (6, 6, 4)  # the last valid figures stay on screen
    assert bad.totals == ok.totals
    line = delta(ok.report, None, bad_session.last_label)
    assert line == "Conv kernel 3 -> 9: invalid model (figures unchanged)"


def test_head_error_has_no_block_index():
    s = tiny([conv()], head=BlockSpec("dense_head", {"classes": 0}))
    ev = evaluate(s)
    assert not ev.ok and ev.error_block == "head" and ev.error_index is None
    assert ev.head.error and ev.report is None and ev.totals is None


def test_delta_of_a_1x1_bottleneck_matches_the_lecture():
    s = EditSession.start(ArchSpec((28, 28, 256), (
        BlockSpec("conv", {"filters": 192, "kernel": 3, "bias": False}),), name="bottleneck"))
    before = evaluate(s)
    assert before.report.macs == 346_816_512
    after_s = before.session.add_block("pointwise", 0, {"filters": 64, "bias": False})
    after = evaluate(after_s)
    assert after.report.macs == 99_549_184
    line = delta(before.report, after.report, after_s.last_label)
    assert line == "+1x1 bottleneck: -247.3M MACs, -315.4K params"
    assert delta(after.report, before.report, "-1x1 bottleneck").startswith(
        "-1x1 bottleneck: +247.3M MACs, +315.4K params")
    assert delta(before.report, before.report, "reorder") == "reorder: +0 MACs, +0 params"


def test_delta_note_follows_labelled_edits_and_keeps_the_last_valid_report():
    """The Builder's cost-change line across reruns: set by a labelled edit, unchanged by a
    rerun of the same spec, and "invalid" for a bad edit (the last valid report kept)."""
    s = EditSession.start(ArchSpec((28, 28, 256), (
        BlockSpec("conv", {"filters": 192, "kernel": 3, "bias": False}),), name="bottleneck"))
    note = DeltaNote()
    first = evaluate(s)
    assert note.update(s, first.report, first.ok) == "" and note.prev is first.report
    added = first.session.add_block("pointwise", 0, {"filters": 64, "bias": False})
    ev = evaluate(added)
    assert note.update(added, ev.report, ev.ok) == "+1x1 bottleneck: -247.3M MACs, -315.4K params"
    assert note.update(added, ev.report, ev.ok) == note.text  # a rerun: same line
    bad = ev.session.update_params(1, kernel=9, padding="valid").set_input((4, 4, 256))
    bad_ev = evaluate(bad)
    assert not bad_ev.ok
    assert note.update(bad, bad_ev.report, bad_ev.ok).endswith("invalid model (figures unchanged)")
    assert note.prev is ev.report


# --- share links --------------------------------------------------------------------------------
def _link(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


def test_share_link_round_trip():
    spec = ArchSpec((32, 32, 3), (conv(16), BlockSpec("inception"), BlockSpec("max_pool")),
                    BlockSpec("gap_head", {"classes": 10}), name="shared")
    q = spec_to_query(spec)
    assert " " not in q and "=" not in q and "+" not in q and "/" not in q
    assert spec_from_query(q) == spec
    assert spec_from_query(f"http://127.0.0.1:8501/builder?spec={q}") == spec
    assert spec_from_query(f"spec={q}") == spec


@pytest.mark.parametrize("text, rule", [
    ("", "empty"),
    ("abc$%^", "characters"),
    ("A", "truncated"),
    ("AAAAAAAA", "corrupted"),
    (_link({"input_shape": [8, 8, 3]})[:-6], "truncated"),
    (base64.urlsafe_b64encode(b"not zlib at all").decode(), "corrupted"),
    (_link(b"\xff\xfe\xfa"), "text"),
    (_link(b"{not json"), "JSON"),
    (_link({"input_shape": "big"}), "input_shape"),
    (_link([1, 2]), "JSON object"),
    (_link({"input_shape": [8, 8, 3], "blocks": [{"type": "warp_drive"}]}), "unknown type"),
    (_link({"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "params": {"filters": -2}}]}),
     "filters"),
    (_link(b"[" * 200_000), "nested"),
    (_link(b" " * 2_000_000), "more than"),
    ("http://x/builder?other=1", "no 'spec='"),
])
def test_corrupted_share_links_raise_spec_error(text, rule):
    with pytest.raises(SpecError) as info:
        spec_from_query(text)
    assert info.value.where == "shared link"
    assert rule in info.value.rule


def test_share_link_rejects_non_text():
    with pytest.raises(SpecError):
        spec_from_query(None)  # type: ignore[arg-type]


# --- palette ------------------------------------------------------------------------------------
def test_palette_groups_every_block_type_in_category_order():
    p = palette()
    assert list(p) == [c for c in CATEGORIES if c in p]
    types = [item.type for items in p.values() for item in items]
    assert sorted(types) == sorted(BLOCKS.list())
    conv_item = next(i for i in p["convolution"] if i.type == "conv")
    assert conv_item.label == "Conv" and conv_item.doc


# --- property: random edit sequences ----------------------------------------------------------
ADDABLE = ["conv", "pointwise", "max_pool", "batch_norm", "activation", "dropout", "flatten",
           "global_avg_pool", "depthwise_conv", "dense", "gap_head", "no_head"]

op = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(ADDABLE), st.integers(-1, 4)),
    st.tuples(st.just("move"), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("delete"), st.integers(0, 4)),
    st.tuples(st.just("duplicate"), st.integers(0, 4)),
    st.tuples(st.just("kernel"), st.integers(0, 4), st.integers(1, 10)),
    st.tuples(st.just("input"), st.integers(1, 10)),
    st.tuples(st.just("reverse"),),
    st.tuples(st.just("undo"),),
    st.tuples(st.just("redo"),),
)


def _apply(s: EditSession, o: tuple) -> EditSession:
    kind = o[0]
    if kind == "add":
        return s.add_block(o[1], None if o[2] < 0 else o[2])
    if kind == "move":
        return s.move_block(o[1], o[2])
    if kind == "delete":
        return s.delete_block(o[1])
    if kind == "duplicate":
        return s.duplicate_block(o[1])
    if kind == "kernel":
        i = o[1]
        if i < len(s.spec.blocks) and s.spec.blocks[i].type in ("conv", "depthwise_conv"):
            return s.update_params(i, kernel=o[2], padding="valid")
        return s
    if kind == "input":
        return s.set_input([o[1], o[1], 2])
    if kind == "reverse":
        return s.reorder(list(reversed(s.names)))
    if kind == "undo":
        return s.undo()
    return s.redo()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=8))
def test_random_edit_sequences(ops):
    start = tiny([conv()])
    s = start
    history = [(s, s.spec.to_json())]
    for o in ops:
        try:
            s = _apply(s, o)
        except SpecError:
            continue  # an impossible edit (bad index) is refused and changes nothing
        names = s.names
        assert len(set(names)) == len(names) and all(names)
        history.append((s, s.spec.to_json()))
    ev = evaluate(s)  # never raises: an invalid spec comes back as ev.error
    assert ev.ok == (ev.error is None)
    if ev.error is not None:
        assert isinstance(ev.error, SpecError)
        if ev.error_index is not None:
            assert s.names[ev.error_index] == ev.error.block
    assert len(ev.blocks) == len(s.spec.blocks)
    while s.can_undo:
        s = s.undo()
    assert s.spec == start.spec
    for state, text in history:  # earlier states were never mutated
        assert state.spec.to_json() == text


# --- gestures of the drag-and-drop board ----------------------------------------------------
def test_gesture_select_opens_the_block_and_changes_nothing():
    s = tiny([conv(), BlockSpec("max_pool")])
    new, opened = apply_gesture(s, {"kind": "select", "block": "max_pool_2", "id": "x"})
    assert new is s and opened == "max_pool_2"


def test_gesture_add_inserts_at_the_drop_position_and_opens_the_new_block():
    s = tiny([conv(), BlockSpec("max_pool")])
    new, opened = apply_gesture(s, {"kind": "add", "type": "dropout", "index": 1})
    assert new.names == ["conv_1", "dropout_1", "max_pool_2"] and opened == "dropout_1"
    end, opened = apply_gesture(s, {"kind": "add", "type": "conv", "index": 2})
    assert end.names[-1] == opened == "conv_2"
    assert new.undo().spec == s.spec


def test_gesture_move_puts_the_block_at_its_new_position():
    s = tiny([conv(), BlockSpec("max_pool"), BlockSpec("dropout")])
    new, opened = apply_gesture(s, {"kind": "move", "block": "dropout_3", "index": 0})
    assert new.names == ["dropout_3", "conv_1", "max_pool_2"] and opened == "dropout_3"
    same, _ = apply_gesture(s, {"kind": "move", "block": "conv_1", "index": 0})
    assert same is s
    last, _ = apply_gesture(s, {"kind": "move", "block": "conv_1", "index": 99})  # clamped
    assert last.names[-1] == "conv_1"


def test_gesture_delete_removes_the_block():
    s = tiny([conv(), BlockSpec("max_pool")])
    new, opened = apply_gesture(s, {"kind": "delete", "block": "conv_1"})
    assert new.names == ["max_pool_2"] and opened is None
    assert new.last_label.startswith("-")


@pytest.mark.parametrize("event", [
    None, "select", {}, {"kind": "jump"}, {"kind": "select", "block": "nope"},
    {"kind": "delete", "block": None}, {"kind": "add", "type": "no_such_block", "index": 0},
    {"kind": "add", "type": "conv", "index": 7}, {"kind": "move", "block": "conv_1", "index": "0"},
])
def test_malformed_gestures_raise_spec_errors(event):
    with pytest.raises(SpecError):
        apply_gesture(tiny([conv()]), event)


# --- composite blocks edited from the inside: paths and addresses ----------------------------
def res(body, name="res", **kw):
    return BlockSpec("residual", {"body": [b.to_dict() for b in body], **kw}, name)


def mix(branches, name="mix"):
    return BlockSpec("branch_concat", {"branches": [[b.to_dict() for b in br] for br in branches]},
                     name)


def body_of(session, path):
    return [(b.name, b.type) for b in session.blocks_at(path)]


def test_inner_lists_name_blocks_as_the_build_does_and_list_addresses():
    s = tiny([res([conv(4), conv(4, kernel=1)]), mix([[BlockSpec("pointwise")], []])],
             shape=(8, 8, 4))
    assert body_of(s, ["res", "body"]) == [("conv_1", "conv"), ("conv_2", "conv")]
    assert body_of(s, ["mix", "branches", 1]) == []
    assert s.addresses() == ["res", "res/body/conv_1", "res/body/conv_2", "mix",
                             "mix/branches/0/pointwise_1"]
    assert s.block_at("res/body/conv_2").params["kernel"] == 1
    assert s.address_text("res/body/conv_2") == "conv_2 (Conv) in res body"
    assert s.address_text("mix") == "mix (Parallel branches (custom))"
    with pytest.raises(SpecError, match="no block named 'conv_9' in res body"):
        s.block_at("res/body/conv_9")
    with pytest.raises(SpecError, match="has branches 0..1"):
        s.blocks_at(["mix", "branches", 2])


def test_gestures_with_a_path_edit_a_residual_body_and_each_is_undoable():
    s = tiny([res([conv(4), conv(4, kernel=1)], shortcut="projection")], shape=(8, 8, 4))
    a, opened = apply_gesture(s, {"kind": "add", "type": "dropout", "path": ["res", "body"],
                                  "index": 1, "id": "e1"})
    assert opened == "res/body/dropout_1" and a.last_label == "+Dropout in res body"
    assert body_of(a, ["res", "body"]) == [("conv_1", "conv"), ("dropout_1", "dropout"),
                                           ("conv_2", "conv")]
    m, opened = apply_gesture(a, {"kind": "move", "block": "conv_2", "path": ["res", "body"],
                                  "index": 0})
    assert opened == "res/body/conv_2" and m.last_label == "move Conv 3 -> 1 in res body"
    assert [n for n, _ in body_of(m, ["res", "body"])] == ["conv_2", "conv_1", "dropout_1"]
    d, opened = apply_gesture(m, {"kind": "delete", "block": "conv_1", "path": ["res", "body"]})
    assert opened is None and d.last_label == "-Conv from res body"
    assert [n for n, _ in body_of(d, ["res", "body"])] == ["conv_2", "dropout_1"]
    sel, opened = apply_gesture(d, {"kind": "select", "block": "dropout_1",
                                    "path": ["res", "body"]})
    assert sel is d and opened == "res/body/dropout_1"
    assert d.undo().spec == m.spec and d.undo().undo().undo().spec == s.spec
    assert d.spec.blocks[0].params["shortcut"] == "projection"  # its other params are kept


def test_inner_edits_keep_the_built_names_so_figures_follow_the_blocks():
    s = tiny([res([conv(4), conv(4, kernel=1)])], shape=(8, 8, 4))
    before = evaluate(s)
    moved, _ = s.move_to("res/body/conv_2", ["res", "body"], 0)
    after = evaluate(moved)
    row = {r.name: r for r in after.inner["res"].lists[0].rows}
    assert row["conv_2"].params == 16 + 4 and row["conv_1"].params == 3 * 3 * 4 * 4 + 4
    assert after.totals["params"] == before.totals["params"]


def test_update_duplicate_and_delete_at_an_inner_address():
    s = tiny([res([conv(4), conv(4, kernel=1)])], shape=(8, 8, 4))
    u = s.update_params_at("res/body/conv_1", filters=8)
    assert u.block_at("res/body/conv_1").params["filters"] == 8
    assert u.last_label == "Conv filters 4 -> 8 (conv_1 in res body)"
    dup, copy = u.duplicate_at("res/body/conv_1")
    assert copy == "res/body/conv_3"
    assert [n for n, _ in body_of(dup, ["res", "body"])] == ["conv_1", "conv_3", "conv_2"]
    assert dup.block_at(copy).params == u.block_at("res/body/conv_1").params
    gone = dup.delete_at("res/body/conv_3")
    assert gone.spec == u.spec.replace(blocks=gone.spec.blocks) and body_of(gone, ["res", "body"]) \
        == body_of(u, ["res", "body"])
    top, copy = s.duplicate_at("res")
    assert copy == "residual_1" and top.names == ["res", "residual_1"]
    with pytest.raises(SpecError, match="unknown parameter"):
        s.update_params_at("res/body/conv_1", nope=1)


def test_moves_between_lists_and_never_into_the_block_itself():
    s = tiny([conv(4, bias=False), res([conv(4)]), mix([[BlockSpec("pointwise")], []])],
             shape=(8, 8, 4))
    # a top-level block dragged into a body keeps its name when it is free there
    into, where = apply_gesture(s, {"kind": "move", "block": "conv_1", "path": [],
                                    "to": ["res", "body"], "index": 1})
    assert where == "res/body/conv_2"  # conv_1 is taken there: a fresh name
    assert into.names == ["res", "mix"] and len(into.blocks_at(["res", "body"])) == 2
    assert into.last_label == "move Conv to res body"
    # out of a branch into the model's list, then into another branch
    out, where = into.move_to("mix/branches/0/pointwise_1", [], 0)
    assert where == "pointwise_1" and out.names == ["pointwise_1", "res", "mix"]
    back, where = out.move_to("pointwise_1", ["mix", "branches", 1], 0)
    assert where == "mix/branches/1/pointwise_1" and body_of(back, ["mix", "branches", 0]) == []
    with pytest.raises(SpecError, match="cannot go inside itself"):
        s.move_to("res", ["res", "body"], 0)
    with pytest.raises(SpecError, match="no block named"):
        s.move_to("conv_1", ["nope", "body"], 0)
    assert out.undo().spec == into.spec


def test_a_head_cannot_go_inside_a_block():
    s = tiny([res([conv(4)])], shape=(8, 8, 4))
    with pytest.raises(SpecError, match="cannot go inside"):
        s.add_at("gap_head", ["res", "body"])


@pytest.mark.parametrize("naive", [False, True])
def test_an_inception_module_opens_as_four_branches_and_an_edit_keeps_its_cost(naive):
    inc = BlockSpec("inception", {"b1": 8, "b3_reduce": 4, "b3": 8, "b5_reduce": 2, "b5": 4,
                                  "pool_proj": 4, "naive": naive}, "inc")
    s = tiny([inc], shape=(8, 8, 16))
    lists = inner_lists(inc)
    assert [lbl for _, lbl, _, _ in lists] == ["branch 1", "branch 2", "branch 3", "branch 4"]
    assert not any(editable for *_, editable in lists)
    before = evaluate(s)
    nested = before.inner["inc"]
    assert not nested.editable
    names = [[r.name for r in lst.rows] for lst in nested.lists]
    assert names == ([["b1"], ["b3"], ["b5"], ["pool"]] if naive else
                     [["b1"], ["b3_reduce", "b3"], ["b5_reduce", "b5"], ["pool", "pool_proj"]])
    # each derived block's figures are its layers' and add up to the module's
    assert sum(r.params for lst in nested.lists for r in lst.rows) == before.blocks[0].params
    assert sum(r.macs for lst in nested.lists for r in lst.rows) == before.blocks[0].macs
    assert nested.lists[0].rows[0].params == 16 * 8 + 8  # 1x1 conv 16 -> 8 with bias
    # the same layers as editable branches: same params, MACs, output
    same = evaluate(s.load(s.spec.replace(blocks=(as_editable(inc),))))
    assert (same.totals["params"], same.totals["macs"]) == (before.totals["params"],
                                                             before.totals["macs"])
    assert same.blocks[0].output_shape == before.blocks[0].output_shape
    # a select in a derived branch opens the module; a drop into one converts it, one step
    assert apply_gesture(s, {"kind": "select", "block": "b1",
                             "path": ["inc", "branches", 0]})[1] == "inc"
    new, opened = apply_gesture(s, {"kind": "add", "type": "batch_norm",
                                    "path": ["inc", "branches", 0], "index": 1})
    assert opened == "inc/branches/0/batch_norm_1"
    assert new.spec.blocks[0].type == "branch_concat" and new.spec.blocks[0].name == "inc"
    assert new.last_label == "+Batch norm in inc branch 1"
    after = evaluate(new)
    assert after.inner["inc"].editable
    assert after.totals["params"] == before.totals["params"] + 4 * 8  # BN over 8 maps
    assert new.undo().spec == s.spec


def test_evaluate_gives_shapes_and_costs_of_inner_blocks_at_any_depth():
    inner_mix = mix([[BlockSpec("pointwise", {"filters": 2, "bias": False})], []], name="m")
    s = tiny([res([conv(4, bias=False), inner_mix, conv(4, kernel=1, bias=False,
                                                       activation="none")])], shape=(8, 8, 4))
    ev = evaluate(s)
    assert ev.ok, ev.error
    body = ev.inner["res"].lists[0]
    assert body.path == ("res", "body") and body.label == "body"
    assert [(r.address, r.output_shape, r.params, r.macs) for r in body.rows] == [
        ("res/body/conv_1", (8, 8, 4), 144, 144 * 64),
        ("res/body/m", (8, 8, 6), 8, 8 * 64),
        ("res/body/conv_3", (8, 8, 4), 24, 24 * 64)]
    branches = ev.inner["res/body/m"].lists
    assert [lst.path for lst in branches] == [("res", "body", "m", "branches", 0),
                                             ("res", "body", "m", "branches", 1)]
    assert [(r.name, r.output_shape, r.params) for r in branches[0].rows] == [
        ("pointwise_1", (8, 8, 2), 8)]
    assert branches[1].rows == ()
    assert ev.inner["res"].own_params == 0  # identity shortcut, add
    assert ev.row("res/body/m/branches/0/pointwise_1").macs == 8 * 64
    # a projection shortcut is the residual's own cost, outside its body
    proj = evaluate(s.update_params_at("res/body/conv_3", filters=8))
    assert proj.inner["res"].own_params == 4 * 8 + 4 * 8  # 1x1 conv 4 -> 8 (no bias) + BN


def test_an_invalid_inner_block_is_marked_and_the_last_figures_stay():
    s = tiny([res([conv(4), conv(4, kernel=1)])], shape=(8, 8, 4))
    ok = evaluate(s)
    bad = evaluate(ok.session.update_params_at("res/body/conv_2", kernel=9, padding="valid"))
    assert not bad.ok and bad.stale and bad.error_block == "res"
    row = bad.row("res/body/conv_2")
    assert row.error and "larger" in row.error
    assert row.output_shape == (8, 8, 4) and row.params == 20  # the last valid figures
    assert bad.row("res/body/conv_1").error is None
    assert bad.error_address == "res/body/conv_2"  # the block to open, inside the residual
    assert evaluate(tiny([conv(kernel=9, padding="valid")])).error_address == "conv_1"


@pytest.mark.parametrize("event", [
    {"kind": "add", "type": "conv", "path": "res/body"},
    {"kind": "add", "type": "conv", "path": ["res"]},
    {"kind": "add", "type": "conv", "path": ["res", "nope"]},
    {"kind": "add", "type": "conv", "path": ["conv_1", "body"]},
    {"kind": "add", "type": "conv", "path": ["res", "body"], "index": 9},
    {"kind": "select", "block": "conv_1", "path": [3, "body"]},
    {"kind": "delete", "block": "conv_7", "path": ["res", "body"]},
    {"kind": "move", "block": "conv_1", "path": ["res", "body"], "to": ["res", "body", 1],
     "index": 0},
])
def test_malformed_paths_raise_spec_errors(event):
    with pytest.raises(SpecError):
        apply_gesture(tiny([conv(), res([conv(4)])], shape=(8, 8, 4)), event)


def test_composite_edit_labels_count_blocks_instead_of_dumping_them():
    s = tiny([res([conv(4)])], shape=(8, 8, 4))
    u = s.update_params(0, body=[conv(4).to_dict(), conv(4).to_dict()])
    assert u.last_label == "Residual (custom body) body 1 block -> 2 blocks"
    m = tiny([mix([[conv(4)], []])], shape=(8, 8, 4))
    assert "2 branches of 1/0 blocks -> 2 branches of 1/1 blocks" in m.update_params(
        0, branches=[[conv(4).to_dict()], [conv(2).to_dict()]]).last_label


LISTS = ([], ["res", "body"], ["mix", "branches", 0], ["mix", "branches", 1])
gesture = st.one_of(
    st.tuples(st.just("add"), st.sampled_from(["conv", "batch_norm", "residual", "dropout"]),
              st.sampled_from(range(len(LISTS))), st.integers(-1, 3)),
    st.tuples(st.just("move"), st.integers(0, 30), st.sampled_from(range(len(LISTS))),
              st.integers(0, 3)),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("undo")),
)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(ops=st.lists(gesture, min_size=1, max_size=6))
def test_random_gestures_inside_composites(ops):
    start = tiny([res([conv(4)]), mix([[BlockSpec("pointwise", {"filters": 2})], []])],
                 shape=(8, 8, 4))
    s = start
    for o in ops:
        addresses = s.addresses() or ["none"]
        try:
            if o[0] == "add":
                s, opened = s.add_at(o[1], LISTS[o[2]], None if o[3] < 0 else o[3])
                assert opened in s.addresses()
            elif o[0] == "move":
                s, where = s.move_to(addresses[o[1] % len(addresses)], LISTS[o[2]], o[3])
                assert where in s.addresses()
            elif o[0] == "delete":
                s = s.delete_at(addresses[o[1] % len(addresses)])
            else:
                s = s.undo()
        except SpecError:
            continue  # a list that is gone, a block moved into itself: refused, nothing changes
        # every list keeps unique names, so every block stays addressable
        assert len(set(s.addresses())) == len(s.addresses())
        for a in s.addresses():
            assert s.block_at(a).name == a.rsplit("/", 1)[-1]
    ev = evaluate(s)  # never raises
    assert ev.ok == (ev.error is None)
    while s.can_undo:
        s = s.undo()
    assert s.spec == start.spec
