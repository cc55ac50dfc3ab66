"""Audits of generated datasets report exactly the catalogue's findings (the oracle's).

The datasets are generated here with seeds the fixtures do not use, written in each format a
user may bring, read back by the real loader, and audited by the CLI's own pipeline. The oracle
(tests/oracle.py) was written from the catalogue independently of the engine.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from sanding_rules import synth
from sanding_rules.audit import run_audit
from sanding_rules.cli import main
from sanding_rules.evaluate import find
from sanding_rules.rulefile import load_rules

from .oracle import expected_findings

AS_OF = date(2026, 6, 30)
RULES = load_rules()


@pytest.fixture(scope="module")
def generated() -> synth.SynthDataset:
    return synth.generate(160, seed=4242, as_of=AS_OF)


def oracle_keys(ds: synth.SynthDataset, as_of: date = AS_OF) -> Counter:
    return Counter(
        (f["rule"], f["unit_id"], f["subject"]) for f in expected_findings(ds.tables(), as_of)
    )


def audit_keys(folder: Path, as_of: date = AS_OF, path: str = "bulk") -> Counter:
    result = run_audit(folder, RULES, as_of, path=path)
    return Counter(f.key for f in result.findings)


def diff(got: Counter, want: Counter) -> str:
    missing = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    return f"missing {missing[:10]} ({len(missing)}), extra {extra[:10]} ({len(extra)})"


@pytest.mark.parametrize("style", ["csv", "csv-bom", "csv-gbk-zh", "xlsx", "workbook"])
def test_each_input_format_gives_exactly_the_catalogue_findings(
    generated, tmp_path: Path, style: str
) -> None:
    synth.write(generated, tmp_path, style)
    got = audit_keys(tmp_path)
    want = oracle_keys(generated)
    assert got == want, diff(got, want)
    # Every rule of the families fires somewhere, so "exactly" is not vacuous.
    assert {k[0] for k in want} >= {r.id for r in RULES}


@pytest.mark.parametrize(
    "seed, as_of", [(7, date(2026, 6, 30)), (8, date(2024, 12, 31)), (9, date(2027, 3, 1))]
)
def test_other_seeds_and_dates(tmp_path: Path, seed: int, as_of: date) -> None:
    ds = synth.generate(120, seed=seed, as_of=as_of)
    synth.write(ds, tmp_path, "csv")
    got = audit_keys(tmp_path, as_of)
    want = oracle_keys(ds, as_of)
    assert got == want, diff(got, want)


def test_bulk_and_engine_paths_agree_on_a_generated_dataset(generated, tmp_path: Path) -> None:
    synth.write(generated, tmp_path, "csv")
    bulk = run_audit(tmp_path, RULES, AS_OF, path="bulk")
    engine = find(RULES, bulk.facts, path="engine")
    assert [f.to_json() for f in bulk.findings] == [f.to_json() for f in engine]
    assert len(bulk.findings) > 50


def test_engine_path_per_unit_equals_bulk(generated, tmp_path: Path) -> None:
    synth.write(generated, tmp_path, "csv")
    bulk = run_audit(tmp_path, RULES, AS_OF, path="bulk")
    units = sorted({f.unit_id for f in bulk.findings})[:10]
    for uid in units:
        one = find(RULES, bulk.facts, path="engine", unit_ids={uid})
        assert [f.key for f in one] == [f.key for f in bulk.findings if f.unit_id == uid]


def test_cli_json_on_gbk_chinese_dataset(generated, tmp_path: Path) -> None:
    synth.write(generated, tmp_path, "csv-gbk-zh")
    out = tmp_path / "out.json"
    res = CliRunner().invoke(
        main,
        ["audit", str(tmp_path), "--as-of", "2026-06-30", "--format", "json", "--out", str(out)],
    )
    assert res.exit_code == 1, res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    got = Counter((f["rule"], f["unit_id"], f["subject"]) for f in data["findings"])
    assert got == oracle_keys(generated)
