"""ConvNet Architecture Playground: specs, blocks, zoo, cost model, graphs and code export."""
from playground import _env  # noqa: F401  (sets KERAS_BACKEND before keras loads)

__version__ = "0.1.0"
