"""Load a user's ``.keras`` model file safely, with errors people can read.

Every failure is a :class:`~playground.errors.SpecError` ``file '<name>': <rule>``, never a
traceback. Only local ``.keras`` archives (zip files holding ``config.json``) are accepted; they
are loaded with ``safe_mode=True`` (no deserialised Python code) and ``compile=False``. Lambda
layers are refused before Keras is asked to read the file.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from typing import Any

from playground.errors import SpecError, first_line

__all__ = ["load_model_file", "MAX_CONFIG_BYTES"]

MAX_CONFIG_BYTES = 64 * 1024 * 1024  # a config.json larger than this is not a model we accept

LAMBDA_RULE = "contains a Lambda layer, which is refused for safety (safe_mode)"


def _load_reason(exc: BaseException) -> str:
    """The most telling line of a Keras load error: the innermost "Exception encountered",
    without the config dump, first sentence only, at most 300 characters."""
    text = str(exc)
    marker = "Exception encountered:"
    if marker in text:
        text = text.rsplit(marker, 1)[1]
    text = text.split("Full object config")[0].strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    sentence = line.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= 300 else sentence[:297] + "..."


def _find_lambda(obj: Any) -> str | None:
    """The name of the first Lambda layer in a Keras config tree, else None."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "Lambda":
                cfg = item.get("config")
                return str(cfg.get("name", "?")) if isinstance(cfg, dict) else "?"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _check_archive(path: str, where: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF"):
        raise SpecError(where, "is a legacy HDF5 (.h5) file, not a .keras model archive; "
                               "re-save it with model.save('name.keras')")
    if not zipfile.is_zipfile(path):
        raise SpecError(where, "is not a .keras model archive (not a zip file)")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo("config.json")
            except KeyError:
                raise SpecError(where, "is not a .keras model archive (no config.json inside)"
                                ) from None
            if info.file_size > MAX_CONFIG_BYTES:
                raise SpecError(where, "is not a .keras model archive we accept "
                                       f"(config.json is larger than {MAX_CONFIG_BYTES:,} bytes)")
            raw = zf.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        raise SpecError(where, f"is not a readable .keras model archive ({first_line(exc)})"
                        ) from None
    try:
        config = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SpecError(where, "is not a .keras model archive (config.json is not valid JSON)"
                        ) from None
    lam = _find_lambda(config)
    if lam is not None:
        raise SpecError(where, f"{LAMBDA_RULE}: layer '{lam}'")


def load_model_file(path: str | os.PathLike) -> Any:
    """Load a ``.keras`` archive into an uncompiled ``keras.Model``.

    Raises :class:`SpecError` (``file '<basename>': <rule>``) when the file is missing, is not a
    ``.keras`` model archive, contains a Lambda layer, or fails to load for any other reason
    (the rule then quotes the first line of Keras' message).
    """
    path = os.fspath(path)
    name = os.path.basename(path.rstrip("/\\")) or path
    where = f"file '{name}'"
    if not os.path.exists(path):
        raise SpecError(where, "not found")
    if os.path.isdir(path):
        raise SpecError(where, "is a folder, not a .keras model archive")
    try:
        _check_archive(path, where)
    except OSError as exc:
        raise SpecError(where, f"cannot be read ({first_line(exc)})") from None

    tmp_dir = None
    load_path = path
    try:
        if not path.endswith(".keras"):  # Keras picks the format by the name
            tmp_dir = tempfile.mkdtemp(prefix="playground-load-")
            load_path = os.path.join(tmp_dir, "model.keras")
            shutil.copyfile(path, load_path)
        import keras

        try:
            model = keras.saving.load_model(load_path, compile=False, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable line
            reason = _load_reason(exc)
            if "Lambda" in reason or "safe_mode" in str(exc):
                raise SpecError(where, LAMBDA_RULE) from None
            raise SpecError(where, f"could not be loaded: {reason}") from None
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    if not isinstance(model, keras.Model):
        raise SpecError(where, f"holds a {type(model).__name__}, not a Keras model")
    return model
