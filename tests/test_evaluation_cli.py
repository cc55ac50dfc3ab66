"""Scores, grades, verification, actions, workpapers and compare, through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sanding_rules.cli import EXIT_BAD_INPUT, main
from sanding_rules.report.breakdown import full_breakdown

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def audit(*args: str, dataset: Path = MINI) -> dict:
    code, out, err = run("audit", str(dataset), "--as-of", "2026-06-30", "--format", "json", *args)
    assert code != EXIT_BAD_INPUT, err
    return json.loads(out)


def unit(data: dict, uid: str) -> dict:
    return next(u for u in data["units"] if u["unit_id"] == uid)


def level3(u: dict, data: dict) -> list[dict]:
    return [i for d in full_breakdown(data, u) for item in d["items"] for i in item["indicators"]]


def test_every_unit_is_scored_graded_and_its_score_is_its_breakdown() -> None:
    data = audit()
    assert (
        data["summary"]["by_grade"]
        and sum(data["summary"]["by_grade"].values()) == data["summary"]["units"]
    )
    for u in data["units"]:
        assert 0 <= u["score"] <= 100
        assert u["grade"] in ("A", "B", "C") and u["grade_reason"]["code"] in (
            "threshold",
            "veto",
            "cap",
        )
        assert round(sum(i["score"] for i in level3(u, data)), 2) == pytest.approx(u["score"])
        for d in full_breakdown(data, u):
            assert round(sum(item["score"] for item in d["items"]), 2) == pytest.approx(d["score"])


def test_a_dismissal_restores_exactly_its_deduction_and_unmatched_verdicts_are_reported(
    tmp_path: Path,
) -> None:
    base = audit()
    target = max(base["findings"], key=lambda f: f["deducted"])
    assert target["deducted"] > 0
    verdicts = tmp_path / "verdicts.yaml"
    fp = target["fingerprint"]
    verdicts.write_text(
        f"- {{fingerprint: {fp}, verdict: dismissed, reason: 已核实为借调手续齐全, reviewer: 张三, date: 2026-07-10}}\n"
        "- {fingerprint: 0000000000000000, verdict: confirmed, reason: 核实属实, reviewer: 李四, date: 2026-07-10}\n",
        encoding="utf-8",
    )
    after = audit("--adjudications", str(verdicts))
    f = next(x for x in after["findings"] if x["fingerprint"] == target["fingerprint"])
    assert f["verdict"] == "dismissed" and f["deducted"] == 0 and f["reviewer"] == "张三"
    old, new = unit(base, target["unit_id"]), unit(after, target["unit_id"])
    ind = target["indicator"]
    old_ind = next(i for i in level3(old, base) if i["id"] == ind)
    new_ind = next(i for i in level3(new, after) if i["id"] == ind)
    # Clamping at 0 may hide part of a deduction; otherwise the score rises by exactly it.
    expected_gain = min(target["deducted"], old_ind["max"] - old_ind["score"])
    assert new_ind["score"] - old_ind["score"] == pytest.approx(expected_gain)
    assert new["score"] - old["score"] == pytest.approx(expected_gain)
    assert [v["fingerprint"] for v in after["adjudications_unmatched"]] == ["0000000000000000"]
    assert (
        after["summary"]["findings"] == base["summary"]["findings"]
    )  # dismissed findings stay listed
    _, table, _ = run("audit", str(MINI), "--as-of", "2026-06-30", "--adjudications", str(verdicts))
    assert "已驳回" in table and "0000000000000000" in table


def test_bad_adjudications_and_models_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "v.yaml"
    bad.write_text(
        "- {fingerprint: abc, verdict: maybe, reason: x, reviewer: y, date: 2026-07-10}\n",
        encoding="utf-8",
    )
    code, _, err = run("audit", str(MINI), "--adjudications", str(bad))
    assert code == EXIT_BAD_INPUT and "v.yaml" in err and "verdict" in err
    model = tmp_path / "m.yaml"
    model.write_text(
        (ROOT / "models" / "default.yaml")
        .read_text(encoding="utf-8")
        .replace("weight: 35", "weight: 36"),
        encoding="utf-8",
    )
    code, _, err = run("audit", str(MINI), "--model", str(model))
    assert code == EXIT_BAD_INPUT and "m.yaml" in err


def test_a_regional_model_changes_scores(tmp_path: Path) -> None:
    base = audit()
    model = tmp_path / "m.yaml"
    model.write_text(
        (ROOT / "models" / "default.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "- {rules: [Q01, Q02, Q04], per: magnitude, amount: 0.5}",
            "- {rules: [Q01, Q02, Q04], per: magnitude, amount: 1.0}",
        ),
        encoding="utf-8",
    )
    strict = audit("--model", str(model))
    q01 = next(f for f in base["findings"] if f["rule"] == "Q01")
    again = next(f for f in strict["findings"] if f["fingerprint"] == q01["fingerprint"])
    assert again["deducted"] == pytest.approx(2 * q01["deducted"])


def test_actions_name_the_findings_behind_them() -> None:
    data = audit()
    by_fp = {f["fingerprint"]: f for f in data["findings"]}
    seen = set()
    for u in data["units"]:
        assert u["actions"] == [a["action"] for a in u["action_details"]]
        for a in u["action_details"]:
            seen.add(a["action"])
            for fp in a["findings"]:
                assert by_fp[fp]["unit_id"] == u["unit_id"]
            if a["action"] in ("rectify", "reclaim", "abolish"):
                assert a["findings"], a
        if any(f["rule"] == "Q03" and f["unit_id"] == u["unit_id"] for f in data["findings"]):
            assert "reclaim" in u["actions"]
    assert "rectify" in seen


def test_xlsx_workpapers(tmp_path: Path) -> None:
    out = tmp_path / "wp.xlsx"
    code, _, _ = run(
        "audit", str(MINI), "--as-of", "2026-06-30", "--format", "xlsx", "--out", str(out)
    )
    assert code == 1
    wb = load_workbook(out)
    assert {"汇总", "问题清单", "自评得分表", "问题整改台账"} <= set(wb.sheetnames)
    findings = wb["问题清单"]
    data = audit()
    assert findings.max_row - 1 == len(data["findings"])
    assert findings.freeze_panes is not None and findings.auto_filter.ref


def test_compare_two_audits(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    run("audit", str(MINI), "--as-of", "2026-06-30", "--format", "json", "--out", str(old))
    fixed = tmp_path / "mini"
    shutil.copytree(MINI, fixed)
    (fixed / "roster.csv").write_text(
        "\n".join(
            line
            for line in (MINI / "roster.csv").read_text(encoding="utf-8").splitlines()
            if not line.startswith("P0706,")
        )
        + "\n",
        encoding="utf-8",
    )
    run("audit", str(fixed), "--as-of", "2026-06-30", "--format", "json", "--out", str(new))
    code, out, err = run("compare", str(old), str(new), "--format", "json")
    assert code == 0, err
    cmp = json.loads(out)
    resolved = [(f["rule"], f["unit_id"], f["subject"]) for f in cmp["findings"]["resolved"]]
    assert ("P05", "M07", "P0706") in resolved
    assert not cmp["findings"]["new"]
