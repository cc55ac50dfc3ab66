"""The evaluation model: a weighted three-level indicator tree and grade parameters, from YAML.

A model file is validated strictly before anything is scored: unknown or duplicate keys,
weights that do not add up, unknown methods or rule ids, negative numbers and bad grade
thresholds are all reported, each naming the file and the key path
(``dimensions[staffing_use].items[vacancy].indicators[vacancy].max``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import models as _models_pkg
from .errors import InputError, Problem, ProblemCollector
from .rulefile import RULE_ID, Rule
from .yamlutil import display_path, load_yaml_file

DEFAULT_MODEL = Path(_models_pkg.__file__).parent / "default.yaml"
LANGS = ("zh", "en")

# The built-in catalogue's rule ids (rule-catalogue.md). A model may name them even when a run
# does not load them (--disable, --no-builtin, a table missing): they then yield no findings.
CATALOGUE_IDS = frozenset(
    [f"Q0{i}" for i in range(1, 6)]
    + [f"L0{i}" for i in range(1, 6)]
    + [f"B0{i}" for i in range(1, 4)]
    + [f"P0{i}" for i in range(1, 7)]
    + ["F01", "F02"]
    + [f"D0{i}" for i in range(1, 6)]
)

# Level-3 scoring methods and the parameters each takes: name -> (kind, required, default).
# kind "num" is a number >= 0; "measure" names one of measures.MEASURES.
METHODS: dict[str, dict[str, tuple[str, bool, Any]]] = {
    "given": {"scores_key": ("text", False, None)},
    "given_rescaled": {"scores_key": ("text", False, None), "scale": ("num", False, 100.0)},
    "given_capped": {"scores_key": ("text", False, None)},
    "deduction": {},
    "threshold": {
        "measure": ("measure", True, None),
        "full_up_to": ("num", True, None),
        "deduct_per_unit": ("num", True, None),
    },
    "peer_ratio": {
        "measure": ("measure", True, None),
        "zero_below": ("num", True, None),
        "full_from": ("num", True, None),
        "full_to": ("num", True, None),
        "zero_above": ("num", True, None),
    },
    "survey": {},
}
GIVEN_METHODS = ("given", "given_rescaled", "given_capped")
DEDUCT_PER = ("finding", "magnitude")

MODEL_KEYS = {"id": True, "title": True, "description": False, "grades": True, "dimensions": True}
GRADE_KEYS = {"thresholds": True, "veto": True, "a_share_cap": True}
DIMENSION_KEYS = {"id": True, "title": True, "weight": True, "items": True}
ITEM_KEYS = {"id": True, "title": True, "points": True, "indicators": True}
INDICATOR_KEYS = {
    "id": True,
    "title": True,
    "max": True,
    "method": True,
    "parameters": False,
    "deductions": False,
    "description": True,
}
DEDUCTION_KEYS = {"rules": True, "per": True, "amount": True}
ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Deduction:
    """Deduct `amount` per finding (or per unit of its magnitude) of any of `rules`."""

    rules: tuple[str, ...]
    per: str  # "finding" | "magnitude"
    amount: float


@dataclass(frozen=True)
class Indicator:
    """A level-3 indicator: how many points, and how they are scored."""

    id: str
    title: dict[str, str]
    max: float
    method: str
    parameters: dict[str, Any]
    deductions: tuple[Deduction, ...]
    description: dict[str, str]
    item: str  # level-2 id
    dimension: str  # level-1 id


@dataclass(frozen=True)
class Item:
    """A level-2 item: points shared by its indicators."""

    id: str
    title: dict[str, str]
    points: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Dimension:
    """A level-1 dimension: a weight out of 100 shared by its items."""

    id: str
    title: dict[str, str]
    weight: float
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Grades:
    """Grade thresholds (A, B; C below), veto rules and the A-share cap."""

    a: float
    b: float
    veto: tuple[str, ...]
    a_share_cap: float


@dataclass
class Model:
    """A validated evaluation model."""

    id: str
    title: dict[str, str]
    dimensions: tuple[Dimension, ...]
    grades: Grades
    file: str
    indicators: tuple[Indicator, ...] = field(init=False)
    # rule id -> (index into indicators, the deduction that names it)
    deduction_of_rule: dict[str, tuple[int, Deduction]] = field(init=False)

    def __post_init__(self) -> None:
        self.indicators = tuple(
            ind for dim in self.dimensions for item in dim.items for ind in item.indicators
        )
        self.deduction_of_rule = {}
        for i, ind in enumerate(self.indicators):
            for d in ind.deductions:
                for rule in d.rules:
                    self.deduction_of_rule[rule] = (i, d)

    def indicator(self, indicator_id: str) -> Indicator:
        """The level-3 indicator with this id (KeyError when there is none)."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)

    def given_keys(self) -> dict[str, int]:
        """Key in the scores table -> index of the indicator with a given-score method."""
        return {
            (ind.parameters.get("scores_key") or ind.id): i
            for i, ind in enumerate(self.indicators)
            if ind.method in GIVEN_METHODS
        }


