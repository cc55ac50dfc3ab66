"""The strict rule loader: every problem names the file and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanding_rules.errors import InputError
from sanding_rules.rulefile import BUILTIN_DIR, load_rules

GOOD = (BUILTIN_DIR / "Q01.yaml").read_text(encoding="utf-8")


def write_rule(folder: Path, text: str, name: str = "X01") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def as_user_rule(text: str, rid: str = "X01") -> str:
    return text.replace("id: Q01", f"id: {rid}")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(InputError) as exc:
        load_rules([folder], builtins=False)
    return [str(p) for p in exc.value.problems]


def test_a_users_rule_loads_beside_the_builtins(tmp_path: Path) -> None:
    write_rule(tmp_path, as_user_rule(GOOD))
    ids = [r.id for r in load_rules([tmp_path])]
    assert "X01" in ids and "Q01" in ids


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda t: t + "colour: red\n", "unknown key 'colour'"),
        (lambda t: t + "severity: error\n", "duplicate key 'severity'"),
        (lambda t: t.replace("severity: error", "severity: fatal"), "severity must be one of"),
        (lambda t: t.replace("action: rectify", "action: shoot"), "action must be one of"),
        (
            lambda t: t.replace("condition: counted > approved", "condition: counted > 'ten'"),
            "cannot compare",
        ),
        (
            lambda t: t.replace("condition: counted > approved", "condition: __import__('os')"),
            "unknown function '__import__'",
        ),
        (
            lambda t: t.replace("condition: counted > approved", "condition: counted.__class__"),
            "names may not start with",
        ),
        (
            lambda t: t.replace("condition: counted > approved", "condition: countd > approved"),
            "unknown field 'countd'",
        ),
        (lambda t: t.replace("超编{over}人", "超编{overr}人"), "unknown placeholder {overr}"),
        (
            lambda t: t.replace("  en: Over quota by category\n", ""),
            "title must have exactly the keys zh and en",
        ),
        (
            lambda t: t.replace("applies_to: quota", "applies_to: planet"),
            "applies_to must be one of",
        ),
        (
            lambda t: t.replace("requires: [quotas]", "requires: [salaries]"),
            "requires must list tables",
        ),
    ],
)
def test_bad_rules_are_rejected_with_file_and_rule(tmp_path: Path, change, expected: str) -> None:
    write_rule(tmp_path, change(as_user_rule(GOOD)))
    problems = problems_of(tmp_path)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(tmp_path / "X01.yaml")) or "X01.yaml" in p for p in problems)


def test_dated_parameters_are_validated(tmp_path: Path) -> None:
    text = as_user_rule(GOOD) + (
        "parameters:\n"
        "  limit:\n"
        "    description: {zh: 上限, en: limit}\n"
        "    values:\n"
        "      - {effective_from: 2026-02-30, value: 1, reference: 某文件}\n"
    )
    problems = problems_of(write_rule(tmp_path, text).parent)
    assert any(
        "bad date" in p and "parameters.limit.values[0].effective_from" in p for p in problems
    )


def test_dated_parameter_resolves_as_of(tmp_path: Path) -> None:
    from datetime import date

    text = as_user_rule(GOOD).replace(
        "condition: counted > approved", "condition: counted > approved + params.slack"
    ) + (
        "parameters:\n"
        "  slack:\n"
        "    description: {zh: 容差, en: slack}\n"
        "    values:\n"
        "      - {effective_from: 2020-01-01, value: 0, reference: 甲文件}\n"
        "      - {effective_from: 2026-01-01, value: 2, reference: 乙文件}\n"
    )
    write_rule(tmp_path, text)
    rule = load_rules([tmp_path], builtins=False)[0]
    assert rule.params_on(date(2025, 12, 31))["slack"] == 0
    assert rule.params_on(date(2026, 1, 1))["slack"] == 2


def test_duplicate_ids_and_misnamed_files(tmp_path: Path) -> None:
    write_rule(tmp_path / "a", as_user_rule(GOOD))
    write_rule(tmp_path / "b", as_user_rule(GOOD))
    with pytest.raises(InputError, match="already used"):
        load_rules([tmp_path / "a", tmp_path / "b"], builtins=False)
    write_rule(tmp_path / "c", as_user_rule(GOOD, "X02"), name="X03")
    with pytest.raises(InputError, match="must be in a file named X02.yaml"):
        load_rules([tmp_path / "c"], builtins=False)


def test_disable_unknown_rule_is_an_error() -> None:
    with pytest.raises(InputError, match="no rule ZZ01"):
        load_rules(disable=["ZZ01"])
    assert "Q01" not in [r.id for r in load_rules(disable=["Q01"])]
