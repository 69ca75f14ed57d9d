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

from playground.data.class_uploads import (Keyed, clean_class_name, content_key,
                                           default_set_name, find_duplicates, gather, merged,
                                           prepare, preview)
from playground.data.images import Duplicate, short_name
from playground.data.resize import thumbnail_strip
from playground.data.saved import load_arrays, save_images, unique_set_name
from playground.ui.errors import error_text


ZIP_LABEL = "A zip with one folder per class (e.g. `cats/*.jpg`, `dogs/*.jpg`)"


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
def _preview(data: bytes, name: str) -> tuple[list[np.ndarray], list[tuple[str, str]], str]:
    """One file's thumbnail (or its reason) and its content key."""
    return (*preview([(name, data)]), content_key(data))


@st.cache_data(show_spinner=False, max_entries=8)
def _zip_preview(data: bytes, name: str) -> dict[str, Any]:
    """Classes, counts, a few thumbnails, the usable files' content keys and the rejections of
    one zip (nothing written)."""
    files, report, problems = gather({}, [(name, data)])
    classes, rejected = {}, [(short_name(r.name), r.reason) for r in report.rejected]
    for cls, items in sorted(files.items()):
        thumbs, keys = [], []
        for fname, fdata in items:
            t, bad, key = _preview(fdata, fname)
            thumbs += t
            rejected += bad
            keys += [(fname, key)] if t else []
        classes[cls] = {"count": len(thumbs), "strip": thumbnail_strip(thumbs), "keys": keys}
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


def _class_card(cls: str) -> list[tuple[str, str]]:
    """One class: its uploader, count and thumbnails; returns its usable files (name, key)."""
    ss = st.session_state
    thumbs, bad, keys = [], [], []
    for name, data in _class_files(cls):
        t, b, key = _preview(data, name)
        thumbs += t
        bad += b
        keys += [(name, key)] if t else []
    with st.container(border=True, key=f"tl_card_{_slug(cls)}"):
        head, remove = st.columns([3, 1], vertical_alignment="center")
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
    return keys


def class_section() -> Keyed:
    """Classes by name: the new-class field and a card per class; returns the usable files
    (name, content key) of each class."""
    ss = st.session_state
    name_col, add_col, _ = st.columns([3, 2, 2], vertical_alignment="bottom")
    name_col.text_input("New class", key="tl_new_class", placeholder="e.g. cat", max_chars=40)
    add_col.button("Add class", key="tl_add_class", icon=":material/add:", on_click=_add_class,
                   width="stretch")
    if ss.get("tl_class_msg"):
        st.warning(ss["tl_class_msg"], icon=":material/warning:")
    if not ss["tl_classes"]:
        st.caption("No classes yet: type a name and press Add class.")
    return {cls: _class_card(cls) for cls in list(ss["tl_classes"])}


def zip_section() -> tuple[list[tuple[str, bytes]], Keyed]:
    """The zip uploader and its preview; returns the zips and their usable files (name,
    content key) per class."""
    ss = st.session_state
    up = st.file_uploader(ZIP_LABEL, type=["zip"], key=f"tl_zip_{ss['tl_nonce']}")
    zips = ([(up.name, up.getvalue())] if up is not None else []) + list(ss["tl_zips"])
    found: list[Keyed] = []
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
        found.append({cls: c["keys"] for cls, c in info["classes"].items()})
        _rejections(info["rejected"], f"in {short_name(name, 40)!r}")
    return zips, merged(*found)


def _duplicates_note(dups: list[Duplicate], when: str) -> None:
    """How many files are left out for repeating an earlier file's content, and which."""
    if not dups:
        return
    st.info(f"{len(dups)} duplicate image{'s' if len(dups) != 1 else ''} {when}: the same "
            "file content as an image added before (in either tab). Each image is used once, "
            "so no copy can land in both training and validation.",
            icon=":material/content_copy:")
    with st.expander(f"Duplicates ({len(dups)}) and the image each repeats"):
        st.dataframe([{"file": short_name(d.name), "class": d.cls,
                       "same as": short_name(d.same_as), "in class": d.same_class}
                      for d in dups], hide_index=True, width="stretch")


def upload_counts(by_class: Keyed, by_zip: Keyed) -> dict[str, int]:
    """Usable images per class over both tabs, each content counted once (a note says how many
    duplicates are left out); a class whose every image is a duplicate is not counted."""
    items = merged(by_class, by_zip)
    dups = find_duplicates(items)
    _duplicates_note(dups, "will be left out")
    gone: dict[str, int] = {}
    for d in dups:
        gone[d.cls] = gone.get(d.cls, 0) + 1
    counts = {cls: len(v) - gone.get(cls, 0) for cls, v in items.items()}
    return {c: n for c, n in counts.items() if n or not gone.get(c)}


def set_name_input(where: Any, class_names: list[str], zips: list[tuple[str, bytes]]) -> str:
    """The image set's name field, filled with a name made from the upload (a zip's name, else
    its classes) unique among the saved sets, until the user types their own."""
    ss = st.session_state
    auto = unique_set_name(default_set_name(class_names, [n for n, _ in zips]))
    if ss.get("tl_set_name", "") in ("", ss.get("tl_set_name_auto")):
        ss["tl_set_name"] = auto
    ss["tl_set_name_auto"] = auto
    return where.text_input("Name of the image set", key="tl_set_name", max_chars=60,
                            help="Made from your upload; an existing name gets a number.")


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
                         "dropped": dict(prep.report.dropped),
                         "duplicates": list(prep.report.duplicates), "set": None}
    if not prep.ok:
        return
    name = unique_set_name(set_name or default_set_name(prep.class_names, [n for n, _ in zips]))
    set_id = save_images(prep.x, prep.y, prep.class_names, name,
                         {"report": prep.report.to_dict(), "val_split": val_split})
    ss["tl_prepared"].update(set=set_id, name=name, count=int(len(prep.x)))
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
        n, d = len(p["rejected"]), len(p["duplicates"])
        st.success(f"Saved the image set '{p['name']}' ({p['count']} images)"
                   + (f"; {n} file(s) left out (their reasons are listed with their class "
                      "above)" if n else "")
                   + (f"; {d} duplicate(s) left out" if d else "") + ".",
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
