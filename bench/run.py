"""Province benchmark: the engine's full audit against a hand-written pandas script.

Makes the synthetic province if needed (bench/make_province.py), then runs, each in a fresh
subprocess and alternately, N times (default 3):

  (a) the hand-written pandas script, bench/handwritten.py;
  (b) sanding audit bench/data/province --as-of 2026-06-30 --format json --out ...
      (the full audit: loading, validation, facts, rules and the JSON report).

Time is wall-clock from process start to exit (output written); peak memory is the
child's maximum resident set size (os.wait4). Prints the medians side by side, the ratio,
PASS/FAIL against the targets (engine time <= 1.5 x hand-written, engine peak < 2 GB),
whether the two sets of (rule, unit_id, subject) findings of the Q, L, B and P families
agree, and the figures beside those of bench/baseline.json (written with
--save-baseline), flagging a regression of more than 10 % in the engine's time or memory.

Exit status: 0 all targets met and findings agree; 1 a target failed or the findings
disagree (or, with --fail-on-regression, a regression against the baseline); 2 a side
crashed.

Run: .venv/bin/python bench/run.py [--units N] [--repeat N] [--save-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_province  # noqa: E402

AS_OF = make_province.AS_OF
OUT = HERE / "out"
BASELINE = HERE / "baseline.json"
MAX_RATIO = 1.5
MAX_PEAK_BYTES = 2 * 1024**3
REGRESSION = 0.10


@dataclass
class Side:
    name: str
    times: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)  # bytes
    cpus: list[float] = field(default_factory=list)  # user + system seconds
    findings: int | None = None

    @property
    def time(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus)

    @property
    def peak(self) -> int:
        return max(self.peaks)


def run_once(cmd: list[str], log: Path, ok_codes: tuple[int, ...]) -> tuple[float, float, int]:
    """Run cmd in a fresh process; return (wall seconds, CPU seconds, peak RSS bytes).

    The peak is the child's own ru_maxrss from wait4 (RUSAGE_CHILDREN would be the maximum
    over every child so far). Linux carries ru_maxrss across fork and exec, so a child's
    figure is at least this process's RSS at the fork: this script keeps itself small
    (no pandas) for that reason.
    """
    with open(log, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        sys.exit(f"{' '.join(cmd)}\nexited with {proc.returncode}:\n{tail}")
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, usage.ru_maxrss * 1024  # Linux reports kilobytes


# The rule families the hand-written script implements (rule catalogue: Q, L, B, P).
FAMILIES = ("Q", "L", "B", "P")


def engine_keys(path: Path) -> tuple[set[tuple[str, str, str]], int]:
    """(rule, unit_id, subject) of the engine's Q/L/B/P findings, and how many others."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    keys = {(f["rule"], f["unit_id"], f["subject"]) for f in doc["findings"]}
    ours = {k for k in keys if k[0].startswith(FAMILIES) and k[0][1:].isdigit()}
    return ours, len(keys) - len(ours)


def hand_keys(path: Path) -> set[tuple[str, str, str]]:
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        return {(r["rule"], r["unit_id"], r["subject"]) for r in csv.DictReader(f)}


