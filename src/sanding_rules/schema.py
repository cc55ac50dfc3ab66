"""The data contract's tables: columns, types, aliases, defaults, keys and references.

Column types: ``str`` (text), ``code:<list>`` (a code list of :mod:`codes`), ``num``
(a number), ``int`` (a non-negative whole number: counts and limits), ``date`` and
``bool`` (the ``bool`` code list, stored as pandas ``boolean``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import codes


@dataclass(frozen=True)
class Column:
    """One contract column of one table."""

    name: str
    type: str = "str"
    required: bool = False
    aliases: tuple[str, ...] = ()
    default: Any = None

    @property
    def code_list(self) -> str | None:
        """The code list name for code and bool columns, else None."""
        if self.type == "bool":
            return "bool"
        return self.type.split(":", 1)[1] if self.type.startswith("code:") else None


@dataclass(frozen=True)
class TableSchema:
    """One contract table."""

    name: str
    zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    # Part of the key only when given: rows without it must be unique on `key` alone.
    dated_key: str | None = None
    unit_refs: tuple[str, ...] = ()
    _headers: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        headers: dict[str, str] = {}
        for col in self.columns:
            for spelling in (col.name, *col.aliases):
                key = header_key(spelling)
                if headers.get(key, col.name) != col.name:
                    raise ValueError(f"{self.name}: header {spelling!r} is ambiguous")
                headers[key] = col.name
        object.__setattr__(self, "_headers", headers)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Canonical column names in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def repeated(self) -> frozenset[str]:
        """Text columns whose values repeat from row to row (references to units and bodies):
        read and kept as categoricals, like code columns."""
        names = set(self.unit_refs)
        if self.name == "roster":
            names.add("body_id")
        return frozenset(names)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """Return a column by canonical name; KeyError if not in this table."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def match_header(self, header: object) -> str | None:
        """Map a header (English, any case, or a Chinese alias) to its canonical name."""
        if header is None:
            return None
        text = str(header)
        found = self._headers.get(header_key(text))
        if found is None:
            # "核定数（名）", "金额(元)": a unit in brackets after the name.
            bare = _TRAILING_BRACKETS.sub("", text)
            if bare != text:
                found = self._headers.get(header_key(bare))
        return found


_SPACES = re.compile(r"[\s_\-]+")
_TRAILING_BRACKETS = re.compile(r"\s*[(（\[【][^()（）\[\]【】]*[)）\]】]\s*$")


def header_key(header: str) -> str:
    """Normalise a header for matching: case, spaces, _ and -, a leading * ignored."""
    text = header.replace("\ufeff", "").strip().lstrip("*").rstrip("*").strip()
    return _SPACES.sub("", text).casefold()


# Unit codes appear under these names in every table.
_UNIT_ID = ("单位代码", "单位编码", "机构代码")


def _unit_id(required: bool = True) -> Column:
    return Column("unit_id", "str", required, _UNIT_ID)


