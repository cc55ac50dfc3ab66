"""Citizen ID numbers (公民身份号码) after GB 11643-1999.

An 18-character number is a 6-digit region code, an 8-digit birth date
YYYYMMDD, a 3-digit sequence (odd for men, even for women) and an ISO 7064
MOD 11-2 check character (0-9 or X). Readers get the numbers as typed by
people, so validation first strips blanks and upper-cases the X.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = "10X98765432"
# Birth years outside this window are typing errors, not people on a payroll.
MIN_YEAR = 1800

_CHECK_CODES = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def normalise(s: Any) -> str:
    """Strip blanks and upper-case a trailing x; non-strings become ''."""
    if not isinstance(s, str):
        return ""
    return s.strip().upper()


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(c) * int(w) for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _real_date(year: int, month: int, day: int) -> bool:
    if year < MIN_YEAR or not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def is_valid(s: Any) -> bool:
    """True for a well-formed 18-character number (after normalise) with a real birth date."""
    n = normalise(s)
    if len(n) != 18 or not n.isascii():
        return False
    body, last = n[:17], n[17]
    if not body.isdigit() or not (last.isdigit() or last == "X"):
        return False
    if not _real_date(int(n[6:10]), int(n[10:12]), int(n[12:14])):
        return False
    return check_digit(body) == last


def mask(s: Any) -> str:
    """Hide the middle of a number for reports: 110105********123X."""
    n = s.strip() if isinstance(s, str) else ""
    if len(n) <= 10:
        return "*" * len(n)
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def _randint(rng: Any, low: int, high: int) -> int:
    """An int in [low, high) from a numpy Generator or a random.Random."""
    if hasattr(rng, "integers"):
        return int(rng.integers(low, high))
    return int(rng.randrange(low, high))


def generate(rng: Any, birth_date: date, gender: str, region_code: str | int) -> str:
    """A valid number for the person: odd sequence digit for men ("M"), even for women."""
    region = f"{int(region_code):06d}"
    if len(region) != 6:
        raise ValueError(f"region code must have 6 digits: {region_code!r}")
    male = _is_male(gender)
    seq = _randint(rng, 0, 500) * 2 + (1 if male else 0)
    first17 = f"{region}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def _is_male(gender: str) -> bool:
    if gender in ("M", "男"):
        return True
    if gender in ("F", "女"):
        return False
    raise ValueError(f"gender must be M or F, got {gender!r}")


def generate_array(
    rng: np.random.Generator,
    birth_dates: np.ndarray,
    male: np.ndarray,
    region_codes: np.ndarray,
) -> np.ndarray:
    """Vectorised generate(): one valid number per element, as a numpy unicode array."""
    births = np.asarray(birth_dates).astype("datetime64[D]")
    male = np.asarray(male, dtype=bool)
    regions = np.asarray(region_codes).astype(np.int64)
    n = len(births)
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)
    return _assemble(regions, births, seq)


def _assemble(regions: np.ndarray, births: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Digits of region, birth date and sequence plus the check character, as strings."""
    years = births.astype("datetime64[Y]").astype(np.int64) + 1970
    months = births.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (births - births.astype("datetime64[M]")).astype(np.int64) + 1
    number = (regions * 10**8 + years * 10**4 + months * 100 + days) * 1000 + seq
    powers = 10 ** np.arange(16, -1, -1, dtype=np.int64)
    digits = (number[:, None] // powers) % 10
    check = (digits @ WEIGHTS) % 11
    out = np.empty((len(number), 18), dtype=np.uint8)
    out[:, :17] = digits + 48
    out[:, 17] = _CHECK_CODES[check]
    return out.view("S18").ravel().astype("U18")


def valid_mask(series: pd.Series) -> pd.Series:
    """Vectorised is_valid over a Series; missing, empty and non-string values are False."""
    if len(series) == 0 or not (
        pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)
    ):
        return pd.Series(np.zeros(len(series), dtype=bool), index=series.index)
    return pd.Series(valid_array(series.to_numpy(dtype=object)), index=series.index)


