"""Sanity guards on a finished (or stopped) run: patterns in its history that mean the numbers
should not be trusted, each as a warning that names the likely cause. Pure: history rows in,
messages out, so the page, the CLI and the tests read the same verdict."""
from __future__ import annotations

import math
from typing import Any, Sequence


def chance_margin(classes: int, n_val: int) -> float:
    """How far above 1/classes an accuracy must be to differ from guessing: two standard
    errors of a guesser's accuracy on ``n_val`` examples, at least 5 points."""
    p = 1.0 / max(classes, 2)
    return max(0.05, 2.0 * math.sqrt(p * (1 - p) / max(n_val, 1)))


def run_warnings(history: Sequence[dict[str, Any]], classes: int, n_val: int,
                 val_accuracy: float | None) -> list[str]:
    """Warnings for a run's per-epoch ``history`` (rows with loss, accuracy, val_accuracy) and
    the kept model's validation accuracy; empty when nothing looks wrong."""
    if not history:
        return []
    out: list[str] = []
    chance = 1.0 / max(classes, 2)
    margin = chance_margin(classes, n_val)
    last = history[-1]
    losses = [r["loss"] for r in history if r.get("loss") is not None]
    train_acc = last.get("accuracy")
    if losses and not all(math.isfinite(v) for v in losses):
        out.append("loss became NaN or infinite: the learning rate is likely too high (or fp16 "
                   "overflowed); lower it or train in float32")
    elif len(losses) >= 2 and losses[-1] >= 0.97 * losses[0] and (
            train_acc is None or train_acc <= chance + margin):
        out.append(f"flat loss: training loss went from {losses[0]:.4f} to {losses[-1]:.4f} and "
                   f"training accuracy stayed near chance ({chance:.0%}): the model is not "
                   "learning. Likely causes: a learning rate far too low or too high, frozen or "
                   "random-weight layers that cannot adapt, or labels unrelated to the inputs")
    if val_accuracy is None:
        return out
    at_chance = val_accuracy <= chance + margin
    if at_chance and train_acc is not None and train_acc >= chance + max(0.25, 2 * margin):
        out.append(f"validation accuracy stays at chance ({val_accuracy:.0%}, chance "
                   f"{chance:.0%}) while training accuracy reached {train_acc:.0%}: the model "
                   "memorises the training set or behaves differently in evaluation mode "
                   "(batch-norm statistics, dropout). Try more data, augmentation, or more "
                   "epochs at a lower learning rate")
    elif (not at_chance and train_acc is not None
          and train_acc - val_accuracy >= max(0.3, 2 * margin)):
        out.append(f"large gap: training accuracy {train_acc:.0%} but validation "
                   f"{val_accuracy:.0%}: the model fits the training set far better than new "
                   "data. Try more data, augmentation or weight decay, or fewer epochs")
    elif at_chance and not out:
        out.append(f"validation accuracy {val_accuracy:.0%} is no better than chance "
                   f"({chance:.0%}) after {len(history)} epoch(s): the run learned nothing "
                   "usable. Try more epochs, another learning rate, or check the data")
    return out
