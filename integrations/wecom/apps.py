from django.apps import AppConfig
from django.conf import settings


class WecomConfig(AppConfig):
    name = "integrations.wecom"
    label = "wecom"
    verbose_name = "移动政务平台（企业微信兼容）"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oa.actions.outbox import register_outbox_sender

        from . import channel

        # The sender is always known, so rows queued while the adapter was on still drain (or die) visibly.
        register_outbox_sender(channel.OUTBOX_CHANNEL, channel.send_outbox_message, delivery_channel="platform")
        if settings.OA_WECOM_CORP_ID:
            channel.ensure_registered()
