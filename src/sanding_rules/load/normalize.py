"""Turning raw text parts into canonical tables: types, codes, defaults, keys, references.

Every check is vectorised: conversions work on the distinct values of a column
(``pd.factorize``), duplicates use ``duplicated`` and references ``isin``; Python only
loops over distinct values and over the few rows that are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import codes as code_lists
from ..dates import DATE_FORMATS, parse_dates
from ..errors import Problem, ProblemCollector
from ..schema import Column, TableSchema
from .read import ROWS_PER_PROBLEM, RawPart
from .tables import Coded

ROW = "_row"
FILE = "_file"


class _Locator:
    """Turns row positions of the assembled frame into Problems naming file, sheet, column."""

    def __init__(self, frame: pd.DataFrame, parts: Sequence[RawPart]) -> None:
        self.files = frame[FILE].to_numpy(dtype=object)
        self.rows = frame[ROW].to_numpy()
        self.sheets = {p.file: p.sheet for p in parts}
        self.headers: dict[str, dict[str, str]] = {}
        for p in parts:
            self.headers.setdefault(p.file, {}).update(p.headers)

    def column(self, file: str, name: str) -> str:
        """The column as the file spells it (Chinese header, YAML key ...)."""
        if file.startswith("sanding/"):
            return name
        return self.headers.get(file, {}).get(name, name)

    def report(
        self,
        problems: ProblemCollector,
        mask: np.ndarray,
        column: str | None,
        message: Callable[[int], str],
    ) -> None:
        """Add one Problem per flagged row (a few), then one summary for the rest."""
        hits = np.flatnonzero(mask)
        for i in hits[:ROWS_PER_PROBLEM]:
            file = str(self.files[i])
            problems.add(
                Problem(
                    file=file,
                    row=int(self.rows[i]),
                    column=self.column(file, column) if column else None,
                    sheet=self.sheets.get(file),
                    message=message(int(i)),
                )
            )
        if hits.size > ROWS_PER_PROBLEM:
            file = str(self.files[hits[ROWS_PER_PROBLEM]])
            problems.add(
                Problem(
                    file=file,
                    column=self.column(file, column) if column else None,
                    sheet=self.sheets.get(file),
                    message=f"... and {hits.size - ROWS_PER_PROBLEM} more rows with the same "
                    "problem",
                )
            )


def assemble(schema: TableSchema, parts: Sequence[RawPart]) -> pd.DataFrame:
    """Concatenate raw parts into one text frame with every contract column, _row, _file."""
    frames = []
    for part in parts:
        frame = part.frame
        if FILE not in frame.columns:
            frame = frame.assign(**{FILE: pd.Series(part.file, index=frame.index, dtype="str")})
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    for name in schema.column_names:
        if name not in frame.columns:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype="str")
    return frame.reset_index(drop=True)


def normalize_table(
    schema: TableSchema, parts: Sequence[RawPart], problems: ProblemCollector
) -> pd.DataFrame:
    """Convert and check one table; problems are collected, the frame is returned anyway."""
    return normalize(schema, parts, problems).frame


@dataclass
class Normalized:
    """A converted table and the columns that hold at least one value."""

    frame: pd.DataFrame
    filled: frozenset[str]
    # Repeated text columns' codes, row by row with `frame` (see _convert).
    coded: dict[str, Coded] = field(default_factory=dict)


def normalize(
    schema: TableSchema, parts: Sequence[RawPart], problems: ProblemCollector
) -> Normalized:
    """Convert and check one table (see normalize_table), noting which columns hold values."""
    raw = assemble(schema, parts)
    locate = _Locator(raw, parts)
    # Rows of a file that lacks a required column were reported once, for the file.
    lacking = {name: [p.file for p in parts if name in p.missing] for name in schema.required}
    excel_files = [p.file for p in parts if p.excel]
    excel_rows = raw[FILE].isin(excel_files).to_numpy() if excel_files else None
    strip = _strip_rows(parts)

    converted: dict[str, pd.Series] = {}
    coded: dict[str, Coded] = {}
    empty: dict[str, np.ndarray] = {}
    pending: list[tuple[np.ndarray, str, Callable[[int], str]]] = []
    for col in schema.columns:
        values, is_empty, bad, codes = _convert(col, raw[col.name], excel_rows, strip)
        converted[col.name] = values
        if codes is not None:
            coded[col.name] = codes
        empty[col.name] = is_empty
        pending.extend((mask, col.name, message) for mask, message in bad)

    # Rows with nothing in any contract column (spreadsheet padding, ",,,,") are dropped.
    blank = np.logical_and.reduce(list(empty.values()))
    keep = ~blank
    for mask, name, message in pending:
        locate.report(problems, mask & keep, name, message)
    for col in schema.columns:
        missing = empty[col.name] & keep
        if col.required:
            if lacking[col.name]:
                missing &= ~raw[FILE].isin(lacking[col.name]).to_numpy()
            locate.report(
                problems, missing, col.name, lambda i, c=col.name: f"{c} is empty but required"
            )
        if col.default is not None:
            values = converted[col.name]
            converted[col.name] = values.where(
                ~pd.Series(empty[col.name], index=values.index), col.default
            )

    frame = pd.DataFrame(converted)
    frame[ROW] = raw[ROW].astype("int64").to_numpy()
    frame[FILE] = raw[FILE].astype("str").to_numpy()
    if blank.any():
        frame = frame[keep].reset_index(drop=True)
        locate = _Locator(frame, parts)
        coded = {name: (codes[keep], labels) for name, (codes, labels) in coded.items()}
    _check_duplicates(schema, frame, locate, problems)
    rows = bool(keep.any())
    filled = frozenset(
        col.name
        for col in schema.columns
        if (~empty[col.name] & keep).any() or (rows and col.default is not None)
    )
    return Normalized(frame, filled, coded)


def check_unit_references(
    schema: TableSchema,
    frame: pd.DataFrame,
    parts: Sequence[RawPart],
    unit_ids: pd.Series,
    problems: ProblemCollector,
    coded: dict[str, Coded] | None = None,
) -> None:
    """Report values of unit_id-like columns that name no row of units."""
    locate = _Locator(frame, parts)
    for name in schema.unit_refs:
        values = frame[name]
        if coded and name in coded:
            # Each distinct value is looked up once.
            codes, labels = coded[name]
            unknown_u = np.append(~pd.Index(labels, dtype=object).isin(unit_ids), False)
            unknown = unknown_u[codes]
        else:
            unknown = (values.notna() & ~values.isin(unit_ids)).to_numpy()
        locate.report(
            problems,
            unknown,
            name,
            lambda i, v=values: f"unknown unit {v.iat[i]!r}: not in units",
        )


# --- conversions ------------------------------------------------------------------------

_Bad = list[tuple[np.ndarray, Callable[[int], str]]]
_STRIP = np.frompyfunc(str.strip, 1, 1)


def _strip_rows(parts: Sequence[RawPart]) -> np.ndarray | None:
    """Rows of the assembled table whose text may need stripping; None: all of them."""
    if all(p.strip is None for p in parts):
        return None
    return np.concatenate(
        [np.ones(len(p.frame), dtype=bool) if p.strip is None else p.strip for p in parts]
    )


def _strip(raw: pd.Series, rows: np.ndarray | None = None) -> tuple[pd.Series, np.ndarray]:
    """Strip text; return (text with empty as missing, empty mask).

    With `rows`, only those rows are stripped: the others come from CSV files whose parser
    already turned empty fields into missing values and whose bytes show no padding
    (read.padded_records), so they are left as they are.
    """
    if rows is None:
        text = raw.to_numpy(dtype=object, na_value="")
        # numpy's object loop over str.strip is about twice as fast as Series.str.strip.
        text = _STRIP(text)
        empty = np.asarray(text == "", dtype=bool)
        text[empty] = np.nan
        return pd.Series(pd.array(text, dtype="str"), index=raw.index, name=raw.name), empty
    out = pd.Series(raw.array, index=raw.index, name=raw.name, dtype="str")
    where = np.flatnonzero(rows)
    if where.size:
        stripped = _STRIP(raw.iloc[where].to_numpy(dtype=object, na_value=""))
        stripped[stripped == ""] = np.nan
        out = out.copy()
        out.iloc[where] = stripped
    return out, out.isna().to_numpy()


def _spread(values_u: np.ndarray, codes: np.ndarray, fill: object) -> np.ndarray:
    """Map per-distinct-value results back to rows; code -1 (missing) gets `fill`."""
    return np.append(values_u, np.asarray([fill], dtype=values_u.dtype))[codes]


def _convert(
    col: Column, raw: pd.Series, excel_rows: np.ndarray | None, strip: np.ndarray | None = None
) -> tuple[pd.Series, np.ndarray, _Bad, Coded | None]:
    """Convert one column; return (values, empty mask, [(bad mask, message(row))], and for
    repeated text its codes)."""
    if col.type == "str" and not isinstance(raw.dtype, pd.CategoricalDtype):
        text, is_empty = _strip(raw, strip)
        return text, is_empty, [], None
    # Everything else is converted once per distinct value, then spread back to the rows.
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text_u, empty_u = _strip(pd.Series(uniques, dtype="str"))
    is_empty = _spread(empty_u, codes, True)
    if col.type == "str":
        # Repeated text (schema.repeated), read as categories: stripping may merge spellings.
        # The table gets text; the codes are kept for reference checks and facts.
        merged_u, categories = pd.factorize(text_u, use_na_sentinel=True)
        row_codes = _spread(merged_u.astype(np.int64), codes, -1)
        labels = np.asarray(categories, dtype=object)
        text = np.append(labels, np.asarray([np.nan], dtype=object))[row_codes]
        values = pd.Series(pd.array(text, dtype="str"), index=raw.index, name=col.name)
        return values, is_empty, [], (row_codes, labels)

    def shown(i: int) -> str:
        return repr(str(raw.iat[i]).strip())

    if col.type == "date":
        dates_u, failed_u = (s.to_numpy(copy=True) for s in parse_dates(text_u))
        values = _spread(dates_u, codes, np.datetime64("NaT", "ns"))
        failed = _spread(failed_u, codes, False)
        if excel_rows is not None and failed_u.any():
            retry = np.flatnonzero(failed_u)
            serial, still = parse_dates(text_u.iloc[retry], excel_serial=True)
            serial_u = np.full(len(dates_u), np.datetime64("NaT", "ns"))
            serial_u[retry] = serial.to_numpy()
            ok_u = np.zeros(len(dates_u), dtype=bool)
            ok_u[retry] = ~still.to_numpy()
            fix = excel_rows & _spread(ok_u, codes, False)
            values[fix] = _spread(serial_u, codes, np.datetime64("NaT", "ns"))[fix]
            failed &= ~fix
        message = f"(accepted: {DATE_FORMATS})"
        return (
            pd.Series(values, index=raw.index, name=col.name),
            is_empty,
            [(failed, lambda i: f"cannot read date {shown(i)} {message}")],
            None,
        )
    if col.type in ("num", "int"):
        numbers_u = pd.to_numeric(text_u, errors="coerce").to_numpy(dtype="float64", copy=True)
        bad_u = ~empty_u & ~np.isfinite(numbers_u)
        numbers_u[bad_u] = np.nan
        bad: _Bad = [(_spread(bad_u, codes, False), lambda i: f"not a number: {shown(i)}")]
        if col.type == "int":
            ok_u = ~empty_u & ~bad_u
            negative_u = ok_u & (numbers_u < 0)
            fraction_u = ok_u & ~negative_u & (np.floor(numbers_u) != numbers_u)
            bad.append(
                (
                    _spread(negative_u, codes, False),
                    lambda i: f"impossible value {shown(i)}: negative",
                )
            )
            bad.append(
                (
                    _spread(fraction_u, codes, False),
                    lambda i: f"impossible value {shown(i)}: not a whole number",
                )
            )
        values = _spread(numbers_u, codes, np.nan)
        return pd.Series(values, index=raw.index, name=col.name), is_empty, bad, None
    # Code and bool columns: look each distinct spelling up once.
    code_list = code_lists.code_list(col.code_list or "")
    mapped_u = [
        None if e else code_list.lookup(t)
        for t, e in zip(text_u.tolist(), empty_u.tolist(), strict=True)
    ]
    unknown_u = np.array([m is None for m in mapped_u], dtype=bool) & ~empty_u
    if col.type == "bool":
        array = pd.array([None if m is None else m == "true" for m in mapped_u], dtype="boolean")
        values = pd.Series(array.take(codes, allow_fill=True), index=raw.index, name=col.name)
    else:
        # A categorical: the codes are at hand already, and every later comparison, count
        # and join on a code column then works on small integers instead of text.
        categories = sorted({m for m in mapped_u if m is not None} | _default(col))
        position = {c: i for i, c in enumerate(categories)}
        code_u = np.array([-1 if m is None else position[m] for m in mapped_u], dtype=np.int64)
        values = pd.Series(
            pd.Categorical.from_codes(_spread(code_u, codes, -1), categories=categories),
            index=raw.index,
            name=col.name,
        )
    accepted = code_list.accepted()
    return (
        values,
        is_empty,
        [
            (
                _spread(unknown_u, codes, False),
                lambda i: f"unknown {col.name} {shown(i)} (accepted: {accepted})",
            )
        ],
        None,
    )


def _default(col: Column) -> set[str]:
    """The column's default as a category (empty cells take it; see normalize)."""
    return {col.default} if col.default is not None else set()


