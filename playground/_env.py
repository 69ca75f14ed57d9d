"""Process-wide defaults that must be set before Keras is first imported."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
