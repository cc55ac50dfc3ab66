"""Decisions on staffing requests (evaluation model, section 5).

A request is applied as a what-if to its unit's fact rows (hire: k more counted people of the
category, as k person facts and the counts of the quota and unit facts; add_quota: k more approved
posts; add_body: k more bodies; appoint: k more leaders at the level). The unit's audit rules are
evaluated on those rows through durable-rules, and the decision policy (policies/requests.yaml)
is evaluated, also through durable-rules, over facts joined per request: the request, the unit's
facts, its findings with the request applied, and its assessment (grade, open errors, the
"退二进一" allowance from the movements table).

Everything expensive happens once, in `Decider.__init__`: fact rows are indexed by unit, every
engine field (derived ones included) is computed vectorised over whole tables, every unit's
findings on the data as it is are found (vectorised), and the rules and the policy are compiled
into durable-rules RuleSets. A rule judges one fact at a time, so a decision only rebuilds the
rows the request changes or adds (with the same vectorised code, on a row or two, no pandas),
runs them through durable-rules, keeps the unit's other findings, and runs one small engine
session for the policy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import expr, policies
from .audit import runnable_rules
from .codes import ALLOWED_CATEGORIES
from .engine import RuleSet
from .errors import InputError, Problem, ProblemCollector
from .evaluate import (
    NotEvaluated,
    Overrides,
    _values,
    build_findings,
    bulk_matches,
)
from .facts import FACT_FIELDS, Facts, build_facts
from .findings import fingerprint
from .load import Dataset, load_dataset
from .messages import FILTERS, PLACEHOLDER, render
from .report import evidence_for_output
from .requests import (
    REQUEST_TYPES,
    Grade,
    GradeBook,
    RawRequest,
    Request,
    RequestError,
    read_audit_json,
    read_grades_table,
    validate_requests,
)
from .rulefile import LANGS, RULE_ID, Rule, load_rules
from .yamlutil import load_yaml_file

log = logging.getLogger("sanding_rules.decide")

DEFAULT_POLICY = Path(policies.__file__).parent / "requests.yaml"
DECISIONS = ("reject", "suspend", "review", "priority")
DECISION_LABELS = {
    "reject": {"zh": "不予批准", "en": "reject"},
    "suspend": {"zh": "暂缓", "en": "suspend"},
    "review": {"zh": "从严审核", "en": "review"},
    "priority": {"zh": "优先办理", "en": "priority"},
}

S, N, B, D = expr.STR, expr.NUM, expr.BOOL, expr.DATE
REQUEST_FIELDS = {
    "request_id": S,
    "unit_id": S,
    "type": S,
    "category": S,
    "level": S,
    "count": N,
    "date": D,
    "reason": S,
}
FINDING_FIELDS = {
    "unit_id": S,
    "rule": S,
    "severity": S,
    "action": S,
    "subject": S,
    "from_request": B,
    "dismissed": B,
}
ASSESSMENT_FIELDS = {
    "unit_id": S,
    "grade": S,
    "audited_on": D,
    "grade_source": S,
    "open_errors": N,
    "error_rules": S,
    "departures": N,
    "hires": N,
    "allowance": N,
}
# The policy's fact types; the first three are one per request and always available to evidence.
SINGLETONS = ("request", "unit", "assessment")
POLICY_FACTS: dict[str, Mapping[str, str]] = {
    "request": REQUEST_FIELDS,
    "unit": FACT_FIELDS["unit"],
    "quota": FACT_FIELDS["quota"],
    "leadership": FACT_FIELDS["leadership"],
    "finding": FINDING_FIELDS,
    "assessment": ASSESSMENT_FIELDS,
}
CONTEXT_FIELDS = (*REQUEST_FIELDS, "unit_name")
POLICY_KEYS = {"parameters", "rules", "otherwise"}
RULE_KEYS = {"id", "title", "decision", "rule", "when", "evidence", "basis", "message"}
REQUIRED_RULE_KEYS = {"id", "title", "decision", "rule", "basis", "message"}
DEFAULT_PARAMETERS = {"departures_per_hire": 2}
_EMPTY = np.zeros(0, dtype="int64")
_TYPE = "_fact"


# ------------------------------------------------------------------------------------- policy


@dataclass
class Pattern:
    """One pattern of a decision rule: a fact type and a condition (may name earlier patterns)."""

    type: str
    text: str
    condition: expr.Node
    engine: expr.EngineCondition


@dataclass
class DecisionRule:
    """One rule of the decision policy."""

    id: str
    title: dict[str, str]
    decision: str
    rule: str
    patterns: list[Pattern]
    evidence: dict[str, expr.Node]
    evidence_text: dict[str, str]
    basis: dict[str, str]
    message: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        """The rule as the service lists it."""
        return {
            "id": self.id,
            "title": dict(self.title),
            "decision": self.decision,
            "rule": self.rule,
            "when": {p.type: p.text for p in self.patterns},
            "evidence": dict(self.evidence_text),
            "basis": dict(self.basis),
            "message": dict(self.message),
        }


@dataclass
class Policy:
    """A validated decision policy, compiled for durable-rules."""

    rules: list[DecisionRule]
    otherwise: DecisionRule
    parameters: dict[str, Any]
    file: str
    ruleset: dict[str, dict] = field(default_factory=dict)
    # Per fact type: derived fields (name -> node) the policy's facts must carry.
    derived: dict[str, dict[str, expr.Node]] = field(default_factory=dict)


def _bilingual(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(LANGS)
        and all(isinstance(v, str) and v.strip() for v in value.values())
    )


def load_policy(
    path: Path | None, rules: list[Rule], as_of: date, known_rules: set[str] | None = None
) -> Policy:
    """Load, check and compile a decision policy (the built-in one when path is None)."""
    path = path or DEFAULT_POLICY
    display = str(path)
    doc = load_yaml_file(path, display)
    problems = ProblemCollector()

    def fail(key: str, message: str) -> None:
        problems.add(Problem(file=display, column=key, message=message))

    if not isinstance(doc, dict):
        raise InputError(
            [Problem(display, "a policy is a mapping with parameters, rules, otherwise")]
        )
    for key in doc:
        if key not in POLICY_KEYS:
            fail(str(key), f"unknown key {key!r} (allowed: {', '.join(sorted(POLICY_KEYS))})")
    params = dict(DEFAULT_PARAMETERS)
    raw_params = doc.get("parameters") or {}
    if not isinstance(raw_params, dict):
        fail("parameters", "parameters must be a mapping of names to values")
        raw_params = {}
    for name, value in raw_params.items():
        if not isinstance(name, str) or isinstance(value, dict | list) or value is None:
            fail(f"parameters.{name}", "a parameter is a number, text or true/false")
            continue
        params[name] = value
    per_hire = params["departures_per_hire"]
    if isinstance(per_hire, bool) or not isinstance(per_hire, int) or per_hire < 1:
        fail("parameters.departures_per_hire", "departures_per_hire must be a whole number >= 1")
    known = (known_rules or set()) | {r.id for r in rules}
    ctx = expr.Context(params, as_of)
    seen: set[str] = set()
    out: list[DecisionRule] = []
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        fail("rules", "rules must be a non-empty list")
        raw_rules = []
    for i, raw in enumerate(raw_rules):
        rule = _read_rule(raw, f"rules[{i}]", params, ctx, known, seen, fail, needs_when=True)
        if rule is not None:
            out.append(rule)
    otherwise = _read_rule(
        doc.get("otherwise"), "otherwise", params, ctx, known, seen, fail, needs_when=False
    )
    if doc.get("otherwise") is None:
        fail("otherwise", "missing key 'otherwise': the decision when no rule matches")
    problems.raise_if_any()
    assert otherwise is not None
    policy = Policy(out, otherwise, params, display)
    for rule in out:
        policy.ruleset[rule.id] = {
            "all": [{p.type: {"$and": [{_TYPE: p.type}, p.engine.pattern]}} for p in rule.patterns]
        }
        for p in rule.patterns:
            policy.derived.setdefault(p.type, {}).update(p.engine.derived)
    return policy


def _read_rule(
    raw: Any,
    where: str,
    params: dict[str, Any],
    ctx: expr.Context,
    known: set[str],
    seen: set[str],
    fail: Any,
    needs_when: bool,
) -> DecisionRule | None:
    if not isinstance(raw, dict):
        fail(where, "a decision rule is a mapping")
        return None
    allowed = RULE_KEYS if needs_when else RULE_KEYS - {"when"}
    for key in raw:
        if key not in allowed:
            fail(f"{where}.{key}", f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
    required = REQUIRED_RULE_KEYS | ({"when"} if needs_when else set())
    missing = required - set(raw)
    if missing:
        fail(where, f"missing keys: {', '.join(sorted(missing))}")
        return None
    rid = raw["id"]
    if not isinstance(rid, str) or not RULE_ID.match(rid) or rid in seen:
        fail(f"{where}.id", f"id must be a unique code like DEC01, got {rid!r}")
        return None
    seen.add(rid)
    where = f"rule {rid}"
    ok = True
    for key in ("title", "basis", "message"):
        if not _bilingual(raw[key]):
            fail(f"{where}.{key}", f"{key} must have exactly the keys zh and en, both non-empty")
            ok = False
    if raw["decision"] not in DECISIONS:
        fail(f"{where}.decision", f"decision must be one of {', '.join(DECISIONS)}")
        ok = False
    if raw["rule"] != rid and raw["rule"] not in known:
        fail(
            f"{where}.rule",
            f"rule must be a loaded audit rule (Q01, L02, ...) or the decision rule's own id "
            f"{rid}, got {raw['rule']!r}",
        )
        ok = False
    patterns: list[Pattern] = []
    refs: dict[str, Mapping[str, str]] = {}
    when = raw.get("when") or {}
    if needs_when and (not isinstance(when, dict) or not when):
        fail(f"{where}.when", f"when must map fact types ({', '.join(POLICY_FACTS)}) to conditions")
        when = {}
    for ptype, text in when.items():
        key = f"{where}.when.{ptype}"
        if ptype not in POLICY_FACTS:
            fail(key, f"unknown fact type {ptype!r} (known: {', '.join(POLICY_FACTS)})")
            ok = False
            continue
        if isinstance(text, bool):
            text = "true" if text else "false"
        if not isinstance(text, str):
            fail(key, "a condition is text in the rule language")
            ok = False
            continue
        scope = expr.Scope(POLICY_FACTS[ptype], params, dict(refs))
        try:
            node = expr.parse(text)
            if expr.check(node, scope) != expr.BOOL:
                raise expr.ExprError("a condition must be true or false")
            compiler = expr.EngineCompiler(scope, ctx, prefix=f"x_{rid.lower()}_{ptype}_")
            compiled = compiler.compile(node)
        except expr.ExprError as exc:
            fail(key, f"condition: {exc}")
            ok = False
            continue
        patterns.append(Pattern(ptype, text.strip(), node, compiled))
        refs[ptype] = POLICY_FACTS[ptype]
    available = dict(refs)
    for single in SINGLETONS:
        available.setdefault(single, POLICY_FACTS[single])
    evidence: dict[str, expr.Node] = {}
    evidence_text: dict[str, str] = {}
    raw_evidence = raw.get("evidence") or {}
    if not isinstance(raw_evidence, dict):
        fail(f"{where}.evidence", "evidence must map names to expressions")
        raw_evidence = {}
    for name, text in raw_evidence.items():
        key = f"{where}.evidence.{name}"
        if not isinstance(name, str) or not name.isidentifier() or not isinstance(text, str):
            fail(key, "evidence maps names to expressions such as quota.approved - quota.counted")
            ok = False
            continue
        try:
            node = expr.parse(text)
            expr.check(node, expr.Scope({}, params, available))
        except expr.ExprError as exc:
            fail(key, f"evidence: {exc}")
            ok = False
            continue
        evidence[name] = node
        evidence_text[name] = text.strip()
    if _bilingual(raw["message"]):
        names = set(evidence) | set(CONTEXT_FIELDS)
        for lang, template in raw["message"].items():
            for m in PLACEHOLDER.finditer(template):
                if m.group(1) not in names:
                    fail(
                        f"{where}.message.{lang}",
                        f"unknown placeholder {{{m.group(1)}}} (evidence names, request fields "
                        "and unit_name may be used)",
                    )
                    ok = False
                if m.group(2) and m.group(2) not in FILTERS:
                    fail(f"{where}.message.{lang}", f"unknown filter |{m.group(2)}")
                    ok = False
    if not ok:
        return None
    return DecisionRule(
        rid,
        dict(raw["title"]),
        raw["decision"],
        raw["rule"],
        patterns,
        evidence,
        evidence_text,
        dict(raw["basis"]),
        dict(raw["message"]),
    )


# ------------------------------------------------------------------------------ value helpers


def _typed_frame(types: Mapping[str, str], rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame of plain values (None missing, dates as date) typed like the fact tables."""
    columns: dict[str, Any] = {}
    for name, type_ in types.items():
        values = [row.get(name) for row in rows]
        if type_ == N:
            columns[name] = np.array([np.nan if v is None else float(v) for v in values])
        elif type_ == B:
            columns[name] = pd.array(values, dtype="boolean")
        elif type_ == D:
            dates = pd.to_datetime(pd.Series(values, dtype=object))
            columns[name] = dates.astype("datetime64[ns]").to_numpy()
        else:
            columns[name] = np.array(values, dtype=object)
    return pd.DataFrame(columns, index=range(len(rows)))


