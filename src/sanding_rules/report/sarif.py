"""SARIF 2.1.0 output (`--format sarif`), for code-scanning tools (GitHub, GitLab, IDEs).

One run. `tool.driver.rules` holds every rule loaded, with its title, rationale, help text
(basis and condition) and properties (severity, action, indicator). Each finding is a result:

- level: error -> error, warning -> warning, info -> note;
- message: the finding's message in --lang; properties: unit, subject, action, evidence
  (ID numbers masked), every source row, and the message in both languages;
- locations: the first run of consecutive source rows; relatedLocations: the other runs
  (at most 100; the full list is in properties.rows). A CSV (or sanding/ YAML/XML) place is
  `physicalLocation.artifactLocation.uri` = the dataset path as given joined with the file,
  relative to `%SRCROOT%` (the working directory: run sanding from the repository root), and
  `region.startLine`/`endLine` = the lines. An XLSX place has no text region: the location
  carries a logical location of kind "cell" (`fullyQualifiedName` 实有人员!A14, the sheet and
  the row's first cell) and `properties.sheet`/`cell`/`rows`;
- partialFingerprints {"sandingFingerprint/v1": fingerprint}: rule, unit and subject, so a
  moved row is the same result;
- baselineState "new" or "unchanged" under --baseline; a waived finding has a suppression
  (kind external, status accepted, the waiver's reason, approver, document and expiry).

Rules not evaluated are toolExecutionNotifications (level note) of the invocation; expired
and unmatched waivers are toolConfigurationNotifications (level warning).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .. import __version__
from ..audit import AuditResult
from ..baseline import Triage
from ..findings import Finding
from . import SEVERITY_LABELS, action_label, evidence_for_output
from .locate import Locator, Place, relative_uri

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
FINGERPRINT_KEY = "sandingFingerprint/v1"
MAX_RELATED = 100


def _text(text: str, markdown: str | None = None) -> dict[str, str]:
    out = {"text": text}
    if markdown is not None:
        out["markdown"] = markdown
    return out


def rule_descriptor(rule: Any, lang: str) -> dict[str, Any]:
    """A SARIF reportingDescriptor for a rule."""
    other = "en" if lang == "zh" else "zh"
    basis_label = "依据" if lang == "zh" else "Basis"
    cond_label = "条件" if lang == "zh" else "Condition"
    help_text = f"{basis_label}: {rule.basis[lang]}\n{cond_label}: {rule.condition_text}"
    help_md = (
        f"**{rule.id} {rule.title[lang]}**\n\n{rule.rationale[lang]}\n\n"
        f"- {basis_label}: {rule.basis[lang]}\n- {cond_label}: `{rule.condition_text}`"
    )
    return {
        "id": rule.id,
        "name": "".join(
            w[:1].upper() + w[1:] for w in re.findall(r"[A-Za-z0-9]+", rule.title.get("en", ""))
        )
        or rule.id,
        "shortDescription": _text(f"{rule.title[lang]}"),
        "fullDescription": _text(rule.rationale[lang]),
        "help": _text(help_text, help_md),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "severity": rule.severity,
            "severityLabel": SEVERITY_LABELS[rule.severity][lang],
            "action": rule.action,
            "actionLabel": action_label(rule.action, lang),
            "indicator": rule.indicator,
            "appliesTo": rule.applies_to,
            "requires": list(rule.requires),
            "title": dict(rule.title),
            "basis": dict(rule.basis),
            "tags": ["sanding", rule.severity, rule.action, f"title:{rule.title[other]}"],
        },
    }


def sarif_location(place: Place, message: str | None = None) -> dict[str, Any]:
    """A SARIF location for one run of rows (text lines, or a sheet and cell)."""
    uri, base = relative_uri(place.path)
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if place.start is not None and not place.excel:
        region: dict[str, int] = {"startLine": place.start}
        if place.end is not None and place.end != place.start:
            region["endLine"] = place.end
        physical["region"] = region
    if place.excel and place.cell:
        loc["logicalLocations"] = [
            {
                "name": place.cell.rsplit("!", 1)[-1],
                "fullyQualifiedName": place.cell,
                "kind": "cell",
            }
        ]
        loc["properties"] = {"sheet": place.sheet, "cell": place.cell, "rows": place.rows}
    if message:
        loc["message"] = _text(message)
    return loc


def result_json(
    f: Finding,
    rule_index: int | None,
    places: list[Place],
    lang: str,
    show_ids: bool,
    triage: Triage,
) -> dict[str, Any]:
    """One finding as a SARIF result."""
    unit = f"{f.unit_id} {f.unit_name}".strip()
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "level": LEVELS[f.severity],
        "message": _text(f"{unit}: {f.messages[lang]}"),
        "locations": [sarif_location(places[0], unit)],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
    }
    if rule_index is not None:
        res["ruleIndex"] = rule_index
    related = []
    for i, p in enumerate(places[1 : MAX_RELATED + 1], start=1):
        loc = sarif_location(p)
        loc["id"] = i
        related.append(loc)
    if related:
        res["relatedLocations"] = related
    state = triage.baseline_state(f)
    if state is not None:
        res["baselineState"] = "unchanged" if state == "known" else "new"
    waiver = triage.waiver(f)
    if waiver is not None:
        res["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver.reason,
                "properties": {
                    "approver": waiver.approver,
                    "doc_no": waiver.doc_no,
                    "expires": waiver.expires.isoformat(),
                    "waiver_entry": waiver.entry,
                },
            }
        ]
    src = f.source or {}
    res["properties"] = {
        "unit_id": f.unit_id,
        "unit_name": f.unit_name,
        "subject": f.subject,
        "severity": f.severity,
        "action": f.action,
        "status": triage.status(f),
        "evidence": evidence_for_output(f, show_ids),
        "basis": f.basis[lang],
        "messages": dict(f.messages),
        "file": src.get("file"),
        "rows": list(src.get("rows") or []),
        "more": [dict(m) for m in src.get("more") or []],
        "fingerprint": f.fingerprint,
    }
    return res


def _notification(text: str, level: str, descriptor: str, rule: tuple[str, int] | None = None):
    out: dict[str, Any] = {
        "level": level,
        "message": _text(text),
        "descriptor": {"id": descriptor},
    }
    if rule is not None:
        out["associatedRule"] = {"id": rule[0], "index": rule[1]}
    return out


def sarif_json(
    result: AuditResult,
    lang: str = "zh",
    show_ids: bool = False,
    triage: Triage | None = None,
    exit_code: int | None = None,
) -> dict[str, Any]:
    """The audit as one SARIF 2.1.0 log."""
    triage = triage or Triage()
    locator = Locator(result)
    rules = [rule_descriptor(r, lang) for r in result.rules]
    index = {r.id: i for i, r in enumerate(result.rules)}
    results = [
        result_json(f, index.get(f.rule), locator.places(f), lang, show_ids, triage)
        for f in result.findings
    ]
    titles = {r.id: r.title[lang] for r in result.rules}
    skipped = [
        _notification(
            (
                f"{n.rule} {titles.get(n.rule, '')}：未评估，{n.reason[lang]}"
                if lang == "zh"
                else f"{n.rule} {titles.get(n.rule, '')}: not evaluated, {n.reason[lang]}"
            ),
            "note",
            "sanding/rule-not-evaluated",
            (n.rule, index[n.rule]) if n.rule in index else None,
        )
        for n in result.rules_not_evaluated
    ]
    config: list[dict[str, Any]] = []
    for w, hits in triage.waivers.expired:
        text = (
            f"豁免第{w.entry}条（{w.selector()}，{w.doc_no}）已于{w.expires.isoformat()}到期，不再适用"
            if lang == "zh"
            else f"waiver {w.entry} ({w.selector()}, {w.doc_no}) expired on "
            f"{w.expires.isoformat()} and no longer applies"
        )
        note = _notification(text, "warning", "sanding/waiver-expired")
        note["locations"] = [_waiver_location(w)]
        note["properties"] = {"waiver": w.to_json(), "matches": hits}
        config.append(note)
    for w in triage.waivers.unmatched:
        text = (
            f"豁免第{w.entry}条（{w.selector()}，{w.doc_no}）未对应任何问题"
            if lang == "zh"
            else f"waiver {w.entry} ({w.selector()}, {w.doc_no}) matches no finding"
        )
        note = _notification(text, "warning", "sanding/waiver-unmatched")
        note["locations"] = [_waiver_location(w)]
        note["properties"] = {"waiver": w.to_json()}
        config.append(note)
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "toolExecutionNotifications": skipped,
        "toolConfigurationNotifications": config,
        "properties": {
            "as_of": result.as_of.isoformat(),
            "dataset": result.dataset,
            "rules_evaluated": list(result.rules_evaluated),
            "rules_not_evaluated": [n.rule for n in result.rules_not_evaluated],
        },
    }
    if exit_code is not None:
        invocation["exitCode"] = exit_code
    counts = triage.counts(result.findings)
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sanding",
                "fullName": "sanding_rules 三定规则引擎",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}},
        "invocations": [invocation],
        "language": "zh-CN" if lang == "zh" else "en-US",
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "as_of": result.as_of.isoformat(),
            "units": result.units,
            "people": result.people,
            "findings": len(result.findings),
            **counts,
            "by_rule": result.by_rule(),
            "by_severity": result.by_severity(),
            "by_grade": result.by_grade(),
            "baseline_fixed": triage.fixed_json(),
        },
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _waiver_location(w: Any) -> dict[str, Any]:
    uri, base = relative_uri(Path(w.file).as_posix())
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if w.line is not None:
        physical["region"] = {"startLine": w.line}
    return {"physicalLocation": physical}


def write_sarif(
    result: AuditResult,
    out,
    lang: str = "zh",
    show_ids: bool = False,
    triage: Triage | None = None,
    exit_code: int | None = None,
) -> None:
    """Write the SARIF log to a text stream."""
    json.dump(
        sarif_json(result, lang, show_ids, triage, exit_code), out, ensure_ascii=False, indent=1
    )
    out.write("\n")
