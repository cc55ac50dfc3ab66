"""Strict YAML reading: duplicate keys are errors, every node keeps its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys and keeps dates as text."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings so that one parser (with one error message) handles every date format.
_StrictLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def display_path(path: Path) -> str:
    """A file as messages name it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text_file(path: Path, display: str) -> str:
    """A UTF-8 text file (a BOM is dropped); InputError naming the file otherwise."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError([Problem(file=display, message="not UTF-8 text")]) from None
    except OSError as exc:
        raise InputError([Problem(file=display, message=f"cannot read: {exc.strerror}")]) from None


def load_yaml_text(text: str, file: str, scalars_as_text: bool = False) -> Any:
    """Parse YAML text strictly; errors become InputError naming the file and line.

    With scalars_as_text every scalar is the text written (after the same strict parse):
    a fingerprint such as 0000000000000012 or 12345e67 must not become a number.
    """
    try:
        doc = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        row = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(file=file, row=row, message=f"invalid YAML: {reason}")]) from None
    if doc is None or not scalars_as_text:
        return doc
    return yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - builds only str/list/dict


def load_yaml_file(path: Path, display: str | None = None) -> Any:
    """Read and parse a YAML file strictly."""
    name = display or str(path)
    return load_yaml_text(read_text_file(path, name), name)
