from django.apps import AppConfig


class HrConfig(AppConfig):
    """人事/财务 data source (docs/services.md): what HR and finance know about a person, imported or pulled."""

    name = "integrations.hr"
    label = "hr"
    verbose_name = "人事财务数据"
    default_auto_field = "django.db.models.BigAutoField"
