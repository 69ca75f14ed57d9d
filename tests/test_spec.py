"""ArchSpec / BlockSpec: JSON round trip, hashing, validation of the outer format."""
import json

import pytest

from playground.errors import SpecError
from playground.spec import ArchSpec, BlockSpec, block_names
from playground.zoo import ZOO


@pytest.mark.parametrize("name", [n for n in ZOO.list() if ZOO.get(n).is_spec])
def test_zoo_specs_round_trip_through_json(name):
    spec = ZOO.get(name).spec()
    again = ArchSpec.from_json(spec.to_json())
    assert again == spec
    assert again.key() == spec.key()
    assert json.loads(again.to_json()) == json.loads(spec.to_json())


def test_key_changes_with_any_param():
    a = ArchSpec((32, 32, 3), (BlockSpec("conv", {"filters": 8}),))
    b = ArchSpec((32, 32, 3), (BlockSpec("conv", {"filters": 9}),))
    assert a.key() != b.key()
    assert a.key() == ArchSpec.from_dict(a.to_dict()).key()


def test_blockspec_copies_params():
    params = {"filters": 8}
    b = BlockSpec("conv", params)
    params["filters"] = 99
    assert b.params["filters"] == 8


def test_default_block_names_are_type_and_position():
    spec = ArchSpec.from_dict({"input_shape": [8, 8, 1], "blocks": [
        {"type": "conv"}, {"type": "max_pool", "name": "pool"}, {"type": "conv"}]})
    assert block_names(spec) == ["conv_1", "pool", "conv_3"]


def test_with_input_changes_shape_and_classes():
    spec = ZOO.get("resnet20-cifar").spec().with_input((64, 64, 3), classes=7)
    assert spec.input_shape == (64, 64, 3)
    assert spec.head.params["classes"] == 7


@pytest.mark.parametrize("text, rule", [
    ("{not json", "malformed JSON at line 1"),
    ("[1, 2]", "must be a JSON object"),
    ('{"blocks": []}', "input_shape must be a list"),
    ('{"input_shape": [0, 8, 3], "blocks": []}', "zero or negative"),
    ('{"input_shape": [8, 8, 3], "blocks": {}}', "'blocks' must be a list"),
    ('{"input_shape": [8, 8, 3], "blocks": [{"params": {}}]}', "missing block 'type'"),
    ('{"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "colour": 1}]}', "unknown key"),
    ('{"input_shape": [8, 8, 3], "blocks": [{"type": "conv", "name": "a b"}]}', "invalid block name"),
    ('{"input_shape": [8, 8, 3], "blocks": [], "extra": 1}', "unknown key"),
    ('{"input_shape": [8, 8, 3], "blocks": [], "input_dtype": "float64"}', "input_dtype"),
])
def test_malformed_specs_raise_spec_errors(text, rule):
    with pytest.raises(SpecError) as e:
        ArchSpec.from_json(text, "file 'x.json'")
    assert rule in str(e.value)


def test_specs_are_hashable_by_content():
    spec = ZOO.get("resnet20-cifar").spec()
    again = ArchSpec.from_json(spec.to_json())
    assert again is not spec and again == spec and hash(again) == hash(spec)
    assert {spec: 1}[again] == 1
    other = spec.with_input((64, 64, 3))
    assert other != spec and len({spec, again, other}) == 2
    b = BlockSpec("conv", {"filters": 8, "kernel": [3, 3]})
    assert b == BlockSpec.from_dict({"type": "conv", "params": {"kernel": [3, 3], "filters": 8}})
    assert b != BlockSpec("conv", {"filters": 8, "kernel": [3, 3]}, name="c")
    assert len({b, BlockSpec("conv", {"filters": 8, "kernel": [3, 3]})}) == 1


def test_key_is_the_digest_of_the_canonical_json():
    import hashlib
    spec = ZOO.get("googlenet").spec()
    assert spec.key() == hashlib.sha256(spec.to_json(indent=None).encode()).hexdigest()[:20]


def test_copies_and_pickles_are_equal_and_carry_no_derived_state():
    import copy
    import pickle
    spec = ZOO.get("mobilenet").spec()
    hash(spec), spec.key()  # fills the cached canonical text and key
    for twin in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec)):
        assert twin == spec and hash(twin) == hash(spec) and twin.key() == spec.key()
    state = spec.__getstate__()
    assert "_canonical_text" not in state and "_key" not in state and "blocks" in state


def test_inner_blockspecs_in_params_are_hashed_as_their_dicts():
    inner = BlockSpec("conv", {"filters": 4})
    a = BlockSpec("residual", {"body": [inner]})
    b = BlockSpec("residual", {"body": [{"type": "conv", "params": {"filters": 4}}]})
    assert a == b and hash(a) == hash(b)
