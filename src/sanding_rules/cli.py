"""The `sanding` command line."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from .errors import InputError, Problem
from .options import (
    disable_option,
    lang_option,
    no_builtin_option,
    param_option,
    params_option,
    rules_option,
)
from .rulefile import SEVERITY_RANK, Rule, load_rules

# Exit codes (data contract, section 6).
EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

FAIL_ON = ("error", "warning", "info", "never")


def _bad_input(exc: InputError) -> None:
    click.echo("输入有误，未作判断 / bad input, nothing was judged:", err=True)
    click.echo(str(exc), err=True)
    sys.exit(EXIT_BAD_INPUT)


def _as_of(value: str | None) -> date:
    from .params import to_date

    if value is None:
        return date.today()
    try:
        return to_date(value)
    except ValueError:
        raise InputError([Problem("--as-of", f"not a date: {value!r}")]) from None


def _parse_value(text: str) -> Any:
    from .yamlutil import load_yaml_text

    return load_yaml_text(text, "--param")


def _overrides(param: tuple[str, ...], params_file: Path | None, rules: list[Rule]):
    from .evaluate import Overrides
    from .yamlutil import load_yaml_file

    by_id = {r.id: r for r in rules}
    over = Overrides()
    problems: list[Problem] = []

    def put(target: dict, rid: str, name: str, value: Any, where: str) -> None:
        rule = by_id.get(rid)
        if rule is None:
            problems.append(Problem(where, f"no rule {rid}"))
            return
        spec = rule.parameters.get(name)
        if spec is None:
            problems.append(Problem(where, f"rule {rid} has no parameter {name!r}"))
            return
        why = spec.check_value(value)
        if why:
            problems.append(Problem(where, f"rule {rid}: {why}"))
            return
        target.setdefault(rid, {})[name] = value

    if params_file is not None:
        doc = load_yaml_file(params_file) or {}
        where = str(params_file)
        if not isinstance(doc, dict) or not set(doc) <= {"rules", "regions"}:
            raise InputError([Problem(where, "a parameters file has the keys rules and regions")])
        for rid, values in (doc.get("rules") or {}).items():
            for name, value in (values or {}).items():
                put(over.all, str(rid), str(name), value, where)
        for region, per_rule in (doc.get("regions") or {}).items():
            target = over.regions.setdefault(str(region), {})
            for rid, values in (per_rule or {}).items():
                for name, value in (values or {}).items():
                    put(target, str(rid), str(name), value, where)
    for item in param:
        key, eq, text = item.partition("=")
        rid, dot, name = key.partition(".")
        if not eq or not dot:
            problems.append(Problem("--param", f"write RULE.NAME=VALUE, got {item!r}"))
            continue
        put(over.all, rid, name, _parse_value(text), "--param")
    if problems:
        raise InputError(problems)
    return over


@click.group()
@click.version_option(package_name="sanding_rules")
def main() -> None:
    """sanding: check staffing against the three determinations (三定).

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input or bad rules.
    """


@main.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", help="Audit date (default: today). ISO or 2026年6月30日.")
@rules_option
@no_builtin_option
@disable_option
@param_option
@params_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "xlsx", "junit", "sarif", "github", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Write the report to a file instead of stdout."
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(path_type=Path),
    help="Baseline JSON (sanding baseline): only findings not in it count toward the exit code.",
)
@click.option(
    "--waivers",
    "waivers_file",
    type=click.Path(path_type=Path),
    help="Waivers YAML: approved, dated exceptions; waived findings never fail the run.",
)
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="error", show_default=True)
@lang_option
@click.option(
    "--show-id-numbers", is_flag=True, help="Show ID numbers in full (masked by default)."
)
@click.option(
    "--engine",
    "path",
    type=click.Choice(["bulk", "rete"]),
    default="bulk",
    show_default=True,
    help="Evaluation path: vectorised, or durable-rules per fact.",
)
@click.option(
    "--model",
    "model_file",
    type=click.Path(path_type=Path),
    help="Evaluation model YAML (default: the built-in model).",
)
@click.option(
    "--adjudications",
    "adjudications_file",
    type=click.Path(path_type=Path),
    help="Verdicts on findings (YAML or CSV): dismissed findings deduct nothing.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path),
    help="Decision rules for structural actions (default: policies/actions.yaml).",
)
def audit(
    dataset: Path,
    as_of: str | None,
    rule_dirs: tuple[Path, ...],
    no_builtin: bool,
    disable: tuple[str, ...],
    param: tuple[str, ...],
    params_file: Path | None,
    fmt: str,
    out: Path | None,
    fail_on: str,
    lang: str,
    show_id_numbers: bool,
    path: str,
    model_file: Path | None,
    adjudications_file: Path | None,
    policy_file: Path | None,
    baseline_file: Path | None = None,
    waivers_file: Path | None = None,
) -> None:
    """Audit a dataset folder: findings, scores, grades and recommended actions."""
    from .actions import load_policy
    from .adjudicate import load_adjudications
    from .audit import Progress, run_audit
    from .baseline import load_baseline, triage
    from .model import load_model
    from .waivers import load_waivers

    try:
        if fmt == "xlsx" and out is None:
            raise InputError([Problem("--out", "an xlsx workbook is a file: give --out FILE")])
        day = _as_of(as_of)
        rules = load_rules(list(rule_dirs), builtins=not no_builtin, disable=list(disable))
        overrides = _overrides(param, params_file, rules)
        model = load_model(model_file, rules)
        policy = load_policy(policy_file, rules)
        verdicts = load_adjudications(adjudications_file) if adjudications_file else []
        base = load_baseline(baseline_file) if baseline_file else None
        waivers = load_waivers(waivers_file) if waivers_file else None
        if not dataset.is_dir():
            raise InputError([Problem(str(dataset), "dataset folder not found")])
        result = run_audit(
            dataset,
            rules,
            day,
            overrides,
            path="engine" if path == "rete" else "bulk",
            progress=Progress(),
            model=model,
            verdicts=verdicts,
            policy=policy,
        )
    except InputError as exc:
        _bad_input(exc)
        return
    # Only new (not in the baseline), non-waived findings count toward the exit code.
    ci = triage(result.findings, result.as_of, base, waivers, _display(waivers_file))
    code = exit_code(ci.counting(result.findings), fail_on)
    if fmt == "xlsx":
        from .report.jsonout import audit_json
        from .report.workbook import write_workbook

        assert out is not None
        write_workbook(audit_json(result, lang, show_id_numbers, ci), out, lang, rules=rules)
        sys.exit(code)
    if fmt == "junit":
        from .report.junit import write_junit

        if out is not None:
            with out.open("wb") as fh:
                write_junit(result, fh, lang, show_id_numbers, ci)
        else:
            data = io.BytesIO()
            write_junit(result, data, lang, show_id_numbers, ci)
            click.echo(data.getvalue(), nl=False)
        sys.exit(code)
    buf = io.StringIO()
    if fmt == "json":
        from .report.jsonout import write_json

        write_json(result, buf, lang, show_id_numbers, ci)
    elif fmt == "csv":
        from .report.csvout import write_csv

        write_csv(result, buf, lang, show_id_numbers, ci)
    elif fmt == "sarif":
        from .report.sarif import write_sarif

        write_sarif(result, buf, lang, show_id_numbers, ci, code)
    elif fmt == "github":
        from .report.github import render_github

        buf.write(render_github(result, lang, show_id_numbers, ci))
    elif fmt == "html":
        from .report.html import render_html

        buf.write(render_html(result, lang, show_id_numbers, ci))
    else:
        from .report.table import render_table

        shown = ci if (baseline_file or waivers_file) else None
        buf.write(render_table(result, lang, show_id_numbers, triage=shown))
    text = buf.getvalue()
    if out is not None:
        encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
        out.write_text(text, encoding=encoding)
    else:
        click.echo(text, nl=False)
    sys.exit(code)


def _display(path: Path | None) -> str | None:
    """A file as messages name it, or None."""
    from .yamlutil import display_path

    return None if path is None else display_path(path)


@main.command("baseline")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--as-of", "as_of", help="Audit date (default: today). ISO or 2026年6月30日.")
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path),
    help="Write the baseline to this file (default: stdout).",
)
@rules_option
@no_builtin_option
@disable_option
@param_option
@params_option
def baseline_command(
    dataset: Path,
    as_of: str | None,
    out: Path | None,
    rule_dirs: tuple[Path, ...],
    no_builtin: bool,
    disable: tuple[str, ...],
    param: tuple[str, ...],
    params_file: Path | None,
) -> None:
    """Record the current findings (rule, unit, subject, file) as a baseline for --baseline."""
    from .audit import Progress, run_audit
    from .baseline import write_baseline

    try:
        day = _as_of(as_of)
        rules = load_rules(list(rule_dirs), builtins=not no_builtin, disable=list(disable))
        overrides = _overrides(param, params_file, rules)
        if not dataset.is_dir():
            raise InputError([Problem(str(dataset), "dataset folder not found")])
        result = run_audit(dataset, rules, day, overrides, progress=Progress())
    except InputError as exc:
        _bad_input(exc)
        return
    buf = io.StringIO()
    write_baseline(result.findings, str(dataset), day, buf)
    if out is not None:
        out.write_text(buf.getvalue(), encoding="utf-8")
        click.echo(f"baseline: {len(result.findings)} findings -> {out}", err=True)
    else:
        click.echo(buf.getvalue(), nl=False)
    sys.exit(EXIT_CLEAN)


def exit_code(findings: list, fail_on: str) -> int:
    """0 when nothing is at or above the failing severity, else 1."""
    if fail_on == "never":
        return EXIT_CLEAN
    limit = SEVERITY_RANK[fail_on]
    return (
        EXIT_FINDINGS if any(SEVERITY_RANK[f.severity] <= limit for f in findings) else EXIT_CLEAN
    )


@main.group()
def rules() -> None:
    """List, show, test and document rules."""


@rules.command("list")
@rules_option
@no_builtin_option
@lang_option
def rules_list(rule_dirs: tuple[Path, ...], no_builtin: bool, lang: str) -> None:
    """List the rules: id, severity, action, title."""
    try:
        loaded = load_rules(list(rule_dirs), builtins=not no_builtin)
    except InputError as exc:
        _bad_input(exc)
        return
    from .report import SEVERITY_LABELS, action_label
    from .report.table import pad

    for r in loaded:
        click.echo(
            f"{pad(r.id, 8)}{pad(SEVERITY_LABELS[r.severity][lang], 9)}"
            f"{pad(action_label(r.action, lang), 12)}{r.title[lang]}"
        )


@rules.command("show")
@click.argument("rule_id")
@rules_option
@lang_option
def rules_show(rule_id: str, rule_dirs: tuple[Path, ...], lang: str) -> None:
    """Show one rule in full."""
    from .ruledocs import rule_markdown

    try:
        loaded = {r.id: r for r in load_rules(list(rule_dirs))}
    except InputError as exc:
        _bad_input(exc)
        return
    if rule_id not in loaded:
        _bad_input(InputError([Problem("rules", f"no rule {rule_id}")]))
    click.echo(rule_markdown(loaded[rule_id], lang))


@rules.command("test")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option(
    "--engine",
    "path",
    type=click.Choice(["bulk", "rete", "both"]),
    default="both",
    show_default=True,
)
def rules_test(folder: Path | None, path: str) -> None:
    """Run every rule's cases (built-in rules, or the rules of FOLDER)."""
    from .casefile import cases_path, load_cases, run_case

    try:
        loaded = load_rules([folder] if folder else [], builtins=folder is None)
    except InputError as exc:
        _bad_input(exc)
        return
    paths = ["bulk", "engine"] if path == "both" else ["engine" if path == "rete" else "bulk"]
    failed = passed = 0
    for rule in loaded:
        cp = cases_path(rule)
        if not cp.exists():
            click.echo(f"FAIL {rule.id}: no cases file {cp.name}")
            failed += 1
            continue
        try:
            cases = load_cases(cp, rule.id)
        except InputError as exc:
            click.echo(f"FAIL {rule.id}: {exc}")
            failed += 1
            continue
        for case in cases:
            for p in paths:
                try:
                    res = run_case(case, rule, p)
                except InputError as exc:
                    click.echo(f"FAIL {case.id} [{p}]: bad case tables: {exc}")
                    failed += 1
                    continue
                if res.ok:
                    passed += 1
                else:
                    failed += 1
                    click.echo(f"FAIL {case.id} [{p}]\n  " + res.explain().replace("\n", "\n  "))
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


@rules.command("docs")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("docs/rules"),
    show_default=True,
)
@rules_option
def rules_docs(out_dir: Path, rule_dirs: tuple[Path, ...]) -> None:
    """Write Markdown documentation generated from the rule files."""
    from .ruledocs import write_docs

    try:
        loaded = load_rules(list(rule_dirs))
    except InputError as exc:
        _bad_input(exc)
        return
    written = write_docs(loaded, out_dir)
    click.echo(f"wrote {len(written)} files to {out_dir}")


def _register() -> None:
    from .compare import compare_command
    from .requests_cli import request_command, serve_command

    main.add_command(compare_command, "compare")
    main.add_command(request_command, "request")
    main.add_command(serve_command, "serve")


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
