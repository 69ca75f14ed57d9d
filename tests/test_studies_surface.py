"""Studies 8 (loss surfaces) and 12 (MACs vs speed): the landscape maths checked where the answer
is known (filter normalisation exactly; a linear model with MSE is a quadratic, so its slice and
the slice's curvature must equal the analytic ones at every grid point), the guideline
micro-benchmarks' equal-MAC configurations counted by the project's cost model, and each study
end to end at tiny settings."""
from __future__ import annotations

import json

import numpy as np
import pytest

from playground.errors import SpecError
from playground.studies import landscape as L


# --- filter normalisation ------------------------------------------------------------------
@pytest.mark.parametrize("shape, axes", [
    ((3, 3, 4, 6), (3,)),     # conv kernel: one filter per output channel
    ((3, 3, 4, 2), (2, 3)),   # depthwise kernel: one per input channel x multiplier
    ((5, 3), (1,)),           # dense kernel: one per output unit
])
def test_each_filter_takes_the_norm_of_the_weights_filter(shape, axes):
    rng = np.random.default_rng(1)
    w, d = rng.standard_normal(shape), rng.standard_normal(shape)
    n = L.normalize_to_filters(d, w, axes)
    over = tuple(i for i in range(len(shape)) if i not in axes)
    wn = np.sqrt((w ** 2).sum(axis=over))
    nn = np.sqrt((n ** 2).sum(axis=over))
    np.testing.assert_allclose(nn, wn, rtol=1e-9)
    # the direction inside each filter is kept: n = c_j * d with one c_j > 0 per filter (the
    # filter axes are the trailing ones here, so rows of this reshape run within a filter)
    scale = (n / d).reshape(-1, *[shape[a] for a in axes])
    np.testing.assert_allclose(scale, np.broadcast_to(scale[:1], scale.shape), rtol=1e-9)
    assert (scale > 0).all()
    # a filter whose weights are zero gets a zero direction
    w2 = w.copy()
    idx = (slice(None),) * (len(shape) - len(axes)) + (0,) * len(axes)
    w2[idx] = 0
    assert np.abs(L.normalize_to_filters(d, w2, axes)[idx]).max() < 1e-9


def test_tensors_without_filters_get_a_zero_direction_and_shapes_must_match():
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4), rng.standard_normal(4)]
    axes = [L.default_filter_axes(x.shape) for x in w]
    assert axes == [(3,), None, None]
    d = L.random_direction(w, axes, rng)
    assert not d[1].any() and not d[2].any()
    np.testing.assert_allclose(np.sqrt((d[0] ** 2).sum(axis=(0, 1, 2))),
                               np.sqrt((w[0] ** 2).sum(axis=(0, 1, 2))), rtol=1e-9)
    assert L.default_filter_axes((3, 3, 8, 1), depthwise=True) == (2, 3)
    with pytest.raises(ValueError, match="differs"):
        L.normalize_to_filters(np.ones((2, 3)), np.ones((3, 2)), (1,))


def test_filter_axes_of_a_keras_model_by_layer_kind():
    import keras
    from keras import layers
    from playground.studies.loss_surface import filter_axes_of
    inp = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = layers.SeparableConv2D(5, 3, name="sep")(x)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(3, name="dense")(x)
    variables, axes = filter_axes_of(keras.Model(inp, out))
    got = {v.path: a for v, a in zip(variables, axes)}
    assert got == {"conv/kernel": (3,), "conv/bias": None, "bn/gamma": None, "bn/beta": None,
                   "dw/kernel": (2, 3), "dw/bias": None, "sep/depthwise_kernel": (2, 3),
                   "sep/pointwise_kernel": (3,), "sep/bias": None, "dense/kernel": (1,),
                   "dense/bias": None}


# --- the grid and what is read off it ------------------------------------------------------
def test_grid_is_odd_and_centred():
    c = L.grid_coords(5, 1.0)
    assert c.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    for bad in (4, 1):
        with pytest.raises(ValueError, match="odd"):
            L.grid_coords(bad, 1.0)


