"""A terminal report: summary by rule, then findings grouped by unit, Chinese by default."""

from __future__ import annotations

import shutil
import unicodedata
from collections import defaultdict

from ..audit import AuditResult
from ..baseline import Triage
from ..findings import Finding
from ..rulefile import SEVERITY_RANK
from . import SEVERITY_LABELS, action_label, evidence_for_output, unit_actions

T = {
    "title": {"zh": "三定规则审计报告", "en": "Three-determinations audit"},
    "dataset": {"zh": "数据集", "en": "dataset"},
    "as_of": {"zh": "截至", "en": "as of"},
    "totals": {
        "zh": "单位 {units} 个，人员 {people} 人；评估规则 {rules} 条，未评估 {skipped} 条；发现问题 {findings} 项",
        "en": "{units} units, {people} people; {rules} rules evaluated, {skipped} not evaluated; {findings} findings",
    },
    "by_rule": {"zh": "按规则汇总", "en": "Findings by rule"},
    "rule_head": {
        "zh": ("规则", "名称", "严重程度", "问题数"),
        "en": ("rule", "title", "severity", "findings"),
    },
    "skipped": {"zh": "未评估的规则", "en": "Rules not evaluated"},
    "by_unit": {"zh": "按单位列示", "en": "Findings by unit"},
    "n_findings": {"zh": "{n} 项问题", "en": "{n} findings"},
    "actions": {"zh": "建议措施", "en": "actions"},
    "basis": {"zh": "依据", "en": "basis"},
    "source": {"zh": "来源", "en": "source"},
    "rows": {"zh": "第 {rows} 行", "en": "rows {rows}"},
    "clean": {"zh": "未发现问题。", "en": "No findings."},
    "grades": {"zh": "评定等次", "en": "Grades"},
    "lowest": {"zh": "得分最低的单位", "en": "Lowest-scoring units"},
    "low_head": {
        "zh": ("单位", "名称", "得分", "等次", "建议措施"),
        "en": ("unit", "name", "score", "grade", "actions"),
    },
    "score": {"zh": "得分 {score}，{grade}等", "en": "score {score}, grade {grade}"},
    "dismissed": {"zh": "已驳回", "en": "dismissed"},
    "unmatched": {
        "zh": "核实结论未对应任何问题：{n} 条（指纹 {fps}）",
        "en": "verdicts matching no finding: {n} (fingerprints {fps})",
    },
    "ci": {
        "zh": "新增问题 {new} 项，基线已知 {known} 项，已豁免 {waived} 项",
        "en": "{new} new findings, {known} known (in the baseline), {waived} waived",
    },
    "fixed": {
        "zh": "基线中已不存在（已整改）{n} 项",
        "en": "{n} baseline findings no longer found",
    },
    "w_expired": {
        "zh": "豁免已过期：第{entry}条 {sel}（{doc}，有效期至{expires}）",
        "en": "waiver expired: entry {entry} {sel} ({doc}, expired {expires})",
    },
    "w_unmatched": {
        "zh": "豁免未对应任何问题：第{entry}条 {sel}（{doc}）",
        "en": "waiver matching no finding: entry {entry} {sel} ({doc})",
    },
    "known": {"zh": "基线已知", "en": "known"},
    "waived": {"zh": "已豁免 {doc}", "en": "waived {doc}"},
}
LOWEST = 15


def width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, cols: int) -> str:
    """Pad to a display width."""
    return text + " " * max(0, cols - width(text))


def wrap(text: str, cols: int) -> list[str]:
    """Wrap text to a display width, CJK-aware."""
    lines, cur, w = [], "", 0
    for ch in text:
        cw = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if w + cw > cols and cur:
            lines.append(cur)
            cur, w = "", 0
        cur += ch
        w += cw
    if cur:
        lines.append(cur)
    return lines or [""]


def _rows_text(rows: list[int], lang: str) -> str:
    shown = ", ".join(str(r) for r in rows[:8])
    if len(rows) > 8:
        shown += f" … (+{len(rows) - 8})"
    return T["rows"][lang].format(rows=shown)


