"""The demo district (docs/demo.md): a 揭东区-like set of agencies, about 60 people and a named cast.

Idempotent: every object is found by a natural key and updated, so running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from oa.actions.delegation import check_create_delegation
from oa.actions.directory import (
    check_assign_role,
    check_upsert_agency,
    do_appoint,
    do_create_person,
    do_update_person,
    do_upsert_department,
    do_upsert_post,
)
from oa.models import Agency, Delegation, Person, Role
from oa.uscc import make_uscc

DEMO_PASSWORD = "Jiedong@2026"
VIA = "demo"  # the `via` of every directory action the loader calls
EMERGENCY_USERNAME = "oaroot"

POSTS = [
    ("区长", 10), ("副区长", 20), ("主任", 30), ("局长", 30), ("镇长", 30), ("街道办主任", 30),
    ("副主任", 40), ("副局长", 40), ("副镇长", 40), ("科长", 50), ("副科长", 60), ("科员", 70),
    ("机要员", 75), ("文书", 75), ("督查员", 75), ("工程师", 75),
]

# (key, full name, 规范化简称, 机关代字, kind, 17-char USCC prefix, departments)
AGENCIES = [
    ("gov", "揭阳市揭东区人民政府", "区政府", "揭东府", Agency.Kind.GOVERNMENT, "11445203007190001", ["区政府领导"]),
    ("office", "揭阳市揭东区人民政府办公室", "区府办", "揭东府办", Agency.Kind.OFFICE, "11445203007190010",
     ["秘书科", "综合科", "督查室", "机要室"]),
    ("data", "揭阳市揭东区政务服务数据管理局", "区政数局", "揭东政数", Agency.Kind.BUREAU, "11445203MB2C00020",
     ["办公室", "数据资源科", "信息化建设科"]),
    ("finance", "揭阳市揭东区财政局", "区财政局", "揭东财", Agency.Kind.BUREAU, "11445203007190030",
     ["办公室", "预算科", "国库科"]),
    ("edu", "揭阳市揭东区教育局", "区教育局", "揭东教", Agency.Kind.BUREAU, "11445203007190040",
     ["办公室", "基础教育科"]),
    ("market", "揭阳市揭东区市场监督管理局", "区市场监管局", "揭东市监", Agency.Kind.BUREAU, "11445203MB2C00050",
     ["办公室", "食品安全科"]),
    ("emergency", "揭阳市揭东区应急管理局", "区应急管理局", "揭东应急", Agency.Kind.BUREAU, "11445203MB2C00060",
     ["办公室", "安全生产科"]),
    ("audit", "揭阳市揭东区审计局", "区审计局", "揭东审", Agency.Kind.BUREAU, "11445203007190070",
     ["办公室", "财政审计科"]),
    ("quxi", "揭阳市揭东区曲溪街道办事处", "曲溪街道", "曲溪街", Agency.Kind.TOWN, "11445203007190080",
     ["党政办公室", "社会事务办"]),
    ("pandong", "揭阳市揭东区磐东街道办事处", "磐东街道", "磐东街", Agency.Kind.TOWN, "11445203007190090",
     ["党政办公室", "社会事务办"]),
    ("yuhu", "揭阳市揭东区玉湖镇人民政府", "玉湖镇", "玉湖府", Agency.Kind.TOWN, "11445203007190100",
     ["党政办公室", "农业农村办"]),
]


@dataclass(frozen=True)
class Member:
    username: str
    name: str
    agency: str
    department: str
    post: str
    roles: tuple[tuple[str, str | None], ...] = ()  # (role, department name or None for agency-wide)
    concurrent: tuple[tuple[str, str, str], ...] = ()  # (agency key, department, post) 兼职
    role_agency: str | None = None  # roles granted for this agency instead of their own (三员: the district)


R = Role
# The named cast (docs/demo.md) first; tests refer to them by username.
CAST = [
    Member("chenzhiqiang", "陈志强", "gov", "区政府领导", "区长", ((R.PRINCIPAL, None),)),
    Member("linxiaodong", "林晓东", "gov", "区政府领导", "副区长", ((R.DEPUTY_LEADER, "区政府领导"),)),
    Member("huangjianhua", "黄建华", "office", "秘书科", "主任", ((R.PRINCIPAL, None),)),
    Member("wangfang", "王芳", "office", "秘书科", "副主任",
           ((R.DEPUTY_LEADER, "秘书科"), (R.DEPUTY_LEADER, "综合科"), (R.DEPUTY_LEADER, "督查室"))),
    Member("lina", "李娜", "office", "秘书科", "科长", ((R.DEPT_HEAD, "秘书科"), (R.REVIEWER, None))),
    Member("zhangwei", "张伟", "office", "秘书科", "科员", ((R.DRAFTER, "秘书科"),)),
    Member("liuyang", "刘洋", "office", "机要室", "文书", ((R.CLERK, None), (R.DEPT_HEAD, "机要室"))),
    Member("zhoumin", "周敏", "office", "机要室", "机要员", ((R.SEAL_KEEPER, None),)),
    Member("wujing", "吴静", "office", "督查室", "主任", ((R.DEPT_HEAD, "督查室"), (R.SUPERVISOR, None))),
    Member("zhaolei", "赵磊", "office", "督查室", "督查员", ((R.SUPERVISOR, None),)),
    Member("xuli", "徐丽", "office", "综合科", "科长", ((R.DEPT_HEAD, "综合科"),)),
    Member("zhengguodong", "郑国栋", "data", "办公室", "局长", ((R.PRINCIPAL, None), (R.CDO, None))),
    # 三员分立 (docs/security.md): three people, each for the whole district (granted at 区政府, the top agency).
    Member("sunhao", "孙浩", "data", "信息化建设科", "工程师", ((R.SYSADMIN, None),), role_agency="gov"),
    Member("qianjing", "钱静", "data", "信息化建设科", "工程师", ((R.SECADMIN, None),), role_agency="gov"),
    Member("yanghui", "杨慧", "data", "办公室", "科员", ((R.AUDITADMIN, None),), role_agency="gov"),
    # 兼职: 政数局 数据资源科 科长 also serves in 区府办 综合科 as 副科长.
    Member("hemei", "何梅", "data", "数据资源科", "科长", ((R.DEPT_HEAD, "数据资源科"),),
           (("office", "综合科", "副科长"),)),
]

# Everyone else: (agency key, [(username, name, department, post, roles)]).
STAFF = {
    "gov": [("maxiaoyan", "马晓燕", "区政府领导", "副区长", ((R.DEPUTY_LEADER, None),))],
    "office": [("gaojun", "高军", "综合科", "科员", ((R.DRAFTER, "综合科"),))],
    "data": [
        ("luoping", "罗平", "办公室", "副局长", ((R.DEPUTY_LEADER, "数据资源科"), (R.DEPUTY_LEADER, "信息化建设科"))),
        ("liangjie", "梁杰", "办公室", "科长", ((R.DEPT_HEAD, "办公室"), (R.REVIEWER, None))),
        ("songyu", "宋宇", "信息化建设科", "科长", ((R.DEPT_HEAD, "信息化建设科"),)),
        ("tanglei", "唐磊", "数据资源科", "科员", ((R.DRAFTER, "数据资源科"),)),
        ("hanxue", "韩雪", "办公室", "文书", ((R.CLERK, None), (R.SEAL_KEEPER, None))),
    ],
}

# The six bureaus and three towns share one shape; names are listed per agency.
BUREAU_NAMES = {
    "finance": ["冯建国", "曹丽华", "彭涛", "曾静", "谢明", "邓红"],
    "edu": ["袁志刚", "许晓丽", "傅强", "沈燕", "卢斌", "蔡琳"],
    "market": ["蒋卫东", "丁秀英", "魏鹏", "薛玲", "叶凯", "阎芳"],
    "emergency": ["余海", "潘雪梅", "杜伟", "戴莉", "夏勇", "钟慧"],
    "audit": ["汪洋", "田小红", "任杰", "姜婷", "范博", "方敏"],
}
TOWN_NAMES = {
    "quxi": ["石磊", "姚丽", "谭亮", "廖雯"],
    "pandong": ["邹斌", "熊燕", "金涛", "陆颖"],
    "yuhu": ["郝建", "孔静", "白杨", "崔娜"],
}
TOWN_HEAD_POST = {"quxi": "街道办主任", "pandong": "街道办主任", "yuhu": "镇长"}
TOWN_DEPUTY_POST = {"quxi": "副主任", "pandong": "副主任", "yuhu": "副镇长"}


def _generated_members() -> list[Member]:
    members = []
    for key, names in BUREAU_NAMES.items():
        boss, deputy, office_head, chief, clerk, staff = names
        business = AGENCIES[[a[0] for a in AGENCIES].index(key)][6][1]
        shape = [
            (boss, "办公室", "局长", ((R.PRINCIPAL, None),)),
            (deputy, "办公室", "副局长", ((R.DEPUTY_LEADER, "办公室"), (R.DEPUTY_LEADER, business))),
            (office_head, "办公室", "科长", ((R.DEPT_HEAD, "办公室"), (R.REVIEWER, None))),
            (chief, business, "科长", ((R.DEPT_HEAD, business),)),
            (clerk, "办公室", "文书", ((R.CLERK, None), (R.SEAL_KEEPER, None))),
            (staff, business, "科员", ((R.DRAFTER, business),)),
        ]
        for i, (name, dept, post, roles) in enumerate(shape, start=1):
            members.append(Member(f"{key}{i:02d}", name, key, dept, post, roles))
    for key, names in TOWN_NAMES.items():
        head, deputy, office_head, staff = names
        shape = [
            (head, "党政办公室", TOWN_HEAD_POST[key], ((R.PRINCIPAL, None),)),
            (deputy, "党政办公室", TOWN_DEPUTY_POST[key], ((R.DEPUTY_LEADER, None),)),
            (office_head, "党政办公室", "科长", ((R.DEPT_HEAD, "党政办公室"), (R.REVIEWER, None), (R.CLERK, None),
                                              (R.SEAL_KEEPER, None))),
            (staff, "党政办公室", "科员", ((R.DRAFTER, "党政办公室"),)),
        ]
        for i, (name, dept, post, roles) in enumerate(shape, start=1):
            members.append(Member(f"{key}{i:02d}", name, key, dept, post, roles))
    for key, rows in STAFF.items():
        for username, name, dept, post, roles in rows:
            members.append(Member(username, name, key, dept, post, roles))
    return members


def all_members() -> list[Member]:
    return CAST + _generated_members()


@transaction.atomic
def do_load_demo(*, today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    posts = {name: do_upsert_post(name=name, level=level, via=VIA) for name, level in POSTS}
    agencies: dict[str, Agency] = {}
    departments = {}
    for order, (key, name, short, code, kind, prefix, dept_names) in enumerate(AGENCIES, start=1):
        parent = agencies.get("gov") if key != "gov" else None
        agencies[key] = check_upsert_agency(
            actor=None, name=name, short_name=short, doc_code=code, uscc=make_uscc(prefix), kind=kind,
            parent=parent, sort_order=order * 10, via=VIA,
        )
        for d_order, dept_name in enumerate(dept_names, start=1):
            departments[key, dept_name] = do_upsert_department(
                agency=agencies[key], name=dept_name, sort_order=d_order * 10, via=VIA
            )

    # One hash for the whole cast keeps loading fast; every demo account shares the documented password.
    encoded = make_password(DEMO_PASSWORD)
    people = 0
    for m in all_members():
        person = Person.objects.filter(username=m.username).first()
        # Nobody of the cast is a Django superuser: the three administrators work on /manage/ (三员分立).
        fields = {"name": m.name, "email": f"{m.username}@jiedong.gov.example",
                  "mobile": (person.mobile if person else "") or f"139{zlib.crc32(m.username.encode()) % 10**8:08d}",
                  "is_staff": False, "is_superuser": False}
        if person is None:
            person = do_create_person(actor=None, via=VIA, person=Person(
                username=m.username, password=encoded, password_changed_at=timezone.now(), **fields))
        else:
            do_update_person(actor=None, via=VIA, person=person, fields=fields)
        people += 1
        do_appoint(person=person, department=departments[m.agency, m.department], post=posts[m.post], primary=True,
                   via=VIA)
        for c_agency, c_dept, c_post in m.concurrent:
            do_appoint(person=person, department=departments[c_agency, c_dept], post=posts[c_post], primary=False,
                       via=VIA)
        for role, dept_name in m.roles:
            check_assign_role(
                actor=None, person=person, role=role, agency=agencies[m.role_agency or m.agency],
                department=departments[m.agency, dept_name] if dept_name else None, via=VIA,
            )

    # The Django admin's emergency account (docs/security.md): a superuser with no post and no role, 2FA required.
    root = Person.objects.filter(username=EMERGENCY_USERNAME).first()
    root_fields = {"name": "平台应急账号", "is_staff": True, "is_superuser": True}
    if root is None:
        do_create_person(actor=None, via=VIA, person=Person(
            username=EMERGENCY_USERNAME, password=encoded, password_changed_at=timezone.now(), **root_fields))
    else:
        do_update_person(actor=None, via=VIA, person=root, fields=root_fields)

    # One active 委托: 区府办副主任王芳 is away; 李娜 handles her 发文 work.
    wangfang, lina = Person.objects.get(username="wangfang"), Person.objects.get(username="lina")
    if not Delegation.objects.filter(principal=wangfang, delegate=lina, revoked_at__isnull=True).exists():
        check_create_delegation(
            actor=wangfang, principal=wangfang, delegate=lina, start_date=today,
            end_date=today + dt.timedelta(days=30), flow_types=["issuance"], reason="外出学习", via=VIA,
        )

    _seed_announcements(agencies)

    from oa.actions.calendar import do_load_official_calendars

    do_load_official_calendars()
    return {"agencies": len(agencies), "departments": len(departments), "people": people}


# 通知公告 on the demo workbench: two district-wide from 区府办's 文书 刘洋 (one pinned), one for 政数局 only.
ANNOUNCEMENTS = [
    ("liuyang", "office", True, True, "关于2027年元旦放假安排的通知",
     "各镇人民政府、街道办事处，区府直属各单位：\n根据国务院办公厅通知精神，2027年元旦放假1天。"
     "请各单位做好值班和安全生产工作，遇有重大突发事件及时报告。"),
    ("liuyang", "office", True, False, "协同办公平台手机端使用说明",
     "平台已支持在粤政易中办理待办、阅知文件和查看通知公告。\n如遇问题，请联系区政务服务数据管理局信息化建设科。"),
    ("hanxue", "data", False, False, "本局12月份政务数据共享工作例会安排",
     "定于本月下旬召开政务数据共享工作例会，具体时间另行通知，请各科室提前准备工作小结。"),
]


def _seed_announcements(agencies: dict[str, Agency]) -> None:
    from oa.actions.announcements import do_publish_announcement
    from oa.models import Announcement

    for username, agency_key, district_wide, pinned, title, body in ANNOUNCEMENTS:
        if Announcement.objects.filter(title=title, agency=agencies[agency_key]).exists():
            continue
        do_publish_announcement(
            Person.objects.get(username=username), agency=agencies[agency_key], title=title, body=body,
            district_wide=district_wide, pinned=pinned,
        )