def _on_grid(f, coords):
    a, b = np.meshgrid(coords, coords)  # Z[i, j]: a = coords[j], b = coords[i]
    return f(a, b)


def test_curvature_and_rise_of_known_surfaces():
    coords = L.grid_coords(5, 1.0)
    bowl = _on_grid(lambda a, b: a ** 2 + 2 * b ** 2, coords)
    st = L.curvature_stats(bowl, coords)
    np.testing.assert_allclose(st["lambda_min"], 2.0)
    np.testing.assert_allclose(st["lambda_max"], 4.0)
    assert st["nonconvex_share"] == 0.0 and st["points"] == 9
    saddle = _on_grid(lambda a, b: a ** 2 - b ** 2, coords)
    st = L.curvature_stats(saddle, coords)
    assert st["nonconvex_share"] == 1.0 and st["mean_abs_ratio_negative"] == pytest.approx(1.0)
    # a rotated quadratic: the mixed term is found (eigenvalues of [[2, 1], [1, 2]]: 1, 3)
    rot = _on_grid(lambda a, b: a ** 2 + a * b + b ** 2, coords)
    st = L.curvature_stats(rot, coords)
    np.testing.assert_allclose(st["lambda_min"], 1.0)
    np.testing.assert_allclose(st["lambda_max"], 3.0)
    # the ring of half-width 0.5: 4 points at 0.25 and 4 corners at 0.5 -> mean 0.375
    plain = _on_grid(lambda a, b: a ** 2 + b ** 2, coords)
    assert L.ring_mask(coords, 0.5).sum() == 8
    assert L.rise_at(plain + 3.0, coords, 0.5) == pytest.approx(0.375)
    sm = L.summarize(plain, coords, (0.5, 1.0, 2.0))
    assert set(sm["rise"]) == {"0.5", "1"}  # 2.0 lies outside the grid
    assert sm["rise"]["1"] == pytest.approx((4 * 1 + 8 * 1.25 + 4 * 2) / 16)
    assert sm["centre_loss"] == 0.0 and sm["nonconvex_share_inner"] == 0.0


def test_slice_of_a_linear_model_with_mse_is_the_analytic_quadratic():
    """A linear model under MSE has a quadratic loss: along any two directions
    L(w + a d1 + b d2) = L0 + a g1 + b g2 + a^2 q11 + 2ab q12 + b^2 q22 exactly, with
    r = Xw + c - y, g_i = 2 mean(r * X d_i), q_ij = mean(X d_i * X d_j)."""
    import keras
    from playground.studies.loss_surface import loss_evaluator
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = rng.standard_normal((64, 3)).astype("float32")
    inp = keras.Input((5,))
    model = keras.Model(inp, keras.layers.Dense(3, bias_initializer="ones")(inp))
    loss_at, weights, axes = loss_evaluator(model, x, y, keras.losses.MeanSquaredError())
    assert axes == [(1,), None]
    d1 = L.random_direction(weights, axes, rng)
    d2 = L.random_direction(weights, axes, rng)
    coords = L.grid_coords(7, 1.5)
    z = L.surface(loss_at, weights, d1, d2, coords)

    w, c = (np.asarray(t, np.float64) for t in weights)
    xd = x.astype(np.float64)
    r = xd @ w + c - y
    u, v = xd @ d1[0], xd @ d2[0]
    l0, g1, g2 = (r ** 2).mean(), 2 * (r * u).mean(), 2 * (r * v).mean()
    q11, q12, q22 = (u * u).mean(), (u * v).mean(), (v * v).mean()
    analytic = _on_grid(lambda a, b: l0 + a * g1 + b * g2 + a * a * q11 + 2 * a * b * q12
                        + b * b * q22, coords)
    np.testing.assert_allclose(z, analytic, rtol=2e-5, atol=1e-5)
    # the slice's curvature is the projected Hessian 2 [[q11, q12], [q12, q22]] everywhere
    laa, lbb, lab = L.slice_hessians(z, coords)
    np.testing.assert_allclose(laa, 2 * q11, rtol=2e-3)
    np.testing.assert_allclose(lbb, 2 * q22, rtol=2e-3)
    np.testing.assert_allclose(lab, 2 * q12, rtol=2e-3, atol=2e-3 * abs(2 * q11))
    st = L.curvature_stats(z, coords)
    assert st["nonconvex_share"] == 0.0  # a least-squares loss is convex
    # the weights were left as they were (the evaluator sets them per point)
    np.testing.assert_allclose(loss_at(weights), z[3, 3], rtol=1e-6)


