"""Finding a dataset's tables in its folder and loading them into a Dataset."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError, Problem, ProblemCollector
from ..schema import REQUIRED_TABLES, TABLES, TableSchema, table_for_name
from .normalize import check_unit_references, normalize
from .read import PendingCsv, RawPart, finish_csv, open_workbook, read_csv, read_sheet, start_csv
from .sanding_docs import SANDING_DIR, read_sanding_folder
from .tables import Dataset, Table


@dataclass(frozen=True)
class _Source:
    """Where one table is: a CSV file, an XLSX file (first sheet) or a workbook sheet."""

    kind: str  # "csv", "xlsx" or "sheet"
    path: Path
    display: str
    sheet: str | None = None

    def describe(self) -> str:
        return f"{self.display}[{self.sheet}]" if self.sheet else self.display


def _skipped(path: Path) -> bool:
    # Hidden files and Excel's "~$name.xlsx" lock files are never tables.
    return path.name.startswith((".", "~$")) or not path.is_file()


def find_sources(folder: Path, problems: ProblemCollector) -> dict[str, list[_Source]]:
    """Map table names to where they are given; files that are not tables are ignored."""
    found: dict[str, list[_Source]] = {}
    workbooks: list[Path] = []
    for path in sorted(folder.iterdir()):
        if _skipped(path):
            continue
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            continue
        name = table_for_name(path.stem)
        if name is not None:
            found.setdefault(name, []).append(_Source(suffix[1:], path, path.name))
        elif suffix == ".xlsx":
            workbooks.append(path)
    for path in workbooks:
        book = open_workbook(path, path.name, problems)
        if book is None:
            continue
        try:
            for sheet in book.sheetnames:
                name = table_for_name(sheet)
                if name is not None:
                    found.setdefault(name, []).append(_Source("sheet", path, path.name, sheet))
        finally:
            book.close()
    return found


def _read(source: _Source, schema: TableSchema, problems: ProblemCollector) -> RawPart | None:
    if source.kind == "csv":
        return read_csv(source.path, source.display, schema, problems)
    book = open_workbook(source.path, source.display, problems)
    if book is None:
        return None
    try:
        if source.kind == "xlsx":
            if not book.worksheets:
                problems.add(Problem(file=source.display, message="workbook has no sheets"))
                return None
            return read_sheet(book.worksheets[0], source.display, None, schema, problems)
        return read_sheet(book[source.sheet], source.display, source.sheet, schema, problems)
    finally:
        book.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _load_tables(
    sources: dict[str, list[_Source]],
    pending: dict[str, PendingCsv],
    doc_parts: dict[str, RawPart],
    problems: ProblemCollector,
) -> tuple[dict[str, Table], dict[str, list[RawPart]]]:
    """Read, convert and check every table, in the contract's order."""
    parts_by_table: dict[str, list[RawPart]] = {}
    tables: dict[str, Table] = {}
    for name, schema in TABLES.items():
        given = sources.get(name, [])
        if len(given) > 1:
            places = " and ".join(s.describe() for s in given)
            problems.add(
                Problem(
                    file=given[1].display,
                    sheet=given[1].sheet,
                    message=f"table {name} is given twice: {places}",
                )
            )
            continue
        parts: list[RawPart] = []
        if given:
            if name in pending:
                part = finish_csv(pending.pop(name), problems)
            else:
                part = _read(given[0], schema, problems)
            if part is not None:
                parts.append(part)
        if name in doc_parts:
            parts.append(doc_parts[name])
        if not given and not parts:
            if name in REQUIRED_TABLES:
                problems.add(
                    Problem(
                        file=f"{name}.csv",
                        message=f"required table {name} is missing: give {name}.csv, "
                        f"{name}.xlsx or a workbook sheet named {name} or {schema.zh}",
                    )
                )
            continue
        if not parts:
            continue  # the file was given but unreadable; that is reported already
        normalized = normalize(schema, parts, problems)
        parts_by_table[name] = parts
        main = given[0] if given else None
        given_columns = frozenset(
            c for p in parts for c in p.frame.columns if c in schema.column_names
        )
        tables[name] = Table(
            name,
            normalized.frame,
            main.display if main else SANDING_DIR,
            main.sheet if main else None,
            given_columns,
            normalized.filled & given_columns,
            normalized.coded,
        )

    return tables, parts_by_table


def load_dataset(path: Path) -> Dataset:
    """Load a dataset folder into canonical tables; any bad input raises InputError."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError([Problem(file=str(folder), message="dataset folder not found")])
    problems = ProblemCollector()
    sources = find_sources(folder, problems)
    doc_parts: dict[str, RawPart] = {}
    if (folder / SANDING_DIR).is_dir():
        doc_parts = read_sanding_folder(folder / SANDING_DIR, problems)

    # Two workers: pandas parses the largest CSV (the roster) on one while the other parses
    # the smaller ones, and this thread checks and converts each table as its rows arrive.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: dict[str, PendingCsv] = {}
        single = [(n, s[0]) for n, s in sources.items() if len(s) == 1 and s[0].kind == "csv"]
        for name, source in sorted(single, key=lambda item: -_size(item[1].path)):
            pending[name] = start_csv(source.path, source.display, TABLES[name], pool)
        tables, parts_by_table = _load_tables(sources, pending, doc_parts, problems)

    # Without readable unit ids every reference would be flagged; the units problem suffices.
    if "units" in tables and not any("unit_id" in p.missing for p in parts_by_table["units"]):
        unit_ids = tables["units"].frame["unit_id"].dropna()
        unit_ids = pd.Series(unit_ids.unique(), dtype="str")
        for name, table in tables.items():
            check_unit_references(
                TABLES[name], table.frame, parts_by_table[name], unit_ids, problems, table.coded
            )
    problems.raise_if_any()
    return Dataset(folder, tables)
