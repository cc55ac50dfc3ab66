"""`sanding request` and `sanding serve`: decisions on staffing requests, once or as a service.

Registered in cli.py as `main.add_command(request_command, "request")` and
`main.add_command(serve_command, "serve")`. This module imports cli.py only inside the commands,
so that either module can be imported first.
"""

from __future__ import annotations

import json
import sys
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

EXIT_DECIDED = 0
EXIT_BAD_INPUT = 2


def _config(
    *,
    data: Path,
    audit: Path | None,
    grades: Path | None,
    policy: Path | None,
    as_of: str | None,
    rule_dirs: tuple[Path, ...],
    no_builtin: bool,
    disable: tuple[str, ...],
    param: tuple[str, ...],
    params_file: Path | None,
):
    """The decider's configuration from the options both commands share (see _common)."""
    from .cli import _as_of, _overrides
    from .decide import DeciderConfig
    from .rulefile import load_rules

    if audit is not None and grades is not None:
        raise InputError(
            [Problem("--audit/--grades", "give grades with --audit or --grades, not both")]
        )
    if not data.is_dir():
        raise InputError([Problem(str(data), "dataset folder not found")])
    day = _as_of(as_of) if as_of else None
    rules = load_rules(list(rule_dirs), builtins=not no_builtin, disable=list(disable))
    overrides = _overrides(param, params_file, rules)
    return DeciderConfig(
        data=data,
        audit=audit,
        grades=grades,
        policy=policy,
        as_of=day,
        rule_dirs=tuple(rule_dirs),
        builtins=not no_builtin,
        disable=tuple(disable),
        overrides=overrides,
    )


def _bad_input(exc: InputError) -> None:
    click.echo("输入有误，未作决定 / bad input, nothing was decided:", err=True)
    click.echo(str(exc), err=True)
    sys.exit(EXIT_BAD_INPUT)


def _common(func):
    """Options shared by both commands; they reach the command as keyword arguments, which
    it passes on to _config whole."""
    path = click.Path(path_type=Path)
    options = [
        click.option("--data", "data", required=True, type=path, help="The dataset folder."),
        click.option("--audit", type=path, help="A previous audit's JSON: grades and as_of."),
        click.option("--grades", type=path, help="A grades table: unit_id, grade, audited_on."),
        click.option("--policy", type=path, help="Decision policy YAML (default: built-in)."),
        click.option("--as-of", "as_of", help="Date of the facts (default: today)."),
        rules_option,
        no_builtin_option,
        disable_option,
        param_option,
        params_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def render_table(result: dict[str, Any], lang: str) -> str:
    """Decisions as text for a terminal."""
    from .codes import label
    from .requests import REQUEST_TYPES

    lines = []
    for d in result["decisions"]:
        what = REQUEST_TYPES.label(d["type"], lang)
        target = ""
        if d.get("category"):
            target = " " + label("category", d["category"], lang)
        elif d.get("level"):
            target = " " + label("level", d["level"], lang)
        head = (
            f"{d['request_id']}  {d['unit_id']} {d.get('unit_name') or ''}  "
            f"{what}{target} ×{d['count']}  →  {d['decision_label']} ({d['decision']})"
        )
        lines.append(head)
        for r in d["reasons"]:
            lines.append(f"    {r['rule']}: {r['message']}")
            lines.append(f"        {'依据' if lang == 'zh' else 'basis'}: {r['basis']}")
    if result["errors"]:
        lines.append("")
        lines.append(
            "未能决定的申请 / requests not decided:" if lang == "zh" else "requests not decided:"
        )
        for e in result["errors"]:
            lines.append(f"    {e['request_id'] or '-'}: {e['error']}")
    counts: dict[str, int] = {}
    for d in result["decisions"]:
        counts[d["decision"]] = counts.get(d["decision"], 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    lines.append("")
    lines.append(f"{len(result['decisions'])} decided ({summary}), {len(result['errors'])} errors")
    return "\n".join(lines) + "\n"


@click.command("request")
@click.argument("request_file", type=click.Path(path_type=Path))
@_common
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option("--out", type=click.Path(path_type=Path), help="Write to a file instead of stdout.")
@lang_option
def request_command(
    request_file: Path, fmt: str, out: Path | None, lang: str, **common: Any
) -> None:
    """Decide staffing requests (REQUEST_FILE: YAML, JSON, CSV or XLSX; - for stdin).

    Exit codes: 0 every request was decided or answered with its own error; 2 bad input
    (request file, dataset, grades, audit JSON, rules or policy): nothing was decided.
    """
    from .decide import load_decider
    from .requests import read_request_file

    try:
        raws = read_request_file(request_file)
        decider = load_decider(_config(**common))
    except InputError as exc:
        _bad_input(exc)
        return
    result = decider.decide_batch(raws, lang)
    result = {
        **result,
        "as_of": decider.as_of.isoformat(),
        "dataset": str(common["data"]),
        "policy": decider.policy.file,
        "grades": decider.grades.file,
    }
    if fmt == "json":
        text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    else:
        text = render_table(result, lang)
    if out is not None:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_DECIDED)


@click.command("serve")
@_common
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path),
    help="File holding the bearer token every call but /healthz must present.",
)
@click.option(
    "--max-body",
    default=1_048_576,
    show_default=True,
    type=int,
    help="Largest request body in bytes (larger: 413).",
)
def serve_command(
    host: str, port: int, token_file: Path | None, max_body: int, **common: Any
) -> None:
    """Serve decisions over HTTP (JSON): POST /v1/decisions, GET /v1/units/{id}, GET /v1/rules,
    POST /v1/reload (or SIGHUP), GET /healthz, GET /openapi.json."""
    from .server import Service, run

    try:
        service = Service(_config(**common), token_file=token_file)
    except InputError as exc:
        _bad_input(exc)
        return
    run(service, host=host, port=port, max_body=max_body)
