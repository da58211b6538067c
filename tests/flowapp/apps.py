from django.apps import AppConfig


class FlowAppConfig(AppConfig):
    name = "tests.flowapp"
    label = "flowapp"
    verbose_name = "测试流程"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.flowapp import flows  # noqa: F401 - import flows so their permissions exist
