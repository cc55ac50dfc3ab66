"""A self-contained HTML report (`--format html`) for the office's leaders.

One file that works offline: the CSS and JavaScript are inline (html_assets.py), the audit
is an inline JSON blob, the charts are SVG drawn by the page, and a Content-Security-Policy
forbids every network load (default-src 'none'; the script and style are allowed by their
hashes; images only from data: URIs). Text uses the system's CJK fonts.

Chinese by default (or --lang), with a switch to English. It shows the summary, the grade
distribution and the findings by rule as charts, a unit table that can be sorted and filtered
(by text, grade, rule and CI status), and for each unit its score breakdown (level 1, 2 and
3), findings with evidence and source rows, legal basis, waiver or baseline status, and the
recommended actions. ID numbers are masked unless --show-id-numbers (the same values as the
JSON report). The page's script inserts data only as text (textContent), never as markup.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from ..audit import AuditResult
from ..baseline import Triage
from ..gcpause import gc_paused
from ..rulefile import ACTIONS
from . import SEVERITY_LABELS
from .html_assets import CSS, JS
from .jsonout import audit_json
from .locate import Locator

MAX_PLACES = 30  # source runs shown per finding (the rest are counted)


def _num(x: Any) -> Any:
    if isinstance(x, float):
        return round(x, 4)
    return x


def _breakdown_rows(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[list[list[Any]]]]:
    """The model's indicator tree as nodes, and every unit's breakdown as flat rows.

    A node is {k: key, l: level, t: title} (indicators also m: method, d: description);
    units refer to nodes by index, so titles are written once. A unit's rows are [node, score,
    max], and for indicators also measured, peer average, note and deductions [[fingerprint,
    rule, amount, verdict]]. Built from the JSON's compact breakdown and `model`, not from
    50,000 expanded trees.
    """
    model = doc.get("model")
    if not isinstance(model, dict):  # an audit without scores
        return [], [[] for _ in doc["units"]]
    nodes: list[dict[str, Any]] = []
    # Per row of a unit's breakdown: (level, position in l1/l2/l3, node, max, and for an
    # indicator its id and peer average).
    plan: list[tuple[int, int, int, Any, str | None, Any]] = []
    count = [0, 0, 0]
    for dim in model.get("dimensions", []):
        plan.append((1, count[0], len(nodes), _num(dim.get("max")), None, None))
        nodes.append({"k": dim["id"], "l": 1, "t": dim.get("title") or {}})
        count[0] += 1
        for item in dim.get("items", []):
            plan.append((2, count[1], len(nodes), _num(item.get("max")), None, None))
            nodes.append({"k": f"{dim['id']}/{item['id']}", "l": 2, "t": item.get("title") or {}})
            count[1] += 1
            for ind in item.get("indicators", []):
                peer = _num(ind.get("peer_average"))
                plan.append((3, count[2], len(nodes), _num(ind.get("max")), ind["id"], peer))
                nodes.append(
                    {
                        "k": f"{dim['id']}/{item['id']}/{ind['id']}",
                        "l": 3,
                        "t": ind.get("title") or {},
                        "m": ind.get("method"),
                        "d": ind.get("description") or {},
                    }
                )
                count[2] += 1
    notes = {
        ref: {"zh": n.get("zh"), "en": n.get("en")} for ref, n in (doc.get("notes") or {}).items()
    }
    rows_of_units = []
    for unit in doc["units"]:
        own = unit.get("breakdown")
        if not own:
            rows_of_units.append([])
            continue
        levels = (own.get("l1", []), own.get("l2", []), own.get("l3", []))
        details = own.get("details", {})
        rows: list[list[Any]] = []
        for level, pos, node, maximum, indicator, peer in plan:
            values = levels[level - 1]
            score = _num(values[pos]) if pos < len(values) else None
            if indicator is None:
                rows.append([node, score, maximum])
                continue
            extra = details.get(indicator, {})
            note = extra.get("note")
            if isinstance(note, str):
                note = notes.get(note, note)
            rows.append(
                [
                    node,
                    score,
                    maximum,
                    _num(extra.get("measured")),
                    peer,
                    {"zh": note.get("zh"), "en": note.get("en")} if note else None,
                    [
                        [
                            d.get("fingerprint"),
                            d.get("rule"),
                            _num(d.get("amount")),
                            d.get("verdict"),
                        ]
                        for d in extra.get("deductions", [])
                    ],
                ]
            )
        rows_of_units.append(rows)
    return nodes, rows_of_units


def report_data(
    result: AuditResult, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> dict[str, Any]:
    """Everything the page shows, compact (a 5,000-unit county is a few megabytes)."""
    with gc_paused():  # a province's page data is millions of small acyclic lists
        return _report_data(result, lang, show_ids, triage)


def _report_data(
    result: AuditResult, lang: str, show_ids: bool, triage: Triage | None
) -> dict[str, Any]:
    triage = triage or Triage()
    doc = audit_json(result, lang, show_ids, triage)
    locator = Locator(result)
    nodes, unit_rows = _breakdown_rows(doc)
    fidx: dict[str, list[int]] = {}
    findings = []
    for i, (f, obj) in enumerate(zip(result.findings, doc["findings"], strict=True)):
        places = locator.places(f)
        findings.append(
            {
                "r": f.rule,
                "v": f.severity,
                "u": f.unit_id,
                "s": f.subject,
                "a": f.action,
                "m": dict(f.messages),
                "e": obj["evidence"],
                "p": [[p.path, p.start, p.end, p.cell] for p in places[:MAX_PLACES]],
                "pn": len(places),
                "f": f.fingerprint,
                "st": obj["status"],
                "w": obj["waived"],
                "vd": obj.get("verdict"),
                "vr": obj.get("verdict_reason"),
                "d": obj.get("deducted"),
            }
        )
        fidx.setdefault(f.unit_id, []).append(i)
    units = []
    for u, rows in zip(doc["units"], unit_rows, strict=True):
        reason = u.get("grade_reason") or {}
        units.append(
            {
                "i": u["unit_id"],
                "n": u.get("unit_name") or "",
                "sc": u.get("score"),
                "g": u.get("grade"),
                "gr": {"zh": reason.get("zh"), "en": reason.get("en")} if reason else None,
                "a": u.get("actions") or [],
                "ad": [
                    [a["action"], a["severity"], a.get("rules", []), len(a.get("findings", []))]
                    for a in u.get("action_details") or []
                ],
                "f": fidx.get(u["unit_id"], []),
                "b": rows,
            }
        )
    rules = {
        r.id: {
            "t": dict(r.title),
            "v": r.severity,
            "a": r.action,
            "b": dict(r.basis),
            "w": dict(r.rationale),
        }
        for r in result.rules
    }
    summary = doc["summary"]
    model = doc.get("model")
    return {
        "lang": lang,
        "meta": {
            "as_of": doc["as_of"],
            "dataset": doc["dataset"],
            "model": model.get("id") if isinstance(model, dict) else model,
            "units": summary["units"],
            "people": summary["people"],
            "findings": summary["findings"],
            "dismissed": summary.get("findings_dismissed", 0),
            "by_rule": summary["by_rule"],
            "by_severity": summary["by_severity"],
            "by_grade": summary["by_grade"],
            "new": summary["new"],
            "known": summary["known"],
            "waived": summary["waived"],
            "baseline_fixed": summary["baseline_fixed"],
            "has_baseline": triage.baseline is not None,
            "has_waivers": triage.waiver_file is not None,
            "rules_evaluated": len(doc["rules_evaluated"]),
        },
        "rules": rules,
        "not_evaluated": [
            {"r": n["rule"], "why": n["reasons"]} for n in doc["rules_not_evaluated"]
        ],
        "actions": {k: dict(v) for k, v in ACTIONS.items()},
        "severities": {k: dict(v) for k, v in SEVERITY_LABELS.items()},
        "nodes": nodes,
        "units": units,
        "findings": findings,
        "waivers_expired": doc["waivers_expired"],
        "waivers_unmatched": doc["waivers_unmatched"],
        "baseline_fixed": doc["baseline_fixed"],
    }


def script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' (so no '</script>' or '<!--')."""
    text = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


TITLE = {"zh": "三定规则审计报告", "en": "Three-determinations audit report"}


def csp() -> str:
    """The page's Content-Security-Policy: nothing from the network, only its own code."""
    return (
        f"default-src 'none'; script-src {_hash(JS)}; style-src {_hash(CSS)}; "
        "img-src data:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def render_html(
    result: AuditResult, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> str:
    """The whole report as one HTML document."""
    data = report_data(result, lang, show_ids, triage)
    title = f"{TITLE[lang]} · {result.as_of.isoformat()}"
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_escape(title)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        '<noscript><p class="noscript">本报告需要启用 JavaScript 查看。'
        "This report needs JavaScript.</p></noscript>\n"
        '<div id="app"></div>\n'
        f'<script type="application/json" id="sanding-data">{script_json(data)}</script>\n'
        f"<script>{JS}</script>\n</body>\n</html>\n"
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
