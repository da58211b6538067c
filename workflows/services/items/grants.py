"""限时查阅 (docs/services.md 干部人事档案查阅, 公文借阅): what an approved application grants, each read, and the
expiry the scheduler runs (jobs.py ``services.expire_access``), exactly once per grant.

The grant is valid until the end of the N-th working day after approval (the calendar); a read after that is
refused whether or not the scheduler has run yet, and the refusal is audited too. Expiry is claimed by a
conditional UPDATE (active → expired) before anything is written, so two schedulers never expire a grant twice.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.actions.work import do_assign_work, do_close_work
from oa.events import Event, send_event_on_commit
from oa.models import Person, WorkItem
from oa.refusals import Refusal
from oa.work import WorkKind, register_work_kind
from workflows.actions.opinions import refuse_control_chars_in
from workflows.services.items.records import AccessGrant
from workflows.services.models import ApplicationEvent, ServiceApplication
from workflows.steps import deadline_in

ACCESS_KIND = "service_access"
TEXT_MAX = 500


def _no_actions(item: WorkItem, user: Person) -> list:
    return []  # reading happens on the grant's page, which the item links to


def _no_perform(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    raise ValueError(f"{ACCESS_KIND} cannot {action_key!r} {item.ref}")


register_work_kind(WorkKind(key=ACCESS_KIND, label="限时查阅", icon="toread", actions=_no_actions,
                            perform=_no_perform))


# --- helpers the item modules share ------------------------------------------------------------------------------


def clean_text(value: str | None, what: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refusal("field_required", f"请填写{what}。")
    if len(value) > TEXT_MAX:
        raise Refusal("field_too_long", f"{what}不能超过 {TEXT_MAX} 字。")
    refuse_control_chars_in(value, what)
    return value


def add_event(application: ServiceApplication, kind: str, actor: Person | None, note: str = "") -> None:
    ApplicationEvent.objects.create(application=application, kind=kind, actor=actor, note=note[:500],
                                    at=timezone.now())


def notify(application: ServiceApplication, kind: str, title: str, summary: str, person_ids, link: str = "") -> None:
    send_event_on_commit(Event(type="services.notice", title=title, summary=summary,
                               link=link or f"/services/applications/{application.pk}/",
                               payload={"application_id": application.pk, "kind": kind}), person_ids)


def open_applications(applicant: Person, handler: str, exclude_id: int | None):
    rows = ServiceApplication.objects.filter(applicant=applicant, item__handler=handler, status__in=(
        ServiceApplication.Status.SUBMITTED, ServiceApplication.Status.ACCEPTED, ServiceApplication.Status.AMENDING))
    return rows.exclude(pk=exclude_id) if exclude_id else rows


def until_text(when: dt.datetime) -> str:
    return f"{timezone.localtime(when):%Y年%-m月%-d日 %H:%M}"


def work_ref(grant: AccessGrant) -> str:
    return f"services.access:{grant.pk}"


# --- grant, read, expire ----------------------------------------------------------------------------------------


def do_grant_access(application: ServiceApplication, *, what: str, days: int, personnel_file=None,
                    document=None) -> AccessGrant:
    """办结 of an approved application (inside the flow's transaction): read access until the end of the
    ``days``-th working day from now; a 待阅 for the reader links to the reading page."""
    now = timezone.now()
    until = deadline_in(days, now)
    grant = AccessGrant.objects.create(
        application=application, reader=application.applicant, granted_at=now, valid_until=until,
        kind=AccessGrant.Kind.PERSONNEL_FILE if personnel_file is not None else AccessGrant.Kind.DOCUMENT,
        personnel_file=personnel_file, document=document)
    add_event(application, ApplicationEvent.Kind.ACCESS_GRANTED, None, f"可查阅{what}至{until_text(until)}")
    do_record_audit(actor=None, actor_name="系统（办结）", action="services.access_grant", obj=grant, changes={
        "application": application.number, "reader": application.applicant_id, "kind": grant.kind,
        "target": personnel_file.pk if personnel_file is not None else document.pk, "valid_until": until})
    do_assign_work(kind=ACCESS_KIND, ref=work_ref(grant), box=WorkItem.Box.TOREAD, owner=application.applicant,
                   title=f"限时查阅：{what}", initiator=application.applicant,
                   agency=application.item.department.agency, doc_number=application.number, step="限时查阅",
                   deadline=until, link=f"/services/access/{grant.pk}/")
    return grant


def access_grant_by_id(user: Person, grant_id: int) -> AccessGrant:
    """The reader's own grant (404 for anybody else, whether it exists or not)."""
    grant = (AccessGrant.objects.filter(pk=grant_id, reader=user)
             .select_related("application__item", "personnel_file__person", "document__agency").first())
    if grant is None:
        raise Http404("查阅授权不存在")
    return grant


def check_read(user: Person, grant: AccessGrant, part: str, *, ip: str | None = None) -> AccessGrant:
    """One read of the granted thing (``part``: what was opened). Audited; refused (and the refusal audited) once
    the grant has run out, even if the scheduler has not expired it yet."""
    now = timezone.now()
    with transaction.atomic():
        locked = AccessGrant.objects.select_for_update().get(pk=grant.pk)
        if locked.reader_id == user.pk and locked.state == AccessGrant.State.ACTIVE and locked.valid_until > now:
            locked.reads += 1
            locked.save(update_fields=["reads"])
            do_record_audit(actor=user, action="services.access_read", obj=locked, ip=ip, changes={
                "application": grant.application.number, "kind": locked.kind, "part": part, "reads": locked.reads})
            add_event(grant.application, ApplicationEvent.Kind.ACCESS_READ, user, part)
            return locked
    do_record_audit(actor=user, action="services.access_refused", obj=grant, ip=ip, changes={
        "application": grant.application.number, "kind": grant.kind, "part": part, "valid_until": grant.valid_until})
    raise Refusal("access_expired", f"查阅期限已于{until_text(grant.valid_until)}届满，权限已收回；如需再查阅请重新申请。",
                  status=410)


def do_expire_access(now: dt.datetime | None = None) -> int:
    """The scheduler's round: every grant past its time is expired, once (claimed by a conditional UPDATE)."""
    now = now or timezone.now()
    expired = 0
    due = AccessGrant.objects.filter(state=AccessGrant.State.ACTIVE, valid_until__lte=now).select_related(
        "application__item")
    for grant in due:
        with transaction.atomic():
            claimed = AccessGrant.objects.filter(pk=grant.pk, state=AccessGrant.State.ACTIVE).update(
                state=AccessGrant.State.EXPIRED, expired_at=now)
            if not claimed:
                continue
            application = grant.application
            add_event(application, ApplicationEvent.Kind.ACCESS_EXPIRED, None,
                      f"查阅期限（至{until_text(grant.valid_until)}）已到，权限已自动收回")
            do_record_audit(actor=None, actor_name="系统（查阅期满）", action="services.access_expire", obj=grant,
                            changes={"application": application.number, "reader": grant.reader_id,
                                     "valid_until": grant.valid_until, "reads": grant.reads})
            do_close_work(ref=work_ref(grant), box=WorkItem.Box.TOREAD, state=WorkItem.State.DONE,
                          note="查阅期满")
            notify(application, "access_expired", f"{application.item.name}：查阅期限已到",
                   "权限已自动收回", [grant.reader_id])
            expired += 1
    return expired


def grant_detail(application: ServiceApplication, viewer: Person) -> dict:
    grant = AccessGrant.objects.filter(application=application).first()
    if grant is not None:
        grant.live = grant.state == AccessGrant.State.ACTIVE and grant.valid_until > timezone.now()
    return {"grant": grant, "grant_is_mine": grant is not None and grant.reader_id == viewer.pk}
