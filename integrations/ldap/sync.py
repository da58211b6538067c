"""Directory sync: read the LDAP tree, plan the changes against the database, apply them in one transaction.

The plan is computed the same way for `--dry-run` and `--apply`; only `apply` runs its operations, so what
the dry run prints is exactly what the apply does. entryUUID is the key of every synced row (DNs change when
people or OUs move). Only directory-managed rows are touched: agencies/departments/people with an
`external_id`, appointments and role assignments with `source=ldap`. docs/ldap.md describes the layout.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from integrations.ldap.client import (
    DirectoryClient,
    Entry,
    LdapConfig,
    normalize_dn,
    parent_dn,
    rdn_value,
)
from oa.actions.audit import do_record_audit
from oa.actions.directory import (
    check_assign_role,
    do_appoint,
    do_create_agency,
    do_create_department,
    do_create_person,
    do_create_post,
    do_disable_person,
    do_enable_person,
    do_end_appointment,
    do_revoke_role,
    do_set_initial_password,
    do_update_agency,
    do_update_department,
    do_update_person,
)
from oa.models import Agency, Appointment, Department, Person, Post, Role, RoleAssignment
from oa.selectors.delegation import open_work_counts
from oa.uscc import validate_uscc

logger = logging.getLogger(__name__)

SYNC_DISABLE_REASON = "目录同步：该人员已不在目录中"
VIA = "ldap"  # the `via` of every directory action the sync calls (docs/architecture.md, 写入路径)
DEFAULT_POST = "科员"  # for entries without `title`
NEW_POST_LEVEL = 100  # posts first seen in the directory sort after the known ones
ROLE_GROUP_PREFIX = "role-"
PERSON_ATTRS = ("cn", "displayName", "mail", "mobile", "title")

DeptKey = str  # entryUUID of a directory department, or "pk:<id>" of a locally maintained one


# --- What the directory says --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencySpec:
    uuid: str
    dn: str
    name: str
    short_name: str
    doc_code: str
    uscc: str


@dataclass(frozen=True)
class DeptSpec:
    uuid: str
    dn: str
    name: str
    agency_uuid: str
    parent_uuid: str | None
    depth: int
    path: str  # "规划科/规划一股", used by 兼职 references


@dataclass(frozen=True)
class PersonSpec:
    uuid: str
    dn: str
    username: str
    name: str
    email: str
    mobile: str
    dept_uuid: str
    post: str
    concurrent: tuple[str, ...] = ()  # raw values of the concurrent-post attribute


@dataclass(frozen=True)
class RoleSpec:
    person_uuid: str
    role: str
    agency_uuid: str
    dept_uuid: str | None


@dataclass
class Snapshot:
    agencies: dict[str, AgencySpec] = field(default_factory=dict)
    departments: dict[str, DeptSpec] = field(default_factory=dict)
    people: dict[str, PersonSpec] = field(default_factory=dict)
    roles: set[RoleSpec] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


def role_for_group(cn: str, descriptions: list[str]) -> str | None:
    """`cn=role-<value>` or a description holding a Role value or its Chinese label; else not a role group."""
    labels = {str(label): value for value, label in Role.choices}
    if cn.lower().startswith(ROLE_GROUP_PREFIX) and cn[len(ROLE_GROUP_PREFIX) :] in Role.values:
        return cn[len(ROLE_GROUP_PREFIX) :]
    for text in [*descriptions, cn]:
        text = text.strip()
        if text in Role.values:
            return text
        if text in labels:
            return labels[text]
    return None


def read_directory(client: DirectoryClient) -> Snapshot:
    """Everything the sync needs, in three paged searches. Reads only; raises DirectoryError when down."""
    config = client.config
    snap = Snapshot()
    base = normalize_dn(config.base_dn)

    ous = [e for e in client.search("(objectClass=organizationalUnit)", ["ou", "businessCategory", "description"])
           if e.uuid and normalize_dn(e.dn) != base]
    agency_by_ndn: dict[str, AgencySpec] = {}
    for e in ous:
        if normalize_dn(parent_dn(e.dn)) != base:
            continue
        name = rdn_value(e.dn)
        uscc, doc_code = e.first("businessCategory").upper(), e.first("description")
        if not uscc or not doc_code:
            snap.warnings.append(f"“{name}”缺少 businessCategory（统一社会信用代码）或 description（机关代字），不作为机关同步。")
            continue
        short = next((v for v in e.all("ou") if v.strip() and v.strip() != name), name)
        spec = AgencySpec(e.uuid, e.dn, name, short.strip(), doc_code, uscc)
        snap.agencies[spec.uuid] = spec
        agency_by_ndn[normalize_dn(e.dn)] = spec

    ou_by_ndn = {normalize_dn(e.dn): e for e in ous}
    dept_by_ndn: dict[str, DeptSpec] = {}

    def resolve(ndn: str) -> DeptSpec | None:
        # A department is an OU whose ancestors up to an agency OU are all OUs.
        if ndn in dept_by_ndn:
            return dept_by_ndn[ndn]
        entry = ou_by_ndn.get(ndn)
        if entry is None or ndn in agency_by_ndn:
            return None
        up = normalize_dn(parent_dn(entry.dn))
        name = rdn_value(entry.dn)
        if up in agency_by_ndn:
            spec = DeptSpec(entry.uuid, entry.dn, name, agency_by_ndn[up].uuid, None, 1, name)
        else:
            parent = resolve(up)
            if parent is None:
                return None
            spec = DeptSpec(entry.uuid, entry.dn, name, parent.agency_uuid, parent.uuid, parent.depth + 1,
                            f"{parent.path}/{name}")
        dept_by_ndn[ndn] = spec
        return spec

    for ndn in ou_by_ndn:
        spec = resolve(ndn)
        if spec is not None:
            snap.departments[spec.uuid] = spec

    person_by_ndn: dict[str, PersonSpec] = {}
    attrs = [config.login_attr, *PERSON_ATTRS, config.concurrent_post_attr]
    for e in client.search(config.user_filter, attrs):
        username = e.first(config.login_attr)
        label = e.first("displayName") or e.first("cn") or e.dn
        if not e.uuid or not username:
            snap.warnings.append(f"人员“{label}”缺少 entryUUID 或登录名（{config.login_attr}），已跳过。")
            continue
        dept = dept_by_ndn.get(normalize_dn(parent_dn(e.dn)))
        if dept is None:
            snap.warnings.append(f"人员“{label}”（{username}）不在任何部门 OU 下，视为不在目录中。")
            continue
        spec = PersonSpec(
            uuid=e.uuid, dn=e.dn, username=username, name=label[:50], email=e.first("mail"),
            mobile=e.first("mobile")[:20], dept_uuid=dept.uuid, post=(e.first("title") or DEFAULT_POST)[:50],
            concurrent=tuple(v.strip() for v in e.all(config.concurrent_post_attr) if v.strip()),
        )
        snap.people[spec.uuid] = spec
        person_by_ndn[normalize_dn(e.dn)] = spec

    for e in client.search("(objectClass=groupOfNames)", ["cn", "description", "member"]):
        role = role_for_group(e.first("cn"), e.all("description"))
        if role is None:
            continue
        container = normalize_dn(parent_dn(e.dn))
        if container in agency_by_ndn:
            agency_uuid, dept_uuid = agency_by_ndn[container].uuid, None
        elif container in dept_by_ndn:
            agency_uuid, dept_uuid = dept_by_ndn[container].agency_uuid, dept_by_ndn[container].uuid
        else:
            snap.warnings.append(f"角色组“{e.first('cn')}”不在机关或部门 OU 下，无法确定范围，已忽略。")
            continue
        for member in e.all("member"):
            person = person_by_ndn.get(normalize_dn(member))
            if person is not None:  # members outside the synced people (or stale DNs) carry no role
                snap.roles.add(RoleSpec(person.uuid, role, agency_uuid, dept_uuid))
    return snap


# --- The plan -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    kind: str  # 机关 / 部门 / 职务 / 人员 / 兼职 / 角色
    action: str  # 新建 / 关联 / 更新 / 调动 / 停用 / 启用 / 删除 / 撤销
    label: str
    detail: str = ""

    def __str__(self) -> str:
        return f"[{self.kind}] {self.action} {self.label}" + (f"：{self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Handover:
    person_id: int
    username: str
    name: str
    open_work: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.open_work.values())


@dataclass
class _Ctx:
    """Objects by directory key while operations run; filled with the existing rows, then the created ones."""

    agencies: dict[str, Agency] = field(default_factory=dict)
    departments: dict[DeptKey, Department] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    actor: Person | None = None  # who runs the sync (None: the scheduled job)


Op = Callable[[_Ctx], None]


@dataclass
class SyncPlan:
    changes: list[Change] = field(default_factory=list)
    handover: list[Handover] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    applied: bool = False
    ops: list[Op] = field(default_factory=list, repr=False)
    ctx: _Ctx = field(default_factory=_Ctx, repr=False)

    def add(self, change: Change, op: Op | None = None) -> None:
        self.changes.append(change)
        if op is not None:
            self.ops.append(op)

    def counts(self) -> dict[str, int]:
        return dict(Counter(f"{c.kind}.{c.action}" for c in self.changes))


def _diff(pairs: list[tuple[str, object, object]]) -> str:
    return "；".join(f"{label} {old or '（空）'} → {new or '（空）'}" for label, old, new in pairs if old != new)


class _Planner:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.plan = SyncPlan(warnings=list(snap.warnings))
        self.ctx = self.plan.ctx
        self.skipped_agencies: set[str] = set()
        self.skipped_people: set[str] = set()
        self.dept_key_by_pk: dict[int, DeptKey] = {}
        self.dept_label: dict[DeptKey, str] = {}

    def build(self) -> SyncPlan:
        self.agencies()
        self.departments()
        self.people()
        self.appointments()
        self.roles()
        return self.plan

    # Agencies: keyed by entryUUID; an unlinked local agency with the same USCC is adopted (its natural key).
    def agencies(self) -> None:
        existing = {a.external_id: a for a in Agency.objects.filter(external_id__isnull=False)}
        self.ctx.agencies.update(existing)
        for spec in sorted(self.snap.agencies.values(), key=lambda s: s.name):
            try:
                validate_uscc(spec.uscc)
            except ValidationError as exc:
                self.plan.warnings.append(f"机关“{spec.name}”的统一社会信用代码无效（{exc.messages[0]}），已跳过。")
                self.skipped_agencies.add(spec.uuid)
                continue
            agency = existing.get(spec.uuid)
            if agency is None:
                agency = Agency.objects.filter(uscc=spec.uscc, external_id__isnull=True).first()
                if agency is not None:
                    self.ctx.agencies[spec.uuid] = agency
            clash = Agency.objects.filter(name=spec.name) | Agency.objects.filter(doc_code=spec.doc_code)
            if agency is not None:
                clash = clash.exclude(pk=agency.pk)
            if clash.exists():
                self.plan.warnings.append(f"机关“{spec.name}”（{spec.doc_code}）与已有机关的名称或代字重复，已跳过。")
                self.skipped_agencies.add(spec.uuid)
                continue
            label = f"{spec.name}（{spec.doc_code}）"
            fields = {"name": spec.name, "short_name": spec.short_name, "doc_code": spec.doc_code,
                      "uscc": spec.uscc, "is_active": True}
            if agency is None:
                self.plan.add(Change("机关", "新建", label, spec.uscc), self._create_agency(spec, fields))
                continue
            detail = _diff([("名称", agency.name, spec.name), ("简称", agency.short_name, spec.short_name),
                            ("代字", agency.doc_code, spec.doc_code), ("信用代码", agency.uscc, spec.uscc),
                            ("状态", "启用" if agency.is_active else "停用", "启用")])
            if agency.external_id is None:
                self.plan.add(Change("机关", "关联", label, detail or spec.uscc),
                              self._update(agency, {**fields, "external_id": spec.uuid}))
            elif detail:
                self.plan.add(Change("机关", "更新", label, detail), self._update(agency, fields))
        for uuid, agency in existing.items():
            if uuid not in self.snap.agencies and agency.is_active:
                self.plan.add(Change("机关", "停用", agency.name, "目录中已不存在"),
                              self._update(agency, {"is_active": False}))

    @staticmethod
    def _create_agency(spec: AgencySpec, fields: dict) -> Op:
        def op(ctx: _Ctx) -> None:
            ctx.agencies[spec.uuid] = do_create_agency(actor=ctx.actor, via=VIA,
                                                       fields={"external_id": spec.uuid, **fields})
        return op

    @staticmethod
    def _update(obj: Agency | Department, fields: dict) -> Op:
        def op(ctx: _Ctx) -> None:
            if isinstance(obj, Agency):
                do_update_agency(actor=ctx.actor, via=VIA, agency=obj, fields=fields)
            else:
                do_update_department(actor=ctx.actor, via=VIA, department=obj, fields=fields)
        return op

    def _agency_name(self, uuid: str) -> str:
        agency = self.ctx.agencies.get(uuid)
        return str(agency) if agency else self.snap.agencies[uuid].short_name

    # Departments: keyed by entryUUID, created parents first; an unlinked local one in the same place with
    # the same name is adopted (the unique constraint would refuse a twin anyway).
    def departments(self) -> None:
        existing = {d.external_id: d for d in Department.objects.filter(external_id__isnull=False)}
        for dept in Department.objects.select_related("agency", "parent"):
            key = dept.external_id or f"pk:{dept.pk}"
            self.dept_key_by_pk[dept.pk] = key
            self.ctx.departments[key] = dept
            self.dept_label[key] = f"{dept.agency}/{dept.name}"
        agency_key_by_pk = {a.pk: uuid for uuid, a in self.ctx.agencies.items()}
        for spec in sorted(self.snap.departments.values(), key=lambda s: (s.depth, s.dn)):
            if spec.agency_uuid in self.skipped_agencies:
                continue
            self.dept_label[spec.uuid] = f"{self._agency_name(spec.agency_uuid)}/{spec.path}"
            label = self.dept_label[spec.uuid]
            dept = existing.get(spec.uuid)
            if dept is None:
                agency = self.ctx.agencies.get(spec.agency_uuid)
                parent = self.ctx.departments.get(spec.parent_uuid) if spec.parent_uuid else None
                if agency is not None and (spec.parent_uuid is None or parent is not None):
                    dept = Department.objects.filter(
                        agency=agency, parent=parent, name=spec.name, external_id__isnull=True
                    ).first()
                if dept is None:
                    self.plan.add(Change("部门", "新建", label), self._create_department(spec))
                    continue
                self.dept_key_by_pk[dept.pk] = spec.uuid
                self.ctx.departments[spec.uuid] = dept
                self.plan.add(Change("部门", "关联", label),
                              self._update(dept, {"external_id": spec.uuid, "is_active": True}))
                continue
            here = (agency_key_by_pk.get(dept.agency_id), self.dept_key_by_pk.get(dept.parent_id))
            if here != (spec.agency_uuid, spec.parent_uuid):
                old = f"{dept.agency}/{dept.parent.name + '/' if dept.parent else ''}{dept.name}"
                self.plan.add(Change("部门", "调动", label, f"原为 {old}"),
                              self._move_department(dept, spec))
            elif dept.name != spec.name or not dept.is_active:
                detail = _diff([("名称", dept.name, spec.name), ("状态", "启用" if dept.is_active else "停用", "启用")])
                self.plan.add(Change("部门", "更新", label, detail),
                              self._update(dept, {"name": spec.name, "is_active": True}))
        for uuid, dept in existing.items():
            if uuid not in self.snap.departments and dept.is_active:
                self.plan.add(Change("部门", "停用", self.dept_label[uuid], "目录中已不存在"),
                              self._update(dept, {"is_active": False}))

    @staticmethod
    def _create_department(spec: DeptSpec) -> Op:
        def op(ctx: _Ctx) -> None:
            ctx.departments[spec.uuid] = do_create_department(actor=ctx.actor, via=VIA, fields={
                "agency": ctx.agencies[spec.agency_uuid],
                "parent": ctx.departments[spec.parent_uuid] if spec.parent_uuid else None,
                "name": spec.name,
                "external_id": spec.uuid,
            })
        return op

    @staticmethod
    def _move_department(dept: Department, spec: DeptSpec) -> Op:
        def op(ctx: _Ctx) -> None:
            do_update_department(actor=ctx.actor, via=VIA, department=dept, fields={
                "agency": ctx.agencies[spec.agency_uuid],
                "parent": ctx.departments[spec.parent_uuid] if spec.parent_uuid else None,
                "name": spec.name, "is_active": True,
            })
        return op

    # People: keyed by entryUUID; a username already used by a local account is a conflict, never a merge.
    def people(self) -> None:
        existing = {p.external_id: p for p in Person.objects.filter(external_id__isnull=False)}
        self.ctx.people.update(existing)
        taken = set(Person.objects.filter(external_id__isnull=True).values_list("username", flat=True))
        ldap_usernames = {p.username: uuid for uuid, p in existing.items()}
        self.primary_key: dict[str, tuple[DeptKey, str] | None] = {}
        for appt in Appointment.objects.filter(source=Appointment.Source.LDAP, is_primary=True).select_related(
            "post", "person"
        ):
            self.primary_key[appt.person.external_id] = (self.dept_key_by_pk.get(appt.department_id), appt.post.name)
        for spec in sorted(self.snap.people.values(), key=lambda s: s.username):
            dept = self.snap.departments[spec.dept_uuid]
            if dept.agency_uuid in self.skipped_agencies:
                self.skipped_people.add(spec.uuid)
                continue
            label = f"{spec.name}（{spec.username}）"
            where = f"{self.dept_label[spec.dept_uuid]} {spec.post}"
            person = existing.get(spec.uuid)
            if spec.username in taken or ldap_usernames.get(spec.username, spec.uuid) != spec.uuid:
                self.plan.warnings.append(f"目录人员 {label} 的登录名与已有账号重复，已跳过。")
                self.skipped_people.add(spec.uuid)
                continue
            if person is None:
                self.plan.add(Change("人员", "新建", label, where), self._create_person(spec))
                continue
            fields = {"username": spec.username, "name": spec.name, "email": spec.email, "mobile": spec.mobile,
                      "external_dn": spec.dn}
            detail = _diff([("登录名", person.username, spec.username), ("姓名", person.name, spec.name),
                            ("邮箱", person.email, spec.email), ("手机", person.mobile, spec.mobile)])
            moved = self.primary_key.get(spec.uuid) not in (None, (spec.dept_uuid, spec.post))
            if moved:
                old = self.primary_key[spec.uuid]
                was = f"{self.dept_label.get(old[0], '?')} {old[1]}"
                self.plan.add(Change("人员", "调动", label, f"{was} → {where}" + (f"；{detail}" if detail else "")),
                              self._update_person(person, fields))
            elif detail or person.external_dn != spec.dn or spec.uuid not in self.primary_key:
                self.plan.add(Change("人员", "更新", label, detail or "目录位置或任职"),
                              self._update_person(person, fields))
            if not person.is_active and person.disabled_reason == SYNC_DISABLE_REASON:
                self.plan.add(Change("人员", "启用", label, "重新出现在目录中"), self._enable_person(person))
        for uuid, person in sorted(existing.items(), key=lambda kv: kv[1].username):
            if uuid not in self.snap.people and person.is_active:
                work = open_work_counts(person)
                self.plan.handover.append(Handover(person.pk, person.username, person.name, work))
                self.plan.add(Change("人员", "停用", f"{person.name}（{person.username}）", "目录中已不存在"),
                              self._disable_person(person))

    @staticmethod
    def _create_person(spec: PersonSpec) -> Op:
        def op(ctx: _Ctx) -> None:
            person = Person(
                username=spec.username, name=spec.name, email=spec.email, mobile=spec.mobile,
                source=Person.Source.LDAP, external_id=spec.uuid, external_dn=spec.dn,
            )
            # They log in through the directory; a local password would be a second, unmanaged secret.
            do_set_initial_password(person, None, must_change=False)
            ctx.people[spec.uuid] = do_create_person(actor=ctx.actor, via=VIA, person=person,
                                                     detail={"dn": spec.dn})
        return op

    @staticmethod
    def _update_person(person: Person, fields: dict) -> Op:
        def op(ctx: _Ctx) -> None:
            do_update_person(actor=ctx.actor, via=VIA, person=person, fields=fields)
        return op

    @staticmethod
    def _enable_person(person: Person) -> Op:
        def op(ctx: _Ctx) -> None:
            do_enable_person(actor=ctx.actor, via=VIA, person=person, reason="目录同步：重新出现在目录中")
        return op

    @staticmethod
    def _disable_person(person: Person) -> Op:
        def op(ctx: _Ctx) -> None:
            do_disable_person(actor=ctx.actor, via=VIA, person=person, reason=SYNC_DISABLE_REASON)
        return op

    def _resolve_concurrent(self, value: str) -> tuple[DeptKey, str] | None:
        """`<部门DN>#<职务>` or `<机关代字>/<部门>/<子部门>#<职务>`; the path form may name a local department."""
        ref, sep, post = value.rpartition("#")
        ref, post = ref.strip(), post.strip()
        if not sep or not ref or not post:
            return None
        if "=" in ref:
            ndn = normalize_dn(ref)
            spec = next((d for d in self.snap.departments.values() if normalize_dn(d.dn) == ndn), None)
            return (spec.uuid, post[:50]) if spec else None
        code, _, path = ref.partition("/")
        for spec in self.snap.departments.values():
            agency = self.snap.agencies.get(spec.agency_uuid)
            if agency and agency.doc_code == code and spec.path == path:
                return spec.uuid, post[:50]
        node: Department | None = None
        agency = Agency.objects.filter(doc_code=code).first()
        for name in path.split("/") if agency else []:
            node = Department.objects.filter(agency=agency, parent=node, name=name).first()
            if node is None:
                return None
        return (self.dept_key_by_pk[node.pk], post[:50]) if node else None

    # Appointments (source=ldap) of the people in the directory: the OU they sit in + title is the primary
    # post, the concurrent attribute lists the 兼职. Vanished people keep theirs for the handover.
    def appointments(self) -> None:
        existing: dict[str, dict[tuple[DeptKey, str], Appointment]] = {}
        local: set[tuple[str, DeptKey, str]] = set()
        for appt in Appointment.objects.filter(person__external_id__isnull=False).select_related("post", "person"):
            key = (self.dept_key_by_pk.get(appt.department_id), appt.post.name)
            if appt.source == Appointment.Source.LDAP:
                existing.setdefault(appt.person.external_id, {})[key] = appt
            else:
                local.add((appt.person.external_id, *key))
        known_posts = set(Post.objects.values_list("name", flat=True))
        new_posts: set[str] = set()
        for spec in sorted(self.snap.people.values(), key=lambda s: s.username):
            if spec.uuid in self.skipped_people:
                continue
            label = f"{spec.name}（{spec.username}）"
            desired: dict[tuple[DeptKey, str], bool] = {(spec.dept_uuid, spec.post): True}
            for value in spec.concurrent:
                resolved = self._resolve_concurrent(value)
                if resolved is None:
                    self.plan.warnings.append(f"{label} 的兼职“{value}”无法识别（格式：部门DN#职务 或 "
                                              "机关代字/部门路径#职务），已忽略。")
                elif resolved[0] in self.dept_label:  # known and not in a skipped agency
                    desired.setdefault(resolved, False)
            for _dept, post in desired:
                if post not in known_posts and post not in new_posts:
                    new_posts.add(post)
                    self.plan.add(Change("职务", "新建", post), self._create_post(post))
            current = existing.get(spec.uuid, {})
            for key, appt in current.items():
                if key not in desired:
                    if not appt.is_primary:
                        self.plan.add(Change("兼职", "删除", label, f"{self.dept_label.get(key[0], '?')} {key[1]}"))
                    self.plan.ops.append(self._end_appointment(appt))
            for key, primary in desired.items():
                if (spec.uuid, *key) in local:
                    continue  # already held as a locally maintained appointment
                appt = current.get(key)
                if appt is not None and appt.is_primary == primary:
                    continue
                if not primary:
                    self.plan.add(Change("兼职", "新建", label, f"{self.dept_label.get(key[0], '?')} {key[1]}"))
                # Primary changes are reported as the person's 新建/调动 above.
                self.plan.ops.append(self._appoint(spec.uuid, key, primary, appt))

    @staticmethod
    def _create_post(name: str) -> Op:
        def op(ctx: _Ctx) -> None:
            ctx.posts[name] = Post.objects.filter(name=name).first() or do_create_post(
                actor=ctx.actor, via=VIA, name=name, level=NEW_POST_LEVEL)
        return op

    @staticmethod
    def _end_appointment(appt: Appointment) -> Op:
        def op(ctx: _Ctx) -> None:
            do_end_appointment(actor=ctx.actor, via=VIA, appointment=appt)
        return op

    @staticmethod
    def _revoke(assignment: RoleAssignment) -> Op:
        def op(ctx: _Ctx) -> None:
            do_revoke_role(actor=ctx.actor, via=VIA, assignment=assignment)
        return op

    @staticmethod
    def _appoint(person_uuid: str, key: tuple[DeptKey, str], primary: bool, appt: Appointment | None) -> Op:
        def op(ctx: _Ctx) -> None:
            # One primary per person (a constraint): do_appoint demotes the previous one.
            post = appt.post if appt is not None else ctx.posts.get(key[1]) or Post.objects.get(name=key[1])
            department = appt.department if appt is not None else ctx.departments[key[0]]
            do_appoint(actor=ctx.actor, via=VIA, person=ctx.people[person_uuid], department=department, post=post,
                       primary=primary, source=Appointment.Source.LDAP)
        return op

    # Role assignments (source=ldap): one per (member, role group, scope of the OU the group lives in).
    def roles(self) -> None:
        dept_key = self.dept_key_by_pk
        agency_key = {a.pk: uuid for uuid, a in self.ctx.agencies.items()}
        existing: dict[tuple, RoleAssignment] = {}
        local: set[tuple] = set()
        for ra in RoleAssignment.objects.filter(person__external_id__isnull=False).select_related("person"):
            key = (ra.person.external_id, ra.role, agency_key.get(ra.agency_id),
                   dept_key.get(ra.department_id) if ra.department_id else None)
            if ra.source == RoleAssignment.Source.LDAP:
                existing[key] = ra
            else:
                local.add(key)
        desired = {
            (r.person_uuid, r.role, r.agency_uuid, r.dept_uuid): r for r in self.snap.roles
            if r.person_uuid not in self.skipped_people and r.agency_uuid not in self.skipped_agencies
        }
        for key in sorted(desired.keys() - existing.keys() - local, key=str):
            self.plan.add(Change("角色", "新建", self._role_label(key)), self._grant(desired[key]))
        for key in sorted(existing.keys() - desired.keys(), key=str):
            ra = existing[key]
            self.plan.add(Change("角色", "撤销", self._role_label(key)), self._revoke(ra))

    def _role_label(self, key: tuple) -> str:
        person_uuid, role, agency_uuid, dept_uuid = key
        spec = self.snap.people.get(person_uuid)
        person = spec.name if spec else getattr(self.ctx.people.get(person_uuid), "name", person_uuid)
        scope = self.dept_label.get(dept_uuid) if dept_uuid else (
            self._agency_name(agency_uuid) if agency_uuid in self.ctx.agencies or agency_uuid in self.snap.agencies
            else "?")
        return f"{person}：{Role(role).label}（{scope}）"

    @staticmethod
    def _grant(spec: RoleSpec) -> Op:
        def op(ctx: _Ctx) -> None:
            check_assign_role(
                actor=ctx.actor, via=VIA, person=ctx.people[spec.person_uuid], role=spec.role,
                agency=ctx.agencies[spec.agency_uuid],
                department=ctx.departments[spec.dept_uuid] if spec.dept_uuid else None,
                source=RoleAssignment.Source.LDAP,
            )
        return op


def plan_sync(snap: Snapshot) -> SyncPlan:
    """Compare the directory snapshot with the database. Reads only."""
    return _Planner(snap).build()


def sync_directory(*, apply: bool, config: LdapConfig | None = None, actor: Person | None = None) -> SyncPlan:
    """Read the directory, plan, and (with `apply`) write everything in one transaction.

    The directory is read before the transaction opens, so a server that is down or refuses the service
    account raises DirectoryError before anything is written.
    """
    config = config or LdapConfig.from_settings()
    with DirectoryClient(config) as client:
        snap = read_directory(client)
    return sync_snapshot(snap, apply=apply, actor=actor, base_dn=config.base_dn)


def sync_snapshot(snap: Snapshot, *, apply: bool, actor: Person | None = None, base_dn: str = "") -> SyncPlan:
    """Plan the changes a directory snapshot asks for and (with `apply`) run them in one transaction, each
    through its directory action (via="ldap"), plus one `directory.sync` summary entry."""
    with transaction.atomic():
        plan = plan_sync(snap)
        if apply and plan.ops:
            plan.ctx.actor = actor
            for op in plan.ops:
                op(plan.ctx)
            do_record_audit(
                actor=actor,
                action="directory.sync",
                object_type="integrations.ldap",
                object_id=base_dn[:64],
                object_repr=f"目录同步 {base_dn}",
                changes={"counts": plan.counts(), "total": len(plan.changes), "warnings": len(plan.warnings),
                         "disabled": [h.username for h in plan.handover]},
            )
        plan.applied = apply
    for warning in plan.warnings:
        logger.warning("LDAP sync: %s", warning)
    return plan


def upsert_person_from_entry(entry: Entry, config: LdapConfig) -> Person | None:
    """Login found a directory person the sync has not seen yet (or whose details changed): create/update it.

    Appointments and roles stay with the sync. None when the login name is taken by another account.
    """
    username = entry.first(config.login_attr)
    fields = {"username": username, "name": (entry.first("displayName") or entry.first("cn") or username)[:50],
              "email": entry.first("mail"), "mobile": entry.first("mobile")[:20], "external_dn": entry.dn}
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(external_id=entry.uuid).first()
        clash = Person.objects.filter(username=username).exclude(external_id=entry.uuid).exists()
        if person is None:
            if clash:
                logger.warning("LDAP login: username %s is already used by another account", username)
                return None
            person = Person(source=Person.Source.LDAP, external_id=entry.uuid, **fields)
            do_set_initial_password(person, None, must_change=False)
            return do_create_person(actor=None, via="login", person=person, detail={"dn": entry.dn})
        if not person.is_active:
            return person
        if clash:
            fields.pop("username")
        do_update_person(actor=None, via="login", person=person, fields=fields)
    return person


def render_plan(plan: SyncPlan) -> str:
    """The diff as text, Chinese labels, one line per change, then a summary, the handover list, warnings."""
    head = "目录同步（已执行）" if plan.applied else "目录同步（预演：仅显示差异，未写入任何数据）"
    lines = [head]
    lines += [f"  {c}" for c in plan.changes]
    if plan.changes:
        summary = "；".join(f"{k.replace('.', ' ')} {n}" for k, n in plan.counts().items())
        lines.append(f"汇总：{summary}；共 {len(plan.changes)} 项变更。")
    else:
        lines.append("汇总：无变更（0 项）。")
    if plan.handover:
        lines.append("待交接人员（已不在目录中，账号" + ("已停用" if plan.applied else "将停用") + "）：")
        for h in plan.handover:
            work = "、".join(f"{label} {n} 项" for label, n in h.open_work.items() if n) or "无"
            lines.append(f"  - {h.name}（{h.username}）未办结工作 {h.total} 项：{work}")
    if plan.warnings:
        lines.append("警告：")
        lines += [f"  - {w}" for w in plan.warnings]
    return "\n".join(lines) + "\n"
