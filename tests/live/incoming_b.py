"""Node B: the 收文 rows and the packages received (accepted and quarantined).

Params: none. Prints {"incoming": [...], "packages": [...]}.
"""

import json

from documents.models import IncomingDocument
from integrations.exchange.models import InboundPackage

print(json.dumps({
    "incoming": [{"id": i.pk, "package_id": str(i.package_id), "title": i.title, "status": i.status,
                  "source": i.source, "sender": i.sender_name, "doc_number": i.doc_number,
                  "received_at": i.received_at.isoformat(), "pdf_sha256": i.pdf_sha256}
                 for i in IncomingDocument.objects.order_by("id")],
    "packages": [{"package_id": str(p.package_id), "status": p.status, "code": p.code, "reason": p.reason}
                 for p in InboundPackage.objects.order_by("id")],
}, ensure_ascii=False))
