"""Hardened adapter around durable-rules 2.0.28, driving its C module directly.

The lead's compiler hands us rules as durable-rules JSON antecedents; we hand back which facts
(or fact combinations, for joins) match which rule. No Python action ever runs inside the engine.
Every trap listed in ``/work/shared/notes/durable-rules.md`` is closed here, plus three found while
reading the C source (``src/rules/events.c``):

* a beta-level ``$and`` whose last test is false makes ``reduceExpressionSequence`` run past the
  end of its expression array (random crash);
* any test that follows a nested ``$and``/``$or`` group inside a cross-pattern condition is
  silently skipped;
* a session in which no action was ever started frees uninitialised pointers on ``delete_state``.

Conventions the rule compiler must follow:

* Rules: ``{name: {"all": [{pattern: expr}, ...]}}`` or ``{"any": [...]}``; ``expr`` is ``$and``,
  ``$or`` or a comparison (``{field: rvalue}`` for equality, ``$eq $neq $lt $lte $gt $gte``);
  an rvalue is a constant (str, int, float, bool), ``{"$m": field}`` (same fact),
  ``{pattern: field}`` (an earlier pattern of an ``all`` rule) or ``$add $sub $mul $div`` with
  ``$l``/``$r``. Anything else (``$ex $nex $mt $imt $iall $iany``, ``$not``, ``pri``...) is refused.
* The type field (``type_field``, default ``TYPE_FIELD`` = ``"_fact"``, as evaluate.py writes it):
  a pattern whose conjunction tests ``_fact == "x"`` only needs the fields of facts whose ``_fact``
  is ``"x"``; when the rules use the type field, every fact must carry it as a string.
* Missing values: a fact field may be ``None`` only where the rules also use ``field + NULL_SUFFIX``
  (``f__null``); the adapter sends ``f`` as a placeholder and ``f__null`` as true (1) or false (0).
  The compiler guards every test on a nullable ``f`` with ``f__null == 0`` (or ``== False``).
* ``id`` and ``sid`` are reserved; numbers are sent as doubles (7 / 2 == 3.5, x / 0 is ±inf or NaN,
  never a crash); bools are sent as 1.0 / 0.0; string ordering tests are refused.

Limits: 15 patterns per rule, 64 alternatives once ``$or`` is expanded, 200 fields per fact type.
A fact never fills two patterns of one rule (durable's ``dist``). Rules with joins see the whole
batch in one session, about 9 KB of C memory per fact: evaluate joins per unit or request group.
"""

from __future__ import annotations

import itertools
import json
import json.encoder
import locale
import math
import numbers
import re
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import durable_rules_engine as _dr

__all__ = [
    "MAX_FIELDS",
    "NULL_SUFFIX",
    "TYPE_FIELD",
    "EngineError",
    "Match",
    "RuleSet",
    "fnv1a_32",
    "format_number",
    "null_flag",
]

NULL_SUFFIX = "__null"
TYPE_FIELD = "_fact"
RESERVED_FIELDS = frozenset({"id", "sid"})

# The C object holds at most 254 properties and fails silently beyond; we send only the fields the
# rules reference (plus id, sid and a marker), so this bounds what one fact type may need.
MAX_FIELDS = 200
# A join frame holds 16 facts (MAX_MESSAGE_FRAMES).
MAX_PATTERNS = 15
# A pattern's cross-pattern tests share 32 expression slots with $and, the end mark and our guard.
MAX_JOIN_TESTS = 28
# DNF expansion of one rule's $or groups; each disjunct becomes one engine rule.
MAX_DISJUNCTS = 64
# handleAlpha keeps pending alpha nodes on a 64-slot stack: more than ~64 patterns matching one fact
# at one level fails with error 303, so rules are spread over several engine rulesets.
PATTERNS_PER_ENGINE = 48
# Each stored fact costs ~9 KB in C and is found through a 512-bucket index: sessions without joins
# take the batch in slices so that memory stays bounded and time linear.
SESSION_FACTS = 1000
DEFAULT_MAX_MATCHES = 5_000_000
# Numbers travel as doubles: beyond 2**53 integers stop being exact.
MAX_EXACT_INT = 2**53
# reduceString takes unsigned short lengths.
MAX_STRING_BYTES = 60_000

# Serialises every call into the C module, which is not thread-safe. Re-entrant because a
# RuleSet's finalizer (delete_ruleset) can run from garbage collection inside a locked section.
_LOCK = threading.RLock()
_NAME_COUNTER = itertools.count(1)
_SID_COUNTER = itertools.count(1)

