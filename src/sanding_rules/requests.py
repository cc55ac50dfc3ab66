"""Staffing requests and grades (data contract, section 5; evaluation model, section 5).

Reading is forgiving where a person would be and strict where a guess would corrupt a decision:

- a request file is YAML or JSON (one object or a list) or CSV/XLSX (one row per request, English
  or Chinese headers, read by the dataset loader's readers). A file that cannot be read at all
  (unreadable, not YAML/JSON, a CSV without a required column) raises InputError: nothing can be
  decided. A request that is malformed (unknown unit, type, category or level; a count below 1; a
  missing field; a field that does not apply to its type) becomes a per-request error naming the
  file and row (or item), and the other requests of the batch are still decided;
- grades come from a grades table (unit_id, grade A/B/C, audited_on) or from a previous audit's
  JSON (its `as_of` and each unit's `grade`); either one that is wrong raises InputError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from . import codes
from .dates import DATE_FORMATS, parse_date
from .errors import InputError, Problem, ProblemCollector
from .load.normalize import check_unit_references, normalize_table
from .load.read import open_workbook, read_csv, read_sheet
from .schema import Column, TableSchema
from .yamlutil import load_yaml_text

# Request types and their labels (evaluation model, section 5).
REQUEST_TYPES = codes.CodeList(
    "request_type",
    MappingProxyType(
        {
            "hire": MappingProxyType({"zh": "进人", "en": "hire"}),
            "add_quota": MappingProxyType({"zh": "增编", "en": "add quota"}),
            "add_body": MappingProxyType({"zh": "增设内设机构", "en": "add internal body"}),
            "appoint": MappingProxyType({"zh": "配备领导", "en": "appoint leader"}),
        }
    ),
    MappingProxyType(
        {
            "招录": "hire",
            "补充人员": "hire",
            "增加编制": "add_quota",
            "增设机构": "add_body",
            "配备领导职数": "appoint",
            "add quota": "add_quota",
            "add body": "add_body",
        }
    ),
)
# Which of category / level each type needs.
TYPE_NEEDS = {"hire": "category", "add_quota": "category", "add_body": None, "appoint": "level"}
GRADES = ("A", "B", "C")
# A single request may not ask for more than this (a typo guard; the engine gets one fact each).
MAX_COUNT = 1000

REQUESTS = TableSchema(
    "requests",
    "编制事项申请",
    (
        Column("request_id", "str", True, ("申请编号", "请示编号", "编号")),
        Column("unit_id", "str", True, ("单位代码", "单位编码", "机构代码")),
        Column("type", "str", True, ("申请类型", "事项类型", "类型")),
        Column("category", "str", False, ("编制类型", "编制类别", "编制性质")),
        Column("level", "str", False, ("职务层次", "领导职务层次")),
        Column("count", "str", False, ("数量", "人数", "申请数量", "申请数")),
        Column("date", "str", True, ("申请日期", "日期")),
        Column("reason", "str", False, ("理由", "申请理由", "事由", "说明")),
    ),
)
GRADES_TABLE = TableSchema(
    "grades",
    "评定等级",
    (
        Column("unit_id", "str", True, ("单位代码", "单位编码", "机构代码")),
        Column("grade", "str", True, ("等级", "评定等级", "评估等级", "等次")),
        Column("audited_on", "date", True, ("评定日期", "审计日期", "评估日期", "as_of")),
    ),
    key=("unit_id",),
    unit_refs=("unit_id",),
)


@dataclass(frozen=True)
class Request:
    """One validated request."""

    request_id: str
    unit_id: str
    type: str
    category: str | None
    level: str | None
    count: int
    date: date
    reason: str | None = None
    where: str | None = None  # "requests.csv, row 3", for messages

    def to_json(self) -> dict[str, Any]:
        """The request as given, in canonical codes."""
        return {
            "request_id": self.request_id,
            "unit_id": self.unit_id,
            "type": self.type,
            "category": self.category,
            "level": self.level,
            "count": self.count,
            "date": self.date.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RawRequest:
    """One request as read, before validation: canonical keys, raw values, where it came from."""

    values: Mapping[str, Any]
    where: str | None = None
    problem: str | None = None  # set when the item is not even a mapping


@dataclass(frozen=True)
class RequestError:
    """A request that could not be decided, and why."""

    request_id: str | None
    error: str
    where: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's error object (plus where the request was)."""
        message = f"{self.where}: {self.error}" if self.where else self.error
        return {"request_id": self.request_id, "error": message, "location": self.where}


@dataclass(frozen=True)
class Grade:
    """A unit's grade and when it was given."""

    grade: str
    audited_on: date | None
    source: str  # "audit" or "grades"


