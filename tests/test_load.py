"""Loading datasets in every supported format into canonical tables."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sanding_rules.errors import InputError
from sanding_rules.load import Dataset, Table, load_dataset

UNITS_CSV = """unit_id,name,kind,parent_id,funding,bodies_limit,status
U1,县委办,party_gov,,full,5,
U2,县财政局,党政机关,U1,全额拨款, 4 ,正常
U3,县医院,institution,,差额拨款,,已撤销
"""
ROSTER_CSV = """person_id,unit_id,category,name,id_number,gender,birth_date,leadership,body_id,post_type,status,work_unit_id,联系电话
0012,U1,admin,张三,110101198001010011,男,1980-01-01,principal,B1,,,,13800000000
P2, U2 ,行政编制,李四,,F,1985年3月31日,,,专业技术岗位,借调外单位,U1,
P3,U3,institution,王五,,,1990/3/1,无,,,已退休,,
"""


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write a file of the dataset (parents created)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """Write a workbook: sheet name -> rows of cell values."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def basic(tmp_path: Path) -> Path:
    write(tmp_path, "units.csv", UNITS_CSV)
    write(tmp_path, "roster.csv", ROSTER_CSV)
    return tmp_path


def test_utf8_csv_canonical_frames(basic: Path) -> None:
    ds = load_dataset(basic)
    assert isinstance(ds, Dataset)
    assert set(ds.tables) == {"units", "roster"}
    assert ds.has("roster") and not ds.has("quotas")
    table = ds.tables["roster"]
    assert isinstance(table, Table)
    assert (table.name, table.file, table.sheet) == ("roster", "roster.csv", None)
    roster = ds.frame("roster")
    # Every contract column, no extra export column, plus _row/_file.
    assert list(roster.columns) == [
        "person_id",
        "unit_id",
        "category",
        "name",
        "id_number",
        "gender",
        "birth_date",
        "leadership",
        "body_id",
        "position",
        "post_type",
        "status",
        "status_since",
        "work_unit_id",
        "entry_date",
        "_row",
        "_file",
    ]
    assert roster["person_id"].tolist() == ["0012", "P2", "P3"]  # leading zeros kept
    assert roster["unit_id"].tolist() == ["U1", "U2", "U3"]  # stripped
    assert roster["id_number"].iat[0] == "110101198001010011"
    assert roster["category"].tolist() == ["admin", "admin", "institution"]
    assert roster["gender"].iat[0] == "M" and roster["gender"].iat[1] == "F"
    assert pd.isna(roster["gender"].iat[2])
    assert roster["leadership"].tolist() == ["principal", "none", "none"]  # default none
    assert roster["post_type"].tolist() == ["management", "professional", "management"]
    assert roster["status"].tolist() == ["on_post", "seconded_out", "retired"]
    assert roster["birth_date"].tolist() == [
        pd.Timestamp("1980-01-01"),
        pd.Timestamp("1985-03-31"),
        pd.Timestamp("1990-03-01"),
    ]
    assert str(roster["birth_date"].dtype) == "datetime64[ns]"
    assert roster["position"].isna().all()  # optional column absent from the file
    assert roster["_row"].tolist() == [2, 3, 4]
    assert roster["_row"].dtype == "int64"
    assert roster["_file"].tolist() == ["roster.csv"] * 3

    units = ds.frame("units")
    assert units["kind"].tolist() == ["party_gov", "party_gov", "institution"]
    assert units["funding"].tolist() == ["full", "full", "partial"]
    assert units["status"].tolist() == ["active", "active", "abolished"]
    assert units["bodies_limit"].dtype == "float64"
    assert units["bodies_limit"].iloc[:2].tolist() == [5.0, 4.0]
    assert pd.isna(units["bodies_limit"].iat[2])
    assert pd.isna(units["parent_id"].iat[0]) and units["parent_id"].iat[1] == "U1"


