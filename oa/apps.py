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
        _chinese_admin_names()
        # Cached box counts follow every saved or deleted WorkItem row (oa.work_counts).
        from oa import work_counts

        work_counts.connect_signals()
        # The inbox filter's cached agency list (oa.selectors.directory.active_agency_choices).
        from django.db.models.signals import post_delete, post_save

        from oa.models import Agency
        from oa.selectors.directory import forget_active_agencies

        post_save.connect(forget_active_agencies, sender=Agency, dispatch_uid="oa.agencies.saved")
        post_delete.connect(forget_active_agencies, sender=Agency, dispatch_uid="oa.agencies.deleted")


def _chinese_admin_names() -> None:
    """Third-party apps and models whose names the zh-hans catalogues leave in English: in Chinese on the Django
    admin too (docs/security.md, 三员分立). Headers of the admin index: frontend/templates/admin/app_list.html."""
    from django.apps import apps

    names = {"otp_totp": "双因素认证", "django_otp": "双因素认证", "viewflow": "流程引擎"}
    for label, name in names.items():
        if label in apps.app_configs:
            apps.app_configs[label].verbose_name = name
    if "otp_totp" in apps.app_configs:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        TOTPDevice._meta.verbose_name = TOTPDevice._meta.verbose_name_plural = "动态验证码设备"
    if "viewflow" in apps.app_configs:
        from viewflow.workflow.models import Process, Task

        Process._meta.verbose_name = Process._meta.verbose_name_plural = "流程实例"
        Task._meta.verbose_name = Task._meta.verbose_name_plural = "流程任务"


class OaAdminConfig(AdminConfig):
    """django.contrib.admin with our site: its login is the platform's login (oa/admin_site.py)."""

    default_site = "oa.admin_site.OaAdminSite"
