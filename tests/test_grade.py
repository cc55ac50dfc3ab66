"""Grades: thresholds, veto (一票否优), then the A-share cap with ties at the cut-off."""

from __future__ import annotations

from datetime import date

import pytest

from sanding_rules.adjudicate import Verdict
from sanding_rules.findings import Finding
from sanding_rules.grade import grade_units
from sanding_rules.model import Model, load_model
from sanding_rules.score import UnitScore


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(None, [])


def units(*scores: float) -> dict[str, UnitScore]:
    """Scored units U0, U1, ... (grading reads only the score)."""
    return {f"U{i}": UnitScore(f"U{i}", s, None, i) for i, s in enumerate(scores)}  # type: ignore[arg-type]


def finding(rule: str, unit: str, subject: str = "p1") -> Finding:
    return Finding(rule, "error", unit, subject, "rectify", {}, {}, {}, {})


def grades(scores: dict[str, UnitScore]) -> str:
    return "".join(u.grade or "-" for u in scores.values())


def codes(scores: dict[str, UnitScore]) -> list[str]:
    return [u.grade_reason["code"] for u in scores.values()]


def test_thresholds(model: Model) -> None:
    # 10 units, at most 3 A: the cap does not bite here.
    s = units(90, 89.99, 75, 74.99, 0, 100, 50, 60, 70, 80)
    grade_units(model, s, [], {})
    assert grades(s) == "ABBCCACCCB"
    assert set(codes(s)) == {"threshold"}
    assert s["U0"].grade_reason["zh"] == "得分90.00，达到A档线90分，评为A"
    assert s["U1"].grade_reason["en"] == (
        "score 89.99 is below the A threshold 90 and reaches the B threshold 75: B"
    )
    assert "below the B threshold 75" in s["U3"].grade_reason["en"]


def test_veto_unless_dismissed(model: Model) -> None:
    s = units(95, 95, 95, 80, 10, 10, 10, 10, 10, 10)
    p02 = finding("P02", "U0")
    f01 = finding("F01", "U1")
    f01_b = finding("F01", "U3")  # a B unit stays B, for its threshold
    dismissed = finding("P02", "U2")
    verdicts = {
        dismissed.fingerprint: Verdict(
            dismissed.fingerprint, "dismissed", "核实为同名", "李四", date(2026, 7, 1), None, "a", 2
        ),
        p02.fingerprint: Verdict(
            p02.fingerprint, "confirmed", "属实", "李四", date(2026, 7, 1), None, "a", 3
        ),
    }
    grade_units(model, s, [p02, f01, f01_b, dismissed, finding("P01", "U2")], verdicts)
    assert grades(s)[:4] == "BBAB"
    assert codes(s)[:4] == ["veto", "veto", "threshold", "threshold"]
    reason = s["U1"].grade_reason
    assert "F01" in reason["zh"] and f01.fingerprint in reason["en"] and "95.00" in reason["en"]


def test_veto_counts_findings(model: Model) -> None:
    s = units(99, 0, 0, 0)
    fs = [finding("P02", "U0", f"p{i}") for i in range(3)]
    grade_units(model, s, fs, {})
    assert "and 2 more" in s["U0"].grade_reason["en"] and "等3项" in s["U0"].grade_reason["zh"]


def test_cap_keeps_the_highest(model: Model) -> None:
    # 10 units, cap 30%: at most 3 A. Five reach A; 99, 98, 95 keep it.
    s = units(99, 92, 95, 98, 91, 80, 80, 80, 80, 80)
    grade_units(model, s, [], {})
    assert grades(s) == "ABAABBBBBB"
    assert codes(s)[:5] == ["threshold", "cap", "threshold", "threshold", "cap"]
    assert s["U1"].grade_reason["en"] == (
        "A-share cap 30%: 5/10 units reach A, at most 3 may keep it; "
        "cut-off score 95.00, this unit's score 92.00: B"
    )


def test_cap_ties_at_the_cut_off_that_all_fit(model: Model) -> None:
    # 99, 95, 95 fit exactly in 3; 92 and 91 do not.
    s = units(95, 92, 99, 95, 91, 0, 0, 0, 0, 0)
    grade_units(model, s, [], {})
    assert grades(s)[:5] == "ABAAB"


def test_cap_ties_at_the_cut_off_that_do_not_all_fit(model: Model) -> None:
    # 99, 98, then 95 x2 for the third place: neither tied unit keeps A (the cap is hard).
    s = units(95, 99, 95, 98, 92, 0, 0, 0, 0, 0)
    grade_units(model, s, [], {})
    assert grades(s)[:5] == "BABAB"
    assert codes(s)[:5] == ["cap", "threshold", "cap", "threshold", "cap"]
    assert "the 2 units tied at it do not all fit" in s["U0"].grade_reason["en"]
    assert "并列的2个单位不能全部保留A" in s["U2"].grade_reason["zh"]


def test_cap_when_everyone_ties(model: Model) -> None:
    s = units(*[100] * 10)
    grade_units(model, s, [], {})
    assert grades(s) == "B" * 10


def test_cap_applies_after_veto(model: Model) -> None:
    # The vetoed 99 leaves the A group first; then 98, 97, 96 fit in 3.
    s = units(99, 98, 97, 96, 0, 0, 0, 0, 0, 0)
    grade_units(model, s, [finding("P02", "U0")], {})
    assert grades(s)[:4] == "BAAA"
    assert codes(s)[:4] == ["veto", "threshold", "threshold", "threshold"]


def test_cap_with_too_few_units_for_one_a(model: Model) -> None:
    s = units(99, 98, 50)  # 30% of 3 is 0.9: no A at all
    grade_units(model, s, [], {})
    assert grades(s) == "BBC"
    assert s["U0"].grade_reason["code"] == "cap"
