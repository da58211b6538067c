"""Node A: 发文 through the whole IssuanceFlow (tests/issued.py: the demo cast, the same actions the step pages
call) up to 分发 — the remote agencies' copies leave as signed exchange packages through the outbox.

Params: recipients (list of 统一社会信用代码), title, count (how many documents; default 1).
Prints {"documents": [{"id", "identifier", "doc_number"}]}.
"""

import json
import os

from oa.models import Agency
from tests.issued import issue_to

params = json.loads(os.environ["OA_LIVE_PARAMS"])
targets = [Agency.objects.get(uscc=u) for u in params["recipients"]]
count = int(params.get("count", 1))
out = []
for i in range(count):
    title = params.get("title", "关于开展跨县区公文交换测试的函") + (f"（{i + 1}）" if count > 1 else "")
    doc, _ = issue_to(targets, title=title)
    out.append({"id": doc.pk, "identifier": str(doc.identifier), "doc_number": doc.doc_number})
print(json.dumps({"documents": out}, ensure_ascii=False))
