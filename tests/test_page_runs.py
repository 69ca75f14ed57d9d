"""The Leaderboard page (AppTest on a store the tests fill themselves) and the run figures of
``playground.training_charts`` (plain functions, no Streamlit)."""
from __future__ import annotations

import json

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from playground import leaderboard
from playground.training_charts import (confusion_figure, curves_figure, overlay_figure,
                                   pareto_figure, pareto_fronts, steps_per_epoch)
from playground.store import RunStore

from conftest import fake_run
from test_pages_zoo_compare import _shown

PAGE = "../pages/runs.py"


@pytest.fixture
def fresh_store(tmp_path, monkeypatch):
    """An empty store of its own (the pages find it through PLAYGROUND_DATA)."""
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return RunStore()


@pytest.fixture
def filled(fresh_store):
    s = fresh_store
    ids = {
        "small": fake_run(s, "small net", macs=1e6, accs=(0.6, 0.9)),
        "mid": fake_run(s, "mid net", macs=4e6, accs=(0.7, 0.97), architecture="resnet20-cifar"),
        "big": fake_run(s, "big net", macs=9e6, accs=(0.8, 0.93)),
        "digits": fake_run(s, "digits net", dataset="digits", macs=2e6, accs=(0.5, 0.85)),
        "failed": fake_run(s, "broken net", accs=(0.4,), status="FAILED",
                           error="loss became nan in epoch 2"),
    }
    return s, ids


def _table(at):
    return at.dataframe[0].value


def _names(at):
    return list(_table(at)["run"])


def _plot_spec(at, index):
    return json.loads(at.get("plotly_chart")[index].proto.spec)


# --- the page ------------------------------------------------------------------------------
def test_empty_store_points_to_the_train_page(fresh_store):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Leaderboard"
    assert any("Train" in i.value for i in at.info)
    assert not at.dataframe


def test_lists_every_run_with_pareto_front_per_data_set(filled):
    store, ids = filled
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    table = _table(at)
    assert sorted(table["run"]) == sorted(["small net", "mid net", "big net", "digits net",
                                           "broken net"])
    starred = set(table.loc[table["★"] == "★", "run"])
    assert starred == {"small net", "mid net", "digits net"}  # big net: costlier and worse
    failed = table.set_index("run").loc["broken net"]
    assert failed["status"] == "FAILED"
    assert table.set_index("run").loc["mid net", "val acc"] == pytest.approx(0.97)
    # the scatter draws each data set's front through the same runs, ordered by MACs
    pareto = [t for t in _plot_spec(at, -1)["data"] if t["name"].startswith("Pareto")]
    assert {t["name"]: t["ids"] for t in pareto} == {
        "Pareto front (digits)": [ids["digits"]],
        "Pareto front (shapes)": [ids["small"], ids["mid"]]}
    assert any("small net → mid net" in c.value for c in at.caption)


def test_missing_figures_show_a_dash_and_status_and_start_come_first(filled):
    store, ids = filled
    died = store.create_run("died early", {"architecture": "quick-cnn", "dataset": "shapes"})
    store.mark_running(died)
    store.finish(died, "FAILED", "worker died before the first epoch")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    shown = _shown(at.dataframe[0]).set_index("run")
    assert not shown.isin(["None", "nan", "NaN", "<NA>", "NaT"]).any().any()
    assert shown.loc["died early", "val acc"] == "—" and shown.loc["died early", "epochs"] == "—"
    assert shown.loc["mid net", "val acc"] == "97.0%"
    # run, outcome and start time lead, so a 1024 px window shows them without scrolling
    assert list(at.dataframe[0].value.columns[:5]) == ["★", "run", "status", "started", "val acc"]


def test_filters_by_text_status_and_data_set(filled):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.text_input(key="lb_text").set_value("resnet").run()
    assert _names(at) == ["mid net"]
    at.text_input(key="lb_text").set_value("").run()
    at.multiselect(key="lb_status").set_value(["FAILED"]).run()
    assert _names(at) == ["broken net"]
    at.multiselect(key="lb_status").set_value([]).run()
    at.multiselect(key="lb_dataset").set_value(["digits"]).run()
    assert _names(at) == ["digits net"]
    at.text_input(key="lb_text").set_value("no such run").run()
    assert not at.exception
    assert any("No run matches" in i.value for i in at.info)


