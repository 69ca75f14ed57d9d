"""Making an image set from uploads, as the Transfer page's first step shows it: classes by
name with files dropped into each, or one zip with a folder per class; thumbnails and counts as
files arrive, every rejected file with its reason, and the saved sets to pick from.

Besides the uploaders, files handed over in session state (``tl_files``: {class: [(name,
bytes)]}, ``tl_zips``: [(name, bytes)]) go through the same path (tests, demos)."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import streamlit as st

from playground.data.class_uploads import clean_class_name, gather, prepare, preview
from playground.data.images import short_name
from playground.data.resize import thumbnail_strip
from playground.data.saved import load_arrays, save_images
from playground.ui.errors import error_text


def init_state() -> None:
    """The image step's session-state keys, initialised in one place."""
    ss = st.session_state
    ss.setdefault("tl_classes", [])     # class names typed by the user, in order
    ss.setdefault("tl_files", {})       # {class: [(name, bytes)]} handed over without a widget
    ss.setdefault("tl_zips", [])        # [(name, bytes)] zips handed over without a widget
    ss.setdefault("tl_nonce", 0)        # part of the uploaders' keys: bumping it clears them
    ss.setdefault("tl_prepared", None)  # the last "Use these images" outcome (for messages)
    for cls in ss["tl_files"]:          # classes handed over come with their files
        if cls not in ss["tl_classes"]:
            ss["tl_classes"].append(cls)


def _slug(cls: str) -> str:
    return hashlib.sha1(cls.encode()).hexdigest()[:10]


@st.cache_data(show_spinner=False, max_entries=4000)
def _preview(data: bytes, name: str) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    return preview([(name, data)])


@st.cache_data(show_spinner=False, max_entries=8)
def _zip_preview(data: bytes, name: str) -> dict[str, Any]:
    """Classes, counts, a few thumbnails and the rejections of one zip (nothing written)."""
    files, report, problems = gather({}, [(name, data)])
    classes, rejected = {}, [(short_name(r.name), r.reason) for r in report.rejected]
    for cls, items in sorted(files.items()):
        thumbs, bad = preview(items)
        classes[cls] = {"count": len(thumbs), "strip": thumbnail_strip(thumbs)}
        rejected += bad
    return {"classes": classes, "rejected": rejected,
            "problems": [error_text(p) for p in problems]}


def _add_class() -> None:
    ss = st.session_state
    name = clean_class_name(ss.get("tl_new_class", ""))
    ss["tl_new_class"] = ""
    if not name:
        ss["tl_class_msg"] = "Type a class name first."
    elif name in ss["tl_classes"]:
        ss["tl_class_msg"] = f"There is already a class called {name!r}."
    else:
        ss["tl_classes"].append(name)
        ss["tl_class_msg"] = None


def _remove_class(cls: str) -> None:
    ss = st.session_state
    ss["tl_classes"] = [c for c in ss["tl_classes"] if c != cls]
    ss["tl_files"].pop(cls, None)
    ss.pop(f"tl_up_{_slug(cls)}_{ss['tl_nonce']}", None)


def _class_files(cls: str) -> list[tuple[str, bytes]]:
    """The files of one class: its uploader's plus any handed over in session state."""
    ss = st.session_state
    ups = ss.get(f"tl_up_{_slug(cls)}_{ss['tl_nonce']}") or []
    return [(u.name, u.getvalue()) for u in ups] + list(ss["tl_files"].get(cls, ()))


def _rejections(bad: list[tuple[str, str]], what: str) -> None:
    if not bad:
        return
    st.warning(f"{len(bad)} file(s) {what} cannot be used; the rest goes on.",
               icon=":material/warning:")
    with st.expander(f"Rejected files ({len(bad)}) and why"):
        st.dataframe([{"file": n, "reason": r} for n, r in bad], hide_index=True,
                     width="stretch")


def _class_card(cls: str) -> int:
    """One class: its uploader, count and thumbnails; returns the number of usable images."""
    ss = st.session_state
    thumbs, bad = [], []
    for name, data in _class_files(cls):
        t, b = _preview(data, name)
        thumbs += t
        bad += b
    with st.container(border=True, key=f"tl_card_{_slug(cls)}"):
        head, remove = st.columns([6, 1], vertical_alignment="center")
        head.markdown(f"**{cls}** · {len(thumbs)} image{'s' if len(thumbs) != 1 else ''}")
        remove.button("Remove", key=f"tl_rm_{_slug(cls)}", icon=":material/delete:",
                      on_click=_remove_class, args=(cls,), width="stretch")
        drop, pics = st.columns([2, 3], gap="medium")
        with drop:
            st.file_uploader(f"Images of {cls}", accept_multiple_files=True,
                             key=f"tl_up_{_slug(cls)}_{ss['tl_nonce']}",
                             label_visibility="collapsed",
                             help="PNG, JPEG, WebP, GIF, BMP, TIFF; any size (they are resized)")
        with pics:
            strip = thumbnail_strip(thumbs, n=16, columns=8)
            if strip is not None:
                st.image(strip, caption=f"{min(len(thumbs), 16)} of {len(thumbs)}")
            else:
                st.caption("Drop images of this class on the left.")
            _rejections(bad, f"in {cls!r}")
    return len(thumbs)


