"""Tests of the durable-rules adapter: each trap is shown on the raw C module, then closed by ours.

Raw demonstrations that can crash the interpreter run in a subprocess.
"""

from __future__ import annotations

import gc
import itertools
import json
import random
import re
import subprocess
import sys
import textwrap

import durable_rules_engine as dr
import pytest

from sanding_rules import engine
from sanding_rules.engine import (
    NULL_SUFFIX,
    TYPE_FIELD,
    EngineError,
    Match,
    RuleSet,
    fnv1a_32,
    format_number,
    null_flag,
)

_RAW_NAMES = itertools.count()


def raw_run(rules: dict, facts: list, batch: bool = False, sid: str = "s") -> tuple[list, str]:
    """Drive the C module the naive way; return (action messages, get_facts text)."""
    handle = dr.create_ruleset(f"raw_{next(_RAW_NAMES)}", json.dumps(rules, ensure_ascii=False))
    texts = [
        f if isinstance(f, str) else json.dumps({"sid": sid, **f}, ensure_ascii=False)
        for f in facts
    ]
    try:
        if batch:
            status, offset = dr.assert_facts(handle, "[" + ",".join(texts) + "]")
        else:
            for text in texts:
                status, offset = dr.assert_fact(handle, text)
        messages = []
        result = dr.start_action_for_state(handle, offset)
        started = result is not None
        message = result[1] if result else None
        while message is not None:
            messages.append(json.loads(message))
            message = dr.complete_and_start_action(handle, offset)
        stored = dr.get_facts(handle, sid)
        if started:  # deleting a session that never started an action frees garbage
            dr.delete_state(handle, sid)
        return messages, stored
    finally:
        dr.delete_ruleset(handle)


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter, so that a crash fails a test instead of pytest."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rules_of(matches: list[Match]) -> list[str]:
    """Rule names of the matches, in order."""
    return [m.rule for m in matches]


def one(expr: dict) -> dict:
    """A single-pattern 'all' antecedent."""
    return {"all": [{"m": expr}]}


# ------------------------------------------------------------------------------------- basics


def test_matches_return_the_callers_own_fact_objects() -> None:
    facts = [{"x": 5}, {"x": 1}]
    with RuleSet({"big": one({"$gt": {"x": 3}})}) as rs:
        matches = rs.evaluate(facts)
    assert matches == [Match("big", {"m": {"x": 5}})]
    assert matches[0].facts["m"] is facts[0]


def test_a_fact_matched_by_several_rules_fires_each_rule_once() -> None:
    rules = {"a": one({"$gt": {"x": 1}}), "b": one({"$gt": {"x": 2}}), "c": one({"x": 9})}
    with RuleSet(rules) as rs:
        assert rules_of(rs.evaluate([{"x": 5}])) == ["a", "b"]


def test_every_matching_fact_of_a_rule_comes_back() -> None:
    facts = [{"x": i} for i in range(2500)]  # more than one session slice
    with RuleSet({"odd": one({"$gte": {"x": 1000}})}) as rs:
        matches = rs.evaluate(facts)
    assert [m.facts["m"]["x"] for m in matches] == list(range(1000, 2500))


def test_evaluations_are_independent() -> None:
    rules = {
        "pair": {
            "all": [
                {"a": {"$and": [{TYPE_FIELD: "a"}]}},
                {"b": {"$and": [{TYPE_FIELD: "b"}, {"k": {"a": "k"}}]}},
            ]
        }
    }
    with RuleSet(rules) as rs:
        assert rs.evaluate([{TYPE_FIELD: "a", "k": 1}]) == []
        # The "a" fact of the previous call must not be joined with this "b" fact.
        assert rs.evaluate([{TYPE_FIELD: "b", "k": 1}]) == []
        assert len(rs.evaluate([{TYPE_FIELD: "a", "k": 1}, {TYPE_FIELD: "b", "k": 1}])) == 1
        assert rs.evaluate([]) == []


REQUEST_RULES = {
    # A request, its unit, a finding of that unit and the unit's grade.
    "request_of_failed_unit": {
        "all": [
            {"r": {"$and": [{TYPE_FIELD: "request"}, {"$gt": {"count": 0}}]}},
            {"u": {"$and": [{TYPE_FIELD: "unit"}, {"unit_id": {"r": "unit_id"}}]}},
            {
                "f": {
                    "$and": [
                        {TYPE_FIELD: "finding"},
                        {"unit_id": {"u": "unit_id"}},
                        {"severity": "error"},
                    ]
                }
            },
            {
                "g": {
                    "$and": [
                        {TYPE_FIELD: "grade"},
                        {"unit_id": {"u": "unit_id"}},
                        {"$lt": {"score": {"$sub": {"$l": {"u": "pass_mark"}, "$r": 0}}}},
                    ]
                }
            },
        ]
    },
    "big_request": {"any": [{"r": {"$and": [{TYPE_FIELD: "request"}, {"$gt": {"count": 5}}]}}]},
}


