"""Axis ticks shared by the plotly charts: 1-2-5 steps on a log axis, each labelled in full.
Plotly's own log-axis labels read "5 6 7 8 9 1M 2 3": a bare "2" that may mean 20K or 2M."""
from __future__ import annotations

import math
from typing import Callable


def si(value: float) -> str:
    """``500K``, ``2M``, ``1.5G``: a tick value with an SI suffix and no trailing zeros."""
    for power, unit in ((12, "T"), (9, "G"), (6, "M"), (3, "K")):
        if abs(value) >= 10 ** power:
            return f"{value / 10 ** power:g}{unit}"
    return f"{value:g}"


def log_ticks(lo: float, hi: float, text: Callable[[float], str] = "{:g}".format
              ) -> dict[str, list]:
    """``tickvals``/``ticktext`` for a log axis showing ``lo``..``hi`` (data units, > 0): the
    1-2-5 values inside, thinned to 1-and-5 or decades when they would crowd (> 8 ticks).
    Empty (plotly's own ticks) for a range that is not positive or holds fewer than two."""
    if not (lo > 0 and hi > 0):
        return {}
    vals: list[float] = []
    for steps in ((1, 2, 5), (1, 5), (1,)):
        vals = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)),
                                             math.ceil(math.log10(hi)) + 1)
                for m in steps if lo <= m * 10.0 ** e <= hi]
        if len(vals) <= 8:
            break
    return dict(tickvals=vals, ticktext=[text(v) for v in vals]) if len(vals) >= 2 else {}
