"""`sanding compare`: two audits of the sample county, one with planted fixes and a new case."""

from __future__ import annotations

import copy
import csv
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from sanding_rules.audit import run_audit
from sanding_rules.cli import EXIT_BAD_INPUT, EXIT_CLEAN
from sanding_rules.compare import compare_audits, compare_command, render_compare
from sanding_rules.errors import InputError
from sanding_rules.idnumber import check_digit
from sanding_rules.report.jsonout import audit_json
from sanding_rules.report.table import width
from sanding_rules.rulefile import load_rules

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "fixtures" / "county"
AS_OF = date(2026, 6, 30)
# The planted Q, L, B and P cases of the sample county (fixtures/README.md); other rule
# families would see the planted edits through tables these tests do not keep consistent.
RULES = [r for r in load_rules() if r.id[0] in "QLBP"]

FIXED = {
    ("B02", "U0001", "U0001-90"),  # its three people moved out of the unapproved body
    ("Q01", "U0003", "logistics"),  # a logistics quota approved for the one worker
}
PLANTED = {("P01", "U0007", "P00000199")}  # born 1955, still on the roster


def _rewrite(path: Path, change) -> None:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    for row in rows:
        change(row)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def plant(folder: Path) -> None:
    """Fix two violations of the county and plant a new one."""
    born = "19550101"
    old_id = "330121197101179130"
    new_id = old_id[:6] + born + old_id[14:17]
    new_id += check_digit(new_id)

    def roster(row: dict) -> None:
        if row["所在机构"] == "U0001-90":
            row["所在机构"] = ""
        if row["人员编号"] == "P00000199":
            row["出生日期"] = "1955年1月1日"
            row["身份证号"] = new_id

    def payroll(row: dict) -> None:
        if row["person_id"] == "P00000199":
            row["id_number"] = new_id

    _rewrite(folder / "roster.csv", roster)
    _rewrite(folder / "payroll.csv", payroll)
    with open(folder / "quotas.csv", "a", encoding="utf-8") as fh:
        fh.write("U0003,logistics,1,双岭编〔2026〕1号,2026-01-01\n")


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> tuple[dict, dict]:
    old = audit_json(run_audit(COUNTY, RULES, AS_OF))
    folder = tmp_path_factory.mktemp("compare") / "county"
    shutil.copytree(COUNTY, folder)
    plant(folder)
    new = audit_json(run_audit(folder, RULES, AS_OF))
    return old, new


