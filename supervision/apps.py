from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"
    verbose_name = "督查督办"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oa.tiles import Tile, register_tile
        from oa.work import WorkKind, register_delegation_scope, register_work_kind
        from supervision import actions  # noqa: F401  (registers the supervision.light event type)
        from supervision.flows import SupervisionFlow

        # 督办 work is done on its own pages (签收, 反馈, 审核 …): the inbox opens them, offers no bare button.
        register_work_kind(WorkKind(key="supervision", label="督办", icon="task", actions=lambda item, user: [],
                                    perform=_no_inline_perform))
        register_delegation_scope(SupervisionFlow.delegation_kind, "督办")
        register_tile(Tile("supervision", "督查督办", "supervision:mine", "todo", order=45,
                           description="我的督办事项、进度反馈与延期申请"))
        from meetings.minutes import register_decision_linker
        from oa.scores import register_source, source_by_key
        from supervision.assessment.builtin import BUILTIN
        from supervision.from_meeting import decision_links

        # 会议议定事项 → 督办: the meeting page's 议定事项 rows get the button / the item link.
        register_decision_linker(decision_links)
        # 考核评价: the score sources this system's own records feed (supervision/assessment/builtin.py).
        for source in BUILTIN:
            if source_by_key(source.key) is None:
                register_source(source)


def _no_inline_perform(user, item, action_key, data) -> None:
    raise ValueError(f"supervision work {item.ref} is done on its own page")
