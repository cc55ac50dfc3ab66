"""Fact tables, built with pandas from a loaded dataset as of an audit date.

Each fact type is one DataFrame whose columns are typed fields rules can name. Aggregates
(people counted per unit and category, per leadership level, per body) are computed here
once, vectorised, so that every rule and both evaluation paths read the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from . import idnumber
from .codes import ALLOWED_CATEGORIES, COUNTED_STATUSES
from .expr import BOOL, DATE, NUM, STR
from .load import Dataset
from .load.tables import Coded

UNIT_FIELDS = {
    "unit_id": STR,
    "unit_name": STR,
    "kind": STR,
    "status": STR,
    "region": STR,
    "rank": STR,
    "funding": STR,
    "parent_id": STR,
    "bodies_limit": NUM,
    "bodies": NUM,
    "quota_total": NUM,
    "people": NUM,
    "counted": NUM,
    "counted_categorised": NUM,
    "counted_none": NUM,
    "workload_rows": NUM,
    "workload_nonzero": NUM,
}

FACT_FIELDS: dict[str, dict[str, str]] = {
    "unit": UNIT_FIELDS,
    "quota": {
        "unit_id": STR,
        "unit_kind": STR,
        "category": STR,
        "approved": NUM,
        "counted": NUM,
        "doc_no": STR,
    },
    "leadership": {
        "unit_id": STR,
        "unit_kind": STR,
        "level": STR,
        "approved": NUM,
        "counted": NUM,
        "doc_no": STR,
    },
    "body": {
        "unit_id": STR,
        "body_id": STR,
        "body_name": STR,
        "listed": BOOL,
        "approved": BOOL,
        "counted": NUM,
        "unit_bodies": NUM,
    },
    "person": {
        "person_id": STR,
        "unit_id": STR,
        "unit_kind": STR,
        "category": STR,
        "name": STR,
        "id_number": STR,
        "gender": STR,
        "birth_date": DATE,
        "leadership": STR,
        "body_id": STR,
        "position": STR,
        "post_type": STR,
        "status": STR,
        "status_since": DATE,
        "work_unit_id": STR,
        "entry_date": DATE,
        "counted": BOOL,
        "category_allowed": BOOL,
        "id_units": NUM,
        "paid": BOOL,
        "paid_here": BOOL,
        "other_pay_unit_id": STR,
    },
    "payment": {
        "unit_id": STR,
        "unit_kind": STR,
        "person_id": STR,
        "id_number": STR,
        "name": STR,
        "amount": NUM,
        "payments": NUM,
        "periods": NUM,
        "first_period": STR,
        "last_period": STR,
        "on_roster": BOOL,
        "roster_unit_id": STR,
        "status": STR,
        "counted_here": BOOL,
        "counted_elsewhere": BOOL,
    },
    "duty": {
        "unit_id": STR,
        "unit_kind": STR,
        "unit_region": STR,
        "duty_code": STR,
        "text": STR,
        "source": STR,
        "from_sanding": BOOL,
        "units_sharing": NUM,
        "sharing_units": STR,
    },
    "duty_workload": {
        "unit_id": STR,
        "unit_kind": STR,
        "duty_code": STR,
        "workload": NUM,
        "rows": NUM,
        "counted": NUM,
        "ratio": NUM,
        "peer_median": NUM,
        "peers": NUM,
        "unit_quota_total": NUM,
        "unit_vacancy": NUM,
    },
}

FACT_DESCRIPTIONS: dict[str, str] = {
    "unit": "one per unit 单位",
    "quota": "one per unit and staffing category (编外 excluded) 单位×编制类型",
    "leadership": "one per unit and leadership level 单位×领导职务层次",
    "body": "one per internal body, listed or found on the roster 内设机构",
    "person": "one per roster row 实有人员",
    "payment": "one per payroll unit and person_id 工资发放单位×人员",
    "duty": "one per duties row 职责",
    "duty_workload": "one per unit and duty_code with workload rows 单位×职责履职数据",
}

# How a fact row finds its rows in the roster: fact field -> roster field.
ROSTER_KEYS: dict[str, dict[str, str]] = {
    "unit": {"unit_id": "unit_id"},
    "quota": {"unit_id": "unit_id", "category": "category"},
    "leadership": {"unit_id": "unit_id", "level": "leadership"},
    "body": {"unit_id": "unit_id", "body_id": "body_id"},
    "person": {"person_id": "person_id"},
    "duty_workload": {"unit_id": "unit_id"},
}

# Which table each fact type comes from (where a fact's own `_file`/`_row` point).
ORIGIN_TABLE = {
    "unit": "units",
    "quota": "quotas",
    "leadership": "leader_quotas",
    "body": "bodies",
    "person": "roster",
    "payment": "payroll",
    "duty": "duties",
    "duty_workload": "workload",
}

# Aggregate facts whose source rows are several rows of their origin table: fact field ->
# origin table column. A finding of a rule on them lists every origin row of the fact.
ORIGIN_KEYS: dict[str, dict[str, str]] = {
    "payment": {"unit_id": "unit_id", "person_id": "person_id"},
    "duty_workload": {"unit_id": "unit_id", "duty_code": "duty_code"},
}


@dataclass
class Facts:
    """The fact tables of one dataset as of one date."""

    as_of: date
    tables: dict[str, pd.DataFrame]
    present: set[str] = field(default_factory=set)  # the dataset's tables that were given
    # Per aggregate fact type of ORIGIN_KEYS: its origin table's rows (keys, _file, _row).
    origin_rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    # Per fact type, columns already read for evaluation (see expr.Context.columns).
    columns: dict[str, dict] = field(default_factory=dict)
    # Per fact type, its unit_id column factorised (see of_units).
    _unit_codes: dict[str, tuple[np.ndarray, pd.Index]] = field(default_factory=dict)

    def __getitem__(self, fact_type: str) -> pd.DataFrame:
        return self.tables[fact_type]

    def of_units(self, fact_type: str, unit_ids: Iterable[object]) -> np.ndarray:
        """Mask of a fact table's rows that belong to the given units."""
        coded = self._unit_codes.get(fact_type)
        if coded is None:
            codes, uniques = pd.factorize(self.tables[fact_type]["unit_id"], use_na_sentinel=True)
            coded = self._unit_codes[fact_type] = (codes, pd.Index(uniques))
        codes, index = coded
        # One slot more than there are units: code -1 (no unit) and unknown ids land there.
        wanted = np.zeros(len(index) + 1, dtype=bool)
        wanted[index.get_indexer(pd.Index(list(unit_ids)))] = True
        wanted[-1] = False
        return wanted[codes]