_COMPARISONS = frozenset({"$eq", "$neq", "$lt", "$lte", "$gt", "$gte"})
_ORDERING = frozenset({"$lt", "$lte", "$gt", "$gte"})
_ARITHMETIC = frozenset({"$add", "$sub", "$mul", "$div"})
_REFUSED = {
    "$ex": "a field that may be absent: every fact carries every field the rules use; "
    "test the f__null flag instead",
    "$nex": "a field that may be absent: it also matches the engine's own state fact and "
    "fires forever; test the f__null flag instead",
    "$mt": "regular expressions (durable-rules uses a Lua-like dialect)",
    "$imt": "regular expressions (durable-rules uses a Lua-like dialect)",
    "$iall": "arrays",
    "$iany": "arrays",
    "$s": "the engine's state fact",
    "$i": "arrays",
}
# Keys the C parser recognises by their 32-bit hash: none of our generated names may collide.
_ENGINE_WORDS = (
    "id", "sid", "$s", "$m", "$l", "$r", "$i", "$forward", "all", "any", "pri", "count", "cap",
    "dist", "name", "$lt", "$lte", "$gt", "$gte", "$eq", "$neq", "$mt", "$imt", "$iall", "$iany",
    "$ex", "$nex", "$or", "$and", "$add", "$sub", "$mul", "$div",
)  # fmt: skip

_PATTERN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ACTION_RE = re.compile(r'^\{"([^"]+)":')
_FRAME_RE = re.compile(r'"(p\d+)":\{"id":"([^"]*)"')
_FACT_ID_RE = re.compile(r'\{"id":"([^"]*)"')
_STORE_RULE = "all_"
_MARKER = "_m"
# The C string encoder behind json.dumps(..., ensure_ascii=False): durable compares raw JSON text,
# so rules and facts must escape identically, and \uXXXX escapes would break Chinese equality.
_encode_str = json.encoder.encode_basestring


class EngineError(RuntimeError):
    """durable-rules reported an error or misbehaved (dropped a fact, runaway matching)."""


@dataclass(frozen=True)
class Match:
    """One firing: the rule and, per pattern name, the caller's own fact object."""

    rule: str
    facts: dict[str, dict]


def null_flag(field: str) -> str:
    """Return the name of the flag field that tells whether ``field`` is None."""
    return field + NULL_SUFFIX


def fnv1a_32(text: str) -> int:
    """Return durable-rules' 32-bit FNV-1a hash of ``text`` (ids, sids and names are keyed by it)."""
    h = 0x811C9DC5
    for byte in text.encode():
        # The C code xors a signed char: bytes >= 0x80 are sign-extended.
        h ^= byte if byte < 0x80 else (byte | 0xFFFFFF00)
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def format_number(value: float) -> str:
    """Return ``value`` as a JSON double without exponent that reads back to the same float."""
    if isinstance(value, int) and not -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
        raise ValueError(f"integer {value} is beyond 2**53 and would not survive as a double")
    text = repr(float(value))
    if "e" in text or "n" in text:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        # durable's JSON parser stops at an exponent and silently drops the rest of the batch.
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


# ----------------------------------------------------------------------------------- rule parsing


@dataclass(frozen=True)
class _Const:
    value: str | float
    kind: str  # "str" | "num" | "bool"


@dataclass(frozen=True)
class _Ref:
    slot: int | None  # None: the fact under test ($m)
    field: str


@dataclass(frozen=True)
class _Arith:
    op: str
    left: _Const | _Ref | _Arith
    right: _Const | _Ref | _Arith


@dataclass(frozen=True)
class _Cmp:
    op: str
    field: str
    value: _Const | _Ref | _Arith


@dataclass(frozen=True)
class _Group:
    op: str  # "$and" | "$or"
    items: tuple[Any, ...]


def _check_field(field: object, where: str) -> str:
    if not isinstance(field, str) or not field:
        raise ValueError(f"{where}: field names must be non-empty strings, got {field!r}")
    if field in RESERVED_FIELDS:
        raise ValueError(f"{where}: {field!r} is reserved by durable-rules (the adapter sets it)")
    if field.startswith("$"):
        raise ValueError(f"{where}: unknown operator {field!r}")
    return field


def _single(obj: object, where: str) -> tuple[str, Any]:
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError(f"{where}: expected an object with exactly one key, got {obj!r}")
    return next(iter(obj.items()))


