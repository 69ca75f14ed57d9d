"""The training studies (issue 12: 6 depth-degradation, 7 paths-lesion, 9 stochastic-depth,
10 downsampling-heads-train): their exact parts against hand-computed values (depth of a spec,
expected depth of a survival schedule, lesions that equal the net without the block, path
gradients on a net whose answer is known), then each study end to end at tiny settings,
checking the run store holds the sweep and its children and the numbers have their shape."""
from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import playground.studies as studies
from playground.errors import SpecError
from playground.spec import ArchSpec, BlockSpec
from playground.store import RunStore
from playground.studies import paths_trained as pt
from playground.studies.base import STUDY_TAG
from playground.studies.stochastic_depth import expected_depth, linear_expected_blocks
from playground.studies.trained import compare, stats, thin_cifar_spec, weighted_depth


# --- helpers ---------------------------------------------------------------------------------
def randomise_batchnorm(model, seed: int = 0) -> None:
    """Non-trivial batch-norm weights and statistics, so an identity is not an accident."""
    import keras
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, m, v = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.1, b.shape),
                               rng.normal(0, 0.1, m.shape), rng.uniform(0.5, 2.0, v.shape)])


def without(spec: ArchSpec, prefix: str) -> ArchSpec:
    """The spec with the block ``prefix`` (or its plain pair ``prefix_conv1/2``) removed."""
    return spec.replace(blocks=tuple(b for b in spec.blocks
                                     if b.name != prefix and not b.name.startswith(prefix + "_")))


def copy_weights(src, dst) -> None:
    for layer in dst.layers:
        if layer.weights:
            layer.set_weights(src.get_layer(layer.name).get_weights())


X = np.random.default_rng(1).normal(size=(5, 8, 8, 3)).astype("float32")
Y = np.array([0, 1, 2, 0, 1])


# --- depth of a spec -------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [8, 20])
@pytest.mark.parametrize("residual", [False, True])
def test_a_thin_net_has_the_depth_it_claims_counted_on_its_built_layers(depth, residual):
    import keras
    from playground.build import build
    spec = thin_cifar_spec(depth, residual, 4, (8, 8, 3), 3)
    n = (depth - 2) // 6
    assert weighted_depth(spec) == depth
    blocks = [b for b in spec.blocks if b.type == ("resnet_basic" if residual else "conv")]
    assert len(blocks) == (3 * n if residual else 6 * n + 1)  # + the first conv
    model = build(spec)
    weighted = [l for l in model.layers if isinstance(l, (keras.layers.Conv2D,
                                                          keras.layers.Dense))
                and "shortcut" not in l.name]  # projection shortcuts are not counted
    assert len(weighted) == depth
    assert [l.filters for l in model.layers if isinstance(l, keras.layers.Conv2D)
            and "shortcut" not in l.name][-1] == 16  # stages 4, 8, 16


def test_only_6n_plus_2_depths_exist():
    with pytest.raises(SpecError, match="6n\\+2"):
        thin_cifar_spec(21, True, 4, (8, 8, 3), 3)
    assert weighted_depth(thin_cifar_spec(56, False, 4, (8, 8, 3), 3)) == 56
    assert weighted_depth(thin_cifar_spec(110, True, 4, (8, 8, 3), 3)) == 110


# --- expected depth (stochastic depth) ---------------------------------------------------------
def test_expected_depth_is_the_sum_of_survival_probabilities_by_hand():
    spec = thin_cifar_spec(8, True, 4, (8, 8, 3), 3, final_survival=0.5)  # 3 blocks
    ex = expected_depth(spec)
    # p_l = 1 - l/3 * 0.5 = 5/6, 4/6, 3/6 (the zoo rounds to 4 decimals): sum = 2.0
    assert ex["survival"] == [0.8333, 0.6667, 0.5]
    assert ex["blocks"] == 3 and ex["expected_blocks"] == pytest.approx(2.0, abs=1e-12)
    # 8 layers less 2 layers x (1/6 + 2/6 + 3/6) dropped on average = 6
    assert ex["depth"] == 8 and ex["expected_depth"] == pytest.approx(6.0, abs=1e-12)
    assert linear_expected_blocks(3, 0.5) == 2.0 == (3 * 3 - 1) / 4
    off = expected_depth(thin_cifar_spec(8, True, 4, (8, 8, 3), 3))
    assert off["expected_blocks"] == 3 and off["expected_depth"] == 8


