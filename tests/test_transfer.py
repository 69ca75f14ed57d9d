"""Transfer learning offline: backbones and their preprocessing, user weights files, the
frozen-then-fine-tuned recipe on generated images (folder and zip), the feature cache, Grad-CAM,
the standalone predict script and the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from playground import leaderboard
from playground.data.builtin import make_shapes
from playground.errors import SpecError
from playground.store import RunStore
from playground.train import TrainConfig
from playground.train.runs import run_local
from playground.transfer.backbones import load_backbone, preprocess_mode, preprocessing
from playground.transfer.predict import class_activation, load_predictor, overlay
from playground.train.recipes.transfer import check, transfer_config, unfreeze_top

ROOT = Path(__file__).resolve().parent.parent
SOURCE = {"name": "source-cnn", "input_shape": [32, 32, 1], "blocks": [
    {"type": "conv", "params": {"filters": 16}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}],
    "head": {"type": "gap_head", "params": {"classes": 6}}}


def write_images(root: Path, classes: int = 2, count: int = 200, seed: int = 7) -> Path:
    """Generated shapes (RGB PNGs), one folder per class."""
    from PIL import Image
    ds = make_shapes(classes=classes, image_size=48, count=count, channels=3, seed=seed)
    x = np.concatenate([ds.x_train, ds.x_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    for i, (img, label) in enumerate(zip(x, y)):
        folder = root / ds.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"img_{i}.png")
    return root


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as z:
        for p in sorted(folder.rglob("*.png")):
            z.write(p, f"photos/{p.relative_to(folder)}")
    return target


@pytest.fixture(scope="module")
def source_run():
    """A small CNN trained in the app on six shape classes: the backbone to transfer from."""
    res = run_local(TrainConfig(spec=SOURCE, dataset="shapes", epochs=8, learning_rate=3e-3,
                                dataset_options={"classes": 6, "count": 900}))
    assert res["status"] == "FINISHED" and res["val_accuracy"] > 0.9
    return res["run_id"]


# --- backbones ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, mode", [("ResNet50", "caffe"), ("MobileNetV2", "tf"),
                                        ("DenseNet121", "torch")])
def test_preprocessing_layers_match_the_backbones_own_preprocess_input(name, mode):
    import keras
    assert preprocess_mode(name) == mode
    module = sys.modules[getattr(keras.applications, name).__module__]
    x = np.random.default_rng(1).integers(0, 256, size=(2, 5, 5, 3)).astype("float32")
    inp = keras.Input((5, 5, 3))
    model = keras.Model(inp, preprocessing(inp, mode, 3, 3))
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(module.preprocess_input(x.copy())),
                               atol=1e-4)


def test_user_weights_file_round_trip(tmp_path):
    """Weights saved from a randomly initialised backbone load back through the user path."""
    import keras
    keras.utils.set_random_seed(3)
    original = keras.applications.MobileNetV2(weights=None, include_top=False,
                                              input_shape=(64, 64, 3))
    path = tmp_path / "my_backbone.weights.h5"
    original.save_weights(path)
    loaded = load_backbone("MobileNetV2", str(path), (64, 64, 3))
    assert loaded.weights == str(path) and loaded.mode == "tf"
    for a, b in zip(original.get_weights(), loaded.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(SpecError, match="does not fit"):
        load_backbone("MobileNet", str(path), (64, 64, 3))
    with pytest.raises(SpecError, match="does not exist"):
        load_backbone("MobileNetV2", str(tmp_path / "missing.weights.h5"), (64, 64, 3))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SpecError, match=r"\.weights\.h5"):
        load_backbone("MobileNetV2", str(tmp_path / "notes.txt"), (64, 64, 3))


def test_imagenet_weights_offline_say_which_file_goes_where(monkeypatch):
    from keras.src.utils import file_utils

    def offline(fname, origin=None, **kw):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service "
                        "not known")
    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(SpecError) as e:
        load_backbone("MobileNetV2", "imagenet", (96, 96, 3))
    text = str(e.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in text
    assert str(Path(os.environ["KERAS_HOME"]) / "models") in text and "'none'" in text


def test_small_images_and_unknown_backbones_are_refused():
    with pytest.raises(SpecError, match="at least 75"):
        load_backbone("InceptionV3", "none", (64, 64, 3))
    with pytest.raises(SpecError, match="did you mean"):
        check(transfer_config("x", backbone="MobileNetV9"))
    with pytest.raises(SpecError, match="fine_tune_layers"):
        check(transfer_config("x", fine_tune_layers=-1))


def test_unfreeze_top_keeps_batch_norm_frozen():
    import keras
    model = keras.applications.MobileNetV2(weights=None, include_top=False,
                                           input_shape=(32, 32, 3))
    unfreeze_top(model, 6)
    trainable = [layer for layer in model.layers if layer.trainable and layer.weights]
    assert 0 < len(trainable) <= 6
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    assert all(not layer.trainable for layer in model.layers[:-20] if layer.weights)


# --- the recipe ---------------------------------------------------------------------------
def test_transfer_from_a_playground_run_on_folder_and_zip(tmp_path, source_run):
    store = RunStore()
    folder = write_images(tmp_path / "photos")
    res = run_local(transfer_config(str(folder), backbone=f"run:{source_run}", epochs=12,
                                    learning_rate=3e-3, name="from folder"), store)
    assert res["status"] == "FINISHED" and res["val_accuracy"] > 0.9, res
    assert res["features_from_disk"] is False
    archive = zip_folder(folder, tmp_path / "photos.zip")
    res2 = run_local(transfer_config(str(archive), backbone=f"run:{source_run}", epochs=12,
                                     learning_rate=3e-3, name="from zip"), store)
    assert res2["status"] == "FINISHED" and res2["val_accuracy"] > 0.9
    assert res2["features_from_disk"] is True  # same pixels, same backbone: no second pass
    rows = {r["run_id"]: r for r in leaderboard.rows(store)}
    for run in (res, res2):
        assert rows[run["run_id"]]["recipe"] == "transfer"
        assert rows[run["run_id"]]["backbone"] == f"run:{source_run}"
    meta = json.loads(store.artifact_text(res["run_id"], "transfer.json"))
    assert meta["class_names"] == ["circle", "square"] and meta["mode"] == "none"
    preds = json.loads(store.artifact_text(res["run_id"], "predictions.json"))
    assert len(preds["y_true"]) == len(preds["y_pred"]) == len(preds["top_k"])


def test_fine_tuning_phase_continues_the_curves(tmp_path, source_run):
    store = RunStore()
    folder = write_images(tmp_path / "p", count=120)
    res = run_local(transfer_config(str(folder), backbone=f"run:{source_run}", epochs=3,
                                    fine_tune_layers=2, fine_tune_epochs=2, learning_rate=3e-3,
                                    feature_cache=False), store)
    assert res["status"] == "FINISHED" and res["epochs_done"] == 5
    steps = [s for s, _ in store.history(res["run_id"], ["val_accuracy"])["val_accuracy"]]
    assert steps == [1, 2, 3, 4, 5]
    seconds = [v for _, v in store.history(res["run_id"], ["train_seconds"])["train_seconds"]]
    assert seconds == sorted(seconds)


def test_grad_cam_matches_autodiff_and_predict_script_runs(tmp_path, source_run):
    import keras
    import tensorflow as tf  # the test checks the closed form against real gradients
    store = RunStore()
    folder = write_images(tmp_path / "q", count=120)
    res = run_local(transfer_config(str(folder), backbone=f"run:{source_run}", epochs=6,
                                    learning_rate=3e-3), store)
    predictor = load_predictor(res["run_id"], store)
    data = (folder / "circle").glob("*.png").__next__().read_bytes()
    img = predictor.decode(data, "circle.png")
    assert img.shape == predictor.input_shape and img.dtype == np.uint8
    (pred,) = predictor.predict(img[None])
    assert pred.heatmap.shape == img.shape[:2] and 0 <= pred.heatmap.min() <= pred.heatmap.max() <= 1
    probs = np.asarray(predictor.model.predict(img[None], verbose=0))[0]
    assert pred.top[0][0] == predictor.class_names[int(np.argmax(probs))]
    assert sum(p for _, p in pred.top) == pytest.approx(1.0, abs=1e-4)
    # Grad-CAM by autodiff: gradient of the pre-softmax class score wrt the feature map
    gap = next(layer for layer in predictor.model.layers
               if isinstance(layer, keras.layers.GlobalAveragePooling2D))
    dense = predictor.model.get_layer("head_dense")
    fmodel = keras.Model(predictor.model.inputs, gap.input)
    fmap = tf.convert_to_tensor(np.asarray(fmodel(img[None])))
    with tf.GradientTape() as tape:
        tape.watch(fmap)
        pooled = tf.reduce_mean(fmap, axis=(1, 2))
        score = tf.matmul(pooled, dense.kernel)[0, pred.class_index] + dense.bias[pred.class_index]
    grads = tape.gradient(score, fmap)[0].numpy()
    alpha = grads.mean(axis=(0, 1))
    expected = np.maximum((fmap[0].numpy() * alpha).sum(-1), 0)
    expected = expected / expected.max() if expected.max() > 0 else expected
    ours = class_activation(fmap[0].numpy(), np.asarray(dense.kernel), pred.class_index)
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert overlay(img, pred.heatmap).shape == img.shape[:2] + (3,)
    # the standalone predict script, on the saved model
    script = tmp_path / "predict.py"
    script.write_text(store.artifact_text(res["run_id"], "predict.py"))
    sample = tmp_path / "sample.png"
    sample.write_bytes(data)
    out = subprocess.run([sys.executable, str(script), str(store.artifact_path(res["run_id"],
                         "model.keras")), str(sample)], capture_output=True, text=True,
                         timeout=180, env=os.environ.copy())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith(str(sample)) and "circle" in out.stdout


def test_cli_finetune(tmp_path, source_run):
    folder = write_images(tmp_path / "c", count=120)
    out = subprocess.run([sys.executable, "-m", "playground", "finetune", "--images",
                          str(folder), "--backbone", f"run:{source_run}", "--epochs", "8",
                          "--lr", "0.003", "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env=os.environ.copy())
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["status"] == "FINISHED" and result["backbone"] == f"run:{source_run}"
    bad = subprocess.run([sys.executable, "-m", "playground", "finetune", "--images",
                          str(tmp_path / "nowhere"), "--backbone", "MobileNetV2", "--weights",
                          "none"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=os.environ.copy())
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "does not exist" in bad.stderr


def test_every_keras_backbone_has_a_default_size_and_a_known_preprocessing():
    from playground.transfer.backbones import default_size, keras_backbones
    names = keras_backbones()
    assert len(names) == 18
    modes = {name: preprocess_mode(name) for name in names}
    assert set(modes.values()) <= {"tf", "torch", "caffe", "none"}
    assert modes["VGG16"] == "caffe" and modes["Xception"] == "tf"
    assert {default_size(n) for n in names} == {224, 299, 331}


def test_label_smoothing_applies_to_both_transfer_phases(tmp_path, source_run):
    folder = write_images(tmp_path / "ls", count=80)
    res = run_local(transfer_config(str(folder), backbone=f"run:{source_run}", epochs=2,
                                    fine_tune_layers=1, fine_tune_epochs=1, label_smoothing=0.1,
                                    learning_rate=3e-3, feature_cache=False), RunStore())
    assert res["status"] == "FINISHED" and res["epochs_done"] == 3
