"""Model -> standalone Keras 3 Python source that rebuilds the same Functional graph.

The source imports ``keras`` (and ``from keras import layers``) and nothing else, so it runs
without the playground. Each layer call is one line::

    x12 = layers.Conv2D(filters=64, kernel_size=(3, 3), strides=(2, 2), padding="same",
                        use_bias=False, name="conv_1.conv")(x11)

Only the constructor arguments whose value differs from the class default are written: the
layer's ``get_config()`` is compared with the config of a reference instance built from the
required arguments alone (the same normalisation Keras applies, so ``strides=1`` and
``strides=(1, 1)`` compare equal). A layer with no plain constructor form (a class outside
``keras.layers``, such as InceptionResNetV2's ``CustomScaleLayer``, or a wrapper whose config
holds other layers) is written as ``keras.saving.deserialize_keras_object({...})`` with its
serialized config. Nested models become helper functions.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from typing import Any, Callable

from playground import keras_graph as kg
from playground.errors import SpecError
from playground.graph import functional_of, walk_layers

# from_config overrides that only deserialize values a constructor also accepts as config
_SAFE_FROM_CONFIG = {"Dense", "EinsumDense", "Embedding", "Rescaling", "ReversibleEmbedding"}
# serialized objects that constructors accept by class (keras.initializers.HeNormal(...))
_OBJECT_MODULES = {"keras.initializers": "initializers", "keras.regularizers": "regularizers",
                   "keras.constraints": "constraints"}
_DEFAULT_DTYPE = "float32"
_REF_CACHE: dict[tuple[type, str], dict[str, Any] | None] = {}


class _NoCtor(Exception):
    """The layer has no plain ``layers.X(...)`` form; serialize it instead."""


# --- Python literals ---------------------------------------------------------------------
def py(value: Any, tensor: Callable[[Any], str] | None = None) -> str:
    """A Python expression for a config value (``tensor`` names KerasTensors)."""
    if tensor is not None and _is_keras_tensor(value):
        return tensor(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        items = [py(v, tensor) for v in value]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(py(v, tensor) for v in value) + "]"
    if isinstance(value, dict):
        obj = _object_expr(value)
        if obj is not None:
            return obj
        return "{" + ", ".join(f"{py(k)}: {py(v, tensor)}" for k, v in value.items()) + "}"
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return py(value.tolist(), tensor)
    raise _NoCtor(f"cannot write a {type(value).__name__} value as Python source")


def _is_keras_tensor(x: Any) -> bool:
    import keras
    return isinstance(x, keras.KerasTensor)


def _object_expr(d: dict) -> str | None:
    """``keras.initializers.HeNormal()`` for a serialized initializer/regularizer/constraint."""
    import keras
    if set(d) - {"module", "class_name", "config", "registered_name"} or "class_name" not in d:
        return None
    short = _OBJECT_MODULES.get(d.get("module"))
    if short is None or d.get("registered_name") not in (None, d["class_name"]):
        return None
    cls = getattr(getattr(keras, short), d["class_name"], None)
    if not isinstance(cls, type):
        return None
    config = d.get("config") or {}
    try:
        sig = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover
        sig = {}
    args = []
    for k, v in config.items():
        p = sig.get(k)
        if p is not None and p.default is not inspect.Parameter.empty and _same(p.default, v):
            continue
        args.append(f"{k}={py(v)}")
    return f"keras.{short}.{d['class_name']}({', '.join(args)})"


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_norm(i) for i in v]
    if isinstance(v, dict):
        return {k: _norm(i) for k, i in v.items()}
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return _norm(v.tolist())
    return v


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(_norm(a) == _norm(b))
    except (TypeError, ValueError):  # pragma: no cover - arrays of different shapes
        return False


def _dtype_arg(v: Any) -> str | None:
    """The ``dtype=`` argument, or None when it is the float32 default."""
    if isinstance(v, dict) and v.get("class_name") == "DTypePolicy":
        name = (v.get("config") or {}).get("name")
        return None if name == _DEFAULT_DTYPE else py(name)
    if v is None or v == _DEFAULT_DTYPE:
        return None
    return py(v)


# --- one layer's constructor -----------------------------------------------------------
def _ref_config(cls: type, required: dict[str, Any]) -> dict[str, Any] | None:
    key = (cls, repr(sorted(required.items())))
    if key not in _REF_CACHE:
        try:
            _REF_CACHE[key] = cls(**required, name="codegen_reference").get_config()
        except Exception:  # noqa: BLE001 - any constructor failure: fall back to the signature
            _REF_CACHE[key] = None
    return _REF_CACHE[key]


def constructor_args(layer: Any) -> list[str]:
    """``["filters=64", "kernel_size=(3, 3)", ..., 'name="conv"']``: the non-default arguments."""
    cls = type(layer)
    config = layer.get_config()
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if any(p.kind is p.VAR_POSITIONAL for p in params) and not named:
        raise _NoCtor("positional-only constructor")
    required = [n for n, p in named.items() if p.default is p.empty]
    if any(r not in config for r in required):
        raise _NoCtor(f"required argument(s) {[r for r in required if r not in config]} "
                      "are not in the config")
    for k, v in config.items():
        if k not in named and not var_kw:
            raise _NoCtor(f"config key {k!r} is not a constructor argument")
        if isinstance(v, dict) and "class_name" in v and k != "dtype" and _object_expr(v) is None \
                and not _plain_dict_arg(k):
            raise _NoCtor(f"config key {k!r} holds a serialized object")
    ref = _ref_config(cls, {r: config[r] for r in required})
    kept: dict[str, Any] = {}
    for k, v in config.items():
        if k == "name":
            continue
        if k == "trainable":
            if v is False:
                kept[k] = v
            continue
        if k == "dtype":
            if _dtype_arg(v) is not None:
                kept[k] = v
            continue
        if k not in required:
            if ref is not None and k in ref and _same(ref[k], v):
                continue
            p = named.get(k)
            if ref is None and p is not None and p.default is not p.empty and _same(p.default, v):
                continue
        kept[k] = v
    # a default may depend on another argument (MaxPooling2D's strides follow pool_size): build
    # the layer from the kept arguments and add back whatever comes out different
    for _ in range(4):
        probe = _probe_config(cls, kept)
        if probe is None:
            kept = {k: v for k, v in config.items() if k != "name"}
            break
        diff = [k for k in config
                if k != "name" and k not in kept and not _same(probe.get(k), config[k])]
        if not diff:
            break
        kept.update({k: config[k] for k in diff})
    else:
        kept = {k: v for k, v in config.items() if k != "name"}
    # and an argument that the others imply is left out (pool_size=3 implies strides=3)
    if probe is not None:
        for k in [k for k in kept if k not in required and k not in ("trainable", "dtype")]:
            trial = {j: v for j, v in kept.items() if j != k}
            got = _probe_config(cls, trial)
            if got is not None and all(_same(got.get(j), v)
                                       for j, v in config.items() if j != "name"):
                kept = trial
    args = []
    order = [k for k in config if k not in ("trainable", "dtype")] + ["trainable", "dtype"]
    for k in order:
        if k not in kept:
            continue
        v = config[k]
        if k == "dtype":
            args.append(f"dtype={_dtype_arg(v) or py(_DEFAULT_DTYPE)}")
        else:
            args.append(f"{k}={py(v)}")
    args.append(f"name={py(layer.name)}")
    return args


def _probe_config(cls: type, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    key = (cls, "probe:" + repr(sorted(kwargs.items(), key=lambda kv: kv[0])))
    if key not in _REF_CACHE:
        if len(_REF_CACHE) > 20000:
            _REF_CACHE.clear()
        args = dict(kwargs)
        if isinstance(args.get("dtype"), dict) and args["dtype"].get("class_name") == "DTypePolicy":
            args["dtype"] = args["dtype"]["config"]["name"]
        try:
            _REF_CACHE[key] = cls(**args, name="codegen_reference").get_config()
        except Exception:  # noqa: BLE001 - keep every argument then
            _REF_CACHE[key] = None
    return _REF_CACHE[key]


def _plain_dict_arg(key: str) -> bool:
    """Config keys whose serialized-object dicts the constructors accept as they are."""
    return key in ("activation", "recurrent_activation", "quantization_config") or \
        key.endswith(("_initializer", "_regularizer", "_constraint"))


def _serialized_expr(layer: Any) -> str:
    import keras
    cfg = keras.saving.serialize_keras_object(layer)
    if isinstance(cfg, dict):  # the layer is built when it is called
        cfg = {k: v for k, v in cfg.items() if k not in ("build_config", "compile_config")}
    if type(layer).__name__ == "Lambda":
        # a Lambda's function is stored as bytecode: loading it needs safe_mode=False
        return f"keras.saving.deserialize_keras_object({py(cfg)}, safe_mode=False)"
    return f"keras.saving.deserialize_keras_object({py(cfg)})"


def layer_expr(layer: Any) -> str:
    """A Python expression that constructs ``layer`` (the same config, fresh weights)."""
    import keras
    cls = type(layer)
    public = getattr(keras.layers, cls.__name__, None) is cls
    overridden = getattr(cls.from_config, "__func__", None) is not \
        getattr(keras.layers.Layer.from_config, "__func__", None)
    if public and (not overridden or cls.__name__ in _SAFE_FROM_CONFIG):
        try:
            return f"layers.{cls.__name__}({', '.join(constructor_args(layer))})"
        except _NoCtor:
            pass
    return _serialized_expr(layer)


def _input_expr(layer: Any) -> str:
    cfg = layer.get_config()
    shape = tuple(cfg.get("batch_shape") or ())
    args = [f"shape={py(shape[1:])}" if shape and shape[0] is None else f"batch_shape={py(shape)}"]
    args.append(f"dtype={py(cfg.get('dtype') or _DEFAULT_DTYPE)}")
    for flag in ("sparse", "ragged", "optional"):
        if cfg.get(flag):
            args.append(f"{flag}=True")
    args.append(f"name={py(layer.name)}")
    return f"keras.Input({', '.join(args)})"


# --- the model --------------------------------------------------------------------------
class _Writer:
    """Writes one function per (nested) model; helpers come before their first use."""

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.used_names: set[str] = set()

    def unique(self, base: str) -> str:
        base = re.sub(r"\W", "_", base).strip("_") or "model"
        if base[0].isdigit():
            base = "m_" + base
        name, i = base, 2
        while name in self.used_names:
            name, i = f"{base}_{i}", i + 1
        self.used_names.add(name)
        return name

    def model(self, model: Any, function_name: str) -> str:
        import keras
        if isinstance(model, keras.Sequential):
            return self.sequential(model, function_name)
        return self.functional(functional_of(model), function_name)

    def nested(self, layer: Any) -> str:
        name = self.unique(f"build_{layer.name}")
        self.model(layer, name)
        return f"{name}()"

    def expr(self, layer: Any) -> str:
        import keras
        if isinstance(layer, keras.Model):
            return self.nested(layer)
        try:
            return layer_expr(layer)
        except _NoCtor as e:
            raise SpecError("code export", f"layer '{layer.name}' ({type(layer).__name__}): "
                                           f"{e}") from None

    def sequential(self, model: Any, function_name: str) -> str:
        items = []
        first = kg.sequential_input_layer(model)
        if first is not None:
            items.append(_input_expr(first))
        items += [self.expr(layer) for layer in model.layers]
        body = "".join(f"        {it},\n" for it in items)
        src = (f"def {function_name}():\n"
               f"    return keras.Sequential([\n{body}    ], name={py(model.name)})\n")
        self.functions.append(src)
        return src

    def functional(self, fn: Any, function_name: str) -> str:
        position = {id(op): i for i, op in enumerate(kg.operations(fn))}
        n_calls = {id(op): len(op_calls) for op, op_calls in kg.layer_calls(fn)}
        # deepest first (as Keras runs them); within a depth by layer order, then call order
        calls = sorted(kg.calls(fn), key=lambda c: (-c.depth, position.get(id(c.operation),
                                                                           1 << 30), c.index))
        names: dict[tuple[int, int, int], str] = {}

        def tensor(t: Any) -> str:
            op, node_index, tensor_index = kg.producer(t)
            key = (id(op), node_index, tensor_index)
            if key not in names:
                raise SpecError("code export", f"tensor from layer '{op.name}' is used "
                                               "before it is defined")
            return names[key]

        lines: list[str] = []
        shared: dict[int, str] = {}
        counter = 0
        for c in calls:
            op = c.operation
            node_index = c.index
            var = f"x{counter}"
            counter += 1
            if type(op).__name__ == "InputLayer" and not c.inputs:
                lines.append(f"{var} = {_input_expr(op)}")
                names[(id(op), node_index, 0)] = var
                continue
            if n_calls[id(op)] > 1:
                if id(op) not in shared:
                    shared[id(op)] = self.unique(f"shared_{op.name}")
                    lines.append(f"{shared[id(op)]} = {self.expr(op)}")
                callee = shared[id(op)]
            else:
                callee = self.expr(op)
            try:
                call = [py(a, tensor) for a in c.args]
                for k, v in c.kwargs.items():
                    if v is None or k == "mask":  # Keras propagates masks by itself
                        continue
                    call.append(f"{k}={py(v, tensor)}")
            except _NoCtor as e:
                raise SpecError("code export", f"call of layer '{op.name}': {e}") from None
            outs = c.outputs
            if len(outs) == 1:
                lines.append(f"{var} = {callee}({', '.join(call)})")
                names[(id(op), node_index, 0)] = var
            else:
                lines.append(f"{var} = keras.tree.flatten({callee}({', '.join(call)}))")
                for i in range(len(outs)):
                    names[(id(op), node_index, i)] = f"{var}[{i}]"
        in_struct, out_struct = kg.io_structure(fn)
        inputs = py(_structure(in_struct), tensor)
        outputs = py(_structure(out_struct), tensor)
        body = "".join(f"    {line}\n" for line in lines)
        src = (f"def {function_name}():\n{body}"
               f"    return keras.Model(inputs={inputs}, outputs={outputs}, name={py(fn.name)})\n")
        self.functions.append(src)
        return src


def _structure(struct: Any) -> Any:
    """Lists, tuples and dicts of KerasTensors as they are (dict keys kept)."""
    if isinstance(struct, dict):
        return {k: _structure(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_structure(v) for v in struct) if isinstance(struct, tuple) \
            else [_structure(v) for v in struct]
    return struct


HEADER = '''"""Keras 3 model {name!r}, written by the ConvNet Architecture Playground.

