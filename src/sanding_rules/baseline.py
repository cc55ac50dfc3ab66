"""Baselines, and the CI status of each finding: new, known (in the baseline) or waived.

`sanding baseline DATASET -o baseline.json` records the findings of today's audit; an audit
run with `--baseline baseline.json` marks the findings already recorded as known, and only
the others (new) count toward the exit code. Findings are matched on rule, unit, subject and
file, never on line numbers: a roster row that moves keeps its finding known, and a new
violation anywhere else is new even when the same rule already has known findings.

    {"version": 1, "dataset": "roster", "as_of": "2026-06-30",
     "findings": [{"rule": "Q01", "unit_id": "U0012", "subject": "admin",
                   "file": "roster.csv", "fingerprint": "29cf8c0004404c28"}]}

`Triage` combines a baseline with waivers (waivers.py): a finding is `waived` when a waiver in
force selects it, else `known` when the baseline has it, else `new`. Only new findings at or
above --fail-on fail a run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, ProblemCollector
from .findings import Finding, fingerprint
from .waivers import Waiver, WaiverOutcome, apply_waivers
from .yamlutil import display_path

VERSION = 1
ENTRY_KEYS = ("rule", "unit_id", "subject", "file", "fingerprint")

Key = tuple[str, str, str, str]


def finding_key(f: Finding) -> Key:
    """What a baseline matches on: rule, unit, subject and the finding's (first) file."""
    return (f.rule, f.unit_id, f.subject, str((f.source or {}).get("file") or ""))


@dataclass(frozen=True)
class BaselineEntry:
    """One recorded finding."""

    rule: str
    unit_id: str
    subject: str
    file: str
    fingerprint: str

    @property
    def key(self) -> Key:
        """The matching key."""
        return (self.rule, self.unit_id, self.subject, self.file)

    def to_json(self) -> dict[str, str]:
        """The entry as written in the baseline file."""
        return {
            "rule": self.rule,
            "unit_id": self.unit_id,
            "subject": self.subject,
            "file": self.file,
            "fingerprint": self.fingerprint,
        }


@dataclass
class Baseline:
    """A baseline file's findings."""

    entries: list[BaselineEntry]
    dataset: str | None = None
    as_of: str | None = None
    file: str | None = None

    def keys(self) -> set[Key]:
        """The matching keys of every entry."""
        return {e.key for e in self.entries}


def baseline_json(findings: list[Finding], dataset: str, as_of: date) -> dict[str, Any]:
    """A baseline of these findings, sorted so that a re-recorded baseline diffs cleanly."""
    entries = sorted({finding_key(f) for f in findings})
    return {
        "version": VERSION,
        "dataset": dataset,
        "as_of": as_of.isoformat(),
        "findings": [
            BaselineEntry(r, u, s, file, fingerprint(r, u, s)).to_json()
            for r, u, s, file in entries
        ],
    }


def write_baseline(findings: list[Finding], dataset: str, as_of: date, out) -> None:
    """Write a baseline to a text stream."""
    json.dump(baseline_json(findings, dataset, as_of), out, ensure_ascii=False, indent=1)
    out.write("\n")


def load_baseline(path: Path) -> Baseline:
    """Read and check a baseline file; InputError naming the file and entry on any problem."""
    path = Path(path)
    display = display_path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError([Problem(file=display, message=f"cannot read: {exc.strerror}")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError([Problem(file=display, message=f"not a JSON baseline: {exc}")]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise InputError(
            [Problem(file=display, message="a baseline is an object with a findings list")]
        )
    if doc.get("version") != VERSION:
        raise InputError(
            [
                Problem(
                    file=display,
                    message=f"unsupported baseline version {doc.get('version')!r} "
                    f"(this sanding reads version {VERSION})",
                )
            ]
        )
    problems = ProblemCollector()
    entries: list[BaselineEntry] = []
    for i, item in enumerate(doc["findings"], start=1):
        if not isinstance(item, dict):
            problems.add(Problem(file=display, message=f"finding {i}: not an object"))
            continue
        unknown = [k for k in item if k not in ENTRY_KEYS]
        missing = [k for k in ENTRY_KEYS if k not in item]
        wrong = [k for k in ENTRY_KEYS if k in item and not isinstance(item[k], str)]
        if unknown or missing or wrong:
            parts = []
            if unknown:
                parts.append(f"unknown keys {', '.join(map(str, unknown))}")
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if wrong:
                parts.append(f"not text: {', '.join(wrong)}")
            problems.add(Problem(file=display, message=f"finding {i}: " + "; ".join(parts)))
            continue
        entries.append(BaselineEntry(*(item[k] for k in ENTRY_KEYS)))
    problems.raise_if_any()
    return Baseline(
        entries,
        dataset=doc.get("dataset") if isinstance(doc.get("dataset"), str) else None,
        as_of=doc.get("as_of") if isinstance(doc.get("as_of"), str) else None,
        file=display,
    )


@dataclass
class Triage:
    """The CI status of one audit's findings under a baseline and waivers (either optional)."""

    baseline: Baseline | None = None
    known: set[Key] = field(default_factory=set)
    fixed: list[BaselineEntry] = field(default_factory=list)
    waivers: WaiverOutcome = field(default_factory=WaiverOutcome)
    waiver_file: str | None = None

    def waiver(self, f: Finding) -> Waiver | None:
        """The waiver in force that selects a finding, if any."""
        return self.waivers.applied.get(f.fingerprint)

    def baseline_state(self, f: Finding) -> str | None:
        """'known' or 'new' against the baseline; None when there is no baseline."""
        if self.baseline is None:
            return None
        return "known" if finding_key(f) in self.known else "new"

    def status(self, f: Finding) -> str:
        """'waived', 'known' or 'new' (the three are counted separately)."""
        if self.waiver(f) is not None:
            return "waived"
        return "known" if self.baseline_state(f) == "known" else "new"

    def counting(self, findings: list[Finding]) -> list[Finding]:
        """The findings that count toward the exit code: new and not waived."""
        return [f for f in findings if self.status(f) == "new"]

    def counts(self, findings: list[Finding]) -> dict[str, int]:
        """{new, known, waived, baseline_fixed}."""
        out = {"new": 0, "known": 0, "waived": 0}
        for f in findings:
            out[self.status(f)] += 1
        out["baseline_fixed"] = len(self.fixed)
        return out

    def expired_json(self) -> list[dict[str, Any]]:
        """Waivers past their expiry, with the findings they would have selected."""
        return [{**w.to_json(), "matches": hits} for w, hits in self.waivers.expired]

    def unmatched_json(self) -> list[dict[str, Any]]:
        """Waivers in force that select no finding."""
        return [w.to_json() for w in self.waivers.unmatched]

    def fixed_json(self) -> list[dict[str, str]]:
        """Baseline findings no longer found."""
        return [e.to_json() for e in self.fixed]


def triage(
    findings: list[Finding],
    as_of: date,
    baseline: Baseline | None = None,
    waivers: list[Waiver] | None = None,
    waiver_file: str | None = None,
) -> Triage:
    """Mark each finding new, known or waived; list fixed baseline findings and stale waivers."""
    current = {finding_key(f) for f in findings}
    known: set[Key] = set()
    fixed: list[BaselineEntry] = []
    if baseline is not None:
        recorded = baseline.keys()
        known = current & recorded
        seen: set[Key] = set()
        for e in baseline.entries:
            if e.key not in current and e.key not in seen:
                fixed.append(e)
                seen.add(e.key)
    outcome = apply_waivers(findings, waivers or [], as_of)
    return Triage(baseline, known, fixed, outcome, waiver_file)
