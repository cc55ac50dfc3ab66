"""Survey scoring: 5-point Likert answers, reverse items, each unit's mean mapped to points."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import Problem, ProblemCollector
from .load import Dataset

LOW, HIGH = 1.0, 5.0


def survey_means(dataset: Dataset) -> pd.Series:
    """Each unit's mean answer (reverse items scored 6 - x), indexed by unit_id.

    Raises InputError naming the survey file and row of every answer outside 1..5.
    Units without answers are absent from the result.
    """
    if not dataset.has("survey"):
        return pd.Series(dtype="float64")
    table = dataset.table("survey")
    frame = table.frame
    score = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    bad = ~score.between(LOW, HIGH)
    if bad.any():
        problems = ProblemCollector()
        rows = frame.loc[bad, ["_file", "_row"]]
        for (file, row), value in zip(rows.itertuples(index=False), score[bad], strict=True):
            problems.add(
                Problem(
                    file=str(file) if isinstance(file, str) else table.file,
                    sheet=table.sheet,
                    row=None if pd.isna(row) else int(row),
                    column="score",
                    message=f"survey score {value:g} is outside the 5-point scale 1..5",
                )
            )
        problems.raise_if_any()
    reverse = frame["reverse"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    values = np.where(reverse, (LOW + HIGH) - score.to_numpy(), score.to_numpy())
    return pd.Series(values, index=frame.index).groupby(frame["unit_id"].to_numpy()).mean()


def survey_points(mean: np.ndarray, maximum: float) -> np.ndarray:
    """Map means on 1..5 linearly to 0..maximum (NaN stays NaN: no survey)."""
    return (np.asarray(mean, dtype="float64") - LOW) / (HIGH - LOW) * maximum
