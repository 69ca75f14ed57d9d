"""The lecture's table of Keras Applications pre-trained on ImageNet, as ``keras:<Name>`` entries.

These are built by ``keras.applications`` itself (weights=None for analysis), so the cost model
and exports can be checked against Keras' own implementations.
"""
from __future__ import annotations

from playground.zoo.base import ZOO, Reference, ZooEntry

# name: (size MB, top-1, top-5, parameters, depth or None, default input side)
KERAS_APPLICATIONS = {
    "Xception": (88, 0.790, 0.945, 22_910_480, 126, 299),
    "VGG16": (528, 0.713, 0.901, 138_357_544, 23, 224),
    "VGG19": (549, 0.713, 0.900, 143_667_240, 26, 224),
    "ResNet50": (98, 0.749, 0.921, 25_636_712, None, 224),
    "ResNet101": (171, 0.764, 0.928, 44_707_176, None, 224),
    "ResNet152": (232, 0.766, 0.931, 60_419_944, None, 224),
    "ResNet50V2": (98, 0.760, 0.930, 25_613_800, None, 224),
    "ResNet101V2": (171, 0.772, 0.938, 44_675_560, None, 224),
    "ResNet152V2": (232, 0.780, 0.942, 60_380_648, None, 224),
    "InceptionV3": (92, 0.779, 0.937, 23_851_784, 159, 299),
    "InceptionResNetV2": (215, 0.803, 0.953, 55_873_736, 572, 299),
    "MobileNet": (16, 0.704, 0.895, 4_253_864, 88, 224),
    "MobileNetV2": (14, 0.713, 0.901, 3_538_984, 88, 224),
    "DenseNet121": (33, 0.750, 0.923, 8_062_504, 121, 224),
    "DenseNet169": (57, 0.762, 0.932, 14_307_880, 169, 224),
    "DenseNet201": (80, 0.773, 0.936, 20_242_984, 201, 224),
    "NASNetMobile": (23, 0.744, 0.919, 5_326_716, None, 224),
    "NASNetLarge": (343, 0.825, 0.960, 88_949_818, None, 331),
}

for _name, (_mb, _top1, _top5, _params, _depth, _side) in KERAS_APPLICATIONS.items():
    ZOO.add(f"keras:{_name}", ZooEntry(
        name=f"keras:{_name}", family="keras-applications",
        summary=f"keras.applications.{_name}, ImageNet top-1 {_top1:.3f}, top-5 {_top5:.3f}.",
        keras_app=_name, input_shape=(_side, _side, 3), classes=1000,
        ref=Reference(params=_params, source="Keras Applications table (lecture)", top1=_top1,
                      top5=_top5, size_mb=_mb, depth=_depth)))
