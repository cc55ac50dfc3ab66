"""Workpapers as an Excel workbook (evaluation model, section 6).

Built from the audit JSON object (`report.jsonout.audit_json`), so it needs nothing from the
engine. Sheets, Chinese names by default (English with lang="en"):

- 汇总 Summary: dataset, as-of date, totals, findings by rule, grade distribution, rules not
  evaluated, adjudications that matched no finding.
- 单位评分 Units: one row per unit: score, grade and why, actions, findings, level-1 scores.
- 问题清单 Findings: one row per finding.
- 自评得分表 Self-assessment: per unit, one row per level-3 indicator and a total row.
- 问题整改台账 Rectification ledger: one row per confirmed finding (every finding not dismissed
  while nothing has been adjudicated yet), with a status dropdown to track it.

The workbook is write-only (openpyxl streams each row to the file as it is made), so a
province's 800,000-row self-assessment sheet never sits in memory as cell objects; widths,
frozen panes and row heights are therefore worked out before the rows they concern.

Score and grade fields are optional: an audit without them gives empty score cells.
ID numbers are written as the JSON has them (masked unless the user asked otherwise).
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from copy import copy
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table
from openpyxl.worksheet.worksheet import Worksheet

from ..rulefile import ACTIONS, SEVERITY_RANK, Rule
from . import SEVERITY_LABELS
from .breakdown import full_breakdown
from .table import width, wrap

# A rectification is due this many days after the finding (the audit's as-of date).
DEADLINE_DAYS = 90
GRADES = ("A", "B", "C")
DATE_FORMAT = "yyyy-mm-dd"
SCORE_FORMAT = "0.0#"
LINE_HEIGHT = 15  # points per line of 11-point text
MAX_CELL = 32000  # Excel holds 32,767 characters in a cell

SHEETS = {
    "summary": {"zh": "汇总", "en": "Summary"},
    "units": {"zh": "单位评分", "en": "Units"},
    "findings": {"zh": "问题清单", "en": "Findings"},
    "scores": {"zh": "自评得分表", "en": "Self-assessment"},
    "ledger": {"zh": "问题整改台账", "en": "Rectification ledger"},
}
STATUS = {
    "zh": ("未整改", "整改中", "已销号"),
    "en": ("open", "rectifying", "closed"),
}
VERDICTS = {
    "confirmed": {"zh": "属实", "en": "confirmed"},
    "dismissed": {"zh": "不属实（已排除）", "en": "dismissed"},
    None: {"zh": "未核查", "en": "not reviewed"},
}
GRADE_REASONS = {
    "threshold": {"zh": "按分数线", "en": "score threshold"},
    "veto": {"zh": "一票否优", "en": "veto"},
    "cap": {"zh": "A等比例上限", "en": "A-share cap"},
}

T = {
    "title": {"zh": "三定规则审计工作底稿", "en": "Three-determinations audit workpapers"},
    "dataset": {"zh": "数据集", "en": "Dataset"},
    "as_of": {"zh": "截至日期", "en": "As of"},
    "units": {"zh": "单位数", "en": "Units"},
    "people": {"zh": "人员数", "en": "People"},
    "rules_evaluated": {"zh": "评估规则数", "en": "Rules evaluated"},
    "rules_skipped": {"zh": "未评估规则数", "en": "Rules not evaluated"},
    "findings": {"zh": "问题数", "en": "Findings"},
    "by_rule": {"zh": "按规则汇总", "en": "Findings by rule"},
    "by_grade": {"zh": "等级分布", "en": "Grade distribution"},
    "ungraded": {"zh": "未评级", "en": "not graded"},
    "skipped": {"zh": "未评估的规则", "en": "Rules not evaluated"},
    "unmatched": {
        "zh": "未匹配到问题的核查结论",
        "en": "Adjudications matching no finding",
    },
    "none": {"zh": "无", "en": "none"},
    "no_findings": {"zh": "未发现问题。", "en": "No findings."},
    "total": {"zh": "合计", "en": "Total"},
    "grade_is": {"zh": "等级：{grade}", "en": "grade: {grade}"},
    "no_scores": {
        "zh": "本次审计结果未含评分（无指标得分明细），本表为空。",
        "en": "This audit carries no scores (no indicator breakdown); the sheet is empty.",
    },
    "ledger_title": {
        "zh": "问题整改台账（{dataset}，截至 {as_of}）",
        "en": "Rectification ledger ({dataset}, as of {as_of})",
    },
    "ledger_confirmed": {
        "zh": "收录经核查属实的问题 {n} 项（已排除 {d} 项，未核查 {u} 项不列入）；整改时限为发现日期后 {days} 天。",
        "en": "Lists the {n} findings confirmed on review ({d} dismissed and {u} not reviewed are left out); "
        "rectification is due {days} days after the finding.",
    },
    "ledger_unreviewed": {
        "zh": "尚无核查结论：收录全部 {n} 项问题（核查后以属实问题为准）；整改时限为发现日期后 {days} 天。",
        "en": "No finding has been reviewed yet: lists all {n} findings (to be narrowed to the confirmed ones "
        "after review); rectification is due {days} days after the finding.",
    },
    "rows": {"zh": "第{rows}行", "en": "rows {rows}"},
    "not_deducted": {"zh": "（核查不属实，不扣分）", "en": " (dismissed, no deduction)"},
    "yes": {"zh": "是", "en": "yes"},
    "no": {"zh": "否", "en": "no"},
}

# Column kinds: text (sized to content), wrap (fixed width, wrapped), int, num, date.
WRAP = {"message": 44, "basis": 36, "evidence": 32, "rule_text": 36, "reason": 44}


def _h(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


FINDING_COLS = [
    ("fingerprint", _h("问题指纹", "fingerprint"), "text"),
    ("unit_id", _h("单位代码", "unit id"), "text"),
    ("unit_name", _h("单位名称", "unit"), "text"),
    ("rule", _h("规则", "rule"), "text"),
    ("rule_title", _h("规则名称", "rule title"), "text"),
    ("severity", _h("严重程度", "severity"), "text"),
    ("subject", _h("问题对象", "subject"), "text"),
    ("message", _h("问题描述", "description"), "wrap:message"),
    ("evidence", _h("证据", "evidence"), "wrap:evidence"),
    ("basis", _h("依据", "basis"), "wrap:basis"),
    ("source_file", _h("来源文件", "source file"), "text"),
    ("rows", _h("行号", "rows"), "wrap:evidence"),
    ("action", _h("建议措施", "action"), "text"),
    ("verdict", _h("核查结论", "verdict"), "text"),
    ("verdict_reason", _h("核查说明", "verdict reason"), "wrap:evidence"),
    ("reviewer", _h("核查人", "reviewer"), "text"),
    ("reviewed_on", _h("核查日期", "reviewed on"), "date"),
    ("deducted", _h("扣分", "deducted"), "num"),
]
UNIT_COLS = [
    ("unit_id", _h("单位代码", "unit id"), "text"),
    ("unit_name", _h("单位名称", "unit"), "text"),
    ("score", _h("得分", "score"), "num"),
    ("grade", _h("等级", "grade"), "text"),
    ("grade_reason", _h("定级理由", "grade reason"), "wrap:reason"),
    ("actions", _h("建议措施", "actions"), "text"),
    ("findings", _h("问题数", "findings"), "int"),
]
SCORE_COLS = [
    ("unit_id", _h("单位代码", "unit id"), "text"),
    ("unit_name", _h("单位名称", "unit"), "text"),
    ("level1", _h("一级指标", "level 1"), "text"),
    ("level2", _h("二级指标", "level 2"), "text"),
    ("level3", _h("三级指标", "level 3 indicator"), "text"),
    ("max", _h("分值", "maximum"), "num"),
    ("rule_text", _h("评分规则", "scoring rule"), "wrap:rule_text"),
    ("measured", _h("实测值", "value"), "num"),
    ("peer_average", _h("同类平均", "peer average"), "num"),
    ("score", _h("自评得分", "self score"), "num"),
    ("reason", _h("扣分原因", "deduction reason"), "wrap:reason"),
    ("evidence", _h("证据索引", "evidence reference"), "wrap:evidence"),
    ("note", _h("备注", "note"), "wrap:evidence"),
]
LEDGER_COLS = [
    ("no", _h("序号", "no."), "int"),
    ("unit_id", _h("单位代码", "unit id"), "text"),
    ("unit_name", _h("单位名称", "unit"), "text"),
    ("rule", _h("规则", "rule"), "text"),
    ("rule_title", _h("规则名称", "rule title"), "text"),
    ("found_on", _h("发现日期", "found on"), "date"),
    ("subject", _h("问题对象", "subject"), "text"),
    ("message", _h("问题描述", "description"), "wrap:message"),
    ("basis", _h("依据", "basis"), "wrap:basis"),
    ("measure", _h("整改措施", "measure"), "text"),
    ("owner", _h("责任单位", "owner"), "text"),
    ("deadline", _h("整改时限", "deadline"), "date"),
    ("status", _h("整改状态", "status"), "text"),
    ("closed_on", _h("销号日期", "closed on"), "date"),
    ("evidence", _h("佐证材料", "evidence"), "wrap:evidence"),
    ("fingerprint", _h("问题指纹", "fingerprint"), "text"),
]

FONT = "Calibri"  # openpyxl's default; named so bold text keeps the same face
HEAD_FONT = Font(name=FONT, bold=True)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
HEAD_BORDER = Border(bottom=Side(style="thin"))
TOP = Alignment(vertical="top")
TOP_WRAP = Alignment(vertical="top", wrap_text=True)
HEAD_ALIGN = Alignment(vertical="center", horizontal="center", wrap_text=True)


def write_workbook(
    audit: dict, path: Path, lang: str = "zh", *, rules: list[Rule] | None = None
) -> None:
    """Write the workpapers of an audit JSON object to an .xlsx file.

    `rules` gives rule titles (and basis in the other language); the built-in rules by default.
    """
    book = _Book(audit, lang, rules)
    book.build()
    book.wb.save(path)


class _Book:
    def __init__(self, audit: dict, lang: str, rules: list[Rule] | None) -> None:
        if lang not in ("zh", "en"):
            raise ValueError(f"lang must be zh or en, not {lang!r}")
        self.audit = audit
        self.lang = lang
        self.rules = {r.id: r for r in (rules if rules is not None else _builtin_rules())}
        self.as_of = _to_date(audit.get("as_of"))
        self.findings = sorted(
            (f for f in audit.get("findings") or [] if isinstance(f, dict)),
            key=lambda f: (
                str(f.get("unit_id", "")),
                SEVERITY_RANK.get(f.get("severity"), 9),
                str(f.get("rule", "")),
                str(f.get("subject", "")),
            ),
        )
        self.by_fp = {f.get("fingerprint"): f for f in self.findings if f.get("fingerprint")}
        self.units = [u for u in audit.get("units") or [] if isinstance(u, dict)]
        # Write-only: rows stream to the file as they are made, so a province's 750,000-row
        # self-assessment sheet does not sit in memory as millions of cell objects.
        self.wb = Workbook(write_only=True)
        self.tables = 0

    # ---- text helpers ----

    def t(self, key: str, **kw: Any) -> str:
        return T[key][self.lang].format(**kw)

    def rule_title(self, rid: str) -> str:
        rule = self.rules.get(rid)
        return rule.title.get(self.lang, rid) if rule else rid

    def message(self, f: dict) -> str:
        msgs = f.get("messages")
        if isinstance(msgs, dict) and msgs.get(self.lang):
            return str(msgs[self.lang])
        return str(f.get("message") or "")

    def basis(self, f: dict) -> str:
        rule = self.rules.get(f.get("rule", ""))
        if self.audit.get("lang", "zh") != self.lang and rule and rule.basis.get(self.lang):
            return rule.basis[self.lang]
        return str(f.get("basis") or "")

    def severity(self, s: Any) -> str:
        return SEVERITY_LABELS.get(s, {}).get(self.lang, str(s or ""))

    def action(self, a: Any) -> str:
        return ACTIONS.get(a, {}).get(self.lang, str(a or ""))

    def evidence(self, ev: Any) -> str:
        if not isinstance(ev, dict):
            return "" if ev is None else str(ev)
        parts = []
        for k, v in ev.items():
            if v is None:
                v = "—"
            elif isinstance(v, bool):
                v = self.t("yes") if v else self.t("no")
            elif isinstance(v, dict | list):
                v = json.dumps(v, ensure_ascii=False)
            parts.append(f"{k}={v}")
        return "; ".join(parts)

    def source(self, f: dict) -> str:
        src = f.get("source") or {}
        file = src.get("file") or ""
        rows = src.get("rows") or []
        if not rows:
            return file
        return f"{file} {self.t('rows', rows=rows_text(rows))}".strip()

    # ---- sheets ----

    def build(self) -> None:
        summary = _Free(self.sheet("summary"))
        self.summary(summary)
        summary.flush()
        self.units_sheet(self.sheet("units"))
        self.findings_sheet(self.sheet("findings"))
        self.scores_sheet(self.sheet("scores"))
        self.ledger_sheet(self.sheet("ledger"))

    def sheet(self, key: str) -> Worksheet:
        """A new sheet, set up for printing (before any row is written: write-only)."""
        sheet = self.wb.create_sheet(SHEETS[key][self.lang])
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        return sheet

    def summary(self, ws: _Free) -> None:
        a, s = self.audit, self.audit.get("summary") or {}
        ws["A1"] = self.t("title")
        ws["A1"].font = Font(name=FONT, bold=True, size=14)
        sev = s.get("by_severity") or Counter(f.get("severity") for f in self.findings)
        verdicts = Counter(f.get("verdict") for f in self.findings)
        facts: list[tuple[str, Any]] = [
            (self.t("dataset"), a.get("dataset", "")),
            (self.t("as_of"), self.as_of or a.get("as_of", "")),
            (self.t("units"), s.get("units", len(self.units))),
            (self.t("people"), s.get("people")),
            (self.t("rules_evaluated"), len(a.get("rules_evaluated") or [])),
            (self.t("rules_skipped"), len(a.get("rules_not_evaluated") or [])),
            (self.t("findings"), s.get("findings", len(self.findings))),
        ]
        facts += [(f"  {SEVERITY_LABELS[k][self.lang]}", sev.get(k, 0)) for k in SEVERITY_LABELS]
        facts += [(f"  {VERDICTS[k][self.lang]}", verdicts.get(k, 0)) for k in VERDICTS]
        row = 3
        for label, value in facts:
            ws.cell(row, 1, label).font = HEAD_FONT
            cell = _put(ws, row, 2, value)
            cell.alignment = Alignment(horizontal="left")
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
            row += 1
        widths: dict[int, int] = {1: 14, 2: 12, 3: 12, 4: 10}

        row += 1
        by_rule = s.get("by_rule") or dict(
            sorted(Counter(f.get("rule") for f in self.findings).items())
        )
        if by_rule:
            head = [
                _h("规则", "rule"),
                _h("名称", "title"),
                _h("严重程度", "severity"),
                _h("问题数", "findings"),
            ]
            rows = []
            for rid, n in by_rule.items():
                rule = self.rules.get(rid)
                sev_code = (
                    rule.severity
                    if rule
                    else next(
                        (f.get("severity") for f in self.findings if f.get("rule") == rid), None
                    )
                )
                rows.append([rid, self.rule_title(rid), self.severity(sev_code), n])
            row = self.small_table(ws, row, self.t("by_rule"), head, rows, widths)
        else:
            ws.cell(row, 1, self.t("by_rule")).font = Font(name=FONT, bold=True, size=12)
            ws.cell(row + 1, 1, self.t("no_findings"))
            row += 3

        grades = s.get("by_grade") or {}
        counted = Counter(u.get("grade") for u in self.units)
        grade_rows = [[g, int(grades.get(g, counted.get(g, 0)))] for g in GRADES]
        grade_rows.append([self.t("ungraded"), counted.get(None, 0)])
        row = self.small_table(
            ws,
            row,
            self.t("by_grade"),
            [_h("等级", "grade"), _h("单位数", "units")],
            grade_rows,
            widths,
        )

        skipped = a.get("rules_not_evaluated") or []
        ws.cell(row, 1, self.t("skipped")).font = Font(name=FONT, bold=True, size=12)
        if skipped:
            rows = []
            for n in skipped:
                reasons = n.get("reasons") if isinstance(n, dict) else None
                reason = (reasons or {}).get(self.lang) or (
                    n.get("reason") if isinstance(n, dict) else ""
                )
                rid = n.get("rule", "") if isinstance(n, dict) else str(n)
                rows.append([rid, self.rule_title(rid), reason or ""])
            row = self.small_table(
                ws,
                row,
                None,
                [_h("规则", "rule"), _h("名称", "title"), _h("原因", "reason")],
                rows,
                widths,
            )
        else:
            ws.cell(row + 1, 1, self.t("none"))
            row += 3

        unmatched = a.get("adjudications_unmatched") or []
        if unmatched:
            ws.cell(row, 1, self.t("unmatched")).font = Font(name=FONT, bold=True, size=12)
            rows = []
            for item in unmatched:
                item = item if isinstance(item, dict) else {"fingerprint": str(item)}
                src = item.get("source")
                if isinstance(src, dict):
                    where = str(src.get("file") or "")
                    if src.get("row") is not None:
                        where += f" {self.t('rows', rows=src['row'])}"
                else:
                    where = "" if src is None else str(src)
                verdict = item.get("verdict")
                rows.append(
                    [
                        str(item.get("fingerprint") or ""),
                        VERDICTS[verdict][self.lang] if verdict in VERDICTS else str(verdict or ""),
                        str(item.get("reason") or ""),
                        str(item.get("reviewer") or ""),
                        _to_date(item.get("date")) or item.get("date"),
                        where.strip(),
                    ]
                )
            self.small_table(
                ws,
                row,
                None,
                [
                    _h("问题指纹", "fingerprint"),
                    _h("核查结论", "verdict"),
                    _h("核查说明", "reason"),
                    _h("核查人", "reviewer"),
                    _h("核查日期", "reviewed on"),
                    _h("来源", "source"),
                ],
                rows,
                widths,
            )
        for col, w in widths.items():
            ws.column_dimensions[get_column_letter(col)].width = min(w, 60)

    def small_table(
        self,
        ws: _Free,
        row: int,
        title: str | None,
        head: list[dict[str, str]],
        rows: list[list[Any]],
        widths: dict[int, int],
    ) -> int:
        """A titled table on the summary sheet, as an Excel table (own auto-filter)."""
        if title:
            ws.cell(row, 1, title).font = Font(name=FONT, bold=True, size=12)
        top = row + 1
        for c, h in enumerate(head, 1):
            _head(ws.cell(top, c, h[self.lang]))
            widths[c] = max(widths.get(c, 0), width(h[self.lang]) + 4)
        for r, values in enumerate(rows, top + 1):
            for c, v in enumerate(values, 1):
                cell = _put(ws, r, c, v)
                cell.alignment = TOP_WRAP if isinstance(v, str) and width(v) > 58 else TOP
                if isinstance(v, date):
                    cell.number_format = DATE_FORMAT
                widths[c] = max(widths.get(c, 0), _cell_width(v) + 2)
        self.tables += 1
        ref = f"A{top}:{get_column_letter(len(head))}{top + max(len(rows), 1)}"
        table = Table(displayName=f"SummaryTable{self.tables}", ref=ref)
        # A write-only sheet cannot be read back for the header: name the columns here.
        table._initialise_columns()
        for column, h in zip(table.tableColumns, head, strict=True):
            column.name = h[self.lang]
        with warnings.catch_warnings():
            # openpyxl warns in write-only mode that columns must be named: they are, above.
            warnings.simplefilter("ignore", UserWarning)
            ws.add_table(table)
        return top + len(rows) + 2

    def units_sheet(self, ws: Worksheet) -> None:
        cols = list(UNIT_COLS)
        level1: dict[Any, tuple[str, Any]] = {}  # id -> (title, max), in order of appearance
        scores: list[dict[Any, Any]] = []  # per unit, its level-1 scores by id
        for u in self.units:
            own = {}
            for item in full_breakdown(self.audit, u):
                if isinstance(item, dict):
                    level1.setdefault(
                        item.get("id"), (_txt(item.get("title"), self.lang), item.get("max"))
                    )
                    own[item.get("id")] = item.get("score")
            scores.append(own)
        for lid, (title, mx) in level1.items():
            if mx is None:
                head = title
            else:
                head = (
                    f"{title}（{_num_text(mx)}）"
                    if self.lang == "zh"
                    else f"{title} ({_num_text(mx)})"
                )
            cols.append((f"l1:{lid}", {"zh": head, "en": head}, "num"))
        rows = []
        for u, l1 in zip(self.units, scores, strict=True):
            row = {
                "unit_id": u.get("unit_id", ""),
                "unit_name": u.get("unit_name", ""),
                "score": u.get("score"),
                "grade": u.get("grade") or "",
                "grade_reason": self.grade_reason(u.get("grade_reason")),
                "actions": "、".join(self.action(a) for a in u.get("actions") or []),
                "findings": u.get("findings"),
            }
            for lid in level1:
                row[f"l1:{lid}"] = l1.get(lid)
            rows.append(row)
        self.data_sheet(ws, 1, cols, rows, freeze_cols=2)

    def grade_reason(self, reason: Any) -> str:
        if isinstance(reason, dict):
            text = reason.get(self.lang)
            if text:
                return str(text)
            return GRADE_REASONS.get(reason.get("code"), {}).get(
                self.lang, str(reason.get("code") or "")
            )
        return "" if reason is None else str(reason)

    def findings_sheet(self, ws: Worksheet) -> None:
        rows = []
        for f in self.findings:
            src = f.get("source") or {}
            rows.append(
                {
                    "fingerprint": f.get("fingerprint", ""),
                    "unit_id": f.get("unit_id", ""),
                    "unit_name": f.get("unit_name", ""),
                    "rule": f.get("rule", ""),
                    "rule_title": self.rule_title(f.get("rule", "")),
                    "severity": self.severity(f.get("severity")),
                    "subject": f.get("subject", ""),
                    "message": self.message(f),
                    "evidence": self.evidence(f.get("evidence")),
                    "basis": self.basis(f),
                    "source_file": src.get("file") or "",
                    "rows": rows_text(src.get("rows") or []),
                    "action": self.action(f.get("action")),
                    "verdict": VERDICTS.get(f.get("verdict"), VERDICTS[None])[self.lang],
                    "verdict_reason": f.get("verdict_reason") or "",
                    "reviewer": f.get("reviewer") or "",
                    "reviewed_on": _to_date(f.get("reviewed_on")) or f.get("reviewed_on"),
                    "deducted": f.get("deducted"),
                }
            )
        self.data_sheet(ws, 1, FINDING_COLS, rows, freeze_cols=3)

    def scores_sheet(self, ws: Worksheet) -> None:
        rows: list[dict[str, Any]] = []
        bold_rows: list[int] = []
        for u in self.units:
            breakdown = [b for b in full_breakdown(self.audit, u) if isinstance(b, dict)]
            if not breakdown:
                continue
            base = {"unit_id": u.get("unit_id", ""), "unit_name": u.get("unit_name", "")}
            for l1 in breakdown:
                for l2 in [x for x in l1.get("items") or [] if isinstance(x, dict)]:
                    for ind in [x for x in l2.get("indicators") or [] if isinstance(x, dict)]:
                        reasons, refs = self.deductions(ind.get("deductions") or [])
                        rows.append(
                            {
                                **base,
                                "level1": _txt(l1.get("title"), self.lang),
                                "level2": _txt(l2.get("title"), self.lang),
                                "level3": _txt(ind.get("title"), self.lang),
                                "max": ind.get("max"),
                                "rule_text": _txt(ind.get("description"), self.lang)
                                or str(ind.get("method") or ""),
                                "measured": _value(ind.get("measured")),
                                "peer_average": _value(ind.get("peer_average")),
                                "score": ind.get("score"),
                                "reason": reasons,
                                "evidence": refs,
                                "note": _txt(ind.get("note"), self.lang),
                            }
                        )
            total_max = sum(x.get("max") or 0 for x in breakdown)
            grade = u.get("grade")
            note = ""
            if grade:
                note = self.t("grade_is", grade=grade)
                why = self.grade_reason(u.get("grade_reason"))
                if why:
                    note += f"（{why}）" if self.lang == "zh" else f" ({why})"
            rows.append(
                {
                    **base,
                    "level1": self.t("total"),
                    "max": total_max,
                    "score": u.get("score"),
                    "note": note,
                }
            )
            bold_rows.append(len(rows))
        self.data_sheet(ws, 1, SCORE_COLS, rows, freeze_cols=2, bold=set(bold_rows))
        if not rows:
            ws.append([])
            ws.append([_styled(ws, self.t("no_scores"), font=Font(name=FONT, italic=True))])

    def deductions(self, items: list[Any]) -> tuple[str, str]:
        """Deduction reasons (rule, amount, message) and evidence references (fingerprint, rows)."""
        reasons, refs = [], []
        for d in items:
            if not isinstance(d, dict):
                continue
            fp = d.get("fingerprint")
            f = self.by_fp.get(fp, {})
            rule = d.get("rule") or f.get("rule", "")
            amount = d.get("amount")
            dismissed = (d.get("verdict") or f.get("verdict")) == "dismissed"
            if dismissed:
                amt = self.t("not_deducted")
            else:
                amt = f" −{_num_text(abs(amount))}" if isinstance(amount, int | float) else ""
            msg = self.message(f) if f else ""
            reasons.append(f"{rule}{amt}{'：' if self.lang == 'zh' else ': '}{msg}".rstrip("：: "))
            src = self.source(f) if f else ""
            refs.append(f"{fp} ({src})" if src else str(fp or ""))
        sep = "；" if self.lang == "zh" else "; "
        return sep.join(reasons), sep.join(refs)

    def ledger_sheet(self, ws: Worksheet) -> None:
        verdicts = Counter(f.get("verdict") for f in self.findings)
        reviewed = verdicts.get("confirmed", 0) + verdicts.get("dismissed", 0) > 0
        if reviewed:
            chosen = [f for f in self.findings if f.get("verdict") == "confirmed"]
            note = self.t(
                "ledger_confirmed",
                n=len(chosen),
                d=verdicts.get("dismissed", 0),
                u=len(self.findings) - verdicts.get("confirmed", 0) - verdicts.get("dismissed", 0),
                days=DEADLINE_DAYS,
            )
        else:
            chosen = [f for f in self.findings if f.get("verdict") != "dismissed"]
            note = self.t("ledger_unreviewed", n=len(chosen), days=DEADLINE_DAYS)
        title = self.t(
            "ledger_title",
            dataset=self.audit.get("dataset", ""),
            as_of=self.as_of.isoformat() if self.as_of else self.audit.get("as_of", ""),
        )
        preamble = [
            [_styled(ws, title, font=Font(name=FONT, bold=True, size=14))],
            [_styled(ws, note, font=Font(name=FONT, italic=True))],
        ]
        deadline = self.as_of + timedelta(days=DEADLINE_DAYS) if self.as_of else None
        status = STATUS[self.lang]
        rows = []
        for i, f in enumerate(chosen, 1):
            rows.append(
                {
                    "no": i,
                    "unit_id": f.get("unit_id", ""),
                    "unit_name": f.get("unit_name", ""),
                    "rule": f.get("rule", ""),
                    "rule_title": self.rule_title(f.get("rule", "")),
                    "found_on": self.as_of,
                    "subject": f.get("subject", ""),
                    "message": self.message(f),
                    "basis": self.basis(f),
                    "measure": self.action(f.get("action")),
                    "owner": f.get("unit_name", "") or f.get("unit_id", ""),
                    "deadline": deadline,
                    "status": status[0],
                    "closed_on": None,
                    "evidence": self.source(f),
                    "fingerprint": f.get("fingerprint", ""),
                }
            )
        head = 3
        last = self.data_sheet(ws, head, LEDGER_COLS, rows, freeze_cols=3, preamble=preamble)
        if rows:
            keys = [c[0] for c in LEDGER_COLS]
            st = get_column_letter(keys.index("status") + 1)
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(status) + '"',
                allow_blank=False,
                showErrorMessage=True,
                errorTitle=LEDGER_COLS[keys.index("status")][1][self.lang],
                error=" / ".join(status),
            )
            dv.add(f"{st}{head + 1}:{st}{last}")
            ws.data_validations.append(dv)  # write-only sheets lack add_data_validation
            cl = get_column_letter(keys.index("closed_on") + 1)
            if self.as_of:
                dd = DataValidation(
                    type="date",
                    operator="greaterThanOrEqual",
                    formula1=f"DATE({self.as_of.year},{self.as_of.month},{self.as_of.day})",
                    allow_blank=True,
                    showErrorMessage=True,
                    error=self.t("as_of") + " ≤ ",
                )
                dd.add(f"{cl}{head + 1}:{cl}{last}")
                ws.data_validations.append(dd)
        ws.print_title_rows = f"{head}:{head}"

    def data_sheet(
        self,
        ws: Worksheet,
        head: int,
        cols: list[tuple[str, dict[str, str], str]],
        rows: list[dict[str, Any]],
        freeze_cols: int = 0,
        bold: set[int] | None = None,
        preamble: list[list[Any]] | None = None,
    ) -> int:
        """The preamble rows, a header row at `head` and one row per dict (`bold`: their
        1-based positions to set in bold); formats, widths, filter, frozen panes.

        The sheet is write-only: widths, frozen panes and row heights are set before the rows
        they concern are written. Returns the last row written (the header row when there are
        no rows).
        """
        widths = [width(h[self.lang]) + 4 for _, h, _ in cols]
        for values in rows:
            for c, (key, _, _) in enumerate(cols):
                widths[c] = max(widths[c], _cell_width(values.get(key)) + 2)
        for c, (_, _, kind) in enumerate(cols, 1):
            w = widths[c - 1]
            if kind.startswith("wrap:"):
                w = min(w, WRAP[kind[5:]])
            else:
                w = max(w, 12) if kind == "date" else min(w, 40)
            widths[c - 1] = max(6, w)
            ws.column_dimensions[get_column_letter(c)].width = widths[c - 1]
        last = head + len(rows)
        ws.auto_filter.ref = f"A{head}:{get_column_letter(len(cols))}{last}"
        ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{head + 1}"
        if head == 1:
            ws.print_title_rows = "1:1"
        for line in preamble or []:
            ws.append(line)
        for _ in range(head - 1 - len(preamble or [])):
            ws.append([])
        ws.append([_head(WriteOnlyCell(ws, h[self.lang])) for _, h, _ in cols])
        # Row heights for wrapped text: not every spreadsheet program fits them on opening.
        wrapped = [(key, widths[c]) for c, (key, _, k) in enumerate(cols) if k.startswith("wrap")]
        # Setting a style through openpyxl's descriptors looks it up in the workbook's style
        # tables every time; a province's sheet has millions of cells but a handful of
        # styles, so each style is set once and its index array copied to the other cells.
        styles: dict[tuple[str, bool, bool], Any] = {}
        for r, values in enumerate(rows, 1):
            strong = bool(bold) and r in bold
            line: list[Any] = []
            for key, _, kind in cols:
                v = values.get(key)
                cell = _write_cell(ws, v)
                style = (kind, kind == "num" and isinstance(v, float), strong)
                known = styles.get(style)
                if known is not None:
                    cell._style = copy(known)
                else:
                    if kind == "date":
                        cell.number_format = DATE_FORMAT
                        cell.alignment = TOP
                    elif style[1]:
                        cell.number_format = SCORE_FORMAT
                        cell.alignment = TOP
                    elif kind.startswith("wrap"):
                        cell.alignment = TOP_WRAP
                    else:
                        cell.alignment = TOP
                    if strong:
                        cell.font = HEAD_FONT
                    styles[style] = copy(cell._style)
                line.append(cell)
            lines = max((_lines(values.get(key), w) for key, w in wrapped), default=1)
            if lines > 1:
                ws.row_dimensions[head + r].height = LINE_HEIGHT * lines + 3
            ws.append(line)
        return last


class _Free:
    """A small sheet written cell by cell in any order (the summary), then streamed out:
    cells are kept until `flush`, which writes them row by row to the write-only sheet."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.cells: dict[tuple[int, int], WriteOnlyCell] = {}

    def cell(self, row: int, column: int, value: Any = None) -> WriteOnlyCell:
        """The cell at (row, column), made on first use; `value` set when given."""
        cell = self.cells.get((row, column))
        if cell is None:
            cell = self.cells[(row, column)] = WriteOnlyCell(self.ws)
        if value is not None:
            cell.value = value
        return cell

    def __getitem__(self, coordinate: str) -> WriteOnlyCell:
        letters, row = coordinate_from_string(coordinate)
        return self.cell(row, column_index_from_string(letters))

    def __setitem__(self, coordinate: str, value: Any) -> None:
        self[coordinate].value = value

    def __getattr__(self, name: str) -> Any:
        # column_dimensions, add_table ...: the sheet's own.
        return getattr(self.ws, name)

    def flush(self) -> None:
        """Write every cell, row by row."""
        if not self.cells:
            return
        rows = max(r for r, _ in self.cells)
        cols = max(c for _, c in self.cells)
        for r in range(1, rows + 1):
            self.ws.append([self.cells.get((r, c)) for c in range(1, cols + 1)])


