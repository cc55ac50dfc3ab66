"""Reference oracle for rule families Q, L, B, P, F and D of rule-catalogue.md (v1).

Written straight from the catalogue in plain loops, independent of the
engine, the loader and the rest of sanding_rules, so that it can check
them. It reads canonical tables (English columns, canonical codes; dates as
date, datetime, Timestamp or ISO / Chinese text) and is meant for datasets
of a few hundred units.

`expected_findings(tables, as_of, params)` returns one dict per finding:
{"rule", "unit_id", "subject", "evidence"}, sorted by rule, unit_id, subject.

Reading of the catalogue where it leaves room (what a staffing officer
would expect):

- Counted: status on_post, seconded_out or long_leave; an empty status is
  on_post (a roster without a status column lists current staff).
- Quotas and leader quotas: per key, the row in force is the one with the
  latest effective_from on or before as_of; a row without effective_from is
  in force from the start, so any dated row on or before as_of replaces it;
  rows dated after as_of are ignored; two rows for one key and date raise.
  A missing row means 0. Quota rows of category none are ignored (编外 has
  no quota): they count neither in Q01/Q03 nor in the sums of Q02/Q05.
- Q01 looks at every category other than none that has a counted person or
  a quota row. Q02 compares the total plainly (counted people with a
  category other than none vs the sum of quotas); "never offset" is read as
  "Q01 stands whatever the total", so Q02 does not fire just because some
  category is over.
- Q03: ratio and vacancy compare with >= (exactly 30 % and exactly 3 fire).
- Q04 ignores category none (编外 people hold no quota to misuse) and rows
  whose unit is not in units (its kind is unknown).
- Q05: counted none people >= 1 and > 0.20 x sum of quotas, so a unit with
  no quotas and one 编外 person fires; exactly 20 % does not.
- L01-L04 count counted people whose leadership is exactly that level;
  empty leadership is none. L05: counted, category logistics, leadership
  present and not none.
- B01 counts every bodies row of the unit (approved or not) against
  bodies_limit; no finding where bodies_limit is empty.
- B02: one finding per (unit, body_id): bodies rows with approved false
  (empty approved is true), and body_ids on the unit's counted roster rows
  that are not among that unit's bodies rows (a body of another unit does
  not count as the unit's own).
- B03: in units with 3 or more bodies rows, each distinct body_id of those
  rows with fewer than 3 counted people of the same unit naming it.
- P01 needs a birth date and a gender (M/F); women whose post_type is
  worker are workers, every other woman (empty post_type: management) is a
  cadre. The retirement month is reached on its first day. For as-of dates
  before 2025-01-01 the old ages (60/55/50) apply to everybody.
- P02: ids normalised by strip + upper-case; rows with an empty id are
  ignored; only counted rows take part, and every counted row of an id
  held on counted rows of 2+ units is a finding (even when two of its rows
  are in the same unit).
- P03/P04: more than 365 days means (as_of - status_since).days > 365;
  an empty status_since gives no finding.
- P05: every row with status retired or left.
- P06: every row (counted or not) whose id, after strip + upper-case, is
  present and not a valid 18-character GB 11643 number.
- F01: payroll rows are matched to the roster by person_id alone (not by
  id_number); one finding per distinct (payroll unit_id, person_id) that has
  no counted roster row in that same unit, whatever the period, amount or
  number of rows. So a person paid by unit A but counted in unit B is a
  finding for A (paid where they do not work), as are people absent from
  the roster and retired/left people still paid. Payroll rows without a
  person_id or a unit_id are ignored.
- F02: a roster row with status on_post (an empty status is on_post) whose
  person_id has no payroll row in any unit (pay may come centrally); any
  category, 编外 included; seconded_out, long_leave, retired and left rows
  never. Periods and amounts are not looked at.
- D01: duty rows whose source, stripped and lower-cased, is "sanding" or
  empty; rows without a duty_code are ignored. A unit's region is
  units.region stripped; a missing column, an empty value or a unit absent
  from units give the empty region, which is one region shared by all such
  units. One finding per (unit, duty_code) when 2+ distinct units of one
  region hold the code; a unit listing a code twice is one holder. Unit
  status is not looked at.
- D02: units of the units table with status active or empty (abolished and
  merged never) that have no counted people (编外 count as people), or that
  have workload rows and every one of those rows has value 0. Without a
  workload table only the first half is checked. Workload rows with an
  empty value are ignored everywhere (they say nothing).
- D03/D04: per (unit, duty_code) the ratio is the sum of the unit's workload
  values for the code / the unit's counted people (编外 included); only
  units with at least one counted person have a ratio (peers). The median
  (statistics.median) is over all peers of the code, the unit itself
  included, and needs 3 or more peers. D03: ratio < 0.5 x median. D04:
  ratio > 1.5 x median, the sum of the unit's quotas (in force, none
  excluded, as in Q02) > 0, and (that sum - counted people whose category
  is present and not none) / that sum < 0.05; an over-staffed unit
  (negative vacancy) qualifies. Exactly 0.5x, 1.5x and 5 % do not fire.
- D05: units of kind institution; a duty (any source) whose text contains
  one of the keywords as a substring, compared case-insensitively (the
  defaults are the six Chinese terms of the catalogue plus the engine's
  English tags licensing, penalty, enforcement, expropriation, inspection,
  fee); a keywords parameter replaces the whole list. One finding per
  (unit, duty_code).
- A rule whose table is absent is not evaluated (no findings): Q01-Q03 and
  Q05 need quotas, L01-L04 leader_quotas, B01-B03 bodies, F01/F02 payroll,
  D01/D05 duties, D03 workload, D04 workload and quotas.
"""

