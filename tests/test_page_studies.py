"""The Studies page (AppTest): pick a study, change a setting and see the result follow; a deep
link picks the study; a bad setting shows an error next to it; a training study's button starts
a study run (the orchestrator stubbed) and a finished run is presented from its study.json."""
from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from playground.store import RunStore
from playground.studies import runner
from playground.studies.base import STUDIES

PAGE = "../pages/studies.py"


@pytest.fixture
def fresh_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _app(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def _widget(at, label):
    for kind in ("number_input", "selectbox", "checkbox", "text_input"):
        for w in at.get(kind):
            if w.label == label:
                return w
    raise AssertionError(f"no widget {label!r}")


def test_pick_a_study_and_change_a_setting(fresh_data):
    at = _app()
    assert not at.exception
    assert at.title[0].value == "Studies"
    assert at.selectbox(key="studies_pick").value == "telescoping"  # the first by number
    at.selectbox(key="studies_pick").set_value("bottleneck").run()
    assert not at.exception and at.query_params["study"] in ("bottleneck", ["bottleneck"])
    text = _markdown(at)
    assert "346,816,512" in text and "99,549,184" in text
    assert "128 -> 192" not in text
    assert len(at.get("plotly_chart")) == 3 and len(at.dataframe) == 2
    _widget(at, "Bottleneck width (1x1 output maps)").set_value(128).run()
    assert not at.exception
    text = _markdown(at)
    assert "256 -> 128 -> 192 maps" in text
    cost = 28 * 28 * (256 * 128 + 9 * 128 * 192)
    assert f"{cost / 1e6:.1f}M" in text


def test_deep_link_and_a_bad_link(fresh_data):
    at = _app(study="residual-paths")
    assert not at.exception
    assert at.selectbox(key="studies_pick").value == "residual-paths"
    assert "18,014,398,509,481,984" in _markdown(at)
    at = _app(study="nope")
    assert not at.exception
    assert "study 'nope'" in at.error[0].value
    assert at.selectbox(key="studies_pick").value == "telescoping"


def test_a_bad_setting_shows_an_error_next_to_it_not_a_traceback(fresh_data):
    at = _app(study="residual-paths")
    _widget(at, "Range from (blocks)").set_value(40).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "setting 'lo'" in errors[0] and "at most 'hi'" in errors[0]
    assert not at.get("plotly_chart")


def _toy_training_study():
    from playground.studies.base import Setting, StudyResult, study

    def present(settings, numbers):
        return StudyResult(numbers, [f"trained to {numbers['acc']:.2f}"],
                           tables=[("Accuracy", [{"epochs": settings["epochs"],
                                                  "accuracy": numbers["acc"]}])])

    @study("toy-train", 98, "Toy training", "A claim.", "Look.", kind="trains", present=present,
           settings=(Setting("epochs", "Epochs", 2, lo=1, hi=9, longer=6),))
    def measure(s, ctx):
        return {"acc": 0.5}
    return measure


def test_training_study_starts_in_the_background_and_shows_stored_numbers(fresh_data,
                                                                          monkeypatch):
    # AppTest runs the page in this process: the toy study is registered here
    toy = _toy_training_study()
    started = []

    def fake_start(study, given, preset, store):
        run_id = runner.create(study, study.resolve(given, preset), preset, store)
        started.append((study.name, dict(given), preset))
        return run_id
    monkeypatch.setattr(runner, "start", fake_start)
    at = _app(study="toy-train")
    assert not at.exception
    assert any("No runs of this study yet" in i.value for i in at.info)
    at.toggle(key="study_longer_toy-train").set_value(True).run()
    assert _widget(at, "Epochs").value == 6  # the longer preset's value
    at.button(key="study_run_toy-train").click().run()
    assert not at.exception
    assert started == [("toy-train", {"epochs": 6}, "longer")]
    store = runner.study_store(RunStore().uri)
    (rec,) = runner.records("toy-train", store)
    assert at.button(key="study_run_toy-train").disabled  # one run at a time
    # the orchestrator's work, done here: the run finishes with its numbers
    runner.execute(toy, rec.run_id, {"epochs": 6}, "longer", store)
    at = _app(study="toy-train")
    assert not at.exception
    assert "trained to 0.50" in _markdown(at)
    assert json.loads(store.artifact_text(rec.run_id, "study.json"))["settings"] == {"epochs": 6}
    assert "toy-train" in STUDIES
    # a later run that was cancelled: the open page switches to it once it has ended
    killed = runner.create(toy, toy.resolve(), "default", store)
    store.finish(killed, "KILLED", "cancelled")
    at.run()
    assert not at.exception
    assert at.selectbox(key="study_pick_toy-train").value == killed
    assert "This run was stopped" in at.error[0].value and "cancelled" in at.error[0].value