def test_the_papers_110_layer_net_expects_40_25_blocks():
    from playground.zoo.resnets import cifar_resnet
    ex = expected_depth(cifar_resnet(110, final_survival=0.5))
    assert ex["blocks"] == 54 and linear_expected_blocks(54, 0.5) == 40.25 == (3 * 54 - 1) / 4
    assert ex["expected_blocks"] == pytest.approx(40.25, abs=54 * 5e-5)  # 4-decimal rounding
    assert ex["expected_depth"] == pytest.approx(2 + 2 * 40.25, abs=1e-2)


def test_the_built_net_drops_each_branch_with_one_minus_its_survival():
    import keras
    from playground.build import build
    spec = thin_cifar_spec(8, True, 4, (8, 8, 3), 3, final_survival=0.5)
    rates = [l.rate for l in build(spec).layers if isinstance(l, keras.layers.Dropout)]
    assert rates == pytest.approx([1 - p for p in expected_depth(spec)["survival"]])


# --- lesion ------------------------------------------------------------------------------------
def test_units_are_the_blocks_and_plain_pairs_with_the_stride_2_ones_not_deletable():
    res = pt.units(thin_cifar_spec(14, True, 4, (8, 8, 3), 3))
    plain = pt.units(thin_cifar_spec(14, False, 4, (8, 8, 3), 3))
    names = ["stage1_b1", "stage1_b2", "stage2_b1", "stage2_b2", "stage3_b1", "stage3_b2"]
    keeps = [True, True, False, True, False, True]
    assert [u["name"] for u in res] == names == [u["name"] for u in plain]
    assert [u["keeps_shape"] for u in res] == keeps == [u["keeps_shape"] for u in plain]
    assert {u["kind"] for u in res} == {"residual"} and {u["kind"] for u in plain} == {"plain"}


@pytest.mark.parametrize("residual", [True, False])
def test_a_lesion_equals_the_net_built_without_that_block(residual):
    """Residual: the block's output becomes its shortcut; plain: its two convs become the
    identity. Either way the net computes exactly what the net without the block computes."""
    from playground.build import build
    spec = thin_cifar_spec(14, residual, 4, (8, 8, 3), 3)
    core = build(spec)
    randomise_batchnorm(core)
    intact = np.asarray(core(X))
    unit = [u for u in pt.units(spec) if u["keeps_shape"]][1]  # stage1_b2
    with pt.lesioned(core, unit):
        lesioned = np.asarray(core(X))
    assert np.array_equal(np.asarray(core(X)), intact)  # the weights are put back
    shorter = build(without(spec, unit["name"]))
    copy_weights(core, shorter)
    np.testing.assert_allclose(lesioned, np.asarray(shorter(X)), atol=1e-6)
    assert np.abs(lesioned - intact).max() > 1e-5  # the block did something


def test_lesion_of_an_identity_initialised_block_leaves_the_outputs_unchanged():
    from playground.build import build
    for residual in (True, False):
        spec = thin_cifar_spec(14, residual, 4, (8, 8, 3), 3)
        core = build(spec)
        randomise_batchnorm(core)
        unit = [u for u in pt.units(spec) if u["keeps_shape"]][1]
        for layer, weights in pt.lesion_weights(core, unit):  # initialise it as the identity
            layer.set_weights(weights)
        before = np.asarray(core(X))
        with pt.lesioned(core, unit):
            np.testing.assert_allclose(np.asarray(core(X)), before, atol=1e-6)


def test_a_stride_2_block_cannot_be_deleted():
    from playground.build import build
    spec = thin_cifar_spec(8, True, 4, (8, 8, 3), 3)
    unit = pt.units(spec)[1]
    assert unit["name"] == "stage2_b1" and not unit["keeps_shape"]
    with pytest.raises(SpecError, match="changes the shape"):
        pt.lesion_weights(build(spec), unit)


