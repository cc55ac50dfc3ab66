"""Per-unit three-determinations (三定) documents: ``sanding/*.yaml`` and ``sanding/*.xml``.

One document per unit holds that unit's quotas, leader quotas, internal bodies and
duties. Their items become rows of the tables ``quotas``, ``leader_quotas``, ``bodies``
and ``duties`` (``_file`` = ``sanding/NAME.ext``, ``_row`` = the item's line) and are
then checked like rows read from CSV: codes, numbers, dates, duplicate keys (also
against rows of ``quotas.csv`` etc.) and the unit reference.

YAML::

    unit_id: U0001            # required (or 单位代码)
    name: 某某局               # optional, informational (or 单位名称)
    quotas:                   # or 核定编制
      - {category: admin, approved: 10, doc_no: 某编〔2024〕1号, effective_from: 2024-01-01}
    leader_quotas:            # or 领导职数
      - {level: principal, approved: 1}
    bodies:                   # or 内设机构
      - {body_id: B1, name: 办公室, approved: true}
    duties:                   # or 职责
      - {duty_code: D1, text: 负责..., source: sanding}

XML::

    <sanding unit_id="U0001" name="某某局">
      <quotas><quota category="admin" approved="10" doc_no="..." effective_from="2024-01-01"/></quotas>
      <leader_quotas><leader_quota level="principal" approved="1"/></leader_quotas>
      <bodies><body body_id="B1" name="办公室" approved="true"/></bodies>
      <duties><duty duty_code="D1" source="sanding">负责...</duty></duties>
    </sanding>

Item keys (YAML) and attributes (XML) are the table's column names or their Chinese
aliases; codes may be given as Chinese labels. ``unit_id`` comes from the document and
may not be repeated in items. Unknown keys, attributes or elements are errors. Values are
taken as the text written (a YAML ``0012`` stays "0012"). XML with a DOCTYPE or entity
declarations is refused and nothing in it is expanded or fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from lxml import etree

from ..errors import InputError, Problem, ProblemCollector
from ..schema import SANDING_TABLES, TABLES, header_key
from ..yamlutil import load_yaml_text
from .read import RawPart, read_bytes

SANDING_DIR = "sanding"
# Section name (and Chinese alias) -> table; the XML item element of each section.
_SECTIONS = {
    "quotas": "quotas",
    "核定编制": "quotas",
    "leader_quotas": "leader_quotas",
    "领导职数": "leader_quotas",
    "bodies": "bodies",
    "内设机构": "bodies",
    "duties": "duties",
    "职责": "duties",
}
_SECTION_KEYS = {header_key(k): v for k, v in _SECTIONS.items()}
_ITEM_TAGS = {
    "quotas": "quota",
    "leader_quotas": "leader_quota",
    "bodies": "body",
    "duties": "duty",
}
_UNIT_KEYS = {header_key(k) for k in ("unit_id", "单位代码")}
_NAME_KEYS = {header_key(k) for k in ("name", "单位名称")}
_ROOT_TAGS = ("sanding", "三定")
_YAML_NULLS = {"", "~", "null", "Null", "NULL"}


@dataclass
class _Rows:
    """Rows collected for one table across all documents."""

    files: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    values: list[dict[str, str]] = field(default_factory=list)

    def add(self, file: str, line: int, unit_id: str, values: dict[str, str]) -> None:
        self.files.append(file)
        self.lines.append(line)
        self.values.append({"unit_id": unit_id, **values})


def read_sanding_folder(folder: Path, problems: ProblemCollector) -> dict[str, RawPart]:
    """Read every sanding/*.yaml|yml|xml document into one raw part per table."""
    collected = {name: _Rows() for name in SANDING_TABLES}
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "~$")) or not path.is_file():
            continue
        suffix = path.suffix.lower()
        display = f"{SANDING_DIR}/{path.name}"
        if suffix in (".yaml", ".yml"):
            _read_yaml(path, display, collected, problems)
        elif suffix == ".xml":
            _read_xml(path, display, collected, problems)
    parts: dict[str, RawPart] = {}
    for name, rows in collected.items():
        if not rows.values:
            continue
        columns = TABLES[name].column_names
        frame = pd.DataFrame(
            {c: pd.array([v.get(c, "") for v in rows.values], dtype="str") for c in columns}
        )
        frame["_row"] = np.asarray(rows.lines, dtype="int64")
        frame["_file"] = pd.array(rows.files, dtype="str")
        parts[name] = RawPart(SANDING_DIR, None, frame, {c: c for c in columns})
    return parts


# --- YAML -------------------------------------------------------------------------------


def _read_yaml(path: Path, display: str, out: dict[str, _Rows], problems: ProblemCollector) -> None:
    data = read_bytes(path, display, problems)
    if data is None:
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(Problem(file=display, message="not UTF-8 text"))
        return
    try:
        # The strict loader rejects duplicate keys and bad syntax; values are then taken
        # from the node tree so that they stay exactly as written.
        load_yaml_text(text, display)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except InputError as exc:
        for p in exc.problems:
            problems.add(p)
        return
    except yaml.YAMLError as exc:  # pragma: no cover - the strict load fails first
        problems.add(Problem(file=display, message=f"invalid YAML: {exc}"))
        return
    if not isinstance(root, yaml.MappingNode):
        problems.add(Problem(file=display, row=1, message="a sanding document is a mapping"))
        return
    unit_id = None
    sections: list[tuple[str, yaml.Node]] = []
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        hk = header_key(key or "")
        if hk in _UNIT_KEYS:
            unit_id = _scalar(value_node)
        elif hk in _NAME_KEYS:
            continue
        elif hk in _SECTION_KEYS:
            sections.append((_SECTION_KEYS[hk], value_node))
        else:
            problems.add(
                Problem(
                    file=display,
                    row=_line(key_node),
                    column=str(key),
                    message=f"unknown key {key!r} in sanding document (allowed: unit_id, "
                    "name, quotas, leader_quotas, bodies, duties)",
                )
            )
    if not unit_id:
        problems.add(Problem(file=display, row=1, column="unit_id", message="unit_id missing"))
        return
    for table, node in sections:
        _yaml_section(table, node, display, unit_id, out, problems)


def _yaml_section(
    table: str,
    node: yaml.Node,
    display: str,
    unit_id: str,
    out: dict[str, _Rows],
    problems: ProblemCollector,
) -> None:
    if isinstance(node, yaml.ScalarNode) and _scalar(node) is None:
        return
    if not isinstance(node, yaml.SequenceNode):
        problems.add(
            Problem(file=display, row=_line(node), message=f"{table} must be a list of items")
        )
        return
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            problems.add(
                Problem(file=display, row=_line(item), message=f"{table} item must be a mapping")
            )
            continue
        fields: dict[str, tuple[str, int, str]] = {}
        nested = False
        for key_node, value_node in item.value:
            key = str(_scalar(key_node))
            if not isinstance(value_node, yaml.ScalarNode):
                problems.add(
                    Problem(
                        file=display,
                        row=_line(value_node),
                        column=key,
                        message="expected a single value",
                    )
                )
                nested = True
                continue
            fields[key] = (_scalar(value_node) or "", _line(key_node), key)
        values = _item_values(table, fields, display, problems)
        if values is not None and not nested:
            out[table].add(display, _line(item), unit_id, values)


def _scalar(node: yaml.Node) -> str | None:
    """Text of a scalar node as written; None for YAML nulls and non-scalars."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.style is None and node.value in _YAML_NULLS:
        return None
    return node.value


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


# --- shared -----------------------------------------------------------------------------


def _item_values(
    table: str,
    fields: dict[str, tuple[str, int, str]],
    display: str,
    problems: ProblemCollector,
) -> dict[str, str] | None:
    """Map an item's keys to canonical columns; unknown or repeated keys -> problems."""
    schema = TABLES[table]
    values: dict[str, str] = {}
    ok = True
    for key, (value, line, spelled) in fields.items():
        name = schema.match_header(key)
        if name == "unit_id":
            problems.add(
                Problem(
                    file=display,
                    row=line,
                    column=spelled,
                    message="unit_id belongs to the document, not to its items",
                )
            )
            ok = False
        elif name is None:
            allowed = ", ".join(c for c in schema.column_names if c != "unit_id")
            problems.add(
                Problem(
                    file=display,
                    row=line,
                    column=spelled,
                    message=f"unknown key {spelled!r} in a {table} item (allowed: {allowed})",
                )
            )
            ok = False
        elif name in values:
            problems.add(
                Problem(
                    file=display,
                    row=line,
                    column=spelled,
                    message=f"{name} given twice in one item",
                )
            )
            ok = False
        else:
            values[name] = value
    return values if ok else None


# --- XML --------------------------------------------------------------------------------


def _xml_parser() -> etree.XMLParser:
    # Entities stay unexpanded, no DTD or network fetch, no unbounded trees: a document
    # from outside must not make us read local files or exhaust memory.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _read_xml(path: Path, display: str, out: dict[str, _Rows], problems: ProblemCollector) -> None:
    data = read_bytes(path, display, problems)
    if data is None:
        return
    # Refuse DTDs before libxml2 sees them: entity definitions are how XML bombs and
    # external-file reads work, and a sanding document never needs one.
    at = data.find(b"<!DOCTYPE")
    if at >= 0 or b"<!ENTITY" in data:
        problems.add(
            Problem(
                file=display,
                row=data.count(b"\n", 0, at) + 1 if at >= 0 else None,
                message="DOCTYPE and entity declarations are not allowed in sanding documents",
            )
        )
        return
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        problems.add(
            Problem(file=display, row=exc.lineno or None, message=f"invalid XML: {exc.msg}")
        )
        return
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # Reached only when the DOCTYPE is spelled in another encoding (UTF-16).
        problems.add(
            Problem(
                file=display,
                row=1,
                message="DOCTYPE and entity declarations are not allowed in sanding documents",
            )
        )
        return
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        problems.add(
            Problem(
                file=display,
                row=entity.sourceline,
                message=f"entity reference {entity.text} is not allowed",
            )
        )
        return
    if root.tag not in _ROOT_TAGS:
        problems.add(
            Problem(
                file=display,
                row=root.sourceline,
                message=f"root element must be <sanding>, not <{root.tag}>",
            )
        )
        return
    unit_id = None
    for attr, value in root.attrib.items():
        hk = header_key(str(attr))
        if hk in _UNIT_KEYS:
            unit_id = value.strip()
        elif hk not in _NAME_KEYS:
            _unknown(display, root.sourceline, str(attr), "attribute of <sanding>", problems)
    if not unit_id:
        problems.add(
            Problem(
                file=display,
                row=root.sourceline,
                column="unit_id",
                message="unit_id attribute missing on <sanding>",
            )
        )
        return
    _no_text(root, display, problems)
    for section in root:
        table = _SECTION_KEYS.get(header_key(str(section.tag)))
        if table is None:
            _unknown(display, section.sourceline, str(section.tag), "element", problems)
            continue
        _no_text(section, display, problems)
        for item in section:
            if item.tag != _ITEM_TAGS[table]:
                _unknown(
                    display,
                    item.sourceline,
                    str(item.tag),
                    f"element in <{section.tag}> (expected <{_ITEM_TAGS[table]}>)",
                    problems,
                )
                continue
            _xml_item(table, item, display, unit_id, out, problems)


def _xml_item(
    table: str,
    item: etree._Element,
    display: str,
    unit_id: str,
    out: dict[str, _Rows],
    problems: ProblemCollector,
) -> None:
    line = item.sourceline
    fields = {str(k): (v, line, str(k)) for k, v in item.attrib.items()}
    ok = True
    for child in item:
        ok = _unknown(display, child.sourceline, str(child.tag), "element", problems)
    text = (item.text or "").strip()
    if table == "duties" and text:
        if any(TABLES["duties"].match_header(k) == "text" for k in fields):
            problems.add(
                Problem(
                    file=display,
                    row=line,
                    column="text",
                    message="duty text given both as attribute and as content",
                )
            )
            return
        fields["text"] = (text, line, "text")
    elif text:
        problems.add(
            Problem(file=display, row=line, message=f"unexpected text in <{item.tag}>: {text!r}")
        )
        ok = False
    values = _item_values(table, fields, display, problems)
    if values is not None and ok:
        out[table].add(display, line, unit_id, values)


def _no_text(element: etree._Element, display: str, problems: ProblemCollector) -> bool:
    texts = [element.text] + [child.tail for child in element]
    stray = next((t.strip() for t in texts if t and t.strip()), None)
    if stray is None:
        return True
    problems.add(
        Problem(
            file=display,
            row=element.sourceline,
            message=f"unexpected text in <{element.tag}>: {stray!r}",
        )
    )
    return False


def _unknown(
    display: str, line: int | None, name: str, what: str, problems: ProblemCollector
) -> bool:
    problems.add(Problem(file=display, row=line, column=name, message=f"unknown {what} {name!r}"))
    return False
