"""One CSV row per finding, for spreadsheets (UTF-8 with BOM so Excel reads Chinese)."""

from __future__ import annotations

import csv
import json

from ..audit import AuditResult
from ..baseline import Triage
from . import evidence_for_output

HEADERS = {
    "zh": [
        "规则",
        "严重程度",
        "单位代码",
        "单位名称",
        "对象",
        "建议措施",
        "问题描述",
        "证据",
        "依据",
        "文件",
        "行号",
        "指纹",
        "状态",
        "基线",
        "豁免批准文号",
        "豁免批准人",
        "豁免有效期至",
        "豁免理由",
    ],
    "en": [
        "rule",
        "severity",
        "unit_id",
        "unit_name",
        "subject",
        "action",
        "message",
        "evidence",
        "basis",
        "file",
        "rows",
        "fingerprint",
        "status",
        "baseline",
        "waiver_doc_no",
        "waiver_approver",
        "waiver_expires",
        "waiver_reason",
    ],
}


def write_csv(
    result: AuditResult,
    out,
    lang: str = "zh",
    show_ids: bool = False,
    triage: Triage | None = None,
) -> None:
    """Write the findings as CSV to a text stream (status: new, known or waived)."""
    triage = triage or Triage()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS[lang])
    for f in result.findings:
        w = triage.waiver(f)
        writer.writerow(
            [
                f.rule,
                f.severity,
                f.unit_id,
                f.unit_name,
                f.subject,
                f.action,
                f.messages[lang],
                json.dumps(evidence_for_output(f, show_ids), ensure_ascii=False),
                f.basis[lang],
                f.source.get("file", ""),
                " ".join(str(r) for r in f.source.get("rows", [])),
                f.fingerprint,
                triage.status(f),
                triage.baseline_state(f) or "",
                w.doc_no if w else "",
                w.approver if w else "",
                w.expires.isoformat() if w else "",
                w.reason if w else "",
            ]
        )
