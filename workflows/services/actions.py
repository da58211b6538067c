"""Writes for 零跑动 services (docs/services.md): the catalogue, applications, steps, results, 好差评, 销假.

Every check_* refuses with a Chinese Refusal before writing anything; multi-row writes are one transaction;
events go out after commit (oa.events); legally significant acts are audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from oa.actions.audit import do_record_audit
from oa.actions.work import do_assign_work, do_close_work
from oa.events import Event, send_event_on_commit
from oa.models import Department, Person, Role, WorkItem
from oa.refusals import Refusal
from oa.selectors.directory import people_with_role, primary_appointment
from workflows.actions.opinions import refuse_control_chars_in
from workflows.actions.routing import check_return_task, locked_task, principal_of, require_open_own
from workflows.nodes import task_repr
from workflows.services.catalogue import ROUTE_ROLES
from workflows.services.flows import ServiceFlow
from workflows.services.handlers import handler_for, is_final_step
from workflows.services.models import (
    ApplicationEvent,
    ApplicationMaterial,
    LeaveRecord,
    ServiceApplication,
    ServiceItem,
    SupplyItem,
)
from workflows.services.selectors import (
    days_text,
    ineligibility,
    leave_balance,
    leave_days,
    overlapping_leave,
    prefill_for,
    route_people,
    unheld_route_steps,
)
from workflows.steps import deadline_in

TEXT_MAX = 500
RATING_KIND = "service_rating"


def rating_ref(application: ServiceApplication) -> str:
    return f"services.rating:{application.pk}"


def rating_work_actions(item: WorkItem, user: Person) -> list:
    return []  # a score and a comment: given on the application page (the item links there), not a bare button


def perform_rating_work(user: Person, item: WorkItem, action_key: str, data: dict) -> None:
    raise ValueError(f"service_rating cannot {action_key!r} {item.ref}")
LEAVE_MAX_DAYS = 90


# --- the catalogue (系统管理员) ------------------------------------------------------------------------------


@dataclass
class ItemFields:
    code: str
    name: str
    handler: str
    department: Department
    intake_role: str
    time_limit_days: int
    result_type: str
    route: list = field(default_factory=list)
    materials: list = field(default_factory=list)
    legal_basis: str = ""
    guide: str = ""
    eligible_roles: list = field(default_factory=list)
    eligible_agencies: list = field(default_factory=list)
    instant: bool = False
    zero_visit: bool = True
    non_classified: bool = True
    is_active: bool = True


def check_save_item(actor: Person | None, data: ItemFields, item: ServiceItem | None = None) -> ServiceItem:
    """Create or update a catalogue item. The route is checked against the directory now: a step whose role nobody
    holds in its scope is refused here, not when someone applies."""
    if not data.non_classified:
        raise Refusal("service_classified", "零跑动事项只能是非涉密事项：涉密事项不得在协同办公平台办理。")
    if data.handler not in ServiceItem.Handler.values and handler_for(data.handler) is None:
        raise Refusal("service_handler_invalid", "办理类型无效。")
    plugged = handler_for(data.handler)
    if plugged is not None and plugged.result_types and data.result_type not in plugged.result_types:
        raise Refusal("service_result_mismatch", f"“{plugged.label}”事项的办理结果须为"
                                                 f"{'或'.join(ServiceItem.Result(r).label for r in plugged.result_types)}。")
    if data.result_type not in ServiceItem.Result.values:
        raise Refusal("service_result_invalid", "办理结果类型无效。")
    if data.intake_role not in ROUTE_ROLES.values():
        raise Refusal("service_intake_role_invalid", "受理岗位无效。")
    if not 1 <= int(data.time_limit_days) <= 60:
        raise Refusal("service_time_limit_invalid", "承诺时限须在 1～60 个工作日之间。")
    if data.instant and data.route:
        raise Refusal("service_instant_with_route", "即办件由受理窗口当场办结，不能再设审批路线。")
    if plugged is not None and plugged.validate_item is not None:
        plugged.validate_item(data)
    if data.handler in ("employment_cert", "income_cert") and data.result_type != ServiceItem.Result.CERTIFICATE:
        raise Refusal("service_result_mismatch", "证明类事项的办理结果须为加盖电子印章的电子证明。")
    bad_roles = [r for r in data.eligible_roles if r not in ROUTE_ROLES.values()]
    if bad_roles:
        raise Refusal("service_eligible_role_invalid", "可申请角色中有无效角色。")
    probe = ServiceItem(department=data.department)
    if not route_people(data.intake_role, "competent_dept", probe, None).exists():
        raise Refusal("service_intake_unheld",
                      f"主管部门“{data.department.name}”没有人担任受理岗位“{dict(Role.choices)[data.intake_role]}”，"
                      "无法一门受理：请先在角色管理中授权。")
    agencies = list(data.eligible_agencies) or [data.department.agency]
    problems = unheld_route_steps(data.route, probe, agencies)
    if problems:
        raise Refusal("service_route_unheld", "审批路线中有无人担任的岗位，未保存：" + "；".join(problems))
    clash = ServiceItem.objects.filter(code=data.code).exclude(pk=item.pk if item else None)
    if clash.exists():
        raise Refusal("service_code_taken", f"事项编码“{data.code}”已被使用。")
    with transaction.atomic():
        item = item or ServiceItem()
        for name in ("code", "name", "handler", "department", "intake_role", "time_limit_days", "result_type",
                     "route", "materials", "legal_basis", "guide", "eligible_roles", "instant", "zero_visit",
                     "non_classified", "is_active"):
            setattr(item, name, getattr(data, name))
        created = item.pk is None
        item.save()
        item.eligible_agencies.set(data.eligible_agencies)
        do_record_audit(actor=actor, action="services.item_create" if created else "services.item_update", obj=item,
                        changes={"code": item.code, "name": item.name, "route": item.route,
                                 "materials": item.materials, "department": item.department_id})
    return item


# --- applying ------------------------------------------------------------------------------------------------


@dataclass
class ApplicationInput:
    purpose: str = ""
    leave_kind: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    supply_id: int | None = None
    quantity: int | None = None
    uploads: dict[str, Any] = field(default_factory=dict)  # 上传 material name → uploaded file
    previous: dict[str, int | None] = field(default_factory=dict)  # 前序结果 material name → application id
    extra: dict[str, Any] = field(default_factory=dict)  # the fields of a plugged-in 办理类型 (handlers.py)


MATERIAL_MAX_BYTES = 20 * 1024 * 1024
MATERIAL_TYPES = frozenset({"pdf", "ofd", "png", "jpeg", "docx"})


def _check_uploads(item: ServiceItem, data: ApplicationInput, *, required: bool) -> list[tuple[str, str, bytes, str]]:
    """(name, filename, bytes, kind) for each 上传 material, checked by content; required on first submission."""
    from documents.uploads import check_file_type, read_upload

    checked = []
    for material in item.materials:
        if material["source"] != "upload":
            continue
        upload = data.uploads.get(material["name"])
        if upload is None:
            if required:
                raise Refusal("material_required", f"请上传“{material['name']}”。")
            continue
        try:
            content = read_upload(upload, MATERIAL_MAX_BYTES)
            kind = check_file_type(content, upload.name, MATERIAL_TYPES)
        except Refusal as exc:
            raise Refusal(exc.code, f"“{material['name']}”：{exc.message}", exc.status) from None
        checked.append((material["name"], upload.name[-200:], content, kind.key))
    return checked


def _store_uploads(application: ServiceApplication, checked: list[tuple[str, str, bytes, str]]) -> None:
    """Inside the caller's transaction. Storage is not transactional: a file whose row fails to save is removed at
    once; a rollback later in the caller's transaction leaves the file unreferenced (a known gap, docs/services.md)."""
    import hashlib

    from django.core.files.base import ContentFile

    for name, filename, content, kind in checked:
        for old in ApplicationMaterial.objects.filter(application=application, name=name):
            # The replaced file goes once the replacement is committed (补正 with a new file).
            transaction.on_commit(lambda key=old.file.name, storage=old.file.storage: storage.delete(key))
            old.delete()
        row = ApplicationMaterial(application=application, name=name, filename=filename, kind=kind,
                                  size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                                  uploaded_at=timezone.now())
        row.file.save("material", ContentFile(content), save=False)
        try:
            row.save()
        except Exception:
            row.file.delete(save=False)
            raise


