"""The rule condition language: a small whitelisted expression tree.

Text is parsed with Python's own parser (`ast.parse`, which only builds a tree and runs
nothing), then every node is translated into one of the classes below; any node type that is
not on the whitelist is an error. The tree is type-checked against the fact type's fields,
evaluated vectorised over a fact table (the bulk path), and compiled into a durable-rules
condition (the engine path). Nothing is ever passed to `eval`.

Semantics, identical on both paths:
- a comparison with a missing (null) operand is false; so is one whose division divides by 0;
- a missing boolean field is false;
- `x == null` and `x != null` test for a missing value;
- `/` is true division; dates are day numbers, so `as_of - status_since` is a number of days.

Joins: where a condition is one pattern of a rule over several facts (a decision policy joins
a request with the unit's facts), `P.field` names a field of the earlier pattern P (`Ref`).
The scope lists which patterns and fields may be named. The bulk path reads such a field from
the column `P.field` of the frame (one row per candidate combination); the engine path compiles
it to durable-rules' cross-pattern reference `{"P": "field"}`, with the same null semantics.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

NUM, STR, BOOL, DATE, LIST, OBJ = "num", "str", "bool", "date", "list", "obj"
FIELD_TYPES = (NUM, STR, BOOL, DATE)

_EPOCH = np.datetime64("1970-01-01", "D")


class ExprError(ValueError):
    """A condition that cannot be parsed or type-checked."""


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Node:
    """Base of every expression node."""


@dataclass(frozen=True)
class Const(Node):
    value: Any
    type: str


@dataclass(frozen=True)
class Field(Node):
    name: str


@dataclass(frozen=True)
class Param(Node):
    name: str


@dataclass(frozen=True)
class Ref(Node):
    """A field of another (earlier) pattern of the same rule: `request.category`."""

    pattern: str
    name: str


@dataclass(frozen=True)
class AsOf(Node):
    pass


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare(Node):
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negate: bool


@dataclass(frozen=True)
class In(Node):
    item: Node
    items: Node  # Const(list) or Param
    negate: bool


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and / or
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


_RESERVED_NAMES = frozenset({"true", "True", "false", "False", "null", "None", "as_of"})
_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def parse(text: str) -> Node:
    """Parse condition text into a whitelisted tree."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression")
    if len(text) > 4000:
        raise ExprError("expression too long")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    return _convert(tree.body)


