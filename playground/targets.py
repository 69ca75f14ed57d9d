"""Resolve what a user names (a zoo entry, a spec ``.json`` file or a ``.keras`` file) into a
spec and/or a model. Shared by the CLI and the UI so both accept exactly the same inputs."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.errors import SpecError
from playground.spec import ArchSpec
from playground.zoo import ZOO, ZooEntry


@dataclass(frozen=True)
class Target:
    """A named architecture: ``spec`` when it is editable, ``entry``/``path`` where it came from."""

    name: str
    spec: ArchSpec | None = None
    entry: ZooEntry | None = None
    path: Path | None = None
    input_shape: tuple[int, ...] | None = None

    def build(self) -> Any:
        """The Keras model (specs are built by us; ``.keras`` files loaded in safe mode)."""
        if self.spec is not None:
            from playground.build import build
            return build(self.spec)
        if self.entry is not None:
            return self.entry.build(self.input_shape)
        from playground.cost.loading import load_model_file
        return load_model_file(self.path)


def parse_shape(text: str) -> tuple[int, ...]:
    """``"224x224x3"`` -> ``(224, 224, 3)``; ``"500"`` -> ``(500,)``."""
    parts = [p for p in str(text).lower().replace(",", "x").split("x") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 for s in shape):
        raise SpecError("--input", f"{text!r} is not a shape like 224x224x3 (positive integers)")
    return shape


def load_spec_file(path: str | Path) -> ArchSpec:
    p = Path(path)
    where = f"file '{p.name}'"
    if not p.is_file():
        raise SpecError(where, "does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(where, f"cannot be read as UTF-8 text ({type(e).__name__})") from None
    return ArchSpec.from_json(text, where)


def resolve(target: str, input_shape: tuple[int, ...] | None = None) -> Target:
    """Turn a zoo name or file path into a :class:`Target` (SpecError naming it otherwise)."""
    if target in ZOO:
        entry = ZOO.get(target)
        if entry.is_spec:
            spec = entry.spec(input_shape) if input_shape else entry.spec()
            return Target(target, spec=spec, entry=entry)
        return Target(target, entry=entry, input_shape=input_shape)
    suffix = Path(target).suffix.lower()
    if suffix == ".json":
        spec = load_spec_file(target)
        if input_shape:
            spec = spec.with_input(input_shape)
        return Target(spec.name, spec=spec, path=Path(target))
    if suffix == ".keras":
        if input_shape:
            raise SpecError(f"file '{Path(target).name}'", "--input cannot change a saved .keras "
                            "model's input; it applies to zoo entries and spec files")
        return Target(Path(target).stem, path=Path(target))
    close = difflib.get_close_matches(target, ZOO.list(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `python -m playground zoo` lists names"
    raise SpecError(f"target '{target}'", "is not a zoo name, a spec .json file or a .keras file"
                    + hint)


def spec_from_json_text(text: str, where: str = "uploaded spec") -> ArchSpec:
    """Parse spec JSON text from an upload or a URL (the UI's entry point)."""
    return ArchSpec.from_json(text, where)


def target_from_upload(filename: str, data: bytes) -> Target:
    """An uploaded spec (``.json``) or model (anything else: a ``.keras`` file) as a Target;
    SpecError names the file. A model is kept once per content under the data folder."""
    name = Path(filename).name
    if name.lower().endswith(".json"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecError(f"file '{name}'", "is not UTF-8 text") from None
        spec = spec_from_json_text(text, f"file '{name}'")
        return Target(spec.name, spec=spec)
    from playground.data.uploads import save_upload_as, upload_file_name
    return Target(Path(name).stem, path=save_upload_as(data, upload_file_name(name, ".keras")))


__all__ = ["Target", "resolve", "parse_shape", "load_spec_file", "spec_from_json_text",
           "target_from_upload"]
