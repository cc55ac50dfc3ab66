"""Command-line options that several commands share (audit, baseline, rules, request, serve)."""

from __future__ import annotations

from pathlib import Path

import click

rules_option = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A folder of your own rule files (repeatable).",
)
no_builtin_option = click.option(
    "--no-builtin", is_flag=True, help="Do not load the built-in rules."
)
disable_option = click.option(
    "--disable", multiple=True, help="A rule id to switch off (repeatable)."
)
param_option = click.option(
    "--param", multiple=True, help="Override a parameter: RULE.NAME=VALUE (repeatable)."
)
params_option = click.option(
    "--params",
    "params_file",
    type=click.Path(path_type=Path),
    help="YAML file of parameter overrides, overall and per region.",
)
lang_option = click.option(
    "--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True
)
