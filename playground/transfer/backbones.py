"""Backbones for transfer learning: every model of the lecture's Keras Applications table
(``keras.applications`` with ``weights="imagenet"`` through Keras' own loader and cache, random
initialisation, or a weights file the user names), and any finished playground run's model.

Each backbone comes with its own input preprocessing. Keras' ``preprocess_input`` functions are
plain Python; to keep the saved model loadable in safe mode (no Lambda layers) we identify the
function's mode by calling it on a probe array and express it with standard layers (Rescaling,
Normalization, and a fixed 1x1 convolution for the RGB->BGR flip of "caffe" mode).
"""
from __future__ import annotations

import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from playground.errors import SpecError, first_line
from playground.zoo.keras_apps import KERAS_APPLICATIONS

RUN_PREFIX = "run:"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
MIN_SIDE = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71, "NASNetLarge": 32}


@dataclass(frozen=True)
class Backbone:
    """A feature extractor: uint8-ready preprocessing mode, the model (no head), its name."""

    name: str
    model: Any                # input (H, W, C) float in the backbone's own range -> feature map
    mode: str                 # "caffe" | "tf" | "torch" | "none" (the model scales itself)
    input_shape: tuple[int, int, int]
    weights: str              # "imagenet" | "none" | a path | the run id


def keras_backbones() -> list[str]:
    """The lecture's Keras Applications names, in the table's order."""
    return list(KERAS_APPLICATIONS)


def default_size(name: str) -> int:
    """The backbone's default input side (224, 299 or 331; a run's own training size)."""
    if name in KERAS_APPLICATIONS:
        return KERAS_APPLICATIONS[name][5]
    raise SpecError(f"backbone '{name}'", "has no default size here")


def _app(name: str) -> Any:
    import keras
    if name not in KERAS_APPLICATIONS:
        raise SpecError(f"backbone '{name}'", "is not one of the Keras Applications: "
                        + ", ".join(KERAS_APPLICATIONS) + f", or {RUN_PREFIX}<run id>")
    return getattr(keras.applications, name)


def preprocess_mode(name: str) -> str:
    """Which of the known modes the backbone's own ``preprocess_input`` implements."""
    fn = _app(name)
    module = sys.modules[fn.__module__]
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 3, 3, 3)).astype("float32")
    y = np.asarray(module.preprocess_input(x.copy()))
    candidates = {
        "tf": x / 127.5 - 1.0,
        "torch": (x / 255.0 - np.array(TORCH_MEAN)) / np.array(TORCH_STD),
        "caffe": x[..., ::-1] - np.array(CAFFE_MEAN_BGR),
        "none": x,
    }
    for mode, expected in candidates.items():
        if y.shape == expected.shape and np.allclose(y, expected, atol=1e-3):
            return mode
    raise SpecError(f"backbone '{name}'", "its preprocess_input is not one of the modes this "
                    "app can express as layers (tf, torch, caffe, none)")


def preprocessing(x: Any, mode: str, channels_in: int, channels_out: int) -> Any:
    """Layers taking 0..255 images (any dtype) to the backbone's expected input."""
    import keras
    from keras import layers
    if channels_in != channels_out:  # RGB photos into a grayscale run's backbone, or back
        x = layers.Conv2D(channels_out, 1, use_bias=False, trainable=False, name="pre_channels",
                          kernel_initializer=keras.initializers.Constant(1.0 / channels_in))(x)
    if mode == "tf":
        return layers.Rescaling(1 / 127.5, -1.0, name="pre_tf")(x)
    if mode == "torch":
        x = layers.Rescaling(1 / 255, name="pre_scale")(x)
        return layers.Normalization(mean=list(TORCH_MEAN), variance=[s * s for s in TORCH_STD],
                                    name="pre_torch")(x)
    if mode == "caffe":  # RGB -> BGR and mean subtraction as one fixed 1x1 convolution
        flip = np.zeros((1, 1, 3, 3), dtype="float32")
        for i in range(3):
            flip[0, 0, 2 - i, i] = 1.0
        return layers.Conv2D(3, 1, trainable=False, name="pre_caffe",
                             kernel_initializer=keras.initializers.Constant(flip),
                             bias_initializer=keras.initializers.Constant(
                                 -np.array(CAFFE_MEAN_BGR, dtype="float32")))(x)
    if mode == "none":
        return x  # the model preprocesses its own input (EfficientNet-style)
    raise SpecError("preprocessing", f"unknown mode {mode!r}")


def keras_cache_dir() -> Path:
    """Where Keras' loader looks for (and caches) downloaded weights files."""
    import os
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def _weights_error(name: str, e: Exception) -> SpecError:
    """The message for weights that could not be fetched: which file to place where."""
    text = str(e)
    url = re.search(r"https?://\S+?\.h5", text)
    cache = keras_cache_dir()
    if url:  # the address once and whole (a cut one in the reason helps nobody)
        fname = url.group(0).rsplit("/", 1)[-1]
        after = re.sub(r"^[:\s]*(None\s*--\s*)?", "", text.split(url.group(0), 1)[1])
        reason = first_line(Exception(after or text.replace(url.group(0), fname)), 200)
        return SpecError(f"backbone '{name}'", f"ImageNet weights could not be downloaded "
                         f"({reason}). Place {fname} (from {url.group(0)}) in "
                         f"{cache}, or choose weights 'none' to start from random "
                         "initialisation")
    return SpecError(f"backbone '{name}'", f"ImageNet weights could not be loaded: "
                     f"{first_line(e, 200)}; choose weights 'none' to start from random "
                     "initialisation")


