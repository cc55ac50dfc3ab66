"""Bad input: every problem is collected and names file, row and column; no tracebacks."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from sanding_rules.errors import InputError, Problem
from sanding_rules.load import load_dataset

UNITS = "unit_id,name,kind,parent_id\nU1,县委办,party_gov,\nU2,县财政局,party_gov,U1\n"
ROSTER = "person_id,unit_id,category\nP1,U1,admin\nP2,U2,admin\n"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """Write a file of the dataset (parents created)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def dataset(folder: Path, **files: str) -> Path:
    """A valid units + roster dataset, with files replaced or added by name (dots as __)."""
    contents = {"units.csv": UNITS, "roster.csv": ROSTER}
    contents.update({name.replace("__", "."): text for name, text in files.items()})
    for name, text in contents.items():
        if text is not None:
            write(folder, name, text)
    return folder


def problems(folder: Path) -> list[Problem]:
    """The problems load_dataset raises for a folder (fails if it loads)."""
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert info.value.problems, "InputError without problems"
    return info.value.problems


def only(found: list[Problem], **where: object) -> Problem:
    """The single problem matching all the given attributes."""
    hits = [p for p in found if all(getattr(p, k) == v for k, v in where.items())]
    assert len(hits) == 1, f"expected one problem with {where}, got: {[str(p) for p in found]}"
    return hits[0]


def test_valid_dataset_loads(tmp_path: Path) -> None:
    # Guards the other tests: their baseline is loadable.
    assert len(load_dataset(dataset(tmp_path)).frame("roster")) == 2


