"""Writing 办理意见 and keeping a person's 常用语 book.

Rule for empty opinions (条例 第二十二条: 签发人应当签署意见、姓名和完整日期；圈阅或者签名的，视为同意):
every kind needs written text except 圈阅, which is the bare circle-read/signature and counts as approval.
So a signer who means "同意" either writes the opinion or chooses 圈阅; a 退回 always needs its reason.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from viewflow.workflow.models import Process, Task

from documents.models import OfficialDocument
from documents.validators import CONTROL_CHARS_CODE, CONTROL_CHARS_MESSAGE, has_control_chars
from oa.actions.audit import Write, do_record_audit
from oa.models import Person
from oa.refusals import Refusal
from oa.sqlwrites import queryset_update_statement
from workflows.models import CommonPhrase, Opinion

OPINION_MAX = 2000
PHRASES_MAX = 50  # per person: a phrase book, not a document store
STEP_MAX = Opinion._meta.get_field("step").max_length


def clean_opinion_text(text: str | None) -> str:
    # Browsers send \r\n; keep one newline convention so equal opinions compare equal (and match phrases).
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def refuse_control_chars_in(text: str | None, what: str = "意见") -> None:
    """Opinions, reasons and comments are printed on the 处理笺 and shown in the trace: no control or bidi
    characters (line breaks are fine). Checked here, in the actions, so the API and every step path are covered,
    not only the opinion form (docs/security.md §10)."""
    if text and has_control_chars(text, allow_newlines=True):
        raise Refusal(CONTROL_CHARS_CODE, f"{what}{CONTROL_CHARS_MESSAGE}", status=400)


def do_record_opinion(
    *,
    actor: Person,
    process: Process,
    step: str,
    kind: str,
    text: str = "",
    node: str = "",
    document: OfficialDocument | None = None,
    task: Task | None = None,
    on_behalf_of: Person | None = None,
    signed_date: dt.date | None = None,
    ip: str | None = None,
    circle_offered: bool = False,
) -> Opinion:
    """Record one opinion at a flow step. Flow step views call this inside their own transaction (the task
    activation), so the opinion, the audit entry and the task completion commit together or not at all.

    Validates even though it is a ``do_``: the text comes straight from the person's form.
    """
    text = clean_opinion_text(text)
    step = (step or "").strip()
    if kind not in Opinion.Kind.values:
        raise Refusal("opinion_kind_invalid", "意见类型不正确，请选择同意、不同意、圈阅等类型。", status=400)
    if not step or len(step) > STEP_MAX:
        raise Refusal("opinion_step_invalid", f"意见所属环节名称不能为空，且不超过 {STEP_MAX} 字。", status=400)
    refuse_control_chars_in(text)
    if not text and kind != Opinion.Kind.CIRCLE:
        if kind == Opinion.Kind.RETURN:
            raise Refusal("return_reason_required", "退回须填写理由，请说明需要修改的地方。", status=400)
        # The hint names 圈阅 only where the page has a 圈阅 button (``circle_offered``: 签发), not at 复核 or 审核.
        hint = "；如仅表示同意，可选择“圈阅”（圈阅视为同意）" if circle_offered else ""
        raise Refusal("opinion_required", f"请填写{step}意见{hint}。", status=400)
    if len(text) > OPINION_MAX:
        raise Refusal("opinion_too_long", f"意见不能超过 {OPINION_MAX} 字（现有 {len(text)} 字）。", status=400)
    if task is not None and task.process_id != process.pk:
        raise Refusal("opinion_task_mismatch", "该任务不属于此流程，意见未记录。", status=400)
    today = timezone.localdate()
    signed_date = signed_date or today
    if signed_date > today:
        raise Refusal("opinion_date_invalid", "签署日期不能晚于今天。", status=400)
    if signed_date < timezone.localdate(process.created):
        raise Refusal("opinion_date_invalid", "签署日期不能早于流程发起日期。", status=400)
    if on_behalf_of is not None and on_behalf_of.pk == actor.pk:
        on_behalf_of = None

    with transaction.atomic(savepoint=False):  # part of the step: a failure here fails the step
        opinion = Opinion.objects.create(
            document=document, process=process, task=task, step=step, node=node, author=actor,
            on_behalf_of=on_behalf_of, kind=kind, text=text, signed_date=signed_date,
        )
        do_record_audit(
            actor=actor,
            action="flow.opinion",
            obj=opinion,
            ip=ip,
            on_behalf_of=on_behalf_of,
            changes={
                "flow": process.flow_class.__name__ if process.flow_class else "",
                "process": process.pk,
                "task": task.pk if task is not None else None,
                "document": document.pk if document is not None else None,
                "step": step,
                "node": node,
                "kind": kind,
                "text": text,
                "signed_date": signed_date.isoformat(),
            },
            # The 常用语 use count travels in the audit append's statement (one round trip less per step).
            also=[phrase_use_statement(person=actor, text=text)] if text else [],
        )
    return opinion


def do_count_phrase_use(*, person: Person, text: str) -> bool:
    """One more use of the person's phrase whose text the opinion equals exactly; True when one matched.

    Exact match only: an edited phrase is the person's own wording, not a use of the phrase.
    """
    text = clean_opinion_text(text)
    if not text:
        return False
    return CommonPhrase.objects.filter(person=person, text=text).update(use_count=F("use_count") + 1) > 0


def phrase_use_statement(*, person: Person, text: str) -> Write:
    """do_count_phrase_use as an unsent statement, for the ``also`` of the audit append of the same act."""
    phrases = CommonPhrase.objects.filter(person=person, text=clean_opinion_text(text))
    return queryset_update_statement(phrases, use_count=F("use_count") + 1)


def _phrase_text(text: str | None) -> str:
    text = clean_opinion_text(text)
    if not text:
        raise Refusal("phrase_empty", "常用语不能为空。", status=400)
    if len(text) > CommonPhrase.TEXT_MAX:
        raise Refusal(
            "phrase_too_long", f"常用语不能超过 {CommonPhrase.TEXT_MAX} 字（现有 {len(text)} 字）。", status=400,
        )
    return text


def check_add_phrase(*, person: Person, text: str) -> CommonPhrase:
    """Add a phrase at the end of the person's list."""
    text = _phrase_text(text)
    with transaction.atomic():
        # Lock the person's row so two adds at once do not both take the same position or pass the cap.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        mine = CommonPhrase.objects.filter(person=person)
        if mine.filter(text=text).exists():
            raise Refusal("phrase_duplicate", f"常用语“{text}”已存在。", status=400)
        if mine.count() >= PHRASES_MAX:
            raise Refusal("phrase_limit", f"常用语最多 {PHRASES_MAX} 条，请先删除不用的。", status=400)
        position = (mine.aggregate(m=Max("position"))["m"] or 0) + 1
        try:
            with transaction.atomic():
                return CommonPhrase.objects.create(person=person, text=text, position=position)
        except IntegrityError:
            raise Refusal("phrase_duplicate", f"常用语“{text}”已存在。", status=400) from None