def test_utf8_bom_csv(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", UNITS_CSV, "utf-8-sig")
    write(tmp_path, "roster.csv", ROSTER_CSV, "utf-8-sig")
    ds = load_dataset(tmp_path)
    # The BOM must not stick to the first header ("\ufeffunit_id" would be unknown).
    assert ds.frame("units")["unit_id"].tolist() == ["U1", "U2", "U3"]
    assert ds.frame("roster")["name"].iat[1] == "李四"


def test_gbk_csv_chinese_headers_and_labels(tmp_path: Path) -> None:
    write(
        tmp_path,
        "单位.csv",
        "单位代码,单位名称,单位类型,经费形式\nU1,县委办,党政机关,全额拨款\nU2,县医院,事业单位,自收自支\n",
        "gbk",
    )
    write(
        tmp_path,
        "实有人员.csv",
        "人员编号,单位代码,编制类型,姓名,性别,出生日期,人员状态,岗位类别,领导职务层次\n"
        "P1,U1,行政编制,张三,男,1980年1月2日,在岗,管理岗位,单位正职\n"
        "P2,U2,事业编制,李四,女,1981/2/3,长期离岗,工勤技能岗位,\n",
        "gbk",
    )
    write(
        tmp_path,
        "核定编制.csv",
        "单位代码,编制类别,核定编制数,批准文号,生效日期\nU1,行政编制,10,县编〔2024〕1号,2024年1月1日\n",
        "gb18030",
    )
    ds = load_dataset(tmp_path)
    assert ds.tables["units"].file == "单位.csv"
    assert ds.frame("units")["kind"].tolist() == ["party_gov", "institution"]
    assert ds.frame("units")["funding"].tolist() == ["full", "self"]
    roster = ds.frame("roster")
    assert roster["name"].tolist() == ["张三", "李四"]
    assert roster["category"].tolist() == ["admin", "institution"]
    assert roster["gender"].tolist() == ["M", "F"]
    assert roster["status"].tolist() == ["on_post", "long_leave"]
    assert roster["post_type"].tolist() == ["management", "worker"]
    assert roster["leadership"].tolist() == ["principal", "none"]
    assert roster["birth_date"].tolist() == [pd.Timestamp("1980-01-02"), pd.Timestamp("1981-02-03")]
    quotas = ds.frame("quotas")
    assert quotas["approved"].tolist() == [10.0]
    assert quotas["doc_no"].tolist() == ["县编〔2024〕1号"]
    assert quotas["effective_from"].tolist() == [pd.Timestamp("2024-01-01")]


def test_english_headers_any_case_and_spacing(tmp_path: Path) -> None:
    write(tmp_path, "Units.CSV", " Unit_ID ,NAME,Kind\nU1,a,party_gov\n")
    write(tmp_path, "ROSTER.csv", "Person ID,unit-id,CATEGORY\nP1,U1,admin\n")
    ds = load_dataset(tmp_path)
    assert ds.frame("units")["unit_id"].tolist() == ["U1"]
    assert ds.frame("roster")["person_id"].tolist() == ["P1"]


def test_same_chinese_header_means_different_columns_per_table(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", "unit_id,name,kind\nU1,a,party_gov\n")
    write(tmp_path, "roster.csv", "person_id,unit_id,category\nP1,U1,admin\n")
    write(
        tmp_path,
        "survey.csv",
        "答卷编号,单位代码,题目编号,得分,反向计分\nR1,U1,Q1,4,是\nR1,U1,Q2,3,\n",
    )
    write(tmp_path, "scores.csv", "单位代码,指标,得分,备注\nU1,满意度,88.5,\n")
    write(tmp_path, "workload.csv", "单位代码,职责代码,指标,工作量,年度\nU1,D1,件数,120,2025\n")
    ds = load_dataset(tmp_path)
    survey = ds.frame("survey")
    assert survey["score"].tolist() == [4.0, 3.0]
    assert survey["reverse"].dtype == "boolean"
    assert survey["reverse"].tolist() == [True, False]  # empty -> False
    assert ds.frame("scores")["value"].tolist() == [88.5]
    assert ds.frame("scores")["indicator"].tolist() == ["满意度"]
    workload = ds.frame("workload")
    assert workload["metric"].tolist() == ["件数"]
    assert workload["value"].tolist() == [120.0]
    assert workload["period"].tolist() == ["2025"]


def test_non_table_files_are_ignored(basic: Path) -> None:
    write(basic, "README.md", "# notes\n")
    write(basic, "expected_findings.csv", "rule,unit_id\nQ01,U1\n")
    write(basic, "notes.txt", "x")
    ds = load_dataset(basic)
    assert set(ds.tables) == {"units", "roster"}


def test_blank_rows_dropped_and_lines_kept(tmp_path: Path) -> None:
    write(
        tmp_path, "units.csv", "unit_id,name,kind\r\nU1,a,party_gov\r\n\r\n,,\r\nU2,b,party_gov\r\n"
    )
    # A quoted field spanning lines: the next record starts two lines later.
    write(
        tmp_path,
        "roster.csv",
        'person_id,unit_id,category,position\nP1,U1,admin,"科长\n(兼)"\nP2,U2,admin,"a,b"\n',
    )
    ds = load_dataset(tmp_path)
    assert ds.frame("units")["unit_id"].tolist() == ["U1", "U2"]
    assert ds.frame("units")["_row"].tolist() == [2, 5]
    roster = ds.frame("roster")
    assert roster["position"].tolist() == ["科长\n(兼)", "a,b"]
    assert roster["_row"].tolist() == [2, 4]


def test_xlsx_per_table(tmp_path: Path) -> None:
    write_xlsx(
        tmp_path / "units.xlsx",
        {
            "Sheet1": [
                ["某县机构编制台账"],  # a title row above the header
                ["单位代码", "单位名称", "单位类型", "内设机构限额"],
                ["U1", "县委办", "党政机关", 5.0],
                [None, None, None, None],
                ["U2", "县财政局", "party_gov", 3],
            ]
        },
    )
    write_xlsx(
        tmp_path / "roster.xlsx",
        {
            "人员": [
                ["person_id", "unit_id", "category", "birth_date", "id_number", "entry_date"],
                [12, "U1", "admin", dt.datetime(1980, 1, 2), "110101198001010011", 44197],
                ["P2", "U2", "行政编制", "1981年2月3日", None, dt.date(2020, 5, 6)],
            ]
        },
    )
    ds = load_dataset(tmp_path)
    units = ds.frame("units")
    assert units["unit_id"].tolist() == ["U1", "U2"]
    assert units["bodies_limit"].tolist() == [5.0, 3.0]
    assert units["_row"].tolist() == [3, 5]  # sheet rows
    assert units["_file"].tolist() == ["units.xlsx"] * 2
    assert ds.tables["units"].file == "units.xlsx"
    roster = ds.frame("roster")
    assert roster["person_id"].tolist() == ["12", "P2"]  # numeric cell read as "12", not "12.0"
    assert roster["birth_date"].tolist() == [pd.Timestamp("1980-01-02"), pd.Timestamp("1981-02-03")]
    # An Excel serial number in a date column (cell formatted as General).
    assert roster["entry_date"].tolist() == [pd.Timestamp("2021-01-01"), pd.Timestamp("2020-05-06")]
    assert roster["_row"].tolist() == [2, 3]


def test_one_workbook_with_sheets(tmp_path: Path) -> None:
    write_xlsx(
        tmp_path / "county.xlsx",
        {
            "说明": [["本表为测试数据"]],
            "单位": [["unit_id", "name", "kind"], ["U1", "县委办", "party_gov"]],
            "实有人员": [["人员编号", "单位代码", "编制类型"], ["P1", "U1", "行政编制"]],
            "quotas": [["unit_id", "category", "approved"], ["U1", "admin", 3]],
            "领导职数": [["单位代码", "职务层次", "职数"], ["U1", "单位正职", 1]],
        },
    )
    ds = load_dataset(tmp_path)
    assert set(ds.tables) == {"units", "roster", "quotas", "leader_quotas"}
    assert ds.tables["roster"].file == "county.xlsx"
    assert ds.tables["roster"].sheet == "实有人员"
    assert ds.frame("roster")["category"].tolist() == ["admin"]
    assert ds.frame("leader_quotas")["level"].tolist() == ["principal"]
    assert ds.frame("quotas")["approved"].tolist() == [3.0]
    assert ds.frame("quotas")["_row"].tolist() == [2]


SANDING_YAML = """\
unit_id: U1
name: 县委办
quotas:
  - category: admin
    approved: 10
    doc_no: 县编〔2024〕1号
    effective_from: 2024-01-01
  - {编制类型: 工勤编制, 核定数: 2}
leader_quotas:
  - {level: 单位正职, approved: 1}
bodies:
  - body_id: 0012
    name: 办公室
  - {body_id: B2, name: 综合股, approved: 否}
duties:
  - {duty_code: D1, text: 负责全县综合协调, source: sanding}
"""
SANDING_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<sanding unit_id="U2">
  <quotas>
    <quota category="admin" approved="5" doc_no="县编〔2023〕9号" effective_from="2023年6月1日"/>
  </quotas>
  <leader_quotas>
    <leader_quota level="deputy" approved="2"/>
  </leader_quotas>
  <bodies><body body_id="B1" name="办公室" approved="true"/></bodies>
  <duties>
    <duty duty_code="D9" source="sanding">负责财政预算</duty>
  </duties>
</sanding>
"""


def test_sanding_yaml_and_xml_documents(basic: Path) -> None:
    write(basic, "quotas.csv", "unit_id,category,approved\nU3,institution,40\n")
    write(basic, "sanding/U1.yaml", SANDING_YAML)
    write(basic, "sanding/U2.xml", SANDING_XML)
    write(basic, "sanding/README.md", "not a document\n")
    ds = load_dataset(basic)
    quotas = ds.frame("quotas")
    assert ds.tables["quotas"].file == "quotas.csv"
    assert quotas[["unit_id", "category", "approved"]].values.tolist() == [
        ["U3", "institution", 40.0],
        ["U1", "admin", 10.0],
        ["U1", "logistics", 2.0],
        ["U2", "admin", 5.0],
    ]
    assert quotas["_file"].tolist() == [
        "quotas.csv",
        "sanding/U1.yaml",
        "sanding/U1.yaml",
        "sanding/U2.xml",
    ]
    assert quotas["_row"].tolist() == [2, 4, 8, 4]  # CSV line; YAML item line; XML element line
    assert quotas["effective_from"].tolist()[1:] == [
        pd.Timestamp("2024-01-01"),
        pd.NaT,
        pd.Timestamp("2023-06-01"),
    ]
    assert quotas["doc_no"].iat[1] == "县编〔2024〕1号"

    leaders = ds.frame("leader_quotas")
    assert leaders[["unit_id", "level", "approved"]].values.tolist() == [
        ["U1", "principal", 1.0],
        ["U2", "deputy", 2.0],
    ]
    assert ds.tables["leader_quotas"].file == "sanding"

    bodies = ds.frame("bodies")
    assert bodies["body_id"].tolist() == ["0012", "B2", "B1"]  # YAML 0012 is not octal 10
    assert bodies["approved"].tolist() == [True, False, True]  # empty -> True
    assert bodies["_row"].tolist() == [12, 14, 9]

    duties = ds.frame("duties")
    assert duties[["unit_id", "duty_code", "text", "source"]].values.tolist() == [
        ["U1", "D1", "负责全县综合协调", "sanding"],
        ["U2", "D9", "负责财政预算", "sanding"],
    ]


def test_dataset_frame_of_absent_table_raises(basic: Path) -> None:
    ds = load_dataset(basic)
    with pytest.raises(KeyError, match="payroll"):
        ds.frame("payroll")


def test_header_only_and_old_mac_line_ends(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", "unit_id,name,kind\rU1,a,party_gov\rU2,b,party_gov\r")
    write(tmp_path, "roster.csv", "person_id,unit_id,category")
    ds = load_dataset(tmp_path)
    assert ds.frame("units")["_row"].tolist() == [2, 3]
    roster = ds.frame("roster")
    assert len(roster) == 0 and "status" in roster.columns


def test_stray_quote_inside_field_still_loads(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", 'unit_id,name,kind\nU1,5"3 办公室,party_gov\nU2,b,party_gov\n')
    write(tmp_path, "roster.csv", "person_id,unit_id,category\nP1,U2,admin\n")
    units = load_dataset(tmp_path).frame("units")
    assert units["name"].tolist() == ['5"3 办公室', "b"]
    assert units["_row"].tolist() == [2, 3]


def test_sanding_xml_chinese_names(basic: Path) -> None:
    write(
        basic,
        "sanding/U3.xml",
        '<三定 单位代码="U3">\n  <核定编制>\n    <quota 编制类型="事业编制" 核定数="40"/>\n'
        "  </核定编制>\n</三定>\n",
    )
    quotas = load_dataset(basic).frame("quotas")
    assert quotas[["unit_id", "category", "approved", "_row"]].values.tolist() == [
        ["U3", "institution", 40.0, 3]
    ]


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"a,b\n1,2\n", []),
        (b"a,b\r\n1,2\r\n", []),
        (b"a,b\n1,2 3\n", []),
        (b"a,b\n1, 2\n", [1]),
        (b"a,b\n1 ,2\n", [1]),
        (b"a,b\n1,2 \n", [1]),
        (b"a,b\n1,2\n 1,2\n", [2]),
        (b"a,b\n1,2 ", [1]),
        (b"a ,b\n1,2\n", [0]),
        (b"a,b\n1,2\n3,\t4\n5,6\n", [2]),
        (b"a,b\n1,2 \r\n", [1]),
        (b"a,b\n1,2\x0b\n", [1]),
        ("a,b\n1,\u30002\n".encode(), [1]),
        ("a,b\n1,2\u00a0\n".encode(), [1]),
        ("a,b\n1,2\n3,4\u2003\n".encode(), [2]),
        ("a,b\n1,2\n3,\u3001\n".encode(), []),  # an ideographic comma is not a space
        ("a,b\n张三,2\n3,\u3000李四\n".encode("gb18030"), [2]),
        ("a,b\n张三,2\u00a0\n3,4\n".encode("gb18030"), [1]),
        ("a,b\n张三, 2\n“3”,、\n".encode("gb18030"), [1]),
    ],
)
def test_padded_records_finds_every_padded_record(data: bytes, expected: list[int]) -> None:
    from sanding_rules.load.read import _layout, padded_records

    encoding = "utf-8" if _utf8(data) else "gb18030"
    assert padded_records(data, _layout(data).starts, encoding).tolist() == expected


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_padded_records_never_misses_a_field_that_strip_changes(encoding: str) -> None:
    """Random fields made of letters, Chinese, punctuation and every kind of white space that
    str.strip() removes: any record not flagged must have only fields strip() leaves alone."""
    import random

    from sanding_rules.load.read import _layout, padded_records

    spaces = [chr(c) for c in range(0x3001) if chr(c).isspace() and chr(c) not in "\n\r"]
    pieces = ["a", "张", "、", "“", "x y", "Ｘ", *spaces]
    rng = random.Random(7)
    records = [
        [
            "".join(rng.choice(pieces) if rng.random() < 0.15 else "b" for _ in range(4))
            for _ in range(3)
        ]
        for _ in range(3000)
    ]
    data = "\n".join(",".join(r) for r in [["h1", "h2", "h3"], *records]).encode(encoding)
    flagged = set(padded_records(data, _layout(data).starts, encoding).tolist())
    changed = {i + 1 for i, r in enumerate(records) if any(f != f.strip() for f in r)}
    assert changed, "the sample must contain padded fields"
    assert changed <= flagged


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("pad", [" ", "\u3000", "\t", " \u00a0"])
def test_padded_and_unpadded_files_load_alike(tmp_path: Path, encoding: str, pad: str) -> None:
    from sanding_rules.load import load_dataset

    clean = tmp_path / "clean"
    padded = tmp_path / "padded"
    for folder, p in ((clean, ""), (padded, pad)):
        folder.mkdir()
        (folder / "units.csv").write_text(
            f"unit_id,name,kind\nU1,{p}某县审计局{p},party_gov\n", encoding=encoding
        )
        (folder / "roster.csv").write_text(
            f"person_id,unit_id,category,name\nP1,U1,admin,{p}张三{p}\nP2,U1,admin,{p}\n"
            "P3,U1,admin,李四\n",
            encoding=encoding,
        )
    a, b = load_dataset(clean).frame("roster"), load_dataset(padded).frame("roster")
    assert a["name"].tolist()[0] == b["name"].tolist()[0] == "张三"
    assert a["name"].isna().tolist() == b["name"].isna().tolist() == [False, True, False]
    assert load_dataset(padded).frame("units")["name"].tolist() == ["某县审计局"]


def test_gb18030_file_whose_first_64kb_are_ascii(tmp_path: Path) -> None:
    """The parse starts on a guess from the file's head; a GBK name far below it must still
    be read as GBK, not refused or garbled."""
    write(tmp_path, "units.csv", "unit_id,name,kind\nU1,某县审计局,party_gov\n")
    rows = [f"P{i},U1,admin,Zhang{i}" for i in range(4000)]  # about 80 KB of ASCII first
    rows.append("P9999,U1,admin,张三丰")
    write(
        tmp_path, "roster.csv", "person_id,unit_id,category,name\n" + "\n".join(rows) + "\n", "gbk"
    )
    roster = load_dataset(tmp_path).frame("roster")
    assert len(roster) == 4001
    assert roster["name"].iloc[-1] == "张三丰"
    assert roster["_row"].iloc[-1] == 4002


def test_file_that_is_neither_utf8_nor_gb18030_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", "unit_id,name,kind\nU1,x,party_gov\n")
    (tmp_path / "roster.csv").write_bytes(
        b"person_id,unit_id,category\n" + b"P1,U1,admin\n" * 6000 + b"P2,U1,\x81\x20\n"
    )
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert "roster.csv: cannot decode: neither UTF-8 nor GB18030" in str(err.value)


def test_unit_references_padded_and_unknown(tmp_path: Path) -> None:
    """unit_id references are read as categories: a padded spelling is the same unit, an
    unknown one is reported at its row, and the codes kept match the text."""
    write(tmp_path, "units.csv", "unit_id,name,kind\nU1,a,party_gov\nU2,b,party_gov\n")
    write(
        tmp_path,
        "roster.csv",
        "person_id,unit_id,category,work_unit_id\nP1, U1 ,admin,\nP2,U1,admin,U2\nP3,U2,admin,U1 \n",
    )
    ds = load_dataset(tmp_path)
    roster = ds.frame("roster")
    assert roster["unit_id"].tolist() == ["U1", "U1", "U2"]
    assert roster["work_unit_id"].tolist()[1:] == ["U2", "U1"] and pd.isna(
        roster["work_unit_id"][0]
    )
    codes, labels = ds.tables["roster"].coded["unit_id"]
    assert [labels[c] for c in codes] == ["U1", "U1", "U2"]
    write(tmp_path, "roster.csv", "person_id,unit_id,category\nP1,U1,admin\nP2,U9,admin\n")
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert "roster.csv, row 3, column unit_id: unknown unit 'U9': not in units" in str(err.value)


def test_unsorted_duplicate_person_ids_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", "unit_id,name,kind\nU1,a,party_gov\n")
    write(
        tmp_path,
        "roster.csv",
        "person_id,unit_id,category\nP3,U1,admin\nP1,U1,admin\nP2,U1,admin\nP1,U1,admin\n",
    )
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert "row 5" in str(err.value) and "duplicate roster key person_id=P1" in str(err.value)
    assert "(first at roster.csv, row 3)" in str(err.value)


def test_layout_is_the_same_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """_layout reads the bytes block by block, carrying the quote count; records, lines and
    field counts must not depend on where the blocks break, even inside a quoted field."""
    import random

    import numpy as np

    from sanding_rules.load import read

    rng = random.Random(1)
    pieces = [b"a", b",", b"\n", b"\r\n", b'"', b'""', b'"x,y"', b'"two\nlines"', b" ", b'5"3']
    pieces.append("张".encode())
    samples = [b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(800)]
    whole = [read._layout(data) for data in samples]
    monkeypatch.setattr(read, "_BLOCK", 7)
    for data, want in zip(samples, whole, strict=True):
        got = read._layout(data)
        for name in ("starts", "first_line", "fields", "blank"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (name, data)
        assert (got.reliable, got.quoted) == (want.reliable, want.quoted), data