UNITS = TableSchema(
    "units",
    "单位",
    (
        _unit_id(),
        Column("name", "str", True, ("单位名称", "机构名称")),
        Column("kind", "code:kind", True, ("单位类型", "单位性质")),
        Column("parent_id", "str", False, ("主管单位代码", "上级单位代码")),
        Column("rank", "str", False, ("机构规格", "级别")),
        Column("funding", "code:funding", False, ("经费形式",)),
        Column("bodies_limit", "int", False, ("内设机构限额",)),
        Column("status", "code:unit_status", False, ("单位状态", "状态"), "active"),
        Column("region", "str", False, ("所属地区", "地区")),
    ),
    key=("unit_id",),
    unit_refs=("parent_id",),
)
QUOTAS = TableSchema(
    "quotas",
    "核定编制",
    (
        _unit_id(),
        Column("category", "code:category", True, ("编制类型", "编制类别", "编制性质")),
        Column("approved", "int", True, ("核定数", "编制数", "核定编制数")),
        Column("doc_no", "str", False, ("文号", "批准文号")),
        Column("effective_from", "date", False, ("生效日期",)),
    ),
    key=("unit_id", "category"),
    dated_key="effective_from",
    unit_refs=("unit_id",),
)
LEADER_QUOTAS = TableSchema(
    "leader_quotas",
    "领导职数",
    (
        _unit_id(),
        Column("level", "code:level", True, ("职务层次", "领导职务层次")),
        Column("approved", "int", True, ("核定数", "职数", "核定职数")),
        Column("doc_no", "str", False, ("文号", "批准文号")),
        Column("effective_from", "date", False, ("生效日期",)),
    ),
    key=("unit_id", "level"),
    dated_key="effective_from",
    unit_refs=("unit_id",),
)
BODIES = TableSchema(
    "bodies",
    "内设机构",
    (
        _unit_id(),
        Column("body_id", "str", True, ("内设机构代码",)),
        Column("name", "str", True, ("内设机构名称",)),
        Column("approved", "bool", False, ("是否核定",), True),
    ),
    key=("unit_id", "body_id"),
    unit_refs=("unit_id",),
)
DUTIES = TableSchema(
    "duties",
    "职责",
    (
        _unit_id(),
        Column("duty_code", "str", True, ("职责代码", "事项编码")),
        Column("text", "str", False, ("职责内容",)),
        Column("source", "str", False, ("来源",)),
    ),
    key=("unit_id", "duty_code"),
    unit_refs=("unit_id",),
)
ROSTER = TableSchema(
    "roster",
    "实有人员",
    (
        Column("person_id", "str", True, ("人员编号",)),
        _unit_id(),
        Column("category", "code:category", True, ("编制类型", "编制类别")),
        Column("name", "str", False, ("姓名",)),
        Column("id_number", "str", False, ("身份证号", "公民身份号码")),
        Column("gender", "code:gender", False, ("性别",)),
        Column("birth_date", "date", False, ("出生日期",)),
        Column("leadership", "code:level", False, ("领导职务层次", "人员分类"), "none"),
        Column("body_id", "str", False, ("所在机构", "内设机构代码")),
        Column("position", "str", False, ("职务",)),
        Column("post_type", "code:post_type", False, ("岗位类别",), "management"),
        Column("status", "code:roster_status", False, ("人员状态",), "on_post"),
        Column("status_since", "date", False, ("状态起始日期",)),
        Column("work_unit_id", "str", False, ("实际工作单位代码",)),
        Column("entry_date", "date", False, ("入编时间",)),
    ),
    key=("person_id",),
    unit_refs=("unit_id", "work_unit_id"),
)
WORKLOAD = TableSchema(
    "workload",
    "履职数据",
    (
        _unit_id(),
        Column("duty_code", "str", True, ("职责代码",)),
        Column("metric", "str", False, ("指标",)),
        Column("value", "num", True, ("数值", "工作量")),
        Column("period", "str", False, ("年度", "期间")),
    ),
    unit_refs=("unit_id",),
)
PAYROLL = TableSchema(
    "payroll",
    "工资发放",
    (
        Column("person_id", "str", True, ("人员编号",)),
        _unit_id(),
        Column("id_number", "str", False, ("身份证号",)),
        Column("period", "str", False, ("发放月份",)),
        Column("amount", "num", False, ("金额", "实发金额")),
    ),
    unit_refs=("unit_id",),
)
SURVEY = TableSchema(
    "survey",
    "问卷",
    (
        Column("respondent_id", "str", True, ("答卷编号",)),
        _unit_id(),
        Column("item_id", "str", True, ("题目编号",)),
        Column("score", "num", True, ("得分",)),
        Column("respondent_group", "str", False, ("答卷人类别",)),
        Column("reverse", "bool", False, ("反向计分",), False),
    ),
    unit_refs=("unit_id",),
)
SCORES = TableSchema(
    "scores",
    "评分",
    (
        _unit_id(),
        Column("indicator", "str", True, ("指标",)),
        Column("value", "num", True, ("得分",)),
        Column("note", "str", False, ("备注",)),
    ),
    unit_refs=("unit_id",),
)
MOVEMENTS = TableSchema(
    "movements",
    "人员变动",
    (
        Column("person_id", "str", True, ("人员编号",)),
        _unit_id(),
        Column("direction", "code:direction", True, ("方向",)),
        Column("date", "date", True, ("日期",)),
        Column("category", "code:category", False, ("编制类型",)),
    ),
    unit_refs=("unit_id",),
)

TABLES: Mapping[str, TableSchema] = MappingProxyType(
    {
        t.name: t
        for t in (
            UNITS,
            QUOTAS,
            LEADER_QUOTAS,
            BODIES,
            DUTIES,
            ROSTER,
            WORKLOAD,
            PAYROLL,
            SURVEY,
            SCORES,
            MOVEMENTS,
        )
    }
)
REQUIRED_TABLES: tuple[str, ...] = ("units", "roster")
# The tables a per-unit three-determinations document (sanding/*.yaml|xml) may hold.
SANDING_TABLES: tuple[str, ...] = ("quotas", "leader_quotas", "bodies", "duties")

_TABLE_NAMES = {header_key(n): n for n in TABLES} | {
    header_key(t.zh): t.name for t in TABLES.values()
}


def table_for_name(name: str) -> str | None:
    """Map a file stem or sheet name (English any case, or Chinese) to a table name."""
    return _TABLE_NAMES.get(header_key(name))


def _check_code_lists() -> None:
    for table in TABLES.values():
        for col in table.columns:
            if col.code_list is not None:
                codes.code_list(col.code_list)


_check_code_lists()
