"""Reference oracle for the evaluation model's scores and grades (evaluation-model.md v1, 1-3).

Written from the spec's default model table and grade rules in plain Python, independent of
the engine's scoring, grading, measures, survey and model code, so that it can check them.
It reads an audit's JSON (its units and findings: rule, unit_id, evidence, magnitude, verdict)
and the dataset's canonical tables (English columns and codes, as `synth` makes them), and
recomputes every unit's score, grade and grade reason.

`expected_scores(audit_json, tables, as_of)` returns, per unit_id,
{"score": float, "grade": "A"|"B"|"C", "grade_code": "threshold"|"veto"|"cap",
 "indicators": {level-3 id: float}, "exact": {level-3 id: Fraction before rounding}}.

Arithmetic is exact (fractions); each level-3 score is clamped to [0, its maximum] and then
rounded half up to 2 decimals (四舍五入), and the unit's score is the sum of those. Reading
of the spec where it leaves room:

- Findings with verdict "dismissed" deduct nothing; confirmed and unadjudicated ones do.
- Deductions per finding, by the table of section 1: B01/B02 2 (compliant_setup); B03 0.5
  (internal_structure); D01 1, D05 2 (clear_duties); Q01/Q02 0.5 per person over (evidence
  actual - approved, the finding's magnitude), Q04 0.5, P02 1, F01 1 (quota_execution);
  L01-L04 1 per post over (actual - approved), L05 1 (leadership_posts); Q03 2 (vacancy);
  P01, P03-P06, F02 0.5, Q05 2 (roster_quality). D02-D04 deduct nothing.
- Given scores (scores table, unit_id x indicator): party_management (5), annual_report (3),
  reform_tasks (2) and targets (5) are taken as given, capped at the maximum; performance is
  the annual assessment on 0-100, times 15/100. A unit without a row gets full marks.
- Vacancy: quota total = the unit's quotas in force on as_of (latest effective_from on or
  before it; category none ignored); staffed = counted people (status on_post, seconded_out,
  long_leave; empty = on_post) whose category is present and not none; rate =
  (total - staffed) / total. Rate <= 5 %: 6; else 6 - 0.2 x (percentage points above 5);
  then 2 off per Q03 finding. No quota (total 0): full marks, less Q03 deductions.
- Workload: per (unit, duty_code), workload = the sum of the unit's workload values for the
  code, per head = workload / counted people of the unit (any category, 编外 included);
  peers = units with workload rows for the code and at least one counted person; median
  (statistics.median) over the peers, the unit included; only codes with 3 or more peers
  and a median above 0 count. The unit's ratio is the mean over those codes of per head /
  median; [0.8, 1.2] gives 8, below it 8 x (r - 0.4) / 0.4, above it 8 x (2.0 - r) / 0.8,
  at least 0. A unit with no such code (or no counted people) gets full marks.
- Satisfaction: every survey answer of the unit, reverse items scored 6 - x; the unit's mean
  over its answers m gives 7 x (m - 1) / 4. No answers: full marks.
- Grades: A >= 90, B >= 75, C below. Veto: a unit graded A with a non-dismissed P02 or F01
  finding becomes B (code veto). Cap: N = all units of the audit; at most floor(0.3 x N)
  may be A; when more are A (after the veto), let s be the score of the last that fits
  (ranking by score): units above s keep A; units at s keep A only if all units at s fit,
  otherwise they become B like all units below s (code cap). Every other grade: threshold.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

try:
    from .oracle import COUNTED, in_force, rows, text, to_bool
except ImportError:  # imported as a top-level module (fixtures/make_county.py)
    from oracle import COUNTED, in_force, rows, text, to_bool  # type: ignore[no-redef]

# The default model: level 1 (id, weight) -> level 2 = level 3 (id, maximum).
MODEL: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...] = (
    ("party_leadership", 10, (("party_management", 5), ("annual_report", 3), ("reform_tasks", 2))),
    (
        "institution_setup",
        20,
        (("compliant_setup", 8), ("internal_structure", 6), ("clear_duties", 6)),
    ),
    (
        "staffing_use",
        35,
        (("quota_execution", 12), ("leadership_posts", 8), ("vacancy", 6), ("roster_quality", 9)),
    ),
    ("duty_performance", 30, (("performance", 15), ("workload", 8), ("satisfaction", 7))),
    ("unit_specific", 5, (("targets", 5),)),
)
MAXIMUM: dict[str, int] = {ind: top for _, _, items in MODEL for ind, top in items}
# rule -> (level-3 indicator, points per finding, or per person/post over when True)
DEDUCTIONS: dict[str, tuple[str, Fraction, bool]] = {
    "B01": ("compliant_setup", Fraction(2), False),
    "B02": ("compliant_setup", Fraction(2), False),
    "B03": ("internal_structure", Fraction(1, 2), False),
    "D01": ("clear_duties", Fraction(1), False),
    "D05": ("clear_duties", Fraction(2), False),
    "Q01": ("quota_execution", Fraction(1, 2), True),
    "Q02": ("quota_execution", Fraction(1, 2), True),
    "Q04": ("quota_execution", Fraction(1, 2), False),
    "P02": ("quota_execution", Fraction(1), False),
    "F01": ("quota_execution", Fraction(1), False),
    "L01": ("leadership_posts", Fraction(1), True),
    "L02": ("leadership_posts", Fraction(1), True),
    "L03": ("leadership_posts", Fraction(1), True),
    "L04": ("leadership_posts", Fraction(1), True),
    "L05": ("leadership_posts", Fraction(1), False),
    "Q03": ("vacancy", Fraction(2), False),
    "P01": ("roster_quality", Fraction(1, 2), False),
    "P03": ("roster_quality", Fraction(1, 2), False),
    "P04": ("roster_quality", Fraction(1, 2), False),
    "P05": ("roster_quality", Fraction(1, 2), False),
    "P06": ("roster_quality", Fraction(1, 2), False),
    "F02": ("roster_quality", Fraction(1, 2), False),
    "Q05": ("roster_quality", Fraction(2), False),
}
DEDUCTED = sorted({ind for ind, _, _ in DEDUCTIONS.values()} - {"vacancy"})
GIVEN = ("party_management", "annual_report", "reform_tasks", "targets")
VETO_RULES = ("P02", "F01")
GRADE_A, GRADE_B = 90, 75
A_SHARE = Fraction(3, 10)
VACANCY_FREE = 5  # percent
VACANCY_STEP = Fraction(1, 5)  # points per percentage point above
WORKLOAD_FULL = (Fraction(4, 5), Fraction(6, 5))
WORKLOAD_ZERO = (Fraction(2, 5), Fraction(2))
MIN_PEERS = 3


def exact(value: Any) -> Fraction | None:
    """A number as an exact fraction of its decimal text (87.3 is 873/10), None if empty."""
    s = text(value)
    if s is None:
        return None
    number = Decimal(s)
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return Fraction(number)


def round2(value: Fraction) -> Fraction:
    """Half up to 2 decimals, exactly."""
    return Fraction(math.floor(value * 100 + Fraction(1, 2)), 100)


def clamp(value: Fraction, top: int) -> Fraction:
    return min(Fraction(top), max(Fraction(0), value))


def magnitude(finding: dict) -> Fraction:
    """People or posts over: evidence actual - approved (the finding's magnitude otherwise)."""
    ev = finding.get("evidence") or {}
    if ev.get("actual") is not None and ev.get("approved") is not None:
        return Fraction(int(ev["actual"]) - int(ev["approved"]))
    return exact(finding.get("magnitude")) or Fraction(1)


def workload_score(ratio: Fraction) -> Fraction:
    low, high = WORKLOAD_FULL
    zero_low, zero_high = WORKLOAD_ZERO
    top = MAXIMUM["workload"]
    if ratio < low:
        return top * (ratio - zero_low) / (low - zero_low)
    if ratio > high:
        return top * (zero_high - ratio) / (zero_high - high)
    return Fraction(top)


def _measures(tables: dict[str, pd.DataFrame], as_of: date) -> tuple[dict, dict, dict, dict, dict]:
    """Given scores, quota totals, staffed people, workload ratios and survey answers."""
    given: dict[tuple[str, str], Fraction] = {}
    for r in rows(tables, "scores"):
        unit, indicator, value = (
            text(r.get("unit_id")),
            text(r.get("indicator")),
            exact(r.get("value")),
        )
        if unit is None or indicator is None or value is None:
            continue
        if (unit, indicator) in given:
            raise ValueError(f"two scores for {unit} {indicator}")
        given[(unit, indicator)] = value

    quota_total: dict[str, int] = defaultdict(int)
    for (unit, category), approved in in_force(rows(tables, "quotas"), "category", as_of).items():
        if category != "none":
            quota_total[unit] += approved
    staffed: dict[str, int] = defaultdict(int)
    headcount: dict[str, int] = defaultdict(int)
    for r in rows(tables, "roster"):
        if (text(r.get("status")) or "on_post") not in COUNTED:
            continue
        unit = text(r.get("unit_id"))
        headcount[unit] += 1
        if text(r.get("category")) not in (None, "none"):
            staffed[unit] += 1

    sums: dict[tuple[str, str], Fraction] = defaultdict(Fraction)
    for w in rows(tables, "workload"):
        unit, code, value = text(w.get("unit_id")), text(w.get("duty_code")), exact(w.get("value"))
        if unit is None or code is None or value is None:
            continue
        sums[(unit, code)] += value
    peers: dict[str, dict[str, Fraction]] = defaultdict(dict)
    for (unit, code), total in sums.items():
        if headcount.get(unit, 0) >= 1:
            peers[code][unit] = total / headcount[unit]
    ratios: dict[str, list[Fraction]] = defaultdict(list)
    for _code, group in sorted(peers.items()):
        if len(group) < MIN_PEERS:
            continue
        median = Fraction(statistics.median(group.values()))
        if median <= 0:
            continue
        for unit, per_head in group.items():
            ratios[unit].append(per_head / median)

    answers: dict[str, list[Fraction]] = defaultdict(list)
    for a in rows(tables, "survey"):
        unit, score = text(a.get("unit_id")), exact(a.get("score"))
        if unit is None or score is None:
            continue
        reverse = a.get("reverse")
        is_reverse = text(reverse) is not None and to_bool(reverse)
        answers[unit].append(6 - score if is_reverse else score)
    return given, quota_total, staffed, ratios, answers


def expected_scores(
    audit_json: dict, tables: dict[str, pd.DataFrame], as_of: date
) -> dict[str, dict[str, Any]]:
    """Each unit's score, grade and grade code, from the spec alone."""
    given, quota_total, staffed, ratios, answers = _measures(tables, as_of)
    units = [u["unit_id"] for u in audit_json["units"]]
    deducted: dict[str, dict[str, Fraction]] = {u: defaultdict(Fraction) for u in units}
    q03: dict[str, int] = defaultdict(int)
    for f in audit_json["findings"]:
        unit, rule = f["unit_id"], f["rule"]
        if f.get("verdict") == "dismissed" or unit not in deducted:
            continue
        if rule == "Q03":
            q03[unit] += 1
            continue
        if rule in DEDUCTIONS:
            indicator, points, per_person = DEDUCTIONS[rule]
            deducted[unit][indicator] += points * (magnitude(f) if per_person else 1)

    scores: dict[str, Fraction] = {}
    out: dict[str, dict[str, Any]] = {}
    for unit in units:
        raw: dict[str, Fraction] = {}
        for indicator in GIVEN:
            value = given.get((unit, indicator))
            raw[indicator] = Fraction(MAXIMUM[indicator]) if value is None else value
        perf = given.get((unit, "performance"))
        raw["performance"] = (
            Fraction(MAXIMUM["performance"])
            if perf is None
            else perf * MAXIMUM["performance"] / 100
        )
        for name in DEDUCTED:
            raw[name] = MAXIMUM[name] - deducted[unit][name]
        total = quota_total.get(unit, 0)
        vacancy = Fraction(MAXIMUM["vacancy"])
        if total > 0:
            rate_pct = Fraction(100 * (total - staffed.get(unit, 0)), total)
            vacancy -= VACANCY_STEP * max(Fraction(0), rate_pct - VACANCY_FREE)
        raw["vacancy"] = vacancy - 2 * q03[unit]
        mine = ratios.get(unit)
        raw["workload"] = (
            workload_score(sum(mine, Fraction(0)) / len(mine))
            if mine
            else Fraction(MAXIMUM["workload"])
        )
        said = answers.get(unit)
        raw["satisfaction"] = (
            MAXIMUM["satisfaction"] * (sum(said, Fraction(0)) / len(said) - 1) / 4
            if said
            else Fraction(MAXIMUM["satisfaction"])
        )
        clamped = {ind: clamp(raw[ind], MAXIMUM[ind]) for ind in MAXIMUM}
        level3 = {ind: round2(value) for ind, value in clamped.items()}
        scores[unit] = sum(level3.values(), Fraction(0))
        out[unit] = {
            "score": float(scores[unit]),
            "grade": None,
            "grade_code": "threshold",
            "indicators": {k: float(v) for k, v in level3.items()},
            "exact": clamped,
        }

    for unit, (grade, code) in expected_grades(scores, vetoed_units(audit_json)).items():
        out[unit]["grade"], out[unit]["grade_code"] = grade, code
    return out


def vetoed_units(audit_json: dict) -> set[str]:
    """Units with a confirmed or unadjudicated finding of a veto rule."""
    return {
        f["unit_id"]
        for f in audit_json["findings"]
        if f["rule"] in VETO_RULES and f.get("verdict") != "dismissed"
    }


def expected_grades(scores: dict[str, Fraction], vetoed: set[str]) -> dict[str, tuple[str, str]]:
    """(grade, code) per unit from the units' scores (all units of the audit) and the vetoed."""
    out: dict[str, tuple[str, str]] = {}
    for unit, s in scores.items():
        grade = "A" if s >= GRADE_A else "B" if s >= GRADE_B else "C"
        out[unit] = ("B", "veto") if grade == "A" and unit in vetoed else (grade, "threshold")
    graded_a = sorted((u for u, g in out.items() if g[0] == "A"), key=lambda u: -scores[u])
    fit = math.floor(A_SHARE * len(scores))
    if len(graded_a) > fit:
        keep: set[str] = set()
        if fit > 0:
            cut = scores[graded_a[fit - 1]]
            at_or_above = [u for u in graded_a if scores[u] >= cut]
            if len(at_or_above) <= fit:
                keep = set(at_or_above)
            else:
                keep = {u for u in graded_a if scores[u] > cut}
        for unit in graded_a:
            if unit not in keep:
                out[unit] = ("B", "cap")
    return out
