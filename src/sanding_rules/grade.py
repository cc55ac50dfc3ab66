"""Grades (evaluation model, section 3): thresholds, then veto (一票否优), then the A-share cap.

A >= model threshold A, B >= threshold B, else C. A unit with a confirmed or unadjudicated
finding of a veto rule cannot be A: it becomes B. When more than the cap's share of all
units would be A, only the highest-scoring keep A, as many as fit; units tied at the cut-off
keep A only if all of them fit, otherwise all of them become B, as do all units below.
Every unit gets a reason {code: threshold | veto | cap, zh, en} naming the numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import numpy as np

from .adjudicate import Verdict
from .findings import Finding
from .model import Model
from .score import UnitScore


@functools.lru_cache(maxsize=65536)
def _n(x: float) -> str:
    return f"{x:.2f}"


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


def grade_units(
    model: Model,
    scores: dict[str, UnitScore],
    findings: Iterable[Finding],
    verdicts_by_fp: dict[str, Verdict],
) -> None:
    """Set `grade` and `grade_reason` on every UnitScore."""
    g = model.grades
    uids = list(scores)
    total = np.array([scores[u].score for u in uids], dtype="float64")
    grade = np.where(total >= g.a, "A", np.where(total >= g.b, "B", "C")).astype(object)
    # Reasons repeat for units with the same score and grade: build each text once.
    texts: dict[tuple[float, str], dict[str, str]] = {}
    reasons: list[dict[str, str]] = []
    for s, gr in zip(total.tolist(), grade.tolist(), strict=True):
        reason = texts.get((s, gr))
        if reason is None:
            if gr == "A":
                zh = f"得分{_n(s)}，达到A档线{g.a:g}分，评为A"
                en = f"score {_n(s)} reaches the A threshold {g.a:g}: A"
            elif gr == "B":
                zh = f"得分{_n(s)}，低于A档线{g.a:g}分、达到B档线{g.b:g}分，评为B"
                en = f"score {_n(s)} is below the A threshold {g.a:g} and reaches the B threshold {g.b:g}: B"
            else:
                zh = f"得分{_n(s)}，低于B档线{g.b:g}分，评为C"
                en = f"score {_n(s)} is below the B threshold {g.b:g}: C"
            reason = texts[(s, gr)] = {"code": "threshold", "zh": zh, "en": en}
        reasons.append(reason)

    # Veto: the first (and the number of) non-dismissed veto findings per unit.
    veto_rules = set(g.veto)
    vetoed: dict[str, tuple[Finding, int]] = {}
    if veto_rules:
        for f in findings:
            if f.rule not in veto_rules or f.unit_id not in scores:
                continue
            v = verdicts_by_fp.get(f.fingerprint)
            if v is not None and v.dismissed:
                continue
            first, count = vetoed.get(f.unit_id, (f, 0))
            vetoed[f.unit_id] = (first, count + 1)
    for i, u in enumerate(uids):
        if grade[i] != "A" or u not in vetoed:
            continue
        f, count = vetoed[u]
        more_zh = f"等{count}项" if count > 1 else ""
        more_en = f" and {count - 1} more" if count > 1 else ""
        grade[i] = "B"
        reasons[i] = {
            "code": "veto",
            "zh": f"得分{_n(total[i])}达到A档线{g.a:g}分，但存在一票否优问题{f.rule}"
            f"（{f.subject}，指纹{f.fingerprint}）{more_zh}，不得评为A，评为B",
            "en": f"score {_n(total[i])} reaches the A threshold {g.a:g}, but a veto finding "
            f"{f.rule} ({f.subject}, fingerprint {f.fingerprint}){more_en} bars A: B",
        }

    # A-share cap.
    n = len(uids)
    is_a = grade == "A"
    n_a = int(is_a.sum())
    allowed = math.floor(g.a_share_cap * n + 1e-9)
    if n_a > allowed:
        a_scores = np.sort(total[is_a])[::-1]
        share = f"{n_a}/{n}"
        if allowed == 0:
            cut = None
            keep = np.zeros(n, dtype=bool)
        else:
            cut = float(a_scores[allowed - 1])
            tied_fit = int((a_scores >= cut).sum()) <= allowed
            keep = is_a & ((total >= cut) if tied_fit else (total > cut))
        tied = int((total[is_a] == cut).sum()) if cut is not None else 0
        capped: dict[float, dict[str, str]] = {}
        for i in np.flatnonzero(is_a & ~keep).tolist():
            s = float(total[i])
            if s in capped:
                grade[i] = "B"
                reasons[i] = capped[s]
                continue
            head_zh = (
                f"A等次比例上限{_pct(g.a_share_cap)}：{share}个单位达到A档，至多{allowed}个可评A"
            )
            head_en = (
                f"A-share cap {_pct(g.a_share_cap)}: {share} units reach A, "
                f"at most {allowed} may keep it"
            )
            if cut is None:
                zh, en = f"{head_zh}，得分{_n(s)}，评为B", f"{head_en}; score {_n(s)}: B"
            elif s == cut:
                zh = f"{head_zh}；截止分{_n(cut)}，与本单位并列的{tied}个单位不能全部保留A，均评为B"
                en = (
                    f"{head_en}; cut-off score {_n(cut)}: the {tied} units tied at it do not all "
                    "fit, so all of them get B"
                )
            else:
                zh = f"{head_zh}；截止分{_n(cut)}，本单位得分{_n(s)}，评为B"
                en = f"{head_en}; cut-off score {_n(cut)}, this unit's score {_n(s)}: B"
            grade[i] = "B"
            reasons[i] = capped[s] = {"code": "cap", "zh": zh, "en": en}

    for i, u in enumerate(uids):
        unit = scores[u]
        unit.grade = grade[i]
        unit.grade_reason = reasons[i]
