"""Code lists, table schema and date parsing used by the loader."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sanding_rules import codes, schema
from sanding_rules.dates import parse_date, parse_dates

# --- codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_name", "value", "code"),
    [
        ("category", "admin", "admin"),
        ("category", "行政编制", "admin"),
        ("category", " 编外 ", "none"),
        ("category", "ADMINISTRATIVE", "admin"),
        ("kind", "参公事业单位", "civil_ref"),
        ("level", "内设机构副职", "body_deputy"),
        ("leadership", "无", "none"),
        ("post_type", "工勤技能岗位", "worker"),
        ("roster_status", "借调外单位", "seconded_out"),
        ("gender", "女", "F"),
        ("gender", "m", "M"),
        ("funding", "自收自支", "self"),
        ("unit_status", "已合并", "merged"),
        ("bool", "是", "true"),
        ("bool", "FALSE", "false"),
        ("direction", "出", "out"),
    ],
)
def test_lookup(list_name: str, value: str, code: str) -> None:
    assert codes.lookup(list_name, value) == code


def test_lookup_unknown() -> None:
    assert codes.lookup("category", "行政") is None
    assert codes.lookup("kind", "admin") is None  # a code of another list


def test_label_and_accepted() -> None:
    assert codes.label("category", "legal") == "政法专项编制"
    assert codes.label("category", "legal", "en") == "political-legal special"
    assert codes.label("category", "mystery") == "mystery"
    assert codes.code_list("roster_status").codes == (
        "on_post",
        "seconded_out",
        "long_leave",
        "retired",
        "left",
    )
    assert "on_post (在岗)" in codes.code_list("roster_status").accepted()


def test_contract_constants() -> None:
    assert codes.ALLOWED_CATEGORIES == {
        "party_gov": {"admin", "logistics", "legal"},
        "civil_ref": {"civil_ref", "logistics"},
        "institution": {"institution"},
    }
    assert codes.COUNTED_STATUSES == {"on_post", "seconded_out", "long_leave"}


def test_every_code_list_of_the_contract() -> None:
    assert set(codes.CODE_LISTS) == {
        "kind",
        "category",
        "level",
        "post_type",
        "roster_status",
        "gender",
        "funding",
        "unit_status",
        "bool",
        "direction",
    }


# --- schema -----------------------------------------------------------------------------


def test_tables_and_keys() -> None:
    assert set(schema.TABLES) == {
        "units",
        "quotas",
        "leader_quotas",
        "bodies",
        "duties",
        "roster",
        "workload",
        "payroll",
        "survey",
        "scores",
        "movements",
    }
    t = schema.TABLES
    assert t["units"].key == ("unit_id",)
    assert t["roster"].key == ("person_id",)
    assert (t["quotas"].key, t["quotas"].dated_key) == (("unit_id", "category"), "effective_from")
    assert (t["leader_quotas"].key, t["leader_quotas"].dated_key) == (
        ("unit_id", "level"),
        "effective_from",
    )
    assert t["bodies"].key == ("unit_id", "body_id")
    assert t["duties"].key == ("unit_id", "duty_code")
    assert t["payroll"].key == () and t["survey"].key == ()
    assert t["roster"].unit_refs == ("unit_id", "work_unit_id")
    assert t["units"].unit_refs == ("parent_id",)
    assert t["units"].required == ("unit_id", "name", "kind")
    assert t["movements"].required == ("person_id", "unit_id", "direction", "date")


def test_column_types_and_defaults() -> None:
    units, roster = schema.TABLES["units"], schema.TABLES["roster"]
    assert units.column("status").default == "active"
    assert roster.column("post_type").default == "management"
    assert roster.column("leadership").default == "none"
    assert roster.column("status").default == "on_post"
    assert schema.TABLES["bodies"].column("approved").default is True
    assert schema.TABLES["survey"].column("reverse").default is False
    assert roster.column("leadership").code_list == "level"
    assert schema.TABLES["quotas"].column("approved").type == "int"
    assert roster.column("birth_date").type == "date"
    assert roster.column("id_number").type == "str"


CONTRACT_ALIASES = {
    "units": {
        "unit_id": ["单位代码", "单位编码", "机构代码"],
        "name": ["单位名称", "机构名称"],
        "kind": ["单位类型", "单位性质"],
        "parent_id": ["主管单位代码", "上级单位代码"],
        "rank": ["机构规格", "级别"],
        "funding": ["经费形式"],
        "bodies_limit": ["内设机构限额"],
        "status": ["单位状态", "状态"],
        "region": ["所属地区", "地区"],
    },
    "quotas": {
        "category": ["编制类型", "编制类别", "编制性质"],
        "approved": ["核定数", "编制数", "核定编制数"],
        "doc_no": ["文号", "批准文号"],
        "effective_from": ["生效日期"],
    },
    "leader_quotas": {
        "level": ["职务层次", "领导职务层次"],
        "approved": ["核定数", "职数", "核定职数"],
    },
    "bodies": {"body_id": ["内设机构代码"], "name": ["内设机构名称"], "approved": ["是否核定"]},
    "duties": {"duty_code": ["职责代码", "事项编码"], "text": ["职责内容"], "source": ["来源"]},
    "roster": {
        "person_id": ["人员编号"],
        "category": ["编制类型", "编制类别"],
        "name": ["姓名"],
        "id_number": ["身份证号", "公民身份号码"],
        "gender": ["性别"],
        "birth_date": ["出生日期"],
        "leadership": ["领导职务层次", "人员分类"],
        "body_id": ["所在机构", "内设机构代码"],
        "position": ["职务"],
        "post_type": ["岗位类别"],
        "status": ["人员状态"],
        "status_since": ["状态起始日期"],
        "work_unit_id": ["实际工作单位代码"],
        "entry_date": ["入编时间"],
    },
    "workload": {"metric": ["指标"], "value": ["数值", "工作量"], "period": ["年度", "期间"]},
    "payroll": {"period": ["发放月份"], "amount": ["金额", "实发金额"], "id_number": ["身份证号"]},
    "survey": {
        "respondent_id": ["答卷编号"],
        "item_id": ["题目编号"],
        "score": ["得分"],
        "respondent_group": ["答卷人类别"],
        "reverse": ["反向计分"],
    },
    "scores": {"indicator": ["指标"], "value": ["得分"]},
    "movements": {"direction": ["方向"], "date": ["日期"], "category": ["编制类型"]},
}


@pytest.mark.parametrize("table", sorted(CONTRACT_ALIASES))
def test_contract_aliases(table: str) -> None:
    t = schema.TABLES[table]
    for column, aliases in CONTRACT_ALIASES[table].items():
        for alias in aliases:
            assert t.match_header(alias) == column, (table, alias)
    assert t.match_header("单位代码") == "unit_id"


def test_header_matching_rules() -> None:
    roster = schema.TABLES["roster"]
    assert roster.match_header("  PERSON_ID ") == "person_id"
    assert roster.match_header("Person ID") == "person_id"
    assert roster.match_header(" 姓  名 ") == "name"
    assert roster.match_header("*人员编号") == "person_id"
    assert roster.match_header("身份证号（18位）") == "id_number"
    assert roster.match_header("联系电话") is None
    assert roster.match_header(None) is None
    # The same Chinese word, different columns in different tables.
    assert schema.TABLES["workload"].match_header("指标") == "metric"
    assert schema.TABLES["scores"].match_header("指标") == "indicator"
    assert schema.TABLES["survey"].match_header("得分") == "score"
    assert schema.TABLES["scores"].match_header("得分") == "value"


def test_table_names() -> None:
    assert schema.table_for_name("Roster") == "roster"
    assert schema.table_for_name("实有人员") == "roster"
    assert schema.table_for_name("领导职数") == "leader_quotas"
    assert schema.table_for_name("人员变动") == "movements"
    assert schema.table_for_name("expected_findings") is None


# --- dates ------------------------------------------------------------------------------


def test_parse_dates_formats() -> None:
    values = pd.Series(
        [
            "2026-03-31",
            " 2026年3月31日 ",
            "2026/3/31",
            "2026.3.31",
            "20260331",
            "2026-03-31 00:00:00",
            "",
            None,
            "2026-02-30",
            "31/03/2026",
            "soon",
        ],
        dtype="str",
    )
    parsed, bad = parse_dates(values)
    assert str(parsed.dtype) == "datetime64[ns]"
    assert parsed.iloc[:6].tolist() == [pd.Timestamp("2026-03-31")] * 6
    assert parsed.iloc[6:].isna().all()
    assert bad.tolist() == [False] * 8 + [True] * 3


def test_parse_dates_excel_values() -> None:
    values = pd.Series([dt.datetime(2026, 3, 31, 0, 0), dt.date(2020, 1, 2), None], dtype=object)
    parsed, bad = parse_dates(values)
    assert parsed.tolist()[:2] == [pd.Timestamp("2026-03-31"), pd.Timestamp("2020-01-02")]
    assert not bad.any()
    serial, bad = parse_dates(pd.Series(["46112"], dtype="str"), excel_serial=True)
    assert serial.tolist() == [pd.Timestamp("2026-03-31")] and not bad.any()
    _, bad = parse_dates(pd.Series(["46112"], dtype="str"))
    assert bad.tolist() == [True]


def test_parse_date_single() -> None:
    assert parse_date("2026年1月2日") == pd.Timestamp("2026-01-02")
    assert parse_date("nope") is None


def test_parse_dates_many_rows_of_mixed_formats() -> None:
    days = np.datetime64("1960-01-01") + np.arange(200_000) % 5000
    values = pd.Series(days.astype(str), dtype="str")
    values.iloc[::7] = values.iloc[::7].str.replace("-", "/")
    parsed, bad = parse_dates(values)
    assert not bad.any()
    assert (parsed.to_numpy() == days.astype("datetime64[ns]")).all()
