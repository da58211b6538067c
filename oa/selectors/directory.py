"""Directory reads: heads, signers, 分管领导, role holders, tree and search."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import Http404

from oa.models import (
    ADMIN_ROLES,
    TWO_FACTOR_ROLES,
    Agency,
    Appointment,
    Department,
    Person,
    Role,
    RoleAssignment,
)
from oa.refusals import Refusal


def active_people() -> QuerySet[Person]:
    return Person.objects.filter(is_active=True)


def people_with_role(
    role: Role | str, *, agency: Agency | None = None, department: Department | None = None, inherit: bool = True
) -> QuerySet[Person]:
    """Everyone holding `role` in scope S.

    With `department`, holders scoped to that department and, when `inherit`, to its ancestor departments
    and to the whole agency (an agency-wide 核稿人 also reviews for each department).
    """
    assignments = RoleAssignment.objects.filter(role=role)
    if department is not None:
        scope = Q(department=department)
        if inherit:
            scope |= Q(department_id__in=[d.pk for d in department_ancestors(department)])
            scope |= Q(agency_id=department.agency_id, department__isnull=True)
        assignments = assignments.filter(scope)
    elif agency is not None:
        assignments = assignments.filter(agency=agency)
        if not inherit:
            assignments = assignments.filter(department__isnull=True)
    return active_people().filter(pk__in=assignments.values("person_id")).order_by("pk")


def department_ancestors(department: Department) -> list[Department]:
    chain, node, seen = [], department.parent, {department.pk}
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        chain.append(node)
        node = node.parent
    return chain


def department_descendant_ids(department: Department) -> set[int]:
    ids, frontier = {department.pk}, [department.pk]
    while frontier:
        children = list(Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        frontier = [c for c in children if c not in ids]
        ids.update(frontier)
    return ids


def _by_post_level(people: QuerySet[Person], department: Department | None = None) -> list[Person]:
    """Order holders by the seniority of their post (in that department when given)."""
    people = list(people)
    levels: dict[int, int] = {}
    appointments = Appointment.objects.filter(person__in=people).select_related("post")
    if department is not None:
        appointments = appointments.filter(department=department)
    for appt in appointments:
        levels[appt.person_id] = min(levels.get(appt.person_id, 10_000), appt.post.level)
    return sorted(people, key=lambda p: (levels.get(p.pk, 10_000), p.pk))


def department_heads(department: Department) -> list[Person]:
    """部门负责人 of department X, most senior first. Exactly that department: a head is not inherited."""
    return _by_post_level(people_with_role(Role.DEPT_HEAD, department=department, inherit=False), department)


def head_of_department(department: Department) -> Person | None:
    heads = department_heads(department)
    return heads[0] if heads else None


def with_department_head(departments: QuerySet[Department]) -> QuerySet[Department]:
    """Only the departments that have an active 部门负责人 of their own (the one head_of_department() finds): the
    ones a task can be given to (会签, 主办, 协办). A department without one is not offered."""
    heads = RoleAssignment.objects.filter(role=Role.DEPT_HEAD, person__is_active=True).values("department_id")
    return departments.filter(pk__in=heads)


# 分组选择 (checkbox groups): 区直单位 and 镇街 are what a 区 office picks by. Keys are stable (used in the page).
AGENCY_CATEGORIES = {"district": "区直单位", "town": "镇街", "government": "人民政府"}


def agency_category(agency: Agency) -> tuple[str, str]:
    """(key, label) of the agency's group in a picker: 镇街 (Agency.Kind.TOWN), 人民政府, or 区直单位 (区府办 and
    the 政府工作部门 and other 区直 agencies)."""
    if agency.kind == Agency.Kind.TOWN:
        key = "town"
    elif agency.kind == Agency.Kind.GOVERNMENT:
        key = "government"
    else:
        key = "district"
    return key, AGENCY_CATEGORIES[key]


def responsible_leaders(department: Department) -> list[Person]:
    """分管领导 of department X: those assigned to X, else to the nearest ancestor department that has one."""
    for node in [department, *department_ancestors(department)]:
        leaders = people_with_role(Role.DEPUTY_LEADER, department=node, inherit=False)
        if leaders.exists():
            return _by_post_level(leaders)
    return []


def principals(agency: Agency) -> list[Person]:
    return _by_post_level(people_with_role(Role.PRINCIPAL, agency=agency))


def signers_for(
    agency: Agency, *, upward: bool, important: bool = False, department: Department | None = None
) -> list[Person]:
    """Who may sign off (签发) a document of `agency`.

    条例第二十二条: 上行文 and 重要公文 only by the 主要负责人. Otherwise the agency's own rule
    (Agency.ordinary_signoff): principal only, principal or the 分管领导 of the drafting department, or
    principal or any 分管领导 of the agency.
    """
    signers = principals(agency)
    if upward or important:
        return signers
    rule = agency.ordinary_signoff
    if rule == Agency.OrdinarySignoff.PRINCIPAL_OR_ANY_DEPUTY:
        extra = _by_post_level(people_with_role(Role.DEPUTY_LEADER, agency=agency))
    elif rule == Agency.OrdinarySignoff.PRINCIPAL_OR_RESPONSIBLE_DEPUTY and department is not None:
        extra = responsible_leaders(department)
    else:
        extra = []
    return signers + [p for p in extra if p not in signers]


def may_sign_off(
    person: Person, agency: Agency, *, upward: bool, important: bool = False, department: Department | None = None
) -> bool:
    return person in signers_for(agency, upward=upward, important=important, department=department)


def held_roles(person: Person) -> frozenset[str]:
    """The roles ``person`` holds anywhere, read once and kept on this instance: one page asks many times (tiles,
    navigation, audit link) and request.user lives for one request only."""
    cached = getattr(person, "_held_roles", None)
    if cached is None:
        # order_by(): RoleAssignment's default ordering would join oa_agency for nothing.
        roles = person.role_assignments.order_by().values_list("role", flat=True) if person.pk else ()
        cached = frozenset(roles)
        person._held_roles = cached
    return cached


def roles_of(person: Person) -> set[str]:
    return set(person.role_assignments.values_list("role", flat=True))


def requires_two_factor(person: Person) -> bool:
    """Holders of TWO_FACTOR_ROLES, and the superuser (the emergency account of the Django admin)."""
    # From held_roles: the 2FA gate (every request) and the navigation then share one read of the roles.
    return person.is_superuser or bool(held_roles(person) & frozenset(TWO_FACTOR_ROLES))


def primary_appointment(person: Person) -> Appointment | None:
    return person.appointments.select_related("department__agency", "post").filter(is_primary=True).first()


def agencies_of(person: Person) -> list[Agency]:
    ids = person.appointments.values_list("department__agency_id", flat=True)
    return list(Agency.objects.filter(pk__in=ids))


ACTIVE_AGENCIES_KEY = "oa:agencies:active"


def active_agency_choices() -> list[tuple[int, str]]:
    """(id, name) of the active agencies in display order, kept in the cache: every inbox page offers them as a
    filter, and they change a few times a year. Agency saves and deletes drop the entry (forget_active_agencies);
    the timeout bounds a bulk write that sent no signal."""
    choices = cache.get(ACTIVE_AGENCIES_KEY)
    if choices is None:
        rows = Agency.objects.filter(is_active=True).values_list("pk", "short_name", "name")
        choices = [(pk, short or name) for pk, short, name in rows]  # the label str(agency) gives
        cache.set(ACTIVE_AGENCIES_KEY, choices, timeout=300)
    return choices


def forget_active_agencies(**kwargs) -> None:
    """Receiver of Agency post_save/post_delete (connected in oa.apps)."""
    cache.delete(ACTIVE_AGENCIES_KEY)


def agency_tree() -> list[dict]:
    """Agencies with their department trees, for the directory browser (two queries)."""
    agencies = list(Agency.objects.filter(is_active=True).order_by("sort_order", "id"))
    departments = list(Department.objects.filter(is_active=True).order_by("sort_order", "id"))
    children: dict[int | None, list[Department]] = {}
    for dept in departments:
        children.setdefault(dept.parent_id, []).append(dept)

    def subtree(dept: Department) -> dict:
        return {"department": dept, "children": [subtree(c) for c in children.get(dept.pk, [])]}

    return [
        {
            "agency": agency,
            "departments": [subtree(d) for d in children.get(None, []) if d.agency_id == agency.pk],
        }
        for agency in agencies
    ]


def search_people(text: str, *, limit: int = 50) -> QuerySet[Person]:
    text = text.strip()
    qs = active_people()
    if text:
        qs = qs.filter(Q(name__icontains=text) | Q(username__icontains=text) | Q(mobile__startswith=text))
    return qs.prefetch_related("appointments__department__agency", "appointments__post").order_by("name")[:limit]


def members_of(department: Department) -> list[Appointment]:
    return list(
        Appointment.objects.filter(department=department, person__is_active=True)
        .select_related("person", "post")
        .order_by("post__level", "person__name")
    )


def access_department_by_id(user: Person, department_id: int) -> Department:
    """The directory is visible to every signed-in civil servant of the deployment (一网协同 通讯录)."""
    if not user.is_authenticated:
        raise Http404
    dept = Department.objects.select_related("agency").filter(pk=department_id, is_active=True).first()
    if dept is None:
        raise Http404
    return dept


def access_person_by_id(user: Person, person_id: int) -> Person:
    if not user.is_authenticated:
        raise Http404
    person = active_people().filter(pk=person_id).first()
    if person is None:
        raise Http404
    return person


def persons_by_ids(ids: Iterable[int]) -> dict[int, Person]:
    return {p.pk: p for p in Person.objects.filter(pk__in=list(ids))}


def appointments_of(person: Person) -> QuerySet[Appointment]:
    """Primary post first, then 兼职 by seniority."""
    return person.appointments.select_related("department__agency", "post").order_by("-is_primary", "post__level", "pk")


def role_assignments_of(person: Person) -> QuerySet[RoleAssignment]:
    return person.role_assignments.select_related("agency", "department").order_by("agency__sort_order", "role")


def validate_role_assignment(
    *, role: str, agency: Agency, department: Department | None = None, person: Person | None = None,
    replacing_id: int | None = None,
) -> None:
    """Refuse a grant that cannot be right: an unknown role, a department of another agency, one of the three
    administrator roles scoped to a department, or (with `person`) a second one of them (三员分立).

    Raises Refusal (stable code, Chinese message, 400; 409 for 三员分立). The admin form and the 角色管理 page
    call it first so the refusal shows on the form; `check_assign_role` calls it again under a row lock.
    `replacing_id`: the grant an edit replaces (it does not count against 三员分立)."""
    if role not in Role.values:
        raise Refusal("role_unknown", f"未知角色“{role}”。")
    if department is not None and department.agency_id != agency.pk:
        raise Refusal("role_scope_mismatch", f"部门“{department.name}”不属于机关“{agency}”。")
    if role in ADMIN_ROLES and department is not None:
        raise Refusal("role_admin_department", f"{Role(role).label}须按机关授权，不能只授予某个部门。")
    if person is not None and role in ADMIN_ROLES:
        others = person.role_assignments.filter(role__in=ADMIN_ROLES).exclude(role=role).exclude(pk=replacing_id)
        held = sorted(set(others.values_list("role", flat=True)))
        if held:
            raise Refusal(
                "role_separation",
                f"“{person}”已担任{'、'.join(Role(r).label for r in held)}，三员分立：系统管理员、安全管理员、"
                f"审计管理员不得由同一人兼任。",
                409,
            )
