"""The live view of active runs, shared by the Train and Transfer pages: a fragment that polls
the run store while runs are active and reruns the whole page when one starts or ends, and one
card per run with its phase, epoch and step bars, figures, curves and a Cancel button."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import streamlit as st

from playground.store import RunRecord
from playground.train.executors import cancel
from playground.training_charts import CURVE_KEYS, curves_figure, steps_per_epoch
from playground.ui.run_status import STATUS_ICON, duration_text, metric_text
from playground.ui.run_store import store

LIVE_EVERY_S = 1.0
STARTING = "Starting: the worker process is loading Keras"  # RUNNING, before it prepares


def live_progress(rec: RunRecord, progress: dict[str, Any], waiting: Mapping[str, str]
                  ) -> tuple[int, int, int, float, int] | None:
    """An active run's epoch and step bars (or its queued / preparing message, then None).

    ``waiting`` maps the worker's pre-training phases to what to show for them. Returns
    (epoch, step, steps, epochs done as a fraction, epochs) once it trains."""
    if rec.status == "SCHEDULED" and not progress:
        st.progress(0.0, text="Queued: waiting for a free job slot")
        return None
    phase = progress.get("phase")
    waiting = {"starting": STARTING, **waiting}
    if phase is None or phase in waiting:
        st.progress(0.0, text=waiting.get(phase, "Preparing..."))
        return None
    epochs = int(progress.get("epochs") or rec.params.get("epochs") or 1)
    epoch, step = int(progress.get("epoch") or 0), int(progress.get("step") or 0)
    steps = int(progress.get("steps") or 0)
    done = max(0, epoch - 1) + (step / steps if steps else 0.0)
    bars = st.columns(2)
    bars[0].progress(min(1.0, done / epochs), text=f"Epoch {max(epoch, 1)} / {epochs}")
    bars[1].progress(min(1.0, step / steps) if steps else 0.0,
                     text=f"Step {step} / {steps or '?'}")
    return epoch, step, steps, done, epochs


def live_run(rec: RunRecord, prefix: str, waiting: Mapping[str, str],
             batch_loss: bool = True) -> None:
    """One active run's card. ``prefix`` starts its widget keys; ``batch_loss``: draw the
    per-batch loss (off where the batches are not the epoch's images, e.g. cached features)."""
    p = store().progress(rec.run_id)
    with st.container(border=True, key=f"{prefix}live_{rec.run_id}"):
        head, button = st.columns([3, 1], vertical_alignment="center")
        phase = p.get("phase")
        state = rec.status.lower() + (f" · {phase}" if phase and phase != "train" else "")
        head.markdown(f"{STATUS_ICON.get(rec.status, '')} **{rec.name}** · {state} · "
                      f"`{rec.run_id[:8]}`")
        if button.button("Cancel", key=f"{prefix}cancel_{rec.run_id}", icon=":material/stop:",
                         width="stretch"):
            cancel(rec.run_id, store())
            st.toast(f"Cancelling {rec.name}")
        shown = live_progress(rec, p, waiting)
        if shown is None:
            return
        epoch, step, steps, done, epochs = shown
        m = st.columns(5)
        m[0].metric("Elapsed", duration_text(p.get("elapsed_s")))
        m[1].metric("ETA", duration_text(p.get("eta_s")))
        ips = p.get("images_per_s")
        if step < max(3, steps // 10) and rec.metrics.get("images_per_s"):
            ips = rec.metrics["images_per_s"]  # early in an epoch: the last epoch's figure
        m[2].metric("Images / s", metric_text(ips, "rate"))
        m[3].metric("Loss", metric_text(p.get("loss")))
        m[4].metric("Accuracy", metric_text(p.get("accuracy"), "%"))
        keys = CURVE_KEYS if batch_loss else tuple(k for k in CURVE_KEYS if k != "batch_loss")
        history = store().history(rec.run_id, keys)
        live = (done, p.get("loss"), p.get("accuracy")) if phase == "train" else None
        if live is None and not any(history.get(k) for k in ("loss", "val_loss")):
            return  # nothing to draw yet
        spe = (int(steps) if steps else steps_per_epoch(rec.params)) if batch_loss else None
        st.plotly_chart(curves_figure(history, spe, live, epochs, height=300),
                        width="stretch", key=f"{prefix}live_curves_{rec.run_id}")


def live_section(active_at_start: bool, prefix: str, waiting: Mapping[str, str], *,
                 select: Callable[[RunRecord], bool] = lambda r: True,
                 title: str | None = None, batch_loss: bool = True,
                 on_end: Callable[[list[str], set[str]], None] | None = None) -> None:
    """The polling fragment: every second while runs were active when the page ran, a card per
    active run that ``select`` keeps. When the set of active runs changes (a run ended, or one
    started while nothing was polled) it calls ``on_end(ended run ids, active run ids)`` and
    reruns the whole page: its results and the polling switched on or off."""
    @st.fragment(run_every=LIVE_EVERY_S if active_at_start else None)
    def live() -> None:
        ss = st.session_state
        runs = [r for r in store().list_runs() if select(r)]
        active = [r for r in runs if r.active]
        seen_key = f"{prefix}live_ids"
        was = set(ss.get(seen_key, ()))
        now = {r.run_id for r in active}
        ss[seen_key] = now
        ended = [r.run_id for r in runs if r.run_id in was - now]
        if ended or (now and not active_at_start) or (active_at_start and not now):
            if on_end is not None:
                on_end(ended, now)
            st.rerun()
        if not active:
            return
        if title:
            st.subheader(title)
        for rec in active:
            live_run(rec, prefix, waiting, batch_loss)

    live()
