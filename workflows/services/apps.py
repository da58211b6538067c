from typing import TypedDict

from django.apps import AppConfig


class SupplyLow(TypedDict):
    """An office-supply item fell to its low-stock level (to the keepers of the 主管部门)."""

    supply_id: int
    name: str
    stock: int
    low_stock: int


class ServiceNotice(TypedDict):
    """Something happened to an application that its person should know (查阅权限授予/到期, 证照, 值班表)."""

    application_id: int
    kind: str


class ServicesConfig(AppConfig):
    name = "workflows.services"
    label = "services"
    verbose_name = "零跑动办事"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from documents.selectors.seals import register_ses_lookup
        from oa.events import register_event_type
        from oa.tiles import Tile, register_tile
        from oa.work import register_delegation_scope
        from workflows.services import flows
        from workflows.services.models import ServiceCertificate

        # The 验章 page finds a certificate's GB/T 38540 signature by its PDF signature value, as it does a 公文's.
        register_ses_lookup(lambda digests: {c.pades_signature_sha256: bytes(c.ses_signature) for c in
                                             ServiceCertificate.objects.filter(pades_signature_sha256__in=digests)})
        register_event_type("supplies.low_stock", SupplyLow)
        register_event_type("services.notice", ServiceNotice)
        from workflows.services.items import autodiscover

        autodiscover()  # the item kinds in items/ (and apps' service_items) register their 办理类型 (handlers.py)
        from workflows.services.items import seal

        register_ses_lookup(seal.ses_lookup)  # a stamped 用印申请 file verifies like a certificate
        # Steps reach 待办 through workflows.inbox (every viewflow task is a flow_task WorkItem, with this flow's
        # step page as its link); 委托 may be scoped to this flow.
        register_delegation_scope(flows.ServiceFlow.delegation_kind, "零跑动办事")
        from oa.work import WorkKind, register_work_kind
        from workflows.services.actions import RATING_KIND, perform_rating_work, rating_work_actions

        register_work_kind(WorkKind(key=RATING_KIND, label="办件评价", icon="toread", actions=rating_work_actions,
                                    perform=perform_rating_work))
        register_tile(Tile("services", "办事服务", "services:catalogue", "more", order=50,
                           description="在职证明、用印、公务用车、会议室、请休假、出差等机关内部事项网上办"))
