"""Reading CSV files and XLSX sheets into raw text frames with source line numbers.

Everything is read as text: conversion to codes, numbers and dates happens once, in
:mod:`normalize`, so that "0012" stays "0012" and every error has one wording.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import Problem, ProblemCollector
from ..schema import TableSchema

if TYPE_CHECKING:
    from openpyxl import Workbook

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
    # Rows whose text may need stripping (see padded_records); None: every row.
    strip: np.ndarray | None = None


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
    bom = data.startswith(_BOM)
    if bom:
        data = data[len(_BOM) :]
    encoding = _encoding(data, bom)
    return None if encoding is None else (data, encoding)


_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 24


def _decodes(data: bytes, encoding: str, final: bool = True) -> bool:
    """Whether the bytes decode in the encoding, checked in chunks so that a large file is
    never held twice in memory (once as bytes, once as text)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _CHUNK):
            decoder.decode(view[start : start + _CHUNK])
        decoder.decode(b"", final=final)
    except UnicodeDecodeError:
        return False
    return True


def _encoding(data: bytes, bom: bool) -> str | None:
    """UTF-8 or GB18030, whichever decodes the whole file (UTF-8 first); None if neither."""
    if data.isascii() or _decodes(data, "utf-8"):
        return "utf-8"
    if not bom and _decodes(data, "gb18030"):
        return "gb18030"
    return None


def _guess_encoding(data: bytes, bom: bool) -> str:
    """The likely encoding from the first 64 KB, so parsing can start before the whole file
    is checked (a wrong guess only costs a second parse)."""
    if bom or _decodes(data[:65536], "utf-8", final=False):
        return "utf-8"
    return "gb18030"


@dataclass
class _Layout:
    """Where the CSV records are, from the bytes alone."""

    starts: np.ndarray  # byte offset of each record
    first_line: np.ndarray  # line number where each record starts
    fields: np.ndarray  # number of fields of each record
    blank: np.ndarray  # records with nothing on them
    reliable: bool  # quoting could be followed exactly (see _layout)
    quoted: bool  # the file has a double quote somewhere


_BLOCK = 1 << 24  # bytes per block: temporaries stay small whatever the file's size