def _convert(node: ast.AST) -> Node:
    if isinstance(node, ast.BoolOp):
        op = "and" if isinstance(node.op, ast.And) else "or"
        return BoolOp(op, tuple(_convert(v) for v in node.values))
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return Not(_convert(node.operand))
        if isinstance(node.op, ast.USub):
            inner = _convert(node.operand)
            if isinstance(inner, Const) and inner.type == NUM:
                return Const(-inner.value, NUM)
            return Neg(inner)
        raise ExprError(f"operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.BinOp):
        op = _ARITH.get(type(node.op))
        if op is None:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed")
        return Arith(op, _convert(node.left), _convert(node.right))
    if isinstance(node, ast.Compare):
        parts: list[Node] = []
        left = _convert(node.left)
        for op_node, comparator in zip(node.ops, node.comparators, strict=True):
            right = _convert(comparator)
            parts.append(_compare(op_node, left, right))
            left = right
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None:
            return Null()
        if isinstance(value, bool):
            return Const(value, BOOL)
        if isinstance(value, int | float):
            if not np.isfinite(value):
                raise ExprError("numbers must be finite")
            return Const(float(value), NUM)
        if isinstance(value, str):
            return Const(value, STR)
        raise ExprError(f"constant {value!r} is not allowed")
    if isinstance(node, ast.Name):
        if node.id in ("true", "True"):
            return Const(True, BOOL)
        if node.id in ("false", "False"):
            return Const(False, BOOL)
        if node.id in ("null", "None"):
            return Null()
        if node.id == "as_of":
            return AsOf()
        if node.id == "params":
            raise ExprError("write params.NAME")
        return Field(node.id)
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise ExprError("only params.NAME and PATTERN.FIELD may use a dot")
        if node.attr.startswith("_") or node.value.id.startswith("_"):
            raise ExprError(f"{node.value.id}.{node.attr}: names may not start with '_'")
        if node.value.id == "params":
            return Param(node.attr)
        if node.value.id in _RESERVED_NAMES:
            raise ExprError(f"{node.value.id!r} has no fields")
        return Ref(node.value.id, node.attr)
    if isinstance(node, ast.List | ast.Tuple):
        values = []
        for elt in node.elts:
            item = _convert(elt)
            if not isinstance(item, Const) or item.type not in (STR, NUM):
                raise ExprError("a list may hold only text and number constants")
            values.append(item.value)
        return Const(tuple(values), LIST)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise ExprError("only plain calls of the listed functions are allowed")
        if node.func.id not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExprError(f"unknown function {node.func.id!r} (known: {known})")
        return Call(node.func.id, tuple(_convert(a) for a in node.args))
    raise ExprError(f"{type(node).__name__} is not allowed in a rule expression")


def _compare(op_node: ast.cmpop, left: Node, right: Node) -> Node:
    if isinstance(op_node, ast.In | ast.NotIn):
        return In(left, right, isinstance(op_node, ast.NotIn))
    if isinstance(op_node, ast.Is | ast.IsNot):
        raise ExprError("use == null / != null instead of 'is'")
    op = _CMP[type(op_node)]
    if isinstance(right, Null) or isinstance(left, Null):
        if op not in ("==", "!="):
            raise ExprError("null can only be compared with == or !=")
        other = left if isinstance(right, Null) else right
        return IsNull(other, negate=(op == "!="))
    return Compare(op, left, right)


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Function:
    """A whitelisted, vectorised function; the engine receives its result as a field."""

    arg_types: tuple[str, ...]
    result: str
    impl: Callable[..., Any]
    doc: str


FUNCTIONS: dict[str, Function] = {}


def register(
    name: str, arg_types: tuple[str, ...], result: str, doc: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add a vectorised function to the whitelist."""

    def wrap(impl: Callable[..., Any]) -> Callable[..., Any]:
        FUNCTIONS[name] = Function(arg_types, result, impl, doc)
        return impl

    return wrap


@register("abs", (NUM,), NUM, "absolute value")
def _abs(x: np.ndarray) -> np.ndarray:
    return np.abs(x)


@register("min", (NUM, NUM), NUM, "the smaller of two numbers")
def _min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


@register("max", (NUM, NUM), NUM, "the larger of two numbers")
def _max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


# --------------------------------------------------------------------------- typing


@dataclass
class Scope:
    """What an expression may refer to: the fact type's fields, the rule's parameters and,
    in a pattern of a join, the fields of the earlier patterns (pattern -> field -> type)."""

    fields: Mapping[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    refs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def param_type(value: Any) -> str:
    """Type of a resolved parameter value."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUM
    if isinstance(value, str):
        return STR
    if isinstance(value, list | tuple):
        return LIST
    if isinstance(value, date):
        return DATE
    return OBJ


def check(node: Node, scope: Scope) -> str:
    """Type-check a tree; return its type or raise ExprError."""
    if isinstance(node, Const):
        return node.type
    if isinstance(node, Field):
        if node.name not in scope.fields:
            known = ", ".join(sorted(scope.fields))
            raise ExprError(f"unknown field {node.name!r} (fields: {known})")
        return scope.fields[node.name]
    if isinstance(node, Param):
        if node.name not in scope.params:
            raise ExprError(f"unknown parameter {node.name!r}")
        return param_type(scope.params[node.name])
    if isinstance(node, Ref):
        if node.pattern not in scope.refs:
            known = ", ".join(sorted(scope.refs)) or "none"
            raise ExprError(f"unknown pattern {node.pattern!r} (earlier patterns: {known})")
        fields = scope.refs[node.pattern]
        if node.name not in fields:
            known = ", ".join(sorted(fields))
            raise ExprError(f"unknown field {node.pattern}.{node.name} (fields: {known})")
        return fields[node.name]
    if isinstance(node, AsOf):
        return DATE
    if isinstance(node, Null):
        raise ExprError("null can only be compared with == or !=")
    if isinstance(node, Not):
        _want(check(node.operand, scope), BOOL, "not")
        return BOOL
    if isinstance(node, Neg):
        _want(check(node.operand, scope), NUM, "unary minus")
        return NUM
    if isinstance(node, Arith):
        lt, rt = check(node.left, scope), check(node.right, scope)
        if lt == NUM and rt == NUM:
            return NUM
        if node.op == "-" and lt == DATE and rt == DATE:
            return NUM
        if node.op in "+-" and lt == DATE and rt == NUM:
            return DATE
        raise ExprError(f"cannot apply {node.op} to {lt} and {rt}")
    if isinstance(node, Compare):
        lt, rt = check(node.left, scope), check(node.right, scope)
        if lt != rt or lt not in FIELD_TYPES:
            raise ExprError(f"cannot compare {lt} with {rt}")
        if lt in (STR, BOOL) and node.op not in ("==", "!="):
            raise ExprError(f"{lt} values can only be compared with == or !=")
        return BOOL
    if isinstance(node, IsNull):
        if isinstance(node.operand, Field | Call | Arith | Ref):
            check(node.operand, scope)
            return BOOL
        raise ExprError("only a field or a computed value can be tested against null")
    if isinstance(node, In):
        it = check(node.item, scope)
        if it not in (STR, NUM):
            raise ExprError("'in' needs a text or number on its left")
        lt = check(node.items, scope)
        if lt != LIST:
            raise ExprError("'in' needs a list on its right")
        values = _list_values(node.items, scope.params)
        for v in values:
            if param_type(v) != it:
                raise ExprError(f"list value {v!r} is not a {it}")
        return BOOL
    if isinstance(node, BoolOp):
        for item in node.items:
            _want(check(item, scope), BOOL, node.op)
        return BOOL
    if isinstance(node, Call):
        fn = FUNCTIONS[node.func]
        if len(node.args) != len(fn.arg_types):
            raise ExprError(f"{node.func}() takes {len(fn.arg_types)} arguments")
        for arg, want in zip(node.args, fn.arg_types, strict=True):
            got = check(arg, scope)
            if want != OBJ and got != want:
                raise ExprError(f"{node.func}(): expected {want}, got {got}")
        return fn.result
    raise ExprError(f"unsupported node {type(node).__name__}")


def _want(got: str, want: str, what: str) -> None:
    if got != want:
        raise ExprError(f"'{what}' needs {want}, got {got}")


def _list_values(node: Node, params: Mapping[str, Any]) -> tuple:
    if isinstance(node, Const):
        return tuple(node.value)
    if isinstance(node, Param):
        return tuple(params[node.name])
    raise ExprError("'in' needs a list constant or a list parameter")


def fields_of(node: Node) -> set[str]:
    """Every field name a tree refers to."""
    out: set[str] = set()

    def walk(n: Node) -> None:
        if isinstance(n, Field):
            out.add(n.name)
        for child in _children(n):
            walk(child)

    walk(node)
    return out


def refs_of(node: Node) -> set[tuple[str, str]]:
    """Every (pattern, field) of another pattern that a tree refers to."""
    out: set[tuple[str, str]] = set()

    def walk(n: Node) -> None:
        if isinstance(n, Ref):
            out.add((n.pattern, n.name))
        for child in _children(n):
            walk(child)

    walk(node)
    return out


def ref_column(pattern: str, name: str) -> str:
    """The bulk path's column for another pattern's field."""
    return f"{pattern}.{name}"


def _children(n: Node) -> tuple[Node, ...]:
    if isinstance(n, Not | Neg | IsNull):
        return (n.operand,)
    if isinstance(n, Arith | Compare):
        return (n.left, n.right)
    if isinstance(n, In):
        return (n.item, n.items)
    if isinstance(n, BoolOp | Call):
        return n.items if isinstance(n, BoolOp) else n.args
    return ()


# --------------------------------------------------------------------------- vectorised evaluation


@dataclass
class Context:
    """What an evaluation needs besides the fact table."""

    params: Mapping[str, Any]
    as_of: date
    # Columns already read from this same fact table (field name -> Value): every rule on a
    # fact type reads the same few columns of a 1.6-million-row table. Values are never
    # modified in place, so sharing them is safe.
    columns: dict[str, Value] | None = None


class Value:
    """A vectorised value: numbers (float64, NaN missing), text (object, None missing) or bools."""

    __slots__ = ("data", "null", "type")

    def __init__(self, data: np.ndarray, null: np.ndarray, type_: str) -> None:
        self.data, self.null, self.type = data, null, type_


def date_days(values: Any) -> np.ndarray:
    """Dates (datetime64 series or array) as float day numbers, NaN for missing."""
    arr = np.asarray(values, dtype="datetime64[D]")
    out = (arr - _EPOCH).astype("float64")
    out[np.isnat(arr)] = np.nan
    return out


def day_number(d: date) -> float:
    """A date as a float day number since 1970-01-01."""
    return float((np.datetime64(d, "D") - _EPOCH).astype("int64"))


class Columns:
    """Field values of a few fact rows, already as Values: evaluate() accepts it wherever it
    accepts a fact frame, without pandas (a decision rebuilds one or two rows per request)."""

    __slots__ = ("n", "values")

    def __init__(self, values: Mapping[str, Value], n: int) -> None:
        self.values, self.n = dict(values), n

    def __len__(self) -> int:
        return self.n


def column_value(frame: pd.DataFrame | Columns, name: str, type_: str) -> Value:
    """Read one fact column as a Value of the declared type."""
    if isinstance(frame, Columns):
        return frame.values[name]
    col = frame[name]
    n = len(frame)
    if type_ == NUM:
        data = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return Value(data, np.isnan(data), NUM)
    if type_ == DATE:
        data = date_days(col.to_numpy(dtype="datetime64[ns]"))
        return Value(data, np.isnan(data), DATE)
    if type_ == BOOL:
        null = col.isna().to_numpy()
        data = col.fillna(False).to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
        return Value(data, null, BOOL)
    if isinstance(col.dtype, pd.CategoricalDtype):
        # Code columns: the labels by their codes; code -1 (missing) takes the None at the end.
        codes = col.cat.codes.to_numpy()
        labels = np.append(np.asarray(col.cat.categories, dtype=object), None)
        return Value(labels[codes], codes < 0, STR)
    data = col.to_numpy(dtype=object)
    null = pd.isna(data)
    if null.any():
        data = data.copy()  # to_numpy may hand out the column's own array
        data[null] = None
    return Value(data, null, STR)


def _const(value: Any, type_: str, n: int) -> Value:
    # A constant is one value seen n times: a read-only broadcast view, not n copies
    # (filling 1.6 million object slots costs more than the comparison that uses them).
    if type_ == NUM:
        scalar = np.array(float(value))
    elif type_ == DATE:
        scalar = np.array(day_number(value) if isinstance(value, date) else float(value))
    elif type_ == BOOL:
        scalar = np.array(bool(value))
    else:
        scalar = np.empty((), dtype=object)
        scalar[()] = value
    return Value(np.broadcast_to(scalar, (n,)), np.broadcast_to(np.False_, (n,)), type_)


def evaluate(node: Node, frame: pd.DataFrame, scope: Scope, ctx: Context) -> Value:
    """Evaluate a checked tree over every row of a fact table."""
    n = len(frame)
    if isinstance(node, Const):
        return _const(node.value, node.type, n)
    if isinstance(node, Field):
        if ctx.columns is None:
            return column_value(frame, node.name, scope.fields[node.name])
        value = ctx.columns.get(node.name)
        if value is None:
            value = ctx.columns[node.name] = column_value(frame, node.name, scope.fields[node.name])
        return value
    if isinstance(node, Ref):
        type_ = scope.refs[node.pattern][node.name]
        return column_value(frame, ref_column(node.pattern, node.name), type_)
    if isinstance(node, Param):
        value = ctx.params[node.name]
        return _const(value, param_type(value), n)
    if isinstance(node, AsOf):
        return _const(ctx.as_of, DATE, n)
    if isinstance(node, Not):
        v = truth(evaluate(node.operand, frame, scope, ctx))
        return Value(~v, np.zeros(n, bool), BOOL)
    if isinstance(node, Neg):
        v = evaluate(node.operand, frame, scope, ctx)
        return Value(-v.data, v.null, NUM)
    if isinstance(node, Arith):
        a = evaluate(node.left, frame, scope, ctx)
        b = evaluate(node.right, frame, scope, ctx)
        null = a.null | b.null
        type_ = DATE if (a.type == DATE) != (b.type == DATE) else NUM
        with np.errstate(divide="ignore", invalid="ignore"):
            if node.op == "+":
                data = a.data + b.data
            elif node.op == "-":
                data = a.data - b.data
            elif node.op == "*":
                data = a.data * b.data
            else:
                zero = b.data == 0
                null = null | zero
                data = a.data / np.where(zero, 1.0, b.data)
        data = np.where(null, np.nan, data)
        return Value(data, null, type_)
    if isinstance(node, Compare):
        coded = _coded_compare(node, frame, scope, ctx)
        if coded is not None:
            return coded
        a = evaluate(node.left, frame, scope, ctx)
        b = evaluate(node.right, frame, scope, ctx)
        null = a.null | b.null
        ad, bd = a.data, b.data
        if a.type == STR and node.op not in ("==", "!=") and null.any():
            # None cannot be ordered against text; the rows are masked as missing below.
            ad = np.where(a.null, "", ad).astype(object)
            bd = np.where(b.null, "", bd).astype(object)
        with np.errstate(invalid="ignore"):
            res = _compare_arrays(node.op, ad, bd)
        return Value(np.asarray(res, dtype=bool) & ~null, np.zeros(n, bool), BOOL)
    if isinstance(node, IsNull):
        v = evaluate(node.operand, frame, scope, ctx)
        res = ~v.null if node.negate else v.null.copy()
        return Value(res, np.zeros(n, bool), BOOL)
    if isinstance(node, In):
        values = list(_list_values(node.items, ctx.params))
        codes = _category_codes(node.item, frame, scope, values)
        if codes is not None:
            member = np.isin(codes[0], codes[1]) & (codes[0] >= 0)
            res = (~member & (codes[0] >= 0)) if node.negate else member
            return Value(res, np.zeros(n, bool), BOOL)
        v = evaluate(node.item, frame, scope, ctx)
        if v.type == STR:
            member = pd.Series(v.data, dtype=object).isin(values).to_numpy()
        else:
            member = np.isin(v.data, np.asarray(values, dtype="float64"))
        member = member & ~v.null
        res = (~member & ~v.null) if node.negate else member
        return Value(res, np.zeros(n, bool), BOOL)
    if isinstance(node, BoolOp):
        acc = None
        for item in node.items:
            v = truth(evaluate(item, frame, scope, ctx))
            acc = v if acc is None else (acc & v if node.op == "and" else acc | v)
        return Value(acc, np.zeros(n, bool), BOOL)
    if isinstance(node, Call):
        fn = FUNCTIONS[node.func]
        args = []
        for arg, want in zip(node.args, fn.arg_types, strict=True):
            if want == OBJ:
                args.append(_object_arg(arg, ctx))
            else:
                args.append(evaluate(arg, frame, scope, ctx))
        return _call(fn, args, n)
    raise ExprError(f"cannot evaluate {type(node).__name__}")


def _category_codes(
    node: Node, frame: pd.DataFrame | Columns, scope: Scope, values: list[Any]
) -> tuple[np.ndarray, np.ndarray] | None:
    """For a text field held as a categorical column (code columns): its codes, and the
    codes of the given values (-2 where a value is no category). None otherwise."""
    if not isinstance(node, Field) or isinstance(frame, Columns):
        return None
    if scope.fields.get(node.name) != STR or node.name not in frame.columns:
        return None
    col = frame[node.name]
    if not isinstance(col.dtype, pd.CategoricalDtype):
        return None
    if not all(isinstance(v, str) for v in values):
        return None
    wanted = col.cat.categories.get_indexer(pd.Index(values, dtype=object))
    return col.cat.codes.to_numpy(), np.where(wanted >= 0, wanted, -2)


def _coded_compare(
    node: Compare, frame: pd.DataFrame | Columns, scope: Scope, ctx: Context
) -> Value | None:
    """`field == 'text'` (or !=) on a categorical column, compared as integer codes."""
    if node.op not in ("==", "!="):
        return None
    for field_node, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(other, Const) and other.type == STR:
            value = other.value
        elif isinstance(other, Param) and isinstance(ctx.params.get(other.name), str):
            value = ctx.params[other.name]
        else:
            continue
        codes = _category_codes(field_node, frame, scope, [value])
        if codes is None:
            continue
        present = codes[0] >= 0  # a missing value compares as neither equal nor unequal
        equal = codes[0] == codes[1][0]
        return Value(
            equal if node.op == "==" else ~equal & present, np.zeros(len(frame), bool), BOOL
        )
    return None


def _object_arg(node: Node, ctx: Context) -> Any:
    if isinstance(node, Param):
        return ctx.params[node.name]
    if isinstance(node, AsOf):
        return ctx.as_of
    if isinstance(node, Const):
        return node.value
    raise ExprError("this argument must be a parameter or a constant")


def _call(fn: Function, args: list[Any], n: int) -> Value:
    """Run a function on Values: it gets data arrays (missing as NaN/None), and may return
    either an array (NaN/None missing) or a (data, null) pair."""
    raw = [a.data if isinstance(a, Value) else a for a in args]
    result = fn.impl(*raw)
    if isinstance(result, tuple):
        data, null = result
    else:
        data = result
        if fn.result in (NUM, DATE):
            null = np.isnan(np.asarray(data, dtype="float64"))
        elif fn.result == BOOL:
            null = np.zeros(n, bool)
        else:
            null = pd.isna(pd.Series(data, dtype=object)).to_numpy()
    # A missing argument makes the result missing, whatever the function did with it.
    for a in args:
        if isinstance(a, Value):
            null = null | a.null
    if fn.result == BOOL:
        data = np.asarray(data, dtype=bool) & ~null
        return Value(data, np.zeros(n, bool), BOOL)
    if fn.result in (NUM, DATE):
        data = np.where(null, np.nan, np.asarray(data, dtype="float64"))
    return Value(data, null, fn.result)


def _compare_arrays(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def truth(v: Value) -> np.ndarray:
    """Boolean truth of a value: missing is false."""
    return v.data.astype(bool) & ~v.null


def mask(node: Node, frame: pd.DataFrame, scope: Scope, ctx: Context) -> np.ndarray:
    """Evaluate a condition to a boolean row mask."""
    return truth(evaluate(node, frame, scope, ctx))


# --------------------------------------------------------------------------- engine compilation

NULL_SUFFIX = "__null"
# A field that every fact of a pattern with cross-pattern tests carries, always True: durable-rules
# only tests a field of the fact under test, so "request.category is not null" is compiled as
# `_true != request.category__null`.
TRUE_FIELD = "_true"


@dataclass
class EngineCondition:
    """A condition compiled for durable-rules: the JSON pattern and the derived fields the
    facts must carry (computed vectorised, with the same code as the bulk path). When the
    condition names other patterns' fields, `fields` holds TRUE_FIELD: the facts must carry it
    with the value True (a Python bool)."""

    pattern: dict
    derived: dict[str, Node]
    fields: set[str]  # every field the pattern reads (derived ones included)


class EngineCompiler:
    """Compiles checked trees into durable-rules JSON conditions.

    durable-rules compares a fact property (left) with an expression (right) built from
    constants, properties of the same fact and + - * /. Anything else on the left (a
    function, a division, arithmetic on both sides) becomes a derived field, computed once
    with the vectorised evaluator, so that the two paths round numbers identically.
    """

    def __init__(self, scope: Scope, ctx: Context, prefix: str) -> None:
        self.scope, self.ctx, self.prefix = scope, ctx, prefix
        self.derived: dict[str, Node] = {}
        self.fields: set[str] = set()

    def compile(self, node: Node) -> EngineCondition:
        """Compile a boolean tree into a durable-rules pattern."""
        pattern = self._bool(node, negate=False)
        return EngineCondition(pattern, dict(self.derived), set(self.fields))

    # -- boolean structure, with negation pushed down to the atoms
    def _bool(self, node: Node, negate: bool) -> dict:
        if isinstance(node, Not):
            return self._bool(node.operand, not negate)
        if isinstance(node, BoolOp):
            op = node.op
            if negate:
                op = "or" if op == "and" else "and"
            parts = [self._bool(item, negate) for item in node.items]
            return {"$and" if op == "and" else "$or": parts}
        if isinstance(node, Compare):
            return self._compare(node, negate)
        if isinstance(node, IsNull):
            want_null = not node.negate
            if negate:
                want_null = not want_null
            if isinstance(node.operand, Ref):
                return self._ref_present(node.operand.pattern, node.operand.name, not want_null)
            name = self._as_field(node.operand)
            return {name + NULL_SUFFIX: 1.0 if want_null else 0.0}
        if isinstance(node, In):
            name = self._as_field(node.item)
            values = _list_values(node.items, self.ctx.params)
            t = self.scope.fields.get(name) or check(node.item, self.scope)
            enc = [self._encode_const(v, t) for v in values]
            # `x in L` and `x not in L` are comparisons: false when x is missing; only an
            # outer `not` makes a missing x true.
            member = not node.negate
            if negate:
                member = not member
            present = {name + NULL_SUFFIX: 0.0}
            if member:
                core = {"$or": [{name: v} for v in enc]} if enc else self._false()
            else:
                core = {"$and": [{"$neq": {name: v}} for v in enc]} if enc else self._true()
            if negate:
                return {"$or": [{name + NULL_SUFFIX: 1.0}, {"$and": [present, core]}]}
            return {"$and": [present, core]}
        # a boolean-valued field, function or constant
        if isinstance(node, Const) and node.type == BOOL:
            return self._true() if node.value != negate else self._false()
        name = self._as_field(node)
        if negate:
            return {"$or": [{name + NULL_SUFFIX: 1.0}, {name: 0.0}]}
        return {"$and": [{name + NULL_SUFFIX: 0.0}, {name: 1.0}]}

    def _true(self) -> dict:
        self.fields.add("_fact")
        return {"$neq": {"_fact": ""}}

    def _false(self) -> dict:
        self.fields.add("_fact")
        return {"_fact": ""}

    def _ref_present(self, pattern: str, name: str, present: bool) -> dict:
        """Whether another pattern's field is present (not null), tested from this fact."""
        self.fields.add(TRUE_FIELD)
        flag = {pattern: name + NULL_SUFFIX}
        return {"$neq": {TRUE_FIELD: flag}} if present else {TRUE_FIELD: flag}

    def _join_compare(self, left: Node, right: Node, op: str, negate: bool) -> dict:
        """A comparison of this pattern's fields with other patterns' fields."""
        if refs_of(left):
            left, right, op = right, left, _FLIP[op]
        if refs_of(left) or fields_of(right):
            raise ExprError(
                "compare this pattern's fields (on one side) with other patterns' fields "
                "(on the other side); do not mix them on one side"
            )
        if not fields_of(left):
            raise ExprError(
                "a test of other patterns' fields alone belongs in those patterns' own conditions"
            )
        if not self._engine_native(right):
            raise ExprError("other patterns' fields can only be combined with + - * and constants")
        if not isinstance(left, Field):
            left = Field(self._derive(left))
        name = left.name
        self.fields.add(name)
        rhs = self._rhs(right, self._type(left))
        if negate:
            op = _NEGATE[op]
        atom = {name: rhs} if op == "==" else {_OPS[op]: {name: rhs}}
        refs = sorted(refs_of(right))
        if not negate:
            parts = [{g + NULL_SUFFIX: 0.0} for g in sorted(fields_of(left))]
            parts += [self._ref_present(p, f, True) for p, f in refs]
            return {"$and": [*parts, atom]}
        parts = [{g + NULL_SUFFIX: 1.0} for g in sorted(fields_of(left))]
        parts += [self._ref_present(p, f, False) for p, f in refs]
        return {"$or": [*parts, atom]}

    def _compare(self, node: Compare, negate: bool) -> dict:
        left, right, op = node.left, node.right, node.op
        if refs_of(left) or refs_of(right):
            return self._join_compare(left, right, op, negate)
        if not self._is_field(left) and self._is_field(right):
            left, right, op = right, left, _FLIP[op]
        if not self._is_field(left):
            left = Field(self._derive(left))
        if not self._engine_native(right):
            right = Field(self._derive(right))
        name = left.name  # type: ignore[attr-defined]
        self.fields.add(name)
        t = self._type(left)
        rhs = self._rhs(right, t)
        guards = fields_of(left) | fields_of(right)
        if negate:
            op = _NEGATE[op]
        atom = {name: rhs} if op == "==" else {_OPS[op]: {name: rhs}}
        if not negate:
            parts = [{g + NULL_SUFFIX: 0.0} for g in sorted(guards)] + [atom]
            return parts[0] if len(parts) == 1 else {"$and": parts}
        parts = [{g + NULL_SUFFIX: 1.0} for g in sorted(guards)] + [atom]
        return parts[0] if len(parts) == 1 else {"$or": parts}

    def _is_field(self, node: Node) -> bool:
        return isinstance(node, Field)

    def _engine_native(self, node: Node) -> bool:
        if isinstance(node, Ref):
            return True
        if isinstance(node, Field | Const | Param | AsOf):
            return not isinstance(node, Param) or param_type(self.ctx.params[node.name]) in (
                NUM,
                STR,
                DATE,
                BOOL,
            )
        if isinstance(node, Neg):
            return self._engine_native(node.operand)
        if isinstance(node, Arith) and node.op in "+-*":
            return self._engine_native(node.left) and self._engine_native(node.right)
        return False

    def _type(self, node: Node) -> str:
        if isinstance(node, Field) and node.name in self.derived:
            return check(self.derived[node.name], self.scope)
        return check(node, self.scope)

    def _rhs(self, node: Node, t: str) -> Any:
        if isinstance(node, Field):
            self.fields.add(node.name)
            return {"$m": node.name}
        if isinstance(node, Ref):
            return {node.pattern: node.name}
        if isinstance(node, Const):
            return self._encode_const(node.value, node.type)
        if isinstance(node, Param):
            value = self.ctx.params[node.name]
            return self._encode_const(value, param_type(value))
        if isinstance(node, AsOf):
            return day_number(self.ctx.as_of)
        if isinstance(node, Neg):
            return {"$mul": {"$l": -1.0, "$r": self._rhs(node.operand, t)}}
        if isinstance(node, Arith):
            op = {"+": "$add", "-": "$sub", "*": "$mul"}[node.op]
            return {op: {"$l": self._rhs(node.left, t), "$r": self._rhs(node.right, t)}}
        raise ExprError(f"cannot compile {type(node).__name__} for the engine")

    def _encode_const(self, value: Any, t: str) -> Any:
        if t == STR:
            return str(value)
        if t == BOOL:
            return 1.0 if value else 0.0
        if t == DATE and isinstance(value, date):
            return day_number(value)
        return float(value)

    def _as_field(self, node: Node) -> str:
        if isinstance(node, Field):
            self.fields.add(node.name)
            return node.name
        name = self._derive(node)
        self.fields.add(name)
        return name

    def _derive(self, node: Node) -> str:
        if refs_of(node):
            raise ExprError(
                "other patterns' fields can only be compared (==, <, ...) with this pattern's "
                "fields, not tested on their own, with 'in' or inside a function"
            )
        for name, existing in self.derived.items():
            if existing == node:
                return name
        name = f"{self.prefix}{len(self.derived) + 1}"
        self.derived[name] = node
        self.fields.add(name)
        return name


_OPS = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def engine_value(v: Value, i: int) -> Any:
    """One element of a Value encoded for the engine (numbers as floats, bools as 0/1)."""
    if v.null[i]:
        return None
    x = v.data[i]
    if v.type == BOOL:
        return 1.0 if x else 0.0
    if v.type in (NUM, DATE):
        return float(x)
    return str(x)