def request_facts() -> list[dict]:
    return [
        {TYPE_FIELD: "request", "unit_id": "U1", "count": 2},
        {TYPE_FIELD: "request", "unit_id": "U2", "count": 9},
        {TYPE_FIELD: "unit", "unit_id": "U1", "pass_mark": 60},
        {TYPE_FIELD: "unit", "unit_id": "U2", "pass_mark": 60},
        {TYPE_FIELD: "finding", "unit_id": "U1", "severity": "error"},
        {TYPE_FIELD: "finding", "unit_id": "U1", "severity": "warning"},
        {TYPE_FIELD: "finding", "unit_id": "U2", "severity": "error"},
        {TYPE_FIELD: "grade", "unit_id": "U1", "score": 55},
        {TYPE_FIELD: "grade", "unit_id": "U2", "score": 75},
    ]


def test_join_across_fact_types() -> None:
    facts = request_facts()
    with RuleSet(REQUEST_RULES) as rs:
        matches = rs.evaluate(facts)
    assert matches == [
        Match(
            "request_of_failed_unit",
            {"r": facts[0], "u": facts[2], "f": facts[4], "g": facts[7]},
        ),
        Match("big_request", {"r": facts[1]}),
    ]


def test_the_type_field_can_be_renamed() -> None:
    rules = {"r": {"all": [{"m": {"$and": [{"_type": "a"}, {"$gt": {"x": 1}}]}}]}}
    facts = [{"_type": "a", "x": 2}, {"_type": "b"}]
    with RuleSet(rules, type_field="_type") as rs:
        assert len(rs.evaluate(facts)) == 1
    with RuleSet(rules) as rs, pytest.raises(ValueError, match="fact 1 has no field 'x'"):
        rs.evaluate(facts)  # "_type" is an ordinary field here: every fact needs every field


def test_each_fact_type_needs_only_the_fields_its_patterns_use() -> None:
    with RuleSet(REQUEST_RULES) as rs:
        assert rs._required["finding"] == {TYPE_FIELD, "unit_id", "severity"}
        # A grade without "severity" or "count" is fine; without "score" it is not.
        rs.evaluate([{TYPE_FIELD: "grade", "unit_id": "U1", "score": 1}])
        with pytest.raises(ValueError, match="'score'"):
            rs.evaluate([{TYPE_FIELD: "grade", "unit_id": "U1"}])
        with pytest.raises(ValueError, match=f"{TYPE_FIELD!r} must be a string"):
            rs.evaluate([{"unit_id": "U1"}])


def test_or_is_expanded_and_a_match_reported_once() -> None:
    rules = {"either": one({"$or": [{"$gt": {"x": 1}}, {"$gt": {"y": 1}}, {"x": 7}]})}
    with RuleSet(rules) as rs:
        matches = rs.evaluate([{"x": 7, "y": 5}, {"x": 0, "y": 0}, {"x": 0, "y": 2}])
    assert [m.facts["m"]["y"] for m in matches] == [5, 2]


def test_any_rule_reports_the_pattern_that_matched() -> None:
    rules = {"r": {"any": [{"big": {"$gt": {"x": 10}}}, {"neg": {"$lt": {"x": 0}}}]}}
    with RuleSet(rules) as rs:
        matches = rs.evaluate([{"x": 11}, {"x": 3}, {"x": -1}])
    assert [m.facts for m in matches] == [{"big": {"x": 11}}, {"neg": {"x": -1}}]


# ------------------------------------------------------------------------ 1. missing fields


def test_raw_engine_treats_a_missing_field_as_true() -> None:
    # isAlphaMatch reads an uninitialised result when the property lookup fails.
    rules = {"over": one({"$gt": {"actual": {"$m": "approved"}}})}
    messages, _ = raw_run(rules, [{"id": "1", "actual": 5}, {"id": "2", "actual": 5}])
    assert messages  # neither fact has "approved"


def test_a_fact_missing_a_referenced_field_is_refused() -> None:
    with RuleSet({"over": one({"$gt": {"actual": {"$m": "approved"}}})}) as rs:
        assert rs.fields == {"actual", "approved"}
        with pytest.raises(ValueError, match="fact 1 has no field 'approved'"):
            rs.evaluate([{"actual": 5, "approved": 1}, {"actual": 5}])


def test_none_is_a_placeholder_plus_a_null_flag() -> None:
    guarded = {"$and": [{null_flag("approved"): 0}, {"$gt": {"actual": {"$m": "approved"}}}]}
    rules = {"over": one(guarded), "unknown": one({"approved" + NULL_SUFFIX: True})}
    facts = [{"actual": 5, "approved": None}, {"actual": 5, "approved": 1}]
    with RuleSet(rules) as rs:
        assert [(m.rule, m.facts["m"]) for m in rs.evaluate(facts)] == [
            ("over", facts[1]),
            ("unknown", facts[0]),
        ]
        with pytest.raises(ValueError, match="set by the adapter"):
            rs.evaluate([{"actual": 1, "approved": 1, "approved__null": 0}])
        with pytest.raises(ValueError, match="'actual' is None but the rules never test"):
            rs.evaluate([{"actual": None, "approved": 1}])


# --------------------------------------------------------------------------- 2. mixed types


