"""Rule files: one YAML file per rule, validated strictly before anything is evaluated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import builtin_rules, functions  # noqa: F401  (functions registers itself)
from .errors import InputError, Problem, ProblemCollector
from .expr import ExprError, Node, Scope, check, parse
from .facts import FACT_FIELDS, ORIGIN_TABLE, ROSTER_KEYS
from .messages import FILTERS, PLACEHOLDER
from .params import DatedValue, ParamSpec, resolve, to_date
from .schema import TABLES
from .yamlutil import display_path, load_yaml_file

BUILTIN_DIR = Path(builtin_rules.__file__).parent

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
ACTIONS = {
    "rectify": {"zh": "整改", "en": "rectify"},
    "reclaim": {"zh": "收回空编", "en": "reclaim vacant posts"},
    "merge": {"zh": "合并", "en": "merge"},
    "abolish": {"zh": "撤销", "en": "abolish"},
    "downgrade": {"zh": "降格", "en": "downgrade"},
    "adjust": {"zh": "职能调整", "en": "adjust duties"},
    "support": {"zh": "支持(增编)", "en": "support with more staffing"},
    "suspend": {"zh": "暂缓审批", "en": "suspend approvals"},
    "two_out_one_in": {"zh": "退二进一", "en": "hire one for every two who leave"},
}
# Actions a rule's findings may carry; the last two come only from decision rules (grade C).
FINDING_ACTIONS = ("rectify", "reclaim", "merge", "abolish", "downgrade", "adjust", "support")
LANGS = ("zh", "en")
RULE_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,15}[0-9]{2}$")

RULE_KEYS = {
    "id": True,
    "title": True,
    "rationale": True,
    "basis": True,
    "severity": True,
    "action": True,
    "indicator": True,
    "magnitude": False,
    "applies_to": True,
    "requires": False,
    "parameters": False,
    "condition": True,
    "subject": True,
    "evidence": True,
    "source": False,
    "message": True,
}
PARAM_KEYS = {"description", "default", "values", "min", "max"}
DATED_KEYS = {"effective_from", "value", "reference"}
SOURCE_KEYS = {"table", "where"}


@dataclass
class SourceSpec:
    """Where a finding's evidence rows are: the fact's own row, or roster rows joined on keys."""

    table: str | None = None  # None: the fact's origin table
    where: Node | None = None
    where_text: str | None = None


@dataclass
class Rule:
    """A validated rule."""

    id: str
    title: dict[str, str]
    rationale: dict[str, str]
    basis: dict[str, str]
    severity: str
    action: str
    indicator: str
    applies_to: str
    requires: list[str]
    parameters: dict[str, ParamSpec]
    condition: Node
    condition_text: str
    subject: Node
    subject_text: str
    evidence: dict[str, Node]
    evidence_text: dict[str, str]
    message: dict[str, str]
    magnitude: Node | None
    magnitude_text: str | None
    source: SourceSpec
    file: Path
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def params_on(self, as_of: date, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parameter values in force on a date, with overrides."""
        return resolve(self.parameters, as_of, overrides)

    def scope(self, params: dict[str, Any]) -> Scope:
        """The names this rule's expressions may use."""
        return Scope(FACT_FIELDS[self.applies_to], params)

    @property
    def tables(self) -> list[str]:
        """Every table this rule needs."""
        return ["units", "roster", *self.requires]


