"""Scoring: every unit on every level-3 indicator of the model, vectorised over units.

Scores are computed as one (units x indicators) matrix: given scores, measurements and the
deductions of the unit's findings (grouped by unit and indicator) are each one array
operation, so a province of 50,000 units and 100,000 findings scores in a few seconds.
Level-3 scores are rounded to 2 decimals first; level-2, level-1 and total scores are sums
of those, so a unit's score always equals the sum of its breakdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .adjudicate import CONFIRMED, DISMISSED, Verdict
from .errors import Problem, ProblemCollector
from .facts import Facts
from .findings import Finding
from .gcpause import gc_paused
from .load import Dataset
from .measures import MEASURES, measure
from .model import Indicator, Model
from .survey import survey_means, survey_points

Note = dict[str, str]
NO_GIVEN = {"zh": "无评分数据，按满分计", "en": "no data: full marks"}
NO_SURVEY = MEASURES["survey_mean"].no_data


def _join(a: Note | None, b: Note) -> Note:
    if a is None:
        return b
    return {"zh": f"{a['zh']}；{b['zh']}", "en": f"{a['en']}; {b['en']}"}


def _num(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class IndicatorScore:
    """One unit's result on one level-3 indicator."""

    indicator: Indicator
    value: float
    measured: float | None
    note: Note | None
    peer_average: float
    deductions: list[dict[str, Any]]

    @property
    def id(self) -> str:
        """The indicator's id."""
        return self.indicator.id

    @property
    def max(self) -> float:
        """The indicator's maximum."""
        return self.indicator.max

    def to_json(self) -> dict[str, Any]:
        """The breakdown's level-3 object."""
        ind = self.indicator
        return {
            "id": ind.id,
            "title": ind.title,
            "max": ind.max,
            "score": self.value,
            "method": ind.method,
            "description": ind.description,
            "measured": self.measured,
            "peer_average": self.peer_average,
            "deductions": self.deductions,
            "note": self.note,
        }


