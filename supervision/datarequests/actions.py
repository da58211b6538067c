"""Every write of 报表“一张表” (docs/datarequests.md). check_* validate then execute in one transaction: a Refusal
anywhere leaves the database as it was. Events go out after commit (oa.events), 待办 through WorkItem rows."""

from __future__ import annotations

import datetime as dt
import keyword
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.actions.work import do_assign_work, do_close_work
from oa.events import Event, make_work_urged, register_event_type, send_event_on_commit
from oa.models import Agency, Department, Person, WorkItem
from oa.refusals import Refusal
from oa.selectors.calendar import add_working_days, next_working_day
from oa.selectors.directory import primary_appointment
from supervision.actions import _text as _checked_text
from supervision.actions import today
from supervision.datarequests.formulas import check_formulas, parse_formula
from supervision.datarequests.models import (
    NUMERIC_KINDS,
    Answer,
    CatalogField,
    DataRequest,
    FieldKind,
    RequestField,
    Round,
    Submission,
    Target,
    unit_key,
)
from supervision.datarequests.selectors import (
    fields_of,
    fillers_for,
    is_list_owner,
    is_requester,
    is_unit_member,
    period_label,
    period_of,
    unit_name,
)
from supervision.datarequests.values import clean_values
from workflows.steps import end_of_day

KIND = "datarequest"
TITLE_MAX = 120
TEXT_MAX = 2000
FIELDS_MAX = 60
DEADLINE_DAYS_MAX = 60
PERIOD_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$")
S = Submission.Status
Cycle = DataRequest.Cycle
Listing = DataRequest.Listing


class ProgressChanged(TypedDict):
    """A unit saved, submitted or was returned on a data request: the requester's page refreshes its progress."""

    request_id: int
    round_id: int
    submission_id: int
    status: str  # "draft" | "submitted"
    unit: str
    late: bool


register_event_type("datarequest.progress", ProgressChanged)


