"""Sweeps: a parent run with a child per architecture x seed, the parent settled from its
children, cancel, the aggregation into mean and spread, the figure, the Leaderboard's view and
the command line. Children are tiny runs (a few-kilobyte CNN on 60 small images)."""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import fake_run
from playground import leaderboard
from playground.errors import SpecError
from playground.store import PARENT_TAG, RunStore, parent_status
from playground.train import sweeps
from playground.train.config import TrainConfig
from playground.train.runs import create as create_run, execute
from playground.training_charts import sweep_figure

ROOT = Path(__file__).resolve().parent.parent


def tiny(name: str, filters: int) -> dict:
    return {"name": name, "input_shape": [16, 16, 3], "blocks": [
        {"type": "conv", "params": {"filters": filters}}],
        "head": {"type": "gap_head", "params": {"classes": 3}}}


ARMS = [sweeps.Arm("narrow", spec=tiny("narrow", 4)), sweeps.Arm("wide", spec=tiny("wide", 8))]
BASE = TrainConfig(dataset="shapes", epochs=2, batch_size=16,  # the arms give the targets
                   dataset_options={"image_size": 16, "count": 60})


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty store of its own (pages and CLI subprocesses find it through PLAYGROUND_DATA),
    so no sweep made here is on another test's page."""
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return RunStore()


def queued(config, store, tags):
    """A submit that only records the child (no worker): the test plays the worker."""
    return create_run(config, store, tags)


def foreground(config, store, tags):
    """A submit that trains the child at once in this process (the real run body)."""
    run_id = create_run(config, store, tags)
    execute(config, store, run_id)
    return run_id