class _RuleParser:
    """Turns one rule's durable JSON into a tree of _Group/_Cmp, refusing unsafe constructs."""

    def __init__(self, rule: str, type_field: str) -> None:
        self.rule = rule
        self.type_field = type_field
        self.slots: dict[str, int] = {}

    def parse(self, body: object) -> tuple[str, list[tuple[str, Any]]]:
        where = f"rule {self.rule!r}"
        kind, patterns = _single(body, where)
        if kind not in ("all", "any"):
            raise ValueError(f"{where}: expected 'all' or 'any', got {kind!r}")
        if not isinstance(patterns, list) or not patterns:
            raise ValueError(f"{where}: {kind!r} needs a non-empty list of patterns")
        if len(patterns) > MAX_PATTERNS:
            raise ValueError(f"{where}: more than {MAX_PATTERNS} patterns")
        parsed = []
        for pattern in patterns:
            name, expr = _single(pattern, where)
            if not isinstance(name, str) or not _PATTERN_NAME.match(name):
                raise ValueError(f"{where}: pattern name {name!r} must be an identifier")
            if name in self.slots or name in {n for n, _ in parsed}:
                raise ValueError(f"{where}: pattern name {name!r} is used twice")
            tree = self._expr(expr, f"{where}, pattern {name!r}")
            parsed.append((name, tree))
            if kind == "all":
                # Only earlier patterns of an 'all' can be referenced.
                self.slots[name] = len(self.slots)
        return kind, parsed

    def _expr(self, obj: object, where: str) -> Any:
        key, value = _single(obj, where)
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise ValueError(f"{where}: {key} needs a non-empty list")
            return _Group(key, tuple(self._expr(item, where) for item in value))
        if key in _REFUSED:
            raise ValueError(f"{where}: {key} is not supported ({_REFUSED[key]})")
        if key in _COMPARISONS:
            field, rvalue = _single(value, f"{where}, {key}")
            op = key
        else:
            field, rvalue, op = key, value, "$eq"
        _check_field(field, where)
        rv = self._rvalue(rvalue, f"{where}, field {field!r}")
        if field == self.type_field and not (isinstance(rv, _Const) and rv.kind == "str"):
            raise ValueError(f"{where}: {field!r} can only be compared with a string")
        return _Cmp(op, field, rv)

    def _rvalue(self, obj: object, where: str) -> _Const | _Ref | _Arith:
        if isinstance(obj, bool):
            return _Const(1.0 if obj else 0.0, "bool")
        if isinstance(obj, (int, float)):
            format_number(obj)  # range and finiteness
            return _Const(float(obj), "num")
        if isinstance(obj, str):
            return _Const(obj, "str")
        if obj is None:
            raise ValueError(f"{where}: compare with the {NULL_SUFFIX} flag instead of null")
        key, value = _single(obj, where)
        if key == "$m":
            return _Ref(None, _check_field(value, where))
        if key in _ARITHMETIC:
            if not isinstance(value, dict) or set(value) != {"$l", "$r"}:
                raise ValueError(f"{where}: {key} needs exactly '$l' and '$r'")
            node = _Arith(key, self._rvalue(value["$l"], where), self._rvalue(value["$r"], where))
            slots = {ref.slot for ref in _refs(node)}
            if not slots:
                raise ValueError(f"{where}: {key} uses no field")
            if None in slots and len(slots) > 1:
                raise ValueError(f"{where}: {key} cannot mix $m and other patterns")
            if any(isinstance(c, _Const) and c.kind != "num" for c in _consts(node)):
                raise ValueError(f"{where}: {key} needs numbers")
            return node
        if key in _REFUSED:
            raise ValueError(f"{where}: {key} is not supported ({_REFUSED[key]})")
        if key in self.slots:
            return _Ref(self.slots[key], _check_field(value, where))
        raise ValueError(f"{where}: {key!r} is neither an operator nor an earlier pattern")


def _refs(node: Any) -> Iterable[_Ref]:
    if isinstance(node, _Ref):
        yield node
    elif isinstance(node, _Arith):
        yield from _refs(node.left)
        yield from _refs(node.right)
    elif isinstance(node, _Cmp):
        yield from _refs(node.value)


def _consts(node: Any) -> Iterable[_Const]:
    if isinstance(node, _Const):
        yield node
    elif isinstance(node, _Arith):
        yield from _consts(node.left)
        yield from _consts(node.right)


def _dnf(node: Any, where: str) -> list[tuple[_Cmp, ...]]:
    """Flatten and/or trees: durable mis-evaluates nested groups in join conditions."""
    if isinstance(node, _Cmp):
        return [(node,)]
    parts = [_dnf(item, where) for item in node.items]
    if node.op == "$or":
        out = [conj for part in parts for conj in part]
    else:
        out = [()]
        for part in parts:
            out = [a + b for a in out for b in part]
            if len(out) > MAX_DISJUNCTS:
                break
    if len(out) > MAX_DISJUNCTS:
        raise ValueError(f"{where}: more than {MAX_DISJUNCTS} alternatives once $or is expanded")
    return list(dict.fromkeys(tuple(dict.fromkeys(conj)) for conj in out))


def _conj_type(conj: Sequence[_Cmp], type_field: str) -> str | None:
    for cmp in conj:
        if cmp.field == type_field and cmp.op == "$eq":
            return cmp.value.value  # type: ignore[union-attr]
    return None


# --------------------------------------------------------------------------------- type inference


_SCHEMA_KINDS = {str: "str", int: "num", float: "num", bool: "bool"}
_PLACEHOLDER = {"str": '""', "num": "0.0", "bool": "0.0", None: "0.0"}


