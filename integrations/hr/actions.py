"""Writes of 人事财务数据: one import, all or nothing, audited."""

from __future__ import annotations

from django.db import transaction

from integrations.hr.models import HrRecord
from integrations.hr.source import HrDataError, HrRow, RowError
from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal


def check_import_hr(actor: Person | None, rows: list[HrRow], *, source: str) -> int:
    """Upsert one HrRecord per row. Every row must name an existing person by 账号 with the same 姓名;
    otherwise HrDataError lists every bad row and nothing is written. Returns the number of records written."""
    people = {p.username: p for p in Person.objects.filter(username__in=[r.account for r in rows])}
    errors = []
    for row in rows:
        person = people.get(row.account)
        if person is None:
            errors.append(RowError(row.where, f"账号“{row.account}”在通讯录中不存在"))
        elif person.name != row.name:
            errors.append(RowError(row.where, f"账号“{row.account}”的姓名是“{person.name}”，与表中的“{row.name}”不符"))
    if errors:
        raise HrDataError(errors)
    if len(source) > 200:
        raise Refusal("hr_source_too_long", "数据来源说明不能超过 200 字")
    with transaction.atomic():
        for row in rows:
            HrRecord.objects.update_or_create(person=people[row.account], defaults={
                "hire_date": row.hire_date, "grade": row.grade, "income_band": row.income_band,
                "annual_income": row.annual_income, "leave_year": row.leave_year,
                "annual_leave_days": row.annual_leave_days, "annual_leave_used": row.annual_leave_used,
                "travel_budget": row.travel_budget,
                "source": source,
            })
        do_record_audit(actor=actor, action="hr.import", object_type="hr.hrrecord", object_repr="导入人事财务数据",
                        changes={"source": source, "rows": len(rows)})
    return len(rows)