class ScoreTable:
    """All units' scores as arrays; UnitScore objects are views on one row of it."""

    def __init__(
        self,
        model: Model,
        unit_ids: np.ndarray,
        values: np.ndarray,
        measured: list[np.ndarray | None],
        notes: list[np.ndarray | None],
        deductions: pd.DataFrame,
    ) -> None:
        self.model = model
        self.unit_ids = unit_ids
        self.values = values  # (units, indicators), rounded to 2 decimals
        self.measured = measured
        self.notes = notes
        n = len(unit_ids)
        self.peer_average = (
            np.round(values.mean(axis=0), 2) if n else np.zeros(values.shape[1], dtype=float)
        )
        # Level 2, level 1 and total: sums of rounded level-3 scores (re-rounded: float noise).
        col = 0
        item_cols, dim_cols = [], []
        for dim in model.dimensions:
            first_item = len(item_cols)
            for item in dim.items:
                width = len(item.indicators)
                item_cols.append(np.round(values[:, col : col + width].sum(axis=1), 2))
                col += width
            dim_cols.append(np.round(np.sum(item_cols[first_item:], axis=0), 2))
        self.items = np.column_stack(item_cols) if item_cols else np.zeros((n, 0))
        self.dimensions = np.column_stack(dim_cols) if dim_cols else np.zeros((n, 0))
        self.total = np.round(self.dimensions.sum(axis=1), 2)
        # Deduction details, sorted by unit row: rows [start[i], end[i]) belong to unit i.
        self.ded = deductions
        rows = deductions["row"].to_numpy()
        self.start = np.searchsorted(rows, np.arange(n), side="left")
        self.end = np.searchsorted(rows, np.arange(n), side="right")

    @cached_property
    def indicator_ids(self) -> list[str]:
        """Level-3 ids in model order."""
        return [ind.id for ind in self.model.indicators]

    @cached_property
    def _lists(self) -> tuple[list, list, list, list, list, list]:
        """Plain Python values for JSON (converted once, not per unit)."""
        measured = [None if m is None else _nullable(m, 3) for m in self.measured]
        ded = self.ded
        return (
            self.values.tolist(),
            self.items.tolist(),
            self.dimensions.tolist(),
            measured,
            list(
                zip(
                    ded["col"].tolist(),
                    ded["fingerprint"].tolist(),
                    ded["rule"].tolist(),
                    ded["amount"].round(2).tolist(),
                    ded["verdict"].tolist(),
                    strict=True,
                )
            ),
            self.peer_average.tolist(),
        )

    def deductions_of(self, row: int) -> list[list[dict[str, Any]]]:
        """Per indicator, the deductions of one unit's findings."""
        out: list[list[dict[str, Any]]] = [[] for _ in self.model.indicators]
        details = self._lists[4]
        for j, fp, rule, amount, verdict in details[self.start[row] : self.end[row]]:
            out[j].append({"fingerprint": fp, "rule": rule, "amount": amount, "verdict": verdict})
        return out

    def slim_details(
        self, notes: dict[str, str] | None, rows: list[int] | None = None
    ) -> list[dict[str, dict[str, Any]]]:
        """The breakdown `details` (see UnitScore.slim_json) of every unit, or of the given
        rows in that order: built indicator by indicator over the units that have an entry,
        not unit by unit over all indicators (a province has 50,000 units)."""
        measured, details = self._lists[3], self._lists[4]
        ids = self.indicator_ids
        picked = np.arange(len(self.unit_ids)) if rows is None else np.asarray(rows, dtype=int)
        extra: list[dict[str, dict[str, Any]]] = [{} for _ in picked]
        for j, m in enumerate(measured):
            if m is None:
                continue
            key = ids[j]
            for k in np.flatnonzero(~np.isnan(self.measured[j][picked])).tolist():
                extra[k][key] = {"measured": m[picked[k]]}
        starts, ends = self.start[picked].tolist(), self.end[picked].tolist()
        for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
            for j, fp, rule, amount, verdict in details[start:end]:
                extra[k].setdefault(ids[j], {}).setdefault("deductions", []).append(
                    {"fingerprint": fp, "rule": rule, "amount": amount, "verdict": verdict}
                )
        refs: dict[int, Any] = {}  # the same note object is shared by many units
        for j, col in enumerate(self.notes):
            if col is None:
                continue
            key = ids[j]
            column = col[picked]
            for k in np.flatnonzero(pd.notna(column)).tolist():
                note = column[k]
                ref = refs.get(id(note))
                if ref is None:
                    ref = refs[id(note)] = note if notes is None else _note_ref(note, notes)
                extra[k].setdefault(key, {})["note"] = ref
        return extra

    def note(self, row: int, col: int) -> Note | None:
        """The note of one unit on one indicator."""
        notes = self.notes[col]
        return None if notes is None else notes[row]