def test_missing_required_table(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", UNITS)
    found = problems(tmp_path)
    p = only(found, file="roster.csv")
    assert "required table roster is missing" in p.message


def test_not_a_folder(tmp_path: Path) -> None:
    found = problems(tmp_path / "nowhere")
    assert "not found" in found[0].message


def test_missing_required_column(tmp_path: Path) -> None:
    dataset(tmp_path, roster__csv="person_id,单位代码\nP1,U1\n")
    p = only(found := problems(tmp_path), column="category")
    assert p.file == "roster.csv"
    assert "missing required column category" in p.message and "编制类型" in p.message
    # The column is reported once for the file, not once per row.
    assert len(found) == 1


def test_two_headers_for_one_column(tmp_path: Path) -> None:
    dataset(tmp_path, roster__csv="person_id,unit_id,单位代码,category\nP1,U1,U1,admin\n")
    p = only(problems(tmp_path), file="roster.csv", column="单位代码")
    assert p.row == 1 and "both mean unit_id" in p.message


def test_unknown_code(tmp_path: Path) -> None:
    dataset(tmp_path, roster__csv="person_id,unit_id,编制类型\nP1,U1,admin\nP2,U2,行政\n")
    p = only(problems(tmp_path), file="roster.csv", row=3, column="编制类型")
    assert "'行政'" in p.message
    assert "admin (行政编制)" in p.message and "none (编外)" in p.message  # accepted values


def test_unknown_bool_in_bodies(tmp_path: Path) -> None:
    dataset(tmp_path, bodies__csv="unit_id,body_id,name,approved\nU1,B1,办公室,maybe\n")
    p = only(problems(tmp_path), file="bodies.csv", row=2, column="approved")
    assert "'maybe'" in p.message


def test_duplicate_key_names_both_rows(tmp_path: Path) -> None:
    dataset(
        tmp_path, roster__csv="person_id,unit_id,category\nP1,U1,admin\nP2,U1,admin\nP1,U2,admin\n"
    )
    p = only(problems(tmp_path), file="roster.csv", row=4, column="person_id")
    assert "P1" in p.message and "roster.csv, row 2" in p.message


def test_duplicate_units(tmp_path: Path) -> None:
    dataset(tmp_path, units__csv=UNITS + "U1,again,party_gov,\n")
    p = only(problems(tmp_path), file="units.csv", row=4, column="unit_id")
    assert "row 2" in p.message


def test_quota_keys_with_and_without_effective_from(tmp_path: Path) -> None:
    # Same key, different dates: fine. Same key and date: error. Two undated: error.
    # Codes are compared after mapping, so 行政编制 and admin are the same key.
    dataset(
        tmp_path,
        quotas__csv="unit_id,category,approved,effective_from\n"
        "U1,admin,10,2024-01-01\n"
        "U1,admin,12,2025-01-01\n"
        "U1,行政编制,11,2025年1月1日\n"
        "U2,admin,3,\n"
        "U2,admin,4,\n"
        "U2,logistics,1,\n",
    )
    found = problems(tmp_path)
    dated = only(found, file="quotas.csv", row=4)
    assert "effective_from=2025-01-01" in dated.message and "row 3" in dated.message
    undated = only(found, file="quotas.csv", row=6)
    assert "row 5" in undated.message
    assert len(found) == 2


def test_leader_quota_duplicate_across_file_and_document(tmp_path: Path) -> None:
    dataset(tmp_path, leader_quotas__csv="unit_id,level,approved\nU1,principal,1\n")
    write(
        tmp_path,
        "sanding/U1.yaml",
        "unit_id: U1\nleader_quotas:\n  - {level: 单位正职, approved: 1}\n",
    )
    p = only(problems(tmp_path), file="sanding/U1.yaml", row=3)
    assert "leader_quotas.csv, row 2" in p.message


def test_unparseable_date(tmp_path: Path) -> None:
    dataset(tmp_path, roster__csv="person_id,unit_id,category,出生日期\nP1,U1,admin,1980-02-30\n")
    p = only(problems(tmp_path), file="roster.csv", row=2, column="出生日期")
    assert "'1980-02-30'" in p.message


def test_unparseable_number(tmp_path: Path) -> None:
    dataset(tmp_path, quotas__csv="unit_id,category,核定数\nU1,admin,abc\nU2,admin, 12 \n")
    p = only(problems(tmp_path), file="quotas.csv", row=2, column="核定数")
    assert "not a number" in p.message and "'abc'" in p.message


@pytest.mark.parametrize(("value", "reason"), [("-1", "negative"), ("10.5", "not a whole number")])
def test_impossible_quota(tmp_path: Path, value: str, reason: str) -> None:
    dataset(tmp_path, quotas__csv=f"unit_id,category,approved\nU1,admin,12.0\nU2,admin,{value}\n")
    p = only(problems(tmp_path), file="quotas.csv", row=3, column="approved")
    assert "impossible value" in p.message and reason in p.message


def test_negative_bodies_limit(tmp_path: Path) -> None:
    dataset(
        tmp_path, units__csv="unit_id,name,kind,bodies_limit\nU1,a,party_gov,-2\nU2,b,party_gov,1\n"
    )
    p = only(problems(tmp_path), file="units.csv", row=2, column="bodies_limit")
    assert "negative" in p.message


def test_required_value_empty(tmp_path: Path) -> None:
    dataset(tmp_path, roster__csv="person_id,unit_id,category\nP1,U1,\n")
    p = only(problems(tmp_path), file="roster.csv", row=2, column="category")
    assert "empty" in p.message


def test_unknown_unit_references(tmp_path: Path) -> None:
    dataset(
        tmp_path,
        units__csv=UNITS + "U3,x,party_gov,U404\n",
        roster__csv="person_id,unit_id,category,body_id,实际工作单位代码\n"
        "P1,U9,admin,NOBODY,\nP2,U1,admin,,U8\n",
        quotas__csv="unit_id,category,approved\nU7,admin,1\n",
    )
    found = problems(tmp_path)
    assert "U9" in only(found, file="roster.csv", row=2, column="unit_id").message
    assert "U8" in only(found, file="roster.csv", row=3, column="实际工作单位代码").message
    assert "U7" in only(found, file="quotas.csv", row=2, column="unit_id").message
    assert "U404" in only(found, file="units.csv", row=4, column="parent_id").message
    # An unknown body is rule B02's business, not a load error.
    assert not [p for p in found if p.column == "body_id"]


def test_unknown_unit_in_sanding_document(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(
        tmp_path,
        "sanding/U5.xml",
        '<sanding unit_id="U5">\n<quotas>\n<quota category="admin" approved="1"/>\n</quotas>\n</sanding>\n',
    )
    p = only(problems(tmp_path), file="sanding/U5.xml", row=3, column="unit_id")
    assert "U5" in p.message


def test_problems_collected_across_tables(tmp_path: Path) -> None:
    dataset(
        tmp_path,
        units__csv="unit_id,name,kind\nU1,a,bad\n",
        roster__csv="person_id,unit_id,category\nP1,U1,worse\n",
        quotas__csv="unit_id,category,approved\nU1,admin,x\n",
    )
    files = {p.file for p in problems(tmp_path)}
    assert files == {"units.csv", "roster.csv", "quotas.csv"}


def test_many_bad_rows_are_summarised_and_capped(tmp_path: Path) -> None:
    rows = "".join(f"P{i},U1,bad\n" for i in range(5000))
    dataset(tmp_path, roster__csv="person_id,unit_id,category\n" + rows)
    with pytest.raises(InputError) as info:
        load_dataset(tmp_path)
    found = info.value.problems
    assert len(found) <= 50
    assert [p.row for p in found[:3]] == [2, 3, 4]
    assert any("4995 more rows" in p.message for p in found)


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    dataset(
        tmp_path, roster__csv="person_id,unit_id,category\nP1,U1,admin,extra\nP2,U1\nP3,U1,admin\n"
    )
    found = problems(tmp_path)
    assert "4 fields" in only(found, file="roster.csv", row=2).message
    assert "2 fields" in only(found, file="roster.csv", row=3).message


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_csv(tmp_path: Path, content: bytes) -> None:
    dataset(tmp_path)
    (tmp_path / "roster.csv").write_bytes(content)
    p = only(problems(tmp_path), file="roster.csv")
    assert "empty" in p.message


def test_undecodable_csv(tmp_path: Path) -> None:
    dataset(tmp_path)
    (tmp_path / "roster.csv").write_bytes(b"person_id,unit_id,category\nP1,U1,\x80\xff\xfe\n")
    assert "decode" in only(problems(tmp_path), file="roster.csv").message


def test_corrupt_xlsx(tmp_path: Path) -> None:
    write(tmp_path, "units.csv", UNITS)
    (tmp_path / "roster.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    p = only(problems(tmp_path), file="roster.xlsx")
    assert "cannot read workbook" in p.message


def test_corrupt_unnamed_workbook_is_reported(tmp_path: Path) -> None:
    dataset(tmp_path)
    (tmp_path / "county.xlsx").write_bytes(b"garbage")
    assert only(problems(tmp_path), file="county.xlsx")


def test_table_given_twice(tmp_path: Path) -> None:
    dataset(tmp_path)
    book = openpyxl.Workbook()
    book.active.title = "实有人员"
    book.active.append(["person_id", "unit_id", "category"])
    book.save(tmp_path / "county.xlsx")
    p = only(problems(tmp_path), file="county.xlsx", sheet="实有人员")
    assert "given twice" in p.message and "roster.csv and county.xlsx[实有人员]" in p.message


def test_problem_in_workbook_names_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "单位"
    for row in (["unit_id", "name", "kind"], ["U1", "a", "party_gov"]):
        sheet.append(row)
    roster = book.create_sheet("roster")
    for row in (["person_id", "unit_id", "category"], ["P1", "U1", "admin"], ["P2", "U1", "x"]):
        roster.append(row)
    book.save(tmp_path / "county.xlsx")
    p = only(problems(tmp_path), file="county.xlsx", row=3, column="category")
    assert p.sheet == "roster"


# --- sanding documents ------------------------------------------------------------------


def test_yaml_document_unknown_keys(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(
        tmp_path,
        "sanding/U1.yaml",
        "unit_id: U1\nquotas:\n  - category: admin\n    approved: 3\n    colour: red\nbogus: 1\n",
    )
    found = problems(tmp_path)
    assert "colour" in only(found, file="sanding/U1.yaml", row=5, column="colour").message
    assert "bogus" in only(found, file="sanding/U1.yaml", row=6, column="bogus").message


def test_yaml_document_duplicate_key(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(tmp_path, "sanding/U1.yaml", "unit_id: U1\nquotas: []\nquotas: []\n")
    p = only(problems(tmp_path), file="sanding/U1.yaml")
    assert p.row == 3 and "duplicate key" in p.message


def test_yaml_document_bad_code_located(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(
        tmp_path,
        "sanding/U1.yaml",
        "unit_id: U1\nbodies:\n  - {body_id: B1, name: x, approved: 也许}\n",
    )
    p = only(problems(tmp_path), file="sanding/U1.yaml", row=3, column="approved")
    assert "也许" in p.message


def test_yaml_document_item_may_not_repeat_unit(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(tmp_path, "sanding/U1.yaml", "unit_id: U1\nduties:\n  - {unit_id: U2, duty_code: D1}\n")
    assert only(problems(tmp_path), file="sanding/U1.yaml", row=3, column="unit_id")


def test_document_without_unit_id(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(tmp_path, "sanding/a.yaml", "quotas: []\n")
    write(tmp_path, "sanding/b.xml", "<sanding><quotas/></sanding>")
    found = problems(tmp_path)
    assert only(found, file="sanding/a.yaml", column="unit_id")
    assert only(found, file="sanding/b.xml", column="unit_id")


def test_xml_document_unknown_attribute_and_element(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(
        tmp_path,
        "sanding/U1.xml",
        '<sanding unit_id="U1">\n<quotas>\n<quota category="admin" approved="1" colour="red"/>\n'
        "</quotas>\n<secrets/>\n</sanding>\n",
    )
    found = problems(tmp_path)
    assert only(found, file="sanding/U1.xml", row=3, column="colour")
    assert only(found, file="sanding/U1.xml", row=5, column="secrets")


def test_xml_syntax_error(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(tmp_path, "sanding/U1.xml", '<sanding unit_id="U1">\n<quotas>\n</sanding>\n')
    p = only(problems(tmp_path), file="sanding/U1.xml")
    assert "invalid XML" in p.message and p.row == 3


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<sanding unit_id="U1"><duties><duty duty_code="D1">&lol9;</duty></duties></sanding>
"""


def test_xml_billion_laughs_rejected(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(tmp_path, "sanding/U1.xml", BILLION_LAUGHS)
    found = problems(tmp_path)
    p = only(found, file="sanding/U1.xml")
    assert "DOCTYPE" in p.message and p.row == 2
    assert all(len(str(q)) < 500 for q in found)  # nothing expanded into a message


def test_xml_external_entity_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    folder = dataset(tmp_path / "ds")
    write(
        folder,
        "sanding/U1.xml",
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<sanding unit_id="U1"><duties><duty duty_code="D1">&xxe;</duty></duties></sanding>\n',
    )
    with pytest.raises(InputError) as info:
        load_dataset(folder)
    assert "TOP-SECRET-CONTENT" not in str(info.value)
    only(info.value.problems, file="sanding/U1.xml")


def test_xml_undeclared_entity_rejected(tmp_path: Path) -> None:
    dataset(tmp_path)
    write(
        tmp_path,
        "sanding/U1.xml",
        '<sanding unit_id="U1"><duties><duty duty_code="D1">&x;</duty></duties></sanding>',
    )
    assert only(problems(tmp_path), file="sanding/U1.xml")


def test_xml_doctype_in_utf16_still_rejected(tmp_path: Path) -> None:
    # The byte-level pre-check misses UTF-16; the parsed document's DOCTYPE is checked too.
    dataset(tmp_path)
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY e "boom">]>\n'
        '<sanding unit_id="U1"><duties><duty duty_code="D1">&e;</duty></duties></sanding>\n'
    )
    (tmp_path / "sanding").mkdir()
    (tmp_path / "sanding" / "U1.xml").write_bytes(text.encode("utf-16"))
    p = only(problems(tmp_path), file="sanding/U1.xml")
    assert "DOCTYPE" in p.message
