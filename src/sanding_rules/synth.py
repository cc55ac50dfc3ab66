"""Deterministic synthetic staffing datasets (三定 audits) for tests and benchmarks.

`generate()` builds county-style units with quotas, leader quotas, internal
bodies, duties, a roster, payroll, workload and movements, plus the evaluation
model's inputs (given indicator scores and a satisfaction survey), all in
canonical English columns and codes (data contract v1). Most units are clean; a
controlled fraction carries planted violations of every Q, L, B and P rule,
including the edge cases at each threshold, listed in `SynthDataset.planted`.
`write()` saves a dataset as CSV (UTF-8, UTF-8 with BOM, or GB18030 with
Chinese headers and labels), one .xlsx per table, or one workbook.

Everything is synthetic: names are drawn from common characters and ID
numbers are made up (with valid check digits unless planted otherwise).
People are built as numpy columns, so 50,000 units (1.6 million people)
take well under a minute.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sanding_rules import idnumber

TABLES = (
    "units",
    "quotas",
    "leader_quotas",
    "bodies",
    "duties",
    "roster",
    "payroll",
    "workload",
    "movements",
    "scores",
    "survey",
)
STYLES = ("csv", "csv-gbk-zh", "xlsx", "workbook", "csv-bom")
WORKBOOK_NAME = "dataset.xlsx"

CATEGORIES = ("admin", "civil_ref", "institution", "logistics", "legal", "none")
LEVELS = ("none", "principal", "deputy", "body_principal", "body_deputy")
POST_TYPES = ("management", "professional", "worker")
STATUSES = ("on_post", "seconded_out", "long_leave", "retired", "left")
_CAT = {c: i for i, c in enumerate(CATEGORIES)}
_ADMIN, _CIVIL_REF, _INSTITUTION, _LOGISTICS, _LEGAL, _NONE = range(6)
_LEAD_NONE, _PRINCIPAL, _DEPUTY, _BODY_PRINCIPAL, _BODY_DEPUTY = range(5)
_MGMT, _PROF, _WORKER = range(3)
_ON_POST, _SECONDED, _LONG_LEAVE, _RETIRED, _LEFT = range(5)
_NAT = np.iinfo(np.int64).min  # numpy's NaT as an int64 day count

# ---------------------------------------------------------------- Chinese forms

ZH_HEADERS: dict[str, dict[str, str]] = {
    "units": {
        "unit_id": "单位代码",
        "name": "单位名称",
        "kind": "单位类型",
        "parent_id": "主管单位代码",
        "rank": "机构规格",
        "funding": "经费形式",
        "bodies_limit": "内设机构限额",
        "status": "单位状态",
        "region": "所属地区",
    },
    "quotas": {
        "unit_id": "单位代码",
        "category": "编制类型",
        "approved": "核定数",
        "doc_no": "文号",
        "effective_from": "生效日期",
    },
    # The contract names no aliases for doc_no/effective_from here; these mirror quotas.
    "leader_quotas": {
        "unit_id": "单位代码",
        "level": "职务层次",
        "approved": "核定数",
        "doc_no": "文号",
        "effective_from": "生效日期",
    },
    "bodies": {
        "unit_id": "单位代码",
        "body_id": "内设机构代码",
        "name": "内设机构名称",
        "approved": "是否核定",
    },
    "duties": {
        "unit_id": "单位代码",
        "duty_code": "职责代码",
        "text": "职责内容",
        "source": "来源",
    },
    "roster": {
        "person_id": "人员编号",
        "unit_id": "单位代码",
        "category": "编制类型",
        "name": "姓名",
        "id_number": "身份证号",
        "gender": "性别",
        "birth_date": "出生日期",
        "leadership": "领导职务层次",
        "body_id": "所在机构",
        "position": "职务",
        "post_type": "岗位类别",
        "status": "人员状态",
        "status_since": "状态起始日期",
        "work_unit_id": "实际工作单位代码",
        "entry_date": "入编时间",
    },
    "payroll": {
        "person_id": "人员编号",
        "unit_id": "单位代码",
        "id_number": "身份证号",
        "period": "发放月份",
        "amount": "金额",
    },
    "workload": {
        "unit_id": "单位代码",
        "duty_code": "职责代码",
        "metric": "指标",
        "value": "数值",
        "period": "年度",
    },
    "movements": {
        "person_id": "人员编号",
        "unit_id": "单位代码",
        "direction": "方向",
        "date": "日期",
        "category": "编制类型",
    },
    "scores": {"unit_id": "单位代码", "indicator": "指标", "value": "得分", "note": "备注"},
    "survey": {
        "respondent_id": "答卷编号",
        "unit_id": "单位代码",
        "item_id": "题目编号",
        "score": "得分",
        "respondent_group": "答卷人类别",
        "reverse": "反向计分",
    },
}

_KIND_ZH = {"party_gov": "党政机关", "civil_ref": "参公事业单位", "institution": "事业单位"}
_CATEGORY_ZH = {
    "admin": "行政编制",
    "civil_ref": "参公事业编制",
    "institution": "事业编制",
    "logistics": "工勤编制",
    "legal": "政法专项编制",
    "none": "编外",
}
_LEVEL_ZH = {
    "principal": "单位正职",
    "deputy": "单位副职",
    "body_principal": "内设机构正职",
    "body_deputy": "内设机构副职",
    "none": "无",
}
ZH_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "units": {
        "kind": _KIND_ZH,
        "funding": {"full": "全额拨款", "partial": "差额拨款", "self": "自收自支"},
        "status": {"active": "正常", "abolished": "已撤销", "merged": "已合并"},
    },
    "quotas": {"category": _CATEGORY_ZH},
    "leader_quotas": {"level": _LEVEL_ZH},
    "bodies": {"approved": {"true": "是", "false": "否"}},
    "roster": {
        "category": _CATEGORY_ZH,
        "gender": {"M": "男", "F": "女"},
        "leadership": _LEVEL_ZH,
        "post_type": {
            "management": "管理岗位",
            "professional": "专业技术岗位",
            "worker": "工勤技能岗位",
        },
        "status": {
            "on_post": "在岗",
            "seconded_out": "借调外单位",
            "long_leave": "长期离岗",
            "retired": "已退休",
            "left": "已调离",
        },
    },
    "movements": {"direction": {"in": "进", "out": "出"}, "category": _CATEGORY_ZH},
    "survey": {"reverse": {"true": "是", "false": "否"}},
}
# Which date columns a Chinese export writes the Chinese way, and how.
_ZH_DATES = {
    "roster": {"birth_date": "ymd", "entry_date": "ymd", "status_since": "slash"},
    "quotas": {"effective_from": "ymd"},
    "leader_quotas": {"effective_from": "ymd"},
}

# ---------------------------------------------------------------- unit templates


@dataclass(frozen=True)
class _Template:
    name: str  # "{c}" is the county, "{t}" the town, "{n}" an ordinal
    kind: str
    cls: str
    weight: float  # relative headcount
    title: str  # principal's title; deputies are 副 + title
    rank: str = "正科级"
    funding: str = "full"
    parent: str | None = None  # name pattern of the parent unit
    nb: int = 4  # how many internal bodies it would like
    legal: bool = False  # main category is legal (政法专项编制)
    log_p: float = 0.7  # chance it has logistics (工勤) staff


_PG, _CR, _IN = "party_gov", "civil_ref", "institution"
_COUNTY_TEMPLATES: tuple[_Template, ...] = (
    _Template("中共{c}委员会办公室", _PG, "party", 1.2, "主任", nb=5),
    _Template("{c}人大常委会办公室", _PG, "party", 0.8, "主任", nb=4),
    _Template("{c}人民政府办公室", _PG, "party", 1.2, "主任", nb=5),
    _Template("政协{c}委员会办公室", _PG, "party", 0.7, "主任", nb=3),
    _Template("中共{c}纪律检查委员会", _PG, "party", 1.5, "书记", nb=6),
    _Template("中共{c}委组织部", _PG, "party", 1.0, "部长", nb=5),
    _Template("中共{c}委宣传部", _PG, "party", 0.8, "部长", nb=4),
    _Template("中共{c}委统一战线工作部", _PG, "party", 0.6, "部长", nb=3),
    _Template("中共{c}委政法委员会", _PG, "party", 0.6, "书记", nb=3),
    _Template("中共{c}委机构编制委员会办公室", _PG, "party", 0.4, "主任", nb=3),
    _Template("{c}发展和改革局", _PG, "bureau", 1.0, "局长", nb=6),
    _Template("{c}教育局", _PG, "bureau", 1.0, "局长", nb=6),
    _Template("{c}科学技术局", _PG, "bureau", 0.5, "局长", nb=3),
    _Template("{c}经济和信息化局", _PG, "bureau", 0.7, "局长", nb=4),
    _Template("{c}公安局", _PG, "police", 8.0, "局长", nb=8, legal=True),
    _Template("{c}民政局", _PG, "bureau", 0.7, "局长", nb=4),
    _Template("{c}司法局", _PG, "bureau", 1.0, "局长", nb=5, legal=True),
    _Template("{c}财政局", _PG, "bureau", 1.2, "局长", nb=7),
    _Template("{c}人力资源和社会保障局", _PG, "bureau", 1.0, "局长", nb=6),
    _Template("{c}自然资源和规划局", _PG, "bureau", 1.2, "局长", nb=6),
    _Template("{c}住房和城乡建设局", _PG, "bureau", 0.9, "局长", nb=5),
    _Template("{c}交通运输局", _PG, "bureau", 0.8, "局长", nb=5),
    _Template("{c}水利局", _PG, "bureau", 0.7, "局长", nb=4),
    _Template("{c}农业农村局", _PG, "bureau", 1.0, "局长", nb=6),
    _Template("{c}商务局", _PG, "bureau", 0.5, "局长", nb=3),
    _Template("{c}文化和广电旅游体育局", _PG, "bureau", 0.8, "局长", nb=5),
    _Template("{c}卫生健康局", _PG, "bureau", 0.9, "局长", nb=5),
    _Template("{c}退役军人事务局", _PG, "bureau", 0.5, "局长", nb=3),
    _Template("{c}应急管理局", _PG, "bureau", 0.7, "局长", nb=4),
    _Template("{c}审计局", _PG, "bureau", 0.6, "局长", nb=4),
    _Template("{c}市场监督管理局", _PG, "bureau", 2.0, "局长", nb=7),
    _Template("{c}统计局", _PG, "bureau", 0.5, "局长", nb=3),
    _Template("{c}医疗保障局", _PG, "bureau", 0.5, "局长", nb=3),
    _Template("{c}信访局", _PG, "bureau", 0.4, "局长", nb=3),
    _Template("{c}人民法院", _PG, "court", 3.0, "院长", nb=8, legal=True),
    _Template("{c}人民检察院", _PG, "procuratorate", 2.0, "检察长", nb=7, legal=True),
    _Template("{c}总工会", _PG, "mass", 0.4, "主席", nb=3),
    _Template("共青团{c}委员会", _PG, "mass", 0.2, "书记", nb=0, log_p=0.0),
    _Template("{c}妇女联合会", _PG, "mass", 0.2, "主席", nb=0, log_p=0.0),
    _Template("{c}科学技术协会", _PG, "mass", 0.2, "主席", nb=0, log_p=0.0),
    _Template("{c}残疾人联合会", _PG, "mass", 0.3, "理事长", nb=2),
    _Template("{c}工商业联合会", _PG, "mass", 0.2, "主席", nb=0, log_p=0.0),
    _Template("中共{c}委党校", _CR, "civil_ref", 0.8, "常务副校长", nb=3),
    _Template("{c}档案馆", _CR, "civil_ref", 0.5, "馆长", parent="中共{c}委员会办公室", nb=3),
    _Template(
        "{c}机关事务服务中心", _CR, "civil_ref", 0.9, "主任", parent="{c}人民政府办公室", nb=4
    ),
    _Template("{c}供销合作社联合社", _CR, "civil_ref", 0.4, "主任", nb=3),
    _Template(
        "{c}市场监管综合行政执法队", _CR, "enforce", 1.5, "队长", parent="{c}市场监督管理局", nb=4
    ),
    _Template(
        "{c}农业农村综合行政执法队", _CR, "enforce", 0.8, "队长", parent="{c}农业农村局", nb=3
    ),
    _Template(
        "{c}文化市场综合行政执法队",
        _CR,
        "enforce",
        0.5,
        "队长",
        parent="{c}文化和广电旅游体育局",
        nb=2,
    ),
    _Template(
        "{c}交通运输综合行政执法队", _CR, "enforce", 0.9, "队长", parent="{c}交通运输局", nb=3
    ),
    _Template(
        "{c}人民医院", _IN, "hospital", 14.0, "院长", "副处级", "partial", "{c}卫生健康局", 9
    ),
    _Template("{c}中医院", _IN, "hospital", 7.0, "院长", "正科级", "partial", "{c}卫生健康局", 8),
    _Template(
        "{c}妇幼保健院", _IN, "hospital", 3.0, "院长", "正科级", "partial", "{c}卫生健康局", 6
    ),
    _Template(
        "{c}疾病预防控制中心", _IN, "inst", 2.0, "主任", "正科级", "full", "{c}卫生健康局", 6
    ),
    _Template("{c}第一中学", _IN, "school", 5.0, "校长", "正科级", "full", "{c}教育局", 5),
    _Template("{c}第二中学", _IN, "school", 4.0, "校长", "副科级", "full", "{c}教育局", 4),
    _Template("{c}职业技术学校", _IN, "school", 3.0, "校长", "副科级", "full", "{c}教育局", 4),
    _Template("{c}实验小学", _IN, "school", 3.0, "校长", "副科级", "full", "{c}教育局", 4),
    _Template("{c}实验幼儿园", _IN, "school", 1.2, "园长", "股级", "full", "{c}教育局", 2),
    _Template("{c}融媒体中心", _IN, "inst", 2.0, "主任", "正科级", "partial", "中共{c}委宣传部", 5),
    _Template("{c}图书馆", _IN, "inst", 0.5, "馆长", "股级", "full", "{c}文化和广电旅游体育局", 2),
    _Template("{c}文化馆", _IN, "inst", 0.5, "馆长", "股级", "full", "{c}文化和广电旅游体育局", 2),
    _Template("{c}博物馆", _IN, "inst", 0.4, "馆长", "股级", "full", "{c}文化和广电旅游体育局", 2),
    _Template(
        "{c}农业技术推广中心", _IN, "inst", 1.2, "主任", "副科级", "full", "{c}农业农村局", 4
    ),
    _Template(
        "{c}林业技术推广站", _IN, "inst", 0.5, "站长", "股级", "full", "{c}自然资源和规划局", 2
    ),
    _Template("{c}水利工程管理站", _IN, "inst", 0.6, "站长", "股级", "full", "{c}水利局", 3),
    _Template(
        "{c}公共资源交易中心", _IN, "inst", 0.5, "主任", "副科级", "full", "{c}人民政府办公室", 3
    ),
    _Template(
        "{c}不动产登记中心", _IN, "inst", 0.6, "主任", "股级", "full", "{c}自然资源和规划局", 3
    ),
    _Template(
        "{c}综合检验检测中心", _IN, "inst", 0.7, "主任", "股级", "partial", "{c}市场监督管理局", 3
    ),
    _Template(
        "{c}政务服务中心", _IN, "inst", 0.6, "主任", "副科级", "full", "{c}人民政府办公室", 3
    ),
    _Template(
        "{c}城市管理服务中心", _IN, "inst", 1.0, "主任", "股级", "full", "{c}住房和城乡建设局", 3
    ),
    _Template("{c}殡仪馆", _IN, "inst", 0.3, "馆长", "股级", "self", "{c}民政局", 0),
    _Template("{c}社会福利院", _IN, "inst", 0.4, "院长", "股级", "full", "{c}民政局", 0),
)
_TOWN_TEMPLATES: tuple[_Template, ...] = (
    _Template("{t}人民政府", _PG, "town", 1.6, "镇长", nb=6),
    _Template(
        "{t}社会事务综合服务中心", _IN, "town_inst", 0.3, "主任", "股级", parent="{t}人民政府", nb=0
    ),
    _Template(
        "{t}农业农村综合服务中心", _IN, "town_inst", 0.3, "主任", "股级", parent="{t}人民政府", nb=0
    ),
    _Template("{t}卫生院", _IN, "hospital", 1.2, "院长", "股级", "partial", "{c}卫生健康局", 3),
    _Template("{t}中心小学", _IN, "school", 1.2, "校长", "股级", "full", "{c}教育局", 2),
    _Template("{t}初级中学", _IN, "school", 1.3, "校长", "股级", "full", "{c}教育局", 3),
    _Template("{t}中心幼儿园", _IN, "school", 0.4, "园长", "股级", "full", "{c}教育局", 0),
    _Template("{t}综合行政执法队", _CR, "enforce", 0.5, "队长", "股级", parent="{t}人民政府", nb=2),
    _Template("{t}党群服务中心", _IN, "town_inst", 0.2, "主任", "股级", parent="{t}人民政府", nb=0),
    _Template(
        "{t}便民服务中心", _IN, "town_inst", 0.25, "主任", "股级", parent="{t}人民政府", nb=0
    ),
    _Template("{t}文化站", _IN, "town_inst", 0.12, "站长", "股级", parent="{t}人民政府", nb=0),
    _Template(
        "{t}退役军人服务站", _IN, "town_inst", 0.1, "站长", "股级", parent="{t}人民政府", nb=0
    ),
)
# Town units a town may lack, and how likely it lacks them.
_TOWN_OPTIONAL = {5: 0.5, 6: 0.3, 10: 0.2}
_FILLERS: tuple[_Template, ...] = (
    _Template("{c}第{n}小学", _IN, "school", 1.5, "校长", "股级", "full", "{c}教育局", 3),
    _Template("{c}第{n}幼儿园", _IN, "school", 0.6, "园长", "股级", "full", "{c}教育局", 0),
    _Template("{c}第{n}中学", _IN, "school", 2.5, "校长", "股级", "full", "{c}教育局", 3),
)

_BODY_NAMES = {
    "party": ("办公室", "综合室", "调研室", "督查室", "信息室", "干部室", "组织室", "宣传室"),
    "bureau": (
        "办公室",
        "综合股",
        "政策法规股",
        "计划财务股",
        "人事教育股",
        "行政审批服务股",
        "监督检查股",
        "规划发展股",
    ),
    "police": (
        "办公室",
        "政治处",
        "指挥中心",
        "治安管理大队",
        "刑事侦查大队",
        "交通警察大队",
        "经济犯罪侦查大队",
        "法制大队",
    ),
    "court": (
        "办公室",
        "政治部",
        "立案庭",
        "刑事审判庭",
        "民事审判庭",
        "行政审判庭",
        "执行局",
        "审判管理办公室",
    ),
    "procuratorate": (
        "办公室",
        "政治部",
        "第一检察部",
        "第二检察部",
        "第三检察部",
        "第四检察部",
        "检务保障部",
    ),
    "mass": ("办公室", "组织宣传部", "权益保障部"),
    "town": (
        "党政综合办公室",
        "党建工作办公室",
        "经济发展办公室",
        "社会事务办公室",
        "平安建设办公室",
        "自然资源和生态环境办公室",
    ),
    "civil_ref": ("办公室", "综合科", "业务科", "财务科"),
    "enforce": ("办公室", "法制审核科", "执法一中队", "执法二中队"),
    "hospital": (
        "院办公室",
        "医务科",
        "护理部",
        "财务科",
        "人事科",
        "信息科",
        "质量控制科",
        "后勤保障科",
        "药剂科",
    ),
    "school": ("办公室", "教务处", "政教处", "总务处", "教科室"),
    "inst": ("办公室", "综合科", "业务一科", "业务二科", "技术服务科", "财务科"),
    "town_inst": ("办公室", "业务科"),
}
_BODY_TITLE = {
    "party": "主任",
    "bureau": "股长",
    "police": "大队长",
    "court": "庭长",
    "procuratorate": "主任",
    "mass": "部长",
    "town": "主任",
    "civil_ref": "科长",
    "enforce": "科长",
    "hospital": "科主任",
    "school": "主任",
    "inst": "科长",
    "town_inst": "科长",
}
_MALE_SHARE = {
    "party": 0.6,
    "bureau": 0.6,
    "police": 0.82,
    "court": 0.55,
    "procuratorate": 0.55,
    "mass": 0.4,
    "town": 0.66,
    "civil_ref": 0.55,
    "enforce": 0.75,
    "hospital": 0.3,
    "school": 0.32,
    "inst": 0.5,
    "town_inst": 0.55,
}
# Shares of (management, professional, worker) among staff with an institution category.
_INST_POSTS = {
    "hospital": (0.10, 0.85, 0.05),
    "school": (0.07, 0.90, 0.03),
    "inst": (0.42, 0.50, 0.08),
    "town_inst": (0.55, 0.40, 0.05),
}
_POSITIONS = {
    "mgmt": ("一级科员", "二级科员", "四级主任科员", "三级主任科员", "二级主任科员", "科员"),
    "mgmt_inst": ("七级职员", "八级职员", "九级职员", "干事"),
    "prof_hospital": ("医师", "主治医师", "副主任医师", "护士", "护师", "主管护师", "药师", "技师"),
    "prof_school": ("教师", "二级教师", "一级教师", "高级教师"),
    "prof_other": ("技术员", "助理工程师", "工程师", "高级工程师", "馆员", "农艺师"),
    "worker": ("驾驶员", "技术工人", "后勤服务员", "工勤技能岗"),
    "legal_police": ("一级警长", "二级警长", "三级警长", "一级警员", "二级警员"),
    "legal_court": ("法官", "法官助理", "书记员"),
    "legal_procuratorate": ("检察官", "检察官助理", "书记员"),
    "legal_other": ("司法助理员", "一级科员", "四级主任科员"),
    "none": ("聘用人员", "辅助人员", "协管员", "劳务派遣人员"),
}

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
_MALE_CHARS = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欣晨志建国东文博海峰亮成"
_FEMALE_CHARS = "芳娜敏静丽艳娟霞秀玲桂英华红梅琳燕萍雪婷慧莉兰倩晶颖洁琴云凤玉佳欣悦怡雯婧蕾"
_PLACE_FIRST = "青安临云清宁永平长泰丰兴和新东西南北金石龙凤白双三太高定洪"
_PLACE_SECOND = "溪川江阳源山河宁丰城平安林湖桥岭泉田塘港坪口"
_DIGITS_ZH = "零一二三四五六七八九"

# ---------------------------------------------------------------- the dataset


@dataclass
class SynthDataset:
    """Canonical tables of one synthetic dataset plus the violations planted in it."""

    units: pd.DataFrame
    quotas: pd.DataFrame
    leader_quotas: pd.DataFrame
    bodies: pd.DataFrame
    duties: pd.DataFrame
    roster: pd.DataFrame
    payroll: pd.DataFrame
    workload: pd.DataFrame
    movements: pd.DataFrame
    # Inputs of the evaluation model: given indicator scores and satisfaction survey answers.
    scores: pd.DataFrame
    survey: pd.DataFrame
    # One row per planted case: scenario, rule, unit_id, subject, expect (a finding
    # is due when True; False marks an edge case that must stay quiet), note.
    planted: pd.DataFrame
    as_of: date
    seed: int
    meta: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The data tables by name, in contract order."""
        return {name: getattr(self, name) for name in TABLES}


