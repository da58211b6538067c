"""信息报送 pages under /information/ (docs/information.md). Thin: parse, call one action or selector, render.

  /information/                                   my unit's pieces (信息员, 审核人) and links
  /information/new                                起草
  /information/submissions/<id>/                  a piece: timeline, attachments, the desk's edit as a diff,
                                                  提交 (draft), 升级/批示 (信息科)
  /information/submissions/<id>/edit              edit a draft
  /information/submissions/<id>/attachments/<a>   an attachment (download)
  /information/tasks/<task_id>/                   a step: 单位审核 / 信息科审核 (采用 with edit and grade) / 修改重报
  /information/desk/                              the 信息科's list
  /information/statistics/                        per unit per period, chart, Excel
  /information/records/                           the records behind a unit's number (考核评价 drill-down)
  /information/rules/                             计分规则
  /information/duties/                            职责管理 (办公室/文书: own unit; 信息科负责人: the desk, 统计查看)
  /information/duties/<id>/remove                 取消一项职责 (POST)
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from viewflow.workflow.models import Task

from oa.http import client_ip
from oa.models import Agency, Person, Role
from oa.refusals import Refusal
from workflows.actions.routing import do_mark_task_opened
from workflows.information import actions, selectors, statistics
from workflows.information.flows import InformationFlow
from workflows.information.forms import (
    DeskReviewForm,
    DraftForm,
    DutyAddForm,
    PeriodForm,
    RegradeForm,
    RuleForm,
    SubmitForm,
    UnitReviewForm,
)
from workflows.information.models import Duty, ScoringRule, Submission

app_name = "information"


@login_required
def home(request):
    user = request.user
    return render(request, "information/home.html", {
        "submissions": selectors.my_unit_submissions(user)[:200],
        "reporter_units": selectors.duty_agencies(user, Duty.REPORTER),
        "is_desk": selectors.is_desk(user), "may_see_statistics": selectors.may_see_statistics(user),
        "has_units": bool(selectors.unit_agency_ids(user))})


def _draft_input(form: DraftForm) -> actions.DraftInput:
    data = form.cleaned_data
    return actions.DraftInput(title=data.get("title", ""), body=data.get("body", ""),
                              category=data.get("category", ""), uploads=form.uploads(),
                              remove_attachment_ids=form.removed() if "remove" in form.fields else [])


@login_required
@require_http_methods(["GET", "POST"])
def new(request):
    units = selectors.duty_agencies(request.user, Duty.REPORTER)
    if not units:
        raise PermissionDenied("您不是任何单位的信息员，不能起草政务信息。")
    form = DraftForm(request.POST or None, request.FILES or None, agencies=units)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            agency = units[0]
            if "agency" in form.fields:
                agency = next((a for a in units if str(a.pk) == form.cleaned_data.get("agency")), None)
            try:
                submission = actions.check_save_draft(request.user, agency, _draft_input(form))
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, "草稿已保存")
                return redirect("information:submission", submission.pk)
    return render(request, "information/edit.html", {"form": form, "submission": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, submission_id: int):
    submission = selectors.access_submission_by_id(request.user, submission_id)
    if submission.author_id != request.user.pk or submission.status != Submission.Status.DRAFT:
        raise PermissionDenied("只有起草的信息员可以修改草稿。")
    attachments = list(submission.attachments.all())
    initial = {"title": submission.title, "body": submission.body, "category": submission.category}
    form = DraftForm(request.POST or None, request.FILES or None, attachments=attachments, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                actions.check_save_draft(request.user, None, _draft_input(form), submission)
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, "草稿已保存")
                return redirect("information:submission", submission.pk)
    return render(request, "information/edit.html", {"form": form, "submission": submission}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def submission_detail(request, submission_id: int):
    submission = selectors.access_submission_by_id(request.user, submission_id)
    user = request.user
    which = request.POST.get("form", "")
    author_draft = submission.author_id == user.pk and submission.status == Submission.Status.DRAFT
    reviewers = list(selectors.reviewers_of(submission.agency)) if author_draft else []
    submit_form = SubmitForm(request.POST if which == "submit" else None, reviewers=reviewers,
                             initial={"reviewer": str(reviewers[0].pk)} if reviewers else None)
    desk = selectors.is_desk(user)
    regrade_form = RegradeForm(request.POST if which == "regrade" else None, initial={
        "grade": submission.grade, "instructed": submission.instructed,
        "instruction_note": submission.instruction_note})
    status, error = 200, ""
    if request.method == "POST":
        status = 400
        try:
            if which == "submit" and author_draft and submit_form.is_valid():
                reviewer = next((p for p in reviewers if str(p.pk) == submit_form.cleaned_data["reviewer"]), None)
                actions.check_submit_draft(user, submission, reviewer)
                messages.success(request, "已提交单位审核")
                return redirect("information:submission", submission.pk)
            if which == "regrade" and regrade_form.is_valid():
                data = regrade_form.cleaned_data
                actions.check_regrade(user, submission, data["grade"], data["instructed"], data["instruction_note"],
                                      ip=client_ip(request))
                messages.success(request, "已调整采用级别")
                return redirect("information:submission", submission.pk)
            if which not in ("submit", "regrade"):
                error = "无法识别的操作。"
        except Refusal as exc:
            error, status = exc.message, exc.status
    adopted = submission.status == Submission.Status.ADOPTED
    return render(request, "information/submission.html", {
        "submission": submission, "events": submission.events.select_related("actor"),
        "attachments": submission.attachments.all(), "open_task": selectors.open_task_of(submission),
        "submit_form": submit_form if author_draft else None, "error": error,
        "regrade_form": regrade_form if desk and adopted else None,
        "title_diff": selectors.text_diff(submission.title, submission.edited_title) if adopted else [],
        "body_diff": selectors.text_diff(submission.body, submission.edited_body) if adopted else [],
        "score": statistics.piece_score(submission) if adopted else None,
    }, status=status)


@login_required
def attachment(request, submission_id: int, attachment_id: int):
    submission = selectors.access_submission_by_id(request.user, submission_id)
    row = submission.attachments.filter(pk=attachment_id).first()
    if row is None:
        raise Http404("附件不存在")
    return FileResponse(row.file.open("rb"), as_attachment=True, filename=row.filename,
                        content_type="application/octet-stream")


# --- steps ------------------------------------------------------------------------------------------------------


def _information_task(request, task_id: int) -> tuple[Task, Submission]:
    task = Task.objects.select_related("process", "owner").filter(
        pk=task_id, process__flow_class=InformationFlow).first()
    if task is None:
        raise Http404("事项不存在")
    submission = selectors.submission_of_task(task)
    if task.owner_id != request.user.pk:
        selectors.access_submission_by_id(request.user, submission.pk)  # 404 unless visible
    return task, submission


@login_required
@require_http_methods(["GET", "POST"])
def task_page(request, task_id: int):
    task, submission = _information_task(request, task_id)
    node = task.flow_task.name
    holder = task.owner_id == request.user.pk and task.status in ("ASSIGNED", "STARTED")
    post = request.POST if request.method == "POST" else None
    attachments = list(submission.attachments.all())
    unit_form = UnitReviewForm(post) if node == "unit_review" else None
    desk_form = DeskReviewForm(post, initial={"edited_title": submission.edited_title or submission.title,
                                              "edited_body": submission.edited_body or submission.body,
                                              "decision": "adopt"}) if node == "desk_review" else None
    revise_form = DraftForm(post, request.FILES if post else None, attachments=attachments, initial={
        "title": submission.title, "body": submission.body, "category": submission.category}
    ) if node == "revise" else None
    status = 200
    if request.method == "GET" and holder:
        do_mark_task_opened(task, request.user)
    if request.method == "POST":
        if not holder:
            raise PermissionDenied("您不是该环节的办理人。")
        status = 400
        form = unit_form or desk_form or revise_form
        if form is not None and form.is_valid():
            data = form.cleaned_data
            try:
                if node == "unit_review":
                    actions.check_unit_review(request.user, task, data["decision"], data["note"],
                                              ip=client_ip(request))
                    done = "已报送区府办信息科" if data["decision"] == "approve" else "已退回信息员修改"
                elif node == "desk_review":
                    actions.check_desk_review(request.user, task, data["decision"], data["reason"],
                                              actions.AdoptionInput(
                                                  edited_title=data["edited_title"], edited_body=data["edited_body"],
                                                  grade=data["grade"], instructed=data["instructed"],
                                                  instruction_note=data["instruction_note"]),
                                              ip=client_ip(request))
                    done = "已采用" if data["decision"] == "adopt" else "已退回报送单位"
                else:
                    actions.check_resubmit(request.user, task, _draft_input(form), ip=client_ip(request))
                    done = "已重新提交单位审核"
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, done)
                return redirect("information:submission", submission.pk)
    return render(request, "information/task.html", {
        "task": task, "submission": submission, "node": node, "holder": holder,
        "step_title": task.flow_task.task_title, "attachments": attachments,
        "events": submission.events.select_related("actor"),
        "form": (unit_form or desk_form or revise_form) if holder else None,
    }, status=status)


# --- the desk, statistics, rules ---------------------------------------------------------------------------------


@login_required
def desk(request):
    if not selectors.is_desk(request.user):
        raise PermissionDenied("区府办信息科的页面。")
    status = request.GET.get("status", "")
    rows = selectors.desk_submissions()
    if status in Submission.Status.values:
        rows = rows.filter(status=status)
    return render(request, "information/desk.html", {
        "rows": rows.order_by("-last_submitted_at", "-pk")[:300], "status": status,
        "statuses": [(v, label) for v, label in Submission.Status.choices if v not in ("draft", "unit_review",
                                                                                        "unit_returned")]})


def _period(request) -> tuple[PeriodForm, dt.date, dt.date]:
    today = timezone.localdate()
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    form = PeriodForm(request.GET if "start" in request.GET or "end" in request.GET else None,
                      initial={"start": quarter_start, "end": today})
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, quarter_start, today


@login_required
def statistics_page(request):
    scope = selectors.statistics_agency_scope(request.user)
    if scope is not None and not scope:
        raise PermissionDenied("信息报送统计供区府办信息科、区领导和督查人员查看。")
    form, start, end = _period(request)
    rows = statistics.unit_statistics(start, end, sorted(scope) if scope is not None else None)
    if request.GET.get("format") == "xlsx" and not form.errors:
        response = HttpResponse(statistics.statistics_xlsx(rows, start, end), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        response["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''%E4%BF%A1%E6%81%AF%E6%8A%A5%E9%80%81%E7%BB%9F%E8%AE%A1-{start:%Y%m%d}-"
            f"{end:%Y%m%d}.xlsx")
        return response
    bars = statistics.score_bars(rows)
    return render(request, "information/statistics.html", {
        "form": form, "start": start, "end": end, "rows": rows, "total": statistics.totals(rows), "bars": bars,
        "legend": statistics.LEGEND, "chart_height": 20 + statistics.ROW * len(bars),
        "rule": selectors.current_rule(), "query": f"start={start.isoformat()}&end={end.isoformat()}"})


@login_required
def records(request):
    """The records behind one unit's number (考核评价 drill-down): the pieces it first submitted in the period."""
    scope = selectors.statistics_agency_scope(request.user)
    try:
        agency_id = int(request.GET.get("agency", ""))
    except ValueError:
        raise Http404("单位不存在") from None
    if scope is not None and agency_id not in scope:
        raise Http404("单位不存在或无权查看")
    agency = Agency.objects.filter(pk=agency_id).first()
    if agency is None:
        raise Http404("单位不存在")
    form, start, end = _period(request)
    rules = list(ScoringRule.objects.order_by("-effective_from"))
    rows = [(s, statistics.piece_score(s, rules)) for s in statistics.submissions_in_period(start, end, [agency_id])]
    adopted = sum(1 for s, _ in rows if s.status == Submission.Status.ADOPTED)
    return render(request, "information/records.html", {
        "agency": agency, "form": form, "start": start, "end": end, "rows": rows, "adopted": adopted,
        "rate": round(100 * adopted / len(rows), 1) if rows else None})


