from typing import TypedDict

from django.apps import AppConfig


class InformationNotice(TypedDict):
    """A 政务信息 piece was adopted, regraded or returned (to its 信息员)."""

    submission_id: int
    status: str


class InformationConfig(AppConfig):
    name = "workflows.information"
    label = "information"
    verbose_name = "信息报送"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oa.events import register_event_type
        from oa.manage_pages import ManagePage, register_manage_page
        from oa.scores import register_source, source_by_key
        from oa.tiles import Tile, register_tile
        from oa.work import register_delegation_scope
        from workflows.information import flows, selectors

        register_event_type("information.adopted", InformationNotice)
        register_event_type("information.returned", InformationNotice)
        # Steps reach 待办 through workflows.inbox (flow_task WorkItems linking to /information/tasks/<id>/).
        register_delegation_scope(flows.InformationFlow.delegation_kind, "信息报送")
        register_manage_page(ManagePage(
            "information_duties", "信息报送职责", "information:duties",
            "设置本单位的信息员、信息审核人；信息科负责人设置信息科编辑和统计查看人员",
            visible=selectors.may_manage_duties, roles=frozenset({"clerk"})))
        register_tile(Tile("information", "信息报送", "information:home", "document", order=55,
                           description="政务信息起草、单位审核、报送区府办信息科，采用统计与计分"))
        # 考核评价: 信息采用率 per unit and period (docs/assessment.md, docs/information.md).
        from workflows.information.assessment import InformationScoreSource

        if source_by_key("information") is None:
            register_source(InformationScoreSource())