def in_force(frame: pd.DataFrame, keys: list[str], as_of: date) -> pd.DataFrame:
    """Rows in force on a date: per key, the latest effective_from on or before it."""
    if frame.empty or "effective_from" not in frame.columns:
        return frame
    eff = frame["effective_from"]
    cutoff = pd.Timestamp(as_of)
    usable = frame[eff.isna() | (eff <= cutoff)]
    # Undated rows rank below dated ones: a dated row in force supersedes them.
    order = usable.assign(_eff=usable["effective_from"].fillna(pd.Timestamp.min))
    order = order.sort_values(keys + ["_eff"], kind="stable")
    latest = order.drop_duplicates(keys, keep="last")
    return latest.drop(columns="_eff")


def _coded(values: pd.Series) -> Coded:
    """A column factorised once: integer codes (-1 missing) and the distinct values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype("int64"), np.asarray(uniques, dtype=object)


def _tally(keys: dict[str, Coded], name: str, select: np.ndarray | None = None) -> pd.DataFrame:
    """Rows per distinct combination of coded keys (rows with a missing key part, or not
    selected, are left out).

    Grouping a province's roster by text keys is slow; the keys are factorised once, and
    their integer codes combined into one int64 key and counted with bincount.
    """
    names = list(keys)
    n = len(next(iter(keys.values()))[0])
    keep = np.ones(n, dtype=bool) if select is None else select.copy()
    for codes, _ in keys.values():
        keep &= codes >= 0
    combined = np.zeros(int(keep.sum()), dtype="int64")
    span = 1
    for codes, uniques in keys.values():
        size = max(len(uniques), 1)
        combined = combined * size + codes[keep]
        span *= size
    if span <= 10_000_000:
        counts = np.bincount(combined, minlength=span)
        values = np.flatnonzero(counts)
        counts = counts[values]
    else:
        tally = pd.Series(combined).value_counts(sort=False)
        values, counts = tally.index.to_numpy(), tally.to_numpy()
    out = {}
    for k in reversed(names):
        uniques = keys[k][1]
        size = max(len(uniques), 1)
        out[k] = uniques[values % size] if len(uniques) else np.zeros(0, dtype=object)
        values = values // size
    result = pd.DataFrame({k: out[k] for k in names})
    result[name] = counts
    return result


def _empty_origin(frame: pd.DataFrame) -> pd.DataFrame:
    if "_row" not in frame.columns:
        frame["_row"] = pd.array([pd.NA] * len(frame), dtype="Int64")
    if "_file" not in frame.columns:
        frame["_file"] = pd.Series([None] * len(frame), dtype=object)
    return frame


def build_facts(dataset: Dataset, as_of: date) -> Facts:
    """Build every fact table from a dataset as of a date."""
    units = dataset.frame("units")
    roster = dataset.frame("roster")
    kind_of = units.set_index("unit_id")["kind"]

    counted = roster["status"].isin(COUNTED_STATUSES).to_numpy()
    # Each roster key column is factorised once; every count below works on the codes.
    # Units are coded by their position in units (the loader has checked every reference).
    unit_index = pd.Index(units["unit_id"])
    loaded = dataset.table("roster").coded
    if "unit_id" in loaded:
        codes, labels = loaded["unit_id"]
        unit_pos = np.append(unit_index.get_indexer(labels), -1)[codes].astype("int64")
    else:
        unit_pos = unit_index.get_indexer(roster["unit_id"]).astype("int64")
    person = _person_facts(roster, counted, units, unit_pos)
    coded = {
        "unit_id": (unit_pos, units["unit_id"].to_numpy(dtype=object)),
        "category": _coded(person["category"]),
        "leadership": _coded(person["leadership"]),
        "body_id": loaded["body_id"] if "body_id" in loaded else _coded(person["body_id"]),
    }

    quota = _quota_facts(dataset, coded, counted, kind_of, as_of)
    leadership = _leadership_facts(dataset, coded, counted, kind_of, as_of)
    body = _body_facts(dataset, coded, counted)
    unit = _unit_facts(units, coded, counted, quota, dataset)

    payroll = _origin_frame(
        dataset, "payroll", ["person_id", "unit_id", "id_number", "period", "amount"]
    )
    workload = _origin_frame(dataset, "workload", ["unit_id", "duty_code", "value"])
    payment = _payment_facts(payroll, person, kind_of)
    _add_pay_fields(person, payment, dataset.has("payroll"))
    payment = payment.drop(columns=["_roster_pos", "_same_unit"], errors="ignore")
    duty = _duty_facts(dataset, units)
    duty_workload = _duty_workload_facts(workload, unit)

    tables = {
        "unit": unit,
        "quota": quota,
        "leadership": leadership,
        "body": body,
        "person": person,
        "payment": payment,
        "duty": duty,
        "duty_workload": duty_workload,
    }
    origin_rows = {"payment": payroll, "duty_workload": workload}
    facts = Facts(as_of, tables, set(dataset.tables), origin_rows)
    # Person rows are roster rows: their units are coded already.
    facts._unit_codes["person"] = (unit_pos, unit_index)
    return facts


def _origin_frame(dataset: Dataset, table: str, columns: list[str]) -> pd.DataFrame:
    """A table's frame (the columns named, with _file and _row), empty when it is absent."""
    if dataset.has(table):
        return dataset.frame(table)
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame["_row"] = pd.Series(dtype="Int64")
    frame["_file"] = pd.Series(dtype=object)
    return frame


