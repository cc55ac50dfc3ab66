"""One CSV row per finding, for spreadsheets (UTF-8 with BOM so Excel reads Chinese)."""

from __future__ import annotations

import csv
import json

from ..audit import AuditResult
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
    ],
}


def write_csv(result: AuditResult, out, lang: str = "zh", show_ids: bool = False) -> None:
    """Write the findings as CSV to a text stream."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS[lang])
    for f in result.findings:
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
            ]
        )
