"""Evaluating rules over fact tables: the bulk (vectorised) path and the engine path.

Both paths decide which fact rows match a rule; everything after that (subject, evidence,
message, source rows) is built by the same code, so the two paths can only differ in
matching, which the tests compare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from . import expr
from .engine import RuleSet
from .facts import FACT_FIELDS, ORIGIN_KEYS, ROSTER_KEYS, Facts
from .findings import Finding
from .messages import PLACEHOLDER, render
from .rulefile import Rule
from .schema import TABLES


@dataclass
class Overrides:
    """Parameter overrides: for every unit, and per region (units.region)."""

    all: dict[str, dict[str, Any]] = field(default_factory=dict)
    regions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def for_rule(self, rule: Rule, as_of: date) -> list[tuple[str | None, dict[str, Any]]]:
        """(region or None, parameter values) pairs: the base set, then each region's own."""
        base = rule.params_on(as_of, self.all.get(rule.id))
        out: list[tuple[str | None, dict[str, Any]]] = [(None, base)]
        for region, per_rule in self.regions.items():
            if rule.id in per_rule:
                out.append((region, {**base, **per_rule[rule.id]}))
        return out


@dataclass
class NotEvaluated:
    """A rule that was not run, and why."""

    rule: str
    reason: dict[str, str]


def missing_inputs(
    rule: Rule, facts: Facts, given_columns: dict[str, set[str]]
) -> NotEvaluated | None:
    """Why a rule cannot run on this dataset (a table or column it needs is absent), or None."""
    for need in rule.requires:
        table, _, column = need.partition(".")
        if table not in facts.present:
            zh = TABLES[table].zh if table in TABLES else table
            return NotEvaluated(
                rule.id, {"zh": f"缺少{zh}表（{table}）", "en": f"no {table} table"}
            )
        if column and column not in given_columns.get(table, set()):
            return NotEvaluated(
                rule.id,
                {
                    "zh": f"{TABLES[table].zh}表无{column}列",
                    "en": f"{table} has no {column} column",
                },
            )
    return None


def _region_masks(
    frame: pd.DataFrame, facts: Facts, param_sets: list[tuple[str | None, dict[str, Any]]]
) -> list[tuple[np.ndarray, dict[str, Any]]]:
    """Split a fact table's rows by the parameter set that applies to each row's unit."""
    if len(param_sets) == 1:
        return [(np.ones(len(frame), dtype=bool), param_sets[0][1])]
    region_of = facts["unit"].set_index("unit_id")["region"]
    regions = frame["unit_id"].map(region_of).to_numpy(dtype=object)
    rest = np.ones(len(frame), dtype=bool)
    out = []
    for region, params in param_sets[1:]:
        sel = regions == region
        out.append((sel, params))
        rest &= ~sel
    out.insert(0, (rest, param_sets[0][1]))
    return out


def bulk_matches(rule: Rule, facts: Facts, overrides: Overrides) -> list[tuple[np.ndarray, dict]]:
    """Row indices of the rule's fact table that match, per parameter set (vectorised)."""
    frame = facts[rule.applies_to]
    out = []
    for sel, params in _region_masks(frame, facts, overrides.for_rule(rule, facts.as_of)):
        if not sel.any():
            continue
        whole = bool(sel.all())
        sub = frame if whole else frame[sel]
        cache = facts.columns.setdefault(rule.applies_to, {}) if whole else None
        ctx = expr.Context(params, facts.as_of, cache)
        hit = expr.mask(rule.condition, sub, rule.scope(params), ctx)
        rows = np.flatnonzero(sel)[hit] if not sel.all() else np.flatnonzero(hit)
        out.append((rows, params))
    return out


# --------------------------------------------------------------------------- engine path


@dataclass
class _Compiled:
    rule: Rule
    params: dict[str, Any]
    condition: expr.EngineCondition


def compile_for_engine(
    rules: Iterable[tuple[Rule, dict[str, Any]]], as_of: date
) -> tuple[dict[str, dict], dict[str, _Compiled]]:
    """Compile (rule, parameters) pairs into one durable-rules ruleset."""
    ruleset: dict[str, dict] = {}
    compiled: dict[str, _Compiled] = {}
    for rule, params in rules:
        ctx = expr.Context(params, as_of)
        comp = expr.EngineCompiler(rule.scope(params), ctx, prefix=f"x_{rule.id.lower()}_")
        cond = comp.compile(rule.condition)
        pattern = {"$and": [{"_fact": rule.applies_to}, cond.pattern]}
        ruleset[rule.id] = {"all": [{"m": pattern}]}
        compiled[rule.id] = _Compiled(rule, params, cond)
    return ruleset, compiled