# --- keys -------------------------------------------------------------------------------


def _check_duplicates(
    schema: TableSchema, frame: pd.DataFrame, locate: _Locator, problems: ProblemCollector
) -> None:
    if not schema.key:
        return
    subset = list(schema.key) + ([schema.dated_key] if schema.dated_key else [])
    # Rows whose key could not be read were reported already; they would only add noise.
    valid = frame[list(schema.key)].notna().all(axis=1).to_numpy()
    keyed = frame.loc[valid, subset]
    if len(subset) == 1 and pd.Index(keyed[subset[0]]).is_unique:
        # An index checks a sorted column (the usual export) without hashing it.
        return
    later = np.zeros(len(frame), dtype=bool)
    later[valid] = keyed.duplicated(keep="first").to_numpy()
    if not later.any():
        return
    first_of = _first_occurrence(frame, subset, np.flatnonzero(later)[:ROWS_PER_PROBLEM])

    def message(i: int) -> str:
        key = ", ".join(
            f"{c}={_show(frame[c].iat[i])}" for c in subset if not pd.isna(frame[c].iat[i])
        )
        j = first_of.get(i)
        other = f" (first at {locate.files[j]}, row {int(locate.rows[j])})" if j is not None else ""
        return f"duplicate {schema.name} key {key}{other}"

    locate.report(problems, later, schema.key[-1], message)


def _first_occurrence(frame: pd.DataFrame, subset: list[str], rows: np.ndarray) -> dict[int, int]:
    """For a few duplicate rows, the position of the first row with the same key."""
    out: dict[int, int] = {}
    for i in rows:
        same = np.ones(len(frame), dtype=bool)
        for c in subset:
            column = frame[c]
            value = column.iat[i]
            same &= (
                column.isna().to_numpy()
                if pd.isna(value)
                else (column == value).fillna(False).to_numpy()
            )
        out[int(i)] = int(np.flatnonzero(same)[0])
    return out


def _show(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)
