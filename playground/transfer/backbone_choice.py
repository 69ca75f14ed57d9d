"""What the Transfer page offers as a backbone: the finished runs of this app that trained an
image model from scratch (``run:<id>``, with the input shape they were trained at), and the
input sizes and scaled cost of a Keras Application."""
from __future__ import annotations

from typing import Iterable, Mapping

from playground.store import RunRecord
from playground.transfer.backbones import MIN_SIDE, RUN_PREFIX, default_size

SIZES = (32, 48, 64, 96, 128, 160, 192, 224, 256, 299, 331, 384, 448, 512)


def run_input_shape(params: Mapping[str, str]) -> tuple[int, ...] | None:
    """A run's input shape from its logged ``data.input_shape`` ("32x32x1"), or None."""
    text = str(params.get("data.input_shape") or "")
    try:
        shape = tuple(int(v) for v in text.split("x"))
    except ValueError:
        return None
    return shape if len(shape) == 3 else None


def backbone_runs(runs: Iterable[RunRecord]) -> dict[str, RunRecord]:
    """Finished runs that trained an image model from scratch, keyed ``run:<id>`` (their
    backbone name), in the order given."""
    out = {}
    for rec in runs:
        if (rec.status == "FINISHED" and rec.recipe == "scratch"
                and run_input_shape(rec.params)):
            out[f"{RUN_PREFIX}{rec.run_id}"] = rec
    return out


def size_options(name: str) -> list[int]:
    """Input sides offered for Keras Application ``name``: the usual ones it accepts, and its
    own default."""
    smallest = max(32, MIN_SIDE.get(name, 32))
    return sorted({v for v in SIZES + (default_size(name),) if v >= smallest})


def scaled_macs(macs: float, default_side: int, side: int) -> float:
    """MACs of a convolutional backbone at another input side (they scale with the pixels)."""
    return macs * (side / default_side) ** 2


__all__ = ["SIZES", "backbone_runs", "run_input_shape", "scaled_macs", "size_options"]
