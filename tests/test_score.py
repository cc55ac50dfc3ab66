"""Scoring: each method, clamping, and a hand-calculated unit against its breakdown."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sanding_rules.adjudicate import Verdict
from sanding_rules.errors import InputError
from sanding_rules.facts import Facts, build_facts
from sanding_rules.findings import Finding
from sanding_rules.load import load_dataset
from sanding_rules.load.tables import Dataset, Table
from sanding_rules.model import Model, load_model
from sanding_rules.rulefile import load_rules
from sanding_rules.score import _peer_fraction, score_units, units_json

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(None, load_rules())


def finding(rule: str, unit: str, subject: str, magnitude: float = 1.0) -> Finding:
    """A finding as the evaluator makes it (only what scoring reads matters)."""
    return Finding(rule, "error", unit, subject, "rectify", {}, {}, {}, {}, magnitude=magnitude)


def verdict(f: Finding, word: str = "dismissed", period: date | None = None) -> Verdict:
    return Verdict(f.fingerprint, word, "checked", "张三", date(2026, 7, 1), period, "a.yaml", 2)


def facts(units: dict[str, tuple[float, float]], workload: pd.DataFrame | None = None) -> Facts:
    """Unit facts: unit_id -> (quota_total, counted_categorised); optional duty_workload."""
    unit = pd.DataFrame(
        {
            "unit_id": list(units),
            "quota_total": [q for q, _ in units.values()],
            "counted_categorised": [c for _, c in units.values()],
        }
    )
    tables = {"unit": unit}
    if workload is not None:
        tables["duty_workload"] = workload
    return Facts(AS_OF, tables)


def table(name: str, rows: list[dict]) -> Table:
    frame = pd.DataFrame(rows)
    frame["_file"] = f"{name}.csv"
    frame["_row"] = np.arange(2, len(frame) + 2)
    return Table(name, frame, f"{name}.csv")


def dataset(scores: list[dict] | None = None, survey: list[dict] | None = None) -> Dataset:
    tables = {}
    if scores is not None:
        for r in scores:
            r.setdefault("note", None)
        tables["scores"] = table("scores", scores)
    if survey is not None:
        for r in survey:
            r.setdefault("reverse", False)
        frame = table("survey", survey)
        frame.frame["reverse"] = frame.frame["reverse"].astype("boolean")
        tables["survey"] = frame
    return Dataset(Path("."), tables)


def workload(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """duty_workload rows (unit_id, ratio, peer_median)."""
    return pd.DataFrame(
        {
            "unit_id": [u for u, _, _ in rows],
            "duty_code": [f"D{i}" for i in range(len(rows))],
            "workload": 1.0,
            "counted": 1.0,
            "ratio": [r for _, r, _ in rows],
            "peer_median": [m for _, _, m in rows],
            "peers": 5.0,
        }
    )


# --- the hand-calculated unit ------------------------------------------------------------------

# U1, by hand (default model):
#   party_management given 4 -> 4; annual_report absent -> 3 (note); reform_tasks given 2.5 -> 2
#   compliant_setup: B01 x2, -2 each -> 4; internal_structure: B03 dismissed -> 6; clear_duties 6
#   quota_execution: Q01 magnitude 2 (-0.5 x 2) and P02 (-1) -> 10
#   leadership_posts: L01 magnitude 3 (-1 x 3) -> 5
#   vacancy: quota 20, counted 17 -> 15%, 10 points above 5% x 0.2 = -2 -> 4; Q03 -2 -> 2
#   roster_quality: P01 x3 (-0.5 each) and Q05 (-2) -> 5.5
#   performance: 80/100 x 15 = 12; workload: mean(0.5/1, 1.4/2) = 0.6 -> (0.6-0.4)/0.4 x 8 = 4
#   satisfaction: 5, 4, reverse 2 -> 4, 3: mean 4 -> (4-1)/4 x 7 = 5.25; targets 7 -> 5
#   level 1: 9 + 16 + 22.5 + 21.25 + 5 = 73.75
HAND = {
    "party_management": 4,
    "annual_report": 3,
    "reform_tasks": 2,
    "compliant_setup": 4,
    "internal_structure": 6,
    "clear_duties": 6,
    "quota_execution": 10,
    "leadership_posts": 5,
    "vacancy": 2,
    "roster_quality": 5.5,
    "performance": 12,
    "workload": 4,
    "satisfaction": 5.25,
    "targets": 5,
}


def hand_case(model: Model):
    fs = [
        finding("B01", "U1", "bodies"),
        finding("B01", "U1", "bodies2"),
        finding("B03", "U1", "body7"),
        finding("Q01", "U1", "admin", 2),
        finding("P02", "U1", "p9"),
        finding("L01", "U1", "principal", 3),
        finding("Q03", "U1", "institution"),
        finding("P01", "U1", "p1"),
        finding("P01", "U1", "p2"),
        finding("P01", "U1", "p3"),
        finding("Q05", "U1", "none"),
        finding("XX01", "U1", "ignored"),  # a rule the model does not deduct for
    ]
    verdicts = {fs[2].fingerprint: verdict(fs[2]), fs[0].fingerprint: verdict(fs[0], "confirmed")}
    ds = dataset(
        scores=[
            {"unit_id": "U1", "indicator": "party_management", "value": 4.0},
            {"unit_id": "U1", "indicator": "reform_tasks", "value": 2.5},
            {"unit_id": "U1", "indicator": "performance", "value": 80.0},
            {"unit_id": "U1", "indicator": "targets", "value": 7.0},
        ],
        survey=[
            {"respondent_id": "R1", "unit_id": "U1", "item_id": "q1", "score": 5.0},
            {"respondent_id": "R1", "unit_id": "U1", "item_id": "q2", "score": 4.0},
            {
                "respondent_id": "R1",
                "unit_id": "U1",
                "item_id": "q3",
                "score": 2.0,
                "reverse": True,
            },
            {"respondent_id": "R2", "unit_id": "U1", "item_id": "q1", "score": 3.0},
        ],
    )
    fx = facts(
        {"U1": (20, 17), "U2": (0, 3)},
        workload([("U1", 0.5, 1.0), ("U1", 1.4, 2.0), ("U1", 9.0, 0.0)]),
    )
    return score_units(model, fx, fs, verdicts, ds), fs


def test_hand_calculated_unit(model: Model) -> None:
    scores, fs = hand_case(model)
    u1 = scores["U1"]
    got = {r.id: r.value for r in u1.indicators()}
    assert got == pytest.approx(HAND)
    assert u1.score == 73.75
    assert u1.dimension_score("staffing_use") == 22.5
    assert u1.item_score("vacancy") == 2
    # The score is the sum of the breakdown at every level.
    js = u1.to_json("zh")
    assert js["score"] == 73.75
    assert round(sum(d["score"] for d in js["breakdown"]), 2) == js["score"]
    for d in js["breakdown"]:
        assert round(sum(i["score"] for i in d["items"]), 2) == d["score"]
        for item in d["items"]:
            assert round(sum(x["score"] for x in item["indicators"]), 2) == item["score"]
    # Measured values, deductions and notes.
    vac = u1.indicator("vacancy")
    assert vac.measured == pytest.approx(15.0)
    assert [(d["rule"], d["amount"]) for d in vac.deductions] == [("Q03", 2.0)]
    internal = u1.indicator("internal_structure")
    assert internal.deductions == [
        {"fingerprint": fs[2].fingerprint, "rule": "B03", "amount": 0.0, "verdict": "dismissed"}
    ]
    setup = u1.indicator("compliant_setup")
    assert [d["verdict"] for d in setup.deductions] == ["confirmed", None]
    assert u1.indicator("annual_report").note == {
        "zh": "无评分数据，按满分计",
        "en": "no data: full marks",
    }
    assert "capped" in u1.indicator("reform_tasks").note["en"]
    assert u1.indicator("targets").note is None  # given_capped caps silently
    assert u1.indicator("workload").measured == pytest.approx(0.6)
    assert u1.indicator("satisfaction").measured == pytest.approx(4.0)
    assert u1.indicator("performance").measured == 80.0


def test_unit_without_data_scores_full_with_notes(model: Model) -> None:
    scores, _ = hand_case(model)
    u2 = scores["U2"]
    assert u2.score == 100
    assert u2.indicator("vacancy").note["en"].startswith("no approved posts")
    assert u2.indicator("vacancy").measured is None
    assert u2.indicator("workload").note["en"] == "no workload data: full marks"
    assert u2.indicator("satisfaction").note["en"] == "no survey: full marks"
    # peer_average: the mean over all units.
    assert u2.indicator("vacancy").peer_average == 4.0  # (2 + 6) / 2
    assert scores["U1"].indicator("workload").peer_average == 6.0


def test_json_shape(model: Model) -> None:
    scores, _ = hand_case(model)
    js = units_json(scores, "en")["U1"]
    assert set(js) == {"score", "grade", "grade_reason", "breakdown"}
    dim = js["breakdown"][0]
    assert set(dim) == {"id", "title", "max", "score", "items"}
    ind = dim["items"][0]["indicators"][0]
    assert set(ind) == {
        "id",
        "title",
        "max",
        "score",
        "method",
        "description",
        "measured",
        "peer_average",
        "deductions",
        "note",
    }
    assert set(ind["title"]) == {"zh", "en"} and set(ind["description"]) == {"zh", "en"}


def test_deductions_clamp_at_zero_with_a_note(model: Model) -> None:
    fs = [finding("B02", "U1", f"b{i}") for i in range(5)]  # 5 x -2 from 8
    scores = score_units(model, facts({"U1": (0, 0)}), fs, {}, None)
    r = scores["U1"].indicator("compliant_setup")
    assert r.value == 0
    assert "deductions total 10" in r.note["en"]
    assert scores["U1"].score == 92


def test_magnitude_deductions(model: Model) -> None:
    fs = [
        finding("Q02", "U1", "total", 5),
        finding("Q04", "U1", "p1"),
        finding("L02", "U1", "deputy", 2),
    ]
    u = score_units(model, facts({"U1": (0, 0)}), fs, {}, None)["U1"]
    assert u.indicator("quota_execution").value == 12 - 2.5 - 0.5
    assert u.indicator("leadership_posts").value == 6


def test_dismissed_deducts_nothing_confirmed_does(model: Model) -> None:
    fs = [finding("Q05", "U1", "none"), finding("Q05", "U2", "none")]
    verdicts = {fs[0].fingerprint: verdict(fs[0]), fs[1].fingerprint: verdict(fs[1], "confirmed")}
    scores = score_units(model, facts({"U1": (0, 0), "U2": (0, 0)}), fs, verdicts, None)
    assert scores["U1"].indicator("roster_quality").value == 9
    assert scores["U2"].indicator("roster_quality").value == 7


def test_vacancy_threshold(model: Model) -> None:
    # 5% exactly: full; 30%: 25 points above x 0.2 = 5 off; 100%: 0 (clamped); over quota: 0%.
    fx = facts({"A": (100, 95), "B": (10, 7), "C": (4, 0), "D": (10, 12)})
    scores = score_units(model, fx, [], {}, None)
    assert [scores[u].indicator("vacancy").value for u in "ABCD"] == [6, 1, 0, 6]
    assert scores["D"].indicator("vacancy").measured == 0


@pytest.mark.parametrize(
    "ratio, fraction",
    [(0.0, 0), (0.4, 0), (0.6, 0.5), (0.8, 1), (1.0, 1), (1.2, 1), (1.6, 0.5), (2.0, 0), (3, 0)],
)
def test_peer_ratio_curve(ratio: float, fraction: float) -> None:
    p = {"zero_below": 0.4, "full_from": 0.8, "full_to": 1.2, "zero_above": 2.0}
    assert _peer_fraction(np.array([ratio]), p)[0] == pytest.approx(fraction)


def test_workload_ignores_duties_without_peer_median(model: Model) -> None:
    fx = facts({"U1": (0, 0), "U2": (0, 0)}, workload([("U1", 1.6, 1.0), ("U2", 5.0, 0.0)]))
    scores = score_units(model, fx, [], {}, None)
    assert scores["U1"].indicator("workload").value == 4
    assert scores["U2"].indicator("workload").value == 8
    assert scores["U2"].indicator("workload").note["en"] == "no workload data: full marks"


def test_given_methods(model: Model) -> None:
    ds = dataset(
        scores=[
            {"unit_id": "U1", "indicator": "party_management", "value": 9.0},
            {"unit_id": "U1", "indicator": "performance", "value": 100.0, "note": "考核优秀"},
            {"unit_id": "U1", "indicator": "targets", "value": 3.5},
            {"unit_id": "U2", "indicator": "performance", "value": 0.0},
        ]
    )
    scores = score_units(model, facts({"U1": (0, 0), "U2": (0, 0)}), [], {}, ds)
    u1, u2 = scores["U1"], scores["U2"]
    assert u1.indicator("party_management").value == 5
    assert u1.indicator("performance").value == 15
    assert u1.indicator("performance").note == {
        "zh": "评分表备注：考核优秀",
        "en": "scores table note: 考核优秀",
    }
    assert u1.indicator("targets").value == 3.5
    assert u2.indicator("performance").value == 0
    assert u2.indicator("targets").value == 5


@pytest.mark.parametrize(
    "row, column, message",
    [
        ({"indicator": "perfomance", "value": 50.0}, "indicator", "has no given score"),
        ({"indicator": "party_management", "value": -1.0}, "value", "cannot be negative"),
        ({"indicator": "performance", "value": 120.0}, "value", "0..100 scale"),
    ],
)
def test_bad_given_scores(model: Model, row: dict, column: str, message: str) -> None:
    ds = dataset(
        scores=[{"unit_id": "U1", "indicator": "targets", "value": 1.0}, {"unit_id": "U1", **row}]
    )
    with pytest.raises(InputError) as exc:
        score_units(model, facts({"U1": (0, 0)}), [], {}, ds)
    [p] = exc.value.problems
    assert (p.file, p.row, p.column) == ("scores.csv", 3, column)
    assert message in p.message


def test_a_unit_given_twice(model: Model) -> None:
    ds = dataset(
        scores=[
            {"unit_id": "U1", "indicator": "targets", "value": 1.0},
            {"unit_id": "U1", "indicator": "targets", "value": 2.0},
        ]
    )
    with pytest.raises(InputError, match=r"scores.csv, row 3, column indicator: unit U1 is given"):
        score_units(model, facts({"U1": (0, 0)}), [], {}, ds)


def test_scores_from_a_real_dataset(model: Model, tmp_path: Path) -> None:
    files = {
        "units.csv": "unit_id,name,kind\nU1,县委办,party_gov\nU2,县财政局,party_gov\n",
        "roster.csv": "person_id,unit_id,category\n"
        + "".join(f"P{i},U1,admin\n" for i in range(9)),
        "quotas.csv": "unit_id,category,approved\nU1,admin,10\nU2,admin,5\n",
        "评分.csv": "单位代码,指标,得分\nU1,targets,4\n",
        "survey.csv": "respondent_id,unit_id,item_id,score,reverse\nR1,U1,q1,5,否\nR1,U1,q2,1,是\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ds = load_dataset(tmp_path)
    scores = score_units(model, build_facts(ds, AS_OF), [], {}, ds)
    u1, u2 = scores["U1"], scores["U2"]
    assert u1.indicator("vacancy").measured == 10.0 and u1.indicator("vacancy").value == 5
    assert u2.indicator("vacancy").value == 0  # 100% vacant: 6 - 19 -> 0
    assert u1.indicator("satisfaction").value == 7  # 5 and reverse 1 -> 5
    assert u1.indicator("targets").value == 4
    assert u1.score == 100 - 1 - 1


def test_no_findings_no_units() -> None:
    model = load_model(None, [])
    assert score_units(model, facts({}), [], {}, None) == {}


def test_workload_index_needs_three_peers() -> None:
    from datetime import date as _date

    import pandas as _pd

    from sanding_rules.facts import Facts
    from sanding_rules.measures import workload_index

    frame = _pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U3", "U4"],
            "duty_code": ["d1", "d1", "d1", "d2"],
            "ratio": [1.0, 2.0, 4.0, 5.0],
            "peer_median": [2.0, 2.0, 2.0, 5.0],
            "peers": [3.0, 3.0, 3.0, 1.0],
        }
    )
    idx = workload_index(Facts(_date(2026, 6, 30), {"duty_workload": frame}))
    assert idx.to_dict() == {"U1": 0.5, "U2": 1.0, "U3": 2.0}


def test_level3_scores_round_half_up_like_a_score_sheet() -> None:
    import numpy as _np

    from sanding_rules.score import round_half_up

    got = round_half_up(_np.array([11.145, 5.875, 7.625, 9.915, 0.004, 2.0]))
    assert got.tolist() == [11.15, 5.88, 7.63, 9.92, 0.0, 2.0]


def test_gc_paused_restores_the_collector_even_on_error() -> None:
    import gc

    from sanding_rules.gcpause import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()
