"""A unit's full score breakdown, from the audit JSON's model tree and the unit's scores.

The JSON lists titles, maxima, methods, descriptions and peer averages once (`model`), and
per unit only its own numbers; readers that want both (workpapers, the HTML report) join
them here.
"""

from __future__ import annotations

from typing import Any


def full_breakdown(audit: dict[str, Any], unit: dict[str, Any]) -> list[dict[str, Any]]:
    """The unit's breakdown as a three-level tree, with the model's shared fields filled in."""
    tree = audit.get("model")
    own = unit.get("breakdown")
    if not isinstance(own, dict) or not isinstance(tree, dict):
        return own or []  # unscored, or already a full tree
    notes = {ref: {"zh": zh, "en": en} for ref, (zh, en) in _notes(audit).items()}
    l1, l2, l3 = iter(own.get("l1", [])), iter(own.get("l2", [])), iter(own.get("l3", []))
    details = own.get("details", {})
    out = []
    for dim in tree.get("dimensions", []):
        items = []
        for item in dim.get("items", []):
            inds = []
            for ind in item.get("indicators", []):
                extra = details.get(ind["id"], {})
                note = extra.get("note")
                inds.append(
                    {
                        **ind,
                        "score": next(l3, None),
                        "measured": extra.get("measured"),
                        "deductions": extra.get("deductions", []),
                        "note": notes.get(note, note) if isinstance(note, str) else note,
                    }
                )
            head = {k: v for k, v in item.items() if k != "indicators"}
            items.append({**head, "score": next(l2, None), "indicators": inds})
        head = {k: v for k, v in dim.items() if k != "items"}
        out.append({**head, "score": next(l1, None), "items": items})
    return out


def _notes(audit: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        ref: (n.get("zh", ""), n.get("en", "")) for ref, n in (audit.get("notes") or {}).items()
    }