def _person_facts(
    roster: pd.DataFrame, counted: np.ndarray, units: pd.DataFrame, unit_pos: np.ndarray
) -> pd.DataFrame:
    person = roster.copy(deep=False)  # columns are only added, never changed in place
    person["counted"] = counted
    kinds = pd.Series(units["kind"].array.take(unit_pos, allow_fill=True), index=person.index)
    person["unit_kind"] = kinds
    kind_arr = kinds.to_numpy(dtype=object)
    category = person["category"]
    allowed = np.zeros(len(person), dtype=bool)
    for kind, cats in ALLOWED_CATEGORIES.items():
        sel = kind_arr == kind
        allowed[sel] = category[sel].isin(list(cats)).to_numpy()
    person["category_allowed"] = allowed
    # P02 needs, per person, how many distinct units list the same ID number as counted.
    # The loader strips text; only a lower-case check digit x needs normalising (P02 treats
    # 33010219800101001x and ...001X as one number).
    ids = person["id_number"]
    has = counted & ids.notna().to_numpy()
    id_code, _ = pd.factorize(idnumber.number_keys(ids.to_numpy(dtype=object)[has]))
    unit_code = unit_pos[has]
    width = max(len(units), 1)
    pairs = pd.unique(id_code.astype("int64") * width + unit_code)
    n_units = np.bincount(pairs // width, minlength=int(id_code.max(initial=-1)) + 1)
    id_units = np.full(len(person), np.nan)
    id_units[has] = n_units[id_code]
    person["id_units"] = id_units
    return person


def _equals(key: Coded, value: str) -> np.ndarray:
    """Rows whose coded value is the given one."""
    codes, uniques = key
    where = np.flatnonzero(uniques == value)
    return codes == where[0] if where.size else np.zeros(len(codes), dtype=bool)


def _quota_facts(
    dataset: Dataset,
    coded: dict[str, Coded],
    counted: np.ndarray,
    kind_of: pd.Series,
    as_of: date,
) -> pd.DataFrame:
    keys = ["unit_id", "category"]
    if dataset.has("quotas"):
        quotas = in_force(dataset.frame("quotas"), keys, as_of)
        quotas = quotas[quotas["category"] != "none"]
        quotas = quotas[keys + ["approved", "doc_no", "_row", "_file"]]
    else:
        quotas = pd.DataFrame(columns=keys + ["approved", "doc_no", "_row", "_file"])
    select = counted & ~_equals(coded["category"], "none")
    counts = _tally({k: coded[k] for k in keys}, "counted", select)
    facts = quotas.merge(counts, on=keys, how="outer")
    facts["approved"] = pd.to_numeric(facts["approved"]).fillna(0.0).astype("float64")
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    facts["unit_kind"] = facts["unit_id"].map(kind_of)
    return _empty_origin(facts.reset_index(drop=True))


def _leadership_facts(
    dataset: Dataset,
    coded: dict[str, Coded],
    counted: np.ndarray,
    kind_of: pd.Series,
    as_of: date,
) -> pd.DataFrame:
    keys = ["unit_id", "level"]
    if dataset.has("leader_quotas"):
        lq = in_force(dataset.frame("leader_quotas"), keys, as_of)
        lq = lq[lq["level"] != "none"]
        lq = lq[keys + ["approved", "doc_no", "_row", "_file"]]
    else:
        lq = pd.DataFrame(columns=keys + ["approved", "doc_no", "_row", "_file"])
    select = counted & ~_equals(coded["leadership"], "none")
    by_level = {"unit_id": coded["unit_id"], "level": coded["leadership"]}
    counts = _tally(by_level, "counted", select)
    facts = lq.merge(counts, on=keys, how="outer")
    facts["approved"] = pd.to_numeric(facts["approved"]).fillna(0.0).astype("float64")
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    facts["unit_kind"] = facts["unit_id"].map(kind_of)
    return _empty_origin(facts.reset_index(drop=True))


def _body_facts(dataset: Dataset, coded: dict[str, Coded], counted: np.ndarray) -> pd.DataFrame:
    keys = ["unit_id", "body_id"]
    if dataset.has("bodies"):
        bodies = dataset.frame("bodies")[keys + ["name", "approved", "_row", "_file"]]
        bodies = bodies.rename(columns={"name": "body_name"}).assign(listed=True)
    else:
        bodies = pd.DataFrame(columns=keys + ["body_name", "approved", "_row", "_file", "listed"])
    counts = _tally({k: coded[k] for k in keys}, "counted", counted)
    facts = bodies.merge(counts, on=keys, how="outer")
    facts["listed"] = facts["listed"].astype("boolean").fillna(False).astype(bool)
    facts["approved"] = facts["approved"].astype("boolean").fillna(False).astype(bool)
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    per_unit = bodies.groupby("unit_id").size() if len(bodies) else pd.Series(dtype="float64")
    facts["unit_bodies"] = facts["unit_id"].map(per_unit).fillna(0).astype("float64")
    return _empty_origin(facts.reset_index(drop=True))


def _unit_facts(
    units: pd.DataFrame,
    coded: dict[str, Coded],
    counted: np.ndarray,
    quota: pd.DataFrame,
    dataset: Dataset,
) -> pd.DataFrame:
    facts = units.rename(columns={"name": "unit_name"}).copy()
    uid = facts["unit_id"]
    unit_pos = coded["unit_id"][0]
    known = unit_pos >= 0

    def per_unit(select: np.ndarray) -> np.ndarray:
        return np.bincount(unit_pos[select & known], minlength=len(units)).astype("float64")

    none = _equals(coded["category"], "none")
    facts["people"] = per_unit(np.ones(len(unit_pos), dtype=bool))
    facts["counted"] = per_unit(counted)
    facts["counted_categorised"] = per_unit(counted & ~none)
    facts["counted_none"] = per_unit(counted & none)
    facts["quota_total"] = (
        uid.map(quota.groupby("unit_id")["approved"].sum()).fillna(0).astype("float64")
    )
    if dataset.has("bodies"):
        n_bodies = dataset.frame("bodies").groupby("unit_id").size()
        facts["bodies"] = uid.map(n_bodies).fillna(0).astype("float64")
    else:
        facts["bodies"] = 0.0
    facts["bodies_limit"] = pd.to_numeric(facts["bodies_limit"]).astype("float64")
    if dataset.has("workload"):
        workload = dataset.frame("workload")
        nonzero = workload[workload["value"].fillna(0).to_numpy() != 0]
        rows = uid.map(workload.groupby("unit_id").size())
        facts["workload_rows"] = rows.fillna(0).astype("float64")
        nz = uid.map(nonzero.groupby("unit_id").size())
        facts["workload_nonzero"] = nz.fillna(0).astype("float64")
    else:
        facts["workload_rows"] = 0.0
        facts["workload_nonzero"] = 0.0
    return facts.reset_index(drop=True)


# --------------------------------------------------------------------------- payroll


def _empty_facts(fact_type: str) -> pd.DataFrame:
    """An empty fact table with every field of its type, typed, plus _row and _file."""
    dtypes = {NUM: "float64", BOOL: "bool", STR: object, DATE: "datetime64[ns]"}
    cols = {name: pd.Series(dtype=dtypes[t]) for name, t in FACT_FIELDS[fact_type].items()}
    return _empty_origin(pd.DataFrame(cols))


def _lookup(index: pd.Index, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions of values in a unique index, and where they were found."""
    pos = index.get_indexer(values)
    return np.where(pos >= 0, pos, 0), pos >= 0


def _take(column: pd.Series, pos: np.ndarray, found: np.ndarray) -> pd.Series:
    """column[pos] where found, missing elsewhere (the column's dtype kept)."""
    if len(column) == 0:
        return pd.Series([None] * len(pos), dtype=object)
    return column.take(pos).reset_index(drop=True).where(found)


def _payment_facts(payroll: pd.DataFrame, person: pd.DataFrame, kind_of: pd.Series) -> pd.DataFrame:
    """One fact per payroll (unit_id, person_id) pair, compared with the roster.

    The roster's person_id is unique, so each payroll person has at most one roster row:
    `counted_here` when that row is counted in the paying unit, `counted_elsewhere` when it
    is counted in another unit.
    """
    keys = ["unit_id", "person_id"]
    if payroll.empty:
        return _empty_facts("payment")
    # Integer group ids and integer-coded periods: pandas reduces text columns group by
    # group in Python, far too slow for a province's monthly payroll.
    gid = payroll.groupby(keys, sort=False).ngroup().to_numpy()
    n = int(gid.max()) + 1
    # ngroup(sort=False) numbers groups in order of appearance: a group's first row is where
    # the running maximum of the ids grows.
    running = np.maximum.accumulate(gid)
    first_row = np.flatnonzero(np.diff(running, prepend=-1) > 0)
    facts = payroll[keys].iloc[first_row].reset_index(drop=True)
    facts["payments"] = np.bincount(gid, minlength=n).astype("float64")
    amount = pd.Series(payroll["amount"].to_numpy(dtype="float64", na_value=np.nan))
    facts["amount"] = amount.groupby(gid).sum(min_count=1).to_numpy()
    period_code, periods = pd.factorize(payroll["period"], sort=True)
    has_period = period_code >= 0
    pairs = np.unique(
        gid[has_period].astype(np.int64) * (len(periods) + 1) + period_code[has_period]
    )
    facts["periods"] = np.bincount(pairs // (len(periods) + 1), minlength=n).astype("float64")
    codes = pd.Series(period_code)
    first = codes.where(has_period).groupby(gid).min().reindex(range(n)).to_numpy()
    last = codes.where(has_period).groupby(gid).max().reindex(range(n)).to_numpy()
    labels = np.asarray(periods, dtype=object)
    facts["first_period"] = _from_codes(labels, first)
    facts["last_period"] = _from_codes(labels, last)
    id_number = payroll["id_number"].to_numpy(dtype=object, na_value=None)
    with_id = np.flatnonzero(payroll["id_number"].notna().to_numpy())
    id_groups, id_first = np.unique(gid[with_id], return_index=True)
    ids = np.full(n, None, dtype=object)
    ids[id_groups] = id_number[with_id[id_first]]
    facts["id_number"] = ids
    facts["_row"] = payroll["_row"].groupby(gid).min().to_numpy()
    facts["_file"] = payroll["_file"].to_numpy(dtype=object)[first_row]

    pos, found = _lookup(pd.Index(person["person_id"]), facts["person_id"])
    roster_unit = _take(person["unit_id"], pos, found)
    counted_any = person["counted"].to_numpy(dtype=bool)[pos] & found if len(person) else found
    facts["on_roster"] = found
    facts["roster_unit_id"] = roster_unit
    facts["status"] = _take(person["status"], pos, found)
    facts["name"] = _take(person["name"], pos, found)
    same = (roster_unit == facts["unit_id"]).fillna(False).to_numpy(dtype=bool) & found
    facts["counted_here"] = counted_any & same
    facts["counted_elsewhere"] = counted_any & ~same
    facts["unit_kind"] = facts["unit_id"].map(kind_of)
    facts["_roster_pos"] = np.where(found, pos, -1)  # for the person's pay fields
    facts["_same_unit"] = same
    return _empty_origin(facts)


def _from_codes(labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Labels of float codes (NaN: missing)."""
    out = np.full(len(codes), None, dtype=object)
    ok = ~np.isnan(codes)
    out[ok] = labels[codes[ok].astype(np.int64)]
    return out


def _add_pay_fields(person: pd.DataFrame, payment: pd.DataFrame, has_payroll: bool) -> None:
    """paid (any payroll row for the person_id), paid_here (by the person's own unit) and
    other_pay_unit_id (another unit that pays them: the lowest unit_id). Missing without a
    payroll table."""
    n = len(person)
    if not has_payroll:
        # All missing, built without Python lists of 1.6 million items.
        person["paid"] = pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
        person["paid_here"] = pd.arrays.BooleanArray(
            np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
        )
        person["other_pay_unit_id"] = pd.Series(
            np.full(n, None, dtype=object), dtype=object, index=person.index
        )
        return
    if "_roster_pos" in payment:
        pos = payment["_roster_pos"].to_numpy(dtype=np.int64)
        same = payment["_same_unit"].to_numpy(dtype=bool)
    else:  # a payroll table without rows
        pos, same = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    paid = np.zeros(n, dtype=bool)
    paid[pos[pos >= 0]] = True
    paid_here = np.zeros(n, dtype=bool)
    paid_here[pos[same]] = True
    person["paid"] = paid
    person["paid_here"] = paid_here
    elsewhere = (pos >= 0) & ~same
    other = np.full(n, None, dtype=object)
    if elsewhere.any():
        code, labels = pd.factorize(payment["unit_id"][elsewhere], sort=True)
        lowest = pd.Series(code).groupby(pos[elsewhere]).min()
        other[lowest.index.to_numpy()] = np.asarray(labels, dtype=object)[lowest.to_numpy()]
    person["other_pay_unit_id"] = other


# --------------------------------------------------------------------------- duties

# The duties.source value (stripped, any case) that means "from the three-determinations
# provisions"; an empty source means the same.
SANDING_SOURCES = ("sanding",)
SHARING_UNITS_SHOWN = 10


def _duty_facts(dataset: Dataset, units: pd.DataFrame) -> pd.DataFrame:
    """One fact per duties row, with how many units of its region hold the same duty_code."""
    if not dataset.has("duties"):
        return _empty_facts("duty")
    duties = dataset.frame("duties")
    facts = duties[["unit_id", "duty_code", "text", "source", "_row", "_file"]].copy()
    by_unit = units.set_index("unit_id")
    facts["unit_kind"] = facts["unit_id"].map(by_unit["kind"])
    facts["unit_region"] = facts["unit_id"].map(by_unit["region"])
    source = facts["source"].astype(object).where(facts["source"].notna(), None)
    norm = pd.Series(source, dtype="string").str.strip().str.lower()
    facts["from_sanding"] = (norm.isna() | norm.isin(SANDING_SOURCES)).to_numpy(dtype=bool)
    # Units without a region form one region together.
    facts["_region"] = facts["unit_region"].astype(object).where(facts["unit_region"].notna(), "")
    keys = ["_region", "duty_code"]
    held = facts.loc[facts["from_sanding"], keys + ["unit_id"]].drop_duplicates()
    n_units = held.groupby(keys, sort=False).size().rename("units_sharing")
    # The first units (by unit_id) of each shared duty, joined column by column (vectorised).
    shared = held.merge(n_units[n_units >= 2].reset_index(), on=keys)
    shared = shared.sort_values(keys + ["unit_id"], kind="stable")
    shared["_i"] = shared.groupby(keys, sort=False).cumcount()
    shared = shared[shared["_i"] < SHARING_UNITS_SHOWN]
    listed = pd.DataFrame({"_region": [], "duty_code": [], "sharing_units": []}, dtype=object)
    if len(shared):
        wide = shared.pivot(index=keys, columns="_i", values="unit_id")
        columns = [wide[i].astype(object).fillna("") for i in wide.columns]
        text = columns[0].str.cat(columns[1:], sep="、").str.rstrip("、")
        more = n_units.reindex(text.index).to_numpy() > SHARING_UNITS_SHOWN
        text[more] = text[more] + "…"
        listed = text.rename("sharing_units").reset_index()
    facts = facts.merge(n_units.reset_index(), on=keys, how="left")
    facts = facts.merge(listed, on=keys, how="left")
    facts["units_sharing"] = facts["units_sharing"].fillna(0).astype("float64")
    facts["sharing_units"] = facts["sharing_units"].astype(object)
    return _empty_origin(facts.drop(columns="_region").reset_index(drop=True))


def _duty_workload_facts(workload: pd.DataFrame, unit: pd.DataFrame) -> pd.DataFrame:
    """One fact per unit and duty_code with workload rows: workload per counted person, and
    the median of that ratio over the units with workload for the duty and counted people."""
    keys = ["unit_id", "duty_code"]
    if workload.empty:
        return _empty_facts("duty_workload")
    g = workload.groupby(keys, sort=False, dropna=True)
    facts = g["value"].sum().astype("float64").rename("workload").to_frame()
    facts["rows"] = g.size().astype("float64")
    facts["_row"] = g["_row"].min()
    facts["_file"] = g["_file"].first()
    facts = facts.reset_index()
    by_unit = unit.set_index("unit_id")
    uid = facts["unit_id"]
    facts["unit_kind"] = uid.map(by_unit["kind"])
    counted = uid.map(by_unit["counted"]).fillna(0).astype("float64").to_numpy()
    quota_total = uid.map(by_unit["quota_total"]).fillna(0).astype("float64").to_numpy()
    categorised = uid.map(by_unit["counted_categorised"]).fillna(0).astype("float64").to_numpy()
    facts["counted"] = counted
    with np.errstate(divide="ignore", invalid="ignore"):
        facts["ratio"] = np.where(counted > 0, facts["workload"].to_numpy() / counted, np.nan)
        facts["unit_vacancy"] = np.where(
            quota_total > 0, (quota_total - categorised) / quota_total, np.nan
        )
    facts["unit_quota_total"] = quota_total
    peers = facts[(counted > 0) & facts["ratio"].notna().to_numpy()]
    stats = peers.groupby("duty_code", sort=False)["ratio"].agg(["median", "size"])
    facts["peer_median"] = facts["duty_code"].map(stats["median"]).astype("float64")
    facts["peers"] = facts["duty_code"].map(stats["size"]).fillna(0).astype("float64")
    return _empty_origin(facts)