def _encode_values(fact_type: str, columns: list[tuple[str, expr.Value]], n: int) -> list[dict]:
    """Engine facts from vectorised values (same encoding as expr.engine_value)."""
    facts: list[dict] = [{_TYPE: fact_type} for _ in range(n)]
    for name, v in columns:
        if v.type == B:
            vals: list[Any] = [1.0 if x else 0.0 for x in v.data.tolist()]
        elif v.type in (N, D):
            vals = np.asarray(v.data, dtype="float64").tolist()
        else:
            vals = [None if x is None else str(x) for x in v.data.tolist()]
        if v.null.any():
            for i in np.flatnonzero(v.null).tolist():
                vals[i] = None
        for fact, x in zip(facts, vals, strict=True):
            fact[name] = x
    return facts


def _plain_cell(value: Any) -> Any:
    """A cell of a fact table as a plain JSON value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# ------------------------------------------------------------------------------- unit rules


@dataclass
class _Compiled:
    rule: Rule
    params: dict[str, Any]
    condition: expr.EngineCondition


@dataclass
class _Group:
    """The unit rules compiled with one parameter set (the base set, or a region's own)."""

    ruleset: RuleSet
    compiled: dict[str, _Compiled]
    # Per fact type: the engine fields and their values over the whole fact table.
    columns: dict[str, list[tuple[str, expr.Value]]]
    # Per fact type: how to compute those fields on rebuilt rows (node None: a plain field).
    plans: dict[str, list[tuple[str, expr.Node | None, expr.Scope, expr.Context]]]


@dataclass
class WhatIfFinding:
    """A finding of the what-if evaluation, as the policy sees it."""

    rule: str
    severity: str
    action: str
    subject: str
    from_request: bool
    dismissed: bool


@dataclass
class Change:
    """One fact row the what-if rebuilds: a table row (pos) with fields set or added to, or a
    new row (pos None) whose fields are `set` (the others missing)."""

    pos: int | None
    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, float] = field(default_factory=dict)