def test_raw_engine_compares_strings_and_numbers_as_strings() -> None:
    messages, _ = raw_run({"big": one({"$gt": {"x": 10}})}, [{"id": "1", "sid": "s", "x": "12"}])
    assert len(messages) == 1


def test_types_are_checked_against_a_schema() -> None:
    with pytest.raises(ValueError, match="'x' is num but is compared with a str"):
        RuleSet({"big": one({"$gt": {"x": "10"}})}, field_types={"x": int})
    with pytest.raises(ValueError, match="no entry for 'y'"):
        RuleSet({"big": one({"$gt": {"y": 1}})}, field_types={"x": int})
    with RuleSet({"big": one({"$gt": {"x": 10}})}, field_types={"x": float}) as rs:
        assert len(rs.evaluate([{"x": 12}, {"x": 12.5}])) == 2
        with pytest.raises(ValueError, match=r"'x' is a str \('12'\) where the rules expect a num"):
            rs.evaluate([{"x": "12"}])


def test_types_are_inferred_from_constants_and_joins() -> None:
    with pytest.raises(ValueError, match="'x'"):
        RuleSet({"a": one({"x": "v"}), "b": one({"$gt": {"x": 1}})})
    with pytest.raises(ValueError, match="'y'"):
        RuleSet({"a": one({"$and": [{"x": "v"}, {"x": {"$m": "y"}}, {"y": 3}]})})
    rules = {"same": one({"x": {"$m": "y"}})}
    with RuleSet(rules) as rs:  # no constant: the batch decides, but must agree
        assert len(rs.evaluate([{"x": "a", "y": "a"}])) == 1
        with pytest.raises(ValueError, match="'y' is a num"):
            rs.evaluate([{"x": "a", "y": 1}])


def test_bools_are_sent_as_numbers() -> None:
    # Raw: true joined with 1 never meets (the join hashes "true" vs "1"), true + true is true.
    join = {"j": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [{"t": "b"}, {"v": {"a": "v"}}]}}]}}
    raw, _ = raw_run(join, [{"id": "1", "t": "a", "v": True}, {"id": "2", "t": "b", "v": 1}])
    assert raw == []
    add = {"two": one({"z": {"$add": {"$l": {"$m": "f"}, "$r": {"$m": "f"}}}})}
    raw, _ = raw_run(add, [{"id": "1", "f": True, "z": 2.0}])
    assert raw == []
    rules = {"flag": one({"f": True}), "off": one({"f": 0})}
    with RuleSet(rules) as rs:
        assert [m.rule for m in rs.evaluate([{"f": True}, {"f": False}])] == ["flag", "off"]
        with pytest.raises(ValueError, match="'f' is a num"):
            rs.evaluate([{"f": 1}])
    with pytest.raises(ValueError, match="needs numbers"):
        RuleSet({"x": one({"z": {"$add": {"$l": {"$m": "f"}, "$r": True}}})})


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    rules = {"big": one({"$gt": {"x": 1}}), "on": one({"f": True})}
    with RuleSet(rules) as rs:
        facts = [{"x": np.int64(2), "f": np.bool_(True)}, {"x": np.float64(0.5), "f": False}]
        assert [(m.rule, m.facts["m"] is facts[0]) for m in rs.evaluate(facts)] == [
            ("big", True),
            ("on", True),
        ]


def test_string_ordering_is_refused() -> None:
    # durable's strncmp over raw JSON text orders "ab" after "ab!".
    raw, _ = raw_run(
        {"lt": {"all": [{"a": {"k": 1}}, {"b": {"$and": [{"k": 2}, {"$gt": {"s": {"a": "s"}}}]}}]}},
        [{"id": "1", "k": 1, "s": "ab"}, {"id": "2", "k": 2, "s": "ab!"}],
    )
    assert raw == []  # Python: "ab!" > "ab"
    with pytest.raises(ValueError, match="ordering test"):
        RuleSet({"lt": one({"$lt": {"s": "m"}})})
    with RuleSet({"lt": one({"$lt": {"s": {"$m": "t"}}})}) as rs:
        assert len(rs.evaluate([{"s": 1, "t": 2}])) == 1
        with pytest.raises(ValueError, match="string used in an ordering test"):
            rs.evaluate([{"s": "a", "t": "b"}])


# ---------------------------------------------------------------------------- 3. id and sid


@pytest.mark.parametrize("field", ["id", "sid"])
def test_reserved_names_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        RuleSet({"r": one({field: "x"})})
    with pytest.raises(ValueError, match="reserved"):
        RuleSet({"r": one({"x": {"$m": field}})})
    with RuleSet({"r": one({"x": 1})}) as rs, pytest.raises(ValueError, match="reserved"):
        rs.evaluate([{"x": 1, field: "a"}])


# ------------------------------------------------------------------------------- 4. division

DIV = {"half": one({"x": {"$div": {"$l": {"$m": "a"}, "$r": {"$m": "b"}}}})}


def test_raw_integer_division_truncates_ours_does_not() -> None:
    raw, _ = raw_run(DIV, [{"id": "1", "x": 3, "a": 7, "b": 2}])
    assert len(raw) == 1  # 7 / 2 == 3
    with RuleSet(DIV) as rs:
        assert rs.evaluate([{"x": 3, "a": 7, "b": 2}]) == []
        assert len(rs.evaluate([{"x": 3.5, "a": 7, "b": 2}])) == 1


