"""Heads: the classifier on top of the feature extractor (GAP or flatten + dense, or none)."""
from __future__ import annotations

from typing import Any

from playground._env import LazyModule
from playground.blocks import layers as L
from playground.blocks.base import BlockCtx, P, Param, block

layers = LazyModule("keras.layers")  # Keras loads when a block is built

CLASSES = Param("classes", "int", 10, "number of classes (1 with sigmoid: binary)", min=1)
HEAD_ACT = Param("activation", "choice", "softmax", "output activation",
                 choices=("softmax", "sigmoid", "none"))


def _classifier(x: Any, p: P, b: BlockCtx) -> Any:
    if p.dropout > 0:
        x = layers.Dropout(p.dropout, name=b.layer("dropout"))(x)
    act = None if p.activation == "none" else p.activation
    return layers.Dense(p.classes, activation=act, name=b.layer("predictions"))(x)


@block("gap_head", "Global-average-pooling head", "head",
       (CLASSES, Param("dropout", "float", 0.0, "dropout before the classifier", min=0.0, max=0.95),
        Param("pool", "choice", "avg", "global pooling kind", choices=("avg", "max")), HEAD_ACT))
def gap_head(x: Any, p: P, b: BlockCtx) -> Any:
    """Global pooling -> [dropout] -> dense classifier: no big FC layers (GoogLeNet, ResNet)."""
    x = L.global_pool(x, b, "pool", p.pool)
    return _classifier(x, p, b)


@block("dense_head", "Flatten + dense head", "head",
       (CLASSES, Param("hidden", "ints", [256], "hidden dense layer sizes (e.g. [4096, 4096])",
                       min=1),
        Param("dropout", "float", 0.5, "dropout after each hidden layer", min=0.0, max=0.95),
        HEAD_ACT))
def dense_head(x: Any, p: P, b: BlockCtx) -> Any:
    """Flatten -> hidden dense layers with dropout -> classifier (LeNet, AlexNet, VGG)."""
    if len(x.shape) > 2:
        x = layers.Flatten(name=b.layer("flatten"))(x)
    for i, units in enumerate(p.hidden, 1):
        x = layers.Dense(units, activation="relu", name=b.layer(f"fc{i}"))(x)
        if p.dropout > 0:
            x = layers.Dropout(p.dropout, name=b.layer(f"dropout{i}"))(x)
    act = None if p.activation == "none" else p.activation
    return layers.Dense(p.classes, activation=act, name=b.layer("predictions"))(x)


@block("no_head", "No head (features)", "head")
def no_head(x: Any, p: P, b: BlockCtx) -> Any:
    """Output the feature maps as they are (a backbone)."""
    return x