# --- study 8 end to end --------------------------------------------------------------------
def _in_process(config, store, tags):
    """A sweep child trained in this process (what a worker would do)."""
    from playground.train import runs
    run_id = runs.create(config, store, tags)
    runs.execute(config, store, run_id)
    return run_id


def test_loss_surface_study_end_to_end_tiny(tmp_path):
    import keras
    import playground.studies as studies
    from playground.cost.loading import load_model_file
    from playground.store import RunStore
    from playground.train import sweeps
    from playground.train.fitting import load_dataset
    from playground.train.runs import stored_config
    store = RunStore(f"sqlite:///{tmp_path / 'm.db'}")
    st = studies.get("loss-surface")
    assert st.trains and st.number == 8
    seen = []
    ctx = studies.Context(store=store, submit=_in_process, progress=seen.append)
    with pytest.raises(SpecError, match="setting 'steps'.*odd"):
        st.run({"steps": 4}, context=ctx)
    r = st.run({"count": 60, "epochs": 1, "steps": 3, "images": 16}, context=ctx)
    json.dumps(r.numbers)
    nets = r.numbers["nets"]
    assert [n["label"] for n in nets] == ["resnet20-cifar", "plain20-cifar"]
    assert [n["skip"] for n in nets] == [True, False]
    assert r.run_ids == [r.numbers["sweep_id"]]
    sw = sweeps.status(store, r.run_ids[0])
    assert sw.status == "FINISHED" and len(sw.children) == 2
    for net in nets:
        z = np.asarray(net["z"])
        assert z.shape == (3, 3) and np.isfinite(z).all()
        assert net["coords"] == [-1.0, 0.0, 1.0]
        assert net["perturbed_tensors"] < net["tensors"]  # biases and batch norm left alone
        assert set(net["summary"]["rise"]) == {"0.5", "1"}
    # the centre is the trained model's own loss on the same images
    child = next(c for c in sw.children if c.run_id == nets[0]["run_id"])
    model = load_model_file(store.artifact_path(child.run_id, "model.keras"))
    ds = load_dataset(stored_config(store, child.run_id))
    pred = model.predict(ds.x_train[:16], verbose=0)
    own = float(keras.losses.SparseCategoricalCrossentropy()(ds.y_train[:16], pred))
    assert nets[0]["z"][1][1] == pytest.approx(own, rel=1e-4)
    assert [cap for cap, _ in r.figures] == ["Loss surfaces, same colour scale",
                                             "Contours, same levels",
                                             "1-D cut through the trained weights"]
    surf = r.figures[0][1]
    assert {t.cmin for t in surf.data} == {min(np.min(n["z"]) for n in nets)}
    assert len(r.findings) >= 3 and "resnet20-cifar" in r.findings[0]
    assert r.tables[0][0] == "Per network" and len(r.tables[0][1]) == 2
    assert any("grid points" in m for m in seen)


