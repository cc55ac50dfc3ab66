"""Compare two audits: per-unit score and grade changes; findings resolved, new and persisting.

Works on two audit JSON objects (`sanding audit --format json`), so audits made by different
versions, as of different dates, compare as long as both follow the data contract. Score and
grade fields are optional: without them the score fields of the comparison are null.

A finding is the same finding in both audits when its rule, unit and subject are the same:
the three things its fingerprint is computed from. (Matching on these rather than on the
fingerprint string keeps audits of different periods comparable should the fingerprint ever
carry the period.) A finding without rule, unit or subject is matched by its fingerprint.

The comparison object (`compare_audits`, and `sanding compare --format json`), version 1:

    {
      "comparison": 1,
      "old": {"file": "2025.json", "dataset": "...", "as_of": "2025-06-30",
              "units": 320, "findings": 63},
      "new": {... the same for the newer audit ...},
      "summary": {
        "units_compared": 320, "units_only_in_old": 0, "units_only_in_new": 1,
        "findings_old": 63, "findings_new": 62,
        "resolved": 2, "new": 1, "persisting": 61,
        "score_up": 3, "score_down": 1, "score_unchanged": 300, "score_not_comparable": 16,
        "grade_up": 1, "grade_down": 0, "grade_unchanged": 303, "grade_not_comparable": 16,
        "by_rule": {"Q01": {"old": 6, "new": 5, "resolved": 1, "new_findings": 0,
                            "persisting": 5}}
      },
      "units": [                      # every unit in both audits, in the newer audit's order
        {"unit_id": "U0001", "unit_name": "...",
         "score_old": 88.5, "score_new": 91.0, "score_delta": 2.5,   # null when either is null
         "grade_old": "B", "grade_new": "A",
         "grade_change": "up",        # up | down | same | null (either grade missing)
         "findings_old": 2, "findings_new": 1, "resolved": 1, "new": 0, "persisting": 1}
      ],
      "units_only_in_old": [{"unit_id", "unit_name", "score", "grade", "findings"}],
      "units_only_in_new": [...],
      "findings": {
        "resolved": [F],              # as in the old audit
        "new": [F],                   # as in the new audit
        "persisting": [F + {"fingerprint_old", "message_old", "evidence_old",
                            "verdict_old", "deducted_old"}]   # F as in the new audit
      }
    }

F = {"fingerprint", "rule", "severity", "unit_id", "unit_name", "subject", "action", "message",
"messages", "evidence", "verdict", "deducted"}; "message" is in the language asked for (the
audit's own message when none is asked). Lists of findings are sorted by unit, severity, rule
and subject; "verdict" and "deducted" are null when the audit has none.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import click

from .errors import InputError, Problem
from .report import SEVERITY_LABELS, action_label
from .report.table import pad, width, wrap
from .rulefile import SEVERITY_RANK

COMPARISON_VERSION = 1
GRADE_RANK = {"A": 0, "B": 1, "C": 2}


# ---------------------------------------------------------------- loading


def load_audit(path: Path) -> dict[str, Any]:
    """Read an audit JSON file; InputError naming the file when it is not one."""
    name = str(path)
    if not path.exists():
        raise InputError([Problem(name, "file not found")])
    if not path.is_file():
        raise InputError([Problem(name, "not a file")])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise InputError([Problem(name, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            [Problem(name, f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
        ) from None
    check_audit(obj, name)
    return obj


def check_audit(obj: Any, name: str = "audit") -> None:
    """InputError unless obj looks like an audit JSON object (data contract, section 4)."""
    hint = "not an audit (write one with `sanding audit ... --format json`)"
    if not isinstance(obj, dict):
        raise InputError([Problem(name, f"{hint}: the top level is not an object")])
    problems: list[Problem] = []
    for key in ("findings", "units"):
        if not isinstance(obj.get(key), list):
            problems.append(Problem(name, f"{hint}: no list {key!r}"))
    if problems:
        raise InputError(problems)
    for i, f in enumerate(obj["findings"]):
        if not isinstance(f, dict):
            problems.append(Problem(name, f"findings[{i}] is not an object"))
        elif not f.get("fingerprint") and not (f.get("rule") and f.get("unit_id")):
            problems.append(
                Problem(name, f"findings[{i}] has neither rule and unit_id nor fingerprint")
            )
        if len(problems) >= 10:
            break
    for i, u in enumerate(obj["units"]):
        if not isinstance(u, dict) or not u.get("unit_id"):
            problems.append(Problem(name, f"units[{i}] is not an object with a unit_id"))
        if len(problems) >= 20:
            break
    if problems:
        raise InputError(problems)


# ---------------------------------------------------------------- comparing


def _key(f: dict[str, Any]) -> tuple[str, ...]:
    if f.get("rule") and f.get("unit_id") and f.get("subject") is not None:
        return ("k", str(f["rule"]), str(f["unit_id"]), str(f["subject"]))
    return ("fp", str(f.get("fingerprint")))


def _order(f: dict[str, Any]) -> tuple:
    return (
        str(f.get("unit_id", "")),
        SEVERITY_RANK.get(f.get("severity"), 9),
        str(f.get("rule", "")),
        str(f.get("subject", "")),
    )


def _finding(f: dict[str, Any], lang: str | None) -> dict[str, Any]:
    messages = f.get("messages") if isinstance(f.get("messages"), dict) else {}
    message = (messages.get(lang) if lang else None) or f.get("message") or ""
    return {
        "fingerprint": f.get("fingerprint"),
        "rule": f.get("rule"),
        "severity": f.get("severity"),
        "unit_id": f.get("unit_id"),
        "unit_name": f.get("unit_name", ""),
        "subject": f.get("subject"),
        "action": f.get("action"),
        "message": message,
        "messages": dict(messages) if messages else {},
        "evidence": f.get("evidence"),
        "verdict": f.get("verdict"),
        "deducted": f.get("deducted"),
    }


def _score(u: dict[str, Any] | None) -> float | None:
    v = (u or {}).get("score")
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _grade(u: dict[str, Any] | None) -> str | None:
    g = (u or {}).get("grade")
    return g if isinstance(g, str) and g else None


def _side(audit: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": None,
        "dataset": audit.get("dataset"),
        "as_of": audit.get("as_of"),
        "units": len(audit["units"]),
        "findings": len(audit["findings"]),
    }


def compare_audits(
    old: dict[str, Any], new: dict[str, Any], lang: str | None = None
) -> dict[str, Any]:
    """Compare two audit JSON objects (see the module docstring for the result).

    `lang` ("zh"/"en") picks the language of each finding's "message"; by default the
    audit's own. Raises InputError when either is not an audit object.
    """
    check_audit(old, "old")
    check_audit(new, "new")
    old_f: dict[tuple, dict] = {}
    for f in old["findings"]:
        old_f.setdefault(_key(f), f)
    new_f: dict[tuple, dict] = {}
    for f in new["findings"]:
        new_f.setdefault(_key(f), f)
    resolved = sorted((old_f[k] for k in old_f if k not in new_f), key=_order)
    added = sorted((new_f[k] for k in new_f if k not in old_f), key=_order)
    persisting_keys = sorted((k for k in new_f if k in old_f), key=lambda k: _order(new_f[k]))

    persisting = []
    for k in persisting_keys:
        item = _finding(new_f[k], lang)
        before = _finding(old_f[k], lang)
        item["fingerprint_old"] = before["fingerprint"]
        item["message_old"] = before["message"]
        item["evidence_old"] = before["evidence"]
        item["verdict_old"] = before["verdict"]
        item["deducted_old"] = before["deducted"]
        persisting.append(item)

    per_unit: dict[str, Counter] = {}

    def count(uid: Any, what: str) -> None:
        per_unit.setdefault(str(uid), Counter())[what] += 1

    for f in old["findings"]:
        count(f.get("unit_id"), "findings_old")
    for f in new["findings"]:
        count(f.get("unit_id"), "findings_new")
    for f in resolved:
        count(f.get("unit_id"), "resolved")
    for f in added:
        count(f.get("unit_id"), "new")
    for f in persisting:
        count(f.get("unit_id"), "persisting")

    old_u = {str(u["unit_id"]): u for u in old["units"]}
    new_u = {str(u["unit_id"]): u for u in new["units"]}
    units = []
    tally: Counter = Counter()
    for uid, nu in new_u.items():
        ou = old_u.get(uid)
        if ou is None:
            continue
        s_old, s_new = _score(ou), _score(nu)
        delta = round(s_new - s_old, 6) if s_old is not None and s_new is not None else None
        g_old, g_new = _grade(ou), _grade(nu)
        change = None
        if g_old in GRADE_RANK and g_new in GRADE_RANK:
            diff = GRADE_RANK[g_old] - GRADE_RANK[g_new]
            change = "up" if diff > 0 else "down" if diff < 0 else "same"
        tally[
            "score_not_comparable"
            if delta is None
            else "score_up"
            if delta > 0
            else "score_down"
            if delta < 0
            else "score_unchanged"
        ] += 1
        tally[
            {"up": "grade_up", "down": "grade_down", "same": "grade_unchanged"}.get(
                change, "grade_not_comparable"
            )
        ] += 1
        c = per_unit.get(uid, Counter())
        units.append(
            {
                "unit_id": uid,
                "unit_name": nu.get("unit_name") or ou.get("unit_name") or "",
                "score_old": s_old,
                "score_new": s_new,
                "score_delta": delta,
                "grade_old": g_old,
                "grade_new": g_new,
                "grade_change": change,
                "findings_old": c["findings_old"],
                "findings_new": c["findings_new"],
                "resolved": c["resolved"],
                "new": c["new"],
                "persisting": c["persisting"],
            }
        )

    def only(mine: dict[str, dict], other: dict[str, dict], key: str) -> list[dict[str, Any]]:
        return [
            {
                "unit_id": uid,
                "unit_name": u.get("unit_name", ""),
                "score": _score(u),
                "grade": _grade(u),
                "findings": per_unit.get(uid, Counter())[key],
            }
            for uid, u in mine.items()
            if uid not in other
        ]

    only_old = only(old_u, new_u, "findings_old")
    only_new = only(new_u, old_u, "findings_new")

    by_rule: dict[str, Counter] = {}
    for f in old["findings"]:
        by_rule.setdefault(str(f.get("rule")), Counter())["old"] += 1
    for f in new["findings"]:
        by_rule.setdefault(str(f.get("rule")), Counter())["new"] += 1
    for what, items in (
        ("resolved", resolved),
        ("new_findings", added),
        ("persisting", persisting),
    ):
        for f in items:
            by_rule[str(f.get("rule"))][what] += 1
    fields = ("old", "new", "resolved", "new_findings", "persisting")

    return {
        "comparison": COMPARISON_VERSION,
        "old": _side(old),
        "new": _side(new),
        "summary": {
            "units_compared": len(units),
            "units_only_in_old": len(only_old),
            "units_only_in_new": len(only_new),
            "findings_old": len(old["findings"]),
            "findings_new": len(new["findings"]),
            "resolved": len(resolved),
            "new": len(added),
            "persisting": len(persisting),
            **{
                k: tally[k]
                for k in (
                    "score_up",
                    "score_down",
                    "score_unchanged",
                    "score_not_comparable",
                    "grade_up",
                    "grade_down",
                    "grade_unchanged",
                    "grade_not_comparable",
                )
            },
            "by_rule": {rid: {k: by_rule[rid][k] for k in fields} for rid in sorted(by_rule)},
        },
        "units": units,
        "units_only_in_old": only_old,
        "units_only_in_new": only_new,
        "findings": {
            "resolved": [_finding(f, lang) for f in resolved],
            "new": [_finding(f, lang) for f in added],
            "persisting": persisting,
        },
    }


# ---------------------------------------------------------------- table

T = {
    "title": {"zh": "三定审计对比", "en": "Audit comparison"},
    "old": {"zh": "原审计", "en": "old"},
    "new": {"zh": "新审计", "en": "new"},
    "side": {
        "zh": "数据集 {dataset}，截至 {as_of}，单位 {units} 个，问题 {findings} 项",
        "en": "dataset {dataset}, as of {as_of}, {units} units, {findings} findings",
    },
    "units_line": {
        "zh": "单位: 两次均有 {both} 个，仅原审计 {only_old} 个，仅新审计 {only_new} 个",
        "en": "units: {both} in both, {only_old} only in the old audit, {only_new} only in the new",
    },
    "findings_line": {
        "zh": "问题: {old} 项 → {new} 项；已整改 {resolved} 项，新发现 {added} 项，仍存在 {persisting} 项",
        "en": "findings: {old} → {new}; {resolved} resolved, {added} new, {persisting} persisting",
    },
    "scores_line": {
        "zh": "得分: 上升 {up} 个单位，下降 {down} 个，不变 {same} 个，无法比较 {na} 个",
        "en": "scores: {up} units up, {down} down, {same} unchanged, {na} not comparable",
    },
    "grades_line": {
        "zh": "等级: 上升 {up} 个单位，下降 {down} 个，不变 {same} 个，无法比较 {na} 个",
        "en": "grades: {up} units up, {down} down, {same} unchanged, {na} not comparable",
    },
    "by_rule": {"zh": "按规则", "en": "By rule"},
    "rule_head": {
        "zh": ("规则", "名称", "原", "新", "已整改", "新发现", "仍存在"),
        "en": ("rule", "title", "old", "new", "resolved", "new", "persisting"),
    },
    "changed_units": {"zh": "有变化的单位", "en": "Units that changed"},
    "unit_head": {
        "zh": ("单位", "名称", "得分", "变化", "等级", "问题", "整改/新/仍"),
        "en": ("unit", "name", "score", "change", "grade", "findings", "res/new/pers"),
    },
    "resolved": {"zh": "已整改的问题（原有、现无）", "en": "Resolved (in the old audit only)"},
    "added": {"zh": "新发现的问题（原无、现有）", "en": "New (in the new audit only)"},
    "persisting": {"zh": "仍存在的问题", "en": "Persisting (in both)"},
    "only_old": {"zh": "仅在原审计中的单位", "en": "Units only in the old audit"},
    "only_new": {"zh": "仅在新审计中的单位", "en": "Units only in the new audit"},
    "none": {"zh": "无", "en": "none"},
    "was": {"zh": "原为", "en": "was"},
}


def _num(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "—"
    text = f"{v:+.2f}" if signed else f"{v:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clip(text: str, cols: int) -> str:
    """Cut text to a display width, with an ellipsis when cut."""
    if width(text) <= cols:
        return text
    out, w = "", 0
    for ch in text:
        cw = width(ch)
        if w + cw > cols - 1:
            break
        out += ch
        w += cw
    return out + "…"


_TOKEN = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]\s*|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+\s*|\s+"
)


def _wrap(text: str, cols: int, indent: str = "") -> list[str]:
    """Wrap to a display width: between words in English, anywhere in Chinese.

    Lines after the first start with `indent` (counted in the width).
    """
    lines: list[str] = []
    cur = ""
    for tok in _TOKEN.findall(text):
        room = cols - (width(indent) if lines else 0)
        if width(cur + tok.rstrip()) <= room:
            cur += tok
            continue
        if cur.strip():
            lines.append(cur.rstrip())
            cur = ""
            room = cols - width(indent)
        if width(tok.rstrip()) > room:
            parts = wrap(tok.rstrip(), room)
            lines.extend(parts[:-1])
            cur = parts[-1] + tok[len(tok.rstrip()) :]
        else:
            cur = tok.lstrip() if not cur else cur + tok
    if cur.strip() or not lines:
        lines.append(cur.rstrip())
    return [lines[0]] + [indent + line for line in lines[1:]]


def _rule_titles(lang: str) -> dict[str, str]:
    from .rulefile import load_rules

    try:
        return {r.id: r.title[lang] for r in load_rules()}
    except InputError:  # pragma: no cover - the built-in rules are tested elsewhere
        return {}


def render_compare(cmp: dict[str, Any], lang: str = "zh", cols: int | None = None) -> str:
    """The comparison as text that fits the terminal, Chinese by default."""
    cols = cols or max(60, min(shutil.get_terminal_size((100, 24)).columns, 140))
    L = {k: v[lang] for k, v in T.items()}
    s = cmp["summary"]
    out: list[str] = [L["title"]]
    for side in ("old", "new"):
        info = cmp[side]
        out.extend(_wrap(f"{L[side]}: {info.get('file') or '—'}", cols, "    "))
        line = "    " + L["side"].format(
            dataset=info.get("dataset") or "—",
            as_of=info.get("as_of") or "—",
            units=info.get("units"),
            findings=info.get("findings"),
        )
        out.extend(_wrap(line, cols, "    "))
    out.append("")
    for key, fmt in (
        (
            "units_line",
            dict(
                both=s["units_compared"],
                only_old=s["units_only_in_old"],
                only_new=s["units_only_in_new"],
            ),
        ),
        (
            "findings_line",
            dict(
                old=s["findings_old"],
                new=s["findings_new"],
                resolved=s["resolved"],
                added=s["new"],
                persisting=s["persisting"],
            ),
        ),
        (
            "scores_line",
            dict(
                up=s["score_up"],
                down=s["score_down"],
                same=s["score_unchanged"],
                na=s["score_not_comparable"],
            ),
        ),
        (
            "grades_line",
            dict(
                up=s["grade_up"],
                down=s["grade_down"],
                same=s["grade_unchanged"],
                na=s["grade_not_comparable"],
            ),
        ),
    ):
        out.extend(_wrap(L[key].format(**fmt), cols, "    "))

    titles = _rule_titles(lang)
    if s["by_rule"]:
        out.append("")
        out.append(L["by_rule"])
        head = L["rule_head"]
        nums = [max(width(h), 5) + 2 for h in head[2:]]
        room = cols - 2 - 8 - sum(nums)
        tw = max(width(head[1]) + 2, max(width(titles.get(r, "")) for r in s["by_rule"]) + 2)
        tw = max(6, min(tw, room))
        out.append(
            "  "
            + pad(head[0], 8)
            + pad(head[1], tw)
            + "".join(" " * (n - width(h)) + h for h, n in zip(head[2:], nums, strict=True))
        )
        for rid, c in s["by_rule"].items():
            values = [c["old"], c["new"], c["resolved"], c["new_findings"], c["persisting"]]
            out.append(
                "  "
                + pad(rid, 8)
                + pad(clip(titles.get(rid, ""), tw - 2), tw)
                + "".join(str(v).rjust(n) for v, n in zip(values, nums, strict=True))
            )

    changed = [
        u
        for u in cmp["units"]
        if (u["score_delta"] not in (None, 0))
        or u["grade_change"] in ("up", "down")
        or u["resolved"]
        or u["new"]
    ]
    out.append("")
    out.append(f"{L['changed_units']} ({len(changed)})")
    if changed:
        head = list(L["unit_head"])
        rows = [
            [
                u["unit_id"],
                u["unit_name"],
                f"{_num(u['score_old'])}→{_num(u['score_new'])}",
                _num(u["score_delta"], signed=True),
                f"{u['grade_old'] or '—'}→{u['grade_new'] or '—'}",
                f"{u['findings_old']}→{u['findings_new']}",
                f"{u['resolved']}/{u['new']}/{u['persisting']}",
            ]
            for u in changed
        ]
        widths = [max(width(str(r[i])) for r in [head, *rows]) + 2 for i in range(len(head))]
        widths[-1] -= 2
        # The name takes what the other columns leave.
        widths[1] = max(8, min(widths[1], cols - 2 - sum(widths) + widths[1]))
        for r in [head, *rows]:
            r[1] = clip(r[1], widths[1] - 2)
            out.append(
                "  " + "".join(pad(str(v), w) for v, w in zip(r, widths, strict=True)).rstrip()
            )
    else:
        out.append("  " + L["none"])

    body = max(30, cols - 6)
    for key, items in (
        ("resolved", cmp["findings"]["resolved"]),
        ("added", cmp["findings"]["new"]),
        ("persisting", cmp["findings"]["persisting"]),
    ):
        out.append("")
        out.append(f"{L[key]} ({len(items)})")
        if not items:
            out.append("  " + L["none"])
        for f in items:
            sev = SEVERITY_LABELS.get(f.get("severity"), {}).get(lang, f.get("severity") or "")
            head = (
                f"  [{sev}] {f.get('rule')} {f.get('unit_id')} {f.get('unit_name') or ''}"
                f" · {f.get('subject')} → {action_label(str(f.get('action')), lang)}"
            )
            out.extend(_wrap(head, cols, "      "))
            for line in _wrap(str(f.get("message") or ""), body):
                out.append("      " + line)
            if key == "persisting" and f.get("message_old") and f["message_old"] != f["message"]:
                for line in _wrap(f"{L['was']}: {f['message_old']}", body):
                    out.append("      " + line)

    for key in ("only_old", "only_new"):
        items = cmp["units_only_in_old" if key == "only_old" else "units_only_in_new"]
        if not items:
            continue
        out.append("")
        out.append(f"{L[key]} ({len(items)})")
        for u in items:
            extra = f"  {_num(u['score'])} {u['grade'] or '—'}  {u['findings']}"
            out.append(clip(f"  {u['unit_id']} {u['unit_name']}{extra}", cols))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- command


@click.command("compare")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write the comparison to a file instead of stdout.",
)
def compare_command(old: Path, new: Path, fmt: str, lang: str, out: Path | None) -> None:
    """Compare two audit JSON files (OLD, then NEW): score and grade changes per unit,
    findings resolved, new and persisting.

    Exit codes: 0 compared, 2 bad input.
    """
    from .cli import _bad_input

    audits: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for path in (old, new):
        try:
            audits.append(load_audit(path))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        _bad_input(InputError(problems))
        return
    result = compare_audits(audits[0], audits[1], lang=lang)
    result["old"]["file"] = str(old)
    result["new"]["file"] = str(new)
    if fmt == "json":
        text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    else:
        text = render_compare(result, lang, cols=100 if out is not None else None)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