# ---------------------------------------------------------------- helpers


def _zh_number(n: int) -> str:
    """Chinese numeral for 1..99 (三, 十二, 二十)."""
    if n < 10:
        return _DIGITS_ZH[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _DIGITS_ZH[tens]
    return head + "十" + (_DIGITS_ZH[ones] if ones else "")


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def retirement_month_index(birth_month: int, male: bool, worker: bool, as_of: date) -> int:
    """Month index (year*12 + month-1) from which a person is over the statutory age."""
    if as_of < date(2025, 1, 1):
        base = 60 if male else (50 if worker else 55)
        return birth_month + base * 12
    if male:
        base, first, cap, step = 60, 1965 * 12, 36, 4
    elif worker:
        base, first, cap, step = 50, 1975 * 12, 60, 2
    else:
        base, first, cap, step = 55, 1970 * 12, 36, 4
    k = birth_month - first
    extra = min(cap, k // step + 1) if k >= 0 else 0
    return birth_month + base * 12 + extra


def _retirement_births(as_of: date, male: bool, worker: bool) -> tuple[int, int]:
    """Birth months whose retirement month is the as-of month (or the latest before) and the first after."""
    target = _month_index(as_of)
    months = range(target - 80 * 12, target - 40 * 12)
    retire = {b: retirement_month_index(b, male, worker, as_of) for b in months}
    due = [b for b in months if retire[b] <= target]
    exact = [b for b in due if retire[b] == target]
    later = [b for b in months if retire[b] > target]
    return (max(exact) if exact else max(due)), min(later)


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _month_to_day(month_index: int, day: int = 15) -> int:
    return _day(date(month_index // 12, month_index % 12 + 1, day))


def _fmt_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded ids like U0001 for an int array, without a Python loop."""
    numbers = np.asarray(numbers, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = ((numbers[:, None] // powers) % 10 + 48).astype(np.uint8)
    text = digits.view(f"S{width}").ravel().astype(f"U{width}")
    return np.char.add(prefix, text)


def _days_to_series(days: np.ndarray) -> pd.Series:
    return pd.Series(
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    )


# ---------------------------------------------------------------- builder


class _Builder:
    """Holds the unit plan, then the people, while scenarios edit them."""

    def __init__(
        self, n_units: int, seed: int, people_per_unit: float, violation_rate: float, as_of: date
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n_units
        self.seed = seed
        self.ppu = people_per_unit
        self.rate = violation_rate
        self.as_of = as_of
        self.today = _day(as_of)
        self.planted: list[tuple[str, str, int, str, bool, str]] = []
        self.person_plants: list[tuple[str, str, int, int, bool, str]] = []
        self.quota_history: list[tuple[int, int, int, int, str]] = []
        self.leader_history: list[tuple[int, int, int, int, str]] = []
        self.extra_bodies: list[tuple[int, str, str, bool, bool]] = []
        self.skipped: list[str] = []
        self.birth_blank: set[int] = set()
        self.used: set[int] = set()
        self.ghost_pay: list[tuple[str, int, int]] = []  # person_id, paying unit, months
        self.admin_duty: list[int] = []
        self.admin_set: set[int] = set()
        # F and D plants: placed after the Q/L/B/P ones, from their own random stream,
        # touching only payroll, duties, workload, unit status and the rows of shells.
        self.fd_rng = np.random.default_rng([seed, 0xFD])
        self.pay_unit: dict[int, int] = {}  # roster row -> the unit paying it instead
        self.pay_also: list[tuple[int, int]] = []  # (roster row, unit) extra payroll rows
        self.extra_duties: list[tuple[int, str, str, str | None]] = []
        self.extra_codes: dict[int, list[str]] = {}
        self.wl_spec: dict[tuple[int, str], tuple] = {}
        self.wl_extra: list[tuple[int, str, int]] = []  # workload rows of units without people
        self.zero_rows: list[tuple[int, str, str]] = []  # (unit, code, scenario) reported as 0
        self.fd_units: set[int] = set()  # units an F/D scenario owns
        self.fd_excl: set[int] = set()  # shells and zero-workload units: nothing else there
        self.fd_rows: set[int] = set()
        self.fd_touched: set[int] = set()
        self.group_n: dict[str, int] = {}  # duty_code -> units with workload and people
        self.group_ends: dict[str, list[int]] = {}  # duty_code -> [planted lows, highs]
        self.assigned = 0
        self.d01_codes: set[str] = set()

    # ------------------------------------------------------------ units

    def build_units(self) -> None:
        rng = self.rng
        # (template, name, parent name, county index, duty-code prefix, region)
        rows: list[tuple[_Template, str, str | None, int, str, str]] = []
        counties: list[tuple[str, int]] = []
        names = [a + b for a in _PLACE_FIRST for b in _PLACE_SECOND if a != b]
        order = rng.permutation(len(names))
        county_names = [names[i] for i in order]
        town_pool = [names[i] for i in rng.permutation(len(names))]
        provinces = (33, 32, 34, 35, 36, 37, 41, 42, 43, 44, 45, 51, 52, 53)
        while len(rows) < self.n:
            ci = len(counties)
            remaining = self.n - len(rows)
            target = remaining if remaining <= 450 else int(rng.integers(280, 420))
            county = county_names[ci % len(county_names)] + "县"
            if ci >= len(county_names):
                county = (
                    county_names[ci % len(county_names)]
                    + _zh_number(ci // len(county_names) % 99 + 1)
                    + "县"
                )
            code = (
                provinces[(ci // 99) % len(provinces)] * 10000
                + (1 + (ci // 9) % 11) * 100
                + 21
                + ci % 9
            )
            counties.append((county, code))
            units: list[tuple[_Template, str, str | None, str, str]] = []
            for t in _COUNTY_TEMPLATES:
                units.append((t, t.name.format(c=county), t.parent, f"C{len(units):03d}", county))
            n_towns = int(min(30, max(0, (target - len(units)) // 10)))
            towns = [
                n for n in town_pool[ci * 3 % len(town_pool) :] + town_pool if n + "县" != county
            ][:n_towns]
            for ti, tname in enumerate(towns):
                town = tname + ("镇" if ti % 5 else "乡") if ti % 7 else tname + "街道"
                for k, t in enumerate(_TOWN_TEMPLATES):
                    if rng.random() < _TOWN_OPTIONAL.get(k, 0.0):
                        continue
                    name = t.name.format(t=town, c=county)
                    if town.endswith("街道"):
                        name = name.replace("人民政府", "办事处").replace(
                            "卫生院", "社区卫生服务中心"
                        )
                    parent = t.parent.format(t=town, c=county) if t.parent else None
                    if parent and town.endswith("街道"):
                        parent = parent.replace("人民政府", "办事处")
                    units.append((t, name, parent, f"T{ti:02d}{k:02d}", county + town))
            ordinal = {0: 1, 1: 1, 2: 3}  # 第一/第二中学 are county templates
            while len(units) < target:
                k = len(units) % 3
                t = _FILLERS[k]
                units.append(
                    (
                        t,
                        t.name.format(c=county, n=_zh_number(ordinal[k])),
                        t.parent,
                        f"F{k}{ordinal[k]:02d}",
                        county,
                    )
                )
                ordinal[k] += 1
            for t, name, parent, dcode, region in units[:target]:
                parent_name = parent.format(c=county) if parent and "{c}" in parent else parent
                rows.append((t, name, parent_name, ci, dcode, region))
        rows = rows[: self.n]
        n = self.n
        width = max(4, len(str(n)))
        self.unit_ids = _fmt_ids("U", np.arange(1, n + 1), width)
        self.tmpl = [r[0] for r in rows]
        self.unit_names = [r[1] for r in rows]
        self.county = np.array([r[3] for r in rows], dtype=np.int32)
        self.counties = counties
        self.duty_prefix = [r[4] for r in rows]
        # Town units form their own region (a town's bodies do not overlap the county's).
        self.region_of = np.array([r[5] for r in rows], dtype=object)
        self.service = np.array([_SERVICE_OF.get(t.name, "") for t in self.tmpl], dtype=object)
        index_of = {(r[3], r[1]): i for i, r in enumerate(rows)}
        self.parent = np.array(
            [index_of.get((r[3], r[2]), -1) if r[2] else -1 for r in rows], dtype=np.int64
        )
        self.kind = np.array([t.kind for t in self.tmpl], dtype=object)
        self.cls = np.array([t.cls for t in self.tmpl], dtype=object)
        self.tmpl_nb = np.array([t.nb for t in self.tmpl], dtype=np.int64)
        weight = np.array([t.weight for t in self.tmpl])
        # A few units were merged or abolished and keep no staff; the first county's
        # first units stay active so small samples still have every kind.
        self.status = np.full(n, "active", dtype=object)
        gone = (rng.random(n) < 0.008) & (np.arange(n) >= 60)
        self.status[gone] = np.where(rng.random(gone.sum()) < 0.5, "merged", "abolished")
        self.status_blank = (rng.random(n) < 0.1) & ~gone
        self.active = ~gone

        # Headcount of staff within quota, scaled so the mean over all units is ppu.
        noise = rng.lognormal(0.0, 0.45, size=n)
        raw = weight * noise * self.active
        counted_goal = self.ppu * n / 1.045  # 编外 add about 4.5 % on top
        h = np.where(
            self.active, np.maximum(3, np.round(raw * counted_goal / raw.sum())), 0
        ).astype(np.int64)
        legal = np.array([t.legal for t in self.tmpl])
        log_p = np.array([t.log_p for t in self.tmpl])
        has_log = (self.kind != "institution") & (rng.random(n) < log_p)
        n_log = np.where(has_log, np.maximum(1, np.round(h * rng.uniform(0.03, 0.1, n))), 0).astype(
            np.int64
        )
        n_log = np.minimum(n_log, np.maximum(h - 2, 0))
        n_second = np.where(legal, np.round(h * rng.uniform(0.08, 0.2, n)), 0).astype(np.int64)
        n_second = np.minimum(n_second, np.maximum(h - n_log - 2, 0))
        self.cnt = np.zeros((n, 4), dtype=np.int64)  # main, second, logistics, none
        self.cnt[:, 0] = h - n_log - n_second
        self.cnt[:, 1] = n_second
        self.cnt[:, 2] = n_log
        self.slot_cat = np.zeros((n, 4), dtype=np.int64)
        self.slot_cat[:, 0] = np.select(
            [legal, self.kind == "party_gov", self.kind == "civil_ref"],
            [_LEGAL, _ADMIN, _CIVIL_REF],
            _INSTITUTION,
        )
        self.slot_cat[:, 1] = _ADMIN
        self.slot_cat[:, 2] = _LOGISTICS
        self.slot_cat[:, 3] = _NONE
        self.extra = np.zeros(n, dtype=np.int64)  # retired/left rows, set by scenarios
        # Clean quotas leave 0-2 vacancies, never enough for Q03.
        self.quota = self.cnt[:, :3] + rng.integers(0, 3, size=(n, 3)) * (self.cnt[:, :3] > 0)
        spare_log = has_log & (rng.random(n) < 0.1)
        self.quota[:, 2] += np.where(spare_log & (self.cnt[:, 2] == 0), 1, 0)
        self.fixed_none = np.full(n, -1, dtype=np.int64)
        self.fixed_nb = np.full(n, -1, dtype=np.int64)
        # Leader quota = actual + slack; -1 slack plants an excess, a dropped row means 0.
        self.lq_slack = np.zeros((n, 4), dtype=np.int64)
        self.lq_slack[:, 1] = rng.integers(0, 2, n)
        self.lq_slack[:, 3] = rng.integers(0, 2, n)
        self.lq_drop = np.zeros((n, 4), dtype=bool)
        # bodies_limit = bodies + limit_mode; -99 leaves the limit empty.
        self.limit_mode = np.where(rng.random(n) < 0.15, -99, rng.choice([0, 0, 1], n))
        self.doc_day = self.today - rng.integers(4 * 365, 7 * 365, n)
        self.doc_no_num = rng.integers(1, 80, n)
        self.has_doc = rng.random(n) < 0.75

    # ------------------------------------------------------------ derived plan

    def derive(self) -> None:
        rng = self.rng
        n = self.n
        quota_sum = self.quota.sum(axis=1)
        wants_none = rng.random(n) < 0.6
        none = np.floor(rng.uniform(0, 0.15, n) * quota_sum).astype(np.int64) * wants_none
        self.cnt[:, 3] = np.where(self.fixed_none >= 0, self.fixed_none, none * self.active)
        main = self.cnt[:, 0]
        self.p = (main >= 1).astype(np.int64)
        self.d = np.minimum(np.clip(main // 10 + 1, 1, 4), np.maximum(main - 1, 0))
        m = self.cnt.sum(axis=1) - self.p - self.d
        nb = np.minimum.reduce([self.tmpl_nb, m // 4, np.maximum(main - self.p - self.d, 0)])
        self.nb = np.where(self.fixed_nb >= 0, self.fixed_nb, np.maximum(nb, 0))
        self.bd = np.minimum((self.nb + 1) // 2, np.maximum(main - self.p - self.d - self.nb, 0))
        self.limit = np.where(self.limit_mode == -99, -1, np.maximum(self.nb + self.limit_mode, 0))
        self.limit = np.where(self.nb > 0, self.limit, -1)

    # ------------------------------------------------------------ people

    def build_people(self) -> None:
        rng = self.rng
        n = self.n
        sizes = self.cnt.sum(axis=1) + self.extra
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.end = self.start + sizes
        N = int(sizes.sum())
        self.N = N
        unit = np.repeat(np.arange(n), sizes)
        slots = np.column_stack([self.cnt, self.extra])
        slot = np.repeat(np.tile(np.arange(5), n), slots.ravel())
        rank = np.arange(N) - self.start[unit]
        cat = np.where(slot < 4, self.slot_cat[unit, np.minimum(slot, 3)], self.slot_cat[unit, 0])
        p, d, nb, bd = self.p[unit], self.d[unit], self.nb[unit], self.bd[unit]
        j = rank - p - d
        lead = np.select(
            [rank < p, rank < p + d, (j >= 0) & (j < nb), (j >= nb) & (j < nb + bd)],
            [_PRINCIPAL, _DEPUTY, _BODY_PRINCIPAL, _BODY_DEPUTY],
            _LEAD_NONE,
        )
        lead[slot == 4] = _LEAD_NONE
        # Bodies: consecutive global indices per unit.
        self.body_start = np.concatenate([[0], np.cumsum(self.nb)[:-1]]).astype(np.int64)
        body = np.where((j >= 0) & (nb > 0), self.body_start[unit] + j % np.maximum(nb, 1), -1)
        cls = self.cls[unit]
        kind = self.kind[unit]

        male_share = np.vectorize(_MALE_SHARE.get, otypes=[float])(self.cls)[unit]
        male_share = np.where(lead > 0, np.minimum(0.9, male_share + 0.2), male_share)
        gender = (rng.random(N) >= male_share).astype(np.int8)  # 0 man, 1 woman

        post = np.full(N, _MGMT, dtype=np.int8)
        u = rng.random(N)
        for c, (mg, pr, _wk) in _INST_POSTS.items():
            sel = (cls == c) & (cat == _INSTITUTION) & (lead == 0)
            post[sel] = np.select([u[sel] < mg, u[sel] < mg + pr], [_MGMT, _PROF], _WORKER)
        post[cat == _LOGISTICS] = _WORKER
        none = cat == _NONE
        care = np.isin(cls, ["hospital", "school"])
        post[none] = np.where(
            care[none] & (u[none] < 0.6), _PROF, np.where(u[none] < 0.7, _WORKER, _MGMT)
        )
        post_blank = (post == _MGMT) & (kind != "institution") & (rng.random(N) < 0.15)

        lo = np.select([lead == _PRINCIPAL, lead == _DEPUTY, lead > 0], [40.0, 36.0, 30.0], 22.0)
        hi = np.where(gender == 0, 59.3, np.where(post == _WORKER, 49.3, 54.3))
        age_days = (rng.uniform(lo, hi) * 365.25).astype(np.int64)
        birth = self.today - age_days
        entry = birth + (22 * 365.25 + rng.uniform(0, 1, N) * (age_days - 22 * 365.25)).astype(
            np.int64
        )
        entry[none] = _NAT

        status = np.full(N, _ON_POST, dtype=np.int8)
        r = rng.random(N)
        status[(r < 0.012) & (lead == 0) & (slot < 4)] = _SECONDED
        status[(r >= 0.012) & (r < 0.017) & (lead == 0) & (slot < 4)] = _LONG_LEAVE
        since = np.full(N, _NAT, dtype=np.int64)
        away = (status == _SECONDED) | (status == _LONG_LEAVE)
        since[away] = self.today - rng.integers(20, 361, int(away.sum()))
        work = np.full(N, -1, dtype=np.int64)
        sec = np.flatnonzero(status == _SECONDED)
        active_units = np.flatnonzero(self.active)
        target = active_units[rng.integers(0, len(active_units), len(sec))]
        target = np.where(target == unit[sec], self.parent[unit[sec]], target)
        work[sec] = target

        region_own = np.array([c for _, c in self.counties], dtype=np.int64)[self.county[unit]]
        other = 330000 + rng.integers(1, 12, N) * 100 + rng.integers(2, 28, N)
        region = np.where(rng.random(N) < 0.85, region_own, other)
        ids = idnumber.generate_array(rng, birth.astype("datetime64[D]"), gender == 0, region)
        for _ in range(20):
            dup = pd.Series(ids).duplicated().to_numpy()
            if not dup.any():
                break
            ids[dup] = idnumber.generate_array(
                rng, birth[dup].astype("datetime64[D]"), gender[dup] == 0, region[dup]
            )
        self.unit_of = unit
        self.slot = slot
        self.cat = cat.astype(np.int8)
        self.lead = lead.astype(np.int8)
        self.body = body.astype(np.int64)
        self.gender = gender
        self.post = post
        self.post_blank = post_blank
        self.birth = birth
        self.entry = entry
        self.status_arr = status
        self.since = since
        self.work = work
        self.region = region
        self.ids = ids.astype(object)
        self.paid = np.ones(N, dtype=bool)
        self.names = self._names(N)
        self.positions = self._positions()
        self.body_unit = np.repeat(np.arange(n), self.nb)
        k = np.arange(len(self.body_unit)) - self.body_start[self.body_unit]
        self.body_k = k

    def _names(self, count: int) -> np.ndarray:
        rng = self.rng
        weights = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8
        weights /= weights.sum()
        pools = []
        for chars in (_MALE_CHARS, _FEMALE_CHARS):
            sur = rng.choice(list(_SURNAMES), size=3000, p=weights)
            a = rng.choice(list(chars), size=3000)
            b = rng.choice(
                list(chars + _MALE_CHARS[:8] if chars is _FEMALE_CHARS else chars), size=3000
            )
            two = rng.random(3000) < 0.72
            pools.append(
                np.array(
                    [s + x + (y if t else "") for s, x, y, t in zip(sur, a, b, two, strict=True)],
                    dtype=object,
                )
            )
        pick = rng.integers(0, 3000, count)
        return np.where(self.gender == 0, pools[0][pick], pools[1][pick])

    def _positions(self) -> np.ndarray:
        rng = self.rng
        N = self.N
        cls = self.cls[self.unit_of]
        out = np.empty(N, dtype=object)
        key = np.full(N, "mgmt", dtype=object)
        inst = self.kind[self.unit_of] == "institution"
        key[inst] = "mgmt_inst"
        prof = self.post == _PROF
        key[prof] = "prof_other"
        key[prof & (cls == "hospital")] = "prof_hospital"
        key[prof & (cls == "school")] = "prof_school"
        key[self.post == _WORKER] = "worker"
        legal = self.cat == _LEGAL
        key[legal] = "legal_other"
        for c in ("police", "court", "procuratorate"):
            key[legal & (cls == c)] = f"legal_{c}"
        key[self.cat == _NONE] = "none"
        for k, pool in _POSITIONS.items():
            sel = np.flatnonzero(key == k)
            out[sel] = np.array(pool, dtype=object)[rng.integers(0, len(pool), len(sel))]
        titles = np.array([t.title for t in self.tmpl], dtype=object)[self.unit_of]
        body_titles = np.vectorize(_BODY_TITLE.get, otypes=[object])(self.cls)[self.unit_of]
        lead = self.lead
        out[lead == _PRINCIPAL] = titles[lead == _PRINCIPAL]
        out[lead == _DEPUTY] = "副" + titles[lead == _DEPUTY]
        out[lead == _BODY_PRINCIPAL] = body_titles[lead == _BODY_PRINCIPAL]
        out[lead == _BODY_DEPUTY] = "副" + body_titles[lead == _BODY_DEPUTY]
        return out

    # ------------------------------------------------------------ planting helpers

    def plant(
        self, scenario: str, rule: str, u: int, subject: str, expect: bool = True, note: str = ""
    ) -> None:
        self.planted.append((scenario, rule, u, subject, expect, note))

    def plant_person(
        self, scenario: str, rule: str, row: int, expect: bool = True, note: str = ""
    ) -> None:
        self.person_plants.append((scenario, rule, int(self.unit_of[row]), row, expect, note))

    def rows(self, u: int) -> np.ndarray:
        return np.arange(self.start[u], self.end[u])

    def counted_rows(self, u: int) -> np.ndarray:
        r = self.rows(u)
        return r[self.status_arr[r] <= _LONG_LEAVE]

    def staff(self, u: int, slot: int = 0, k: int = 1, body_min: int = 0) -> np.ndarray:
        """k plain (non-leader, on post) rows of a slot, taken from bodies keeping >= body_min people."""
        r = self.rows(u)
        r = r[
            (self.slot[r] == slot) & (self.lead[r] == _LEAD_NONE) & (self.status_arr[r] == _ON_POST)
        ]
        if body_min:
            counts = self.body_counts(u)
            chosen = []
            for row in r:
                b = self.body[row]
                if b >= 0 and counts.get(b, 0) > body_min:
                    counts[b] -= 1
                    chosen.append(row)
                    if len(chosen) == k:
                        break
            r = np.array(chosen, dtype=np.int64)
        if len(r) < k:
            raise _Unfit
        return r[-k:] if not body_min else r

    def body_counts(self, u: int) -> dict[int, int]:
        r = self.counted_rows(u)
        b = self.body[r]
        vals, counts = np.unique(b[b >= 0], return_counts=True)
        return dict(zip(vals.tolist(), counts.tolist(), strict=True))

    def bodies_of(self, u: int) -> list[int]:
        return list(range(self.body_start[u], self.body_start[u] + self.nb[u]))

    def body_code(self, b: int) -> str:
        if b < len(self.body_unit):
            return f"{self.unit_ids[self.body_unit[b]]}-{self.body_k[b] + 1:02d}"
        return self.extra_bodies[b - len(self.body_unit)][1]

    def add_body(self, u: int, code: str, name: str, in_table: bool, approved: bool = True) -> int:
        """A new body index; in_table=False makes one the roster names but bodies lacks."""
        self.extra_bodies.append((u, code, name, approved, in_table))
        return len(self.body_unit) + len(self.extra_bodies) - 1

    def shrink_body(self, u: int, b: int, keep: int) -> None:
        """Move counted people out of body b until exactly `keep` remain."""
        others = [x for x in self.bodies_of(u) if x != b]
        r = self.counted_rows(u)
        members = r[self.body[r] == b]
        movable = [x for x in members if self.lead[x] != _BODY_PRINCIPAL] + [
            x for x in members if self.lead[x] == _BODY_PRINCIPAL
        ]
        for i, row in enumerate(movable[: max(0, len(members) - keep)]):
            self.body[row] = others[i % len(others)]
            if self.lead[row] == _BODY_PRINCIPAL:
                self.lead[row] = _LEAD_NONE
                self.positions[row] = "一级科员"
        if int((self.body[r] == b).sum()) != keep:
            raise _Unfit

    def make_old(self, row: int, years: float) -> None:
        self.birth[row] = self.today - int(years * 365.25)
        self._reissue(row)

    def _reissue(self, row: int, want_x: bool = False) -> None:
        """A fresh, valid ID number matching the row's birth date and gender."""
        g = "F" if self.gender[row] == 1 else "M"
        born = date(1970, 1, 1) + timedelta(days=int(self.birth[row]))
        for _ in range(400):
            new = idnumber.generate(self.rng, born, g, int(self.region[row]))
            if (not want_x or new.endswith("X")) and new not in self.used_ids:
                break
        self.used_ids.add(new)
        self.ids[row] = new

    def set_retired(self, row: int, status: int = _RETIRED) -> None:
        """Mark a row retired (aged to fit, new ID) or left; either way no longer paid."""
        if status == _RETIRED and self.today - self.birth[row] < 55 * 365.25:
            self.make_old(row, float(self.rng.uniform(60.5, 64.0)))
        self.status_arr[row] = status
        self.since[row] = self.today - int(self.rng.integers(30, 300))
        self.lead[row] = _LEAD_NONE
        self.work[row] = -1
        self.paid[row] = False

    def other_unit(self, u: int) -> int:
        for _ in range(10_000):
            v = int(self.rng.integers(0, self.n))
            if v != u and self.active[v] and v not in self.used and self.cnt[v, 0] >= 6:
                self.used.add(v)
                return v
        raise _Unfit

    # ------------------------------------------------------------ scenarios

    def choose(self) -> list[tuple[_Scenario, int, list[int]]]:
        """Every scenario once (rarest fit first), then random firing ones up to the rate."""
        rng = self.rng
        active = np.flatnonzero(self.active)
        sample = active if len(active) <= 3000 else rng.choice(active, 3000, replace=False)
        fit_counts = [sum(1 for u in sample if sc.fits(self, int(u))) for sc in _SCENARIOS]
        queue = [_SCENARIOS[i] for i in np.argsort(fit_counts, kind="stable")]
        firing = [sc for sc in _SCENARIOS if sc.weight > 0]
        weights = np.array([sc.weight for sc in firing], dtype=float)
        goal = int(round(self.rate * len(active)))
        extra = max(0, goal - len(queue))
        queue += [firing[i] for i in rng.choice(len(firing), size=extra, p=weights / weights.sum())]
        chosen: list[tuple[_Scenario, int, list[int]]] = []
        for sc in queue:
            if len(self.used) + sc.partners + 1 > len(active) - 1:
                self.skipped.append(sc.name)
                continue
            tries = active[rng.integers(0, len(active), 600)]
            if len(active) <= 5000:
                tries = np.concatenate([tries, rng.permutation(active)])
            for u in tries:
                u = int(u)
                if u not in self.used and sc.fits(self, u):
                    self.used.add(u)
                    try:
                        chosen.append((sc, u, [self.other_unit(u) for _ in range(sc.partners)]))
                    except _Unfit:
                        self.skipped.append(sc.name)
                    break
            else:
                self.skipped.append(sc.name)
        return chosen

    def run(self) -> None:
        self.build_units()
        chosen = self.choose()
        for sc, u, partners in chosen:
            if sc.pre:
                sc.pre(self, u, partners)
        self.derive()
        self.build_people()
        self.used_ids = set(self.ids.tolist())
        for sc, u, partners in chosen:
            snapshot = self._snapshot(u, partners)
            marks = (len(self.planted), len(self.person_plants), len(self.extra_bodies))
            try:
                if sc.post:
                    sc.post(self, u, partners)
            except _Unfit:
                self._restore(snapshot)
                del self.planted[marks[0] :]
                del self.person_plants[marks[1] :]
                del self.extra_bodies[marks[2] :]
                self.skipped.append(sc.name)
        self.place_fd()

    # ------------------------------------------------------------ F and D plants

    def place_fd(self) -> None:
        """Every F/D scenario once (shells first), then random firing ones.

        They come after the Q/L/B/P plants and draw from their own random stream,
        so the Q/L/B/P part of a dataset is the same with or without them.
        """
        rng = self.fd_rng
        self.dropped = np.zeros(self.N, dtype=bool)
        active = np.flatnonzero(self.active)
        self.live = np.bincount(
            self.unit_of[(self.status_arr <= _LONG_LEAVE) & (self.slot < 4)], minlength=self.n
        )
        self.by_region: dict[str, list[int]] = {}
        for u in active.tolist():
            self.by_region.setdefault(self.region_of[u], []).append(u)
        counts: dict[str, int] = {}
        for u in active.tolist():
            if self.live[u] > 0:
                for code in self.codes(u):
                    counts[code] = counts.get(code, 0) + 1
        self.group_n = counts
        queue = list(_FD_SCENARIOS)
        firing = [sc for sc in _FD_SCENARIOS if sc.weight > 0]
        weights = np.array([sc.weight for sc in firing], dtype=float)
        extra = max(0, int(round(self.rate / 4 * len(active))) - len(queue))
        queue += [firing[i] for i in rng.choice(len(firing), size=extra, p=weights / weights.sum())]
        queue.sort(key=lambda sc: sc.order)
        for sc in queue:
            tries = active[rng.integers(0, len(active), 400)]
            if len(active) <= 5000:
                tries = np.concatenate([tries, rng.permutation(active)])
            for u in tries.tolist():
                if not self._fd_pool_ok(sc.pool, u):
                    continue
                try:
                    sc.post(self, u)
                except _Unfit:
                    continue
                self.fd_touched.add(u)
                if sc.pool == "free":
                    self.fd_units.add(u)
                break
            else:
                self.skipped.append(sc.name)

    def _fd_pool_ok(self, pool: str, u: int) -> bool:
        if u in self.fd_excl or self.live[u] < 1:
            return False
        if pool == "free":
            return u not in self.used and u not in self.fd_units
        if pool == "rows":
            return u not in self.used
        return True

    def own_codes(self, u: int) -> list[str]:
        prefix = self.duty_prefix[u]
        codes = [f"{prefix}-{j:02d}" for j in range(1, len(_DUTY_TEXTS[self.kind[u]]) + 1)]
        return codes + ([f"{prefix}-05"] if u in self.admin_set else [])

    def base_codes(self, u: int) -> list[str]:
        """The unit's own 三定 duties and its public-service item, before any plant."""
        return self.own_codes(u) + ([self.service[u]] if self.service[u] else [])

    def codes(self, u: int) -> list[str]:
        """Every duty_code the unit holds (and reports workload for when it has people)."""
        return self.base_codes(u) + self.extra_codes.get(u, [])

    def held_in(self, region: str, code: str) -> bool:
        return any(code in self.codes(v) for v in self.by_region.get(region, []))

    def new_code(self, u: int) -> str:
        taken = set(self.codes(u))
        prefix = self.duty_prefix[u]
        for j in range(6, 100):
            if f"{prefix}-{j:02d}" not in taken:
                return f"{prefix}-{j:02d}"
        raise _Unfit

    def add_duty(self, u: int, code: str, text: str, source: str | None) -> None:
        if code in self.codes(u):
            raise AssertionError(f"{self.unit_ids[u]} already holds {code}")
        self.extra_duties.append((u, code, text, source))
        self.extra_codes.setdefault(u, []).append(code)
        if self.live[u] > 0:
            self.group_n[code] = self.group_n.get(code, 0) + 1
        self.fd_touched.add(u)

    def group_fits(self, code: str, low: int = 0, high: int = 0, need: int = 3) -> bool:
        """The code has `need`+ peers and its median stays on an unplanted unit."""
        n = self.group_n.get(code, 0)
        if n < need:
            return False
        if n < 3:
            return True
        lows, highs = self.group_ends.get(code, [0, 0])
        lows, highs = lows + low, highs + high
        clean = n - lows - highs
        return clean >= 1 and lows <= (n - 1) // 2 and n // 2 <= lows + clean - 1

    def mark_group(self, code: str, low: int = 0, high: int = 0) -> None:
        ends = self.group_ends.setdefault(code, [0, 0])
        ends[0] += low
        ends[1] += high

    def make_shell(self, u: int) -> None:
        """Drop every roster row of u (its people were moved out); 2 posts stay approved."""
        self.dropped[self.rows(u)] = True
        self.quota[u] = (2, 0, 0)
        for code in self.codes(u):
            if self.live[u] > 0:
                self.group_n[code] -= 1
        self.live[u] = 0
        self.fd_excl.add(u)
        self.fd_touched.add(u)

    def plain_row(self, u: int, slot: int = 0) -> int:
        """A non-leader on-post row of the slot that no F/D plant uses yet."""
        r = self.rows(u)
        r = r[
            (self.slot[r] == slot)
            & (self.lead[r] == _LEAD_NONE)
            & (self.status_arr[r] == _ON_POST)
            & ~self.dropped[r]
        ]
        r = [x for x in r.tolist() if x not in self.fd_rows]
        if not r:
            raise _Unfit
        return r[-1]

    def pick_units(
        self, k: int, exclude: set[int], region: str | None = None, other_region: bool = False
    ) -> list[int]:
        """k distinct active units with people, none excluded, optionally of (not) a region."""
        pool = np.flatnonzero(self.active)
        if region is not None and not other_region:
            pool = np.array(self.by_region.get(region, []), dtype=np.int64)
        out: list[int] = []
        for _ in range(2000 if len(pool) else 0):
            v = int(pool[self.fd_rng.integers(0, len(pool))])
            if v in exclude or v in out or v in self.fd_excl or self.live[v] < 1:
                continue
            if other_region and self.region_of[v] == region:
                continue
            out.append(v)
            if len(out) == k:
                return out
        raise _Unfit

    def fd_person(
        self, scenario: str, rule: str, unit: int, row: int, expect: bool = True, note: str = ""
    ) -> None:
        self.person_plants.append((scenario, rule, unit, row, expect, note))
        self.fd_rows.add(row)

    def _snapshot(
        self, u: int, partners: list[int]
    ) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
        arrays = (
            "cat",
            "lead",
            "body",
            "gender",
            "post",
            "post_blank",
            "birth",
            "status_arr",
            "since",
            "work",
            "ids",
            "paid",
            "names",
            "positions",
            "region",
        )
        snap = []
        for v in [u, *partners]:
            r = self.rows(v)
            snap.append((r, {a: getattr(self, a)[r].copy() for a in arrays}))
        return snap

    def _restore(self, snap: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> None:
        for r, saved in snap:
            for a, vals in saved.items():
                getattr(self, a)[r] = vals


class _Unfit(Exception):
    """The chosen unit cannot host the scenario; the generator rolls it back."""


@dataclass(frozen=True)
class _Scenario:
    name: str
    fits: Callable[[_Builder, int], bool]
    pre: Callable[[_Builder, int, list[int]], None] | None = None
    post: Callable[[_Builder, int, list[int]], None] | None = None
    weight: float = 0.0  # >0: also drawn at random to reach the violation rate
    partners: int = 0  # other units the scenario touches (P02)


# ---------------------------------------------------------------- scenario bodies


def _main_cat(b: _Builder, u: int) -> str:
    return CATEGORIES[b.slot_cat[u, 0]]


def _exact_quotas(b: _Builder, u: int) -> None:
    b.quota[u] = b.cnt[u, :3]


def _big(
    min_main: int, kinds: tuple[str, ...] = ("party_gov", "civil_ref", "institution")
) -> Callable[[_Builder, int], bool]:
    return lambda b, u: b.cnt[u, 0] >= min_main and b.kind[u] in kinds


def _with_bodies(min_nb: int, min_main: int = 20) -> Callable[[_Builder, int], bool]:
    return lambda b, u: b.cnt[u, 0] >= min_main and b.tmpl_nb[u] >= min_nb + 1


def _set_small(b: _Builder, u: int, main: int, quota: int, none: int | None = None) -> None:
    b.cnt[u, 0], b.cnt[u, 1], b.cnt[u, 2] = main, 0, 0
    b.quota[u] = (quota, 0, 0)
    if none is not None:
        b.fixed_none[u] = none


def _pre_q01_over(b: _Builder, u: int, _: list[int]) -> None:
    _exact_quotas(b, u)
    b.quota[u, 0] = b.cnt[u, 0] - 2
    b.plant("q01_over", "Q01", u, _main_cat(b, u), note="2 over the main category")
    b.plant("q01_over", "Q02", u, "total", note="other categories exactly at quota")


def _pre_q01_log_missing(b: _Builder, u: int, _: list[int]) -> None:
    b.quota[u] = (b.cnt[u, 0] + b.cnt[u, 2], b.cnt[u, 1], 0)
    b.plant("q01_log_missing", "Q01", u, "logistics", note="no logistics quota row (quota 0)")
    b.plant(
        "q01_log_missing", "Q02", u, "total", False, "surplus offset in total, so Q02 stays quiet"
    )


def _pre_q01_at_quota(b: _Builder, u: int, _: list[int]) -> None:
    _exact_quotas(b, u)
    b.plant("q01_at_quota", "Q01", u, _main_cat(b, u), False, "exactly at quota")
    b.plant("q01_at_quota", "Q02", u, "total", False, "exactly at total quota")


def _pre_q01_history(b: _Builder, u: int, _: list[int]) -> None:
    _exact_quotas(b, u)
    c = int(b.slot_cat[u, 0])
    b.has_doc[u] = True
    b.quota[u, 0] = b.cnt[u, 0] + 4  # the old row, superseded
    b.quota_history.append((u, c, int(b.cnt[u, 0] - 1), b.today - 90, "cut"))
    b.quota_history.append((u, c, int(b.cnt[u, 0] + 6), b.today + 61, "future"))
    b.plant(
        "q01_history",
        "Q01",
        u,
        CATEGORIES[c],
        note="row in force (as_of-90d) cut quota by 1; future row ignored",
    )
    b.plant("q01_history", "Q02", u, "total", note="total follows the row in force")


def _pre_q01_effective_today(b: _Builder, u: int, _: list[int]) -> None:
    _exact_quotas(b, u)
    c = int(b.slot_cat[u, 0])
    b.has_doc[u] = True
    b.quota[u, 0] = b.cnt[u, 0] - 2
    b.quota_history.append((u, c, int(b.cnt[u, 0] + 1), b.today, "raise"))
    b.plant(
        "q01_effective_today",
        "Q01",
        u,
        CATEGORIES[c],
        False,
        "a raise effective on the as-of date is in force",
    )


def _q03(
    main: int, quota: int, expect: bool, note: str
) -> Callable[[_Builder, int, list[int]], None]:
    def pre(b: _Builder, u: int, _: list[int]) -> None:
        _set_small(b, u, main, quota, none=0)
        b.plant(f"q03_{main}_of_{quota}", "Q03", u, _main_cat(b, u), expect, note)

    return pre


def _pre_q03_logistics(b: _Builder, u: int, _: list[int]) -> None:
    b.cnt[u, 2] = 2
    b.quota[u] = (b.cnt[u, 0], b.cnt[u, 1], 5)
    b.plant("q03_logistics", "Q03", u, "logistics", note="2 of 5 logistics posts filled")


def _q04(category: str) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        row = b.staff(u)[0]
        b.cat[row] = _CAT[category]
        b.plant_person(
            f"q04_{b.kind[u]}_{category}", "Q04", row, note=f"{b.kind[u]} unit, {category} person"
        )
        b.plant(
            f"q04_{b.kind[u]}_{category}", "Q01", u, category, note="no quota for that category"
        )

    return post


def _pre_q04_none_ok(b: _Builder, u: int, _: list[int]) -> None:
    b.fixed_none[u] = 1


def _post_q04_none_ok(b: _Builder, u: int, _: list[int]) -> None:
    r = b.counted_rows(u)
    r = r[b.slot[r] == 3]
    if not len(r):
        raise _Unfit
    row = int(r[0])
    b.plant_person("q04_none_ok", "Q04", row, False, "编外 person in an institution: not mixed use")


def _pre_extra(b: _Builder, u: int, _: list[int]) -> None:
    b.extra[u] = 1


def _extra_row(b: _Builder, u: int) -> int:
    return int(b.end[u] - 1)


def _post_q04_retired(b: _Builder, u: int, _: list[int]) -> None:
    row = _extra_row(b, u)
    b.set_retired(row)
    b.cat[row] = _ADMIN
    b.plant_person("q04_retired", "Q04", row, False, "wrong category but retired: not counted")
    b.plant_person("q04_retired", "P05", row)


def _q05(
    main: int, quota: int, none: int, expect: bool, note: str
) -> Callable[[_Builder, int, list[int]], None]:
    def pre(b: _Builder, u: int, _: list[int]) -> None:
        _set_small(b, u, main, quota, none)
        b.plant(f"q05_{none}_of_{quota}", "Q05", u, "none", expect, note)

    return pre


def _post_l01_two(b: _Builder, u: int, _: list[int]) -> None:
    row = b.staff(u)[0]
    b.lead[row] = _PRINCIPAL
    b.positions[row] = b.tmpl[u].title
    b.plant("l01_two_principals", "L01", u, "principal", note="2 principals, 1 approved")


def _pre_l01_missing(b: _Builder, u: int, _: list[int]) -> None:
    b.lq_drop[u, 0] = True
    b.plant("l01_missing_row", "L01", u, "principal", note="no principal row in leader_quotas (0)")


def _pre_l02(
    slack: int, expect: bool, note: str, name: str
) -> Callable[[_Builder, int, list[int]], None]:
    def pre(b: _Builder, u: int, _: list[int]) -> None:
        b.lq_slack[u, 1] = slack
        b.plant(name, "L02", u, "deputy", expect, note)

    return pre


def _pre_l02_history(b: _Builder, u: int, _: list[int]) -> None:
    b.has_doc[u] = True
    b.lq_slack[u, 1] = 1  # the old row, superseded
    b.leader_history.append((u, 1, -1, b.today - 200, "cut"))
    b.leader_history.append((u, 1, 2, b.today + 30, "future"))
    b.plant(
        "l02_history",
        "L02",
        u,
        "deputy",
        note="row in force (as_of-200d) is one short; future row ignored",
    )


def _pre_l03(b: _Builder, u: int, _: list[int]) -> None:
    b.lq_slack[u, 2] = -1
    b.plant("l03_over", "L03", u, "body_principal", note="one body head more than approved")


def _pre_l04(b: _Builder, u: int, _: list[int]) -> None:
    b.lq_drop[u, 3] = True
    b.plant("l04_missing_row", "L04", u, "body_deputy", note="no body_deputy row (0)")


def _pre_l05(b: _Builder, u: int, _: list[int]) -> None:
    b.lq_slack[u, 3] = 1


def _post_l05(b: _Builder, u: int, _: list[int]) -> None:
    row = b.staff(u, slot=2)[0]
    b.lead[row] = _BODY_DEPUTY
    b.positions[row] = "副" + _BODY_TITLE[b.cls[u]]
    b.plant_person("l05_logistics_leader", "L05", row)


def _pre_l05_retired(b: _Builder, u: int, _: list[int]) -> None:
    b.extra[u] = 1
    b.lq_slack[u, 1] = 0


def _post_l05_retired(b: _Builder, u: int, _: list[int]) -> None:
    row = _extra_row(b, u)
    b.set_retired(row)
    b.cat[row] = _LOGISTICS
    b.lead[row] = _DEPUTY
    b.plant_person("l05_retired", "L05", row, False, "retired: not counted")
    b.plant_person("l05_retired", "P05", row)
    b.plant(
        "l05_retired",
        "L02",
        u,
        "deputy",
        False,
        "deputies at quota; the retired one does not count",
    )


def _pre_limit(mode: int) -> Callable[[_Builder, int, list[int]], None]:
    def pre(b: _Builder, u: int, _: list[int]) -> None:
        b.limit_mode[u] = mode

    return pre


def _post_b01(expect: bool, note: str, name: str) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        b.plant(name, "B01", u, "bodies", expect, note)

    return post


def _move_into(b: _Builder, u: int, target: int, k: int) -> None:
    for row in b.staff(u, slot=0, k=k, body_min=3):
        b.body[row] = target


def _post_b01_unapproved(b: _Builder, u: int, _: list[int]) -> None:
    code = f"{b.unit_ids[u]}-{b.nb[u] + 1:02d}"
    body = b.add_body(u, code, "专项工作办公室", in_table=True, approved=False)
    _move_into(b, u, body, 3)
    b.plant(
        "b01_unapproved_counts",
        "B01",
        u,
        "bodies",
        note="limit = approved bodies; the unapproved one is over",
    )
    b.plant("b01_unapproved_counts", "B02", u, code)


def _post_b02_unapproved(b: _Builder, u: int, _: list[int]) -> None:
    code = f"{b.unit_ids[u]}-{b.nb[u] + 1:02d}"
    body = b.add_body(u, code, "综合协调办公室", in_table=True, approved=False)
    _move_into(b, u, body, 3)
    b.plant("b02_unapproved", "B02", u, code, note="bodies row approved=false, 3 people in it")


def _post_b02_unknown(b: _Builder, u: int, _: list[int]) -> None:
    code = f"{b.unit_ids[u]}-99"
    body = b.add_body(u, code, "", in_table=False)
    _move_into(b, u, body, 2)
    b.plant(
        "b02_unknown_body",
        "B02",
        u,
        code,
        note="2 people in a body missing from bodies: one finding",
    )


def _post_b02_foreign(b: _Builder, u: int, _: list[int]) -> None:
    row = b.staff(u, k=1, body_min=3)[0]
    mine = set(b.bodies_of(u))
    for _ in range(1000):
        other = int(b.rng.integers(0, len(b.body_unit)))
        if other not in mine:
            break
    b.body[row] = other
    b.plant(
        "b02_foreign_body",
        "B02",
        u,
        b.body_code(other),
        note="roster body_id belongs to another unit",
    )


def _pre_no_bodies(b: _Builder, u: int, _: list[int]) -> None:
    b.fixed_nb[u] = 0


def _post_b02_no_bodies(b: _Builder, u: int, _: list[int]) -> None:
    code = f"{b.unit_ids[u]}-90"
    body = b.add_body(u, code, "", in_table=False)
    for row in b.staff(u, k=3):
        b.body[row] = body
    b.plant("b02_no_bodies", "B02", u, code, note="unit has no bodies at all; roster names one")


def _post_b02_retired_unknown(b: _Builder, u: int, _: list[int]) -> None:
    row = _extra_row(b, u)
    b.set_retired(row)
    code = f"{b.unit_ids[u]}-98"
    b.body[row] = b.add_body(u, code, "", in_table=False)
    b.plant(
        "b02_retired_unknown", "B02", u, code, False, "only a retired row names the unknown body"
    )
    b.plant_person("b02_retired_unknown", "P05", row)


def _post_b03(
    keep: int, expect: bool, note: str, name: str
) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        target = b.bodies_of(u)[-1]
        b.shrink_body(u, target, keep)
        b.plant(name, "B03", u, b.body_code(target), expect, note)

    return post


def _post_b03_retired(b: _Builder, u: int, _: list[int]) -> None:
    target = b.bodies_of(u)[-1]
    b.shrink_body(u, target, 2)
    row = _extra_row(b, u)
    b.set_retired(row)
    b.body[row] = target
    b.plant("b03_retired_in_small", "B03", u, b.body_code(target), note="2 counted + 1 retired")
    b.plant_person("b03_retired_in_small", "P05", row)


def _pre_two_bodies(b: _Builder, u: int, _: list[int]) -> None:
    b.fixed_nb[u] = 2


def _p01(
    gender: str, post: int, which: str, expect: bool, name: str, note: str
) -> Callable[[_Builder, int, list[int]], None]:
    def post_fn(b: _Builder, u: int, _: list[int]) -> None:
        row = b.staff(u, slot=2 if post == _WORKER and b.cnt[u, 2] else 0)[0]
        male = gender == "M"
        worker_age = post == _WORKER and not male
        exact, later = _retirement_births(b.as_of, male, worker_age)
        if which == "worker_as_cadre":
            exact, _later = _retirement_births(b.as_of, False, True)
        month = later if which == "later" else exact
        b.gender[row] = 0 if male else 1
        b.post[row] = post
        b.post_blank[row] = False
        if post == _WORKER:
            b.positions[row] = "驾驶员" if male else "后勤服务员"
        b.birth[row] = _month_to_day(month, 15)
        b._reissue(row)
        b.plant_person(name, "P01", row, expect, note)

    return post_fn


def _post_p01_long_over(b: _Builder, u: int, _: list[int]) -> None:
    row = b.staff(u)[0]
    b.gender[row] = 0
    b.make_old(row, 62.5)
    b.plant_person("p01_man_long_over", "P01", row, note="man aged 62")


def _post_p01_missing(field_name: str) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        row = b.staff(u)[0]
        b.gender[row] = 0
        b.make_old(row, 63.2)
        if field_name == "gender":
            b.gender[row] = -1
        else:
            b.birth_blank.add(row)
        b.plant_person(
            f"p01_no_{field_name}", "P01", row, False, f"aged 63 but {field_name} is empty"
        )

    return post


def _post_p01_retired(b: _Builder, u: int, _: list[int]) -> None:
    row = _extra_row(b, u)
    b.gender[row] = 0
    b.make_old(row, 63.0)
    b.set_retired(row)
    b.plant_person("p01_retired_over", "P01", row, False, "over age but retired: not counted")
    b.plant_person("p01_retired_over", "P05", row)


def _copy_identity(b: _Builder, src: int, dst: int, id_text: str) -> None:
    b.ids[dst] = id_text
    b.names[dst] = b.names[src]
    b.gender[dst] = b.gender[src]
    b.birth[dst] = b.birth[src]
    b.region[dst] = b.region[src]
    # A woman cadre copied onto a worker post would be over the workers' age (P01).
    b.post[dst] = b.post[src]
    b.post_blank[dst] = b.post_blank[src]


def _post_p02(variant: str) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, partners: list[int]) -> None:
        src = b.staff(u)[0]
        name = f"p02_{variant}"
        if variant == "lower_x":
            b._reissue(src, want_x=True)
        base = str(b.ids[src])
        text = {"lower_x": base.lower(), "blank": f" {base} "}.get(variant, base)
        b.plant_person(name, "P02", src)
        if variant == "same_unit":
            dst = b.staff(u, k=2)[0]
            _copy_identity(b, src, dst, base)
            b.person_plants[-1] = (name, "P02", u, src, False, "two rows of one unit")
            b.plant_person(name, "P02", dst, False, "two rows of one unit")
            return
        if variant == "left_other":
            dst = _extra_row(b, partners[0])
            _copy_identity(b, src, dst, base)
            b.set_retired(dst, _LEFT)
            b.person_plants[-1] = (name, "P02", u, src, False, "the other unit lists them as left")
            b.plant_person(name, "P02", dst, False, "left: not counted")
            b.plant_person(name, "P05", dst)
            return
        for v in partners:
            dst = b.staff(v)[0]
            _copy_identity(b, src, dst, text)
            b.plant_person(name, "P02", dst, note=f"same id as {b.unit_ids[u]} ({variant})")

    return post


def _pre_partner_extra(b: _Builder, u: int, partners: list[int]) -> None:
    b.extra[partners[0]] = 1


def _post_away(
    status: int, days: int | None, expect: bool, name: str, rule: str
) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        row = b.staff(u)[0]
        b.status_arr[row] = status
        b.since[row] = b.today - days if days is not None else _NAT
        if status == _SECONDED:
            b.work[row] = b.parent[u] if b.parent[u] >= 0 else (u + 1) % b.n
        note = (
            f"status_since {days} days before as-of" if days is not None else "status_since empty"
        )
        b.plant_person(name, rule, row, expect, note)

    return post


def _post_p05(status: int) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        row = _extra_row(b, u)
        if status == _RETIRED:
            b.gender[row] = 0
            b.make_old(row, 60.8)
        b.set_retired(row, status)
        b.plant_person(f"p05_{STATUSES[status]}", "P05", row)

    return post


def _post_p06(variant: str) -> Callable[[_Builder, int, list[int]], None]:
    def post(b: _Builder, u: int, _: list[int]) -> None:
        row = b.staff(u)[0]
        good = str(b.ids[row])
        expect = True
        if variant == "check":
            wrong = "0123456789X".replace(good[17], "")
            b.ids[row] = good[:17] + wrong[int(b.rng.integers(0, len(wrong)))]
        elif variant == "date":
            first17 = good[:6] + "19990230" + good[14:17]
            b.ids[row] = first17 + idnumber.check_digit(first17)
        elif variant == "len15":
            b.ids[row] = good[:6] + good[8:14] + good[14:17]
        elif variant == "letter":
            b.ids[row] = good[:10] + "O" + good[11:]
        elif variant == "lower_x":
            b._reissue(row, want_x=True)
            b.ids[row] = str(b.ids[row]).lower()
            expect = False
        elif variant == "empty":
            b.ids[row] = None
            expect = False
        b.plant_person(f"p06_{variant}", "P06", row, expect, repr(b.ids[row]))

    return post


def _post_f01_retired_paid(b: _Builder, u: int, _: list[int]) -> None:
    row = _extra_row(b, u)
    b.set_retired(row)
    b.paid[row] = True
    b.plant_person("f01_retired_paid", "F01", row, note="retired, still on payroll")
    b.plant_person("f01_retired_paid", "P05", row)


def _post_f01_ghost(b: _Builder, u: int, _: list[int]) -> None:
    pid = f"P9{int(b.rng.integers(10**6, 10**7))}"
    b.ghost_pay.append((pid, u, 1))
    b.plant("f01_ghost", "F01", u, pid, note="payroll person_id absent from the roster")


def _post_f02(b: _Builder, u: int, _: list[int]) -> None:
    row = b.staff(u)[0]
    b.paid[row] = False
    b.plant_person("f02_unpaid", "F02", row)


def _post_d05(b: _Builder, u: int, _: list[int]) -> None:
    b.admin_duty.append(u)
    b.admin_set.add(u)
    b.plant("d05_admin_duty", "D05", u, f"{b.duty_prefix[u]}-05", note="institution holds 行政处罚")


def _any(b: _Builder, u: int) -> bool:
    return b.cnt[u, 0] >= 8


_INST, _GOV, _CIV = ("institution",), ("party_gov",), ("civil_ref",)
_SCENARIOS: tuple[_Scenario, ...] = (
    _Scenario("q01_over", _big(6), _pre_q01_over, weight=3),
    _Scenario(
        "q01_log_missing",
        lambda b, u: 1 <= b.cnt[u, 2] <= 2 and b.cnt[u, 0] >= 12,
        _pre_q01_log_missing,
        weight=2,
    ),
    _Scenario("q01_at_quota", _big(4), _pre_q01_at_quota),
    _Scenario("q01_history", _big(8), _pre_q01_history, weight=1),
    _Scenario("q01_effective_today", _big(8), _pre_q01_effective_today),
    _Scenario(
        "q03_7_of_10", _big(1), _q03(7, 10, True, "vacancy exactly 30 % and exactly 3"), weight=2
    ),
    _Scenario("q03_14_of_20", _big(1), _q03(14, 20, True, "vacancy exactly 30 %, 6 posts")),
    _Scenario("q03_17_of_20", _big(1), _q03(17, 20, False, "3 vacant but only 15 %")),
    _Scenario("q03_3_of_5", _big(1), _q03(3, 5, False, "40 % vacant but only 2 posts")),
    _Scenario("q03_8_of_10", _big(1), _q03(8, 10, False, "20 %, 2 posts")),
    _Scenario("q03_logistics", _big(8, ("party_gov", "civil_ref")), _pre_q03_logistics, weight=1),
    _Scenario("q04_inst_admin", _big(14, _INST), post=_q04("admin"), weight=1),
    _Scenario("q04_gov_institution", _big(14, _GOV), post=_q04("institution"), weight=1),
    _Scenario("q04_civil_ref_admin", _big(14, _CIV), post=_q04("admin"), weight=1),
    _Scenario("q04_none_ok", _big(12, _INST), _pre_q04_none_ok, _post_q04_none_ok),
    _Scenario("q04_retired", _big(6, _INST), _pre_extra, _post_q04_retired),
    _Scenario("q05_3_of_10", _big(1), _q05(9, 10, 3, True, "3 编外 > 20 % of 10"), weight=2),
    _Scenario("q05_2_of_10", _big(1), _q05(9, 10, 2, False, "2 编外 = exactly 20 % of 10")),
    _Scenario("q05_2_of_0", _big(1, _INST), _q05(0, 0, 2, True, "no quotas at all, 2 编外")),
    _Scenario(
        "q05_1_of_4",
        _big(1, _INST),
        _q05(4, 4, 1, True, "1 编外 > 0.8: fires under 'at least one person'"),
    ),
    _Scenario("l01_two_principals", _any, post=_post_l01_two, weight=2),
    _Scenario("l01_missing_row", _any, _pre_l01_missing, weight=1),
    _Scenario(
        "l02_over",
        _big(12),
        _pre_l02(-1, True, "one deputy more than approved", "l02_over"),
        weight=2,
    ),
    _Scenario(
        "l02_exact", _big(12), _pre_l02(0, False, "deputies exactly at approved", "l02_exact")
    ),
    _Scenario("l02_history", _big(12), _pre_l02_history, weight=1),
    _Scenario("l03_over", _with_bodies(3), _pre_l03, weight=1),
    _Scenario("l04_missing_row", _with_bodies(3), _pre_l04, weight=1),
    _Scenario(
        "l05_logistics_leader",
        lambda b, u: b.cnt[u, 2] >= 1 and _with_bodies(2)(b, u),
        _pre_l05,
        _post_l05,
        weight=1,
    ),
    _Scenario("l05_retired", _big(12), _pre_l05_retired, _post_l05_retired),
    _Scenario(
        "b01_over",
        _with_bodies(3),
        _pre_limit(-1),
        _post_b01(True, "one body over the limit", "b01_over"),
        weight=1,
    ),
    _Scenario(
        "b01_exact",
        _with_bodies(3),
        _pre_limit(0),
        _post_b01(False, "bodies exactly at the limit", "b01_exact"),
    ),
    _Scenario(
        "b01_no_limit",
        _with_bodies(3),
        _pre_limit(-99),
        _post_b01(False, "no bodies_limit given", "b01_no_limit"),
    ),
    _Scenario("b01_unapproved_counts", _with_bodies(3, 24), _pre_limit(0), _post_b01_unapproved),
    _Scenario(
        "b02_unapproved", _with_bodies(3, 24), _pre_limit(-99), _post_b02_unapproved, weight=1
    ),
    _Scenario("b02_unknown_body", _with_bodies(3, 24), post=_post_b02_unknown, weight=1),
    _Scenario("b02_foreign_body", _with_bodies(3, 24), post=_post_b02_foreign),
    _Scenario("b02_no_bodies", _big(6), _pre_no_bodies, _post_b02_no_bodies),
    _Scenario("b02_retired_unknown", _big(6), _pre_extra, _post_b02_retired_unknown),
    _Scenario(
        "b03_small",
        _with_bodies(3),
        post=_post_b03(2, True, "2 counted people", "b03_small"),
        weight=1,
    ),
    _Scenario(
        "b03_exact3",
        _with_bodies(3),
        post=_post_b03(3, False, "exactly 3 counted people", "b03_exact3"),
    ),
    _Scenario("b03_retired_in_small", _with_bodies(3), _pre_extra, _post_b03_retired),
    _Scenario(
        "b03_two_bodies",
        _with_bodies(2, 16),
        _pre_two_bodies,
        _post_b03(1, False, "unit has only 2 bodies", "b03_two_bodies"),
    ),
    _Scenario("p01_man_long_over", _any, post=_post_p01_long_over, weight=2),
    _Scenario(
        "p01_man_exact",
        _any,
        post=_p01("M", _MGMT, "exact", True, "p01_man_exact", "retirement month = as-of month"),
        weight=1,
    ),
    _Scenario(
        "p01_man_next",
        _any,
        post=_p01("M", _MGMT, "later", False, "p01_man_next", "retires the month after"),
    ),
    _Scenario(
        "p01_woman_cadre_exact",
        _any,
        post=_p01(
            "F",
            _MGMT,
            "exact",
            True,
            "p01_woman_cadre_exact",
            "woman cadre, retirement month = as-of month",
        ),
        weight=1,
    ),
    _Scenario(
        "p01_woman_worker_exact",
        _any,
        post=_p01(
            "F",
            _WORKER,
            "exact",
            True,
            "p01_woman_worker_exact",
            "woman worker, retirement month = as-of month",
        ),
        weight=1,
    ),
    _Scenario(
        "p01_woman_worker_as_cadre",
        _any,
        post=_p01(
            "F",
            _PROF,
            "worker_as_cadre",
            False,
            "p01_woman_worker_as_cadre",
            "a worker's birth month, but a professional post: cadre age",
        ),
    ),
    _Scenario("p01_no_gender", _any, post=_post_p01_missing("gender")),
    _Scenario("p01_no_birth", _any, post=_post_p01_missing("birth")),
    _Scenario("p01_retired_over", _any, _pre_extra, _post_p01_retired),
    _Scenario("p02_pair", _any, post=_post_p02("pair"), weight=1, partners=1),
    _Scenario("p02_lower_x", _any, post=_post_p02("lower_x"), weight=1, partners=1),
    _Scenario("p02_three_units", _any, post=_post_p02("three_units"), partners=2),
    _Scenario("p02_blank", _any, post=_post_p02("blank"), partners=1),
    _Scenario("p02_same_unit", _any, post=_post_p02("same_unit")),
    _Scenario("p02_left_other", _any, _pre_partner_extra, _post_p02("left_other"), partners=1),
    _Scenario("p03_366", _any, post=_post_away(_SECONDED, 366, True, "p03_366", "P03"), weight=1),
    _Scenario("p03_365", _any, post=_post_away(_SECONDED, 365, False, "p03_365", "P03")),
    _Scenario("p03_long", _any, post=_post_away(_SECONDED, 800, True, "p03_long", "P03"), weight=1),
    _Scenario("p03_no_since", _any, post=_post_away(_SECONDED, None, False, "p03_no_since", "P03")),
    _Scenario("p04_366", _any, post=_post_away(_LONG_LEAVE, 366, True, "p04_366", "P04"), weight=1),
    _Scenario("p04_365", _any, post=_post_away(_LONG_LEAVE, 365, False, "p04_365", "P04")),
    _Scenario(
        "p04_long", _any, post=_post_away(_LONG_LEAVE, 1200, True, "p04_long", "P04"), weight=1
    ),
    _Scenario("p05_retired", _any, _pre_extra, _post_p05(_RETIRED), weight=2),
    _Scenario("p05_left", _any, _pre_extra, _post_p05(_LEFT), weight=2),
    _Scenario("p06_check", _any, post=_post_p06("check"), weight=2),
    _Scenario("p06_date", _any, post=_post_p06("date"), weight=1),
    _Scenario("p06_len15", _any, post=_post_p06("len15"), weight=1),
    _Scenario("p06_letter", _any, post=_post_p06("letter")),
    _Scenario("p06_lower_x", _any, post=_post_p06("lower_x")),
    _Scenario("p06_empty", _any, post=_post_p06("empty")),
    _Scenario("f01_retired_paid", _any, _pre_extra, _post_f01_retired_paid),
    _Scenario("f01_ghost", _any, post=_post_f01_ghost),
    _Scenario("f02_unpaid", _any, post=_post_f02),
    _Scenario("d05_admin_duty", _big(4, _INST), post=_post_d05),
)

# ---------------------------------------------------------------- F and D scenarios


@dataclass(frozen=True)
class _FdScenario:
    name: str
    post: Callable[[_Builder, int], None]  # raises _Unfit before changing anything
    pool: str = "free"  # free: a unit no other plant uses; rows: not a Q/L/B/P unit; any
    weight: float = 0.0  # >0: also drawn at random on large datasets
    order: int = 1  # 0 first (shells change the peer groups of D03/D04)


def _f01_paid_elsewhere(also_home: bool) -> Callable[[_Builder, int], None]:
    name = "f01_paid_twice" if also_home else "f01_paid_elsewhere"

    def post(b: _Builder, u: int) -> None:
        row = b.plain_row(u)
        (payer,) = b.pick_units(1, {u})
        if also_home:
            b.pay_also.append((row, payer))
        else:
            b.pay_unit[row] = payer
        b.fd_touched.add(payer)
        where = b.unit_ids[u]
        b.fd_person(name, "F01", payer, row, note=f"counted in {where}, paid here")
        if also_home:
            b.fd_person(name, "F01", u, row, False, "paid where counted (and elsewhere)")
        else:
            b.fd_person(name, "F02", u, row, False, "paid by another unit: paid")

    return post


def _f01_ghost_months(b: _Builder, u: int) -> None:
    taken = {g[0] for g in b.ghost_pay}
    pid = f"P9{int(b.fd_rng.integers(10**6, 10**7))}"
    if pid in taken:
        raise _Unfit
    b.ghost_pay.append((pid, u, 3))
    b.plant("f01_ghost_months", "F01", u, pid, note="3 monthly payroll rows, one finding")


def _away(b: _Builder, row: int, status: int, days: int, host: int) -> None:
    b.status_arr[row] = status
    b.since[row] = b.today - days
    b.work[row] = host


def _f01_seconded_paid_by_host(b: _Builder, u: int) -> None:
    row = b.plain_row(u)
    (host,) = b.pick_units(1, {u})
    _away(b, row, _SECONDED, 100, host)
    b.pay_unit[row] = host
    b.fd_touched.add(host)
    b.fd_person(
        "f01_seconded_paid_by_host", "F01", host, row, note="seconded here 100 days, paid here"
    )
    b.fd_person("f01_seconded_paid_by_host", "F01", u, row, False, "home unit does not pay")


def _f02_away_unpaid(status: int, days: int) -> Callable[[_Builder, int], None]:
    name = f"f02_{STATUSES[status]}_unpaid"

    def post(b: _Builder, u: int) -> None:
        row = b.plain_row(u)
        host = -1
        if status == _SECONDED:
            (host,) = b.pick_units(1, {u})
        _away(b, row, status, days, host)
        b.paid[row] = False
        b.fd_person(name, "F02", u, row, False, f"{STATUSES[status]}, no payroll row")

    return post


def _f02_contract_unpaid(b: _Builder, u: int) -> None:
    row = b.plain_row(u, slot=3)
    b.paid[row] = False
    b.fd_person("f02_contract_unpaid", "F02", u, row, note="编外 on post, no payroll row")


def _d02_shell(
    status: str, blank: bool, expect: bool, name: str, note: str
) -> Callable[[_Builder, int], None]:
    def post(b: _Builder, u: int) -> None:
        if b.tmpl_nb[u] != 0 or b.nb[u] != 0:
            raise _Unfit
        b.make_shell(u)
        b.status[u] = status
        b.status_blank[u] = blank
        b.plant(name, "D02", u, "unit", expect, note)

    return post


def _d02_zero(everything: bool) -> Callable[[_Builder, int], None]:
    name = "d02_all_zero" if everything else "d02_some_zero"

    def post(b: _Builder, u: int) -> None:
        if b.extra_codes.get(u):
            raise _Unfit  # a partner of another plant: its rows are not ours to zero
        codes = b.codes(u) if everything else b.own_codes(u)[:1]
        if not all(b.group_fits(c, low=1, need=0) for c in codes):
            raise _Unfit
        for code in codes:
            b.mark_group(code, low=1)
            b.wl_spec[(u, code)] = ("zero",)
            b.zero_rows.append((u, code, name))
        if everything:
            b.fd_excl.add(u)
            b.plant(name, "D02", u, "unit", note="people on post, every workload row 0")
        else:
            b.plant(name, "D02", u, "unit", False, f"only {codes[0]} reported 0")

    return post


def _vacancy_plan(b: _Builder, u: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows to drop, new quotas) giving the unit's overall vacancy of the mode."""
    r = b.rows(u)
    live = r[(b.status_arr[r] <= _LONG_LEAVE) & (b.slot[r] < 4) & ~b.dropped[r]]
    per_slot = np.bincount(b.slot[live], minlength=4)
    staffed = int(per_slot[:3].sum())
    drop = np.zeros(0, dtype=np.int64)
    extra = 0
    if mode == "5pct":  # quota 20k, staffed 19k: exactly 5 %
        k = staffed // 19
        if k < 1:
            raise _Unfit
        n_drop = staffed - 19 * k
        if n_drop:
            drop = b.staff(u, 0, k=n_drop, body_min=3 if b.nb[u] else 0)
            if len(drop) != n_drop or set(drop.tolist()) & b.fd_rows:
                raise _Unfit
            per_slot[0] -= n_drop
        extra = k
    elif mode == "vacant":  # about 10 %, never enough for Q03
        extra = max(1, -(-staffed // 10))
        if extra >= 3 and extra / (per_slot[0] + extra) >= 0.3:
            raise _Unfit
    quota = per_slot[:3].copy()
    quota[0] += extra
    if per_slot[3] > 0.2 * quota.sum():  # Q05 must stay quiet
        raise _Unfit
    return drop, quota


def _d0304(
    name: str, rule: str, factor: tuple[int, int, int], quotas: str | None, expect: bool, note: str
) -> Callable[[_Builder, int], None]:
    """A unit whose workload per head on a shared duty is factor x the peers' median."""
    num, den, delta = factor
    low = num < den

    def post(b: _Builder, u: int) -> None:
        codes = [
            c
            for c in b.base_codes(u)
            if (u, c) not in b.wl_spec and b.group_fits(c, low=int(low), high=int(not low))
        ]
        service = [c for c in codes if c == b.service[u]]
        if not codes:
            raise _Unfit
        code = (service or codes)[0]
        if quotas:
            drop, quota = _vacancy_plan(b, u, quotas)
            b.dropped[drop] = True
            b.live[u] -= len(drop)
            b.quota[u] = quota
        b.mark_group(code, low=int(low), high=int(not low))
        b.wl_spec[(u, code)] = ("rel", num, den, delta)
        b.plant(name, rule, u, code, expect, note)

    return post


def _d03_quarters(b: _Builder, u: int) -> None:
    codes = [c for c in b.base_codes(u) if (u, c) not in b.wl_spec and b.group_fits(c)]
    if not codes:
        raise _Unfit
    b.wl_spec[(u, codes[0])] = ("quarters",)
    b.plant("d03_quarters", "D03", u, codes[0], False, "4 quarterly rows, each low, the sum is not")


_TASKS = (
    "乡村振兴驻村帮扶",
    "全国文明城市创建",
    "森林防火值守",
    "防汛抗旱值班",
    "信访积案化解",
    "人口普查入户登记",
)


def _d03_assigned(
    partners: int, with_shell: bool, expect: bool, name: str, note: str
) -> Callable[[_Builder, int], None]:
    """An assigned task (source assigned) shared by u and a few partners at 100 per head."""

    def post(b: _Builder, u: int) -> None:
        others = b.pick_units(partners, {u})
        shell = -1
        if with_shell:
            candidates = [
                v
                for v in b.fd_rng.permutation(np.flatnonzero(b.active)).tolist()[:3000]
                if b.tmpl_nb[v] == 0 and b._fd_pool_ok("free", v) and v != u and v not in others
            ]
            if not candidates:
                raise _Unfit
            shell = candidates[0]
        b.assigned += 1
        code = f"JB-{b.assigned:04d}"
        text = "县委县政府交办：" + _TASKS[b.assigned % len(_TASKS)]
        for v in [u, *others]:
            b.add_duty(v, code, text, "assigned")
            b.wl_spec[(v, code)] = ("rate", 100 if v != u else 30)
        b.plant(name, "D03", u, code, expect, note)
        if with_shell:
            b.make_shell(shell)
            b.fd_units.add(shell)
            b.add_duty(shell, code, text, "assigned")
            b.wl_extra.append((shell, code, 400))
            b.plant(name, "D02", shell, "unit", note="nobody counted, still reports workload")

    return post


def _d01(
    partners: int, source: str | None, same_region: bool, expect: bool, name: str, note: str
) -> Callable[[_Builder, int], None]:
    """One of u's own 三定 duties listed again for other units."""

    def post(b: _Builder, u: int) -> None:
        own = b.own_codes(u)[: len(_DUTY_TEXTS[b.kind[u]])]  # not a planted 行政处罚 duty
        code = own[int(b.fd_rng.integers(0, len(own)))]
        if code in b.d01_codes:
            raise _Unfit
        region = b.region_of[u]
        others = b.pick_units(partners, {u}, region, other_region=not same_region)
        if any(code in b.codes(v) for v in others):
            raise _Unfit
        if not same_region and any(b.held_in(b.region_of[v], code) for v in others):
            raise _Unfit  # the same template's unit of another county holds it there
        j = int(code.rsplit("-", 1)[1]) - 1
        texts = _DUTY_TEXTS[b.kind[u]]
        text = texts[j] if j < len(texts) else _ADMIN_DUTY_TEXT
        b.d01_codes.add(code)
        for v in others:
            b.add_duty(v, code, text, source)
        for v in [u, *others]:
            b.plant(name, "D01", v, code, expect, note)

    return post


def _d05(
    kind: str, text: str, source: str | None, expect: bool, name: str, note: str
) -> Callable[[_Builder, int], None]:
    def post(b: _Builder, u: int) -> None:
        if b.kind[u] != kind:
            raise _Unfit
        code = b.new_code(u)
        b.add_duty(u, code, text, source)
        b.plant(name, "D05", u, code, expect, note)

    return post


_HALF, _LOW, _ONE_AND_HALF, _HIGH = (1, 2, 0), (3, 10, 0), (3, 2, 0), (5, 2, 0)
_FD_SCENARIOS: tuple[_FdScenario, ...] = (
    _FdScenario(
        "d02_shell_active",
        _d02_shell("active", False, True, "d02_shell_active", "active, nobody counted"),
        weight=1,
        order=0,
    ),
    _FdScenario(
        "d02_shell_blank",
        _d02_shell("active", True, True, "d02_shell_blank", "status empty (= active), nobody"),
        order=0,
    ),
    _FdScenario(
        "d02_shell_merged",
        _d02_shell("merged", False, False, "d02_shell_merged", "merged: not a shell finding"),
        order=0,
    ),
    _FdScenario(
        "d03_peer_without_staff",
        _d03_assigned(
            1, True, False, "d03_peer_without_staff", "3 units report it, 1 has nobody: 2 peers"
        ),
        pool="any",
        order=0,
    ),
    _FdScenario("d02_all_zero", _d02_zero(True), weight=1),
    _FdScenario("d02_some_zero", _d02_zero(False)),
    _FdScenario(
        "d03_low",
        _d0304("d03_low", "D03", _LOW, None, True, "0.3 x the peers' median per head"),
        weight=2,
    ),
    _FdScenario(
        "d03_just_below",
        _d0304("d03_just_below", "D03", (1, 2, -1), None, True, "one unit below 0.5 x median"),
    ),
    _FdScenario(
        "d03_exact_half",
        _d0304("d03_exact_half", "D03", _HALF, None, False, "exactly 0.5 x median"),
    ),
    _FdScenario("d03_quarters", _d03_quarters),
    _FdScenario(
        "d03_three_peers",
        _d03_assigned(2, False, True, "d03_three_peers", "30 vs 100 and 100 per head"),
        pool="any",
        weight=0.5,
    ),
    _FdScenario(
        "d03_two_peers",
        _d03_assigned(1, False, False, "d03_two_peers", "30 vs 100 per head, only 2 peers"),
        pool="any",
    ),
    _FdScenario(
        "d04_high",
        _d0304("d04_high", "D04", _HIGH, "exact", True, "2.5 x median, quotas full"),
        weight=1,
    ),
    _FdScenario(
        "d04_just_above",
        _d0304("d04_just_above", "D04", (3, 2, 1), "exact", True, "one unit above 1.5 x median"),
    ),
    _FdScenario(
        "d04_exact",
        _d0304("d04_exact", "D04", _ONE_AND_HALF, "exact", False, "exactly 1.5 x median"),
    ),
    _FdScenario(
        "d04_vacancy_5pct",
        _d0304(
            "d04_vacancy_5pct", "D04", _HIGH, "5pct", False, "2.5 x median, vacancy exactly 5 %"
        ),
    ),
    _FdScenario(
        "d04_vacant",
        _d0304("d04_vacant", "D04", _HIGH, "vacant", False, "2.5 x median, vacancy about 10 %"),
    ),
    _FdScenario(
        "d01_overlap",
        _d01(1, "sanding", True, True, "d01_overlap", "same 三定 duty, same region"),
        pool="any",
        weight=2,
    ),
    _FdScenario(
        "d01_three_units",
        _d01(2, "sanding", True, True, "d01_three_units", "one duty in three units"),
        pool="any",
        weight=0.5,
    ),
    _FdScenario(
        "d01_empty_source",
        _d01(1, None, True, True, "d01_empty_source", "the copy has no source: counts"),
        pool="any",
        weight=1,
    ),
    _FdScenario(
        "d01_other_source",
        _d01(1, "assigned", True, False, "d01_other_source", "the copy is an assigned task"),
        pool="any",
    ),
    _FdScenario(
        "d01_other_region",
        _d01(1, "sanding", False, False, "d01_other_region", "same duty, another region"),
        pool="any",
    ),
    _FdScenario(
        "d05_english_tag",
        _d05(_IN, "受委托代收停车服务费 [Fee]", "sanding", True, "d05_english_tag", "tag fee"),
        pool="any",
        weight=0.5,
    ),
    _FdScenario(
        "d05_other_source",
        _d05(_IN, "承担辖区行政检查辅助工作", "assigned", True, "d05_other_source", "any source"),
        pool="any",
        weight=1,
    ),
    _FdScenario(
        "d05_party_gov",
        _d05(
            _PG, "依法实施本领域行政许可", "sanding", False, "d05_party_gov", "not an institution"
        ),
        pool="any",
    ),
    _FdScenario(
        "d05_civil_ref",
        _d05(_CR, "依法实施本领域行政处罚", "sanding", False, "d05_civil_ref", "参公, not 事业"),
        pool="any",
    ),
    _FdScenario(
        "d05_near_keyword",
        _d05(
            _IN,
            "协助开展行政执法和执法检查",
            "sanding",
            False,
            "d05_near_keyword",
            "行政执法/执法检查 are not keywords",
        ),
        pool="any",
    ),
    _FdScenario("f01_paid_elsewhere", _f01_paid_elsewhere(False), pool="rows", weight=2),
    _FdScenario("f01_paid_twice", _f01_paid_elsewhere(True), pool="rows"),
    _FdScenario("f01_ghost_months", _f01_ghost_months, pool="rows", weight=1),
    _FdScenario("f01_seconded_paid_by_host", _f01_seconded_paid_by_host, pool="rows", weight=1),
    _FdScenario("f02_seconded_unpaid", _f02_away_unpaid(_SECONDED, 150), pool="rows"),
    _FdScenario("f02_long_leave_unpaid", _f02_away_unpaid(_LONG_LEAVE, 200), pool="rows"),
    _FdScenario("f02_contract_unpaid", _f02_contract_unpaid, pool="rows", weight=1),
)

# ---------------------------------------------------------------- tables

_DUTY_TEXTS = {
    "party_gov": (
        "贯彻落实党中央和上级关于本领域工作的方针政策和决策部署",
        "拟订本领域发展规划和政策措施并组织实施",
        "承担本领域监督管理和行政执法工作",
        "负责本领域统计分析、信息化建设和信息公开",
        "完成县委、县政府交办的其他任务",
    ),
    "civil_ref": (
        "承担本领域公共事务管理的具体工作",
        "组织实施本领域日常执法检查和业务指导",
        "负责本领域档案资料和信息化建设",
        "完成主管部门交办的其他任务",
    ),
    "institution": (
        "提供本领域公益服务",
        "承担本领域技术支撑和业务保障工作",
        "开展本领域业务培训、宣传和指导",
        "完成主管部门交办的其他任务",
    ),
}
_ADMIN_DUTY_TEXT = "依法实施本领域行政处罚和行政检查"
_METRICS = {"party_gov": "办件量", "civil_ref": "检查户次", "institution": "服务人次"}
# Shared public-service items (公共服务事项目录, source "catalogue"): comparable units of
# every town and county report workload on the same code, which D03/D04 compare. Not
# 三定 duties, so D01 leaves them alone.
_SERVICES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "GF-01": (
        "基本医疗和基本公共卫生服务",
        "门急诊人次",
        ("{c}人民医院", "{c}中医院", "{c}妇幼保健院", "{t}卫生院"),
    ),
    "GF-02": ("小学教育教学", "授课课时", ("{c}实验小学", "{t}中心小学", "{c}第{n}小学")),
    "GF-03": (
        "中学教育教学",
        "授课课时",
        ("{c}第一中学", "{c}第二中学", "{t}初级中学", "{c}第{n}中学"),
    ),
    "GF-04": ("学前教育保育", "保育人日", ("{c}实验幼儿园", "{t}中心幼儿园", "{c}第{n}幼儿园")),
    "GF-05": ("政务服务事项受理办理", "办件量", ("{c}政务服务中心", "{t}便民服务中心")),
    "GF-06": (
        "日常巡查和案件办理",
        "巡查户次",
        (
            "{c}市场监管综合行政执法队",
            "{c}农业农村综合行政执法队",
            "{c}文化市场综合行政执法队",
            "{c}交通运输综合行政执法队",
            "{t}综合行政执法队",
        ),
    ),
    "GF-07": ("公共文化服务", "服务人次", ("{c}文化馆", "{c}图书馆", "{c}博物馆", "{t}文化站")),
    "GF-08": (
        "农业技术推广服务",
        "服务户次",
        ("{c}农业技术推广中心", "{c}林业技术推广站", "{t}农业农村综合服务中心"),
    ),
    "GF-09": ("社会事务综合服务", "服务人次", ("{t}社会事务综合服务中心",)),
    "GF-10": ("退役军人服务保障", "服务人次", ("{t}退役军人服务站",)),
    "GF-11": ("党群服务", "服务人次", ("{t}党群服务中心",)),
    "GF-12": ("基层治理和为民服务", "办件量", ("{t}人民政府",)),
}
_SERVICE_OF = {name: code for code, (_, _, names) in _SERVICES.items() for name in names}


def _opt(values: np.ndarray, present: np.ndarray) -> pd.Series:
    """A string column with missing values where present is False."""
    out = np.asarray(values, dtype=object).copy()
    out[~present] = None
    return pd.Series(out, dtype="str")


def _units_frame(b: _Builder) -> pd.DataFrame:
    limit = pd.array(np.where(b.limit >= 0, b.limit, 0), dtype="Int64")
    limit[b.limit < 0] = pd.NA
    return pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids, dtype="str"),
            "name": pd.Series(b.unit_names, dtype="str"),
            "kind": pd.Series(b.kind, dtype="str"),
            "parent_id": _opt(b.unit_ids[np.maximum(b.parent, 0)], b.parent >= 0),
            "rank": pd.Series([t.rank for t in b.tmpl], dtype="str"),
            "funding": pd.Series([t.funding for t in b.tmpl], dtype="str"),
            "bodies_limit": limit,
            "status": _opt(b.status, ~b.status_blank),
            "region": pd.Series(b.region_of, dtype="str"),
        }
    )


def _doc_no(b: _Builder, u: int, day: int, bump: int) -> str:
    short = b.counties[b.county[u]][0].removesuffix("县")
    year = (date(1970, 1, 1) + timedelta(days=int(day))).year
    return f"{short}编〔{year}〕{int(b.doc_no_num[u]) + bump}号"


def _provision_frame(
    b: _Builder, key: str, units: np.ndarray, codes: np.ndarray, approved: np.ndarray, history: list
) -> pd.DataFrame:
    """Quota-like rows: one per (unit, key) from the plan plus dated revisions."""
    days = np.where(b.has_doc[units], b.doc_day[units], _NAT)
    doc = np.array(
        [
            _doc_no(b, int(u), int(d), 0) if d != _NAT else None
            for u, d in zip(units, days, strict=True)
        ],
        dtype=object,
    )
    for i, (u, code, value, day, _tag) in enumerate(history):
        units = np.append(units, u)
        codes = np.append(codes, code)
        approved = np.append(approved, value)
        days = np.append(days, day)
        doc = np.append(doc, np.array([_doc_no(b, u, day, i + 1)], dtype=object))
    order = np.lexsort((days, codes, units))
    return pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids[units[order]], dtype="str"),
            key: pd.Series(codes[order], dtype="str"),
            "approved": approved[order].astype(np.int64),
            "doc_no": pd.Series(doc[order], dtype="str"),
            "effective_from": _days_to_series(days[order]),
        }
    )