class _Kinds:
    """Union-find of fields that are compared with each other, each group with one kind."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.kind: dict[str, str] = {}
        self.ordered: set[str] = set()

    def find(self, field: str) -> str:
        self.parent.setdefault(field, field)
        while self.parent[field] != field:
            self.parent[field] = self.parent[self.parent[field]]
            field = self.parent[field]
        return field

    def set(self, field: str, kind: str, where: str) -> None:
        root = self.find(field)
        have = self.kind.get(root)
        if have is None:
            self.kind[root] = kind
        elif have != kind:
            raise ValueError(f"{where}: {field!r} is {have} but is compared with a {kind}")

    def union(self, a: str, b: str, where: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ka, kb = self.kind.get(ra), self.kind.get(rb)
        if ka and kb and ka != kb:
            raise ValueError(f"{where}: {a!r} ({ka}) is compared with {b!r} ({kb})")
        self.parent[rb] = ra
        if kb:
            self.kind[ra] = kb
        if rb in self.ordered:
            self.ordered.add(ra)


def _infer_kinds(
    tests: list[tuple[_Cmp, str]],
    flags: set[str],
    schema: Mapping[str, type] | None,
    type_field: str,
) -> _Kinds:
    kinds = _Kinds()
    kinds.set(type_field, "str", "type field")
    for flag in flags:
        kinds.set(flag, "bool", "null flag")
    if schema is not None:
        for field, typ in schema.items():
            if typ not in _SCHEMA_KINDS:
                raise ValueError(f"field_types[{field!r}] must be str, int, float or bool")
            kinds.set(field, _SCHEMA_KINDS[typ], "field_types")
    soft: list[tuple[str, str]] = []
    for cmp, where in tests:
        kinds.find(cmp.field)
        for ref in _refs(cmp):
            kinds.find(ref.field)
        if cmp.op in _ORDERING:
            kinds.ordered.add(kinds.find(cmp.field))
        value = cmp.value
        if isinstance(value, _Arith):
            kinds.set(cmp.field, "num", where)
            for ref in _refs(value):
                kinds.set(ref.field, "num", where)
        elif isinstance(value, _Ref):
            kinds.union(cmp.field, value.field, where)
        elif value.kind == "num" and value.value in (0.0, 1.0):
            soft.append((cmp.field, where))  # 0 / 1 also stand for False / True
        else:
            kinds.set(cmp.field, value.kind, where)
    for field, where in soft:
        if kinds.kind.get(kinds.find(field)) not in ("bool", "num"):
            kinds.set(field, "num", where)
    kinds.ordered = {kinds.find(root) for root in kinds.ordered}
    for root in kinds.ordered:
        if kinds.kind.get(root) == "str":
            raise ValueError(
                f"{root!r} is a string in an ordering test ($lt/$lte/$gt/$gte): durable-rules "
                "orders strings wrongly when one is a prefix of the other; compare numbers"
            )
    if schema is not None:
        missing = sorted(f for f in kinds.parent if f not in schema and f not in flags)
        missing = [f for f in missing if f != type_field]
        if missing:
            raise ValueError(f"field_types has no entry for {', '.join(map(repr, missing))}")
    return kinds


# --------------------------------------------------------------------------------- engine rules


@dataclass(frozen=True)
class _EngineRule:
    rule: int  # index of the caller's rule
    names: tuple[str, ...]  # caller's pattern names, per slot
    conjs: tuple[tuple[_Cmp, ...], ...]
    types: tuple[str | None, ...]


class _NameAllocator:
    """Hands out short names whose FNV hashes collide with nothing else the engine keys on."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.used = {fnv1a_32(word) for word in _ENGINE_WORDS}
        self.count = 0

    def reserve(self, name: str) -> str:
        h = fnv1a_32(name)
        if h in self.used:
            raise AssertionError(f"internal name {name!r} collides")  # pragma: no cover
        self.used.add(h)
        return name

    def next(self) -> str:
        while True:
            name = f"{self.prefix}{self.count}"
            self.count += 1
            h = fnv1a_32(name)
            if h not in self.used:
                self.used.add(h)
                return name


def _json_value(node: Any, keys: Mapping[str, str], slots: Sequence[str]) -> str:
    if isinstance(node, _Const):
        return _encode_str(node.value) if node.kind == "str" else format_number(node.value)
    if isinstance(node, _Ref):
        owner = "$m" if node.slot is None else slots[node.slot]
        return f'{{"{owner}":"{keys[node.field]}"}}'
    left = _json_value(node.left, keys, slots)
    right = _json_value(node.right, keys, slots)
    return f'{{"{node.op}":{{"$l":{left},"$r":{right}}}}}'


def _json_test(cmp: _Cmp, keys: Mapping[str, str], slots: Sequence[str]) -> str:
    inner = f'{{"{keys[cmp.field]}":{_json_value(cmp.value, keys, slots)}}}'
    return inner if cmp.op == "$eq" else f'{{"{cmp.op}":{inner}}}'