@dataclass
class Rows:
    """A fact type's rows for one evaluation: untouched table positions plus rebuilt rows."""

    positions: np.ndarray
    changes: list[Change] = field(default_factory=list)


def _columns_from_plain(types: Mapping[str, str], rows: list[Mapping[str, Any]]) -> expr.Columns:
    """Values of plain rows (None missing, dates as date), as expr.column_value would read them
    from a fact frame."""
    n = len(rows)
    values: dict[str, expr.Value] = {}
    for name, type_ in types.items():
        raw = [row.get(name) for row in rows]
        null = np.fromiter((v is None for v in raw), dtype=bool, count=n)
        if type_ == N:
            data = np.fromiter((np.nan if v is None else v for v in raw), dtype="float64", count=n)
            null |= np.isnan(data)
        elif type_ == D:
            data = np.fromiter(
                (np.nan if v is None else expr.day_number(v) for v in raw), dtype="float64", count=n
            )
        elif type_ == B:
            data = np.fromiter((bool(v) for v in raw), dtype=bool, count=n)
        else:
            data = np.empty(n, dtype=object)
            data[:] = raw
        values[name] = expr.Value(data, null, type_)
    return expr.Columns(values, n)


class Decider:
    """Decides staffing requests against one dataset, its rules, grades and policy."""

    def __init__(
        self,
        dataset: Dataset,
        facts: Facts,
        rules: list[Rule],
        not_evaluated: list[NotEvaluated],
        policy: Policy,
        grades: GradeBook,
        overrides: Overrides | None = None,
    ) -> None:
        self.dataset = dataset
        self.facts = facts
        self.as_of = facts.as_of
        self.rules = rules
        self.not_evaluated = not_evaluated
        self.policy = policy
        self.grades = grades
        self.overrides = overrides or Overrides()
        unit = facts["unit"]
        self.unit_pos: dict[str, int] = {u: i for i, u in enumerate(unit["unit_id"].tolist())}
        self._unit_kinds = unit["kind"].to_numpy(dtype=object)
        self._regions = unit["region"].astype(object).where(unit["region"].notna(), None).tolist()
        self.positions: dict[str, dict[str, np.ndarray]] = {}
        for fact_type, frame in facts.tables.items():
            if len(frame):
                self.positions[fact_type] = frame.groupby("unit_id", sort=False).indices
            else:
                self.positions[fact_type] = {}
        # Base field values over whole tables: every field a rule's condition, derived field or
        # subject reads, per fact type.
        self._base: dict[str, dict[str, expr.Value]] = {}
        self._groups: dict[str | None, _Group] = {}
        self._build_groups()
        self._baseline = self._baseline_findings()
        self._policy_ruleset = RuleSet(policy.ruleset, name="requests_policy")
        self._plain_columns: dict[str, dict[str, list]] = {}
        for fact_type in ("unit", "quota", "leadership"):
            self._plain_columns[fact_type] = self._plain_table(fact_type)
        self._movements = self._index_movements()

    # -------------------------------------------------------------------------- set-up

    def _base_value(self, fact_type: str, name: str) -> expr.Value:
        values = self._base.setdefault(fact_type, {})
        if name not in values:
            frame = self.facts[fact_type]
            values[name] = expr.column_value(frame, name, FACT_FIELDS[fact_type][name])
        return values[name]

    def _build_groups(self) -> None:
        as_of = self.as_of
        per_rule = {r.id: dict(self.overrides.for_rule(r, as_of)) for r in self.rules}
        regions = sorted({g for sets in per_rule.values() for g in sets if g is not None})
        for region in [None, *regions]:
            pairs = [(r, per_rule[r.id].get(region, per_rule[r.id][None])) for r in self.rules]
            self._groups[region] = self._compile_group(pairs)

    def _compile_group(self, pairs: list[tuple[Rule, dict[str, Any]]]) -> _Group:
        ruleset: dict[str, dict] = {}
        compiled: dict[str, _Compiled] = {}
        for rule, params in pairs:
            ctx = expr.Context(params, self.as_of)
            comp = expr.EngineCompiler(rule.scope(params), ctx, prefix=f"x_{rule.id.lower()}_")
            cond = comp.compile(rule.condition)
            ruleset[rule.id] = {"all": [{"m": {"$and": [{_TYPE: rule.applies_to}, cond.pattern]}}]}
            compiled[rule.id] = _Compiled(rule, params, cond)
        if not ruleset:
            raise InputError([Problem("rules", "no rule can be evaluated on this dataset")])
        columns: dict[str, list[tuple[str, expr.Value]]] = {}
        plans: dict[str, list] = {}
        for c in compiled.values():
            fact_type = c.rule.applies_to
            frame = self.facts[fact_type]
            have = {name for name, _ in columns.get(fact_type, [])}
            ctx = expr.Context(c.params, self.as_of)
            scope = c.rule.scope(c.params)
            for name in sorted(expr.fields_of(c.rule.subject)):
                self._base_value(fact_type, name)
            for name in sorted(c.condition.fields - {_TYPE}):
                if name in have:
                    continue
                have.add(name)
                node = c.condition.derived.get(name)
                if node is not None:
                    for base in sorted(expr.fields_of(node)):
                        self._base_value(fact_type, base)
                    value = expr.evaluate(node, frame, scope, ctx)
                else:
                    value = self._base_value(fact_type, name)
                columns.setdefault(fact_type, []).append((name, value))
                plans.setdefault(fact_type, []).append((name, node, scope, ctx))
        return _Group(RuleSet(ruleset, name="requests_rules"), compiled, columns, plans)

    def _baseline_findings(self) -> dict[str, list[tuple[str, int, WhatIfFinding]]]:
        """Every unit's findings on the data as it is, vectorised (the bulk path, which the
        tests hold equal to the engine path). A rule judges one fact at a time, so a row the
        what-if leaves alone keeps these findings; only rebuilt rows go through the engine per
        request."""
        out: dict[str, list[tuple[str, int, WhatIfFinding]]] = {}
        dismissed = self.grades.dismissed
        for rule in self.rules:
            frame = self.facts[rule.applies_to]
            for rows, params in bulk_matches(rule, self.facts, self.overrides):
                if not len(rows):
                    continue
                sub = frame.iloc[rows]
                ctx = expr.Context(params, self.as_of)
                subjects = _values(rule.subject, sub, rule.scope(params), ctx)
                units = sub["unit_id"].tolist()
                for pos, uid, subject in zip(rows.tolist(), units, subjects, strict=True):
                    text = str(subject)
                    gone = fingerprint(rule.id, uid, text) in dismissed
                    found = WhatIfFinding(rule.id, rule.severity, rule.action, text, False, gone)
                    out.setdefault(uid, []).append((rule.applies_to, pos, found))
        return out

    def _plain_table(self, fact_type: str) -> dict[str, list]:
        frame = self.facts[fact_type]
        out = {}
        for name, type_ in FACT_FIELDS[fact_type].items():
            if name not in frame.columns:
                out[name] = [None] * len(frame)
                continue
            col = frame[name]
            if type_ == D:
                values = [None if pd.isna(x) else pd.Timestamp(x).date() for x in col.tolist()]
            elif type_ == N:
                arr = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                values = [None if math.isnan(x) else x for x in arr.tolist()]
            else:
                values = [
                    None
                    if x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))
                    else x
                    for x in col.astype(object).tolist()
                ]
                if type_ == B:
                    values = [None if x is None else bool(x) for x in values]
                else:
                    values = [None if x is None else str(x) for x in values]
            out[name] = values
        return out

    def _index_movements(self) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        if not self.dataset.has("movements"):
            return None
        mv = self.dataset.frame("movements")
        days = expr.date_days(mv["date"].to_numpy(dtype="datetime64[ns]"))
        out_ = (mv["direction"] == "out").to_numpy(dtype=bool)
        index = mv.groupby("unit_id", sort=False).indices if len(mv) else {}
        return {u: (days[pos], out_[pos]) for u, pos in index.items()}

    # ---------------------------------------------------------------------- the what-if

    def _group_for(self, unit_id: str) -> _Group:
        region = self._regions[self.unit_pos[unit_id]]
        return self._groups.get(region) or self._groups[None]

    def _unit_rows(self, fact_type: str, unit_id: str) -> np.ndarray:
        return self.positions.get(fact_type, {}).get(unit_id, _EMPTY)

    def _changed(
        self, fact_type: str, uid: str, key: str, value: str, add: dict[str, float], new: dict
    ) -> Rows:
        """The unit's rows of a type with one row (found by key, or new) changed by `add`."""
        pos = self._unit_rows(fact_type, uid)
        keys = self._plain_columns[fact_type][key]
        hit = [int(p) for p in pos if keys[p] == value]
        if not hit:
            return Rows(pos, [Change(None, {**new, **add})])
        return Rows(pos[pos != hit[0]], [Change(hit[0], add=add)])

    def whatif_rows(self, req: Request) -> dict[str, Rows]:
        """The unit's fact rows with the request applied, per fact type."""
        uid, k = req.unit_id, float(req.count)
        upos = self.unit_pos[uid]
        kind = self._unit_kinds[upos]
        rows = {t: Rows(self._unit_rows(t, uid)) for t in self.facts.tables}
        unit_add: dict[str, float] = {}
        if req.type in ("hire", "add_quota"):
            name = "counted" if req.type == "hire" else "approved"
            new = {"unit_id": uid, "unit_kind": kind, "category": req.category}
            new.update({"approved": 0.0, "counted": 0.0})
            rows["quota"] = self._changed("quota", uid, "category", req.category, {name: k}, new)
            if req.type == "hire":
                unit_add = {"people": k, "counted": k, "counted_categorised": k}
                person = {
                    "unit_id": uid,
                    "unit_kind": kind,
                    "category": req.category,
                    "leadership": "none",
                    "post_type": "management",
                    "status": "on_post",
                    "entry_date": req.date,
                    "counted": True,
                    "category_allowed": req.category in ALLOWED_CATEGORIES.get(kind, ()),
                }
                rows["person"].changes = [
                    Change(None, dict(person, person_id=f"{req.request_id}#{i + 1}"))
                    for i in range(req.count)
                ]
            else:
                unit_add = {"quota_total": k}
        elif req.type == "appoint":
            new = {"unit_id": uid, "unit_kind": kind, "level": req.level}
            new.update({"approved": 0.0, "counted": 0.0})
            rows["leadership"] = self._changed(
                "leadership", uid, "level", req.level, {"counted": k}, new
            )
        elif req.type == "add_body":
            unit_add = {"bodies": k}
            bodies = float(self._plain_columns["unit"]["bodies"][upos] or 0) + k
            existing = rows["body"].positions
            changes = [Change(int(p), add={"unit_bodies": k}) for p in existing]
            for i in range(req.count):
                body = {"unit_id": uid, "body_id": f"{req.request_id}#{i + 1}"}
                body.update({"body_name": req.reason, "listed": True, "approved": True})
                body.update({"counted": 0.0, "unit_bodies": bodies})
                changes.append(Change(None, body))
            rows["body"] = Rows(_EMPTY, changes)
        if unit_add:
            rows["unit"] = Rows(_EMPTY, [Change(upos, add=unit_add)])
        return rows

    def _rebuilt(self, fact_type: str, changes: list[Change]) -> expr.Columns:
        """The base fields of rebuilt rows, as Values."""
        n = len(changes)
        types = FACT_FIELDS[fact_type]
        new = [c.set if c.pos is None else {} for c in changes]
        fresh = _columns_from_plain({k: types[k] for k in self._base.get(fact_type, {})}, new)
        values = {}
        pos = np.array([c.pos if c.pos is not None else -1 for c in changes], dtype="int64")
        old = pos >= 0
        for name, v in self._base.get(fact_type, {}).items():
            f = fresh.values[name]
            data, null = f.data.copy(), f.null.copy()
            if old.any():
                data[old] = v.data[pos[old]]
                null[old] = v.null[pos[old]]
            for i, c in enumerate(changes):
                if c.pos is not None and name in c.set:
                    one = _columns_from_plain({name: types[name]}, [c.set]).values[name]
                    data[i], null[i] = one.data[0], one.null[0]
                if name in c.add:
                    data[i] = data[i] + c.add[name]
            values[name] = expr.Value(data, null, v.type)
        return expr.Columns(values, n)

    def whatif_frames(self, req: Request) -> dict[str, pd.DataFrame]:
        """The unit's fact tables with the request applied, as DataFrames (for checking the
        fast path against a full audit of them)."""
        out = {}
        for fact_type, part in self.whatif_rows(req).items():
            table = self.facts[fact_type]
            frames = [table.iloc[part.positions]]
            for c in part.changes:
                if c.pos is None:
                    row = _typed_frame(FACT_FIELDS[fact_type], [c.set])
                    row["_row"] = 0  # a new row has no source row: "the request", row 0
                    row["_file"] = "request"
                else:
                    row = table.iloc[[c.pos]].reset_index(drop=True)
                    for name, value in c.set.items():
                        row[name] = value
                for name, delta in c.add.items():
                    row[name] = pd.to_numeric(row[name]).astype("float64") + delta
                frames.append(row)
            out[fact_type] = pd.concat(frames, ignore_index=True)
        return out

    def evaluate_rows(self, unit_id: str, rows: dict[str, Rows]) -> list[tuple[Rule, dict, Any]]:
        """Run the unit's rules on its rows through durable-rules: (rule, params, source) per
        match, source being (fact type, Columns or None for the table, row, rebuilt)."""
        group = self._group_for(unit_id)
        facts: list[dict] = []
        for fact_type, columns in group.columns.items():
            part = rows.get(fact_type)
            if part is None:
                continue
            pos = part.positions
            if len(pos):
                sliced = [(n, expr.Value(v.data[pos], v.null[pos], v.type)) for n, v in columns]
                for i, fact in enumerate(_encode_values(fact_type, sliced, len(pos))):
                    fact["_src"] = (fact_type, None, int(pos[i]), False)
                    facts.append(fact)
            if part.changes:
                cols = self._rebuilt(fact_type, part.changes)
                values = []
                for name, node, scope, ctx in group.plans[fact_type]:
                    if node is None:
                        values.append((name, cols.values[name]))
                    else:
                        values.append((name, expr.evaluate(node, cols, scope, ctx)))
                for i, fact in enumerate(_encode_values(fact_type, values, cols.n)):
                    fact["_src"] = (fact_type, cols, i, True)
                    facts.append(fact)
        out = []
        for match in group.ruleset.evaluate(facts):
            c = group.compiled[match.rule]
            out.append((c.rule, c.params, match.facts["m"]["_src"]))
        return out

    def _subject(self, rule: Rule, params: dict, cols: expr.Columns, row: int) -> str:
        """A finding's subject on a rebuilt row."""
        if isinstance(rule.subject, expr.Const):
            return str(rule.subject.value)
        ctx = expr.Context(params, self.as_of)
        return str(_values(rule.subject, cols, rule.scope(params), ctx)[row])

    def findings_after(self, req: Request) -> list[WhatIfFinding]:
        """The unit's findings with the request applied: the rows the request rebuilds (changed
        or added) are evaluated through durable-rules; the others keep their findings."""
        rows = self.whatif_rows(req)
        rebuilt = {(t, c.pos) for t, part in rows.items() for c in part.changes}
        out = [f for t, pos, f in self._baseline.get(req.unit_id, []) if (t, pos) not in rebuilt]
        changed = {t: Rows(_EMPTY, part.changes) for t, part in rows.items() if part.changes}
        matches = self.evaluate_rows(req.unit_id, changed)
        for rule, params, (_type, cols, row, _rebuilt) in matches:
            subject = self._subject(rule, params, cols, row)
            dismissed = fingerprint(rule.id, req.unit_id, subject) in self.grades.dismissed
            out.append(WhatIfFinding(rule.id, rule.severity, rule.action, subject, True, dismissed))
        out.sort(key=lambda f: (f.rule, f.subject))
        return out

    # ------------------------------------------------------------------------ the policy

    def _plain_row(self, fact_type: str, pos: int) -> dict[str, Any]:
        return {name: values[pos] for name, values in self._plain_columns[fact_type].items()}

    def _allowance(self, req: Request, grade: Grade | None) -> tuple[Any, Any, Any]:
        if self._movements is None or grade is None or grade.audited_on is None:
            return None, None, None
        days, out_ = self._movements.get(req.unit_id, (np.zeros(0), np.zeros(0, dtype=bool)))
        window = (days >= expr.day_number(grade.audited_on)) & (days <= expr.day_number(req.date))
        departures = int((window & out_).sum())
        hires = int((window & ~out_).sum())
        per_hire = int(self.policy.parameters["departures_per_hire"])
        return float(departures), float(hires), float(departures // per_hire - hires)

    def policy_facts(self, req: Request, findings: list[WhatIfFinding]) -> dict[str, list[dict]]:
        """The facts the policy joins for one request, as plain values per fact type."""
        uid = req.unit_id
        grade = self.grades.get(uid)
        request = {
            "request_id": req.request_id,
            "unit_id": uid,
            "type": req.type,
            "category": req.category,
            "level": req.level,
            "count": float(req.count),
            "date": req.date,
            "reason": req.reason,
        }
        unit = self._plain_row("unit", self.unit_pos[uid])
        kind = unit.get("kind")
        quotas = [self._plain_row("quota", int(p)) for p in self._unit_rows("quota", uid)]
        if req.category and not any(q["category"] == req.category for q in quotas):
            quotas.append(
                {
                    "unit_id": uid,
                    "unit_kind": kind,
                    "category": req.category,
                    "approved": 0.0,
                    "counted": 0.0,
                }
            )
        leaders = [
            self._plain_row("leadership", int(p)) for p in self._unit_rows("leadership", uid)
        ]
        if req.level and not any(x["level"] == req.level for x in leaders):
            leaders.append(
                {
                    "unit_id": uid,
                    "unit_kind": kind,
                    "level": req.level,
                    "approved": 0.0,
                    "counted": 0.0,
                }
            )
        errors = [f.rule for f in findings if f.severity == "error" and not f.dismissed]
        departures, hires, allowance = self._allowance(req, grade)
        assessment = {
            "unit_id": uid,
            "grade": grade.grade if grade else None,
            "audited_on": grade.audited_on if grade else None,
            "grade_source": grade.source if grade else None,
            "open_errors": float(len(errors)),
            "error_rules": ", ".join(sorted(set(errors))) or None,
            "departures": departures,
            "hires": hires,
            "allowance": allowance,
        }
        finding_facts = [
            {
                "unit_id": uid,
                "rule": f.rule,
                "severity": f.severity,
                "action": f.action,
                "subject": f.subject,
                "from_request": f.from_request,
                "dismissed": f.dismissed,
            }
            for f in findings
        ]
        return {
            "request": [request],
            "unit": [unit],
            "quota": quotas,
            "leadership": leaders,
            "finding": finding_facts,
            "assessment": [assessment],
        }

    def _engine_policy_facts(self, plain: dict[str, list[dict]]) -> list[dict]:
        """The policy's facts as the engine gets them, each keeping its plain values."""
        facts: list[dict] = []
        params = self.policy.parameters
        ctx = expr.Context(params, self.as_of)
        for fact_type, rows in plain.items():
            if not rows:
                continue
            types = POLICY_FACTS[fact_type]
            cols = _columns_from_plain(types, rows)
            values = list(cols.values.items())
            scope = expr.Scope(types, params)
            for name, node in self.policy.derived.get(fact_type, {}).items():
                values.append((name, expr.evaluate(node, cols, scope, ctx)))
            for fact, row in zip(_encode_values(fact_type, values, len(rows)), rows, strict=True):
                fact[expr.TRUE_FIELD] = True
                fact["_plain"] = row
                facts.append(fact)
        return facts

    def _reason(
        self, rule: DecisionRule, bound: Mapping[str, dict], req: Request, lang: str
    ) -> dict[str, Any]:
        evidence: dict[str, Any] = {}
        if rule.evidence:
            refs: dict[str, Mapping[str, str]] = {}
            row: dict[str, Any] = {}
            types: dict[str, str] = {}
            for node in rule.evidence.values():
                for pattern, name in expr.refs_of(node):
                    column = expr.ref_column(pattern, name)
                    refs[pattern] = POLICY_FACTS[pattern]
                    types[column] = POLICY_FACTS[pattern][name]
                    row[column] = bound[pattern].get(name)
            frame = _columns_from_plain(types, [row])
            scope = expr.Scope({}, self.policy.parameters, refs)
            ctx = expr.Context(self.policy.parameters, self.as_of)
            for name, node in rule.evidence.items():
                evidence[name] = _values(node, frame, scope, ctx)[0]
        context: dict[str, Any] = {
            **{k: v for k, v in req.to_json().items()},
            "unit_name": bound["unit"].get("unit_name"),
        }
        context.update(evidence)
        messages = {}
        for lg, template in rule.message.items():
            ctx_lang = dict(context)
            if "type" not in evidence:
                ctx_lang["type"] = REQUEST_TYPES.label(req.type, lg)
            messages[lg] = render(template, ctx_lang, lg, "request")
        return {
            "rule": rule.rule,
            "message": messages[lang],
            "evidence": evidence,
            "basis": rule.basis[lang],
            "policy_rule": rule.id,
            "messages": messages,
            "bases": dict(rule.basis),
        }

    def decide(self, req: Request, lang: str = "zh") -> dict[str, Any]:
        """Decide one validated request: the contract's decision object."""
        findings = self.findings_after(req)
        plain = self.policy_facts(req, findings)
        facts = self._engine_policy_facts(plain)
        first: dict[str, dict[str, dict]] = {}
        for match in self._policy_ruleset.evaluate(facts):
            if match.rule not in first:
                first[match.rule] = {p: f["_plain"] for p, f in match.facts.items()}
        singles = {name: plain[name][0] for name in SINGLETONS}
        matched = [r for r in self.policy.rules if r.id in first]
        if matched:
            decision = matched[0].decision
            chosen = [(r, {**singles, **first[r.id]}) for r in matched if r.decision == decision]
        else:
            decision = self.policy.otherwise.decision
            chosen = [(self.policy.otherwise, singles)]
        grade = self.grades.get(req.unit_id)
        return {
            "request_id": req.request_id,
            "unit_id": req.unit_id,
            "decision": decision,
            "reasons": [self._reason(r, bound, req, lang) for r, bound in chosen],
            "decision_label": DECISION_LABELS[decision][lang],
            "unit_name": plain["unit"][0].get("unit_name"),
            "type": req.type,
            "category": req.category,
            "level": req.level,
            "count": req.count,
            "date": req.date.isoformat(),
            "grade": grade.grade if grade else None,
            "findings_after": [
                {
                    "rule": f.rule,
                    "severity": f.severity,
                    "subject": f.subject,
                    "from_request": f.from_request,
                }
                for f in findings
                if f.severity == "error" and not f.dismissed
            ],
        }

    def decide_batch(self, raws: list[RawRequest], lang: str = "zh") -> dict[str, Any]:
        """Validate and decide a batch: the contract's object with decisions and errors."""
        decisions = []
        errors = []
        for item in validate_requests(raws, self.unit_pos):
            if isinstance(item, RequestError):
                errors.append(item.to_json())
                continue
            try:
                decisions.append(self.decide(item, lang))
            except Exception as exc:  # noqa: BLE001 - one request must not sink the batch
                log.error("request %s: internal error %s", item.request_id, type(exc).__name__)
                errors.append(
                    RequestError(
                        item.request_id, f"internal error ({type(exc).__name__})", item.where
                    ).to_json()
                )
        return {"decisions": decisions, "errors": errors}

    # ------------------------------------------------------------------------- read side

    def unit_view(self, unit_id: str, lang: str = "zh") -> dict[str, Any] | None:
        """A unit's facts, grade and open findings (None for an unknown unit)."""
        pos = self.unit_pos.get(unit_id)
        if pos is None:
            return None
        facts = self.facts
        rows = {t: Rows(self._unit_rows(t, unit_id)) for t in facts.tables}
        matches = self.evaluate_rows(unit_id, rows)
        by_rule: dict[str, tuple[Rule, dict, list[int]]] = {}
        for rule, params, (_type, _cols, row, _rebuilt) in matches:
            by_rule.setdefault(rule.id, (rule, params, []))[2].append(row)
        findings = []
        for rule, params, rows_ in by_rule.values():
            for f in build_findings(rule, facts, np.array(sorted(rows_), dtype="int64"), params):
                obj = f.to_json(lang)
                obj["evidence"] = evidence_for_output(f, show_ids=False)
                obj["dismissed"] = f.fingerprint in self.grades.dismissed
                findings.append(obj)
        findings.sort(key=lambda f: (f["rule"], f["subject"]))

        def table(fact_type: str, columns: list[str]) -> list[dict[str, Any]]:
            frame = facts[fact_type]
            sub = frame.iloc[self._unit_rows(fact_type, unit_id)]
            cols = [c for c in columns if c in sub.columns]
            return [
                {c: _plain_cell(v) for c, v in zip(cols, values, strict=True)}
                for values in sub[cols].itertuples(index=False)
            ]

        unit_row = facts["unit"].iloc[pos]
        unit = {
            name: _plain_cell(unit_row[name])
            for name in FACT_FIELDS["unit"]
            if name in unit_row.index
        }
        grade = self.grades.get(unit_id)
        return {
            "unit_id": unit_id,
            "as_of": self.as_of.isoformat(),
            "unit": unit,
            "quotas": table("quota", ["category", "approved", "counted", "doc_no"]),
            "leader_quotas": table("leadership", ["level", "approved", "counted", "doc_no"]),
            "bodies": table("body", ["body_id", "body_name", "listed", "approved", "counted"]),
            "grade": None
            if grade is None
            else {
                "grade": grade.grade,
                "audited_on": grade.audited_on.isoformat() if grade.audited_on else None,
                "source": grade.source,
            },
            "findings": findings,
        }

    def rules_view(self, lang: str = "zh") -> dict[str, Any]:
        """The audit rules in use and the decision policy."""
        return {
            "rules": [
                {
                    "id": r.id,
                    "title": r.title[lang],
                    "titles": dict(r.title),
                    "severity": r.severity,
                    "action": r.action,
                    "applies_to": r.applies_to,
                    "condition": r.condition_text,
                }
                for r in self.rules
            ],
            "rules_not_evaluated": [
                {"rule": n.rule, "reason": n.reason[lang], "reasons": dict(n.reason)}
                for n in self.not_evaluated
            ],
            "policy": {
                "file": self.policy.file,
                "parameters": dict(self.policy.parameters),
                "rules": [r.to_json() for r in self.policy.rules],
                "otherwise": self.policy.otherwise.to_json(),
            },
        }


# ------------------------------------------------------------------------------------ loading


@dataclass
class DeciderConfig:
    """Everything needed to build (and rebuild) a Decider."""

    data: Path
    audit: Path | None = None
    grades: Path | None = None
    policy: Path | None = None
    as_of: date | None = None  # None: today, at each (re)load
    rule_dirs: tuple[Path, ...] = ()
    builtins: bool = True
    disable: tuple[str, ...] = ()
    overrides: Overrides | None = None


def load_decider(config: DeciderConfig) -> Decider:
    """Load the dataset, grades, rules and policy; InputError names what is wrong."""
    from .actions import known_rule_ids

    if config.audit is not None and config.grades is not None:
        raise InputError(
            [Problem("--audit/--grades", "give grades with --audit or --grades, not both")]
        )
    as_of = config.as_of or date.today()
    rules = load_rules(
        list(config.rule_dirs), builtins=config.builtins, disable=list(config.disable)
    )
    policy = load_policy(config.policy, rules, as_of, known_rule_ids(rules))
    dataset = load_dataset(config.data)
    unit_ids = dataset.frame("units")["unit_id"].dropna()
    if config.audit is not None:
        grades = read_audit_json(config.audit, unit_ids)
    elif config.grades is not None:
        grades = read_grades_table(config.grades, unit_ids)
    else:
        grades = GradeBook()
    facts = build_facts(dataset, as_of)
    runnable, skipped = runnable_rules(rules, facts, dataset)
    return Decider(dataset, facts, runnable, skipped, policy, grades, config.overrides)