def engine_facts(
    compiled: dict[str, _Compiled], facts: Facts, unit_ids: set[str] | None
) -> list[dict[str, Any]]:
    """Encode the fact rows of some units (all when None) as engine facts."""
    out: list[dict[str, Any]] = []
    by_type: dict[str, list[_Compiled]] = {}
    for c in compiled.values():
        by_type.setdefault(c.rule.applies_to, []).append(c)
    for fact_type, comps in by_type.items():
        frame = facts[fact_type]
        if unit_ids is not None:
            frame = frame[frame["unit_id"].isin(unit_ids)]
        if frame.empty:
            continue
        types = FACT_FIELDS[fact_type]
        columns: dict[str, expr.Value] = {}
        for c in comps:
            for name in c.condition.fields:
                if name in columns or name == "_fact":
                    continue
                if name in c.condition.derived:
                    ctx = expr.Context(c.params, facts.as_of)
                    columns[name] = expr.evaluate(
                        c.condition.derived[name], frame, c.rule.scope(c.params), ctx
                    )
                else:
                    columns[name] = expr.column_value(frame, name, types[name])
        index = frame.index.to_numpy()
        for i in range(len(frame)):
            fact: dict[str, Any] = {"_fact": fact_type, "_idx": float(index[i])}
            for name, value in columns.items():
                fact[name] = expr.engine_value(value, i)
            out.append(fact)
    return out


def engine_matches(
    rules: list[Rule], facts: Facts, overrides: Overrides, unit_ids: set[str] | None = None
) -> dict[str, list[tuple[np.ndarray, dict]]]:
    """Which fact rows match which rule, decided by durable-rules (per region parameter set)."""
    # One ruleset per region with overrides (every rule, with that region's parameters), and
    # one for all other units.
    per_rule = {rule.id: dict(overrides.for_rule(rule, facts.as_of)) for rule in rules}
    regions = {r for sets in per_rule.values() for r in sets if r is not None}
    groups: dict[str | None, list[tuple[Rule, dict[str, Any]]]] = {
        region: [(rule, per_rule[rule.id].get(region, per_rule[rule.id][None])) for rule in rules]
        for region in [None, *sorted(regions)]
    }
    region_of = facts["unit"].set_index("unit_id")["region"]
    overridden = {r for r in groups if r is not None}
    result: dict[str, list[tuple[np.ndarray, dict]]] = {r.id: [] for r in rules}
    for region, pairs in groups.items():
        units = facts["unit"]["unit_id"]
        if region is None:
            sel = ~units.map(region_of).isin(overridden)
        else:
            sel = units.map(region_of) == region
        group_units = set(units[sel])
        if unit_ids is not None:
            group_units &= set(unit_ids)
        if not group_units:
            continue
        ruleset, compiled = compile_for_engine(pairs, facts.as_of)
        encoded = engine_facts(compiled, facts, group_units)
        hits: dict[str, list[int]] = {rid: [] for rid in compiled}
        with RuleSet(ruleset) as rs:
            for match in rs.evaluate(encoded):
                hits[match.rule].append(int(match.facts["m"]["_idx"]))
        for rid, rows in hits.items():
            result[rid].append((np.array(sorted(set(rows)), dtype="int64"), compiled[rid].params))
    return result


# --------------------------------------------------------------------------- findings


def _plain(value: Any, type_: str) -> Any:
    """A JSON-friendly evidence value."""
    if value is None:
        return None
    if type_ == expr.DATE:
        if isinstance(value, float) and math.isnan(value):
            return None
        return str((np.datetime64("1970-01-01") + np.timedelta64(int(value), "D")).astype(str))
    if type_ == expr.BOOL:
        return bool(value)
    if type_ == expr.NUM:
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return int(value)
        return round(float(value), 4)
    return str(value)


def _values(node: expr.Node, frame: pd.DataFrame, scope: expr.Scope, ctx: expr.Context) -> list:
    v = expr.evaluate(node, frame, scope, ctx)
    out = []
    for i in range(len(frame)):
        out.append(None if v.null[i] else _plain(v.data[i], v.type))
    return out


def _sources(rule: Rule, facts: Facts, sub: pd.DataFrame, params: dict) -> list[dict[str, Any]]:
    """For each matched fact row, the file and rows a reviewer should open."""
    if rule.source.table is None:
        if rule.applies_to in ORIGIN_KEYS and rule.applies_to in facts.origin_rows:
            # An aggregate of several origin rows (payroll, workload): every one of them.
            keys = ORIGIN_KEYS[rule.applies_to]
            rows = facts.origin_rows[rule.applies_to]
            rows = rows[rows["unit_id"].isin(sub["unit_id"].unique())]
            return _joined_rows(sub, keys, rows)
        files = sub["_file"].tolist() if "_file" in sub else [None] * len(sub)
        rows = sub["_row"].tolist() if "_row" in sub else [None] * len(sub)
        out = []
        for f, r in zip(files, rows, strict=True):
            if f is None or (isinstance(f, float) and math.isnan(f)) or pd.isna(r):
                out.append({})
            else:
                out.append({"file": str(f), "rows": [int(r)]})
        return out
    keys = ROSTER_KEYS[rule.applies_to]
    people = facts["person"]
    people = people[facts.of_units("person", sub["unit_id"].unique())]
    if rule.source.where is not None:
        ctx = expr.Context(params, facts.as_of)
        people = people[
            expr.mask(rule.source.where, people, expr.Scope(FACT_FIELDS["person"], params), ctx)
        ]
    return _joined_rows(sub, keys, people)


