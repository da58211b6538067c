"""The test directory: 4 agencies, 15 departments (some nested), 200 people, 兼职 and role groups.

Deterministic, so counts can be asserted. Nothing here collides with the demo district (other USCCs,
机关代字 and usernames).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from slapd import BASE_DN, SERVICE_DN, SERVICE_PW, SUFFIX

from oa.uscc import make_uscc

USER_PASSWORD = "Ldap@Jiedong2026"

# (full name, 简称, 机关代字, USCC prefix, {department path: post of its people})
AGENCIES = [
    ("揭阳市揭东区自然资源局", "区自然资源局", "揭东自然资源", "11445203007191010",
     ["办公室", "规划科", "规划科/规划一股", "规划科/规划二股", "执法监察大队"]),
    ("揭阳市揭东区住房和城乡建设局", "区住建局", "揭东建", "11445203007191020",
     ["办公室", "建设管理科", "建设管理科/质量安全股", "城建档案馆"]),
    ("揭阳市揭东区卫生健康局", "区卫健局", "揭东卫健", "11445203007191030",
     ["办公室", "医政医管科", "疾病预防控制科", "疾病预防控制科/免疫规划股"]),
    ("揭阳市揭东区交通运输局", "区交通运输局", "揭东交", "11445203007191040",
     ["办公室", "运输管理科"]),
]
DEPARTMENT_COUNT = sum(len(a[4]) for a in AGENCIES)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "志强", "海燕", "文博", "子涵", "雨轩", "嘉怡"]
PEOPLE = 200


def agency_dn(name: str) -> str:
    return f"ou={name},{BASE_DN}"


def dept_dn(agency: str, path: str) -> str:
    parts = path.split("/")
    return ",".join(f"ou={p}" for p in reversed(parts)) + f",{agency_dn(agency)}"


@dataclass
class PersonRow:
    uid: str
    name: str
    agency: str
    dept: str
    title: str
    concurrent: list[str] = field(default_factory=list)

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{dept_dn(self.agency, self.dept)}"


def people() -> list[PersonRow]:
    rows: list[PersonRow] = []
    slots = [(a[0], d) for a in AGENCIES for d in a[4]]
    for i in range(PEOPLE):
        agency, dept = slots[i % len(slots)]
        # Given names are walked with a stride coprime to their count so names rarely repeat.
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        title = "科员"
        if i < len(slots):
            title = "局长" if dept == "办公室" else ("股长" if "/" in dept else "科长")
        rows.append(PersonRow(f"ldu{i:03d}", name, agency, dept, title))
    # 兼职: both reference forms (DN#职务 and 机关代字/部门路径#职务), one into the demo's local 区府办综合科.
    rows[20].concurrent = [f"{dept_dn('揭阳市揭东区卫生健康局', '办公室')}#副主任"]
    rows[21].concurrent = ["揭东自然资源/规划科/规划一股#股长"]
    rows[22].concurrent = ["揭东建/建设管理科#副科长", "揭东交/运输管理科#科员"]
    rows[23].concurrent = ["揭东府办/综合科#科员"]
    return rows


CONCURRENT_COUNT = 5

def _groups(rows: list[PersonRow]) -> list[tuple[str, str, str | None, list[str]]]:
    """(container dn, cn, description, member dns)."""
    by_uid = {r.uid: r for r in rows}
    groups = []
    for agency, _short, _code, _prefix, depts in AGENCIES:
        heads = [r for r in rows[:DEPARTMENT_COUNT] if r.agency == agency]
        boss = next(r for r in heads if r.dept == "办公室")
        groups.append((agency_dn(agency), "role-principal", None, [boss.dn]))
        staff = [r for r in rows[DEPARTMENT_COUNT:] if r.agency == agency and r.dept == "办公室"]
        groups.append((agency_dn(agency), "role-clerk", None, [staff[0].dn]))
        groups.append((agency_dn(agency), "role-seal_keeper", None, [staff[0].dn, staff[1].dn]))
        for dept in depts:
            head = next(r for r in heads if r.dept == dept)
            if dept != "办公室":
                groups.append((dept_dn(agency, dept), "role-dept_head", None, [head.dn]))
        # Mapping by description (a Role value) instead of the cn convention.
        business = depts[1]
        drafters = [r.dn for r in rows[DEPARTMENT_COUNT:] if r.agency == agency and r.dept == business][:3]
        groups.append((dept_dn(agency, business), "拟稿人员", "drafter", drafters))
    # Not a role: ignored by the sync.
    groups.append((agency_dn(AGENCIES[0][0]), "羽毛球协会", "文体活动", [by_uid["ldu030"].dn]))
    return groups


def role_count() -> int:
    return sum(len(members) for _c, cn, desc, members in _groups(people()) if cn.startswith("role-") or desc == "drafter")


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def line(attr: str, value: str) -> str:
    # LDIF needs base64 for anything that is not plain ASCII.
    return f"{attr}:: {_b64(value)}" if not value.isascii() else f"{attr}: {value}"


def entry(dn: str, attrs: list[tuple[str, str]]) -> str:
    return "\n".join([line("dn", dn), *(line(a, v) for a, v in attrs)]) + "\n"


def person_entry(row: PersonRow) -> str:
    attrs = [
        ("objectClass", "inetOrgPerson"), ("uid", row.uid), ("cn", row.name), ("sn", row.name[0]),
        ("displayName", row.name), ("mail", f"{row.uid}@ldap.jiedong.gov.example"),
        ("mobile", f"1380000{int(row.uid[3:]):04d}"), ("title", row.title), ("userPassword", USER_PASSWORD),
    ]
    attrs += [("departmentNumber", c) for c in row.concurrent]
    return entry(row.dn, attrs)


def ldif() -> str:
    rows = people()
    entries = [
        entry(SUFFIX, [("objectClass", "dcObject"), ("objectClass", "organization"), ("dc", "jiedong"),
                       ("o", "揭阳市揭东区")]),
        entry(SERVICE_DN, [("objectClass", "organizationalRole"), ("objectClass", "simpleSecurityObject"),
                           ("cn", "oa-sync"), ("userPassword", SERVICE_PW)]),
        entry(BASE_DN, [("objectClass", "organizationalUnit"), ("ou", "agencies")]),
    ]
    for name, short, code, prefix, depts in AGENCIES:
        entries.append(entry(agency_dn(name), [
            ("objectClass", "organizationalUnit"), ("ou", name), ("ou", short),
            ("businessCategory", make_uscc(prefix)), ("description", code),
        ]))
        for path in depts:
            entries.append(entry(dept_dn(name, path), [("objectClass", "organizationalUnit"),
                                                      ("ou", path.split("/")[-1])]))
    entries += [person_entry(r) for r in rows]
    for container, cn, desc, members in _groups(rows):
        attrs = [("objectClass", "groupOfNames"), ("cn", cn)]
        if desc:
            attrs.append(("description", desc))
        attrs += [("member", m) for m in members]
        entries.append(entry(f"cn={cn},{container}", attrs))
    return "\n".join(entries)
