"""Verification before scoring (误差修正, 逐一查实): verdicts on findings from an adjudication file.

An adjudication file lists finding fingerprints with a verdict (confirmed or dismissed), the
reason, who reviewed it and when, and optionally the `period` (the as-of date of the audit the
verdict was made for; without it the verdict holds for every audit). YAML (a list of
mappings) or CSV (UTF-8 or GBK, English or Chinese headers). Dismissed findings stay in every
report, marked, and deduct nothing; a verdict matching no finding is reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem, ProblemCollector
from .findings import Finding
from .load.read import decode_csv
from .params import to_date
from .yamlutil import display_path, load_yaml_text, read_text_file

CONFIRMED, DISMISSED = "confirmed", "dismissed"
VERDICT_WORDS = {
    "confirmed": CONFIRMED,
    "确认": CONFIRMED,
    "属实": CONFIRMED,
    "dismissed": DISMISSED,
    "驳回": DISMISSED,
    "不属实": DISMISSED,
}
VERDICT_LABELS = {
    CONFIRMED: {"zh": "确认", "en": "confirmed"},
    DISMISSED: {"zh": "驳回", "en": "dismissed"},
}
# Column -> (required, Chinese aliases). Extra CSV columns are ignored; extra YAML keys are not.
COLUMNS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "fingerprint": (True, ("指纹", "问题指纹", "问题编号")),
    "verdict": (True, ("结论", "核查结论", "认定")),
    "reason": (True, ("理由", "原因", "核查理由")),
    "reviewer": (True, ("核查人", "复核人", "审核人")),
    "date": (True, ("日期", "核查日期")),
    "period": (False, ("期间", "审计基准日", "基准日")),
}
FINGERPRINT = re.compile(r"^[0-9a-f]{8,64}$")


@dataclass(frozen=True)
class Verdict:
    """One reviewer's verdict on one finding."""

    fingerprint: str
    verdict: str  # "confirmed" | "dismissed"
    reason: str
    reviewer: str
    date: date
    period: date | None
    file: str
    row: int | None

    @property
    def dismissed(self) -> bool:
        """Whether the finding was found not to hold."""
        return self.verdict == DISMISSED

    def to_json(self) -> dict[str, Any]:
        """The verdict as plain JSON values."""
        return {
            "fingerprint": self.fingerprint,
            "verdict": self.verdict,
            "reason": self.reason,
            "reviewer": self.reviewer,
            "date": self.date.isoformat(),
            "period": self.period.isoformat() if self.period else None,
            "source": {"file": self.file, "row": self.row},
        }


def load_adjudications(path: Path) -> list[Verdict]:
    """Read and validate an adjudication file (.yaml/.yml or .csv); InputError on any problem."""
    path = Path(path)
    display = display_path(path)
    problems = ProblemCollector()
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        records = _yaml_records(path, display, problems)
    elif suffix == ".csv":
        records = _csv_records(path, display, problems)
    else:
        raise InputError(
            [Problem(file=display, message="an adjudication file must be .yaml, .yml or .csv")]
        )
    problems.raise_if_any()
    verdicts: list[Verdict] = []
    seen: dict[tuple[str, date | None], int | None] = {}
    for row, record in records:
        v = _verdict(record, display, row, problems)
        if v is None:
            continue
        key = (v.fingerprint, v.period)
        if key in seen:
            first = seen[key]
            period = f" for period {v.period.isoformat()}" if v.period else ""
            problems.add(
                Problem(
                    file=display,
                    row=row,
                    column="fingerprint",
                    message=f"fingerprint {v.fingerprint}{period} already has a verdict"
                    + (f" (row {first})" if first is not None else ""),
                )
            )
            continue
        seen[key] = row
        verdicts.append(v)
    problems.raise_if_any()
    return verdicts


def _yaml_records(
    path: Path, display: str, problems: ProblemCollector
) -> list[tuple[int | None, dict]]:
    text = read_text_file(path, display)
    doc = load_yaml_text(text, display, scalars_as_text=True)
    if doc is None:
        return []
    if not isinstance(doc, list):
        problems.add(Problem(file=display, message="an adjudication file is a list of verdicts"))
        return []
    # The line of each item, for messages (the strict load above already parsed the text).
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines = [item.start_mark.line + 1 for item in node.value] if node is not None else []
    out: list[tuple[int | None, dict]] = []
    for i, item in enumerate(doc):
        row = lines[i] if i < len(lines) else None
        if not isinstance(item, dict):
            problems.add(Problem(file=display, row=row, message="a verdict must be a mapping"))
            continue
        unknown = [k for k in item if k not in COLUMNS]
        for key in unknown:
            problems.add(
                Problem(
                    file=display,
                    row=row,
                    column=str(key),
                    message=f"unknown key {key!r} (allowed: {', '.join(COLUMNS)})",
                )
            )
        if not unknown:
            out.append((row, item))
    return out


