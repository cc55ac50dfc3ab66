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
    n = len(birth_days)
    null = np.isnan(birth_days)
    births = np.where(null, 0, birth_days).astype("int64").astype("datetime64[D]")
    birth_month = (births.astype("datetime64[M]") - _EPOCH_MONTH).astype("int64")
    gender = np.asarray(gender, dtype=object)
    male = gender == "M"
    female = gender == "F"
    worker = np.asarray(post_type, dtype=object) == "worker"
    groups = {
        "male": male,
        "female_cadre": female & ~worker,
        "female_worker": female & worker,
    }
    months = np.zeros(n, dtype="int64")
    known = np.zeros(n, dtype=bool)
    for name in RETIREMENT_GROUPS:
        sel = groups[name]
        rule = schedule[name]
        first = _month_index(rule["first_birth_month"])
        k = birth_month - first
        extra = np.minimum(int(rule["max_extra_months"]), k // int(rule["months_per_step"]) + 1)
        extra = np.where(k >= 0, extra, 0)
        months = np.where(sel, birth_month + int(rule["base_years"]) * 12 + extra, months)
        known |= sel
    null = null | ~known
    first_day = (months.astype("timedelta64[M]") + _EPOCH_MONTH).astype("datetime64[D]")
    days = (first_day - _EPOCH_DAY).astype("float64")
    return np.where(null, np.nan, days), null


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
