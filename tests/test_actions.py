"""Decision rules for structural actions (evaluation model, section 4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sanding_rules.actions import decide, load_policy
from sanding_rules.errors import InputError
from sanding_rules.findings import Finding
from sanding_rules.rulefile import BUILTIN_DIR, load_rules, rule_files

RULES = load_rules()
RULE_IDS = {r.id for r in RULES} | {p.stem for p in rule_files(BUILTIN_DIR)}
AS_OF = date(2026, 6, 30)


def finding(
    rule: str, unit: str, subject: str = "x", severity: str = "warning", action: str = "rectify"
) -> Finding:
    return Finding(
        rule, severity, unit, subject, action, {"zh": "", "en": ""}, {}, {"zh": "", "en": ""}, {}
    )


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "grade": None,
        "score": None,
        "counted": 10.0,
        "quota_total": 10.0,
        "vacancy_rate": 0.0,
        "workload_duties": 2.0,
    }
    out = []
    for row in rows:
        r = dict(base)
        r.update({f"n_{rid}": 0.0 for rid in RULE_IDS})
        r.update(row)
        out.append(r)
    df = pd.DataFrame(out)
    df["grade"] = df["grade"].astype(object)
    return df


def counts_for(findings: list[Finding], rows: list[dict]) -> list[dict]:
    for row in rows:
        for f in findings:
            if f.unit_id == row["unit_id"]:
                row[f"n_{f.rule}"] = row.get(f"n_{f.rule}", 0.0) + 1
    return rows


@pytest.mark.parametrize("path", ["engine", "bulk"])
def test_default_policy_decisions(path: str) -> None:
    if not {"D01", "D02", "D03", "D04"} <= RULE_IDS:
        pytest.skip("needs the D rules")
    findings = [
        finding("D02", "U1", "unit", action="abolish"),
        finding("D04", "U2", "d1", severity="info", action="support"),
        finding("D04", "U3", "d1", severity="info", action="support"),
        finding("Q01", "U3", "admin", severity="error"),
        finding("D03", "U4", "d1", action="merge"),
        finding("D01", "U4", "d2", action="adjust"),
        finding("D03", "U5", "d1", action="merge"),
        finding("D03", "U5", "d2", action="merge"),
        finding("Q03", "U6", "admin", action="reclaim"),
    ]
    rows = counts_for(findings, [{"unit_id": f"U{i}"} for i in range(1, 8)])
    rows[6]["grade"] = "C"
    out = decide(load_policy(None, RULES), frame(rows), findings, {}, AS_OF, path)
    names = {u: [a.action for a in acts] for u, acts in out.items()}
    assert names["U1"] == ["abolish"]
    assert names["U2"] == ["support"]
    assert names["U3"] == ["rectify"]  # over quota: no support
    assert names["U4"] == ["adjust", "merge"]  # D03 with D01; equal severity: finding order
    assert names["U5"] == ["merge", "downgrade"]  # D03 on every duty with workload
    assert names["U6"] == ["reclaim"]
    assert names["U7"] == ["suspend", "two_out_one_in"]
    abolish = out["U1"][0]
    assert abolish.findings == [findings[0].fingerprint] and abolish.rules == ["ACT01", "D02"]


def test_dismissed_findings_drive_no_action() -> None:
    f = finding("Q03", "U1", "admin", action="reclaim")
    g = finding("Q01", "U1", "admin", severity="error")
    rows = [
        {"unit_id": "U1", "n_Q03": 0.0, "n_Q01": 1.0}
    ]  # counts already exclude the dismissed Q03
    out = decide(load_policy(None, RULES), frame(rows), [f, g], {f.fingerprint: False}, AS_OF)
    assert [a.action for a in out["U1"]] == ["rectify"]


def test_engine_and_bulk_agree_on_random_assessments() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(300):
        row = {
            "unit_id": f"U{i}",
            "grade": rng.choice(["A", "B", "C"]),
            "workload_duties": float(rng.integers(0, 3)),
        }
        for rid in ("Q01", "Q02", "Q03"):
            row[f"n_{rid}"] = float(rng.integers(0, 2))
        for rid in ("D01", "D02", "D03", "D04"):
            if f"n_{rid}" in {f"n_{x}" for x in RULE_IDS}:
                row[f"n_{rid}"] = float(rng.integers(0, 3))
        rows.append(row)
    df = frame(rows)
    policy = load_policy(None, RULES)
    a = decide(policy, df, [], {}, AS_OF, "engine")
    b = decide(policy, df, [], {}, AS_OF, "bulk")
    assert {u: [x.action for x in v] for u, v in a.items()} == {
        u: [x.action for x in v] for u, v in b.items()
    }
    assert sum(len(v) for v in a.values()) > 100


@pytest.mark.parametrize(
    "text, expected",
    [
        ("decides: [abolish]\nrules: []\n", "rules must be a non-empty list"),
        ("colour: red\nrules: []\n", "unknown key 'colour'"),
        (
            "rules:\n  - {id: X1, title: {zh: 甲, en: a}, action: explode, severity: error, condition: n_Q01 > 0, because: []}\n",
            "action must be one of",
        ),
        (
            "rules:\n  - {id: X1, title: {zh: 甲, en: a}, action: merge, severity: error, condition: n_ZZ99 > 0, because: []}\n",
            "unknown field 'n_ZZ99'",
        ),
        (
            "rules:\n  - {id: X1, title: {zh: 甲, en: a}, action: merge, severity: error, condition: n_Q01 > 0, because: [ZZ99]}\n",
            "because must list ids of loaded rules",
        ),
    ],
)
def test_bad_policies_are_rejected(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_policy(path, RULES)
    assert any(expected in str(p) and str(path) in str(p) for p in exc.value.problems), exc.value