def _csv_records(
    path: Path, display: str, problems: ProblemCollector
) -> list[tuple[int | None, dict]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(file=display, message=f"cannot read: {exc.strerror}")]) from None
    decoded = decode_csv(data)
    if decoded is None:
        raise InputError([Problem(file=display, message="not UTF-8 or GBK text")])
    text = decoded[0].decode(decoded[1])
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    positions: dict[str, int] = {}
    out: list[tuple[int | None, dict]] = []
    line = 1
    for fields in reader:
        start, line = line, reader.line_num + 1
        if not any(f.strip() for f in fields):
            continue
        if header is None:
            header = [f.strip() for f in fields]
            positions = _map_header(header, display, start, problems)
            if problems:
                return []
            continue
        record = {
            name: (fields[i].strip() if i < len(fields) else "") for name, i in positions.items()
        }
        out.append((start, {k: v for k, v in record.items() if v != ""}))
    if header is None:
        problems.add(Problem(file=display, message="empty file: no header row"))
    return out


def _map_header(
    header: list[str], display: str, row: int, problems: ProblemCollector
) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, text in enumerate(header):
        for name, (_, aliases) in COLUMNS.items():
            if text.lower() == name or text in aliases:
                if name in positions:
                    problems.add(
                        Problem(
                            file=display,
                            row=row,
                            column=text,
                            message=f"two columns mean {name}",
                        )
                    )
                positions[name] = i
    for name, (required, aliases) in COLUMNS.items():
        if required and name not in positions:
            problems.add(
                Problem(
                    file=display,
                    column=name,
                    message=f"missing required column {name} "
                    f"(accepted headers: {', '.join((name, *aliases))})",
                )
            )
    return positions


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _verdict(
    record: dict, display: str, row: int | None, problems: ProblemCollector
) -> Verdict | None:
    ok = True

    def fail(column: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(Problem(file=display, row=row, column=column, message=message))

    values = {name: _text(record.get(name)) for name in COLUMNS}
    for name, (required, _) in COLUMNS.items():
        if required and values[name] is None:
            fail(name, f"{name} is empty but required")
    fp = (values["fingerprint"] or "").lower()
    if values["fingerprint"] is not None and not FINGERPRINT.match(fp):
        fail("fingerprint", f"{values['fingerprint']!r} is not a finding fingerprint (hex)")
    verdict = None
    if values["verdict"] is not None:
        verdict = VERDICT_WORDS.get(values["verdict"].lower())
        if verdict is None:
            fail(
                "verdict",
                f"unknown verdict {values['verdict']!r} (accepted: {', '.join(VERDICT_WORDS)})",
            )
    dates: dict[str, date | None] = {"date": None, "period": None}
    for name in dates:
        if values[name] is not None:
            try:
                dates[name] = to_date(values[name])
            except ValueError:
                fail(name, f"bad date {values[name]!r}")
    if not ok:
        return None
    assert verdict is not None and dates["date"] is not None
    return Verdict(
        fingerprint=fp,
        verdict=verdict,
        reason=values["reason"] or "",
        reviewer=values["reviewer"] or "",
        date=dates["date"],
        period=dates["period"],
        file=display,
        row=row,
    )


def apply_verdicts(
    findings: Iterable[Finding], verdicts: list[Verdict], as_of: date
) -> tuple[dict[str, Verdict], list[Verdict]]:
    """The verdicts in force for an audit as of a date: (fingerprint -> verdict, unmatched).

    A verdict with a period applies only to the audit of that as-of date, and then takes
    precedence over one without a period; verdicts for other periods are ignored (they are
    not unmatched: they belong to another audit). Unmatched: verdicts in force whose
    fingerprint is no finding's.
    """
    general: dict[str, Verdict] = {}
    specific: dict[str, Verdict] = {}
    for v in verdicts:
        if v.period is None:
            general[v.fingerprint] = v
        elif v.period == as_of:
            specific[v.fingerprint] = v
    in_force = {**general, **specific}
    fingerprints = {f.fingerprint for f in findings}
    by_fp = {fp: v for fp, v in in_force.items() if fp in fingerprints}
    unmatched = [v for fp, v in in_force.items() if fp not in fingerprints]
    unmatched.sort(key=lambda v: (v.row is None, v.row or 0))
    return by_fp, unmatched