def _exited_pid() -> int:
    """The pid of a process that has exited (a worker or creator that is gone)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def play(store, run_id, accs, status="FINISHED"):
    """What a worker leaves: per-epoch metrics, then a terminal status."""
    store.mark_running(run_id)
    for epoch, acc in enumerate(accs, start=1):
        store.log_metrics(run_id, {"val_accuracy": acc, "loss": 1 - acc}, epoch)
    if status == "FINISHED":
        store.log_metrics(run_id, {"final_val_accuracy": accs[-1]}, len(accs))
    store.finish(run_id, status, None if status == "FINISHED" else "boom")


# --- aggregation (pure) --------------------------------------------------------------------
def test_aggregate_gives_mean_sample_std_min_max_per_epoch():
    bands = sweeps.aggregate({
        "a": [[(1, 0.5), (2, 0.7)], [(1, 0.7), (2, 0.9)], [(1, 0.6), (2, 0.8)]],
        "b": [[(1, 0.2)]]})
    a = bands["a"]
    assert a.epochs == (1, 2) and a.n == (3, 3) and a.runs == 3
    assert a.mean == pytest.approx((0.6, 0.8))
    assert a.std == pytest.approx((0.1, 0.1))  # sample std of (0.5, 0.6, 0.7)
    assert a.lo == (0.5, 0.7) and a.hi == (0.7, 0.9)
    lower, upper = a.spread("std")
    assert lower == pytest.approx((0.5, 0.7)) and upper == pytest.approx((0.7, 0.9))
    assert a.spread("range") == (a.lo, a.hi)
    b = bands["b"]
    assert b.mean == (0.2,) and b.std == (0.0,) and b.n == (1,)  # one seed: no spread


def test_aggregate_skips_non_finite_values_and_counts_seeds_per_epoch():
    bands = sweeps.aggregate({"a": [[(1, 1.0), (2, math.nan), (3, 0.5)],
                                    [(1, 3.0), (2, 2.0)]]})
    a = bands["a"]
    assert a.epochs == (1, 2, 3) and a.n == (2, 1, 1)
    assert a.mean == pytest.approx((2.0, 2.0, 0.5))
    assert a.std[0] == pytest.approx(math.sqrt(2.0))


def test_parent_status_waits_for_every_child():
    assert parent_status(["FINISHED", "RUNNING"], 2) is None
    assert parent_status(["FINISHED"], 2) is None  # one child not created yet
    assert parent_status(["FINISHED", "FINISHED"], 2) == "FINISHED"
    assert parent_status(["FINISHED", "FAILED", "KILLED"], 3) == "FAILED"
    assert parent_status(["FINISHED", "KILLED"], 2) == "KILLED"
    assert parent_status(["FAILED", "KILLED"], 2, cancelled=True) == "KILLED"


# --- the figure (pure) ---------------------------------------------------------------------
def test_sweep_figure_draws_a_mean_line_and_a_band_per_architecture():
    bands = sweeps.aggregate({"plain": [[(1, 0.4), (2, 0.5)], [(1, 0.6), (2, 0.9)]],
                              "residual": [[(1, 0.7), (2, 0.8)], [(1, 0.7), (2, 0.9)]]})
    fig = sweep_figure(bands, "val_accuracy", "range")
    fills = [t for t in fig.data if t.fill == "toself"]
    means = [t for t in fig.data if t.fill != "toself"]
    assert [t.name for t in means] == ["plain (2 seeds)", "residual (2 seeds)"]
    assert list(means[0].y) == pytest.approx([0.5, 0.7])
    assert len(fills) == 2
    # the band's outline: upper edge forward, lower edge back
    assert list(fills[0].x) == [1, 2, 2, 1]
    assert list(fills[0].y) == pytest.approx([0.6, 0.9, 0.5, 0.4])
    assert fills[0].fillcolor.startswith("rgba(") and fills[0].legendgroup == "plain"
    assert "min–max" in fig.layout.title.text and fig.layout.yaxis.tickformat == ".0%"
    std = sweep_figure(bands, "val_accuracy", "std")
    upper = list(next(t for t in std.data if t.fill == "toself").y)[:2]
    assert upper == pytest.approx([0.5 + math.sqrt(0.02), 0.7 + math.sqrt(0.08)])
    assert "± std" in std.layout.title.text


def test_sweep_figure_one_epoch_shows_the_spread_as_error_bars():
    bands = sweeps.aggregate({"a": [[(1, 0.5)], [(1, 0.7)]]})
    fig = sweep_figure(bands, "loss", "range")
    assert not any(t.fill == "toself" for t in fig.data)
    (mean,) = fig.data
    assert list(mean.error_y.array) == pytest.approx([0.1])
    assert list(mean.error_y.arrayminus) == pytest.approx([0.1])


def test_sweep_figure_keeps_an_accuracy_band_inside_0_to_1():
    bands = sweeps.aggregate({"a": [[(1, 0.9), (2, 1.0)], [(1, 0.5), (2, 0.98)]]})
    band = next(t for t in sweep_figure(bands, "val_accuracy", "std").data if t.fill == "toself")
    assert max(band.y) <= 1.0 and min(band.y) >= 0.0


# --- the sweep in the store ----------------------------------------------------------------
def test_a_sweep_records_a_parent_and_a_child_per_architecture_and_seed(store):
    sweep_id = sweeps.create(ARMS, BASE, 3, store, submit=queued)
    parent = store.get(sweep_id)
    assert parent.is_parent and parent.status == "RUNNING"
    assert parent.name == "sweep: narrow vs wide on shapes"
    kids = store.children(sweep_id)
    assert len(kids) == 6 and all(k.parent_id == sweep_id for k in kids)
    assert [(k.tags[sweeps.ARM_TAG], k.tags[sweeps.SEED_TAG]) for k in kids] == [
        ("narrow", "0"), ("wide", "0"), ("narrow", "1"), ("wide", "1"), ("narrow", "2"),
        ("wide", "2")]  # seed by seed: the first results already compare every architecture
    configs = [TrainConfig.from_dict(store.run_config(k.run_id)) for k in kids]
    assert [c.seed for c in configs] == [0, 0, 1, 1, 2, 2]
    # the same data for every child: the data set's seed is pinned, only the run's seed varies
    assert {json.dumps(c.dataset_options, sort_keys=True) for c in configs} == {
        json.dumps({"count": 60, "image_size": 16, "seed": 0}, sort_keys=True)}
    assert {(c.epochs, c.batch_size, c.dataset) for c in configs} == {(2, 16, "shapes")}
    st = sweeps.status(store, sweep_id)
    assert st.counts == {"SCHEDULED": 6, "RUNNING": 0, "FINISHED": 0, "FAILED": 0, "KILLED": 0}
    assert st.labels == ("narrow", "wide") and st.seeds == (0, 1, 2) and st.active
    assert st.line() == "6 queued (of 6 runs)"
    plan = store.artifact_json(sweep_id, sweeps.PLAN_ARTIFACT)
    assert [a["label"] for a in plan["arms"]] == ["narrow", "wide"] and plan["seeds"] == [0, 1, 2]


def test_the_parent_finishes_when_its_last_child_does_and_curves_aggregate_them(store):
    sweep_id = sweeps.create(ARMS, BASE, 2, store, submit=queued)
    kids = store.children(sweep_id)
    accs = {("narrow", "0"): (0.4, 0.6), ("wide", "0"): (0.5, 0.9),
            ("narrow", "1"): (0.6, 0.8), ("wide", "1"): (0.7, 0.9)}
    for k in kids[:-1]:
        play(store, k.run_id, accs[(k.tags[sweeps.ARM_TAG], k.tags[sweeps.SEED_TAG])])
        assert store.get(sweep_id).status == "RUNNING"
    st = sweeps.status(store, sweep_id)
    assert st.counts["FINISHED"] == 3 and st.counts["SCHEDULED"] == 1
    assert st.line() == "3 finished · 1 queued (of 4 runs)"
    last = kids[-1]
    play(store, last.run_id, accs[(last.tags[sweeps.ARM_TAG], last.tags[sweeps.SEED_TAG])])
    assert store.get(sweep_id).status == "FINISHED"  # settled by the child's finish
    st = sweeps.status(store, sweep_id)
    assert not st.active and st.ended == 4
    bands = sweeps.curves(store, st, "val_accuracy")
    assert list(bands) == ["narrow", "wide"]
    assert bands["narrow"].mean == pytest.approx((0.5, 0.7))
    assert bands["wide"].hi == pytest.approx((0.7, 0.9)) and bands["wide"].n == (2, 2)
    rows = {r["architecture"]: r for r in sweeps.summary(st)}
    assert rows["narrow"]["finished"] == 2 and rows["narrow"]["val_accuracy"] == pytest.approx(0.7)
    assert rows["narrow"]["val_accuracy_std"] == pytest.approx(math.sqrt(0.02))
    assert rows["wide"]["val_accuracy_min"] == rows["wide"]["val_accuracy_max"] == 0.9


def test_a_failed_child_fails_the_sweep_with_its_reason(store):
    sweep_id = sweeps.create(ARMS, BASE, 1, store, submit=queued)
    a, b = store.children(sweep_id)
    play(store, a.run_id, (0.5,))
    play(store, b.run_id, (0.2,), status="FAILED")
    rec = store.get(sweep_id)
    assert rec.status == "FAILED"
    assert "1 finished, 1 failed of 2 runs" in rec.error and "wide · seed 0: boom" in rec.error


def test_cancelling_a_sweep_cancels_its_children_and_the_parent_ends_killed(store):
    sweep_id = sweeps.create(ARMS, BASE, 2, store, submit=queued)
    first = store.children(sweep_id)[0]
    play(store, first.run_id, (0.5,))
    assert sweeps.cancel(store, sweep_id)
    st = sweeps.status(store, sweep_id)
    # the queued children had no live worker here: the store ends them itself
    assert st.counts == {"SCHEDULED": 0, "RUNNING": 0, "FINISHED": 1, "FAILED": 0, "KILLED": 3}
    assert st.status == "KILLED" and st.error.startswith("cancelled")
    assert not sweeps.cancel(store, sweep_id)


def test_a_child_whose_worker_vanished_is_marked_and_the_sweep_settles(store):
    sweep_id = sweeps.create(ARMS, BASE, 1, store, submit=queued)
    a, b = store.children(sweep_id)
    play(store, a.run_id, (0.5,))
    store.mark_running(b.run_id, pid=_exited_pid())  # its worker has exited without reporting
    st = sweeps.status(store, sweep_id)
    assert st.counts["FAILED"] == 1 and st.status == "FAILED"


def test_a_parent_abandoned_part_way_is_settled_by_a_listing_once_its_creator_is_gone(store,
                                                                                      monkeypatch):
    import playground.store as store_module
    short = store.create_parent("abandoned", {}, children=2)
    child = create_run(TrainConfig(spec=tiny("a", 4)), store, {PARENT_TAG: short})
    play(store, child, (0.5,))
    empty = store.create_parent("never started", {}, children=2)
    monkeypatch.setattr(store_module, "PARENT_GRACE_S", 0)
    store.list_runs()  # its creator (this process) is alive: a foreground study may take hours
    assert store.get(short).status == store.get(empty).status == "RUNNING"
    host = socket.gethostname()
    for run_id in (short, empty):  # the creating process exits before submitting the rest
        store.set_tags(run_id, {store_module.CREATOR_TAG: f"{host}:{_exited_pid()}:"})
    store.list_runs()  # any listing (the Leaderboard's) reconciles
    rec = store.get(short)
    assert rec.status == "FAILED" and "(only 1 of 2 were started)" in rec.error
    rec = store.get(empty)
    assert rec.status == "FAILED" and rec.error == "none of its runs was started"


def test_a_parent_created_on_another_host_is_abandoned_after_a_grace_period_of_quiet(
        store, monkeypatch):
    import playground.store as store_module
    parent = store.create_parent("elsewhere", {}, children=2)
    store.set_tags(parent, {store_module.CREATOR_TAG: "another-host:1:"})
    child = create_run(TrainConfig(spec=tiny("a", 4)), store, {PARENT_TAG: parent})
    play(store, child, (0.5,))
    monkeypatch.setattr(store_module, "PARENT_GRACE_S", 60)
    store.list_runs()  # its child ended just now: the creator may be submitting the next
    assert store.get(parent).status == "RUNNING"
    monkeypatch.setattr(store_module, "PARENT_GRACE_S", 0)
    store.list_runs()
    assert store.get(parent).status == "FAILED"


def test_a_foreground_sweep_slower_than_the_grace_period_still_finishes(store, monkeypatch):
    import playground.store as store_module
    monkeypatch.setattr(store_module, "PARENT_GRACE_S", 0)  # every child "takes too long"
    sweep_id = sweeps.create(ARMS, BASE, 1, store, submit=foreground)
    st = sweeps.status(store, sweep_id)
    assert st.status == "FINISHED" and st.counts["FINISHED"] == len(ARMS)


def test_submitting_that_fails_part_way_cancels_the_children_and_fails_the_parent(store):
    calls = []

    def flaky(config, store, tags):
        if calls:
            raise OSError("no more processes")
        calls.append(1)
        return create_run(config, store, tags)

    before = {r.run_id for r in store.list_runs()}
    with pytest.raises(OSError):
        sweeps.create(ARMS, BASE, 1, store, submit=flaky)
    new = [r for r in store.list_runs() if r.run_id not in before]
    parent = next(r for r in new if r.is_parent)
    child = next(r for r in new if not r.is_parent)
    assert parent.status == "FAILED" and "after 1 of 2" in parent.error
    assert child.status == "KILLED"


@pytest.mark.parametrize("arms, seeds, where", [
    ([sweeps.Arm("a", spec=tiny("a", 4)), sweeps.Arm("a", spec=tiny("b", 4))], 2, "labels"),
    (ARMS, 0, "seeds"), (ARMS, 11, "seeds"), ([], 2, "architectures"),
    ([sweeps.Arm("cost-only", spec={**tiny("c", 4), "head": {"type": "no_head"}})], 2,
     "classifier head"),
    ([sweeps.Arm("nope", target="no-such-net")], 2, "not a zoo name"),
])
def test_bad_sweeps_fail_before_anything_is_recorded(store, arms, seeds, where):
    before = len(store.list_runs())
    with pytest.raises(SpecError, match=where):
        sweeps.create(arms, BASE, seeds, store, submit=queued)
    assert len(store.list_runs()) == before


def test_arm_of_a_zoo_name_and_a_spec_file(tmp_path):
    assert sweeps.arm_of("resnet20-cifar") == sweeps.Arm("resnet20-cifar", "resnet20-cifar")
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(tiny("my-net", 4)))
    arm = sweeps.arm_of(str(path))
    assert arm.label == "my-net" and arm.spec["blocks"][0]["params"]["filters"] == 4
    with pytest.raises(SpecError, match="not a zoo name"):
        sweeps.arm_of("no-such-net")


def test_the_leaderboard_lists_the_children_with_their_sweep_not_the_parent(store):
    sweep_id = sweeps.create(ARMS, BASE, 1, store, submit=queued, name="my sweep")
    solo = fake_run(store, "solo run")
    rows = leaderboard.rows(store)
    ids = [r["run_id"] for r in rows]
    assert sweep_id not in ids and solo in ids
    kids = [r for r in rows if r["sweep_id"] == sweep_id]
    assert sorted(r["name"] for r in kids) == ["narrow · seed 0", "wide · seed 0"]
    assert {r["sweep"] for r in kids} == {"my sweep"}
    assert next(r for r in rows if r["run_id"] == solo)["sweep"] == ""
    assert {r["run_id"] for r in leaderboard.filter_rows(rows, "MY SWEEP")} == {
        r["run_id"] for r in kids}
    assert "sweep" in leaderboard.to_csv(rows).splitlines()[0].split(",")


def test_latest_finds_the_newest_sweep_of_the_same_architectures(store):
    old = sweeps.create(ARMS, BASE, 1, store, submit=queued)
    time.sleep(0.01)
    new = sweeps.create(list(reversed(ARMS)), BASE, 1, store, submit=queued)
    assert sweeps.latest(store, ["wide", "narrow"]) == new != old
    assert sweeps.latest(store, ["narrow"]) is None


def test_a_tiny_sweep_really_trains_every_child(store):
    """The run body for real (in this process): 2 architectures x 2 seeds, 2 epochs each."""
    sweep_id = sweeps.create(ARMS, BASE, 2, store, submit=foreground)
    st = sweeps.status(store, sweep_id)
    assert st.status == "FINISHED" and st.counts["FINISHED"] == 4, [c.error for c in st.children]
    bands = sweeps.curves(store, st, "loss")
    for band in bands.values():
        assert band.epochs == (1, 2) and band.n == (2, 2)
        assert all(lo <= m <= hi for lo, m, hi in zip(band.lo, band.mean, band.hi))
    # different seeds, same data: the two seeds of an architecture do not train identically
    assert any(b.hi[0] > b.lo[0] for b in bands.values())
    rows = sweeps.summary(st)
    assert [r["finished"] for r in rows] == [2, 2]
    assert 0 < rows[0]["params"] < rows[1]["params"]  # 4 filters vs 8


# --- the command line ----------------------------------------------------------------------
def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "playground", *args], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=600)


@pytest.mark.parametrize("args, where", [
    (["sweep"], "name at least one architecture"),
    (["sweep", "no-such-net"], "not a zoo name"),
    (["sweep", "resnet20-cifar", "plain20-cifar", "--seeds", "0"], "seeds"),
    (["sweep", "resnet20-cifar", "--epochs", "0"], "epochs"),
    (["sweep", "resnet20-cifar", "--dataset", "nosuch"], "data set 'nosuch': is unknown"),
    (["sweep", "--status", "nosuchrun"], "not in the run store"),
])
def test_cli_sweep_bad_input_is_one_line_and_exit_2(args, where):
    from playground.cli import main
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(args) == 2
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and where in lines[0], lines


def test_cli_sweep_waits_and_prints_mean_and_spread(store, tmp_path):
    """Through the worker queue, as the app does: 2 tiny architectures x 2 seeds, 1 epoch."""
    files = []
    for name, filters in (("narrow", 4), ("wide", 8)):
        files.append(tmp_path / f"{name}.json")
        files[-1].write_text(json.dumps(tiny(name, filters)))
    out = cli("sweep", *map(str, files), "--seeds", "2", "--epochs", "1", "--dataset", "shapes",
              "--data-option", "image_size=16", "--data-option", "count=60", "--wait", "--json",
              PLAYGROUND_MAX_JOBS="2")  # two workers at once on two cores
    assert out.returncode == 0, out.stderr[-3000:]
    doc = json.loads(out.stdout)
    assert doc["status"] == "FINISHED" and doc["counts"]["FINISHED"] == 4
    assert doc["architectures"] == ["narrow", "wide"] and doc["seeds"] == [0, 1]
    assert "(of 4 runs)" in out.stderr  # the progress lines go to stderr with --json
    rows = {r["architecture"]: r for r in doc["summary"]}
    for r in rows.values():
        assert r["finished"] == 2 and r["val_accuracy_min"] <= r["val_accuracy"] <= \
            r["val_accuracy_max"]
    kids = store.children(doc["sweep_id"])
    assert all(k.tags[PARENT_TAG] == doc["sweep_id"] for k in kids) and len(kids) == 4
    shown = cli("sweep", "--status", doc["sweep_id"])
    assert shown.returncode == 0, shown.stderr
    assert "finished, 4 finished (of 4 runs)" in shown.stdout
    assert any(line.startswith("narrow ") and " 2 / 2 " in line
               for line in shown.stdout.splitlines())


# --- the Compare page's panel (AppTest) ----------------------------------------------------
def _compare():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file("../pages/compare.py", default_timeout=120).run()


def test_compare_offers_train_these_for_trainable_architectures_only():
    at = _compare()
    assert not at.exception
    assert at.button(key="sweep_go").label == "Train these"
    assert any("2 architectures × 3 seeds = 6 runs of 3 epochs" in c.value for c in at.caption)
    at.button(key="lecture_bottleneck").click().run()  # cost-only variants: no classifier head
    assert not at.exception
    assert "sweep_go" not in [b.key for b in at.button]
    assert any("has no classifier head" in c.value for c in at.caption)


def test_compare_shows_the_last_sweep_of_the_compared_pair_with_its_spread(store):
    arms = [sweeps.Arm("resnet20-cifar", "resnet20-cifar"),
            sweeps.Arm("plain20-cifar", "plain20-cifar")]
    sweep_id = sweeps.create(arms, BASE, 2, store, submit=queued)
    for k, accs in zip(store.children(sweep_id), [(0.5, 0.8), (0.4, 0.5), (0.7, 0.9),
                                                   (0.4, 0.7)]):
        play(store, k.run_id, accs)
    at = _compare()
    assert not at.exception
    assert any("4 finished (of 4 runs)" in m.value for m in at.markdown)
    charts = [c for c in at.get("plotly_chart") if "over seeds" in c.proto.spec]
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert "mean ± std over seeds" in spec["layout"]["title"]["text"]
    assert sum(t.get("fill") == "toself" for t in spec["data"]) == 2
    table = at.table[0].value
    assert list(table.index) == ["resnet20-cifar", "plain20-cifar"]
    assert list(table["finished"]) == ["2 / 2", "2 / 2"]
    assert table.loc["resnet20-cifar", "val accuracy (mean ± std)"] == "85.0% ± 7.1%"


def test_compare_with_an_unusable_run_store_still_compares_and_says_why(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://runs")
    at = _compare()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 4  # the cost comparison is all there
    assert any("run store 'nosuchscheme://runs'" in e.value for e in at.error)
