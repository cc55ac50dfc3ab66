"""Three-determinations documents (sanding/*.yaml|xml) audit exactly like the tables they replace."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from sanding_rules.audit import run_audit
from sanding_rules.rulefile import load_rules

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
TABLES = ("quotas", "leader_quotas", "bodies")


def split_out(folder: Path, unit_id: str) -> dict[str, list[dict[str, str]]]:
    """Remove a unit's rows from the provision tables and return them."""
    taken: dict[str, list[dict[str, str]]] = {}
    for name in TABLES:
        path = folder / f"{name}.csv"
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        taken[name] = [r for r in rows if r["unit_id"] == unit_id]
        kept = [r for r in rows if r["unit_id"] != unit_id]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        path.write_text(out.getvalue(), encoding="utf-8")
    return taken


def items(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "unit_id" and v != ""} for r in rows]


def test_yaml_and_xml_documents_give_the_same_findings(tmp_path: Path) -> None:
    rules = load_rules()
    base = run_audit(MINI, rules, __import__("datetime").date(2026, 6, 30))
    folder = tmp_path / "mini"
    shutil.copytree(MINI, folder)
    (folder / "sanding").mkdir()
    # M05 (bodies over the limit, an unapproved body) as YAML; M04 (leader posts) as XML.
    m05 = split_out(folder, "M05")
    lines = ["unit_id: M05", "name: 青石县人民医院"]
    for name in TABLES:
        lines.append(f"{name}:")
        for item in items(m05[name]):
            lines.append("  - {" + ", ".join(f"{k}: {v}" for k, v in item.items()) + "}")
    (folder / "sanding" / "M05.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    m04 = split_out(folder, "M04")
    tags = {"quotas": "quota", "leader_quotas": "leader_quota", "bodies": "body"}
    xml = ['<?xml version="1.0" encoding="UTF-8"?>', '<sanding unit_id="M04">']
    for name in TABLES:
        xml.append(f"  <{name}>")
        for item in items(m04[name]):
            attrs = " ".join(f'{k}="{v}"' for k, v in item.items())
            xml.append(f"    <{tags[name]} {attrs}/>")
        xml.append(f"  </{name}>")
    xml.append("</sanding>")
    (folder / "sanding" / "M04.xml").write_text("\n".join(xml) + "\n", encoding="utf-8")

    result = run_audit(folder, rules, base.as_of)
    assert [f.key for f in result.findings] == [f.key for f in base.findings]
    b01 = next(f for f in result.findings if f.rule == "B01" and f.unit_id == "M05")
    assert b01.evidence == next(f for f in base.findings if f.key == b01.key).evidence
    l01 = next(f for f in result.findings if f.rule == "L01")
    assert l01.unit_id == "M04"
    q03 = [f for f in result.findings if f.rule == "Q03"]
    assert q03 and all(f.source.get("file") == "quotas.csv" for f in q03)