class UnitScore:
    """One unit's score, breakdown, grade and the reason for its grade."""

    __slots__ = ("unit_id", "score", "grade", "grade_reason", "_table", "_row")

    def __init__(self, unit_id: str, score: float, table: ScoreTable, row: int) -> None:
        self.unit_id = unit_id
        self.score = score
        self.grade: str | None = None
        self.grade_reason: dict[str, str] | None = None
        self._table = table
        self._row = row

    @property
    def model(self) -> Model:
        """The model this unit was scored on."""
        return self._table.model

    def indicators(self) -> list[IndicatorScore]:
        """The unit's level-3 results, in model order."""
        t, i = self._table, self._row
        values, _, _, measured, _, peer = t._lists
        deds = t.deductions_of(i)
        return [
            IndicatorScore(
                ind,
                values[i][j],
                None if measured[j] is None else measured[j][i],
                t.note(i, j),
                peer[j],
                deds[j],
            )
            for j, ind in enumerate(t.model.indicators)
        ]

    def indicator(self, indicator_id: str) -> IndicatorScore:
        """The unit's result on one level-3 indicator."""
        for result in self.indicators():
            if result.id == indicator_id:
                return result
        raise KeyError(indicator_id)

    def item_score(self, item_id: str) -> float:
        """The unit's level-2 score."""
        n = 0
        for dim in self.model.dimensions:
            for item in dim.items:
                if item.id == item_id:
                    return self._table._lists[1][self._row][n]
                n += 1
        raise KeyError(item_id)

    def dimension_score(self, dimension_id: str) -> float:
        """The unit's level-1 score."""
        for n, dim in enumerate(self.model.dimensions):
            if dim.id == dimension_id:
                return self._table._lists[2][self._row][n]
        raise KeyError(dimension_id)

    def slim_json(
        self,
        lang: str = "zh",
        notes: dict[str, str] | None = None,
        details: list[dict[str, dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """Score, grade, reason, and the breakdown in compact form.

        The breakdown lists the unit's level-1, level-2 and level-3 scores as arrays in the
        model's order (`model_json` gives ids, titles and maxima once), and `details` only
        where the unit has something: a measured value, deductions, a note. Notes are
        interned in `notes` (text key -> id) because most repeat across units. A province's
        report is then a fraction of the size; `report.breakdown.full_breakdown` expands it.
        """
        t, i = self._table, self._row
        values, items, dims = t._lists[:3]
        extra = details[i] if details is not None else t.slim_details(notes, [i])[0]
        reason = None
        if self.grade_reason is not None:
            reason = dict(self.grade_reason)
            reason["message"] = self.grade_reason[lang]
        return {
            "score": self.score,
            "grade": self.grade,
            "grade_reason": reason,
            "breakdown": {"l1": dims[i], "l2": items[i], "l3": values[i], "details": extra},
        }

    def to_json(self, lang: str = "zh") -> dict[str, Any]:
        """Score, grade, the grade's reason and the full three-level breakdown (titles,
        maxima, methods, descriptions, peer averages at every level)."""
        from .report.breakdown import full_breakdown

        out = self.slim_json(lang)
        out["breakdown"] = full_breakdown(
            {"model": model_json(self.model, {self.unit_id: self})}, out
        )
        return out


def _note_ref(note: Note, notes: dict[str, str]) -> str:
    """The note's id in the shared `notes` table, added if new."""
    key = f"{note['zh']}\x00{note['en']}"
    ref = notes.get(key)
    if ref is None:
        ref = notes[key] = f"n{len(notes) + 1}"
    return ref


def round_half_up(values: np.ndarray) -> np.ndarray:
    """Round to cents, halves up, as a hand score sheet (and Excel's ROUND) does.

    np.round rounds the binary value: 11.145 is stored as 11.14499…, so it gives 11.14. The
    product with 100 is first rounded to 6 decimals to undo that representation error.
    """
    return np.floor(np.round(np.asarray(values, dtype="float64") * 100.0, 6) + 0.5) / 100.0


def _nullable(values: np.ndarray, decimals: int) -> list[float | None]:
    """Rounded floats as a list, NaN as None."""
    out = np.round(values, decimals).astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def deducted_by_fingerprint(scores: dict[str, UnitScore]) -> dict[str, float]:
    """Points each finding took off its unit's score, by fingerprint (all units at once)."""
    for unit in scores.values():
        out: dict[str, float] = {}
        for _j, fp, _rule, amount, _verdict in unit._table._lists[4]:
            out[fp] = out.get(fp, 0.0) + float(amount)
        return out
    return {}


def model_json(model: Model, scores: dict[str, UnitScore]) -> dict[str, Any]:
    """The model's tree once: ids, titles, maxima, methods, descriptions, peer averages."""
    peer: list[float] = []
    for unit in scores.values():
        peer = unit._table._lists[5]
        break
    j = 0
    dims = []
    for dim in model.dimensions:
        items = []
        for item in dim.items:
            inds = []
            for ind in item.indicators:
                inds.append(
                    {
                        "id": ind.id,
                        "title": ind.title,
                        "max": ind.max,
                        "method": ind.method,
                        "description": ind.description,
                        "peer_average": peer[j] if j < len(peer) else None,
                    }
                )
                j += 1
            items.append(
                {"id": item.id, "title": item.title, "max": item.points, "indicators": inds}
            )
        dims.append({"id": dim.id, "title": dim.title, "max": dim.weight, "items": items})
    return {"id": model.id, "title": model.title, "dimensions": dims}


def units_json(
    scores: dict[str, UnitScore],
    lang: str = "zh",
    slim: bool = False,
    notes: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """unit_id -> UnitScore.to_json(lang) for many units at once.

    The breakdowns are millions of small acyclic dicts and lists, built with the collector
    paused (see gcpause).
    """
    with gc_paused():
        if slim:
            details: dict[int, list] = {}
            for unit in scores.values():
                if id(unit._table) not in details:
                    details[id(unit._table)] = unit._table.slim_details(notes)
            return {
                uid: unit.slim_json(lang, notes, details[id(unit._table)])
                for uid, unit in scores.items()
            }
        return {uid: unit.to_json(lang) for uid, unit in scores.items()}


def _given(
    model: Model, dataset: Dataset | None, units: pd.Index
) -> tuple[np.ndarray, dict[tuple[int, int], str]]:
    """Given scores as a (units x indicators) matrix (NaN: none), and the scores table's notes.

    InputError (file, row, column) for an indicator the model does not score from the table,
    a unit given two values for one indicator, a negative value, or a rescaled value above
    its scale.
    """
    n, k = len(units), len(model.indicators)
    matrix = np.full((n, k), np.nan)
    notes: dict[tuple[int, int], str] = {}
    keys = model.given_keys()
    if dataset is None or not dataset.has("scores") or not keys:
        return matrix, notes
    table = dataset.table("scores")
    frame = table.frame
    if frame.empty:
        return matrix, notes
    problems = ProblemCollector()

    def fail(mask: np.ndarray, column: str, message) -> None:
        sub = frame.loc[mask]
        for idx, file, row in zip(sub.index, sub["_file"], sub["_row"], strict=True):
            problems.add(
                Problem(
                    file=file if isinstance(file, str) else table.file,
                    sheet=table.sheet,
                    row=None if pd.isna(row) else int(row),
                    column=column,
                    message=message(idx),
                )
            )

    col = frame["indicator"].map(keys)
    unknown = col.isna().to_numpy()
    if unknown.any():
        accepted = ", ".join(keys)
        fail(
            unknown,
            "indicator",
            lambda i: (
                f"indicator {frame.at[i, 'indicator']!r} has no given score in the model "
                f"(accepted: {accepted})"
            ),
        )
    value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype="float64")
    negative = value < 0
    if negative.any():
        fail(negative, "value", lambda i: f"a given score cannot be negative, got {value[i]:g}")
    scale = np.array(
        [
            model.indicators[int(c)].parameters.get("scale", np.inf) if not pd.isna(c) else np.inf
            for c in col.tolist()
        ],
        dtype="float64",
    )
    over = value > scale
    if over.any():
        fail(
            over,
            "value",
            lambda i: (
                f"{frame.at[i, 'indicator']} is given on a 0..{_num(scale[i])} scale, "
                f"got {value[i]:g}"
            ),
        )
    dup = frame.duplicated(["unit_id", "indicator"], keep="first").to_numpy() & ~unknown
    if dup.any():
        fail(
            dup,
            "indicator",
            lambda i: f"unit {frame.at[i, 'unit_id']} is given {frame.at[i, 'indicator']} twice",
        )
    problems.raise_if_any()
    rows = units.get_indexer(frame["unit_id"])
    cols = col.to_numpy(dtype="float64")
    ok = rows >= 0
    matrix[rows[ok], cols[ok].astype(int)] = value[ok]
    if "note" in frame.columns:
        has = frame["note"].notna().to_numpy() & ok
        for r, c, text in zip(rows[has], cols[has], frame["note"][has], strict=True):
            notes[(int(r), int(c))] = str(text)
    return matrix, notes


def _deductions(
    model: Model, findings: list[Finding], verdicts: dict[str, Verdict], units: pd.Index
) -> pd.DataFrame:
    """One row per finding of a rule the model deducts for: unit row, indicator column,
    amount (0 when dismissed), fingerprint, rule and verdict; sorted by unit row."""
    which = model.deduction_of_rule
    picked = [f for f in findings if f.rule in which]
    fps = [f.fingerprint for f in picked]
    frame = pd.DataFrame(
        {
            "unit_id": pd.Series([f.unit_id for f in picked], dtype=object),
            "rule": pd.Series([f.rule for f in picked], dtype=object),
            "magnitude": pd.Series([f.magnitude for f in picked], dtype="float64"),
            "fingerprint": pd.Series(fps, dtype=object),
        }
    )
    frame["row"] = units.get_indexer(frame["unit_id"]) if len(frame) else np.array([], dtype=int)
    frame = frame[frame["row"] >= 0]
    col = {rule: j for rule, (j, _) in which.items()}
    amount = {rule: d.amount for rule, (_, d) in which.items()}
    per_mag = {rule: d.per == "magnitude" for rule, (_, d) in which.items()}
    mag = frame["magnitude"].fillna(1.0).clip(lower=0.0)
    each = frame["rule"].map(amount).astype("float64")
    by_mag = frame["rule"].map(per_mag).astype(bool)
    verdict = frame["fingerprint"].map(
        {fp: v.verdict for fp, v in verdicts.items() if v.verdict in (CONFIRMED, DISMISSED)}
    )
    dismissed = (verdict == DISMISSED).to_numpy()
    frame = frame.assign(
        col=frame["rule"].map(col).astype(int),
        amount=np.where(dismissed, 0.0, np.where(by_mag, each * mag, each)),
        verdict=verdict.astype(object).where(verdict.notna(), None),
    )
    return frame.sort_values(["row", "col"], kind="stable").reset_index(drop=True)


def score_units(
    model: Model,
    facts: Facts,
    findings: list[Finding],
    verdicts_by_fp: dict[str, Verdict],
    dataset: Dataset | None,
) -> dict[str, UnitScore]:
    """Score every unit of the facts on the model; unit_id -> UnitScore (grade not yet set).

    Raises InputError for bad scores or survey tables (file, row, column).
    """
    unit_ids = facts["unit"]["unit_id"].to_numpy(dtype=object)
    units = pd.Index(unit_ids)
    n, k = len(unit_ids), len(model.indicators)
    maxima = np.array([ind.max for ind in model.indicators], dtype="float64")
    base = np.tile(maxima, (n, 1))
    measured: list[np.ndarray | None] = [None] * k
    notes: list[np.ndarray | None] = [None] * k

    def add_note(j: int, rows: Any, note: Note | None = None, make=None) -> None:
        """Add a note to some units (a mask or row numbers) on indicator j."""
        rows = np.flatnonzero(rows) if isinstance(rows, np.ndarray) and rows.dtype == bool else rows
        if len(rows) == 0:
            return
        if notes[j] is None:
            notes[j] = np.full(n, None, dtype=object)
        arr = notes[j]
        for r in rows:
            arr[r] = _join(arr[r], note if make is None else make(r))

    given, given_notes = _given(model, dataset, units)
    survey = None
    for j, ind in enumerate(model.indicators):
        mx, p = ind.max, ind.parameters
        if ind.method in ("given", "given_rescaled", "given_capped"):
            raw = given[:, j]
            measured[j] = raw
            absent = np.isnan(raw)
            value = raw / p["scale"] * mx if ind.method == "given_rescaled" else raw
            base[:, j] = np.where(absent, mx, np.minimum(value, mx))
            _shared_note(notes, j, absent, NO_GIVEN, n)
            if ind.method == "given":
                add_note(
                    j,
                    ~absent & (raw > mx),
                    make=lambda r, raw=raw, mx=mx: {
                        "zh": f"给定得分{_num(raw[r])}高于满分{_num(mx)}，按满分计",
                        "en": f"given {_num(raw[r])} is above the maximum {_num(mx)}: capped",
                    },
                )
        elif ind.method == "threshold":
            m = measure(p["measure"], facts, dataset, unit_ids)
            measured[j] = m
            absent = np.isnan(m)
            penalty = np.maximum(np.nan_to_num(m) - p["full_up_to"], 0.0) * p["deduct_per_unit"]
            base[:, j] = np.where(absent, mx, mx - penalty)
            _shared_note(notes, j, absent, MEASURES[p["measure"]].no_data, n)
        elif ind.method == "peer_ratio":
            m = measure(p["measure"], facts, dataset, unit_ids)
            measured[j] = m
            absent = np.isnan(m)
            base[:, j] = np.where(absent, mx, mx * _peer_fraction(np.nan_to_num(m), p))
            _shared_note(notes, j, absent, MEASURES[p["measure"]].no_data, n)
        elif ind.method == "survey":
            if survey is None:
                means = survey_means(dataset) if dataset is not None else pd.Series(dtype=float)
                survey = (
                    means.reindex(unit_ids).to_numpy(dtype="float64")
                    if len(means)
                    else np.full(n, np.nan)
                )
            measured[j] = survey
            absent = np.isnan(survey)
            base[:, j] = np.where(absent, mx, survey_points(np.nan_to_num(survey, nan=1.0), mx))
            _shared_note(notes, j, absent, NO_SURVEY, n)
    for (r, j), text in given_notes.items():
        add_note(j, [r], {"zh": f"评分表备注：{text}", "en": f"scores table note: {text}"})

    ded = _deductions(model, findings, verdicts_by_fp, units)
    taken = np.zeros((n, k))
    if len(ded):
        np.add.at(taken, (ded["row"].to_numpy(), ded["col"].to_numpy()), ded["amount"].to_numpy())
    raw = base - taken
    for j in range(k):
        below = raw[:, j] < -1e-9
        add_note(
            j,
            below & (taken[:, j] > 0),
            make=lambda r, j=j: {
                "zh": f"扣分合计{_num(round(taken[r, j], 2))}分，超过可扣分值，按0分计",
                "en": f"deductions total {_num(round(taken[r, j], 2))}, more than is left: 0",
            },
        )
    values = round_half_up(np.clip(raw, 0.0, maxima)) + 0.0  # + 0.0: no negative zeros
    table = ScoreTable(model, unit_ids, values, measured, notes, ded)
    totals = table.total.tolist()
    return {uid: UnitScore(uid, totals[i], table, i) for i, uid in enumerate(unit_ids.tolist())}


def _shared_note(notes: list, j: int, mask: np.ndarray, note: Note, n: int) -> None:
    """Set one shared note object on many units at once (no per-unit dicts)."""
    if not mask.any():
        return
    if notes[j] is None:
        notes[j] = np.full(n, None, dtype=object)
    arr = notes[j]
    empty = mask & np.equal(arr, None)
    arr[empty] = [note] * int(empty.sum())
    for r in np.flatnonzero(mask & ~empty):
        arr[r] = _join(arr[r], note)


def _peer_fraction(ratio: np.ndarray, p: dict[str, float]) -> np.ndarray:
    """1 inside [full_from, full_to], linear to 0 at zero_below and zero_above, 0 beyond."""
    lo0, lo, hi, hi0 = p["zero_below"], p["full_from"], p["full_to"], p["zero_above"]
    low = (ratio - lo0) / (lo - lo0)
    high = (hi0 - ratio) / (hi0 - hi)
    frac = np.where(ratio < lo, low, np.where(ratio > hi, high, 1.0))
    return np.clip(frac, 0.0, 1.0)