def load_keras_backbone(name: str, weights: str, input_shape: tuple[int, int, int]) -> Backbone:
    """``keras.applications.<name>(include_top=False)`` with ImageNet weights, random ones, or
    a weights file (``.weights.h5`` or a legacy ``.h5``) loaded into it."""
    fn = _app(name)
    side = min(input_shape[:2])
    if side < MIN_SIDE.get(name, 32):
        raise SpecError(f"backbone '{name}'", f"needs images of at least {MIN_SIDE.get(name, 32)}"
                        f" pixels a side, got {input_shape[0]}x{input_shape[1]}")
    if input_shape[2] != 3:
        input_shape = (input_shape[0], input_shape[1], 3)
    path = None
    kwargs: dict[str, Any] = {"include_top": False, "input_shape": tuple(input_shape)}
    if weights == "imagenet":
        kwargs["weights"] = "imagenet"
    elif weights in ("none", "", None):
        kwargs["weights"] = None
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise SpecError(f"weights file '{path.name}'", "does not exist")
        if not path.name.endswith(".h5"):
            raise SpecError(f"weights file '{path.name}'", "must be a Keras weights file "
                            "(.weights.h5 or .h5)")
        kwargs["weights"] = None
    try:
        with warnings.catch_warnings():  # "weights for 224x224 will be loaded": intended
            warnings.simplefilter("ignore", UserWarning)
            model = fn(**kwargs)
    except SpecError:
        raise
    except ValueError as e:
        raise SpecError(f"backbone '{name}'", first_line(e, 300)) from None
    except Exception as e:  # noqa: BLE001  download failures surface as plain Exceptions
        if weights == "imagenet":
            raise _weights_error(name, e) from None
        raise
    if path is not None:
        where = f"weights file '{path.name}'"
        fits = f"does not fit {name} without its top at {input_shape[0]}x{input_shape[1]}"
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_weights(str(path))
        except Exception as e:  # noqa: BLE001
            raise SpecError(where, f"{fits}: {first_line(e, 200)}") from None
        skipped = [w for w in caught if "freshly-initialized" in str(w.message)
                   or "Skipping" in str(w.message)]
        if skipped:  # Keras loaded part of it and left the rest random: refuse, never guess
            raise SpecError(where, f"{fits}: {len(skipped)} layer group(s) found no weights "
                            "in the file")
    return Backbone(name, model, preprocess_mode(name), tuple(input_shape),
                    "imagenet" if weights == "imagenet" else str(path or "none"))


def load_run_backbone(run_id: str, store: Any = None) -> Backbone:
    """A finished playground run's model without its head: the features the head received."""
    import keras
    from playground.cost.loading import load_model_file
    from playground.store import RunStore
    store = store or RunStore()
    rec = store.get(run_id)
    if rec.status != "FINISHED":
        raise SpecError(f"run '{run_id}'", f"is {rec.status}; only finished runs can be "
                        "backbones")
    path = store.artifact_path(run_id, "model.keras")
    if path is None:
        raise SpecError(f"run '{run_id}'", "has no saved model.keras")
    trained = load_model_file(path)
    core = next((layer for layer in trained.layers if isinstance(layer, keras.Model)), None)
    if core is None:
        raise SpecError(f"run '{run_id}'", "its model has no inner architecture to cut")
    head = [layer for layer in core.layers if layer.name.startswith("head.")]
    if not head:
        raise SpecError(f"run '{run_id}'", "its architecture has no head block to replace")
    features = head[0].input
    if isinstance(features, (list, tuple)):
        features = features[0]
    body = keras.Model(core.inputs, features, name=f"run_{run_id[:8]}_body")
    if len(body.output.shape) != 4:
        raise SpecError(f"run '{run_id}'", "its features before the head are not a feature "
                        f"map (shape {tuple(body.output.shape)}); pick a run with a conv body")
    shape = tuple(int(d) for d in core.input_shape[1:])
    # The run's own input scaling (per-channel standardisation with its training statistics,
    # or x/255 for older runs) goes with the body, so transferred images are scaled exactly as
    # the images it learned from.
    scale = next((layer for layer in trained.layers if layer.name == "scale"), None)
    inp = keras.Input(shape, name="image")
    x = scale(inp) if scale is not None else keras.layers.Rescaling(1 / 255, name="pre_unit")(inp)
    model = keras.Model(inp, body(x), name=f"run_{run_id[:8]}_features")
    return Backbone(f"{RUN_PREFIX}{run_id}", model, "none", shape, run_id)


def load_backbone(name: str, weights: str = "imagenet",
                  input_shape: tuple[int, int, int] = (224, 224, 3), store: Any = None
                  ) -> Backbone:
    """A Keras Applications name, or ``run:<run id>`` for a playground run's model."""
    if name.startswith(RUN_PREFIX):
        return load_run_backbone(name[len(RUN_PREFIX):], store)
    return load_keras_backbone(name, weights, input_shape)
