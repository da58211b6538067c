from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "integrations.exchange"
    label = "exchange"
    verbose_name = "公文交换"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oa.actions.outbox import register_outbox_sender
        from oa.tiles import Tile, register_tile
        from workflows.transports import REMOTE, register_transport

        from . import channel
        from .selectors import OUTBOX_CHANNEL, may_manage_exchange
        from .transport import ExchangeTransport

        # Always registered, so rows queued while the node was configured still drain (or die) visibly.
        register_outbox_sender(OUTBOX_CHANNEL, channel.send_outbox_message)
        register_transport(REMOTE, ExchangeTransport())
        register_tile(Tile("exchange_incidents", "交换异常", "exchange:incidents", "audit", order=96,
                           visible=may_manage_exchange, description="未送达的交换包与被隔离的来文"))