def machine() -> dict[str, str | int]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    # Asked of a child so that this process never imports pandas (see run_once).
    versions = subprocess.run(
        [
            sys.executable,
            "-c",
            "import numpy, pandas; print(pandas.__version__, numpy.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "nproc": os.cpu_count() or 0,
        "memory_gb": round(mem / 1024**3, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "pandas": versions[0],
        "numpy": versions[1],
    }


def mb(n: float) -> str:
    return f"{n / 1024**2:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=make_province.UNITS)
    ap.add_argument("--repeat", type=int, default=3, help="runs per side (median is reported)")
    ap.add_argument(
        "--save-baseline",
        action="store_true",
        help=f"write this run's figures to {BASELINE.relative_to(HERE.parent)}",
    )
    ap.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when the engine regressed more than 10%% against the baseline",
    )
    args = ap.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # keep order with the children's stderr

    folder = make_province.default_folder(args.units)
    py = sys.executable
    # In a child process: ru_maxrss is inherited across fork, so this process stays small.
    subprocess.run([py, str(HERE / "make_province.py"), "--units", str(args.units)], check=True)
    stamp = json.loads((folder / make_province.STAMP).read_text(encoding="utf-8"))
    people = stamp["rows"]["roster"]
    OUT.mkdir(exist_ok=True)
    sanding = str(Path(py).with_name("sanding"))
    hand_out, engine_out = OUT / "handwritten.csv", OUT / "engine.json"
    sides = {
        "hand": (
            Side("hand-written pandas"),
            [
                py,
                str(HERE / "handwritten.py"),
                str(folder),
                "--as-of",
                AS_OF,
                "--out",
                str(hand_out),
            ],
            (0,),
        ),
        # Exit 1 means "findings at or above error", which the province has by design.
        "engine": (
            Side("sanding audit"),
            [
                sanding,
                "audit",
                str(folder),
                "--as-of",
                AS_OF,
                "--format",
                "json",
                "--out",
                str(engine_out),
            ],
            (0, 1),
        ),
    }
    print(f"province: {folder} ({args.units:,} units, {people:,} people), as of {AS_OF}")
    for i in range(args.repeat):
        for key, (side, cmd, ok) in sides.items():
            t, cpu, peak = run_once(cmd, OUT / f"{key}.stderr", ok)
            side.times.append(t)
            side.cpus.append(cpu)
            side.peaks.append(peak)
            print(
                f"  run {i + 1}/{args.repeat} {side.name:<20} {t:7.2f} s  (CPU {cpu:6.2f} s)"
                f"  {mb(peak):>9}",
                flush=True,
            )
    hand, engine = sides["hand"][0], sides["engine"][0]
    hk, (ek, other) = hand_keys(hand_out), engine_keys(engine_out)
    hand.findings, engine.findings = len(hk), len(ek)
    agree = hk == ek
    ratio = engine.time / hand.time
    time_ok = ratio <= MAX_RATIO
    mem_ok = engine.peak < MAX_PEAK_BYTES

    print()
    print(f"{'':<22}{'hand-written':>14}{'sanding audit':>16}")
    print(f"{'time (median, s)':<22}{hand.time:>14.2f}{engine.time:>16.2f}")
    print(f"{'CPU user+sys (median)':<22}{hand.cpu:>14.2f}{engine.cpu:>16.2f}")
    print(f"{'peak RSS (max)':<22}{mb(hand.peak):>14}{mb(engine.peak):>16}")
    print(f"{'findings':<22}{hand.findings:>14,}{engine.findings:>16,}")
    print()
    print(
        f"time ratio engine/hand: {ratio:.2f}  (target <= {MAX_RATIO})  "
        f"{'PASS' if time_ok else 'FAIL'}"
    )
    print(f"  (CPU-time ratio {engine.cpu / hand.cpu:.2f}: less sensitive to other load)")
    print(
        f"engine peak memory:     {mb(engine.peak)}  (target < {mb(MAX_PEAK_BYTES)})  "
        f"{'PASS' if mem_ok else 'FAIL'}"
    )
    if other:
        print(f"  (the engine also made {other:,} findings of other families: not compared)")
    if agree:
        print(f"findings agree:         yes ({len(ek):,} (rule, unit_id, subject))")
    else:
        only_e, only_h = sorted(ek - hk), sorted(hk - ek)
        print(
            f"findings agree:         NO: {len(only_e)} only in the engine's, "
            f"{len(only_h)} only in the hand-written"
        )
        for label, items in (("engine only", only_e), ("hand-written only", only_h)):
            for item in items[:10]:
                print(f"  {label}: {item}")

    figures = {
        "units": args.units,
        "people": people,
        "as_of": AS_OF,
        "repeat": args.repeat,
        "hand": {
            "seconds": round(hand.time, 2),
            "cpu_seconds": round(hand.cpu, 2),
            "peak_mb": round(hand.peak / 1024**2),
            "findings": hand.findings,
            "runs": [round(t, 2) for t in hand.times],
        },
        "engine": {
            "seconds": round(engine.time, 2),
            "cpu_seconds": round(engine.cpu, 2),
            "peak_mb": round(engine.peak / 1024**2),
            "findings": engine.findings,
            "runs": [round(t, 2) for t in engine.times],
        },
        "ratio": round(ratio, 2),
        "cpu_ratio": round(engine.cpu / hand.cpu, 2),
        "findings_agree": agree,
        "machine": machine(),
        "recorded": time.strftime("%Y-%m-%d %H:%M"),
    }
    regressed = compare_baseline(figures)
    if args.save_baseline:
        BASELINE.write_text(
            json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"\nbaseline saved to {BASELINE}")
    failed = not (time_ok and mem_ok and agree) or (args.fail_on_regression and regressed)
    return 1 if failed else 0


def compare_baseline(now: dict) -> bool:
    """Print this run beside the baseline; True when the engine regressed by more than 10 %."""
    print()
    if not BASELINE.is_file():
        print(f"baseline: none ({BASELINE.name} missing; write one with --save-baseline)")
        return False
    base = json.loads(BASELINE.read_text(encoding="utf-8"))
    print(
        f"baseline: {BASELINE.name}, recorded {base.get('recorded', '?')} on "
        f"{base.get('machine', {}).get('cpu', '?')} ({base.get('machine', {}).get('nproc', '?')} "
        f"CPUs)"
    )
    if base.get("units") != now["units"]:
        print(
            f"  baseline is for {base.get('units')} units, this run for {now['units']}: "
            "not compared"
        )
        return False
    rows = [
        ("hand-written time (s)", base["hand"]["seconds"], now["hand"]["seconds"], False),
        ("hand-written peak (MB)", base["hand"]["peak_mb"], now["hand"]["peak_mb"], False),
        ("engine time (s)", base["engine"]["seconds"], now["engine"]["seconds"], True),
        ("engine CPU (s)", base["engine"].get("cpu_seconds"), now["engine"]["cpu_seconds"], False),
        ("engine peak (MB)", base["engine"]["peak_mb"], now["engine"]["peak_mb"], True),
        ("ratio", base["ratio"], now["ratio"], False),
        ("findings", base["engine"]["findings"], now["engine"]["findings"], False),
    ]
    regressed = False
    print(f"  {'':<24}{'baseline':>10}{'now':>10}{'change':>9}")
    for label, old, new, watched in rows:
        if old is None:
            continue
        change = (new - old) / old if old else 0.0
        flag = ""
        if watched and change > REGRESSION:
            flag = "  REGRESSION (> +10%)"
            regressed = True
        print(f"  {label:<24}{old:>10}{new:>10}{change:>+9.1%}{flag}")
    if base.get("machine") != now["machine"]:
        print("  note: the baseline was recorded on a different machine or software versions")
    return regressed


if __name__ == "__main__":
    sys.exit(main())
