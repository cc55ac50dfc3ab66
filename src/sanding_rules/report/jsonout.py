"""The contract's JSON output (data contract, section 4)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..audit import AuditResult
from ..findings import Finding
from . import evidence_for_output, unit_actions


def audit_json(result: AuditResult, lang: str = "zh", show_ids: bool = False) -> dict[str, Any]:
    """The audit as the contract's JSON object."""
    per_unit: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        per_unit[f.unit_id].append(f)
    findings = []
    for f in result.findings:
        obj = f.to_json(lang)
        obj["evidence"] = evidence_for_output(f, show_ids)
        findings.append(obj)
    unit_frame = result.facts["unit"]
    units = []
    for uid, name in zip(unit_frame["unit_id"], unit_frame["unit_name"], strict=True):
        fs = per_unit.get(uid, [])
        units.append(
            {
                "unit_id": uid,
                "unit_name": name,
                "score": None,
                "grade": None,
                "actions": unit_actions(fs),
                "findings": len(fs),
            }
        )
    return {
        "as_of": result.as_of.isoformat(),
        "dataset": result.dataset,
        "lang": lang,
        "rules_evaluated": list(result.rules_evaluated),
        "rules_not_evaluated": [
            {"rule": n.rule, "reason": n.reason[lang], "reasons": n.reason}
            for n in result.rules_not_evaluated
        ],
        "findings": findings,
        "units": units,
        "summary": {
            "units": result.units,
            "people": result.people,
            "findings": len(result.findings),
            "by_rule": result.by_rule(),
            "by_severity": result.by_severity(),
            "by_grade": {},
        },
    }


def write_json(result: AuditResult, out, lang: str = "zh", show_ids: bool = False) -> None:
    """Write the audit JSON to a text stream."""
    json.dump(audit_json(result, lang, show_ids), out, ensure_ascii=False, indent=1)
    out.write("\n")