def rows_text(rows: list[Any]) -> str:
    """Source rows as ranges: 29-31, 72, 287-303."""
    nums = sorted({int(r) for r in rows if isinstance(r, int | float)})
    parts: list[str] = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    text = ", ".join(parts)
    if len(text) > 2000:
        cut = text.rfind(", ", 0, 2000)
        text = text[:cut] + f", … (+{len(nums)})"
    return text


def _builtin_rules() -> list[Rule]:
    from ..errors import InputError
    from ..rulefile import load_rules

    try:
        return load_rules()
    except InputError:  # pragma: no cover - the built-in rules are tested elsewhere
        return []


def _txt(value: Any, lang: str) -> str:
    if isinstance(value, dict):
        text = value.get(lang) or value.get("zh") or value.get("en")
        return "" if text is None else str(text)
    return "" if value is None else str(value)


def _value(v: Any) -> Any:
    if v is None or isinstance(v, bool) or isinstance(v, int | float | str):
        return v
    return json.dumps(v, ensure_ascii=False)


def _num_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _to_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


@lru_cache(maxsize=1 << 16)
def _text_width(text: str) -> int:
    """Display width of a text's widest line (cached: sheets repeat titles and rule texts)."""
    return max((width(line) for line in text.splitlines()), default=0)


def _cell_width(v: Any) -> int:
    if isinstance(v, str):
        return _text_width(v)
    if v is None:
        return 0
    if isinstance(v, date):
        return 10
    if isinstance(v, float):
        return len(f"{v:.2f}")
    return max((width(line) for line in str(v).splitlines()), default=0)


