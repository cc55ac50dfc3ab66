"""GitHub Actions workflow annotations (`--format github`).

One line per new finding, which GitHub shows on the file and line of the pull request:

    ::error file=rosters/county/roster.csv,line=14,endLine=16,title=Q01 分类超编::U0012 …

error -> error, warning -> warning, info -> notice. The path is the dataset path as given
joined with the file (run sanding from the repository root); an XLSX finding names the file
only, with the sheet and cell in the message. Findings known from the baseline and waived
findings are not annotated (they are counted in the closing summary line); expired and
unmatched waivers are warnings on the waivers file. Data is escaped as the runner expects:
% CR LF in the message, and also : and , in properties.
"""

from __future__ import annotations

from ..audit import AuditResult
from ..baseline import Triage
from ..findings import Finding
from . import evidence_for_output
from .locate import Locator

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}
T = {
    "summary": {
        "zh": "三定审计（截至{as_of}）：问题{findings}项，新增{new}项，基线已知{known}项，已豁免{waived}项",
        "en": "sanding audit as of {as_of}: {findings} findings, {new} new, {known} known, "
        "{waived} waived",
    },
    "fixed": {"zh": "；基线中已整改{n}项", "en": "; {n} baseline findings fixed"},
    "not_evaluated": {"zh": "未评估的规则：{rules}", "en": "rules not evaluated: {rules}"},
    "expired": {
        "zh": "豁免第{entry}条（{sel}，{doc}）已于{expires}到期，不再适用",
        "en": "waiver {entry} ({sel}, {doc}) expired on {expires} and no longer applies",
    },
    "unmatched": {
        "zh": "豁免第{entry}条（{sel}，{doc}）未对应任何问题",
        "en": "waiver {entry} ({sel}, {doc}) matches no finding",
    },
    "basis": {"zh": "依据", "en": "basis"},
    "evidence": {"zh": "证据", "en": "evidence"},
    "rows": {"zh": "行", "en": "rows"},
}


def escape_data(text: str) -> str:
    """Escape a message for a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (file, title) for a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: object) -> str:
    """One workflow command line: ::level k=v,...::message."""
    parts = ",".join(
        f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None and v != ""
    )
    head = f"::{level} {parts}" if parts else f"::{level}"
    return f"{head}::{escape_data(message)}"


def annotation(
    f: Finding, locator: Locator, titles: dict[str, str], lang: str, show_ids: bool
) -> str:
    """The workflow command for one finding."""
    places = locator.places(f)
    first = places[0]
    ev = evidence_for_output(f, show_ids)
    ev_text = ", ".join(f"{k}={'—' if v is None else v}" for k, v in ev.items())
    lines = [f"{f.unit_id} {f.unit_name}: {f.messages[lang]}".strip()]
    if ev_text:
        lines.append(f"{T['evidence'][lang]}: {ev_text}")
    if len(places) > 1 or first.excel:
        where = "; ".join(p.describe(lang) for p in places[:10])
        if len(places) > 10:
            where += f" … (+{len(places) - 10})"
        lines.append(where)
    lines.append(f"{T['basis'][lang]}: {f.basis[lang]}")
    props: dict[str, object] = {"file": first.path}
    if first.start is not None and not first.excel:
        props["line"] = first.start
        if first.end is not None and first.end != first.start:
            props["endLine"] = first.end
    props["title"] = f"{f.rule} {titles.get(f.rule, '')}".strip()
    return command(LEVELS[f.severity], "\n".join(lines), **props)


def render_github(
    result: AuditResult, lang: str = "zh", show_ids: bool = False, triage: Triage | None = None
) -> str:
    """Every annotation, then a summary notice."""
    triage = triage or Triage()
    locator = Locator(result)
    titles = {r.id: r.title[lang] for r in result.rules}
    out = [
        annotation(f, locator, titles, lang, show_ids)
        for f in result.findings
        if triage.status(f) == "new"
    ]
    for w, _ in triage.waivers.expired:
        text = T["expired"][lang].format(
            entry=w.entry, sel=w.selector(), doc=w.doc_no, expires=w.expires.isoformat()
        )
        out.append(command("warning", text, file=w.file, line=w.line, title="sanding waiver"))
    for w in triage.waivers.unmatched:
        text = T["unmatched"][lang].format(entry=w.entry, sel=w.selector(), doc=w.doc_no)
        out.append(command("warning", text, file=w.file, line=w.line, title="sanding waiver"))
    counts = triage.counts(result.findings)
    summary = T["summary"][lang].format(
        as_of=result.as_of.isoformat(), findings=len(result.findings), **counts
    )
    if counts["baseline_fixed"]:
        summary += T["fixed"][lang].format(n=counts["baseline_fixed"])
    if result.rules_not_evaluated:
        rules = ", ".join(n.rule for n in result.rules_not_evaluated)
        summary += "\n" + T["not_evaluated"][lang].format(rules=rules)
    out.append(command("notice", summary, title="sanding"))
    return "\n".join(out) + "\n"
