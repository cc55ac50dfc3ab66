"""Baselines: `sanding baseline` records today's findings; `--baseline` makes only new ones
count. Matching is on rule, unit, subject and file, never on lines."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from sanding_rules.baseline import Baseline, BaselineEntry, finding_key, triage
from sanding_rules.cli import EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_FINDINGS, main
from sanding_rules.findings import Finding

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
AS_OF = "2026-06-30"
OVER_AGE = "P0601"  # P01 (over retirement age) in M06, roster line 39 of the mini sample


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def audit(folder: Path, *args: str, fmt: str = "json") -> tuple[int, dict | str, str]:
    code, out, err = run("audit", str(folder), "--as-of", AS_OF, "--format", fmt, *args)
    assert code != EXIT_BAD_INPUT, err
    return code, (json.loads(out) if fmt == "json" else out), err


@pytest.fixture()
def roster(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the mini sample and its baseline."""
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    base = tmp_path / "baseline.json"
    code, _, err = run("baseline", str(folder), "--as-of", AS_OF, "-o", str(base))
    assert code == EXIT_CLEAN, err
    return folder, base


def roster_lines(folder: Path) -> list[str]:
    return (folder / "roster.csv").read_text(encoding="utf-8").splitlines(keepends=True)


def write_lines(folder: Path, lines: list[str]) -> None:
    (folder / "roster.csv").write_text("".join(lines), encoding="utf-8")