def _joined_rows(
    sub: pd.DataFrame, keys: dict[str, str], rows: pd.DataFrame
) -> list[dict[str, Any]]:
    """For each fact row of sub, the rows of a table whose columns (keys' values) equal the
    fact's fields (keys' names), grouped by file."""
    left = sub[list(keys)].reset_index(drop=True).assign(_pos=lambda d: np.arange(len(d)))
    right = rows[list(keys.values()) + ["_file", "_row"]].rename(
        columns={v: k for k, v in keys.items()}
    )
    joined = left.merge(right, on=list(keys), how="inner")
    out: list[dict[str, Any]] = [{} for _ in range(len(sub))]
    if joined.empty:
        return out
    # Groups of (fact, file) in order, each with its rows in order; split with numpy, since
    # a rule on a province can have tens of thousands of findings.
    joined = joined.sort_values(["_pos", "_file", "_row"], kind="stable")
    pos = joined["_pos"].to_numpy(dtype=np.int64)
    files = joined["_file"].to_numpy(dtype=object)
    rows = joined["_row"].to_numpy(dtype=np.int64)
    change = np.ones(len(pos), dtype=bool)
    change[1:] = (pos[1:] != pos[:-1]) | (files[1:] != files[:-1])
    starts = np.flatnonzero(change)
    for start, chunk in zip(starts, np.split(rows, starts[1:]), strict=True):
        entry = out[int(pos[start])]
        group = {"file": str(files[start]), "rows": chunk.tolist()}
        if not entry:
            out[int(pos[start])] = group
        else:
            entry.setdefault("more", []).append(group)
    return out


def build_findings(
    rule: Rule, facts: Facts, rows: np.ndarray, params: dict[str, Any]
) -> list[Finding]:
    """Turn matched fact rows into findings (same code for both paths)."""
    if len(rows) == 0:
        return []
    frame = facts[rule.applies_to]
    sub = frame.iloc[rows]
    scope = rule.scope(params)
    ctx = expr.Context(params, facts.as_of)
    subjects = _values(rule.subject, sub, scope, ctx)
    evidence = {name: _values(node, sub, scope, ctx) for name, node in rule.evidence.items()}
    magnitude = _values(rule.magnitude, sub, scope, ctx) if rule.magnitude is not None else None
    sources = _sources(rule, facts, sub, params)
    names = facts["unit"].set_index("unit_id")["unit_name"]
    unit_ids = sub["unit_id"].tolist()
    unit_names = [names.get(u, "") or "" for u in unit_ids]
    used = {m.group(1) for text in rule.message.values() for m in PLACEHOLDER.finditer(text)}
    field_cols = [c for c in used if c in sub.columns and c not in evidence]
    field_vals = {c: _values(expr.Field(c), sub, scope, ctx) for c in field_cols}
    out = []
    for i in range(len(sub)):
        ev = {k: v[i] for k, v in evidence.items()}
        context: dict[str, Any] = {k: v[i] for k, v in field_vals.items()}
        context.update(params)
        context.update(ev)
        context["unit_name"] = unit_names[i]
        messages = {
            lang: render(text, context, lang, rule.applies_to)
            for lang, text in rule.message.items()
        }
        mag = magnitude[i] if magnitude is not None else 1
        out.append(
            Finding(
                rule=rule.id,
                severity=rule.severity,
                unit_id=str(unit_ids[i]),
                subject=str(subjects[i]),
                action=rule.action,
                messages=messages,
                evidence=ev,
                basis=rule.basis,
                source=sources[i],
                magnitude=float(mag if mag is not None else 1),
                indicator=rule.indicator,
                unit_name=unit_names[i],
            )
        )
    return out


def find(
    rules: list[Rule],
    facts: Facts,
    overrides: Overrides | None = None,
    path: str = "bulk",
    unit_ids: set[str] | None = None,
) -> list[Finding]:
    """Findings of the given rules, by the bulk or the engine path."""
    overrides = overrides or Overrides()
    findings: list[Finding] = []
    if path == "engine":
        matched = engine_matches(rules, facts, overrides, unit_ids)
        for rule in rules:
            for rows, params in matched[rule.id]:
                findings.extend(build_findings(rule, facts, rows, params))
        return sort_findings(findings)
    for rule in rules:
        for rows, params in bulk_matches(rule, facts, overrides):
            if unit_ids is not None:
                keep = facts[rule.applies_to]["unit_id"].iloc[rows].isin(unit_ids).to_numpy()
                rows = rows[keep]
            findings.extend(build_findings(rule, facts, rows, params))
    return sort_findings(findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Findings in a stable order: unit, rule, subject."""
    return sorted(findings, key=lambda f: (f.unit_id, f.rule, f.subject))