@pytest.fixture(scope="module")
def files(audits, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("compare_json")
    paths = []
    for name, audit in zip(("old.json", "new.json"), audits, strict=True):
        path = folder / name
        path.write_text(json.dumps(audit, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def bare(audit: dict) -> dict:
    """The audit as JSON without scores and grades (before the evaluation model)."""
    data = copy.deepcopy(audit)
    for u in data["units"]:
        for key in ("grade_reason", "breakdown", "action_details"):
            u.pop(key, None)
        u["score"] = u["grade"] = None
    return data


def keys(items: list[dict]) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["unit_id"], f["subject"]) for f in items}


def test_resolved_new_and_persisting_are_exactly_the_planted_ones(audits) -> None:
    old, new = audits
    before = keys(old["findings"])
    assert FIXED <= before and not PLANTED & before
    cmp = compare_audits(old, new)
    assert keys(cmp["findings"]["resolved"]) == FIXED
    assert keys(cmp["findings"]["new"]) == PLANTED
    assert keys(cmp["findings"]["persisting"]) == before - FIXED
    s = cmp["summary"]
    assert (s["resolved"], s["new"], s["persisting"]) == (2, 1, len(before) - 2)
    assert (s["findings_old"], s["findings_new"]) == (len(old["findings"]), len(new["findings"]))
    assert s["units_compared"] == 320
    assert s["units_only_in_old"] == s["units_only_in_new"] == 0
    assert s["by_rule"]["B02"]["resolved"] == 1 and s["by_rule"]["P01"]["new_findings"] == 1
    assert s["by_rule"]["P01"]["old"] + 1 == s["by_rule"]["P01"]["new"]
    # Resolved findings come as in the old audit, new ones as in the new, fingerprints kept.
    old_fp = {(f["rule"], f["unit_id"], f["subject"]): f["fingerprint"] for f in old["findings"]}
    for f in cmp["findings"]["resolved"]:
        assert f["fingerprint"] == old_fp[(f["rule"], f["unit_id"], f["subject"])]
    p01 = cmp["findings"]["new"][0]
    assert p01["unit_name"] and "1955" in p01["message"]
    assert all(f["message_old"] for f in cmp["findings"]["persisting"])
    units = {u["unit_id"]: u for u in cmp["units"]}
    assert units["U0001"]["resolved"] == 1 and units["U0001"]["new"] == 0
    assert units["U0003"]["findings_old"] - 1 == units["U0003"]["findings_new"]
    assert units["U0007"]["new"] == 1
    assert sum(u["persisting"] for u in cmp["units"]) == s["persisting"]


def test_audits_without_scores_compare_with_null_score_fields(audits) -> None:
    old, new = bare(audits[0]), bare(audits[1])
    assert all(u["score"] is None for u in new["units"])
    cmp = compare_audits(old, new)
    for u in cmp["units"]:
        assert u["score_old"] is u["score_new"] is u["score_delta"] is None
        assert u["grade_change"] is None
    s = cmp["summary"]
    assert s["score_not_comparable"] == s["grade_not_comparable"] == 320
    assert s["score_up"] == s["grade_up"] == 0
    # Fields an older audit JSON lacks altogether are treated the same way.
    older = copy.deepcopy(old)
    for u in older["units"]:
        del u["score"], u["grade"]
    assert compare_audits(older, new)["summary"]["score_not_comparable"] == 320


def test_score_and_grade_changes(audits) -> None:
    old, new = bare(audits[0]), bare(audits[1])
    scores = {  # unit: (old score, old grade, new score, new grade)
        "U0001": (88.5, "B", 92.25, "A"),
        "U0003": (74.0, "C", 74.0, "C"),
        "U0007": (91.0, "A", 89.5, "B"),
        "U0012": (80.0, "B", 80.0, "B"),
    }
    for audit, idx in ((old, 0), (new, 2)):
        for u in audit["units"]:
            if u["unit_id"] in scores:
                u["score"], u["grade"] = scores[u["unit_id"]][idx : idx + 2]
    cmp = compare_audits(old, new)
    units = {u["unit_id"]: u for u in cmp["units"]}
    assert units["U0001"]["score_delta"] == pytest.approx(3.75)
    assert units["U0001"]["grade_change"] == "up"
    assert (units["U0003"]["score_delta"], units["U0003"]["grade_change"]) == (0, "same")
    assert units["U0007"]["score_delta"] == pytest.approx(-1.5)
    assert (units["U0007"]["grade_old"], units["U0007"]["grade_new"]) == ("A", "B")
    assert units["U0007"]["grade_change"] == "down"
    assert units["U0002"]["score_delta"] is None
    s = cmp["summary"]
    assert (s["score_up"], s["score_down"], s["score_unchanged"]) == (1, 1, 2)
    assert (s["grade_up"], s["grade_down"], s["grade_unchanged"]) == (1, 1, 2)
    assert s["score_not_comparable"] == 316
    text = render_compare(cmp, "zh", cols=100)
    assert "88.5→92.25" in text and "+3.75" in text and "B→A" in text


def test_scored_audits_as_audit_json_builds_them(audits) -> None:
    old, new = audits
    if all(u.get("score") is None for u in new["units"]):
        pytest.skip("audit_json has no scores yet")
    cmp = compare_audits(old, new)
    units = {u["unit_id"]: u for u in cmp["units"]}
    assert all(u["score_delta"] is not None for u in cmp["units"])
    assert cmp["summary"]["score_not_comparable"] == 0
    # A violation fixed can only raise the score, one planted only lower it.
    assert units["U0001"]["score_delta"] >= 0 and units["U0003"]["score_delta"] >= 0
    assert units["U0007"]["score_delta"] <= 0
    for u in cmp["units"]:
        assert u["score_delta"] == pytest.approx(u["score_new"] - u["score_old"])


def test_units_only_in_one_audit(audits) -> None:
    old, new = copy.deepcopy(audits[0]), copy.deepcopy(audits[1])
    gone = "U0012"
    n_gone = sum(f["unit_id"] == gone for f in old["findings"])
    new["units"] = [u for u in new["units"] if u["unit_id"] != gone]
    new["findings"] = [f for f in new["findings"] if f["unit_id"] != gone]
    new["units"].append({"unit_id": "U9999", "unit_name": "新设中心", "score": 95.0, "grade": "A"})
    cmp = compare_audits(old, new)
    assert [u["unit_id"] for u in cmp["units_only_in_old"]] == [gone]
    assert cmp["units_only_in_old"][0]["findings"] == n_gone
    assert cmp["units_only_in_new"] == [
        {"unit_id": "U9999", "unit_name": "新设中心", "score": 95.0, "grade": "A", "findings": 0}
    ]
    s = cmp["summary"]
    assert (s["units_compared"], s["units_only_in_old"], s["units_only_in_new"]) == (319, 1, 1)
    assert s["resolved"] == len(FIXED) + n_gone
    text = render_compare(cmp, "en", cols=100)
    assert "Units only in the old audit (1)" in text and "U9999 新设中心" in text


def test_message_language(audits) -> None:
    cmp = compare_audits(*audits, lang="en")
    f = cmp["findings"]["new"][0]
    assert f["message"] == f["messages"]["en"] != f["messages"]["zh"]
    zh = compare_audits(*audits)
    assert zh["findings"]["new"][0]["message"] == zh["findings"]["new"][0]["messages"]["zh"]


def test_not_an_audit_object_is_refused() -> None:
    with pytest.raises(InputError):
        compare_audits({"findings": []}, {"findings": [], "units": []})


@pytest.mark.parametrize("cols", [80, 100, 140])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_table_fits_the_width(audits, lang: str, cols: int) -> None:
    text = render_compare(compare_audits(*audits, lang=lang), lang, cols=cols)
    too_wide = [line for line in text.splitlines() if width(line) > cols]
    assert not too_wide, too_wide[:3]


def invoke(*args: str):
    res = CliRunner().invoke(compare_command, [str(a) for a in args])
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res


def test_command_table_in_chinese_and_english(files) -> None:
    res = invoke(*files)
    assert res.exit_code == EXIT_CLEAN, res.stderr
    out = res.stdout
    assert out.startswith("三定审计对比")
    assert "已整改 2 项，新发现 1 项" in out
    assert "已整改的问题（原有、现无） (2)" in out and "新发现的问题（原无、现有） (1)" in out
    assert "P00000199" in out and "U0001-90" in out
    res = invoke(*files, "--lang", "en")
    assert res.exit_code == EXIT_CLEAN
    assert res.stdout.startswith("Audit comparison")
    assert (
        "2 resolved, 1 new" in res.stdout and "Resolved (in the old audit only) (2)" in res.stdout
    )


def test_command_json_and_out(files, audits, tmp_path: Path) -> None:
    res = invoke(*files, "--format", "json")
    assert res.exit_code == EXIT_CLEAN
    data = json.loads(res.stdout)
    expected = compare_audits(*audits, lang="zh")
    expected["old"]["file"], expected["new"]["file"] = str(files[0]), str(files[1])
    assert data == expected
    assert data["comparison"] == 1
    assert set(data) == {
        "comparison",
        "old",
        "new",
        "summary",
        "units",
        "units_only_in_old",
        "units_only_in_new",
        "findings",
    }
    out = tmp_path / "cmp.json"
    res = invoke(*files, "--format", "json", "--lang", "en", "--out", out)
    assert res.exit_code == EXIT_CLEAN and res.stdout == ""
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["new"] == 1
    out = tmp_path / "cmp.txt"
    assert invoke(*files, "--out", out).exit_code == EXIT_CLEAN
    assert "三定审计对比" in out.read_text(encoding="utf-8")


def test_command_bad_input_names_the_file(files, tmp_path: Path) -> None:
    old, _ = files
    missing = tmp_path / "missing.json"
    not_json = tmp_path / "notes.json"
    not_json.write_text("三定 {", encoding="utf-8")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    no_units = tmp_path / "cmp.json"
    no_units.write_text(json.dumps({"findings": [], "summary": {}}), encoding="utf-8")
    bad_finding = tmp_path / "bad_finding.json"
    bad_finding.write_text(json.dumps({"findings": [{"x": 1}], "units": []}), encoding="utf-8")
    binary = tmp_path / "book.json"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00")
    for bad, why in (
        (missing, "file not found"),
        (not_json, "not JSON"),
        (listing, "not an audit"),
        (no_units, "no list 'units'"),
        (bad_finding, "findings[0]"),
        (binary, "not UTF-8"),
        (tmp_path, "not a file"),
    ):
        res = invoke(old, bad)
        assert res.exit_code == EXIT_BAD_INPUT, (bad, res.stdout)
        assert res.stdout == ""
        assert "bad input" in res.stderr
        assert f"{bad}: " in res.stderr and why in res.stderr, res.stderr
    # Both files wrong: both named.
    res = invoke(missing, listing)
    assert res.exit_code == EXIT_BAD_INPUT
    assert str(missing) in res.stderr and str(listing) in res.stderr
