"""Decisions on staffing requests: the evaluation model's decision table (section 5), row by row.

Synthetic datasets are written to tmp_path. The base unit U1 is a party/government organ with
  admin quota 6 (4 counted: 2 vacant), logistics quota 1 (1 counted), an institution quota 3
  (0 counted, a category its kind may not use);
  leader posts principal 1 (1 held), deputy 2 (1 held), body_principal 2 (2 held),
  body_deputy 1 (0 held); 2 bodies, limit 3;
and has no finding of its own. U2 is like U1 but with an invalid ID number (an open P06 error).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sanding_rules.decide import DeciderConfig, load_decider, load_policy
from sanding_rules.errors import InputError
from sanding_rules.evaluate import find
from sanding_rules.facts import Facts
from sanding_rules.idnumber import check_digit
from sanding_rules.requests import Request, raw_requests
from sanding_rules.rulefile import load_rules

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "fixtures" / "county"
AS_OF = date(2026, 6, 30)
AUDITED = "2026-03-31"

ROSTER_HEAD = (
    "person_id,unit_id,category,name,id_number,gender,birth_date,leadership,body_id,status"
)


def id_number(unit: int, person: int) -> str:
    first17 = f"1101051980010{unit}{person:03d}"
    return first17 + check_digit(first17)


def write_dataset(
    folder: Path, movements: list[tuple[str, str, str]] | None = None, units: int = 2
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    unit_rows = ["unit_id,name,kind,bodies_limit,region"]
    quotas = ["unit_id,category,approved"]
    leaders = ["unit_id,level,approved"]
    bodies = ["unit_id,body_id,name,approved"]
    roster = [ROSTER_HEAD]
    for n in range(1, units + 1):
        u = f"U{n}"
        unit_rows.append(f"{u},单位{n},party_gov,3,县")
        quotas += [f"{u},admin,6", f"{u},logistics,1", f"{u},institution,3"]
        leaders += [
            f"{u},principal,1",
            f"{u},deputy,2",
            f"{u},body_principal,2",
            f"{u},body_deputy,1",
        ]
        bodies += [f"{u},{u}-B1,办公室,true", f"{u},{u}-B2,业务科,true"]
        people = [
            ("principal", ""),
            ("deputy", ""),
            ("body_principal", f"{u}-B1"),
            ("body_principal", f"{u}-B2"),
        ]
        for i, (lead, body) in enumerate(people):
            idn = id_number(n, i) if i < 3 else ""
            if n == 2 and i == 0:
                idn = idn[:-1] + ("1" if idn[-1] != "1" else "2")  # wrong check digit: P06
            roster.append(f"{u}P{i},{u},admin,人{i},{idn},M,1980-01-01,{lead},{body},on_post")
        roster.append(f"{u}P9,{u},logistics,工勤,,M,1985-01-01,none,,on_post")
    (folder / "units.csv").write_text("\n".join(unit_rows) + "\n", encoding="utf-8")
    (folder / "quotas.csv").write_text("\n".join(quotas) + "\n", encoding="utf-8")
    (folder / "leader_quotas.csv").write_text("\n".join(leaders) + "\n", encoding="utf-8")
    (folder / "bodies.csv").write_text("\n".join(bodies) + "\n", encoding="utf-8")
    (folder / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    if movements is not None:
        lines = ["person_id,unit_id,direction,date"]
        lines += [f"M{i},{u},{d},{day}" for i, (u, d, day) in enumerate(movements)]
        (folder / "movements.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_grades(path: Path, grades: dict[str, str], audited: str = AUDITED) -> Path:
    lines = ["unit_id,grade,audited_on"] + [f"{u},{g},{audited}" for u, g in grades.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def decider(tmp_path: Path, grades: dict[str, str] | None = None, movements=None, **kw):
    data = write_dataset(tmp_path / "data", movements)
    grades_file = write_grades(tmp_path / "grades.csv", grades) if grades else None
    config = DeciderConfig(data, grades=grades_file, as_of=AS_OF, **kw)
    return load_decider(config)


def ask(d, type_: str, unit: str = "U1", count: int = 1, day: str = "2026-07-15", **kw):
    req = {"request_id": "R", "unit_id": unit, "type": type_, "count": count, "date": day, **kw}
    result = d.decide_batch(raw_requests(req, None), "en")
    assert not result["errors"], result["errors"]
    return result["decisions"][0]


def rules_of(decision: dict) -> list[str]:
    return [r["rule"] for r in decision["reasons"]]


@pytest.fixture(scope="module")
def graded_a(tmp_path_factory: pytest.TempPathFactory):
    return decider(tmp_path_factory.mktemp("a"), {"U1": "A", "U2": "A"})


# ------------------------------------------------------------------------- 1. reject


def test_base_unit_has_no_findings_and_a_fitting_hire_gets_priority(graded_a) -> None:
    d = ask(graded_a, "hire", category="admin")
    assert d["decision"] == "priority"
    assert rules_of(d) == ["DEC15"]
    assert d["reasons"][0]["evidence"] == {"grade": "A", "audited_on": AUDITED}
    assert d["findings_after"] == []


def test_hire_over_the_category_quota_is_rejected_by_q01(graded_a) -> None:
    d = ask(graded_a, "hire", category="admin", count=3)
    assert d["decision"] == "reject"
    assert rules_of(d) == ["Q01"]
    reason = d["reasons"][0]
    assert reason["evidence"] == {"category": "admin", "counted": 4, "count": 3, "approved": 6}
    assert reason["messages"]["zh"] == "行政编制实有4人，拟进3人，超过核定编制6名"
    assert "Decree 486" in reason["bases"]["en"] and "第486号" in reason["bases"]["zh"]
    assert reason["basis"] == reason["bases"]["en"]


def test_hire_exactly_to_the_quota_is_not_rejected(graded_a) -> None:
    assert ask(graded_a, "hire", category="admin", count=2)["decision"] == "priority"
    assert ask(graded_a, "hire", category="logistics", count=1)["decision"] == "reject"


def test_hire_into_a_category_the_kind_may_not_use_is_rejected_by_q04(graded_a) -> None:
    # An institution quota exists (3 posts, none used), so only Q04 forbids it.
    d = ask(graded_a, "hire", category="institution", count=2)
    assert d["decision"] == "reject"
    assert rules_of(d) == ["Q04"]
    assert d["reasons"][0]["evidence"] == {
        "category": "institution",
        "kind": "party_gov",
        "count": 2,
    }


def test_hire_without_any_quota_of_a_wrong_category_gives_both_reasons(graded_a) -> None:
    d = ask(graded_a, "hire", category="civil_ref")
    assert d["decision"] == "reject"
    assert rules_of(d) == ["Q01", "Q04"]
    assert d["reasons"][0]["evidence"] == {
        "category": "civil_ref",
        "counted": 0,
        "count": 1,
        "approved": 0,
    }


@pytest.mark.parametrize(
    "level, count, rule",
    [
        ("principal", 1, "L01"),
        ("deputy", 2, "L02"),
        ("body_principal", 1, "L03"),
        ("body_deputy", 2, "L04"),
    ],
)
def test_appointments_beyond_the_approved_posts_are_rejected(graded_a, level, count, rule) -> None:
    d = ask(graded_a, "appoint", level=level, count=count)
    assert d["decision"] == "reject"
    assert rules_of(d) == [rule]
    held = {"principal": 1, "deputy": 1, "body_principal": 2, "body_deputy": 0}[level]
    approved = {"principal": 1, "deputy": 2, "body_principal": 2, "body_deputy": 1}[level]
    assert d["reasons"][0]["evidence"] == {
        "level": level,
        "counted": held,
        "count": count,
        "approved": approved,
    }


@pytest.mark.parametrize("level", ["deputy", "body_deputy"])
def test_appointments_within_the_approved_posts_pass(graded_a, level) -> None:
    assert ask(graded_a, "appoint", level=level, count=1)["decision"] == "priority"


def test_appointing_at_a_level_without_posts_is_rejected(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    lines = (data / "leader_quotas.csv").read_text().splitlines()
    (data / "leader_quotas.csv").write_text(
        "\n".join(line for line in lines if "body_deputy" not in line) + "\n"
    )
    d = load_decider(DeciderConfig(data, as_of=AS_OF))
    r = ask(d, "appoint", level="body_deputy")
    assert rules_of(r) == ["L04"]
    assert r["reasons"][0]["evidence"]["approved"] == 0


def test_add_body_beyond_the_limit_is_rejected_by_b01(graded_a) -> None:
    assert ask(graded_a, "add_body", count=1)["decision"] == "priority"  # 2 + 1 = 3 = limit
    d = ask(graded_a, "add_body", count=2)
    assert d["decision"] == "reject"
    assert rules_of(d) == ["B01"]
    assert d["reasons"][0]["evidence"] == {"bodies": 2, "count": 2, "limit": 3}


def test_add_quota_while_vacant_posts_cover_it_is_rejected(graded_a) -> None:
    d = ask(graded_a, "add_quota", category="admin", count=2)  # 2 vacant >= 2
    assert d["decision"] == "reject"
    assert rules_of(d) == ["DEC08"]
    assert d["reasons"][0]["evidence"] == {
        "category": "admin",
        "approved": 6,
        "counted": 4,
        "vacant": 2,
        "count": 2,
    }
    assert ask(graded_a, "add_quota", category="admin", count=3)["decision"] == "priority"
    assert ask(graded_a, "add_quota", category="logistics", count=1)["decision"] == "priority"
    # A category the unit has no quota of: 0 vacant.
    assert ask(graded_a, "add_quota", category="legal", count=1)["decision"] == "priority"


def test_reject_comes_before_suspend(tmp_path: Path) -> None:
    d = decider(tmp_path, {"U1": "C"})
    r = ask(d, "hire", category="admin", count=3)
    assert r["decision"] == "reject" and rules_of(r) == ["Q01"]


# ------------------------------------------------------------------------ 2. suspend


@pytest.mark.parametrize(
    "type_, extra",
    [
        ("add_quota", {"category": "admin", "count": 5}),
        ("appoint", {"level": "deputy"}),
        ("add_body", {}),
    ],
)
def test_grade_c_suspends_everything_but_hiring(tmp_path: Path, type_: str, extra: dict) -> None:
    d = decider(tmp_path, {"U1": "C"})
    r = ask(d, type_, **extra)
    assert r["decision"] == "suspend"
    assert rules_of(r) == ["DEC09"]
    assert r["reasons"][0]["evidence"] == {"grade": "C", "audited_on": AUDITED}


def out(n: int, day: str = "2026-05-01", unit: str = "U1") -> list[tuple[str, str, str]]:
    return [(unit, "out", day)] * n


def hired(n: int, day: str = "2026-05-02", unit: str = "U1") -> list[tuple[str, str, str]]:
    return [(unit, "in", day)] * n


@pytest.mark.parametrize(
    "movements, count, decision, allowance",
    [
        (out(3), 1, "review", 1),  # floor(3 / 2) - 0 = 1
        (out(3), 2, "suspend", 1),
        (out(4) + hired(1), 1, "review", 1),  # floor(4 / 2) - 1 = 1
        (out(4) + hired(1), 2, "suspend", 1),
        (out(2), 1, "review", 1),
        (out(1), 1, "suspend", 0),
        (out(3) + hired(2), 1, "suspend", -1),
        ([], 1, "suspend", 0),
        # Movements before audited_on do not count; on audited_on they do.
        (out(3, "2026-03-30") + out(1), 1, "suspend", 0),
        (out(2, AUDITED), 1, "review", 1),
        # Nor do movements after the request's date, or another unit's.
        (out(2, "2026-07-16"), 1, "suspend", 0),
        (out(2, unit="U2"), 1, "suspend", 0),
    ],
)
def test_two_out_one_in_allowance(tmp_path, movements, count, decision, allowance) -> None:
    d = decider(tmp_path, {"U1": "C", "U2": "A"}, movements=movements)
    r = ask(d, "hire", category="admin", count=count)
    assert r["decision"] == decision
    assert rules_of(r) == (["DEC11"] if decision == "review" else ["DEC10"])
    ev = r["reasons"][0]["evidence"]
    assert ev["allowance"] == allowance
    assert ev["count"] == count
    assert ev["audited_on"] == AUDITED


def test_grade_c_hire_without_a_movements_table_is_suspended(tmp_path: Path) -> None:
    d = decider(tmp_path, {"U1": "C"})
    r = ask(d, "hire", category="admin")
    assert r["decision"] == "suspend" and rules_of(r) == ["DEC10"]
    assert r["reasons"][0]["evidence"]["allowance"] is None
    assert "—" in r["reasons"][0]["messages"]["zh"]


# ------------------------------------------------------------------ 3. review, 4. priority


def test_grade_b_is_reviewed(tmp_path: Path) -> None:
    d = decider(tmp_path, {"U1": "B"})
    r = ask(d, "hire", category="admin")
    assert r["decision"] == "review" and rules_of(r) == ["DEC12"]


def test_no_grade_is_reviewed(tmp_path: Path) -> None:
    d = decider(tmp_path, {"U2": "A"})
    r = ask(d, "appoint", level="deputy")
    assert r["decision"] == "review" and rules_of(r) == ["DEC13"]
    assert r["grade"] is None


def test_an_open_error_finding_makes_an_a_unit_reviewed(graded_a) -> None:
    r = ask(graded_a, "hire", category="admin", unit="U2")
    assert r["decision"] == "review"
    assert rules_of(r) == ["DEC14"]
    assert r["reasons"][0]["evidence"] == {"open_errors": 1, "error_rules": "P06"}
    assert r["findings_after"] == [
        {"rule": "P06", "severity": "error", "subject": "U2P0", "from_request": False}
    ]


def test_a_b_unit_with_open_errors_gets_both_reasons(tmp_path: Path) -> None:
    d = decider(tmp_path, {"U2": "B"})
    r = ask(d, "add_body", unit="U2")
    assert r["decision"] == "review" and rules_of(r) == ["DEC12", "DEC14"]


def test_a_c_unit_within_the_allowance_with_open_errors_gets_both_reasons(tmp_path) -> None:
    d = decider(tmp_path, {"U2": "C"}, movements=out(2, unit="U2"))
    r = ask(d, "hire", unit="U2", category="admin")
    assert r["decision"] == "review" and rules_of(r) == ["DEC11", "DEC14"]


# ------------------------------------------------------------------------- grade sources


def audit_file(path: Path, grades: dict[str, str | None], findings: list | None = None) -> Path:
    doc = {
        "as_of": AUDITED,
        "units": [{"unit_id": u, "grade": g} for u, g in grades.items()],
        "findings": findings or [],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_grades_from_an_audit_json_decide_like_a_grades_table(tmp_path: Path) -> None:
    movements = out(3)
    data = write_dataset(tmp_path / "data", movements)
    table = write_grades(tmp_path / "g.csv", {"U1": "C", "U2": "A"})
    audit = audit_file(tmp_path / "a.json", {"U1": "C", "U2": "A"})
    by_table = load_decider(DeciderConfig(data, grades=table, as_of=AS_OF))
    by_audit = load_decider(DeciderConfig(data, audit=audit, as_of=AS_OF))
    for type_, kw in [("hire", {"category": "admin"}), ("hire", {"category": "admin", "count": 2})]:
        for unit in ("U1", "U2"):
            a, b = ask(by_table, type_, unit=unit, **kw), ask(by_audit, type_, unit=unit, **kw)
            assert (a["decision"], a["reasons"]) == (b["decision"], b["reasons"])
    assert ask(by_audit, "hire", category="admin")["decision"] == "review"  # allowance 1


def test_a_null_grade_in_the_audit_json_is_no_grade(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    audit = audit_file(tmp_path / "a.json", {"U1": None})
    d = load_decider(DeciderConfig(data, audit=audit, as_of=AS_OF))
    assert rules_of(ask(d, "hire", category="admin")) == ["DEC13"]


def test_a_dismissed_finding_is_not_open(tmp_path: Path) -> None:
    from sanding_rules.findings import fingerprint

    data = write_dataset(tmp_path / "data")
    fp = fingerprint("P06", "U2", "U2P0")
    audit = audit_file(
        tmp_path / "a.json",
        {"U2": "A"},
        [{"rule": "P06", "fingerprint": fp, "adjudication": {"verdict": "dismissed"}}],
    )
    d = load_decider(DeciderConfig(data, audit=audit, as_of=AS_OF))
    assert ask(d, "hire", unit="U2", category="admin")["decision"] == "priority"


def test_bad_grade_inputs_stop_everything(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    bad = tmp_path / "g.csv"
    bad.write_text("单位代码,等级,评定日期\nU1,D,2026-03-31\nU9,A,2026-03-31\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_decider(DeciderConfig(data, grades=bad, as_of=AS_OF))
    text = str(exc.value)
    assert "g.csv, row 2, column 等级: unknown grade 'D'" in text
    assert "row 3" in text and "unknown unit 'U9'" in text
    audit = tmp_path / "a.json"
    audit.write_text(json.dumps({"as_of": "soon", "units": [{"unit_id": "U1", "grade": "E"}]}))
    with pytest.raises(InputError) as exc:
        load_decider(DeciderConfig(data, audit=audit, as_of=AS_OF))
    assert "column as_of" in str(exc.value) and "units[0].grade" in str(exc.value)
    audit.write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        load_decider(DeciderConfig(data, audit=audit, as_of=AS_OF))


# ------------------------------------------------------------------------------ the policy


def test_a_region_changes_the_policy_without_code(tmp_path: Path) -> None:
    text = (ROOT / "policies" / "requests.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "policy.yaml"
    mine.write_text(text.replace("departures_per_hire: 2", "departures_per_hire: 3"))
    base = decider(tmp_path / "base", {"U1": "C"}, movements=out(2))
    own = decider(tmp_path / "own", {"U1": "C"}, movements=out(2), policy=mine)
    assert ask(base, "hire", category="admin")["decision"] == "review"
    assert ask(own, "hire", category="admin")["decision"] == "suspend"


@pytest.mark.parametrize(
    "old, new",
    [
        ("decision: reject\n    rule: Q01", "decision: rejekt\n    rule: Q01"),
        (
            "finding: rule == 'Q01' and subject == request.category",
            "finding: rule == 'Q01' and subject == quota.category",
        ),
        ("{category|label}实有{counted}人", "{category|label}实有{nosuch}人"),
        ("rule: Q01\n", "rule: Q99\n"),
        (
            "evidence:\n      category: request.category",
            "evidence:\n      category: request.nosuch",
        ),
    ],
)
def test_policy_errors_name_the_rule_and_key(tmp_path: Path, old: str, new: str) -> None:
    text = (ROOT / "policies" / "requests.yaml").read_text(encoding="utf-8")
    assert old in text
    bad = tmp_path / "p.yaml"
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as exc:
        load_policy(bad, load_rules(), AS_OF)
    assert "rule DEC01" in str(exc.value)


def test_policy_keys_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("rules: []\nextra: 1\n")
    with pytest.raises(InputError) as exc:
        load_policy(bad, load_rules(), AS_OF)
    text = str(exc.value)
    assert "unknown key 'extra'" in text and "non-empty list" in text and "otherwise" in text


# ------------------------------------------------------- the what-if agrees with the audit


WHATIFS = [
    ("U0001", "hire", {"category": "admin", "count": 3}),
    ("U0002", "hire", {"category": "institution", "count": 1}),
    ("U0003", "add_quota", {"category": "admin", "count": 2}),
    ("U0002", "add_body", {"count": 2}),
    ("U0001", "appoint", {"level": "deputy", "count": 2}),
    ("U0010", "hire", {"category": "logistics", "count": 1}),
]


@pytest.fixture(scope="module")
def county():
    return load_decider(DeciderConfig(COUNTY, as_of=AS_OF))


@pytest.mark.parametrize("unit, type_, kw", WHATIFS)
@pytest.mark.parametrize("path", ["bulk", "engine"])
def test_whatif_findings_match_an_audit_of_the_changed_rows(county, unit, type_, kw, path) -> None:
    """The fast path (precomputed rows, rebuilt changed rows) finds what a full audit of the
    unit's what-if fact tables finds, on both evaluation paths."""
    req = Request(
        "W", unit, type_, kw.get("category"), kw.get("level"), kw["count"], date(2026, 7, 1)
    )
    tables = county.whatif_frames(req)
    small = Facts(AS_OF, tables, county.facts.present, county.facts.origin_rows)
    audited = find(county.rules, small, path=path)
    fast = county.findings_after(req)
    assert sorted((f.rule, f.subject) for f in fast) == sorted((f.rule, f.subject) for f in audited)
