"""The audit: load a dataset, build its facts, evaluate every rule, collect findings."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .evaluate import NotEvaluated, Overrides, find, missing_inputs
from .facts import Facts, build_facts
from .findings import Finding
from .load import Dataset, load_dataset
from .rulefile import Rule


@dataclass
class AuditResult:
    """Everything one audit produced."""

    as_of: date
    dataset: str
    rules: list[Rule]
    rules_evaluated: list[str]
    rules_not_evaluated: list[NotEvaluated]
    findings: list[Finding]
    facts: Facts
    units: int
    people: int
    timings: dict[str, float] = field(default_factory=dict)

    def by_rule(self) -> dict[str, int]:
        """Number of findings per rule id."""
        return dict(sorted(Counter(f.rule for f in self.findings).items()))

    def by_severity(self) -> dict[str, int]:
        """Number of findings per severity."""
        return dict(Counter(f.severity for f in self.findings))


class Progress:
    """Step messages on stderr, only when a person is watching a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()

    def step(self, text: str) -> None:
        """Announce a step."""
        if self.enabled:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {text}", file=sys.stderr, flush=True)


def given_columns(dataset: Dataset) -> dict[str, set[str]]:
    """Per table, the columns the source gave with at least one value in them."""
    return {
        name: {c for c in t.given if t.frame[c].notna().any()} for name, t in dataset.tables.items()
    }


def run_audit(
    dataset_path: Path,
    rules: list[Rule],
    as_of: date,
    overrides: Overrides | None = None,
    path: str = "bulk",
    progress: Progress | None = None,
    dataset: Dataset | None = None,
) -> AuditResult:
    """Audit a dataset folder as of a date with the given rules."""
    progress = progress or Progress(False)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if dataset is None:
        progress.step(f"读取数据 loading {dataset_path}")
        dataset = load_dataset(dataset_path)
    timings["load"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    progress.step("构建事实表 building facts")
    facts = build_facts(dataset, as_of)
    timings["facts"] = time.perf_counter() - t1
    columns = given_columns(dataset)
    runnable: list[Rule] = []
    skipped: list[NotEvaluated] = []
    for rule in rules:
        why = missing_inputs(rule, facts, columns)
        if why is None:
            runnable.append(rule)
        else:
            skipped.append(why)
    t2 = time.perf_counter()
    progress.step(f"评估{len(runnable)}条规则 evaluating {len(runnable)} rules")
    findings = find(runnable, facts, overrides, path=path)
    timings["evaluate"] = time.perf_counter() - t2
    progress.step(f"发现问题{len(findings)}项 {len(findings)} findings")
    return AuditResult(
        as_of=as_of,
        dataset=str(dataset_path),
        rules=rules,
        rules_evaluated=[r.id for r in runnable],
        rules_not_evaluated=skipped,
        findings=findings,
        facts=facts,
        units=len(facts["unit"]),
        people=len(facts["person"]),
        timings=timings,
    )
