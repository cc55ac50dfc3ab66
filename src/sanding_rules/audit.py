"""The audit: load a dataset, build its facts, evaluate every rule, collect findings."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .actions import Policy, UnitAction, assessment_frame, decide, load_policy
from .adjudicate import Verdict, apply_verdicts
from .evaluate import NotEvaluated, Overrides, find, missing_inputs
from .facts import Facts, build_facts
from .findings import Finding
from .grade import grade_units
from .load import Dataset, load_dataset
from .model import Model, load_model
from .rulefile import Rule
from .score import UnitScore, deducted_by_fingerprint, score_units


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
    scores: dict[str, UnitScore] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # fingerprint -> verdict in force
    unmatched_verdicts: list[Verdict] = field(default_factory=list)
    actions: dict[str, list[UnitAction]] = field(default_factory=dict)
    model: Model | None = None

    def counts(self, finding: Finding) -> bool:
        """Whether a finding counts (deducts, drives actions): not dismissed."""
        v = self.verdicts.get(finding.fingerprint)
        return v is None or not v.dismissed

    def by_grade(self) -> dict[str, int]:
        """Number of units per grade."""
        return dict(sorted(Counter(s.grade for s in self.scores.values() if s.grade).items()))

    def deducted(self) -> dict[str, float]:
        """Points each finding took off its unit's score, by fingerprint."""
        return deducted_by_fingerprint(self.scores)

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
    return {name: set(t.filled) for name, t in dataset.tables.items()}


def runnable_rules(
    rules: list[Rule], facts: Facts, dataset: Dataset
) -> tuple[list[Rule], list[NotEvaluated]]:
    """The rules whose tables and columns the dataset gives, and why each other one is not
    evaluated."""
    columns = given_columns(dataset)
    runnable: list[Rule] = []
    skipped: list[NotEvaluated] = []
    for rule in rules:
        why = missing_inputs(rule, facts, columns)
        if why is None:
            runnable.append(rule)
        else:
            skipped.append(why)
    return runnable, skipped


def run_audit(
    dataset_path: Path,
    rules: list[Rule],
    as_of: date,
    overrides: Overrides | None = None,
    path: str = "bulk",
    progress: Progress | None = None,
    dataset: Dataset | None = None,
    model: Model | None = None,
    verdicts: list[Verdict] | None = None,
    policy: Policy | None = None,
) -> AuditResult:
    """Audit a dataset folder as of a date: findings, verified, scored, graded, with actions."""
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
    runnable, skipped = runnable_rules(rules, facts, dataset)
    t2 = time.perf_counter()
    progress.step(f"评估{len(runnable)}条规则 evaluating {len(runnable)} rules")
    findings = find(runnable, facts, overrides, path=path)
    timings["evaluate"] = time.perf_counter() - t2
    progress.step(f"发现问题{len(findings)}项 {len(findings)} findings; 评分 scoring")
    t3 = time.perf_counter()
    model = model or load_model(None, rules)
    by_fp, unmatched = apply_verdicts(findings, verdicts or [], as_of)
    scores = score_units(model, facts, findings, by_fp, dataset)
    grade_units(model, scores, findings, by_fp)
    timings["score"] = time.perf_counter() - t3
    t4 = time.perf_counter()
    progress.step("决策建议措施 deciding actions")
    policy = policy or load_policy(None, rules)
    counts_as = {fp: not v.dismissed for fp, v in by_fp.items()}
    frame = assessment_frame(
        facts,
        findings,
        rules,
        counts_as,
        {u: s.grade for u, s in scores.items()},
        {u: s.score for u, s in scores.items()},
    )
    # A whole county or province goes through the vectorised path, unit by unit through
    # durable-rules only when asked (--engine rete); tests hold the two paths equal, and
    # requests and the service decide single units on the engine.
    actions = decide(policy, frame, findings, counts_as, as_of, path=path)
    timings["actions"] = time.perf_counter() - t4
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
        scores=scores,
        verdicts=by_fp,
        unmatched_verdicts=unmatched,
        actions=actions,
        model=model,
    )
