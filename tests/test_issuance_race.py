"""发文 on PostgreSQL: two 会签 heads completing at the same instant give exactly one Join and one 签发 task."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif string
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.models import Department
from tests.races import run_at_once
from tests.test_issuance import draft
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite ignores select_for_update"),
]


def test_two_heads_countersign_at_the_same_instant(demo_tx, cast):
    doc = draft(cast)
    depts = Department.objects.filter(agency=doc.agency, name__in=["综合科", "督查室"])
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(
        countersign_department_ids=list(depts.values_list("pk", flat=True))))
    for node in (IssuanceFlow.dept_review, IssuanceFlow.office_check):
        task = Task.objects.get(process=process, flow_task=node, status=STATUS.ASSIGNED)
        check_perform_issuance_step(cast.lina, task, StepInput(decision="agree", opinion="同意。"))
    heads = list(Task.objects.filter(process=process, flow_task=IssuanceFlow.countersign).select_related("owner"))
    assert len(heads) == 2
    outcomes = run_at_once([
        lambda t=task: check_perform_issuance_step(t.owner, Task.objects.get(pk=t.pk),
                                                   StepInput(decision="agree", opinion="同意。"))
        for task in heads])
    assert outcomes == ["ok", "ok"]
    joins = Task.objects.filter(process=process, flow_task=IssuanceFlow.join)
    assert joins.count() == 1 and joins.get().status == STATUS.DONE
    assert Task.objects.filter(process=process, flow_task=IssuanceFlow.signoff).count() == 1
