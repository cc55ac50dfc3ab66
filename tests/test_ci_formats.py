"""CI outputs of `sanding audit`: JUnit XML, SARIF 2.1.0 and GitHub annotations.

JUnit and SARIF are validated against their schemas (../shared/schemas, skipped where
shared/ is absent), and a finding planted at a known line must point at that file and line
(or, in a workbook, at that sheet and cell).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from sanding_rules import synth
from sanding_rules.cli import EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_FINDINGS, main
from sanding_rules.report.github import command, escape_data, escape_property
from sanding_rules.report.locate import runs

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
COUNTY = ROOT / "fixtures" / "county"
SCHEMAS = ROOT.parent / "shared" / "schemas"
AS_OF = "2026-06-30"
# An 18-character ID number with a wrong check digit: P06 (error) for the planted person.
BAD_ID = "330121197005020139"
PLANTED = "P0999X"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def sarif_schema() -> dict:
    path = SCHEMAS / "sarif-schema-2.1.0.json"
    if not path.exists():
        pytest.skip(f"SARIF schema not found at {path} (the shared/ folder is absent)")
    return json.loads(path.read_text(encoding="utf-8"))


def junit_schema() -> etree.XMLSchema:
    path = SCHEMAS / "junit.xsd"
    if not path.exists():
        pytest.skip(f"JUnit schema not found at {path} (the shared/ folder is absent)")
    return etree.XMLSchema(etree.parse(str(path)))


def validate_sarif(doc: dict) -> None:
    import jsonschema

    jsonschema.Draft4Validator(sarif_schema()).validate(doc)


def validate_junit(data: bytes) -> etree._ElementTree:
    schema = junit_schema()
    tree = etree.ElementTree(etree.fromstring(data))
    assert schema.validate(tree), schema.error_log
    return tree


@pytest.fixture()
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, int]:
    """A copy of the mini sample at ./data with a person with a bad ID number inserted as
    roster line 10; the working directory is tmp_path (so paths are as a repository has them)."""
    folder = tmp_path / "data"
    shutil.copytree(MINI, folder)
    lines = (folder / "roster.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    row = f"{PLANTED},M03,admin,测试人员,{BAD_ID},M,1970-05-02,none,,科员,management,on_post,,\n"
    lines.insert(9, row)
    (folder / "roster.csv").write_text("".join(lines), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "data", 10


# --------------------------------------------------------------------------- SARIF


def test_sarif_validates_and_points_at_the_planted_line(planted: tuple[str, int]) -> None:
    dataset, line = planted
    code, out, err = run("audit", dataset, "--as-of", AS_OF, "--format", "sarif")
    assert code == EXIT_FINDINGS, err
    doc = json.loads(out)
    validate_sarif(doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    p06 = next(r for r in rules if r["id"] == "P06")
    assert p06["shortDescription"]["text"] == "身份证号无效"
    assert "GB 11643" in p06["help"]["text"] and "valid_id_number" in p06["help"]["text"]
    assert p06["properties"]["severity"] == "error" and p06["properties"]["action"] == "rectify"
    assert p06["defaultConfiguration"]["level"] == "error"
    res = [r for r in run_["results"] if r["ruleId"] == "P06"]
    hit = next(r for r in res if r["properties"]["subject"] == PLANTED)
    loc = hit["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "data/roster.csv", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": line}
    assert hit["level"] == "error"
    assert rules[hit["ruleIndex"]]["id"] == "P06"
    assert hit["partialFingerprints"]["sandingFingerprint/v1"] == hit["properties"]["fingerprint"]
    # The ID number is masked everywhere in the output.
    assert BAD_ID not in out and "330121********0139" in out
    # Levels: info -> note.
    levels = {r["ruleId"]: r["level"] for r in run_["results"]}
    assert levels["B03"] == "note" and levels["D01"] == "warning"


def test_sarif_lines_hold_the_findings_rows_on_the_county() -> None:
    code, out, _ = run("audit", str(COUNTY), "--as-of", AS_OF, "--format", "sarif")
    assert code == EXIT_FINDINGS
    doc = json.loads(out)
    validate_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == sum(1 for _ in csv.DictReader(open(COUNTY / "expected_findings.csv")))
    files: dict[str, list[str]] = {}
    checked = expected = 0
    for r in results:
        for loc in r["locations"] + r.get("relatedLocations", []):
            phys = loc["physicalLocation"]
            uri = phys["artifactLocation"]["uri"]
            folder, _, name = uri.rpartition("/")
            assert folder.endswith("fixtures/county"), uri
            lines = files.setdefault(
                name, (COUNTY / name).read_text(encoding="utf-8-sig").splitlines()
            )
            region = phys["region"]
            for n in range(region["startLine"], region.get("endLine", region["startLine"]) + 1):
                # Every source row names the finding's unit (payroll rows name the paying unit).
                assert r["properties"]["unit_id"] in lines[n - 1], (r["ruleId"], name, n)
                checked += 1
        rows = r["properties"]["rows"]
        assert r["locations"][0]["physicalLocation"]["region"]["startLine"] == rows[0]
        expected += len(rows) + sum(len(m["rows"]) for m in r["properties"]["more"])
    # Every source row of every finding is one of the lines pointed at.
    assert checked == expected > 100


def test_sarif_workbook_points_at_sheet_and_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import openpyxl

    ds = synth.generate(30, seed=11)
    synth.write(ds, tmp_path / "book", "workbook")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("audit", "book", "--as-of", AS_OF, "--format", "sarif")
    assert code in (EXIT_CLEAN, EXIT_FINDINGS)
    doc = json.loads(out)
    validate_sarif(doc)
    wb = openpyxl.load_workbook(tmp_path / "book" / synth.WORKBOOK_NAME, read_only=True)
    results = doc["runs"][0]["results"]
    person = [r for r in results if r["properties"]["subject"].startswith("P")]
    assert person, "the synthetic dataset has person findings"
    for r in results:
        loc = r["locations"][0]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == f"book/{synth.WORKBOOK_NAME}"
        assert "region" not in loc["physicalLocation"]  # a workbook is not text
        sheet = loc["properties"]["sheet"]
        assert sheet in wb.sheetnames
        logical = loc["logicalLocations"][0]
        assert logical["kind"] == "cell" and logical["fullyQualifiedName"].startswith(f"{sheet}!A")
        row = loc["properties"]["rows"][0]
        cells = [
            str(c) for c in next(wb[sheet].iter_rows(min_row=row, max_row=row, values_only=True))
        ]
        assert r["properties"]["unit_id"] in cells or r["properties"]["subject"] in cells
    wb.close()


# --------------------------------------------------------------------------- JUnit


def test_junit_validates_one_suite_per_rule_one_case_per_unit(planted: tuple[str, int]) -> None:
    dataset, line = planted
    code, out, err = run("audit", dataset, "--as-of", AS_OF, "--format", "junit")
    assert code == EXIT_FINDINGS, err
    data = (
        CliRunner()
        .invoke(main, ["audit", dataset, "--as-of", AS_OF, "--format", "junit"])
        .stdout_bytes
    )
    tree = validate_junit(data)
    audit = json.loads(run("audit", dataset, "--as-of", AS_OF, "--format", "json")[1])
    suites = tree.getroot().findall("testsuite")
    by_name = {s.get("package"): s for s in suites}
    assert {f"sanding.{r}" for r in audit["rules_evaluated"]} <= set(by_name)
    for rid in audit["rules_evaluated"]:
        suite = by_name[f"sanding.{rid}"]
        fs = [f for f in audit["findings"] if f["rule"] == rid]
        failures = suite.findall("testcase/failure")
        assert int(suite.get("failures")) == len(failures) == len(fs)
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert suite.get("name").startswith(rid + " ")
    # Q01 checks every unit with a quota fact: passing units once, failing units per finding.
    q01 = by_name["sanding.Q01"]
    names = [c.get("name").split()[0] for c in q01.findall("testcase")]
    assert set(names) == {u["unit_id"] for u in audit["units"]}
    p06 = by_name["sanding.P06"]
    fail = next(c for c in p06.findall("testcase") if PLANTED in c.get("name")).find("failure")
    assert fail.get("type") == "error" and "身份证号" in fail.get("message")
    assert f"data/roster.csv 第{line}行" in fail.text and BAD_ID not in fail.text


def test_junit_rule_not_evaluated_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    (folder / "payroll.csv").unlink()
    res = CliRunner().invoke(main, ["audit", str(folder), "--as-of", AS_OF, "--format", "junit"])
    tree = validate_junit(res.stdout_bytes)
    suite = next(
        s for s in tree.getroot().findall("testsuite") if s.get("package") == "sanding.F01"
    )
    assert suite.get("skipped") == "1" and suite.get("tests") == "1"
    skipped = suite.find("testcase/skipped")
    assert "payroll" in skipped.get("message") or "工资" in skipped.get("message")


def test_junit_to_file(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    code, stdout, _ = run(
        "audit", str(MINI), "--as-of", AS_OF, "--format", "junit", "--out", str(out)
    )
    assert code == EXIT_FINDINGS and stdout == ""
    validate_junit(out.read_bytes())


# --------------------------------------------------------------------------- GitHub


def test_github_annotations_name_file_and_line(planted: tuple[str, int]) -> None:
    dataset, line = planted
    code, out, _ = run("audit", dataset, "--as-of", AS_OF, "--format", "github")
    assert code == EXIT_FINDINGS
    lines = out.splitlines()
    hit = next(x for x in lines if PLANTED in x and "P06" in x)
    assert hit.startswith(f"::error file=data/roster.csv,line={line},title=P06 身份证号无效::")
    assert BAD_ID not in out
    # Every finding is one line; messages are escaped (no raw newlines inside an annotation).
    audit = json.loads(run("audit", dataset, "--as-of", AS_OF, "--format", "json")[1])
    annotations = [x for x in lines if x.startswith(("::error ", "::warning ", "::notice file="))]
    assert len(annotations) == len(audit["findings"])
    assert lines[-1].startswith("::notice title=sanding::")
    info = next(x for x in annotations if "title=B03" in x)
    assert info.startswith("::notice ")


def test_github_escaping() -> None:
    assert escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert escape_property("x:y,z%\n") == "x%3Ay%2Cz%25%0A"
    assert (
        command("error", "50%\nok", file="a,b:c.csv", line=3, title="Q01 x")
        == "::error file=a%2Cb%3Ac.csv,line=3,title=Q01 x::50%25%0Aok"
    )


def test_runs_merge_consecutive_rows() -> None:
    assert runs([16, 14, 15, 40, 41, 43]) == [(14, 16), (40, 41), (43, 43)]
    assert runs([]) == []


def test_bad_format_is_bad_input() -> None:
    code, _, _ = run("audit", str(MINI), "--format", "pdf")
    assert code == EXIT_BAD_INPUT


def test_ci_examples_are_valid_yaml() -> None:
    import yaml

    examples = ROOT / "docs" / "examples"
    workflow = yaml.safe_load((examples / "github-workflow.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["audit"]["steps"]
    assert any("--format github" in s.get("run", "") for s in steps)
    gitlab = yaml.safe_load((examples / "gitlab-ci.yml").read_text(encoding="utf-8"))
    assert gitlab["sanding-audit"]["artifacts"]["reports"]["junit"] == "sanding-junit.xml"
    hooks = yaml.safe_load((examples / "pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hooks == yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"sanding-audit", "sanding-audit-system"}
    assert all(h["entry"] == "sanding audit" and h["pass_filenames"] is False for h in hooks)