def valid_array(values: np.ndarray) -> np.ndarray:
    """Vectorised is_valid over an object array; missing and non-string values are False."""
    result = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return result
    missing = pd.isna(values)
    if missing.any():
        values = np.where(missing, "", values)
    lengths = _lengths(values)
    exact = np.flatnonzero(lengths == 18)
    # Only the rare other lengths pay for strip(); a lower-case x is handled below.
    odd = np.flatnonzero((lengths != 18) & (lengths > 0))
    stripped = [v.strip() for v in values[odd]]
    odd_ok = np.array([len(v) == 18 for v in stripped], dtype=bool)
    candidates = np.concatenate([exact, odd[odd_ok]])
    if len(candidates) == 0:
        return result
    texts = values[exact].tolist() + [v for v, ok in zip(stripped, odd_ok, strict=True) if ok]
    codes = _ascii_rows(texts)
    if codes is None:
        codes = np.array(texts, dtype="U18").view(np.uint32).reshape(-1, 18)
    result[candidates] = _valid_codes(codes)
    return result


def _lengths(values: np.ndarray) -> np.ndarray:
    """len() of each text; -1 for anything that is not text."""
    try:
        # map(len) runs in C; it fails only on numbers and the like.
        return np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    except TypeError:
        return np.fromiter(
            (len(v) if isinstance(v, str) else -1 for v in values),
            dtype=np.int64,
            count=len(values),
        )


def _ascii_rows(texts: list[str]) -> np.ndarray | None:
    """18-character texts as an (n, 18) array of bytes, from one joined buffer rather than
    text by text; None when one of them is not ASCII."""
    joined = "".join(texts)
    if not joined.isascii():
        return None
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 18)


def number_keys(values: np.ndarray) -> np.ndarray:
    """Integer codes for ID-number texts (no missing values): equal codes for equal texts,
    a lower-case x counting as X.

    The usual 18-character number becomes one int64 (its 17 digits and the check character),
    so a province's numbers are compared as integers, not hashed as strings; anything else
    falls back to its text.
    """
    n = len(values)
    keys = np.zeros(n, dtype=np.int64)
    if n == 0:
        return keys
    exact = np.flatnonzero(_lengths(values) == 18)
    numeric = np.zeros(n, dtype=bool)
    rows = _ascii_rows(values[exact].tolist())
    if exact.size and rows is not None:
        # One contiguous row per character position (column access to (n, 18) is slow).
        codes = rows.T.copy()
        ok = np.ones(len(exact), dtype=bool)
        number = np.zeros(len(exact), dtype=np.int64)
        for i in range(17):
            d = codes[i] - np.uint8(48)
            ok &= d <= 9
            number *= 10
            number += d
        last = codes[17]
        check = np.where((last == ord("X")) | (last == ord("x")), 10, last.astype(np.int64) - 48)
        ok &= (check >= 0) & (check <= 10)
        keys[exact[ok]] = number[ok] * 11 + check[ok]
        numeric[exact[ok]] = True
    rest = np.flatnonzero(~numeric)
    if rest.size:
        texts = [v.upper() if "x" in v else v for v in values[rest].tolist()]
        # Negative codes cannot meet the numbers' keys, which are never negative.
        keys[rest] = -1 - pd.factorize(pd.Series(texts, dtype=object))[0]
    return keys


def _valid_codes(codes: np.ndarray) -> np.ndarray:
    """Rows of 18 character codes (bytes or code points) that are valid ID numbers."""
    n = len(codes)
    zero = codes.dtype.type(48)
    body_ok = np.ones(n, dtype=bool)
    total = np.zeros(n, dtype=np.int32)
    digit: list[np.ndarray] = []
    # Position by position, so that no (n, 17) temporary is ever made: at a province's size
    # the memory traffic costs more than the arithmetic.
    for i in range(17):
        d = codes[:, i] - zero  # unsigned wrap-around sends every non-digit above 9
        body_ok &= d <= 9
        d = d.astype(np.int32)  # wrapped values may overflow below; body_ok rejects them
        total += d * np.int32(WEIGHTS[i])
        if 6 <= i < 14:
            digit.append(d)
    expected = _CHECK_CODES[total % 11]
    last = codes[:, 17].astype(np.int32)
    last = np.where(last == ord("x"), ord("X"), last)
    last_ok = ((last >= 48) & (last <= 57)) | (last == ord("X"))
    year = digit[0] * 1000 + digit[1] * 100 + digit[2] * 10 + digit[3]
    month = digit[4] * 10 + digit[5]
    day = digit[6] * 10 + digit[7]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    limit = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    date_ok = (year >= MIN_YEAR) & month_ok & (day >= 1) & (day <= limit)
    return body_ok & last_ok & date_ok & (expected == last)
