"""Reading CSV files and XLSX sheets into raw text frames with source line numbers.

Everything is read as text: conversion to codes, numbers and dates happens once, in
:mod:`normalize`, so that "0012" stays "0012" and every error has one wording.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook, load_workbook

from ..errors import Problem, ProblemCollector
from ..schema import TableSchema

# How many rows with the same defect are listed one by one before summarising.
ROWS_PER_PROBLEM = 5
# A title row ("附件1 ...") above the header is common in spreadsheet exports.
_HEADER_SEARCH_ROWS = 20


@dataclass
class RawPart:
    """Rows of one table from one source, as text, before conversion."""

    file: str
    sheet: str | None
    # Canonical column names (only those the source has) holding raw text, plus "_row".
    frame: pd.DataFrame
    # Canonical name -> the header as the source spells it, for messages.
    headers: dict[str, str] = field(default_factory=dict)
    # Required columns this source lacks (already reported once for the whole file).
    missing: set[str] = field(default_factory=set)
    # XLSX cells may hold date serial numbers (a date cell formatted as General).
    excel: bool = False
    # No field can start or end with white space (checked on the bytes): stripping is a no-op.
    unpadded: bool = False


def map_headers(
    schema: TableSchema,
    headers: Sequence[object],
    *,
    file: str,
    sheet: str | None,
    row: int,
    problems: ProblemCollector,
) -> tuple[dict[str, int], dict[str, str], set[str]]:
    """Match source headers to canonical columns: (positions, spellings, missing required)."""
    positions: dict[str, int] = {}
    spellings: dict[str, str] = {}
    for i, header in enumerate(headers):
        name = schema.match_header(header)
        if name is None:
            continue  # exports carry extra columns; they are not ours to judge
        text = str(header).strip()
        if name in positions:
            problems.add(
                Problem(
                    file=file,
                    sheet=sheet,
                    row=row,
                    column=text,
                    message=f"columns {spellings[name]!r} and {text!r} both mean {name}",
                )
            )
            continue
        positions[name] = i
        spellings[name] = text
    missing = {c for c in schema.required if c not in positions}
    for name in schema.required:
        if name in missing:
            col = schema.column(name)
            accepted = ", ".join((col.name, *col.aliases))
            problems.add(
                Problem(
                    file=file,
                    sheet=sheet,
                    column=name,
                    message=f"missing required column {name} of table {schema.name} "
                    f"(accepted headers: {accepted})",
                )
            )
    return positions, spellings, missing


def read_bytes(path: Path, display: str, problems: ProblemCollector) -> bytes | None:
    """Read a whole file; unreadable -> a problem and None."""
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.add(Problem(file=display, message=f"cannot read file: {exc.strerror or exc}"))
        return None


def decode_csv(data: bytes) -> tuple[bytes, str] | None:
    """Detect the encoding: UTF-8 (BOM stripped) or GB18030; None if neither fits."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encodings: Iterable[str] = ("utf-8",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return data, encoding
    return None


