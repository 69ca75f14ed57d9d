"""Zoo entries: named architectures with their reference figures (params, MACs, source).

An entry either makes an :class:`ArchSpec` from our blocks (``make``) or, for the lecture's Keras
Applications table (``keras:<Name>``), builds ``keras.applications.<Name>(weights=None)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from playground.errors import SpecError, first_line
from playground.registry import Registry
from playground.spec import ArchSpec, BlockSpec


@dataclass(frozen=True)
class Reference:
    """Published (or hand-counted) figures a test recomputes. ``None`` = no such figure."""

    params: int | None = None
    params_tol: float = 0.0  # relative; 0 = must match exactly
    trainable_only: bool = False  # papers and torchvision count no BN moving statistics
    macs: int | None = None
    macs_tol: float = 0.0
    source: str = ""
    top1: float | None = None
    top5: float | None = None
    size_mb: int | None = None
    depth: int | None = None


@dataclass(frozen=True)
class ZooEntry:
    name: str
    family: str
    summary: str
    make: Callable[..., ArchSpec] | None = None
    keras_app: str | None = None
    input_shape: tuple[int, ...] = (224, 224, 3)
    classes: int = 1000
    options: Mapping[str, Any] = field(default_factory=dict)
    ref: Reference = Reference()
    year: int | None = None

    @property
    def is_spec(self) -> bool:
        return self.make is not None

    def _opts(self, options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise SpecError(f"zoo entry '{self.name}'", f"unknown option(s) {unknown}; it takes "
                            f"{sorted(self.options) or 'no options'}")
        return {**self.options, **options}

    def spec(self, input_shape: tuple[int, ...] | None = None, classes: int | None = None,
             **options: Any) -> ArchSpec:
        """The entry as an editable spec (not available for ``keras:`` entries)."""
        if self.make is None:
            raise SpecError(f"zoo entry '{self.name}'", "is a Keras Applications model: it can be "
                            "analysed and exported, but not opened as an editable spec")
        spec = self.make(**self._opts(options))
        if input_shape is not None or classes is not None:
            spec = spec.with_input(tuple(input_shape or spec.input_shape), classes)
        return spec

    def build(self, input_shape: tuple[int, ...] | None = None, classes: int | None = None,
              **options: Any):
        """The Keras model (our blocks, or ``keras.applications`` with random weights)."""
        if self.make is not None:
            from playground.build import build
            return build(self.spec(input_shape, classes, **options))
        import keras
        self._opts(options)
        fn = getattr(keras.applications, self.keras_app)
        kwargs: dict[str, Any] = {"weights": None, "classes": classes or self.classes}
        if input_shape is not None:
            kwargs["input_shape"] = tuple(input_shape)
        try:
            return fn(**kwargs)
        except ValueError as e:
            raise SpecError(f"zoo entry '{self.name}'", first_line(e)) from None


ZOO: Registry[ZooEntry] = Registry("zoo entry")


def entry(name: str, family: str, summary: str, *, input_shape=(224, 224, 3), classes=1000,
          options: Mapping[str, Any] | None = None, ref: Reference = Reference(),
          year: int | None = None) -> Callable:
    """Register the decorated spec factory as zoo entry ``name``."""
    def deco(fn: Callable[..., ArchSpec]) -> Callable[..., ArchSpec]:
        ZOO.add(name, ZooEntry(name, family, summary, fn, None, tuple(input_shape), classes,
                               dict(options or {}), ref, year))
        return fn
    return deco


def B(type: str, name: str | None = None, **params: Any) -> BlockSpec:
    """Shorthand for a block in zoo code: ``B("conv", "conv1", filters=64, kernel=7)``."""
    return BlockSpec(type, params, name)


def arch(name: str, input_shape, blocks, head: BlockSpec | None, input_dtype: str = "float32"
         ) -> ArchSpec:
    return ArchSpec(tuple(input_shape), tuple(blocks), head, name, input_dtype)
