"""Scores and grades of audits agree with the independent scoring oracle (tests/score_oracle.py).

Datasets come from synth with their scores and survey tables, written in each format a user
may bring, read back by the real loader and audited in-process; the oracle recomputes every
unit's score, grade and grade reason from the audit's findings and the dataset's tables,
following evaluation-model.md sections 1-3. Adjudication files dismiss and confirm findings
(a veto finding among them) and name a fingerprint that matches nothing.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import date
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sanding_rules import synth
from sanding_rules.adjudicate import load_adjudications
from sanding_rules.audit import run_audit
from sanding_rules.report.breakdown import full_breakdown
from sanding_rules.report.jsonout import audit_json
from sanding_rules.rulefile import load_rules

from .score_oracle import (
    DEDUCTIONS,
    MAXIMUM,
    MODEL,
    VETO_RULES,
    expected_grades,
    expected_scores,
    vetoed_units,
)

AS_OF = date(2026, 6, 30)
RULES = load_rules()
# (units, seed, style): the sample county (cap not binding) and others, some where it binds.
DATASETS = [
    (320, 2026, "csv"),
    (320, 2, "csv-gbk-zh"),
    (160, 9, "csv-bom"),
    (120, 7, "xlsx"),
    (120, 9, "workbook"),
]


def audit(folder: Path, adjudications: Path | None = None) -> dict:
    verdicts = load_adjudications(adjudications) if adjudications else None
    data = audit_json(run_audit(folder, RULES, AS_OF, verdicts=verdicts))
    for unit in data["units"]:  # the report lists the model's shared fields once; join them
        unit["breakdown"] = full_breakdown(data, unit)
    return data


def level3(unit: dict) -> dict[str, dict]:
    return {
        ind["id"]: ind for l1 in unit["breakdown"] for l2 in l1["items"] for ind in l2["indicators"]
    }


def disagreements(result: dict, expected: dict[str, dict]) -> list[str]:
    """Units whose score (to 2 decimals), grade or grade code differ, with the indicators."""
    out = []
    for unit in result["units"]:
        want = expected[unit["unit_id"]]
        got = (unit["score"], unit["grade"], unit["grade_reason"]["code"])
        if (
            abs(got[0] - want["score"]) < 0.005
            and got[1] == want["grade"]
            and got[2] == want["grade_code"]
        ):
            continue
        why = [
            f"{i}: engine {ind['score']} (measured {ind['measured']}), oracle "
            f"{want['indicators'][i]} (exactly {float(want['exact'][i])!r})"
            for i, ind in level3(unit).items()
            if abs(ind["score"] - want["indicators"][i]) >= 0.005
        ]
        out.append(
            f"{unit['unit_id']}: engine {got}, oracle "
            f"{(want['score'], want['grade'], want['grade_code'])}; " + "; ".join(why)
        )
    return out


def check_report(result: dict) -> None:
    """What holds of any scored audit, whatever the oracle says."""
    for unit in result["units"]:
        assert 0 <= unit["score"] <= 100, unit["unit_id"]
        indicators = level3(unit)
        assert set(indicators) == set(MAXIMUM), unit["unit_id"]
        for ind_id, ind in indicators.items():
            assert ind["max"] == MAXIMUM[ind_id]
            assert 0 <= ind["score"] <= ind["max"], (unit["unit_id"], ind_id)
        assert unit["score"] == pytest.approx(sum(i["score"] for i in indicators.values()))
        assert unit["grade"] in ("A", "B", "C")
    for f in result["findings"]:
        if f["verdict"] == "dismissed":
            assert f["deducted"] == 0, f["fingerprint"]
        if f["rule"] in ("Q01", "Q02", "L01", "L02", "L03", "L04"):
            ev = f["evidence"]
            assert f["magnitude"] == ev["actual"] - ev["approved"], f["fingerprint"]
        if f["rule"] in DEDUCTIONS:
            assert f["indicator"] == DEDUCTIONS[f["rule"]][0], f["fingerprint"]


@pytest.fixture(scope="module", params=DATASETS, ids=lambda p: f"{p[0]}-{p[1]}-{p[2]}")
def audited(request, tmp_path_factory) -> tuple[synth.SynthDataset, Path, dict]:
    n_units, seed, style = request.param
    ds = synth.generate(n_units, seed, as_of=AS_OF)
    folder = tmp_path_factory.mktemp(f"scores-{seed}-{style}")
    synth.write(ds, folder, style)
    return ds, folder, audit(folder)


def test_model_structure_is_the_spec_table(audited) -> None:
    _, _, result = audited
    unit = result["units"][0]
    got = [
        (l1["id"], l1["max"], [(l2["id"], l2["max"]) for l2 in l1["items"]])
        for l1 in unit["breakdown"]
    ]
    want = [(l1, w, list(items)) for l1, w, items in MODEL]
    assert got == want
    assert sum(w for _, w, _ in MODEL) == 100


def test_scores_and_grades_agree_with_the_oracle(audited) -> None:
    ds, _, result = audited
    check_report(result)
    expected = expected_scores(result, ds.tables(), AS_OF)
    assert set(expected) == {u["unit_id"] for u in result["units"]}
    bad = disagreements(result, expected)
    assert not bad, f"{len(bad)} units disagree:\n" + "\n".join(bad[:15])


def grades_from_engine_scores(result: dict) -> list[tuple]:
    """Units whose grade or code differs from the spec's rules applied to the engine's scores."""
    scores = {u["unit_id"]: Fraction(str(u["score"])) for u in result["units"]}
    want = expected_grades(scores, vetoed_units(result))
    return [
        (u["unit_id"], u["score"], u["grade"], u["grade_reason"]["code"], want[u["unit_id"]])
        for u in result["units"]
        if (u["grade"], u["grade_reason"]["code"]) != want[u["unit_id"]]
    ]


def test_grades_follow_from_the_scores(audited) -> None:
    """Threshold, veto and cap applied to the engine's own scores give the engine's grades."""
    _, _, result = audited
    assert grades_from_engine_scores(result) == []


def _is_tie(value: Fraction) -> bool:
    """An exact value halfway between two cents (9.915): where rounding rules differ."""
    thousandths = value * 1000
    return thousandths.denominator == 1 and thousandths.numerator % 10 == 5


def test_indicators_agree_with_the_oracle_but_for_rounding_ties(audited) -> None:
    """Every level-3 score is the oracle's, or the exact value is a tie a cent away from it.

    The strict test above also needs exact ties (74.3 x 15 / 100 = 11.145) rounded half up,
    as 四舍五入 and a hand-made score sheet would; this one shows that nothing else differs.
    """
    ds, _, result = audited
    expected = expected_scores(result, ds.tables(), AS_OF)
    bad = []
    for unit in result["units"]:
        want = expected[unit["unit_id"]]
        for ind_id, ind in level3(unit).items():
            gap = abs(ind["score"] - want["indicators"][ind_id])
            tie = _is_tie(want["exact"][ind_id]) and gap < 0.0101
            if gap >= 0.005 and not tie:
                bad.append((unit["unit_id"], ind_id, ind["score"], want["indicators"][ind_id]))
    assert not bad, bad[:15]


def test_score_inputs_spread_over_grades(audited) -> None:
    """The given scores and surveys are not all full marks: grades spread, and vary by dataset."""
    ds, _, result = audited
    expected = expected_scores(result, ds.tables(), AS_OF)
    grades = Counter(v["grade"] for v in expected.values())
    assert set(grades) == {"A", "B", "C"}
    assert grades["A"] <= 0.3 * len(expected)
    assert ds.scores["indicator"].isin(MAXIMUM).all()
    assert set(ds.survey["score"]) == {1, 2, 3, 4, 5}


def test_the_cap_binds_in_some_datasets_and_not_in_others(tmp_path: Path) -> None:
    """Oracle only: a property of the synthetic data (fast, no audit)."""
    from . import oracle

    binding = []
    for n_units, seed, _ in DATASETS:
        ds = synth.generate(n_units, seed, as_of=AS_OF)
        found = oracle.expected_findings(ds.tables(), AS_OF)
        pseudo = {
            "units": [{"unit_id": u} for u in ds.units["unit_id"]],
            "findings": [dict(f, verdict=None) for f in found],
        }
        codes = Counter(
            v["grade_code"] for v in expected_scores(pseudo, ds.tables(), AS_OF).values()
        )
        assert codes["veto"] > 0
        binding.append(codes["cap"] > 0)
    assert any(binding) and not all(binding), binding


# ---------------------------------------------------------------- adjudication


def _dismiss(result: dict, fingerprints: set[str]) -> dict:
    out = copy.deepcopy(result)
    for f in out["findings"]:
        if f["fingerprint"] in fingerprints:
            f["verdict"] = "dismissed"
    return out


@pytest.mark.parametrize(("n_units", "seed"), [(320, 2026), (320, 2)])
def test_adjudication_dismisses_deductions_and_lifts_the_veto(
    tmp_path: Path, n_units: int, seed: int
) -> None:
    ds = synth.generate(n_units, seed, as_of=AS_OF)
    folder = tmp_path / "data"
    synth.write(ds, folder, "csv")
    tables = ds.tables()
    before = audit(folder)
    findings = before["findings"]
    by_unit: dict[str, list[dict]] = {}
    for f in findings:
        by_unit.setdefault(f["unit_id"], []).append(f)
    vetoed = sorted(u for u, fs in by_unit.items() if any(f["rule"] in VETO_RULES for f in fs))
    # Other dismissals: the first Q01 and B02 findings of units without a veto finding.
    others = {
        next(f for f in findings if f["rule"] == rule and f["unit_id"] not in vetoed)["fingerprint"]
        for rule in ("Q01", "B02")
    }
    confirmed = next(f for f in findings if f["rule"] == "P05")
    # A unit whose veto findings, once dismissed, leave it an A (the oracle says so).
    chosen = None
    for unit in vetoed:
        mine = {f["fingerprint"] for f in by_unit[unit] if f["rule"] in VETO_RULES}
        hypothetical = expected_scores(_dismiss(before, others | mine), tables, AS_OF)
        if hypothetical[unit]["grade"] == "A":
            chosen, lifted = unit, mine
            break
    assert chosen is not None, "no vetoed unit scores high enough in this dataset"
    assert expected_scores(before, tables, AS_OF)[chosen]["grade_code"] == "veto"

    dismissed = others | lifted
    records = [
        {
            "fingerprint": fp,
            "verdict": "dismissed",
            "reason": "经核查，系数据报送错误，已更正",
            "reviewer": "王审核",
            "date": "2026-07-10",
        }
        for fp in sorted(dismissed)
    ]
    records.append(
        {
            "fingerprint": confirmed["fingerprint"],
            "verdict": "confirmed",
            "reason": "属实",
            "reviewer": "王审核",
            "date": "2026-07-10",
        }
    )
    records.append(
        {
            "fingerprint": "0123456789abcdef",
            "verdict": "dismissed",
            "reason": "上次审计的问题",
            "reviewer": "王审核",
            "date": "2026-07-10",
        }
    )
    path = tmp_path / "adjudications.yaml"
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")

    after = audit(folder, path)
    check_report(after)
    verdicts = {f["fingerprint"]: f for f in after["findings"]}
    assert {fp for fp, f in verdicts.items() if f["verdict"] == "dismissed"} == dismissed
    assert all(verdicts[fp]["deducted"] == 0 for fp in dismissed)
    assert verdicts[confirmed["fingerprint"]]["verdict"] == "confirmed"
    assert verdicts[confirmed["fingerprint"]]["deducted"] == 0.5
    assert [v["fingerprint"] for v in after["adjudications_unmatched"]] == ["0123456789abcdef"]
    assert len(after["findings"]) == len(findings)  # dismissed findings stay in the report

    assert grades_from_engine_scores(after) == []
    unit = next(u for u in after["units"] if u["unit_id"] == chosen)
    assert (unit["grade"], unit["grade_reason"]["code"]) == ("A", "threshold")
    old = next(u for u in before["units"] if u["unit_id"] == chosen)
    assert unit["score"] == pytest.approx(old["score"] + len(lifted), abs=0.005)
    expected = expected_scores(after, tables, AS_OF)
    bad = disagreements(after, expected)
    assert not bad, f"{len(bad)} units disagree:\n" + "\n".join(bad[:15])


# ---------------------------------------------------------------- the oracle by hand


def _tables(**frames: list[dict]) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(rows) for name, rows in frames.items()}


def test_oracle_by_hand_measures() -> None:
    """Vacancy, workload, satisfaction, given scores and rounding, computed by hand."""
    units = ["H1", "H2", "H3", "H4"]
    roster = [
        {"person_id": f"{u}-{i}", "unit_id": u, "category": cat, "status": status}
        for u, people in {
            "H1": [("admin", "on_post")] * 16 + [("none", "on_post")] * 4,
            "H2": [("institution", "on_post")] * 10 + [("institution", "retired")] * 5,
            "H3": [("institution", "long_leave")] * 10,
            "H4": [("admin", "on_post")] * 5,
        }.items()
        for i, (cat, status) in enumerate(people)
    ]
    tables = _tables(
        units=[{"unit_id": u, "name": u, "kind": "party_gov"} for u in units],
        roster=roster,
        quotas=[
            {"unit_id": "H1", "category": "admin", "approved": 20, "effective_from": None},
            {"unit_id": "H1", "category": "none", "approved": 10, "effective_from": None},
            {"unit_id": "H2", "category": "institution", "approved": 10},
            {
                "unit_id": "H2",
                "category": "institution",
                "approved": 16,
                "effective_from": "2026-01-01",
            },
            {
                "unit_id": "H2",
                "category": "institution",
                "approved": 99,
                "effective_from": "2027-01-01",
            },
        ],
        workload=[  # per head on W: H1 100 (2000 / 20), H2 50, H3 150; H4 reports alone
            {"unit_id": "H1", "duty_code": "W", "value": 2000},
            {"unit_id": "H2", "duty_code": "W", "value": 200},
            {"unit_id": "H2", "duty_code": "W", "value": 300},
            {"unit_id": "H3", "duty_code": "W", "value": 1500},
            {"unit_id": "H4", "duty_code": "X", "value": 1},
        ],
        survey=[
            {"respondent_id": "r1", "unit_id": "H1", "item_id": "S1", "score": 5, "reverse": False},
            {"respondent_id": "r1", "unit_id": "H1", "item_id": "S2", "score": 4, "reverse": False},
            {"respondent_id": "r1", "unit_id": "H1", "item_id": "S3", "score": 2, "reverse": True},
            {"respondent_id": "r2", "unit_id": "H2", "item_id": "S1", "score": 1, "reverse": False},
        ],
        scores=[
            {"unit_id": "H1", "indicator": "performance", "value": 66.1},
            {"unit_id": "H1", "indicator": "targets", "value": 6},
            {"unit_id": "H2", "indicator": "party_management", "value": 3.5},
            {"unit_id": "H2", "indicator": "performance", "value": 100},
            {"unit_id": "H3", "indicator": "annual_report", "value": 0},
        ],
    )
    audit_like = {"units": [{"unit_id": u} for u in units], "findings": []}
    got = expected_scores(audit_like, tables, AS_OF)
    h1, h2, h3, h4 = (got[u]["indicators"] for u in units)
    # H1: 16 staffed of 20 (编外 and the none quota left out): 20 % vacant, 15 points above 5.
    assert h1["vacancy"] == 3.0
    # H2: quota 16 in force, 10 counted (retired not): 37.5 % -> 6 - 6.5, floored at 0.
    assert h2["vacancy"] == 0.0
    assert h3["vacancy"] == h4["vacancy"] == 6.0  # no quota: full
    # W: median per head 100; H1 1.0 -> 8, H2 0.5 -> 8 x 0.1 / 0.4 = 2, H3 1.5 -> 5.
    assert (h1["workload"], h2["workload"], h3["workload"], h4["workload"]) == (8, 2, 5, 8)
    # H1 answers 5, 4, 6 - 2 = 4: mean 13/3 -> 7 x (10/3) / 4 = 5.8333; H2 answer 1 -> 0.
    assert (h1["satisfaction"], h2["satisfaction"], h3["satisfaction"]) == (5.83, 0.0, 7.0)
    # 66.1 x 15 / 100 = 9.915 exactly: rounded half up to 9.92; targets capped at 5.
    assert (h1["performance"], h1["targets"]) == (9.92, 5.0)
    assert (h2["party_management"], h2["performance"], h3["annual_report"]) == (3.5, 15.0, 0.0)
    assert got["H1"]["score"] == pytest.approx(100 - 3 - 5.08 - 1.17)


def _graded(perf: dict[str, float], veto: str | None) -> dict[str, tuple[str, str]]:
    """Ten units scored 85 + 0.15 x performance (else full marks), G6 with a P02 finding."""
    units = [f"G{i}" for i in range(1, 11)]
    tables = _tables(
        units=[{"unit_id": u, "name": u, "kind": "party_gov"} for u in units],
        scores=[{"unit_id": u, "indicator": "performance", "value": perf.get(u, 0)} for u in units],
    )
    finding = {"rule": "P02", "unit_id": "G6", "evidence": {}, "verdict": veto}
    got = expected_scores(
        {"units": [{"unit_id": u} for u in units], "findings": [finding]}, tables, AS_OF
    )
    assert {got[u]["score"] for u in units[6:]} == {85}
    return {u: (got[u]["score"], got[u]["grade"], got[u]["grade_code"]) for u in units}


def test_oracle_by_hand_grades() -> None:
    """Veto, then the 30 % cap (3 of 10 units) with its tie rule."""
    perf = {"G1": 100, "G2": 80, "G3": 60, "G4": 60, "G5": 40, "G6": 100}
    got = _graded(perf, None)
    # G6 scores 99 (P02 takes 1) but is vetoed; five are A; the third place is a tie of G3
    # and G4 at 94 that does not fit: both become B, as does G5 below them.
    assert {u: got[u] for u in ("G1", "G2", "G3", "G4", "G5", "G6", "G7")} == {
        "G1": (100, "A", "threshold"),
        "G2": (97, "A", "threshold"),
        "G3": (94, "B", "cap"),
        "G4": (94, "B", "cap"),
        "G5": (91, "B", "cap"),
        "G6": (99, "B", "veto"),
        "G7": (85, "B", "threshold"),
    }
    # The veto finding dismissed: G6 scores 100 and is A; the cut-off is G2's 97.
    got = _graded(perf, "dismissed")
    assert sorted(u for u, g in got.items() if g[1] == "A") == ["G1", "G2", "G6"]
    assert got["G6"] == (100, "A", "threshold")
    # Confirmed counts like unadjudicated.
    assert _graded(perf, "confirmed")["G6"] == (99, "B", "veto")
    # Three tied at the cut-off and all fit: A; four tied and they do not: nobody is A.
    assert sorted(
        u for u, g in _graded(perf | {"G2": 100}, "dismissed").items() if g[1] == "A"
    ) == [
        "G1",
        "G2",
        "G6",
    ]
    four = _graded(perf | {"G2": 100, "G3": 100}, "dismissed")
    assert {g[1:] for u, g in four.items() if g[0] >= 90} == {("B", "cap")}


def test_engine_on_a_hand_made_dataset(tmp_path: Path) -> None:
    """Workload over several duties and small peer groups, a survey, and a tie at the cap.

    Nine units of 10 people, all at quota. A: 0.5 x the median on W1 and 1.5 x on W2 (mean
    ratio 1.0: full marks; scoring each duty first would give 3.5). E: 0.6 x on W3, which
    only E, F and G report (3 peers with E: counts). X and Y share W5 (2 peers: no data).
    Survey of B: 5, 4 and reverse 2 -> mean 13/3 -> 5.83. Performance of C: 80 -> 12.
    Then eight units are at 100 and at most 2 of 9 may be A: the tie does not fit, no A.
    """
    units = ["A", "B", "C", "D", "E", "F", "G", "X", "Y"]
    per_head = {
        ("A", "W1"): 50,
        ("A", "W2"): 150,
        **{(u, w): 100 for u in "BCD" for w in ("W1", "W2")},
        ("E", "W3"): 60,
        ("F", "W3"): 100,
        ("G", "W3"): 100,
        ("X", "W5"): 10,
        ("Y", "W5"): 100,
    }
    frames = {
        "units": pd.DataFrame({"unit_id": units, "name": [f"{u}局" for u in units]}).assign(
            kind="party_gov"
        ),
        "quotas": pd.DataFrame({"unit_id": units, "category": "admin", "approved": 10}),
        "roster": pd.DataFrame(
            [
                {"person_id": f"{u}{i}", "unit_id": u, "category": "admin", "status": "on_post"}
                for u in units
                for i in range(10)
            ]
        ),
        "workload": pd.DataFrame(
            [{"unit_id": u, "duty_code": w, "value": 10 * v} for (u, w), v in per_head.items()]
        ),
        "survey": pd.DataFrame(
            {
                "respondent_id": ["r1", "r1", "r1"],
                "unit_id": ["B", "B", "B"],
                "item_id": ["S1", "S2", "S3"],
                "score": [5, 4, 2],
                "reverse": [False, False, True],
            }
        ),
        "scores": pd.DataFrame({"unit_id": ["C"], "indicator": ["performance"], "value": [80]}),
    }
    for name, frame in frames.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    result = audit(tmp_path)
    check_report(result)
    expected = expected_scores(result, frames, AS_OF)
    assert disagreements(result, expected) == []
    got = {u["unit_id"]: level3(u) for u in result["units"]}
    assert (got["A"]["workload"]["score"], got["E"]["workload"]["score"]) == (8, 4)
    assert got["X"]["workload"]["score"] == 8
    assert got["B"]["satisfaction"]["score"] == 5.83
    assert got["C"]["performance"]["score"] == 12
    assert {(u["grade"], u["grade_reason"]["code"]) for u in result["units"]} == {("B", "cap")}
