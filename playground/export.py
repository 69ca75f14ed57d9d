"""Export a model (or a spec) as Keras code, a ``.keras`` file, ONNX, DOT or SVG.

``export_model(model_or_spec, fmt, path)`` writes one file and returns its path; ``export_bytes``
gives the same content as bytes (for a download button). Every failure leaves as a
:class:`SpecError` naming the format.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from playground.errors import SpecError, first_line

FORMATS = ("keras-code", "keras", "onnx", "dot", "svg")
EXTENSIONS = {"keras-code": ".py", "keras": ".keras", "onnx": ".onnx", "dot": ".dot", "svg": ".svg"}
MIME_TYPES = {"keras-code": "text/x-python", "keras": "application/octet-stream",
              "onnx": "application/octet-stream", "dot": "text/vnd.graphviz",
              "svg": "image/svg+xml"}


def _is_spec(obj: Any) -> bool:
    from playground.spec import ArchSpec
    return isinstance(obj, ArchSpec)


def _model(obj: Any) -> Any:
    if _is_spec(obj):
        from playground.build import build
        return build(obj)
    return obj


def _graph_text(obj: Any, level: str, annotations: Any) -> str:
    from playground.graph import model_graph, spec_block_types, to_dot
    model = _model(obj)
    types = spec_block_types(obj) if _is_spec(obj) else None
    return to_dot(model_graph(model, level, annotations, block_types=types))


def export_onnx(model: Any, path: str | os.PathLike) -> Path:
    """``model.export(path, format="onnx")`` with the input signature taken from the graph (a
    Functional model that was never called has no recorded signature otherwise)."""
    import keras
    from playground import keras_graph
    path = Path(path)
    def spec(t: Any) -> Any:
        return keras.InputSpec(shape=t.shape, dtype=t.dtype, name=t.name)

    try:
        if isinstance(model, keras.Sequential):
            sig = [spec(t) for t in model.inputs]
        elif keras_graph.is_functional(model):
            # Functional: one argument, the input structure
            sig = [keras.tree.map_structure(spec, keras_graph.io_structure(model)[0])]
        else:
            sig = None  # subclassed: Keras uses the shapes of its first call
        with warnings.catch_warnings():  # tf2onnx's numpy 2 shim warns about np.object
            warnings.filterwarnings("ignore", category=FutureWarning)
            model.export(str(path), format="onnx", verbose=False, input_signature=sig)
    except SpecError:
        raise
    except ImportError as e:
        raise SpecError("onnx export", f"missing package: {first_line(e, 300)} "
                                       "(pip install tf2onnx onnx)") from None
    except Exception as e:  # noqa: BLE001 - backend converters raise anything
        raise SpecError("onnx export", first_line(e, 300)) from None
    if not path.exists():
        raise SpecError("onnx export", f"the exporter wrote no file at {path}")
    return path


def export_model(model_or_spec: Any, fmt: str, path: str | os.PathLike, *, level: str = "block",
                 annotations: Any = None) -> Path:
    """Write ``model_or_spec`` (a ``keras.Model`` or an ``ArchSpec``) to ``path`` as ``fmt``.

    Formats: ``keras-code`` (standalone Python), ``keras`` (``model.save``; the path must end
    in ``.keras``), ``onnx``, ``dot`` (graph text at ``level``), ``svg`` (needs Graphviz).
    """
    if fmt not in FORMATS:
        raise SpecError("export", f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise SpecError(f"{fmt} export", f"folder {str(path.parent)!r} does not exist")
    if fmt == "keras-code":
        from playground.codegen import model_to_source, spec_to_source
        src = spec_to_source(model_or_spec) if _is_spec(model_or_spec) \
            else model_to_source(model_or_spec)
        path.write_text(src, encoding="utf-8")
    elif fmt == "keras":
        if path.suffix != ".keras":
            raise SpecError("keras export", f"the file name must end in .keras, got {path.name!r}")
        try:
            _model(model_or_spec).save(str(path))
        except (ValueError, TypeError, OSError) as e:
            raise SpecError("keras export", first_line(e, 300)) from None
    elif fmt == "onnx":
        export_onnx(_model(model_or_spec), path)
    elif fmt == "dot":
        path.write_text(_graph_text(model_or_spec, level, annotations), encoding="utf-8")
    else:  # svg
        from playground.graph import render_svg
        path.write_bytes(render_svg(_graph_text(model_or_spec, level, annotations)))
    return path


def export_bytes(model_or_spec: Any, fmt: str, *, level: str = "block",
                 annotations: Any = None) -> bytes:
    """The bytes :func:`export_model` would write (for a browser download)."""
    if fmt not in FORMATS:
        raise SpecError("export", f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    with tempfile.TemporaryDirectory(prefix="playground-export-") as tmp:
        target = Path(tmp) / f"model{EXTENSIONS[fmt]}"
        export_model(model_or_spec, fmt, target, level=level, annotations=annotations)
        return target.read_bytes()


__all__ = ["FORMATS", "EXTENSIONS", "MIME_TYPES", "export_model", "export_bytes", "export_onnx"]