def _lines(value: Any, col_width: float) -> int:
    """How many lines a wrapped text cell takes at a column width."""
    if not isinstance(value, str) or not value:
        return 1
    return _wrapped_lines(value, max(4, int(col_width) - 2))


@lru_cache(maxsize=1 << 16)
def _wrapped_lines(text: str, cols: int) -> int:
    return sum(len(wrap(line, cols)) for line in text.splitlines()) or 1


@lru_cache(maxsize=1 << 16)
def _clean(text: str) -> str:
    """Text as a cell may hold it: no control characters, at most MAX_CELL characters."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text[:MAX_CELL] + "…" if len(text) > MAX_CELL else text


def _head(cell: WriteOnlyCell) -> WriteOnlyCell:
    """Give a cell the header style."""
    cell.font = HEAD_FONT
    cell.fill = HEAD_FILL
    cell.border = HEAD_BORDER
    cell.alignment = HEAD_ALIGN
    return cell


def _styled(ws: Worksheet, value: Any, **style: Any) -> WriteOnlyCell:
    """A cell for a streamed row, with the given style attributes (font=..., ...)."""
    cell = _write_cell(ws, value)
    for name, v in style.items():
        setattr(cell, name, v)
    return cell


def _cell_value(value: Any) -> Any:
    """A value as a cell holds it: text cleaned, numbers and dates typed, the rest as text."""
    if isinstance(value, str):
        return _clean(value)
    if value is not None and not isinstance(value, int | float | date):
        return str(value)
    return value


def _write_cell(ws: Worksheet, value: Any) -> WriteOnlyCell:
    """A cell for a streamed row, holding the value as what it is (see _set)."""
    return _set(WriteOnlyCell(ws), value)


def _put(ws: _Free, row: int, col: int, value: Any) -> WriteOnlyCell:
    """Write a value on a `_Free` sheet as what it is (see _set)."""
    return _set(ws.cell(row, col), value)


def _set(cell: WriteOnlyCell, value: Any) -> WriteOnlyCell:
    """Put a value in a cell: text stays text (even '=…'), numbers and dates typed."""
    cell.value = _cell_value(value)
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"
    return cell