def test_division_by_zero_kills_the_raw_engine_not_ours() -> None:
    raw = run_python(
        """
        import durable_rules_engine as dr
        h = dr.create_ruleset("z", '{"r":{"all":[{"m":{"$gt":{"x":{"$div":{"$l":{"$m":"a"},"$r":{"$m":"b"}}}}}}]}}')
        dr.assert_fact(h, '{"id":"1","sid":"s","x":3,"a":7,"b":0}')
        """
    )
    assert raw.returncode == -8  # SIGFPE
    ours = run_python(
        """
        from sanding_rules.engine import RuleSet
        rs = RuleSet({"r": {"all": [{"m": {"$lt": {"x": {"$div": {"$l": {"$m": "a"}, "$r": {"$m": "b"}}}}}}]}})
        print(len(rs.evaluate([{"x": 3, "a": 7, "b": 0}, {"x": 3, "a": 0, "b": 0}])))
        """
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == "1"  # 7 / 0 is inf; 0 / 0 is NaN and compares false


# ---------------------------------------------------------------------- 5. exponents, width


def test_raw_engine_drops_the_rest_of_a_batch_after_an_exponent() -> None:
    facts = ['{"id":"a","x":1.0}', '{"id":"b","x":1e-05}', '{"id":"c","x":3.0}']
    messages, stored = raw_run({"pos": one({"$gt": {"x": 0}})}, facts, batch=True, sid="0")
    assert len(messages) == 1 and '"c"' not in stored


def test_numbers_are_written_without_exponent_and_read_back_exactly() -> None:
    values = [1e-05, 2.5e-07, 1e16, 1.2345e20, 0.1, 1 / 3, -0.0, 3, 2**53, 5e-324, 1.7e308]
    for value in values:
        text = format_number(value)
        assert "e" not in text and "." in text and float(text) == float(value)
    for bad in [float("nan"), float("inf"), 2**53 + 1]:
        with pytest.raises(ValueError):
            format_number(bad)
    facts = [{"x": 1.0}, {"x": 1e-05}, {"x": 3.0}, {"x": 1e20}]
    with RuleSet({"pos": one({"$gt": {"x": 1e-06}})}) as rs:
        assert [m.facts["m"]["x"] for m in rs.evaluate(facts)] == [1.0, 1e-05, 3.0, 1e20]
        with pytest.raises(ValueError, match="not a finite number"):
            rs.evaluate([{"x": float("nan")}])


def test_wide_facts() -> None:
    wide = {"id": "w", "x": 2.0, **{f"f{i}": 1.0 for i in range(260)}}
    messages, stored = raw_run(
        {"pos": one({"$gt": {"x": 0}})},
        ['{"id":"a","x":1.0}', json.dumps(wide), '{"id":"c","x":3.0}'],
        batch=True,
        sid="0",
    )
    assert len(messages) == 1 and '"c"' not in stored  # silently dropped
    with RuleSet({"pos": one({"$gt": {"x": 0}})}) as rs:
        # Only the fields the rules use are sent.
        facts = [{"x": 1.0}, {k: v for k, v in wide.items() if k != "id"}, {"x": 3.0}]
        assert len(rs.evaluate(facts)) == 3
    many = {"r": one({"$and": [{f"f{i}": 1} for i in range(engine.MAX_FIELDS + 1)]})}
    with pytest.raises(ValueError, match="at most 200"):
        RuleSet(many)


class _DroppingEngine:
    """The C module, except that it silently ignores one fact."""

    def __init__(self, drop: int) -> None:
        self.drop = drop
        self.calls = 0

    def __getattr__(self, name: str) -> object:
        return getattr(dr, name)

    def assert_fact(self, handle: int, text: str) -> tuple[int, int]:
        self.calls += 1
        if self.calls == self.drop:
            return (0, 1)
        return dr.assert_fact(handle, text)


def test_a_fact_the_engine_did_not_keep_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    with RuleSet({"pos": one({"$gt": {"x": 0}})}) as rs:
        monkeypatch.setattr(engine, "_dr", _DroppingEngine(drop=2))
        with pytest.raises(EngineError, match="kept 2 of the 3 facts"):
            rs.evaluate([{"x": 1}, {"x": 2}, {"x": 3}])


# -------------------------------------------------------------------------- 6. 32-bit hashes

COLLIDING = ("1aa9", "25054")  # found by a birthday search over hex strings


def test_fnv_hash_is_the_engines() -> None:
    assert fnv1a_32("id") == 926444256  # HASH_ID in state.h
    assert fnv1a_32("sid") == 3593476751  # HASH_SID
    assert fnv1a_32(COLLIDING[0]) == fnv1a_32(COLLIDING[1])


def test_raw_engine_drops_a_fact_whose_id_collides() -> None:
    facts = [{"id": COLLIDING[0], "x": 1}, {"id": COLLIDING[1], "x": 2}]
    messages, stored = raw_run({"pos": one({"$gt": {"x": 0}})}, facts, sid="0")
    assert len(messages) == 1 and COLLIDING[1] not in stored


def test_our_ids_never_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = engine._IdPool([COLLIDING[0], COLLIDING[1], "q", "r"])
    assert pool.take(2) == [COLLIDING[0], "q"]
    assert pool.collides(COLLIDING[1], 1) and not pool.collides(COLLIDING[1], 0)
    monkeypatch.setattr(engine, "_IDS", engine._IdPool([*COLLIDING, "a", "b", "c", "d"]))
    with RuleSet({"pos": one({"$gt": {"x": 0}})}) as rs:
        assert len(rs.evaluate([{"x": 1}, {"x": 2}, {"x": 3}])) == 3
    default = engine._IdPool()
    ids = default.take(20_000)
    assert len({fnv1a_32(i) for i in ids}) == len(ids)


# ---------------------------------------------------------------------- 7. identical facts


def test_identical_facts_are_both_matched() -> None:
    facts = ['{"sid":"s","x":1.0}', '{"sid":"s","x":1.0}']
    messages, _ = raw_run({"pos": one({"$gt": {"x": 0}})}, facts, batch=True)
    assert len(messages) == 1  # the second is "already observed"
    with RuleSet({"pos": one({"$gt": {"x": 0}})}) as rs:
        assert len(rs.evaluate([{"x": 1}, {"x": 1}])) == 2


# -------------------------------------------------------------------- 8. unhandled messages


def test_facts_matching_nothing_do_not_lose_other_matches() -> None:
    handle = dr.create_ruleset("unhandled", json.dumps({"pos": one({"$gt": {"x": 0.0}})}))
    status, offset = dr.assert_facts(
        handle, '[{"id":"1","sid":"s","x":1.0},{"id":"2","sid":"s","x":-1.0}]'
    )
    assert status == 1  # durable.engine raises MessageNotHandledException for the whole batch
    dr.start_action_for_state(handle, offset)
    dr.delete_state(handle, "s")
    dr.delete_ruleset(handle)
    with RuleSet({"pos": one({"$gt": {"x": 0}}), "never": one({"x": 99})}) as rs:
        matches = rs.evaluate([{"x": -1}, {"x": 1}, {"x": -2}, {"x": 2}])
    assert [m.facts["m"]["x"] for m in matches] == [1, 2]


# ------------------------------------------------------------------------ 9. the state fact


def test_raw_nex_rule_matches_the_state_fact_forever() -> None:
    handle = dr.create_ruleset("nex", json.dumps({"r": one({"$nex": {"x": 1}})}))
    _, offset = dr.assert_fact(handle, '{"id":"1","sid":"s","y":1.0}')
    result = dr.start_action_for_state(handle, offset)
    fired = 0
    message = result[1]
    while message is not None and fired < 500:
        fired += 1
        # engine.Host re-asserts the state after every action, as here.
        dr.update_state(handle, '{"sid":"s","id":"sid-s","$s":1}')
        message = dr.complete_and_start_action(handle, offset)
    assert fired == 500 and '"$s"' in message
    dr.delete_state(handle, "s")
    dr.delete_ruleset(handle)


@pytest.mark.parametrize(
    "expr",
    [
        {"$nex": {"x": 1}},
        {"$ex": {"x": 1}},
        {"$and": [{"x": 1}, {"$s": 1}]},
        {"$and": [{"x": 1}, {"sid": "0"}]},
        {"$gt": {"id": "a"}},
    ],
)
def test_rules_that_could_match_the_state_fact_are_refused(expr: dict) -> None:
    with pytest.raises(ValueError):
        RuleSet({"r": one(expr)})


def test_match_count_is_capped() -> None:
    with RuleSet({"pos": one({"$gt": {"x": 0}})}, max_matches=3) as rs:
        assert len(rs.evaluate([{"x": 1}] * 3)) == 3
        with pytest.raises(EngineError, match="more than 3 matches"):
            rs.evaluate([{"x": 1}] * 4)
        assert len(rs.evaluate([{"x": 1}])) == 1  # the session was cleaned up


# ------------------------------------------------------------------------ 10. engine errors


class _FailingEngine:
    """The C module, except that completing an action fails."""

    def __getattr__(self, name: str) -> object:
        return getattr(dr, name)

    def complete_and_start_action(self, handle: int, offset: int) -> str:
        raise dr.error("Could not complete and start action, error code: 307")


def test_engine_errors_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    with RuleSet({"pos": one({"$gt": {"x": 0}})}) as rs:
        monkeypatch.setattr(engine, "_dr", _FailingEngine())
        with pytest.raises(EngineError, match="error code: 307"):
            rs.evaluate([{"x": 1}, {"x": 2}])
        monkeypatch.undo()
        assert len(rs.evaluate([{"x": 1}, {"x": 2}])) == 2


def test_many_rules_matching_one_fact() -> None:
    # handleAlpha's 64-slot stack: error 303 once ~65 alpha nodes match one fact at one level.
    rules = {f"r{k}": one({"$gt": {"c": k}}) for k in range(100)}
    raw = {f"r{k}": one({"$gt": {"c": float(k)}}) for k in range(100)}
    handle = dr.create_ruleset("stack", json.dumps(raw))
    with pytest.raises(dr.error, match="303"):
        dr.assert_fact(handle, '{"id":"1","sid":"s","c":1000.0}')
    dr.delete_ruleset(handle)
    with RuleSet(rules) as rs:
        assert len(rs._engines) == 3
        assert len(rs.evaluate([{"c": 1000}])) == 100


# --------------------------------------------------------------------- 11. regular expressions


@pytest.mark.parametrize("op", ["$mt", "$imt"])
def test_regular_expressions_are_refused(op: str) -> None:
    with pytest.raises(ValueError, match="regular expressions"):
        RuleSet({"r": one({op: {"name": "a.*"}})})


@pytest.mark.parametrize(
    "body",
    [
        {"all": [{"m$not": {"x": 1}}]},
        {"all": [{"m": {"$iany": {"xs": {"$gt": {"$i": 1}}}}}]},
        {"all": [{"m": {"x": None}}]},
        {"all": [{"m": {"x": [1, 2]}}]},
        {"all": [{"m": {"x": 1, "y": 2}}]},
        {"all": [{"m": {"x": {"q": "x"}}}]},
        {"all": [{"a": {"x": {"b": "x"}}}, {"b": {"x": 1}}]},
        {"any": [{"a": {"x": 1}}, {"b": {"x": {"a": "x"}}}]},
        {"all": []},
        {"pri": 1, "all": [{"m": {"x": 1}}]},
        {"all": [{"m": {"$and": []}}]},
        {"all": [{"m": {"x": {"$add": {"$l": 1, "$r": 2}}}}]},
    ],
)
def test_unsupported_constructs_are_refused(body: dict) -> None:
    with pytest.raises(ValueError):
        RuleSet({"r": body})


def test_or_expansion_is_bounded() -> None:
    pairs = [{"$or": [{f"x{i}": 1}, {f"y{i}": 1}]} for i in range(7)]  # 2**7 alternatives
    with pytest.raises(ValueError, match="more than 64 alternatives"):
        RuleSet({"r": one({"$and": pairs})})


# ------------------------------------------------------------------------------ 12. Chinese


def test_chinese_strings_match() -> None:
    rules = {"beijing": one({"city": "北京"})}
    messages, _ = raw_run(rules, [json.dumps({"id": "1", "sid": "s", "city": "北京"})])
    assert messages == []  # \uXXXX escapes are compared as raw text
    with RuleSet(rules) as rs:
        facts = [{"city": "北京"}, {"city": "上海"}, {"city": '北京"\\\n'}]
        assert [m.facts["m"] for m in rs.evaluate(facts)] == [{"city": "北京"}]


# ----------------------------------------------------------------------------- 13. lifecycle


def _rss_kb() -> int:
    """Resident set size from /proc/self/statm, in KiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def test_many_evaluations_keep_memory_flat_and_sessions_free() -> None:
    facts = [{TYPE_FIELD: "a", "k": i % 3, "x": i} for i in range(5)] + [
        {TYPE_FIELD: "b", "k": 1, "x": 0}
    ]
    rules = {
        "big": one({"$and": [{TYPE_FIELD: "a"}, {"$gt": {"x": 2}}]}),
        "pair": {
            "all": [
                {"a": {TYPE_FIELD: "a"}},
                {"b": {"$and": [{TYPE_FIELD: "b"}, {"k": {"a": "k"}}]}},
            ]
        },
    }
    with RuleSet(rules) as rs:
        expected = rs.evaluate(facts)
        for _ in range(500):
            rs.evaluate(facts)
        before = _rss_kb()
        for _ in range(5_000):  # > 1,024 sessions per ruleset
            assert rs.evaluate(facts) == expected
        assert _rss_kb() - before < 3_000


def test_an_unclosed_ruleset_is_deleted_when_collected() -> None:
    rs = RuleSet({"r": one({"x": 1})})
    handle = rs._handles[0]
    del rs
    gc.collect()
    with pytest.raises(dr.error, match="error code: 111"):  # invalid handle: already deleted
        dr.delete_ruleset(handle)


def test_decimal_comma_locale_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.locale, "localeconv", lambda: {"decimal_point": ","})
    with RuleSet({"r": one({"x": 1})}) as rs, pytest.raises(EngineError, match="LC_NUMERIC"):
        rs.evaluate([{"x": 1}])


def test_names_are_unique_and_close_is_final() -> None:
    a = RuleSet({"r": one({"x": 1})}, name="same")
    b = RuleSet({"r": one({"x": 2})}, name="same")
    assert len(a.evaluate([{"x": 1}])) == 1 and len(b.evaluate([{"x": 2}])) == 1
    a.close()
    a.close()
    with pytest.raises(RuntimeError, match="closed"):
        a.evaluate([{"x": 1}])
    assert len(b.evaluate([{"x": 2}])) == 1
    b.close()


def test_a_session_without_actions_crashes_raw_delete_but_not_ours() -> None:
    prelude = """
        import durable_rules_engine as dr
        # A session that stored many facts, then freed: its memory returns to the heap.
        h = dr.create_ruleset("a", '{"r":{"all":[{"m":{"x":1.0}}]}}')
        for i in range(3000):
            r = dr.assert_fact(h, '{"id":"%x","sid":"s","x":1.0}' % i)
        dr.start_action_for_state(h, r[1])
        dr.delete_state(h, "s")
        dr.delete_ruleset(h)
    """
    raw = run_python(
        prelude
        + """
        for k in range(50):  # sessions that never start an action
            h = dr.create_ruleset("b%d" % k, '{"r":{"all":[{"m":{"x":1.0}}]}}')
            dr.assert_fact(h, '{"id":"1","sid":"s","y":1.0}')
            dr.delete_state(h, "s")
            dr.delete_ruleset(h)
        """
    )
    assert raw.returncode == -11  # free() of an uninitialised pointer
    ours = run_python(
        prelude
        + """
        from sanding_rules.engine import RuleSet
        for k in range(50):
            with RuleSet({"r": {"all": [{"m": {"x": 1}}]}}) as rs:
                assert rs.evaluate([{"x": 2}]) == []
        print("ok")
        """
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == "ok"


# ------------------------------------------------------------------- joins: two engine bugs


def test_raw_join_skips_tests_after_a_nested_group() -> None:
    rules = {
        "j": {
            "all": [
                {"r": {"_fact": "r"}},
                {
                    "u": {
                        "$and": [
                            {"_fact": "u"},
                            {"$or": [{"a": 1.0}, {"a": 2.0}]},
                            {"$gt": {"n": {"r": "x"}}},
                        ]
                    }
                },
            ]
        }
    }
    facts = [
        {"id": "1", "_fact": "r", "x": 5.0, "a": 1.0},
        {"id": "2", "_fact": "u", "n": 1.0, "a": 1.0},
    ]
    raw, _ = raw_run(rules, facts)
    assert len(raw) == 1  # wrong: 1 > 5 is false
    with RuleSet(rules) as rs:
        assert rs.evaluate([{k: v for k, v in f.items() if k != "id"} for f in facts]) == []


def test_engine_patterns_are_flat_and_joins_end_with_a_true_test() -> None:
    rules = dict(REQUEST_RULES)
    rules["nested"] = {
        "all": [
            {"a": {"$and": [{TYPE_FIELD: "unit"}, {"$or": [{"x": 1}, {"$and": [{"y": 2}]}]}]}},
            {"b": {"$or": [{"x": {"a": "x"}}, {"$gt": {"y": {"a": "y"}}}]}},
        ]
    }
    guard = {"$lte": {"_m": {"p0": "_m"}}}
    seen = 0
    with RuleSet(rules) as rs:
        for eng in rs._engines:
            for name, rule in json.loads(eng.definition).items():
                if name == "all_":
                    continue
                for pattern in rule["all"]:
                    ((_, expr),) = pattern.items()
                    tests = expr["$and"]
                    assert not any("$and" in t or "$or" in t for t in tests)
                    text = [json.dumps(t, separators=(",", ":")) for t in tests]
                    joins = [t for t in text if re.search(r'"p\d+":"', t)]
                    assert not joins or tests[-1] == guard
                    seen += bool(joins)
    assert seen == 7  # u, f and g; b in each of the 2 x 2 engine rules of "nested"


def test_false_last_join_test_crashes_raw_engine_not_ours() -> None:
    rule = {
        "r6": {
            "all": [
                {"r": {"_fact": "request"}},
                {"u": {"$and": [{"_fact": "unit"}, {"$gt": {"n": {"r": "approved"}}}]}},
            ]
        }
    }
    # The join test is false and last in its $and: reduceExpressionSequence's skip loop starts
    # past the end mark and reads on until it meets a byte 0x0D or unmapped memory. Whether it
    # crashes depends on the heap layout; this script's layout is reproducible.
    raw = run_python(
        f"""
        import durable_rules_engine as dr, json
        h = dr.create_ruleset("t", json.dumps({rule!r}))
        facts = [{{"id": "1", "_fact": "unit", "n": 0.0}},
                 {{"id": "2", "_fact": "request", "approved": 1.0}}]
        for f in facts:
            f["sid"] = "s"
        dr.assert_facts(h, json.dumps(facts))
        """
    )
    assert raw.returncode == -11
    ours = run_python(
        f"""
        from sanding_rules.engine import RuleSet
        facts = [{{"_fact": "unit", "n": 0}}, {{"_fact": "request", "approved": 1}}]
        with RuleSet({rule!r}) as rs:
            for _ in range(200):
                assert rs.evaluate(facts) == []
            facts[0]["n"] = 2
            assert len(rs.evaluate(facts)) == 1
        print("ok")
        """
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- 14. threads


def test_threads_agree_with_sequential_results() -> None:
    result = run_python(
        """
        import threading
        from sanding_rules.engine import RuleSet
        rules = {
            "big": {"all": [{"m": {"$and": [{"_fact": "a"}, {"$gt": {"x": 50}}]}}]},
            "pair": {"all": [{"a": {"_fact": "a"}},
                             {"b": {"$and": [{"_fact": "b"}, {"k": {"a": "k"}}]}}]},
        }
        batches = [[{"_fact": "a" if i % 4 else "b", "k": (i + s) % 7, "x": (i * s) % 100}
                    for i in range(20)] for s in range(16)]
        shared = RuleSet(rules)
        def key(matches):
            return [(m.rule, sorted((n, id(f)) for n, f in m.facts.items())) for m in matches]
        expected = [key(shared.evaluate(b)) for b in batches]
        errors = []
        def work(t):
            own = RuleSet(rules)
            try:
                for round in range(40):
                    for j, b in enumerate(batches):
                        rs = shared if (round + t) % 2 else own
                        if key(rs.evaluate(b)) != expected[j]:
                            errors.append((t, round, j))
            finally:
                own.close()
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(errors), sum(len(e) for e in expected))
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    errors, total = result.stdout.split()
    assert errors == "0" and int(total) > 0