def class_section() -> dict[str, int]:
    """Classes by name: the new-class field and a card per class; returns usable counts."""
    ss = st.session_state
    name_col, add_col, _ = st.columns([3, 1, 3], vertical_alignment="bottom")
    name_col.text_input("New class", key="tl_new_class", placeholder="e.g. cat", max_chars=40)
    add_col.button("Add class", key="tl_add_class", icon=":material/add:", on_click=_add_class,
                   width="stretch")
    if ss.get("tl_class_msg"):
        st.warning(ss["tl_class_msg"], icon=":material/warning:")
    if not ss["tl_classes"]:
        st.caption("No classes yet: type a name and press Add class.")
    return {cls: _class_card(cls) for cls in list(ss["tl_classes"])}


def zip_section() -> tuple[list[tuple[str, bytes]], dict[str, int]]:
    """The zip uploader and its preview; returns the zips and their usable-image counts."""
    ss = st.session_state
    up = st.file_uploader("A zip with one folder per class (e.g. cats/*.jpg, dogs/*.jpg)",
                          type=["zip"], key=f"tl_zip_{ss['tl_nonce']}")
    zips = ([(up.name, up.getvalue())] if up is not None else []) + list(ss["tl_zips"])
    counts: dict[str, int] = {}
    for name, data in zips:
        info = _zip_preview(data, name)
        for p in info["problems"]:
            st.error(p, icon=":material/error:")
        if info["classes"]:
            cols = st.columns(min(3, len(info["classes"])))
            for i, (cls, c) in enumerate(info["classes"].items()):
                with cols[i % len(cols)]:
                    st.markdown(f"**{cls}** · {c['count']} image(s)")
                    if c["strip"] is not None:
                        st.image(c["strip"])
                counts[cls] = counts.get(cls, 0) + c["count"]
        _rejections(info["rejected"], f"in {short_name(name, 40)!r}")
    return zips, counts


def use_images(zips: list[tuple[str, bytes]], side: int, set_name: str, val_split: float
               ) -> None:
    """Ingest every file at ``side`` and save an image set (a button's action); the outcome
    is kept for :func:`prepared_messages`."""
    ss = st.session_state
    files = {cls: _class_files(cls) for cls in ss["tl_classes"]}
    with st.spinner("Reading the images..."):
        prep = prepare(files, zips, side)
    ss["tl_prepared"] = {"error": error_text(prep.error) if prep.error else None,
                         "problems": [error_text(p) for p in prep.problems],
                         "rejected": [(r.name, r.reason) for r in prep.report.rejected],
                         "dropped": dict(prep.report.dropped), "set": None}
    if not prep.ok:
        return
    set_id = save_images(prep.x, prep.y, prep.class_names, set_name or "my images",
                         {"report": prep.report.to_dict(), "val_split": val_split})
    ss["tl_prepared"]["set"] = set_id
    ss["tl_set"] = set_id  # the picker below shows the new set


def prepared_messages() -> None:
    """What the last "Use these images" did: errors, classes left out, the saved set."""
    p = st.session_state.get("tl_prepared")
    if not p:
        return
    for msg in p["problems"]:
        st.error(msg, icon=":material/error:")
    if p["error"]:
        st.error(p["error"], icon=":material/error:")
    if p["dropped"]:
        st.warning("Left out (fewer than 2 usable images): " + ", ".join(
            f"{short_name(c, 30)} ({n})" for c, n in p["dropped"].items()),
            icon=":material/warning:")
    if p["set"]:
        n = len(p["rejected"])
        st.success("Saved the image set" + (f"; {n} file(s) left out (their reasons are listed "
                                           "with their class above)" if n else "") + ".",
                   icon=":material/check_circle:")


def set_label(info: dict[str, Any]) -> str:
    """One saved image set in a picker: name, images, classes, size, when."""
    when = dt.datetime.fromtimestamp(info.get("created", 0)).strftime("%d %b %H:%M")
    shape = "x".join(map(str, info.get("shape", [])[:2]))
    return (f"{info.get('name', '?')} · {info.get('count', 0)} images · "
            f"{len(info.get('class_names', []))} classes · {shape} · {when}")


@st.cache_data(show_spinner=False, max_entries=8)
def set_overview(set_id: str) -> dict[str, Any]:
    """Per class of a saved set: its image count and a strip of its first thumbnails."""
    x, y, names = load_arrays(set_id)
    out = {}
    for i, cls in enumerate(names):
        idx = np.flatnonzero(y == i)
        out[cls] = {"count": int(len(idx)), "strip": thumbnail_strip(x[idx[:8]], n=8, size=44)}
    return out
