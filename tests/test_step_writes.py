"""The writes a flow step folds together to spend fewer statements (docs/performance.md 流程办理), each checked for
the same outcome as the separate writes it replaced: the document grant that travels in an audit append's
statement, the step holder's owner taken from the caller, the new step's 待办 inserted without a lookup."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.models import Task

from documents.actions.documents import document_access_statement
from documents.models import DocumentAccess
from oa.actions.audit import do_record_audit
from oa.models import AuditEntry, Notification, Person, WorkItem
from oa.selectors.audit import verify_audit_chain
from oa.sqlwrites import queryset_update_statement
from tests.test_assignment_access import open_task, perform, start_issuance
from workflows.actions.routing import locked_task, require_open_own
from workflows.issuance.flows import IssuanceFlow

pytestmark = pytest.mark.django_db


def test_document_access_statement_creates_or_only_drops_the_edit_right(cast):
    doc, _process = start_issuance(cast)
    xuli, lina = cast.xuli, cast.lina
    DocumentAccess.objects.filter(document=doc, person__in=[xuli, lina]).delete()
    DocumentAccess.objects.create(document=doc, person=lina, reason=DocumentAccess.Reason.READER, can_edit=True)
    with transaction.atomic():
        do_record_audit(actor=lina, action="test.grant", obj=doc, also=[
            document_access_statement(doc, xuli, can_edit=False),
            document_access_statement(doc, lina, can_edit=False),
        ])
    created = DocumentAccess.objects.get(document=doc, person=xuli)
    assert (created.reason, created.can_edit, created.granted_at is not None) == ("participant", False, True)
    kept = DocumentAccess.objects.get(document=doc, person=lina)
    assert (kept.reason, kept.can_edit) == ("reader", False)  # only the edit right changed
    assert AuditEntry.objects.filter(action="test.grant").count() == 1
    assert verify_audit_chain().ok


def test_queryset_update_statement_refuses_a_join():
    with pytest.raises(ValueError):
        queryset_update_statement(Person.objects.filter(appointments__department__name="秘书科"), is_active=False)


def test_step_completion_drops_the_edit_right(cast):
    doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    holder = review.owner
    assert DocumentAccess.objects.get(document=doc, person=holder).can_edit is True
    perform(holder, review)
    assert DocumentAccess.objects.get(document=doc, person=holder).can_edit is False
    assert Task.objects.get(pk=review.pk).status == "DONE"


def test_the_holder_check_takes_the_owner_from_the_caller(cast):
    _doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    holder = Person.objects.get(pk=review.owner_id)
    with locked_task(review) as activation:
        with CaptureQueriesContext(connection) as ctx:
            task = require_open_own(holder, activation)
        assert len(ctx.captured_queries) == 0 and task.owner is holder
        other = Person.objects.exclude(pk=holder.pk).first()
        with pytest.raises(PermissionDenied):
            require_open_own(other, activation)


def test_a_new_step_gets_its_item_without_looking_for_an_old_one(cast):
    _doc, process = start_issuance(cast)
    review = open_task(process, IssuanceFlow.dept_review)
    with CaptureQueriesContext(connection) as ctx:
        perform(review.owner, review)
    nxt = open_task(process, IssuanceFlow.office_check)
    ref = f"viewflow.task:{nxt.pk}"
    (item,) = WorkItem.objects.filter(ref=ref)
    assert (item.owner_id, item.box, item.state, item.step) == (nxt.owner_id, "todo", "open", "办公室核稿")
    assert Notification.objects.filter(work_item=item, event_type="work.assigned").count() == 1
    lookups = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT") and '"oa_workitem"' in q["sql"]
               and f"'{ref}'" in q["sql"]]
    assert lookups == []
