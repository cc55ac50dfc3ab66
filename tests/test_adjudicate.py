"""Verification before scoring: the adjudication file and how its verdicts apply."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sanding_rules.adjudicate import apply_verdicts, load_adjudications
from sanding_rules.errors import InputError
from sanding_rules.findings import Finding

AS_OF = date(2026, 6, 30)


def finding(rule: str, unit: str, subject: str) -> Finding:
    return Finding(rule, "error", unit, subject, "rectify", {}, {}, {}, {})


F1, F2, F3 = finding("Q01", "U1", "admin"), finding("P02", "U2", "p7"), finding("B03", "U3", "b1")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def yaml_file(tmp_path: Path, body: str) -> Path:
    return write(tmp_path, "adjudications.yaml", body)


def test_yaml_file(tmp_path: Path) -> None:
    path = yaml_file(
        tmp_path,
        f"""
- fingerprint: {F1.fingerprint}
  verdict: confirmed
  reason: 实地核查属实
  reviewer: 张三
  date: 2026-07-10
- fingerprint: {F2.fingerprint.upper()}
  verdict: 不属实
  reason: 身份证号录入错误，已更正
  reviewer: 李四
  date: 2026年7月11日
  period: 2026-06-30
""",
    )
    v1, v2 = load_adjudications(path)
    assert (v1.verdict, v1.date, v1.period, v1.row) == ("confirmed", date(2026, 7, 10), None, 2)
    assert (v2.fingerprint, v2.verdict, v2.period) == (F2.fingerprint, "dismissed", AS_OF)
    assert v2.dismissed and not v1.dismissed
    assert v2.to_json()["source"] == {"file": v2.file, "row": 7}


def test_csv_file_gbk_with_chinese_headers(tmp_path: Path) -> None:
    text = (
        "指纹,核查结论,理由,核查人,日期,备注\n"
        f"{F1.fingerprint},确认,属实,张三,2026/7/1,x\n"
        "\n"
        f"{F3.fingerprint},驳回,机构已撤并,李四,2026-07-02,\n"
    )
    verdicts = load_adjudications(write(tmp_path, "核查.csv", text, "gbk"))
    assert [(v.verdict, v.row) for v in verdicts] == [("confirmed", 2), ("dismissed", 4)]


@pytest.mark.parametrize(
    "row, column, message",
    [
        ("{fp},maybe,x,张三,2026-07-01,", "verdict", "unknown verdict 'maybe'"),
        ("{fp},confirmed,x,张三,2026-13-01,", "date", "bad date '2026-13-01'"),
        ("{fp},confirmed,x,张三,2026-07-01,June", "period", "bad date 'June'"),
        ("{fp},confirmed,,张三,2026-07-01,", "reason", "reason is empty but required"),
        ("{fp},confirmed,x,,2026-07-01,", "reviewer", "reviewer is empty but required"),
        ("xyz,confirmed,x,张三,2026-07-01,", "fingerprint", "not a finding fingerprint"),
    ],
)
def test_bad_rows_name_file_row_and_column(
    tmp_path: Path, row: str, column: str, message: str
) -> None:
    text = (
        "fingerprint,verdict,reason,reviewer,date,period\n" + row.format(fp=F1.fingerprint) + "\n"
    )
    with pytest.raises(InputError) as exc:
        load_adjudications(write(tmp_path, "a.csv", text))
    [p] = exc.value.problems
    assert (p.file.endswith("a.csv"), p.row, p.column) == (True, 2, column)
    assert message in p.message


def test_missing_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing required column reviewer"):
        load_adjudications(write(tmp_path, "a.csv", "fingerprint,verdict,reason,date\n"))


def test_duplicate_fingerprints_for_the_same_period(tmp_path: Path) -> None:
    entry = (
        "- {{fingerprint: {fp}, verdict: confirmed, reason: x, reviewer: y, date: 2026-07-01{p}}}\n"
    )
    fp = F1.fingerprint
    ok = entry.format(fp=fp, p="") + entry.format(fp=fp, p=", period: 2026-06-30")
    ok += entry.format(fp=fp, p=", period: 2025-12-31")
    assert len(load_adjudications(yaml_file(tmp_path, ok))) == 3
    bad = ok + entry.format(fp=fp, p=", period: 2026-06-30")
    with pytest.raises(InputError) as exc:
        load_adjudications(yaml_file(tmp_path, bad))
    [p] = exc.value.problems
    assert (p.row, p.column) == (4, "fingerprint")
    assert "for period 2026-06-30 already has a verdict (row 2)" in p.message


def test_yaml_unknown_key_and_not_a_list(tmp_path: Path) -> None:
    text = f"- {{fingerprint: {F1.fingerprint}, verdict: 属实, reason: x, reviewer: y, date: 2026-07-01, by: z}}\n"
    with pytest.raises(InputError, match="unknown key 'by'"):
        load_adjudications(yaml_file(tmp_path, text))
    with pytest.raises(InputError, match="is a list of verdicts"):
        load_adjudications(yaml_file(tmp_path, "fingerprint: x\n"))
    with pytest.raises(InputError, match=r"\.yaml, \.yml or \.csv"):
        load_adjudications(write(tmp_path, "a.txt", ""))


def test_apply_verdicts_period_and_unmatched(tmp_path: Path) -> None:
    entry = "- {{fingerprint: {fp}, verdict: {v}, reason: x, reviewer: y, date: 2026-07-01{p}}}\n"
    text = (
        entry.format(fp=F1.fingerprint, v="confirmed", p="")
        # a period-specific verdict overrides the general one for that audit
        + entry.format(fp=F1.fingerprint, v="dismissed", p=", period: 2026-06-30")
        # for another audit: not in force, and not reported as unmatched
        + entry.format(fp=F2.fingerprint, v="dismissed", p=", period: 2025-12-31")
        # matches no finding
        + entry.format(fp="0123456789abcdef", v="dismissed", p="")
    )
    verdicts = load_adjudications(yaml_file(tmp_path, text))
    by_fp, unmatched = apply_verdicts([F1, F2, F3], verdicts, AS_OF)
    assert {fp: v.verdict for fp, v in by_fp.items()} == {F1.fingerprint: "dismissed"}
    assert [v.fingerprint for v in unmatched] == ["0123456789abcdef"]
    by_fp, unmatched = apply_verdicts([F1, F2, F3], verdicts, date(2025, 12, 31))
    assert {fp: v.verdict for fp, v in by_fp.items()} == {
        F1.fingerprint: "confirmed",
        F2.fingerprint: "dismissed",
    }


def test_fingerprints_are_stable_across_periods() -> None:
    assert finding("Q01", "U1", "admin").fingerprint == F1.fingerprint
    assert len(F1.fingerprint) == 16
