"""The `sanding` command line: outputs, exit codes, bad input, overrides, rule commands."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from sanding_rules.cli import EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_FINDINGS, main
from sanding_rules.ruledocs import write_docs
from sanding_rules.rulefile import load_rules

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
COUNTY = ROOT / "fixtures" / "county"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def audit_json(*args: str, dataset: Path = MINI) -> tuple[int, dict]:
    code, out, err = run("audit", str(dataset), "--as-of", "2026-06-30", "--format", "json", *args)
    assert code != EXIT_BAD_INPUT, err
    return code, json.loads(out)


def expected(folder: Path) -> Counter:
    with open(folder / "expected_findings.csv", encoding="utf-8-sig") as fh:
        return Counter((r["rule"], r["unit_id"], r["subject"]) for r in csv.DictReader(fh))


def keys(data: dict) -> Counter:
    return Counter((f["rule"], f["unit_id"], f["subject"]) for f in data["findings"])


@pytest.fixture()
def mini(tmp_path: Path) -> Path:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    return folder


def test_json_follows_the_contract() -> None:
    code, data = audit_json()
    assert code == EXIT_FINDINGS
    assert keys(data) == expected(MINI)
    assert data["as_of"] == "2026-06-30"
    assert data["rules_not_evaluated"] == []
    assert sorted(data["rules_evaluated"]) == sorted(r.id for r in load_rules())
    f = next(f for f in data["findings"] if f["rule"] == "Q01" and f["unit_id"] == "M02")
    for key in (
        "rule",
        "severity",
        "unit_id",
        "subject",
        "action",
        "message",
        "evidence",
        "basis",
        "source",
    ):
        assert key in f
    assert f["severity"] == "error" and f["action"] == "rectify" and f["subject"] == "admin"
    assert f["evidence"]["actual"] > f["evidence"]["approved"]
    assert (
        f["source"]["file"] == "roster.csv" and len(f["source"]["rows"]) == f["evidence"]["actual"]
    )
    assert "行政编制" in f["message"] and "486" in f["basis"]
    summary = data["summary"]
    assert summary["units"] == 9 and summary["findings"] == len(data["findings"])
    assert summary["by_rule"]["Q01"] == 2
    unit = next(u for u in data["units"] if u["unit_id"] == "M02")
    assert unit["actions"] == ["rectify"]


def test_source_rows_point_at_the_csv_lines() -> None:
    _, data = audit_json()
    lines = (MINI / "roster.csv").read_text(encoding="utf-8").splitlines()
    for f in data["findings"]:
        if f["rule"] in ("P05", "P06", "Q04", "L05"):
            (row,) = f["source"]["rows"]
            assert lines[row - 1].startswith(f["subject"] + ","), (f["rule"], row)


def test_english_output_and_engine_path_agree() -> None:
    _, zh = audit_json()
    _, en = audit_json("--lang", "en", "--engine", "rete")
    assert keys(zh) == keys(en)
    q01 = next(f for f in en["findings"] if f["rule"] == "Q01")
    assert "approved" in q01["message"] and "Regulations" in q01["basis"]


def test_fail_on_and_exit_codes(mini: Path) -> None:
    only_b03 = [f"--disable={r.id}" for r in load_rules() if r.id != "B03"]
    code, data = audit_json(*only_b03, dataset=mini)
    assert code == EXIT_CLEAN and {f["severity"] for f in data["findings"]} == {"info"}
    code, _ = audit_json(*only_b03, "--fail-on", "info", dataset=mini)
    assert code == EXIT_FINDINGS
    code, _ = audit_json("--fail-on", "never", dataset=mini)
    assert code == EXIT_CLEAN


def test_a_clean_dataset_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(
        "unit_id,name,kind\nU1,某县审计局,party_gov\n", encoding="utf-8"
    )
    (tmp_path / "quotas.csv").write_text(
        "unit_id,category,approved\nU1,admin,1\n", encoding="utf-8"
    )
    (tmp_path / "roster.csv").write_text(
        "person_id,unit_id,category\nP1,U1,admin\n", encoding="utf-8"
    )
    code, out, _ = run("audit", str(tmp_path), "--as-of", "2026-06-30")
    assert code == EXIT_CLEAN
    assert "未发现问题" in out


def test_id_numbers_are_masked_unless_asked(mini: Path) -> None:
    roster = (mini / "roster.csv").read_text(encoding="utf-8")
    _, data = audit_json()
    p02 = next(f for f in data["findings"] if f["rule"] == "P02")
    masked = p02["evidence"]["id_number"]
    assert "*" in masked and masked not in roster
    _, full = audit_json("--show-id-numbers")
    p02 = next(f for f in full["findings"] if f["rule"] == "P02")
    assert p02["evidence"]["id_number"] in roster
    _, table, _ = run("audit", str(MINI), "--as-of", "2026-06-30")
    full_ids = {
        f["evidence"]["id_number"] for f in full["findings"] if f["evidence"].get("id_number")
    }
    assert full_ids and not any(i in table for i in full_ids)


def test_table_output_is_chinese_by_default_and_english_on_request() -> None:
    _, zh, _ = run("audit", str(MINI), "--as-of", "2026-06-30")
    assert "按规则汇总" in zh and "分类超编" in zh and "M02" in zh
    _, en, _ = run("audit", str(MINI), "--as-of", "2026-06-30", "--lang", "en")
    assert "Findings by rule" in en and "Over quota by category" in en


def test_csv_output(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    code, _, _ = run(
        "audit", str(MINI), "--as-of", "2026-06-30", "--format", "csv", "--out", str(out)
    )
    assert code == EXIT_FINDINGS
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert Counter((r["规则"], r["单位代码"], r["对象"]) for r in rows) == expected(MINI)


def test_a_missing_table_makes_only_its_rules_not_evaluated(mini: Path) -> None:
    (mini / "quotas.csv").unlink()
    _, data = audit_json(dataset=mini)
    skipped = {n["rule"]: n for n in data["rules_not_evaluated"]}
    assert set(skipped) == {"Q01", "Q02", "Q03", "Q05", "D04"}
    assert skipped["Q01"]["reasons"]["en"] == "no quotas table"
    assert "Q04" in data["rules_evaluated"] and not any(
        f["rule"].startswith(("Q01", "Q02")) for f in data["findings"]
    )
    assert any(f["rule"] == "Q04" for f in data["findings"])


def test_a_missing_column_makes_its_rules_not_evaluated(mini: Path) -> None:
    path = mini / "roster.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = header.index("birth_date")
    path.write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines)
        + "\n",
        encoding="utf-8",
    )
    _, data = audit_json(dataset=mini)
    skipped = {n["rule"] for n in data["rules_not_evaluated"]}
    assert skipped == {"P01"}
    assert not any(f["rule"] == "P01" for f in data["findings"])


@pytest.mark.parametrize(
    "file, old, new, expected_text",
    [
        (
            "roster.csv",
            ",admin,",
            ",adminn,",
            "roster.csv, row 2, column category: unknown category 'adminn'",
        ),
        ("roster.csv", "1970-05-02", "1970-13-02", "roster.csv, row 2, column birth_date"),
        ("roster.csv", "P0101,M01", "P0101,M99", "roster.csv, row 2, column unit_id"),
        ("roster.csv", "P0102,", "P0101,", "roster.csv, row 3, column person_id"),
        ("quotas.csv", "unit_id,category,approved", "unit_id,category,approve", "quotas.csv"),
    ],
)
def test_bad_input_exits_2_naming_file_row_and_column(
    mini: Path, file: str, old: str, new: str, expected_text: str
) -> None:
    path = mini / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, out, err = run("audit", str(mini), "--as-of", "2026-06-30", "--format", "json")
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert expected_text in err


@pytest.mark.parametrize(
    "args, expected_text",
    [
        (["--as-of", "2026-02-30"], "--as-of"),
        (["--param", "Q03.nosuch=1"], "rule Q03 has no parameter 'nosuch'"),
        (["--param", "Q03.min_vacant=abc"], "must be a number"),
        (["--param", "Q03.max_vacancy_ratio=2"], "at most"),
        (["--disable", "ZZ01"], "no rule ZZ01"),
    ],
)
def test_bad_options_exit_2(args: list[str], expected_text: str) -> None:
    code, _, err = run("audit", str(MINI), *args)
    assert code == EXIT_BAD_INPUT
    assert expected_text in err


def test_missing_dataset_and_bad_user_rules_exit_2(tmp_path: Path) -> None:
    code, _, err = run("audit", str(tmp_path / "nope"), "--as-of", "2026-06-30")
    assert code == EXIT_BAD_INPUT and "not found" in err
    (tmp_path / "X01.yaml").write_text("id: X01\ntitle: {zh: 甲}\n", encoding="utf-8")
    code, _, err = run("audit", str(MINI), "--rules", str(tmp_path))
    assert code == EXIT_BAD_INPUT and "X01.yaml" in err


def test_parameter_overrides_per_run_and_per_region(mini: Path, tmp_path: Path) -> None:
    _, base = audit_json(dataset=mini)
    assert any(f["rule"] == "Q03" for f in base["findings"])
    _, relaxed = audit_json("--param", "Q03.min_vacant=1000", dataset=mini)
    assert not any(f["rule"] == "Q03" for f in relaxed["findings"])
    units = (
        (mini / "units.csv")
        .read_text(encoding="utf-8")
        .replace(
            "M03,青石县疾病预防控制中心,institution,M09,,青石县",
            "M03,青石县疾病预防控制中心,institution,M09,,山区",
        )
    )
    (mini / "units.csv").write_text(units, encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("regions:\n  山区:\n    Q03: {min_vacant: 1000}\n", encoding="utf-8")
    for engine in ("bulk", "rete"):
        _, regional = audit_json("--params", str(params), "--engine", engine, dataset=mini)
        assert not any(f["rule"] == "Q03" and f["unit_id"] == "M03" for f in regional["findings"])
        assert keys(regional) == keys(base) - Counter({("Q03", "M03", "institution"): 1})


def test_user_rule_folder(tmp_path: Path) -> None:
    (tmp_path / "X01.yaml").write_text(
        (ROOT / "rules" / "Q01.yaml")
        .read_text(encoding="utf-8")
        .replace("id: Q01", "id: X01")
        .replace("counted > approved", "counted >= approved and counted > 0"),
        encoding="utf-8",
    )
    _, data = audit_json("--rules", str(tmp_path), "--no-builtin")
    assert data["rules_evaluated"] == ["X01"]
    assert {f["rule"] for f in data["findings"]} == {"X01"}
    assert len(data["findings"]) > 2


def test_rules_commands(tmp_path: Path) -> None:
    code, out, _ = run("rules", "list")
    assert code == 0 and "Q01" in out and "分类超编" in out
    code, out, _ = run("rules", "show", "P01", "--lang", "en")
    assert code == 0 and "2025-01-01" in out and "retirement_date" in out
    code, out, _ = run("rules", "test")
    assert code == 0 and " 0 failed" in out
    code, out, _ = run("rules", "docs", "--out", str(tmp_path / "docs"))
    assert code == 0 and (tmp_path / "docs" / "Q01.md").exists()


def test_rules_test_reports_a_failing_case(tmp_path: Path) -> None:
    shutil.copy(ROOT / "rules" / "Q01.yaml", tmp_path / "Q01.yaml")
    cases = (ROOT / "rules" / "Q01.cases.yaml").read_text(encoding="utf-8")
    (tmp_path / "Q01.cases.yaml").write_text(
        cases.replace("approved: 1, over: 1", "approved: 1, over: 7"), encoding="utf-8"
    )
    code, out, _ = run("rules", "test", str(tmp_path))
    assert code == 1 and "evidence over is 1, expected 7" in out


def test_generated_rule_docs_are_up_to_date(tmp_path: Path) -> None:
    write_docs(load_rules(), tmp_path)
    committed = ROOT / "docs" / "rules"
    for page in tmp_path.iterdir():
        assert (committed / page.name).read_text(encoding="utf-8") == page.read_text(
            encoding="utf-8"
        ), f"docs/rules/{page.name} is stale: run `sanding rules docs`"
