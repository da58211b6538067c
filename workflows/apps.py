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
        from workflows.issuance import flows  # noqa: F401 - flows are imported so their permissions exist
        from workflows.receipt import flows as receipt_flows  # noqa: F401 - ReceiptFlow (收文) likewise
