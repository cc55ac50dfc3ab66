"""The evaluation model file: the default loads and adds up; every problem names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sanding_rules.errors import InputError
from sanding_rules.model import DEFAULT_MODEL, load_model
from sanding_rules.rulefile import BUILTIN_DIR, load_rules

DEFAULT = DEFAULT_MODEL.read_text(encoding="utf-8")
RULES = load_rules()


def test_default_model_loads_and_its_weights_sum() -> None:
    model = load_model(None, RULES)
    assert model.id == "default"
    assert sum(d.weight for d in model.dimensions) == 100
    for dim in model.dimensions:
        assert sum(item.points for item in dim.items) == dim.weight
        for item in dim.items:
            assert sum(ind.max for ind in item.indicators) == item.points
    assert [d.weight for d in model.dimensions] == [10, 20, 35, 30, 5]
    assert len(model.indicators) == 14
    g = model.grades
    assert (g.a, g.b, g.veto, g.a_share_cap) == (90, 75, ("P02", "F01"), 0.30)
    vacancy = model.indicator("vacancy")
    assert vacancy.method == "threshold" and vacancy.deductions[0].rules == ("Q03",)
    assert model.deduction_of_rule["Q01"][1].per == "magnitude"
    assert model.deduction_of_rule["P02"][1].per == "finding"
    assert model.deduction_of_rule["F02"][1].amount == 0.5
    # Every indicator explains its scoring rule in both languages (workpapers use it).
    assert all(set(ind.description) == {"zh", "en"} for ind in model.indicators)


def test_default_model_loads_without_the_builtin_rules() -> None:
    # Catalogue ids stay known with --no-builtin or --disable: they just yield no findings.
    assert load_model(None, []).id == "default"


def test_builtin_rules_deduct_in_the_indicator_they_name() -> None:
    # D02-D04 (shell unit, weak or overloaded duties) steer actions and deduct nothing.
    model = load_model(None, RULES)
    deducting = {r.id for r in RULES} - {"D02", "D03", "D04"}
    assert deducting <= set(model.deduction_of_rule)
    for rule in RULES:
        if rule.id in deducting:
            j, _ = model.deduction_of_rule[rule.id]
            assert model.indicators[j].id == rule.indicator, rule.id


def problems(tmp_path: Path, text: str, rules=RULES) -> list:
    path = tmp_path / "region.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_model(path, rules)
    found = exc.value.problems
    assert all(p.file.endswith("region.yaml") for p in found)
    return found


def has(found: list, column: str | None, text: str) -> None:
    assert any(p.column == column and text in p.message for p in found), [str(p) for p in found]


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in DEFAULT, old
    return DEFAULT.replace(old, new, count)


VAC = "dimensions[staffing_use].items[vacancy].indicators[vacancy]"


@pytest.mark.parametrize(
    "text, column, message",
    [
        (DEFAULT + "colour: red\n", "colour", "unknown key 'colour'"),
        (
            edit("    weight: 5\n", "    weight: 6\n"),
            "dimensions",
            "level-1 weights sum to 101, not 100",
        ),
        (
            edit("        points: 2\n", "        points: 3\n"),
            "dimensions[party_leadership].items[reform_tasks].indicators",
            "level-3 maxima of reform_tasks sum to 2, not its points 3",
        ),
        (
            edit("            max: 2\n", "            max: 3\n"),
            "dimensions[party_leadership].items[reform_tasks].indicators",
            "sum to 3, not its points 2",
        ),
        (
            edit("        points: 8\n", "        points: 9\n").replace(
                "            max: 8\n", "            max: 9\n", 1
            ),
            "dimensions[institution_setup].items",
            "level-2 points of institution_setup sum to 21, not its weight 20",
        ),
        (
            edit("method: survey", "method: poll"),
            "dimensions[duty_performance].items[satisfaction].indicators[satisfaction].method",
            "unknown method 'poll'",
        ),
        (
            edit("rules: [B03]", "rules: [B09]"),
            "dimensions[institution_setup].items[internal_structure].indicators"
            "[internal_structure].deductions[0].rules",
            "unknown rule B09",
        ),
        (
            edit(
                "rules: [B03], per: finding, amount: 0.5",
                "rules: [B03], per: finding, amount: -0.5",
            ),
            "dimensions[institution_setup].items[internal_structure].indicators"
            "[internal_structure].deductions[0].amount",
            "amount must be at least 0, got -0.5",
        ),
        (
            edit("per: finding, amount: 0.5}", "per: person, amount: 0.5}"),
            "dimensions[institution_setup].items[internal_structure].indicators"
            "[internal_structure].deductions[0].per",
            "per must be finding or magnitude",
        ),
        (
            edit("rules: [B03]", "rules: [B03, B01]"),
            "dimensions[institution_setup].items[internal_structure].indicators"
            "[internal_structure].deductions[0].rules",
            "rule B01 already deducts in indicator compliant_setup",
        ),
        (edit("{A: 90, B: 75}", "{A: 70, B: 75}"), "grades.thresholds", "need 0 < B < A <= 100"),
        (edit("{A: 90, B: 75}", "{A: 90}"), "grades.thresholds", "thresholds must be {A: score"),
        (edit("{A: 90, B: 75}", "{A: 90, B: -5}"), "grades.thresholds.B", "must be positive"),
        (edit("a_share_cap: 0.30", "a_share_cap: 30"), "grades.a_share_cap", "share in (0, 1]"),
        (edit("veto: [P02, F01]", "veto: [P02, Z01]"), "grades.veto", "unknown rule Z01"),
        (edit("full_up_to: 5", "full_up_to: -5"), f"{VAC}.parameters.full_up_to", "at least 0"),
        (
            edit("measure: vacancy_rate", "measure: vacancies"),
            f"{VAC}.parameters.measure",
            "unknown measure",
        ),
        (
            edit("      deduct_per_unit: 0.2", "      per_point: 0.2"),
            f"{VAC}.parameters.per_point",
            "has no parameter 'per_point'",
        ),
        (
            edit("      deduct_per_unit: 0.2", "      per_point: 0.2"),
            f"{VAC}.parameters.deduct_per_unit",
            "needs parameter",
        ),
        (
            edit("zero_below: 0.4", "zero_below: 0.9"),
            "dimensions[duty_performance].items[workload].indicators[workload].parameters",
            "need zero_below < full_from <= full_to < zero_above",
        ),
        (
            edit(
                "            max: 6\n            method: threshold\n",
                "            max: -6\n            method: threshold\n",
            ),
            f"{VAC}.max",
            "max must be positive",
        ),
        (
            edit("  - id: annual_report\n", "  - id: reform_tasks\n"),
            "dimensions[party_leadership].items[reform_tasks].id",
            "item id 'reform_tasks' is used twice",
        ),
        (
            edit("          - id: vacancy\n", "          - id: Vacancy!\n"),
            "dimensions[staffing_use].items[vacancy].indicators[0].id",
            "lower_case",
        ),
        (
            edit(
                "            method: given_capped\n",
                "            method: given_capped\n            colour: red\n",
            ),
            "dimensions[unit_specific].items[targets].indicators[targets].colour",
            "unknown key 'colour'",
        ),
        (
            edit(
                "            method: deduction\n            deductions:\n              - {rules: [B01, B02]",
                "            method: deduction\n            dummy:\n              - {rules: [B01, B02]",
            ),
            "dimensions[institution_setup].items[compliant_setup].indicators[compliant_setup].deductions",
            "method deduction needs a deductions list",
        ),
        (
            edit("title: {zh: 党的领导, en: Party leadership}", "title: {zh: 党的领导}"),
            "dimensions[party_leadership].title",
            "exactly the keys zh and en",
        ),
    ],
)
def test_strict_validation(tmp_path: Path, text: str, column: str, message: str) -> None:
    has(problems(tmp_path, text), column, message)


def test_duplicate_keys(tmp_path: Path) -> None:
    found = problems(tmp_path, edit("grades:\n", "id: other\ngrades:\n"))
    assert "duplicate key 'id'" in found[0].message and found[0].row is not None


def test_missing_description(tmp_path: Path) -> None:
    text = DEFAULT.replace(
        "          - id: targets\n            title: {zh: 个性目标完成, en: Unit targets}\n",
        "          - id: targets\n            title: {zh: 个性目标完成, en: Unit targets}\n",
    )
    lines = text.splitlines(keepends=True)
    start = max(i for i, line in enumerate(lines) if "method: given_capped" in line)
    text = "".join(lines[: start + 1])  # drop the last indicator's description
    has(
        problems(tmp_path, text),
        "dimensions[unit_specific].items[targets].indicators[targets].description",
        "missing required key 'description'",
    )


def test_a_regions_own_rule_may_deduct(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    q01 = (BUILTIN_DIR / "Q01.yaml").read_text(encoding="utf-8")
    (folder / "XQ01.yaml").write_text(q01.replace("id: Q01", "id: XQ01"), encoding="utf-8")
    text = edit("rules: [B03]", "rules: [B03, XQ01]")
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="unknown rule XQ01"):
        load_model(path, RULES)
    model = load_model(path, load_rules([folder]))
    assert model.deduction_of_rule["XQ01"][0] == 4


def test_not_a_mapping(tmp_path: Path) -> None:
    has(problems(tmp_path, "- 1\n- 2\n"), "-", "must be a mapping")
