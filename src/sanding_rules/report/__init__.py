"""Report writers: the contract's JSON, a terminal table, CSV."""

from __future__ import annotations

from typing import Any

from .. import idnumber
from ..findings import Finding
from ..rulefile import ACTIONS, SEVERITY_RANK

SEVERITY_LABELS = {
    "error": {"zh": "错误", "en": "error"},
    "warning": {"zh": "警告", "en": "warning"},
    "info": {"zh": "提示", "en": "info"},
}
# Evidence keys that hold ID numbers: masked unless the user asks to see them.
ID_KEYS = {"id_number"}


def evidence_for_output(finding: Finding, show_ids: bool) -> dict[str, Any]:
    """A finding's evidence, with ID numbers masked unless asked for."""
    if show_ids:
        return dict(finding.evidence)
    return {
        k: (idnumber.mask(str(v)) if k in ID_KEYS and v is not None else v)
        for k, v in finding.evidence.items()
    }


def unit_actions(findings: list[Finding]) -> list[str]:
    """Distinct actions of a unit's findings, most severe finding first."""
    ordered = sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.rule, f.subject))
    out: list[str] = []
    for f in ordered:
        if f.action not in out:
            out.append(f.action)
    return out


def action_label(action: str, lang: str) -> str:
    """Chinese or English name of an action."""
    return ACTIONS.get(action, {}).get(lang, action)
