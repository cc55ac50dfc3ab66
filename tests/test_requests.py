"""Request files: formats, headers, per-request errors, and the `sanding request` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook

from sanding_rules.errors import InputError
from sanding_rules.requests import (
    Request,
    RequestError,
    read_request_file,
    validate_requests,
)
from sanding_rules.requests_cli import request_command

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "fixtures" / "mini"
UNITS = {"M01", "M02", "M04"}


def check(raws) -> list:
    return validate_requests(raws, UNITS)


def test_one_yaml_object(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(
        "request_id: R1\nunit_id: M01\ntype: 进人\ncategory: 行政编制\ncount: 2\ndate: 2026年7月1日\n",
        encoding="utf-8",
    )
    (req,) = check(read_request_file(f))
    assert req == Request("R1", "M01", "hire", "admin", None, 2, req.date, None, req.where)
    assert req.date.isoformat() == "2026-07-01"


def test_a_yaml_list_with_chinese_keys_and_line_numbers(tmp_path: Path) -> None:
    f = tmp_path / "r.yaml"
    f.write_text(
        "- {申请编号: R1, 单位代码: M01, 申请类型: appoint, 职务层次: 单位副职, 申请日期: 2026-07-01}\n"
        "- request_id: R2\n  unit_id: M99\n  type: hire\n  category: admin\n  date: 2026-07-01\n",
        encoding="utf-8",
    )
    first, second = check(read_request_file(f))
    assert first.level == "deputy" and first.count == 1
    assert isinstance(second, RequestError)
    assert second.to_json() == {
        "request_id": "R2",
        "error": f"{f}, item 2, line 2: unknown unit 'M99': not in the dataset's units",
        "location": f"{f}, item 2, line 2",
    }


def test_csv_with_chinese_headers_and_labels(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(
        "申请编号,单位代码,申请类型,编制类型,职务层次,数量,申请日期,理由\n"
        "R1,M01,增编,行政编制,,3,2026/7/1,职能增加\n"
        "R2,M02,增设内设机构,,,,2026-07-01,\n"
        ",,,,,,,\n"
        "R3,M02,hire,admin,,0,2026-07-01,\n",
        encoding="gbk",
    )
    r1, r2, r3 = check(read_request_file(f))
    assert (r1.type, r1.category, r1.count, r1.reason) == ("add_quota", "admin", 3, "职能增加")
    assert (r2.type, r2.count) == ("add_body", 1)
    assert r3.error == "count must be at least 1, got 0"
    assert r3.where == f"{f}, row 5"


def test_xlsx(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["附件：编制事项申请"])
    ws.append(["request_id", "unit_id", "type", "level", "date"])
    ws.append(["R1", "M01", "appoint", "principal", "2026-07-01"])
    f = tmp_path / "r.xlsx"
    wb.save(f)
    (req,) = check(read_request_file(f))
    assert (req.type, req.level) == ("appoint", "principal")
    assert req.where == f"{f}, row 3"


@pytest.mark.parametrize(
    "fields, error",
    [
        ({"unit_id": "M99"}, "unknown unit 'M99'"),
        ({"type": "fire"}, "unknown type 'fire' (accepted: hire (进人)"),
        ({"category": "行政"}, "unknown category '行政'"),
        ({"category": "none"}, "category none (编外) is not a staffing quota"),
        ({"count": 0}, "count must be at least 1, got 0"),
        ({"count": -2}, "count must be at least 1, got -2"),
        ({"count": 1.5}, "count must be a whole number"),
        ({"count": "two"}, "count must be a whole number, got 'two'"),
        ({"count": True}, "count must be a whole number"),
        ({"count": 5000}, "count must be at most 1000"),
        ({"date": None}, "missing field date"),
        ({"date": "2026-13-01"}, "cannot read date '2026-13-01'"),
        ({"unit_id": None}, "missing field unit_id"),
        ({"type": None}, "missing field type"),
        ({"category": None}, "missing field category (a request of type hire needs one)"),
        ({"level": "principal"}, "level does not apply to a request of type hire"),
        ({"unit_id": ["M01"]}, "unit_id must be text, got a list"),
    ],
)
def test_malformed_requests_get_their_own_error(fields: dict, error: str) -> None:
    from sanding_rules.requests import raw_requests

    good = {
        "request_id": "OK",
        "unit_id": "M01",
        "type": "hire",
        "category": "admin",
        "date": "2026-07-01",
    }
    bad = {**good, "request_id": "BAD", **fields}
    ok, err = check(raw_requests([good, bad], "batch.json"))
    assert isinstance(ok, Request)
    assert isinstance(err, RequestError) and err.request_id == "BAD"
    assert error in err.error
    assert err.to_json()["error"].startswith("batch.json, item 2: ")


def test_types_and_their_fields() -> None:
    from sanding_rules.requests import raw_requests

    base = {"unit_id": "M01", "date": "2026-07-01"}
    items = [
        {**base, "request_id": "A", "type": "add_body", "category": "admin"},
        {**base, "request_id": "B", "type": "appoint"},
        {**base, "request_id": "C", "type": "appoint", "level": "无"},
        {**base, "request_id": "D", "type": "配备领导", "level": "内设机构正职"},
        {**base, "request_id": "D", "type": "add_body"},
        {"unit_id": "M01", "type": "add_body", "date": "2026-07-01"},
        "not a mapping",
    ]
    out = check(raw_requests(items, None))
    assert out[0].error == "category does not apply to a request of type add_body"
    assert out[1].error == "missing field level (a request of type appoint needs one)"
    assert out[2].error.startswith("level none")
    assert out[3].level == "body_principal"
    assert out[4].error == "duplicate request_id 'D' (first at item 4)"
    assert out[5].error == "missing field request_id" and out[5].request_id is None
    assert out[6].error == "a request must be a mapping of fields"


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("r.yaml", "- [unclosed", "invalid YAML"),
        ("r.json", "{bad json", "invalid JSON"),
        ("r.json", "[]", "no requests"),
        ("r.json", "42", "expected one request"),
        ("r.csv", "request_id,type,date\nR1,hire,2026-07-01\n", "missing required column unit_id"),
        ("r.txt", "x", "a request file is"),
        ("missing.yaml", None, "cannot read"),
    ],
)
def test_unreadable_request_files_raise(tmp_path: Path, name, content, message) -> None:
    f = tmp_path / name
    if content is not None:
        f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_request_file(f)


# ------------------------------------------------------------------------------ the command


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(request_command, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def batch(tmp_path: Path) -> Path:
    f = tmp_path / "batch.json"
    f.write_text(
        json.dumps(
            [
                {
                    "request_id": "R1",
                    "unit_id": "M01",
                    "type": "hire",
                    "category": "admin",
                    "date": "2026-07-01",
                },
                {
                    "request_id": "R2",
                    "unit_id": "M02",
                    "type": "add_quota",
                    "category": "admin",
                    "date": "2026-07-01",
                },
                {
                    "request_id": "R9",
                    "unit_id": "M99",
                    "type": "hire",
                    "category": "admin",
                    "date": "2026-07-01",
                },
            ]
        ),
        encoding="utf-8",
    )
    return f


def test_command_json_is_the_contract_object(tmp_path: Path) -> None:
    code, out, err = run(
        str(batch(tmp_path)), "--data", str(MINI), "--as-of", "2026-06-30", "--format", "json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [d["request_id"] for d in doc["decisions"]] == ["R1", "R2"]
    for d in doc["decisions"]:
        assert {"request_id", "unit_id", "decision", "reasons"} <= set(d)
        assert d["decision"] in ("reject", "suspend", "review", "priority")
        for r in d["reasons"]:
            assert {"rule", "message", "evidence", "basis"} <= set(r)
    assert doc["decisions"][0]["decision"] == "reject"  # M01 admin is full (5 of 5)
    assert doc["errors"] == [
        {
            "request_id": "R9",
            "error": f"{tmp_path / 'batch.json'}, item 3: unknown unit 'M99': not in the dataset's units",
            "location": f"{tmp_path / 'batch.json'}, item 3",
        }
    ]


def test_command_table_and_english(tmp_path: Path) -> None:
    code, out, _ = run(
        str(batch(tmp_path)), "--data", str(MINI), "--as-of", "2026-06-30", "--lang", "en"
    )
    assert code == 0
    assert "R1  M01" in out and "reject" in out and "basis:" in out
    assert "R9: " in out and "2 decided" in out and "1 errors" in out


def test_command_exit_2_on_input_that_prevents_any_decision(tmp_path: Path) -> None:
    req = batch(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- [", encoding="utf-8")
    code, _, err = run(str(bad), "--data", str(MINI))
    assert code == 2 and "invalid YAML" in err and "bad.yaml" in err
    code, _, err = run(str(req), "--data", str(tmp_path / "nowhere"))
    assert code == 2 and "dataset folder not found" in err
    grades = tmp_path / "g.csv"
    grades.write_text("unit_id,grade\nM01,A\n", encoding="utf-8")
    code, _, err = run(str(req), "--data", str(MINI), "--grades", str(grades))
    assert code == 2 and "missing required column audited_on" in err
    code, _, err = run(str(req), "--data", str(MINI), "--grades", str(grades), "--audit", str(req))
    assert code == 2 and "not both" in err


def test_grades_from_a_real_audit_json(tmp_path: Path) -> None:
    from sanding_rules.cli import main

    county = ROOT / "fixtures" / "county"
    audit = tmp_path / "audit.json"
    res = CliRunner().invoke(
        main,
        ["audit", str(county), "--as-of", "2026-06-30", "--format", "json", "--out", str(audit)],
    )
    assert res.exit_code in (0, 1), res.stderr
    grades = {u["unit_id"]: u["grade"] for u in json.loads(audit.read_text())["units"]}
    req = tmp_path / "r.json"
    units = ["U0001", "U0002", "U0003"]
    req.write_text(
        json.dumps(
            [
                {
                    "request_id": u,
                    "unit_id": u,
                    "type": "appoint",
                    "level": "deputy",
                    "date": "2026-07-01",
                }
                for u in units
            ]
        )
    )
    code, out, err = run(
        str(req),
        "--data",
        str(county),
        "--audit",
        str(audit),
        "--as-of",
        "2026-06-30",
        "--format",
        "json",
    )
    assert code == 0, err
    decided = {d["unit_id"]: d for d in json.loads(out)["decisions"]}
    assert {u: decided[u]["grade"] for u in units} == {u: grades[u] for u in units}