def _layout(data: bytes) -> _Layout:
    """Per CSV record: byte offset, first line, field count, blank flag; and whether to
    trust them.

    Works on bytes with numpy: in UTF-8 and GB18030 the bytes of '\\n', '"' and ','
    never occur inside a multi-byte character, so byte positions are safe. Quoting is
    followed by parity (a newline or comma after an odd number of quotes is quoted), which
    is exact for RFC 4180 files; a quote in the middle of an unquoted field (5"3) breaks
    parity, so such files are reported as not reliable. The bytes are taken in blocks,
    carrying the quote count from block to block: a province's fully quoted roster has
    tens of millions of quotes and commas, whose positions are never all held at once.
    """
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b)
    structural = np.array([10, 13, 34, 44], dtype=np.uint8)
    reliable = True
    quoted = False
    ends: list[np.ndarray] = []  # newlines that end a record
    ending: list[np.ndarray] = []  # ... and their numbers among all newlines
    quotes_before: list[int] = []  # per block, quotes in the blocks before it
    seen_quotes = seen_newlines = 0
    for lo in range(0, n, _BLOCK):
        block = b[lo : lo + _BLOCK]
        newlines = np.flatnonzero(block == 10) + lo
        quotes = np.flatnonzero(block == 34) + lo
        quotes_before.append(seen_quotes)
        if quotes.size:
            quoted = True
            after = np.isin(b[np.minimum(quotes + 1, n - 1)], structural) | (quotes == n - 1)
            before = np.isin(b[np.maximum(quotes - 1, 0)], structural) | (quotes == 0)
            reliable = reliable and bool((after | before).all())
        # A newline after an odd number of quotes is inside a quoted field.
        outside = (seen_quotes + np.searchsorted(quotes, newlines)) % 2 == 0
        ends.append(newlines[outside])
        ending.append(np.flatnonzero(outside) + seen_newlines)
        seen_quotes += quotes.size
        seen_newlines += newlines.size
    record_ends = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    numbers = np.concatenate(ending) if ending else np.zeros(0, dtype=np.int64)
    starts = np.concatenate(([0], record_ends + 1))
    first_line = np.concatenate(([1], numbers + 2))
    stops = np.concatenate((record_ends, [n]))
    if starts[-1] >= n:  # the file ends with a newline: no record after it
        starts, first_line, stops = starts[:-1], first_line[:-1], stops[:-1]
    # Commas outside quotes before each record's end, block by block: each stop looks up the
    # commas of its own block (few queries into a short array, not millions into a long one).
    commas_before = np.empty(len(stops), dtype=np.int64)
    total = 0
    for k, lo in enumerate(range(0, n, _BLOCK)):
        block = b[lo : lo + _BLOCK]
        commas = np.flatnonzero(block == 44) + lo
        if quoted and commas.size:
            quotes = np.flatnonzero(block == 34) + lo
            commas = commas[(quotes_before[k] + np.searchsorted(quotes, commas)) % 2 == 0]
        first, last = np.searchsorted(stops, [lo, lo + len(block)])
        commas_before[first:last] = total + np.searchsorted(commas, stops[first:last])
        total += commas.size
    commas_before[np.searchsorted(stops, n) :] = total  # the record that runs to the end
    fields = np.diff(np.concatenate(([0], commas_before))) + 1
    length = stops - starts
    has_cr = np.zeros(len(stops), dtype=bool)
    nonempty = length > 0
    has_cr[nonempty] = b[stops[nonempty] - 1] == 13
    blank = (length - has_cr) == 0
    return _Layout(starts, first_line, fields, blank, reliable, quoted)


# White space as str.strip() sees it (str.isspace): besides the ASCII controls and the
# space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000,
# as byte sequences in each encoding we read.
_WIDE = [chr(c) for c in range(128, 0x3001) if chr(c).isspace()]
_WIDE_SPACES = {enc: tuple(w.encode(enc) for w in _WIDE) for enc in ("utf-8", "gb18030")}


def padded_records(data: bytes, starts: np.ndarray, encoding: str = "utf-8") -> np.ndarray:
    """Indices of the CSV records (0 is the header) where a field may begin or end with
    white space, so that only those need stripping.

    Conservative: a record is listed when a space or tab touches a comma or a line end,
    when it holds any other ASCII white space but the line ending, or when it holds the bytes
    of a multi-byte space anywhere. In UTF-8 and GB18030 no byte below 0x30 is ever part of
    a multi-byte character, so the ASCII tests are exact; a multi-byte space's bytes may
    also turn up across two other characters in GB18030, which only lists a record more.
    The caller must not use it for quoted files, where padding can hide inside the quotes.
    """
    wide = _WIDE_SPACES[encoding]
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    low = np.flatnonzero(b <= 32)
    value = b[low]
    prev = b[np.maximum(low - 1, 0)]
    nxt = b[np.minimum(low + 1, n - 1)]
    space = value == 32
    at_edge = (low == 0) | (low == n - 1)
    touches = np.isin(prev, (10, 44)) | np.isin(nxt, (10, 13, 44)) | at_edge
    line_end = (value == 10) | ((value == 13) & ((nxt == 10) | (low == n - 1)))
    flagged = [low[(space & touches) | (~space & ~line_end)]]
    for lead in sorted({seq[0] for seq in wide}):
        at = np.flatnonzero(b == lead)
        if not at.size:
            continue
        hit = np.zeros(at.size, dtype=bool)
        for seq in wide:
            if seq[0] != lead:
                continue
            ok = at + len(seq) <= n
            same = ok.copy()
            for k in range(1, len(seq)):
                same[ok] &= b[at[ok] + k] == seq[k]
            hit |= same
        flagged.append(at[hit])
    positions = np.concatenate(flagged)
    return np.unique(np.searchsorted(starts, positions, side="right") - 1)


