"""Pages of 督查督办 (phone first, 390 px; desktop with the side navigation). Thin: parse, call one action, render."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from viewflow.workflow.models import Task

from documents.selectors.incoming import access_incoming_by_id
from oa.http import client_ip
from oa.models import Agency, Person
from oa.refusals import Refusal
from supervision import actions as act
from supervision.flows import STEPS, SupervisionFlow
from supervision.models import Extension, LightPolicy, SourceType, SupervisionItem
from supervision.notice import render_notice
from supervision.selectors import (
    access_extension_by_id,
    access_item_by_id,
    access_unit_by_id,
    is_supervisor,
    is_unit_member,
    items_visible_to,
    my_units,
    scope_agencies,
    supervisor_agency_ids,
)

WEEKDAYS = [(i, f"星期{'一二三四五六日'[i - 1]}") for i in range(1, 8)]


def _dates(text: str) -> list[dt.date]:
    out = []
    for part in (text or "").replace("，", ",").replace("、", ",").split(","):
        part = part.strip()
        if part:
            try:
                out.append(dt.date.fromisoformat(part))
            except ValueError:
                raise forms.ValidationError(f"日期“{part}”格式不对，请写成 2026-12-31。") from None
    return out


class ItemForm(forms.Form):
    title = forms.CharField(label="事项名称", max_length=200)
    source_type = forms.ChoiceField(label="来源类型", choices=SourceType.choices)
    source_basis = forms.CharField(label="来源依据（批示原文/纪要号/文号）", max_length=300, required=False)
    leader = forms.ModelChoiceField(label="交办领导", queryset=Person.objects.none())
    lead_agency = forms.ModelChoiceField(label="牵头单位", queryset=Agency.objects.none(), required=False)
    assist_agencies = forms.ModelMultipleChoiceField(label="协办单位", queryset=Agency.objects.none(), required=False,
                                                     widget=forms.CheckboxSelectMultiple)
    responsible = forms.ModelChoiceField(label="责任人（牵头单位）", queryset=Person.objects.none())
    requirements = forms.CharField(label="办理要求", widget=forms.Textarea(attrs={"rows": 4}))
    completion_standard = forms.CharField(label="办结标准", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    deadline_days = forms.IntegerField(label="办理时限（工作日）", required=False, min_value=1, max_value=250)
    deadline = forms.DateField(label="或截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cycle = forms.ChoiceField(label="反馈周期", choices=SupervisionItem.Cycle.choices)
    cycle_weekday = forms.TypedChoiceField(label="每周反馈日", choices=WEEKDAYS, coerce=int, required=False,
                                           empty_value=None)
    cycle_monthday = forms.IntegerField(label="每月反馈日（1–31）", required=False, min_value=1, max_value=31)
    cycle_dates = forms.CharField(label="指定反馈日期（逗号分隔，如 2026-12-10,2026-12-24）", required=False)

    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        from oa.models import Role, RoleAssignment

        units = scope_agencies(agency).order_by("sort_order", "id")
        self.fields["lead_agency"].queryset = units
        self.fields["assist_agencies"].queryset = units
        leaders = RoleAssignment.objects.filter(agency__in=units, role__in=[Role.PRINCIPAL, Role.DEPUTY_LEADER])
        self.fields["leader"].queryset = Person.objects.filter(pk__in=leaders.values("person_id"), is_active=True)
        self.fields["responsible"].queryset = Person.objects.filter(
            appointments__department__agency__in=units, is_active=True).distinct().order_by("pk")

    def clean_cycle_dates(self) -> list[dt.date]:
        return _dates(self.cleaned_data.get("cycle_dates", ""))


def _form_error(form: forms.Form, exc: Refusal | PermissionDenied) -> None:
    form.add_error(None, exc.message if isinstance(exc, Refusal) else str(exc))


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    units = list(my_units(request.user)[:200])
    return render(request, "supervision/mine.html", {"units": units, "supervisor": is_supervisor(request.user)})


@login_required
def office_list(request: HttpRequest) -> HttpResponse:
    if not is_supervisor(request.user) and not items_visible_to(request.user).exists():
        raise Http404
    items = items_visible_to(request.user).select_related("lead_agency", "leader").order_by("-year", "-seq")
    f = {k: request.GET.get(k, "") for k in ("status", "light", "source_type", "unit", "q")}
    if f["status"] in SupervisionItem.Status.values:
        items = items.filter(status=f["status"])
    if f["light"] in ("green", "yellow", "red"):
        items = items.filter(light=f["light"])
    if f["source_type"] in SourceType.values:
        items = items.filter(source_type=f["source_type"])
    if f["unit"].isdigit():
        items = items.filter(units__agency_id=int(f["unit"]))
    if f["q"]:
        items = items.filter(title__icontains=f["q"][:50])
    agencies = Agency.objects.filter(pk__in=items_visible_to(request.user).values("units__agency_id"))
    return render(request, "supervision/list.html", {
        "items": items[:300], "f": f, "statuses": SupervisionItem.Status.choices, "sources": SourceType.choices,
        "agencies": agencies, "supervisor": is_supervisor(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    sup = supervisor_agency_ids(request.user)
    if not sup:
        raise PermissionDenied("只有督查员可以立项。")
    agency = Agency.objects.get(pk=sorted(sup)[0])
    incoming = None
    raw = request.GET.get("incoming") or request.POST.get("incoming")
    if raw and str(raw).isdigit():
        incoming = access_incoming_by_id(request.user, int(raw))
    if request.method == "POST":
        form = ItemForm(request.POST, agency=agency)
        if form.is_valid():
            d = form.cleaned_data
            try:
                item = act.check_create_item(request.user, act.ItemInput(
                    title=d["title"], source_type=d["source_type"], source_basis=d["source_basis"],
                    leader=d["leader"], lead_agency=d["lead_agency"], assist_agencies=list(d["assist_agencies"]),
                    responsible=d["responsible"], requirements=d["requirements"],
                    completion_standard=d["completion_standard"], deadline_days=d["deadline_days"],
                    deadline=d["deadline"], cycle=d["cycle"], cycle_weekday=d["cycle_weekday"],
                    cycle_monthday=d["cycle_monthday"], cycle_dates=d["cycle_dates"], source_incoming=incoming,
                ), ip=client_ip(request))
            except (Refusal, PermissionDenied) as exc:
                _form_error(form, exc)
            else:
                return redirect("supervision:detail", item.pk)
    else:
        form = ItemForm(initial=act.prefill_from_incoming(incoming) if incoming else {}, agency=agency)
    return render(request, "supervision/create.html", {"form": form, "incoming": incoming},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["POST"])
def from_incoming(request: HttpRequest, incoming_id: int) -> HttpResponse:
    """立为督办 from a 收文 (its 批办 step or detail page): a 督查员 goes straight to the prefilled 立项 form; anyone
    else (the leader at 批办) hands it to the agency's 督查室 as a 待办."""
    incoming = access_incoming_by_id(request.user, incoming_id)
    if supervisor_agency_ids(request.user):
        return redirect(f"/supervision/new/?incoming={incoming.pk}")
    act.check_propose_from_incoming(request.user, incoming, ip=client_ip(request))
    return render(request, "supervision/proposed.html", {"incoming": incoming})


