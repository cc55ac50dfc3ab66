"""Rule cases: small tables, an as-of date and the expected findings, beside each rule.

A case's tables are written to a temporary folder as CSV and read back by the real loader,
so a case exercises the same path as a user's dataset.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError, Problem, ProblemCollector
from .evaluate import Overrides, find
from .facts import build_facts
from .findings import Finding
from .load import load_dataset
from .params import to_date
from .rulefile import Rule
from .schema import TABLES
from .yamlutil import load_yaml_file

CASE_KEYS = {"name", "as_of", "params", "tables", "expect", "description"}
EXPECT_KEYS = {"unit_id", "subject", "evidence"}


@dataclass
class Case:
    """One case of one rule."""

    rule: str
    name: str
    as_of: date
    tables: dict[str, list[dict[str, Any]]]
    expect: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    file: str = ""

    @property
    def id(self) -> str:
        """`Q01-over_by_one`: what pytest shows, so `-k Q01` selects a rule's cases."""
        return f"{self.rule}-{self.name}"


def cases_path(rule: Rule) -> Path:
    """Where a rule's cases live: beside the rule file."""
    return rule.file.with_name(f"{rule.id}.cases.yaml")


def load_cases(path: Path, rule_id: str) -> list[Case]:
    """Read and validate a cases file strictly."""
    display = str(path)
    problems = ProblemCollector()
    doc = load_yaml_file(path, display)
    if not isinstance(doc, dict) or set(doc) != {"rule", "cases"}:
        raise InputError([Problem(display, "a cases file has exactly the keys rule and cases")])
    if doc["rule"] != rule_id:
        raise InputError(
            [Problem(display, f"cases are for rule {doc['rule']}, expected {rule_id}")]
        )
    if not isinstance(doc["cases"], list) or not doc["cases"]:
        raise InputError([Problem(display, "cases must be a non-empty list")])
    cases: list[Case] = []
    names: set[str] = set()
    for i, raw in enumerate(doc["cases"]):
        where = f"cases[{i}]"
        if not isinstance(raw, dict):
            problems.add(Problem(display, "a case must be a mapping", column=where))
            continue
        for key in raw:
            if key not in CASE_KEYS:
                problems.add(Problem(display, f"unknown key {key!r}", column=f"{where}.{key}"))
        name = raw.get("name")
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or name in names:
            problems.add(
                Problem(
                    display, "each case needs a unique name of letters, digits and _", column=where
                )
            )
            continue
        names.add(name)
        try:
            as_of = to_date(str(raw.get("as_of")))
        except ValueError:
            problems.add(
                Problem(display, f"bad as_of {raw.get('as_of')!r}", column=f"{where}.as_of")
            )
            continue
        tables = raw.get("tables")
        if not isinstance(tables, dict) or not {"units", "roster"} <= set(tables):
            problems.add(
                Problem(display, "tables must include units and roster", column=f"{where}.tables")
            )
            continue
        for t, rows in tables.items():
            if (
                t not in TABLES
                or not isinstance(rows, list)
                or not all(isinstance(r, dict) for r in rows)
            ):
                problems.add(
                    Problem(
                        display,
                        f"table {t!r} must be a contract table given as a list of rows",
                        column=f"{where}.tables",
                    )
                )
        expect = raw.get("expect")
        if not isinstance(expect, list):
            problems.add(
                Problem(
                    display,
                    "expect must be a list (empty for a passing case)",
                    column=f"{where}.expect",
                )
            )
            continue
        for e in expect:
            if (
                not isinstance(e, dict)
                or not {"unit_id", "subject"} <= set(e)
                or not set(e) <= EXPECT_KEYS
            ):
                problems.add(
                    Problem(
                        display,
                        "each expected finding has unit_id, subject and optional evidence",
                        column=f"{where}.expect",
                    )
                )
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            problems.add(Problem(display, "params must be a mapping", column=f"{where}.params"))
            continue
        cases.append(Case(rule_id, name, as_of, tables, expect, params, display))
    problems.raise_if_any()
    return cases


@dataclass
class CaseResult:
    """What a case produced, and how it differs from what it expected."""

    case: Case
    findings: list[Finding]
    missing: list[tuple[str, str]]
    unexpected: list[tuple[str, str]]
    evidence_diffs: list[str]

    @property
    def ok(self) -> bool:
        """True when the findings are exactly the expected ones."""
        return not (self.missing or self.unexpected or self.evidence_diffs)

    def explain(self) -> str:
        """A readable account of the differences."""
        lines = []
        lines += [f"missing finding: unit {u}, subject {s}" for u, s in self.missing]
        lines += [f"unexpected finding: unit {u}, subject {s}" for u, s in self.unexpected]
        lines += self.evidence_diffs
        return "\n".join(lines)


def write_tables(tables: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    """Write case tables as UTF-8 CSV files (all values as text, as an export would be)."""
    for name, rows in tables.items():
        columns: list[str] = []
        for row in rows:
            columns.extend(str(k) for k in row if str(k) not in columns)
        frame = pd.DataFrame(
            [[_cell(row.get(c)) for c in columns] for row in rows], columns=columns, dtype=object
        )
        frame.to_csv(folder / f"{name}.csv", index=False)


def _cell(value: Any) -> str:
    """A case value as the text an export would hold (a missing key is an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_case(case: Case, rule: Rule, path: str = "bulk") -> CaseResult:
    """Evaluate one rule on a case's tables and compare with the expectation."""
    with tempfile.TemporaryDirectory(prefix="sanding-case-") as tmp:
        folder = Path(tmp)
        write_tables(case.tables, folder)
        dataset = load_dataset(folder)
        facts = build_facts(dataset, case.as_of)
        findings = find([rule], facts, Overrides(all={rule.id: case.params}), path=path)
    got = Counter((f.unit_id, f.subject) for f in findings)
    want = Counter((str(e["unit_id"]), str(e["subject"])) for e in case.expect)
    missing = sorted((want - got).elements())
    unexpected = sorted((got - want).elements())
    diffs = []
    by_key = {(f.unit_id, f.subject): f for f in findings}
    for e in case.expect:
        f = by_key.get((str(e["unit_id"]), str(e["subject"])))
        if f is None:
            continue
        for k, v in (e.get("evidence") or {}).items():
            if k not in f.evidence:
                diffs.append(f"unit {f.unit_id} {f.subject}: no evidence {k!r}")
            elif not _same(f.evidence[k], v):
                diffs.append(
                    f"unit {f.unit_id} {f.subject}: evidence {k} is {f.evidence[k]!r}, expected {v!r}"
                )
    return CaseResult(case, findings, missing, unexpected, diffs)


def _same(got: Any, want: Any) -> bool:
    if (
        isinstance(got, int | float)
        and isinstance(want, int | float)
        and not isinstance(want, bool)
    ):
        return abs(float(got) - float(want)) < 1e-9
    return str(got) == str(want)
