"""Process-wide defaults that must be set before Keras is first imported, and the ways to
import Keras late (lazily, or early in the background) so pages that do not build yet stay
light."""
import importlib
import os
import threading
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21's oneDNN AVX-512 kernels corrupt the heap (double free, SIGSEGV) computing
# the weight gradient of a 1x1 stride-2 convolution over 4-15 input channels at an odd batch
# size: a ResNet projection shortcut on a thin net, with the partial last batch of an epoch.
# Capped at AVX2 the same kernels are correct (every crashing case of
# tests/test_train.py::test_a_strided_1x1_conv_trains_at_an_odd_batch passes) and cost ~10%
# on a CIFAR ResNet-20 epoch, where turning oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) costs 2-3x.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")


def import_keras_quietly() -> None:
    """Import Keras (and its backend) with file descriptor 2 muted.

    TensorFlow's C++ logger prints start-up banners straight to fd 2 whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says; the CLI promises one line of stderr on bad input, so the
    import runs with stderr pointed at /dev/null. Import errors are re-raised after restoring it.
    """
    import sys
    if "keras" in sys.modules:
        return
    try:
        saved = os.dup(2)
    except OSError:  # no real fd 2 (embedded interpreters)
        import keras  # noqa: F401
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401,F811
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_FROZEN = False


def freeze_import_heap() -> None:
    """Once Keras is loaded, move every object alive now out of the garbage collector's sight.

    Streamlit calls ``keras.backend.clear_session()`` after every script run, which runs a full
    ``gc.collect()``; with TensorFlow, Keras, pandas and plotly loaded that walks ~440k
    long-lived objects (~250 ms a run). ``gc.freeze()`` puts them in the permanent generation,
    so later collections only look at what the page itself allocates. Pages call this at the
    end of a run; it imports nothing (pages that never load Keras stay light) and acts once.
    """
    global _FROZEN
    import sys
    if _FROZEN or "keras" not in sys.modules:
        return
    import gc
    gc.collect()
    gc.freeze()
    _FROZEN = True


class LazyModule:
    """A module imported on its first attribute access. The block registry (palette, forms,
    validation) needs no Keras; only building a block does, and TensorFlow takes seconds."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


_PRELOAD: threading.Thread | None = None


def _import_later(name: str, delay_s: float) -> None:
    import time
    time.sleep(delay_s)  # the page's frames and first messages are served before the import
    importlib.import_module(name)  # holds the interpreter for seconds


def preload_keras(delay_s: float = 1.5) -> None:
    """Start importing Keras in a background thread after ``delay_s`` (once per process;
    nothing if loaded): a page that shows before it builds a model finds Keras ready by the
    user's first edit. A page that needs Keras sooner imports it itself (and waits for it)."""
    global _PRELOAD
    import sys
    if _PRELOAD is not None or "keras" in sys.modules:
        return
    _PRELOAD = threading.Thread(target=_import_later, args=("keras", delay_s),
                                name="keras-preload", daemon=True)
    _PRELOAD.start()