def test_loss_surface_findings_say_plainly_when_no_difference_shows():
    from playground.studies.loss_surface import findings_of

    def net(label, skip, r05, r1, share):
        return {"label": label, "skip": skip, "val_accuracy": 0.9,
                "summary": {"centre_loss": 0.1, "rise": {"0.5": r05, "1": r1},
                            "nonconvex_share": share, "nonconvex_share_inner": share,
                            "centre_lambda_min": 1.0, "centre_lambda_max": 2.0}}
    alike = findings_of({"depth": 20, "nets": [net("resnet20-cifar", True, 1.0, 5.0, 0.1),
                                               net("plain20-cifar", False, 1.1, 5.2, 0.12)]})
    assert "No clear difference" in alike[-1] and "depth 56" in alike[-1]
    sharp = findings_of({"depth": 56, "nets": [net("resnet56-cifar", True, 1.0, 5.0, 0.1),
                                               net("plain56-cifar", False, 3.0, 9.0, 0.5)]})
    assert sharp[-1].startswith("Without skip connections the surface is sharper: 3.00x")


# --- study 12 ------------------------------------------------------------------------------
def test_guideline_configurations_have_equal_macs_within_the_documented_rounding():
    from playground.studies.speed import MAX_MAC_MISMATCH, WIDTHS, bench_macs, benches
    for c in WIDTHS:
        items = benches(c)
        assert [b.guideline for b in items].count("G3") == 5 and len(items) == 17
        for g in ("G1", "G2", "G3", "G4"):
            mine = [b for b in items if b.guideline == g]
            base = bench_macs(mine[0], 28, 10)
            for b in mine:
                assert abs(bench_macs(b, 28, 10) / base - 1) <= MAX_MAC_MISMATCH, (c, b)
                if g in ("G4",) or b.kind == "parallel":
                    assert bench_macs(b, 28, 10) == base
    g1 = {b.label: (b.width, b.inner) for b in benches(96, ("G1",))}
    assert g1 == {"1:1": (96, 96), "1:2": (68, 136), "1:6": (39, 236), "1:12": (28, 329)}
    g2 = {b.label: (b.width, b.count) for b in benches(96, ("G2",))}
    assert g2 == {"g=1": (96, 1), "g=2": (136, 2), "g=4": (192, 4), "g=8": (272, 8)}
    assert all(w % g == 0 for w, g in g2.values())
    with pytest.raises(SpecError, match="width"):
        benches(30)


def test_guideline_networks_counted_by_the_cost_model_match_the_formula():
    """The project's cost model (``analyze``) counts the built networks: MACs equal the
    formula exactly; only G4's ReLUs and adds are other ops (one per element each)."""
    from playground.cost import analyze
    from playground.studies.speed import bench_macs, benches, build_bench
    size, blocks = 6, 2
    for b in benches(48):
        report = analyze(build_bench(b, size, blocks))
        assert report.macs == bench_macs(b, size, blocks), b
        assert not report.uncounted
        if b.guideline != "G4":
            assert report.other_ops == 0 and report.flops == 2 * report.macs
        else:
            hw = size * size
            relu = (2 * b.inner + b.width) * hw if b.relu else 0
            add = b.width * hw if b.shortcut else 0
            assert report.other_ops == blocks * (relu + add), b