class _RuleReader:
    """Validates one rule document, collecting every problem with the file and key."""

    def __init__(self, path: Path, display: str, problems: ProblemCollector) -> None:
        self.path, self.display, self.problems = path, display, problems
        self.rule_id: str | None = None

    def fail(self, key: str, message: str) -> None:
        where = f"rule {self.rule_id}" if self.rule_id else "rule"
        self.problems.add(Problem(file=self.display, column=key, message=f"{where}: {message}"))

    def read(self, doc: Any) -> Rule | None:
        if not isinstance(doc, dict):
            self.fail("-", "a rule file must be a mapping of keys")
            return None
        rid = doc.get("id")
        if isinstance(rid, str) and RULE_ID.match(rid):
            self.rule_id = rid
        else:
            self.fail("id", f"id must look like Q01 or MY_RULE01, got {rid!r}")
        before = len(self.problems.problems) + self.problems.truncated
        for key in doc:
            if key not in RULE_KEYS:
                self.fail(str(key), f"unknown key {key!r} (allowed: {', '.join(RULE_KEYS)})")
        for key, required in RULE_KEYS.items():
            if required and key not in doc:
                self.fail(key, f"missing required key {key!r}")
        title = self._bilingual(doc, "title")
        rationale = self._bilingual(doc, "rationale")
        basis = self._bilingual(doc, "basis")
        message = self._bilingual(doc, "message")
        severity = doc.get("severity")
        if severity not in SEVERITIES:
            self.fail("severity", f"severity must be one of {', '.join(SEVERITIES)}")
        action = doc.get("action")
        if action not in FINDING_ACTIONS:
            self.fail("action", f"action must be one of {', '.join(FINDING_ACTIONS)}")
        indicator = doc.get("indicator")
        if not isinstance(indicator, str) or not indicator:
            self.fail("indicator", "indicator must name the scoring indicator this rule feeds")
        applies_to = doc.get("applies_to")
        if applies_to not in FACT_FIELDS:
            self.fail("applies_to", f"applies_to must be one of {', '.join(FACT_FIELDS)}")
            return None
        requires = doc.get("requires", [])
        if not isinstance(requires, list) or not all(_known_input(t) for t in requires):
            self.fail(
                "requires",
                f"requires must list tables ({', '.join(TABLES)}) or table.column names",
            )
            requires = []
        origin = ORIGIN_TABLE[applies_to]
        if origin not in ("units", "roster") and origin not in requires:
            requires = [*requires, origin]
        parameters = self._parameters(doc.get("parameters", {}) or {})
        if len(self.problems.problems) + self.problems.truncated > before:
            return None
        try:
            params = resolve(parameters, date.max)
        except ValueError:
            params = {
                n: (s.values[-1].value if s.values else s.default) for n, s in parameters.items()
            }
        scope = Scope(FACT_FIELDS[applies_to], params)
        condition = self._expr(doc.get("condition"), "condition", scope, want="bool")
        subject = self._expr(doc.get("subject"), "subject", scope, want="str")
        magnitude = None
        if "magnitude" in doc:
            magnitude = self._expr(doc["magnitude"], "magnitude", scope, want="num")
        evidence: dict[str, Node] = {}
        ev_raw = doc.get("evidence")
        if not isinstance(ev_raw, dict) or not ev_raw:
            self.fail("evidence", "evidence must map names to expressions")
            ev_raw = {}
        for name, text in ev_raw.items():
            if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_]*$", name):
                self.fail("evidence", f"evidence name {name!r} must be lower_case")
                continue
            node = self._expr(text, f"evidence.{name}", scope, want=None)
            if node is not None:
                evidence[name] = node
        source = self._source(doc.get("source"), applies_to, params)
        if message:
            names = set(evidence) | set(FACT_FIELDS[applies_to]) | set(params) | {"unit_name"}
            for lang, text in message.items():
                for m in PLACEHOLDER.finditer(text):
                    if m.group(1) not in names:
                        self.fail(f"message.{lang}", f"unknown placeholder {{{m.group(1)}}}")
                    if m.group(2) and m.group(2) not in FILTERS:
                        self.fail(f"message.{lang}", f"unknown filter |{m.group(2)}")
        if len(self.problems.problems) + self.problems.truncated > before:
            return None
        assert condition is not None and subject is not None
        return Rule(
            id=self.rule_id or "",
            title=title,
            rationale=rationale,
            basis=basis,
            severity=severity,
            action=action,
            indicator=indicator,
            applies_to=applies_to,
            requires=list(requires),
            parameters=parameters,
            condition=condition,
            condition_text=str(doc["condition"]).strip(),
            subject=subject,
            subject_text=str(doc["subject"]).strip(),
            evidence=evidence,
            evidence_text={k: str(v).strip() for k, v in ev_raw.items() if k in evidence},
            message=message,
            magnitude=magnitude,
            magnitude_text=str(doc["magnitude"]).strip() if magnitude is not None else None,
            source=source,
            file=self.path,
            raw=doc,
        )

    def _bilingual(self, doc: dict, key: str) -> dict[str, str]:
        value = doc.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or set(value) != set(LANGS):
            self.fail(key, f"{key} must have exactly the keys zh and en")
            return {}
        for lang in LANGS:
            if not isinstance(value[lang], str) or not value[lang].strip():
                self.fail(f"{key}.{lang}", f"{key}.{lang} must be non-empty text")
                return {}
        return {lang: value[lang].strip() for lang in LANGS}

    def _expr(self, text: Any, key: str, scope: Scope, want: str | None) -> Node | None:
        if isinstance(text, bool | int | float) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            self.fail(key, f"{key} must be an expression written as text")
            return None
        try:
            node = parse(text)
            got = check(node, scope)
        except ExprError as exc:
            self.fail(key, f"{key}: {exc}")
            return None
        if want is not None and got != want:
            self.fail(key, f"{key} must be a {want} expression, got {got}")
            return None
        return node

    def _parameters(self, raw: Any) -> dict[str, ParamSpec]:
        out: dict[str, ParamSpec] = {}
        if not isinstance(raw, dict):
            self.fail("parameters", "parameters must be a mapping")
            return out
        for name, spec in raw.items():
            key = f"parameters.{name}"
            if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_]*$", name):
                self.fail(key, "parameter names must be lower_case")
                continue
            if not isinstance(spec, dict):
                self.fail(key, "a parameter must be a mapping")
                continue
            for k in spec:
                if k not in PARAM_KEYS:
                    self.fail(
                        f"{key}.{k}",
                        f"unknown key {k!r} (allowed: {', '.join(sorted(PARAM_KEYS))})",
                    )
            desc = spec.get("description")
            if not isinstance(desc, dict) or set(desc) != set(LANGS):
                self.fail(f"{key}.description", "description must have the keys zh and en")
                desc = {}
            if ("default" in spec) == ("values" in spec):
                self.fail(key, "give either a default or dated values, not both or neither")
                continue
            values: list[DatedValue] = []
            for i, item in enumerate(spec.get("values") or []):
                ikey = f"{key}.values[{i}]"
                if not isinstance(item, dict) or set(item) != DATED_KEYS:
                    self.fail(ikey, "a dated value has exactly effective_from, value and reference")
                    continue
                try:
                    eff = to_date(str(item["effective_from"]))
                except ValueError:
                    self.fail(f"{ikey}.effective_from", f"bad date {item['effective_from']!r}")
                    continue
                if not isinstance(item["reference"], str) or not item["reference"].strip():
                    self.fail(f"{ikey}.reference", "each dated value needs its reference text")
                values.append(DatedValue(eff, item["value"], str(item["reference"])))
            if len({v.effective_from for v in values}) != len(values):
                self.fail(f"{key}.values", "two values with the same effective_from")
            bounds = {}
            for b in ("min", "max"):
                if b in spec:
                    if isinstance(spec[b], bool) or not isinstance(spec[b], int | float):
                        self.fail(f"{key}.{b}", f"{b} must be a number")
                    else:
                        bounds[b] = float(spec[b])
            p = ParamSpec(
                name=name,
                description=desc,
                default=spec.get("default"),
                values=values,
                minimum=bounds.get("min"),
                maximum=bounds.get("max"),
            )
            if p.default is not None:
                why = p.check_value(p.default)
                if why:
                    self.fail(f"{key}.default", why)
            out[name] = p
        return out

    def _source(self, raw: Any, applies_to: str, params: dict) -> SourceSpec:
        if raw is None:
            return SourceSpec()
        if not isinstance(raw, dict) or not set(raw) <= SOURCE_KEYS or "table" not in raw:
            self.fail("source", "source must be {table: ..., where: ...}")
            return SourceSpec()
        table = raw["table"]
        if table == ORIGIN_TABLE[applies_to]:
            if "where" in raw:
                self.fail("source.where", "where is only for roster rows of an aggregate fact")
            return SourceSpec()
        if table != "roster" or applies_to not in ROSTER_KEYS:
            self.fail("source.table", f"source.table must be {ORIGIN_TABLE[applies_to]} or roster")
            return SourceSpec()
        where = None
        if "where" in raw:
            where = self._expr(
                raw["where"], "source.where", Scope(FACT_FIELDS["person"], params), "bool"
            )
        return SourceSpec("roster", where, str(raw.get("where", "")).strip() or None)


