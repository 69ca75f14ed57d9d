"""The zoo: classic architectures as specs built from our blocks, plus the Keras Applications."""
from playground.zoo.base import ZOO, Reference, ZooEntry
from playground.zoo import classic, resnets, efficient, keras_apps  # noqa: F401  (registration)


def get(name: str) -> ZooEntry:
    """The zoo entry called ``name`` (KeyError listing the known names otherwise)."""
    return ZOO.get(name)


def names(pattern: str = "*") -> list[str]:
    return ZOO.list(pattern)


__all__ = ["ZOO", "Reference", "ZooEntry", "get", "names"]