# --- gradient by path length -------------------------------------------------------------------
def linear_residual_net(n: int, a: float):
    """n residual blocks y = x + a x (a 1x1 conv with kernel a I, nothing else), then GAP and
    a dense softmax: a path through k branches scales the gradient by a^k exactly."""
    from playground.build import build
    body = [{"type": "conv", "name": "lin", "params": {"filters": 3, "kernel": 1,
                                                        "activation": "none",
                                                        "batch_norm": False, "bias": False}}]
    blocks = [BlockSpec("residual", {"body": body, "activation": "none",
                                     "shortcut": "identity"}, f"r{i}") for i in range(n)]
    core = build(ArchSpec((4, 4, 3), tuple(blocks), BlockSpec("gap_head", {"classes": 3}),
                          "linear"))
    for i in range(n):
        core.get_layer(f"r{i}.lin.conv").set_weights([a * np.eye(3).reshape(1, 1, 3, 3)])
    return core, [f"r{i}.add" for i in range(n)]


def test_path_gradient_of_a_linear_residual_net_is_a_to_the_k():
    core, adds = linear_residual_net(4, 0.5)
    x = np.random.default_rng(2).normal(size=(3, 4, 4, 3)).astype("float32")
    y = np.array([0, 1, 2])
    out = pt.path_gradient_norms(core, x, y, adds, [0, 1, 2, 3, 4], draws=3, seed=0)
    ratios = [m / out["mean"][0] for m in out["mean"]]
    np.testing.assert_allclose(ratios, [0.5 ** k for k in range(5)], rtol=1e-5)
    np.testing.assert_allclose(out["std"], 0.0, atol=1e-6 * out["mean"][0])  # any k blocks
    np.testing.assert_allclose(out["min"], out["max"], rtol=1e-5)
    # the forward pass is the same whatever the gates: the net's own output
    np.testing.assert_allclose(np.asarray(pt.gated_forward(core, x, {adds[0]}, adds)),
                               np.asarray(core(x)), atol=1e-6)


def test_the_path_gradients_of_all_2_to_the_n_paths_add_up_to_the_full_gradient():
    """The gating splits the backward pass exactly: every path once, nothing else."""
    from keras import ops
    from playground.build import build
    spec = thin_cifar_spec(8, True, 4, (8, 8, 3), 3)
    core = build(spec)
    randomise_batchnorm(core)
    adds = pt.residual_adds(spec)
    assert adds == ["stage1_b1.add", "stage2_b1.add", "stage3_b1.add"]
    labels = ops.convert_to_tensor(Y[:, None].astype("int32"))
    full = pt.input_gradient(lambda inp: -ops.sum(ops.log(ops.take_along_axis(
        core(inp), labels, axis=1))), X)
    total = sum(pt.path_gradient(core, X, Y, set(s), adds)
                for r in range(len(adds) + 1) for s in itertools.combinations(adds, r))
    np.testing.assert_allclose(total, full, atol=1e-6 * np.abs(full).max() + 1e-9)


def test_gradient_shares_weight_each_length_by_its_path_count():
    out = pt.gradient_shares(2, [1.0, 0.5, 0.25])  # C(2,k) = 1, 2, 1
    assert out["paths"] == [0.25, 0.5, 0.25]
    assert out["gradient"] == pytest.approx([1 / 2.25, 1 / 2.25, 0.25 / 2.25])
    assert pt.central_range([0.05, 0.1, 0.7, 0.1, 0.05], 0.9) == (1, 3)
    assert pt.central_range([0.95, 0.05], 0.9) == (0, 0)


# --- seed statistics -----------------------------------------------------------------------------
def test_stats_and_the_verdict_of_a_comparison():
    s = stats([1.0, 2.0, 3.0, None, float("nan")])
    assert (s["mean"], s["std"], s["min"], s["max"], s["n"]) == (2.0, 1.0, 1.0, 3.0, 3)
    assert stats([0.5])["std"] is None
    c = compare([0.30, 0.32, 0.28], [0.10, 0.12, 0.08])
    assert c["verdict"] == "higher" and c["diff"] == pytest.approx(0.2)
    assert c["se"] == pytest.approx(math.sqrt(2 * 0.02 ** 2 / 3))
    assert compare([0.11, 0.30], [0.10, 0.12])["verdict"] == "no clear difference"
    assert compare([0.1, 0.1], [0.2, 0.2])["verdict"] == "lower"
    assert compare([0.3], [0.1])["verdict"] == "too few seeds"


# --- each training study end to end at tiny settings ---------------------------------------------
@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return RunStore()