def read_csv(
    path: Path, display: str, schema: TableSchema, problems: ProblemCollector
) -> RawPart | None:
    """Read a CSV table (UTF-8 with/without BOM or GB18030) as text; None if unusable."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return finish_csv(start_csv(path, display, schema, pool), problems)


@dataclass
class PendingCsv:
    """A CSV file read into memory whose rows pandas is parsing in a worker thread."""

    display: str
    schema: TableSchema
    pool: ThreadPoolExecutor
    # Problems found so far, reported by finish_csv so that they keep the tables' order.
    problems: ProblemCollector = field(default_factory=ProblemCollector)
    data: bytes | None = None
    bom: bool = False
    attempt: _Parse | None = None


def start_csv(
    path: Path, display: str, schema: TableSchema, pool: ThreadPoolExecutor
) -> PendingCsv:
    """Read a CSV file's bytes and start parsing them in the pool (see finish_csv)."""
    pending = PendingCsv(display, schema, pool)
    data = read_bytes(path, display, pending.problems)
    if data is None:
        return pending
    bom = data.startswith(_BOM)
    if bom:
        data = data[len(_BOM) :]
    if not data or data.isspace():
        pending.problems.add(Problem(file=display, message="empty file: no header row"))
        return pending
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")  # old Mac line ends: one line per record
    pending.data, pending.bom = data, bom
    # pandas' tokenizer runs without the GIL, so the parse goes to a worker thread while
    # this one checks the encoding and lays out records and line numbers for messages.
    pending.attempt = _Parse(pool, data, _guess_encoding(data, bom), display, schema)
    return pending


def finish_csv(pending: PendingCsv, problems: ProblemCollector) -> RawPart | None:
    """Check a started CSV against its bytes and take pandas' rows; None if unusable."""
    for problem in pending.problems.problems:
        problems.add(problem)
    data, attempt, display = pending.data, pending.attempt, pending.display
    pending.data = None  # the caller may hold on to pending; the bytes are not needed after
    if data is None or attempt is None:
        return None
    encoding = _encoding(data, pending.bom)
    layout = _layout(data)
    if encoding is None:
        problems.add(Problem(file=display, message="cannot decode: neither UTF-8 nor GB18030"))
        return None
    if encoding != attempt.encoding:
        attempt = _Parse(pending.pool, data, encoding, display, pending.schema)
    padded = None if layout.quoted else padded_records(data, layout.starts, encoding)
    for problem in attempt.header_problems:
        problems.add(problem)
    header = attempt.header
    if header is None:
        return None
    if layout.reliable and layout.fields[0] != len(header):
        problems.add(Problem(file=display, row=1, message="cannot parse CSV header"))
        return None
    if _wrong_field_counts(layout, len(header), display, problems):
        return None
    if not attempt.positions:
        return None
    frame = attempt.result(problems)
    if frame is None:
        return None
    if layout.reliable and len(frame) == len(layout.first_line) - 1:
        rows = layout.first_line[1:].astype("int64")
        strip: np.ndarray | None = None
        if padded is not None:
            strip = np.zeros(len(frame), dtype=bool)
            strip[padded[padded > 0] - 1] = True
    else:
        # Our record count disagrees with pandas (e.g. a stray quote inside a field);
        # approximate rather than refuse the file, and strip every value.
        rows = np.arange(2, len(frame) + 2, dtype="int64")
        strip = None
    frame["_row"] = rows
    return RawPart(display, None, frame, attempt.spellings, attempt.missing, strip=strip)