@dataclass
class GradeBook:
    """Grades per unit, from a grades table or a previous audit."""

    grades: dict[str, Grade] = field(default_factory=dict)
    file: str | None = None
    source: str | None = None  # "audit" / "grades" / None (no grades given)
    # Fingerprints of findings the previous audit's adjudication dismissed.
    dismissed: frozenset[str] = frozenset()

    def get(self, unit_id: str) -> Grade | None:
        """The unit's grade, or None."""
        return self.grades.get(unit_id)


# ----------------------------------------------------------------------------- request files


def read_request_file(path: Path, display: str | None = None) -> list[RawRequest]:
    """Read a request file (YAML, JSON, CSV, XLSX; "-" is standard input, YAML or JSON)."""
    name = display or str(path)
    if str(path) == "-":
        import sys

        return parse_request_text(sys.stdin.read(), "stdin")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError([Problem(name, "not UTF-8 text")]) from None
        except OSError as exc:
            raise InputError([Problem(name, f"cannot read: {exc.strerror or exc}")]) from None
        return parse_request_text(text, name, json_only=suffix == ".json")
    if suffix in (".csv", ".xlsx"):
        return _read_table(path, name, suffix)
    raise InputError([Problem(name, "a request file is .yaml, .yml, .json, .csv or .xlsx")])


def parse_request_text(text: str, name: str, json_only: bool = False) -> list[RawRequest]:
    """Parse YAML or JSON text holding one request object or a list of them."""
    if json_only:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                [Problem(name, f"invalid JSON: {exc.msg}", row=exc.lineno, column=str(exc.colno))]
            ) from None
        lines = None
    else:
        doc = load_yaml_text(text, name)
        lines = _yaml_item_lines(text)
    return raw_requests(doc, name, lines)


def raw_requests(doc: Any, name: str | None, lines: list[int] | None = None) -> list[RawRequest]:
    """Turn a parsed document (one object or a list of objects) into raw requests."""
    if isinstance(doc, Mapping):
        return [_raw_item(doc, name, None, lines[0] if lines else None)]
    if isinstance(doc, list):
        if not doc:
            raise InputError([Problem(name or "request", "no requests: the list is empty")])
        out = []
        for i, item in enumerate(doc):
            line = lines[i] if lines and i < len(lines) else None
            out.append(_raw_item(item, name, i + 1, line))
        return out
    raise InputError(
        [Problem(name or "request", "expected one request (a mapping) or a list of requests")]
    )


def _raw_item(item: Any, name: str | None, index: int | None, line: int | None) -> RawRequest:
    parts = [name] if name else []
    if index is not None:
        parts.append(f"item {index}")
    if line is not None:
        parts.append(f"line {line}")
    where = ", ".join(parts) or None
    if not isinstance(item, Mapping):
        return RawRequest({}, where, "a request must be a mapping of fields")
    values: dict[str, Any] = {}
    for key, value in item.items():
        canonical = REQUESTS.match_header(key) if isinstance(key, str) else None
        if canonical is not None and canonical not in values:
            values[canonical] = value
    return RawRequest(values, where)


