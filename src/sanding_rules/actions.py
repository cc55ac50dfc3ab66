"""Recommended actions: decision rules over each unit's findings, grade and measurements.

A unit's assessment (counts of its confirmed or unadjudicated findings per rule, its grade,
score and a few measurements) is one fact; the decision rules of a policy file are conditions
over it, written in the rule language and evaluated by durable-rules (or, for comparison in
tests, by the vectorised path). Each recommended action names the findings behind it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import expr, policies
from .engine import RuleSet
from .errors import InputError, Problem, ProblemCollector
from .facts import Facts
from .findings import Finding
from .rulefile import ACTIONS, BUILTIN_DIR, LANGS, SEVERITIES, SEVERITY_RANK, Rule, rule_files
from .yamlutil import load_yaml_file

DEFAULT_POLICY = Path(policies.__file__).parent / "actions.yaml"
POLICY_KEYS = {"decides", "rules"}
RULE_KEYS = {"id", "title", "action", "severity", "condition", "because"}
BASE_FIELDS = {
    "unit_id": expr.STR,
    "grade": expr.STR,
    "score": expr.NUM,
    "counted": expr.NUM,
    "quota_total": expr.NUM,
    "vacancy_rate": expr.NUM,
    "workload_duties": expr.NUM,
}


@dataclass
class ActionRule:
    """One decision rule: when its condition holds for a unit, recommend its action."""

    id: str
    title: dict[str, str]
    action: str
    severity: str
    condition: expr.Node
    condition_text: str
    because: list[str]


@dataclass
class Policy:
    """A validated decision policy."""

    rules: list[ActionRule]
    decides: set[str]
    fields: dict[str, str]
    file: str


@dataclass
class UnitAction:
    """One recommended action of one unit, with what justifies it."""

    action: str
    severity: str
    findings: list[str] = field(default_factory=list)  # fingerprints
    rules: list[str] = field(default_factory=list)  # rule ids (finding rules and decision rules)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "action": self.action,
            "severity": self.severity,
            "findings": list(self.findings),
            "rules": list(self.rules),
        }


def known_rule_ids(rules: list[Rule]) -> set[str]:
    """Loaded rule ids and every built-in id (a disabled rule just has no findings)."""
    return {r.id for r in rules} | {p.stem for p in rule_files(BUILTIN_DIR)}


def policy_fields(rules: list[Rule]) -> dict[str, str]:
    """The fields a decision rule may use: base measurements and n_<rule> for every rule."""
    out = dict(BASE_FIELDS)
    for rid in sorted(known_rule_ids(rules)):
        out[f"n_{rid}"] = expr.NUM
    return out


def load_policy(path: Path | None, rules: list[Rule]) -> Policy:
    """Load and validate a decision policy (the built-in one when path is None)."""
    path = path or DEFAULT_POLICY
    display = str(path)
    doc = load_yaml_file(path, display)
    problems = ProblemCollector()

    def fail(key: str, message: str) -> None:
        problems.add(Problem(file=display, column=key, message=message))

    if not isinstance(doc, dict):
        raise InputError([Problem(display, "a policy file is a mapping with decides and rules")])
    for key in doc:
        if key not in POLICY_KEYS:
            fail(str(key), f"unknown key {key!r} (allowed: decides, rules)")
    decides = doc.get("decides") or []
    if not isinstance(decides, list) or any(a not in ACTIONS for a in decides):
        fail("decides", f"decides must list actions from: {', '.join(ACTIONS)}")
        decides = []
    fields = policy_fields(rules)
    known_rules = known_rule_ids(rules)
    out: list[ActionRule] = []
    seen: set[str] = set()
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        fail("rules", "rules must be a non-empty list")
        raw_rules = []
    for i, raw in enumerate(raw_rules):
        where = f"rules[{i}]"
        if not isinstance(raw, dict):
            fail(where, "a decision rule is a mapping")
            continue
        for key in raw:
            if key not in RULE_KEYS:
                fail(
                    f"{where}.{key}",
                    f"unknown key {key!r} (allowed: {', '.join(sorted(RULE_KEYS))})",
                )
        missing = RULE_KEYS - set(raw)
        if missing:
            fail(where, f"missing keys: {', '.join(sorted(missing))}")
            continue
        rid = raw["id"]
        if not isinstance(rid, str) or not re.match(r"^[A-Z][A-Z0-9_]*$", rid) or rid in seen:
            fail(f"{where}.id", f"id must be a unique upper-case code, got {rid!r}")
            continue
        seen.add(rid)
        where = f"rule {rid}"
        title = raw["title"]
        if (
            not isinstance(title, dict)
            or set(title) != set(LANGS)
            or not all(isinstance(v, str) and v for v in title.values())
        ):
            fail(f"{where}.title", "title must have exactly the keys zh and en")
            continue
        if raw["action"] not in ACTIONS:
            fail(f"{where}.action", f"action must be one of {', '.join(ACTIONS)}")
            continue
        if raw["severity"] not in SEVERITIES:
            fail(f"{where}.severity", f"severity must be one of {', '.join(SEVERITIES)}")
            continue
        because = raw["because"]
        if not isinstance(because, list) or any(b not in known_rules for b in because):
            fail(f"{where}.because", "because must list ids of loaded rules")
            continue
        text = raw["condition"]
        try:
            node = expr.parse(str(text))
            got = expr.check(node, expr.Scope(fields, {}))
        except expr.ExprError as exc:
            fail(f"{where}.condition", f"condition: {exc}")
            continue
        if got != expr.BOOL:
            fail(f"{where}.condition", "condition must be a bool expression")
            continue
        out.append(
            ActionRule(
                rid,
                dict(title),
                raw["action"],
                raw["severity"],
                node,
                str(text).strip(),
                list(because),
            )
        )
    problems.raise_if_any()
    return Policy(out, set(decides), fields, display)


def assessment_frame(
    facts: Facts,
    findings: list[Finding],
    rules: list[Rule],
    counts_as: Mapping[str, bool],
    grades: Mapping[str, str | None],
    scores: Mapping[str, float | None],
) -> pd.DataFrame:
    """One row per unit: counts of its findings per rule (those that count), grade, measures.

    `counts_as` maps a finding's fingerprint to False when it was dismissed: dismissed
    findings deduct nothing and drive no action.
    """
    unit = facts["unit"]
    frame = pd.DataFrame({"unit_id": unit["unit_id"].astype(object)})
    frame["counted"] = unit["counted_categorised"].to_numpy(dtype="float64")
    frame["quota_total"] = unit["quota_total"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        vac = (frame["quota_total"] - frame["counted"]) / frame["quota_total"]
    frame["vacancy_rate"] = vac.where(frame["quota_total"] > 0)
    workload = facts.tables.get("duty_workload")
    if workload is not None and len(workload):
        per_unit = workload.groupby("unit_id").size()
        frame["workload_duties"] = frame["unit_id"].map(per_unit).fillna(0).astype("float64")
    else:
        frame["workload_duties"] = 0.0
    frame["grade"] = frame["unit_id"].map(lambda u: grades.get(u)).astype(object)
    frame["score"] = frame["unit_id"].map(lambda u: scores.get(u)).astype("float64")
    live = [f for f in findings if counts_as.get(f.fingerprint, True)]
    counts = pd.DataFrame({"unit_id": [f.unit_id for f in live], "rule": [f.rule for f in live]})
    table = (
        counts.groupby(["unit_id", "rule"]).size().unstack(fill_value=0) if len(counts) else None
    )
    for rid in sorted(known_rule_ids(rules)):
        col = f"n_{rid}"
        if table is not None and rid in table.columns:
            frame[col] = frame["unit_id"].map(table[rid]).fillna(0).astype("float64")
        else:
            frame[col] = 0.0
    return frame


def _matches_bulk(policy: Policy, frame: pd.DataFrame, as_of) -> dict[str, np.ndarray]:
    scope = expr.Scope(policy.fields, {})
    ctx = expr.Context({}, as_of)
    return {r.id: np.flatnonzero(expr.mask(r.condition, frame, scope, ctx)) for r in policy.rules}


def _matches_engine(policy: Policy, frame: pd.DataFrame, as_of) -> dict[str, np.ndarray]:
    scope = expr.Scope(policy.fields, {})
    ctx = expr.Context({}, as_of)
    ruleset: dict[str, dict] = {}
    derived: dict[str, expr.Node] = {}
    needed: set[str] = set()
    for r in policy.rules:
        cond = expr.EngineCompiler(scope, ctx, prefix=f"x_{r.id.lower()}_").compile(r.condition)
        ruleset[r.id] = {"all": [{"m": {"$and": [{"_fact": "assessment"}, cond.pattern]}}]}
        derived.update(cond.derived)
        needed |= cond.fields - {"_fact"}
    values = {}
    for name in needed:
        node = derived.get(name)
        values[name] = (
            expr.evaluate(node, frame, scope, ctx)
            if node is not None
            else expr.column_value(frame, name, policy.fields[name])
        )
    facts = []
    for i in range(len(frame)):
        fact: dict[str, Any] = {"_fact": "assessment", "_idx": float(i)}
        for name, v in values.items():
            fact[name] = expr.engine_value(v, i)
        facts.append(fact)
    hits: dict[str, list[int]] = {r.id: [] for r in policy.rules}
    with RuleSet(ruleset) as rs:
        for m in rs.evaluate(facts):
            hits[m.rule].append(int(m.facts["m"]["_idx"]))
    return {rid: np.array(sorted(set(rows)), dtype="int64") for rid, rows in hits.items()}


def decide(
    policy: Policy,
    frame: pd.DataFrame,
    findings: list[Finding],
    counts_as: Mapping[str, bool],
    as_of,
    path: str = "engine",
) -> dict[str, list[UnitAction]]:
    """Every unit's recommended actions, most severe first, each with its justification."""
    matches = (_matches_engine if path == "engine" else _matches_bulk)(policy, frame, as_of)
    by_unit: dict[str, list[Finding]] = {}
    for f in findings:
        by_unit.setdefault(f.unit_id, []).append(f)
    unit_ids = frame["unit_id"].tolist()
    decided: dict[str, list[tuple[ActionRule, str]]] = {}
    for r in policy.rules:
        for i in matches[r.id]:
            decided.setdefault(unit_ids[i], []).append((r, unit_ids[i]))
    out: dict[str, list[UnitAction]] = {}
    for uid in set(by_unit) | set(decided):
        actions: dict[str, UnitAction] = {}
        live = [f for f in by_unit.get(uid, []) if counts_as.get(f.fingerprint, True)]
        live.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.rule, f.subject))
        entries: list[tuple[int, int, UnitAction]] = []
        for f in live:
            if f.action in policy.decides:
                continue
            ua = actions.get(f.action)
            if ua is None:
                ua = actions[f.action] = UnitAction(f.action, f.severity)
                entries.append((SEVERITY_RANK[f.severity], len(entries), ua))
            ua.findings.append(f.fingerprint)
            if f.rule not in ua.rules:
                ua.rules.append(f.rule)
        for r, _ in decided.get(uid, []):
            ua = actions.get(r.action)
            if ua is None:
                ua = actions[r.action] = UnitAction(r.action, r.severity)
                entries.append((SEVERITY_RANK[r.severity], len(entries), ua))
            ua.rules.append(r.id)
            for f in live:
                if f.rule in r.because and f.fingerprint not in ua.findings:
                    ua.findings.append(f.fingerprint)
                    if f.rule not in ua.rules:
                        ua.rules.append(f.rule)
        entries.sort(key=lambda e: (e[0], e[1]))
        out[uid] = [e[2] for e in entries]
    return out