class _ModelReader:
    """Validates a model document, collecting every problem with the file and key path."""

    def __init__(self, display: str, known_rules: set[str], problems: ProblemCollector) -> None:
        self.display, self.known_rules, self.problems = display, known_rules, problems
        self.rule_owner: dict[str, str] = {}

    def fail(self, key: str, message: str) -> None:
        self.problems.add(Problem(file=self.display, column=key, message=message))

    def keys(self, doc: Any, allowed: dict[str, bool], path: str, what: str) -> bool:
        """Check a mapping's keys; False when it is not a mapping at all."""
        if not isinstance(doc, dict):
            self.fail(path or "-", f"{what} must be a mapping of keys")
            return False
        prefix = f"{path}." if path else ""
        for key in doc:
            if key not in allowed:
                self.fail(f"{prefix}{key}", f"unknown key {key!r} (allowed: {', '.join(allowed)})")
        for key, required in allowed.items():
            if required and key not in doc:
                self.fail(f"{prefix}{key}", f"missing required key {key!r} of {what}")
        return True

    def bilingual(self, doc: dict, key: str, path: str) -> dict[str, str]:
        value = doc.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            return {}
        if not isinstance(value, dict) or set(value) != set(LANGS):
            self.fail(where, f"{key} must have exactly the keys zh and en")
            return {}
        for lang in LANGS:
            if not isinstance(value[lang], str) or not value[lang].strip():
                self.fail(f"{where}.{lang}", f"{key}.{lang} must be non-empty text")
                return {}
        return {lang: " ".join(value[lang].split()) for lang in LANGS}

    def number(
        self, doc: dict, key: str, path: str, *, positive: bool = False, default: Any = None
    ) -> float | None:
        value = doc.get(key, default)
        where = f"{path}.{key}" if path else key
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, f"{key} must be a number, got {value!r}")
            return None
        if value < 0 or (positive and value == 0):
            self.fail(
                where, f"{key} must be {'positive' if positive else 'at least 0'}, got {value}"
            )
            return None
        return float(value)

    def ident(self, doc: dict, path: str, seen: set[str], what: str) -> str | None:
        value = doc.get("id")
        if not isinstance(value, str) or not ID.match(value):
            self.fail(
                f"{path}.id", f"{what} id must be lower_case letters, digits, _; got {value!r}"
            )
            return None
        if value in seen:
            self.fail(f"{path}.id", f"{what} id {value!r} is used twice")
            return None
        seen.add(value)
        return value

    def rule_ids(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not value:
            self.fail(where, "must be a non-empty list of rule ids")
            return []
        out = []
        for rid in value:
            if not isinstance(rid, str) or not RULE_ID.match(rid):
                self.fail(where, f"{rid!r} is not a rule id")
            elif rid not in self.known_rules:
                self.fail(where, f"unknown rule {rid} (not loaded and not in the catalogue)")
            elif rid in out:
                self.fail(where, f"rule {rid} is listed twice")
            else:
                out.append(rid)
        return out

    # --- the document -------------------------------------------------------------------------

    def read(self, doc: Any) -> Model | None:
        before = self._count()
        if not self.keys(doc, MODEL_KEYS, "", "a model file"):
            return None
        model_id = doc.get("id")
        if not isinstance(model_id, str) or not model_id.strip():
            self.fail("id", "id must name the model")
        title = self.bilingual(doc, "title", "")
        self.bilingual(doc, "description", "")
        grades = self._grades(doc.get("grades"))
        dims_raw = doc.get("dimensions")
        dimensions: list[Dimension] = []
        if not isinstance(dims_raw, list) or not dims_raw:
            self.fail("dimensions", "dimensions must be a non-empty list of level-1 dimensions")
            dims_raw = []
        seen: dict[str, set[str]] = {"dimension": set(), "item": set(), "indicator": set()}
        for i, raw in enumerate(dims_raw):
            dim = self._dimension(raw, i, seen)
            if dim is not None:
                dimensions.append(dim)
        if dimensions and len(dimensions) == len(dims_raw):
            total = sum(d.weight for d in dimensions)
            if abs(total - 100) > TOLERANCE:
                self.fail("dimensions", f"level-1 weights sum to {total:g}, not 100")
        if self._count() > before or grades is None:
            return None
        return Model(str(model_id).strip(), title, tuple(dimensions), grades, self.display)

    def _count(self) -> int:
        return len(self.problems.problems) + self.problems.truncated

    def _grades(self, raw: Any) -> Grades | None:
        if not self.keys(raw, GRADE_KEYS, "grades", "grades"):
            return None
        ok = True
        th = raw.get("thresholds")
        a = b = None
        if not isinstance(th, dict) or set(th) != {"A", "B"}:
            self.fail("grades.thresholds", "thresholds must be {A: score, B: score} (C is below B)")
            ok = False
        else:
            a = self.number(th, "A", "grades.thresholds", positive=True)
            b = self.number(th, "B", "grades.thresholds", positive=True)
            if a is None or b is None:
                ok = False
            elif not b < a <= 100:
                self.fail("grades.thresholds", f"need 0 < B < A <= 100, got A {a:g}, B {b:g}")
                ok = False
        veto_raw = raw.get("veto")
        veto: list[str] = []
        if veto_raw is not None and veto_raw != []:
            veto = self.rule_ids(veto_raw, "grades.veto")
        elif veto_raw is None and "veto" in raw:
            self.fail("grades.veto", "veto must be a list of rule ids ([] for none)")
        cap = self.number(raw, "a_share_cap", "grades", positive=True)
        if cap is not None and cap > 1:
            self.fail("grades.a_share_cap", f"a_share_cap is a share in (0, 1], got {cap:g}")
            ok = False
        if not ok or cap is None or a is None or b is None:
            return None
        return Grades(a, b, tuple(veto), cap)

    def _dimension(self, raw: Any, i: int, seen: dict[str, set[str]]) -> Dimension | None:
        path = _path("dimensions", i, raw)
        if not self.keys(raw, DIMENSION_KEYS, path, "a level-1 dimension"):
            return None
        did = self.ident(raw, path, seen["dimension"], "dimension")
        title = self.bilingual(raw, "title", path)
        weight = self.number(raw, "weight", path, positive=True)
        items_raw = raw.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            self.fail(f"{path}.items", "items must be a non-empty list of level-2 items")
            items_raw = []
        items = [self._item(r, j, path, did or "", seen) for j, r in enumerate(items_raw)]
        if did is None or weight is None:
            return None
        good = [it for it in items if it is not None]
        total = sum(it.points for it in good)
        if len(good) == len(items) and abs(total - weight) > TOLERANCE:
            self.fail(
                f"{path}.items",
                f"level-2 points of {did} sum to {total:g}, not its weight {weight:g}",
            )
        # Returned even when something inside is wrong, so that the level-1 sum is checked too;
        # the model as a whole is rejected whenever any problem was found.
        return Dimension(did, title, weight, tuple(good))

    def _item(
        self, raw: Any, j: int, parent: str, dim_id: str, seen: dict[str, set[str]]
    ) -> Item | None:
        path = _path(f"{parent}.items", j, raw)
        if not self.keys(raw, ITEM_KEYS, path, "a level-2 item"):
            return None
        iid = self.ident(raw, path, seen["item"], "item")
        title = self.bilingual(raw, "title", path)
        points = self.number(raw, "points", path, positive=True)
        inds_raw = raw.get("indicators")
        if not isinstance(inds_raw, list) or not inds_raw:
            self.fail(
                f"{path}.indicators", "indicators must be a non-empty list of level-3 indicators"
            )
            inds_raw = []
        inds = [
            self._indicator(r, k, path, iid or "", dim_id, seen) for k, r in enumerate(inds_raw)
        ]
        if iid is None or points is None:
            return None
        good = [x for x in inds if x is not None]
        total = sum(x.max for x in good)
        if len(good) == len(inds) and abs(total - points) > TOLERANCE:
            self.fail(
                f"{path}.indicators",
                f"level-3 maxima of {iid} sum to {total:g}, not its points {points:g}",
            )
        return Item(iid, title, points, tuple(good))

    def _indicator(
        self, raw: Any, k: int, parent: str, item_id: str, dim_id: str, seen: dict[str, set[str]]
    ) -> Indicator | None:
        from .measures import MEASURES

        path = _path(f"{parent}.indicators", k, raw)
        if not self.keys(raw, INDICATOR_KEYS, path, "a level-3 indicator"):
            return None
        before = self._count()
        xid = self.ident(raw, path, seen["indicator"], "indicator")
        title = self.bilingual(raw, "title", path)
        description = self.bilingual(raw, "description", path)
        maximum = self.number(raw, "max", path, positive=True)
        method = raw.get("method")
        params: dict[str, Any] = {}
        if method not in METHODS:
            self.fail(f"{path}.method", f"unknown method {method!r} (known: {', '.join(METHODS)})")
        else:
            spec = METHODS[method]
            praw = raw.get("parameters", {})
            if praw is None:
                praw = {}
            if not isinstance(praw, dict):
                self.fail(f"{path}.parameters", "parameters must be a mapping")
                praw = {}
            ppath = f"{path}.parameters"
            for name in praw:
                if name not in spec:
                    allowed = ", ".join(spec) or "none"
                    self.fail(
                        f"{ppath}.{name}",
                        f"method {method} has no parameter {name!r} (allowed: {allowed})",
                    )
            for name, (kind, required, default) in spec.items():
                if name not in praw:
                    if required:
                        self.fail(f"{ppath}.{name}", f"method {method} needs parameter {name!r}")
                    elif default is not None:
                        params[name] = default
                    continue
                value = praw[name]
                if kind == "num":
                    num = self.number(praw, name, ppath)
                    if num is not None:
                        params[name] = num
                elif kind == "measure":
                    if value not in MEASURES:
                        self.fail(
                            f"{ppath}.{name}",
                            f"unknown measure {value!r} (known: {', '.join(MEASURES)})",
                        )
                    else:
                        params[name] = value
                elif not isinstance(value, str) or not value.strip():
                    self.fail(f"{ppath}.{name}", f"{name} must be non-empty text")
                else:
                    params[name] = value.strip()
            if method == "peer_ratio" and len(params) == len(spec):
                points = [params[n] for n in ("zero_below", "full_from", "full_to", "zero_above")]
                if not (points[0] < points[1] <= points[2] < points[3]):
                    self.fail(
                        ppath,
                        "need zero_below < full_from <= full_to < zero_above, got "
                        + ", ".join(f"{p:g}" for p in points),
                    )
            if method == "given_rescaled" and params.get("scale") == 0:
                self.fail(f"{ppath}.scale", "scale must be positive")
        deductions = self._deductions(raw.get("deductions"), f"{path}.deductions", xid or "?")
        if method == "deduction" and not deductions and "deductions" not in raw:
            self.fail(f"{path}.deductions", "method deduction needs a deductions list")
        if self._count() > before or xid is None or maximum is None:
            return None
        return Indicator(
            xid,
            title,
            maximum,
            method,
            params,
            tuple(deductions),
            description,
            item_id,
            dim_id,
        )

    def _deductions(self, raw: Any, path: str, ind_id: str) -> list[Deduction]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not raw:
            self.fail(path, "deductions must be a non-empty list of {rules, per, amount}")
            return []
        out = []
        for n, d in enumerate(raw):
            where = f"{path}[{n}]"
            if not self.keys(d, DEDUCTION_KEYS, where, "a deduction"):
                continue
            before = self._count()
            rules = self.rule_ids(d.get("rules"), f"{where}.rules")
            per = d.get("per")
            if per not in DEDUCT_PER:
                self.fail(f"{where}.per", f"per must be finding or magnitude, got {per!r}")
            amount = self.number(d, "amount", where)
            for rid in rules:
                if rid in self.rule_owner:
                    self.fail(
                        f"{where}.rules",
                        f"rule {rid} already deducts in indicator {self.rule_owner[rid]}",
                    )
                else:
                    self.rule_owner[rid] = ind_id
            if self._count() == before and amount is not None:
                out.append(Deduction(tuple(rules), per, amount))
        return out


def _path(base: str, index: int, raw: Any) -> str:
    """dimensions[staffing_use] when the entry has a usable id, else dimensions[2]."""
    rid = raw.get("id") if isinstance(raw, dict) else None
    return f"{base}[{rid}]" if isinstance(rid, str) and ID.match(rid) else f"{base}[{index}]"


def load_model(path: Path | None, rules: list[Rule]) -> Model:
    """Load and validate a model file (None: the default model); raise InputError on problems.

    Rule ids in deductions and veto must be among the loaded rules or the built-in catalogue.
    """
    path = DEFAULT_MODEL if path is None else Path(path)
    display = display_path(path)
    doc = load_yaml_file(path, display)
    problems = ProblemCollector()
    known = {r.id for r in rules} | CATALOGUE_IDS
    model = _ModelReader(display, known, problems).read(doc)
    problems.raise_if_any()
    if model is None:  # pragma: no cover - every None path records a problem
        raise InputError([Problem(file=display, message="invalid model")])
    return model
