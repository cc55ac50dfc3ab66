"""Per-unit measurements the evaluation model scores: vacancy rate, workload index, survey mean.

Each measure maps the facts (and dataset) to a float Series indexed by unit_id; a unit with
no data for it is NaN (or absent), and scores full marks with the measure's note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .facts import Facts
from .load import Dataset
from .survey import survey_means


@dataclass(frozen=True)
class Measure:
    """A per-unit measurement and the note shown when a unit has no data for it."""

    name: str
    title: dict[str, str]
    no_data: dict[str, str]
    compute: Callable[[Facts, Dataset | None], pd.Series]


def vacancy_rate(facts: Facts, dataset: Dataset | None = None) -> pd.Series:
    """Percent of the unit's approved posts that are vacant: (quota_total - counted with a
    category) / quota_total x 100, at least 0; NaN when the unit has no approved posts."""
    unit = facts["unit"]
    quota = unit["quota_total"].to_numpy(dtype="float64")
    counted = unit["counted_categorised"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(quota > 0, np.maximum(quota - counted, 0.0) / quota * 100.0, np.nan)
    return pd.Series(rate, index=unit["unit_id"].to_numpy(), dtype="float64")


MIN_PEERS = 3


def workload_index(facts: Facts, dataset: Dataset | None = None) -> pd.Series:
    """Mean over the unit's duties of (workload per head / peer median), for duties compared
    with at least MIN_PEERS units and a peer median > 0; from the duty_workload fact table."""
    frame = facts.tables.get("duty_workload")
    if frame is None or frame.empty:
        return pd.Series(dtype="float64")
    ratio = pd.to_numeric(frame["ratio"], errors="coerce").to_numpy(dtype="float64")
    median = pd.to_numeric(frame["peer_median"], errors="coerce").to_numpy(dtype="float64")
    peers = pd.to_numeric(frame["peers"], errors="coerce").to_numpy(dtype="float64")
    # A median of one or two units compares a unit with itself: as for D03/D04, no measure.
    use = (median > 0) & np.isfinite(ratio) & (peers >= MIN_PEERS)
    rel = ratio[use] / median[use]
    return pd.Series(rel).groupby(frame["unit_id"].to_numpy()[use]).mean()


def survey_mean(facts: Facts, dataset: Dataset | None = None) -> pd.Series:
    """The unit's mean survey answer on 1..5 (reverse items scored 6 - x)."""
    if dataset is None:
        return pd.Series(dtype="float64")
    return survey_means(dataset)


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "vacancy_rate",
            {"zh": "空编率（%）", "en": "vacancy rate (%)"},
            {
                "zh": "未核定编制，无空编率，按满分计",
                "en": "no approved posts, no vacancy rate: full marks",
            },
            vacancy_rate,
        ),
        Measure(
            "workload_index",
            {"zh": "人均工作量与同类中位数之比", "en": "workload per head / peer median"},
            {"zh": "无工作量数据，按满分计", "en": "no workload data: full marks"},
            workload_index,
        ),
        Measure(
            "survey_mean",
            {"zh": "问卷平均分（1—5）", "en": "survey mean (1-5)"},
            {"zh": "无满意度问卷，按满分计", "en": "no survey: full marks"},
            survey_mean,
        ),
    )
}


def measure(name: str, facts: Facts, dataset: Dataset | None, unit_ids: np.ndarray) -> np.ndarray:
    """A measure aligned to unit_ids (NaN where a unit has no data)."""
    series = MEASURES[name].compute(facts, dataset)
    if series.empty:
        return np.full(len(unit_ids), np.nan)
    return series.reindex(unit_ids).to_numpy(dtype="float64")
