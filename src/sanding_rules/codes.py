"""The data contract's code lists, with Chinese and English labels.

Input may give a code (``admin``) or its Chinese label (``行政编制``); the loader stores
codes only, and reports turn them back into labels with :func:`label`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class CodeList:
    """One code list: code -> {"zh": ..., "en": ...}, plus extra accepted spellings."""

    name: str
    labels: Mapping[str, Mapping[str, str]]
    synonyms: Mapping[str, str] = field(default_factory=dict)
    _index: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for code, lab in self.labels.items():
            index[code] = code
            index[lab["zh"]] = code
            index.setdefault(code.casefold(), code)
            index.setdefault(lab["en"].casefold(), code)
        for spelling, code in self.synonyms.items():
            index.setdefault(spelling.casefold(), code)
        object.__setattr__(self, "_index", index)

    @property
    def codes(self) -> tuple[str, ...]:
        """The canonical codes, in contract order."""
        return tuple(self.labels)

    def lookup(self, value: str) -> str | None:
        """Return the code for a code, Chinese label or English label; None if unknown."""
        text = value.strip()
        return self._index.get(text) or self._index.get(text.casefold())

    def label(self, code: str, lang: str = "zh") -> str:
        """Return the label of a code in "zh" or "en"; the code itself if unknown."""
        lab = self.labels.get(code)
        return lab[lang] if lab is not None else code

    def accepted(self) -> str:
        """Describe the accepted values for error messages: 'admin (行政编制), ...'."""
        return ", ".join(f"{code} ({lab['zh']})" for code, lab in self.labels.items())


def _list(name: str, rows: Iterable[tuple[str, str, str]], **synonyms: str) -> CodeList:
    labels = {code: MappingProxyType({"zh": zh, "en": en}) for code, zh, en in rows}
    return CodeList(name, MappingProxyType(labels), MappingProxyType(dict(synonyms)))


KIND = _list(
    "kind",
    [
        ("party_gov", "党政机关", "party or government organ"),
        ("civil_ref", "参公事业单位", "institution managed as civil service"),
        ("institution", "事业单位", "public institution"),
    ],
)
CATEGORY = _list(
    "category",
    [
        ("admin", "行政编制", "administrative"),
        ("civil_ref", "参公事业编制", "institution managed as civil service"),
        ("institution", "事业编制", "public institution"),
        ("logistics", "工勤编制", "logistics worker"),
        ("legal", "政法专项编制", "political-legal special"),
        ("none", "编外", "outside establishment"),
    ],
)
LEVEL = _list(
    "level",
    [
        ("principal", "单位正职", "unit head"),
        ("deputy", "单位副职", "unit deputy head"),
        ("body_principal", "内设机构正职", "internal body head"),
        ("body_deputy", "内设机构副职", "internal body deputy head"),
        ("none", "无", "no leadership post"),
    ],
)
POST_TYPE = _list(
    "post_type",
    [
        ("management", "管理岗位", "management post"),
        ("professional", "专业技术岗位", "professional post"),
        ("worker", "工勤技能岗位", "skilled worker post"),
    ],
)
ROSTER_STATUS = _list(
    "roster_status",
    [
        ("on_post", "在岗", "on post"),
        ("seconded_out", "借调外单位", "seconded out"),
        ("long_leave", "长期离岗", "long-term leave"),
        ("retired", "已退休", "retired"),
        ("left", "已调离", "left"),
    ],
)
GENDER = _list("gender", [("M", "男", "male"), ("F", "女", "female")])
FUNDING = _list(
    "funding",
    [
        ("full", "全额拨款", "fully funded"),
        ("partial", "差额拨款", "partly funded"),
        ("self", "自收自支", "self-financed"),
    ],
)
UNIT_STATUS = _list(
    "unit_status",
    [
        ("active", "正常", "active"),
        ("abolished", "已撤销", "abolished"),
        ("merged", "已合并", "merged"),
    ],
)
# Spreadsheet exports write booleans in many ways; these spellings are unambiguous.
BOOL = _list(
    "bool",
    [("true", "是", "yes"), ("false", "否", "no")],
    **{"1": "true", "0": "false", "y": "true", "n": "false", "t": "true", "f": "false"},
)
DIRECTION = _list("direction", [("in", "进", "in"), ("out", "出", "out")])

CODE_LISTS: Mapping[str, CodeList] = MappingProxyType(
    {
        c.name: c
        for c in (
            KIND,
            CATEGORY,
            LEVEL,
            POST_TYPE,
            ROSTER_STATUS,
            GENDER,
            FUNDING,
            UNIT_STATUS,
            BOOL,
            DIRECTION,
        )
    }
)
# Other names the same lists go by in the contract's column table.
_LIST_ALIASES = {"leadership": "level", "status": "roster_status", "approved": "bool"}

# Which staffing categories each kind of unit may use (contract section 2).
ALLOWED_CATEGORIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "party_gov": frozenset({"admin", "logistics", "legal"}),
        "civil_ref": frozenset({"civil_ref", "logistics"}),
        "institution": frozenset({"institution"}),
    }
)
# Roster statuses that count against a quota (contract section 3).
COUNTED_STATUSES: frozenset[str] = frozenset({"on_post", "seconded_out", "long_leave"})


def code_list(name: str) -> CodeList:
    """Return a code list by name ("category", "level", ...); KeyError if unknown."""
    return CODE_LISTS[_LIST_ALIASES.get(name, name)]


def lookup(list_name: str, value: str) -> str | None:
    """Return the code for a code or label in the named list; None if unknown."""
    return code_list(list_name).lookup(value)


def label(list_name: str, code: str, lang: str = "zh") -> str:
    """Return the "zh" or "en" label of a code; the code itself when unknown."""
    return code_list(list_name).label(code, lang)
