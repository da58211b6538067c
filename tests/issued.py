"""A 发文 run through IssuanceFlow's actions up to 分发 (the demo cast, PostgreSQL or SQLite): the starting point
of every 收文 and exchange test that needs a real, stamped, distributed document."""

from __future__ import annotations

from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.actions.seals import check_create_seal, do_init_seal_authority
from documents.models import OfficialDocument, SealAuthority
from oa.models import Agency, Department, Person
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow

BODY = {"blocks": [
    {"type": "p", "level": 0, "text": "为做好年度工作衔接，现将有关事项函告如下。"},
    {"type": "p", "level": 0, "text": "请贵单位按要求做好对接，并及时反馈办理情况。"},
]}


def ensure_office_seal() -> None:
    """The 制章者 and 区府办's 公章, once per test database."""
    if not SealAuthority.objects.exists():
        do_init_seal_authority(actor=None, name="揭东区电子印章制章者")
    office = Agency.objects.get(doc_code="揭东府办")
    if not office.seals.exists():
        check_create_seal(Person.objects.get(username="sunhao"), agency=office)


def _step(user: Person, process: Process, node, decision: str = "agree", opinion: str = "同意。", **kw) -> None:
    task = Task.objects.get(process=process, flow_task=node, owner=user, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
    check_perform_issuance_step(user, task, StepInput(decision=decision, opinion=opinion, otp_verified=True, **kw))


def issue_to(recipients: list[Agency], *, title: str = "关于做好年度工作衔接的函") -> tuple[OfficialDocument, Process]:
    """区府办 drafts, reviews, signs, numbers, typesets, seals and distributes a 函 to ``recipients`` (主送)."""
    ensure_office_seal()
    people = {p.username: p for p in Person.objects.filter(username__in=["zhangwei", "lina", "liuyang", "zhoumin"])}
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=people["zhangwei"], agency=office,
                             department=Department.objects.get(agency=office, name="秘书科"), title=title,
                             doc_type="han", main_recipients=[a.name for a in recipients])
    check_save_body(people["zhangwei"], doc, BODY, if_match=None)
    process = check_start_issuance(people["zhangwei"], doc, StartOptions())
    flow = IssuanceFlow
    _step(people["lina"], process, flow.dept_review)
    _step(people["lina"], process, flow.office_check)
    _step(people["lina"], process, flow.signoff, opinion="同意印发。")
    _step(people["lina"], process, flow.recheck, opinion="复核无误。")
    _step(people["liuyang"], process, flow.register, decision="done", opinion="")
    _step(people["liuyang"], process, flow.typeset, decision="done", opinion="")
    _step(people["zhoumin"], process, flow.seal, decision="done", opinion="")
    _step(people["liuyang"], process, flow.distribute, decision="done", opinion="",
          recipients=[(a.pk, "main") for a in recipients])
    doc.refresh_from_db()
    return doc, process
