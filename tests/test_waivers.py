"""Waivers: approved, dated exceptions. Active ones mark findings waived (counted separately,
never failing the run); expired ones stop applying and are reported; so are unmatched ones;
a malformed file is bad input naming the file and the entry."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from sanding_rules.cli import EXIT_BAD_INPUT, EXIT_CLEAN, EXIT_FINDINGS, main
from sanding_rules.findings import fingerprint

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
AS_OF = "2026-06-30"
BAD_ID = "330121197005020139"
PERSON = "P0999X"  # planted in M03 with a bad ID number: P06, an error
STAMP = "reason: 待公安户籍核对, approver: 县编办 王五, doc_no: 双编办〔2026〕12号"


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """The mini sample baselined, then one new error (P06) planted: the run fails on it alone."""
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    base = tmp_path / "baseline.json"
    assert run("baseline", str(folder), "--as-of", AS_OF, "-o", str(base))[0] == EXIT_CLEAN
    with open(folder / "roster.csv", "a", encoding="utf-8") as fh:
        fh.write(
            f"{PERSON},M03,institution,测试人员,{BAD_ID},M,1970-05-02,none,,医师,professional,"
            "on_post,,\n"
        )
    return folder, base


def audit(folder: Path, base: Path, waivers: Path, *args: str, fmt: str = "json"):
    code, out, err = run(
        "audit",
        str(folder),
        "--as-of",
        AS_OF,
        "--baseline",
        str(base),
        "--waivers",
        str(waivers),
        "--format",
        fmt,
        *args,
    )
    return code, (json.loads(out) if fmt == "json" and code != EXIT_BAD_INPUT else out), err


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_waiver_the_new_error_fails(setup: tuple[Path, Path], tmp_path: Path) -> None:
    folder, base = setup
    code, data, _ = audit(folder, base, write(tmp_path, "[]\n"))
    assert code == EXIT_FINDINGS
    assert data["summary"]["new"] >= 1 and data["summary"]["waived"] == 0


def test_an_active_waiver_waives_and_never_fails(setup: tuple[Path, Path], tmp_path: Path) -> None:
    folder, base = setup
    # Expiring on the audit date itself: still in force.
    path = write(
        tmp_path, f"- {{rule: P06, unit_id: M03, subject: {PERSON}, {STAMP}, expires: {AS_OF}}}\n"
    )
    code, data, _ = audit(folder, base, path)
    new = [f for f in data["findings"] if f["status"] == "new"]
    # The planted person's other new findings (not paid: F02) are below error.
    assert new and all(f["severity"] != "error" for f in new)
    assert code == EXIT_CLEAN
    f = next(f for f in data["findings"] if f["subject"] == PERSON and f["rule"] == "P06")
    assert f["status"] == "waived" and f["baseline"] == "new"
    assert f["waived"] == {
        "reason": "待公安户籍核对",
        "approver": "县编办 王五",
        "doc_no": "双编办〔2026〕12号",
        "expires": AS_OF,
    }
    s = data["summary"]
    assert s["waived"] == 1 and s["new"] + s["known"] + s["waived"] == s["findings"]
    assert data["waivers_expired"] == [] and data["waivers_unmatched"] == []
    # The waived finding still deducts (a waiver is a CI decision, not a verdict).
    assert f["deducted"] > 0
    assert {x["subject"] for x in new} == {PERSON}


def test_waivers_select_by_fingerprint(setup: tuple[Path, Path], tmp_path: Path) -> None:
    folder, base = setup
    fp = fingerprint("P06", "M03", PERSON)
    path = write(
        tmp_path,
        f"- fingerprint: '{fp}'\n  {STAMP.replace(', ', chr(10) + '  ')}\n  expires: 2026-12-31\n",
    )
    code, data, _ = audit(folder, base, path, "--fail-on", "error")
    f = next(f for f in data["findings"] if f["fingerprint"] == fp)
    assert f["status"] == "waived" and f["waived"]["expires"] == "2026-12-31"


def test_an_expired_waiver_stops_applying_and_is_reported(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, base = setup
    path = write(
        tmp_path,
        f"- {{rule: P06, unit_id: M03, subject: {PERSON}, {STAMP}, expires: 2026-06-29}}\n",
    )
    code, data, _ = audit(folder, base, path)
    assert code == EXIT_FINDINGS
    f = next(f for f in data["findings"] if f["subject"] == PERSON and f["rule"] == "P06")
    assert f["status"] == "new" and f["waived"] is None
    (expired,) = data["waivers_expired"]
    assert expired["entry"] == 1 and expired["expires"] == "2026-06-29"
    assert expired["matches"] == [f["fingerprint"]]
    assert expired["source"]["line"] == 1 and expired["source"]["file"].endswith("waivers.yaml")
    assert data["summary"]["waived"] == 0
    _, text, _ = audit(folder, base, path, fmt="table")
    assert "豁免已过期：第1条 P06 M03 P0999X（双编办〔2026〕12号，有效期至2026-06-29）" in text
    _, text, _ = audit(folder, base, path, fmt="github")
    assert any(x.startswith("::warning file=") and "line=1" in x for x in text.splitlines())


def test_an_unmatched_waiver_is_reported(setup: tuple[Path, Path], tmp_path: Path) -> None:
    folder, base = setup
    path = write(
        tmp_path,
        f"- {{rule: P06, unit_id: M03, subject: {PERSON}, {STAMP}, expires: 2027-01-01}}\n"
        f"- {{rule: Q01, unit_id: M09, subject: admin, {STAMP}, expires: 2027-01-01}}\n",
    )
    code, data, _ = audit(folder, base, path)
    (unmatched,) = data["waivers_unmatched"]
    assert (
        unmatched["entry"] == 2 and unmatched["rule"] == "Q01" and unmatched["source"]["line"] == 2
    )
    assert data["summary"]["waived"] == 1
    _, text, _ = audit(folder, base, path, fmt="sarif")
    notes = json.loads(text)["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["sanding/waiver-unmatched"]


def test_waived_counted_separately_in_every_output(
    setup: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, base = setup
    path = write(
        tmp_path,
        f"- {{rule: P06, unit_id: M03, subject: {PERSON}, {STAMP}, expires: 2027-01-01}}\n"
        f"- {{rule: P01, unit_id: M06, subject: P0601, {STAMP}, expires: 2026-01-01}}\n",
    )
    _, text, _ = audit(folder, base, path, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    waived = [r for r in rows if r["状态"] == "waived"]
    assert len(waived) == 1 and waived[0]["豁免批准文号"] == "双编办〔2026〕12号"
    assert waived[0]["豁免有效期至"] == "2027-01-01" and waived[0]["豁免理由"] == "待公安户籍核对"
    _, text, _ = audit(folder, base, path, fmt="table")
    assert "已豁免 1 项" in text and "[已豁免 双编办〔2026〕12号]" in text
    _, text, _ = audit(folder, base, path, fmt="sarif")
    doc = json.loads(text)
    sup = [r for r in doc["runs"][0]["results"] if r.get("suppressions")]
    assert len(sup) == 1
    assert sup[0]["suppressions"][0]["status"] == "accepted"
    assert sup[0]["suppressions"][0]["justification"] == "待公安户籍核对"
    assert doc["runs"][0]["properties"]["waived"] == 1
    _, text, _ = audit(folder, base, path, fmt="github")
    assert PERSON not in "\n".join(x for x in text.splitlines() if " file=" in x and "P06" in x)
    res = CliRunner().invoke(
        main,
        [
            "audit", str(folder), "--as-of", AS_OF, "--format", "junit",
            "--baseline", str(base), "--waivers", str(path),
        ],
    )  # fmt: skip
    root = etree.fromstring(res.stdout_bytes)
    p06 = next(s for s in root.findall("testsuite") if s.get("package") == "sanding.P06")
    case = next(c for c in p06.findall("testcase") if PERSON in c.get("name"))
    assert case.find("skipped") is not None and "已豁免" in case.find("skipped").get("message")
    ws = next(s for s in root.findall("testsuite") if s.get("package") == "sanding.waivers")
    assert ws.get("tests") == "2" and ws.get("failures") == "1"
    assert ws.find("testcase/failure").get("type") == "expired"


def test_waivers_never_change_the_exit_code_without_a_baseline(tmp_path: Path) -> None:
    # Waive every error of the mini sample: what is left is below --fail-on error.
    code, out, _ = run("audit", str(MINI), "--as-of", AS_OF, "--format", "json")
    data = json.loads(out)
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    lines = [
        f"- {{fingerprint: '{f['fingerprint']}', {STAMP}, expires: 2027-01-01}}" for f in errors
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    code, out, _ = run(
        "audit", str(MINI), "--as-of", AS_OF, "--format", "json", "--waivers", str(path)
    )
    assert code == EXIT_CLEAN
    assert json.loads(out)["summary"]["waived"] == len(errors)
    code, _, _ = run(
        "audit", str(MINI), "--as-of", AS_OF, "--waivers", str(path), "--fail-on", "warning"
    )
    assert code == EXIT_FINDINGS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {rule: Q01, unit_id: M01, subject: admin, %s, expires: 2027-01-01, note: x}\n", "waiver 1: unknown key 'note'"),
        ("- {rule: Q01, unit_id: M01, subject: admin, reason: r, approver: a, expires: 2027-01-01}\n", "waiver 1: missing doc_no"),
        ("- {rule: Q01, unit_id: M01, subject: admin, %s, expires: soon}\n", "waiver 1: expires is not a date: 'soon'"),
        ("- {fingerprint: 0123456789abcdef, rule: Q01, unit_id: M01, subject: admin, %s, expires: 2027-01-01}\n", "not both"),
        ("- {%s, expires: 2027-01-01}\n", "waiver 1: select findings by fingerprint"),
        ("- {rule: Q01, unit_id: M01, %s, expires: 2027-01-01}\n", "missing subject"),
        ("- {fingerprint: xyz, %s, expires: 2027-01-01}\n", "not 16 hexadecimal digits"),
        ("- {rule: Q01, unit_id: M01, subject: admin, %s, expires: 2027-01-01}\n- just text\n", "waiver 2: a waiver must be a mapping"),
        ("rule: Q01\n", "a waivers file is a list"),
        ("- {rule: Q01, rule: Q02}\n", "duplicate key"),
        ("- {rule: Q01, unit_id: M01, subject: '', %s, expires: 2027-01-01}\n", "subject must be non-empty"),
    ],
)  # fmt: skip
def test_a_bad_waivers_file_is_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text.replace("%s", STAMP))
    code, _, err = run("audit", str(MINI), "--as-of", AS_OF, "--waivers", str(path))
    assert code == EXIT_BAD_INPUT
    assert "waivers.yaml" in err and message in err


def test_chinese_dates_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"- {{rule: P01, unit_id: M06, subject: P0601, {STAMP}, expires: 2026年12月31日}}\n",
    )
    code, out, err = run(
        "audit", str(MINI), "--as-of", AS_OF, "--format", "json", "--waivers", str(path)
    )
    assert code != EXIT_BAD_INPUT, err
    f = next(f for f in json.loads(out)["findings"] if f["subject"] == "P0601")
    assert f["waived"]["expires"] == "2026-12-31"
