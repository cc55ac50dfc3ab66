"""Micro-benchmark of sanding_rules.engine: latency of small evaluations, throughput of big ones.

Run: .venv/bin/python bench/engine_micro.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from sanding_rules.engine import RuleSet

RULES = {
    "over_quota": {"all": [{"m": {"$and": [{"_fact": "post"}, {"$gt": {"actual": {"$m": "approved"}}}]}}]},
    "no_quota": {"all": [{"m": {"$and": [{"_fact": "post"}, {"approved": 0}]}}]},
    "big_unit": {"all": [{"m": {"$and": [{"_fact": "post"}, {"$gte": {"actual": 90}}]}}]},
    "high_ratio": {"all": [{"m": {"$and": [{"_fact": "post"}, {"$gt": {"ratio": 0.95}}]}}]},
    "stale": {"all": [{"m": {"$and": [{"_fact": "post"}, {"$gt": {"days": 3650}}]}}]},
    "vacant": {"all": [{"m": {"$and": [{"_fact": "post"}, {"actual": 0}, {"$gt": {"approved": 0}}]}}]},
    "leader_excess": {
        "all": [{"m": {"$and": [{"_fact": "post"}, {"kind": "leader"}, {"$gt": {"actual": 5}}]}}]
    },
    "odd_level": {
        "all": [{"m": {"$and": [{"_fact": "post"}, {"$or": [{"level": "x"}, {"level": "y"}]}]}}]
    },
    "ratio_gap": {
        "all": [
            {
                "m": {
                    "$and": [
                        {"_fact": "post"},
                        {"$lt": {"ratio": {"$div": {"$l": {"$m": "actual"}, "$r": 200}}}},
                    ]
                }
            }
        ]
    },
    "tiny": {"all": [{"m": {"$and": [{"_fact": "post"}, {"$lt": {"approved": 2}}]}}]},
}  # fmt: skip


def make_facts(n: int, seed: int = 7) -> list[dict]:
    """Return n synthetic 'post' facts of 9 fields."""
    rnd = random.Random(seed)
    facts = []
    for i in range(n):
        approved = rnd.randint(0, 100)
        facts.append(
            {
                "_fact": "post",
                "unit_id": f"U{i % 500:04d}",
                "kind": rnd.choice(["leader", "staff", "staff", "staff"]),
                "level": rnd.choice(["a", "b", "c", "x"]),
                "approved": approved,
                "actual": max(0, approved + rnd.randint(-10, 5)),
                "ratio": round(rnd.random(), 4),
                "days": rnd.randint(0, 4000),
                "name": f"岗位{i}",
            }
        )
    return facts


def latency(rs: RuleSet, runs: int) -> None:
    """Median and p99 of evaluate() on 5 facts."""
    facts = make_facts(5)
    rs.evaluate(facts)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        rs.evaluate(facts)
        times.append(time.perf_counter() - t0)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(
        f"5 facts x {len(RULES)} rules, {runs} runs: median {statistics.median(times) * 1e3:.3f} ms, "
        f"p99 {p99 * 1e3:.3f} ms"
    )


def throughput(rs: RuleSet, n: int) -> None:
    """Facts per second for one evaluate() of n facts."""
    facts = make_facts(n)
    t0 = time.perf_counter()
    matches = rs.evaluate(facts)
    elapsed = time.perf_counter() - t0
    print(
        f"{n} facts x {len(RULES)} rules: {elapsed:.2f} s, {n / elapsed:,.0f} facts/s, "
        f"{len(matches)} matches"
    )


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs, for smoke tests")
    args = parser.parse_args()
    with RuleSet(RULES, name="bench") as rs:
        latency(rs, 200 if args.quick else 2000)
        throughput(rs, 5_000 if args.quick else 50_000)


if __name__ == "__main__":
    main()
