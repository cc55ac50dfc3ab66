"""Workpapers as an Excel workbook: sheets, headers, rows, formatting, from the county audit."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sanding_rules.audit import run_audit
from sanding_rules.report.breakdown import full_breakdown
from sanding_rules.report.jsonout import audit_json
from sanding_rules.report.workbook import DEADLINE_DAYS, rows_text, write_workbook
from sanding_rules.rulefile import ACTIONS, load_rules

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "fixtures" / "county"
AS_OF = date(2026, 6, 30)
SHEETS_ZH = ["汇总", "单位评分", "问题清单", "自评得分表", "问题整改台账"]
SHEETS_EN = ["Summary", "Units", "Findings", "Self-assessment", "Rectification ledger"]
FINDING_HEAD = [
    "问题指纹",
    "单位代码",
    "单位名称",
    "规则",
    "规则名称",
    "严重程度",
    "问题对象",
    "问题描述",
    "证据",
    "依据",
    "来源文件",
    "行号",
    "建议措施",
    "核查结论",
    "核查说明",
    "核查人",
    "核查日期",
    "扣分",
]
SCORE_HEAD = [
    "单位代码",
    "单位名称",
    "一级指标",
    "二级指标",
    "三级指标",
    "分值",
    "评分规则",
    "实测值",
    "同类平均",
    "自评得分",
    "扣分原因",
    "证据索引",
    "备注",
]
LEDGER_HEAD = [
    "序号",
    "单位代码",
    "单位名称",
    "规则",
    "规则名称",
    "发现日期",
    "问题对象",
    "问题描述",
    "依据",
    "整改措施",
    "责任单位",
    "整改时限",
    "整改状态",
    "销号日期",
    "佐证材料",
    "问题指纹",
]


@pytest.fixture(scope="module")
def audit() -> dict:
    return audit_json(run_audit(COUNTY, load_rules(), AS_OF))


def bare(audit: dict) -> dict:
    """The audit as JSON without scores, grades or verdicts (before the evaluation model)."""
    data = copy.deepcopy(audit)
    for u in data["units"]:
        for key in ("grade_reason", "breakdown", "action_details"):
            u.pop(key, None)
        u["score"] = u["grade"] = None
    for f in data["findings"]:
        for key in ("verdict", "verdict_reason", "reviewer", "reviewed_on", "deducted"):
            f.pop(key, None)
    data["summary"]["by_grade"] = {}
    data.pop("adjudications_unmatched", None)
    return data


def scored(audit: dict) -> dict:
    """An audit with hand-made scores, grades, full-form breakdowns and verdicts."""
    data = copy.deepcopy(audit)
    data["model"] = None  # the breakdowns below carry their own titles and maxima
    by_unit: dict[str, list[dict]] = {}
    for i, f in enumerate(data["findings"]):
        f["verdict"] = ("confirmed", "dismissed", "confirmed")[i % 3]
        f["verdict_reason"] = "核实" if f["verdict"] == "confirmed" else "数据错误"
        f["reviewer"] = "张三"
        f["reviewed_on"] = "2026-07-15"
        f["deducted"] = 0.5 if f["verdict"] == "confirmed" else 0.0
        by_unit.setdefault(f["unit_id"], []).append(f)
    for n, u in enumerate(data["units"]):
        fs = [f for f in by_unit.get(u["unit_id"], []) if f["verdict"] == "confirmed"]
        lost = sum(f["deducted"] for f in fs)
        use = 35.0 - lost
        u["breakdown"] = [
            {
                "id": "party",
                "title": {"zh": "党的领导", "en": "Party leadership"},
                "max": 10,
                "score": 10.0,
                "items": [
                    {
                        "id": "party_control",
                        "title": {"zh": "党管机构编制", "en": "Party control"},
                        "max": 10,
                        "score": 10.0,
                        "indicators": [
                            {
                                "id": "party_control",
                                "title": {"zh": "党管机构编制", "en": "Party control"},
                                "max": 10,
                                "score": 10.0,
                                "method": "given",
                                "description": {"zh": "按给定分", "en": "given score"},
                                "measured": None,
                                "peer_average": None,
                                "deductions": [],
                                "note": {"zh": "未提供，按满分", "en": "not given: full"},
                            }
                        ],
                    }
                ],
            },
            {
                "id": "staffing",
                "title": {"zh": "人员编制使用效益", "en": "Staffing use"},
                "max": 35,
                "score": use,
                "items": [
                    {
                        "id": "quota_execution",
                        "title": {"zh": "编制执行", "en": "Quota execution"},
                        "max": 35,
                        "score": use,
                        "indicators": [
                            {
                                "id": "quota_execution",
                                "title": {"zh": "编制执行", "en": "Quota execution"},
                                "max": 35,
                                "score": use,
                                "method": "deduct",
                                "description": {"zh": "每项扣0.5分", "en": "-0.5 a finding"},
                                "measured": len(fs),
                                "peer_average": 0.21,
                                "deductions": [
                                    {
                                        "fingerprint": f["fingerprint"],
                                        "rule": f["rule"],
                                        "amount": 0.5,
                                    }
                                    for f in fs
                                ],
                                "note": None,
                            }
                        ],
                    }
                ],
            },
        ]
        u["score"] = 10.0 + use
        u["grade"] = ("A", "B", "C")[n % 3]
        u["grade_reason"] = {"code": "threshold", "zh": "按分数线", "en": "threshold"}
    data["summary"]["by_grade"] = {
        g: sum(u["grade"] == g for u in data["units"]) for g in ("A", "B", "C")
    }
    data["adjudications_unmatched"] = [
        {
            "fingerprint": "0000000000000000",
            "verdict": "dismissed",
            "reason": "重复",
            "reviewer": "李四",
            "date": "2026-07-01",
            "period": None,
            "source": {"file": "verdicts.csv", "row": 7},
        }
    ]
    return data


@pytest.fixture(scope="module")
def book(audit, tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "county.xlsx"
    write_workbook(bare(audit), path)
    return load_workbook(path)


@pytest.fixture(scope="module")
def scored_book(audit, tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "scored.xlsx"
    data = scored(audit)
    write_workbook(data, path)
    return data, load_workbook(path)


def header(ws, row: int = 1) -> list:
    return [c.value for c in ws[row]]


def records(ws, head_row: int = 1) -> list[dict]:
    head = header(ws, head_row)
    return [
        dict(zip(head, row, strict=True))
        for row in ws.iter_rows(min_row=head_row + 1, values_only=True)
        if any(v is not None for v in row)
    ]


def test_sheets_and_headers(book) -> None:
    assert book.sheetnames == SHEETS_ZH
    assert header(book["问题清单"]) == FINDING_HEAD
    assert header(book["自评得分表"]) == SCORE_HEAD
    assert header(book["问题整改台账"], 3) == LEDGER_HEAD
    assert header(book["单位评分"]) == [
        "单位代码",
        "单位名称",
        "得分",
        "等级",
        "定级理由",
        "建议措施",
        "问题数",
    ]
    for name in ("问题清单", "自评得分表", "单位评分"):
        assert all(c.font.bold for c in book[name][1])
    assert all(c.font.bold for c in book["问题整改台账"][3])


def test_findings_sheet(book, audit) -> None:
    ws = book["问题清单"]
    n = len(audit["findings"])
    rows = records(ws)
    assert len(rows) == n == ws.max_row - 1
    assert ws.freeze_panes == "D2"
    assert ws.auto_filter.ref == f"A1:R{n + 1}"
    by_fp = {f["fingerprint"]: f for f in audit["findings"]}
    assert {r["问题指纹"] for r in rows} == set(by_fp)
    for r in rows:
        f = by_fp[r["问题指纹"]]
        assert (r["规则"], r["单位代码"], r["问题对象"]) == (f["rule"], f["unit_id"], f["subject"])
        assert r["问题描述"] == f["messages"]["zh"]
        assert r["来源文件"] == f["source"]["file"]
        assert r["核查结论"] == "未核查" and r["扣分"] is None
    q01 = next(r for r in rows if r["规则"] == "Q01" and r["单位代码"] == "U0012")
    assert q01["证据"] == "actual=17; approved=15; over=2"
    assert q01["行号"] == "287-303"
    assert q01["规则名称"] == "分类超编" and q01["严重程度"] == "错误" and q01["建议措施"] == "整改"
    # ID numbers stay masked as the JSON has them.
    ids = [
        e.split("id_number=")[1].split(";")[0]
        for e in (r["证据"] or "" for r in rows)
        if "id_number=" in e and "id_number=—" not in e
    ]
    assert ids and all("*" in i for i in ids)
    # Long text wraps; widths count Chinese characters double.
    col = {h: ws.cell(1, i + 1).column_letter for i, h in enumerate(FINDING_HEAD)}
    assert ws.cell(2, FINDING_HEAD.index("问题描述") + 1).alignment.wrap_text
    assert ws.column_dimensions[col["单位名称"]].width > ws.column_dimensions[col["单位代码"]].width
    assert ws.column_dimensions[col["单位名称"]].width >= 2 * len("中共双岭县委员会办公室")


def test_ledger_lists_every_finding_before_review(book, audit) -> None:
    ws = book["问题整改台账"]
    n = len(audit["findings"])
    assert "尚无核查结论" in ws["A2"].value and f"{n} 项" in ws["A2"].value
    assert ws.freeze_panes == "D4"
    assert ws.auto_filter.ref == f"A3:P{n + 3}"
    rows = records(ws, 3)
    assert len(rows) == n
    assert [r["序号"] for r in rows] == list(range(1, n + 1))
    by_fp = {f["fingerprint"]: f for f in audit["findings"]}
    for r in rows:
        f = by_fp[r["问题指纹"]]
        assert (r["规则"], r["问题对象"], r["单位代码"]) == (f["rule"], f["subject"], f["unit_id"])
        assert r["问题描述"] == f["message"] and r["依据"] == f["basis"]
        assert r["责任单位"] == f["unit_name"]
        assert r["发现日期"] == datetime(2026, 6, 30)
        assert r["整改时限"] == datetime.combine(
            AS_OF + timedelta(days=DEADLINE_DAYS), datetime.min.time()
        )
        assert r["整改状态"] == "未整改" and r["销号日期"] is None
    b02 = next(r for r in rows if r["规则"] == "B02" and r["单位代码"] == "U0001")
    assert b02["整改措施"] == "撤销" and b02["佐证材料"] == "roster.csv 第29-31行"
    deadline = ws.cell(4, LEDGER_HEAD.index("整改时限") + 1)
    assert deadline.is_date and deadline.number_format == "yyyy-mm-dd"
    assert ws.cell(4, LEDGER_HEAD.index("销号日期") + 1).number_format == "yyyy-mm-dd"
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1 and lists[0].formula1 == '"未整改,整改中,已销号"'
    assert str(lists[0].sqref) == f"M4:M{n + 3}"


def test_summary_sheet(book, audit) -> None:
    ws = book["汇总"]
    cells = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(1, 20)}
    assert cells["数据集"].value == audit["dataset"]
    assert cells["截至日期"].is_date and cells["截至日期"].value == datetime(2026, 6, 30)
    assert cells["单位数"].value == 320 and cells["人员数"].value == audit["summary"]["people"]
    assert cells["问题数"].value == len(audit["findings"])
    tables = ws.tables
    assert len(tables) == 2  # by rule, by grade (no rule went unevaluated)
    by_rule = tables["SummaryTable1"]
    first = int(by_rule.ref.split(":")[0][1:])
    rows = [[c.value for c in row] for row in ws[by_rule.ref]]
    assert rows[0] == ["规则", "名称", "严重程度", "问题数"]
    assert {r[0]: r[3] for r in rows[1:]} == audit["summary"]["by_rule"]
    assert ["Q01", "分类超编", "错误", audit["summary"]["by_rule"]["Q01"]] in rows
    assert ws.cell(first, 1).font.bold
    grades = [[c.value for c in row] for row in ws[tables["SummaryTable2"].ref]]
    assert grades == [["等级", "单位数"], ["A", 0], ["B", 0], ["C", 0], ["未评级", 320]]


def test_without_scores_the_score_sheets_are_empty(book, audit) -> None:
    ws = book["自评得分表"]
    assert ws.auto_filter.ref == "A1:M1"
    assert "未含评分" in ws["A3"].value
    units = records(book["单位评分"])
    assert len(units) == 320
    assert all(u["得分"] is None and u["等级"] is None for u in units)
    for u, row in zip(bare(audit)["units"], units, strict=True):
        assert row["单位代码"] == u["unit_id"]
        assert (row["建议措施"] or "") == "、".join(ACTIONS[a]["zh"] for a in u["actions"])


def test_scored_audit(scored_book, tmp_path: Path) -> None:
    data, wb = scored_book
    ws = wb["自评得分表"]
    rows = records(ws)
    # Two level-3 indicators and a total row per unit.
    assert len(rows) == 3 * len(data["units"])
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == f"A1:M{len(rows) + 1}"
    u12 = [r for r in rows if r["单位代码"] == "U0012"]
    assert [r["一级指标"] for r in u12] == ["党的领导", "人员编制使用效益", "合计"]
    staffing = u12[1]
    unit = next(u for u in data["units"] if u["unit_id"] == "U0012")
    ind = unit["breakdown"][1]["items"][0]["indicators"][0]
    assert (staffing["二级指标"], staffing["三级指标"]) == ("编制执行", "编制执行")
    assert staffing["分值"] == 35 and staffing["自评得分"] == ind["score"]
    assert staffing["评分规则"] == "每项扣0.5分" and staffing["同类平均"] == 0.21
    assert staffing["实测值"] == len(ind["deductions"]) > 0
    for d in ind["deductions"]:
        f = next(f for f in data["findings"] if f["fingerprint"] == d["fingerprint"])
        assert f"{f['rule']} −0.5：{f['message']}" in staffing["扣分原因"]
        assert d["fingerprint"] in staffing["证据索引"]
    assert "roster.csv 第" in staffing["证据索引"]
    # A dismissed finding's deduction (amount 0) is marked, not shown as a deduction.
    dismissed = next(f for f in data["findings"] if f["verdict"] == "dismissed")
    other = copy.deepcopy(data)
    u_dis = next(u for u in other["units"] if u["unit_id"] == dismissed["unit_id"])
    u_dis["breakdown"][1]["items"][0]["indicators"][0]["deductions"] = [
        {
            "fingerprint": dismissed["fingerprint"],
            "rule": dismissed["rule"],
            "amount": 0.0,
            "verdict": "dismissed",
        }
    ]
    path = tmp_path / "dismissed.xlsx"
    write_workbook(other, path)
    row = next(
        r
        for r in records(load_workbook(path)["自评得分表"])
        if r["单位代码"] == dismissed["unit_id"] and r["一级指标"] == "人员编制使用效益"
    )
    assert row["扣分原因"].startswith(f"{dismissed['rule']}（核查不属实，不扣分）：")
    assert u12[0]["备注"] == "未提供，按满分"
    total = u12[2]
    assert total["分值"] == 45 and total["自评得分"] == unit["score"]
    assert total["备注"] == f"等级：{unit['grade']}（按分数线）"
    assert ws.cell(1 + rows.index(total) + 1, 3).font.bold

    # The ledger now holds the confirmed findings only.
    confirmed = [f for f in data["findings"] if f["verdict"] == "confirmed"]
    ledger = wb["问题整改台账"]
    assert "属实的问题" in ledger["A2"].value
    lrows = records(ledger, 3)
    assert {r["问题指纹"] for r in lrows} == {f["fingerprint"] for f in confirmed}
    assert ledger.auto_filter.ref == f"A3:P{len(confirmed) + 3}"

    findings = records(wb["问题清单"])
    assert {r["核查结论"] for r in findings} == {"属实", "不属实（已排除）"}
    reviewed = wb["问题清单"].cell(2, FINDING_HEAD.index("核查日期") + 1)
    assert reviewed.is_date and reviewed.value == datetime(2026, 7, 15)
    assert sum(r["扣分"] for r in findings) == pytest.approx(0.5 * len(confirmed))

    units = records(wb["单位评分"])
    assert header(wb["单位评分"])[-2:] == ["党的领导（10）", "人员编制使用效益（35）"]
    u = next(r for r in units if r["单位代码"] == "U0012")
    assert (u["得分"], u["等级"], u["定级理由"]) == (unit["score"], unit["grade"], "按分数线")
    assert u["人员编制使用效益（35）"] == ind["score"]

    summary = wb["汇总"]
    grades = [[c.value for c in row] for row in summary[summary.tables["SummaryTable2"].ref]]
    assert grades[1:4] == [[g, data["summary"]["by_grade"][g]] for g in ("A", "B", "C")]
    unmatched = summary[summary.tables["SummaryTable3"].ref]
    assert [c.value for c in unmatched[0]][:2] == ["问题指纹", "核查结论"]
    assert [c.value for c in unmatched[1]][:4] == [
        "0000000000000000",
        "不属实（已排除）",
        "重复",
        "李四",
    ]
    assert unmatched[1][4].is_date and unmatched[1][5].value == "verdicts.csv 第7行"


def test_the_audit_json_as_it_is_built(audit, tmp_path: Path) -> None:
    """Whatever fields audit_json fills today, the sheets agree with them."""
    path = tmp_path / "now.xlsx"
    write_workbook(audit, path)
    wb = load_workbook(path)
    findings = records(wb["问题清单"])
    assert len(findings) == len(audit["findings"])
    by_fp = {f["fingerprint"]: f for f in audit["findings"]}
    for r in findings:
        assert r["扣分"] == by_fp[r["问题指纹"]].get("deducted")
    units = records(wb["单位评分"])
    assert [(u["单位代码"], u["得分"], u["等级"]) for u in units] == [
        (u["unit_id"], u.get("score"), u.get("grade")) for u in audit["units"]
    ]
    indicators = sum(
        len(item["indicators"])
        for u in audit["units"]
        for dim in full_breakdown(audit, u)
        for item in dim["items"]
    )
    totals = sum(1 for u in audit["units"] if u.get("breakdown"))
    scores = wb["自评得分表"]
    if totals:
        assert len(records(scores)) == indicators + totals
    else:
        assert scores.max_row == 3 and "未含评分" in scores["A3"].value
    reviewed = any(f.get("verdict") in ("confirmed", "dismissed") for f in audit["findings"])
    expected = [
        f
        for f in audit["findings"]
        if (f.get("verdict") == "confirmed" if reviewed else f.get("verdict") != "dismissed")
    ]
    assert len(records(wb["问题整改台账"], 3)) == len(expected)


def test_english_workbook(audit, tmp_path: Path) -> None:
    path = tmp_path / "en.xlsx"
    write_workbook(scored(audit), path, lang="en")
    wb = load_workbook(path)
    assert wb.sheetnames == SHEETS_EN
    assert header(wb["Findings"])[:4] == ["fingerprint", "unit id", "unit", "rule"]
    ledger = wb["Rectification ledger"]
    assert header(ledger, 3)[:3] == ["no.", "unit id", "unit"]
    rows = records(ledger, 3)
    assert {r["status"] for r in rows} == {"open"}
    assert rows[0]["description"].isascii() or " " in rows[0]["description"]
    dv = next(dv for dv in ledger.data_validations.dataValidation if dv.type == "list")
    assert dv.formula1 == '"open,rectifying,closed"'
    q01 = next(r for r in records(wb["Findings"]) if r["rule"] == "Q01" and r["unit id"] == "U0012")
    assert q01["rule title"] == "Over quota by category" and q01["action"] == "rectify"
    assert q01["basis"] == next(r for r in load_rules() if r.id == "Q01").basis["en"]
    assert wb["Self-assessment"]["C2"].value == "Party leadership"


def test_text_is_never_a_formula(audit, tmp_path: Path) -> None:
    data = copy.deepcopy(audit)
    data["findings"][0]["messages"]["zh"] = '=HYPERLINK("http://example.com")'
    data["findings"][0]["unit_name"] = "=1+1\x07"
    path = tmp_path / "inj.xlsx"
    write_workbook(data, path)
    ws = load_workbook(path)["问题清单"]
    row = next(
        r for r in ws.iter_rows(min_row=2) if r[0].value == data["findings"][0]["fingerprint"]
    )
    assert row[2].value == "=1+1" and row[2].data_type == "s"
    assert row[7].value.startswith("=HYPERLINK") and row[7].data_type == "s"


def test_empty_audit(tmp_path: Path) -> None:
    data = {"as_of": "2026-06-30", "dataset": "x", "findings": [], "units": [], "summary": {}}
    path = tmp_path / "empty.xlsx"
    write_workbook(data, path)
    wb = load_workbook(path)
    assert wb["问题清单"].auto_filter.ref == "A1:R1"
    assert wb["问题整改台账"].auto_filter.ref == "A3:P3"
    assert "0 项" in wb["问题整改台账"]["A2"].value


def test_rows_text() -> None:
    assert rows_text([31, 29, 30, 72, 287, 288]) == "29-31, 72, 287-288"
    assert rows_text([]) == ""
