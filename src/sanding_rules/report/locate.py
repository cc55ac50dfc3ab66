"""Where a finding points, for CI outputs: a repository path and lines, or a sheet and cell.

A finding's source is ``{"file": "roster.csv", "rows": [14, 15, 16, 40], "more": [...]}``:
the file relative to the dataset folder and the rows a reviewer should open (the CSV line,
header = line 1; the sheet row for XLSX; the item's line in a sanding/ YAML or XML document).
CI tools want paths relative to the repository root, so a place joins the dataset path as
given on the command line with the file. Consecutive rows are merged into one run
(lines 14-16, then line 40).

XLSX is not text, so lines mean nothing to a code viewer: a place in a workbook names the
sheet (read from the workbook the same way the loader found the table) and the cell of the
row's first column (``实有人员!A14``, or ``A14:A16`` for a run).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from ..errors import ProblemCollector
from ..facts import ORIGIN_TABLE
from ..findings import Finding


@dataclass(frozen=True)
class Place:
    """One run of consecutive rows of one file."""

    file: str  # relative to the dataset folder, as in the finding's source
    path: str  # the dataset path as given joined with the file (POSIX separators)
    start: int | None  # first row (line), None when the source names no rows
    end: int | None  # last row of the run
    sheet: str | None = None  # XLSX: the worksheet

    @property
    def excel(self) -> bool:
        """Whether the file is a workbook (rows are sheet rows, not text lines)."""
        return self.file.lower().endswith(".xlsx")

    @property
    def rows(self) -> list[int]:
        """The rows of the run."""
        if self.start is None:
            return []
        return list(range(self.start, (self.end or self.start) + 1))

    @property
    def cell(self) -> str | None:
        """XLSX only: the cell reference of the run, with its sheet (实有人员!A14:A16)."""
        if not self.excel or self.start is None:
            return None
        ref = f"A{self.start}" if self.end in (None, self.start) else f"A{self.start}:A{self.end}"
        return f"{sheet_ref(self.sheet)}!{ref}" if self.sheet else ref

    def describe(self, lang: str = "zh") -> str:
        """'roster.csv 第14-16行' / 'county.xlsx 实有人员!A14' for messages."""
        if self.excel and self.cell:
            return f"{self.path} {self.cell}"
        if self.start is None:
            return self.path
        span = str(self.start) if self.end in (None, self.start) else f"{self.start}-{self.end}"
        return f"{self.path} 第{span}行" if lang == "zh" else f"{self.path} line {span}"


def sheet_ref(sheet: str) -> str:
    """A sheet name as a cell reference writes it: quoted when it has spaces or punctuation."""
    if re.fullmatch(r"[\w\u3400-\u9fff]+", sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Consecutive rows merged: [14, 15, 16, 40] -> [(14, 16), (40, 40)]."""
    out: list[list[int]] = []
    for r in sorted(set(int(x) for x in rows)):
        if out and r == out[-1][1] + 1:
            out[-1][1] = r
        else:
            out.append([r, r])
    return [(a, b) for a, b in out]


def dataset_root(dataset: str) -> str:
    """The dataset folder as a POSIX path relative to the working directory when inside it."""
    path = Path(dataset)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return path.as_posix()
    text = PurePosixPath(path.as_posix()).as_posix()
    return "" if text == "." else text


class Locator:
    """Places of findings in one audit's dataset."""

    def __init__(self, result: Any) -> None:
        self.dataset = str(result.dataset)
        self.root = dataset_root(self.dataset)
        self.tables = {
            r.id: (r.source.table or ORIGIN_TABLE.get(r.applies_to)) for r in result.rules
        }
        self._sheets: dict[tuple[str, str], str] | None = None
        self._units: dict[str, tuple[str, int]] | None = None
        self._facts = getattr(result, "facts", None)

    def path(self, file: str) -> str:
        """The repository path of a dataset file."""
        return f"{self.root}/{file}" if self.root else file

    def sheet(self, table: str | None, file: str) -> str | None:
        """The worksheet of an XLSX file that holds a table (the loader's own mapping)."""
        if self._sheets is None:
            self._sheets = _workbook_sheets(Path(self.dataset))
        if table is not None and (table, file) in self._sheets:
            return self._sheets[(table, file)]
        candidates = {s for (_, f), s in self._sheets.items() if f == file}
        return candidates.pop() if len(candidates) == 1 else None

    def _unit_row(self, unit_id: str) -> tuple[str, int] | None:
        if self._units is None:
            self._units = {}
            frame = self._facts["unit"] if self._facts is not None else None
            if frame is not None and "_file" in frame and "_row" in frame:
                for uid, f, r in zip(frame["unit_id"], frame["_file"], frame["_row"], strict=True):
                    if isinstance(f, str) and not pd.isna(r):
                        self._units[str(uid)] = (f, int(r))
        return self._units.get(unit_id)

    def places(self, finding: Finding) -> list[Place]:
        """Every run of rows the finding names, primary (first file, first run) first.

        A finding whose source names no rows points at its unit's row in the units table.
        """
        groups = []
        src = finding.source or {}
        if src.get("file"):
            groups.append((str(src["file"]), list(src.get("rows") or [])))
        for more in src.get("more") or []:
            if more.get("file"):
                groups.append((str(more["file"]), list(more.get("rows") or [])))
        table = self.tables.get(finding.rule)
        if not groups:
            unit = self._unit_row(finding.unit_id)
            if unit is None:
                return [Place("", self.root or ".", None, None)]
            groups.append((unit[0], [unit[1]]))
            table = "units"
        out: list[Place] = []
        for file, rows in groups:
            sheet = self.sheet(table, file) if file.lower().endswith(".xlsx") else None
            spans = runs(rows) or [(None, None)]
            out.extend(Place(file, self.path(file), a, b, sheet) for a, b in spans)
        return out


def _workbook_sheets(folder: Path) -> dict[tuple[str, str], str]:
    """(table, XLSX file) -> worksheet name, found as the loader finds tables."""
    from ..load.dataset import find_sources
    from ..load.read import open_workbook

    out: dict[tuple[str, str], str] = {}
    if not folder.is_dir():
        return out
    problems = ProblemCollector()
    try:
        sources = find_sources(folder, problems)
    except Exception:  # noqa: BLE001 - locations are a convenience; never fail a report on them
        return out
    for table, given in sources.items():
        for source in given:
            if source.sheet is not None:
                out[(table, source.display)] = source.sheet
            elif source.kind == "xlsx":
                book = open_workbook(source.path, source.display, problems)
                if book is not None:
                    try:
                        if book.worksheets:
                            out[(table, source.display)] = book.worksheets[0].title
                    finally:
                        book.close()
    return out


def relative_uri(path: str) -> tuple[str, str | None]:
    """A SARIF artifact URI for a path: (percent-encoded relative reference, "%SRCROOT%"), or
    (file URI, None) for an absolute path outside the working directory."""
    from urllib.parse import quote

    if os.path.isabs(path):
        return Path(path).as_uri(), None
    return quote(path, safe="/"), "%SRCROOT%"