def test_csv_export_is_the_filtered_leaderboard(filled, monkeypatch):
    store, ids = filled
    saved = []
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        saved.append((path_or_data, mimetype, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.multiselect(key="lb_dataset").set_value(["shapes"]).run()
    assert not at.exception
    data, mime, filename = [s for s in saved if s[1] == "text/csv"][-1]
    text = data.decode() if isinstance(data, bytes) else data
    expected = leaderboard.to_csv(leaderboard.filter_rows(leaderboard.rows(store),
                                                          datasets=["shapes"]))
    assert text == expected
    lines = text.splitlines()
    assert lines[0].split(",") == list(leaderboard.COLUMNS)
    assert len(lines) == 1 + 4 and filename == "playground-runs.csv"
    assert "loss became nan in epoch 2" in text


def test_overlay_shows_the_picked_runs_curves(filled):
    store, ids = filled
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    picks = at.multiselect(key="lb_picks").value
    assert len(picks) == 3 and ids["failed"] not in picks  # newest finished runs by default
    at.multiselect(key="lb_picks").set_value([ids["small"], ids["mid"]]).run()
    overlay = _plot_spec(at, 0)
    assert [t["y"] for t in overlay["data"]] == [[0.6, 0.9], [0.7, 0.97]]
    at.radio(key="lb_metric").set_value("loss").run()
    assert not at.exception
    assert _plot_spec(at, 0)["data"][0]["y"] == pytest.approx([0.9, 0.6])


def test_delete_asks_first_then_removes_the_picked_runs(filled):
    store, ids = filled
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.multiselect(key="lb_picks").set_value([ids["failed"], ids["big"]]).run()
    at.button(key="lb_delete").click().run()
    assert any("Delete 2 runs" in w.value for w in at.warning)
    assert len(store.list_runs()) == 5  # nothing deleted before the confirmation
    at.button(key="lb_delete_no").click().run()
    assert not at.warning and len(store.list_runs()) == 5
    at.button(key="lb_delete").click().run()
    at.button(key="lb_delete_yes").click().run()
    assert not at.exception
    left = {r.run_id for r in store.list_runs()}
    assert ids["failed"] not in left and ids["big"] not in left and len(left) == 3
    assert sorted(_names(at)) == ["digits net", "mid net", "small net"]


def test_router_has_the_train_and_leaderboard_pages(fresh_store):
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Leaderboard"]
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Train"]


# --- training_charts ----------------------------------------------------------------------------
HISTORY = {"loss": [(1, 1.0), (2, 0.5)], "val_loss": [(1, 1.1), (2, float("nan"))],
           "accuracy": [(1, 0.6), (2, 0.8)], "val_accuracy": [(1, 0.55), (2, 0.75)],
           "batch_loss": [(5, 1.2), (10, 1.0), (15, 0.7)]}


def test_curves_figure_train_vs_val_with_faint_batch_loss():
    fig = curves_figure(HISTORY, steps_per_epoch=10, live=(1.8, 0.6, 0.8), epochs=4)
    traces = {(t.name, t.xaxis): t for t in fig.data}
    batch = traces[("train loss (batches)", "x")]
    assert list(batch.x) == [0.5, 1.0, 1.5, 1.8] and list(batch.y) == [1.2, 1.0, 0.7, 0.6]
    assert batch.opacity < 0.5
    assert list(traces[("validation", "x")].y) == [1.1]  # NaN dropped
    assert list(traces[("train", "x2")].y) == [0.6, 0.8]
    assert list(traces[("validation", "x2")].x) == [1, 2]
    lo, hi = fig.layout.xaxis.range  # the planned run length, and room past its last epoch
    assert lo == 0 and 4 < hi < 4.5
    # no steps per epoch: no batch line; empty history: an empty but valid figure
    assert all(t.name != "train loss (batches)" for t in curves_figure(HISTORY).data)
    assert len(curves_figure({}).data) == 0


def test_overlay_confusion_and_pareto_figures():
    fig = overlay_figure({"a": [(1, 0.5), (2, 0.7)], "b": [(1, 0.4)]}, "val_accuracy")
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].y) == [0.5, 0.7]
    assert fig.layout.yaxis.tickformat == ".0%"

    cm = confusion_figure({"class_names": ["circle", "square"], "matrix": [[5, 1], [0, 6]],
                           "val_accuracy": 11 / 12})
    heat = cm.data[0]
    assert list(heat.x) == ["circle", "square"] and [list(r) for r in heat.z] == [[5, 1], [0, 6]]
    assert "91.7%" in cm.layout.title.text

    rows = [{"run_id": "a", "name": "a", "dataset": "s", "macs": 1e6, "val_accuracy": 0.8},
            {"run_id": "b", "name": "b", "dataset": "s", "macs": 2e6, "val_accuracy": 0.9},
            {"run_id": "c", "name": "c", "dataset": "s", "macs": 3e6, "val_accuracy": 0.85},
            {"run_id": "d", "name": "d", "dataset": "t", "macs": 5e5, "val_accuracy": 0.5},
            {"run_id": "e", "name": "e", "dataset": "s", "macs": None, "val_accuracy": 1.0}]
    assert pareto_fronts(rows) == {"s": ["a", "b"], "t": ["d"]}
    fig = pareto_figure(rows)
    assert fig.layout.xaxis.type == "log"
    fronts = {t.name: list(t.ids) for t in fig.data if t.name.startswith("Pareto")}
    assert fronts == {"Pareto front (s)": ["a", "b"], "Pareto front (t)": ["d"]}
    points = [i for t in fig.data if not t.name.startswith("Pareto") for i in t.ids]
    assert sorted(points) == ["a", "b", "c", "d"]  # no MACs: not plotted


def test_steps_per_epoch_from_logged_params():
    assert steps_per_epoch({"data.train": "320", "batch_size": "32"}) == 10
    assert steps_per_epoch({"data.train": "321", "batch_size": "32"}) == 11
    assert steps_per_epoch({"batch_size": "32"}) is None


def test_an_unusable_run_store_is_a_visible_error_not_a_traceback(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://runs")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("run store 'nosuchscheme://runs'" in e.value and "cannot be opened" in e.value
               for e in at.error)
