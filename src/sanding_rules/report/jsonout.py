"""The contract's JSON output (data contract, section 4), with scores, grades and actions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from ..audit import AuditResult
from ..baseline import Triage
from ..findings import Finding
from ..gcpause import gc_paused
from ..score import model_json, units_json
from . import evidence_for_output


def finding_json(
    result: AuditResult,
    f: Finding,
    lang: str,
    show_ids: bool,
    deducted: dict,
    triage: Triage | None = None,
) -> dict[str, Any]:
    """One finding with its verdict, the points it took off and its CI status."""
    obj = f.to_json(lang)
    obj["evidence"] = evidence_for_output(f, show_ids)
    v = result.verdicts.get(f.fingerprint)
    obj["verdict"] = v.verdict if v else None
    obj["verdict_reason"] = v.reason if v else None
    obj["reviewer"] = v.reviewer if v else None
    obj["reviewed_on"] = v.date.isoformat() if v else None
    obj["deducted"] = round(deducted.get(f.fingerprint, 0.0), 4)
    triage = triage or Triage()
    waiver = triage.waiver(f)
    obj["status"] = triage.status(f)  # new | known | waived
    obj["baseline"] = triage.baseline_state(f)  # known | new | None without --baseline
    obj["waived"] = waiver.stamp() if waiver else None
    return obj


def audit_json(
    result: AuditResult, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> dict[str, Any]:
    """The audit as the contract's JSON object (with CI status under a baseline and waivers)."""
    with gc_paused():  # hundreds of thousands of small acyclic dicts
        return _audit_json(result, lang, show_ids, triage)


def _audit_json(
    result: AuditResult, lang: str, show_ids: bool, triage: Triage | None
) -> dict[str, Any]:
    triage = triage or Triage()
    per_unit: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        per_unit[f.unit_id].append(f)
    deducted = result.deducted()
    findings = [finding_json(result, f, lang, show_ids, deducted, triage) for f in result.findings]
    interned: dict[str, str] = {}
    scored = units_json(result.scores, lang, slim=True, notes=interned)
    unit_frame = result.facts["unit"]
    units = []
    unit_ids, names = unit_frame["unit_id"].tolist(), unit_frame["unit_name"].tolist()
    for uid, name in zip(unit_ids, names, strict=True):
        acts = result.actions.get(uid, [])
        score = scored.get(uid, {})
        units.append(
            {
                "unit_id": uid,
                "unit_name": name,
                "score": score.get("score"),
                "grade": score.get("grade"),
                "grade_reason": score.get("grade_reason"),
                "actions": [a.action for a in acts],
                "action_details": [a.to_json() for a in acts],
                "findings": len(per_unit.get(uid, [])),
                "breakdown": score.get("breakdown"),
            }
        )
    return {
        "as_of": result.as_of.isoformat(),
        "dataset": result.dataset,
        "lang": lang,
        "model": model_json(result.model, result.scores) if result.model else None,
        "notes": {
            ref: dict(zip(("zh", "en"), key.split("\x00", 1), strict=True))
            for key, ref in interned.items()
        },
        "rules_evaluated": list(result.rules_evaluated),
        "rules_not_evaluated": [
            {"rule": n.rule, "reason": n.reason[lang], "reasons": n.reason}
            for n in result.rules_not_evaluated
        ],
        "findings": findings,
        "units": units,
        "adjudications_unmatched": [v.to_json() for v in result.unmatched_verdicts],
        "waivers_expired": triage.expired_json(),
        "waivers_unmatched": triage.unmatched_json(),
        "baseline_fixed": triage.fixed_json(),
        "summary": {
            "units": result.units,
            "people": result.people,
            "findings": len(result.findings),
            "findings_dismissed": sum(1 for f in result.findings if not result.counts(f)),
            "by_rule": result.by_rule(),
            "by_severity": result.by_severity(),
            "by_grade": result.by_grade(),
            **triage.counts(result.findings),  # new, known, waived, baseline_fixed
        },
    }


def json_text(
    result: AuditResult, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> str:
    """The audit JSON as compact text (orjson: a province's report is tens of megabytes)."""
    obj = audit_json(result, lang, show_ids, triage)
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8") + "\n"


def write_json(
    result: AuditResult, out, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> None:
    """Write the audit JSON to a text stream."""
    out.write(json_text(result, lang, show_ids, triage))
