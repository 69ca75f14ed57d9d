"""load_model_file: safe loading of .keras files with one-line errors."""
import zipfile

import pytest

import playground  # noqa: F401  (sets KERAS_BACKEND)
import keras
from keras import layers as L

from playground.cost import analyze, load_model_file
from playground.errors import SpecError


def small_model():
    inp = keras.Input(shape=(8, 8, 3))
    x = L.Conv2D(4, 3, name="stage1.conv")(inp)
    x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inp, L.Dense(2)(x), name="small")


def test_round_trip_keeps_params_and_cost(tmp_path):
    model = small_model()
    path = tmp_path / "small.keras"
    model.save(path)
    loaded = load_model_file(path)
    assert isinstance(loaded, keras.Model)
    assert loaded.count_params() == model.count_params()
    before, after = analyze(model), analyze(loaded)
    assert (after.params, after.non_trainable_params, after.macs) == (
        before.params, before.non_trainable_params, before.macs)
    assert after.layer("stage1.conv").macs == 9 * 3 * 4 * 36


def test_a_valid_archive_with_another_extension_loads(tmp_path):
    path = tmp_path / "small.keras"
    small_model().save(path)
    upload = tmp_path / "upload.bin"
    upload.write_bytes(path.read_bytes())
    assert load_model_file(upload).count_params() == small_model().count_params()


def test_lambda_layer_is_refused(tmp_path):
    inp = keras.Input(shape=(4,))
    out = L.Lambda(lambda t: t * 2, name="double")(inp)
    path = tmp_path / "with_lambda.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(SpecError) as err:
        load_model_file(path)
    assert err.value.where == "file 'with_lambda.keras'"
    assert "Lambda" in err.value.rule and "safe_mode" in err.value.rule
    assert "double" in str(err.value)
    assert "\n" not in str(err.value)


def test_lambda_inside_a_nested_model_is_refused(tmp_path):
    inner_in = keras.Input(shape=(4,))
    inner = keras.Model(inner_in, L.Lambda(lambda t: t + 1)(inner_in), name="inner")
    inp = keras.Input(shape=(4,))
    path = tmp_path / "nested.keras"
    keras.Model(inp, L.Dense(2)(inner(inp))).save(path)
    with pytest.raises(SpecError, match="Lambda"):
        load_model_file(path)


def test_text_file_renamed_keras(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("this is not a model\n")
    with pytest.raises(SpecError) as err:
        load_model_file(path)
    assert str(err.value) == (
        "file 'notes.keras': is not a .keras model archive (not a zip file)")


def test_zip_without_config(tmp_path):
    path = tmp_path / "archive.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(SpecError, match=r"^file 'archive.keras': .*no config.json"):
        load_model_file(path)


def test_zip_with_broken_config(tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", "{not json")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_model_file(path)


def test_hdf5_file_is_named_as_such(tmp_path):
    path = tmp_path / "old.keras"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(SpecError, match="HDF5"):
        load_model_file(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(SpecError) as err:
        load_model_file(tmp_path / "nowhere.keras")
    assert str(err.value) == "file 'nowhere.keras': not found"
    with pytest.raises(SpecError, match="folder"):
        load_model_file(tmp_path)


class Unregistered(keras.layers.Layer):
    def call(self, x):
        return x


def test_other_load_failures_give_one_line(tmp_path):
    inp = keras.Input(shape=(3,))
    path = tmp_path / "custom.keras"
    keras.Model(inp, Unregistered(name="mystery")(inp)).save(path)
    with pytest.raises(SpecError) as err:
        load_model_file(path)
    message = str(err.value)
    assert message == ("file 'custom.keras': could not be loaded: "
                       "Could not locate class 'Unregistered'")