def check_remove_phrase(*, person: Person, phrase: CommonPhrase) -> None:
    # The view fetched it through access_phrase_by_id; re-check so no caller can remove someone else's.
    if phrase.person_id != person.pk:
        raise Refusal("phrase_not_found", "常用语不存在。", status=404)
    CommonPhrase.objects.filter(pk=phrase.pk, person=person).delete()


def check_move_phrase(*, person: Person, phrase: CommonPhrase, direction: str) -> list[CommonPhrase]:
    """Move one place up or down; at either end nothing changes. Returns the person's list in its new order.

    Positions are renumbered 1..n on every move, so gaps left by removals and ties never confuse the order.
    """
    if direction not in ("up", "down"):
        raise Refusal("phrase_direction_invalid", "移动方向只能是上移或下移。", status=400)
    if phrase.person_id != person.pk:
        raise Refusal("phrase_not_found", "常用语不存在。", status=404)
    with transaction.atomic():
        phrases = list(CommonPhrase.objects.select_for_update().filter(person=person).order_by(
            "position", "-use_count", "id"))
        index = next((i for i, p in enumerate(phrases) if p.pk == phrase.pk), None)
        if index is None:
            raise Refusal("phrase_not_found", "常用语不存在。", status=404)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(phrases):
            phrases[index], phrases[other] = phrases[other], phrases[index]
        for position, item in enumerate(phrases, start=1):
            if item.position != position:
                item.position = position
                item.save(update_fields=["position"])
    return phrases