@pytest.fixture
def context(store):
    """A study context whose sweeps train their children in this process, one at a time, on
    a thread (the sweep is recorded at once, as with worker processes)."""
    from playground.train.runs import create, execute
    pool = ThreadPoolExecutor(1)

    def submit(config, store_, tags):
        run_id = create(config, store_, tags)
        pool.submit(execute, config, store_, run_id)
        return run_id
    yield studies.Context(store=store, submit=submit)
    pool.shutdown(wait=True)


TINY = {"width": 2, "image_size": 8, "count": 60, "epochs": 1, "seeds": 1}


def check_sweep(store, result, name: str, labels: list[str], epochs: int) -> dict:
    """The sweep is in the store, tagged with the study, with a finished child per arm; the
    numbers list each arm with one run of ``epochs`` epochs."""
    from playground.train import sweeps
    numbers = result.numbers
    assert result.run_ids == [numbers["sweep_id"]]
    parent = store.get(numbers["sweep_id"])
    assert parent.tags.get(STUDY_TAG) == name and parent.tags.get(sweeps.KIND_TAG) == "sweep"
    st = sweeps.status(store, numbers["sweep_id"])
    assert st.counts["FINISHED"] == len(labels) == len(st.children), [c.error for c in
                                                                      st.children]
    assert sorted(c.tags[sweeps.ARM_TAG] for c in st.children) == sorted(labels)
    assert [a["label"] for a in numbers["arms"]] == labels
    for arm in numbers["arms"]:
        (run,) = arm["runs"]
        assert run["status"] == "FINISHED" and run["params"] > 0
        assert len(run["train_error"]) == epochs == len(run["val_accuracy"])
        assert all(0 <= e <= 1 for e in run["train_error"])
    assert result.findings and result.figures and numbers["wall_seconds"] > 0
    return numbers


def test_depth_degradation_end_to_end(store, context):
    result = studies.get("depth-degradation").run({**TINY, "shallow": 8, "deep": 14},
                                                  context=context)
    numbers = check_sweep(store, result, "depth-degradation",
                          ["plain-8", "plain-14", "resnet-8", "resnet-14"], 1)
    assert [a["depth"] for a in numbers["arms"]] == [8, 14, 8, 14]
    for kind in ("plain", "resnet"):
        assert numbers["comparisons"][kind]["train_error"]["verdict"] == "too few seeds"
    assert len(result.figures) == 2 and len(result.tables[0][1]) == 4
    assert any("one seed" in f for f in result.findings)


def test_depth_degradation_refuses_a_deep_net_that_is_not_deeper():
    with pytest.raises(SpecError, match="deeper"):
        studies.get("depth-degradation").run({"shallow": 20, "deep": 20},
                                             context=studies.Context(submit=lambda *a: 1 / 0))


def test_paths_lesion_end_to_end(store, context):
    result = studies.get("paths-lesion").run({**TINY, "depth": 8, "draws": 2, "grad_batch": 4},
                                             context=context)
    numbers = check_sweep(store, result, "paths-lesion", ["resnet-8", "plain-8"], 1)
    by = {a["label"]: a for a in numbers["analyses"]}
    for label in ("resnet-8", "plain-8"):
        les = by[label]["lesion"]
        assert les["units"] == ["stage1_b1"] and les["kept"] == ["stage2_b1", "stage3_b1"]
        assert 0 <= les["intact"] <= 1 and len(les["accuracy"]) == 1
    paths = by["resnet-8"]["paths"]
    assert paths["blocks"] == 3 and paths["lengths"] == [0, 1, 2, 3]
    assert all(m > 0 for m in paths["mean"]) and "paths" not in by["plain-8"]
    summary = numbers["summary"]
    assert sum(summary["paths"]["shares"]["gradient"]) == pytest.approx(1.0)
    assert set(summary["lesion"]) == {"resnet-8", "plain-8"}
    assert len(result.figures) == 3


def test_stochastic_depth_end_to_end(store, context):
    result = studies.get("stochastic-depth").run({**TINY, "depth": 8, "epochs": 2},
                                                 context=context)
    numbers = check_sweep(store, result, "stochastic-depth", ["resnet-8", "resnet-8-sd0.5"], 2)
    assert numbers["expected"]["expected_blocks"] == pytest.approx(2.0)
    assert numbers["paper_110"]["blocks"] == 54
    c = numbers["comparisons"]
    assert c["epoch_seconds"]["ratio"] > 0 and c["val_accuracy"]["verdict"] == "too few seeds"
    assert all(a["epoch_seconds"]["n"] == 1 for a in numbers["arms"])
    assert any("40.25" in f for f in result.findings)


