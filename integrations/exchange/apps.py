from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "integrations.exchange"
    label = "exchange"
    verbose_name = "公文交换"
    default_auto_field = "django.db.models.BigAutoField"