def _text(value: str, label: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    # The 督办 text check, with this app's shorter limit.
    return _checked_text(value, label, required=required, limit=limit)


def _audit(actor: Person | None, action: str, obj, ip: str | None = None, **changes) -> None:
    do_record_audit(actor=actor, action=action, obj=obj, ip=ip, changes=changes,
                    actor_name="" if actor else "系统（报表一张表）")


def submission_ref(sub: Submission) -> str:
    return f"datarequests.submission:{sub.pk}"


def listing_ref(req: DataRequest) -> str:
    return f"datarequests.listing:{req.pk}"


def submission_link(sub: Submission) -> str:
    return f"/datarequests/submissions/{sub.pk}/"


def request_link(req: DataRequest) -> str:
    return f"/datarequests/{req.pk}/"


def _require_requester(user: Person, req: DataRequest) -> None:
    if not is_requester(user, req):
        raise PermissionDenied("只有报表发起人可以办理。")


def _require_draft(req: DataRequest, what: str) -> None:
    if req.status != DataRequest.Status.DRAFT:
        raise Refusal("request_not_draft", f"报表已下发，不能再{what}；如需调整请停止后另建。", status=409)


# --- the request ----------------------------------------------------------------------------------------------


@dataclass
class RequestInput:
    title: str
    cycle: str
    deadline_days: int
    targets: list[tuple[Agency, Department | None]]
    description: str = ""
    period: str = ""


def _clean_request(data: RequestInput) -> tuple[str, str, str, int, str, list[tuple[Agency, Department | None]]]:
    title = _text(data.title, "报表名称", limit=TITLE_MAX)
    description = _text(data.description, "填报说明", required=False)
    if data.cycle not in Cycle.values:
        raise Refusal("cycle_invalid", "报送周期只能是一次性、每月或每季度。")
    try:
        days = int(data.deadline_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= DEADLINE_DAYS_MAX:
        raise Refusal("deadline_days_invalid", f"填报时限须为 1～{DEADLINE_DAYS_MAX} 个工作日。")
    period = (data.period or "").strip().upper()
    if data.cycle == Cycle.ONCE:
        period = period or period_of(Cycle.MONTHLY, today())
        if not PERIOD_RE.match(period):
            raise Refusal("period_invalid", "统计期写成 2026（年）、2026-09（月）或 2026-Q3（季度）。")
    else:
        period = ""
    targets: list[tuple[Agency, Department | None]] = []
    seen = set()
    for agency, department in data.targets:
        if department is not None and department.agency_id != agency.pk:
            raise Refusal("target_invalid", f"“{department.name}”不属于“{agency.name}”。")
        if not agency.is_active or (department is not None and not department.is_active):
            raise Refusal("target_inactive", f"“{agency.name}”已停用，不能作为填报单位。")
        key = unit_key(agency.pk, department.pk if department else None)
        if key not in seen:
            seen.add(key)
            targets.append((agency, department))
    if not targets:
        raise Refusal("targets_required", "请至少选择一个填报单位。")
    return title, description, data.cycle, days, period, targets


def check_save_request(actor: Person, req: DataRequest | None, data: RequestInput, *,
                       ip: str | None = None) -> DataRequest:
    """Create a draft request for the actor's own agency and department, or change a draft's header and targets."""
    title, description, cycle, days, period, targets = _clean_request(data)
    with transaction.atomic():
        if req is None:
            appointment = primary_appointment(actor)
            if appointment is None:
                raise PermissionDenied("您没有任职信息，不能发起报表。")
            req = DataRequest(agency=appointment.department.agency, department=appointment.department, owner=actor)
        else:
            req = DataRequest.objects.select_for_update().get(pk=req.pk)
            _require_requester(actor, req)
            _require_draft(req, "修改")
        req.title, req.description, req.cycle, req.deadline_days, req.period = title, description, cycle, days, period
        if req.listing in (Listing.LISTED, Listing.REFUSED) and req.pk:
            req.listing, req.listed_at, req.listed_by = Listing.NONE, None, None  # changed: register again
        req.save()
        wanted = {unit_key(a.pk, d.pk if d else None): (a, d) for a, d in targets}
        req.targets.exclude(unit_key__in=wanted).delete()
        have = set(req.targets.values_list("unit_key", flat=True))
        Target.objects.bulk_create([Target(request=req, agency=a, department=d, unit_key=k)
                                    for k, (a, d) in wanted.items() if k not in have])
        _audit(actor, "datarequests.save", req, ip, title=title, cycle=cycle, deadline_days=days,
               targets=sorted(wanted))
    return req


# --- fields and the catalogue ---------------------------------------------------------------------------------


@dataclass
class FieldInput:
    code: str
    name: str = ""
    unit: str = ""
    kind: str = FieldKind.INTEGER
    synonyms: str = ""
    choices: str = ""
    required: bool = True
    min_value: str = ""
    max_value: str = ""
    formula: str = ""
    catalog: CatalogField | None = None  # reuse this catalogue row (its name, unit, type, choices)


def _bound(text: str, label: str) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Refusal("bound_invalid", f"{label}须为数字。") from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 15:
        raise Refusal("bound_invalid", f"{label}须为数字。")
    return value


def _choices(text: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,，、\n]", text or "") if p.strip()]
    return list(dict.fromkeys(p[:40] for p in parts))


def check_add_field(actor: Person, req: DataRequest, data: FieldInput, *, ip: str | None = None) -> RequestField:
    """Add a field to a draft. Reusing a catalogue row asks the same number as earlier requests (prefilled later);
    a new field registers a catalogue row, and is refused when the catalogue already has that name and unit.
    Every formula of the form is checked again: one naming a code the form lacks is refused."""
    code = (data.code or "").strip()
    if not code:
        raise Refusal("code_required", "请填写字段代码（字母、数字或汉字，用于公式和 Excel 模板，如 output）。")
    if not code.isidentifier() or keyword.iskeyword(code) or len(code) > 30:
        raise Refusal("code_invalid", f"字段代码“{code[:30]}”不合规：以字母或汉字开头，只含字母、数字、汉字和下划线。")
    formula = (data.formula or "").strip()
    if data.catalog is not None:
        cat = data.catalog
        name, unit, kind, choices = cat.name, cat.unit, cat.kind, list(cat.choices)
    else:
        cat = None
        name = _text(data.name, "指标名称", limit=60)
        unit = _text(data.unit, "计量单位", required=False, limit=20)
        if data.kind not in FieldKind.values:
            raise Refusal("kind_invalid", "字段类型只能是整数、小数、文本、日期或单选。")
        kind = data.kind
        choices = _choices(data.choices) if kind == FieldKind.CHOICE else []
        if kind == FieldKind.CHOICE and len(choices) < 2:
            raise Refusal("choices_required", "单选字段至少要有两个选项（用逗号分隔）。")
    if formula and kind not in NUMERIC_KINDS:
        raise Refusal("formula_not_numeric", f"只有整数或小数字段可以设计算公式，“{name}”是{FieldKind(kind).label}。")
    low = _bound(data.min_value, "最小值") if kind in NUMERIC_KINDS else None
    high = _bound(data.max_value, "最大值") if kind in NUMERIC_KINDS else None
    if low is not None and high is not None and low > high:
        raise Refusal("bounds_invalid", "最小值不能大于最大值。")
    synonyms = ",".join(_choices(_text(data.synonyms, "同义词", required=False, limit=300)))
    with transaction.atomic():
        req = DataRequest.objects.select_for_update().get(pk=req.pk)
        _require_requester(actor, req)
        _require_draft(req, "修改字段")
        fields = fields_of(req)
        if len(fields) >= FIELDS_MAX:
            raise Refusal("too_many_fields", f"一张报表最多 {FIELDS_MAX} 个字段；字段太多请拆分或复用已有数据。")
        if any(f.code == code for f in fields):
            raise Refusal("code_taken", f"字段代码“{code}”已被本表使用。")
        if cat is None:
            existing = CatalogField.objects.select_related("merged_into").filter(name=name, unit=unit).first()
            if existing is not None:
                _refuse_existing(existing)
        else:
            cat = CatalogField.objects.select_for_update(of=("self",)).select_related("merged_into").get(pk=cat.pk)
            if cat.retired:  # merged or retired since the page was shown (the merge holds this row's lock)
                _refuse_existing(cat)
            if any(f.catalog_id == cat.pk for f in fields):
                raise Refusal("catalog_used", f"本表已有指标“{cat}”。")
        proposed = RequestField(request=req, code=code, label=name, kind=kind, unit=unit, formula=formula)
        check_formulas([(f.code, f.label, f.formula, f.is_numeric) for f in [*fields, proposed]])
        if cat is None:
            cat = CatalogField.objects.create(name=name, unit=unit, kind=kind, choices=choices, synonyms=synonyms,
                                              created_by=req.agency)
        elif synonyms:
            merged = list(dict.fromkeys([*_choices(cat.synonyms), *_choices(synonyms)]))
            CatalogField.objects.filter(pk=cat.pk).update(synonyms=",".join(merged)[:300])
        field = RequestField.objects.create(
            request=req, catalog=cat, code=code, label=name, kind=kind, unit=unit, choices=choices,
            required=bool(data.required) and not formula, min_value=low, max_value=high, formula=formula,
            position=(max((f.position for f in fields), default=0) + 1))
        _audit(actor, "datarequests.field_add", req, ip, code=code, catalog=cat.pk, reused=data.catalog is not None,
               formula=formula)
    return field


def _refuse_existing(existing: CatalogField) -> None:
    if existing.merged_into_id:
        raise Refusal("catalog_merged", f"指标“{existing}”已并入“{existing.merged_into}”，请复用“{existing.merged_into}”。")
    if existing.retired:
        raise Refusal("catalog_retired", f"指标“{existing}”已在指标目录中停用；如需再用，请联系区府办督查室恢复。")
    raise Refusal("catalog_exists", f"指标目录已有“{existing}”，请直接复用，同一个数只报一次。")


def check_remove_field(actor: Person, field: RequestField, *, ip: str | None = None) -> None:
    with transaction.atomic():
        req = DataRequest.objects.select_for_update().get(pk=field.request_id)
        _require_requester(actor, req)
        _require_draft(req, "修改字段")
        rest = [f for f in fields_of(req) if f.pk != field.pk]
        for f in rest:
            if f.formula and field.code in _names(f):
                raise Refusal("field_in_formula", f"“{f.label}”的计算公式用到“{field.label}”，请先修改或删除该公式字段。",
                              status=409)
        field.delete()
        _audit(actor, "datarequests.field_remove", req, ip, code=field.code)


def _names(field: RequestField) -> list[str]:
    from supervision.datarequests.formulas import names_in

    return names_in(parse_formula(field.formula, label=field.label))


# --- 报表清单 ---------------------------------------------------------------------------------------------------


def check_apply_listing(actor: Person, req: DataRequest, *, basis: str, ip: str | None = None) -> DataRequest:
    """Ask the 区府办 to put the request on the 报表清单 (its 清单 owners get a 待办)."""
    from oa.models import Role
    from oa.selectors.directory import people_with_role

    basis = _text(basis, "列入清单的依据（文件、会议或领导批示）", limit=300)
    with transaction.atomic():
        req = DataRequest.objects.select_for_update().get(pk=req.pk)
        _require_requester(actor, req)
        _require_draft(req, "申请列入清单")
        if req.listing == Listing.PENDING:
            raise Refusal("listing_pending", "已申请列入清单，正在审核。", status=409)
        if req.listing == Listing.LISTED:
            raise Refusal("listing_done", "本报表已列入清单。", status=409)
        if not req.fields.exists():
            raise Refusal("fields_required", "请先设计报表字段再申请列入清单。")
        owners = [p for p in people_with_role(Role.SUPERVISOR) if is_list_owner(p)]
        if not owners:
            raise Refusal("no_list_owner", "区府办尚未指定报表清单审核人（督查室督查员），请联系系统管理员。", status=409)
        req.listing, req.listing_basis, req.listing_note = Listing.PENDING, basis, ""
        req.save(update_fields=["listing", "listing_basis", "listing_note"])
        for person in owners:
            do_assign_work(kind=KIND, ref=listing_ref(req), box=WorkItem.Box.TODO, owner=person,
                           title=f"报表清单审核：{req.title}", agency=req.agency, step="清单审核",
                           link="/datarequests/listing/", note=f"{req.agency.short_name} {actor.get_full_name()} 申请",
                           initiator=actor)
        _audit(actor, "datarequests.listing_apply", req, ip, basis=basis)
    return req


def check_decide_listing(actor: Person, req: DataRequest, *, approve: bool, note: str = "",
                         ip: str | None = None) -> DataRequest:
    note = _text(note, "不予列入的理由", required=not approve, limit=300)
    with transaction.atomic():
        if not is_list_owner(actor):
            raise PermissionDenied("只有区府办报表清单审核人可以审核。")
        req = DataRequest.objects.select_for_update().get(pk=req.pk)
        if req.listing != Listing.PENDING:
            raise Refusal("listing_not_pending", "该报表没有待审核的清单申请。", status=409)
        req.listing = Listing.LISTED if approve else Listing.REFUSED
        req.listing_note, req.listed_by, req.listed_at = note, actor, timezone.now()
        req.save(update_fields=["listing", "listing_note", "listed_by", "listed_at"])
        do_close_work(ref=listing_ref(req), by=actor, outcome="" if approve else "returned", note=note)
        label = "已列入报表清单" if approve else f"未列入报表清单：{note}"
        do_assign_work(kind=KIND, ref=f"datarequests.listed:{req.pk}", box=WorkItem.Box.TOREAD, owner=req.owner,
                       title=f"{req.title}：{label}", agency=req.agency, step="清单审核结果", link=request_link(req),
                       initiator=actor)
        _audit(actor, "datarequests.listing_decide", req, ip, approve=approve, note=note)
    return req


# --- sending and rounds ---------------------------------------------------------------------------------------


def check_send_request(actor: Person, req: DataRequest, *, ip: str | None = None) -> Round:
    """下发: only a request on the 报表清单 may go out. Opens the first round (every target unit gets its 待办)."""
    with transaction.atomic():
        req = DataRequest.objects.select_for_update().get(pk=req.pk)
        _require_requester(actor, req)
        _require_draft(req, "下发")
        if req.listing != Listing.LISTED:
            raise Refusal("not_listed", "该报表未列入区府办报表清单，不能下发。请先申请列入清单，审核通过后再下发。",
                          status=409)
        fields = fields_of(req)
        if not fields:
            raise Refusal("fields_required", "报表没有字段，不能下发。")
        check_formulas([(f.code, f.label, f.formula, f.is_numeric) for f in fields])
        if not req.targets.exists():
            raise Refusal("targets_required", "请至少选择一个填报单位。")
        req.status, req.sent_at = DataRequest.Status.ACTIVE, timezone.now()
        req.save(update_fields=["status", "sent_at"])
        rnd = do_open_round(req, today())
        _audit(actor, "datarequests.send", req, ip, round=rnd.pk, period=rnd.period, deadline=rnd.deadline,
               units=rnd.submissions.count())
    return rnd


def _round_period(req: DataRequest, on: dt.date) -> str:
    return req.period if req.cycle == Cycle.ONCE else period_of(req.cycle, on)


def do_open_round(req: DataRequest, on: dt.date) -> Round:
    """One round for the period containing ``on``: a submission per target, prefilled from what each unit already
    reported for the same catalogue field and period (any request), and a 填报 待办 for each unit's fillers.
    The caller holds a transaction and the request's row lock."""
    sent_on = next_working_day(on)
    deadline = add_working_days(sent_on, req.deadline_days)
    remind_on = add_working_days(sent_on, req.deadline_days - 1) if req.deadline_days > 1 else deadline
    period = _round_period(req, on)
    rnd = Round.objects.create(request=req, period=period, sent_on=sent_on, deadline=deadline, remind_on=remind_on)
    fields = fields_of(req)
    targets = list(req.targets.select_related("agency", "department"))
    answers: dict[tuple[int, str], tuple[str, str]] = {}
    for a in Answer.objects.filter(catalog_id__in=[f.catalog_id for f in fields], period=period,
                                   unit_key__in=[t.unit_key for t in targets]).select_related(
            "submission__round__request"):
        answers[(a.catalog_id, a.unit_key)] = (a.value, a.submission.round.request.title)
    for target in targets:
        values, prefilled = {}, {}
        for f in fields:
            if f.computed:
                continue
            hit = answers.get((f.catalog_id, target.unit_key))
            if hit is not None:
                values[f.code] = hit[0]
                prefilled[f.code] = {"value": hit[0], "source": hit[1][:120]}
        if values:
            values, _errors = clean_values(fields, values, final=False)  # fills computed fields from prefills
        sub = Submission.objects.create(round=rnd, target=target, agency=target.agency, department=target.department,
                                        values=values, prefilled=prefilled)
        _assign_fillers(sub, req, rnd, step="填报")
    return rnd


def _assign_fillers(sub: Submission, req: DataRequest, rnd: Round, *, step: str, note: str = "") -> None:
    people = fillers_for(sub.agency, sub.department)
    if not people:
        raise Refusal("unit_no_filler", f"“{unit_name(sub)}”没有办公室文书或负责人，无法接收报表，请联系系统管理员。",
                      status=409)
    for person in people:
        do_assign_work(kind=KIND, ref=submission_ref(sub), box=WorkItem.Box.TODO, owner=person,
                       title=f"{req.title}（{period_label(rnd.period)}）", agency=sub.agency, step=step,
                       deadline=end_of_day(rnd.deadline), link=submission_link(sub), note=note,
                       thread=f"datarequests.request:{req.pk}", initiator=req.owner)


def do_open_due_rounds(on: dt.date | None = None) -> int:
    """Monthly and quarterly requests get the round of the current period once (the unique (request, period)
    constraint and the request's row lock make a re-run or a second scheduler a no-op)."""
    on = on or today()
    opened = 0
    for req_id in DataRequest.objects.filter(status=DataRequest.Status.ACTIVE,
                                             cycle__in=[Cycle.MONTHLY, Cycle.QUARTERLY]).values_list("pk", flat=True):
        with transaction.atomic():
            req = DataRequest.objects.select_for_update().get(pk=req_id)
            if req.status != DataRequest.Status.ACTIVE or req.rounds.filter(period=_round_period(req, on)).exists():
                continue
            try:
                with transaction.atomic():
                    rnd = do_open_round(req, on)
            except IntegrityError:
                continue
            _audit(None, "datarequests.round_open", req, round=rnd.pk, period=rnd.period)
            opened += 1
    return opened


def check_close_request(actor: Person, req: DataRequest, *, ip: str | None = None) -> DataRequest:
    """停止: no new rounds; open 待办 of units that have not submitted are withdrawn."""
    with transaction.atomic():
        req = DataRequest.objects.select_for_update().get(pk=req.pk)
        _require_requester(actor, req)
        if req.status != DataRequest.Status.ACTIVE:
            raise Refusal("request_not_active", "只有报送中的报表可以停止。", status=409)
        req.status = DataRequest.Status.CLOSED
        req.save(update_fields=["status"])
        for sub in Submission.objects.filter(round__request=req).exclude(status=S.SUBMITTED):
            do_close_work(ref=submission_ref(sub), state=WorkItem.State.CANCELLED, by=actor)
        _audit(actor, "datarequests.close", req, ip)
    return req


# --- filling --------------------------------------------------------------------------------------------------


class ValuesRefused(Refusal):
    """Some values are invalid: ``errors`` maps each field code (or Excel cell) to its message."""

    def __init__(self, errors: dict[str, str], code: str = "values_invalid") -> None:
        self.errors = errors
        first = list(errors.values())[:5]
        more = f"等 {len(errors)} 处" if len(errors) > 5 else ""
        super().__init__(code, f"有 {len(errors)} 处填写有误{more}：" + "；".join(first))


def _locked_submission(sub: Submission) -> Submission:
    return (Submission.objects.select_for_update(of=("self",))
            .select_related("round__request", "agency", "department").get(pk=sub.pk))


def _progress_event(sub: Submission, text: str) -> None:
    req = sub.round.request
    payload = ProgressChanged(request_id=req.pk, round_id=sub.round_id, submission_id=sub.pk, status=sub.status,
                              unit=unit_name(sub), late=sub.late)
    send_event_on_commit(Event("datarequest.progress", f"{req.title}：{unit_name(sub)}{text}",
                               f"{period_label(sub.round.period)}", request_link(req), dict(payload)), [req.owner_id])


def check_save_submission(user: Person, sub: Submission, raw: dict[str, object], *, final: bool,
                          ip: str | None = None, source: str = "form") -> Submission:
    """暂存 (final=False: required fields may stay empty) or 报送 (final=True). Values outside a field's validation are
    refused with every problem listed (ValuesRefused). A submission after the deadline is accepted and flagged late.
    On 报送 every value is kept per catalogue field, unit and period (Answer) for the next request to prefill."""
    with transaction.atomic():
        sub = _locked_submission(sub)
        req, rnd = sub.round.request, sub.round
        if not is_unit_member(user, sub):
            raise PermissionDenied("只有填报单位的人员可以填报。")
        if req.status != DataRequest.Status.ACTIVE:
            raise Refusal("request_not_active", "该报表已停止报送。", status=409)
        if sub.status == S.SUBMITTED:
            raise Refusal("already_submitted", "已报送；如需修改，请联系发起单位退回。", status=409)
        fields = fields_of(req)
        values, errors = clean_values(fields, raw, final=final)
        if errors:
            raise ValuesRefused(errors)
        sub.values = values
        sub.prefilled = {c: p for c, p in (sub.prefilled or {}).items() if values.get(c) == p.get("value")}
        sub.saved_at = timezone.now()
        if final:
            sub.status, sub.submitted_at, sub.submitted_by = S.SUBMITTED, timezone.now(), user
            sub.late = today() > rnd.deadline
            for f in fields:
                value = values.get(f.code, "")
                if value == "":
                    continue
                Answer.objects.update_or_create(catalog_id=f.catalog_id, unit_key=sub.target.unit_key,
                                                period=rnd.period,
                                                defaults={"value": value, "submission": sub, "agency": sub.agency,
                                                          "department": sub.department})
            do_close_work(ref=submission_ref(sub), by=user)
        elif sub.status == S.PENDING:
            sub.status = S.DRAFT
        sub.save()
        late = "（逾期报送）" if final and sub.late else ""
        _progress_event(sub, ("已报送" + late) if final else "已暂存")
        _audit(user, "datarequests.submit" if final else "datarequests.save_draft", sub, ip, request=req.pk,
               period=rnd.period, late=sub.late if final else None, source=source,
               prefilled=sorted(sub.prefilled))
    return sub


def check_return_submission(user: Person, sub: Submission, *, reason: str, ip: str | None = None) -> Submission:
    """退回 by the requester with a reason: the unit's 待办 comes back, its values stay for correction."""
    reason = _text(reason, "退回理由", limit=500)
    with transaction.atomic():
        sub = _locked_submission(sub)
        req, rnd = sub.round.request, sub.round
        _require_requester(user, req)
        if sub.status != S.SUBMITTED:
            raise Refusal("not_submitted", "只能退回已报送的填报。", status=409)
        sub.status, sub.return_reason, sub.returned_at = S.RETURNED, reason, timezone.now()
        sub.return_count += 1
        sub.save(update_fields=["status", "return_reason", "returned_at", "return_count"])
        _assign_fillers(sub, req, rnd, step="填报（退回）", note=f"被 {user.get_full_name()} 退回：{reason}")
        _audit(user, "datarequests.return", sub, ip, request=req.pk, reason=reason)
    return sub


# --- 催报 -------------------------------------------------------------------------------------------------------


def _reminder(item: WorkItem, rnd: Round) -> Event:
    """The same work.urged event as a flow step's 催办 (so the workbench and the phone card show it), worded as 催报."""
    event = make_work_urged(item, count=1, by=None)
    return Event(event.type, f"催报：{item.title}", f"请于 {rnd.deadline:%-m月%-d日} 前报送", event.link,
                 event.payload)


def do_remind_due(on: dt.date | None = None) -> int:
    """催报 once per round: on the round's 催报日期 (one working day before the deadline) the units that have not
    submitted are urged (work.urged on their open 待办, which the mobile platform channel also carries). The round is
    claimed by a conditional UPDATE (reminded_at NULL → now) before anything is sent, so a re-run or two schedulers
    send nothing twice. Returns the number of units urged."""
    on = on or today()
    urged = 0
    due = Round.objects.filter(reminded_at__isnull=True, remind_on__lte=on,
                               request__status=DataRequest.Status.ACTIVE).values_list("pk", flat=True)
    for rnd_id in list(due):
        with transaction.atomic():
            if not Round.objects.filter(pk=rnd_id, reminded_at__isnull=True).update(reminded_at=timezone.now()):
                continue
            rnd = Round.objects.select_related("request").get(pk=rnd_id)
            count = 0
            for sub in rnd.submissions.exclude(status=S.SUBMITTED).select_related("agency", "department"):
                items = list(WorkItem.objects.filter(ref=submission_ref(sub), state=WorkItem.State.OPEN,
                                                     box=WorkItem.Box.TODO))
                for item in items:
                    send_event_on_commit(_reminder(item, rnd), [item.owner_id], work_item=item)
                count += bool(items)
            Round.objects.filter(pk=rnd_id).update(reminded_count=count)
            _audit(None, "datarequests.remind", rnd, request=rnd.request_id, period=rnd.period, units=count,
                   deadline=rnd.deadline)
            urged += count
    return urged


# --- Excel import ---------------------------------------------------------------------------------------------


def check_import_submission(user: Person, sub: Submission, upload, *, ip: str | None = None) -> Submission:
    """A filled template becomes the unit's draft (暂存): every wrong column or value is refused with its cell
    (excel.ImportRefused) and nothing is saved; the unit then checks the values on the page and submits."""
    from documents.uploads import read_upload
    from supervision.datarequests.excel import parse_template

    if not is_unit_member(user, sub):
        raise PermissionDenied("只有填报单位的人员可以导入。")
    data = read_upload(upload)
    values = parse_template(data, getattr(upload, "name", "") or "", sub, fields_of(sub.round.request))
    return check_save_submission(user, sub, values, final=False, ip=ip, source="excel")


# --- 指标目录维护 (the 清单 owners) -----------------------------------------------------------------------------


def _require_list_owner(actor: Person) -> None:
    if not is_list_owner(actor):
        raise PermissionDenied("只有区府办报表清单审核人（督查室）可以维护指标目录。")


def _locked_catalog(pk: int) -> CatalogField:
    return CatalogField.objects.select_for_update().get(pk=pk)


def check_update_catalog(actor: Person, cat: CatalogField, *, synonyms: str, description: str,
                         ip: str | None = None) -> CatalogField:
    """Edit a catalogue row's 同义词 (what the reuse search also matches) and 口径说明."""
    synonyms_list = _choices(_text(synonyms, "同义词", required=False, limit=300))
    description = _text(description, "口径说明", required=False, limit=300)
    with transaction.atomic():
        _require_list_owner(actor)
        cat = _locked_catalog(cat.pk)
        if cat.merged_into_id:
            raise Refusal("catalog_merged", f"“{cat}”已并入其他指标，请修改合并后的指标。", status=409)
        synonyms_list = [s for s in synonyms_list if s != cat.name]
        before = {"synonyms": cat.synonyms, "description": cat.description}
        cat.synonyms, cat.description = ",".join(synonyms_list), description
        if len(cat.synonyms) > 300:
            raise Refusal("field_too_long", "同义词合计不能超过 300 字。")
        cat.save(update_fields=["synonyms", "description"])
        _audit(actor, "datarequests.catalog_update", cat, ip, before=before,
               after={"synonyms": cat.synonyms, "description": cat.description})
    return cat


def check_retire_catalog(actor: Person, cat: CatalogField, *, retire: bool, ip: str | None = None) -> CatalogField:
    """停用 (hidden from the reuse search, no new field may use it; requests and answers keep it) or 恢复."""
    with transaction.atomic():
        _require_list_owner(actor)
        cat = _locked_catalog(cat.pk)
        if retire and cat.retired:
            raise Refusal("catalog_retired", f"“{cat}”已停用。", status=409)
        if not retire and cat.merged_into_id:
            raise Refusal("catalog_merged", f"“{cat}”已并入其他指标，不能恢复。", status=409)
        if not retire and not cat.retired:
            raise Refusal("catalog_active", f"“{cat}”在用，无需恢复。", status=409)
        cat.retired_at = timezone.now() if retire else None
        cat.save(update_fields=["retired_at"])
        _audit(actor, "datarequests.catalog_retire" if retire else "datarequests.catalog_restore", cat, ip,
               uses=cat.uses.count(), answers=cat.answers.count())
    return cat


@dataclass
class MergeResult:
    into: CatalogField
    fields: int
    answers_moved: int
    answers_dropped: int


def check_merge_catalog(actor: Person, dup: CatalogField, into: CatalogField, *,
                        ip: str | None = None) -> MergeResult:
    """合并: the duplicate's request fields and stored answers move to ``into`` in one transaction; the duplicate is
    retired and points at ``into``, its name and synonyms become ``into``'s synonyms (so a search still finds it).
    Refused when the units or types differ, and when one request uses both (its form would ask the same number
    twice). Where both hold an answer for the same unit and period, the later one is kept."""
    if dup.pk == into.pk:
        raise Refusal("merge_self", "不能把指标并入它自己，请选择另一个指标。")
    try:
        with transaction.atomic():
            _require_list_owner(actor)
            rows = {c.pk: c for c in CatalogField.objects.select_for_update().filter(pk__in=[dup.pk, into.pk])
                    .order_by("pk")}
            dup, into = rows[dup.pk], rows[into.pk]
            if dup.merged_into_id:
                raise Refusal("catalog_merged", f"“{dup}”已并入其他指标。", status=409)
            if into.retired:
                raise Refusal("catalog_retired", f"“{into}”已停用，不能作为合并目标；请先恢复或另选指标。", status=409)
            if dup.unit != into.unit:
                raise Refusal("merge_unit_differs", f"计量单位不同（“{dup.unit or '无'}”与“{into.unit or '无'}”），"
                              "数值口径不一致，不能合并。")
            if dup.kind != into.kind:
                raise Refusal("merge_kind_differs", f"类型不同（{dup.get_kind_display()}与{into.get_kind_display()}），"
                              "不能合并。")
            missing = [c for c in dup.choices if c not in into.choices]
            if missing:
                raise Refusal("merge_choices_differ", f"“{into}”没有选项：{'、'.join(missing)}，不能合并。")
            both = list(DataRequest.objects.filter(fields__catalog=dup).filter(fields__catalog=into)
                        .values_list("title", flat=True).distinct()[:5])
            if both:
                raise Refusal("merge_same_request", f"报表“{'”“'.join(both)}”同时用到“{dup}”和“{into}”，"
                              "合并后同一张表会问同一个数两次，不能合并。", status=409)
            field_ids = list(RequestField.objects.filter(catalog=dup).values_list("pk", flat=True))
            RequestField.objects.filter(pk__in=field_ids).update(catalog=into)
            theirs = {(a.unit_key, a.period): a for a in Answer.objects.select_for_update().filter(catalog=into)}
            move, drop = [], []
            for a in Answer.objects.select_for_update().filter(catalog=dup):
                other = theirs.get((a.unit_key, a.period))
                if other is None:
                    move.append(a.pk)
                elif a.updated_at > other.updated_at:
                    drop.append(other.pk)
                    move.append(a.pk)
                else:
                    drop.append(a.pk)
            Answer.objects.filter(pk__in=drop).delete()
            Answer.objects.filter(pk__in=move).update(catalog=into)  # update() keeps updated_at
            CatalogField.objects.filter(merged_into=dup).update(merged_into=into)
            synonyms = [s for s in dict.fromkeys([*_choices(into.synonyms), dup.name, *_choices(dup.synonyms)])
                        if s != into.name]
            while len(",".join(synonyms)) > 300:
                synonyms.pop()
            into.synonyms = ",".join(synonyms)
            into.description = into.description or dup.description
            into.save(update_fields=["synonyms", "description"])
            dup.retired_at, dup.merged_into = dup.retired_at or timezone.now(), into
            dup.save(update_fields=["retired_at", "merged_into"])
            _audit(actor, "datarequests.catalog_merge", into, ip, merged=dup.pk, merged_name=str(dup),
                   fields=field_ids, answers_moved=len(move), answers_dropped=len(drop))
    except IntegrityError:  # a field reusing the duplicate was added to a request using ``into`` meanwhile
        raise Refusal("merge_same_request", f"有报表同时用到“{dup}”和“{into}”，不能合并。", status=409) from None
    return MergeResult(into, len(field_ids), len(move), len(drop))