def _quotas_frame(b: _Builder) -> pd.DataFrame:
    units, slots = np.nonzero(b.quota > 0)
    cats = np.array(CATEGORIES, dtype=object)[b.slot_cat[units, slots]]
    history = [(u, CATEGORIES[c], v, day, tag) for u, c, v, day, tag in b.quota_history]
    return _provision_frame(b, "category", units, cats, b.quota[units, slots], history)


def _leader_quotas_frame(b: _Builder) -> pd.DataFrame:
    actual = np.column_stack([b.p, b.d, b.nb, b.bd])
    approved = np.maximum(actual + b.lq_slack, 0)
    keep = ~b.lq_drop & ((approved > 0) | (actual > 0))
    units, levels = np.nonzero(keep)
    codes = np.array(LEVELS[1:], dtype=object)[levels]
    history = [
        (u, LEVELS[lv + 1], max(0, int(actual[u, lv]) + delta), day, tag)
        for u, lv, delta, day, tag in b.leader_history
    ]
    return _provision_frame(b, "level", units, codes, approved[units, levels], history)


def _body_codes(b: _Builder) -> np.ndarray:
    """body_id text for every body index, including planted ones."""
    base = np.char.add(
        np.char.add(b.unit_ids[b.body_unit], "-"), _fmt_ids("", b.body_k + 1, 2)
    ).astype(object)
    extra = np.array([e[1] for e in b.extra_bodies], dtype=object)
    return np.concatenate([base, extra])