def render_table(
    result: AuditResult,
    lang: str = "zh",
    show_ids: bool = False,
    cols: int | None = None,
    triage: Triage | None = None,
) -> str:
    """The whole report as text that fits the terminal."""
    cols = cols or max(60, min(shutil.get_terminal_size((100, 24)).columns, 140))
    out: list[str] = []
    out.append(T["title"][lang])
    out.append(
        f"{T['dataset'][lang]}: {result.dataset}    {T['as_of'][lang]}: {result.as_of.isoformat()}"
    )
    out.append(
        T["totals"][lang].format(
            units=f"{result.units:,}",
            people=f"{result.people:,}",
            rules=len(result.rules_evaluated),
            skipped=len(result.rules_not_evaluated),
            findings=f"{len(result.findings):,}",
        )
    )
    sev = result.by_severity()
    out.append("  ".join(f"{SEVERITY_LABELS[s][lang]} {sev.get(s, 0)}" for s in SEVERITY_LABELS))
    grades = result.by_grade()
    if grades:
        out.append(f"{T['grades'][lang]}: " + "  ".join(f"{g} {grades.get(g, 0)}" for g in "ABC"))
    if result.unmatched_verdicts:
        fps = ", ".join(v.fingerprint for v in result.unmatched_verdicts[:5])
        out.append(T["unmatched"][lang].format(n=len(result.unmatched_verdicts), fps=fps))
    if triage is not None:
        out.extend(_ci_lines(result, triage, lang))
    out.append("")
    out.extend(_lowest(result, lang))
    titles = {r.id: r.title[lang] for r in result.rules}
    severities = {r.id: r.severity for r in result.rules}
    by_rule = result.by_rule()
    if by_rule:
        out.append(T["by_rule"][lang])
        head = T["rule_head"][lang]
        tw = max(width(head[1]), *(width(titles.get(rid, "")) for rid in by_rule)) + 2
        out.append(f"  {pad(head[0], 8)}{pad(head[1], tw)}{pad(head[2], 10)}{head[3]}")
        for rid, n in by_rule.items():
            out.append(
                f"  {pad(rid, 8)}{pad(titles.get(rid, ''), tw)}"
                f"{pad(SEVERITY_LABELS[severities.get(rid, 'info')][lang], 10)}{n:>6}"
            )
        out.append("")
    if result.rules_not_evaluated:
        out.append(T["skipped"][lang])
        for n in result.rules_not_evaluated:
            out.append(f"  {pad(n.rule, 8)}{titles.get(n.rule, '')}: {n.reason[lang]}")
        out.append("")
    if not result.findings:
        out.append(T["clean"][lang])
        return "\n".join(out) + "\n"
    out.append(T["by_unit"][lang])
    per_unit: dict[str, list[Finding]] = defaultdict(list)
    for f in result.findings:
        per_unit[f.unit_id].append(f)
    indent = "      "
    body = max(30, cols - len(indent))
    for uid in sorted(per_unit, key=lambda u: (_score(result, u), u)):
        fs = sorted(per_unit[uid], key=lambda f: (SEVERITY_RANK[f.severity], f.rule, f.subject))
        acts = "、".join(action_label(a, lang) for a in _actions(result, uid, fs))
        unit_score = result.scores.get(uid)
        graded = ""
        if unit_score is not None:
            graded = (
                T["score"][lang].format(score=f"{unit_score.score:g}", grade=unit_score.grade)
                + "; "
            )
        out.append("")
        out.append(
            f"■ {uid} {fs[0].unit_name}  ({graded}{T['n_findings'][lang].format(n=len(fs))}; "
            f"{T['actions'][lang]}: {acts})"
        )
        for f in fs:
            label = SEVERITY_LABELS[f.severity][lang]
            mark = "" if result.counts(f) else f" [{T['dismissed'][lang]}]"
            if triage is not None:
                w = triage.waiver(f)
                if w is not None:
                    mark += f" [{T['waived'][lang].format(doc=w.doc_no)}]"
                elif triage.baseline_state(f) == "known":
                    mark += f" [{T['known'][lang]}]"
            out.append(f"  [{label}]{mark} {f.rule} {f.subject} → {action_label(f.action, lang)}")
            for line in wrap(f.messages[lang], body):
                out.append(indent + line)
            ev = evidence_for_output(f, show_ids)
            if ev:
                ev_text = ", ".join(f"{k}={'—' if v is None else v}" for k, v in ev.items())
                for line in wrap(ev_text, body):
                    out.append(indent + line)
            if f.source.get("file"):
                out.append(
                    indent
                    + f"{T['source'][lang]}: {f.source['file']} {_rows_text(f.source.get('rows', []), lang)}"
                )
            for line in wrap(f"{T['basis'][lang]}: {f.basis[lang]}", body):
                out.append(indent + line)
    return "\n".join(out) + "\n"


def _ci_lines(result: AuditResult, triage: Triage, lang: str) -> list[str]:
    """New, known and waived counts; fixed baseline findings; expired and unmatched waivers."""
    counts = triage.counts(result.findings)
    out = [T["ci"][lang].format(**counts)]
    if counts["baseline_fixed"]:
        out.append(T["fixed"][lang].format(n=counts["baseline_fixed"]))
    for w, _ in triage.waivers.expired:
        out.append(
            T["w_expired"][lang].format(
                entry=w.entry, sel=w.selector(), doc=w.doc_no, expires=w.expires.isoformat()
            )
        )
    for w in triage.waivers.unmatched:
        out.append(T["w_unmatched"][lang].format(entry=w.entry, sel=w.selector(), doc=w.doc_no))
    return out


def _score(result: AuditResult, unit_id: str) -> float:
    unit = result.scores.get(unit_id)
    return unit.score if unit is not None else 100.0


def _actions(result: AuditResult, unit_id: str, fs: list[Finding]) -> list[str]:
    if unit_id in result.actions:
        return [a.action for a in result.actions[unit_id]]
    return unit_actions(fs)


def _lowest(result: AuditResult, lang: str) -> list[str]:
    """The lowest-scoring units, with grade and actions: what a leader reads first."""
    if not result.scores:
        return []
    names = dict(
        zip(result.facts["unit"]["unit_id"], result.facts["unit"]["unit_name"], strict=True)
    )
    ranked = sorted(result.scores.values(), key=lambda s: (s.score, s.unit_id))[:LOWEST]
    head = T["low_head"][lang]
    nw = max(width(head[1]), *(width(str(names.get(s.unit_id) or "")) for s in ranked)) + 2
    out = [
        T["lowest"][lang],
        f"  {pad(head[0], 10)}{pad(head[1], nw)}{pad(head[2], 8)}{pad(head[3], 6)}{head[4]}",
    ]
    for s in ranked:
        acts = "、".join(action_label(a.action, lang) for a in result.actions.get(s.unit_id, []))
        out.append(
            f"  {pad(s.unit_id, 10)}{pad(str(names.get(s.unit_id) or ''), nw)}"
            f"{pad(f'{s.score:g}', 8)}{pad(str(s.grade or ''), 6)}{acts}"
        )
        reason = (s.grade_reason or {}).get(lang)
        if reason:
            out.append(f"  {'':10}{reason}")
    out.append("")
    return out