# ------------------------------------------------------------------ differential, randomized

_OPS = {
    "$eq": lambda a, b: a == b,
    "$neq": lambda a, b: a != b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
}
_ARITH = {
    "$add": lambda a, b: a + b,
    "$sub": lambda a, b: a - b,
    "$mul": lambda a, b: a * b,
    "$div": lambda a, b: a / b,
}


def _py_value(rv: object, fact: dict, bound: dict) -> float:
    """Python value of an rvalue."""
    if not isinstance(rv, dict):
        return rv  # type: ignore[return-value]
    ((key, value),) = rv.items()
    if key == "$m":
        return fact[value]
    if key in _ARITH:
        left, right = _py_value(value["$l"], fact, bound), _py_value(value["$r"], fact, bound)
        return _ARITH[key](left, right)
    return bound[key][value]


def _py_test(expr: dict, fact: dict, bound: dict) -> bool:
    """Python truth of a condition."""
    ((key, value),) = expr.items()
    if key == "$and":
        return all(_py_test(e, fact, bound) for e in value)
    if key == "$or":
        return any(_py_test(e, fact, bound) for e in value)
    if key in _OPS:
        ((field, rv),) = value.items()
        return _OPS[key](fact[field], _py_value(rv, fact, bound))
    return fact[key] == _py_value(value, fact, bound)


