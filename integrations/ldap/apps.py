from django.apps import AppConfig


class LdapConfig(AppConfig):
    """No models: an app so that its command (manage.py sync_directory) lives here, not in the core."""

    name = "integrations.ldap"
    label = "ldap"
    verbose_name = "LDAP 目录"
