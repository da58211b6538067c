from django.contrib import admin

from .models import AgencyExchangeKey, ExchangePeer, InboundPackage


@admin.register(AgencyExchangeKey)
class AgencyExchangeKeyAdmin(admin.ModelAdmin):
    list_display = ["agency", "key_id", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["agency__name", "key_id"]
    # The encrypted private half is never shown or edited here.
    fields = ["agency", "key_id", "public_key", "kek_id", "is_active", "created_at"]
    readonly_fields = ["agency", "key_id", "public_key", "kek_id", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # keys are made by the system (first package, or manage.py exchange_node export)


@admin.register(ExchangePeer)
class ExchangePeerAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "base_url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["node_key_id", "node_public_key", "agency_keys", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # peers are added from their descriptor: manage.py exchange_node add-peer


@admin.register(InboundPackage)
class InboundPackageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "status", "code", "peer", "sender_uscc", "package_id", "size"]
    list_filter = ["status", "code", "peer"]
    search_fields = ["package_id", "sender_uscc", "reason"]
    readonly_fields = [f.name for f in InboundPackage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
