"""Node A: the sender's 分发 status of the given documents, and the exchange outbox rows.

Params: document_ids. Prints {"recipients": [...], "outbox": [...]}.
"""

import json
import os

from oa.models import OutboxMessage
from workflows.models import DistributionRecipient

params = json.loads(os.environ["OA_LIVE_PARAMS"])
rows = DistributionRecipient.objects.filter(document_id__in=params["document_ids"]).select_related("agency")
outbox = OutboxMessage.objects.filter(channel="exchange").order_by("id")
print(json.dumps({
    "recipients": [{"document_id": r.document_id, "agency_uscc": r.agency.uscc, "status": r.status,
                    "status_by": r.status_by, "reason": r.reason,
                    "status_at": r.status_at.isoformat() if r.status_at else None} for r in rows],
    "outbox": [{"id": m.pk, "kind": m.kind, "state": m.state, "attempts": m.attempts, "last_error": m.last_error,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None} for m in outbox],
}, ensure_ascii=False))
