from django.apps import AppConfig


class SsoConfig(AppConfig):
    """省统一身份认证 (single sign-on): OpenID Connect and CAS 3 logins keyed on the provider's subject (docs/sso.md)."""

    name = "integrations.sso"
    label = "sso"
    verbose_name = "省统一身份认证"
    default_auto_field = "django.db.models.BigAutoField"
