"""Waivers: approved, dated exceptions that keep known findings from failing a CI run.

A waivers file (YAML) is a list of entries. Each selects findings either by fingerprint or by
rule, unit and subject (the same thing: the fingerprint is a hash of those three), and gives
the reason, the approver, the approval document number and the expiry date:

    - fingerprint: 54e8b0832e0c3532
      reason: 机构改革过渡期，待三定规定印发后调整
      approver: 县委编办 王五
      doc_no: 双编办〔2026〕12号
      expires: 2026-12-31
    - {rule: Q03, unit_id: U0007, subject: admin, reason: …, approver: …, doc_no: …,
       expires: 2027-06-30}

A waiver applies while the audit date is on or before its expiry. A waived finding stays in
every report, marked with its waiver, and is counted separately; it never changes the exit
code. A waiver past its expiry no longer applies and is reported; so is a waiver in force
that matches no finding. Waivers change nothing in scores, grades or actions: they are a CI
decision, not a verdict on the facts (for that, see adjudications).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem, ProblemCollector
from .findings import Finding, fingerprint
from .params import to_date
from .yamlutil import display_path, load_yaml_text, read_text_file

SELECTOR_KEYS = ("rule", "unit_id", "subject")
REQUIRED_KEYS = ("reason", "approver", "doc_no", "expires")
KEYS = ("fingerprint", *SELECTOR_KEYS, *REQUIRED_KEYS)
FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Waiver:
    """One approved exception."""

    entry: int  # 1-based position in the file
    fingerprint: str  # the findings it selects (given, or computed from rule|unit|subject)
    rule: str | None
    unit_id: str | None
    subject: str | None
    reason: str
    approver: str
    doc_no: str
    expires: date
    file: str
    line: int | None

    def expired(self, as_of: date) -> bool:
        """Past its expiry on the audit date (it applies through the expiry date itself)."""
        return self.expires < as_of

    def selector(self) -> str:
        """How the entry selects findings, for messages."""
        if self.rule is not None:
            return f"{self.rule} {self.unit_id} {self.subject}"
        return self.fingerprint

    def stamp(self) -> dict[str, Any]:
        """What a waived finding carries: reason, approver, doc_no, expires."""
        return {
            "reason": self.reason,
            "approver": self.approver,
            "doc_no": self.doc_no,
            "expires": self.expires.isoformat(),
        }

    def to_json(self) -> dict[str, Any]:
        """The waiver as plain JSON values, with where it is written."""
        return {
            "entry": self.entry,
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "unit_id": self.unit_id,
            "subject": self.subject,
            **self.stamp(),
            "source": {"file": self.file, "line": self.line},
        }


@dataclass
class WaiverOutcome:
    """Waivers applied to one audit's findings."""

    applied: dict[str, Waiver] = field(default_factory=dict)  # fingerprint -> waiver
    expired: list[tuple[Waiver, list[str]]] = field(default_factory=list)  # with matches
    unmatched: list[Waiver] = field(default_factory=list)
    used: list[Waiver] = field(default_factory=list)  # in force and matching


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate a waivers file; InputError naming the file and entry on any problem."""
    path = Path(path)
    display = display_path(path)
    text = read_text_file(path, display)
    doc = load_yaml_text(text, display, scalars_as_text=True)
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise InputError(
            [Problem(file=display, message="a waivers file is a list of waivers (YAML sequence)")]
        )
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = [item.start_mark.line + 1 for item in node.value] if node is not None else []
    problems = ProblemCollector()
    out: list[Waiver] = []
    for i, item in enumerate(doc, start=1):
        line = lines[i - 1] if i - 1 < len(lines) else None
        w = _waiver(item, i, display, line, problems)
        if w is not None:
            out.append(w)
    problems.raise_if_any()
    return out


def _waiver(
    item: Any, entry: int, file: str, line: int | None, problems: ProblemCollector
) -> Waiver | None:
    def bad(message: str, column: str | None = None) -> None:
        problems.add(
            Problem(file=file, row=line, column=column, message=f"waiver {entry}: {message}")
        )

    if not isinstance(item, dict):
        bad("a waiver must be a mapping")
        return None
    ok = True
    for key in item:
        if key not in KEYS:
            bad(f"unknown key {key!r} (allowed: {', '.join(KEYS)})", str(key))
            ok = False
    values: dict[str, str] = {}
    for key in KEYS:
        if key not in item:
            continue
        value = item[key]
        if not isinstance(value, str) or not value.strip():
            bad(f"{key} must be non-empty text", key)
            ok = False
            continue
        values[key] = value.strip()
    for key in REQUIRED_KEYS:
        if key not in item:
            bad(f"missing {key}", key)
            ok = False
    by_fp = "fingerprint" in item
    by_key = [k for k in SELECTOR_KEYS if k in item]
    if by_fp and by_key:
        bad("select findings by fingerprint or by rule, unit_id and subject, not both")
        ok = False
    elif not by_fp and not by_key:
        bad("select findings by fingerprint, or by rule, unit_id and subject")
        ok = False
    elif by_key and len(by_key) < len(SELECTOR_KEYS):
        missing = ", ".join(k for k in SELECTOR_KEYS if k not in item)
        bad(f"a selector by rule needs rule, unit_id and subject (missing {missing})")
        ok = False
    fp = values.get("fingerprint")
    if fp is not None and not FINGERPRINT.match(fp):
        bad(f"fingerprint {fp!r} is not 16 hexadecimal digits (see the fingerprint column)")
        ok = False
    expires: date | None = None
    if "expires" in values:
        try:
            expires = to_date(values["expires"])
        except ValueError:
            bad(f"expires is not a date: {values['expires']!r}", "expires")
            ok = False
    if not ok or expires is None:
        return None
    rule, unit_id, subject = (values.get(k) for k in SELECTOR_KEYS)
    if fp is None:
        assert rule is not None and unit_id is not None and subject is not None
        fp = fingerprint(rule, unit_id, subject)
    return Waiver(
        entry=entry,
        fingerprint=fp,
        rule=rule,
        unit_id=unit_id,
        subject=subject,
        reason=values["reason"],
        approver=values["approver"],
        doc_no=values["doc_no"],
        expires=expires,
        file=file,
        line=line,
    )


def apply_waivers(findings: list[Finding], waivers: list[Waiver], as_of: date) -> WaiverOutcome:
    """Which findings are waived on the audit date; which waivers expired or match nothing.

    When several waivers in force select one finding, the one that expires last applies.
    """
    present: dict[str, int] = {}
    for f in findings:
        present[f.fingerprint] = present.get(f.fingerprint, 0) + 1
    out = WaiverOutcome()
    for w in waivers:
        hits = [w.fingerprint] if w.fingerprint in present else []
        if w.expired(as_of):
            out.expired.append((w, hits))
            continue
        if not hits:
            out.unmatched.append(w)
            continue
        out.used.append(w)
        current = out.applied.get(w.fingerprint)
        if current is None or w.expires > current.expires:
            out.applied[w.fingerprint] = w
    return out
