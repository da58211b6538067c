"""Node A: send the peer a package whose PDF was altered after signing (the manifest and signature are the
genuine ones), through the real signed-request client. The peer must quarantine it and create no 收文.

Params: document_id, peer. Prints {"status": http status, "code": error code, "package_id": ...}.
"""

import io
import json
import os
import uuid
import zipfile

from documents.models import OfficialDocument
from documents.selectors.archive import core_metadata
from integrations.exchange import client
from integrations.exchange import protocol as P
from integrations.exchange.actions import agency_signing_key
from integrations.exchange.models import ExchangePeer
from integrations.exchange.package import DOCUMENT_PDF, build_package
from integrations.exchange.selectors import node_identity
from oa.models import Agency
from workflows.selectors.distribution import final_pdf_field

params = json.loads(os.environ["OA_LIVE_PARAMS"])
document = OfficialDocument.objects.get(pk=params["document_id"])
peer = ExchangePeer.objects.get(code=params["peer"])
recipients = sorted(Agency.objects.filter(exchange_node=peer.code).values_list("uscc", flat=True))
with final_pdf_field(document).open("rb") as fh:
    pdf = fh.read()
package_id = uuid.uuid4()
genuine = build_package(metadata=core_metadata(document), pdf=pdf, ses_signatures=[], attachments=[],
                        sender_uscc=document.agency.uscc, recipients=recipients,
                        signing_key=agency_signing_key(document.agency), package_id=package_id)
out = io.BytesIO()
with zipfile.ZipFile(io.BytesIO(genuine)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        data = src.read(info.filename)
        if info.filename == DOCUMENT_PDF:
            data = data.replace(b"/Type", b"/TYPE", 1)  # one changed byte sequence after signing
        dst.writestr(info, data)
response = client.post(peer, P.PACKAGES, out.getvalue(), content_type="application/zip", node=node_identity())
print(json.dumps({"status": response.status, "code": response.code, "package_id": str(package_id)}))
