"""Test-wide environment, set before Keras is first imported: Keras' cache and the playground's
data folder live in temporary folders, never in the user's home."""
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="playground-keras-home-")
os.environ["PLAYGROUND_DATA"] = tempfile.mkdtemp(prefix="playground-data-")