def _bodies_frame(b: _Builder, codes: np.ndarray) -> pd.DataFrame:
    names = np.array(
        [_BODY_NAMES[b.cls[u]][k] for u, k in zip(b.body_unit, b.body_k, strict=True)], dtype=object
    )
    in_table = [i for i, e in enumerate(b.extra_bodies) if e[4]]
    units = np.concatenate([b.body_unit, [b.extra_bodies[i][0] for i in in_table]]).astype(np.int64)
    name = np.concatenate([names, np.array([b.extra_bodies[i][2] for i in in_table], dtype=object)])
    code = np.concatenate(
        [codes[: len(b.body_unit)], codes[len(b.body_unit) + np.array(in_table, dtype=np.int64)]]
    )
    approved = np.concatenate(
        [np.ones(len(b.body_unit), dtype=bool), [b.extra_bodies[i][3] for i in in_table]]
    )
    order = np.argsort(units, kind="stable")
    return pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids[units[order]], dtype="str"),
            "body_id": pd.Series(code[order], dtype="str"),
            "name": pd.Series(name[order], dtype="str"),
            "approved": approved[order].astype(bool),
        }
    )


def _duties_frame(b: _Builder) -> pd.DataFrame:
    per_unit = np.array([len(_DUTY_TEXTS[k]) for k in b.kind], dtype=np.int64)
    units = np.repeat(np.arange(b.n), per_unit)
    j = np.arange(len(units)) - np.repeat(np.cumsum(per_unit) - per_unit, per_unit)
    texts = [_DUTY_TEXTS[b.kind[u]][k] for u, k in zip(units, j, strict=True)]
    prefix = np.array(b.duty_prefix, dtype=object)[units]
    codes = np.char.add(np.char.add(prefix.astype(str), "-"), _fmt_ids("", j + 1, 2)).astype(object)
    sources: list[str | None] = ["sanding"] * len(units)
    extra: list[tuple[int, str, str, str | None]] = [
        (u, f"{b.duty_prefix[u]}-05", _ADMIN_DUTY_TEXT, "sanding") for u in b.admin_duty
    ]
    served = np.flatnonzero(b.service != "")
    extra += [(u, b.service[u], _SERVICES[b.service[u]][0], "catalogue") for u in served.tolist()]
    extra += b.extra_duties
    units = np.concatenate([units, np.array([e[0] for e in extra], dtype=np.int64)])
    codes = np.concatenate([codes, np.array([e[1] for e in extra], dtype=object)])
    texts += [e[2] for e in extra]
    sources += [e[3] for e in extra]
    order = np.argsort(units, kind="stable")
    return pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids[units[order]], dtype="str"),
            "duty_code": pd.Series(codes[order], dtype="str"),
            "text": pd.Series(np.array(texts, dtype=object)[order], dtype="str"),
            "source": pd.Series(np.array(sources, dtype=object)[order], dtype="str"),
        }
    )


