"""Input problems: every error names the file, and where it can, the row and column."""

from __future__ import annotations

from dataclasses import dataclass, field

# Stop collecting after this many problems: a broken export can have thousands,
# and the first screenful is what a person fixes first.
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as possible."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    sheet: str | None = None

    def location(self) -> str:
        """Return 'file[:sheet], row N, column C' for messages."""
        parts = [self.file + (f"[{self.sheet}]" if self.sheet else "")]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"


@dataclass
class InputError(Exception):
    """Bad input or bad rules: nothing was judged (exit code 2)."""

    problems: list[Problem] = field(default_factory=list)
    truncated: int = 0

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"... and {self.truncated} more problems")
        return "\n".join(lines)


class ProblemCollector:
    """Collects problems up to MAX_PROBLEMS, then counts the rest."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.limit = limit
        self.problems: list[Problem] = []
        self.truncated = 0

    def add(self, problem: Problem) -> None:
        """Record one problem."""
        if len(self.problems) < self.limit:
            self.problems.append(problem)
        else:
            self.truncated += 1

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise InputError when anything was collected."""
        if self.problems:
            raise InputError(list(self.problems), self.truncated)