def _yaml_item_lines(text: str) -> list[int] | None:
    """The line of each item of a top-level YAML list (None when not a list)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return [node.start_mark.line + 1]
    return None


def _read_table(path: Path, name: str, suffix: str) -> list[RawRequest]:
    problems = ProblemCollector()
    if suffix == ".csv":
        part = read_csv(path, name, REQUESTS, problems)
    else:
        book = open_workbook(path, name, problems)
        part = None
        if book is not None:
            try:
                if not book.worksheets:
                    problems.add(Problem(name, "workbook has no sheets"))
                else:
                    part = read_sheet(book.worksheets[0], name, None, REQUESTS, problems)
            finally:
                book.close()
    problems.raise_if_any()
    if part is None:
        raise InputError([Problem(name, "no requests could be read")])
    frame = part.frame
    columns = [c for c in REQUESTS.column_names if c in frame.columns]
    out = []
    # The CSV reader leaves empty fields missing; requests are validated from text.
    records = frame[columns].astype(object).fillna("").to_dict("records")
    for row, record in zip(frame["_row"].tolist(), records, strict=True):
        if all(not str(v).strip() for v in record.values()):
            continue  # spreadsheet padding
        where = f"{name}, row {row}"
        if part.sheet:
            where = f"{name}[{part.sheet}], row {row}"
        out.append(RawRequest(record, where))
    if not out:
        raise InputError([Problem(name, "no requests: the table has no rows")])
    return out


# ------------------------------------------------------------------------------- validation


class _Invalid(ValueError):
    pass


def _text(value: Any, name: str) -> str | None:
    """A text field: strings stripped, whole numbers accepted; empty is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _Invalid(f"{name} must be text, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        raise _Invalid(f"{name} must be text, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        return text or None
    raise _Invalid(f"{name} must be text, got a {type(value).__name__}")


def _code(value: str, code_list: codes.CodeList, name: str) -> str:
    code = code_list.lookup(value)
    if code is None:
        raise _Invalid(f"unknown {name} {value!r} (accepted: {code_list.accepted()})")
    return code


def _count(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1
    if isinstance(value, bool):
        raise _Invalid(f"count must be a whole number, got {value!r}")
    number: float
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Invalid(f"count must be a whole number, got {value.strip()!r}") from None
    else:
        raise _Invalid(f"count must be a whole number, got a {type(value).__name__}")
    if not math.isfinite(number) or not number.is_integer():
        raise _Invalid(f"count must be a whole number, got {value!r}")
    if number < 1:
        raise _Invalid(f"count must be at least 1, got {int(number)}")
    if number > MAX_COUNT:
        raise _Invalid(f"count must be at most {MAX_COUNT}, got {int(number)}")
    return int(number)


def _date(value: Any) -> date:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _Invalid("missing field date")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(f"date must be text, got {value!r}")
    text = str(value).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)  # the common case, without pandas
        except ValueError:
            pass
    parsed = parse_date(text)
    if parsed is None:
        raise _Invalid(f"cannot read date {str(value).strip()!r} (accepted: {DATE_FORMATS})")
    return parsed.date()


def validate_request(raw: RawRequest, unit_ids: Iterable[str] | Mapping[str, Any]) -> Request:
    """Validate one raw request against the dataset's units; raise ValueError with the reason."""
    if raw.problem:
        raise _Invalid(raw.problem)
    v = raw.values
    request_id = _text(v.get("request_id"), "request_id")
    if request_id is None:
        raise _Invalid("missing field request_id")
    if len(request_id) > 200:
        raise _Invalid("request_id is longer than 200 characters")
    unit_id = _text(v.get("unit_id"), "unit_id")
    if unit_id is None:
        raise _Invalid("missing field unit_id")
    type_text = _text(v.get("type"), "type")
    if type_text is None:
        raise _Invalid("missing field type")
    type_ = _code(type_text, REQUEST_TYPES, "type")
    needs = TYPE_NEEDS[type_]
    category = _text(v.get("category"), "category")
    level = _text(v.get("level"), "level")
    if category is not None:
        if needs != "category":
            raise _Invalid(f"category does not apply to a request of type {type_}")
        category = _code(category, codes.CATEGORY, "category")
        if category == "none":
            raise _Invalid("category none (编外) is not a staffing quota that can be requested")
    elif needs == "category":
        raise _Invalid(f"missing field category (a request of type {type_} needs one)")
    if level is not None:
        if needs != "level":
            raise _Invalid(f"level does not apply to a request of type {type_}")
        level = _code(level, codes.LEVEL, "level")
        if level == "none":
            raise _Invalid("level none (无) is not a leadership level that can be requested")
    elif needs == "level":
        raise _Invalid(f"missing field level (a request of type {type_} needs one)")
    count = _count(v.get("count"))
    day = _date(v.get("date"))
    reason = _text(v.get("reason"), "reason")
    if unit_id not in unit_ids:
        raise _Invalid(f"unknown unit {unit_id!r}: not in the dataset's units")
    return Request(request_id, unit_id, type_, category, level, count, day, reason, raw.where)


def validate_requests(
    raws: list[RawRequest], unit_ids: Iterable[str] | Mapping[str, Any]
) -> list[Request | RequestError]:
    """Validate a batch: each item becomes a Request or a RequestError (duplicates included)."""
    out: list[Request | RequestError] = []
    seen: dict[str, str | None] = {}
    for raw in raws:
        rid = None
        try:
            rid = _text(raw.values.get("request_id"), "request_id") if not raw.problem else None
        except _Invalid:
            rid = None
        try:
            req = validate_request(raw, unit_ids)
        except _Invalid as exc:
            out.append(RequestError(rid, str(exc), raw.where))
            continue
        if req.request_id in seen:
            first = seen[req.request_id]
            extra = f" (first at {first})" if first else ""
            out.append(
                RequestError(
                    req.request_id, f"duplicate request_id {req.request_id!r}{extra}", raw.where
                )
            )
            continue
        seen[req.request_id] = raw.where
        out.append(req)
    return out


# ----------------------------------------------------------------------------------- grades


def read_grades_table(path: Path, unit_ids: pd.Series, display: str | None = None) -> GradeBook:
    """Read a grades table (CSV or XLSX): unit_id, grade (A/B/C), audited_on."""
    name = display or str(path)
    problems = ProblemCollector()
    suffix = path.suffix.lower()
    if suffix == ".csv":
        part = read_csv(path, name, GRADES_TABLE, problems)
    elif suffix == ".xlsx":
        book = open_workbook(path, name, problems)
        part = None
        if book is not None:
            try:
                part = read_sheet(book.worksheets[0], name, None, GRADES_TABLE, problems)
            finally:
                book.close()
    else:
        raise InputError([Problem(name, "a grades table is a .csv or .xlsx file")])
    problems.raise_if_any()
    if part is None:
        raise InputError([Problem(name, "no grades could be read")])
    frame = normalize_table(GRADES_TABLE, [part], problems)
    grade_text = frame["grade"].astype(object).where(frame["grade"].notna(), None)
    normalized = [g.strip().upper() if isinstance(g, str) else None for g in grade_text]
    column = part.headers.get("grade", "grade")
    for g, raw, row in zip(normalized, grade_text, frame["_row"].tolist(), strict=True):
        if g is not None and g not in GRADES:
            problems.add(
                Problem(
                    name, f"unknown grade {raw!r} (accepted: A, B, C)", row=int(row), column=column
                )
            )
    check_unit_references(GRADES_TABLE, frame, [part], unit_ids, problems)
    problems.raise_if_any()
    grades = {}
    for uid, g, day in zip(frame["unit_id"], normalized, frame["audited_on"], strict=True):
        grades[str(uid)] = Grade(str(g), pd.Timestamp(day).date(), "grades")
    return GradeBook(grades, name, "grades")


def read_audit_json(path: Path, unit_ids: pd.Series, display: str | None = None) -> GradeBook:
    """Grades from a previous audit's JSON (data contract, section 4): `as_of` is the audit date
    of every unit; `units[].grade` is A, B, C or null; findings an adjudication dismissed
    (`verdict` or `adjudication.verdict` "dismissed") are not open."""
    name = display or str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError([Problem(name, "not UTF-8 text")]) from None
    except OSError as exc:
        raise InputError([Problem(name, f"cannot read: {exc.strerror or exc}")]) from None
    except json.JSONDecodeError as exc:
        raise InputError([Problem(name, f"invalid JSON: {exc.msg}", row=exc.lineno)]) from None
    problems = ProblemCollector()
    if not isinstance(doc, dict):
        raise InputError([Problem(name, "an audit JSON is an object with as_of and units")])
    as_of = None
    try:
        as_of = _date(doc.get("as_of"))
    except _Invalid as exc:
        problems.add(Problem(name, f"as_of: {exc}", column="as_of"))
    units = doc.get("units")
    if not isinstance(units, list):
        problems.add(Problem(name, "units must be a list", column="units"))
        units = []
    known = set(unit_ids.tolist())
    grades: dict[str, Grade] = {}
    for i, unit in enumerate(units):
        where = f"units[{i}]"
        if not isinstance(unit, dict):
            problems.add(Problem(name, "each unit is an object", column=where))
            continue
        uid = unit.get("unit_id")
        if not isinstance(uid, str) or not uid:
            problems.add(Problem(name, "unit_id must be text", column=f"{where}.unit_id"))
            continue
        if uid not in known:
            problems.add(
                Problem(
                    name,
                    f"unknown unit {uid!r}: not in the dataset's units",
                    column=f"{where}.unit_id",
                )
            )
            continue
        grade = unit.get("grade")
        if grade is None:
            continue
        if not isinstance(grade, str) or grade.strip().upper() not in GRADES:
            problems.add(
                Problem(
                    name,
                    f"unknown grade {grade!r} (accepted: A, B, C or null)",
                    column=f"{where}.grade",
                )
            )
            continue
        if uid in grades:
            problems.add(Problem(name, f"unit {uid!r} is listed twice", column=where))
            continue
        grades[uid] = Grade(grade.strip().upper(), as_of, "audit")
    dismissed = set()
    findings = doc.get("findings") or []
    if isinstance(findings, list):
        for f in findings:
            if not isinstance(f, dict):
                continue
            adjudication = f.get("adjudication") if isinstance(f.get("adjudication"), dict) else {}
            verdict = f.get("verdict") or adjudication.get("verdict")
            if verdict == "dismissed" and isinstance(f.get("fingerprint"), str):
                dismissed.add(f["fingerprint"])
    problems.raise_if_any()
    return GradeBook(grades, name, "audit", frozenset(dismissed))
