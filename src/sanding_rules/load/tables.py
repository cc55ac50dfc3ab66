"""The loader's output: a Dataset of canonical Tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# A column as integer codes (-1: missing), row by row, and the distinct values they stand for.
Coded = tuple[np.ndarray, np.ndarray]


@dataclass
class Table:
    """One contract table: canonical columns plus _row and _file (see docs/architecture.md)."""

    name: str
    frame: pd.DataFrame
    # Display path relative to the dataset folder: "roster.csv", "county.xlsx" (sheet in
    # `sheet`), or "sanding" when every row comes from sanding/ documents.
    file: str
    sheet: str | None = None
    # Contract columns the source actually had: absent optional columns are added to `frame`
    # (all missing, or filled with their default), and rules that need them must know.
    given: frozenset[str] = frozenset()
    # The given columns with at least one value (after defaults): what rules can rely on.
    filled: frozenset[str] = frozenset()
    # Repeated text columns (unit and body references) as integer codes and their values,
    # row by row with `frame`: counts and lookups use them instead of hashing text again.
    coded: dict[str, Coded] = field(default_factory=dict)


@dataclass
class Dataset:
    """The tables of one dataset folder; only the tables present are in `tables`."""

    path: Path
    tables: dict[str, Table] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the table was given."""
        return name in self.tables

    def table(self, name: str) -> Table:
        """Return a table; KeyError naming it when absent."""
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"dataset has no {name} table") from None

    def frame(self, name: str) -> pd.DataFrame:
        """Return a table's frame; KeyError naming it when absent."""
        return self.table(name).frame
