"""Wire shapes of the REST API (docs/api.md). Serializers only shape data; reads and writes happen in
selectors and actions."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from oa.models import WorkItem
from oa.selectors.delegation import on_behalf_label
from oa.work import work_kind


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="稳定的错误码，如 not_found、invalid、throttled")
    message = serializers.CharField(help_text="中文错误说明")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False, help_text="逐字段的错误（仅 invalid）"
    )


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(label="用户名", max_length=150)
    password = serializers.CharField(label="密码", max_length=128, trim_whitespace=False)
    otp = serializers.CharField(label="动态验证码", max_length=10, required=False, allow_blank=True, default="")
    device_name = serializers.CharField(label="设备名称", max_length=100, required=False, allow_blank=True, default="")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="原始令牌，只返回这一次；请求时放在 Authorization: Bearer 之后")
    expires_at = serializers.DateTimeField()


class WsTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="一次有效的票据：连接 /ws/events/?ticket=<票据>，60 秒内有效")
    expires_at = serializers.DateTimeField()


class PersonBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField(source="get_full_name")


class CountsSerializer(serializers.Serializer):
    todo = serializers.IntegerField(label="待办")
    toread = serializers.IntegerField(label="待阅")
    done = serializers.IntegerField(label="已办")
    read = serializers.IntegerField(label="已阅")
    initiated = serializers.IntegerField(label="我发起（进行中）")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    agencies = serializers.ListField(child=serializers.DictField())
    two_factor = serializers.BooleanField(help_text="岗位是否要求二次验证")
    counts = CountsSerializer()
    unread = serializers.IntegerField(help_text="未读通知数")


class WorkActionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    style = serializers.CharField()
    needs_opinion = serializers.BooleanField()


# Choice labels as plain dicts: get_<field>_display() hashes and flattens the choices on every call, 60 times a page.
_LABELS = {name: {k: str(v) for k, v in WorkItem._meta.get_field(name).flatchoices}
           for name in ("box", "state", "urgency", "outcome")}


def _brief(person) -> dict:
    return {"id": person.pk, "username": person.username, "name": person.get_full_name()}


class WorkItemSerializer(serializers.ModelSerializer):
    kind_label = serializers.SerializerMethodField()
    box_label = serializers.CharField(source="get_box_display")
    state_label = serializers.CharField(source="get_state_display")
    urgency_label = serializers.CharField(source="get_urgency_display")
    owner = PersonBriefSerializer()
    on_behalf_of = PersonBriefSerializer(allow_null=True)
    initiator = PersonBriefSerializer(allow_null=True)
    agency = serializers.SerializerMethodField()
    handled_by = serializers.SerializerMethodField(help_text="办理人显示：“李娜 代 王芳 办理”或“李娜”")
    overdue = serializers.SerializerMethodField()
    note = serializers.CharField(help_text="提示：退回的事项为“被 李娜 退回：理由”；退回他人的已办为“退回到“修改稿件”：理由”")
    outcome = serializers.CharField(help_text="已办的办理结果：空为办结，returned 为已退回")
    outcome_label = serializers.CharField(help_text="“已退回”或空")

    class Meta:
        model = WorkItem
        fields = [
            "id", "kind", "kind_label", "box", "box_label", "state", "state_label", "title", "doc_number", "step",
            "urgency", "urgency_label", "deadline", "overdue", "owner", "on_behalf_of", "handled_by", "initiator",
            "agency", "link", "created_at", "opened_at", "completed_at", "note", "outcome", "outcome_label",
        ]

    def to_representation(self, item: WorkItem) -> dict:
        # Hand-written for the hot path (a page of 20 per inbox request): the same keys as the declared
        # fields, which stay for validation-free documentation in the OpenAPI schema. DRF's generic walk
        # over nested serializers cost most of the request (bench/inbox.py).
        local, labels = timezone.localtime, _LABELS
        return {
            "id": item.pk,
            "kind": item.kind,
            "kind_label": self.get_kind_label(item),
            "box": item.box,
            "box_label": labels["box"].get(item.box, item.box),
            "state": item.state,
            "state_label": labels["state"].get(item.state, item.state),
            "title": item.title,
            "doc_number": item.doc_number,
            "step": item.step,
            "urgency": item.urgency,
            "urgency_label": labels["urgency"].get(item.urgency, item.urgency),
            "deadline": local(item.deadline).isoformat() if item.deadline else None,
            "overdue": self.get_overdue(item),
            "owner": _brief(item.owner),
            "on_behalf_of": _brief(item.on_behalf_of) if item.on_behalf_of_id else None,
            "handled_by": self.get_handled_by(item),
            "initiator": _brief(item.initiator) if item.initiator_id else None,
            "agency": self.get_agency(item),
            "link": item.link,
            "created_at": local(item.created_at).isoformat(),
            "opened_at": local(item.opened_at).isoformat() if item.opened_at else None,
            "completed_at": local(item.completed_at).isoformat() if item.completed_at else None,
            "note": item.note,
            "outcome": item.outcome,
            "outcome_label": labels["outcome"].get(item.outcome, item.outcome) if item.outcome else "",
        }

    def get_kind_label(self, item: WorkItem) -> str:
        kind = work_kind(item.kind)
        return kind.label if kind else item.kind

    def get_agency(self, item: WorkItem) -> dict | None:
        return {"id": item.agency_id, "name": item.agency.name} if item.agency_id else None

    def get_handled_by(self, item: WorkItem) -> str:
        return on_behalf_label(item.owner, item.on_behalf_of)

    def get_overdue(self, item: WorkItem) -> bool:
        return bool(item.state == WorkItem.State.OPEN and item.deadline and item.deadline < timezone.now())


class WorkItemDetailSerializer(WorkItemSerializer):
    actions = WorkActionSerializer(many=True, help_text="当前用户此刻可执行的操作")

    class Meta(WorkItemSerializer.Meta):
        fields = [*WorkItemSerializer.Meta.fields, "actions"]


class WorkActionRequestSerializer(serializers.Serializer):
    opinion = serializers.CharField(label="办理意见", max_length=2000, required=False, allow_blank=True, default="")


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="单调递增的事件编号")
    event_type = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    link = serializers.CharField()
    payload = serializers.DictField()
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


class NotificationListSerializer(serializers.Serializer):
    results = NotificationSerializer(many=True)
    more = serializers.BooleanField(help_text="还有更新的事件：用最后一条的 id 作为 after 继续取")
    unread = serializers.IntegerField()


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000)
    all = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError("请提供要标记的通知编号 ids，或 all 为 true。", code="invalid")
        return attrs


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
    unread = serializers.IntegerField()


class TileSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    url = serializers.CharField()
    icon = serializers.CharField()
    icon_url = serializers.CharField()
    box = serializers.CharField(allow_null=True)
    count = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()


class InboxQuerySerializer(serializers.Serializer):
    box = serializers.ChoiceField(
        choices=["todo", "toread", "done", "read", "initiated"], required=False, default="todo",
        help_text="todo 待办 · toread 待阅 · done 已办 · read 已阅 · initiated 我发起",
    )
    kind = serializers.CharField(required=False, max_length=32, help_text="工作类型，如 flow_task")
    urgency = serializers.ChoiceField(choices=[0, 1, 2], required=False, help_text="0 普通 · 1 加急 · 2 特急")
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None, help_text="true 只看已超期")
    agency = serializers.IntegerField(required=False, min_value=1, help_text="机关 id")
    q = serializers.CharField(required=False, max_length=100, allow_blank=True, help_text="按标题或文号搜索")
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100)