def _group_median(ratios: list[float]) -> float:
    median = statistics.median(ratios)
    if not math.isfinite(median):
        raise AssertionError("a planted workload group lost its median")
    return median


def _workload_frame(b: _Builder, duties: pd.DataFrame, counted: np.ndarray) -> pd.DataFrame:
    """One row per duty of a unit with people: value = people x a rate of 100-140 (x4).

    Rates are multiples of 4, so every peer median is an even integer and 0.5 x and
    1.5 x the median are exact; planted specs (b.wl_spec) then set values relative to
    the median of the other, clean, peers.
    """
    index = {uid: i for i, uid in enumerate(b.unit_ids.tolist())}
    units = duties["unit_id"].map(index).to_numpy(dtype=np.int64)
    codes = duties["duty_code"].to_numpy(dtype=object)
    keep = counted[units] > 0
    units, codes = units[keep], codes[keep]
    rng = np.random.default_rng([b.seed, 0x3D])
    rate = 4 * rng.integers(25, 36, len(units))
    people = counted[units]
    value = (people * rate).astype(np.int64)
    pos = {key: i for i, key in enumerate(zip(units.tolist(), codes.tolist(), strict=True))}
    for (u, code), spec in b.wl_spec.items():
        i = pos[(u, code)]
        if spec[0] == "rate":
            value[i] = people[i] * spec[1]
        elif spec[0] == "zero":
            value[i] = 0
    members = pd.Series(np.arange(len(units))).groupby(codes).indices if len(units) else {}
    planted_groups = {code for (u, code), spec in b.wl_spec.items() if spec[0] in ("rel", "zero")}
    for code in sorted(planted_groups):
        rows = members[code]
        if len(rows) < 3:
            continue
        ratios = []
        for i in rows.tolist():
            spec = b.wl_spec.get((int(units[i]), code))
            if spec and spec[0] == "zero":
                ratios.append(-math.inf)
            elif spec and spec[0] == "rel":
                ratios.append(-math.inf if spec[1] < spec[2] else math.inf)
            else:
                ratios.append(value[i] / people[i])
        median = _group_median(ratios)
        for i in rows.tolist():
            spec = b.wl_spec.get((int(units[i]), code))
            if spec and spec[0] == "rel":
                _, num, den, delta = spec
                value[i] = int(round(median * int(people[i]) * num / den)) + delta
        if statistics.median((value[rows] / people[rows]).tolist()) != median:
            raise AssertionError(f"planted workload moved the median of {code}")
    for u, code, name in b.zero_rows:
        rows = members.get(code, np.zeros(0, dtype=np.int64)) if len(units) else []
        due = len(rows) >= 3
        peers = f"{len(rows)} peer" + ("" if len(rows) == 1 else "s")
        b.plant(name, "D03", u, code, due, f"0 per head, {peers}")
    metric = np.array([_METRICS[k] for k in b.kind[units]], dtype=object)
    for code, (_, name, _) in _SERVICES.items():
        metric[codes == code] = name
    metric[np.char.startswith(codes.astype(str), "JB-")] = "任务完成量"
    period = np.full(len(units), str(b.as_of.year - 1), dtype=object)
    # Quarterly rows: four rows whose sum is the year's value.
    split = [pos[key] for key, spec in b.wl_spec.items() if spec[0] == "quarters"]
    rep = np.ones(len(units), dtype=np.int64)
    rep[split] = 4
    at = np.repeat(np.arange(len(units)), rep)
    out_value = value[at].copy()
    out_period = period[at].copy()
    for i in split:
        first = int(np.searchsorted(at, i))
        q, r = divmod(int(value[i]), 4)
        out_value[first : first + 4] = [q + r, q, q, q]
        out_period[first : first + 4] = [f"{b.as_of.year - 1}-Q{k}" for k in range(1, 5)]
    extra = b.wl_extra
    all_units = np.concatenate([units[at], np.array([e[0] for e in extra], dtype=np.int64)])
    frame = pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids[all_units], dtype="str"),
            "duty_code": pd.Series(
                np.concatenate([codes[at], np.array([e[1] for e in extra], dtype=object)]),
                dtype="str",
            ),
            "metric": pd.Series(
                np.concatenate([metric[at], np.full(len(extra), "任务完成量", dtype=object)]),
                dtype="str",
            ),
            "value": np.concatenate(
                [out_value, np.array([e[2] for e in extra], dtype=np.int64)]
            ).astype(np.int64),
            "period": pd.Series(
                np.concatenate(
                    [out_period, np.full(len(extra), str(b.as_of.year - 1), dtype=object)]
                ),
                dtype="str",
            ),
        }
    )
    order = np.argsort(all_units, kind="stable")
    return frame.iloc[order].reset_index(drop=True)


