"""Predictions of a finished run's model on new images: top-k probabilities and a Grad-CAM heat
map, plus the short standalone predict script offered for download.

Grad-CAM needs the gradient of the class score with respect to the last feature map. For the
heads this app trains (global average pooling, then one dense layer) that gradient is the dense
weight of each channel divided by H*W, the same at every position, so Grad-CAM reduces exactly
to the class-activation map sum_k w_kc * A_k (ReLU, normalised): computed here with no autodiff,
hence identical on every Keras backend.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from playground.errors import SpecError


@dataclass
class Prediction:
    """One image's top-k classes and probabilities, and its heat map (H x W in [0, 1])."""

    top: list[tuple[str, float]]
    heatmap: np.ndarray
    class_index: int


def _head_layers(model: Any) -> tuple[Any, Any]:
    """The model's global-average-pooling layer and its final dense layer."""
    from keras import layers
    gap = next((layer for layer in model.layers if isinstance(layer, layers.GlobalAveragePooling2D)),
               None)
    dense = next((layer for layer in reversed(model.layers) if isinstance(layer, layers.Dense)),
                 None)
    if gap is None or dense is None:
        raise SpecError("heat map", "needs a model whose head is global average pooling + dense")
    return gap, dense


def cam_kernel(model: Any) -> np.ndarray:
    """(channels, classes) weights from pooled features to class scores: the dense kernel,
    divided by the standard deviations when the head standardises its features first (the
    mean shifts every position's score equally, so it drops out of the normalised map)."""
    _, dense = _head_layers(model)
    kernel = np.asarray(dense.get_weights()[0], dtype="float32")
    norm = next((layer for layer in model.layers if layer.name == "head_norm"), None)
    if norm is not None:
        std = np.sqrt(np.asarray(norm.variance, dtype="float32")).reshape(-1)
        kernel = kernel / std[:, None]
    return kernel


def cam_model(model: Any) -> Any:
    """A model giving (last feature map, class probabilities) for the same input."""
    import keras
    gap, _ = _head_layers(model)
    return keras.Model(model.inputs, [gap.input, model.output])


def class_activation(fmap: np.ndarray, kernel: np.ndarray, c: int) -> np.ndarray:
    """Grad-CAM of class ``c`` at the feature map's resolution, scaled to [0, 1]."""
    heat = np.maximum(fmap @ kernel[:, c], 0.0)
    return heat / heat.max() if heat.max() > 0 else heat


def predict(model: Any, images: np.ndarray, class_names: Sequence[str], k: int = 3,
            cam: Any = None) -> list[Prediction]:
    """Top-k predictions and Grad-CAM heat maps (of the top class, resized to the image) for
    uint8 images (N, H, W, C) already sized for the model."""
    from PIL import Image
    cam = cam or cam_model(model)
    kernel = cam_kernel(model)
    fmaps, probs = cam.predict(images, verbose=0)
    fmaps, probs = np.asarray(fmaps, dtype="float32"), np.asarray(probs, dtype="float32")
    out = []
    for fmap, p, img in zip(fmaps, probs, images):
        c = int(np.argmax(p))
        heat = class_activation(fmap, kernel, c)
        heat_img = Image.fromarray((heat * 255).astype("uint8")).resize(
            (img.shape[1], img.shape[0]), Image.BILINEAR)
        order = np.argsort(-p)[:k]
        out.append(Prediction([(class_names[i], float(p[i])) for i in order],
                              np.asarray(heat_img, dtype="float32") / 255.0, c))
    return out


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The heat map in a red-yellow colour ramp blended over the image (uint8 RGB)."""
    rgb = image if image.shape[-1] == 3 else np.repeat(image[..., :1], 3, axis=-1)
    h = heatmap[..., None]
    colour = np.concatenate([np.ones_like(h), h, np.zeros_like(h)], axis=-1) * 255.0
    mixed = (1 - alpha * h) * rgb.astype("float32") + alpha * h * colour
    return np.clip(mixed, 0, 255).astype("uint8")


def predict_script(class_names: Sequence[str], input_shape: Sequence[int]) -> str:
    """A standalone script: ``python predict.py model.keras IMAGE...`` prints the top 3."""
    h, w, c = (int(v) for v in input_shape)
    mode = "RGB" if c == 3 else "L"
    return f'''"""Predict with a model fine-tuned in the ConvNet Playground.

    pip install keras pillow numpy tensorflow   # or jax / torch as the Keras backend
    python predict.py model.keras photo1.jpg [photo2.png ...]
"""
import sys

import keras
import numpy as np
from PIL import Image, ImageOps

CLASS_NAMES = {list(class_names)!r}
HEIGHT, WIDTH, MODE = {h}, {w}, {mode!r}


def load(path):
    """Decode, apply EXIF orientation, convert and resize as in training (uint8 pixels)."""
    image = ImageOps.exif_transpose(Image.open(path)).convert(MODE)
    array = np.asarray(image.resize((WIDTH, HEIGHT), Image.BILINEAR), dtype="uint8")
    return array if array.ndim == 3 else array[..., None]


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    model = keras.saving.load_model(argv[1])
    for path in argv[2:]:
        probs = model.predict(load(path)[None], verbose=0)[0]
        top = np.argsort(-probs)[:3]
        print(path + ": " + ", ".join(f"{{CLASS_NAMES[i]}} {{probs[i]:.3f}}" for i in top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''


@dataclass
class Predictor:
    """A finished run's model, ready to predict on new image files."""

    run_id: str
    model: Any
    class_names: list[str]
    input_shape: tuple[int, int, int]
    cam: Any

    def decode(self, data: bytes, name: str) -> np.ndarray:
        """An uploaded file as the model's input (SpecError with the reason when unusable)."""
        from playground.data.images import decode_image
        h, w, c = self.input_shape
        img = decode_image(data, name, (h, w))
        if c == 1:
            img = np.rint(img.astype("float32").mean(axis=-1, keepdims=True)).astype("uint8")
        return img

    def predict(self, images: np.ndarray, k: int = 3) -> list[Prediction]:
        return predict(self.model, images, self.class_names, min(k, len(self.class_names)),
                       self.cam)


def load_predictor(run_id: str, store: Any = None) -> Predictor:
    """Load a finished run's model (safe mode) and its class names from the run store."""
    import json
    from playground.cost.loading import load_model_file
    from playground.store import RunStore
    store = store or RunStore()
    rec = store.get(run_id)
    if rec.status != "FINISHED":
        raise SpecError(f"run '{run_id}'", f"is {rec.status}; only finished runs predict")
    path = store.artifact_path(run_id, "model.keras")
    text = store.artifact_text(run_id, "confusion_matrix.json")
    if path is None or text is None:
        raise SpecError(f"run '{run_id}'", "has no saved model")
    model = load_model_file(path)
    names = json.loads(text)["class_names"]
    shape = tuple(int(d) for d in model.input_shape[1:])
    if len(shape) != 3:
        raise SpecError(f"run '{run_id}'", "does not take images")
    return Predictor(run_id, model, names, shape, cam_model(model))
