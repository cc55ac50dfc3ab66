"""The province checks written by hand with pandas: what an analyst would write instead.

This is the benchmark's point of comparison, not part of sanding_rules: it imports nothing
from the package. It reads the five CSV tables of a dataset in the contract's canonical
form (English headers, codes, ISO dates, UTF-8), computes the findings of rules Q01-Q05,
L01-L05, B01-B03 and P01-P06 of the rule catalogue (default parameters) with vectorised
pandas/numpy, and writes one CSV row per finding: rule, unit_id, subject and the numbers
compared (actual, limit). No Chinese headers or labels, no GBK, no XLSX, no input checks:
that is what the engine adds.

Run: .venv/bin/python bench/handwritten.py bench/data/province --as-of 2026-06-30 --out f.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

COUNTED = ["on_post", "seconded_out", "long_leave"]
ALLOWED = {  # which categories each kind of unit may use
    "party_gov": ["admin", "logistics", "legal"],
    "civil_ref": ["civil_ref", "logistics"],
    "institution": ["institution"],
}
LEVEL_RULE = {"principal": "L01", "deputy": "L02", "body_principal": "L03", "body_deputy": "L04"}
# Retirement schedule from 2025 (base years, first affected birth month, months per step, cap).
RETIREMENT = {
    "male": (60, 1965 * 12, 4, 36),
    "female_cadre": (55, 1970 * 12, 4, 36),
    "female_worker": (50, 1975 * 12, 2, 60),
}
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
# Parameters (catalogue defaults).
Q03_RATIO, Q03_MIN, Q05_RATIO, B03_MIN, AWAY_DAYS = 0.30, 3, 0.20, 3, 365


def read(folder: Path, name: str, columns: dict[str, str], dates: tuple[str, ...] = ()):
    df = pd.read_csv(folder / f"{name}.csv", usecols=list(columns), dtype=columns)
    for col in dates:
        df[col] = pd.to_datetime(df[col], format="%Y-%m-%d")
    return df


def fill(codes: pd.Series, default: str) -> pd.Series:
    """Empty cells of a categorical code column take the contract's default."""
    if default not in codes.cat.categories:
        codes = codes.cat.add_categories([default])
    return codes.fillna(default)


def in_force(df: pd.DataFrame, keys: list[str], as_of: pd.Timestamp) -> pd.DataFrame:
    """Per key, the row with the latest effective_from on or before as_of (undated first)."""
    df = df[df["effective_from"].isna() | (df["effective_from"] <= as_of)]
    df = df.sort_values(keys + ["effective_from"], na_position="first")
    return df.drop_duplicates(keys, keep="last")


def found(rule, unit_id, subject, actual=np.nan, limit=np.nan) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rule": rule,
            "unit_id": np.asarray(unit_id, dtype=object),
            "subject": np.asarray(subject, dtype=object),
            "actual": actual,
            "limit": limit,
        }
    )


