"""The sender's view of 分发: per recipient agency 待签收 / 已签收 / 已退回 / 已取回."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import F
from django.http import Http404

from documents.models import IncomingDocument, OfficialDocument
from documents.selectors.attachments import official_pdf
from documents.selectors.documents import access_document_by_id, documents_visible_to
from frontend.charts import stacked_segments
from oa.models import Agency, Person, Role
from oa.selectors.directory import people_with_role
from workflows.models import DistributionRecipient


def access_recipient_by_id(user: Person, recipient_id: int) -> DistributionRecipient:
    """A distribution row of a document the user may see; Http404 otherwise."""
    try:
        return DistributionRecipient.objects.select_related("agency", "document").get(
            pk=recipient_id, document__in=documents_visible_to(user))
    except DistributionRecipient.DoesNotExist:
        raise Http404("分发记录不存在或无权查看") from None


def distribution_summary(user: Person, document_id: int) -> dict[str, Any]:
    """The document (through access_document_by_id), its recipients and the count per status."""

    document: OfficialDocument = access_document_by_id(user, document_id)
    rows = list(DistributionRecipient.objects.filter(document=document)
                .select_related("agency", "sent_by", "replaces__agency", "replaced_by__agency")
                .annotate(incoming_status=F("incoming__status")))
    live = [r for r in rows if not r.is_superseded]  # rows replaced by 补发/改送 are history, not counted
    for r in rows:  # 送达中: the receiver's 收文 exists but 分发's job has not started its flow yet
        r.delivering = r.incoming_status == IncomingDocument.Status.DELIVERING
    counts = Counter(r.status for r in live)
    segments = stacked_segments([(value, label, counts.get(value, 0))
                                 for value, label in DistributionRecipient.Status.choices
                                 if value not in DistributionRecipient.SUPERSEDED])
    can_manage = may_manage_distribution(user, document)
    choices: list[Agency] = []
    if can_manage and any(r.status == DistributionRecipient.Status.RETURNED for r in live):
        choices = list(redirect_choices(document))
    return {"document": document, "recipients": rows, "segments": segments, "total": len(live),
            "delivery": delivery_progress(live),
            "can_withdraw": can_manage, "can_redistribute": can_manage, "redirect_choices": choices}


def delivery_progress(live: list[DistributionRecipient]) -> dict[str, int]:
    """送达进度 of the agencies of this deployment: 已送达 (the 收文's flow started, the receiver sees it) vs 送达中
    (分发's job still starting it). Agencies of other deployments travel through the exchange and are not counted."""
    local = [r for r in live if r.incoming_id is not None]
    delivering = sum(1 for r in local if getattr(r, "delivering", False))
    return {"total": len(local), "delivered": len(local) - delivering, "delivering": delivering}


def redirect_choices(document: OfficialDocument):
    """Agencies a refused copy may be 改送 to: active, not the sender, not already a (live) recipient."""
    taken = (DistributionRecipient.objects.filter(document=document)
             .exclude(status__in=DistributionRecipient.SUPERSEDED).values("agency_id"))
    return (Agency.objects.filter(is_active=True).exclude(pk=document.agency_id).exclude(pk__in=taken)
            .order_by("sort_order", "pk"))


def final_pdf_field(document: OfficialDocument):
    """The file a receiver gets: the 正式文件 as ``official_pdf`` picks it (the last stamped PDF, else the typeset one);
    an empty field before typesetting."""
    official = official_pdf(document)
    return official.file if official else document.final_pdf


def may_manage_distribution(person: Person, document: OfficialDocument) -> bool:
    """The sending agency's 文书 (who did 分发) may follow and 取回 its recipients."""
    return people_with_role(Role.CLERK, agency=document.agency).filter(pk=person.pk).exists()


def agency_named_in(agency: Agency, names: list[str]) -> bool:
    """Whether a 主送/抄送 list (names as typed on the document) names this agency, by 全称 or 简称."""
    return agency.name in names or (bool(agency.short_name) and agency.short_name in names)