def _known_input(need: object) -> bool:
    """A table name, or table.column with a column of the contract."""
    if not isinstance(need, str):
        return False
    table, _, column = need.partition(".")
    if table not in TABLES:
        return False
    return not column or any(c.name == column for c in TABLES[table].columns)


def rule_files(folder: Path) -> list[Path]:
    """The rule files of a folder (cases files excluded), in id order."""
    return sorted(
        p
        for p in folder.glob("*.y*ml")
        if p.suffix in (".yaml", ".yml") and not p.name.endswith((".cases.yaml", ".cases.yml"))
    )


def load_rules(
    folders: list[Path] | None = None, builtins: bool = True, disable: list[str] | None = None
) -> list[Rule]:
    """Load and validate the built-in rules and users' rule folders; raise InputError on any problem."""
    problems = ProblemCollector()
    sources: list[Path] = []
    if builtins:
        sources.append(BUILTIN_DIR)
    sources.extend(folders or [])
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for folder in sources:
        if not folder.is_dir():
            problems.add(Problem(file=str(folder), message="rule folder not found"))
            continue
        for path in rule_files(folder):
            display = display_path(path)
            try:
                doc = load_yaml_file(path, display)
            except InputError as exc:
                for p in exc.problems:
                    problems.add(p)
                continue
            rule = _RuleReader(path, display, problems).read(doc)
            if rule is None:
                continue
            if rule.id in seen:
                problems.add(
                    Problem(
                        file=display,
                        column="id",
                        message=f"rule id {rule.id} is already used by {seen[rule.id]}",
                    )
                )
                continue
            if path.stem != rule.id:
                problems.add(
                    Problem(
                        file=display,
                        column="id",
                        message=f"rule {rule.id} must be in a file named {rule.id}.yaml",
                    )
                )
                continue
            seen[rule.id] = display
            rules.append(rule)
    for rid in disable or []:
        if rid not in seen:
            problems.add(Problem(file="--disable", message=f"no rule {rid} to disable"))
    problems.raise_if_any()
    off = set(disable or [])
    return sorted((r for r in rules if r.id not in off), key=lambda r: r.id)
