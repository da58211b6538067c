"""Node B of the live exchange tests: a second district (揭西县) with one office and its cast.

Run inside node B by tests/live_nodes.Node.script("seed_b"); prints {"agency_uscc": ...}.
"""

import json

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from oa.actions.calendar import do_load_official_calendars
from oa.actions.directory import (
    check_assign_role,
    check_upsert_agency,
    do_appoint,
    do_upsert_department,
    do_upsert_post,
)
from oa.models import Agency, Person, Role
from oa.uscc import make_uscc

PASSWORD = "Jiexi@2026x"
CAST = [
    # username, name, department, post, roles
    ("xi_clerk", "陈文", "秘书股", "文书", ((Role.CLERK, None),)),
    ("xi_reviewer", "林海", "秘书股", "股长", ((Role.REVIEWER, None), (Role.DEPT_HEAD, "秘书股"))),
    ("xi_head", "郑伟", "秘书股", "主任", ((Role.PRINCIPAL, None),)),
    ("xi_deputy", "黄丽", "综合股", "副主任", ((Role.DEPUTY_LEADER, "综合股"),)),
    ("xi_general", "吴强", "综合股", "股长", ((Role.DEPT_HEAD, "综合股"),)),
]

with transaction.atomic():
    agency = check_upsert_agency(actor=None, name="揭阳市揭西县人民政府办公室", short_name="县府办", doc_code="揭西府办",
                                 uscc=make_uscc("11445222007190010"), kind=Agency.Kind.OFFICE, parent=None,
                                 sort_order=10)
    departments = {name: do_upsert_department(agency=agency, name=name, sort_order=i * 10)
                   for i, name in enumerate(["秘书股", "综合股"], start=1)}
    posts = {}
    encoded = make_password(PASSWORD)
    for username, name, dept, post, roles in CAST:
        posts.setdefault(post, do_upsert_post(name=post, level=50))
        person, created = Person.objects.get_or_create(username=username, defaults={"name": name})
        if created:
            person.password = encoded
            person.password_changed_at = timezone.now()
            person.save()
        do_appoint(person=person, department=departments[dept], post=posts[post], primary=True)
        for role, role_dept in roles:
            check_assign_role(actor=None, person=person, role=role, agency=agency,
                              department=departments[role_dept] if role_dept else None)
    do_load_official_calendars()

print(json.dumps({"agency_uscc": agency.uscc, "agency": agency.name}))
