"""How a 公文 reaches an agency of another deployment, chosen by the agency's node (docs/architecture.md).

An agency with an empty ``exchange_node`` is hosted here: 分发, 回执 and 取回 happen in-process
(workflows.actions.distribution). Any other agency is reached through the transport registered under
``REMOTE`` — integrations.exchange registers itself in its AppConfig.ready(), so workflows never imports it.
What comes back from another deployment enters through workflows.inbound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from oa.refusals import Refusal

if TYPE_CHECKING:
    import uuid

    from documents.models import IncomingDocument, OfficialDocument
    from oa.models import Agency, Person
    from workflows.models import DistributionRecipient

REMOTE = "exchange"  # the same word as IncomingDocument.Source.EXCHANGE: a 收文 from there answers through it


class Transport(Protocol):
    def send_package(self, document: OfficialDocument, recipients: list[DistributionRecipient], *,
                     actor: Person) -> dict[int, uuid.UUID]:
        """Enqueue the package(s); returns each recipient row's package id (by pk), which its receipts name."""
        ...

    def send_receipt(self, incoming: IncomingDocument, action: str, *, actor_name: str, reason: str = "",
                     copies: int | None = None) -> None: ...

    def send_withdraw(self, recipient: DistributionRecipient, *, reason: str = "") -> None: ...


_transports: dict[str, Transport] = {}


def register_transport(name: str, transport: Transport) -> Transport:
    _transports[name] = transport  # keyed: a second ready() replaces
    return transport


def transport_named(name: str) -> Transport:
    transport = _transports.get(name)
    if transport is None:
        raise Refusal("transport_missing", "本系统未配置跨系统公文交换，无法发往其他系统的机关。", status=500)
    return transport


def is_remote(agency: Agency) -> bool:
    return bool(agency.exchange_node)


def transport_for(agency: Agency) -> Transport | None:
    """None for an agency of this deployment (delivered in-process), else the remote transport."""
    return transport_named(REMOTE) if is_remote(agency) else None
