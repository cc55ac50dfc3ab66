"""Rule parameters: defaults, values that change on effective dates, and overrides."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class DatedValue:
    """A parameter value in force from a date, with the text that set it."""

    effective_from: date
    value: Any
    reference: str


@dataclass
class ParamSpec:
    """One parameter of a rule."""

    name: str
    description: dict[str, str]
    default: Any = None
    values: list[DatedValue] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None

    def value_on(self, as_of: date) -> Any:
        """The value in force on a date: the latest dated value on or before it, else the default."""
        current = None
        for dv in self.values:
            if dv.effective_from <= as_of and (
                current is None or dv.effective_from > current.effective_from
            ):
                current = dv
        if current is not None:
            return copy.deepcopy(current.value)
        if self.default is None:
            raise ValueError(f"parameter {self.name} has no value in force on {as_of.isoformat()}")
        return copy.deepcopy(self.default)

    def check_value(self, value: Any) -> str | None:
        """Why a value is impossible for this parameter, or None when it is fine."""
        sample = self.default if self.default is not None else None
        if sample is None and self.values:
            sample = self.values[0].value
        if isinstance(sample, bool):
            if not isinstance(value, bool):
                return f"{self.name} must be true or false"
            return None
        if isinstance(sample, int | float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{self.name} must be a number, got {value!r}"
            if self.minimum is not None and value < self.minimum:
                return f"{self.name} must be at least {self.minimum}, got {value}"
            if self.maximum is not None and value > self.maximum:
                return f"{self.name} must be at most {self.maximum}, got {value}"
            return None
        if isinstance(sample, str) and not isinstance(value, str):
            return f"{self.name} must be text, got {value!r}"
        if isinstance(sample, list) and not isinstance(value, list):
            return f"{self.name} must be a list, got {value!r}"
        return None


def to_date(value: object) -> date:
    """Parse a date given in a rule, case or command line; ValueError when it is not one."""
    from .dates import parse_date

    if isinstance(value, date):
        return value
    parsed = parse_date(str(value)) if value is not None else None
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed.date()


def resolve(
    specs: dict[str, ParamSpec], as_of: date, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every parameter's value on a date, with per-run overrides applied."""
    values = {name: spec.value_on(as_of) for name, spec in specs.items()}
    for name, value in (overrides or {}).items():
        values[name] = value
    return values
