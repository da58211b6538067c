from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class OaConfig(AppConfig):
    name = "oa"
    label = "oa"
    verbose_name = "平台核心"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Periodic jobs each app declares; the scheduler and Celery beat read this registry.
        from oa import scheduling

        scheduling.autodiscover()


class OaAdminConfig(AdminConfig):
    """django.contrib.admin with our site: its login is the platform's login (oa/admin_site.py)."""

    default_site = "oa.admin_site.OaAdminSite"