def valid_id(ids: pd.Series) -> np.ndarray:
    """GB 11643: 17 digits + digit/X, a real birth date, the right check character."""
    ok = ids.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).to_numpy(dtype=bool, copy=True)
    b = np.frombuffer("".join(ids[ok].tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    d = b[:, :17].astype(np.int64) - 48
    ymd = pd.DataFrame(
        {
            "year": d[:, 6:10] @ [1000, 100, 10, 1],
            "month": d[:, 10:12] @ [10, 1],
            "day": d[:, 12:14] @ [10, 1],
        }
    )
    real_date = pd.to_datetime(ymd, errors="coerce").notna().to_numpy()
    check_ok = ID_CHECK[(d @ ID_WEIGHTS) % 11] == b[:, 17]
    ok[ok] = real_date & check_ok
    return ok


def audit(folder: Path, as_of: pd.Timestamp) -> pd.DataFrame:
    s, c = "str", "category"
    units = read(folder, "units", {"unit_id": s, "kind": c, "bodies_limit": "float64"})
    quotas = read(
        folder,
        "quotas",
        {"unit_id": s, "category": c, "approved": "float64", "effective_from": s},
        ("effective_from",),
    )
    lq = read(
        folder,
        "leader_quotas",
        {"unit_id": s, "level": c, "approved": "float64", "effective_from": s},
        ("effective_from",),
    )
    bodies = read(folder, "bodies", {"unit_id": s, "body_id": s, "approved": s})
    roster = read(
        folder,
        "roster",
        {
            "person_id": s,
            "unit_id": s,
            "category": c,
            "id_number": s,
            "gender": c,
            "birth_date": s,
            "leadership": c,
            "body_id": s,
            "post_type": c,
            "status": c,
            "status_since": s,
        },
        ("birth_date", "status_since"),
    )
    # Contract defaults for empty cells.
    for col, default in (
        ("status", "on_post"),
        ("leadership", "none"),
        ("post_type", "management"),
    ):
        roster[col] = fill(roster[col], default)
    bodies["approved"] = bodies["approved"].str.strip().str.lower().ne("false")
    # ID numbers as people type them: blanks around, a lower-case x.
    roster["id_number"] = roster["id_number"].str.strip().str.upper().replace("", np.nan)

    out = []
    counted = roster["status"].isin(COUNTED).to_numpy()
    cr = roster[counted]
    kind = cr["unit_id"].map(units.set_index("unit_id")["kind"])

    # Q01, Q03: per unit and category (none excluded); a missing quota row is 0.
    q = in_force(quotas, ["unit_id", "category"], as_of)
    q = q[q["category"] != "none"].set_index(["unit_id", "category"])["approved"]
    staff = cr[cr["category"] != "none"]
    n = staff.groupby(["unit_id", "category"], observed=True).size()
    qf = pd.concat({"approved": q, "counted": n}, axis=1).fillna(0).reset_index()
    a, k = qf["approved"], qf["counted"]
    hit = qf[k > a]
    out.append(found("Q01", hit["unit_id"], hit["category"], hit["counted"], hit["approved"]))
    hit = qf[(a > 0) & ((a - k) / a >= Q03_RATIO) & (a - k >= Q03_MIN)]
    out.append(found("Q03", hit["unit_id"], hit["category"], hit["counted"], hit["approved"]))

    # Q02, Q05: per unit.
    uf = units.set_index("unit_id")[["bodies_limit"]]
    uf["quota_total"] = qf.groupby("unit_id")["approved"].sum()
    uf["categorised"] = staff.groupby("unit_id").size()
    uf["none"] = cr[cr["category"] == "none"].groupby("unit_id").size()
    uf = uf.fillna({"quota_total": 0, "categorised": 0, "none": 0})
    hit = uf[uf["categorised"] > uf["quota_total"]]
    out.append(found("Q02", hit.index, "total", hit["categorised"], hit["quota_total"]))
    hit = uf[
        (uf["none"] >= 1)
        & ((uf["quota_total"] == 0) | (uf["none"] / uf["quota_total"] > Q05_RATIO))
    ]
    out.append(found("Q05", hit.index, "none", hit["none"], hit["quota_total"]))

    # Q04: counted person in a category the unit's kind may not use.
    allowed = np.zeros(len(cr), dtype=bool)
    for kd, cats in ALLOWED.items():
        allowed |= ((kind == kd) & cr["category"].isin(cats)).to_numpy()
    hit = cr[~allowed & (cr["category"] != "none").to_numpy()]
    out.append(found("Q04", hit["unit_id"], hit["person_id"]))

    # L01-L04: per unit and leadership level; a missing leader quota row is 0.
    lqf = in_force(lq, ["unit_id", "level"], as_of)
    lqf = lqf[lqf["level"] != "none"].set_index(["unit_id", "level"])["approved"]
    leaders = cr[cr["leadership"] != "none"]
    n = (
        leaders.groupby(["unit_id", "leadership"], observed=True)
        .size()
        .rename_axis(["unit_id", "level"])
    )
    lf = pd.concat({"approved": lqf, "counted": n}, axis=1).fillna(0).reset_index()
    hit = lf[lf["counted"] > lf["approved"]]
    out.append(
        found(
            hit["level"].astype(str).map(LEVEL_RULE).to_numpy(),
            hit["unit_id"],
            hit["level"],
            hit["counted"],
            hit["approved"],
        )
    )
    # L05: logistics staff in a leadership post.
    hit = cr[(cr["category"] == "logistics") & (cr["leadership"] != "none")]
    out.append(found("L05", hit["unit_id"], hit["person_id"]))

    # B01: bodies rows (approved or not) over the unit's limit.
    uf["bodies"] = bodies.groupby("unit_id").size()
    uf["bodies"] = uf["bodies"].fillna(0)
    hit = uf[uf["bodies_limit"].notna() & (uf["bodies"] > uf["bodies_limit"])]
    out.append(found("B01", hit.index, "bodies", hit["bodies"], hit["bodies_limit"]))
    # B02, B03: per body, listed or named on a counted roster row.
    on_body = cr[cr["body_id"].notna()].groupby(["unit_id", "body_id"]).size().rename("counted")
    bf = bodies.merge(on_body.reset_index(), on=["unit_id", "body_id"], how="outer", indicator=True)
    bf["counted"] = bf["counted"].fillna(0)
    hit = bf[(bf["_merge"] == "right_only") | (bf["approved"] == False)]  # noqa: E712
    out.append(found("B02", hit["unit_id"], hit["body_id"], hit["counted"]))
    bf["unit_bodies"] = bf["unit_id"].map(uf["bodies"])
    hit = bf[(bf["_merge"] != "right_only") & (bf["counted"] < B03_MIN) & (bf["unit_bodies"] >= 3)]
    out.append(found("B03", hit["unit_id"], hit["body_id"], hit["counted"], B03_MIN))

    # P01: counted and at or past the statutory retirement month (2025 schedule).
    birth = cr["birth_date"]
    bm = (birth.dt.year * 12 + birth.dt.month - 1).to_numpy(dtype="float64", na_value=np.nan)
    male = (cr["gender"] == "M").to_numpy()
    female = (cr["gender"] == "F").to_numpy()
    worker = (cr["post_type"] == "worker").to_numpy()
    retire = np.full(len(cr), np.nan)
    for group, sel in (
        ("male", male),
        ("female_cadre", female & ~worker),
        ("female_worker", female & worker),
    ):
        base, first, step, cap = RETIREMENT[group]
        k = bm - first
        extra = np.where(k >= 0, np.minimum(cap, np.floor(k / step) + 1), 0)
        retire = np.where(sel, bm + base * 12 + extra, retire)
    month_now = as_of.year * 12 + as_of.month - 1
    over = retire <= month_now  # NaN (no birth date or gender) compares False
    hit = cr[over]
    out.append(found("P01", hit["unit_id"], hit["person_id"], retire[over], month_now))

    # P02: the same ID number on counted rows of two or more units; every such row.
    ids = cr.loc[cr["id_number"].notna(), ["id_number", "unit_id", "person_id"]]
    pairs = ids.drop_duplicates(["id_number", "unit_id"])
    shared = pairs.loc[pairs["id_number"].duplicated(keep=False), "id_number"]
    hit = ids[ids["id_number"].isin(shared)]
    n_units = hit["id_number"].map(shared.value_counts())
    out.append(found("P02", hit["unit_id"], hit["person_id"], n_units, 2))

    # P03, P04: seconded out / on long leave for more than a year.
    days = (as_of - roster["status_since"]).dt.days
    for rule, status in (("P03", "seconded_out"), ("P04", "long_leave")):
        sel = (roster["status"] == status) & (days > AWAY_DAYS)
        hit = roster[sel]
        out.append(found(rule, hit["unit_id"], hit["person_id"], days[sel], AWAY_DAYS))
    # P05: retired or left, still listed.
    hit = roster[roster["status"].isin(["retired", "left"])]
    out.append(found("P05", hit["unit_id"], hit["person_id"]))
    # P06: an ID number is given but is not a valid GB 11643 number (any roster row).
    given = roster["id_number"].notna().to_numpy()
    bad = given.copy()
    bad[given] = ~valid_id(roster.loc[given, "id_number"])
    hit = roster[bad]
    out.append(found("P06", hit["unit_id"], hit["person_id"]))

    result = pd.concat(out, ignore_index=True)
    return result.sort_values(["unit_id", "rule", "subject"], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="hand-written pandas audit (benchmark baseline)")
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--as-of", default="2026-06-30")
    ap.add_argument("--out", type=Path, required=True, help="findings CSV")
    args = ap.parse_args(argv)
    findings = audit(args.dataset, pd.Timestamp(args.as_of))
    findings.to_csv(args.out, index=False)
    print(f"{len(findings)} findings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
