"""Routing operations as pages and as a JSON API, for every flow (发文, 收文 …): 退回, 转办, 加签, 取回, 催办.

  /flows/tasks/<id>/            the task and its 流转操作 panel (GET; the owner's first open stops 取回)
  /flows/tasks/<id>/return      退回 (POST target, reason, jump_back)
  /flows/tasks/<id>/reassign    转办 (POST person, reason)
  /flows/tasks/<id>/addsign     加签 (POST person, mode before|after|parallel, reason)
  /flows/tasks/<id>/withdraw    取回 of a DONE step by its handler (POST)
  /flows/tasks/<id>/urge        催办 (POST message)
  /api/flows/tasks/<id>/{return,reassign,addsign,withdraw,urge}   the same, JSON (workflows/api_urls.py)

Thin: the task comes through access_task_by_id (404 for someone who has nothing to do with the process), the
workflows.actions.routing function decides and refuses (Refusal → its status with the Chinese message;
PermissionDenied → 403 for a participant who is not the handler). A step page shows the operations with
``context.update(routing_panel_context(request.user, task))`` and ``{% include "workflows/_routing_panel.html" %}``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.actions.auth import client_ip
from oa.api.serializers import ErrorSerializer
from oa.models import Person
from oa.refusals import Refusal
from workflows.actions.routing import (
    ADD_MODES,
    REASON_MAX,
    check_add_signer,
    check_reassign_task,
    check_return_task,
    check_urge_task,
    check_withdraw_task,
    do_mark_task_opened,
)
from workflows.routing import routing_of
from workflows.selectors.routing import HUMAN_TYPES, arrival_note, can_withdraw, handler_id, returnable_tasks
from workflows.selectors.trace import (
    access_task_by_id,
    addsign_candidates,
    can_urge,
    is_open_owner,
    person_choices,
    process_title,
    reassign_candidates,
    step_label,
    supports_addsign,
)

STATUS_LABELS = {
    STATUS.NEW: "待分派", STATUS.ASSIGNED: "待办理", STATUS.STARTED: "办理中", STATUS.DONE: "已办结",
    STATUS.CANCELED: "已撤销", STATUS.ERROR: "出错", STATUS.REVIVED: "已恢复",
}
MODE_LABELS = {"before": "前加签（加签人先办，办完回到我）", "after": "后加签（我办完后加签人再办，然后继续）",
               "parallel": "并加签（与我同时办理，两人都办完后继续）"}
MODE_SHORT = {"before": "前加签", "after": "后加签", "parallel": "并加签"}

# Which form field a refusal belongs to, so the message sits beside the control it is about.
ERROR_FIELDS = {
    "reason_required": "reason", "reason_too_long": "reason", "text_control_chars": "reason",
    "return_target_invalid": "target",
    "reassign_not_same_role": "person", "reassign_inactive": "person", "reassign_same": "person",
    "addsign_inactive": "person", "addsign_self": "person", "addsign_mode": "mode",
}


def _reason_field(label: str, *, required: bool, help_text: str = "") -> forms.CharField:
    attrs: dict[str, Any] = {"rows": 3, "maxlength": REASON_MAX}
    if required:
        attrs["required"] = True  # the browser asks first; the action refuses with its own message if bypassed
    # required=False on the form: the action decides, so the page and the API show the same Chinese refusal.
    return forms.CharField(label=label, required=False, max_length=REASON_MAX, help_text=help_text,
                           widget=forms.Textarea(attrs=attrs))


def _task_choice_label(task: Task) -> str:
    who = task.owner.get_full_name() if task.owner_id else ""
    # Asia/Shanghai, as every time on a page (task.finished comes back from the database in UTC)
    when = f"{timezone.localtime(task.finished):%m月%d日 %H:%M}" if task.finished else ""
    extra = "，".join(x for x in (who, when) if x)
    return f"{step_label(task.flow_task)}（{extra}）" if extra else step_label(task.flow_task)


class ReturnForm(forms.Form):
    target = forms.TypedChoiceField(
        label="退回到", coerce=int,
        error_messages={"required": "请选择退回到哪个环节。", "invalid_choice": "只能退回到本流程中已办理过的前序环节。"},
    )
    reason = _reason_field("退回理由", required=True, help_text=f"必填，说明需要修改的地方，不超过 {REASON_MAX} 字。")
    jump_back = forms.BooleanField(
        label="修改后直接送回本环节（跳回）", required=False,
        help_text="勾选：对方办完后直接回到您，跳过中间环节；不勾选：按流程顺序重新流转。",
    )

    def __init__(self, *args, targets: list[Task], jump_back: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "请选择环节"), *((t.pk, _task_choice_label(t)) for t in targets)]
        self.fields["jump_back"].initial = jump_back


class PersonForm(forms.Form):
    person = forms.TypedChoiceField(
        label="人员", coerce=int,
        error_messages={"required": "请选择人员。", "invalid_choice": "所选人员不在可选范围内，请重新选择。"},
    )

    def __init__(self, *args, people: list[Person], person_label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].label = person_label
        self.fields["person"].choices = [("", "请选择"), *person_choices(people)]


class ReassignForm(PersonForm):
    reason = _reason_field("转办说明", required=False, help_text="选填，如“本周出差，请周敏代为审核”。")


class AddSignForm(PersonForm):
    mode = forms.ChoiceField(label="加签方式", choices=[(m, MODE_LABELS[m]) for m in ADD_MODES], initial="before",
                             widget=forms.RadioSelect,
                             error_messages={"invalid_choice": "加签方式只能是前加签、后加签或并加签。"})
    reason = _reason_field("加签说明", required=False, help_text="选填，说明请对方办理什么。")


class UrgeForm(forms.Form):
    message = _reason_field("催办留言", required=False, help_text="选填，会随催办通知发给办理人。")


# --- page context ------------------------------------------------------------------------------------------------


def _jump_back_default(task: Task) -> bool:
    return bool(getattr(task.process.flow_class, "return_jump_back", True))


def routing_panel_context(user: Person, task: Task, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    """What _routing_panel.html needs for `task` as seen by `user`: only the operations the user may start."""
    bound = bound or {}
    ctx: dict[str, Any] = {"task": task, "step": step_label(task.flow_task), "return_form": None,
                           "reassign_form": None, "addsign_form": None, "urge_form": None, "can_withdraw": False,
                           "no_return_targets": False,
                           # 被 李娜 退回：理由 — shown at the top of the step page (the holder only)
                           "arrival_note": arrival_note(task) if task.owner_id == user.pk and task.status in (
                               STATUS.ASSIGNED, STATUS.STARTED) else ""}
    if is_open_owner(user, task):
        targets = returnable_tasks(task)
        if targets or "return" in bound:
            ctx["return_form"] = bound.get("return") or ReturnForm(targets=targets,
                                                                   jump_back=_jump_back_default(task))
        else:
            ctx["no_return_targets"] = True
        if task.status == STATUS.ASSIGNED:
            people = reassign_candidates(task)
            if people or "reassign" in bound:
                ctx["reassign_form"] = bound.get("reassign") or ReassignForm(people=people, person_label="转办给")
        if supports_addsign(task):
            ctx["addsign_form"] = bound.get("addsign") or AddSignForm(people=addsign_candidates(user, task),
                                                                     person_label="加签人")
    if task.status == STATUS.DONE and handler_id(task) == user.pk and can_withdraw(user, task):
        ctx["can_withdraw"] = True
    if can_urge(user, task) or "urge" in bound:
        ctx["urge_form"] = bound.get("urge") or UrgeForm()
    ctx["has_operations"] = any(ctx[k] for k in ("return_form", "reassign_form", "addsign_form", "urge_form",
                                                  "can_withdraw"))
    return ctx


def task_facts(task: Task) -> dict[str, Any]:
    routing = routing_of(task)
    principal = Person.objects.filter(pk=routing["on_behalf_of"]).first() if routing.get("on_behalf_of") else None
    return {
        "process_title": process_title(task.process),
        # A step finished by 退回 did not pass: say so, not 已办结.
        "status_label": "已退回" if (routing.get("route") or {}).get("op") == "return" else STATUS_LABELS.get(
            task.status, task.status),
        "principal": principal,
        "urged": (routing.get("urged") or {}).get("count") or 0,
        "returned": routing.get("returned"),
    }


def _render_task(request, task: Task, *, bound: dict[str, forms.Form] | None = None, error: str = "",
                 status: int = 200):
    task = Task.objects.select_related("process", "owner").get(pk=task.pk)  # after a refusal: the stored state
    context = {**task_facts(task), **routing_panel_context(request.user, task, bound), "error": error}
    return render(request, "workflows/task.html", context, status=status)


def _refused(request, task: Task, form: forms.Form, key: str, exc: Exception):
    if isinstance(exc, Refusal):
        form.add_error(ERROR_FIELDS.get(exc.code) if ERROR_FIELDS.get(exc.code) in form.fields else None, exc.message)
        return _render_task(request, task, bound={key: form}, error=exc.message, status=exc.status)
    return _render_task(request, task, bound={key: form}, error=str(exc) or "您不能对该事项执行此操作。", status=403)


def _require_human(task: Task) -> None:
    # Gateways and joins have no handler (and no can_execute): refuse before the action looks for one.
    if task.flow_task_type not in HUMAN_TYPES:
        raise Refusal("not_a_step", "该事项是流程的自动环节，不能退回、转办或加签。", status=400)


def _done(request, task: Task, text: str):
    messages.success(request, text)
    return redirect("workflows:process", task.process_id)


# --- pages ---------------------------------------------------------------------------------------------------------


@login_required
@require_GET
def task_detail(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    do_mark_task_opened(task, request.user)  # the owner has seen it: 取回 by the sender is refused from now on
    return _render_task(request, task)


@login_required
@require_POST
def task_return(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    form = ReturnForm(request.POST, targets=returnable_tasks(task), jump_back=_jump_back_default(task))
    if not form.is_valid():
        return _render_task(request, task, bound={"return": form}, error="请检查退回信息。", status=400)
    data = form.cleaned_data
    try:
        _require_human(task)
        new = check_return_task(request.user, task, data["target"], data["reason"], data["jump_back"],
                                ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        return _refused(request, task, form, "return", exc)
    who = f"（{new.owner.get_full_name()}）" if new.owner_id else ""
    return _done(request, task, f"已退回：“{step_label(task.flow_task)}”退回到“{step_label(new.flow_task)}”{who}，"
                                "理由已记入流转记录。")


@login_required
@require_POST
def task_reassign(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    form = ReassignForm(request.POST, people=reassign_candidates(task), person_label="转办给")
    if not form.is_valid():
        return _render_task(request, task, bound={"reassign": form}, error="请检查转办信息。", status=400)
    person = Person.objects.get(pk=form.cleaned_data["person"])
    try:
        _require_human(task)
        check_reassign_task(request.user, task, person, form.cleaned_data["reason"], ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        return _refused(request, task, form, "reassign", exc)
    return _done(request, task, f"已转办给 {person.get_full_name()}。")


@login_required
@require_POST
def task_addsign(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    form = AddSignForm(request.POST, people=addsign_candidates(request.user, task), person_label="加签人")
    if not form.is_valid():
        return _render_task(request, task, bound={"addsign": form}, error="请检查加签信息。", status=400)
    person = Person.objects.get(pk=form.cleaned_data["person"])
    mode = form.cleaned_data["mode"]
    try:
        _require_human(task)
        check_add_signer(request.user, task, person, mode, form.cleaned_data["reason"], ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        return _refused(request, task, form, "addsign", exc)
    return _done(request, task, f"已{MODE_SHORT[mode]}：{person.get_full_name()}。")


@login_required
@require_POST
def task_withdraw(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    form = forms.Form(request.POST)
    try:
        new = check_withdraw_task(request.user, task, ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        return _refused(request, task, form, "withdraw", exc)
    return _done(request, task, f"已取回“{step_label(task.flow_task)}”，“{step_label(new.flow_task)}”已回到您的待办。")


@login_required
@require_POST
def task_urge(request, task_id: int):
    task = access_task_by_id(request.user, task_id)
    form = UrgeForm(request.POST)
    if not form.is_valid():
        return _render_task(request, task, bound={"urge": form}, error="请检查催办留言。", status=400)
    try:
        count = check_urge_task(request.user, task, form.cleaned_data["message"], ip=client_ip(request))
    except (Refusal, PermissionDenied) as exc:
        return _refused(request, task, form, "urge", exc)
    owner = task.owner.get_full_name() if task.owner_id else ""
    return _done(request, task, f"已催办 {owner}（第 {count} 次）。")


urlpatterns = [
    path("tasks/<int:task_id>/", task_detail, name="task"),
    path("tasks/<int:task_id>/return", task_return, name="task_return"),
    path("tasks/<int:task_id>/reassign", task_reassign, name="task_reassign"),
    path("tasks/<int:task_id>/addsign", task_addsign, name="task_addsign"),
    path("tasks/<int:task_id>/withdraw", task_withdraw, name="task_withdraw"),
    path("tasks/<int:task_id>/urge", task_urge, name="task_urge"),
]


# --- JSON API (mounted at /api/flows/) -------------------------------------------------------------------------------


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    process = serializers.IntegerField()
    node = serializers.CharField()
    step = serializers.CharField()
    status = serializers.CharField()
    owner = PersonRefSerializer(allow_null=True)
    on_behalf_of = PersonRefSerializer(allow_null=True)
    url = serializers.CharField()
    process_url = serializers.CharField()


class TaskResultSerializer(serializers.Serializer):
    task = TaskSerializer()


class UrgeResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    task = TaskSerializer()


class ReturnRequestSerializer(serializers.Serializer):
    target_task = serializers.IntegerField(help_text="退回到的已办事项编号（页面“退回到”的可选项）")
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="退回理由（必填）")
    jump_back = serializers.BooleanField(required=False, allow_null=True, default=None,
                                         help_text="是否跳回；缺省按流程设置")


class ReassignRequestSerializer(serializers.Serializer):
    person = serializers.IntegerField(help_text="转办给（人员编号）")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AddSignRequestSerializer(serializers.Serializer):
    person = serializers.IntegerField(help_text="加签人（人员编号）")
    mode = serializers.CharField(required=False, default="before", help_text="before 前加签 / after 后加签 / parallel 并加签")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class UrgeRequestSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, default="")


def _person_ref(person: Person | None) -> dict | None:
    return {"id": person.pk, "name": person.get_full_name()} if person else None


def task_body(task: Task) -> dict[str, Any]:
    routing = routing_of(task)
    principal = Person.objects.filter(pk=routing["on_behalf_of"]).first() if routing.get("on_behalf_of") else None
    return {
        "id": task.pk, "process": task.process_id, "node": task.flow_task.name, "step": step_label(task.flow_task),
        "status": task.status, "owner": _person_ref(task.owner if task.owner_id else None),
        "on_behalf_of": _person_ref(principal),
        "url": reverse("workflows:task", args=[task.pk]),
        "process_url": reverse("workflows:process", args=[task.process_id]),
    }


def _active_person(person_id: int) -> Person:
    person = Person.objects.filter(pk=person_id, is_active=True).first()
    if person is None:
        raise Refusal("person_not_found", "找不到该人员，或其账号已停用。", 400)
    return person


API_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="reason_required、return_target_invalid、reassign_not_same_role 等"),
    401: OpenApiResponse(ErrorSerializer, description="not_authenticated / token_invalid"),
    403: OpenApiResponse(ErrorSerializer, description="permission_denied：流程参与人但不是该事项的办理人"),
    404: OpenApiResponse(ErrorSerializer, description="not_found：事项不存在或与本人无关"),
    409: OpenApiResponse(ErrorSerializer, description="work_closed、work_started、withdraw_opened、busy 等"),
}


class _TaskOpView(APIView):
    permission_classes = [IsAuthenticated]

    def task(self, request, task_id: int, *, human: bool = True) -> Task:
        task = access_task_by_id(request.user, task_id)
        if human:
            _require_human(task)
        return task


class TaskReturnApiView(_TaskOpView):
    @extend_schema(operation_id="flow_task_return", summary="退回", request=ReturnRequestSerializer,
                   responses={200: TaskResultSerializer, **API_ERRORS})
    def post(self, request, task_id: int):
        task = self.task(request, task_id)
        body = ReturnRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        new = check_return_task(request.user, task, d["target_task"], d["reason"], d["jump_back"],
                                ip=client_ip(request._request))
        return Response({"task": task_body(new)})


class TaskReassignApiView(_TaskOpView):
    @extend_schema(operation_id="flow_task_reassign", summary="转办", request=ReassignRequestSerializer,
                   responses={200: TaskResultSerializer, **API_ERRORS})
    def post(self, request, task_id: int):
        task = self.task(request, task_id)
        body = ReassignRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        person = _active_person(body.validated_data["person"])
        task = check_reassign_task(request.user, task, person, body.validated_data["reason"],
                                   ip=client_ip(request._request))
        return Response({"task": task_body(task)})


class TaskAddSignApiView(_TaskOpView):
    @extend_schema(operation_id="flow_task_addsign", summary="加签", request=AddSignRequestSerializer,
                   responses={200: TaskResultSerializer, **API_ERRORS})
    def post(self, request, task_id: int):
        task = self.task(request, task_id)
        body = AddSignRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        person = _active_person(body.validated_data["person"])
        new = check_add_signer(request.user, task, person, body.validated_data["mode"], body.validated_data["reason"],
                               ip=client_ip(request._request))
        return Response({"task": task_body(new)})


class TaskWithdrawApiView(_TaskOpView):
    @extend_schema(operation_id="flow_task_withdraw", summary="取回（已办环节的办理人，在下一办理人打开之前）",
                   request=None, responses={200: TaskResultSerializer, **API_ERRORS})
    def post(self, request, task_id: int):
        task = self.task(request, task_id, human=False)  # plan_withdraw names its own refusal
        new = check_withdraw_task(request.user, task, ip=client_ip(request._request))
        return Response({"task": task_body(new)})


class TaskUrgeApiView(_TaskOpView):
    @extend_schema(operation_id="flow_task_urge", summary="催办", request=UrgeRequestSerializer,
                   responses={200: UrgeResultSerializer, **API_ERRORS})
    def post(self, request, task_id: int):
        task = self.task(request, task_id, human=False)
        body = UrgeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        count = check_urge_task(request.user, task, body.validated_data["message"], ip=client_ip(request._request))
        task.refresh_from_db()
        return Response({"count": count, "task": task_body(task)})


api_urlpatterns = [
    path("tasks/<int:task_id>/return", TaskReturnApiView.as_view(), name="api_flow_task_return"),
    path("tasks/<int:task_id>/reassign", TaskReassignApiView.as_view(), name="api_flow_task_reassign"),
    path("tasks/<int:task_id>/addsign", TaskAddSignApiView.as_view(), name="api_flow_task_addsign"),
    path("tasks/<int:task_id>/withdraw", TaskWithdrawApiView.as_view(), name="api_flow_task_withdraw"),
    path("tasks/<int:task_id>/urge", TaskUrgeApiView.as_view(), name="api_flow_task_urge"),
]
