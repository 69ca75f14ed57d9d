"""The options of a registered data set as widgets (Train page): one widget per option, its
kind taken from the registry's default."""
from __future__ import annotations

from typing import Any, Iterable

import streamlit as st

from playground.data import DATASETS
from playground.ui.uploads import data_file_input


def dataset_options(name: str, skip: Iterable[str] = ()) -> dict[str, Any]:
    """One widget per option of data set ``name`` but those in ``skip`` (its defaults from the
    registry; a file data set gets an uploader and a path field); returns the options set."""
    info = DATASETS.get(name)
    st.caption(info.summary)
    keys = [k for k in info.options if k not in skip]
    out: dict[str, Any] = {}
    if "path" in keys:
        out["path"] = data_file_input(name, "zip" if name == "folder" else "csv")
        keys.remove("path")
    cols = st.columns(2)
    for i, key in enumerate(keys):
        default = info.options[key]
        wkey = f"ds_{name}_{key}"
        with cols[i % 2]:
            if isinstance(default, bool):
                out[key] = st.checkbox(key, value=default, key=wkey)
            elif isinstance(default, int):
                out[key] = int(st.number_input(key.replace("_", " "), value=default, step=1,
                                               key=wkey))
            elif isinstance(default, float):
                out[key] = float(st.number_input(key.replace("_", " "), value=default,
                                                 step=0.05, format="%.2f", key=wkey))
            elif key == "limit":
                n = int(st.number_input("limit (0 = all)", value=0, min_value=0, step=1000,
                                        key=wkey))
                if n:
                    out[key] = n
            else:
                text = st.text_input(key.replace("_", " "), value=default or "", key=wkey,
                                     placeholder="default")
                if text.strip():
                    out[key] = text.strip()
    return out
