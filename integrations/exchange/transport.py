"""integrations.exchange as workflows' transport for agencies of other deployments (workflows.transports)."""

from __future__ import annotations

import uuid

from documents.models import IncomingDocument, OfficialDocument
from oa.models import Person
from workflows.models import DistributionRecipient

from . import actions


class ExchangeTransport:
    def send_package(self, document: OfficialDocument, recipients: list[DistributionRecipient], *,
                     actor: Person) -> dict[int, uuid.UUID]:
        return actions.do_enqueue_package(document, recipients, actor=actor)

    def send_receipt(self, incoming: IncomingDocument, action: str, *, actor_name: str, reason: str = "",
                     copies: int | None = None) -> None:
        actions.do_enqueue_receipt(incoming, action, actor_name=actor_name, reason=reason, copies=copies)

    def send_withdraw(self, recipient: DistributionRecipient, *, reason: str = "") -> None:
        actions.do_enqueue_withdraw(recipient, reason=reason)
