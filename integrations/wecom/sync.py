"""Optional org sync from the platform contacts API (department/list + user/list), like the LDAP sync:
the same plan is computed for a dry run and for --apply; only --apply writes it, in one audited transaction.

The sync only links accounts: it sets Person.platform_userid for platform members that match an existing
person by OA_WECOM_SYNC_MATCH (mobile by default, or username/email). People the platform has and we do not
are listed; they are created (local account, unusable password, no post) only with --create. Departments
are read for the report only — the organisation itself stays owned by the directory (LDAP or local).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from oa.actions.audit import do_record_audit
from oa.actions.directory import do_create_person, do_set_initial_password, do_update_person
from oa.models import Person

from .client import WecomClient


@dataclass(frozen=True)
class PlatformUser:
    userid: str
    name: str
    mobile: str
    email: str
    departments: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    kind: str  # "link", "create", "relink"
    userid: str
    name: str
    person_id: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        labels = {"link": "关联", "create": "新建人员", "relink": "更换平台账号"}
        return f"{labels[self.kind]}：{self.name}（平台账号 {self.userid}）{self.detail}"


@dataclass
class SyncPlan:
    changes: list[Change] = field(default_factory=list)
    unmatched: list[PlatformUser] = field(default_factory=list)  # new on the platform, not created
    orphaned: list[str] = field(default_factory=list)  # our links to userids the platform no longer lists
    warnings: list[str] = field(default_factory=list)
    departments: int = 0
    users: int = 0
    applied: bool = False

    def counts(self) -> dict[str, int]:
        return dict(Counter(c.kind for c in self.changes))


def read_platform(client: WecomClient) -> tuple[int, list[PlatformUser]]:
    departments = client.departments()
    users: dict[str, PlatformUser] = {}
    names = {str(d.get("id")): str(d.get("name", "")) for d in departments}
    for dept in departments:
        for raw in client.department_users(int(dept["id"])):
            userid = str(raw.get("userid", ""))
            if not userid or userid in users:
                continue
            users[userid] = PlatformUser(
                userid=userid,
                name=str(raw.get("name", "")),
                mobile=str(raw.get("mobile", "")),
                email=str(raw.get("email", "") or raw.get("biz_mail", "")),
                departments=tuple(names.get(str(d), str(d)) for d in raw.get("department", [])),
            )
    return len(departments), sorted(users.values(), key=lambda u: u.userid)


def _match_value(user: PlatformUser, attribute: str) -> str:
    return {"mobile": user.mobile, "username": user.userid, "email": user.email}[attribute].strip()


def plan_sync(users: list[PlatformUser], *, create: bool, attribute: str) -> SyncPlan:
    plan = SyncPlan(users=len(users))
    by_userid = {p.platform_userid: p for p in Person.objects.exclude(platform_userid=None)}
    seen = {u.userid for u in users}
    for user in users:
        if user.userid in by_userid:
            continue  # already linked
        value = _match_value(user, attribute)
        candidates = list(Person.objects.filter(**{attribute: value}, is_active=True)) if value else []
        if len(candidates) > 1:
            plan.warnings.append(f"{user.name}（{user.userid}）按{attribute}匹配到 {len(candidates)} 人，未关联，请人工处理")
            continue
        if candidates:
            person = candidates[0]
            if person.platform_userid and person.platform_userid in seen:
                plan.warnings.append(f"{user.name}（{user.userid}）匹配的人员 {person.username} 已关联平台账号 "
                                     f"{person.platform_userid}，未改动")
            elif person.platform_userid:
                plan.changes.append(Change("relink", user.userid, person.name, person.pk,
                                           f"（原平台账号 {person.platform_userid}）"))
            else:
                plan.changes.append(Change("link", user.userid, person.name, person.pk, f"→ 人员 {person.username}"))
            continue
        if create:
            plan.changes.append(Change("create", user.userid, user.name, None, f"手机 {user.mobile or '无'}"))
        else:
            plan.unmatched.append(user)
    plan.orphaned = sorted(uid for uid in by_userid if uid not in seen)
    return plan


def _apply(plan: SyncPlan, users: dict[str, PlatformUser], actor: Person | None) -> None:
    with transaction.atomic():
        for change in plan.changes:
            if change.kind in {"link", "relink"}:
                person = Person.objects.select_for_update().get(pk=change.person_id)
                do_update_person(actor=actor, via="wecom", person=person, fields={"platform_userid": change.userid})
            elif change.kind == "create":
                user = users[change.userid]
                username = user.userid if not Person.objects.filter(username=user.userid).exists() else f"wecom-{user.userid}"
                person = Person(username=username[:150], name=user.name[:50], mobile=user.mobile[:20],
                                email=user.email, platform_userid=user.userid)
                do_set_initial_password(person, None, must_change=False)  # platform login only, until an admin sets one
                do_create_person(actor=actor, via="wecom", person=person,
                                 detail={"platform_userid": user.userid, "departments": list(user.departments)})
        do_record_audit(actor=actor, action="wecom.sync", object_type="wecom.sync", object_repr="移动平台通讯录同步",
                        changes={"counts": plan.counts(), "unmatched": len(plan.unmatched),
                                 "orphaned": plan.orphaned[:50]})


def sync_platform(*, apply: bool, create: bool = False, actor: Person | None = None,
                  client: WecomClient | None = None) -> SyncPlan:
    client = client or WecomClient()
    department_count, users = read_platform(client)
    plan = plan_sync(users, create=create, attribute=settings.OA_WECOM_SYNC_MATCH)
    plan.departments = department_count
    if apply:
        _apply(plan, {u.userid: u for u in users}, actor)
        plan.applied = True
    return plan


def render_plan(plan: SyncPlan) -> str:
    head = "移动平台通讯录同步（已执行）" if plan.applied else "移动平台通讯录同步（预演：仅显示差异，未写入任何数据）"
    lines = [head, f"平台部门 {plan.departments} 个，成员 {plan.users} 人。"]
    lines += [f"  {c}" for c in plan.changes]
    if plan.changes:
        lines.append("汇总：" + "；".join(f"{k} {n}" for k, n in plan.counts().items()) + f"；共 {len(plan.changes)} 项变更。")
    else:
        lines.append("汇总：无变更（0 项）。")
    if plan.unmatched:
        lines.append("平台上有、本系统未找到的人员（未创建；需要时加 --create）：")
        lines += [f"  - {u.name}（{u.userid}，手机 {u.mobile or '无'}，{'、'.join(u.departments)}）" for u in plan.unmatched]
    if plan.orphaned:
        lines.append("本系统已关联、但平台已不再列出的账号（未改动）：")
        lines += [f"  - {uid}" for uid in plan.orphaned]
    if plan.warnings:
        lines.append("警告：")
        lines += [f"  - {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"
