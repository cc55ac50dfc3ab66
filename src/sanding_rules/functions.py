"""Whitelisted functions rules may call; each is vectorised over a fact column."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from . import idnumber
from .expr import BOOL, DATE, OBJ, STR, register

_EPOCH_MONTH = np.datetime64("1970-01", "M")
_EPOCH_DAY = np.datetime64("1970-01-01", "D")

# The groups of the retirement schedule, in the order the law lists them.
RETIREMENT_GROUPS = ("male", "female_cadre", "female_worker")


def _month_index(text: str) -> int:
    """'1965-01' -> months since 1970-01."""
    return int((np.datetime64(str(text)[:7], "M") - _EPOCH_MONTH).astype("int64"))


@register(
    "retirement_date",
    (DATE, STR, STR, OBJ),
    DATE,
    "first day of the month a person reaches the statutory retirement age, by a schedule",
)
def retirement_date(
    birth_days: np.ndarray, gender: np.ndarray, post_type: np.ndarray, schedule: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Retirement month (as a day number of its first day) for each person."""
    null = np.isnan(birth_days)
    gender = np.asarray(gender, dtype=object)
    female = gender == "F"
    worker = np.asarray(post_type, dtype=object) == "worker"
    group = np.zeros(len(birth_days), dtype=np.int64)  # 0: unknown gender, no answer
    group[gender == "M"] = 1
    group[female & ~worker] = 2
    group[female & worker] = 3
    # A province has 1.6 million people but some thousands of distinct (birth day, group)
    # pairs: the calendar arithmetic is done once per pair, then spread back.
    day_code, days_u = pd.factorize(np.where(null, 0.0, birth_days))
    pair_code, pairs_u = pd.factorize(day_code.astype(np.int64) * 4 + group)
    births = np.asarray(days_u, dtype="float64")[pairs_u // 4].astype("int64")
    birth_month = (births.astype("datetime64[D]").astype("datetime64[M]") - _EPOCH_MONTH).astype(
        "int64"
    )
    months = np.zeros(len(pairs_u), dtype="int64")
    for number, name in enumerate(RETIREMENT_GROUPS, start=1):
        rule = schedule[name]
        k = birth_month - _month_index(rule["first_birth_month"])
        extra = np.minimum(int(rule["max_extra_months"]), k // int(rule["months_per_step"]) + 1)
        extra = np.where(k >= 0, extra, 0)
        sel = pairs_u % 4 == number
        months[sel] = (birth_month + int(rule["base_years"]) * 12 + extra)[sel]
    first_day = (months.astype("timedelta64[M]") + _EPOCH_MONTH).astype("datetime64[D]")
    days_u = (first_day - _EPOCH_DAY).astype("float64")
    null = null | (group == 0)
    return np.where(null, np.nan, days_u[pair_code]), null


@register("valid_id_number", (STR,), BOOL, "a valid 18-character GB 11643 citizen ID number")
def valid_id_number(values: np.ndarray) -> np.ndarray:
    """True where the text is a valid ID number."""
    return idnumber.valid_array(np.asarray(values, dtype=object))


def _keyword_pattern(keywords: Any) -> re.Pattern[str] | None:
    """One case-insensitive pattern for a keyword list. ASCII keywords (tags such as
    'licensing') match whole words only, with a plural ending allowed ('fee' matches 'fees'
    but not 'feedback', 'penalty' matches 'penalties'); others (Chinese words) match anywhere
    in the text."""
    if isinstance(keywords, str):
        keywords = [keywords]
    parts = []
    for word in keywords or ():
        word = str(word).strip()
        if not word:
            continue
        escaped = re.escape(word)
        if word.isascii():
            forms = [rf"{escaped}(?:e?s)?"]
            if word[-1:].lower() == "y" and len(word) > 1:
                forms.append(re.escape(word[:-1]) + "ies")
            escaped = rf"(?<![0-9a-z])(?:{'|'.join(forms)})(?![0-9a-z])"
        parts.append(escaped)
    if not parts:
        return None
    return re.compile("|".join(parts), re.IGNORECASE)


@register(
    "contains_any",
    (STR, OBJ),
    BOOL,
    "the text contains one of a list of keywords (any case; ASCII keywords as whole words)",
)
def contains_any(texts: np.ndarray, keywords: Any) -> np.ndarray:
    """True where the text contains one of the keywords."""
    pattern = _keyword_pattern(keywords)
    if pattern is None or len(texts) == 0:
        return np.zeros(len(texts), dtype=bool)
    series = pd.Series(texts, dtype=object)
    hit = series.str.contains(pattern, regex=True, na=False)
    return hit.to_numpy(dtype=bool)