def _open_step(item: SupervisionItem, user: Person) -> Task | None:
    return Task.objects.filter(process__artifact_object_id=item.pk, process__flow_class=SupervisionFlow,
                               owner=user, status__in=["ASSIGNED", "STARTED"]).first()


@login_required
def detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id)
    units = list(item.units.select_related("agency", "handler"))
    return render(request, "supervision/detail.html", {
        "item": item, "units": units, "events": item.events.select_related("actor").order_by("-at", "-id")[:200],
        "step": _open_step(item, request.user), "supervisor": act._is_item_supervisor(request.user, item),
        "my_units": [u for u in units if is_unit_member(request.user, u)]})


@login_required
def notice(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id)
    if item.status in (SupervisionItem.Status.REVIEW, SupervisionItem.Status.REJECTED):
        raise Http404("尚未交办，没有督查通知单。")
    response = HttpResponse(render_notice(item), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="notice-{item.pk}.pdf"'
    return response


class FeedbackForm(forms.Form):
    text = forms.CharField(label="进展情况", widget=forms.Textarea(attrs={"rows": 4}))
    progress = forms.IntegerField(label="完成进度（%）", min_value=0, max_value=100)


class ExtensionForm(forms.Form):
    reason = forms.CharField(label="延期理由", widget=forms.Textarea(attrs={"rows": 3}))
    proposed = forms.DateField(label="申请延至", widget=forms.DateInput(attrs={"type": "date"}))


class ReportForm(forms.Form):
    report = forms.CharField(label="办结报告", widget=forms.Textarea(attrs={"rows": 5}))


@login_required
@require_http_methods(["GET", "POST"])
def unit_page(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = access_unit_by_id(request.user, unit_id)
    user, ip = request.user, client_ip(request)
    feedback, extension, report = FeedbackForm(), ExtensionForm(), ReportForm()
    error = ""
    if request.method == "POST":
        op = request.POST.get("op", "")
        try:
            if op == "sign":
                act.check_sign(user, unit, ip=ip)
            elif op == "feedback":
                feedback = FeedbackForm(request.POST)
                if not feedback.is_valid():
                    raise Refusal("form_invalid", "请检查进度反馈中标出的内容。")
                act.check_submit_feedback(user, unit, text=feedback.cleaned_data["text"],
                                          progress=feedback.cleaned_data["progress"],
                                          files=request.FILES.getlist("files"), ip=ip)
            elif op == "extension":
                extension = ExtensionForm(request.POST)
                if not extension.is_valid():
                    raise Refusal("form_invalid", "请检查延期申请中标出的内容。")
                act.check_request_extension(user, unit, reason=extension.cleaned_data["reason"],
                                            proposed=extension.cleaned_data["proposed"], ip=ip)
            elif op == "report":
                report = ReportForm(request.POST)
                if not report.is_valid():
                    raise Refusal("form_invalid", "请填写办结报告。")
                act.check_submit_report(user, unit, text=report.cleaned_data["report"],
                                        files=request.FILES.getlist("report_files"), ip=ip)
            elif op == "urge":
                act.check_urge(user, unit, message=request.POST.get("message", ""), ip=ip)
            elif op in ("approve", "return"):
                act.check_review_report(user, unit, approve=op == "approve", reason=request.POST.get("reason", ""),
                                        ip=ip)
            else:
                raise Refusal("op_invalid", "不支持的操作。")
        except Refusal as exc:
            error = exc.message
        else:
            return redirect("supervision:unit", unit.pk)
        unit.refresh_from_db()
    return render(request, "supervision/unit.html", {
        "unit": unit, "item": unit.item, "member": is_unit_member(user, unit),
        "supervisor": act._is_item_supervisor(user, unit.item), "feedback_form": feedback,
        "extension_form": extension, "report_form": report, "error": error,
        "dues": unit.dues.select_related("feedback"), "feedbacks": unit.feedbacks.select_related("author")[:50],
        "extensions": unit.extensions.select_related("applicant")[:20],
    }, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, task_id: int) -> HttpResponse:
    task = Task.objects.select_related("process").filter(pk=task_id, process__flow_class=SupervisionFlow).first()
    if task is None or task.owner_id != request.user.pk:
        raise Http404("该环节不存在或不是您的待办。")
    item = access_item_by_id(request.user, task.process.data["item_id"])
    node = task.flow_task.name
    error = ""
    if request.method == "POST":
        ip = client_ip(request)
        try:
            if node == "leader_review":
                act.check_leader_review(request.user, task, approve=request.POST.get("op") == "approve",
                                        opinion=request.POST.get("opinion", ""), ip=ip)
            elif node == "dispatch":
                act.check_dispatch(request.user, task, ip=ip)
            elif node == "close":
                act.check_close_item(request.user, task, ip=ip)
            elif node == "archive":
                act.check_archive_item(request.user, task, ip=ip)
            else:
                raise Refusal("not_a_step", "这不是需要人办理的环节。")
        except Refusal as exc:
            error = exc.message
        else:
            return redirect("supervision:detail", item.pk)
    return render(request, "supervision/step.html", {"task": task, "item": item, "node": node,
                                                      "label": STEPS[node].label, "error": error},
                  status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def extension_page(request: HttpRequest, extension_id: int) -> HttpResponse:
    ext = access_extension_by_id(request.user, extension_id)
    error = ""
    if request.method == "POST":
        raw = request.POST.get("new_date", "")
        try:
            new_date = dt.date.fromisoformat(raw) if raw else None
        except ValueError:
            new_date = None
            error = "批准期限的日期格式不对。"
        if not error:
            try:
                act.check_decide_extension(request.user, ext, approve=request.POST.get("op") == "approve",
                                           opinion=request.POST.get("opinion", ""), new_date=new_date,
                                           ip=client_ip(request))
            except Refusal as exc:
                error = exc.message
            else:
                return redirect("supervision:unit", ext.unit_id)
    return render(request, "supervision/extension.html", {
        "ext": ext, "unit": ext.unit, "item": ext.unit.item, "error": error,
        "mine": ext.decider_id == request.user.pk, "leader_stage": ext.status == Extension.Status.LEADER,
    }, status=400 if error else 200)


class PolicyForm(forms.Form):
    name = forms.CharField(label="规则名称", max_length=60)
    source_types = forms.MultipleChoiceField(label="适用来源类型（不选则作通用规则）", choices=SourceType.choices,
                                             required=False, widget=forms.CheckboxSelectMultiple)
    yellow_days = forms.IntegerField(label="距期限不超过几个工作日亮黄灯", min_value=0, max_value=30, initial=3)
    pace_yellow_pct = forms.IntegerField(label="落后序时进度多少个百分点亮黄灯", min_value=1, max_value=100,
                                         initial=10)
    pace_red_pct = forms.IntegerField(label="落后序时进度超过多少个百分点亮红灯", min_value=1, max_value=100,
                                      initial=30)
    urge_after_days = forms.CharField(label="自动催办：逾期几个工作日发第 1/2/3 轮（蓝/橙/红督查单）", initial="1,3,5")
    notify_colours = forms.MultipleChoiceField(label="亮灯时通知承办人和督查员", required=False,
                                               choices=[("yellow", "黄灯"), ("red", "红灯")],
                                               widget=forms.CheckboxSelectMultiple, initial=["yellow", "red"])
    is_default = forms.BooleanField(label="作为本机关默认规则", required=False)

    def clean_urge_after_days(self) -> list[int]:
        try:
            return [int(x) for x in self.cleaned_data["urge_after_days"].replace("，", ",").split(",") if x.strip()]
        except ValueError:
            raise forms.ValidationError("请填写用逗号分隔的整数，如 1,3,5。") from None


@login_required
@require_http_methods(["GET", "POST"])
def policies(request: HttpRequest) -> HttpResponse:
    sup = supervisor_agency_ids(request.user)
    if not sup:
        raise PermissionDenied("只有督查员可以设置亮灯规则。")
    rows = LightPolicy.objects.filter(agency_id__in=sup)
    editing = None
    raw = request.GET.get("edit") or request.POST.get("policy")
    if raw and str(raw).isdigit():
        editing = rows.filter(pk=int(raw)).first()
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                act.check_save_policy(request.user, editing, **form.cleaned_data, ip=client_ip(request))
            except Refusal as exc:
                _form_error(form, exc)
            else:
                return redirect("supervision:policies")
    elif editing is not None:
        form = PolicyForm(initial={**{f: getattr(editing, f) for f in PolicyForm.base_fields},
                                   "urge_after_days": ",".join(str(x) for x in editing.rounds())})
    else:
        form = PolicyForm()
    labels = dict(SourceType.choices)
    return render(request, "supervision/policies.html", {
        "policies": [(p, "、".join(labels.get(s, s) for s in p.source_types) or "通用") for p in rows],
        "form": form, "editing": editing}, status=400 if form.errors else 200)