def _wrong_field_counts(
    layout: _Layout, width: int, display: str, problems: ProblemCollector
) -> bool:
    """Report records whose field count differs from the header's; True if any."""
    if not layout.reliable:
        return False
    bad = np.flatnonzero((layout.fields != width) & ~layout.blank)
    for i in bad[:ROWS_PER_PROBLEM]:
        problems.add(
            Problem(
                file=display,
                row=int(layout.first_line[i]),
                message=f"wrong number of fields: {int(layout.fields[i])} fields where the "
                f"header has {width}",
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
    return bool(bad.size)


class _Parse:
    """One parse of a CSV in a given encoding: its header mapped to the schema now, its
    rows read by pandas in a worker thread."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        data: bytes,
        encoding: str,
        display: str,
        schema: TableSchema,
    ) -> None:
        self.display = display
        self.encoding = encoding
        # Kept apart until the encoding is confirmed, so a wrong guess reports nothing.
        collector = ProblemCollector()
        self.header = _header(data, encoding, display, collector)
        self.positions: dict[str, int] = {}
        self.spellings: dict[str, str] = {}
        self.missing: set[str] = set()
        self.future: Future[pd.DataFrame] | None = None
        if self.header is not None:
            self.positions, self.spellings, self.missing = map_headers(
                schema, self.header, file=display, sheet=None, row=1, problems=collector
            )
        self.header_problems = collector.problems
        if self.positions:
            self.future = pool.submit(
                _parse_rows, data, encoding, self.header, self.positions, schema
            )

    def result(self, problems: ProblemCollector) -> pd.DataFrame | None:
        """The rows with canonical column names, or None after reporting why not."""
        assert self.future is not None
        try:
            frame = self.future.result()
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            # Only reached when our own layout could not be trusted; pandas counts lines.
            line = re.search(r"line (\d+)", str(exc))
            problems.add(
                Problem(
                    file=self.display,
                    row=int(line.group(1)) if line else None,
                    message=f"cannot parse CSV: {str(exc).strip()}",
                )
            )
            return None
        by_position = {pos: name for name, pos in self.positions.items()}
        frame.columns = [by_position[pos] for pos in sorted(self.positions.values())]
        return frame


def _header(
    data: bytes, encoding: str, display: str, problems: ProblemCollector
) -> list[str] | None:
    """The header row's fields; None (reported) if it cannot be read."""
    end = data.find(b"\n")
    line = data[: end if end >= 0 else len(data)]
    try:
        if line.count(b'"') % 2 == 0:
            return next(csv.reader([line.decode(encoding).rstrip("\r")]), [])
        # A quoted newline inside the header: let pandas find where it ends.
        head = pd.read_csv(io.BytesIO(data), encoding=encoding, nrows=0, dtype=str)
        return [str(c) for c in head.columns]
    except (csv.Error, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        problems.add(Problem(file=display, row=1, message=f"cannot parse CSV header: {exc}"))
        return None


def _parse_rows(
    data: bytes, encoding: str, header: list[str], positions: dict[str, int], schema: TableSchema
) -> pd.DataFrame:
    """pandas' C parser over the columns we use, every value as text."""
    # Columns that are converted value by value (codes, dates, numbers, flags) are read as
    # categories: the parser then hands over each distinct text once, which is what the
    # conversion works on anyway. Free text stays text.
    dtypes: dict[str, str] | type = str
    if len(set(header)) == len(header):
        dtypes = {
            header[pos]: (
                "str"
                if schema.column(name).type == "str" and name not in schema.repeated
                else "category"
            )
            for name, pos in positions.items()
        }
    return pd.read_csv(
        io.BytesIO(data),
        encoding=encoding,
        header=0,
        usecols=sorted(positions.values()),
        dtype=dtypes,
        # Only an empty field is missing ("NA", "null" are text); the parser marks it, so
        # text columns need no pass of their own to find empty values.
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
        engine="c",
    )


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
        # Imported here: a CSV dataset never needs it, and it costs start-up time.
        from openpyxl import load_workbook

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