def _random_rvalue(rnd: random.Random, refs: list[str]) -> object:
    """A constant, field reference or arithmetic on one."""
    choice = rnd.random()
    if choice < 0.45:
        return rnd.choice([-2, -1, 0, 1, 2, 3, 0.5])
    ref = rnd.choice(refs)
    source = {"$m": rnd.choice("xyz")} if ref == "$m" else {ref: rnd.choice("xyz")}
    if choice < 0.8:
        return source
    op = rnd.choice(["$add", "$sub", "$mul", "$div"])
    other = rnd.choice([1, 2, -1]) if op == "$div" else rnd.choice([0, 1, 2, source])
    return {op: {"$l": source, "$r": other}}


def _random_expr(rnd: random.Random, refs: list[str], depth: int) -> dict:
    """A comparison or an $and/$or group of them."""
    if depth and rnd.random() < 0.5:
        group = rnd.choice(["$and", "$or"])
        return {group: [_random_expr(rnd, refs, depth - 1) for _ in range(rnd.randint(1, 3))]}
    op = rnd.choice(list(_OPS))
    test = {rnd.choice("xyz"): _random_rvalue(rnd, refs)}
    return test if op == "$eq" else {op: test}


def test_random_rules_agree_with_python() -> None:
    rnd = random.Random(20240601)
    checked = 0
    for _ in range(150):
        facts = [
            {TYPE_FIELD: rnd.choice("ab"), "k": rnd.randint(0, 2)}
            | {f: rnd.choice([-2, -1, 0, 1, 2, 3, 0.5]) for f in "xyz"}
            for _ in range(10)
        ]
        first = {"$and": [{TYPE_FIELD: "a"}, _random_expr(rnd, ["$m"], 2)]}
        second = {
            "$and": [
                {TYPE_FIELD: "b"},
                _random_expr(rnd, ["$m", "p", "p"], 2),
                {"k": {"p": "k"}},
                _random_expr(rnd, ["p"], 1),
            ]
        }
        rules = {"one": {"all": [{"p": first}]}, "two": {"all": [{"p": first}, {"q": second}]}}
        expected = []
        for i, f in enumerate(facts):
            if f[TYPE_FIELD] == "a" and _py_test(first, f, {}):
                expected.append(("one", (i,)))
        for i, f in enumerate(facts):
            for j, g in enumerate(facts):
                if (
                    f[TYPE_FIELD] == "a"
                    and g[TYPE_FIELD] == "b"
                    and _py_test(first, f, {})
                    and _py_test(second, g, {"p": f})
                ):
                    expected.append(("two", (i, j)))
        with RuleSet(rules) as rs:
            got = [
                (
                    m.rule,
                    tuple(next(k for k, f in enumerate(facts) if f is v) for v in m.facts.values()),
                )
                for m in rs.evaluate(facts)
            ]
        assert got == expected, json.dumps(rules)
        checked += len(expected)
    assert checked > 200  # the random rules do match things
