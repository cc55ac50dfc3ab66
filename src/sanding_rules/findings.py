"""Findings: plain values, collected in full, with a stable fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


def fingerprint(rule: str, unit_id: str, subject: str) -> str:
    """A stable id for a finding: the same violation keeps it when rows move or values change."""
    text = f"{rule}|{unit_id}|{subject}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    """One violation of one rule, with the numbers and rows behind it."""

    rule: str
    severity: str
    unit_id: str
    subject: str
    action: str
    messages: dict[str, str]
    evidence: dict[str, Any]
    basis: dict[str, str]
    source: dict[str, Any]
    magnitude: float = 1.0
    indicator: str = ""
    unit_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def fingerprint(self) -> str:
        """Stable fingerprint of rule, unit and subject (computed once: it is looked up for
        verdicts, scores, baselines and every report)."""
        return fingerprint(self.rule, self.unit_id, self.subject)

    @property
    def key(self) -> tuple[str, str, str]:
        """(rule, unit_id, subject): what tests and baselines compare."""
        return (self.rule, self.unit_id, self.subject)

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        """The contract's JSON object for this finding."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "unit_id": self.unit_id,
            "unit_name": self.unit_name,
            "subject": self.subject,
            "action": self.action,
            "message": self.messages[lang],
            "messages": dict(self.messages),
            "evidence": dict(self.evidence),
            "basis": self.basis[lang],
            "source": dict(self.source),
            "fingerprint": self.fingerprint,
            "indicator": self.indicator,
            "magnitude": self.magnitude,
        }