def test_speed_study_end_to_end_tiny():
    import playground.studies as studies
    from playground.studies.speed import PAPER
    st = studies.get("macs-vs-speed")
    assert st.kind == "times" and not st.trains and st.background and st.number == 12
    assert st.resolve(preset="longer")["zoo"] == "cifar+imagenet"
    seen = []
    r = st.run({"zoo": "small", "width": 48, "size": 14, "blocks": 1, "rounds": 1,
                "repeats": 1, "batch": 2}, context=studies.Context(progress=seen.append))
    json.dumps(r.numbers)
    n = r.numbers
    assert [z["architecture"] for z in n["zoo"]] == ["lenet5", "separable-cnn-28"]
    assert all(z["latency_ms"] > 0 and z["ms_per_gmac"] > 0 for z in n["zoo"])
    assert n["zoo_summary"]["entries"] == 2
    rows = n["guidelines"]
    assert len(rows) == 17 and {r_["guideline"] for r_ in rows} == {"G1", "G2", "G3", "G4"}
    for row in rows:
        assert row["macs"] == row["formula_macs"] and row["median_ms"] > 0
        assert row["paper_batches_per_s"] == PAPER.get(row["guideline"], {}).get(row["label"])
    bases = [r_ for r_ in rows if r_["mac_mismatch"] == 0 and r_["relative_speed"] == 1.0]
    assert {b["guideline"] for b in bases} == {"G1", "G2", "G3", "G4"}
    summ = n["guideline_summary"]
    assert summ["G2"]["case"] == "g=8" and summ["G2"]["paper_factor"] == pytest.approx(
        2451 / 634)
    assert all(isinstance(v["held"], bool) for v in summ.values())
    text = " ".join(r.findings)
    for g in ("G1", "G2", "G3", "G4", "Zoo (2 entries"):
        assert g in text
    assert [cap for cap, _ in r.figures] == ["MACs vs measured time across the zoo",
                                             "ShuffleNet V2's guidelines on this machine"]
    assert len(r.tables) == 2 and len(r.tables[1][1]) == 17
    assert any("G4" in m for m in seen)


def test_one_guideline_alone_and_labels_placed_apart():
    from playground.studies.speed import benches, place_labels
    assert {b.guideline for b in benches(48, ("G2",))} == {"G2"}
    pos = place_labels([1e6, 1.05e6, 1e9], [10.0, 10.2, 50.0], ["resnet20", "plain20", "vgg"])
    assert pos[0] != pos[1] and pos[2] == "top center"


def test_spearman_and_zoo_summary():
    from playground.studies.speed import spearman, zoo_summary
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2], [1, 2]) is None
    rows = [{"architecture": "a", "macs": 1e9, "latency_ms": 10.0, "ms_per_gmac": 10.0},
            {"architecture": "b", "macs": 4e9, "latency_ms": 8.0, "ms_per_gmac": 2.0},
            {"architecture": "c", "macs": 2e9, "latency_ms": 30.0, "ms_per_gmac": 15.0}]
    s = zoo_summary(rows)
    assert s["ms_per_gmac_spread"] == pytest.approx(7.5)
    assert s["inversion"]["more_macs"] == "b" and s["inversion"]["fewer_macs"] == "a"
    assert s["inversion"]["macs_ratio"] == pytest.approx(4.0)


def test_guideline_verdicts_held_mixed_or_not():
    from playground.studies.speed import findings_of, guideline_summary

    def row(g, label, rounds, paper=None):
        rel = sorted(rounds)[len(rounds) // 2]
        return {"guideline": g, "label": label, "relative_speed": rel, "mac_mismatch": 0.0,
                "relative_speed_rounds": rounds, "paper_relative_speed": paper}
    rows = [row("G2", "g=1", [1, 1, 1]), row("G2", "g=8", [0.2, 0.25, 0.3], 634 / 2451),
            row("G3", "1-fragment", [1, 1, 1]), row("G3", "4-fragment-parallel", [0.8, 0.85, 1.2]),
            row("G4", "ReLU + shortcut", [1, 1, 1]), row("G4", "neither", [1.0, 1.02, 1.03])]
    s = guideline_summary(rows)
    assert s["G2"]["held"] and s["G2"]["factor"] == pytest.approx(4.0)
    assert s["G2"]["paper_factor"] == pytest.approx(2451 / 634)
    assert not s["G3"]["held"] and s["G3"]["mixed"]          # 1.18x median, one round faster
    assert not s["G4"]["held"] and not s["G4"]["mixed"]      # 1.02x: under the threshold
    text = findings_of({"batch": 1}, {"guideline_summary": s})
    assert "G2 (" in text[0] and "held here" in text[0] and "paper, GTX 1080Ti: 3.87x" in text[0]
    assert "some rounds only" in text[1] and "did not show here" in text[2]