def _check_previous(applicant: Person, item: ServiceItem, data: ApplicationInput) -> dict[str, str]:
    """前序结果: the applicant's own finished application of the named item, by 办件编号."""
    chosen = {}
    for material in item.materials:
        if material["source"] != "previous":
            continue
        pk = data.previous.get(material["name"])
        previous = ServiceApplication.objects.filter(pk=pk, applicant=applicant, item__code=material["field"],
                                                     status=ServiceApplication.Status.DONE).first() if pk else None
        if previous is None:
            raise Refusal("material_previous_missing",
                          f"“{material['name']}”须选择您已办结的“{material['field']}”办件。")
        chosen[material["name"]] = previous.number
    return chosen


def _clean_text(value: str, what: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refusal("field_required", f"请填写{what}。")
    if len(value) > TEXT_MAX:
        raise Refusal("field_too_long", f"{what}不能超过 {TEXT_MAX} 字。")
    refuse_control_chars_in(value, what)
    return value


def _check_leave(person: Person, data: ApplicationInput, application_id: int | None = None) -> dict[str, Any]:
    if data.leave_kind not in LeaveRecord.Kind.values:
        raise Refusal("leave_kind_invalid", "请选择假别。")
    if data.start is None or data.end is None:
        raise Refusal("leave_dates_required", "请选择休假开始和结束日期。")
    if data.end < data.start:
        raise Refusal("leave_dates_order", "结束日期不能早于开始日期。")
    if (data.end - data.start).days > LEAVE_MAX_DAYS:
        raise Refusal("leave_too_long", f"一次请假不能超过 {LEAVE_MAX_DAYS} 天。")
    days = leave_days(data.start, data.end)
    if days == 0:
        raise Refusal("leave_no_working_day", f"{data.start:%-m月%-d日}至{data.end:%-m月%-d日}没有工作日（均为休息日或节假日），无需请假。")
    clash = overlapping_leave(person, data.start, data.end, exclude_application_id=application_id)
    if clash is not None:
        raise Refusal("leave_overlap", f"与您已有的请假（{clash.start:%-m月%-d日}至{clash.end:%-m月%-d日}，"
                                       f"{clash.get_state_display()}）时间重叠。", status=409)
    if data.leave_kind == LeaveRecord.Kind.ANNUAL:
        from integrations.hr.selectors import hr_record_of

        record = hr_record_of(person)
        if record is None:
            raise Refusal("prefill_missing", "人事数据中没有您的年休假记录，请联系人事部门。", status=409)
        if data.start.year != record.leave_year or data.end.year != record.leave_year:
            raise Refusal("leave_year_unknown", f"人事数据只有 {record.leave_year} 年度的年休假，"
                                                "跨年度或其他年度的年休假请分别申请或联系人事部门。")
        balance = leave_balance(person, exclude_application_id=application_id)
        if days > balance:
            raise Refusal("leave_beyond_balance", f"申请 {days} 个工作日，超过您的年休假余额 {days_text(balance)} 天。")
    return {"leave_kind": data.leave_kind, "start": data.start.isoformat(), "end": data.end.isoformat(),
            "working_days": days}


def _check_supplies(item: ServiceItem, data: ApplicationInput) -> dict[str, Any]:
    supply = SupplyItem.objects.filter(pk=data.supply_id, agency=item.department.agency).first()
    if supply is None:
        raise Refusal("supply_invalid", "请选择要领用的办公用品。")
    if not data.quantity or not 1 <= data.quantity <= 1000:
        raise Refusal("supply_quantity_invalid", "领用数量须在 1～1000 之间。")
    if data.quantity > supply.stock:
        raise Refusal("supply_out_of_stock", f"“{supply.name}”库存只有 {supply.stock}{supply.unit}，不足 {data.quantity}{supply.unit}。",
                      status=409)
    return {"supply_id": supply.pk, "supply": supply.name, "quantity": data.quantity, "unit": supply.unit}


def _form_for(applicant: Person, item: ServiceItem, data: ApplicationInput,
              application_id: int | None = None) -> dict[str, Any]:
    handler = item.handler
    plugged = handler_for(handler)
    if plugged is not None:
        return plugged.clean(applicant, item, data.extra, application_id)
    if handler == ServiceItem.Handler.LEAVE:
        form = _check_leave(applicant, data, application_id)
        form["purpose"] = _clean_text(data.purpose, "请假事由", required=False)
        return form
    if handler == ServiceItem.Handler.SUPPLIES:
        form = _check_supplies(item, data)
        form["purpose"] = _clean_text(data.purpose, "用途", required=False)
        return form
    return {"purpose": _clean_text(data.purpose, "用途" if handler.endswith("_cert") else "申请事由", required=True)}


def _resolve_route(item: ServiceItem, department: Department) -> list[list[dict[str, Any]]]:
    return _resolve_stages(item.route, item, department)


def _resolve_stages(route: list, item: ServiceItem, department: Department) -> list[list[dict[str, Any]]]:
    stages = []
    for stage in route:
        resolved = []
        for step in stage:
            holder = route_people(step["role"], step["scope"], item, department).first()
            if holder is None:
                raise Refusal("service_route_unheld",
                              f"“{step['title']}”环节无人担任（{department.name if step['scope'] == 'applicant_dept' else item.department.name}"
                              f"没有{dict(Role.choices)[step['role']]}），暂时无法办理，请联系系统管理员。", status=409)
            resolved.append({"title": step["title"], "role": step["role"], "scope": step["scope"],
                             "assignee_id": holder.pk})
        stages.append(resolved)
    return stages


def _event(application: ServiceApplication, kind: str, actor: Person | None, note: str = "", step: str = "") -> None:
    ApplicationEvent.objects.create(application=application, kind=kind, actor=actor, note=note[:500], step=step[:100],
                                    at=timezone.now())


def check_submit_application(applicant: Person, item: ServiceItem, data: ApplicationInput) -> ServiceApplication:
    """申请: eligibility, prefill from the directory and HR (nothing typed that the system holds), the item's own
    checks (leave balance and overlap, stock), the route resolved to people; then the generic flow starts."""
    if not item.is_active or not item.non_classified:
        raise Refusal("service_inactive", "该事项未上线。", status=409)
    reason = ineligibility(applicant, item)
    if reason:
        raise Refusal("service_not_eligible", reason, status=403)
    appointment = primary_appointment(applicant)
    prefill = prefill_for(applicant, item)
    form = _form_for(applicant, item, data)
    previous = _check_previous(applicant, item, data)
    if previous:
        form["previous"] = previous
    uploads = _check_uploads(item, data, required=True)
    stages = _resolve_route(item, appointment.department)
    plugged = handler_for(item.handler)
    if plugged is not None and plugged.stages is not None:
        stages = plugged.stages(item, form, applicant) + stages
    if plugged is not None and plugged.extra_stages is not None:
        stages += _resolve_stages(plugged.extra_stages(item, form, appointment.department), item,
                                  appointment.department)
    intake = route_people(item.intake_role, "competent_dept", item, None).first()
    if intake is None:
        raise Refusal("service_intake_unheld", f"“{item.department.name}”暂无受理人员，请联系系统管理员。", status=409)
    now = timezone.now()
    deadline = deadline_in(item.time_limit_days, now)
    with transaction.atomic():
        application = ServiceApplication.objects.create(
            item=item, number=f"BS{timezone.localdate():%Y%m%d}{uuid.uuid4().hex[:6].upper()}", applicant=applicant,
            agency=appointment.department.agency, department=appointment.department, prefill=prefill, form=form,
            submitted_at=now, deadline=deadline)
        if item.handler == ServiceItem.Handler.LEAVE:
            LeaveRecord.objects.create(application=application, person=applicant, kind=form["leave_kind"],
                                       start=data.start, end=data.end, working_days=form["working_days"])
        _event(application, ApplicationEvent.Kind.SUBMITTED, applicant)
        _store_uploads(application, uploads)
        if plugged is not None and plugged.on_submit is not None:
            plugged.on_submit(application, data.extra)
        process = ServiceFlow.start.run(
            title=f"{item.name}：{applicant.name}", initiator_id=applicant.pk, agency_id=item.department.agency_id,
            application_id=application.pk, intake_id=intake.pk, stages=stages, stage_index=0,
            deadline=deadline.isoformat(), doc_number=application.number, limit_days=item.time_limit_days)
        application.process_id = process.pk
        application.save(update_fields=["process_id"])
        do_record_audit(actor=applicant, action="services.apply", obj=application, changes={
            "item": item.code, "number": application.number, "form": form, "prefill_keys": sorted(prefill)})
    return application


# --- steps -----------------------------------------------------------------------------------------------------

DECISIONS = {
    "intake": {"accept": "受理", "reject": "不予受理"},
    "approve": {"agree": "同意", "reject": "不同意"},
    "amend": {"resubmit": "重新提交"},
}


def _cancel_open_siblings(task: Task) -> None:
    """不同意 in a 协作联办 stage: the other open steps of that stage are moot."""
    if not task.token.is_split_token():
        return
    prefix = str(task.token).rsplit("_", 1)[0] + "_"
    for sibling in Task.objects.filter(process=task.process, token__startswith=prefix,
                                       status__in=(STATUS.NEW, STATUS.ASSIGNED)).exclude(pk=task.pk):
        sibling.flow_task.activation_class(sibling).cancel()


def check_perform_service_step(user: Person, task: Task, decision: str, opinion: str = "",
                               data: ApplicationInput | None = None, *, ip: str | None = None,
                               final: dict[str, Any] | None = None, otp_verified: bool = False) -> Task:
    """Complete a service step as its holder: 受理/不予受理, 同意/不同意, or the applicant's 补正 resubmission.
    ``final`` carries a registered 办理类型's final-step fields (派车: vehicle and driver; 用印: nothing more)."""
    if task.process.flow_class is not ServiceFlow:
        raise Refusal("not_service_step", "这不是办事事项的环节。", status=400)
    node = task.flow_task.name
    if decision not in DECISIONS.get(node, {}):
        raise Refusal("decision_invalid", "该环节没有这个办理选项。", status=400)
    opinion = _clean_text(opinion, "办理意见", required=decision == "reject")
    with transaction.atomic():
        Process.objects.select_for_update().filter(pk=task.process_id).exists()
        with locked_task(task) as activation:
            task = require_open_own(user, activation)
            application = ServiceApplication.objects.select_for_update().get(pk=activation.process.data["application_id"])
            step_title = (task.data or {}).get("title") or task.flow_task.task_title
            process = activation.process
            if node == "amend":
                data = data or ApplicationInput()
                form = _form_for(application.applicant, application.item, data, application.pk)
                previous = _check_previous(application.applicant, application.item, data)
                if previous:
                    form["previous"] = previous
                _store_uploads(application, _check_uploads(application.item, data, required=False))
                application.form = form
                application.status = ServiceApplication.Status.SUBMITTED
                application.save(update_fields=["form", "status"])
                if application.item.handler == ServiceItem.Handler.LEAVE:
                    LeaveRecord.objects.filter(application=application).update(
                        kind=form["leave_kind"], start=data.start, end=data.end, working_days=form["working_days"])
                plugged = handler_for(application.item.handler)
                if plugged is not None and plugged.on_resubmit is not None:
                    plugged.on_resubmit(application, data.extra)
                _event(application, ApplicationEvent.Kind.RESUBMITTED, user, opinion)
            elif decision == "reject":
                process.data = {**process.data, "rejected": True}
                process.save(update_fields=["data"])
                application.result_note = opinion
                application.save(update_fields=["result_note"])
                _cancel_open_siblings(task)
                _event(application, ApplicationEvent.Kind.REJECTED, user, opinion, step_title)
            elif node == "intake":
                application.status = ServiceApplication.Status.ACCEPTED
                application.save(update_fields=["status"])
                _event(application, ApplicationEvent.Kind.ACCEPTED, user, opinion, "受理")
            else:
                _event(application, ApplicationEvent.Kind.APPROVED, user, opinion, step_title)
            plugged = handler_for(application.item.handler)
            if (plugged is not None and plugged.on_final is not None and decision in ("accept", "agree")
                    and is_final_step(task, process.data)):
                plugged.on_final(user, application, task, final or {}, otp_verified)
            if task.status == STATUS.ASSIGNED:
                activation.start(None)
            task.data = {**(task.data or {}), "outcome": decision, **({"opinion": opinion} if opinion else {})}
            activation.execute()
            do_record_audit(actor=user, action="flow.task_complete", obj=task, object_repr=task_repr(task), ip=ip,
                            on_behalf_of=principal_of(task), changes={
                                "flow": "ServiceFlow", "process": task.process_id, "node": node,
                                "decision": decision, "opinion": opinion, "application": application.number})
    return task


def check_return_for_amend(user: Person, task: Task, reason: str, *, ip: str | None = None) -> Task:
    """退回补正: the step goes back to the applicant with the reason; once fixed, straight back to this step."""
    if task.process.flow_class is not ServiceFlow or task.flow_task.name not in ("intake", "approve"):
        raise Refusal("not_service_step", "只有受理和审批环节可以退回补正。", status=400)
    start = Task.objects.filter(process=task.process, flow_task_type="START").first()
    with transaction.atomic():
        Process.objects.select_for_update().filter(pk=task.process_id).exists()
        new = check_return_task(user, task, start.pk, reason, jump_back=True, ip=ip)
        application = ServiceApplication.objects.select_for_update().get(pk=task.process.data["application_id"])
        application.status = ServiceApplication.Status.AMENDING
        application.amend_count += 1
        application.save(update_fields=["status", "amend_count"])
        _event(application, ApplicationEvent.Kind.RETURNED, user, reason.strip(),
               (task.data or {}).get("title") or str(task.flow_task.task_title))
    return new


# --- results ---------------------------------------------------------------------------------------------------


def do_finish_application(process: Process) -> None:
    """The flow's 办结 (inside its transaction): the item's result, or 不予办理 when a step refused."""
    application = ServiceApplication.objects.select_for_update().select_related("item__department__agency").get(
        pk=process.data["application_id"])
    now = timezone.now()
    application.completed_at = now
    leave = LeaveRecord.objects.filter(application=application).first()
    plugged = handler_for(application.item.handler)
    if process.data.get("rejected"):
        application.status = ServiceApplication.Status.REJECTED
        if leave is not None:
            leave.state = LeaveRecord.State.REJECTED
            leave.save(update_fields=["state"])
        if plugged is not None and plugged.reject is not None:
            plugged.reject(application)
    else:
        application.status = ServiceApplication.Status.DONE
        handler = application.item.handler
        if plugged is not None:
            application.result_note = (plugged.finish(application) if plugged.finish is not None else "审批通过")[:500]
        elif handler in (ServiceItem.Handler.EMPLOYMENT_CERT, ServiceItem.Handler.INCOME_CERT):
            from workflows.services.certificates import do_issue_certificate

            do_issue_certificate(application)
            application.result_note = "已出具加盖电子印章的电子证明"
        elif leave is not None:
            leave.state = LeaveRecord.State.APPROVED
            leave.save(update_fields=["state"])
            application.result_note = f"准假 {leave.working_days} 个工作日"
        elif handler == ServiceItem.Handler.SUPPLIES:
            application.result_note = _issue_supplies(application)
        else:
            application.result_note = "审批通过"
    application.save(update_fields=["status", "completed_at", "result_note"])
    _event(application, ApplicationEvent.Kind.COMPLETED if application.status == ServiceApplication.Status.DONE
           else ApplicationEvent.Kind.REJECTED, None, application.result_note, "办结")
    do_record_audit(actor=None, actor_name="系统（办结）", action="services.complete", obj=application,
                    changes={"status": application.status, "number": application.number})
    # The applicant is told through a 待阅 of its own kind that waits for the 好差评: one notice on the web and the
    # mobile platform (work.assigned), withdrawn once rated.
    outcome = "已办结" if application.status == ServiceApplication.Status.DONE else "不予办理"
    do_assign_work(kind=RATING_KIND, ref=rating_ref(application), box=WorkItem.Box.TOREAD, owner=application.applicant,
                   title=f"{application.item.name}{outcome}，请评价", initiator=application.applicant,
                   agency=application.item.department.agency, doc_number=application.number, step="好差评",
                   link=f"/services/applications/{application.pk}/")


def _issue_supplies(application: ServiceApplication) -> str:
    form = application.form
    supply = SupplyItem.objects.select_for_update().get(pk=form["supply_id"])
    if supply.stock < form["quantity"]:
        # Stock ran out while the application was being approved: the issue is refused, the approval stands.
        return f"库存不足（现有 {supply.stock}{supply.unit}），请与{application.item.department.name}联系调剂"
    supply.stock -= form["quantity"]
    supply.save(update_fields=["stock"])
    if supply.stock <= supply.low_stock:
        keepers = list(people_with_role(application.item.intake_role, department=application.item.department)
                       .values_list("pk", flat=True))
        send_event_on_commit(Event(type="supplies.low_stock", title=f"“{supply.name}”库存不足",
                                   summary=f"库存 {supply.stock}{supply.unit}，预警线 {supply.low_stock}{supply.unit}",
                                   link="/services/supplies/",
                                   payload={"supply_id": supply.pk, "name": supply.name, "stock": supply.stock,
                                            "low_stock": supply.low_stock}), keepers)
    return f"已发放 {supply.name} {form['quantity']}{supply.unit}"


# --- after completion -------------------------------------------------------------------------------------------


def check_rate_application(applicant: Person, application: ServiceApplication, rating: int, comment: str = "") -> None:
    """好差评: the applicant rates a finished application once, 1–5 with an optional comment."""
    if application.applicant_id != applicant.pk:
        raise PermissionDenied("只有申请人可以评价。")
    if application.status not in (ServiceApplication.Status.DONE, ServiceApplication.Status.REJECTED):
        raise Refusal("rating_too_early", "办结后才能评价。", status=409)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise Refusal("rating_invalid", "评价须为 1～5 分。")
    comment = _clean_text(comment, "评价意见", required=rating <= 2)
    with transaction.atomic():
        updated = ServiceApplication.objects.filter(pk=application.pk, rating__isnull=True).update(
            rating=rating, rating_comment=comment, rated_at=timezone.now())
        if not updated:
            raise Refusal("rating_done", "该办件已评价过。", status=409)
        application.refresh_from_db()
        do_close_work(ref=rating_ref(application), box=WorkItem.Box.TOREAD, state=WorkItem.State.DONE, by=applicant)
        _event(application, ApplicationEvent.Kind.RATED, applicant, f"{rating} 分" + (f"：{comment}" if comment else ""))


def check_close_leave(applicant: Person, application: ServiceApplication, returned_on: dt.date) -> LeaveRecord:
    """销假: back at work on ``returned_on``; days not taken go back to the balance."""
    if application.applicant_id != applicant.pk:
        raise PermissionDenied("只有请假人本人可以销假。")
    with transaction.atomic():
        leave = LeaveRecord.objects.select_for_update().filter(application=application).first()
        if leave is None or leave.state != LeaveRecord.State.APPROVED:
            raise Refusal("leave_not_approved", "只有已批准的请假才能销假。", status=409)
        if not leave.start <= returned_on <= leave.end + dt.timedelta(days=1):
            raise Refusal("leave_return_date", f"销假日期须在 {leave.start:%-m月%-d日} 至 "
                                               f"{leave.end + dt.timedelta(days=1):%-m月%-d日} 之间。")
        if returned_on > timezone.localdate():
            raise Refusal("leave_return_future", "销假日期不能晚于今天：请回到岗位后再销假。")
        leave.used_days = leave_days(leave.start, returned_on - dt.timedelta(days=1)) if returned_on > leave.start else 0
        leave.returned_on = returned_on
        leave.state = LeaveRecord.State.CLOSED
        leave.save(update_fields=["used_days", "returned_on", "state"])
        _event(application, ApplicationEvent.Kind.LEAVE_CANCELLED, applicant,
               f"{returned_on:%-m月%-d日}返岗，实际休假 {leave.used_days} 个工作日")
        do_record_audit(actor=applicant, action="services.leave_close", obj=application,
                        changes={"returned_on": returned_on, "used_days": leave.used_days})
    return leave


def do_restock_supply(actor: Person, supply: SupplyItem, quantity: int) -> SupplyItem:
    if not 1 <= quantity <= 100000:
        raise Refusal("supply_quantity_invalid", "入库数量须在 1～100000 之间。")
    with transaction.atomic():
        supply = SupplyItem.objects.select_for_update().get(pk=supply.pk)
        supply.stock += quantity
        supply.save(update_fields=["stock"])
        do_record_audit(actor=actor, action="services.supply_restock", obj=supply,
                        changes={"quantity": quantity, "stock": supply.stock})
    return supply