def _is_join_test(cmp: _Cmp) -> bool:
    # Tests on other patterns run in durable's beta network, the rest in its alpha network.
    return any(ref.slot is not None for ref in _refs(cmp))


def _json_rule(
    rule: _EngineRule, keys: Mapping[str, str], slots: Sequence[str], type_field: str
) -> str:
    patterns = []
    for slot, conj in enumerate(rule.conjs):
        # The type test first prunes other types' facts; join tests last (see the guard below).
        ordered = sorted(conj, key=lambda c: (c.field != type_field, _is_join_test(c)))
        tests = [_json_test(c, keys, slots) for c in ordered]
        if any(_is_join_test(c) for c in conj):
            # An always-true last test: a false last join test overruns the expression array.
            tests.append(f'{{"$lte":{{"{_MARKER}":{{"{slots[0]}":"{_MARKER}"}}}}}}')
        patterns.append(f'{{"{slots[slot]}":{{"$and":[{",".join(tests)}]}}}}')
    return f'{{"all":[{",".join(patterns)}]}}'


class _Engine:
    """One C ruleset holding a slice of the engine rules, plus the store-everything rule."""

    def __init__(
        self, handle: int, rules: list[_EngineRule], names: list[str], definition: str
    ) -> None:
        self.handle = handle
        self.definition = definition  # the JSON given to create_ruleset, for diagnosis
        self.rule_by_name = dict(zip(names, rules, strict=True))
        types = {t for rule in rules for t in rule.types}
        # None: some pattern accepts every type, so every fact goes to this engine.
        self.types: frozenset[str] | None = None if None in types else frozenset(types)
        self.joins = any(len(rule.conjs) > 1 for rule in rules)


# ------------------------------------------------------------------------------------ fact ids


class _IdPool:
    """Fact ids 0..n-1 whose 32-bit hashes are pairwise distinct, extended on demand."""

    def __init__(self, candidates: Iterable[str] | None = None) -> None:
        self.candidates = iter(candidates) if candidates is not None else self._default()
        self.ids: list[str] = []
        self.hashes: dict[int, int] = {}  # hash -> index
        self.index: dict[str, int] = {}

    @staticmethod
    def _default() -> Iterable[str]:
        for n in itertools.count():
            yield format(n, "x")

    def take(self, n: int) -> list[str]:
        while len(self.ids) < n:
            candidate = next(self.candidates)
            h = fnv1a_32(candidate)
            if h in self.hashes or candidate in self.index:
                continue  # colliding ids make the engine drop a fact silently
            self.hashes[h] = len(self.ids)
            self.index[candidate] = len(self.ids)
            self.ids.append(candidate)
        return self.ids[:n]

    def collides(self, text: str, n: int) -> bool:
        """Whether ``text`` hashes like one of the first ``n`` ids."""
        return self.hashes.get(fnv1a_32(text), n) < n


_IDS = _IdPool()


def _new_sid(n: int) -> str:
    # The engine stores each session's state fact under id "sid-<sid>" next to the facts.
    while True:
        sid = f"s{next(_SID_COUNTER)}"
        if not _IDS.collides("sid-" + sid, n):
            return sid


# ---------------------------------------------------------------------------------------- API


def _expand(
    rule_ix: int, rule_name: str, body: object, tests: list[tuple[_Cmp, str]], type_field: str
) -> list[_EngineRule]:
    """Parse one caller rule into engine rules with flat conjunctions; collect its tests."""
    kind, patterns = _RuleParser(rule_name, type_field).parse(body)
    dnfs = []
    for pname, tree in patterns:
        where = f"rule {rule_name!r}, pattern {pname!r}"
        dnfs.append(_dnf(tree, where))
        tests.extend((cmp, where) for conj in dnfs[-1] for cmp in conj)
    if kind == "all":
        names = tuple(p for p, _ in patterns)
        product = itertools.islice(itertools.product(*dnfs), MAX_DISJUNCTS + 1)
        combos = [(names, conjs) for conjs in product]
    else:
        combos = [((p,), (c,)) for (p, _), d in zip(patterns, dnfs, strict=True) for c in d]
    if len(combos) > MAX_DISJUNCTS:
        raise ValueError(
            f"rule {rule_name!r}: more than {MAX_DISJUNCTS} alternatives once $or is expanded"
        )
    out = []
    for names, conjs in combos:
        for conj in conjs:
            if sum(_is_join_test(c) for c in conj) > MAX_JOIN_TESTS:
                raise ValueError(
                    f"rule {rule_name!r}: more than {MAX_JOIN_TESTS} cross-pattern tests in one "
                    "pattern"
                )
        types = tuple(_conj_type(c, type_field) for c in conjs)
        out.append(_EngineRule(rule_ix, names, conjs, types))
    return out


