"""Fact tables, built with pandas from a loaded dataset as of an audit date.

Each fact type is one DataFrame whose columns are typed fields rules can name. Aggregates
(people counted per unit and category, per leadership level, per body) are computed here
once, vectorised, so that every rule and both evaluation paths read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from .codes import ALLOWED_CATEGORIES, COUNTED_STATUSES
from .expr import BOOL, DATE, NUM, STR
from .load import Dataset

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
    },
}

FACT_DESCRIPTIONS: dict[str, str] = {
    "unit": "one per unit 单位",
    "quota": "one per unit and staffing category (编外 excluded) 单位×编制类型",
    "leadership": "one per unit and leadership level 单位×领导职务层次",
    "body": "one per internal body, listed or found on the roster 内设机构",
    "person": "one per roster row 实有人员",
}

# How a fact row finds its rows in the roster: fact field -> roster field.
ROSTER_KEYS: dict[str, dict[str, str]] = {
    "unit": {"unit_id": "unit_id"},
    "quota": {"unit_id": "unit_id", "category": "category"},
    "leadership": {"unit_id": "unit_id", "level": "leadership"},
    "body": {"unit_id": "unit_id", "body_id": "body_id"},
    "person": {"person_id": "person_id"},
}

# Which table each fact type comes from (where a fact's own `_file`/`_row` point).
ORIGIN_TABLE = {
    "unit": "units",
    "quota": "quotas",
    "leadership": "leader_quotas",
    "body": "bodies",
    "person": "roster",
}


@dataclass
class Facts:
    """The fact tables of one dataset as of one date."""

    as_of: date
    tables: dict[str, pd.DataFrame]
    present: set[str] = field(default_factory=set)  # the dataset's tables that were given

    def __getitem__(self, fact_type: str) -> pd.DataFrame:
        return self.tables[fact_type]


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


def _counts(frame: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=keys + [name])
    return frame.groupby(keys, sort=False, dropna=True).size().rename(name).reset_index()


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
    person = _person_facts(roster, counted, kind_of)
    counted_rows = person[person["counted"]]

    quota = _quota_facts(dataset, counted_rows, kind_of, as_of)
    leadership = _leadership_facts(dataset, counted_rows, kind_of, as_of)
    body = _body_facts(dataset, counted_rows)
    unit = _unit_facts(units, roster, counted_rows, quota, dataset)

    tables = {
        "unit": unit,
        "quota": quota,
        "leadership": leadership,
        "body": body,
        "person": person,
    }
    return Facts(as_of, tables, set(dataset.tables))


def _person_facts(roster: pd.DataFrame, counted: np.ndarray, kind_of: pd.Series) -> pd.DataFrame:
    person = roster.copy()
    person["counted"] = counted
    person["unit_kind"] = person["unit_id"].map(kind_of)
    allowed_pairs = {(k, c) for k, cats in ALLOWED_CATEGORIES.items() for c in cats}
    pairs = pd.Series(list(zip(person["unit_kind"], person["category"], strict=True)), dtype=object)
    person["category_allowed"] = pairs.isin(allowed_pairs).to_numpy() if len(person) else []
    # P02 needs, per person, how many distinct units list the same ID number as counted.
    norm = person["id_number"].astype("string").str.strip().str.upper()
    norm = norm.where(norm.str.len() > 0)
    person["_id_norm"] = norm
    has = counted & norm.notna().to_numpy()
    sub = person.loc[has, ["_id_norm", "unit_id"]]
    n_units = sub.drop_duplicates().groupby("_id_norm").size()
    id_units = person["_id_norm"].map(n_units).astype("float64")
    person["id_units"] = np.where(has, id_units.fillna(0).to_numpy(), np.nan)
    return person.drop(columns="_id_norm")


def _quota_facts(
    dataset: Dataset, counted_rows: pd.DataFrame, kind_of: pd.Series, as_of: date
) -> pd.DataFrame:
    keys = ["unit_id", "category"]
    if dataset.has("quotas"):
        quotas = in_force(dataset.frame("quotas"), keys, as_of)
        quotas = quotas[quotas["category"] != "none"]
        quotas = quotas[keys + ["approved", "doc_no", "_row", "_file"]]
    else:
        quotas = pd.DataFrame(columns=keys + ["approved", "doc_no", "_row", "_file"])
    people = counted_rows[counted_rows["category"] != "none"]
    counts = _counts(people, keys, "counted")
    facts = quotas.merge(counts, on=keys, how="outer")
    facts["approved"] = pd.to_numeric(facts["approved"]).fillna(0.0).astype("float64")
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    facts["unit_kind"] = facts["unit_id"].map(kind_of)
    return _empty_origin(facts.reset_index(drop=True))


def _leadership_facts(
    dataset: Dataset, counted_rows: pd.DataFrame, kind_of: pd.Series, as_of: date
) -> pd.DataFrame:
    keys = ["unit_id", "level"]
    if dataset.has("leader_quotas"):
        lq = in_force(dataset.frame("leader_quotas"), keys, as_of)
        lq = lq[lq["level"] != "none"]
        lq = lq[keys + ["approved", "doc_no", "_row", "_file"]]
    else:
        lq = pd.DataFrame(columns=keys + ["approved", "doc_no", "_row", "_file"])
    leaders = counted_rows[
        counted_rows["leadership"].notna() & (counted_rows["leadership"] != "none")
    ]
    counts = _counts(leaders.rename(columns={"leadership": "level"}), keys, "counted")
    facts = lq.merge(counts, on=keys, how="outer")
    facts["approved"] = pd.to_numeric(facts["approved"]).fillna(0.0).astype("float64")
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    facts["unit_kind"] = facts["unit_id"].map(kind_of)
    return _empty_origin(facts.reset_index(drop=True))


def _body_facts(dataset: Dataset, counted_rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["unit_id", "body_id"]
    if dataset.has("bodies"):
        bodies = dataset.frame("bodies")[keys + ["name", "approved", "_row", "_file"]]
        bodies = bodies.rename(columns={"name": "body_name"}).assign(listed=True)
    else:
        bodies = pd.DataFrame(columns=keys + ["body_name", "approved", "_row", "_file", "listed"])
    on_roster = counted_rows[counted_rows["body_id"].notna()]
    counts = _counts(on_roster, keys, "counted")
    facts = bodies.merge(counts, on=keys, how="outer")
    facts["listed"] = facts["listed"].astype("boolean").fillna(False).astype(bool)
    facts["approved"] = facts["approved"].astype("boolean").fillna(False).astype(bool)
    facts["counted"] = pd.to_numeric(facts["counted"]).fillna(0.0).astype("float64")
    per_unit = bodies.groupby("unit_id").size() if len(bodies) else pd.Series(dtype="float64")
    facts["unit_bodies"] = facts["unit_id"].map(per_unit).fillna(0).astype("float64")
    return _empty_origin(facts.reset_index(drop=True))


def _unit_facts(
    units: pd.DataFrame,
    roster: pd.DataFrame,
    counted_rows: pd.DataFrame,
    quota: pd.DataFrame,
    dataset: Dataset,
) -> pd.DataFrame:
    facts = units.rename(columns={"name": "unit_name"}).copy()
    uid = facts["unit_id"]
    facts["people"] = uid.map(roster.groupby("unit_id").size()).fillna(0).astype("float64")
    facts["counted"] = uid.map(counted_rows.groupby("unit_id").size()).fillna(0).astype("float64")
    none = counted_rows["category"] == "none"
    categorised = counted_rows[~none].groupby("unit_id").size()
    facts["counted_categorised"] = uid.map(categorised).fillna(0).astype("float64")
    facts["counted_none"] = (
        uid.map(counted_rows[none].groupby("unit_id").size()).fillna(0).astype("float64")
    )
    facts["quota_total"] = (
        uid.map(quota.groupby("unit_id")["approved"].sum()).fillna(0).astype("float64")
    )
    if dataset.has("bodies"):
        n_bodies = dataset.frame("bodies").groupby("unit_id").size()
        facts["bodies"] = uid.map(n_bodies).fillna(0).astype("float64")
    else:
        facts["bodies"] = 0.0
    facts["bodies_limit"] = pd.to_numeric(facts["bodies_limit"]).astype("float64")
    return facts.reset_index(drop=True)
