"""Message templates: `{name}` and `{name|filter}` placeholders, filled without str.format.

str.format would let a template reach attributes of the values it formats; a template here
can only name a value and one filter from a fixed list.
"""

from __future__ import annotations

import math
import re
from typing import Any

from . import codes, idnumber

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([a-z]+))?\}")
FILTERS = ("label", "pct", "date", "mask")

# Which code list a field's values come from, per fact type where it differs.
CODE_LISTS = {
    "category": "category",
    "unit_kind": "kind",
    "kind": "kind",
    "level": "level",
    "leadership": "level",
    "post_type": "post_type",
    "gender": "gender",
    "funding": "funding",
}


def code_list_for(name: str, fact_type: str) -> str | None:
    """The code list a field's values belong to."""
    if name == "status":
        return "unit_status" if fact_type == "unit" else "status"
    return CODE_LISTS.get(name)


def format_number(value: float) -> str:
    """12.0 -> '12', 0.3333 -> '0.33'."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _fmt(value: Any, name: str, filt: str | None, lang: str, fact_type: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if filt == "label":
        lst = code_list_for(name, fact_type)
        return codes.label(lst, str(value), lang) if lst else str(value)
    if filt == "pct":
        return f"{float(value) * 100:.1f}%"
    if filt == "mask":
        return idnumber.mask(str(value))
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, int | float):
        return format_number(value)
    return str(value)


def render(template: str, context: dict[str, Any], lang: str, fact_type: str) -> str:
    """Fill a template's placeholders from a context of plain values."""

    def sub(m: re.Match) -> str:
        name, filt = m.group(1), m.group(2)
        return _fmt(context.get(name), name, filt, lang, fact_type)

    return PLACEHOLDER.sub(sub, template)