# ---------------------------------------------------------------- score inputs

# Level-3 indicator ids of the default model's given scores (as in the audit JSON breakdown).
SCORE_INDICATORS = ("party_management", "annual_report", "reform_tasks", "performance", "targets")
SURVEY_ITEMS = ("S01", "S02", "S03", "S04", "S05", "S06")
SURVEY_REVERSE = np.array([False, False, False, False, True, True])  # negatively worded
RESPONDENT_GROUPS = np.array(["服务对象", "干部职工", "两代表一委员"], dtype=object)
# indicator: (maximum, share of units listed, mean loss, loss per sd of quality, noise, note)
_GIVEN = {
    "party_management": (5.0, 0.9, 1.6, 1.0, 0.8, "机构编制事项未按规定报党委研究"),
    "annual_report": (3.0, 0.9, 0.8, 0.7, 0.6, "机构编制年度报告报送不及时或不完整"),
    "reform_tasks": (2.0, 0.8, 0.7, 0.5, 0.4, "改革任务未按期完成"),
}
_TROUBLED = 0.04  # share of units that do badly on everything


def _score_inputs(b: _Builder) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scores and survey tables, from their own random stream.

    Each active unit has a latent quality (standard normal; a few "troubled" units far
    below) that drives all its given scores and its survey answers, so good units tend
    to be good everywhere. Party management, annual report and reform tasks are listed
    for 80-90 % of units, in half points below the maximum where something was wrong,
    with a note (units not listed get full marks); the annual assessment (performance,
    0-100, spread over 60-98) for about 96 %; unit-specific targets (1-6 in half
    points, above the maximum of 5 now and then: the model caps them) for about 80 %.
    About 94 % of units have a satisfaction survey: 3-6 respondents each answering six
    5-point items, two of them reverse worded (stored as answered, so 6 - x is the
    satisfaction), about 3 % of answers skipped. Calibrated so that a county of a few
    hundred units has grades A, B and C and the 30 % A-share cap binds in some seeds only.
    """
    rng = np.random.default_rng([b.seed, 0x5C0])
    n = b.n
    alive = np.asarray(b.status == "active", dtype=bool)
    quality = rng.standard_normal(n) - (rng.random(n) < _TROUBLED) * rng.uniform(2.0, 3.5, n)
    parts: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for k, (indicator, (top, share, loss, slope, noise, note)) in enumerate(_GIVEN.items()):
        listed = (rng.random(n) < share) & alive
        lost = np.maximum(0.0, loss - slope * quality + rng.normal(0, noise, n))
        value = np.clip(top - np.round(lost * 2) / 2, 0, top)
        if indicator == "annual_report":
            value[rng.random(n) < 0.02] = 0.0  # not submitted
        notes = np.where(value < top, note, None)
        parts.append((np.flatnonzero(listed), k, value[listed], notes[listed]))
    assessed = (rng.random(n) < 0.96) & alive
    perf = np.clip(np.round(74 + 9 * quality + rng.normal(0, 3, n), 1), 60.0, 98.0)
    parts.append((np.flatnonzero(assessed), 3, perf[assessed], np.full(assessed.sum(), None)))
    targeted = (rng.random(n) < 0.8) & alive
    target = np.clip(np.round((2.8 + 0.9 * quality + rng.normal(0, 0.7, n)) * 2) / 2, 1.0, 6.0)
    parts.append((np.flatnonzero(targeted), 4, target[targeted], np.full(targeted.sum(), None)))
    unit = np.concatenate([p[0] for p in parts])
    which = np.concatenate([np.full(len(p[0]), p[1], dtype=np.int64) for p in parts])
    order = np.lexsort((which, unit))
    scores = pd.DataFrame(
        {
            "unit_id": pd.Series(b.unit_ids[unit[order]], dtype="str"),
            "indicator": pd.Series(
                np.array(SCORE_INDICATORS, dtype=object)[which[order]], dtype="str"
            ),
            "value": np.concatenate([p[2] for p in parts])[order].astype(np.float64),
            "note": pd.Series(np.concatenate([p[3] for p in parts])[order], dtype="str"),
        }
    )

    surveyed = (rng.random(n) < 0.94) & alive
    respondents = rng.integers(3, 7, n)
    mood = 3.3 + 0.55 * quality + rng.normal(0, 0.3, n)
    resp_unit = np.repeat(np.flatnonzero(surveyed), respondents[surveyed])
    n_resp, n_items = len(resp_unit), len(SURVEY_ITEMS)
    group = rng.choice(len(RESPONDENT_GROUPS), n_resp, p=[0.6, 0.3, 0.1])
    felt = np.clip(np.rint(mood[resp_unit][:, None] + rng.normal(0, 0.8, (n_resp, n_items))), 1, 5)
    answer = np.where(SURVEY_REVERSE[None, :], 6 - felt, felt).astype(np.int64)
    answered = (rng.random((n_resp, n_items)) >= 0.03).ravel()
    resp = np.repeat(np.arange(n_resp), n_items)[answered]
    item = np.tile(np.arange(n_items), n_resp)[answered]
    width = max(6, len(str(n_resp)))
    survey = pd.DataFrame(
        {
            "respondent_id": pd.Series(_fmt_ids("R", resp + 1, width), dtype="str"),
            "unit_id": pd.Series(b.unit_ids[resp_unit[resp]], dtype="str"),
            "item_id": pd.Series(np.array(SURVEY_ITEMS, dtype=object)[item], dtype="str"),
            "score": answer.ravel()[answered],
            "respondent_group": pd.Series(RESPONDENT_GROUPS[group[resp]], dtype="str"),
            "reverse": SURVEY_REVERSE[item],
        }
    )
    return scores, survey


def _finish(b: _Builder) -> SynthDataset:
    # Extra rows a rolled-back scenario left, and the people of shell units, are not listed.
    keep = ~((b.slot == 4) & (b.status_arr <= _LONG_LEAVE)) & ~b.dropped
    rows = np.flatnonzero(keep)
    person_ids = _fmt_ids("P", np.arange(b.N) + 1, 8)
    codes = _body_codes(b)
    birth = b.birth.copy()
    birth[list(b.birth_blank)] = _NAT
    unit = b.unit_of
    roster = pd.DataFrame(
        {
            "person_id": pd.Series(person_ids[rows], dtype="str"),
            "unit_id": pd.Series(b.unit_ids[unit[rows]], dtype="str"),
            "category": pd.Series(np.array(CATEGORIES, dtype=object)[b.cat[rows]], dtype="str"),
            "name": pd.Series(b.names[rows], dtype="str"),
            "id_number": pd.Series(b.ids[rows], dtype="str"),
            "gender": _opt(
                np.array(["M", "F", ""], dtype=object)[b.gender[rows]], b.gender[rows] >= 0
            ),
            "birth_date": _days_to_series(birth[rows]),
            "leadership": pd.Series(np.array(LEVELS, dtype=object)[b.lead[rows]], dtype="str"),
            "body_id": _opt(codes[np.maximum(b.body[rows], 0)], b.body[rows] >= 0),
            "position": pd.Series(b.positions[rows], dtype="str"),
            "post_type": _opt(
                np.array(POST_TYPES, dtype=object)[b.post[rows]], ~b.post_blank[rows]
            ),
            "status": pd.Series(np.array(STATUSES, dtype=object)[b.status_arr[rows]], dtype="str"),
            "status_since": _days_to_series(b.since[rows]),
            "work_unit_id": _opt(b.unit_ids[np.maximum(b.work[rows], 0)], b.work[rows] >= 0),
            "entry_date": _days_to_series(b.entry[rows]),
        }
    )
    counted_mask = keep & (b.status_arr <= _LONG_LEAVE)
    counted = np.bincount(unit[counted_mask], minlength=b.n)

    paid = np.flatnonzero(keep & b.paid & ((b.status_arr <= _LONG_LEAVE) | (b.slot == 4)))
    amount = np.round(np.clip(b.rng.normal(6800, 1600, len(paid)), 2600, None), 2)
    period = f"{b.as_of:%Y-%m}"
    payer = unit[paid].copy()
    for row, v in b.pay_unit.items():
        payer[np.searchsorted(paid, row)] = v
    also = np.array([row for row, _ in b.pay_also], dtype=np.int64)
    month = _month_index(b.as_of)
    ghosts = [
        (pid, u, f"{(month - m) // 12:04d}-{(month - m) % 12 + 1:02d}")
        for pid, u, months in b.ghost_pay
        for m in range(months)
    ]
    payroll = pd.DataFrame(
        {
            "person_id": pd.Series(
                np.concatenate([person_ids[paid], person_ids[also], [g[0] for g in ghosts]]),
                dtype="str",
            ),
            "unit_id": pd.Series(
                np.concatenate(
                    [
                        b.unit_ids[payer],
                        b.unit_ids[[v for _, v in b.pay_also]],
                        [b.unit_ids[g[1]] for g in ghosts],
                    ]
                ),
                dtype="str",
            ),
            "id_number": pd.Series(
                np.concatenate([b.ids[paid], b.ids[also], [None] * len(ghosts)]), dtype="str"
            ),
            "period": pd.Series(
                np.array([period] * (len(paid) + len(also)) + [g[2] for g in ghosts], dtype=object),
                dtype="str",
            ),
            "amount": np.concatenate(
                [amount, amount[np.searchsorted(paid, also)], np.full(len(ghosts), 5200.0)]
            ),
        }
    )

    recent = np.flatnonzero(keep & (b.entry >= b.today - 730) & (b.entry != _NAT))
    gone = np.flatnonzero(keep & (b.status_arr >= _RETIRED))
    mv_rows = np.concatenate([recent, gone])
    mv_order = np.argsort(mv_rows, kind="stable")
    movements = pd.DataFrame(
        {
            "person_id": pd.Series(person_ids[mv_rows[mv_order]], dtype="str"),
            "unit_id": pd.Series(b.unit_ids[unit[mv_rows[mv_order]]], dtype="str"),
            "direction": pd.Series(
                np.array(["in"] * len(recent) + ["out"] * len(gone), dtype=object)[mv_order],
                dtype="str",
            ),
            "date": _days_to_series(np.concatenate([b.entry[recent], b.since[gone]])[mv_order]),
            "category": pd.Series(
                np.array(CATEGORIES, dtype=object)[b.cat[mv_rows[mv_order]]], dtype="str"
            ),
        }
    )
    duties = _duties_frame(b)
    workload = _workload_frame(b, duties, counted)
    scores, survey = _score_inputs(b)
    planted = [(s, r, str(b.unit_ids[u]), subj, e, note) for s, r, u, subj, e, note in b.planted]
    planted += [
        (s, r, str(b.unit_ids[u]), str(person_ids[row]), e, note)
        for s, r, u, row, e, note in b.person_plants
    ]
    planted_df = pd.DataFrame(
        planted, columns=["scenario", "rule", "unit_id", "subject", "expect", "note"]
    )
    planted_df["expect"] = planted_df["expect"].astype(bool)
    planted_df = planted_df.sort_values(["rule", "unit_id", "subject"], kind="stable").reset_index(
        drop=True
    )
    return SynthDataset(
        units=_units_frame(b),
        quotas=_quotas_frame(b),
        leader_quotas=_leader_quotas_frame(b),
        bodies=_bodies_frame(b, codes),
        duties=duties,
        roster=roster,
        payroll=payroll,
        workload=workload,
        movements=movements,
        scores=scores,
        survey=survey,
        planted=planted_df,
        as_of=b.as_of,
        seed=b.seed,
        meta={"skipped": sorted(set(b.skipped)), "planted_units": len(b.used | b.fd_touched)},
    )


def generate(
    n_units: int,
    seed: int,
    people_per_unit: float = 32,
    violation_rate: float = 0.08,
    as_of: date = date(2026, 6, 30),
) -> SynthDataset:
    """A deterministic synthetic dataset: same arguments, same tables."""
    if n_units < 1:
        raise ValueError("n_units must be at least 1")
    builder = _Builder(n_units, seed, people_per_unit, violation_rate, as_of)
    builder.run()
    return _finish(builder)


# ---------------------------------------------------------------- writing


def _iso(series: pd.Series) -> pd.Series:
    text = series.to_numpy().astype("datetime64[D]").astype(str).astype(object)
    text[series.isna().to_numpy()] = None
    return pd.Series(text, index=series.index, dtype="str")


def _zh_date(series: pd.Series, how: str) -> pd.Series:
    days = series.to_numpy().astype("datetime64[D]")
    ok = ~np.isnat(days)
    y = days.astype("datetime64[Y]").astype(np.int64) + 1970
    m = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    y, m, d = (x.astype(str).astype(object) for x in (y, m, d))
    text = y + "年" + m + "月" + d + "日" if how == "ymd" else y + "/" + m + "/" + d
    text[~ok] = None
    return pd.Series(text, index=series.index, dtype="str")


def export_frame(df: pd.DataFrame, table: str, chinese: bool = False) -> pd.DataFrame:
    """The table as an export would hold it: text dates and booleans, optionally Chinese."""
    out = df.copy()
    zh_dates = _ZH_DATES.get(table, {}) if chinese else {}
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = _zh_date(s, zh_dates[col]) if col in zh_dates else _iso(s)
        elif pd.api.types.is_bool_dtype(s):
            out[col] = s.map({True: "true", False: "false"}).astype("str")
    if chinese:
        for col, labels in ZH_LABELS.get(table, {}).items():
            if col in out.columns:
                out[col] = out[col].map(
                    lambda v, lab=labels: lab.get(v, v) if isinstance(v, str) else v
                )
        out = out.rename(columns=ZH_HEADERS[table])
    return out


def write(
    ds: SynthDataset,
    folder: str | Path,
    style: str = "csv",
    *,
    zh_tables: Iterable[str] = (),
    tables: Iterable[str] | None = None,
) -> list[Path]:
    """Write the dataset's tables into folder in one of STYLES; returns the files written.

    zh_tables names tables that get Chinese headers, labels and dates in any
    CSV style (csv-gbk-zh does that for all); tables limits which are written.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(tables) if tables is not None else list(TABLES)
    zh = set(TABLES) if style == "csv-gbk-zh" else set(zh_tables)
    frames = {name: export_frame(getattr(ds, name), name, chinese=name in zh) for name in names}
    written: list[Path] = []
    if style == "workbook":
        path = folder / WORKBOOK_NAME
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            for name, frame in frames.items():
                frame.to_excel(xl, sheet_name=name, index=False)
        return [path]
    for name, frame in frames.items():
        if style == "xlsx":
            path = folder / f"{name}.xlsx"
            frame.to_excel(path, sheet_name=name, index=False, engine="openpyxl")
        else:
            encoding = {"csv": "utf-8", "csv-bom": "utf-8-sig", "csv-gbk-zh": "gb18030"}[style]
            path = folder / f"{name}.csv"
            frame.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
        written.append(path)
    return written
