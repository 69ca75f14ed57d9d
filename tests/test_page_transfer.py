"""AppTest for the Transfer-learning page: it renders with no data; bad files handed to it are
listed with their reasons while the rest becomes an image set; Train with a playground run as
the backbone launches a background run that finishes and shows its results; a FAILED run's error
is shown with the retry from random initialisation.

AppTest cannot upload files: the page also reads files handed over in session state
(``tl_files``: {class: [(name, bytes)]}), which go through the same ingestion path."""
from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from playground.cost import format_count
from playground.data.saved import list_saved, load_arrays
from playground.store import RunRecord, RunStore
from playground.train.config import TrainConfig
from playground.train.fitting import load_dataset
from playground.train.runs import run_local
from playground.zoo.summaries import summary_of

from conftest import png, shape_files, wait_terminal as _wait_terminal, zip_bytes  # noqa: E402

PAGE = "../pages/transfer.py"
WAIT_S = 120
SOURCE = {"name": "source-cnn", "input_shape": [32, 32, 1], "blocks": [
    {"type": "conv", "params": {"filters": 16}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32}}],
    "head": {"type": "gap_head", "params": {"classes": 6}}}


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store and data folder of the test's own; no worker outlives the test."""
    monkeypatch.setenv("PLAYGROUND_DATA", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    s = RunStore()
    yield s
    for rec in s.list_runs():
        if rec.active:
            s.cancel(rec.run_id)
            _wait_terminal(s, rec.run_id, 30, fail=False)


def _page(files: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    if files is not None:
        at.session_state["tl_files"] = files
    return at.run()


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _rejected(at) -> dict[str, str]:
    out = {}
    for df in at.dataframe:
        table = df.value
        if list(table.columns) == ["file", "reason"]:
            out.update(dict(zip(table["file"], table["reason"])))
    return out


def test_page_renders_with_no_data(store):
    at = _page()
    assert not at.exception
    assert at.title[0].value == "Transfer learning"
    assert _texts(at.subheader) == ["1 · Images", "2 · Backbone", "3 · Train", "4 · Results"]
    assert at.button(key="tl_use").disabled and at.button(key="tl_train").disabled
    assert at.selectbox(key="tl_backbone").value == "MobileNetV2"
    assert len(at.selectbox(key="tl_backbone").options) == 18
    assert [m.label for m in at.metric][:2] == ["Parameters", "MACs at 224×224"]
    # a smaller image size: the MACs follow the pixel count
    at.select_slider(key="tl_size_MobileNetV2").set_value(96).run()
    macs = [m.value for m in at.metric if m.label == "MACs at 96×96"]
    assert macs == [format_count(summary_of("keras:MobileNetV2")["macs"] * (96 / 224) ** 2)]


def test_classes_by_name_and_bad_files_listed_with_reasons(store):
    at = _page()
    at.text_input(key="tl_new_class").set_value("circle")
    at.button(key="tl_add_class").click().run()
    at.text_input(key="tl_new_class").set_value("circle")
    at.button(key="tl_add_class").click().run()
    assert any("already a class" in w.value for w in at.warning)
    assert at.session_state["tl_classes"] == ["circle"]

    files = shape_files(count=40)
    circle, square = sorted(files)[:2]
    bad = [("empty.png", b""), ("notes.txt", b"plain text"),
           ("cut.png", png(np.zeros((40, 40, 3), "uint8"))[:60])]
    at.session_state["tl_files"] = {circle: files[circle] + bad, square: files[square][:4]}
    at.run()
    assert not at.exception
    reasons = _rejected(at)
    assert reasons == {"empty.png": "is an empty file",
                       "notes.txt": "is not an image file Pillow can read",
                       "cut.png": reasons["cut.png"]} and "truncated" in reasons["cut.png"]
    warnings = " ".join(_texts(at.warning))
    assert "3 file(s) in 'circle' cannot be used" in warnings
    assert "Few images in square (4)" in warnings and "imbalanced" in warnings

    at.button(key="tl_use").click().run()
    assert not at.exception
    saved = list_saved()
    assert len(saved) == 1 and saved[0]["class_names"] == sorted([circle, square])
    assert saved[0]["count"] == len(files[circle]) + 4
    assert saved[0]["meta"]["report"]["rejected"][0]["name"] == "empty.png"
    assert any(f"Saved the image set '{circle} vs {square}' ({saved[0]['count']} images); 3 "
               "file(s) left out" in s.value for s in at.success)
    assert at.selectbox(key="tl_set").value == saved[0]["id"]
    assert not at.button(key="tl_train").disabled
    # a set saved before is offered again in a new session
    again = _page()
    assert again.selectbox(key="tl_set").value == saved[0]["id"]


def test_a_zip_with_a_folder_per_class_becomes_an_image_set(store):
    files = shape_files(count=30)
    entries = {f"photos/{cls}/{name}": data for cls, items in files.items()
               for name, data in items}
    entries["../outside.png"] = files[sorted(files)[0]][0][1]
    entries["photos/notes.txt"] = b"not in a class folder"
    entries[f"photos/{sorted(files)[1]}/broken.png"] = b"\x89PNG broken"
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tl_zips"] = [("photos.zip", zip_bytes(entries))]
    at.run()
    assert not at.exception
    assert {m.value for m in at.markdown} >= {f"**{c}** · {len(v)} image(s)"
                                              for c, v in files.items()}
    reasons = _rejected(at)
    assert "'..'" in reasons["../outside.png"]
    assert reasons["photos/notes.txt"] == "is not inside a class folder"
    assert "not an image" in reasons[f"photos/{sorted(files)[1]}/broken.png"]
    at.button(key="tl_use").click().run()
    assert not at.exception
    assert [s["count"] for s in list_saved()] == [sum(len(v) for v in files.values())]


def test_the_same_images_through_both_tabs_are_used_once_and_sets_get_names(store):
    """Classes with files, then the same images as a zip: a note says how many duplicates are
    left out, the set holds each image once, and it is named after the zip ('pets'); a second
    set from the same upload is 'pets (2)', a typed name is kept."""
    files = shape_files(count=20)
    n = sum(len(v) for v in files.values())
    entries = {f"pets/{cls}/{name}": data for cls, items in files.items() for name, data in items}
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tl_files"] = files
    at.session_state["tl_zips"] = [("pets.zip", zip_bytes(entries))]
    at.run()
    assert not at.exception
    assert any(f"{n} duplicate images will be left out" in i.value for i in at.info)
    assert any(c.value.startswith(f"{n} images in 2 classes") for c in at.caption)
    assert at.text_input(key="tl_set_name").value == "pets"
    at.button(key="tl_use").click().run()
    assert not at.exception
    saved = list_saved()
    assert [(s["name"], s["count"]) for s in saved] == [("pets", n)]
    x, _y, _names = load_arrays(saved[0]["id"])
    assert len({img.tobytes() for img in x}) == n  # no image twice
    assert any(f"Saved the image set 'pets' ({n} images); {n} duplicate(s) left out" in m.value
               for m in at.success)
    at.run()
    assert at.text_input(key="tl_set_name").value == "pets (2)"
    at.button(key="tl_use").click().run()
    at.text_input(key="tl_set_name").set_value("my own name").run()
    at.button(key="tl_use").click().run()
    assert not at.exception
    assert sorted(s["name"] for s in list_saved()) == ["my own name", "pets", "pets (2)"]


def test_too_few_classes_is_a_clear_message_and_nothing_is_saved(store):
    files = shape_files(count=20)
    one = sorted(files)[0]
    at = _page({one: files[one], "empty class": [("x.txt", b"no")]})
    at.button(key="tl_use").click().run()
    assert not at.exception
    assert any("needs at least 2 classes" in e.value for e in at.error)
    assert list_saved() == []


def test_train_with_a_run_backbone_finishes_and_shows_results(store):
    source = run_local(TrainConfig(spec=SOURCE, dataset="shapes", epochs=8, learning_rate=3e-3,
                                   dataset_options={"classes": 6, "count": 900}))
    assert source["status"] == "FINISHED"
    backbone = f"run:{source['run_id']}"
    files = shape_files(count=80)
    at = _page(files)
    assert at.selectbox(key="tl_backbone").options[-1].startswith(
        f"Your run: source-cnn on shapes ({source['run_id'][:8]}")
    at.selectbox(key="tl_backbone").set_value(backbone).run()
    assert [m.value for m in at.metric if m.label == "Input"] == ["32×32×3"]
    at.button(key="tl_use").click().run()
    at.number_input(key="tl_epochs").set_value(6)
    at.button(key="tl_train").click().run()
    assert not at.exception, at.exception
    runs = [r for r in store.list_runs() if r.recipe == "transfer"]
    assert len(runs) == 1
    run_id = runs[0].run_id
    assert at.button(key=f"tl_cancel_{run_id}")  # the live view of the run just started
    rec = _wait_terminal(store, run_id, WAIT_S)
    assert rec.status == "FINISHED", rec.error
    assert rec.params["backbone"] == backbone

    at.run()
    assert not at.exception
    assert any("finished" in s.value for s in at.success)
    assert at.selectbox(key="tl_result").value == run_id
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Confusion matrix" in s for s in specs)
    assert any("Accuracy per class" in s for s in specs)
    assert at.get("download_button")

    # the misclassified thumbnails come from the same validation split as predictions.json
    preds = json.loads(store.artifact_text(run_id, "predictions.json"))
    meta = json.loads(store.artifact_text(run_id, "transfer.json"))
    config = TrainConfig.from_dict(json.loads(store.artifact_text(run_id, "config.json")))
    ds = load_dataset(config.with_(dataset_options=meta["dataset_options"]))
    assert ds.y_val.tolist() == preds["y_true"]
    assert ds.x_val.shape[1:3] == (32, 32)
    at.selectbox(key=f"tl_true_{run_id}").set_value(1)
    at.selectbox(key=f"tl_pred_{run_id}").set_value(1).run()
    assert not at.exception
    n = sum(1 for t, p in zip(preds["y_true"], preds["y_pred"]) if t == p == 1)
    assert any(f"**{n}** validation image(s)" in m.value for m in at.markdown)


def test_failed_run_shows_its_error_and_offers_random_initialisation(store, monkeypatch):
    message = ("backbone 'MobileNetV2': ImageNet weights could not be downloaded (no network). "
               "Place mobilenet_v2.h5 in /keras/models, or choose weights 'none'")
    config = TrainConfig(target="MobileNetV2", dataset="upload", dataset_options={"id": "x"},
                         recipe="transfer", name="offline try",
                         options={"backbone": "MobileNetV2", "weights": "imagenet"})
    run_id = store.create_run("offline try", config.store_params())
    store.log_text(run_id, config.to_json(), "config.json")
    store.mark_running(run_id)
    store.finish(run_id, "FAILED", message)
    launched = []
    monkeypatch.setattr("playground.train.worker.launch",
                        lambda c, s=None: launched.append(c) or "newrun")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tl_run"] = run_id
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error)
    at.selectbox(key="tl_backbone").set_value("ResNet50").run()  # changed since the failure
    assert at.radio(key="tl_weights").value == "imagenet"
    at.button(key="tl_retry").click().run()
    assert not at.exception
    assert len(launched) == 1 and launched[0].options["weights"] == "none"
    assert at.session_state["tl_run"] == "newrun"
    # the widgets show what runs now: the failed run's backbone, from random initialisation
    assert at.selectbox(key="tl_backbone").value == "MobileNetV2"
    assert at.radio(key="tl_weights").value == "none"


def test_the_offline_imagenet_message_shows_the_whole_address(store):
    """The message names the file to place and where; the address to fetch it from is shown
    whole (in a code block, wrapped), never cut inside the error box."""
    from playground.transfer.backbones import _weights_error
    url = ("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
           "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5")
    fname = url.rsplit("/", 1)[-1]
    message = str(_weights_error("MobileNetV2", Exception(
        f"URL fetch failure on {url}: None -- [Errno -2] Name or service not known")))
    assert message.count("https://") == 1 and url in message  # once, and whole
    config = TrainConfig(target="MobileNetV2", dataset="upload", dataset_options={"id": "x"},
                         recipe="transfer", name="offline",
                         options={"backbone": "MobileNetV2", "weights": "imagenet"})
    run_id = store.create_run("offline", config.store_params())
    store.log_text(run_id, config.to_json(), "config.json")
    store.finish(run_id, "FAILED", message)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["tl_run"] = run_id
    at.run()
    assert not at.exception
    shown = [e.value for e in at.error if "The run failed" in e.value]
    assert len(shown) == 1 and f"Place {fname} (from the address below) in" in shown[0]
    assert "https://" not in shown[0]
    assert [c.value for c in at.code] == [url]
    assert at.code[0].proto.wrap_lines


def test_the_zip_label_is_not_mangled_by_markdown(store):
    """'cats/*.jpg, dogs/*.jpg' in a label is markdown: the stars made italics of '.jpg, dogs/'."""
    import re
    at = _page()
    label = [e.proto.label for e in at.get("file_uploader") if "zip" in e.proto.label][0]
    outside_code = re.sub(r"`[^`]*`", "", label)
    assert "*" not in outside_code and "_" not in outside_code
    assert "`cats/*.jpg`" in label


# --- transfer that learns, through the page ---------------------------------------------------
BN_SOURCE = {"name": "bn-cnn", "input_shape": [32, 32, 3], "blocks": [
    {"type": "conv", "params": {"filters": 16, "batch_norm": True}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32, "batch_norm": True}}, {"type": "max_pool", "params": {}},
    {"type": "conv", "params": {"filters": 32, "batch_norm": True}}],
    "head": {"type": "gap_head", "params": {"classes": 3}}}


