"""Tables as the pages show them with ``st.dataframe``: numbers stay numbers (a click on a column
header sorts them as numbers) while a missing value reads as an em dash. Streamlit draws every
missing cell as a grey "None" and has no option to change that, so a missing number is stored as
-inf (it sorts below every real value) and a pandas Styler shows it as the dash.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "—"
_ABSENT = -math.inf


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and (math.isnan(value) or value == _ABSENT))


def _formatter(fmt: str | Callable[[Any], str]) -> Callable[[Any], str]:
    show = fmt.format if isinstance(fmt, str) else fmt
    return lambda v: MISSING if _missing(v) else show(v)


def shown(df: pd.DataFrame, formats: Mapping[str, str | Callable[[Any], str]]) -> Styler:
    """``df`` ready for ``st.dataframe``: each column named in ``formats`` is numeric, shown with
    its format (``"{:,.0f}"``, ``"{:.1%}"`` or a function; a column not in ``df`` is skipped)
    and an em dash where a value is missing; missing text elsewhere is an em dash too. Give the columns no ``format`` in
    ``column_config``: Streamlit lets that override the Styler's text."""
    out = df.copy()
    formats = {col: fmt for col, fmt in formats.items() if col in out.columns}
    for col in formats:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float).fillna(_ABSENT)
    for col in out.columns.difference(list(formats)):
        if pd.api.types.is_string_dtype(out[col]) or pd.api.types.is_object_dtype(out[col]):
            out[col] = out[col].fillna(MISSING)
    return out.style.format({col: _formatter(fmt) for col, fmt in formats.items()})