def _layout(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Per CSV record: first line, field count, blank flag; and whether to trust them.

    Works on bytes with numpy: in UTF-8 and GB18030 the bytes of '\\n', '"' and ','
    never occur inside a multi-byte character, so byte positions are safe. Quoting is
    followed by parity (a newline or comma after an odd number of quotes is quoted), which
    is exact for RFC 4180 files; a quote in the middle of an unquoted field (5"3) breaks
    parity, so such files are reported as not reliable.
    """
    b = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(b == 10)
    quotes = np.flatnonzero(b == 34)
    reliable = True
    if quotes.size:
        structural = np.array([10, 13, 34, 44], dtype=np.uint8)
        after = np.isin(b[np.minimum(quotes + 1, len(b) - 1)], structural) | (quotes == len(b) - 1)
        before = np.isin(b[np.maximum(quotes - 1, 0)], structural) | (quotes == 0)
        reliable = bool((after | before).all())
        # A newline after an odd number of quotes is inside a quoted field.
        ending = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)
    else:
        ending = np.arange(newlines.size)
    ends = newlines[ending]
    starts = np.concatenate(([0], ends + 1))
    first_line = np.concatenate(([1], ending + 2))
    stops = np.concatenate((ends, [len(data)]))
    if starts[-1] >= len(data):  # the file ends with a newline: no record after it
        starts, first_line, stops = starts[:-1], first_line[:-1], stops[:-1]
    commas = np.flatnonzero(b == 44)
    if quotes.size and commas.size:
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    per_record = np.diff(np.concatenate(([0], np.searchsorted(commas, stops))))
    length = stops - starts
    has_cr = np.zeros(len(stops), dtype=bool)
    nonempty = length > 0
    has_cr[nonempty] = b[stops[nonempty] - 1] == 13
    blank = (length - has_cr) == 0
    return first_line, per_record + 1, blank, reliable


# Byte sequences that show a field may begin or end with white space: a space or tab beside a
# separator or line end, and the multi-byte spaces str.strip() also removes (no-break space,
# ideographic space). Absent all of them, no field needs stripping.
_PADDING = (
    b" ,",
    b", ",
    b" \n",
    b"\n ",
    b" \r",
    b"\t",
    b"\xc2\xa0",
    b"\xe3\x80\x80",
    b"\x0b",
    b"\x0c",
)


def unpadded(data: bytes) -> bool:
    """True when no CSV field in the bytes can have leading or trailing white space."""
    if data.startswith((b" ", b"\t")) or data.endswith((b" ", b"\t")) or b'"' in data:
        return False  # quoted fields can hide padding inside the quotes: take the slow path
    return not any(p in data for p in _PADDING)


def read_csv(
    path: Path, display: str, schema: TableSchema, problems: ProblemCollector
) -> RawPart | None:
    """Read a CSV table (UTF-8 with/without BOM or GB18030) as text; None if unusable."""
    data = read_bytes(path, display, problems)
    if data is None:
        return None
    decoded = decode_csv(data)
    if decoded is None:
        problems.add(Problem(file=display, message="cannot decode: neither UTF-8 nor GB18030"))
        return None
    data, encoding = decoded
    if not data or data.isspace():
        problems.add(Problem(file=display, message="empty file: no header row"))
        return None
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")  # old Mac line ends: one line per record
    first_line, fields, blank, reliable = _layout(data)
    header_end = data.find(b"\n")
    header_text = data[: header_end if header_end >= 0 else len(data)]
    try:
        header = next(csv.reader([header_text.decode(encoding).rstrip("\r")]), [])
    except csv.Error:
        header = []
    if reliable and fields[0] != len(header):
        # The header itself holds a quoted newline; fall back to pandas' view of it.
        try:
            header = list(_pandas_header(data, encoding))
        except (ValueError, pd.errors.ParserError) as exc:
            problems.add(Problem(file=display, row=1, message=f"cannot parse CSV header: {exc}"))
            return None
    bad = np.flatnonzero((fields != len(header)) & ~blank) if reliable else np.array([], int)
    if bad.size:
        for i in bad[:ROWS_PER_PROBLEM]:
            problems.add(
                Problem(
                    file=display,
                    row=int(first_line[i]),
                    message=f"wrong number of fields: {int(fields[i])} fields where the "
                    f"header has {len(header)}",
                )
            )
        if bad.size > ROWS_PER_PROBLEM:
            problems.add(
                Problem(
                    file=display,
                    message=f"... and {bad.size - ROWS_PER_PROBLEM} more rows with the wrong "
                    "number of fields",
                )
            )
        return None
    positions, spellings, missing = map_headers(
        schema, header, file=display, sheet=None, row=1, problems=problems
    )
    if not positions:
        return None
    used = sorted(positions.values())
    # Columns that are converted value by value (codes, dates, numbers, flags) are read as
    # categories: the parser then hands over each distinct text once, which is what the
    # conversion works on anyway. Free text stays text.
    dtypes: dict[str, str] | type = str
    if len(set(header)) == len(header):
        dtypes = {
            header[pos]: ("str" if schema.column(name).type == "str" else "category")
            for name, pos in positions.items()
        }
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            header=0,
            usecols=used,
            dtype=dtypes,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        # Only reached when our own layout could not be trusted; pandas counts lines.
        line = re.search(r"line (\d+)", str(exc))
        problems.add(
            Problem(
                file=display,
                row=int(line.group(1)) if line else None,
                message=f"cannot parse CSV: {str(exc).strip()}",
            )
        )
        return None
    by_position = {pos: name for name, pos in positions.items()}
    frame.columns = [by_position[pos] for pos in used]
    if reliable and len(frame) == len(first_line) - 1:
        rows = first_line[1:].astype("int64")
    else:
        # Our record count disagrees with pandas (e.g. a stray quote inside a field);
        # approximate rather than refuse the file.
        rows = np.arange(2, len(frame) + 2, dtype="int64")
    frame["_row"] = rows
    return RawPart(display, None, frame, spellings, missing, unpadded=unpadded(data))


def _pandas_header(data: bytes, encoding: str) -> Sequence[str]:
    head = pd.read_csv(io.BytesIO(data), encoding=encoding, nrows=0, dtype=str)
    return [str(c) for c in head.columns]


def cell_text(value: object) -> str:
    """Render one XLSX cell value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel stores every number as a float; a count of 12 must read "12", not "12.0".
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def open_workbook(path: Path, display: str, problems: ProblemCollector) -> Workbook | None:
    """Open an XLSX read-only; unreadable or corrupt -> a problem and None."""
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001
        # openpyxl raises many different exceptions for damaged files; all mean "unreadable".
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.add(Problem(file=display, message=f"cannot read workbook: {reason}"))
        return None


def read_sheet(
    worksheet: object,
    display: str,
    sheet: str | None,
    schema: TableSchema,
    problems: ProblemCollector,
) -> RawPart | None:
    """Read one worksheet as a table: header row, then text cells with sheet row numbers."""
    label = sheet or getattr(worksheet, "title", None)
    try:
        if hasattr(worksheet, "reset_dimensions"):
            # Some writers declare a wrong sheet size; read what is actually there.
            worksheet.reset_dimensions()
        rows = iter(worksheet.iter_rows(values_only=True))  # type: ignore[attr-defined]
        header_row, header = _find_header(rows, schema)
        if header is None:
            problems.add(Problem(file=display, sheet=sheet, message="empty sheet: no header row"))
            return None
        positions, spellings, missing = map_headers(
            schema, header, file=display, sheet=sheet, row=header_row, problems=problems
        )
        if not positions:
            return None
        names = list(positions)
        idx = [positions[n] for n in names]
        columns: list[list[str]] = [[] for _ in names]
        line_numbers: list[int] = []
        row_no = header_row
        for values in rows:
            row_no += 1
            if not values or all(v is None for v in values):
                continue
            width = len(values)
            line_numbers.append(row_no)
            for out, i in zip(columns, idx, strict=True):
                out.append(cell_text(values[i]) if i < width else "")
    except Exception as exc:  # noqa: BLE001 - a damaged sheet must become a Problem
        problems.add(Problem(file=display, sheet=label, message=f"cannot read sheet: {exc}"))
        return None
    frame = pd.DataFrame({n: pd.array(c, dtype="str") for n, c in zip(names, columns, strict=True)})
    frame["_row"] = np.asarray(line_numbers, dtype="int64")
    return RawPart(display, sheet, frame, spellings, missing, excel=True)


def _find_header(rows: Iterable[tuple], schema: TableSchema) -> tuple[int, tuple | None]:
    """Return (sheet row of the header, header cells): the first row naming a column."""
    first: tuple[int, tuple] | None = None
    non_empty = 0
    for number, values in enumerate(rows, start=1):
        if values and any(v is not None and str(v).strip() for v in values):
            if any(schema.match_header(v) for v in values if v is not None):
                return number, values
            first = first or (number, values)
            non_empty += 1
            if non_empty >= _HEADER_SEARCH_ROWS:
                break
    # No row looks like our header: the first non-empty one is reported as lacking columns.
    return first if first is not None else (0, None)
