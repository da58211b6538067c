"""Shared admin bases. The admin writes only through actions (docs/architecture.md, 写入路径)."""

from django.contrib import admin


class ActionOnlyAdmin(admin.ModelAdmin):
    """Rows that only actions write (tokens, notifications, outbox): the admin shows them, read-only, and offers
    admin actions that call the actions (吊销, 立即重试). The stock save and delete are switched off."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change: bool) -> None:
        """Every field is read-only: the change page only carries the admin actions, so there is nothing to save."""
