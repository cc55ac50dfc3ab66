"""Write the synthetic province for the benchmark: 50,000 units, about 1.6 million people.

The dataset comes from sanding_rules.synth (fixed seed, ~32 people per unit), written as
UTF-8 CSV with English headers and codes (data contract v1) to bench/data/province/
(gitignored). By default only the five tables the Q, L, B and P rules read are written
(units, quotas, leader_quotas, bodies, roster); --all-tables writes the other four too.

A small stamp file (.stamp.json) records the parameters; when it matches, nothing is
regenerated. Run: .venv/bin/python bench/make_province.py [--units N] [--out DIR] [--force]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data" / "province"
UNITS = 50_000
SEED = 20260630
PEOPLE_PER_UNIT = 32
AS_OF = "2026-06-30"
RULE_TABLES = ("units", "quotas", "leader_quotas", "bodies", "roster")
# synth.TABLES, spelled out so that importing this module stays light (bench/run.py does,
# and its children's peak RSS would otherwise include a parent that imported pandas).
ALL_TABLES = (
    "units",
    "quotas",
    "leader_quotas",
    "bodies",
    "duties",
    "roster",
    "payroll",
    "workload",
    "movements",
)
STAMP = ".stamp.json"
STAMP_VERSION = 1


def params(units: int, all_tables: bool) -> dict:
    """What the stamp records: everything that decides the files' content."""
    return {
        "version": STAMP_VERSION,
        "units": units,
        "seed": SEED,
        "people_per_unit": PEOPLE_PER_UNIT,
        "as_of": AS_OF,
        "style": "csv",
        "tables": list(ALL_TABLES if all_tables else RULE_TABLES),
    }


def is_current(out: Path, wanted: dict) -> bool:
    """True when out holds a finished dataset made with these parameters."""
    stamp = out / STAMP
    if not stamp.is_file():
        return False
    try:
        got = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if got.get("params") != wanted:
        return False
    return all((out / f"{t}.csv").is_file() for t in wanted["tables"])


def make(
    out: Path = DEFAULT_OUT,
    units: int = UNITS,
    all_tables: bool = False,
    force: bool = False,
    quiet: bool = False,
) -> Path:
    """Write the province to out unless it is already there; return out."""
    from datetime import date

    from sanding_rules import synth

    wanted = params(units, all_tables)
    if not force and is_current(out, wanted):
        if not quiet:
            print(f"province up to date: {out} ({units} units)", file=sys.stderr)
        return out
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP).unlink(missing_ok=True)  # a half-written folder is never "current"
    for old in out.glob("*.csv"):
        old.unlink()
    t0 = time.perf_counter()
    ds = synth.generate(
        units, SEED, people_per_unit=PEOPLE_PER_UNIT, as_of=date.fromisoformat(AS_OF)
    )
    t1 = time.perf_counter()
    synth.write(ds, out, "csv", tables=wanted["tables"])
    t2 = time.perf_counter()
    stamp = {
        "params": wanted,
        "rows": {t: len(getattr(ds, t)) for t in wanted["tables"]},
        "generate_seconds": round(t1 - t0, 1),
        "write_seconds": round(t2 - t1, 1),
    }
    (out / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    if not quiet:
        rows = ", ".join(f"{t} {n:,}" for t, n in stamp["rows"].items())
        print(
            f"wrote {out}: {rows} (generate {t1 - t0:.1f}s, write {t2 - t1:.1f}s)", file=sys.stderr
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=UNITS, help=f"number of units (default {UNITS:,})")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder (default bench/data/province, or bench/data/province-N for --units N)",
    )
    ap.add_argument(
        "--all-tables",
        action="store_true",
        help="also write duties, payroll, workload and movements",
    )
    ap.add_argument("--force", action="store_true", help="regenerate even when up to date")
    args = ap.parse_args(argv)
    make(args.out or default_folder(args.units), args.units, args.all_tables, args.force)
    return 0


def default_folder(units: int) -> Path:
    """bench/data/province for the full province, bench/data/province-N otherwise."""
    return DEFAULT_OUT if units == UNITS else DEFAULT_OUT.with_name(f"province-{units}")


if __name__ == "__main__":
    sys.exit(main())
