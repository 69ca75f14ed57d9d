"""Upload widgets whose file is kept under the data folder (by content, never by the name the
browser sent): a data set's zip or CSV, and a backbone's weights file."""
from __future__ import annotations

import streamlit as st

from playground.data.uploads import save_upload
from playground.errors import SpecError
from playground.transfer.weights_file import save_weights_file

WEIGHTS_HINT = "Upload a weights file, or pick ImageNet or random initialisation."


def data_file_input(dataset: str, kind: str) -> str:
    """A ``.zip`` (``kind`` "zip": one sub-folder per class) or ``.csv`` uploader and a path
    field; returns the saved upload's path, else the typed path ('' for neither)."""
    up = st.file_uploader(f"Upload a .{kind}", type=[kind], key=f"ds_{dataset}_upload",
                          help="One sub-folder per class inside the zip" if kind == "zip"
                          else "A header row, numeric feature columns and a label column")
    path = st.text_input("or a path on the server", key=f"ds_{dataset}_path",
                         placeholder="/path/to/" + ("images" if kind == "zip" else "table.csv"))
    return str(save_upload(up.getvalue(), kind)) if up is not None else path.strip()


def weights_file_input(key: str = "tl_weights_upload"
                       ) -> tuple[str | None, str | None, SpecError | None]:
    """The weights-file uploader; returns (saved path, hint while none is given, the error of
    a file that is not a weights file)."""
    up = st.file_uploader("Weights file (.weights.h5 or .h5) for this backbone without its top",
                          type=["h5"], key=key)
    if up is None:
        return None, WEIGHTS_HINT, None
    try:
        path = save_weights_file(up.name, up.getvalue())
    except SpecError as e:
        return None, None, e
    st.caption(f"Saved as {path.name}; it is loaded into the backbone when the run starts.")
    return str(path), None, None
