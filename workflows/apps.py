from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "流程"

    def ready(self) -> None:
        from oa.work import register_work_provider
        from workflows import inbox
        from workflows.handover import FlowTaskProvider

        register_work_provider(FlowTaskProvider())
        inbox.connect()
        from workflows.views import circulation

        circulation.connect()  # 传阅: work kind "circulation" (阅知) and the 未阅清单 tile
        from oa.actions.outbox import register_outbox_sender
        from workflows.actions import receipt_start

        # 分发 to many agencies: the receivers' flows start after commit (workflows.actions.receipt_start).
        register_outbox_sender(receipt_start.CHANNEL, receipt_start.start_receipts_message)
        from oa.work import register_delegation_scope
        from workflows.issuance import flows  # flows are imported so their permissions exist
        from workflows.receipt import flows as receipt_flows  # ReceiptFlow (收文) likewise

        # 委托范围 offered on 我的: the kinds these flows route through resolve_assignee.
        register_delegation_scope(flows.IssuanceFlow.delegation_kind, "发文")
        register_delegation_scope(receipt_flows.ReceiptFlow.delegation_kind, "收文")
        # 工作台 shortcut by role (docs/workbench.md): 文书 register paper 来文 from the home page.
        from oa.models import Role
        from oa.tiles import Tile, register_tile

        register_tile(Tile("paper_register", "收文登记", "workflows:incoming_paper", "incoming", order=42,
                           roles=frozenset({Role.CLERK}), description="登记纸质来文，进入收文办理"))
