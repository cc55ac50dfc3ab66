"""Benchmark: decisions on staffing requests against the synthetic province.

1. Makes the province if needed (bench/make_province.py: 50,000 units, ~1.6 million people) and
   a dataset beside it, bench/data/province-decisions/, that links the province's tables and adds
   a movements table and a grades table (synthetic, fixed seed).
2. In-process: loads a Decider once, then decides N generated requests one at a time, as the
   service does for a single-request call (validation included): p50, p99, max.
3. Over HTTP: starts `sanding serve` on a loopback port in a child process and sends the same
   kind of requests at a fixed rate (open loop, bounded number in flight; latency counted from
   each request's scheduled time, so queueing is not hidden): p50, p99, errors.

Run: .venv/bin/python bench/decisions.py [--requests 2000] [--rate 200] [--seconds 30]
Targets: in-process p99 < 10 ms; HTTP p99 < 25 ms at 200 requests/s with no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
PROVINCE = HERE / "data" / "province"
DATA = HERE / "data" / "province-decisions"
AS_OF = "2026-06-30"
AUDITED = "2026-03-31"
SEED = 20260701
TABLES = ("units", "quotas", "leader_quotas", "bodies", "roster")


def prepare() -> tuple[Path, Path]:
    """The decisions dataset (province tables linked, movements added) and its grades file."""
    import make_province

    make_province.make(PROVINCE)
    DATA.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        link = DATA / f"{table}.csv"
        if not link.exists():
            link.symlink_to(PROVINCE / f"{table}.csv")
    grades = HERE / "data" / "province-grades.csv"
    movements = DATA / "movements.csv"
    if grades.exists() and movements.exists():
        return DATA, grades
    import csv

    rng = random.Random(SEED)
    with open(PROVINCE / "units.csv", encoding="utf-8") as fh:
        units = [row["unit_id"] for row in csv.DictReader(fh)]
    with open(grades, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["unit_id", "grade", "audited_on"])
        for u in units:
            w.writerow([u, rng.choices("ABC", weights=(25, 55, 20))[0], AUDITED])
    with open(movements, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person_id", "unit_id", "direction", "date"])
        n = 0
        for u in units:
            for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):
                n += 1
                day = f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"
                w.writerow([f"MV{n:07d}", u, rng.choice(("out", "out", "in")), day])
    return DATA, grades


def make_requests(n: int, units: list[str], categories: dict[str, list[str]]) -> list[dict]:
    """Requests of every type over random units (categories the unit has, mostly)."""
    rng = random.Random(SEED + 1)
    levels = ["principal", "deputy", "body_principal", "body_deputy"]
    out = []
    for i in range(n):
        u = rng.choice(units)
        t = rng.choices(["hire", "add_quota", "add_body", "appoint"], weights=(50, 20, 15, 15))[0]
        req = {"request_id": f"B{i}", "unit_id": u, "type": t, "date": "2026-07-15"}
        if t in ("hire", "add_quota"):
            cats = categories.get(u) or ["admin"]
            req["category"] = rng.choice(cats) if rng.random() < 0.9 else "logistics"
        if t == "appoint":
            req["level"] = rng.choice(levels)
        req["count"] = rng.choice((1, 1, 1, 2, 3))
        out.append(req)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def in_process(data: Path, grades: Path, n: int) -> tuple[dict, list[dict]]:
    from datetime import date

    from sanding_rules.decide import DeciderConfig, load_decider
    from sanding_rules.requests import raw_requests

    t0 = time.perf_counter()
    decider = load_decider(DeciderConfig(data, grades=grades, as_of=date.fromisoformat(AS_OF)))
    startup = time.perf_counter() - t0
    quota = decider.facts["quota"]
    categories = quota.groupby("unit_id")["category"].agg(list).to_dict()
    units = decider.facts["unit"]["unit_id"].tolist()
    requests = make_requests(n, units, categories)
    for req in requests[:50]:  # warm-up
        decider.decide_batch(raw_requests(req, None))
    times = []
    outcomes: dict[str, int] = {}
    for req in requests:
        t = time.perf_counter()
        result = decider.decide_batch(raw_requests(req, None))
        times.append((time.perf_counter() - t) * 1000)
        for d in result["decisions"]:
            outcomes[d["decision"]] = outcomes.get(d["decision"], 0) + 1
        assert not result["errors"], result["errors"]
    stats = {
        "startup_s": round(startup, 1),
        "decisions": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p99_ms": round(percentile(times, 99), 2),
        "max_ms": round(max(times), 2),
        "outcomes": outcomes,
    }
    return stats, requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def over_http(data: Path, grades: Path, requests: list[dict], rate: float, seconds: float) -> dict:
    import http.client

    port = free_port()
    code = "from sanding_rules.requests_cli import serve_command; serve_command()"
    args = [sys.executable, "-c", code, "--data", str(data), "--grades", str(grades)]
    args += ["--port", str(port), "--as-of", AS_OF]
    log = open(HERE / "out" / "decisions-serve.log", "w", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(
        args, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    try:
        t0 = time.perf_counter()
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/healthz")
                probe.getresponse().read()
                probe.close()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > 600:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.5)
        startup = time.perf_counter() - t0
        local = threading.local()

        def post(req: dict) -> tuple[int, dict]:
            # One keep-alive connection per worker (the standard library's client: the load
            # generator shares the machine with the server, so it should cost little).
            if not hasattr(local, "conn"):
                local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            body = json.dumps(req).encode()
            headers = {"Content-Type": "application/json"}
            try:
                local.conn.request("POST", "/v1/decisions", body, headers)
                r = local.conn.getresponse()
                return r.status, json.loads(r.read())
            except (OSError, http.client.HTTPException):
                local.conn.close()
                del local.conn
                raise

        total = int(rate * seconds)
        latencies: list[float] = []
        timeline: list[tuple[float, float]] = []
        errors = [0]
        lock = threading.Lock()

        def job(req: dict, scheduled: float) -> None:
            try:
                status, answer = post(req)
                ok = status == 200 and not answer["errors"]
            except (OSError, http.client.HTTPException, ValueError):
                ok = False
            elapsed = (time.perf_counter() - scheduled) * 1000
            with lock:
                latencies.append(elapsed)
                timeline.append((round(scheduled - start, 3), round(elapsed, 2)))
                if not ok:
                    errors[0] += 1

        # Bounded load generator: at most 32 requests in flight; a request that has to wait for
        # a free worker still counts its wait from its scheduled time. Every worker opens its
        # connection during the warm-up, before the measured phase.
        with ThreadPoolExecutor(32) as pool:
            barrier = threading.Barrier(32)

            def warm(k: int) -> None:
                barrier.wait()
                for req in requests[k * 3 : k * 3 + 3]:
                    post(req)

            list(pool.map(warm, range(32)))
            start = time.perf_counter() + 0.5
            for i in range(total):
                scheduled = start + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(job, requests[i % len(requests)], scheduled)
        achieved = total / (time.perf_counter() - start)
        (HERE / "out" / "decisions-timeline.json").write_text(json.dumps(sorted(timeline)))
        return {
            "startup_s": round(startup, 1),
            "rate_target": rate,
            "rate_achieved": round(achieved, 1),
            "requests": total,
            "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2),
            "max_ms": round(max(latencies), 2),
            "errors": errors[0],
        }
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    (HERE / "out").mkdir(exist_ok=True)
    data, grades = prepare()
    stats, requests = in_process(data, grades, args.requests)
    print("in-process:", json.dumps(stats), flush=True)
    result = {"in_process": stats}
    if not args.skip_http:
        http = over_http(data, grades, requests, args.rate, args.seconds)
        print("http:", json.dumps(http), flush=True)
        result["http"] = http
    (HERE / "out" / "decisions.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