from __future__ import annotations

import calendar
import math
import re
import statistics
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import pandas as pd

ADMIN_KEYWORDS = (
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政征收",
    "行政检查",
    "行政收费",
    "licensing",
    "penalty",
    "enforcement",
    "expropriation",
    "inspection",
    "fee",
)
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "Q03": {"ratio": 0.30, "min_vacant": 3},
    "Q05": {"ratio": 0.20},
    "B03": {"min_people": 3},
    "P03": {"days": 365},
    "P04": {"days": 365},
    "D03": {"ratio": 0.5, "min_peers": 3},
    "D04": {"ratio": 1.5, "max_vacancy": 0.05, "min_peers": 3},
    "D05": {"keywords": ADMIN_KEYWORDS},
}
COUNTED = ("on_post", "seconded_out", "long_leave")
ALLOWED = {
    "party_gov": ("admin", "logistics", "legal"),
    "civil_ref": ("civil_ref", "logistics"),
    "institution": ("institution",),
}
LEVEL_RULES = (
    ("L01", "principal"),
    ("L02", "deputy"),
    ("L03", "body_principal"),
    ("L04", "body_deputy"),
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


# ---------------------------------------------------------------- reading values


def text(value: Any) -> str | None:
    """A stripped string, or None for missing/empty."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    s = str(value).strip()
    return s or None


def to_date(value: Any) -> date | None:
    """A date from date/datetime/Timestamp or ISO, 2026/3/31 or 2026年3月31日 text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = text(value)
    if s is None:
        return None
    m = re.fullmatch(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?(?:[ T].*)?", s)
    if not m:
        raise ValueError(f"not a date: {value!r}")
    return date(int(m[1]), int(m[2]), int(m[3]))


def to_bool(value: Any) -> bool:
    """Bodies' approved: true unless it says false."""
    if isinstance(value, bool):
        return value
    s = text(value)
    if s is None:
        return True
    return s.lower() not in ("false", "否", "0", "no", "n", "f")


def to_int(value: Any) -> int | None:
    s = text(value)
    if s is None:
        return None
    return int(float(s))


def to_float(value: Any) -> float | None:
    s = text(value)
    if s is None:
        return None
    return float(s)


def rows(tables: dict[str, pd.DataFrame], name: str) -> list[dict[str, Any]]:
    df = tables.get(name)
    if df is None:
        return []
    return df.to_dict("records")


def id_is_valid(raw: Any) -> bool:
    """GB 11643-1999: 17 digits + digit or X, a real YYYYMMDD date, MOD 11-2 check."""
    s = (text(raw) or "").upper()
    if len(s) != 18 or not all(c in "0123456789" for c in s[:17]) or s[17] not in "0123456789X":
        return False
    year, month, day = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if year < 1800 or not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11] == s[17]


def retirement_month(
    birth: date, gender: str, post_type: str | None, as_of: date
) -> tuple[int, int]:
    """(year, month) from whose first day the person is over the statutory age."""
    male = gender == "M"
    worker = not male and post_type == "worker"
    born = birth.year * 12 + (birth.month - 1)
    if as_of < date(2025, 1, 1):
        months = (60 if male else 50 if worker else 55) * 12
    else:
        if male:
            years, first_year, cap, step = 60, 1965, 36, 4
        elif worker:
            years, first_year, cap, step = 50, 1975, 60, 2
        else:
            years, first_year, cap, step = 55, 1970, 36, 4
        k = born - first_year * 12
        months = years * 12 + (min(cap, k // step + 1) if k >= 0 else 0)
    total = born + months
    return total // 12, total % 12 + 1


# ---------------------------------------------------------------- the oracle


def in_force(table: list[dict[str, Any]], key: str, as_of: date) -> dict[tuple[str, str], int]:
    """approved per (unit_id, key) from the row in force on as_of."""
    best: dict[tuple[str, str], tuple[date, int]] = {}
    seen: set[tuple[str, str, date]] = set()
    for row in table:
        unit, code = text(row.get("unit_id")), text(row.get(key))
        if unit is None or code is None:
            continue
        since = to_date(row.get("effective_from")) or date.min
        if since > as_of:
            continue
        if (unit, code, since) in seen:
            raise ValueError(f"two rows for {unit} {code} effective {since}")
        seen.add((unit, code, since))
        if (unit, code) not in best or since > best[(unit, code)][0]:
            best[(unit, code)] = (since, to_int(row.get("approved")) or 0)
    return {k: v for k, (_, v) in best.items()}


def expected_findings(
    tables: dict[str, pd.DataFrame], as_of: date, params: dict | None = None
) -> list[dict]:
    """Findings of rules Q01-Q05, L01-L05, B01-B03, P01-P06, F01-F02 and D01-D05."""
    p = {rule: dict(values) for rule, values in DEFAULT_PARAMS.items()}
    for rule, values in (params or {}).items():
        p.setdefault(rule, {}).update(values)
    out: list[dict] = []

    def find(rule: str, unit: str, subject: str, **evidence: Any) -> None:
        out.append({"rule": rule, "unit_id": unit, "subject": subject, "evidence": evidence})

    units = {text(u["unit_id"]): u for u in rows(tables, "units")}
    roster = rows(tables, "roster")
    for r in roster:
        r["_unit"] = text(r.get("unit_id"))
        r["_status"] = text(r.get("status")) or "on_post"
        r["_category"] = text(r.get("category"))
        r["_lead"] = text(r.get("leadership")) or "none"
        r["_counted"] = r["_status"] in COUNTED
    counted = [r for r in roster if r["_counted"]]
    have_quotas, have_leaders, have_bodies = (
        tables.get(t) is not None for t in ("quotas", "leader_quotas", "bodies")
    )
    quotas = {
        k: v
        for k, v in in_force(rows(tables, "quotas"), "category", as_of).items()
        if k[1] != "none"
    }
    leader = in_force(rows(tables, "leader_quotas"), "level", as_of)
    all_units = sorted(
        (set(units) | {r["_unit"] for r in roster} | {u for u, _ in quotas}) - {None}
    )

    # Q01, Q02, Q03, Q05
    people: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in counted:
        if r["_category"] is not None:
            people[r["_unit"]][r["_category"]] += 1
    unit_quotas: dict[str, dict[str, int]] = defaultdict(dict)
    for (unit, c), approved in quotas.items():
        unit_quotas[unit][c] = approved
    for unit in all_units if have_quotas else []:
        have, allowed = people.get(unit, {}), unit_quotas.get(unit, {})
        cats = (set(have) | set(allowed)) - {"none"}
        for c in sorted(cats):
            actual, approved = have.get(c, 0), allowed.get(c, 0)
            if actual > approved:
                find("Q01", unit, c, actual=actual, approved=approved)
        quota_total = sum(allowed.values())
        total = sum(have.get(c, 0) for c in cats)
        if total > quota_total:
            find("Q02", unit, "total", actual=total, approved=quota_total)
        for c in sorted(allowed):
            approved = allowed[c]
            if approved <= 0:
                continue
            vacant = approved - have.get(c, 0)
            ratio = vacant / approved
            if ratio >= p["Q03"]["ratio"] and vacant >= p["Q03"]["min_vacant"]:
                find(
                    "Q03",
                    unit,
                    c,
                    approved=approved,
                    actual=approved - vacant,
                    vacant=vacant,
                    ratio=ratio,
                )
        contract = have.get("none", 0)
        limit = p["Q05"]["ratio"] * quota_total
        if contract >= 1 and contract > limit:
            find("Q05", unit, "none", actual=contract, quota_total=quota_total, limit=limit)

    # Q04, L05
    for r in counted:
        unit, cat = r["_unit"], r["_category"]
        kind = text(units[unit].get("kind")) if unit in units else None
        pid = text(r.get("person_id"))
        if kind in ALLOWED and cat not in (None, "none") and cat not in ALLOWED[kind]:
            find("Q04", unit, pid, category=cat, kind=kind)
        if cat == "logistics" and r["_lead"] != "none":
            find("L05", unit, pid, category=cat, leadership=r["_lead"])

    # L01-L04
    leaders: dict[tuple[str, str], int] = defaultdict(int)
    for r in counted:
        leaders[(r["_unit"], r["_lead"])] += 1
    for unit in all_units if have_leaders else []:
        for rule, level in LEVEL_RULES:
            actual, approved = leaders.get((unit, level), 0), leader.get((unit, level), 0)
            if actual > approved:
                find(rule, unit, level, actual=actual, approved=approved)

    # B01-B03
    bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in rows(tables, "bodies"):
        bodies[text(b.get("unit_id"))].append(b)
    for unit, unit_bodies in bodies.items():
        limit = to_int(units.get(unit, {}).get("bodies_limit"))
        if limit is not None and len(unit_bodies) > limit:
            find("B01", unit, "bodies", bodies=len(unit_bodies), limit=limit)
    flagged: set[tuple[str, str]] = set()
    members: dict[tuple[str, str], int] = defaultdict(int)
    for r in counted:
        body = text(r.get("body_id"))
        if body is not None:
            members[(r["_unit"], body)] += 1
    for unit, unit_bodies in bodies.items():
        for b in unit_bodies:
            body = text(b.get("body_id"))
            if not to_bool(b.get("approved")) and (unit, body) not in flagged:
                flagged.add((unit, body))
                find("B02", unit, body, reason="unapproved", people=members.get((unit, body), 0))
    for (unit, body), n in sorted(members.items()) if have_bodies else []:
        known = {text(b.get("body_id")) for b in bodies.get(unit, [])}
        if body not in known and (unit, body) not in flagged:
            flagged.add((unit, body))
            find("B02", unit, body, reason="not_in_bodies", people=n)
    for unit, unit_bodies in bodies.items():
        if len(unit_bodies) < 3:
            continue
        for body in sorted({text(b.get("body_id")) for b in unit_bodies}):
            n = members.get((unit, body), 0)
            if n < p["B03"]["min_people"]:
                find("B03", unit, body, actual=n, min=p["B03"]["min_people"])

    # P01-P06
    id_units: dict[str, set[str]] = defaultdict(set)
    for r in counted:
        n = (text(r.get("id_number")) or "").upper()
        if n:
            id_units[n].add(r["_unit"])
    for r in roster:
        unit, pid, status = r["_unit"], text(r.get("person_id")), r["_status"]
        raw_id = text(r.get("id_number"))
        if r["_counted"]:
            born, gender = to_date(r.get("birth_date")), text(r.get("gender"))
            if born is not None and gender in ("M", "F"):
                year, month = retirement_month(born, gender, text(r.get("post_type")), as_of)
                if (as_of.year, as_of.month) >= (year, month):
                    find(
                        "P01",
                        unit,
                        pid,
                        birth_date=born.isoformat(),
                        gender=gender,
                        retirement_month=f"{year:04d}-{month:02d}",
                    )
            if raw_id and len(id_units[raw_id.upper()]) >= 2:
                find(
                    "P02",
                    unit,
                    pid,
                    id_number=raw_id.upper(),
                    units=sorted(id_units[raw_id.upper()]),
                )
            since = to_date(r.get("status_since"))
            for rule, away in (("P03", "seconded_out"), ("P04", "long_leave")):
                if status == away and since is not None and (as_of - since).days > p[rule]["days"]:
                    find(rule, unit, pid, status_since=since.isoformat(), days=(as_of - since).days)
        if status in ("retired", "left"):
            find("P05", unit, pid, status=status)
        if raw_id is not None and not id_is_valid(raw_id):
            find("P06", unit, pid, id_number=raw_id)

    # F01, F02
    if tables.get("payroll") is not None:
        counted_at = {(r["_unit"], text(r.get("person_id"))) for r in counted}
        counted_units: dict[str, set[str]] = defaultdict(set)
        statuses: dict[str, set[str]] = defaultdict(set)
        for r in roster:
            pid = text(r.get("person_id"))
            statuses[pid].add(r["_status"])
            if r["_counted"]:
                counted_units[pid].add(r["_unit"])
        paid: dict[tuple[str, str], int] = defaultdict(int)
        for row in rows(tables, "payroll"):
            unit, pid = text(row.get("unit_id")), text(row.get("person_id"))
            if unit is not None and pid is not None:
                paid[(unit, pid)] += 1
        for (unit, pid), n in sorted(paid.items()):
            if (unit, pid) not in counted_at:
                find(
                    "F01",
                    unit,
                    pid,
                    payroll_rows=n,
                    counted_in=sorted(counted_units.get(pid, ())),
                    roster_status=sorted(statuses.get(pid, ())),
                )
        paid_ids = {pid for _, pid in paid}
        seen: set[tuple[str, str]] = set()
        for r in roster:
            pid = text(r.get("person_id"))
            if r["_status"] == "on_post" and pid not in paid_ids and (r["_unit"], pid) not in seen:
                seen.add((r["_unit"], pid))
                find("F02", r["_unit"], pid, status="on_post", category=r["_category"])

    # D01, D05
    duties = rows(tables, "duties")
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d in duties:
        unit, code = text(d.get("unit_id")), text(d.get("duty_code"))
        if unit is None or code is None:
            continue
        if (text(d.get("source")) or "").lower() in ("", "sanding"):
            region = text(units[unit].get("region")) if unit in units else None
            holders[(region or "", code)].add(unit)
    for (region, code), held in sorted(holders.items()):
        if len(held) >= 2:
            for unit in sorted(held):
                find("D01", unit, code, region=region, units=sorted(held))
    keywords = p["D05"]["keywords"]
    keywords = [keywords] if isinstance(keywords, str) else list(keywords)
    flagged_duties: set[tuple[str, str]] = set()
    for d in duties:
        unit, code = text(d.get("unit_id")), text(d.get("duty_code"))
        if unit is None or code is None or (unit, code) in flagged_duties:
            continue
        kind = text(units[unit].get("kind")) if unit in units else None
        words = (text(d.get("text")) or "").casefold()
        matched = [k for k in keywords if str(k).casefold() in words]
        if kind == "institution" and matched:
            flagged_duties.add((unit, code))
            find("D05", unit, code, keywords=matched, text=text(d.get("text")))

    # D02, D03, D04
    headcount: dict[str, int] = defaultdict(int)
    for r in counted:
        headcount[r["_unit"]] += 1
    have_workload = tables.get("workload") is not None
    workload: dict[str, list[float]] = defaultdict(list)
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for w in rows(tables, "workload"):
        unit, code, value = (
            text(w.get("unit_id")),
            text(w.get("duty_code")),
            to_float(w.get("value")),
        )
        if unit is None or code is None or value is None:
            continue
        workload[unit].append(value)
        sums[(unit, code)] += value
    for unit, u in sorted((k, v) for k, v in units.items() if k is not None):
        if (text(u.get("status")) or "active") != "active":
            continue
        if headcount.get(unit, 0) == 0:
            find("D02", unit, "unit", reason="no_counted_people", counted=0)
        elif workload.get(unit) and all(v == 0 for v in workload[unit]):
            find(
                "D02",
                unit,
                "unit",
                reason="all_workload_zero",
                counted=headcount[unit],
                workload_rows=len(workload[unit]),
            )
    peers: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (unit, code), total in sorted(sums.items()):
        if headcount.get(unit, 0) >= 1:
            peers[code].append((unit, total / headcount[unit]))
    for code, group in sorted(peers.items()) if have_workload else []:
        median = statistics.median(ratio for _, ratio in group)
        for unit, ratio in group:
            if len(group) >= p["D03"]["min_peers"] and ratio < p["D03"]["ratio"] * median:
                find("D03", unit, code, ratio=ratio, median=median, peers=len(group))
            if (
                have_quotas
                and len(group) >= p["D04"]["min_peers"]
                and ratio > p["D04"]["ratio"] * median
            ):
                quota_total = sum(unit_quotas.get(unit, {}).values())
                if quota_total <= 0:
                    continue
                have = people.get(unit, {})
                staffed = sum(n for c, n in have.items() if c != "none")
                vacancy = (quota_total - staffed) / quota_total
                if vacancy < p["D04"]["max_vacancy"]:
                    find(
                        "D04",
                        unit,
                        code,
                        ratio=ratio,
                        median=median,
                        peers=len(group),
                        quota_total=quota_total,
                        staffed=staffed,
                        vacancy=vacancy,
                    )

    out.sort(key=lambda f: (f["rule"], f["unit_id"] or "", f["subject"] or ""))
    return out


def findings_frame(findings: list[dict]) -> pd.DataFrame:
    """rule, unit_id, subject as a DataFrame (the expected_findings.csv layout)."""
    return pd.DataFrame(
        [(f["rule"], f["unit_id"], f["subject"]) for f in findings],
        columns=["rule", "unit_id", "subject"],
    )