def test_baseline_file_records_every_finding(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    doc = json.loads(base.read_text(encoding="utf-8"))
    assert doc["version"] == 1 and doc["as_of"] == AS_OF and doc["dataset"] == str(folder)
    _, data, _ = audit(folder)
    assert {(e["rule"], e["unit_id"], e["subject"], e["file"]) for e in doc["findings"]} == {
        (f["rule"], f["unit_id"], f["subject"], f["source"].get("file", ""))
        for f in data["findings"]
    }
    assert {e["fingerprint"] for e in doc["findings"]} == {
        f["fingerprint"] for f in data["findings"]
    }
    assert set(doc["findings"][0]) == {"rule", "unit_id", "subject", "file", "fingerprint"}
    # No lines in a baseline.
    assert "rows" not in base.read_text(encoding="utf-8")
    # To stdout as well.
    code, out, _ = run("baseline", str(folder), "--as-of", AS_OF)
    assert code == EXIT_CLEAN and json.loads(out) == doc


def test_unchanged_data_is_all_known(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    code, data, _ = audit(folder, "--baseline", str(base))
    assert code == EXIT_CLEAN
    s = data["summary"]
    assert s["known"] == s["findings"] > 0 and s["new"] == 0 and s["baseline_fixed"] == 0
    assert {f["baseline"] for f in data["findings"]} == {"known"}
    # Without the baseline the same data fails.
    assert audit(folder)[0] == EXIT_FINDINGS


def test_a_moved_row_stays_known(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    lines = roster_lines(folder)
    i = next(n for n, x in enumerate(lines) if x.startswith(OVER_AGE + ","))
    row = lines.pop(i)
    lines.append(row)  # from line 39 to the last line
    write_lines(folder, lines)
    code, data, _ = audit(folder, "--baseline", str(base))
    f = next(f for f in data["findings"] if f["rule"] == "P01" and f["subject"] == OVER_AGE)
    assert f["source"]["rows"] == [len(lines)]
    assert f["baseline"] == "known" and f["status"] == "known"
    assert code == EXIT_CLEAN and data["summary"]["new"] == 0


def test_a_new_violation_fails_even_beside_known_ones(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    lines = roster_lines(folder)
    # A second over-age person in M06: same rule and unit as a known finding, new subject.
    lines.append(
        "P0699,M06,institution,新来人,330121195001010013,M,1950-01-01,none,,教师,professional,on_post,,\n"
    )
    write_lines(folder, lines)
    code, data, _ = audit(folder, "--baseline", str(base))
    assert code == EXIT_FINDINGS
    new = [f for f in data["findings"] if f["baseline"] == "new"]
    assert ("P01", "M06", "P0699") in {(f["rule"], f["unit_id"], f["subject"]) for f in new}
    assert all(f["status"] == "new" for f in new)
    known = next(f for f in data["findings"] if f["subject"] == OVER_AGE)
    assert known["baseline"] == "known"
    assert data["summary"]["new"] == len(new) and data["summary"]["known"] > 0
    # --fail-on never still never fails.
    assert audit(folder, "--baseline", str(base), "--fail-on", "never")[0] == EXIT_CLEAN


def test_a_fixed_violation_is_reported(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    lines = [x for x in roster_lines(folder) if not x.startswith(OVER_AGE + ",")]
    write_lines(folder, lines)
    _, data, _ = audit(folder, "--baseline", str(base))
    fixed = {(e["rule"], e["unit_id"], e["subject"]) for e in data["baseline_fixed"]}
    assert ("P01", "M06", OVER_AGE) in fixed
    assert data["summary"]["baseline_fixed"] == len(data["baseline_fixed"])
    _, text, _ = audit(folder, "--baseline", str(base), fmt="table")
    assert "基线中已不存在（已整改）" in text


def test_known_and_new_in_every_output(roster: tuple[Path, Path]) -> None:
    folder, base = roster
    lines = roster_lines(folder)
    lines.append(
        "P0699,M06,institution,新来人,330121195001010013,M,1950-01-01,none,,教师,professional,on_post,,\n"
    )
    write_lines(folder, lines)
    _, data, _ = audit(folder, "--baseline", str(base))
    n_new, n_known = data["summary"]["new"], data["summary"]["known"]
    # CSV: a status and a baseline column.
    _, text, _ = audit(folder, "--baseline", str(base), fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(r["基线"] == "new" for r in rows) == n_new
    assert sum(r["状态"] == "known" for r in rows) == n_known
    # Table: the counts and a mark on each known finding.
    _, text, _ = audit(folder, "--baseline", str(base), fmt="table")
    assert f"新增问题 {n_new} 项，基线已知 {n_known} 项，已豁免 0 项" in text
    assert text.count("[基线已知]") == n_known
    # SARIF: baselineState.
    _, text, _ = audit(folder, "--baseline", str(base), fmt="sarif")
    states = [r["baselineState"] for r in json.loads(text)["runs"][0]["results"]]
    assert states.count("new") == n_new and states.count("unchanged") == n_known
    # JUnit: known findings are skipped, new ones fail.
    res = CliRunner().invoke(
        main,
        ["audit", str(folder), "--as-of", AS_OF, "--format", "junit", "--baseline", str(base)],
    )
    root = etree.fromstring(res.stdout_bytes)
    rule_suites = [s for s in root.findall("testsuite") if s.get("package").count(".") == 1]
    assert sum(len(s.findall("testcase/failure")) for s in rule_suites) == n_new
    assert sum(len(s.findall("testcase/skipped")) for s in rule_suites) == n_known
    # GitHub: only new findings are annotated.
    _, text, _ = audit(folder, "--baseline", str(base), fmt="github")
    assert len([x for x in text.splitlines() if " file=" in x]) == n_new


def test_matching_uses_the_file_and_never_the_rows() -> None:
    def finding(rows: list[int], file: str = "roster.csv", subject: str = "P1") -> Finding:
        return Finding(
            rule="P01",
            severity="error",
            unit_id="U1",
            subject=subject,
            action="rectify",
            messages={"zh": "", "en": ""},
            evidence={},
            basis={"zh": "", "en": ""},
            source={"file": file, "rows": rows},
        )

    old = finding([14])
    base = Baseline([BaselineEntry(*finding_key(old), old.fingerprint)])
    t = triage([finding([99])], old_date(), base)
    assert t.status(finding([99])) == "known"
    moved_file = finding([14], file="roster.xlsx")
    assert triage([moved_file], old_date(), base).status(moved_file) == "new"
    other = finding([14], subject="P2")
    t = triage([other], old_date(), base)
    assert t.status(other) == "new" and [e.subject for e in t.fixed] == ["P1"]


def old_date():
    from datetime import date

    return date(2026, 6, 30)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON baseline"),
        ('{"version": 2, "findings": []}', "unsupported baseline version"),
        ('{"version": 1}', "findings list"),
        ('{"version": 1, "findings": [{"rule": "Q01"}]}', "finding 1: missing unit_id"),
        (
            '{"version": 1, "findings": [{"rule": "Q01", "unit_id": "U1", "subject": "a", '
            '"file": "r.csv", "fingerprint": "x", "rows": [3]}]}',
            "finding 1: unknown keys rows",
        ),
    ],
)
def test_a_bad_baseline_is_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content, encoding="utf-8")
    code, _, err = run("audit", str(MINI), "--as-of", AS_OF, "--baseline", str(path))
    assert code == EXIT_BAD_INPUT
    assert "b.json" in err and message in err


def test_a_missing_baseline_is_bad_input(tmp_path: Path) -> None:
    code, _, err = run("audit", str(MINI), "--baseline", str(tmp_path / "none.json"))
    assert code == EXIT_BAD_INPUT and "none.json" in err


def test_baseline_of_a_missing_dataset_is_bad_input(tmp_path: Path) -> None:
    code, _, err = run("baseline", str(tmp_path / "nowhere"), "-o", str(tmp_path / "b.json"))
    assert code == EXIT_BAD_INPUT and "nowhere" in err
    assert not (tmp_path / "b.json").exists()