@login_required
@require_http_methods(["GET", "POST"])
def rules(request):
    desk_user = selectors.is_desk(request.user)
    if not desk_user and not selectors.may_see_statistics(request.user):
        raise PermissionDenied("计分规则由区府办信息科设置。")
    form = RuleForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not desk_user:
            raise PermissionDenied("只有区府办信息科可以设置计分规则。")
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.check_save_rule(request.user, actions.RuleInput(
                    effective_from=data["effective_from"], district_points=data["district_points"],
                    city_points=data["city_points"], province_points=data["province_points"],
                    instruction_points=data["instruction_points"], note=data["note"]))
            except Refusal as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, "计分规则已保存")
                return redirect("information:rules")
    return render(request, "information/rules.html", {
        "rules": ScoringRule.objects.all(), "form": form if desk_user else None}, status=status)


# --- 职责管理 ------------------------------------------------------------------------------------------------------


def _roster_page(request, *, bound_key: str = "", refusal: Refusal | None = None, error: str = "",
                 status: int = 200):
    slots = selectors.roster_for(request.user)
    if not slots:
        raise PermissionDenied("信息报送职责由各单位办公室（文书）和区府办信息科负责人管理。")
    forms = []
    for slot in slots:
        data = request.POST if bound_key == slot.key else None
        form = DutyAddForm(data, prefix=slot.key, candidates=slot.candidates)
        if data is not None:
            form.is_valid()
            if refusal is not None:
                form.add_refusal(refusal.code, refusal.message)
        forms.append((slot, form))
    return render(request, "information/duties.html", {
        "slots": forms, "error": error, "default_statistics": selectors.statistics_default_applies(),
        "default_statistics_roles": "、".join(Role(r).label for r in selectors.DEFAULT_STATISTICS_ROLES),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def duties(request):
    if request.method == "GET":
        return _roster_page(request)
    slot_key = request.POST.get("slot", "")
    slot = next((s for s in selectors.roster_for(request.user) if s.key == slot_key), None)
    if slot is None:
        if not selectors.may_manage_duties(request.user):
            raise PermissionDenied("信息报送职责由各单位办公室（文书）和区府办信息科负责人管理。")
        return _roster_page(request, error="该职责不在您的管理范围内。", status=403)
    form = DutyAddForm(request.POST, prefix=slot.key, candidates=slot.candidates)
    form.is_valid()
    person_id = form.cleaned_data.get("person", "")
    # Only someone from the picker (the unit's active staff); a forged id is treated as no choice.
    person = next((p for p in slot.candidates if str(p.pk) == person_id), None)
    if person is None and person_id:
        person = Person.objects.filter(pk=int(person_id) if person_id.isdigit() else 0).first()
    try:
        actions.check_manage_assign_duty(request.user, person, slot.agency, slot.duty, ip=client_ip(request))
    except Refusal as exc:
        return _roster_page(request, bound_key=slot.key, refusal=exc, status=exc.status)
    messages.success(request, f"已设置{person.name}为{slot.agency.short_name}{slot.label}")
    return redirect("information:duties")


@login_required
@require_POST
def duty_remove(request, duty_id: int):
    if not selectors.may_manage_duties(request.user):
        raise PermissionDenied("信息报送职责由各单位办公室（文书）和区府办信息科负责人管理。")
    row = selectors.access_managed_duty_by_id(request.user, duty_id)
    try:
        actions.check_remove_duty(request.user, row, ip=client_ip(request))
    except Refusal as exc:
        return _roster_page(request, error=exc.message, status=exc.status)
    messages.success(request, f"已取消{row.person.name}的{row.agency.short_name}{row.get_duty_display()}职责")
    return redirect("information:duties")


urlpatterns = [
    path("", home, name="home"),
    path("new", new, name="new"),
    path("submissions/<int:submission_id>/", submission_detail, name="submission"),
    path("submissions/<int:submission_id>/edit", edit, name="edit"),
    path("submissions/<int:submission_id>/attachments/<int:attachment_id>", attachment, name="attachment"),
    path("tasks/<int:task_id>/", task_page, name="task"),
    path("desk/", desk, name="desk"),
    path("statistics/", statistics_page, name="statistics"),
    path("records/", records, name="records"),
    path("rules/", rules, name="rules"),
    path("duties/", duties, name="duties"),
    path("duties/<int:duty_id>/remove", duty_remove, name="duty_remove"),
]
