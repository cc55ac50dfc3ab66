"""Fact tables for payroll, duties and workload (rules F01-F02, D01-D05), checked by hand."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sanding_rules.casefile import write_tables
from sanding_rules.evaluate import Overrides, find
from sanding_rules.facts import FACT_FIELDS, ORIGIN_KEYS, ORIGIN_TABLE, build_facts
from sanding_rules.functions import contains_any
from sanding_rules.load import load_dataset
from sanding_rules.rulefile import load_rules

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 6, 30)

TABLES = {
    "units": [
        {"unit_id": "U1", "name": "东区财政局", "kind": "party_gov", "region": "东区"},
        {"unit_id": "U2", "name": "东区财政事务中心", "kind": "institution", "region": "东区"},
        {"unit_id": "U3", "name": "某中心", "kind": "institution"},
        {"unit_id": "U4", "name": "某局", "kind": "party_gov", "status": "abolished"},
    ],
    "quotas": [
        {"unit_id": "U1", "category": "admin", "approved": 4},
        {"unit_id": "U2", "category": "institution", "approved": 2},
    ],
    "roster": [
        {"person_id": "P1", "unit_id": "U1", "category": "admin"},
        {"person_id": "P2", "unit_id": "U1", "category": "admin", "status": "seconded_out"},
        {"person_id": "P3", "unit_id": "U1", "category": "none"},
        {"person_id": "P4", "unit_id": "U1", "category": "admin", "status": "retired"},
        {"person_id": "P5", "unit_id": "U2", "category": "institution"},
        {"person_id": "P6", "unit_id": "U2", "category": "institution"},
        {"person_id": "P7", "unit_id": "U3", "category": "institution", "status": "long_leave"},
    ],
    "payroll": [
        {"person_id": "P1", "unit_id": "U1", "period": "2026-05", "amount": 100},
        {"person_id": "P1", "unit_id": "U1", "period": "2026-06", "amount": 110},
        {"person_id": "P2", "unit_id": "U2", "period": "2026-06", "amount": 200},
        {"person_id": "P4", "unit_id": "U1", "period": "2026-06", "amount": 300},
        {"person_id": "P9", "unit_id": "U1", "period": "2026-06"},
        {"person_id": "P5", "unit_id": "U2", "period": "2026-06", "amount": 50},
        {"person_id": "P5", "unit_id": "U2", "period": "2026-06", "amount": 50},
    ],
    "duties": [
        {"unit_id": "U1", "duty_code": "C1", "text": "负责行政处罚", "source": "sanding"},
        {"unit_id": "U2", "duty_code": "C1", "text": "负责预算评审"},
        {"unit_id": "U3", "duty_code": "C1", "source": "sanding"},
        {"unit_id": "U4", "duty_code": "C1", "source": "SANDING"},
        {"unit_id": "U4", "duty_code": "C3", "source": "三定"},
        {"unit_id": "U2", "duty_code": "C2", "source": "委托"},
        {"unit_id": "U1", "duty_code": "C2", "source": "Sanding"},
    ],
    "workload": [
        {"unit_id": "U1", "duty_code": "K", "value": 10, "period": "2024"},
        {"unit_id": "U1", "duty_code": "K", "value": 20, "period": "2025"},
        {"unit_id": "U2", "duty_code": "K", "value": 8, "period": "2025"},
        {"unit_id": "U3", "duty_code": "K", "value": 3, "period": "2025"},
        {"unit_id": "U4", "duty_code": "K", "value": 5, "period": "2025"},
        {"unit_id": "U2", "duty_code": "L", "value": 0, "period": "2025"},
    ],
}


def _facts(tmp_path: Path, tables: dict = TABLES):
    write_tables(tables, tmp_path)
    return build_facts(load_dataset(tmp_path), AS_OF)


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    return _facts(tmp_path_factory.mktemp("facts"))


def _by(frame: pd.DataFrame, *keys: str) -> dict:
    return {tuple(row[k] for k in keys): row for row in frame.to_dict("records")}


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def test_every_fact_table_has_its_declared_fields(facts) -> None:
    for fact_type, fields in FACT_FIELDS.items():
        frame = facts[fact_type]
        missing = set(fields) - set(frame.columns)
        assert not missing, f"{fact_type} lacks {missing}"
        assert {"unit_id", "_row", "_file"} <= set(frame.columns)
    assert set(ORIGIN_KEYS) <= set(ORIGIN_TABLE)


def test_payment_facts(facts) -> None:
    pay = _by(facts["payment"], "unit_id", "person_id")
    assert sorted(pay) == [("U1", "P1"), ("U1", "P4"), ("U1", "P9"), ("U2", "P2"), ("U2", "P5")]
    p1 = pay[("U1", "P1")]
    assert (p1["payments"], p1["amount"], p1["periods"]) == (2, 210, 2)
    assert (p1["first_period"], p1["last_period"]) == ("2026-05", "2026-06")
    assert p1["counted_here"] and not p1["counted_elsewhere"] and p1["unit_kind"] == "party_gov"
    p2 = pay[("U2", "P2")]  # counted (seconded out) in U1, paid by U2
    assert not p2["counted_here"] and p2["counted_elsewhere"]
    assert (p2["roster_unit_id"], p2["status"], p2["on_roster"]) == ("U1", "seconded_out", True)
    p4 = pay[("U1", "P4")]  # retired in U1, paid by U1
    assert not p4["counted_here"] and not p4["counted_elsewhere"] and p4["status"] == "retired"
    p9 = pay[("U1", "P9")]  # not on the roster at all
    assert not p9["on_roster"] and _nan(p9["roster_unit_id"]) and _nan(p9["amount"])
    p5 = pay[("U2", "P5")]
    assert (p5["payments"], p5["periods"], p5["amount"]) == (2, 1, 100)
    assert p5["_file"] == "payroll.csv" and p5["_row"] == 7


def test_person_pay_fields(facts) -> None:
    people = _by(facts["person"], "person_id")
    got = {
        pid: (
            bool(r["paid"]),
            bool(r["paid_here"]),
            None if _nan(r["other_pay_unit_id"]) else r["other_pay_unit_id"],
        )
        for pid, r in ((k[0], v) for k, v in people.items())
    }
    assert got == {
        "P1": (True, True, None),
        "P2": (True, False, "U2"),
        "P3": (False, False, None),
        "P4": (True, True, None),
        "P5": (True, True, None),
        "P6": (False, False, None),
        "P7": (False, False, None),
    }


def test_duty_facts(facts) -> None:
    duty = _by(facts["duty"], "unit_id", "duty_code")
    # 东区: C1 from U1 (sanding) and U2 (empty source); no region: U3 and U4 (SANDING).
    assert duty[("U1", "C1")]["units_sharing"] == 2
    assert duty[("U1", "C1")]["sharing_units"] == "U1、U2"
    assert duty[("U2", "C1")]["units_sharing"] == 2
    assert duty[("U3", "C1")]["units_sharing"] == 2
    assert duty[("U3", "C1")]["sharing_units"] == "U3、U4"
    assert _nan(duty[("U3", "C1")]["unit_region"])
    # C2: U2's is entrusted (not counted, not from the provisions); U1's 'Sanding' counts.
    assert not duty[("U2", "C2")]["from_sanding"] and duty[("U1", "C2")]["from_sanding"]
    assert duty[("U1", "C2")]["units_sharing"] == 1 and _nan(duty[("U1", "C2")]["sharing_units"])
    assert not duty[("U4", "C3")]["from_sanding"]  # only the catalogue's value, 'sanding'
    assert duty[("U2", "C1")]["unit_kind"] == "institution"
    assert duty[("U1", "C1")]["_row"] == 2


def test_duty_workload_facts(facts) -> None:
    dw = _by(facts["duty_workload"], "unit_id", "duty_code")
    assert sorted(dw) == [("U1", "K"), ("U2", "K"), ("U2", "L"), ("U3", "K"), ("U4", "K")]
    u1 = dw[("U1", "K")]  # 30 of workload, P1, P2 and P3 (编外) counted
    assert (u1["workload"], u1["rows"], u1["counted"], u1["ratio"]) == (30, 2, 3, 10)
    # ratios on K: U1 10, U2 4, U3 3; U4 has nobody counted: no ratio, no peer.
    for key in [("U1", "K"), ("U2", "K"), ("U3", "K"), ("U4", "K")]:
        assert (dw[key]["peer_median"], dw[key]["peers"]) == (4, 3)
    assert _nan(dw[("U4", "K")]["ratio"])
    assert (dw[("U2", "L")]["ratio"], dw[("U2", "L")]["peer_median"], dw[("U2", "L")]["peers"]) == (
        0,
        0,
        1,
    )
    # vacancy: U1 (4 - 2 with a category) / 4; U2 (2 - 2) / 2; U3 no quotas.
    assert (u1["unit_quota_total"], u1["unit_vacancy"]) == (4, 0.5)
    assert dw[("U2", "K")]["unit_vacancy"] == 0
    assert dw[("U3", "K")]["unit_quota_total"] == 0 and _nan(dw[("U3", "K")]["unit_vacancy"])


def test_unit_workload_fields(facts) -> None:
    unit = _by(facts["unit"], "unit_id")
    got = {k[0]: (r["workload_rows"], r["workload_nonzero"]) for k, r in unit.items()}
    assert got == {"U1": (2, 2), "U2": (2, 1), "U3": (1, 1), "U4": (1, 1)}


def test_sources_list_every_payroll_and_workload_row(facts) -> None:
    rules = [r for r in load_rules() if r.id in ("F01", "D04")]
    found = {f.key: f for f in find(rules, facts)}
    assert found[("F01", "U1", "P4")].source == {"file": "payroll.csv", "rows": [5]}
    assert found[("F01", "U1", "P9")].source == {"file": "payroll.csv", "rows": [6]}
    assert found[("F01", "U2", "P2")].source == {"file": "payroll.csv", "rows": [4]}
    assert ("F01", "U1", "P1") not in found
    # D04 on K: U1's 10 > 1.5 x 4, quota 4 with 2 counted: 50 % vacant, no finding; with
    # the vacancy limit raised it is reported, with both of its workload rows.
    assert not [k for k in found if k[0] == "D04"]
    over = Overrides(all={"D04": {"max_vacancy": 0.6}})
    d04 = find(rules, facts, over)
    assert [f.source for f in d04 if f.rule == "D04"] == [{"file": "workload.csv", "rows": [2, 3]}]
    for overrides in (Overrides(), over):
        bulk = find(rules, facts, overrides)
        engine = find(rules, facts, overrides, path="engine")
        assert [f.to_json() for f in engine] == [f.to_json() for f in bulk]


def test_without_the_tables(tmp_path: Path) -> None:
    tables = {k: v for k, v in TABLES.items() if k in ("units", "roster")}
    facts = _facts(tmp_path, tables)
    for fact_type in ("payment", "duty", "duty_workload"):
        assert facts[fact_type].empty
        assert set(FACT_FIELDS[fact_type]) <= set(facts[fact_type].columns)
    # Without payroll nobody is known to be paid or unpaid.
    assert facts["person"]["paid_here"].isna().all()
    assert (facts["unit"]["workload_rows"] == 0).all()
    # Rules needing the tables are not evaluated then; even if they were, they stay quiet.
    # D02 needs no workload: U4 is abolished, U1-U3 have counted people.
    keys = {f.key for f in find(load_rules(), facts) if f.rule[0] in "FD"}
    assert keys == set()


def test_contains_any() -> None:
    texts = np.array(
        [
            "负责行政处罚",
            "Road permits [LICENSING]",
            "feedback",
            None,
            "coffee",
            "",
            "Fees",
            "penalties",
        ],
        dtype=object,
    )
    got = contains_any(texts, ["行政处罚", "licensing", "fee", "penalty"])
    assert got.tolist() == [True, True, False, False, False, False, True, True]
    assert contains_any(texts, []).tolist() == [False] * 8
    assert contains_any(texts, "行政处罚").tolist()[0]


def test_county_payment_and_duty_facts() -> None:
    dataset = load_dataset(ROOT / "fixtures" / "county")
    facts = build_facts(dataset, AS_OF)
    assert (
        len(facts["payment"]) == dataset.frame("payroll").groupby(["unit_id", "person_id"]).ngroups
    )
    assert len(facts["duty"]) == len(dataset.frame("duties"))
    assert facts["person"]["paid"].sum() > 10_000


def test_sharing_units_lists_ten(tmp_path: Path) -> None:
    units = [{"unit_id": f"U{i:02d}", "name": f"单位{i}", "kind": "party_gov"} for i in range(12)]
    duties = [{"unit_id": u["unit_id"], "duty_code": "C1"} for u in units]
    tables = {
        "units": units,
        "roster": [TABLES["roster"][0] | {"unit_id": "U00"}],
        "duties": duties,
    }
    duty = _facts(tmp_path, tables)["duty"]
    assert (duty["units_sharing"] == 12).all()
    shown = duty["sharing_units"].iloc[0]
    assert shown == "、".join(f"U{i:02d}" for i in range(10)) + "…"


@pytest.mark.parametrize("as_of", [date(2024, 12, 31), date(2026, 6, 30)])
def test_retirement_date_equals_the_oracle_person_by_person(as_of: date) -> None:
    """retirement_date works on distinct (birth day, group) pairs; every person's answer must
    still be the oracle's, under the schedule before and after the 2025 reform."""
    from sanding_rules.functions import retirement_date

    from .oracle import retirement_month

    (p01,) = [r for r in load_rules() if r.id == "P01"]
    schedule = p01.params_on(as_of)["retirement"]
    rng = np.random.default_rng(3)
    n = 3000
    births = np.datetime64("1955-01-01") + rng.integers(0, 365 * 30, n)
    days = (births - np.datetime64("1970-01-01")).astype("float64")
    days[rng.random(n) < 0.05] = np.nan
    gender = rng.choice(
        np.array(["M", "F", None, "X"], dtype=object), n, p=[0.45, 0.45, 0.05, 0.05]
    )
    post = rng.choice(np.array(["worker", "management", None], dtype=object), n)
    got, null = retirement_date(days, gender, post, schedule)
    for i in range(n):
        if np.isnan(days[i]) or gender[i] not in ("M", "F"):
            assert null[i] and np.isnan(got[i])
            continue
        born = births[i].astype(object)
        year, month = retirement_month(born, gender[i], post[i], as_of)
        want = (np.datetime64(f"{year:04d}-{month:02d}-01") - np.datetime64("1970-01-01")).astype(
            int
        )
        assert not null[i] and got[i] == want, (born, gender[i], post[i])
