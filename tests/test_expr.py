"""The condition language: whitelist, types, null semantics, and bulk == engine."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from sanding_rules import expr
from sanding_rules.engine import RuleSet

FIELDS = {"a": "num", "b": "num", "s": "str", "flag": "bool", "d": "date"}
PARAMS = {"ratio": 0.3, "names": ["x", "y"], "limit": 3}
AS_OF = date(2026, 6, 30)


def scope() -> expr.Scope:
    return expr.Scope(FIELDS, PARAMS)


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    a = rng.integers(-2, 6, n).astype("float64")
    b = rng.integers(-1, 5, n).astype("float64")
    a[rng.random(n) < 0.1] = np.nan
    b[rng.random(n) < 0.1] = np.nan
    s = rng.choice(np.array(["x", "y", "z", "行政编制"], dtype=object), n)
    s[rng.random(n) < 0.1] = None
    flag = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flag[rng.random(n) < 0.1] = pd.NA
    d = pd.to_datetime("2025-06-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    d = pd.Series(d).where(rng.random(n) > 0.1)
    return pd.DataFrame({"a": a, "b": b, "s": s, "flag": flag, "d": d})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "a.__class__",
        "(lambda: 1)()",
        "s[0]",
        "f'{a}'",
        "a if b else 1",
        "open('x')",
        "[x for x in s]",
        "a ** 2",
        "a // 2",
        "params",
        "{1: 2}",
    ],
)
def test_parser_rejects_anything_off_the_whitelist(text: str) -> None:
    with pytest.raises(expr.ExprError):
        expr.check(expr.parse(text), scope())


@pytest.mark.parametrize(
    "text, message",
    [
        ("a > 's'", "cannot compare"),
        ("s < 'x'", "only be compared with == or !="),
        ("a and b", "needs bool"),
        ("nosuch > 1", "unknown field"),
        ("params.nosuch > 1", "unknown parameter"),
        ("a > null", "null can only be compared"),
        ("d + d > as_of", "cannot apply"),
        ("a in ['x']", "is not a num"),
    ],
)
def test_type_errors_are_reported(text: str, message: str) -> None:
    with pytest.raises(expr.ExprError, match=message):
        expr.check(expr.parse(text), scope())


def bulk(text: str, df: pd.DataFrame) -> np.ndarray:
    node = expr.parse(text)
    assert expr.check(node, scope()) == "bool"
    return expr.mask(node, df, scope(), expr.Context(PARAMS, AS_OF))


def test_null_comparisons_are_false_and_null_tests_work() -> None:
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan],
            "b": [np.nan, np.nan],
            "s": [None, "x"],
            "flag": pd.array([pd.NA, True], dtype="boolean"),
            "d": pd.to_datetime([None, "2026-01-01"]),
        }
    )
    assert bulk("a > 0", df).tolist() == [True, False]
    assert bulk("a != 5", df).tolist() == [True, False]
    assert bulk("not (a > 0)", df).tolist() == [False, True]
    assert bulk("a == null", df).tolist() == [False, True]
    assert bulk("s != null", df).tolist() == [False, True]
    assert bulk("flag", df).tolist() == [False, True]
    assert bulk("as_of - d > 179", df).tolist() == [False, True]
    assert bulk("as_of - d > 180", df).tolist() == [False, False]


def test_division_by_zero_makes_the_comparison_false() -> None:
    df = pd.DataFrame(
        {
            "a": [1.0, 1.0, 0.0],
            "b": [0.0, 2.0, 0.0],
            "s": ["x"] * 3,
            "flag": [True] * 3,
            "d": pd.to_datetime(["2026-01-01"] * 3),
        }
    )
    assert bulk("a / b >= 0", df).tolist() == [False, True, False]
    assert bulk("not (a / b >= 0)", df).tolist() == [True, False, True]


def test_exact_threshold_is_inclusive() -> None:
    df = pd.DataFrame(
        {
            "a": [10.0, 10.0],
            "b": [7.0, 8.0],
            "s": ["x", "x"],
            "flag": [True, True],
            "d": pd.to_datetime(["2026-01-01"] * 2),
        }
    )
    assert bulk("(a - b) / a >= params.ratio", df).tolist() == [True, False]


CONDITIONS = [
    "a > b",
    "a >= b + 1",
    "a - b >= params.limit",
    "(a - b) / a >= params.ratio",
    "b / a < params.ratio and a > 0",
    "not (a > b) or s == 'x'",
    "s in params.names",
    "s not in ['x', '行政编制']",
    "s == '行政编制'",
    "flag and a != null",
    "not flag",
    "a == null or b == null",
    "as_of - d > 365",
    "d + 30 <= as_of",
    "a * 2 > b * 3 - 1",
    "-a < b",
    "max(a, b) > 3",
    "abs(a - b) <= 1",
    "1 < a <= 4",
    "not (s != null and (a > 1 or b < 0))",
]


@pytest.mark.parametrize("text", CONDITIONS)
def test_bulk_and_engine_paths_agree(text: str) -> None:
    df = frame()
    expected = np.flatnonzero(bulk(text, df))
    node = expr.parse(text)
    ctx = expr.Context(PARAMS, AS_OF)
    comp = expr.EngineCompiler(scope(), ctx, prefix="x_t_").compile(node)
    facts = []
    values = {}
    for name in comp.fields - {"_fact"}:
        if name in comp.derived:
            values[name] = expr.evaluate(comp.derived[name], df, scope(), ctx)
        else:
            values[name] = expr.column_value(df, name, FIELDS[name])
    for i in range(len(df)):
        fact = {"_fact": "t", "_idx": float(i)}
        for name, v in values.items():
            fact[name] = expr.engine_value(v, i)
        facts.append(fact)
    with RuleSet({"r": {"all": [{"m": {"$and": [{"_fact": "t"}, comp.pattern]}}]}}) as rs:
        got = sorted(int(m.facts["m"]["_idx"]) for m in rs.evaluate(facts))
    assert got == expected.tolist()
    assert 0 < len(expected) < len(df)


# --------------------------------------------------------------------------- joins: PATTERN.FIELD

REF_FIELDS = {"n": "num", "s": "str", "d": "date"}


def join_scope() -> expr.Scope:
    return expr.Scope(FIELDS, PARAMS, refs={"r": REF_FIELDS})


def ref_frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 12
    num = rng.integers(-1, 5, n).astype("float64")
    num[[0, 5]] = np.nan
    s = rng.choice(np.array(["x", "y", "行政编制"], dtype=object), n)
    s[[1, 7]] = None
    d = pd.Series(pd.to_datetime("2025-06-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"))
    d[[2]] = pd.NaT
    return pd.DataFrame({"n": num, "s": s, "d": d})


def test_refs_parse_and_check() -> None:
    node = expr.parse("a > r.n and s == r.s")
    assert expr.refs_of(node) == {("r", "n"), ("r", "s")}
    assert expr.fields_of(node) == {"a", "s"}
    assert expr.check(node, join_scope()) == "bool"


@pytest.mark.parametrize(
    "text, message",
    [
        ("a > q.n", "unknown pattern 'q'"),
        ("a > r.nosuch", "unknown field r.nosuch"),
        ("a > r.s", "cannot compare"),
        ("s < r.s", "only be compared with == or !="),
        ("a > r._x", "may not start with '_'"),
        ("a > r.n.m", "may use a dot"),
        ("a > true.n", "has no fields"),
    ],
)
def test_ref_errors(text: str, message: str) -> None:
    with pytest.raises(expr.ExprError, match=message):
        expr.check(expr.parse(text), join_scope())


def test_refs_are_unknown_outside_joins() -> None:
    with pytest.raises(expr.ExprError, match="unknown pattern"):
        expr.check(expr.parse("a > r.n"), scope())


@pytest.mark.parametrize(
    "text, message",
    [
        ("a + r.n > b", "do not mix"),
        ("r.n > 2", "belongs in those patterns"),
        ("a > 2 / r.n", "only be combined with"),
        ("a > max(r.n, 1)", "only be combined with"),
        ("r.s in ['x']", "not tested on their own"),
    ],
)
def test_ref_constructs_the_engine_cannot_run(text: str, message: str) -> None:
    node = expr.parse(text)
    expr.check(node, join_scope())
    comp = expr.EngineCompiler(join_scope(), expr.Context(PARAMS, AS_OF), prefix="x_j_")
    with pytest.raises(expr.ExprError, match=message):
        comp.compile(node)


JOIN_CONDITIONS = [
    "a > r.n",
    "r.n <= a",
    "a >= r.n + 1",
    "a - b >= r.n * 2",
    "(a - b) / a >= r.n - 3",
    "s == r.s",
    "s != r.s",
    "not (a > r.n)",
    "not (s == r.s) or a > 2",
    "r.s == null",
    "r.s != null and a < r.n",
    "not (r.n == null)",
    "d <= r.d",
    "as_of - d > r.n * 100",
    "a > -r.n",
    "flag and a == r.n + params.limit",
]


@pytest.mark.parametrize("text", JOIN_CONDITIONS)
def test_join_bulk_and_engine_paths_agree(text: str) -> None:
    """A pattern `t` joined with an earlier pattern `r`: both paths give the same pairs."""
    left, right = ref_frame(), frame().iloc[:60].reset_index(drop=True)
    node = expr.parse(text)
    assert expr.check(node, join_scope()) == "bool"
    ctx = expr.Context(PARAMS, AS_OF)
    # Bulk: one row per (r, t) pair, r's fields as columns "r.<field>".
    pairs = right.merge(left.rename(columns=lambda c: expr.ref_column("r", c)), how="cross")
    hit = expr.mask(node, pairs, join_scope(), ctx)
    # A cross merge is right-major: pair k is (left k % len(left), right k // len(left)).
    expected = sorted((int(k) % len(left), int(k) // len(left)) for k in np.flatnonzero(hit))
    # Engine: the compiled pattern refers to the earlier pattern "r".
    comp = expr.EngineCompiler(join_scope(), ctx, prefix="x_t_").compile(node)
    facts = []
    r_values = {name: expr.column_value(left, name, t) for name, t in REF_FIELDS.items()}
    for i in range(len(left)):
        fact = {"_fact": "r", "_idx": float(i)}
        fact.update({name: expr.engine_value(v, i) for name, v in r_values.items()})
        facts.append(fact)
    values = {}
    for name in comp.fields - {"_fact", expr.TRUE_FIELD}:
        if name in comp.derived:
            values[name] = expr.evaluate(comp.derived[name], right, join_scope(), ctx)
        else:
            values[name] = expr.column_value(right, name, FIELDS[name])
    for i in range(len(right)):
        fact = {"_fact": "t", "_idx": float(i), expr.TRUE_FIELD: True}
        fact.update({name: expr.engine_value(v, i) for name, v in values.items()})
        facts.append(fact)
    rule = {"all": [{"r": {"_fact": "r"}}, {"t": {"$and": [{"_fact": "t"}, comp.pattern]}}]}
    with RuleSet({"join": rule}) as rs:
        got = sorted(
            (int(m.facts["r"]["_idx"]), int(m.facts["t"]["_idx"])) for m in rs.evaluate(facts)
        )
    assert got == expected
    assert 0 < len(expected) < len(left) * len(right)


CATEGORICAL_CONDITIONS = [c for c in CONDITIONS if "s " in c or "s)" in c] + [
    "s == 'nosuch'",
    "s != 'nosuch'",
    "'x' == s",
    "s in ['nosuch']",
    "s not in ['nosuch', 'y']",
    "s != 'y' and s != null",
]


@pytest.mark.parametrize("text", CATEGORICAL_CONDITIONS)
def test_text_on_a_categorical_column_as_on_text(text: str) -> None:
    """Code columns come from the loader as categoricals and are compared by their codes;
    the answers must be those of the same column held as text, missing values included."""
    df = frame()
    coded = df.assign(s=df["s"].astype("category"))
    assert isinstance(coded["s"].dtype, pd.CategoricalDtype)
    assert bulk(text, coded).tolist() == bulk(text, df).tolist()


def test_text_parameter_compared_on_a_categorical_column() -> None:
    fields = {"s": "str"}
    node = expr.parse("s == params.kind")
    sc = expr.Scope(fields, {"kind": "y"})
    df = pd.DataFrame({"s": pd.Categorical(["x", "y", None, "y"])})
    got = expr.mask(node, df, sc, expr.Context({"kind": "y"}, AS_OF))
    assert got.tolist() == [False, True, False, True]