def _unlike_files() -> dict[str, list]:
    """200 images of 96x96 red discs vs blue squares on noisy gradients (not shapes' data)."""
    from playground.data.samples import disc_square_images
    x, y, names = disc_square_images(200, 96, seed=5)
    out: dict[str, list] = {}
    for i, (img, label) in enumerate(zip(x, y)):
        out.setdefault(names[label], []).append((f"{names[label]}_{i}.png", png(img)))
    return out


def _train_on_page(at, store) -> RunRecord:
    at.button(key="tl_use").click().run()
    at.number_input(key="tl_epochs").set_value(10)
    at.button(key="tl_train").click().run()
    assert not at.exception, at.exception
    run_id = at.session_state["tl_run"]
    rec = _wait_terminal(store, run_id, 300)
    assert rec.status == "FINISHED", rec.error
    at.run()
    assert not at.exception
    return rec


def test_page_transfer_from_a_run_backbone_learns_unlike_images(store):
    source = run_local(TrainConfig(spec=BN_SOURCE, dataset="shapes", epochs=4,
                                   dataset_options={"count": 900}))
    assert source["status"] == "FINISHED" and source["val_accuracy"] >= 0.9
    at = _page(_unlike_files())
    at.selectbox(key="tl_backbone").set_value(f"run:{source['run_id']}").run()
    rec = _train_on_page(at, store)
    assert rec.val_accuracy >= 0.9, rec.metrics
    assert rec.params["fine_tune_layers"] == "10000"  # auto: a run backbone is fine-tuned whole
    headline = [m.value for m in at.metric if m.label == "Val accuracy"]
    assert headline == [f"{rec.val_accuracy:.1%}"]


def test_page_transfer_from_random_initialisation_trains_from_scratch(store):
    at = _page(_unlike_files())
    at.selectbox(key="tl_backbone").set_value("MobileNetV2").run()
    at.radio(key="tl_weights").set_value("none").run()
    assert any("trains from scratch" in c.value for c in at.caption)
    at.select_slider(key="tl_size_MobileNetV2").set_value(64).run()
    rec = _train_on_page(at, store)
    assert rec.params["transfer.mode"] == "from scratch"
    assert rec.val_accuracy >= 0.85, rec.metrics
    assert any("trained from scratch" in i.value for i in at.info)