def _required_fields(
    rules: list[_EngineRule], type_field: str | None
) -> dict[str | None, set[str]]:
    """Fields each fact type must carry (key None: facts of any other type)."""
    # A pattern typed "x" only ever sees facts of type x, so only those need its fields.
    required: dict[str | None, set[str]] = {None: {type_field} if type_field else set()}
    for rule in rules:
        for slot, conj in enumerate(rule.conjs):
            for cmp in conj:
                required.setdefault(rule.types[slot], set()).add(cmp.field)
                for ref in _refs(cmp):
                    owner = slot if ref.slot is None else ref.slot
                    required.setdefault(rule.types[owner], set()).add(ref.field)
    for typ, fields in required.items():
        if typ is not None:
            fields |= required[None]
        if len(fields) > MAX_FIELDS:
            raise ValueError(
                f"facts of type {typ!r} would need {len(fields)} fields; at most {MAX_FIELDS}"
            )
    return required


def _delete_handles(handles: list[int]) -> None:
    with _LOCK:
        while handles:
            _dr.delete_ruleset(handles.pop())


class RuleSet:
    """A compiled set of rules; evaluate() runs one fresh engine session per call."""

    def __init__(
        self,
        rules: Mapping[str, Mapping[str, Any]],
        name: str | None = None,
        field_types: Mapping[str, type] | None = None,
        max_matches: int = DEFAULT_MAX_MATCHES,
        type_field: str = TYPE_FIELD,
    ) -> None:
        if not isinstance(rules, Mapping) or not rules:
            raise ValueError("rules must be a non-empty mapping of rule name to antecedent")
        self.rule_names: list[str] = []
        self.max_matches = max_matches
        tests: list[tuple[_Cmp, str]] = []
        engine_rules: list[_EngineRule] = []
        for rule_ix, (rule_name, body) in enumerate(rules.items()):
            if not isinstance(rule_name, str) or not rule_name:
                raise ValueError(f"rule names must be non-empty strings, got {rule_name!r}")
            self.rule_names.append(rule_name)
            engine_rules.extend(_expand(rule_ix, rule_name, body, tests, type_field))

        referenced = {cmp.field for cmp, _ in tests} | {
            ref.field for cmp, _ in tests for ref in _refs(cmp)
        }
        self.fields: frozenset[str] = frozenset(referenced)
        self._flags = {f for f in referenced if f.endswith(NULL_SUFFIX) and f != NULL_SUFFIX}
        self._kinds = _infer_kinds(tests, self._flags, field_types, type_field)
        # None when no rule tests the type field: then every fact needs every field.
        self._type_field = type_field if type_field in referenced else None
        self._required = _required_fields(engine_rules, self._type_field)
        self._plans: dict[str | None, list[tuple[str, str, str, bool, bool]]] = {}

        names = _NameAllocator("f")
        names.reserve(_MARKER)
        slots = [names.reserve(f"p{i}") for i in range(MAX_PATTERNS)]
        self._keys = {field: names.next() for field in sorted(referenced)}

        self._engines: list[_Engine] = []
        self._handles: list[int] = []
        self._finalizer = weakref.finalize(self, _delete_handles, self._handles)
        base = re.sub(r"[^A-Za-z0-9_]", "_", name or "rules")[:40]
        # Rules without joins get engines of their own: those sessions can take the batch in slices.
        singles = [r for r in engine_rules if len(r.conjs) == 1]
        joins = [r for r in engine_rules if len(r.conjs) > 1]
        try:
            for chunk in [*_chunks(singles), *_chunks(joins)]:
                engine_names = [f"r{i}" for i in range(len(chunk))]
                body = [
                    f'"{n}":{_json_rule(r, self._keys, slots, type_field)}'
                    for n, r in zip(engine_names, chunk, strict=True)
                ]
                # pri 1 sorts the store rule after every caller rule (which all have pri 0).
                body.append(f'"{_STORE_RULE}":{{"pri":1,"all":[{{"p0":{{"{_MARKER}":1.0}}}}]}}')
                definition = "{" + ",".join(body) + "}"
                with _LOCK:
                    try:
                        handle = _dr.create_ruleset(
                            f"sanding_{base}_{next(_NAME_COUNTER)}", definition
                        )
                    except _dr.error as exc:
                        raise ValueError(f"durable-rules refused the rules: {exc}") from exc
                    self._handles.append(handle)
                self._engines.append(_Engine(handle, chunk, engine_names, definition))
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Delete the engine rulesets; the RuleSet cannot evaluate afterwards."""
        self._finalizer()

    def __enter__(self) -> RuleSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------- evaluation

    def _plan(self, typ: str | None) -> list[tuple[str, str, str, bool, bool]]:
        """Fields sent for a fact type: (field, '"key":', kind group, is a null flag, nullable)."""
        plan = self._plans.get(typ)
        if plan is None:
            fields = self._required.get(typ, self._required[None])
            plan = []
            for field in sorted(fields):
                prefix = f'"{self._keys[field]}":'
                if field in self._flags:
                    # Computed from the base field: (base, prefix, -, True, True).
                    plan.append((field[: -len(NULL_SUFFIX)], prefix, "", True, True))
                else:
                    nullable = null_flag(field) in fields
                    plan.append((field, prefix, self._kinds.find(field), False, nullable))
            self._plans[typ] = plan
        return plan

    def _encode(
        self, facts: Sequence[dict], ids: list[str], sid: str
    ) -> list[tuple[str | None, str]]:
        """Check every fact and write the JSON text the engine gets (id first, then fields)."""
        kinds = dict(self._kinds.kind)  # groups without a kind get one from this batch
        static = self._kinds.kind
        out = []
        for i, fact in enumerate(facts):
            if not isinstance(fact, dict):
                raise ValueError(f"fact {i} is a {type(fact).__name__}, not a dict")
            for reserved in RESERVED_FIELDS:
                if reserved in fact:
                    raise ValueError(f"fact {i} uses the reserved field {reserved!r}")
            typ = None
            if self._type_field is not None:
                typ = fact.get(self._type_field)
                if not isinstance(typ, str):
                    raise ValueError(
                        f"fact {i}: {self._type_field!r} must be a string, got {typ!r}"
                    )
            parts = [f'{{"id":"{ids[i]}","sid":"{sid}","{_MARKER}":1.0']
            for field, prefix, root, is_flag, nullable in self._plan(typ):
                try:
                    value = fact[field]
                except KeyError:
                    raise ValueError(
                        f"fact {i} has no field {field!r}, which the rules use "
                        "(missing fields make durable-rules comparisons true)"
                    ) from None
                if is_flag:
                    if null_flag(field) in fact:
                        raise ValueError(f"fact {i}: {null_flag(field)!r} is set by the adapter")
                    parts.append(prefix + ("1.0" if value is None else "0.0"))
                    continue
                if value is None:
                    if not nullable:
                        raise ValueError(
                            f"fact {i}: {field!r} is None but the rules never test "
                            f"{null_flag(field)!r}"
                        )
                    parts.append(prefix + _PLACEHOLDER[static.get(root)])
                    continue
                # Inline fast paths: this loop runs once per field of every fact.
                vtype = type(value)
                if vtype is str:
                    kind, text = "str", _encode_str(value)
                    if len(text) > MAX_STRING_BYTES // 4 and len(text.encode()) > MAX_STRING_BYTES:
                        raise ValueError(f"fact {i}: {field!r} is over {MAX_STRING_BYTES} bytes")
                elif vtype is float:
                    kind, text = "num", repr(value)
                    if "e" in text or "n" in text:
                        text = _number(value, i, field)
                elif vtype is int and -MAX_EXACT_INT <= value <= MAX_EXACT_INT:
                    kind, text = "num", repr(float(value))
                elif vtype is bool:
                    kind, text = "bool", "1.0" if value else "0.0"
                else:
                    kind, text = _encode_other(value, i, field)
                if kinds.get(root) != kind:
                    self._check_kind(kinds, root, kind, i, field, value)
                parts.append(prefix + text)
            out.append((typ, ",".join(parts) + "}"))
        return out

    def _check_kind(
        self, kinds: dict[str, str], root: str, kind: str, i: int, field: str, value: object
    ) -> None:
        have = kinds.get(root)
        if have is not None:
            raise ValueError(
                f"fact {i}: {field!r} is a {kind} ({value!r}) where the rules expect a {have}"
            )
        if kind == "str" and root in self._kinds.ordered:
            raise ValueError(f"fact {i}: {field!r} is a string used in an ordering test")
        kinds[root] = kind  # the first value of this batch decides for a group without a kind

    def evaluate(self, facts: Sequence[dict]) -> list[Match]:
        """Return every match, ordered by rule then fact positions; nothing carries over calls."""
        if not self._handles:
            raise RuntimeError("this RuleSet is closed")
        facts = list(facts)
        if not facts:
            return []
        if locale.localeconv()["decimal_point"] != ".":
            # The C side reads and prints doubles with atof/%f.
            raise EngineError("LC_NUMERIC must use '.' as decimal point for durable-rules")
        with _LOCK:
            ids = _IDS.take(len(facts))
            sid = _new_sid(len(facts))
        encoded = self._encode(facts, ids, sid)
        # A caller rule split into several engine rules ($or) can report one match twice.
        found: dict[tuple[int, tuple[tuple[str, int], ...]], None] = {}
        fired = 0
        for engine in self._engines:
            wanted = [
                i
                for i, (typ, _) in enumerate(encoded)
                if engine.types is None or typ in engine.types
            ]
            step = len(wanted) if engine.joins else SESSION_FACTS
            for start in range(0, len(wanted), max(step, 1)):
                part = wanted[start : start + step]
                results = self._run(engine, encoded, part, ids, sid, self.max_matches - fired)
                fired += len(results)
                found.update(dict.fromkeys(results))
        matches = []
        for rule_ix, frame in sorted(found, key=lambda k: (k[0], [i for _, i in k[1]])):
            bound = {name: facts[i] for name, i in frame}
            matches.append(Match(self.rule_names[rule_ix], bound))
        return matches

    def _run(
        self,
        engine: _Engine,
        encoded: list[tuple[str | None, str]],
        wanted: list[int],
        ids: list[str],
        sid: str,
        budget: int,
    ) -> list[tuple[int, tuple[tuple[str, int], ...]]]:
        """Assert ``wanted`` facts into a fresh session, collect every firing, delete the session."""
        handle = engine.handle
        results = []
        with _LOCK:
            offset = None
            started = False
            try:
                for i in wanted:
                    try:
                        status, offset = _dr.assert_fact(handle, encoded[i][1])
                    except _dr.error as exc:
                        raise EngineError(f"durable-rules failed on fact {i}: {exc}") from exc
                    if status not in (0, 1):  # 1 means "matched no rule": harmless here
                        raise EngineError(f"durable-rules did not store fact {i} (status {status})")
                result = _dr.start_action_for_state(handle, offset)
                started = result is not None
                message = result[1] if result else None
                while True:
                    if message is None:
                        raise EngineError("durable-rules lost facts: the store rule never fired")
                    rule_name = _ACTION_RE.match(message).group(1)  # type: ignore[union-attr]
                    if rule_name == _STORE_RULE:
                        # It sorts after every caller rule: all their matches are drained.
                        break
                    if len(results) >= budget:
                        raise EngineError(f"more than {self.max_matches} matches in one evaluate")
                    results.append(self._frame(engine, rule_name, message, len(ids)))
                    message = _dr.complete_and_start_action(handle, offset)
                stored = set(_FACT_ID_RE.findall(_dr.get_facts(handle, sid)))
                if len(stored) != len(wanted) or any(ids[i] not in stored for i in wanted):
                    raise EngineError(
                        f"durable-rules kept {len(stored)} of the {len(wanted)} facts asserted"
                    )
            except _dr.error as exc:
                raise EngineError(f"durable-rules failed: {exc}") from exc
            finally:
                _end_session(handle, sid, offset, started)
        return results

    @staticmethod
    def _frame(
        engine: _Engine, rule_name: str, message: str, n: int
    ) -> tuple[int, tuple[tuple[str, int], ...]]:
        rule = engine.rule_by_name[rule_name]
        frame = []
        for slot, fact_id in _FRAME_RE.findall(message):
            i = _IDS.index.get(fact_id)
            if i is None or i >= n:
                raise EngineError(f"durable-rules matched a fact it was not given: {message}")
            frame.append((rule.names[int(slot[1:])], i))
        if len(frame) != len(rule.names):
            raise EngineError(f"unexpected durable-rules result: {message}")
        return rule.rule, tuple(frame)


def _end_session(handle: int, sid: str, offset: int | None, started: bool) -> None:
    """Delete the session, first making sure its action context was ever initialised."""
    if offset is None:
        return  # no fact reached the engine: there is no session
    if not started:
        # createStateNode leaves the action context uninitialised and deleteStateNode frees it:
        # starting one action (the store rule always has one) sets it first.
        try:
            started = _dr.start_action_for_state(handle, offset) is not None
        except _dr.error:
            started = False
    if started:
        _dr.delete_state(handle, sid)
    # else: leak the session rather than free garbage pointers; it holds 1 of 1,024 slots.


def _number(value: float, i: int, field: str) -> str:
    try:
        return format_number(value)
    except ValueError as exc:
        raise ValueError(f"fact {i}: {field!r}: {exc}") from None


def _encode_other(value: object, i: int, field: str) -> tuple[str, str]:
    """Encode bools, out-of-range ints and numpy scalars; refuse anything else."""
    vtype = type(value)
    if vtype is bool or (vtype.__module__ == "numpy" and vtype.__name__ in ("bool", "bool_")):
        return "bool", "1.0" if value else "0.0"
    if isinstance(value, numbers.Integral):
        return "num", _number(int(value), i, field)
    if isinstance(value, numbers.Real):
        return "num", _number(float(value), i, field)
    raise ValueError(f"fact {i}: {field!r} has unsupported value {value!r}")


def _chunks(
    rules: list[_EngineRule], patterns: int = PATTERNS_PER_ENGINE
) -> Iterable[list[_EngineRule]]:
    """Split rules into engines of at most ``patterns`` patterns (the alpha stack is 64 deep)."""
    chunk: list[_EngineRule] = []
    size = 0
    for rule in rules:
        if chunk and size + len(rule.conjs) > patterns:
            yield chunk
            chunk, size = [], 0
        chunk.append(rule)
        size += len(rule.conjs)
    if chunk:
        yield chunk
