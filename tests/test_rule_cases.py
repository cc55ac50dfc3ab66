"""Every built-in rule's cases, on both evaluation paths (`pytest -k Q01` runs one rule)."""

from __future__ import annotations

import pytest

from sanding_rules.casefile import cases_path, load_cases, run_case
from sanding_rules.rulefile import load_rules

RULES = {r.id: r for r in load_rules()}
CATALOGUE = (
    [f"Q0{i}" for i in range(1, 6)]
    + [f"L0{i}" for i in range(1, 6)]
    + [f"B0{i}" for i in range(1, 4)]
    + [f"P0{i}" for i in range(1, 7)]
    + [f"F0{i}" for i in range(1, 3)]
    + [f"D0{i}" for i in range(1, 6)]
)


def _all_cases():
    out = []
    for rule in RULES.values():
        path = cases_path(rule)
        if path.exists():
            out.extend(load_cases(path, rule.id))
    return out


CASES = _all_cases()


@pytest.mark.parametrize("engine", ["bulk", "engine"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_case(case, engine: str) -> None:
    result = run_case(case, RULES[case.rule], engine)
    assert result.ok, result.explain()


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_rule_has_cases_title_and_basis(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert rule.title["zh"] and rule.title["en"]
    assert rule.basis["zh"] and rule.basis["en"]
    assert rule.rationale["zh"] and rule.rationale["en"]
    path = cases_path(rule)
    assert path.exists(), f"{rule_id} has no cases file {path.name}"
    cases = load_cases(path, rule_id)
    assert any(not c.expect for c in cases), f"{rule_id} has no passing case"
    assert any(c.expect for c in cases), f"{rule_id} has no failing case"


def test_the_catalogue_is_built_in() -> None:
    missing = [rid for rid in CATALOGUE if rid not in RULES]
    assert not missing, f"catalogue rules without a rule file: {missing}"
