"""The oracle against tiny hand-made tables: these pin the catalogue's semantics."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import oracle  # noqa: E402

AS_OF = date(2026, 6, 30)
ROOT = Path(__file__).resolve().parents[1]
# Valid numbers built by hand (weighted sums 167 and 150, see test_idnumber.py).
ID_X = "11010519491231002X"
ID_5 = "330121198001010025"

UNITS = [
    {"unit_id": "G1", "name": "甲县财政局", "kind": "party_gov", "bodies_limit": None},
    {"unit_id": "G2", "name": "甲县审计局", "kind": "party_gov", "bodies_limit": None},
    {"unit_id": "C1", "name": "甲县档案馆", "kind": "civil_ref", "bodies_limit": None},
    {"unit_id": "I1", "name": "甲县人民医院", "kind": "institution", "bodies_limit": None},
    {"unit_id": "I2", "name": "甲县第一中学", "kind": "institution", "bodies_limit": None},
]


def person(pid: str, unit: str, category: str = "admin", **extra) -> dict:
    row = {
        "person_id": pid,
        "unit_id": unit,
        "category": category,
        "status": "on_post",
        "leadership": "none",
    }
    row.update(extra)
    return row


def staff(prefix: str, unit: str, n: int, category: str = "admin", **extra) -> list[dict]:
    return [person(f"{prefix}{i}", unit, category, **extra) for i in range(n)]


def findings(
    roster: list[dict],
    *,
    quotas: list[tuple] | None = None,
    leader_quotas: list[tuple] | None = None,
    bodies: list[tuple] | None = None,
    units: list[dict] | None = None,
    as_of: date = AS_OF,
    params: dict | None = None,
    rule: str | None = None,
    payroll: list[tuple] | None = None,
    duties: list[tuple] | None = None,
    workload: list[tuple] | None = None,
) -> set[tuple[str, str, str]]:
    tables = {
        "units": pd.DataFrame(units or UNITS),
        "roster": pd.DataFrame(roster, columns=None if roster else ["person_id", "unit_id"]),
    }
    extra = {
        "payroll": (payroll, ["person_id", "unit_id", "period"]),
        "duties": (duties, ["unit_id", "duty_code", "text", "source"]),
        "workload": (workload, ["unit_id", "duty_code", "value", "period"]),
    }
    for name, (data, columns) in extra.items():
        if data is not None:
            tables[name] = pd.DataFrame(
                [d + (None,) * (len(columns) - len(d)) for d in data], columns=columns
            )
    if quotas is not None:
        tables["quotas"] = pd.DataFrame(
            [q + (None,) * (4 - len(q)) for q in quotas],
            columns=["unit_id", "category", "approved", "effective_from"],
        )
    if leader_quotas is not None:
        tables["leader_quotas"] = pd.DataFrame(
            [q + (None,) * (4 - len(q)) for q in leader_quotas],
            columns=["unit_id", "level", "approved", "effective_from"],
        )
    if bodies is not None:
        tables["bodies"] = pd.DataFrame(
            [b + (True,) * (4 - len(b)) for b in bodies],
            columns=["unit_id", "body_id", "name", "approved"],
        )
    out = oracle.expected_findings(tables, as_of, params)
    got = {(f["rule"], f["unit_id"], f["subject"]) for f in out}
    return {g for g in got if rule is None or g[0] == rule}


def evidence(roster: list[dict], rule: str, **tables) -> list[dict]:
    frames = {"units": pd.DataFrame(UNITS), "roster": pd.DataFrame(roster)}
    for name, (columns, data) in tables.items():
        frames[name] = pd.DataFrame(data, columns=columns)
    return [f for f in oracle.expected_findings(frames, AS_OF) if f["rule"] == rule]


# ---------------------------------------------------------------- Q


def test_q01_over_and_at_quota_and_missing_row():
    roster = (
        staff("a", "G1", 2)
        + [person("a2", "G1", status="seconded_out"), person("a3", "G1", status="retired")]
        + staff("b", "G2", 2)
        + [person("b2", "G2", "logistics"), person("b3", "G2", "none")]
    )
    quotas = [("G1", "admin", 2), ("G2", "admin", 2)]
    assert findings(roster, quotas=quotas, rule="Q01") == {
        ("Q01", "G1", "admin"),  # 3 counted (seconded counts, retired not) > 2
        ("Q01", "G2", "logistics"),  # no logistics row: quota 0
    }
    [ev] = evidence(
        roster[:4], "Q01", quotas=(["unit_id", "category", "approved"], [("G1", "admin", 2)])
    )
    assert ev["evidence"] == {"actual": 3, "approved": 2}


def test_q01_long_leave_counts_and_none_never_over():
    roster = (
        staff("a", "G1", 1)
        + [person("a1", "G1", status="long_leave")]
        + staff("n", "G1", 4, "none")
    )
    assert findings(roster, quotas=[("G1", "admin", 1)], rule="Q01") == {("Q01", "G1", "admin")}


def test_quota_row_in_force():
    roster = staff("a", "G1", 3) + staff("b", "G2", 3)
    quotas = [
        ("G1", "admin", 5, "2019-03-01"),
        ("G1", "admin", 2, "2026-01-01"),  # in force: 3 > 2
        ("G1", "admin", 10, "2026-07-01"),  # later than as-of: ignored
        ("G2", "admin", 1, "2019-03-01"),
        ("G2", "admin", 3, "2026-06-30"),  # effective on the as-of date: in force
    ]
    assert findings(roster, quotas=quotas, rule="Q01") == {("Q01", "G1", "admin")}


def test_quota_row_without_date_is_replaced_by_a_dated_one():
    roster = staff("a", "G1", 3)
    quotas = [("G1", "admin", 5, None), ("G1", "admin", 2, "2020年1月1日")]
    assert findings(roster, quotas=quotas, rule="Q01") == {("Q01", "G1", "admin")}


def test_two_quota_rows_same_key_and_date_are_an_error():
    quotas = [("G1", "admin", 5, "2020-01-01"), ("G1", "admin", 2, "2020-01-01")]
    with pytest.raises(ValueError):
        findings(staff("a", "G1", 1), quotas=quotas)


def test_q02_total_not_offset():
    # G1: logistics over by one, admin one vacant: Q01 logistics, total 6 = 6 so no Q02.
    # G2: admin over by one, total 7 > 6.
    # C1: 2 counted civil_ref, 5 编外: none are excluded from the total.
    roster = (
        staff("a", "G1", 4)
        + staff("l", "G1", 2, "logistics")
        + staff("b", "G2", 6)
        + staff("m", "G2", 1, "logistics")
        + staff("c", "C1", 2, "civil_ref")
        + staff("n", "C1", 5, "none")
    )
    quotas = [
        ("G1", "admin", 5),
        ("G1", "logistics", 1),
        ("G2", "admin", 5),
        ("G2", "logistics", 1),
        ("C1", "civil_ref", 2),
        ("C1", "none", 5),  # a quota row for none never counts
    ]
    got = findings(roster, quotas=quotas)
    assert {g for g in got if g[0] in ("Q01", "Q02")} == {
        ("Q01", "G1", "logistics"),
        ("Q01", "G2", "admin"),
        ("Q02", "G2", "total"),
    }


@pytest.mark.parametrize(
    ("approved", "counted", "fires"),
    [
        (10, 7, True),  # exactly 30 % and exactly 3
        (20, 14, True),  # exactly 30 %, 6 vacant
        (20, 17, False),  # 3 vacant, 15 %
        (5, 3, False),  # 40 %, only 2 vacant
        (10, 8, False),
        (3, 0, True),  # empty unit, 3 approved
        (0, 0, False),  # approved 0: never
    ],
)
def test_q03_thresholds(approved, counted, fires):
    roster = staff("a", "G1", counted) + [person("r", "G1", status="retired")]
    got = findings(roster, quotas=[("G1", "admin", approved)], rule="Q03")
    assert got == ({("Q03", "G1", "admin")} if fires else set())


def test_q03_params():
    roster = staff("a", "G1", 15)
    quotas = [("G1", "admin", 20)]
    assert findings(roster, quotas=quotas, rule="Q03") == set()
    loose = {"Q03": {"ratio": 0.25}}
    assert findings(roster, quotas=quotas, params=loose, rule="Q03") == {("Q03", "G1", "admin")}


def test_q04_mixed_categories():
    roster = [
        person("g_ok", "G1", "admin"),
        person("g_legal", "G1", "legal"),
        person("g_log", "G1", "logistics"),
        person("g_bad", "G1", "institution"),
        person("c_ok", "C1", "civil_ref"),
        person("c_log", "C1", "logistics"),
        person("c_bad", "C1", "admin"),
        person("i_ok", "I1", "institution"),
        person("i_bad", "I1", "admin"),
        person("i_none", "I1", "none"),  # 编外: no category to misuse
        person("i_retired", "I1", "civil_ref", status="retired"),
        person("x_unknown_unit", "ZZ", "admin"),
    ]
    assert findings(roster, rule="Q04") == {
        ("Q04", "G1", "g_bad"),
        ("Q04", "C1", "c_bad"),
        ("Q04", "I1", "i_bad"),
    }


@pytest.mark.parametrize(
    ("quota", "contract", "fires"),
    [
        (10, 2, False),  # exactly 20 %
        (10, 3, True),
        (0, 1, True),  # no quota at all, one 编外
        (0, 0, False),
        (4, 1, True),  # 1 > 0.8 and at least one
    ],
)
def test_q05_contract_staff(quota, contract, fires):
    roster = staff("n", "I1", contract, "none") + [person("gone", "I1", "none", status="left")]
    quotas = [("I1", "institution", quota)] if quota else [("I2", "institution", 1)]
    got = findings(roster, quotas=quotas, rule="Q05")
    assert got == ({("Q05", "I1", "none")} if fires else set())


def test_q_rules_need_the_quotas_table():
    # (D02 needs no table: the other units of UNITS have nobody.)
    assert {g for g in findings(staff("a", "G1", 3)) if g[0] != "D02"} == set()


# ---------------------------------------------------------------- L


def test_l01_to_l04():
    roster = [
        person("p1", "G1", leadership="principal"),
        person("p2", "G1", leadership="principal"),
        person("d1", "G1", leadership="deputy"),
        person("d2", "G1", leadership="deputy"),
        person("d3", "G1", leadership="deputy", status="retired"),
        person("bp1", "G1", leadership="body_principal"),
        person("bd1", "G1", leadership="body_deputy"),
        person("bd2", "G1", leadership="body_deputy", status="long_leave"),
        person("x", "G1"),
        person("y", "G1", leadership=None),
    ]
    leader_quotas = [
        ("G1", "principal", 1),
        ("G1", "deputy", 2),  # 2 counted + 1 retired: at quota
        ("G1", "body_deputy", 1),
        # no body_principal row: 0
    ]
    got = findings(roster, leader_quotas=leader_quotas)
    assert {g for g in got if g[0].startswith("L")} == {
        ("L01", "G1", "principal"),
        ("L03", "G1", "body_principal"),
        ("L04", "G1", "body_deputy"),
    }


def test_leader_quota_in_force():
    roster = [person(f"d{i}", "G1", leadership="deputy") for i in range(3)]
    leader_quotas = [
        ("G1", "deputy", 4, "2019-01-01"),
        ("G1", "deputy", 2, "2024-01-01"),
        ("G1", "deputy", 5, "2026-09-01"),
    ]
    assert findings(roster, leader_quotas=leader_quotas, rule="L02") == {("L02", "G1", "deputy")}


def test_l05_logistics_leader():
    roster = [
        person("l_lead", "G1", "logistics", leadership="body_deputy"),
        person("l_plain", "G1", "logistics"),
        person("l_retired", "G1", "logistics", leadership="deputy", status="retired"),
        person("a_lead", "G1", "admin", leadership="deputy"),
    ]
    assert findings(roster, rule="L05") == {("L05", "G1", "l_lead")}


# ---------------------------------------------------------------- B


def _units_with_limits(limits: dict[str, int | None]) -> list[dict]:
    return [{**u, "bodies_limit": limits.get(u["unit_id"])} for u in UNITS]


def test_b01_limit():
    bodies = [
        ("G1", "G1-1", "办公室"),
        ("G1", "G1-2", "综合股"),
        ("G1", "G1-3", "专项办", False),  # unapproved rows count too
        ("G2", "G2-1", "办公室"),
        ("G2", "G2-2", "综合股"),
        ("G2", "G2-3", "法规股"),
        ("C1", "C1-1", "办公室"),
        ("C1", "C1-2", "业务科"),
        ("C1", "C1-3", "财务科"),
        ("C1", "C1-4", "档案科"),
    ]
    units = _units_with_limits({"G1": 2, "G2": 3})  # C1: no limit given
    got = findings([], bodies=bodies, units=units, rule="B01")
    assert got == {("B01", "G1", "bodies")}


def test_b02_one_finding_per_body():
    bodies = [
        ("G1", "G1-1", "办公室"),
        ("G1", "G1-2", "专项办", "false"),
        ("G2", "G2-1", "办公室"),
    ]
    roster = [
        person("a", "G1", body_id="G1-1"),
        person("b", "G1", body_id="G1-2"),
        person("c", "G1", body_id="G1-2"),
        person("d", "G1", body_id="G1-9"),
        person("e", "G1", body_id="G1-9"),
        person("f", "G1", body_id="G1-8", status="retired"),  # not counted: no finding
        person("g", "G1", body_id="G2-1"),  # another unit's body
        person("h", "I1", body_id="I1-1"),  # I1 has no bodies at all
    ]
    assert findings(roster, bodies=bodies, rule="B02") == {
        ("B02", "G1", "G1-2"),
        ("B02", "G1", "G1-9"),
        ("B02", "G1", "G2-1"),
        ("B02", "I1", "I1-1"),
    }


def test_b03_small_bodies():
    bodies = [
        ("G1", "G1-1", "办公室"),
        ("G1", "G1-2", "综合股"),
        ("G1", "G1-3", "法规股"),
        ("G2", "G2-1", "办公室"),
        ("G2", "G2-2", "综合股"),
    ]
    roster = (
        staff("a", "G1", 2, body_id="G1-1")
        + [person("a_ret", "G1", body_id="G1-1", status="retired")]
        + staff("b", "G1", 3, body_id="G1-2")
        + [person("other_unit", "G2", body_id="G1-3")]  # G2's person does not fill G1-3
    )
    assert findings(roster, bodies=bodies, rule="B03") == {
        ("B03", "G1", "G1-1"),  # 2 counted + 1 retired
        ("B03", "G1", "G1-3"),  # empty
        # G2 has only two bodies: never small
    }
    assert findings(roster, bodies=bodies, params={"B03": {"min_people": 2}}, rule="B03") == {
        ("B03", "G1", "G1-3")
    }


# ---------------------------------------------------------------- P


def test_retirement_month_worked_examples():
    assert oracle.retirement_month(date(1965, 12, 10), "M", None, AS_OF) == (2026, 3)
    assert oracle.retirement_month(date(1966, 3, 1), "M", None, AS_OF) == (2026, 7)
    assert oracle.retirement_month(date(1964, 12, 31), "M", None, AS_OF) == (2024, 12)
    assert oracle.retirement_month(date(1965, 1, 1), "M", None, AS_OF) == (2025, 2)
    assert oracle.retirement_month(date(1980, 5, 1), "M", None, AS_OF) == (2043, 5)  # +36 cap
    # Women cadres from 1970-01: 1971-01 is k=12 -> 55 years 4 months.
    assert oracle.retirement_month(date(1971, 1, 1), "F", "management", AS_OF) == (2026, 5)
    assert oracle.retirement_month(date(1971, 1, 1), "F", None, AS_OF) == (2026, 5)
    # Women workers from 1975-01: 1975-11 is k=10 -> 50 years 6 months.
    assert oracle.retirement_month(date(1975, 11, 1), "F", "worker", AS_OF) == (2026, 5)
    assert oracle.retirement_month(date(1990, 1, 1), "F", "worker", AS_OF) == (2045, 1)  # +60 cap
    assert oracle.retirement_month(date(1974, 12, 1), "F", "worker", AS_OF) == (2024, 12)
    # Before 2025 the old ages apply to everybody.
    old = date(2024, 12, 31)
    assert oracle.retirement_month(date(1965, 1, 1), "M", None, old) == (2025, 1)
    assert oracle.retirement_month(date(1976, 1, 1), "F", "worker", old) == (2026, 1)


@pytest.mark.parametrize(
    ("born", "gender", "post_type", "as_of", "fires"),
    [
        ("1965-12-10", "M", None, date(2026, 3, 1), True),  # worked example: 2026-03
        ("1965-12-10", "M", None, date(2026, 2, 28), False),
        ("1966-03-20", "M", None, date(2026, 6, 30), False),  # worked example: 2026-07
        ("1966-03-20", "M", None, date(2026, 7, 1), True),
        ("1971-01-15", "F", "management", AS_OF, True),  # 2026-05
        ("1971-03-15", "F", "professional", AS_OF, False),  # k=14 -> 55y4m -> 2026-07
        ("1975-11-15", "F", "worker", AS_OF, True),  # 2026-05
        ("1975-11-15", "F", "professional", AS_OF, False),  # same birth, cadre age
        ("1975-11-15", "M", "worker", AS_OF, False),  # men: 60 whatever the post
        ("1964-08-01", "M", None, date(2024, 8, 1), True),  # old rules
        ("1964-08-01", "M", None, date(2024, 7, 31), False),
        ("1969-08-01", "F", None, date(2024, 8, 1), True),
        ("1974-08-01", "F", "worker", date(2024, 8, 1), True),
    ],
)
def test_p01_retirement(born, gender, post_type, as_of, fires):
    roster = [person("x", "G1", birth_date=born, gender=gender, post_type=post_type)]
    got = findings(roster, as_of=as_of, rule="P01")
    assert got == ({("P01", "G1", "x")} if fires else set())


def test_p01_needs_birth_date_gender_and_counting():
    roster = [
        person("no_gender", "G1", birth_date="1950-01-01", gender=None),
        person("no_birth", "G1", birth_date=None, gender="M"),
        person("retired", "G1", birth_date="1950-01-01", gender="M", status="retired"),
        person("left", "G1", birth_date="1950-01-01", gender="M", status="left"),
        person("seconded", "G1", birth_date="1950-01-01", gender="M", status="seconded_out"),
    ]
    assert findings(roster, rule="P01") == {("P01", "G1", "seconded")}


def test_p02_same_id_in_several_units():
    roster = [
        person("a", "G1", id_number=ID_X),
        person("b", "G2", id_number=f" {ID_X.lower()} "),  # same number once normalised
        person("c", "G2", id_number=ID_X),
        person("d", "I1", id_number=ID_5),  # I1 twice, nowhere else: no finding
        person("e", "I1", id_number=ID_5),
        person("f", "I2", id_number=ID_5, status="retired"),  # not counted
        person("g", "C1", id_number=None),
        person("h", "I2", id_number=""),
    ]
    assert findings(roster, rule="P02") == {
        ("P02", "G1", "a"),
        ("P02", "G2", "b"),
        ("P02", "G2", "c"),
    }


@pytest.mark.parametrize(
    ("status", "days", "rule", "fires"),
    [
        ("seconded_out", 366, "P03", True),
        ("seconded_out", 365, "P03", False),
        ("seconded_out", 900, "P03", True),
        ("seconded_out", None, "P03", False),
        ("long_leave", 366, "P04", True),
        ("long_leave", 365, "P04", False),
        ("long_leave", None, "P04", False),
        ("on_post", 3000, "P03", False),
        ("on_post", 3000, "P04", False),
        ("retired", 3000, "P04", False),
    ],
)
def test_p03_p04_more_than_365_days(status, days, rule, fires):
    since = None if days is None else date.fromordinal(AS_OF.toordinal() - days)
    roster = [person("x", "G1", status=status, status_since=since)]
    assert findings(roster, rule=rule) == ({(rule, "G1", "x")} if fires else set())


def test_p03_params():
    since = date.fromordinal(AS_OF.toordinal() - 200)
    roster = [person("x", "G1", status="seconded_out", status_since=since)]
    assert findings(roster, params={"P03": {"days": 180}}, rule="P03") == {("P03", "G1", "x")}


def test_p05_retired_or_left():
    roster = [
        person("r", "G1", status="retired"),
        person("l", "G1", status="left"),
        person("s", "G1", status="seconded_out"),
        person("o", "G1", status=None),  # empty status: on post
    ]
    assert findings(roster, rule="P05") == {("P05", "G1", "r"), ("P05", "G1", "l")}


def test_p06_invalid_id_numbers():
    bad_date = "110105" + "19990230" + "123"
    total = sum(int(c) * w for c, w in zip(bad_date, oracle.ID_WEIGHTS, strict=True))
    roster = [
        person("ok", "G1", id_number=ID_X),
        person("ok_lower", "G1", id_number=ID_X.lower()),
        person("ok_blank", "G1", id_number=f" {ID_5} "),
        person("check", "G1", id_number=ID_5[:17] + "4"),
        person("date", "G1", id_number=bad_date + oracle.ID_CHECK[total % 11]),
        person("len15", "G1", id_number="110105491231002"),
        person("letter", "G1", id_number="1101051949123100AX"),
        person("retired_bad", "G1", id_number="123", status="retired"),
        person("empty", "G1", id_number=""),
        person("missing", "G1", id_number=None),
    ]
    assert findings(roster, rule="P06") == {
        ("P06", "G1", "check"),
        ("P06", "G1", "date"),
        ("P06", "G1", "len15"),
        ("P06", "G1", "letter"),
        ("P06", "G1", "retired_bad"),
    }


def test_findings_are_sorted_and_carry_evidence():
    roster = staff("a", "G1", 3) + [person("r", "G1", status="retired")]
    out = oracle.expected_findings(
        {
            "units": pd.DataFrame(UNITS[:1]),
            "roster": pd.DataFrame(roster),
            "quotas": pd.DataFrame(
                [("G1", "admin", 2)], columns=["unit_id", "category", "approved"]
            ),
        },
        AS_OF,
    )
    keys = [(f["rule"], f["unit_id"], f["subject"]) for f in out]
    assert (
        keys == sorted(keys) == [("P05", "G1", "r"), ("Q01", "G1", "admin"), ("Q02", "G1", "total")]
    )
    assert out[1]["evidence"] == {"actual": 3, "approved": 2}


# ---------------------------------------------------------------- F


def test_f01_paid_where_not_counted():
    roster = [
        person("a", "G1"),
        person("b", "G2"),  # counted in G2 ...
        person("r", "G1", status="retired"),
        person("l", "G1", status="left"),
        person("s", "G1", status="seconded_out"),
        person("k", "G1", status="long_leave"),
    ]
    payroll = [
        ("a", "G1", "2026-05"),
        ("a", "G1", "2026-06"),  # two months, where counted: nothing
        ("b", "G1"),  # ... paid by G1 (paid where they do not work)
        ("b", "G2"),
        ("r", "G1"),
        ("l", "G1"),
        ("s", "G1"),
        ("k", "G1"),
        ("ghost", "G2", "2026-05"),
        ("ghost", "G2", "2026-06"),  # one finding for both rows
        (None, "G2"),  # no person_id: ignored
        ("c", None),  # no unit_id: ignored
    ]
    got = findings(roster, payroll=payroll, rule="F01")
    assert got == {
        ("F01", "G1", "b"),
        ("F01", "G1", "r"),
        ("F01", "G1", "l"),
        ("F01", "G2", "ghost"),
    }
    frames = {
        "units": pd.DataFrame(UNITS),
        "roster": pd.DataFrame(roster),
        "payroll": pd.DataFrame(
            [row + (None,) * (3 - len(row)) for row in payroll],
            columns=["person_id", "unit_id", "period"],
        ),
    }
    by_key = {
        (f["unit_id"], f["subject"]): f["evidence"]
        for f in oracle.expected_findings(frames, AS_OF)
        if f["rule"] == "F01"
    }
    assert by_key[("G1", "b")]["counted_in"] == ["G2"]
    assert by_key[("G2", "ghost")] == {"payroll_rows": 2, "counted_in": [], "roster_status": []}


def test_f02_on_post_without_any_payroll_row():
    roster = [
        person("paid", "G1"),
        person("unpaid", "G1"),
        person("blank", "G1", status=None),  # empty status: on post
        person("contract", "G1", "none"),  # 编外 are people on post too
        person("central", "G2"),  # paid by another unit: paid
        person("sec", "G1", status="seconded_out"),
        person("leave", "G1", status="long_leave"),
        person("ret", "G1", status="retired"),
    ]
    payroll = [("paid", "G1"), ("central", "C1")]
    assert findings(roster, payroll=payroll, rule="F02") == {
        ("F02", "G1", "unpaid"),
        ("F02", "G1", "blank"),
        ("F02", "G1", "contract"),
    }
    assert findings(roster, payroll=payroll, rule="F01") == {("F01", "C1", "central")}


def test_f_rules_need_the_payroll_table():
    roster = [person("unpaid", "G1")]
    assert {g for g in findings(roster) if g[0][0] == "F"} == set()
    assert findings(roster, payroll=[], rule="F02") == {("F02", "G1", "unpaid")}


# ---------------------------------------------------------------- D


def _regions(regions: dict[str, str | None]) -> list[dict]:
    return [{**u, "region": regions.get(u["unit_id"])} for u in UNITS]


def test_d01_same_duty_in_one_region():
    units = _regions({"G1": "甲县", "G2": "甲县", "C1": "乙县", "I1": None, "I2": " "})
    duties = [
        ("G1", "X1", "财政监督", "sanding"),
        ("G2", "X1", "财政监督", None),  # an empty source counts as 三定
        ("C1", "X1", "财政监督", "sanding"),  # another region: alone there
        ("G1", "X2", "统计", "sanding"),
        ("G2", "X2", "统计", "catalogue"),  # not 三定: G1 is the only holder
        ("G1", "X3", "审计", "sanding"),
        ("G1", "X3", "审计", "sanding"),  # one unit twice: one holder
        ("I1", "X4", "档案", "sanding"),
        ("I2", "X4", "档案", ""),  # both without a region: one shared empty region
        ("G1", "X5", "信访", "sanding"),
        ("I1", "X5", "信访", "sanding"),  # 甲县 vs no region
        ("G1", "X6", "应急", " SANDING "),
        ("G2", "X6", "应急", "Sanding"),
    ]
    assert findings([], duties=duties, units=units, rule="D01") == {
        ("D01", "G1", "X1"),
        ("D01", "G2", "X1"),
        ("D01", "I1", "X4"),
        ("D01", "I2", "X4"),
        ("D01", "G1", "X6"),
        ("D01", "G2", "X6"),
    }


def test_d01_without_a_region_column_all_units_are_one_region():
    duties = [("G1", "X1"), ("C1", "X1"), ("I1", "X1"), ("I2", "X2")]
    assert findings([], duties=duties, rule="D01") == {
        ("D01", "G1", "X1"),
        ("D01", "C1", "X1"),
        ("D01", "I1", "X1"),
    }


def test_d_rules_need_their_tables():
    units = _regions({"G1": "甲县", "G2": "甲县"})
    roster = staff("a", "G1", 2) + staff("b", "G2", 2)
    got = findings(roster, units=units, quotas=[("G1", "admin", 2), ("G2", "admin", 2)])
    assert {g for g in got if g[0][0] == "D"} == {  # D02 needs no table but units
        ("D02", "C1", "unit"),
        ("D02", "I1", "unit"),
        ("D02", "I2", "unit"),
    }


def test_d02_shell_units():
    units = [
        {**u, "status": s}
        for u, s in zip(UNITS, ["active", None, "merged", "abolished", "active"], strict=True)
    ]
    roster = [
        person("r", "G1", status="retired"),  # G1: only a retired row
        person("n", "I2", "none"),  # I2: one 编外 on post, that is a person
    ]
    assert findings(roster, units=units, rule="D02") == {
        ("D02", "G1", "unit"),
        ("D02", "G2", "unit"),  # empty status is active
    }


def test_d02_all_workload_zero():
    roster = staff("a", "G1", 2) + staff("b", "G2", 2) + staff("c", "C1", 2) + staff("i", "I1", 1)
    roster += staff("j", "I2", 1)
    workload = [
        ("G1", "W1", 0),
        ("G1", "W2", "0.0"),  # every row 0
        ("G2", "W1", 0),
        ("G2", "W2", 5),  # one row not 0
        ("I1", "W1", 0),
        ("I1", "W2", None),  # no value: ignored, the rest is 0
        # C1 reports nothing; I2 reports 3
        ("I2", "W1", 3),
    ]
    assert findings(roster, workload=workload, rule="D02") == {
        ("D02", "G1", "unit"),
        ("D02", "I1", "unit"),
    }


def _peers(
    spec: dict[str, tuple[int, list[float]]], duty: str = "W"
) -> tuple[list[dict], list[tuple]]:
    """unit -> (counted people, workload values on duty): roster and workload."""
    roster, workload = [], []
    for unit, (people, values) in spec.items():
        cat = {"G": "admin", "C": "civil_ref", "I": "institution"}[unit[0]]
        roster += staff(f"{unit}_", unit, people, cat)
        workload += [(unit, duty, v) for v in values]
    return roster, workload


@pytest.mark.parametrize(
    ("low", "fires"),
    [(49, True), (50, False), (0, True), (49.5, True)],  # 0.5 x median 100 = 50
)
def test_d03_against_half_the_median(low, fires):
    roster, workload = _peers({"G1": (2, [200]), "G2": (3, [300]), "I1": (2, [low * 2])})
    got = findings(roster, workload=workload, rule="D03")
    assert got == ({("D03", "I1", "W")} if fires else set())


def test_d03_needs_three_peers_with_people():
    roster, workload = _peers({"G1": (2, [200]), "I1": (2, [20])})
    assert findings(roster, workload=workload, rule="D03") == set()  # 2 peers
    # A third unit reporting workload without a counted person is no peer.
    roster2 = [*roster, person("gone", "C1", "civil_ref", status="retired")]
    workload2 = [*workload, ("C1", "W", 500)]
    assert findings(roster2, workload=workload2, rule="D03") == set()
    roster3, workload3 = _peers({"G1": (2, [200]), "C1": (1, [100]), "I1": (2, [20])})
    assert findings(roster3, workload=workload3, rule="D03") == {("D03", "I1", "W")}


@pytest.mark.parametrize(("g1", "fires"), [(54, True), (55, False)])
def test_d03_sums_rows_and_takes_the_even_median(g1, fires):
    # Ratios: G1 g1, G2 40+60=100 (two periods), C1 120, I1 300: median (100+120)/2 = 110.
    roster, workload = _peers(
        {"G1": (1, [g1]), "G2": (2, [80, 120]), "C1": (1, [120]), "I1": (2, [600])}
    )
    got = findings(roster, workload=workload, rule="D03")
    assert got == ({("D03", "G1", "W")} if fires else set())


def test_d03_params_and_codes_apart():
    roster, workload = _peers({"G1": (1, [100]), "G2": (1, [100]), "I1": (1, [60])})
    _, other = _peers({"G1": (1, [100]), "G2": (1, [10])}, duty="V")  # V: 2 peers
    workload += other
    assert findings(roster, workload=workload, rule="D03") == set()
    assert findings(roster, workload=workload, params={"D03": {"ratio": 0.7}}, rule="D03") == {
        ("D03", "I1", "W")
    }


@pytest.mark.parametrize(
    ("ratio", "staffed", "contract", "quota", "fires"),
    [
        (151, 20, 0, 20, True),  # vacancy 0
        (150, 20, 0, 20, False),  # exactly 1.5 x the median
        (200, 19, 1, 20, False),  # vacancy exactly 5 % (编外 do not fill posts)
        (200, 40, 0, 42, True),  # 4.76 %
        (200, 20, 0, 18, True),  # over quota: negative vacancy
        (200, 20, 0, 0, False),  # no quotas
    ],
)
def test_d04_overloaded_with_quotas_full(ratio, staffed, contract, quota, fires):
    people = staffed + contract
    roster, workload = _peers({"G1": (2, [200]), "G2": (1, [100]), "C1": (people, [])})
    roster = [r for r in roster if r["unit_id"] != "C1"]
    roster += staff("c", "C1", staffed, "civil_ref") + staff("n", "C1", contract, "none")
    workload.append(("C1", "W", ratio * people))
    quotas = [("C1", "civil_ref", quota)] if quota else [("G1", "admin", 2)]
    got = findings(roster, workload=workload, quotas=quotas, rule="D04")
    assert got == ({("D04", "C1", "W")} if fires else set())
    # Without quotas the rule is not evaluated, while D03 still is.
    assert findings(roster, workload=workload, rule="D04") == set()


def test_d04_params():
    roster, workload = _peers({"G1": (1, [100]), "G2": (1, [100]), "C1": (1, [140])})
    quotas = [("C1", "civil_ref", 1)]
    assert findings(roster, workload=workload, quotas=quotas, rule="D04") == set()
    loose = {"D04": {"ratio": 1.3}}
    assert findings(roster, workload=workload, quotas=quotas, params=loose, rule="D04") == {
        ("D04", "C1", "W")
    }


def test_d05_administrative_duties_in_institutions():
    duties = [
        ("I1", "A1", "依法实施本领域行政处罚", "sanding"),
        ("I1", "A2", "协助开展行政执法和执法检查", "sanding"),  # no keyword
        ("I1", "A3", "Food safety inspection [PENALTY]", "assigned"),  # any source, any case
        ("I1", "A3", "again", ""),  # one finding per duty_code
        ("I2", "A4", "代收停车服务 Fee", None),
        ("I2", "A5", None, "sanding"),
        ("G1", "A6", "实施行政许可", "sanding"),  # party_gov
        ("C1", "A7", "实施行政处罚", "sanding"),  # civil_ref (参公) is not an institution
    ]
    assert findings([], duties=duties, rule="D05") == {
        ("D05", "I1", "A1"),
        ("D05", "I1", "A3"),
        ("D05", "I2", "A4"),
    }
    own = {"D05": {"keywords": ["公益服务"]}}
    duties2 = [*duties, ("I2", "A8", "提供公益服务", "sanding")]
    assert findings([], duties=duties2, params=own, rule="D05") == {("D05", "I2", "A8")}
    for word in oracle.ADMIN_KEYWORDS:
        got = findings([], duties=[("I1", "K", f"负责{word}工作")], rule="D05")
        assert got == {("D05", "I1", "K")}, word


# ---------------------------------------------------------------- fixtures


def _read_dataset(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in folder.glob("*.csv")
        if p.stem != "expected_findings"
    }


MINI_EXPECTED = {
    ("Q01", "M02", "admin"),
    ("Q02", "M02", "total"),
    ("Q03", "M03", "institution"),
    ("Q04", "M03", "P0303"),
    ("Q01", "M03", "admin"),
    ("Q05", "M03", "none"),
    ("L01", "M04", "principal"),
    ("L04", "M04", "body_deputy"),
    ("L05", "M04", "P0406"),
    ("B01", "M05", "bodies"),
    ("B02", "M05", "M05-04"),
    ("B02", "M05", "M05-09"),
    ("B03", "M05", "M05-03"),
    ("B03", "M05", "M05-04"),
    ("P01", "M06", "P0601"),
    ("P01", "M06", "P0603"),
    ("P02", "M06", "P0604"),
    ("P02", "M07", "P0701"),
    ("P03", "M07", "P0702"),
    ("P04", "M07", "P0704"),
    ("P05", "M07", "P0706"),
    ("P06", "M07", "P0707"),
    ("F01", "M01", "P0702"),
    ("F01", "M02", "P0902"),
    ("F01", "M07", "P0706"),
    ("F01", "M08", "P0999"),
    ("F02", "M01", "P0107"),
    ("F02", "M02", "P0202"),
    ("D01", "M07", "M07-02"),
    ("D01", "M09", "M07-02"),
    ("D01", "M04", "M04-03"),
    ("D01", "M08", "M04-03"),
    ("D02", "M09", "unit"),
    ("D03", "M03", "JB-01"),
    ("D04", "M01", "JB-01"),
    ("D05", "M03", "M03-03"),
    ("D05", "M05", "M05-04"),
}


def test_mini_fixture_matches_hand_list():
    folder = ROOT / "fixtures" / "mini"
    if not folder.exists():
        pytest.skip("fixtures/mini not generated")
    out = oracle.expected_findings(_read_dataset(folder), AS_OF)
    assert {(f["rule"], f["unit_id"], f["subject"]) for f in out} == MINI_EXPECTED
    stored = pd.read_csv(folder / "expected_findings.csv", dtype=str)
    assert set(stored.itertuples(index=False, name=None)) == MINI_EXPECTED


def test_county_fixture_is_current():
    stored_path = ROOT / "fixtures" / "county" / "expected_findings.csv"
    if not stored_path.exists():
        pytest.skip("fixtures/county not generated")
    from sanding_rules import synth

    ds = synth.generate(320, 2026, as_of=AS_OF)
    out = oracle.findings_frame(oracle.expected_findings(ds.tables(), AS_OF))
    stored = pd.read_csv(stored_path, dtype=str)
    assert stored.equals(out.astype(str))
    assert {
        f"{family}0{i}"
        for family, n in (("Q", 5), ("L", 5), ("B", 3), ("P", 6), ("F", 2), ("D", 5))
        for i in range(1, n + 1)
    } <= set(stored["rule"])


# ---------------------------------------------------------------- synth vs oracle


@pytest.mark.parametrize(
    ("n_units", "seed", "kwargs"),
    [
        (400, 3, {"violation_rate": 0.25}),
        (300, 8, {"as_of": date(2024, 10, 31)}),  # old retirement ages
        (250, 9, {"people_per_unit": 50, "as_of": date(2027, 1, 1)}),
    ],
)
def test_synth_plants_agree_with_oracle(n_units, seed, kwargs):
    from sanding_rules import synth

    ds = synth.generate(n_units, seed, **kwargs)
    assert ds.meta["skipped"] == []
    got = {
        (f["rule"], f["unit_id"], f["subject"])
        for f in oracle.expected_findings(ds.tables(), ds.as_of)
    }
    plants = ds.planted
    due = set(
        plants[plants["expect"]][["rule", "unit_id", "subject"]].itertuples(index=False, name=None)
    )
    quiet = set(
        plants[~plants["expect"]][["rule", "unit_id", "subject"]].itertuples(index=False, name=None)
    )
    assert due - got == set()
    assert quiet & got == set()
    assert got - due == set()  # clean units are clean


def test_synth_is_deterministic_and_ids_are_valid():
    from sanding_rules import idnumber, synth

    a, b = synth.generate(120, 5), synth.generate(120, 5)
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, getattr(b, name), obj=name)
    assert not synth.generate(120, 6).roster.equals(a.roster)
    roster = a.roster
    invalid = set(
        roster.loc[
            roster["id_number"].notna() & ~idnumber.valid_mask(roster["id_number"]), "person_id"
        ]
    )
    p06 = a.planted[(a.planted["rule"] == "P06") & a.planted["expect"]]
    assert invalid == set(p06["subject"])
    assert roster["person_id"].is_unique
