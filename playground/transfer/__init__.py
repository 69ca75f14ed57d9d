"""Transfer learning: pretrained backbones (``backbones``), the frozen-then-fine-tuned recipe
on cached features (``recipe``), and predictions with Grad-CAM heat maps (``predict``)."""