def test_downsampling_heads_train_end_to_end(store, context):
    result = studies.get("downsampling-heads-train").run(
        {"width": 2, "image_size": 16, "count": 60, "epochs": 1, "seeds": 1, "hidden": 4},
        context=context)
    numbers = check_sweep(store, result, "downsampling-heads-train",
                          ["pool-dense", "pool-gap", "strided-dense", "strided-gap"], 1)
    params = {a["label"]: a["params"] for a in numbers["arms"]}
    assert params["pool-dense"] > params["pool-gap"]  # the dense head's weights
    assert params["pool-gap"] == params["strided-gap"]  # same convs, stride or pool
    macs = {a["label"]: a["macs"] for a in numbers["arms"]}
    assert macs["strided-gap"] < macs["pool-gap"]
    assert [(c["factor"], c["fixed"]) for c in numbers["comparisons"]] == [
        ("downsampling", "dense"), ("downsampling", "gap"), ("head", "pool"),
        ("head", "strided")]


# --- findings read off the numbers (no training) -------------------------------------------------
def fake_arm(label: str, final_errors: list[float]) -> dict:
    return {"label": label, "runs": [
        {"seed": i, "run_id": f"r{i}", "status": "FINISHED", "error": "",
         "train_error": [0.7, e], "train_loss": [1.1, e], "val_accuracy": [0.3, 1 - e],
         "epoch_seconds": [10.0, 2.0], "train_seconds": 12.0, "final_val_accuracy": 1 - e,
         "params": 1000, "macs": 10} for i, e in enumerate(final_errors)]}


def test_degradation_findings_say_worse_only_when_the_seeds_agree():
    from playground.studies import degradation
    settings = studies.get("depth-degradation").resolve()
    numbers = {"sweep_id": "p", "classes": 3, "arms": [
        fake_arm("plain-20", [0.10, 0.12, 0.08]), fake_arm("plain-56", [0.66, 0.65, 0.67]),
        fake_arm("resnet-20", [0.03, 0.05, 0.04]), fake_arm("resnet-56", [0.02, 0.09, 0.04])]}
    result = degradation.present(settings, degradation.summarise(numbers, settings))
    plain, res = result.findings[:2]
    assert "plain-56 66.0% ± 1.0% vs plain-20 10.0% ± 2.0%" in plain
    assert "trained WORSE, by 56.0 points" in plain and "it is at chance" in plain
    assert res.startswith("Residual nets") and "no clear difference" in res
    numbers["arms"][1] = fake_arm("plain-56", [0.11, 0.09, 0.10])
    plain = degradation.present(settings, degradation.summarise(numbers, settings)).findings[0]
    assert "did NOT show" in plain


def _lesions(intact: float, accuracy: list[float]) -> dict:
    return {"intact": intact, "accuracy": accuracy,
            "units": [f"b{i}" for i in range(len(accuracy))]}


def test_lesion_verdict_compares_the_share_of_the_margin_above_chance_each_net_keeps():
    from playground.studies.paths_trained import kept_share, lesion_verdict
    chance = 1 / 3
    res = _lesions(0.99, [0.97, 0.95, 0.60, 0.99])   # keeps most of its 65.7-point margin
    pla = _lesions(0.90, [0.40, 0.85, 0.34, 0.50])   # loses most of its 56.7-point margin
    assert kept_share(res, chance) == pytest.approx(
        sum((a - chance) / (0.99 - chance) for a in res["accuracy"]) / 4)
    line, = lesion_verdict(res, pla, 20, chance)
    assert "keeps 83% on average" in line and "the plain net 33%" in line  # by hand
    assert "degrades more gracefully" in line and "collapses to chance for 1" in line
    # fewer points lost by a plain net that had few to lose is not graceful degradation
    weak = _lesions(0.50, [0.34, 0.36, 0.40, 0.35])
    line, note = lesion_verdict(res, weak, 20, chance)
    assert "degrades more gracefully" in line and "plain-20 itself trained to only 50.0%" in note
    line, = lesion_verdict(pla, res, 20, chance)  # the other way round: said, not hidden
    assert "did NOT show" in line
    line, = lesion_verdict(res, res, 20, chance)
    assert "no clear difference" in line
    assert kept_share(_lesions(0.36, [0.34]), chance) is None  # no margin to keep
