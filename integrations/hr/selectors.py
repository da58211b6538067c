"""Reads of 人事财务数据 (prefill for service applications)."""

from __future__ import annotations

from integrations.hr.models import HrRecord
from oa.models import Person


def hr_record_of(person: Person) -> HrRecord | None:
    return HrRecord.objects.filter(person=person).first()
