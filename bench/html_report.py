"""The HTML report's responsiveness on a large dataset, in Debian's headless chromium.

Writes a synthetic dataset (default 5,000 units, seed 5005, to bench/data/html-N/, kept while
its stamp matches), renders `sanding audit --format html` for it, opens the page in chromium
through Playwright, and measures:

- open: from navigation until the unit table shows its first rows;
- filter: for each of six queries (a unit id, two characters of a name, a prefix matching
  most units, a common word, a query matching nothing, the empty query), the time from
  typing it until the next frame is painted; each query 5 times, the median kept;
- sort: clicking the name column's header until the next frame.

The figures are printed beside bench/html_baseline.json (written with --save-baseline), with
REGRESSION flagged when a median is more than 25 % and 20 ms above it (times of a few
milliseconds jitter by more than 10 %). This is a script, not a test: tests check that the
page filters correctly, this measures how fast.

Run: .venv/bin/python bench/html_report.py [--units N] [--data DIR] [--save-baseline]
Needs /usr/bin/chromium (apt-get install chromium fonts-wqy-microhei) and playwright (the
project's test extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# The browser, its flags and the filter probe are the HTML tests' own.
from tests.test_html import ARGS, CHROMIUM, FILTER_JS  # noqa: E402

BASELINE = HERE / "html_baseline.json"
AS_OF = "2026-06-30"
REPEAT = 5

SORT_JS = """() => new Promise((resolve) => {
    const t0 = performance.now();
    document.querySelector('#unit-table th[data-key="name"] button').click();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
})"""


def dataset(units: int) -> Path:
    """A synthetic dataset of that many units, written once (a stamp file records it)."""
    from sanding_rules import synth

    folder = HERE / "data" / f"html-{units}"
    stamp = folder / ".stamp.json"
    want = {"units": units, "seed": 5005}
    if stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")) == want:
        return folder
    synth.write(synth.generate(units, seed=5005), folder)
    stamp.write_text(json.dumps(want), encoding="utf-8")
    return folder


def render(data: Path, out: Path) -> float:
    """Write the HTML report with the command line; seconds it took."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "sanding_rules.cli", "audit", str(data), "--as-of", AS_OF]
    proc = subprocess.run(
        [*cmd, "--format", "html", "--out", str(out)], capture_output=True, text=True
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"sanding audit failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def measure(html: Path) -> dict:
    """Open, filter and sort timings in chromium (milliseconds)."""
    from playwright.sync_api import sync_playwright

    units = json.loads(
        html.read_text(encoding="utf-8")
        .split('<script type="application/json" id="sanding-data">', 1)[1]
        .split("</script>", 1)[0]
    )["units"]
    some = units[min(1234, len(units) - 1)]
    queries = {
        "unit id": some["i"],
        "two characters of a name": some["n"][:2],
        "prefix of most ids": "U0",
        "common word 镇": "镇",
        "no match": "不存在的单位",
        "empty (all units)": "",
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        start = time.perf_counter()
        page.goto(html.as_uri())
        page.wait_for_selector("#unit-table tbody tr.u")
        opened = (time.perf_counter() - start) * 1000
        filters = {}
        for label, q in queries.items():
            runs = []
            for _ in range(REPEAT):
                ms, *_ = page.evaluate(FILTER_JS, q)
                runs.append(ms)
                page.evaluate(FILTER_JS, "")
            filters[label] = round(statistics.median(runs), 1)
        sort = round(page.evaluate(SORT_JS), 1)
        browser.close()
    return {"units": len(units), "open_ms": round(opened), "filter_ms": filters, "sort_ms": sort}


def compare(now: dict) -> bool:
    """Print the figures beside the baseline; True when one regressed."""
    base = json.loads(BASELINE.read_text(encoding="utf-8")) if BASELINE.is_file() else None
    if base and base.get("units") != now["units"]:
        print(f"baseline is for {base.get('units')} units, this run for {now['units']}")
        base = None
    rows = [("open", now["open_ms"], base and base["open_ms"])]
    rows += [
        (f"filter: {k}", v, base and base["filter_ms"].get(k)) for k, v in now["filter_ms"].items()
    ]
    rows.append(("sort by name", now["sort_ms"], base and base["sort_ms"]))
    regressed = False
    print(f"\n{'ms (median)':<34}{'baseline':>10}{'now':>10}")
    for label, new, old in rows:
        flag = ""
        if old is not None and new > old * 1.25 and new - old > 20:
            flag = "  REGRESSION"
            regressed = True
        print(f"{label:<34}{'-' if old is None else old:>10}{new:>10}{flag}")
    return regressed


def main(argv: list[str] | None = None) -> int:
    """Render, measure, print; exit 1 on a regression against the baseline."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=5000, help="synthetic units (default 5,000)")
    ap.add_argument("--data", type=Path, help="audit this dataset folder instead")
    ap.add_argument("--save-baseline", action="store_true", help=f"write {BASELINE.name}")
    args = ap.parse_args(argv)
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} not found: apt-get install chromium fonts-wqy-microhei")
    data = args.data or dataset(args.units)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    html = out / "report.html"
    seconds = render(data, html)
    print(f"{data}: report written in {seconds:.1f} s, {html.stat().st_size / 1e6:.1f} MB")
    now = measure(html)
    now["recorded"] = time.strftime("%Y-%m-%d %H:%M")
    regressed = compare(now)
    if args.save_baseline:
        BASELINE.write_text(json.dumps(now, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"baseline saved to {BASELINE}")
    return 1 if regressed else 0


if __name__ == "__main__":
    sys.exit(main())
