"""The studies framework: settings resolve (defaults, the longer preset, strings parsed to the
setting's type, errors naming the setting), the decorator registers, run() measures then
presents, and Context.sweep creates a sweep in the store and waits on it."""
from __future__ import annotations

import pytest

from playground.errors import SpecError
from playground.studies import base
from playground.studies.base import Context, Setting, StudyResult, study


def _toy(name: str = "toy-study", **kw):
    settings = (
        Setting("width", "Width", 64, lo=1, hi=512, longer=256),
        Setting("rate", "Rate", 0.5, lo=0.0, hi=1.0),
        Setting("kind", "Kind", "max", choices=("max", "avg")),
        Setting("skip", "Skip", True),
    )

    @study(name, 99, "Toy", "A claim.", "Look here.", settings=settings, **kw)
    def measure(s, ctx):
        return {"double": s["width"] * 2, "kind": s["kind"]}
    return measure


def test_decorator_registers_and_returns_the_study():
    s = _toy()
    assert base.STUDIES.get("toy-study") is s
    assert s.number == 99 and s.kind == "cost" and not s.trains and not s.background
    with pytest.raises(ValueError, match="kind must be one of"):
        _toy("bad-kind", kind="slow")
    assert [x.name for x in s.settings] == ["width", "rate", "kind", "skip"]


def test_resolve_defaults_and_longer_preset():
    s = _toy()
    assert s.resolve() == {"width": 64, "rate": 0.5, "kind": "max", "skip": True}
    longer = s.resolve(preset="longer")
    assert longer["width"] == 256 and longer["rate"] == 0.5  # no longer value -> the default
    assert s.resolve({"width": "32"}, preset="longer")["width"] == 32  # given wins over preset


def test_resolve_parses_strings_to_the_settings_type():
    got = _toy().resolve({"width": "128", "rate": "0.25", "kind": "avg", "skip": "false"})
    assert got == {"width": 128, "rate": 0.25, "kind": "avg", "skip": False}
    assert type(got["width"]) is int and type(got["rate"]) is float
    assert _toy("t2").resolve({"width": "1e2", "skip": "on", "rate": 1})["width"] == 100
    assert _toy("t3").resolve({"rate": 1})["rate"] == 1.0


@pytest.mark.parametrize("given, setting, words", [
    ({"depth": 3}, "depth", "unknown; known: width, rate, kind, skip"),
    ({"width": 0}, "width", "from 1 to 512"),
    ({"width": "513"}, "width", "from 1 to 512"),
    ({"width": "2.5"}, "width", "an integer"),
    ({"width": "abc"}, "width", "an integer"),
    ({"width": True}, "width", "an integer"),
    ({"rate": "1.5"}, "rate", "from 0 to 1"),
    ({"rate": "nan"}, "rate", "a number"),
    ({"kind": "min"}, "kind", "one of max, avg"),
    ({"skip": "maybe"}, "skip", "true or false"),
])
def test_resolve_errors_name_the_setting(given, setting, words):
    with pytest.raises(SpecError) as e:
        _toy().resolve(given)
    assert f"setting '{setting}'" in str(e.value) and "toy-study" in str(e.value)
    assert words in str(e.value)


def test_unknown_preset_is_a_spec_error():
    with pytest.raises(SpecError, match="preset"):
        _toy().resolve(preset="fast")


def test_bad_default_or_duplicate_setting_fails_at_registration():
    with pytest.raises(SpecError, match="'n'"):
        study("bad-default", 98, "t", "c", "l", settings=(Setting("n", "N", 0, lo=1),))(
            lambda s, c: {})
    with pytest.raises(ValueError, match="repeat"):
        study("dup", 98, "t", "c", "l", settings=(Setting("n", "N", 1), Setting("n", "M", 2)))(
            lambda s, c: {})
    with pytest.raises(KeyError, match="already registered"):
        _toy()
        _toy()


def test_run_measures_then_presents_and_default_present_tabulates():
    s = _toy()
    r = s.run({"width": 10})
    assert isinstance(r, StudyResult) and r.numbers == {"double": 20, "kind": "max"}
    assert r.tables == [("Numbers", [{"quantity": "double", "value": 20},
                                     {"quantity": "kind", "value": "max"}])]


def test_registry_access_get_and_names():
    import playground.studies as studies
    _toy("zz-late")
    names = studies.names()
    assert "zz-late" in names
    numbers = [studies.get(n).number for n in names]
    assert numbers == sorted(numbers)
    # a number's parts in reading order: the counting before the trained half
    assert names.index("residual-paths") == names.index("paths-lesion") - 1
    with pytest.raises(SpecError, match="study 'nope'.*unknown"):
        studies.get("nope")


def test_context_sweep_creates_a_tagged_sweep_and_waits(tmp_path):
    from playground.store import RunStore
    from playground.train import sweeps
    from playground.train.config import TrainConfig
    store = RunStore(f"sqlite:///{tmp_path / 'm.db'}")
    submitted = []

    def submit(config, st, tags):  # a worker that finishes at once
        rid = st.create_run(config.name, {"architecture": config.target}, tags=tags)
        st.mark_running(rid)
        st.log_metrics(rid, {"val_accuracy": 0.5}, 1)
        st.finish(rid, "FINISHED")
        submitted.append(config.seed)
        return rid

    seen = []
    ctx = Context(store=store, progress=seen.append, submit=submit, study_run="run123",
                  study="toy")
    parent = ctx.sweep("toy sweep", [sweeps.Arm("r20", target="resnet20-cifar")],
                       TrainConfig(epochs=1), seeds=[0, 1], timeout=30)
    assert ctx.parents == [parent] and submitted == [0, 1]
    rec = store.get(parent)
    assert rec.status == "FINISHED"
    assert rec.tags[base.STUDY_RUN_TAG] == "run123" and rec.tags[base.STUDY_TAG] == "toy"
    assert any("started sweep" in m for m in seen) and seen[-1].endswith("finished")
