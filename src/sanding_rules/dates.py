"""Vectorised date parsing: ISO, Chinese (2026年3月31日), slashes, dots, YYYYMMDD, Excel.

A province roster has millions of rows but only thousands of distinct dates, so every
parser here works on the distinct values (``pd.factorize``) and maps the result back.
ISO is tried first because nearly every export uses it; the slower regex path only sees
what the ISO pass rejected.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

# Year, month, day separated by - / . or written 2026年3月31日; an optional time part
# (exports from Excel sometimes carry "00:00:00") is accepted and dropped.
_YMD = (
    r"^(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT = r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})$"
# Excel's day 0 is 1899-12-30 (it counts the non-existent 1900-02-29).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Serial numbers up to 5 digits: 1 (1899-12-31) .. 99999 (2173); an 8-digit number is YYYYMMDD.
_SERIAL = r"^\d{1,5}(?:\.0+)?$"

DATE_FORMATS = "2026-03-31, 2026年3月31日, 2026/3/31, 2026.3.31, 20260331"


def parse_dates(values: pd.Series, *, excel_serial: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse text to datetime64[ns]; return (dates, mask of non-empty values that failed)."""
    index = values.index
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values.astype("datetime64[ns]")
        return parsed, pd.Series(False, index=index)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.is_string_dtype(uniques.dtype):
        text = pd.Series(uniques, dtype="str")
    else:
        text = pd.Series(uniques, dtype="object").map(_as_text, na_action="ignore").astype("str")
    text = text.str.strip()
    parsed_uniques = _parse_unique(text, excel_serial=excel_serial)
    empty_unique = (text.isna() | (text == "")).to_numpy()
    failed_unique = parsed_uniques.isna().to_numpy() & ~empty_unique
    parsed = pd.Series(
        parsed_uniques.array.take(codes, allow_fill=True), index=index, name=values.name
    )
    failed = np.zeros(len(codes), dtype=bool)
    ok = codes >= 0
    failed[ok] = failed_unique[codes[ok]]
    return parsed, pd.Series(failed, index=index)


def parse_date(value: object) -> pd.Timestamp | None:
    """Parse one date (same formats as parse_dates); None when empty or unparseable."""
    parsed, _ = parse_dates(pd.Series([value], dtype="object"))
    result = parsed.iloc[0]
    return None if pd.isna(result) else result


def _as_text(value: object) -> str:
    # datetime/date objects (Excel-native cells, YAML values) become ISO so the fast path takes them.
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _parse_unique(text: pd.Series, *, excel_serial: bool) -> pd.Series:
    """Parse distinct, stripped strings; NaT where no format applies."""
    result = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    todo = result.isna() & text.notna() & (text != "")
    if not todo.any():
        return result
    rest = text[todo]
    for pattern in (_YMD, _COMPACT):
        parts = rest.str.extract(pattern)
        hit = parts["year"].notna()
        if hit.any():
            ymd = parts[hit].astype("int64")
            # Components out of range (month 13, Feb 30) give NaT, i.e. a parse failure.
            result.loc[ymd.index] = pd.to_datetime(ymd, errors="coerce").astype("datetime64[ns]")
            rest = rest[~hit]
    if excel_serial and len(rest):
        serial = rest[rest.str.match(_SERIAL)]
        if len(serial):
            days = serial.astype("float64")
            days = days[days >= 1]
            result.loc[days.index] = _EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
    return result
