"""Reads for the exchange: this node's identity, peers and their keys, what we sent, incidents for administrators."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from oa.models import Agency, OutboxMessage, Person, Role
from workflows.models import DistributionRecipient

from .models import ExchangePeer, InboundPackage
from .protocol import ProtocolError, load_node_key, load_public_pem

OUTBOX_CHANNEL = "exchange"
KIND_PACKAGE, KIND_RECEIPT, KIND_WITHDRAW = "package", "receipt", "withdraw"


@dataclass(frozen=True)
class NodeIdentity:
    code: str
    name: str
    base_url: str
    key: Ed25519PrivateKey


def exchange_configured() -> bool:
    return bool(settings.OA_EXCHANGE_NODE_CODE and settings.OA_EXCHANGE_NODE_KEY)


def node_identity() -> NodeIdentity:
    """This deployment as a node; ProtocolError ``exchange_disabled`` when it is not configured."""
    missing = [name for name in ("OA_EXCHANGE_NODE_CODE", "OA_EXCHANGE_NODE_KEY")
               if not getattr(settings, name)]
    if missing:
        raise ProtocolError("exchange_disabled", f"本节点未启用公文交换（未配置 {'、'.join(missing)}）", 503)
    return NodeIdentity(code=settings.OA_EXCHANGE_NODE_CODE, name=settings.OA_EXCHANGE_NODE_NAME,
                        base_url=settings.OA_EXCHANGE_URL, key=load_node_key(settings.OA_EXCHANGE_NODE_KEY))


def active_peer(code: str) -> ExchangePeer | None:
    return ExchangePeer.objects.filter(code=code, is_active=True).first()


def peer_public_key(peer: ExchangePeer) -> Ed25519PublicKey:
    return load_public_pem(peer.node_public_key)


def trusted_keys(peer: ExchangePeer) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """The agency keys a package from ``peer`` may be signed with: key id → (统一社会信用代码, public key)."""
    keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
    for kid, entry in (peer.agency_keys or {}).items():
        try:
            keys[kid] = (entry["uscc"], load_public_pem(entry["public_key"]))
        except (KeyError, TypeError, ProtocolError):
            continue  # a broken entry trusts nothing; add-peer validates, so only a hand edit gets here
    return keys


def sender_name(peer: ExchangePeer, key_id: str, uscc: str) -> str:
    """The sending agency's name as the peer described it (falls back to our Agency row, then the code)."""
    entry = (peer.agency_keys or {}).get(key_id) or {}
    if entry.get("name"):
        return str(entry["name"])
    agency = Agency.objects.filter(uscc=uscc).first()
    return agency.name if agency else uscc


def local_agencies() -> QuerySet[Agency]:
    """Agencies working in this deployment (the ones a package may be addressed to here)."""
    return Agency.objects.filter(exchange_node="", is_active=True)


def sent_package_for(recipient: DistributionRecipient) -> OutboxMessage | None:
    """The outbox row of the package that carried ``recipient``'s copy to its node."""
    rows = OutboxMessage.objects.filter(
        channel=OUTBOX_CHANNEL, kind=KIND_PACKAGE, payload__document=str(recipient.document.identifier),
        payload__peer=recipient.agency.exchange_node).order_by("-id")
    if recipient.package_id:  # after a 补发 several packages carried this agency's copies: the row's own one
        return rows.filter(payload__package_id=str(recipient.package_id)).first()
    # Checked in Python: JSON "contains" is not portable to SQLite.
    return next((m for m in rows if recipient.agency.uscc in m.payload.get("recipients", [])), None)


def inbound_package_of(package_id) -> InboundPackage | None:
    return (InboundPackage.objects.filter(package_id=package_id, status=InboundPackage.Status.ACCEPTED)
            .select_related("peer").first())


# ---- administrators --------------------------------------------------------------------------------------


def may_manage_exchange(user: Person) -> bool:
    """系统管理员 (role) and Django staff see exchange incidents and retry them."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return user.role_assignments.filter(role=Role.SYSADMIN).exists()


def exchange_incidents() -> QuerySet[OutboxMessage]:
    """Outgoing exchange messages that gave up (dead) or are failing (retrying), newest first."""
    return (OutboxMessage.objects.filter(channel=OUTBOX_CHANNEL,
                                         state__in=[OutboxMessage.State.DEAD, OutboxMessage.State.FAILED])
            .order_by("state", "-id"))


def quarantined_packages() -> QuerySet[InboundPackage]:
    return InboundPackage.objects.filter(status=InboundPackage.Status.QUARANTINED).select_related("peer")


def access_incident_by_id(user: Person, message_id: int) -> OutboxMessage:
    """An exchange outbox row, for an exchange administrator; 404 otherwise (no existence leak)."""
    if not may_manage_exchange(user):
        raise Http404
    message = OutboxMessage.objects.filter(pk=message_id, channel=OUTBOX_CHANNEL).first()
    if message is None:
        raise Http404
    return message


KIND_LABELS = {KIND_PACKAGE: "交换包", KIND_RECEIPT: "回执", KIND_WITHDRAW: "取回申请"}


@dataclass(frozen=True)
class Incident:
    message: OutboxMessage
    kind_label: str
    peer_code: str
    peer_name: str
    title: str
    package_id: str
    detail: str  # recipients of a package, the receipt action, the agency of a withdrawal


def incident_rows(limit: int = 200) -> list[Incident]:
    peers = dict(ExchangePeer.objects.values_list("code", "name"))
    rows = []
    for m in exchange_incidents()[:limit]:
        p = m.payload or {}
        if m.kind == KIND_PACKAGE:
            detail = "、".join(p.get("agencies") or p.get("recipients") or [])
        elif m.kind == KIND_RECEIPT:
            detail = {"signed": "签收", "returned": "退回", "withdrawn": "已取回",
                      "withdraw_refused": "取回未成功"}.get(p.get("action", ""), p.get("action", ""))
        else:
            detail = str(p.get("agency") or "")
        code = str(p.get("peer") or "")
        rows.append(Incident(m, KIND_LABELS.get(m.kind, m.kind), code, peers.get(code, code),
                             str(p.get("title") or ""), str(p.get("package_id") or ""), detail))
    return rows


def exchange_peers() -> QuerySet[ExchangePeer]:
    return ExchangePeer.objects.order_by("code")
