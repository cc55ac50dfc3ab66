"""Survey scoring: reverse items, the mean mapped to points, bad answers named by file and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sanding_rules.errors import InputError
from sanding_rules.load import load_dataset
from sanding_rules.survey import survey_means, survey_points

UNITS = "unit_id,name,kind\nU1,县委办,party_gov\nU2,县财政局,party_gov\nU3,县教育局,party_gov\n"
ROSTER = "person_id,unit_id,category\nP1,U1,admin\n"


def folder(tmp_path: Path, survey: str) -> Path:
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "问卷.csv").write_text(survey, encoding="utf-8")
    return tmp_path


def test_reverse_items_are_scored_six_minus_x(tmp_path: Path) -> None:
    survey = (
        "答卷编号,单位代码,题目编号,得分,反向计分\n"
        "R1,U1,q1,5,否\n"
        "R1,U1,q2,1,是\n"  # reverse: 6 - 1 = 5
        "R2,U1,q1,4,\n"
        "R2,U1,q2,3,是\n"  # reverse: 3
        "R3,U2,q1,1,false\n"
        "R3,U2,q2,5,true\n"  # reverse: 1
    )
    means = survey_means(load_dataset(folder(tmp_path, survey)))
    assert means.to_dict() == {"U1": pytest.approx(17 / 4), "U2": 1.0}
    assert "U3" not in means


def test_mean_maps_linearly_to_points() -> None:
    got = survey_points(np.array([1.0, 3.0, 5.0, 4.25, np.nan]), 7)
    assert got[:4].tolist() == pytest.approx([0, 3.5, 7, 5.6875])
    assert np.isnan(got[4])


@pytest.mark.parametrize("bad", ["0", "6", "5.5", "-1"])
def test_scores_outside_the_scale_name_file_and_row(tmp_path: Path, bad: str) -> None:
    survey = f"respondent_id,unit_id,item_id,score\nR1,U1,q1,3\nR1,U1,q2,{bad}\nR2,U2,q1,9\n"
    with pytest.raises(InputError) as exc:
        survey_means(load_dataset(folder(tmp_path, survey)))
    first, second = exc.value.problems
    assert (first.file, first.row, first.column) == ("问卷.csv", 3, "score")
    assert "outside the 5-point scale" in first.message
    assert (second.file, second.row) == ("问卷.csv", 4)


def test_no_survey_table(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert survey_means(load_dataset(tmp_path)).empty
