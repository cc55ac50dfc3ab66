"""GB 11643-1999 citizen ID numbers: scalar and vectorised checks agree."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pandas as pd
import pytest

from sanding_rules import idnumber

# Built by hand: region 110105, born 1949-12-31, sequence 002 (a woman).
# Weighted sum of 11010519491231002 is 167 (= 2 mod 11), so the check is X.
KNOWN_X = "11010519491231002X"
# Region 330121, born 1980-01-01, sequence 002; sum 150 = 7 mod 11 -> 5.
KNOWN_5 = "330121198001010025"


def test_check_digit_by_hand():
    assert idnumber.check_digit("11010519491231002") == "X"
    assert idnumber.check_digit("11010519491231001") == "1"  # sum 165 = 0 mod 11
    assert idnumber.check_digit("33012119800101002") == "5"


def test_known_valid():
    assert idnumber.is_valid(KNOWN_X)
    assert idnumber.is_valid(KNOWN_5)


def test_lower_case_x_and_blanks_are_valid():
    assert idnumber.is_valid(KNOWN_X.lower())
    assert idnumber.is_valid(f"  {KNOWN_5} ")
    assert idnumber.normalise(f" {KNOWN_X.lower()} ") == KNOWN_X


def test_wrong_check_digit():
    assert not idnumber.is_valid(KNOWN_5[:17] + "4")
    assert not idnumber.is_valid(KNOWN_X[:17] + "0")


def test_bad_birth_date_even_with_right_check():
    first17 = "110105" + "19990230" + "123"
    assert not idnumber.is_valid(first17 + idnumber.check_digit(first17))
    leap = "110105" + "20000229" + "123"
    assert idnumber.is_valid(leap + idnumber.check_digit(leap))
    not_leap = "110105" + "19000229" + "123"
    assert not idnumber.is_valid(not_leap + idnumber.check_digit(not_leap))
    month13 = "110105" + "19991301" + "123"
    assert not idnumber.is_valid(month13 + idnumber.check_digit(month13))


@pytest.mark.parametrize(
    "value",
    [
        "110105491231001",  # old 15-digit number
        "",
        None,
        float("nan"),
        12345,
        "11010519491231002Y",
        "1101051949123100XX",
        "11010519491231002X0",
        "１１０１０５１９４９１２３１００１Ｘ",  # full-width digits
    ],
)
def test_malformed(value):
    assert not idnumber.is_valid(value)


def test_mask():
    assert idnumber.mask("11010519491231123X") == "110105********123X"
    assert idnumber.mask("123") == "***"


def test_generate_gender_and_validity():
    rng = np.random.default_rng(1)
    for gender in ("M", "F"):
        for _ in range(50):
            n = idnumber.generate(rng, date(1975, 2, 28), gender, "330102")
            assert idnumber.is_valid(n)
            assert n[:14] == "33010219750228"
            assert int(n[16]) % 2 == (1 if gender == "M" else 0)
    assert idnumber.is_valid(idnumber.generate(random.Random(3), date(2000, 2, 29), "F", 330121))


def test_generate_array_matches_scalar_rules():
    rng = np.random.default_rng(5)
    births = np.array(["1966-03-15", "1990-12-31", "2000-02-29"], dtype="datetime64[D]")
    ids = idnumber.generate_array(
        rng, births, np.array([True, False, True]), [330121, 110105, 3301]
    )
    assert [i[6:14] for i in ids] == ["19660315", "19901231", "20000229"]
    assert ids[2][:6] == "003301"
    assert [int(i[16]) % 2 for i in ids] == [1, 0, 1]
    assert all(idnumber.is_valid(i) for i in ids)


def _random_numbers(n: int, seed: int) -> list[object]:
    """Valid numbers damaged in every way a typist could, plus non-strings."""
    rng = random.Random(seed)
    out: list[object] = []
    for _ in range(n):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        if rng.random() < 0.6:
            y = rng.randint(1890, 2030)
            m = rng.randint(0, 13)
            d = rng.randint(0, 32)
            first17 = first17[:6] + f"{y:04d}{m:02d}{d:02d}" + first17[14:]
        s = first17 + idnumber.check_digit(first17)
        roll = rng.random()
        if roll < 0.15:
            s = s[:17] + rng.choice("0123456789Xx")
        elif roll < 0.2:
            s = s.lower()
        elif roll < 0.25:
            s = " " + s + " "
        elif roll < 0.3:
            s = s[:15]
        elif roll < 0.33:
            s = s[:5] + "A" + s[6:]
        elif roll < 0.35:
            out.append(rng.choice([None, float("nan"), "", 42]))
            continue
        elif roll < 0.38:
            # Digits that are not ASCII: full-width, Arabic-Indic, a full-width X.
            i = rng.randrange(18)
            s = s[:i] + rng.choice("３٣Ｘ张") + s[i + 1 :]
        out.append(s)
    return out


def test_vectorised_equals_scalar():
    values = _random_numbers(5000, seed=11)
    series = pd.Series(values, dtype=object)
    got = idnumber.valid_mask(series)
    want = [idnumber.is_valid(v) for v in values]
    assert got.tolist() == want
    assert 500 < sum(want) < 4500  # both outcomes are well represented


def test_valid_mask_keeps_index_and_handles_string_dtype():
    s = pd.Series([KNOWN_X, None, "bad", KNOWN_5.lower()], index=[10, 11, 12, 13], dtype="str")
    got = idnumber.valid_mask(s)
    assert list(got.index) == [10, 11, 12, 13]
    assert got.tolist() == [True, False, False, True]
    assert idnumber.valid_mask(pd.Series([], dtype=object)).tolist() == []


def test_number_keys_equal_exactly_when_normalised_texts_are_equal():
    """P02 compares ID numbers as texts with a lower-case x read as X; the integer keys must
    partition the numbers in the same way, for well-formed and damaged numbers alike."""
    base = [v for v in _random_numbers(3000, seed=5) if isinstance(v, str)]
    # Repeats in both spellings, so that equal keys are exercised, not only distinct ones.
    values = base + [v.lower() for v in base[:500]] + [v.upper() for v in base[500:900]]
    values += ["abc", "ABC", "x", "X", "33010219800101001x", "33010219800101001X"]
    keys = idnumber.number_keys(np.array(values, dtype=object))
    texts = [v.upper() if "x" in v else v for v in values]
    want = pd.factorize(pd.Series(texts, dtype=object))[0]
    got = pd.factorize(keys)[0]
    assert got.tolist() == want.tolist()