Standalone: needs only Keras 3 (any backend). `{fn}()` returns a freshly initialised model.
"""
'''


def model_to_source(model: Any, function_name: str = "build_model") -> str:
    """Standalone Keras 3 source whose ``function_name()`` rebuilds ``model``'s graph."""
    if not function_name.isidentifier():
        raise SpecError("code export", f"function name {function_name!r} is not a Python "
                                       "identifier")
    w = _Writer()
    w.used_names.add(function_name)
    w.model(model, function_name)
    return (HEADER.format(name=getattr(model, "name", "model"), fn=function_name)
            + "import keras\nfrom keras import layers\n\n\n"
            + "\n\n".join(w.functions))


def spec_to_source(spec: Any, function_name: str = "build_model", model: Any = None) -> str:
    """:func:`model_to_source` of the spec's model, with the spec named in a header and a
    ``__main__`` footer that builds the model and prints its summary. ``model``: the spec's
    model if already built (the shapes-only analysis model serves: only configs are read)."""
    if model is None:
        from playground.build import build
        model = build(spec)
    src = model_to_source(model, function_name)
    head = (f"# Architecture spec {spec.name!r} (spec key {spec.key()}), input "
            f"{'x'.join(map(str, spec.input_shape))}, {len(spec.blocks)} blocks"
            + (f", head {spec.head.type}" if spec.head else "") + ".\n")
    foot = (f"\n\nif __name__ == \"__main__\":\n    model = {function_name}()\n"
            "    model.summary()\n")
    return head + src + foot


def source_to_model(source: str, function_name: str = "build_model") -> Any:
    """Execute generated source and call its builder (for round-trip checks and previews)."""
    namespace: dict[str, Any] = {"__name__": "playground_generated"}
    exec(compile(source, "<generated keras code>", "exec"), namespace)  # noqa: S102
    return namespace[function_name]()


def model_structure(model: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(layer name, layer type, parent layer names)`` in graph order: what a rebuild keeps."""
    return [(i.name, i.type, tuple(i.parents)) for i in walk_layers(model)]


__all__ = ["model_to_source", "spec_to_source", "source_to_model", "model_structure",
           "layer_expr", "constructor_args", "py"]
