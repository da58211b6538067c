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
        from workflows.issuance import flows  # noqa: F401 - flows are imported so their permissions exist
